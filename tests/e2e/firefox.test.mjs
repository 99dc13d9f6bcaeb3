// End-to-end in Firefox: Debian's Firefox ESR driven through WebDriver BiDi by playwright-core
// (its `moz-firefox` channel), for the main flows. Firefox has no "save as" picker for pages
// (File System Access), so the package comes as a normal download; playwright-core cannot
// catch downloads over BiDi yet, so the test keeps the Blob the page hands to its download
// link (an init script wraps URL.createObjectURL) and reads it back.
// Run with `node --test tests/e2e/` after `make build`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, readdirSync, statSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firefox } from 'playwright-core';

import {
  CLI, SHOTS, startServer, assertEventually, unzip, filesUnder, zipFolder,
  assertOnlyLocalRequests as onlyLocal,
} from './helpers.mjs';

const FIREFOX = '/usr/bin/firefox-esr';

let server;
let origin;
let browser;
let work;
let canaries;

before(async () => {
  assert.ok(statSync(FIREFOX, { throwIfNoEntry: false }), `${FIREFOX} is missing: run scripts/setup.sh`);
  work = mkdtempSync(join(tmpdir(), 'obscura-firefox-'));
  mkdirSync(SHOTS, { recursive: true });
  execFileSync(CLI, ['sample', join(work, 'in'), '--canaries', join(work, 'canaries.txt')]);
  canaries = readFileSync(join(work, 'canaries.txt'), 'utf8').split('\n').filter(Boolean);
  ({ server, origin } = await startServer());
  browser = await firefox.launch({ channel: 'moz-firefox', executablePath: FIREFOX, headless: true, timeout: 120_000 });
});

