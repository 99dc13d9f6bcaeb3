// The JavaScript library (library/js) as a user gets it: `npm pack`'s tarball installed into a
// scratch project, then used from Node to de-identify Obscura's sample files. Its package is
// the CLI's, byte for byte, for the same files, key and options.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { ROOT, CLI, unzip, filesUnder, assertEventually } from '../e2e/helpers.mjs';
import { launchChromium } from '../../tools/local-server.mjs';

const PASSPHRASE = 'library test passphrase';
const SALT = '00112233445566778899aabbccddeeff';

/** The tarball, installed into a new project: its folder (made once, removed at exit). */
let project = null;
function installed() {
  if (project) return project;
  project = install();
  process.on('exit', () => rmSync(project, { recursive: true, force: true }));
  return project;
}

function install() {
  const tarball = execFileSync('bash', [join(ROOT, 'tools', 'npm-package.sh')], { encoding: 'utf8' }).trim();
  const project = mkdtempSync(join(tmpdir(), 'obscura-lib-'));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  const npm = spawnSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error', join(ROOT, tarball)],
    { cwd: project, encoding: 'utf8' });
  assert.equal(npm.status, 0, npm.stderr);
  return project;
}

/** Run `code` (an ES module) in `project`; its stdout parsed as JSON. */
function runIn(project, code, ...args) {
  writeFileSync(join(project, 'check.mjs'), code);
  const run = spawnSync(process.execPath, ['check.mjs', ...args], { cwd: project, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout);
}

test('installed from its tarball, the library de-identifies files in Node, with typed errors, and makes the CLI\'s package byte for byte', async () => {
  const project = installed();
  const work = join(project, 'work');
  mkdirSync(join(work, 'in'), { recursive: true });
  execFileSync(CLI, ['sample', join(work, 'in'), '--canaries', join(work, 'canaries.txt')]);
  writeFileSync(join(work, 'in', 'README.txt'), 'not a DICOM file\n');
  const canaries = readFileSync(join(work, 'canaries.txt'), 'utf8').split('\n').filter(Boolean);

  const seen = runIn(project, `
    import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
    import { join } from 'node:path';
    import { init, Session, Batch, ObscuraError, renderFrame, profileOptions, sampleStudy, detectionStatus } from 'obscura-dicom';
    const [dir, out] = process.argv.slice(2);
    const status = await init();
    const key = { passphrase: ${JSON.stringify(PASSPHRASE)}, salt: ${JSON.stringify(SALT)} };
    const policy = { key };
    const names = readdirSync(dir).sort();
    const files = names.map((name) => ({ name, bytes: new Uint8Array(readFileSync(join(dir, name))) }));
    const seen = { detection: status, files: {}, errors: {} };

    // One file at a time, after a first pass.
    const session = new Session(policy);
    for (const f of files) session.scan(f.bytes);
    for (const f of files) {
      try {
        const r = session.deidentify(f.bytes);
        writeFileSync(join(out, f.name + '.deid'), r.bytes);
        seen.files[f.name] = { changes: r.changes.length, removed: r.changes.filter((c) => c.action === 'removed').length,
          before: r.before.patientName, after: r.after.patientName, transferSyntax: r.transferSyntax };
      } catch (e) {
        seen.errors[f.name] = { typed: e instanceof ObscuraError, code: e.code, message: e.message };
      }
    }
    session.free();
    try { session.deidentify(files[0].bytes); } catch (e) { seen.errors.freed = { code: e.code }; }
    try { new Session({ options: ['no-such-option'] }); } catch (e) { seen.errors.settings = { typed: e instanceof ObscuraError, code: e.code, message: e.message }; }
    try { new Session({ keyy: {} }); } catch (e) { seen.errors.field = { code: e.code, message: e.message }; }

    // The package, as the CLI makes it.
    const batch = new Batch(policy);
    for (const f of files) batch.scan(f.bytes);
    const byPath = new Map();
    for (const f of files) {
      const r = batch.add(f.bytes, f.name);
      if (r.status === 'done') byPath.set(r.packagePath, f.bytes);
      else seen.batchLeftOut = { name: r.name, status: r.status, code: r.code };
    }
    writeFileSync(join(out, 'package.zip'), await batch.package({ originals: (p) => byPath.get(p) }));
    try { batch.add(files[0].bytes); } catch (e) { seen.errors.finished = { code: e.code }; }

    // Burned-in text, with the models shipped in the package.
    const us = sampleStudy().find((f) => f.name.includes('_US_'));
    const found = new Session({ key }).deidentify(us.bytes);
    seen.ultrasound = { detections: found.detections.length, warnings: found.warnings.length };
    const frame = renderFrame(found.bytes);
    seen.frame = { width: frame.width, height: frame.height, rgba: frame.rgba.length };
    seen.presets = profileOptions().presets.map((p) => p.id);
    console.log(JSON.stringify(seen));
  `, join(work, 'in'), work);

  // Detection is available from the models in the package.
  assert.equal(seen.detection.available, true, seen.detection.reason);
  // Every sample file came out, clean; the broken file is a typed error.
  assert.equal(Object.keys(seen.files).length, 6);
  for (const [name, f] of Object.entries(seen.files)) {
    assert.ok(f.changes > 10 && f.removed > 0, `${name}: ${JSON.stringify(f)}`);
    assert.match(f.before, /FAKE/);
    assert.doesNotMatch(f.after, /FAKE/);
    const bytes = readFileSync(join(work, `${name}.deid`));
    for (const c of canaries) assert.equal(bytes.indexOf(c), -1, `${c} leaked in ${name}`);
  }
  assert.deepEqual(seen.errors['README.txt'].typed, true);
  assert.equal(seen.errors['README.txt'].code, 'not-dicom');
  assert.match(seen.errors['README.txt'].message, /not a DICOM file/);
  assert.equal(seen.errors.freed.code, 'freed');
  assert.deepEqual([seen.errors.settings.typed, seen.errors.settings.code], [true, 'settings']);
  assert.match(seen.errors.settings.message, /no-such-option/);
  assert.equal(seen.errors.field.code, 'settings');
  assert.equal(seen.errors.finished.code, 'finished');
  assert.deepEqual(seen.batchLeftOut, { name: 'README.txt', status: 'excluded', code: 'not-dicom' });
  // The ultrasound's burned-in text was found in Node, and the frame drawn.
  assert.ok(seen.ultrasound.detections >= 3, JSON.stringify(seen.ultrasound));
  assert.deepEqual(seen.frame, { width: 320, height: 240, rgba: 320 * 240 * 4 });
  assert.ok(seen.presets.length >= 3);

  // pydicom reads every file the library wrote.
  const py = spawnSync(join(ROOT, '.venv', 'bin', 'python'), ['-c',
    'import sys, pydicom\nfor f in sys.argv[1:]: d = pydicom.dcmread(f); d.PatientName; d.pixel_array',
    ...readdirSync(work).filter((n) => n.endsWith('.deid')).map((n) => join(work, n))], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);

  // The CLI, with the same files and key.
  const keyFile = join(work, 'key.txt');
  writeFileSync(keyFile, `${PASSPHRASE}\nsalt: ${SALT}\n`);
  const inputs = readdirSync(join(work, 'in')).sort().map((n) => join(work, 'in', n));
  const cli = spawnSync(CLI, ['deid', ...inputs, '--out', join(work, 'cli-out'), '--zip', join(work, 'cli.zip'),
    '--key-file', keyFile], { encoding: 'utf8' });
  assert.equal(cli.status, 1, cli.stderr); // (README.txt is left out)
  const fromCli = join(work, 'cli');
  const fromLib = join(work, 'lib');
  const cliNames = unzip(join(work, 'cli.zip'), fromCli);
  const libNames = unzip(join(work, 'package.zip'), fromLib);
  const dicom = (root) => filesUnder(join(root, 'DICOM')).map((f) => f.slice(root.length + 1)).sort();
  assert.equal(dicom(fromCli).length, 6);
  assert.deepEqual(dicom(fromLib), dicom(fromCli));
  for (const name of [...dicom(fromCli), 'DICOMDIR', 'CHANGES.txt', 'changes.json']) {
    assert.ok(readFileSync(join(fromLib, name)).equals(readFileSync(join(fromCli, name))), `${name}: the same from the library and the CLI`);
  }
  // Key images for slides, as the CLI makes them.
  const images = (names) => names.filter((n) => n.startsWith('images/')).sort();
  assert.deepEqual(images(libNames), images(cliNames));
  assert.ok(images(libNames).length >= 3);
  for (const file of filesUnder(fromLib)) {
    const bytes = readFileSync(file);
    for (const c of canaries) assert.equal(bytes.indexOf(c), -1, `${c} leaked in ${file}`);
  }
});

test('the library\'s types check in TypeScript\'s strict mode, as the README uses them, and refuse misuses', () => {
  const project = installed();
  cpSync(join(ROOT, 'tests', 'library', 'usage.ts'), join(project, 'usage.ts'));
  const tsc = spawnSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['--noEmit', '--strict', '--target', 'es2022',
    '--module', 'nodenext', '--moduleResolution', 'nodenext', '--lib', 'es2022,dom', 'usage.ts'], { cwd: project, encoding: 'utf8' });
  assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
});

