// The worker's batch logic (www/worker/batch.js) in Node, with the real wasm core from pkg/.
// A trap is simulated on one file (the module's instance is then unusable, as after a real
// trap): the file must be marked failed, a fresh instance loaded, the batch must go on, and
// the package must hold exactly what a run without that file would hold.
// Run with `node --test tests/js/` after `make wasm`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, readdirSync, statSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Batch } from '../../www/worker/batch.js';
import { SpareBuffers, packCleaned } from '../../www/worker/buffers.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PKG = pathToFileURL(join(ROOT, 'pkg', 'obscura.js')).href;
const WASM = readFileSync(join(ROOT, 'pkg', 'obscura_bg.wasm'));
const TRAP_MARK = 'PLEASE TRAP HERE';

/** A result message's report: given as an object, or as the core's JSON. */
const reportOf = (m) => m.report || JSON.parse(m.reportJson);

let loads = 0;
/** A fresh instance of the real core, as the worker gets one. */
async function realCore() {
  loads += 1;
  const core = await import(`${PKG}?instance=${loads}`);
  core.initSync({ module: WASM });
  // The page's sample without its ultrasound: these tests load no text model, and an image
  // that needs looking at for burned-in text is then left out (as it must be).
  return { ...core, sampleStudy: () => core.sampleStudy().filter(([name]) => !name.includes('_US_')) };
}

let trapPreview = false; // when set, the next preview traps (once)

/** The real core, except that a file holding TRAP_MARK makes it trap (and so does a preview
 * while `trapPreview` is set), after which every call into that instance fails, as it does
 * after a real trap. */
async function trappingCore() {
  const core = await realCore();
  let dead = false;
  const check = () => { if (dead) throw new Error('recursive use of an object detected'); };
  // Every method of the real Run, checked first; `process` also traps on the marked file.
  function Run(...args) {
    const inner = new core.Run(...args);
    return new Proxy(inner, {
      get(target, prop) {
        const value = target[prop];
        if (typeof value !== 'function') return value;
        return (...a) => {
          check();
          if ((prop === 'process' || (prop === 'preview' && trapPreview))
            && (prop === 'preview' || Buffer.from(a[0]).includes(TRAP_MARK))) {
            dead = true;
            trapPreview = false;
            throw new WebAssembly.RuntimeError('unreachable');
          }
          return value.apply(target, a);
        };
      },
    });
  }
  return { ...core, Run };
}

async function runBatch(loadCore, files) {
  const posts = [];
  const batch = new Batch(loadCore, (m) => posts.push(m), (b) => Buffer.from(b));
  batch.setSettings({ options: [], passphrase: 'same passphrase, same pseudonyms', salt: '00112233445566778899aabbccddeeff' });
  for (const [name, bytes] of files) batch.enqueue(name, async () => bytes);
  const parts = await batch.packageParts();
  const results = new Map();
  const names = new Map();
  for (const m of posts) {
    if (m.type === 'added') names.set(m.id, m.name);
    if (m.type === 'result') results.set(names.get(m.id), reportOf(m));
  }
  return { batch, results, zip: Buffer.concat(parts.map((p) => Buffer.from(p))) };
}

function unzip(zip, name) {
  const dir = mkdtempSync(join(tmpdir(), `obscura-batch-${name}-`));
  writeFileSync(join(dir, 'package.zip'), zip);
  const py = spawnSync('python3', ['-c',
    'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; z.extractall(sys.argv[2])',
    join(dir, 'package.zip'), join(dir, 'out')], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  const files = {};
  const walk = (d, rel) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p, `${rel}${n}/`);
      else files[`${rel}${n}`] = readFileSync(p);
    }
  };
  walk(join(dir, 'out'), '');
  rmSync(dir, { recursive: true, force: true });
  return files;
}

