// The browser half of `make bench`: the real page in Debian's Chromium (headless), driven by
// playwright-core. It adds every file of a folder through "Add DICOM files", waits for the
// status to say they are done, then downloads the package, and prints one JSON line:
// {seconds (from the start of adding files until all are done), afterInput (of which: the time
// Playwright took to hand the files over), packageSeconds, files, peakRendererRssMiB}.
// Usage: node tools/bench-page.mjs DIR
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = process.argv[2];
const files = readdirSync(dir).sort().map((f) => join(dir, f));

/** Sum of the resident memory of Chromium's renderer processes (the page and its worker). */
function rendererRssMiB() {
  let kib = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes('chrom') || !cmd.includes('--type=renderer')) continue;
      const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/);
      if (m) kib += Number(m[1]);
    } catch { /* the process ended */ }
  }
  return kib / 1024;
}

const server = spawn('python3', [join(ROOT, 'tools', 'serve.py'), '--port', '0'], {
  env: { ...process.env, OBSCURA_SERVE_QUIET: '1' }, stdio: ['ignore', 'pipe', 'inherit'],
});
const origin = await new Promise((resolve) => {
  let buf = '';
  server.stdout.on('data', (d) => {
    buf += d;
    const m = buf.match(/http:\/\/127\.0\.0\.1:(\d+)\//);
    if (m) resolve(`http://127.0.0.1:${m[1]}`);
  });
});
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
});
let peak = 0;
const sampler = setInterval(() => { peak = Math.max(peak, rendererRssMiB()); }, 100);
try {
  const context = await browser.newContext({ acceptDownloads: true });
  // A normal download (no "save as" picker), which Playwright catches.
  await context.addInitScript(() => { delete window.showSaveFilePicker; });
  const page = await context.newPage();
  await page.goto(`${origin}/`);
  const start = performance.now();
  await page.getByLabel('Add DICOM files').setInputFiles(files);
  const afterInput = (performance.now() - start) / 1000;
  const done = new RegExp(`${files.length} files de-identified`);
  await page.waitForFunction((re) => new RegExp(re).test(document.querySelector('[role=status]').textContent),
    done.source, { timeout: 600_000, polling: 50 });
  const seconds = (performance.now() - start) / 1000;
  const pkgStart = performance.now();
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 600_000 }),
    page.getByRole('button', { name: 'Download package' }).click(),
  ]);
  await download.path();
  const packageSeconds = (performance.now() - pkgStart) / 1000;
  console.log(JSON.stringify({ seconds, afterInput, packageSeconds, files: files.length, peakRendererRssMiB: Math.round(peak) }));
} finally {
  clearInterval(sampler);
  await browser.close();
  server.kill();
}
