// What the end-to-end tests in Chromium (page.test.mjs) and Firefox (firefox.test.mjs) share:
// the local server, waiting for the page, reading a package, the privacy check.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(ROOT, 'target', 'release', 'obscura');
// Screenshots of the main screens, for a reviewer to look at (not compared).
export const SHOTS = join(ROOT, 'target', 'e2e-screenshots');

/** The page's local server on a free port: `{ server, origin }`. */
export { startServer } from '../../tools/local-server.mjs';

/** Resolves once `check()` is true; fails after `timeoutMs`. */
export async function assertEventually(check, timeoutMs) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error('timed out waiting for the page');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Write the files of `folder` (not its subfolders) into a deflated ZIP archive at `zipPath`,
 * under `case/`, as an archiver would (Python's zipfile: not Obscura's own writer). */
export function zipFolder(folder, zipPath) {
  const py = spawnSync('python3', ['-c',
    'import sys, os, zipfile\nwith zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:\n  for n in sorted(os.listdir(sys.argv[2])): z.write(os.path.join(sys.argv[2], n), "case/" + n)',
    zipPath, folder], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
}

/** Check a ZIP archive and extract it to `dest`; returns the names inside. */
export function unzip(zipPath, dest) {
  const py = spawnSync('python3', ['-c',
    'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); bad = z.testzip(); assert bad is None, bad; z.extractall(sys.argv[2]); print("\\n".join(z.namelist()))',
    zipPath, dest], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  return py.stdout.split('\n').filter(Boolean);
}

/** Every file below `dir`. */
export function filesUnder(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** The recorded requests went to the page's own origin only. */
export function assertOnlyLocalRequests(requests, origin) {
  const foreign = requests.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('blob:') && !u.startsWith('data:'));
  assert.deepEqual(foreign, [], 'the page contacted no other origin');
  assert.ok(requests.length > 0);
}