test('a trap on one file: it is marked failed, the batch goes on, the package is whole', async () => {
  const sample = (await realCore()).sampleStudy();
  const bad = ['bad.dcm', new TextEncoder().encode(`DICM?${TRAP_MARK}`)];
  const files = [...sample.slice(0, 3), bad, ...sample.slice(3),
    ['notes.txt', new TextEncoder().encode('not a DICOM file')]];

  const loadsBefore = loads;
  const trapped = await runBatch(trappingCore, files);
  assert.equal(trapped.batch.traps, 1);
  assert.equal(loads - loadsBefore, 2, 'a fresh instance was loaded after the trap');
  const badReport = trapped.results.get('bad.dcm');
  assert.equal(badReport.status, 'excluded');
  assert.match(badReport.reason, /Obscura stopped on this file/);
  for (const [name] of sample) assert.equal(trapped.results.get(name).status, 'done', name);
  assert.notEqual(trapped.results.get('notes.txt').status, 'done');

  // The same files without the bad one, in a run that never trapped.
  const clean = await runBatch(realCore, files.filter(([n]) => n !== 'bad.dcm'));
  const a = unzip(trapped.zip, 'trapped');
  const b = unzip(clean.zip, 'clean');
  const dicom = (files) => Object.keys(files).filter((n) => n.startsWith('DICOM/')).sort();
  assert.equal(dicom(a).length, sample.length);
  assert.deepEqual(dicom(a), dicom(b));
  for (const n of dicom(a)) assert.ok(a[n].equals(b[n]), `${n} is the same as without the trap`);
  assert.ok(a.DICOMDIR.equals(b.DICOMDIR), 'DICOMDIR is the same');
  const images = (files) => Object.keys(files).filter((n) => n.startsWith('images/')).sort();
  assert.ok(images(a).length > 0, 'key images are in the package');
  assert.deepEqual(images(a), images(b));
  for (const n of images(a)) assert.ok(a[n].equals(b[n]), `${n} is the same as without the trap`);
  assert.match(a['CHANGES.txt'].toString(), /Obscura stopped on this file/);
  assert.doesNotMatch(b['CHANGES.txt'].toString(), /Obscura stopped/);
});

test('an error the core reports is not a trap: no new instance, the file is excluded', async () => {
  const loadsBefore = loads;
  const { batch, results } = await runBatch(trappingCore, [
    ['empty.dcm', new Uint8Array(0)],
    ['garbage.dcm', new Uint8Array(300).fill(7)],
  ]);
  assert.equal(batch.traps, 0);
  assert.equal(loads - loadsBefore, 1);
  for (const n of ['empty.dcm', 'garbage.dcm']) {
    assert.ok(['excluded', 'skipped'].includes(results.get(n).status), `${n}: ${results.get(n).status}`);
    assert.ok(results.get(n).reason.length > 0);
  }
});

test('a trap while drawing an image for the page: a fresh instance, the package unchanged', async () => {
  const sample = (await realCore()).sampleStudy();
  const posts = [];
  const batch = new Batch(trappingCore, (m) => posts.push(m), (b) => Buffer.from(b));
  batch.setSettings({ options: [], passphrase: 'same passphrase, same pseudonyms', salt: '00112233445566778899aabbccddeeff' });
  for (const [name, bytes] of sample) batch.enqueue(name, async () => bytes);
  await batch.queue;
  const first = posts.find((m) => m.type === 'result' && reportOf(m).status === 'done');
  trapPreview = true;
  await assert.rejects(batch.preview(first.id), WebAssembly.RuntimeError);
  assert.equal(batch.traps, 1);
  // The new instance draws images and builds the same package as a run that never trapped.
  const { after } = await batch.preview(first.id);
  assert.ok(after.width > 0 && after.rgba.length === after.width * after.height * 4);
  // The series' thumbnail is that same picture.
  const thumbnail = await batch.thumbnail(first.id);
  assert.deepEqual([thumbnail.width, thumbnail.height], [after.width, after.height]);
  assert.ok(Buffer.from(thumbnail.rgba).equals(Buffer.from(after.rgba)));
  const parts = await batch.packageParts();
  const clean = await runBatch(realCore, sample);
  const a = unzip(Buffer.concat(parts.map((p) => Buffer.from(p))), 'preview-trap');
  const b = unzip(clean.zip, 'preview-clean');
  const dicom = Object.keys(a).filter((n) => n.startsWith('DICOM/')).sort();
  assert.equal(dicom.length, sample.length);
  for (const n of dicom) assert.ok(a[n].equals(b[n]), `${n} is the same as without the trap`);
});

/** A stand-in for www/worker/cleaner.js in Node (which has no Web Workers): the same
 * messages, the real core's Cleaner, and a trap on a file holding TRAP_MARK, after which the
 * "worker" is dead, as after a real trap. */