after(async () => {
  await browser?.close();
  server?.kill();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A page as a user opens it, ready (its options drawn), with every request recorded. */
async function openPage() {
  for (let attempt = 1; ; attempt += 1) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    await context.addInitScript(() => {
      const make = URL.createObjectURL;
      window.obscuraTestBlobs = [];
      URL.createObjectURL = (blob) => {
        window.obscuraTestBlobs.push(blob);
        return make(blob);
      };
    });
    const requests = [];
    context.on('request', (r) => requests.push(r.url()));
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    try {
      await page.goto(`${origin}/`);
      await assertEventually(async () => (await page.locator('#options input').count()) > 0, 30_000);
      return { context, page, requests, errors };
    } catch (e) {
      if (attempt >= 2) throw e;
      // Now and then, in a full run of the suite, the worker has not answered after 30 s
      // (cause unknown; never seen in Chromium), and the page then does not even reload.
      // What the page had loaded is printed, for whoever looks into it, and the page is
      // opened once more in a new context.
      const loaded = await within(page.evaluate(() => performance.getEntriesByType('resource')
        .map((r) => `${r.name.replace(/^.*\/\/[^/]+/, '')} ${Math.round(r.startTime)}+${Math.round(r.duration)} ms`)),
      5_000, ['(the page did not answer)']);
      console.log(`# Firefox: no answer from the worker after 30 s (page errors: ${JSON.stringify(errors)}; `
        + `loaded: ${loaded.join(', ')}); opening the page again in a new context`);
      await within(context.close(), 10_000, null);
    }
  }
}

/** What `promise` gives, or `fallback` if it fails or takes more than `ms` (a hung page). */
function within(promise, ms, fallback) {
  return Promise.race([
    promise.catch(() => fallback),
    new Promise((resolve) => { setTimeout(() => resolve(fallback), ms).unref(); }),
  ]);
}

/** A screenshot for a reviewer. Over BiDi, playwright-core adds a style element to the page
 * to take it, which the page's CSP refuses: those refusals (and only those, made while the
 * screenshot is taken) are not the page's errors. */
async function screenshot(page, errors, path, options = {}) {
  const before = errors.length;
  await page.screenshot({ path, ...options });
  await new Promise((r) => setTimeout(r, 200));
  const during = errors.splice(before);
  errors.push(...during.filter((e) => !/blocked an inline style \(style-src-elem\)/.test(e)));
}


/** Download the package (looking at every flagged image and ticking "I looked at this image"
 * first) and unzip it. */
async function downloadPackage(page, name) {
  const flagged = page.locator('#file-list tr', { has: page.getByLabel('I looked at this image') });
  for (const row of await flagged.all()) {
    await row.getByRole('button', { name: /^Show image/ }).click();
    await assertEventually(async () => /what goes into the package/.test(await page.locator('#preview-note').textContent()), 30_000);
    await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click();
    await row.getByLabel('I looked at this image').check();
  }
  const before = await page.evaluate(() => window.obscuraTestBlobs.length);
  await page.getByRole('button', { name: 'Download package' }).click();
  await assertEventually(async () => (await page.evaluate(() => window.obscuraTestBlobs.length)) > before, 60_000);
  const b64 = await page.evaluate(async () => {
    const blob = window.obscuraTestBlobs[window.obscuraTestBlobs.length - 1];
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(s);
  });
  const zipPath = join(work, `${name}.zip`);
  writeFileSync(zipPath, Buffer.from(b64, 'base64'));
  const dest = join(work, name);
  return { dest, names: unzip(zipPath, dest) };
}

function assertOnlyLocalRequests(requests) {
  onlyLocal(requests, origin);
}

test('Firefox: files added are de-identified and the package is complete and free of PHI', async () => {
  const { context, page, requests, errors } = await openPage();
  assert.equal(await page.evaluate(() => typeof window.showSaveFilePicker), 'undefined', 'a normal download here');
  const files = readdirSync(join(work, 'in')).map((n) => join(work, 'in', n));
  await page.getByLabel('Add DICOM files').setInputFiles(files);
  const status = page.getByRole('status');
  await assertEventually(async () => /6 files de-identified, 0 excluded/.test(await status.textContent()), 120_000);
  await screenshot(page, errors, join(SHOTS, 'firefox-1-files-done.png'), { fullPage: true });
  const { dest, names } = await downloadPackage(page, 'package');
  assert.equal(names.filter((n) => /^DICOM\/.*IM\d+$/.test(n)).length, 6, names.join(' '));
  for (const n of ['DICOMDIR', 'case.html', 'deidentification-report.html', 'manifest.json', 'CHANGES.txt']) {
    assert.ok(names.includes(n), `${n} in ${names.join(' ')}`);
  }
  for (const file of filesUnder(dest)) {
    const text = readFileSync(file).toString('latin1');
    for (const c of canaries) assert.ok(!text.includes(c), `${c} in ${file}`);
  }
  const check = spawnSync('dcmdump', ['-q', join(dest, 'DICOMDIR')], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stderr);
  assertOnlyLocalRequests(requests);
  assert.deepEqual(errors, []);
  await context.close();
});

test('Firefox: a ZIP archive is read, an image is checked and a box drawn on it is blacked out', async () => {
  const { context, page, requests, errors } = await openPage();
  const zipPath = join(work, 'study.zip');
  zipFolder(join(work, 'in'), zipPath);
  await page.getByLabel('Add DICOM files').setInputFiles([zipPath]);
  const status = page.getByRole('status');
  await assertEventually(async () => /6 files de-identified, 0 excluded/.test(await status.textContent()), 120_000);
  await page.getByRole('button', { name: /^Show image/ }).first().click();
  const dialog = page.getByRole('dialog');
  await assertEventually(async () => /what goes into the package/.test(await dialog.textContent()), 60_000);
  const canvas = page.locator('#preview-after');
  const box = await canvas.boundingBox();
  await page.mouse.move(box.x + 2, box.y + 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 3, { steps: 6 });
  await page.mouse.up();
  await dialog.getByRole('button', { name: 'Black out in this image' }).click();
  await assertEventually(async () => /Box 1:/.test(await dialog.getByRole('region', { name: 'Boxes you drew' }).textContent()), 60_000);
  await assertEventually(async () => (await page.evaluate(() => {
    const c = document.getElementById('preview-after');
    const d = c.getContext('2d').getImageData(2, 2, Math.floor(c.width / 2) - 4, Math.floor(c.height / 3) - 4).data;
    let bright = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] > 0) bright += 1;
    return bright;
  })) === 0, 60_000);
  await screenshot(page, errors, join(SHOTS, 'firefox-2-box-drawn.png'));
  await dialog.getByRole('button', { name: 'Close' }).click();
  const { dest } = await downloadPackage(page, 'boxed');
  assert.match(readFileSync(join(dest, 'CHANGES.txt'), 'utf8'), /box drawn on the page \(this image\)/);
  assertOnlyLocalRequests(requests);
  assert.deepEqual(errors, []);
  await context.close();
});
