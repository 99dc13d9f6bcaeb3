// The worker: every heavy step (reading files, de-identifying, packaging) runs here, in the
// Rust core compiled to WebAssembly. The page only sends files and draws what comes back.
// The queue and the package live in ./batch.js.
import { Batch } from './batch.js';
import { Pool } from './pool.js';
import { exposeCoreMemory } from '../shared/core-memory.js';
import { loadTextModel } from '../shared/text-model.js';
import { toWorker, fromWorker, errorText } from '../shared/protocol.js';

let instances = 0;

/**
 * The core's compiled module, fetched and compiled once here and handed to the pool's workers
 * (see ./pool.js), which then neither fetch nor compile it; each instance still gets its own
 * memory. `null` where it cannot be compiled here: each worker then loads the core itself.
 */
const compiled = (async () => {
  const url = new URL('../pkg/obscura_bg.wasm', import.meta.url);
  try {
    return await WebAssembly.compileStreaming(fetch(url));
  } catch {
    try {
      // (A server that does not say application/wasm.)
      return await WebAssembly.compile(await (await fetch(url)).arrayBuffer());
    } catch {
      return null;
    }
  }
})();

/** A fresh instance of the core. The first is the plain module; after a trap, the module is
 * imported again under another URL, which gives new module state and new wasm memory. */
async function loadCore() {
  instances += 1;
  const url = instances === 1 ? '../pkg/obscura.js' : `../pkg/obscura.js?instance=${instances}`;
  const core = await import(url);
  const module = await compiled;
  const exports = await core.default(module ? { module_or_path: module } : undefined);
  exposeCoreMemory(exports);
  await loadTextModel(core);
  return core;
}

// Trusted Types (the page's CSP requires them here too): worker scripts only from this origin.
const scriptPolicy = globalThis.trustedTypes?.createPolicy('obscura', {
  createScriptURL(url) {
    const u = new URL(url, location.href);
    if (u.origin !== location.origin) throw new Error(`refused to load a script from ${u.origin}`);
    return u.href;
  },
});

/** The pool of workers that de-identify files in parallel, one per core (at most 4), or none
 * where workers cannot start workers. */
function makePool() {
  if (typeof Worker === 'undefined') return null;
  const cores = Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1));
  const url = new URL('./cleaner.js', import.meta.url).href;
  try {
    return new Pool(cores, () => new Worker(scriptPolicy ? scriptPolicy.createScriptURL(url) : url, { type: 'module' }), compiled);
  } catch {
    return null;
  }
}

// Files added and their results go to the page a few at a time, every PAGE_MS: a message for
// each file cost the page's thread more than drawing its row, and every message is held until
// the browser's next full garbage collection. Other messages go at once (after those waiting,
// so that the page sees everything in order).
const PAGE_MS = 50;
let outbox = [];
let outboxTimer = 0;
function flushOutbox() {
  clearTimeout(outboxTimer);
  outboxTimer = 0;
  if (outbox.length === 0) return;
  postMessage({ type: 'many', messages: outbox });
  outbox = [];
}
function post(msg, transfer = []) {
  fromWorker.message(msg.type); // a type the page knows (see ../shared/protocol.js)
  if (msg.type === 'added' || msg.type === 'result') {
    outbox.push(msg);
    if (!outboxTimer) outboxTimer = setTimeout(flushOutbox, PAGE_MS);
    return;
  }
  flushOutbox();
  postMessage(msg, transfer);
}

const pool = makePool();
const batch = new Batch(loadCore, post, undefined, pool);
// The core's code is optimised while the page waits for files (see ./warm.js): the compiled
// module is shared with the pool's workers, and so is its optimised code.
batch.warmUp();

// The network requests of this worker and of the pool's since the page started counting (see
// the privacy panel), once their own code has loaded.
let counting = false;
let since = Infinity;
let requests = 0;
let poolBase = 0;
function reportNetwork() {
  if (!counting || since === Infinity) return;
  post({ type: 'network', count: requests + (pool ? pool.requests() - poolBase : 0) });
}
if (typeof PerformanceObserver !== 'undefined') {
  new PerformanceObserver((list) => {
    if (!counting) return;
    for (const e of list.getEntries()) {
      if (e.startTime >= since && !/^(blob|data):/.test(e.name)) requests += 1;
    }
    reportNetwork();
  }).observe({ type: 'resource' });
}
if (pool) pool.onNetwork = reportNetwork;

