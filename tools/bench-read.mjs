// The browser's own floor for the page in `make bench`: Debian's Chromium (headless) reading
// the same files the page is given, and doing nothing else with them. One worker per core
// (as the page's pool) reads its share of the files, eight at a time, each whole from its
// byte stream into a buffer used again (as the page reads them: faster here than
// `blob.arrayBuffer()`, which makes a new buffer for every file); the time is taken in the
// page, from the workers being given the files until all have read them. Best of three rounds, each in a new page. Prints one
// JSON line: {seconds, files, bytes, workers}.
// Usage: node tools/bench-read.mjs FOLDER
// The page is served by Playwright itself (a made-up origin, nothing on the network).
import { readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { launchChromium } from './local-server.mjs';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node tools/bench-read.mjs FOLDER');
  process.exit(2);
}
const files = readdirSync(dir).sort().map((f) => join(dir, f)).filter((f) => statSync(f).isFile());
const workers = availableParallelism();
const ORIGIN = 'http://read-floor.invalid';

const WORKER = `
const spare = [];
async function read(blob) {
  let buf = spare.find((b) => b.byteLength >= blob.size);
  if (buf) spare.splice(spare.indexOf(buf), 1);
  else buf = new ArrayBuffer(blob.size);
  const reader = blob.stream().getReader({ mode: 'byob' });
  let at = 0;
  while (at < blob.size) {
    const { value, done } = await reader.read(new Uint8Array(buf, at, blob.size - at));
    if (done) break;
    buf = value.buffer;
    at += value.byteLength;
  }
  reader.releaseLock();
  spare.push(buf);
  return at;
}
onmessage = async (ev) => {
  const files = ev.data;
  let bytes = 0;
  for (let i = 0; i < files.length; i += 8) {
    const read8 = await Promise.all(files.slice(i, i + 8).map(read));
    for (const n of read8) bytes += n;
  }
  postMessage(bytes);
};`;

const PAGE = `<!doctype html><meta charset="utf-8"><title>read floor</title>
<input type="file" multiple aria-label="files">
<script>
const source = URL.createObjectURL(new Blob([${JSON.stringify(WORKER)}], { type: 'text/javascript' }));
window.readAll = (n) => new Promise((resolve) => {
  const files = [...document.querySelector('input').files];
  const pool = Array.from({ length: n }, () => new Worker(source));
  // Started before the clock: a page's pool is there before files are given to it.
  setTimeout(() => {
    const start = performance.now();
    let done = 0;
    let bytes = 0;
    pool.forEach((w, k) => {
      w.onmessage = (ev) => {
        bytes += ev.data;
        done += 1;
        if (done === n) {
          resolve({ ms: performance.now() - start, bytes });
          pool.forEach((x) => x.terminate());
        }
      };
      w.postMessage(files.filter((_, i) => i % n === k));
    });
  }, 500);
});
</script>`;

const browser = await launchChromium();
try {
  const context = await browser.newContext();
  await context.route(`${ORIGIN}/**`, (route) => route.fulfill({ contentType: 'text/html', body: PAGE }));
  let best = null;
  for (let round = 0; round < 3; round += 1) {
    const page = await context.newPage();
    await page.goto(`${ORIGIN}/`);
    await page.getByLabel('files').setInputFiles(files);
    const r = await page.evaluate((n) => window.readAll(n), workers);
    if (!best || r.ms < best.ms) best = r;
    await page.close();
  }
  const total = files.reduce((sum, f) => sum + statSync(f).size, 0);
  if (best.bytes !== total) throw new Error(`read ${best.bytes} of ${total} bytes`);
  console.log(JSON.stringify({ seconds: best.ms / 1000, files: files.length, bytes: best.bytes, workers }));
} finally {
  await browser.close();
}