test('the library\'s types describe what it exports', () => {
  const types = readFileSync(join(ROOT, 'library', 'js', 'index.d.ts'), 'utf8');
  const code = readFileSync(join(ROOT, 'library', 'js', 'index.js'), 'utf8');
  const exported = [...code.matchAll(/^export (?:async )?(?:function|class) (\w+)/gm)].map((m) => m[1]).sort();
  const typed = [...types.matchAll(/^export (?:function|class) (\w+)/gm)].map((m) => m[1]);
  assert.deepEqual([...new Set(typed)].sort(), exported);
});

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm' };

/** A static server for `root` that records what it served and what is POSTed to /upload:
 * `{ origin, uploads, served, close }`. */
async function appServer(root) {
  const uploads = [];
  const served = [];
  const server = createServer((req, res) => {
    served.push(req.url);
    if (req.method === 'POST' && req.url === '/upload') {
      const parts = [];
      req.on('data', (d) => parts.push(d));
      req.on('end', () => { uploads.push(Buffer.concat(parts)); res.writeHead(204).end(); });
      return;
    }
    const pathname = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const path = normalize(join(root, pathname.endsWith('/') ? `${pathname}index.html` : pathname));
    if (!path.startsWith(root)) return res.writeHead(403).end();
    try {
      const body = readFileSync(path);
      res.writeHead(200, { 'Content-Type': TYPES[extname(path)] || 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${server.address().port}`, uploads, served, close: () => server.close() };
}

test('in Chromium, another app\'s upload form (examples/upload-form) de-identifies with the installed library, under its own CSP, before it uploads', async (t) => {
  const project = installed();
  const site = join(project, 'site');
  cpSync(join(ROOT, 'examples', 'upload-form'), site, { recursive: true });
  cpSync(join(project, 'node_modules'), join(site, 'node_modules'), { recursive: true });
  const inputs = join(project, 'upload-in');
  mkdirSync(inputs, { recursive: true });
  execFileSync(CLI, ['sample', inputs, '--canaries', join(project, 'upload-canaries.txt')]);
  writeFileSync(join(inputs, 'README.txt'), 'not a DICOM file\n');
  const canaries = readFileSync(join(project, 'upload-canaries.txt'), 'utf8').split('\n').filter(Boolean);

  const app = await appServer(site);
  t.after(app.close);
  const browser = await launchChromium();
  t.after(() => browser.close());
  const context = await browser.newContext();
  const page = await context.newPage();
  const requests = [];
  context.on('request', (r) => requests.push(r.url()));
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(`${app.origin}/`);
  await page.getByLabel('DICOM files').setInputFiles(readdirSync(inputs).sort().map((n) => join(inputs, n)));
  await page.getByLabel(/Project passphrase/).fill('library example passphrase');
  await page.getByRole('button', { name: 'De-identify and upload' }).click();
  const status = page.getByRole('status');
  await assertEventually(async () => /6 of 7 files sent, de-identified/.test(await status.textContent()), 120_000);
  assert.match(await page.locator('li.left-out').textContent(), /README\.txt: not sent \(not a DICOM file/);
  assert.equal(app.uploads.length, 6);
  for (const body of app.uploads) {
    for (const c of canaries) assert.equal(body.indexOf(c), -1, `${c} was uploaded`);
  }
  const dir = join(project, 'uploaded');
  mkdirSync(dir, { recursive: true });
  app.uploads.forEach((b, i) => writeFileSync(join(dir, `${i}.dcm`), b));
  const py = spawnSync(join(ROOT, '.venv', 'bin', 'python'), ['-c',
    'import sys, pydicom\nfor f in sys.argv[1:]: d = pydicom.dcmread(f); assert "FAKE" not in str(d.PatientName); d.pixel_array',
    ...readdirSync(dir).map((n) => join(dir, n))], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  assert.deepEqual(requests.filter((u) => !u.startsWith(`${app.origin}/`)), [], 'nothing went to another origin');
  assert.ok(app.served.includes('/node_modules/obscura-dicom/models/text-detect.onnx'), 'the models come from the app\'s own origin');
  assert.deepEqual(errors, []);
});
