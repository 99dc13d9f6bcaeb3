// The messages between the page and its workers, defined once.
//
// Four one-way channels: the page (app/main.js) and the main worker (worker/worker.js, with
// worker/batch.js), and the main worker and each cleaner of its pool (worker/pool.js,
// worker/cleaner.js). Every message is an object with a `type` and its own fields. A message
// is made and posted through its channel, which refuses a type it does not define, and a
// receiver hands what it gets to `receive`, which refuses a type it has no handler for: a
// misspelt or forgotten message is an error where it happens, never a message nobody reads.
// A request that wants its answer goes through `Requests`, which matches the answer to it and
// can cancel it. tests/js/protocol.test.mjs checks that every type is sent somewhere and
// handled somewhere.

/** The text of an error (or of anything thrown), as a message carries it. */
export function errorText(e) {
  return String((e && e.message) || e);
}

/** One direction of messages between two threads, and the types it carries. */
export class Channel {
  /**
   * @param {string} name who talks to whom, for errors
   * @param {Record<string, string>} types each type, with what it carries
   */
  constructor(name, types) {
    this.name = name;
    this.types = Object.freeze({ ...types });
    Object.freeze(this);
  }

  /** A message of `type` with `fields`, checked to be one this channel carries. */
  message(type, fields = {}) {
    if (!Object.hasOwn(this.types, type)) throw new Error(`${this.name}: there is no message "${type}"`);
    return { ...fields, type };
  }

  /** Post a message of `type` with `fields` to `target` (a Worker, or a worker's own scope). */
  post(target, type, fields = {}, transfer = []) {
    target.postMessage(this.message(type, fields), transfer);
  }

  /**
   * Hand `msg` to the handler for its type and give back what it returns. A type this
   * channel does not carry, or one with no handler, is an error.
   * @param {{type: string}} msg
   * @param {Record<string, (msg: any) => any>} handlers
   */
  receive(msg, handlers) {
    const type = msg && msg.type;
    if (!Object.hasOwn(this.types, type)) throw new Error(`${this.name}: there is no message "${type}"`);
    const handler = handlers[type];
    if (typeof handler !== 'function') throw new Error(`${this.name}: nothing handles "${type}"`);
    return handler(msg);
  }
}

/**
 * Requests on a channel, each answered once: `request` posts a message with a number of its
 * own (`ask`) and gives a promise of the answer, which carries the same number back (the main
 * worker's `answer` puts it there). The receiver hands every answer to `settle`.
 * - An answer with an `error` rejects the promise with that error.
 * - A request can be cancelled with an AbortSignal: its promise rejects at once (an
 *   AbortError), and its answer, when it comes, is dropped. A viewer closed or moved on from
 *   never draws what was asked for before.
 */
export class Requests {
  /**
   * @param {Channel} channel what the requests are posted on
   * @param {{postMessage: Function}} target where to (a Worker)
   */
  constructor(channel, target) {
    this.channel = channel;
    this.target = target;
    this.next = 1;
    /** @type {Map<number, {resolve: Function, reject: Function}>} */
    this.waiting = new Map();
  }

  /**
   * Post a request of `type` with `fields`; the promise of its answer.
   * @param {string} type
   * @param {object} [fields]
   * @param {{signal?: AbortSignal, transfer?: Transferable[]}} [how]
   */
  request(type, fields = {}, { signal, transfer = [] } = {}) {
    if (signal && signal.aborted) return Promise.reject(signal.reason);
    const ask = this.next++;
    const msg = this.channel.message(type, { ...fields, ask }); // a type it does not carry throws here
    const answered = new Promise((resolve, reject) => {
      const cancel = () => {
        if (this.waiting.delete(ask)) reject(signal.reason);
      };
      // The listener goes with the answer: a signal shared by many requests keeps none of
      // those answered.
      const done = () => { if (signal) signal.removeEventListener('abort', cancel); };
      this.waiting.set(ask, {
        resolve: (v) => { done(); resolve(v); },
        reject: (e) => { done(); reject(e); },
      });
      if (signal) signal.addEventListener('abort', cancel, { once: true });
    });
    this.target.postMessage(msg, transfer);
    return answered;
  }

  /** Hand `msg`, an answer, to the request waiting for it (nothing when it was cancelled). */
  settle(msg) {
    const waiting = this.waiting.get(msg.ask);
    if (!waiting) return;
    this.waiting.delete(msg.ask);
    if (msg.error !== undefined) waiting.reject(new Error(msg.error));
    else waiting.resolve(msg);
  }

  /** How many requests await their answer. */
  get pending() {
    return this.waiting.size;
  }
}

/** The page to the main worker. */
export const toWorker = new Channel('page → worker', {
  options: 'the profile options, for the settings form',
  settings: 'the settings chosen (profile, options, key, rules…)',
  changeSettings: 'new settings for the batch under way: the files done are cleaned again with them',
  files: 'files (or a folder\'s, or an archive) to add; `last` on the last part of an addition',
  sample: 'add the fake sample study',
  cancel: 'stop the batch',
  package: 'make the package (notes, password, preset; `handle` to write it to a file)',
  preview: 'draw a frame of a file, before and after',
  details: 'what changed in a file',
  thumbnail: 'a small picture of a file',
  keyImage: 'choose a file (a frame, or the cine) for the case page',
  region: 'black out a box the user drew (on this image, its series or images of its size), in place of a box found when it was moved or resized from one',
  removeRegion: 'take back a box the user drew',
  detection: 'say a detected box is text or not',
  reid: 'the sealed re-identification key, under a passphrase',
});

/** The main worker to the page. */
export const fromWorker = new Channel('worker → page', {
  many: 'several `added` and `result` messages at once',
  options: 'the profile options',
  added: 'a file is in the batch',
  result: 'a file\'s outcome and report',
  package: 'the package, as a Blob to download',
  packageSaved: 'the package was written to the file chosen',
  reid: 'the sealed re-identification key, as text',
  preview: 'a frame drawn, before and after',
  details: 'what changed in a file',
  thumbnail: 'a small picture of a file',
  keyImageSet: 'the key image was chosen',
  regionApplied: 'a box was blacked out (or taken back), and the file cleaned again',
  settingsChanged: 'the files done were cleaned again with the new settings (or `error`: they were refused)',
  network: 'how many requests the workers made since the page started counting',
  error: 'what went wrong',
});

/** The main worker to a cleaner of its pool. */
export const toCleaner = new Channel('worker → cleaner', {
  core: 'the compiled WebAssembly module (null: the cleaner loads its own)',
  configure: 'the run\'s settings, with the first pass\'s scans',
  clean: 'clean a file, or an entry of an archive, into the buffers given',
  collect: 'ask for a garbage collection',
});

/** A cleaner to the main worker. */
export const fromCleaner = new Channel('cleaner → worker', {
  ready: 'the core is loaded',
  cleaned: 'a file cleaned (or unreadable, or an archive to open)',
  network: 'how many requests this cleaner made',
  broken: 'the core trapped: replace this cleaner',
});
