// A pool of workers that read and de-identify files in parallel (./cleaner.js), for the batch
// in the main worker to package them. Files wait in order for a free worker; the batch keeps
// the number and bytes in flight bounded, so memory stays bounded.

import { toCleaner, fromCleaner } from '../shared/protocol.js';

/** Files given to one worker at a time: one being cleaned, the others being read (it reads
 * ahead only so many bytes; see ./cleaner.js). The batch decides how many are in flight.
 * Each file read ahead holds a buffer of its size: with 4 rather than 8, the tab took about
 * 8 MiB less on a CT study, and as long. */
const PER_WORKER = 4;

export class Pool {
  /**
   * @param {number} size how many workers (one per core)
   * @param {() => Worker} makeWorker a new cleaner worker
   * @param {Promise<WebAssembly.Module|null>|null} core the core's compiled module, for every
   *   worker to instantiate (`null` in it: each worker loads the core itself); without it,
   *   workers are not told
   */
  constructor(size, makeWorker, core = null) {
    this.size = size;
    this.makeWorker = makeWorker;
    this.core = core;
    this.settings = null;
    this.helpers = [];
    this.jobs = new Map(); // job number → { resolve, reject, helper }
    this.queued = []; // files waiting for a free worker
    this.nextJob = 1;
    this.network = []; // requests each worker made after loading (replaced ones included)
    this.counted = []; // requests of the workers a slot had before its current one
    this.onNetwork = null; // called when a count changes
    this.replaced = 0; // workers replaced after a trap or a crash
    for (let i = 0; i < size; i += 1) this.spawn(i);
  }

  spawn(i) {
    const worker = this.makeWorker();
    let loaded;
    const ready = new Promise((resolve) => { loaded = resolve; });
    this.helpers[i] = { worker, jobs: [], ready, loaded, buffers: [] };
    this.network[i] = this.network[i] || 0;
    worker.onmessage = (ev) => this.message(i, ev.data);
    worker.onerror = (ev) => {
      ev.preventDefault?.();
      this.fail(i, { trap: true, error: ev.message || 'the worker stopped' });
    };
    if (this.core) {
      this.core.then((module) => {
        try {
          toCleaner.post(worker, 'core', { module });
        } catch {
          // (A browser that cannot hand a compiled module to a worker.)
          toCleaner.post(worker, 'core', { module: null });
        }
      });
    }
    if (this.settings) toCleaner.post(worker, 'configure', { settings: this.settings });
  }

  /** The run's settings (see Batch.runSettings), for every worker. */
  configure(settings) {
    this.settings = settings;
    for (const h of this.helpers) toCleaner.post(h.worker, 'configure', { settings });
  }

  /** Ask each worker to collect its garbage now (see ../shared/collect.js). */
  collect() {
    for (const h of this.helpers) toCleaner.post(h.worker, 'collect');
  }

  /** Total network requests of the workers since they loaded. */
  requests() {
    return this.network.reduce((a, b) => a + b, 0);
  }

  /** Read and de-identify `source` (a Blob, or an ArrayBuffer handed over; with `entry`, an
   * archive entry's directory record, the entry's bytes as stored) in a free worker:
   * resolves to `{status, reason, crc, size, method, packed, metaLength, bodyLength, body}`
   * (see packCleaned in ./buffers.js; or `{unreadable}`, or `{zip: true}` for an archive,
   * which is not cleaned there), rejects with `{trap, error}`. Once its bytes are used, the
   * result is given back with `giveBack`. */
  clean(source, entry = null) {
    return new Promise((resolve, reject) => {
      this.queued.push({ source, entry, resolve, reject });
      this.dispatch();
    });
  }

  /** Give queued files to free workers, oldest first. */
  dispatch() {
    for (;;) {
      // The least busy worker, with room for one more (two each: one read while one is cleaned).
      let i = -1;
      this.helpers.forEach((h, k) => {
        if (h.jobs.length < PER_WORKER && (i < 0 || h.jobs.length < this.helpers[i].jobs.length)) i = k;
      });
      if (i < 0 || this.queued.length === 0) return;
      const { source, entry, resolve, reject } = this.queued.shift();
      const job = this.nextJob++;
      this.helpers[i].jobs.push(job);
      this.jobs.set(job, { resolve, reject, helper: i });
      const buffers = this.helpers[i].buffers.splice(0);
      toCleaner.post(this.helpers[i].worker, 'clean', { job, source, entry, buffers },
        source instanceof ArrayBuffer ? [source, ...buffers] : buffers);
    }
  }

  /** Hand the buffer a result of `clean` came in back to the worker that sent it, to be used
   * again (see ./buffers.js): its bytes are no longer needed. It goes with the next file
   * that worker is given (a message of its own would cost as much as the buffer saves). */
  giveBack(result) {
    const buffer = result && result.packed;
    const helper = result && this.helpers[result.from];
    if (!(buffer instanceof ArrayBuffer) || buffer.byteLength === 0 || !helper) return;
    if (helper.buffers.length < PER_WORKER) helper.buffers.push(buffer);
  }

  /** Resolves when every worker has loaded its core (and so its scripts). */
  ready() {
    return Promise.all(this.helpers.map((h) => h.ready));
  }

  /** A message of worker `i` (see ../shared/protocol.js). */
  message(i, msg) {
    fromCleaner.receive(msg, {
      ready: () => this.helpers[i].loaded(),
      network: () => {
        this.network[i] = (this.counted[i] || 0) + msg.count;
        if (this.onNetwork) this.onNetwork();
      },
      // Its core failed before its first file (see ./warm.js): a new worker takes its place,
      // and the files it was given are sent again.
      broken: () => this.replaceAndResend(i),
      cleaned: () => this.cleaned(i, msg),
    });
  }

  /** A file cleaned (or not) by worker `i`. */
  cleaned(i, msg) {
    const pending = this.jobs.get(msg.job);
    this.jobs.delete(msg.job);
    this.helpers[i].jobs = this.helpers[i].jobs.filter((j) => j !== msg.job);
    this.dispatch();
    if (!pending) return;
    if (msg.trap) {
      // Its memory can no longer be trusted: a new worker takes its place. The other files it
      // held are sent again.
      this.replaceAndResend(i);
      pending.reject({ trap: true, error: msg.error });
    } else if (msg.error) {
      pending.reject({ trap: false, error: msg.error });
    } else {
      msg.from = i;
      pending.resolve(msg);
    }
  }

  fail(i, why) {
    // The worker died: the file it was cleaning fails, the one it was reading is sent again.
    const jobs = this.helpers[i].jobs;
    this.replace(i);
    jobs.forEach((job, k) => {
      const pending = this.jobs.get(job);
      if (!pending) return;
      this.jobs.delete(job);
      pending.reject(k === 0 ? why : { retry: true, error: 'its worker was replaced' });
    });
  }

  /** A new worker in place of worker `i`; the files it still held are given back to be sent
   * again (their bytes went with the worker). */
  replaceAndResend(i) {
    const held = this.helpers[i].jobs.map((j) => [j, this.jobs.get(j)]).filter(([, p]) => p);
    for (const [j] of held) this.jobs.delete(j);
    this.replace(i);
    for (const [, p] of held) p.reject({ retry: true, error: 'its worker was replaced' });
  }

  replace(i) {
    this.replaced += 1;
    this.counted[i] = this.network[i] || 0;
    this.helpers[i].worker.terminate();
    this.spawn(i);
    this.dispatch();
  }
}
