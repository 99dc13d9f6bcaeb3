// The browser half of `make bench` and `make bench-huge`: the real page in Debian's Chromium
// (headless), driven by playwright-core. It adds every file of a folder (or one file, e.g. a
// ZIP archive) through "Add DICOM files", waits for the status to say they are done, then
// downloads the package, and prints one JSON line:
// {seconds (in the page, from when it is given the files until all are done), packageSeconds,
// files, peakRendererRssMiB (the tab: renderer processes, page and workers), workRendererRssMiB
// (its peak while the files are worked on, before the package is made),
// baseRendererRssMiB (the page loaded, no file yet), peakBrowserRssMiB (the browser process,
// which holds the package's pieces as Blobs, spilling them to disk), packageBytes,
// growthAnonMiB / growthFileMiB / growthShmemMiB (the tab's growth at its peak, in its three
// parts: private memory, Chromium's code paged in, the compositor's tiles),
// coreMemoryMiB {main, cleaners: [...]} (the core's WebAssembly memory in each worker)}.
// Usage: node tools/bench-page.mjs PATH [--save] [--expect N]
//   --save      stream the package to a file the page is given (File System Access, here the
//               origin's private file system), as a user with a multi-GB study would
//   --expect N  wait for N files de-identified (default: the number of files in PATH)
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium, startServer } from './local-server.mjs';

const args = process.argv.slice(2);
const path = args[0];
const save = args.includes('--save');
const warm = args.includes('--warm');
const expectAt = args.indexOf('--expect');
const files = statSync(path).isDirectory() ? readdirSync(path).sort().map((f) => join(path, f)) : [path];
const expected = expectAt > 0 ? Number(args[expectAt + 1]) : files.length;

/** Resident memory (MiB) of Chromium's processes whose command line matches `test`: in all
 * (`rss`), and in its three parts (/proc's status): private memory (`anon`), pages of files
 * (`file`: Chromium's own code, paged in as it is first run) and shared memory (`shmem`: the
 * compositor's tiles that draw the page, which it shares with the browser process). */
function memoryMiB(test) {
  const kib = { rss: 0, anon: 0, file: 0, shmem: 0 };
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes('chrom') || !test(cmd)) continue;
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      for (const [key, field] of [['rss', 'VmRSS'], ['anon', 'RssAnon'], ['file', 'RssFile'], ['shmem', 'RssShmem']]) {
        const m = status.match(new RegExp(`${field}:\\s+(\\d+)`));
        if (m) kib[key] += Number(m[1]);
      }
    } catch { /* the process ended */ }
  }
  return Object.fromEntries(Object.entries(kib).map(([k, v]) => [k, v / 1024]));
}
const rssMiB = (test) => memoryMiB(test).rss;
const renderer = (cmd) => cmd.includes('--type=renderer');
const browserProcess = (cmd) => !cmd.includes('--type=');

