// The core alone in the browser, for `make bench`: Debian's Chromium (headless) running the
// page's wasm build of the core in one module worker, on files already in memory, doing what a
// cleaner of the page's pool does with each (`Cleaner.clean`: de-identify, the change list as
// JSON, the ZIP entry compressed). No file reading, no messages, no page: what is left is
// the compiled core, to hold against the same work natively (criterion's "the page's cleaner
// on a 512x512 CT slice" in benches/hot_paths.rs). The first round warms the core up; the best
// of the next three is kept. Prints one JSON line: {seconds, files, bytes, perFileUs}.
// Usage: node tools/bench-core.mjs FOLDER
// The page and the core are served by Playwright itself (a made-up origin, nothing on the
// network).
import { readdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './local-server.mjs';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node tools/bench-core.mjs FOLDER');
  process.exit(2);
}
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const files = readdirSync(dir).sort().map((f) => join(dir, f)).filter((f) => statSync(f).isFile());
const ORIGIN = 'http://core-bench.invalid';

const WORKER = `
import init, { Cleaner } from './pkg/obscura.js';
onmessage = async (ev) => {
  try {
    await init();
    const bytes = await Promise.all(ev.data.map(async (f) => new Uint8Array(await f.arrayBuffer())));
    // The same fixed key in every round: the same work each time.
    const cleaner = new Cleaner({ randomKey: Array.from({ length: 32 }, () => 7) });
    const rounds = [];
    for (let round = 0; round < 4; round += 1) {
      const start = performance.now();
      for (const b of bytes) {
        const out = cleaner.clean(b);
        if (out.status !== 'done') throw new Error(out.status + ': ' + out.reason);
      }
      rounds.push(performance.now() - start);
    }
    postMessage({ ms: Math.min(...rounds.slice(1)), bytes: bytes.reduce((n, b) => n + b.length, 0) });
  } catch (e) {
    postMessage({ error: String(e && e.stack || e) });
  }
};`;

const PAGE = `<!doctype html><meta charset="utf-8"><title>core bench</title>
<input type="file" multiple aria-label="files">
<script>
window.run = () => new Promise((resolve) => {
  const w = new Worker('./core-worker.js', { type: 'module' });
  w.onmessage = (ev) => { resolve(ev.data); w.terminate(); };
  w.onerror = (ev) => resolve({ error: ev.message || 'worker failed to load' });
  w.postMessage([...document.querySelector('input').files]);
});
</script>`;

const browser = await launchChromium();
try {
  const context = await browser.newContext();
  await context.route(`${ORIGIN}/**`, (route) => {
    const path = new URL(route.request().url()).pathname;
    if (path === '/core-worker.js') return route.fulfill({ contentType: 'text/javascript', body: WORKER });
    if (path === '/pkg/obscura.js') return route.fulfill({ path: join(ROOT, 'pkg', 'obscura.js'), contentType: 'text/javascript' });
    if (path === '/pkg/obscura_bg.wasm') return route.fulfill({ path: join(ROOT, 'pkg', 'obscura_bg.wasm'), contentType: 'application/wasm' });
    if (path === '/') return route.fulfill({ contentType: 'text/html', body: PAGE });
    return route.fulfill({ status: 404, body: '' });
  });
  const page = await context.newPage();
  await page.goto(`${ORIGIN}/`);
  await page.getByLabel('files').setInputFiles(files);
  const r = await page.evaluate(() => window.run());
  if (r.error) throw new Error(r.error);
  console.log(JSON.stringify({
    seconds: r.ms / 1000, files: files.length, bytes: r.bytes, perFileUs: (r.ms * 1000) / files.length,
  }));
} finally {
  await browser.close();
}
