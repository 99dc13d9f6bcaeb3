// One worker of the pool (see ./pool.js): it reads and de-identifies the files the main
// worker sends, with the run's settings, and sends them back compressed, to be packaged. Its only state is its copy of
// the de-identification session; if the core traps, the pool replaces this worker.
import init, { Cleaner, isZip, sampleStudy, loadTextModel as giveModel, textModelUnavailable, loadTextReader } from '../pkg/obscura.js';
import { warmUp, WARM_UP_ROUNDS } from './warm.js';
import { ReadBuffers } from './reads.js';
import { SpareBuffers, packCleaned } from './buffers.js';
import { Collector } from '../shared/collect.js';
import { exposeCoreMemory } from '../shared/core-memory.js';
import { loadTextModel, giveTextReader } from '../shared/text-model.js';
import { toCleaner, fromCleaner, errorText } from '../shared/protocol.js';

// The core's functions that take the text models.
const modelsOf = { loadTextModel: giveModel, textModelUnavailable, loadTextReader };
// The core, once the main worker has said which compiled module to use (see ./pool.js); with
// none, it is loaded here.
let useModule;
const ready = new Promise((resolve) => { useModule = resolve; })
  .then((module) => init(module ? { module_or_path: module } : undefined))
  .then(exposeCoreMemory)
  .then(() => loadTextModel(modelsOf, { reader: false }));
// The reader, once a run keeps annotations (its text decides which boxes stay visible);
// otherwise every box found is blacked out, read or not, and the main worker reads them for
// the image check.
let reader = null;
let settings = null; // the run's settings (see Batch.runSettings)
let cleaner = null;

// Network requests started after the core loaded (the privacy panel counts them).
let since = Infinity;
let requests = 0;
if (typeof PerformanceObserver !== 'undefined') {
  new PerformanceObserver((list) => {
    const before = requests;
    for (const e of list.getEntries()) {
      if (e.startTime >= since && !/^(blob|data):/.test(e.name)) requests += 1;
    }
    if (requests !== before) fromCleaner.post(self, 'network', { count: requests });
  }).observe({ type: 'resource' });
}
ready.then(() => { since = performance.now(); });
// The pool waits for this before the page starts counting requests: this worker's own scripts
// are loaded by then.
ready.finally(() => fromCleaner.post(self, 'ready'));

// Files are cleaned one after the other, in the order sent. Reading a file takes longer than
// cleaning it, so files are read as soon as they arrive, several at once, as long as what is
// read ahead stays within READ_AHEAD_BYTES; a larger file is read when its turn comes.
let chain = Promise.resolve();
// Until the first file comes, the core is warmed up (see ./warm.js). Should it fail there, this
// worker is of no use: the pool replaces it, and the files it was given go to the new one.
let cleaning = false;
let broken = false;
ready.then(() => warmUp({ Cleaner, sampleStudy }, WARM_UP_ROUNDS, () => !cleaning)).catch(() => {
  broken = true;
  fromCleaner.post(self, 'broken');
});
const READ_AHEAD_BYTES = 32 << 20;
let readAhead = 0;
const buffers = new ReadBuffers(READ_AHEAD_BYTES);
// What cleaned files are sent back in; the main worker gives each back once it has packaged
// the file (see ./buffers.js).
const PACKED_SPARE_BYTES = 8 << 20;
const packedBuffers = new SpareBuffers(PACKED_SPARE_BYTES, 64 << 10);
const collector = new Collector();

// A handler for every message of the main worker (see ../shared/protocol.js).
onmessage = (ev) => toCleaner.receive(ev.data, {
  core: (msg) => useModule(msg.module),
  collect: () => collector.ask(),
  configure: (msg) => {
    chain = chain.then(async () => {
      settings = msg.settings;
      cleaner = null;
      if (settings && settings.keepAnnotations) {
        reader ??= ready.then(() => giveTextReader(modelsOf));
        await reader;
      }
    });
  },
  clean,
});

/** Clean a file, or an archive's entry, in its turn. */
function clean(msg) {
  cleaning = true;
  for (const b of msg.buffers || []) packedBuffers.keep(b);
  const blob = msg.source instanceof Blob ? msg.source : null;
  let reading = null;
  const read = () => {
    reading = blob ? buffers.read(blob) : Promise.resolve(new Uint8Array(msg.source));
    reading.catch(() => {}); // reported in its turn
  };
  const ahead = blob && readAhead + blob.size <= READ_AHEAD_BYTES ? blob.size : 0;
  if (!blob || ahead) {
    readAhead += ahead;
    read();
  }
  chain = chain.then(() => ready).then(async () => {
    if (broken) return;
    if (!reading) read();
    let bytes;
    try {
      bytes = await reading;
    } catch (e) {
      readAhead -= ahead;
      fromCleaner.post(self, 'cleaned', { job: msg.job, unreadable: errorText(e) });
      return;
    }
    readAhead -= ahead;
    try {
      // An archive is not cleaned here: the main worker reads it a piece at a time.
      if (!msg.entry && isZip(bytes.subarray(0, 4))) {
        fromCleaner.post(self, 'cleaned', { job: msg.job, zip: true });
        return;
      }
      if (!cleaner) cleaner = new Cleaner(settings);
      // An archive's entry comes as stored: the core decompresses (and checks) it.
      const out = msg.entry ? cleaner.cleanEntry(msg.entry, bytes) : cleaner.clean(bytes);
      if (out.status === 'unreadable') {
        fromCleaner.post(self, 'cleaned', { job: msg.job, unreadable: out.reason });
      } else if (out.status === 'zip') {
        fromCleaner.post(self, 'cleaned', { job: msg.job, zip: true });
      } else {
        const { fields, transfer } = packCleaned(out, packedBuffers);
        fromCleaner.post(self, 'cleaned', { job: msg.job, ...fields }, transfer);
      }
      collector.fileDone();
    } catch (e) {
      // The module stopping (a trap) is not the file's fault: the pool replaces this worker.
      fromCleaner.post(self, 'cleaned', {
        job: msg.job,
        trap: typeof WebAssembly !== 'undefined' && e instanceof WebAssembly.RuntimeError,
        error: errorText(e),
      });
    } finally {
      // The core has copied the bytes (or the file is done with): the buffer can be used again.
      buffers.giveBack(bytes);
    }
  });
}
