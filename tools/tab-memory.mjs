// Where the tab's memory goes: the real page in Debian's Chromium (headless) de-identifies the
// files given, and Chromium's own memory accounting (memory-infra dumps, as chrome://tracing
// shows them) is read before the first file and after the last one. Prints, for the renderer
// process (the page, its worker and the pool's workers), how much each kind of memory grew:
// script heaps of the page and of the workers, Blink's garbage-collected objects, the buffers
// behind ArrayBuffers, and so on. Without --gc, partition_alloc's figure can hold the
// 96 MiB buffer the page allocates to ask for a collection (www/shared/collect.js) while it
// is not collected yet: it is never written, so it takes no resident memory (the tab's
// resident memory is what `make bench-huge` measures).
// Usage: node tools/tab-memory.mjs PATH [--gc] [--export] [--depth N]
//   PATH      a folder (every file in it) or one file (e.g. a ZIP archive)
//   --gc      also after a full garbage collection of the page and its workers: what is left
//             is what the page holds, the rest was garbage the browser had not collected yet
//   --export  then also after the package is written to a file (as `make bench-huge` does:
//             "save as" answered with a file of the origin's private file system)
//   --depth N how deep to list the accounting's categories (default 3)
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium, startServer } from './local-server.mjs';

const args = process.argv.slice(2);
const path = args[0];
if (!path) {
  console.error('usage: node tools/tab-memory.mjs PATH [--gc] [--depth N]');
  process.exit(2);
}
const collect = args.includes('--gc');
const exporting = args.includes('--export');
const depthAt = args.indexOf('--depth');
const depth = depthAt > 0 ? Number(args[depthAt + 1]) : 3;
const files = statSync(path).isDirectory() ? readdirSync(path).sort().map((f) => join(path, f)) : [path];

/** One memory-infra dump of every process: pid → { name, sizes: category → bytes }. */
async function dump(browser) {
  const cdp = await browser.newBrowserCDPSession();
  const events = [];
  cdp.on('Tracing.dataCollected', (e) => events.push(...e.value));
  const complete = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
  await cdp.send('Tracing.start', {
    traceConfig: {
      includedCategories: ['disabled-by-default-memory-infra'],
      excludedCategories: ['*'],
      memoryDumpConfig: { triggers: [] },
    },
    transferMode: 'ReportEvents',
  });
  await new Promise((r) => setTimeout(r, 300));
  await cdp.send('Tracing.requestMemoryDump', { deterministic: false, levelOfDetail: 'detailed' });
  await cdp.send('Tracing.end');
  await complete;
  await cdp.detach();
  const names = new Map();
  for (const e of events) {
    if (e.ph === 'M' && e.name === 'process_name') names.set(e.pid, e.args.name);
  }
  const processes = new Map();
  for (const e of events) {
    if (e.ph !== 'v') continue;
    const sizes = new Map();
    for (const [category, v] of Object.entries(e.args.dumps.allocators || {})) {
      const size = (v.attrs || {}).effective_size || (v.attrs || {}).size;
      if (size) sizes.set(category, parseInt(size.value, 16));
    }
    processes.set(e.pid, { name: names.get(e.pid) || '?', sizes });
  }
  return processes;
}

/** The lines saying how each category of the tab's renderer grew from `before` to `after`. */
function growth(before, after) {
  const lines = [];
  for (const [pid, { name, sizes }] of after) {
    if (!/renderer/i.test(name) || /webui/i.test(name)) continue;
    const was = before.get(pid)?.sizes || new Map();
    const rows = [];
    for (const [category, bytes] of sizes) {
      if (category.split('/').length > depth) continue;
      const grew = bytes - (was.get(category) || 0);
      if (Math.abs(grew) >= 1 << 20) rows.push([grew, category, bytes]);
    }
    if (rows.length === 0) continue;
    lines.push(`renderer ${pid}: growth (MiB), now (MiB), category`);
    rows.sort((a, b) => b[0] - a[0]);
    for (const [grew, category, bytes] of rows) {
      lines.push(`${(grew / 1048576).toFixed(1).padStart(8)} ${(bytes / 1048576).toFixed(1).padStart(8)}  ${category}`);
    }
  }
  return lines.join('\n');
}

const { server, origin } = await startServer();
const browser = await launchChromium(collect ? ['--js-flags=--expose-gc'] : []);
try {
  const page = await browser.newPage();
  // "Save as" answered with a file in the origin's private file system.
  await page.addInitScript(() => {
    window.showSaveFilePicker = async ({ suggestedName }) => {
      const dir = await navigator.storage.getDirectory();
      return dir.getFileHandle(suggestedName, { create: true });
    };
  });
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => /No files yet/.test(document.querySelector('[role=status]').textContent));
  await new Promise((r) => setTimeout(r, 1000));
  const before = await dump(browser);
  const start = performance.now();
  await page.getByLabel('Add DICOM files').setInputFiles(files);
  await page.waitForFunction(() => /de-identified, \d+ excluded/.test(document.querySelector('[role=status]').textContent),
    null, { timeout: 3_600_000, polling: 250 });
  const status = await page.locator('[role=status]').textContent();
  console.log(`${status} (${((performance.now() - start) / 1000).toFixed(1)} s)`);
  console.log(`\nAfter the last file:\n${growth(before, await dump(browser))}`);
  if (collect) {
    for (let i = 0; i < 3; i++) {
      await page.evaluate(() => globalThis.gc());
      for (const w of page.workers()) await w.evaluate(() => globalThis.gc()).catch(() => {});
    }
    await new Promise((r) => setTimeout(r, 1000));
    console.log(`\nAfter a full garbage collection (${page.workers().length} workers):\n${growth(before, await dump(browser))}`);
  }
  if (exporting) {
    await page.getByRole('button', { name: 'Download package' }).click();
    await page.waitForFunction(() => /Saved: .*\.zip|could not/.test(document.querySelector('[role=status]').textContent),
      null, { timeout: 3_600_000, polling: 250 });
    console.log(`\nAfter the package was written:\n${growth(before, await dump(browser))}`);
  }
} finally {
  await browser.close();
  server.kill();
}