async function fakeCleanerWorker() {
  const core = await realCore();
  let cleaner = null;
  let settings = null;
  let dead = false;
  let inbox = Promise.resolve(); // messages arrive in order, as with a real worker
  // As www/worker/cleaner.js: results are packed in buffers the main worker gives back.
  const spares = new SpareBuffers(8 << 20, 64 << 10);
  const worker = {
    onmessage: null,
    onerror: null,
    terminated: false,
    terminate() { this.terminated = true; },
    postMessage(msg) {
      const delay = 1 + Math.floor(Math.random() * 5);
      inbox = inbox.then(() => new Promise((r) => setTimeout(r, delay))).then(async () => {
        if (worker.terminated) return;
        const reply = (m) => worker.onmessage && worker.onmessage({ data: m });
        if (msg.type === 'configure') { settings = msg.settings; cleaner = null; return; }
        for (const b of msg.buffers || []) spares.keep(b);
        const blob = typeof msg.source.arrayBuffer === 'function';
        let bytes = new Uint8Array(blob ? await msg.source.arrayBuffer() : msg.source);
        // As www/worker/cleaner.js: an archive's entry comes as stored, and is decompressed.
        if (msg.entry) {
          try {
            bytes = core.unzipEntry(msg.entry, bytes);
          } catch (e) {
            reply({ type: 'cleaned', job: msg.job, unreadable: String(e.message || e) });
            return;
          }
        }
        // As www/worker/cleaner.js: an archive is said to be one, not cleaned.
        if (core.isZip(bytes.subarray(0, 4))) { reply({ type: 'cleaned', job: msg.job, zip: true }); return; }
        if (dead) { reply({ type: 'cleaned', job: msg.job, trap: true, error: 'dead' }); return; }
        if (Buffer.from(bytes).includes(TRAP_MARK)) {
          dead = true;
          reply({ type: 'cleaned', job: msg.job, trap: true, error: 'unreachable' });
          return;
        }
        if (!cleaner) cleaner = new core.Cleaner(settings);
        reply({ type: 'cleaned', job: msg.job, ...packCleaned(cleaner.clean(bytes), spares).fields });
      });
    },
  };
  return worker;
}

test('with a pool of workers: files are packaged in order, a trapping worker is replaced, the package is the same', async () => {
  const { Pool } = await import('../../www/worker/pool.js');
  const sample = (await realCore()).sampleStudy();
  const bad = ['bad.dcm', new TextEncoder().encode(`DICM?${TRAP_MARK}`)];
  const files = [...sample.slice(0, 2), bad, ...sample.slice(2),
    ['notes.txt', new TextEncoder().encode('not a DICOM file')]];
  // Workers are made synchronously by the pool: the fake ones are prepared beforehand.
  const spare = await Promise.all([1, 2, 3, 4].map(() => fakeCleanerWorker()));
  const pool = new Pool(2, () => spare.shift());
  const posts = [];
  const batch = new Batch(realCore, (m) => posts.push(m), (b) => Buffer.from(b), pool);
  batch.setSettings({ options: [], passphrase: 'same passphrase, same pseudonyms', salt: '00112233445566778899aabbccddeeff' });
  for (const [name, bytes] of files) batch.enqueue(name, async () => bytes);
  const parts = await batch.packageParts();
  assert.equal(pool.replaced, 1, 'the worker that trapped was replaced');
  const names = new Map();
  const order = [];
  for (const m of posts) {
    if (m.type === 'added') names.set(m.id, m.name);
    if (m.type === 'result') order.push([names.get(m.id), reportOf(m)]);
  }
  assert.deepEqual(order.map(([n]) => n), files.map(([n]) => n), 'results in the order files were added');
  const report = new Map(order);
  assert.match(report.get('bad.dcm').reason, /Obscura stopped on this file/);
  for (const [name] of sample) assert.equal(report.get(name).status, 'done', name);
  assert.notEqual(report.get('notes.txt').status, 'done');
  const paths = sample.map(([n]) => report.get(n).packagePath);
  assert.equal(new Set(paths).size, sample.length);
  // A file's list of changes is not in its report; it is made again when asked for, the
  // same for a file a cleaner did as its count says, with original values beside new ones.
  const first = posts.find((m) => m.type === 'result' && reportOf(m).status === 'done');
  assert.equal(reportOf(first).changes, undefined);
  assert.equal(reportOf(first).review, undefined);
  const details = await batch.details(first.id);
  assert.equal(details.changes.length, reportOf(first).changeCount);
  const name = details.review.find((r) => r.name === 'PatientName');
  assert.match(name.before, /FAKE/);
  assert.equal(name.after.replace(/\^+$/, ''), reportOf(first).after.patientName);

  const clean = await runBatch(realCore, files.filter(([n]) => n !== 'bad.dcm'));
  const a = unzip(Buffer.concat(parts.map((p) => Buffer.from(p))), 'pool');
  const b = unzip(clean.zip, 'no-pool');
  const dicom = Object.keys(a).filter((n) => n.startsWith('DICOM/')).sort();
  assert.deepEqual(dicom, Object.keys(b).filter((n) => n.startsWith('DICOM/')).sort());
  for (const n of dicom) assert.ok(a[n].equals(b[n]), `${n} is the same as without a pool`);
  assert.ok(a.DICOMDIR.equals(b.DICOMDIR), 'DICOMDIR is the same');
});

