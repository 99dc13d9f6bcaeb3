// A package going out of the page, in the page's WebAssembly build of the core (Node's V8):
// `PackageExport` over a 64 MiB archive of 128 entries of 512 KiB (the size of a CT slice),
// plain (SHA-256 only, for the export log) and password-protected (AES-256 as WinZip does it,
// a key derived per entry). Best of 3. Prints one JSON line per case: {case, seconds, mibPerS}.
// Usage: node tools/bench-export.mjs   (after `make wasm`)
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const core = await import(join(ROOT, 'pkg', 'obscura.js'));
await core.default({ module_or_path: readFileSync(join(ROOT, 'pkg', 'obscura_bg.wasm')) });

// An archive of stored entries (as compressed pixels are), laid out as the core's ZIP writer
// lays them out: a local header, the name, the data; then the directory (dropped when encrypting).
const entries = 128;
const data = new Uint8Array(512 << 10).map((_, i) => (i * 31) % 251);
const name = new TextEncoder().encode('DICOM/PAT0001/STU0001/SER0001/IM000001');
const entryLen = 30 + name.length + data.length;
const archive = new Uint8Array(entries * entryLen + 22);
const view = new DataView(archive.buffer);
for (let i = 0; i < entries; i += 1) {
  const at = i * entryLen;
  view.setUint32(at, 0x04034b50, true);
  view.setUint16(at + 4, 20, true);
  view.setUint16(at + 6, 1 << 11, true);
  view.setUint32(at + 18, data.length, true);
  view.setUint32(at + 22, data.length, true);
  view.setUint16(at + 26, name.length, true);
  archive.set(name, at + 30);
  archive.set(data, at + 30 + name.length);
}
view.setUint32(entries * entryLen, 0x06054b50, true);
const SLICE = 4 << 20;
for (const [name, password] of [['plain', undefined], ['password', 'a password for the bench']]) {
  let best = Infinity;
  for (let round = 0; round < 3; round += 1) {
    const start = performance.now();
    const out = new core.PackageExport(password, new Uint8Array(32).fill(9));
    for (let at = 0; at < archive.length; at += SLICE) out.push(archive.subarray(at, at + SLICE));
    out.finish();
    out.free();
    best = Math.min(best, (performance.now() - start) / 1000);
  }
  console.log(JSON.stringify({ case: name, seconds: +best.toFixed(3), mibPerS: +(archive.length / 2 ** 20 / best).toFixed(1) }));
}