const { server, origin } = await startServer();
const browser = await launchChromium();
let peak = 0;
let peakParts = null; // the renderers' memory, in its parts, when it was at its peak
let peakWork = 0; // while the files are worked on (before the package is made)
let working = false;
let peakBrowser = 0;
const sampler = setInterval(() => {
  const parts = memoryMiB(renderer);
  const now = parts.rss;
  if (now > peak) { peak = now; peakParts = parts; }
  if (working) peakWork = Math.max(peakWork, now);
  peakBrowser = Math.max(peakBrowser, rssMiB(browserProcess));
}, 100);
try {
  const context = await browser.newContext({ acceptDownloads: true });
  await context.addInitScript((toFile) => {
    if (!toFile) {
      // A normal download (no "save as" picker), which Playwright catches.
      delete window.showSaveFilePicker;
    } else {
      // "Save as" answered with a file in the origin's private file system.
      window.showSaveFilePicker = async ({ suggestedName }) => {
        const dir = await navigator.storage.getDirectory();
        return dir.getFileHandle(suggestedName, { create: true });
      };
    }
  }, save);
  // The time is taken in the page: from when it is given the files (the input's change event)
  // until its status says they are all done. (Playwright's own handing over of the files,
  // which a user's drop does not have, is left out; the page's handling of them is not.)
  await context.addInitScript(() => {
    window.benchTimes = [];
    document.addEventListener('change', () => { window.benchTimes.push({ given: performance.now() }); }, true);
    new MutationObserver(() => {
      const run = window.benchTimes[window.benchTimes.length - 1];
      const status = document.querySelector('[role=status]');
      if (run && !run.done && status && /de-identified, \d+ excluded/.test(status.textContent)) run.done = performance.now();
    }).observe(document, { subtree: true, childList: true, characterData: true });
  });
  const page = await context.newPage();
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => document.querySelector('[role=status]'));
  await new Promise((r) => setTimeout(r, Number(process.env.SETTLE_MS || 1000)));
  /** Add the files; resolves when the status gives the counts (every file read,
   * de-identified or not). */
  const addAll = async () => {
    await page.getByLabel('Add DICOM files').setInputFiles(files);
    await page.waitForFunction(() => /de-identified, \d+ excluded/.test(document.querySelector('[role=status]').textContent),
      null, { timeout: 3_600_000, polling: 250 });
  };
  if (warm) {
    await addAll();
    await page.getByRole('button', { name: 'Start over' }).click();
    await new Promise((r) => setTimeout(r, 1000));
  }
  const baseParts = memoryMiB(renderer);
  const base = baseParts.rss;
  working = true;
  await addAll();
  working = false;
  peakWork = Math.max(peakWork, rssMiB(renderer));
  const finalStatus = await page.locator('[role=status]').textContent();
  if (!finalStatus.includes(`${expected} files de-identified`)) throw new Error(`expected ${expected} files: ${finalStatus}`);
  const times = await page.evaluate(() => window.benchTimes[window.benchTimes.length - 1]);
  const seconds = (times.done - times.given) / 1000;
  const pageHeapMiB = Math.round(await page.evaluate(() => performance.memory.usedJSHeapSize) / 1048576);
  const pkgStart = performance.now();
  let packageBytes;
  if (save) {
    await page.getByRole('button', { name: 'Download package' }).click();
    await page.waitForFunction(() => /Saved: .*\.zip|could not/.test(document.querySelector('[role=status]').textContent),
      null, { timeout: 3_600_000, polling: 250 });
    const status = await page.locator('[role=status]').textContent();
    const name = status.match(/Saved: (\S+\.zip)/)?.[1];
    if (!name) throw new Error(`not saved: ${status}`);
    // The package's end: its ZIP directory must list every file.
    const tail = await page.evaluate(async (n) => {
      const file = await (await (await navigator.storage.getDirectory()).getFileHandle(n)).getFile();
      return { size: file.size, bytes: [...new Uint8Array(await file.slice(file.size - 98).arrayBuffer())] };
    }, name);
    packageBytes = tail.size;
    const end = Buffer.from(tail.bytes);
    const zip64 = end.readUInt32LE(0) === 0x06064b50;
    const entries = zip64 ? Number(end.readBigUInt64LE(32)) : end.readUInt16LE(end.length - 22 + 10);
    if (entries < expected) throw new Error(`the saved package lists ${entries} entries for ${expected} files`);
  } else {
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 3_600_000 }),
      page.getByRole('button', { name: 'Download package' }).click(),
    ]);
    packageBytes = statSync(await download.path()).size;
  }
  const packageSeconds = (performance.now() - pkgStart) / 1000;
  // The core's WebAssembly memory in each worker (see www/shared/core-memory.js): it only
  // grows, so its size after the package is its peak.
  const core = { main: 0, cleaners: [] };
  for (const w of page.workers()) {
    const bytes = await w.evaluate(() => self.obscuraCoreMemoryBytes?.() ?? null).catch(() => null);
    if (bytes === null) continue;
    if (w.url().includes('/cleaner.js')) core.cleaners.push(bytes / 1048576);
    else core.main = bytes / 1048576;
  }
  const grew = (part) => Math.round(peakParts[part] - baseParts[part]);
  console.log(JSON.stringify({
    seconds, packageSeconds, files: expected, packageBytes, warm,
    peakRendererRssMiB: Math.round(peak), workRendererRssMiB: Math.round(peakWork), baseRendererRssMiB: Math.round(base),
    peakBrowserRssMiB: Math.round(peakBrowser), pageHeapMiB,
    // The tab's growth at its peak, in parts (see memoryMiB).
    growthAnonMiB: grew('anon'), growthFileMiB: grew('file'), growthShmemMiB: grew('shmem'),
    coreMemoryMiB: { main: Math.round(core.main * 10) / 10, cleaners: core.cleaners.map((m) => Math.round(m * 10) / 10) },
  }));
} finally {
  clearInterval(sampler);
  await browser.close();
  server.kill();
}
