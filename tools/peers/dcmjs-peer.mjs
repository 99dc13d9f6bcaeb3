// Benchmark peer: dcmjs (npm) in Node, reading each file, applying its anonymizer's
// cleanTags (the Basic Profile's tag list, as dcmjs ships it) and writing the result.
//
// Usage: node dcmjs-peer.mjs IN_DIR OUT_DIR   (dcmjs resolved from NODE_PATH)
import { createRequire } from "node:module";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const require = createRequire(join(process.cwd(), "x.js"));
const dcmjs = require("dcmjs");
dcmjs.log.setLevel("error");

const [src, out] = process.argv.slice(2);
mkdirSync(out, { recursive: true });
let n = 0;
for (const name of readdirSync(src).sort()) {
  const bytes = readFileSync(join(src, name));
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const message = dcmjs.data.DicomMessage.readFile(buffer);
  dcmjs.anonymizer.cleanTags(message.dict);
  writeFileSync(join(out, name), Buffer.from(message.write()));
  n++;
}
if (n === 0) throw new Error("no files");