onmessage = async (ev) => {
  const msg = ev.data;
  if (msg.countNetwork && !counting) {
    counting = true;
    // From when this worker's core and the pool's are loaded (their own scripts are not
    // counted).
    Promise.all([batch.ready, pool && pool.ready()]).then(() => {
      since = performance.now();
      poolBase = pool ? pool.requests() : 0;
      reportNetwork();
    });
  }
  try {
    await toWorker.receive(msg, handlers);
  } catch (e) {
    post({ type: 'error', message: errorText(e) });
  }
};

/** Post the answer `type` to the request `msg`: `work`'s fields (and what it transfers), or
 * the error it threw, with `fields` (which say what it answers) and the request's number
 * (`ask`, for the page's `Requests`) either way. */
async function answer(type, msg, fields, work) {
  const about = msg.ask === undefined ? fields : { ...fields, ask: msg.ask };
  try {
    const { transfer = [], ...result } = await work();
    post({ type, ...about, ...result }, transfer);
  } catch (e) {
    post({ type, ...about, error: errorText(e) });
  }
}

// A handler for every message of the page (see ../shared/protocol.js).
const handlers = {
  async options() {
    await batch.ready;
    post({ type: 'options', value: batch.core.profileOptions() });
  },
  cancel() {
    batch.cancel();
  },
  settings(msg) {
    batch.setSettings(msg.settings);
  },
  changeSettings: (msg) => answer('settingsChanged', msg, {}, async () => {
    await batch.changeSettings(msg.settings);
    return {};
  }),
  files(msg) {
    batch.addFiles(msg.files.map((f) => ({ name: f.webkitRelativePath || f.name, blob: f })), msg.last !== false);
  },
  async sample() {
    await batch.ready;
    batch.addFiles(batch.core.sampleStudy().map(([name, bytes]) => ({ name, getBytes: async () => bytes })));
  },
  async package(msg) {
    // The trailer (report files and ZIP directory) describes the package as it is now;
    // more files can still be added and the package downloaded again.
    // What working on the files left behind is freed first: the package is made on top
    // of what the tab holds, not of that.
    batch.collector.ask();
    if (pool) pool.collect();
    const parts = await batch.packageParts(msg.notes || '');
    const how = { password: msg.password, preset: msg.preset };
    if (!msg.handle) {
      // A plain package is its parts as they are (only read, for its SHA-256); an encrypted
      // one is made of what comes out.
      const out = [];
      try {
        const logLine = await batch.exportPackage(parts, how, async (bytes) => {
          if (how.password) out.push(new Blob([bytes]));
        });
        const blob = new Blob(how.password ? out : parts, { type: 'application/zip' });
        post({ type: 'package', blob, logLine });
      } catch (e) {
        post({ type: 'packageSaved', name: 'the package', error: errorText(e) });
      }
      return;
    }
    // Straight to the file the user chose, a piece at a time: a package of many GB never
    // has to fit in memory.
    await answer('packageSaved', msg, { name: msg.handle.name }, async () => {
      const out = await msg.handle.createWritable();
      let bytes = 0;
      const logLine = await batch.exportPackage(parts, how, async (piece) => {
        await out.write(piece);
        bytes += piece.length;
      });
      await out.close();
      return { bytes, logLine };
    });
  },
  preview: (msg) => answer('preview', msg, { id: msg.id }, async () => {
    const { before, after, boxes, detections } = await batch.preview(msg.id, msg.frame, msg.window);
    return { before, after, boxes, detections, transfer: [before.rgba.buffer, after.rgba.buffer] };
  }),
  details: (msg) => answer('details', msg, { id: msg.id }, async () => ({ details: await batch.details(msg.id) })),
  thumbnail: (msg) => answer('thumbnail', msg, { key: msg.key }, async () => {
    const image = await batch.thumbnail(msg.id);
    return { image, transfer: [image.rgba.buffer] };
  }),
  keyImage: (msg) => answer('keyImageSet', msg, { id: msg.id }, async () => {
    await batch.setKeyImage(msg.id, msg.choice);
    return { choice: msg.choice };
  }),
  region: (msg) => boxesChanged(msg, () => batch.addRegion(msg.id, msg.scope, msg.region, msg.replaces)),
  removeRegion: (msg) => boxesChanged(msg, () => batch.removeRegion(msg.id, msg.index)),
  detection: (msg) => boxesChanged(msg, () => batch.setDetection(msg.id, msg.region, msg.notText)),
  async reid(msg) {
    post({ type: 'reid', text: await batch.reidentificationKey(msg.passphrase) });
  },
};

/** A box drawn, taken back or said to be text or not: the file cleaned again, and the boxes
 * the user drew as they now are. */
function boxesChanged(msg, change) {
  return answer('regionApplied', msg, { id: msg.id }, async () => {
    await change();
    return { boxes: await batch.drawnBoxes(msg.id) };
  });
}
