// One worker of the pool (see ./pool.js): it reads and de-identifies the files the main
// worker sends, with the run's settings, and sends them back compressed, to be packaged. Its only state is its copy of
// the de-identification session; if the core traps, the pool replaces this worker.
import init, { Cleaner } from '../pkg/obscura.js';

const ready = init();
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
    if (requests !== before) postMessage({ type: 'network', count: requests });
  }).observe({ type: 'resource' });
}
ready.then(() => { since = performance.now(); });

// Files are cleaned one after the other, in the order sent; each is read as soon as it
// arrives, so the next read overlaps the current cleaning.
let chain = Promise.resolve();

onmessage = (ev) => {
  const msg = ev.data;
  if (msg.type === 'configure') {
    chain = chain.then(() => {
      settings = msg.settings;
      cleaner = null;
    });
    return;
  }
  if (msg.type !== 'clean') return;
  const reading = msg.source instanceof Blob ? msg.source.arrayBuffer() : Promise.resolve(msg.source);
  reading.catch(() => {}); // reported in its turn
  chain = chain.then(() => ready).then(async () => {
    let bytes;
    try {
      bytes = new Uint8Array(await reading);
    } catch (e) {
      postMessage({ type: 'cleaned', job: msg.job, unreadable: String((e && e.message) || e) });
      return;
    }
    try {
      if (!cleaner) cleaner = new Cleaner(settings);
      const { status, reason, meta, crc, size, method, body } = cleaner.clean(bytes);
      postMessage({ type: 'cleaned', job: msg.job, status, reason, meta, crc, size, method, body },
        body ? [body.buffer] : []);
    } catch (e) {
      postMessage({
        type: 'cleaned',
        job: msg.job,
        trap: typeof WebAssembly !== 'undefined' && e instanceof WebAssembly.RuntimeError,
        error: String((e && e.message) || e),
      });
    }
  });
};
