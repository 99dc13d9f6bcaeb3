// The worker: every heavy step (reading files, de-identifying, packaging) runs here, in the
// Rust core compiled to WebAssembly. The page only sends files and draws what comes back.
import init, { Run, profileOptions, sampleStudy, unzip, isZip } from '../pkg/obscura.js';

const ready = init();
let run = null;
let chunks = [];      // the package so far, as Blobs
let settings = null;
let queue = Promise.resolve();
let nextId = 1;
let generation = 0;   // bumped by "cancel" and by new settings: queued work of older ones is dropped

function newRun() {
  const key = new Uint8Array(32);
  crypto.getRandomValues(key);
  const r = new Run(settings.options, settings.passphrase || undefined, key,
    settings.dateOffsetDays ?? undefined, settings.pseudonymsCsv || undefined, Boolean(settings.acceptBurnedIn),
    settings.pixelRules || undefined);
  chunks = [];
  return r;
}

async function processOne(id, name, bytes) {
  await ready;
  if (!run) {
    try {
      run = newRun();
    } catch (e) {
      // Bad settings (a malformed pseudonym list or rules file): say so, and skip the file.
      const reason = `the settings could not be used: ${String(e && e.message || e)}`;
      postMessage({ type: 'error', message: reason });
      postMessage({ type: 'result', id, report: { status: 'excluded', reason } });
      return;
    }
  }
  let out;
  try {
    out = run.process(bytes);
  } catch (e) {
    postMessage({ type: 'result', id, report: { status: 'excluded', reason: String(e && e.message || e) } });
    return;
  }
  // Each piece becomes a Blob at once: the browser may keep Blobs on disk, so a large study
  // does not have to fit in memory.
  if (out.chunk.length) chunks.push(new Blob([out.chunk]));
  postMessage({ type: 'result', id, report: out.report });
}

function enqueue(name, getBytes) {
  const id = nextId++;
  const mine = generation;
  postMessage({ type: 'added', id, name });
  queue = queue.then(async () => {
    if (mine !== generation) {
      postMessage({ type: 'result', id, report: { status: 'cancelled', reason: 'cancelled' } });
      return;
    }
    let bytes;
    try {
      bytes = new Uint8Array(await getBytes());
    } catch (e) {
      postMessage({ type: 'result', id, report: { status: 'excluded', reason: 'could not be read: ' + e } });
      return;
    }
    await ready;
    if (isZip(bytes.subarray(0, 4))) {
      expandArchive(id, name, bytes);
      return;
    }
    await processOne(id, name, bytes);
  }).catch((e) => {
    // Whatever went wrong with this file, the queue goes on with the next one.
    postMessage({ type: 'result', id, report: { status: 'excluded', reason: String(e && e.message || e) } });
  }).then(() => postMessage({ type: 'idle' }));
}

// A ZIP archive is read here, in the worker: each file inside becomes a row of its own.
function expandArchive(id, name, bytes) {
  let entries;
  try {
    entries = unzip(bytes);
  } catch (e) {
    postMessage({ type: 'result', id, report: { status: 'excluded', reason: String(e && e.message || e) } });
    return;
  }
  postMessage({ type: 'result', id, report: { status: 'archive', reason: `ZIP archive: ${entries.length} files inside, listed below` } });
  for (const [inner, data] of entries) {
    if (typeof data === 'string') {
      const bad = nextId++;
      postMessage({ type: 'added', id: bad, name: `${name}/${inner}` });
      postMessage({ type: 'result', id: bad, report: { status: 'excluded', reason: data } });
    } else {
      enqueue(`${name}/${inner}`, async () => data);
    }
  }
}

onmessage = async (ev) => {
  const msg = ev.data;
  try {
    switch (msg.type) {
      case 'options':
        await ready;
        postMessage({ type: 'options', value: profileOptions() });
        break;
      case 'cancel':
        generation += 1;
        break;
      case 'settings':
        generation += 1;
        settings = msg.settings;
        run = null;
        chunks = [];
        break;
      case 'files':
        for (const f of msg.files) enqueue(f.webkitRelativePath || f.name, () => f.arrayBuffer());
        break;
      case 'sample':
        await ready;
        for (const [name, bytes] of sampleStudy()) enqueue(name, async () => bytes);
        break;
      case 'package':
        await queue;
        if (!run) throw new Error('no file has been de-identified yet');
        // The trailer (report files and ZIP directory) describes the package as it is now;
        // more files can still be added and the package downloaded again.
        postMessage({ type: 'package', blob: new Blob([...chunks, run.packageTrailer()], { type: 'application/zip' }) });
        break;
      case 'reid':
        await queue;
        if (!run) throw new Error('no file has been de-identified yet');
        postMessage({ type: 'reid', text: run.reidentificationKey(msg.passphrase, crypto.getRandomValues(new Uint8Array(28))) });
        break;
      default:
        break;
    }
  } catch (e) {
    postMessage({ type: 'error', message: String(e && e.message || e) });
  }
};
