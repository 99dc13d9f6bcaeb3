// The text detector's time per file in WebAssembly (V8, as in Chromium), for tools/bench_detect.py:
// node tools/bench-detect-wasm.mjs DIR — cleans every .dcm in DIR with the page's core (built by
// `make wasm`, SIMD on) with detection off and on, best of two rounds, and prints
// `without MS`, `with MS` (a file) and `memory MIB` (the core's WebAssembly memory at the end).
// The recogniser is loaded too, as the page loads it: every box found is read.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
const dir = process.argv[2];
const core = await import(join(ROOT, 'pkg', 'obscura.js'));
const exports = core.initSync({ module: readFileSync(join(ROOT, 'pkg', 'obscura_bg.wasm')) });
core.loadTextModel(readFileSync(join(ROOT, 'www', 'models', 'text-detect.onnx')));
core.loadTextReader(readFileSync(join(ROOT, 'www', 'models', 'text-read.onnx')),
  readFileSync(join(ROOT, 'www', 'models', 'text-read-keys.txt')));
const files = readdirSync(dir).filter((f) => f.endsWith('.dcm')).map((f) => readFileSync(join(dir, f)));
const randomKey = Array.from({ length: 32 }, (_, i) => i);
for (const detectText of [false, true]) {
  const cleaner = new core.Cleaner({ randomKey, detectText });
  let best = Infinity;
  for (let round = 0; round < 2; round += 1) {
    const t0 = performance.now();
    for (const f of files) cleaner.clean(new Uint8Array(f));
    best = Math.min(best, performance.now() - t0);
  }
  console.log(`${detectText ? 'with' : 'without'} ${(best / files.length).toFixed(1)}`);
}
console.log(`memory ${(exports.memory.buffer.byteLength / 2 ** 20).toFixed(0)}`);