test('with a pool, files wait in a backlog: a few dozen are started at once, in order, and a cancel drops the rest', async () => {
  const { Pool } = await import('../../www/worker/pool.js');
  const sample = (await realCore()).sampleStudy();
  const files = Array.from({ length: 90 }, (_, i) => [`f${i}`, sample[i % sample.length][1]]);
  const spare = await Promise.all([1, 2].map(() => fakeCleanerWorker()));
  const pool = new Pool(2, () => spare.shift());
  const posts = [];
  const batch = new Batch(realCore, (m) => posts.push(m), (b) => Buffer.from(b), pool);
  batch.setSettings({ options: [] });
  let most = 0;
  const clean = pool.clean.bind(pool);
  pool.clean = (...a) => { most = Math.max(most, batch.active); return clean(...a); };
  for (const [name, bytes] of files) batch.enqueue(name, async () => bytes);
  // Every file is announced at once (the page shows them all), but not every one started.
  assert.equal(posts.filter((m) => m.type === 'added').length, files.length);
  assert.ok(batch.active <= 32 && batch.active > 0, `${batch.active} started`);
  assert.equal(batch.backlog.items.length - batch.backlog.head, files.length - batch.active);
  await batch.packageParts();
  assert.ok(most <= 32, `at most 32 started at once (${most})`);
  const names = new Map(posts.filter((m) => m.type === 'added').map((m) => [m.id, m.name]));
  const results = posts.filter((m) => m.type === 'result');
  assert.deepEqual(results.map((m) => names.get(m.id)), files.map(([n]) => n), 'packaged in order');
  assert.ok(results.every((m) => reportOf(m).status === 'done'));

  // Cancelled: those started finish as cancelled, those in the backlog are cancelled too.
  posts.length = 0;
  for (const [name, bytes] of files) batch.enqueue(`again-${name}`, async () => bytes);
  batch.cancel();
  await batch.settled();
  const after = posts.filter((m) => m.type === 'result');
  assert.equal(after.length, files.length, 'every file has a result');
  assert.ok(after.every((m) => reportOf(m).status === 'cancelled'));
  assert.equal(batch.active, 0);
});

test('the pool asks each of its workers to collect its garbage (as the worker does before making a package)', async () => {
  const { Pool } = await import('../../www/worker/pool.js');
  const got = [[], []];
  const makeWorker = (i) => ({ onmessage: null, onerror: null, terminate() {}, postMessage(msg) { got[i].push(msg.type); } });
  let n = 0;
  const pool = new Pool(2, () => makeWorker(n++));
  pool.collect();
  assert.deepEqual(got.map((types) => types.filter((t) => t === 'collect').length), [1, 1]);
});

test('the buffer a result came in goes back to its worker with the next file it is given', async () => {
  const { Pool } = await import('../../www/worker/pool.js');
  const seen = [];
  const worker = {
    onmessage: null,
    onerror: null,
    terminate() {},
    postMessage(msg, transfer) {
      if (msg.type !== 'clean') return;
      seen.push({ buffers: msg.buffers, transfer });
      const packed = new ArrayBuffer(16);
      setTimeout(() => worker.onmessage({ data: { type: 'cleaned', job: msg.job, status: 'done', packed, metaLength: 0, bodyLength: 0 } }), 0);
    },
  };
  const pool = new Pool(1, () => worker);
  const first = await pool.clean(new Blob(['a']));
  pool.giveBack(first);
  pool.giveBack({ packed: new ArrayBuffer(0), from: 0 }); // (nothing to give back)
  await pool.clean(new Blob(['b']));
  assert.deepEqual(seen[0].buffers, []);
  assert.deepEqual(seen[1].buffers, [first.packed]);
  assert.deepEqual(seen[1].transfer, [first.packed], 'handed over, not copied');
});

/** A ZIP archive of `files` ([name, bytes]) written by Python's zipfile (deflated, with a
 * folder entry and a macOS resource fork, as archivers write them). */
function pythonZip(files, name) {
  const dir = mkdtempSync(join(tmpdir(), `obscura-${name}-`));
  for (const [i, [, bytes]] of files.entries()) writeFileSync(join(dir, `f${i}`), bytes);
  const out = join(dir, 'archive.zip');
  const script = [
    'import sys, zipfile',
    'z = zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED)',
    'z.writestr("study/", b"")',
    'z.writestr("__MACOSX/study/._x", b"junk")',
    'for i, n in enumerate(sys.argv[3:]): z.write(f"{sys.argv[2]}/f{i}", "study/" + n)',
    'z.close()',
  ].join('\n');
  const r = spawnSync('python3', ['-c', script, out, dir, ...files.map(([n]) => n)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const zip = readFileSync(out);
  rmSync(dir, { recursive: true, force: true });
  return zip;
}

/** A Blob's stand-in that records the length of every read. */
function watchedBlob(bytes) {
  const blob = new Blob([bytes]);
  const reads = [];
  return {
    reads,
    size: blob.size,
    slice(start = 0, end = blob.size) {
      const part = blob.slice(start, end);
      reads.push(part.size);
      return part;
    },
    arrayBuffer() {
      reads.push(blob.size);
      return blob.arrayBuffer();
    },
  };
}

test('a ZIP archive on disk is read a piece at a time, and packaged as its files would be', async () => {
  const sample = (await realCore()).sampleStudy();
  const archive = pythonZip(sample, 'archive');
  const plain = await runBatch(realCore, sample);
  const expected = unzip(plain.zip, 'archive-plain');
  const largestEntry = Math.max(...sample.map(([, b]) => b.length));
  // Without a pool; with one, the archive small enough to be read whole once by the pool's
  // worker (which says it is an archive); with one, the archive counted as large.
  for (const [pool, large] of [[false, false], [true, false], [true, true]]) {
    const { Pool } = await import('../../www/worker/pool.js');
    const spare = await Promise.all([1, 2].map(() => fakeCleanerWorker()));
    const posts = [];
    const batch = new Batch(realCore, (m) => posts.push(m), (b) => Buffer.from(b),
      pool ? new Pool(2, () => spare.shift()) : null);
    if (large) batch.readAheadMax = 1000;
    batch.setSettings({ options: [], passphrase: 'same passphrase, same pseudonyms', salt: '00112233445566778899aabbccddeeff' });
    const blob = watchedBlob(archive);
    batch.enqueue('archive.zip', () => blob.arrayBuffer(), blob);
    const parts = await batch.packageParts();
    const names = new Map();
    const reports = [];
    for (const m of posts) {
      if (m.type === 'added') names.set(m.id, m.name);
      if (m.type === 'result') reports.push([names.get(m.id), reportOf(m)]);
    }
    assert.equal(reports[0][1].status, 'archive');
    assert.deepEqual(reports.slice(1).map(([n]) => n), sample.map(([n]) => `archive.zip/study/${n}`),
      'one row per file inside, folders and resource forks left out');
    for (const [n, r] of reports.slice(1)) assert.equal(r.status, 'done', n);
    assert.ok(blob.reads.length > sample.length, 'read in pieces');
    // A small archive handed to the pool is read whole there, once (its first read); the
    // rest as without a pool. (This one is small enough for its end to be read whole too.)
    const reads = [...blob.reads];
    if (pool && !large) assert.equal(reads.shift(), archive.length, 'read by the pool first');
    assert.ok(Math.max(...reads) <= largestEntry + 2 * 65_535 + 30,
      `no read larger than one entry (largest read ${Math.max(...reads)} of ${archive.length} bytes)`);
    const got = unzip(Buffer.concat(parts.map((p) => Buffer.from(p))), `archive-${pool}-${large}`);
    const dicom = Object.keys(expected).filter((n) => n.startsWith('DICOM/')).sort();
    assert.deepEqual(Object.keys(got).filter((n) => n.startsWith('DICOM/')).sort(), dicom);
    for (const n of dicom) assert.ok(got[n].equals(expected[n]), `${n} as from the plain files`);
  }
});

test('a damaged archive or entry is a reason, not a stop', async () => {
  const sample = (await realCore()).sampleStudy();
  const archive = Buffer.from(pythonZip(sample.slice(0, 2), 'damaged'));
  // The first entry's data changed: its checksum no longer matches.
  const first = `study/${sample[0][0]}`;
  archive[archive.indexOf(first) + first.length + 200] ^= 0xff;
  // Entries are decompressed here without a pool, by the pool's workers with one.
  for (const pool of [false, true]) {
    const { Pool } = await import('../../www/worker/pool.js');
    const spare = await Promise.all([1, 2].map(() => fakeCleanerWorker()));
    const posts = [];
    const batch = new Batch(realCore, (m) => posts.push(m), (b) => Buffer.from(b),
      pool ? new Pool(2, () => spare.shift()) : null);
    batch.setSettings({ options: [] });
    batch.enqueue('archive.zip', async () => archive, new Blob([archive]));
    batch.enqueue('cut.zip', async () => archive.subarray(0, 100), new Blob([archive.subarray(0, 100)]));
    await batch.packageParts();
    const names = new Map(posts.filter((m) => m.type === 'added').map((m) => [m.id, m.name]));
    const results = new Map(posts.filter((m) => m.type === 'result').map((m) => [names.get(m.id), reportOf(m)]));
    const [one, second] = sample.slice(0, 2).map(([n]) => results.get(`archive.zip/study/${n}`));
    assert.equal(results.get('archive.zip').status, 'archive');
    assert.equal(one.status, 'excluded');
    assert.match(one.reason, /could not be read: .*(corrupt|deflate|checksum)/i);
    assert.equal(results.get('cut.zip').status, 'excluded');
    assert.match(results.get('cut.zip').reason, /damaged ZIP archive/);
    assert.equal(second.status, 'done', 'the second entry still goes in');
  }
});

test('files still waiting when the user cancels are said to be cancelled, with or without a pool', async () => {
  const { Pool } = await import('../../www/worker/pool.js');
  const sample = (await realCore()).sampleStudy();
  for (const withPool of [false, true]) {
    const spare = withPool ? await Promise.all([1, 2].map(() => fakeCleanerWorker())) : [];
    const pool = withPool ? new Pool(1, () => spare.shift()) : null;
    const posts = [];
    const batch = new Batch(realCore, (m) => posts.push(m), (b) => Buffer.from(b), pool);
    batch.setSettings({ options: [], passphrase: 'cancel', salt: '00112233445566778899aabbccddeeff' });
    // The first file is held until the cancel: every other one is still waiting then.
    let release;
    const held = new Promise((r) => { release = r; });
    batch.enqueue(sample[0][0], async () => { await held; return sample[0][1]; });
    for (const [name, bytes] of sample.slice(1)) batch.enqueue(name, async () => bytes);
    await new Promise((r) => setTimeout(r, 20));
    batch.cancel();
    release();
    await batch.settled();
    const results = posts.filter((m) => m.type === 'result').map(reportOf);
    assert.equal(results.length, sample.length, `one result per file (pool: ${withPool})`);
    const cancelled = results.filter((r) => r.status === 'cancelled');
    assert.ok(cancelled.length >= sample.length - 1, `the waiting files are cancelled (pool: ${withPool}): ${JSON.stringify(results.map((r) => r.status))}`);
    for (const r of cancelled) assert.equal(r.reason, 'cancelled');
  }
});


test('the core is warmed up on its fake study until the first file comes, and a trap there leaves a fresh instance', async () => {
  let loaded = 0;
  let cleaned = 0;
  let trapAt = -1; // the warm-up's file at which the core traps (-1: never)
  const countingCore = async () => {
    loaded += 1;
    const core = await realCore();
    let dead = false;
    function Cleaner(settings) {
      const inner = new core.Cleaner(settings);
      return {
        clean(bytes) {
          if (dead) throw new Error('recursive use of an object detected');
          cleaned += 1;
          if (cleaned === trapAt) { dead = true; throw new WebAssembly.RuntimeError('unreachable'); }
          return inner.clean(bytes);
        },
        free() { inner.free(); },
      };
    }
    return { ...core, Cleaner };
  };
  const sampleSize = (await realCore()).sampleStudy().length;
  // Undisturbed: every round.
  let batch = new Batch(countingCore, () => {}, (b) => Buffer.from(b));
  await batch.warmUp(3);
  assert.equal(cleaned, 3 * sampleSize);
  // A file comes: the warm-up stops, and the file is done as usual.
  cleaned = 0;
  batch = new Batch(countingCore, () => {}, (b) => Buffer.from(b));
  batch.setSettings({ options: [] });
  const warming = batch.warmUp(1000);
  await new Promise((r) => setTimeout(r, 20));
  const [name, bytes] = (await realCore()).sampleStudy()[0];
  const posts = [];
  batch.post = (m) => posts.push(m);
  batch.enqueue(name, async () => bytes);
  await warming;
  await batch.settled();
  assert.ok(cleaned < 1000 * sampleSize, `stopped (${cleaned} files warmed up)`);
  assert.equal(reportOf(posts.find((m) => m.type === 'result')).status, 'done');
  // A trap while warming up: a fresh instance for the files.
  cleaned = 0;
  trapAt = 2;
  loaded = 0;
  batch = new Batch(countingCore, () => {}, (b) => Buffer.from(b));
  await batch.warmUp(3);
  assert.equal(loaded, 2, 'a fresh instance');
  trapAt = -1;
  const after = await runBatch(async () => batch.core, [[name, bytes]]);
  assert.equal(after.results.get(name).status, 'done');
});

test('a worker whose core failed before its first file is replaced, and its files go to the new one', async () => {
  const { Pool } = await import('../../www/worker/pool.js');
  const made = [];
  const makeWorker = () => {
    const n = made.length;
    const worker = {
      onmessage: null,
      onerror: null,
      terminated: false,
      terminate() { this.terminated = true; },
      postMessage(msg) {
        if (msg.type !== 'clean' || this.terminated) return;
        setTimeout(() => {
          if (this.terminated) return;
          // The first worker's core failed while warming up; the next one cleans.
          if (n === 0) worker.onmessage({ data: { type: 'broken' } });
          else worker.onmessage({ data: { type: 'cleaned', job: msg.job, status: 'done', by: n } });
        }, 0);
      },
    };
    made.push(worker);
    return worker;
  };
  const pool = new Pool(1, makeWorker);
  const tries = async () => {
    try {
      return await pool.clean(new Blob(['a']));
    } catch (e) {
      assert.equal(e.retry, true, 'to be sent again, not a trap');
      return pool.clean(new Blob(['a']));
    }
  };
  const results = await Promise.all([tries(), tries()]);
  assert.equal(made.length, 2);
  assert.ok(made[0].terminated);
  assert.deepEqual(results.map((r) => r.by), [1, 1]);
  assert.equal(pool.replaced, 1);
});

/** The sample study with its first file's Series Description naming the other patient's given
 * name (JOHNFAKE, which only that patient's later files give). */
async function sampleNamingALaterPatient() {
  const sample = (await realCore()).sampleStudy();
  const first = Buffer.from(sample[0][1]);
  const at = first.indexOf('Series 1 of JANEFAKE');
  assert.ok(at > 0);
  first.write('Series 1 of JOHNFAKE', at, 'latin1');
  return [[sample[0][0], new Uint8Array(first)], ...sample.slice(1)];
}

/** The DICOM files of a package, by path. */
const dicomOf = (files) => Object.fromEntries(Object.entries(files).filter(([n]) => n.startsWith('DICOM/')));

const KEYED = { options: ['clean-descriptors'], passphrase: 'same passphrase, same pseudonyms', salt: '00112233445566778899aabbccddeeff' };

test('a first pass: free text is cleaned of a name that only a later file gives, with or without a pool, however the files are added', async () => {
  const files = await sampleNamingALaterPatient();
  const named = (zip, label) => {
    const out = dicomOf(unzip(zip, label));
    assert.equal(Object.keys(out).length, files.length);
    return out;
  };
  const run = async (pool, additions, useEnqueue = false) => {
    const batch = new Batch(realCore, () => {}, (b) => Buffer.from(b), pool);
    batch.setSettings(KEYED);
    for (const addition of additions) {
      if (useEnqueue) for (const [name, bytes] of addition) batch.enqueue(name, async () => bytes);
      else {
        // In parts, as the page sends a large addition.
        addition.forEach(([name, bytes], i) => batch.addFiles([{ name, getBytes: async () => bytes }], i === addition.length - 1));
      }
      await batch.settled();
    }
    return Buffer.concat((await batch.packageParts()).map((p) => Buffer.from(p)));
  };

  // Without a first pass (files queued one by one), the gap this is about.
  const gap = named(await run(null, [files], true), 'no-first-pass');
  assert.ok(Object.values(gap).some((b) => b.includes('JOHNFAKE')), 'the name is left without a first pass');

  const once = named(await run(null, [files]), 'one-addition');
  for (const [n, b] of Object.entries(once)) assert.ok(!b.includes('JOHNFAKE'), `${n} is cleaned of the later file's name`);

  // The other patient's files added later: the first file is cleaned again, and the package
  // is the same as from one addition.
  const later = named(await run(null, [files.slice(0, 4), files.slice(4)]), 'two-additions');
  assert.deepEqual(Object.keys(later).sort(), Object.keys(once).sort());
  for (const n of Object.keys(once)) assert.ok(later[n].equals(once[n]), `${n}: the same when added later`);

  // With a pool: the cleaners get the first pass too.
  const { Pool } = await import('../../www/worker/pool.js');
  const spare = await Promise.all([1, 2].map(() => fakeCleanerWorker()));
  const pooled = named(await run(new Pool(2, () => spare.shift()), [files]), 'pool');
  for (const n of Object.keys(once)) assert.ok(pooled[n].equals(once[n]), `${n}: the same with a pool`);
});

test('a first pass reads the headers of the files in an archive, and only their headers', async () => {
  const files = await sampleNamingALaterPatient();
  const { headers } = await import('../../www/worker/first-pass.js');
  const core = await realCore();
  // An archive of the first patient's files and of an archive of the other's (made by
  // Python's zipfile, deflated).
  const dir = mkdtempSync(join(tmpdir(), 'obscura-first-pass-'));
  for (const [n, b] of files) writeFileSync(join(dir, n), b);
  const zipPath = join(dir, 'study.zip');
  const zip = (path, names) => {
    const py = spawnSync('python3', ['-c',
      'import sys, zipfile, os\nwith zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:\n  [z.write(os.path.join(sys.argv[2], n), n) for n in sys.argv[3:]]',
      path, dir, ...names], { encoding: 'utf8' });
    assert.equal(py.status, 0, py.stderr);
  };
  zip(join(dir, 'inner.zip'), files.slice(4).map(([n]) => n));
  zip(zipPath, [...files.slice(0, 4).map(([n]) => n), 'inner.zip']);
  const archive = readFileSync(zipPath);
  rmSync(dir, { recursive: true, force: true });
  const heads = [];
  for await (const h of headers(core, { blob: new Blob([archive]) })) heads.push(h);
  assert.equal(heads.length, files.length, 'a header for each file inside, and inside the archive inside');
  for (const [i, h] of heads.entries()) {
    assert.ok(h.length < files[i][1].length, 'not the pixel data');
    assert.ok(Buffer.from(files[i][1]).subarray(0, h.length).equals(Buffer.from(h)), 'the file\'s first bytes');
  }
  // And the archive as one addition: its first file is cleaned of the later file's name.
  const batch = new Batch(realCore, () => {}, (b) => Buffer.from(b));
  batch.setSettings(KEYED);
  batch.addFiles([{ name: 'study.zip', blob: new Blob([archive]) }]);
  const out = dicomOf(unzip(Buffer.concat((await batch.packageParts()).map((p) => Buffer.from(p))), 'archive'));
  assert.equal(Object.keys(out).length, files.length);
  for (const [n, b] of Object.entries(out)) assert.ok(!b.includes('JOHNFAKE'), `${n} is cleaned`);
});

test('archives inside archives are opened three levels deep, as the CLI opens them, in both passes', async () => {
  const core = await realCore();
  const [first] = core.sampleStudy();
  // given.zip > level1 (not named .zip) > level2.zip > level3.zip > level4.zip
  const level4 = pythonZip([['four.dcm', first[1]]], 'level4');
  const level3 = pythonZip([['three.dcm', first[1]], ['level4.zip', level4]], 'level3');
  const level2 = pythonZip([['level3.zip', level3]], 'level2');
  const level1 = pythonZip([['level2.zip', level2]], 'level1');
  const given = pythonZip([['level1', level1]], 'given');
  const { headers } = await import('../../www/worker/first-pass.js');
  const heads = [];
  for await (const h of headers(core, { blob: new Blob([given]) })) heads.push(h);
  assert.equal(heads.length, 1, 'the first pass reads three.dcm, not four.dcm');
  for (const pool of [false, true]) {
    const { Pool } = await import('../../www/worker/pool.js');
    const spare = await Promise.all([1, 2].map(() => fakeCleanerWorker()));
    const posts = [];
    const batch = new Batch(realCore, (m) => posts.push(m), (b) => Buffer.from(b),
      pool ? new Pool(2, () => spare.shift()) : null);
    batch.setSettings(KEYED);
    batch.addFiles([{ name: 'given.zip', blob: new Blob([given]) }]);
    const parts = await batch.packageParts();
    const names = new Map();
    const reports = new Map();
    for (const m of posts) {
      if (m.type === 'added') names.set(m.id, m.name);
      if (m.type === 'result') reports.set(names.get(m.id), reportOf(m));
    }
    const deep = 'given.zip/study/level1/study/level2.zip/study/level3.zip/study';
    assert.equal(reports.get(`${deep}/three.dcm`).status, 'done', `pool: ${pool}`);
    assert.deepEqual(reports.get(`${deep}/level4.zip`), { status: 'excluded', reason: core.archiveTooDeep() });
    assert.ok(![...names.values()].some((n) => n.includes('four.dcm')), 'nothing of level 4 is listed');
    const got = unzip(Buffer.concat(parts.map((p) => Buffer.from(p))), `deep-${pool}`);
    assert.equal(Object.keys(dicomOf(got)).length, 1);
  }
});
