// The batch: a queue of files, each de-identified in turn by the Rust core, and the package
// built from them. It knows nothing about the page or the worker's messages: `post` sends
// what the page needs to know, and `loadCore` gives a fresh instance of the core (the wasm
// module's exports), so the same code runs in the worker and in Node's tests.
//
// If the module traps on a file (a WebAssembly.RuntimeError: a bug in a decoder, memory
// exhausted), its memory can no longer be trusted. The file is marked failed, a fresh instance
// is loaded, and the files already done are run again through it: the same key gives the same
// pseudonyms, UIDs and dates, so the package comes out as if the bad file had only been
// excluded. The batch goes on with the next file.

import { Backlog, Slots, FILES_PER_WORKER } from './admission.js';
import { Pieces } from './pieces.js';
import { release, unpackCleaned } from './buffers.js';
import { warmUp, WARM_UP_ROUNDS } from './warm.js';
import { Collector } from '../shared/collect.js';
import { headers, listArchive } from './first-pass.js';
import { UserBoxes, keyImagesWanted } from './review.js';
import { errorText } from '../shared/protocol.js';

/** Whether an exception is the module stopping (a trap), not an error it reported. */
export function isTrap(e) {
  return typeof WebAssembly !== 'undefined' && e instanceof WebAssembly.RuntimeError;
}


/** Files larger than this are not read ahead (see `enqueue`), and not handed whole to the
 * pool before it is known that they are not archives (see `enqueueToPool`). */
const READ_AHEAD_MAX = 64 << 20;

/** Files started at once (given to the pool, or waiting to be packaged), per worker: enough
 * to keep the pool busy (see FILES_PER_WORKER in ./admission.js); the rest wait in the backlog. */
const ACTIVE_PER_WORKER = 2 * FILES_PER_WORKER;


export class Batch {
  /**
   * @param {() => Promise<object>} loadCore resolves to a fresh instance of the core's exports
   * @param {(msg: object) => void} post receives `added`, `result` (with `report`, or
   *   `reportJson` as the core wrote it) and `error` messages for the page (see
   *   ../shared/protocol.js)
   * @param {(bytes: Uint8Array) => Blob|Uint8Array} keep turns a package piece into what is kept
   *   (a Blob in the browser, which may live on disk)
   * @param {import('./pool.js').Pool|null} pool workers that de-identify files in parallel;
   *   without one, files are de-identified here, one at a time
   */
  constructor(loadCore, post, keep = (b) => new Blob([b]), pool = null) {
    this.loadCore = loadCore;
    this.post = post;
    this.keep = keep;
    this.pool = pool;
    this.slots = pool ? new Slots(pool.size) : null; // room in the pool for files being cleaned
    this.readAheadMax = READ_AHEAD_MAX; // (lowered by tests)
    this.backlog = new Backlog(); // files added, not yet started (see `pump`)
    this.active = 0; // files started and not yet packaged
    this.version = 0; // bumped whenever the pool's settings change (new run, new boxes)
    this.core = null;
    this.ready = this.reload();
    this.run = null;
    this.runKey = null;
    this.chunks = new Pieces(keep); // the package so far
    this.history = []; // what the current run has seen, in order, for a replay after a trap
    this.sources = new Map(); // file id → its bytes, for previews of de-identified files
    this.byPath = new Map(); // package path → its original's bytes, for key images
    this.boxes = new UserBoxes(); // boxes the user drew, and detected ones that are not text
    this.keyChoices = new Map(); // file id → { frame, window }: key images the user chose
    this.pathOf = new Map(); // file id → its path in the package
    this.keyImagesAdded = false; // key images went into the package (a download was made)
    this.settings = null;
    this.queue = Promise.resolve();
    this.waiting = []; // queued files not yet started, in order (for reading ahead)
    this.nextId = 1;
    this.generation = 0; // bumped by cancel and new settings: older queued work is dropped
    this.traps = 0;
    this.collector = new Collector();
    this.scans = []; // the run's first pass: what the core's `scan` gave for each file
    this.addition = null; // the files of an addition whose last part has not come yet
    this.holds = 0; // additions whose first pass is not done: no file is cleaned meanwhile
    this.held = null; // resolves when `holds` falls to 0
    this.unhold = null;
  }

  async reload() {
    this.core = await this.loadCore();
    return this.core;
  }

  /** Warm the core up until the first file comes (see ./warm.js). A trap there leaves a fresh
   * instance behind, as after a file. */
  async warmUp(rounds = WARM_UP_ROUNDS) {
    await this.ready;
    const first = this.nextId;
    try {
      await warmUp(this.core, rounds, () => this.nextId === first);
    } catch (e) {
      if (!isTrap(e)) return;
      this.traps += 1;
      this.ready = this.reload();
      await this.ready;
    }
  }

  /** New settings: the next file starts a new run (and a new package). */
  setSettings(settings) {
    this.generation += 1;
    this.sources.clear();
    this.byPath.clear();
    this.boxes.clear();
    this.keyChoices.clear();
    this.pathOf.clear();
    this.keyImagesAdded = false;
    this.settings = settings;
    this.run = null;
    this.chunks = new Pieces(this.keep);
    this.history = [];
    this.scans = [];
  }

  cancel() {
    this.generation += 1;
  }

  /**
   * The user changed the settings after adding files: the files done so far are cleaned
   * again with them, with the same key (unless the settings give a new one), the boxes
   * drawn and the key images chosen; files still to come use them too. Results are posted
   * again. Settings that cannot be used are refused, and the batch stays as it was.
   */
  changeSettings(settings) {
    const job = this.queue.then(async () => {
      const saved = this.settings;
      this.settings = settings;
      if (!this.run) return;
      try {
        await this.replay(true);
      } catch (e) {
        this.settings = saved;
        await this.replay(true);
        throw e;
      }
    });
    this.queue = job.catch(() => {});
    return job;
  }

  /** The settings of a run (and of the pool's cleaners) with key `key`. */
  runSettings(key) {
    const s = this.settings || { options: [] };
    return {
      options: s.options || [],
      passphrase: s.passphrase || undefined,
      salt: s.salt || undefined,
      randomKey: Array.from(key),
      dateOffsetDays: s.dateOffsetDays ?? undefined,
      pseudonymsCsv: s.pseudonymsCsv || undefined,
      acceptBurnedIn: Boolean(s.acceptBurnedIn),
      includeDocuments: Boolean(s.includeDocuments),
      hipaa: s.hipaa || undefined,
      pixelRules: s.pixelRules || undefined,
      detectText: Boolean(s.detectText),
      keepAnnotations: Boolean(s.keepAnnotations),
      userRegions: this.boxes.toJson(),
      scans: this.scans,
      only: s.only || undefined,
    };
  }

  /**
   * Add files as one addition (a drop, a choice of files or a folder, the sample), in parts:
   * `items` are `{name, blob}` (a file on disk) or `{name, getBytes}`, and `last` says that
   * the addition's last part has come. Their rows appear at once, but no file is cleaned until
   * the addition's first pass has read every header (see ./first-pass.js).
   */
  addFiles(items, last = true) {
    if (!this.addition) {
      this.addition = [];
      this.hold();
    }
    for (const item of items) {
      this.addition.push(item);
      this.enqueue(item.name, item.getBytes || (() => item.blob.arrayBuffer()), item.blob || null);
    }
    if (!last) return;
    const addition = this.addition;
    this.addition = null;
    this.firstPass(addition).catch(() => {}).finally(() => this.release());
  }

  hold() {
    this.holds += 1;
    if (this.holds === 1) this.held = new Promise((resolve) => { this.unhold = resolve; });
  }

  release() {
    this.holds -= 1;
    if (this.holds > 0) return;
    this.unhold();
    if (this.pool) this.pump();
  }

  /** Resolves when no addition's first pass is under way. */
  async firstPassesDone() {
    while (this.holds > 0) await this.held;
  }

  /**
   * The first pass over `items`: their patients' identifying values, given to the run and to
   * the pool's cleaners. When they add a value the run did not know and files were already
   * cleaned, those files are cleaned again (in the package and on the page), so that the
   * package is what one pass over all the files would give.
   */
  async firstPass(items) {
    await this.ready;
    const mine = this.generation;
    try {
      this.ensureRun();
    } catch {
      return; // bad settings: each file says so
    }
    const found = [];
    for (const item of items) {
      try {
        for await (const head of headers(this.core, item)) {
          if (mine !== this.generation) return;
          const scan = this.run.scan(head);
          if (scan) found.push(scan);
        }
      } catch (e) {
        // A header the core could not read: its file's own turn says why. After a trap, a
        // fresh instance with the run as it was, for the next files.
        if (!isTrap(e)) continue;
        this.traps += 1;
        this.ready = this.reload();
        await this.ready;
        await this.replay(false);
      }
    }
    if (found.length === 0 || mine !== this.generation) return;
    this.scans = this.scans.concat(found);
    if (!this.run.addScans(found)) return;
    // The pool's cleaners learn them too; files in the pool are cleaned again (see `start`).
    this.version += 1;
    if (this.pool) this.pool.configure(this.runSettings(this.runKey));
    if (this.history.length) {
      this.queue = this.queue.then(() => this.replay(true)).catch(() => {});
    }
  }

  newRun(key) {
    const run = new this.core.Run(this.runSettings(key));
    // The pool's cleaners work with the same settings from now on.
    this.version += 1;
    if (this.pool) this.pool.configure(this.runSettings(key));
    return run;
  }

  /** The run, started with a new random key at the first file. Throws on bad settings. */
  ensureRun() {
    if (this.run) return;
    const key = new Uint8Array(32);
    crypto.getRandomValues(key);
    this.run = this.newRun(key);
    this.runKey = key;
    this.chunks = new Pieces(this.keep);
    this.history = [];
  }


  /** Tell the page file `id` is left out of the package, and why (`bytes`: its size, when
   * known, for the progress). */
  exclude(id, reason, bytes) {
    this.post({ type: 'result', id, report: { status: 'excluded', reason }, ...(bytes === undefined ? {} : { bytes }) });
  }

  /** Tell the page file `id` was cancelled before its turn came. */
  cancelled(id) {
    this.post({ type: 'result', id, report: { status: 'cancelled', reason: 'cancelled' } });
  }

  /** Bad settings (a malformed pseudonym list or rules file): said once as an error, and the
   * file is left out. */
  badSettings(id, e) {
    const reason = `the settings could not be used: ${errorText(e)}`;
    this.post({ type: 'error', message: reason });
    this.exclude(id, reason);
  }

  /** Queue a file; `getBytes` resolves to its bytes. A file is read when its turn comes, or
   * just before: while one file is worked on, the next is read from disk (never more).
   * `blob`: the file on disk; `size`: its size, if known; `entry`: for a file inside an
   * archive, `{ record, archive, at, len, nesting }` (its directory record, where its bytes as
   * stored are in the archive's Blob: the pool's worker reads and decompresses them, and how
   * many archives it is inside). The
   * entry's Blob is made only when its turn comes: an archive of thousands of files does not
   * hold a Blob for each while they wait. */
  enqueue(name, getBytes, blob = null, size = 0, entry = null) {
    // (Without a pool, an archive's entry is read through `getBytes`.)
    if (this.pool) return this.enqueueToPool(name, getBytes, blob, size, entry);
    const id = this.nextId++;
    const mine = this.generation;
    const item = { getBytes, blob, read: null };
    this.waiting.push(item);
    this.post({ type: 'added', id, name });
    this.queue = this.queue.then(async () => {
      await this.firstPassesDone();
      this.waiting.shift();
      if (mine !== this.generation) {
        this.cancelled(id);
        return;
      }
      await this.ready;
      // An archive on disk is read a piece at a time, never whole.
      if (blob && this.core.isZip(new Uint8Array(await blob.slice(0, 4).arrayBuffer()))) {
        await this.expandArchive(id, name, blob, entry);
        return;
      }
      const read = item.read || getBytes();
      const next = this.waiting[0];
      // (Not a large file, which may be an archive: that is read a piece at a time.)
      if (next && !next.read && !(next.blob && next.blob.size > this.readAheadMax)) {
        next.read = next.getBytes();
        next.read.catch(() => {}); // its own turn reports a failure
      }
      let bytes;
      try {
        bytes = new Uint8Array(await read);
      } catch (e) {
        this.exclude(id, `could not be read: ${errorText(e)}`);
        return;
      }
      if (this.core.isZip(bytes.subarray(0, 4))) {
        await this.expandArchive(id, name, new Blob([bytes]), entry);
        return;
      }
      await this.processOne(id, getBytes, bytes);
    }).catch((e) => {
      // Whatever went wrong with this file, the queue goes on with the next one.
      this.exclude(id, errorText(e));
    });
    return id;
  }

  /**
   * With a pool: the file is read and de-identified by a worker of the pool as soon as one is
   * free (several files at once), then packaged here in the order files were added.
   */
  enqueueToPool(name, getBytes, blob, sizeHint, entry) {
    const id = this.nextId++;
    this.post({ type: 'added', id, name });
    this.backlog.push({ id, name, getBytes, blob, sizeHint, entry, generation: this.generation });
    this.pump();
    return id;
  }

  /** Start files of the backlog, in order, while fewer than ACTIVE_PER_WORKER a worker are
   * started and not yet packaged. (Each started file holds promises, closures and, for an
   * archive's entry, a Blob: for thousands of files at once, tens of MiB.) */
  pump() {
    if (this.holds > 0) return; // (until the first pass is done: see `release`)
    while (this.active < this.pool.size * ACTIVE_PER_WORKER) {
      const item = this.backlog.shift();
      if (!item) return;
      if (item.generation !== this.generation) {
        this.cancelled(item.id);
        continue;
      }
      this.active += 1;
      this.start(item);
    }
  }

  /** Give file `item` of the backlog to the pool, and package it when its turn comes. */
  start({ id, name, getBytes, blob, sizeHint, entry, generation: mine }) {
    const weight = blob ? blob.size : sizeHint;
    const cleaned = this.slots.take(weight).then(async () => {
      if (mine !== this.generation) return { cancelled: true };
      // A file (Blob) is read by the pool's worker itself; other bytes (kept here for previews
      // and replays) are copied to it.
      // Whether it is an archive (read a piece at a time here, never whole): from its first
      // bytes for a large file; a small one is read whole by the pool's worker, which says so.
      let source;
      let head = null;
      try {
        if (entry) {
          source = entry.archive.slice(entry.at, entry.at + entry.len);
        } else if (blob) {
          source = blob;
          if (blob.size > this.readAheadMax) head = new Uint8Array(await blob.slice(0, 4).arrayBuffer());
        } else {
          source = new Uint8Array(await getBytes()).slice().buffer;
          head = new Uint8Array(source, 0, Math.min(4, source.byteLength));
        }
      } catch (e) {
        return { unreadable: errorText(e) };
      }
      await this.ready;
      if (head && this.core.isZip(head)) return { zip: blob || new Blob([source]) };
      try {
        this.ensureRun();
      } catch (e) {
        return { badSettings: errorText(e) };
      }
      const size = source instanceof Blob ? source.size : source.byteLength;
      const version = this.version;
      for (let attempt = 0; ; attempt += 1) {
        try {
          const out = await this.pool.clean(source, entry && entry.record);
          // An archive inside an archive is read from its decompressed bytes.
          if (out.zip) return { zip: entry ? new Blob([new Uint8Array(await getBytes())]) : blob };
          return out.unreadable ? { unreadable: out.unreadable } : { out, size, version };
        } catch (e) {
          // Held by a worker that was replaced (another file made it trap): once more.
          if (!(e && e.retry) || attempt > 0) return { failed: e, size };
          try {
            if (!(source instanceof Blob)) source = new Uint8Array(await getBytes()).slice().buffer;
          } catch (err) {
            return { unreadable: errorText(err) };
          }
        }
      }
    });
    this.queue = this.queue.then(async () => {
      let r;
      try {
        r = await cleaned;
        if (r.cancelled || mine !== this.generation) {
          this.cancelled(id);
        } else if (r.unreadable) {
          this.exclude(id, `could not be read: ${r.unreadable}`);
        } else if (r.zip) {
          await this.expandArchive(id, name, r.zip, entry);
        } else if (r.badSettings) {
          this.badSettings(id, r.badSettings);
        } else if (r.failed && r.failed.trap) {
          const reason = `Obscura stopped on this file: ${r.failed.error} (it is left out; the other files go on)`;
          this.traps += 1;
          this.history.push({ excluded: reason });
          this.run.noteExcluded(reason);
          this.exclude(id, reason, r.size);
        } else if (r.failed) {
          throw new Error(r.failed.error || String(r.failed));
        } else if (r.version !== this.version) {
          // The settings changed while it was in the pool (a box was drawn): again, here.
          await this.processOne(id, getBytes, new Uint8Array(await getBytes()));
        } else {
          this.packageCleaned(id, getBytes, r.out, r.size);
        }
      } finally {
        this.slots.give(weight);
        // Its bytes are in the package (or not wanted): the buffer they came in is used again.
        if (r && r.out) this.pool.giveBack(r.out);
        // (Before this step ends, so that `settled` sees the next file queued.)
        this.active -= 1;
        this.pump();
      }
    }).catch((e) => {
      this.exclude(id, errorText(e));
    });
  }

  /** Put a file the pool de-identified into the package. */
  packageCleaned(id, getBytes, c, size) {
    this.sources.delete(id);
    let out;
    try {
      const { meta, body } = unpackCleaned(c);
      out = this.run.addCleaned(c.status, c.reason || '', meta, c.crc || 0, c.size || 0,
        c.method || 0, body);
    } catch (e) {
      if (isTrap(e)) throw e;
      this.exclude(id, errorText(e), size);
      return;
    }
    this.recordDone(id, getBytes, out, size);
  }

  /** Record a file's result in the run's history and the package, and tell the page. */
  recordDone(id, getBytes, out, size) {
    this.history.push({ id, getBytes });
    if (out.report.status === 'done') {
      this.sources.set(id, getBytes);
      this.byPath.set(out.report.packagePath, getBytes);
      this.pathOf.set(id, out.report.packagePath);
    }
    // (Copied into the package: the core's copy is freed at once rather than at the next
    // collection, which may be thousands of files away.)
    this.chunks.push(out.chunk);
    release(out.chunk);
    // The report goes to the page as the core wrote it (JSON), to be read there.
    this.post({ type: 'result', id, reportJson: out.reportJson, bytes: size });
    this.collector.fileDone();
  }

  async processOne(id, getBytes, bytes) {
    this.sources.delete(id);
    await this.ready;
    if (!this.run) {
      try {
        this.ensureRun();
      } catch (e) {
        this.badSettings(id, e);
        return;
      }
    }
    let out;
    try {
      out = this.run.process(bytes);
    } catch (e) {
      if (isTrap(e)) {
        const reason = `Obscura stopped on this file: ${errorText(e)} (it is left out; the other files go on)`;
        this.exclude(id, reason);
        await this.recover(reason);
        return;
      }
      this.exclude(id, errorText(e), bytes.length);
      return;
    }
    this.recordDone(id, getBytes, out, bytes.length);
  }

  /** After a trap: a fresh module instance, and the run rebuilt from the files done so far. */
  async recover(reason) {
    this.traps += 1;
    this.history.push({ excluded: reason });
    this.ready = this.reload();
    await this.ready;
    await this.replay(false);
  }

  /** Rebuild the run (same key, current settings and drawn boxes) from the files done so far;
   * with `report`, every file's new result is posted again. */
  async replay(report) {
    const run = this.newRun(this.runKey);
    const chunks = new Pieces(this.keep);
    this.byPath.clear();
    for (const step of this.history) {
      if (step.excluded) {
        run.noteExcluded(step.excluded);
        continue;
      }
      const out = run.process(new Uint8Array(await step.getBytes()));
      chunks.push(out.chunk);
      if (out.report.status === 'done') {
        this.byPath.set(out.report.packagePath, step.getBytes);
        this.pathOf.set(step.id, out.report.packagePath);
      } else {
        this.sources.delete(step.id);
        this.pathOf.delete(step.id);
      }
      if (report) this.post({ type: 'result', id: step.id, reportJson: out.reportJson, again: true });
    }
    this.run = run;
    this.chunks = chunks;
    this.keyImagesAdded = false;
  }

  /**
   * Choose file `id` as a key image of its series, at `frame` (0-based, or the middle one)
   * with `window` ({center, width}, or the file's own); `null` takes the choice back. A
   * series with chosen images gets those instead of its middle image. When key images are
   * already in the package (a download was made), the package is rebuilt.
   */
  setKeyImage(id, choice) {
    const job = this.queue.then(async () => {
      if (!this.sources.has(id)) throw new Error('this file is not in the package');
      if (choice) this.keyChoices.set(id, { frame: choice.frame, window: choice.window || null });
      else this.keyChoices.delete(id);
      if (this.keyImagesAdded) await this.replay(false);
    });
    this.queue = job.catch(() => {});
    return job;
  }

  /**
   * Black out `region` ({x, y, w, h} in image pixels) in file `id` and, by `scope`, in the
   * rest of its series ('series') or every image of its size ('size'), or in it alone
   * ('image'). With `replaces` (a box automatic detection found in file `id`, moved or
   * resized by the user into `region`), that box is left visible in that image, in the same
   * rebuild. The package is rebuilt with the box; results are posted again.
   */
  addRegion(id, scope, region, replaces = null) {
    return this.changeUserRegions(id, (key) => {
      if (replaces) this.boxes.setDetection(key, replaces, true);
      this.boxes.add(key, scope, region);
    });
  }

  /** The boxes drawn so far that apply to file `id`, in order: `[{index, name, x, y, w, h}]`
   * (`name` says where each applies; see UserBoxes.drawn). */
  drawnBoxes(id) {
    return this.withSource(id, (bytes) => this.boxes.drawn(this.core.imageKey(bytes)));
  }

  /** Take back the `index`th box drawn (see drawnBoxes); the package is rebuilt without it,
   * as seen from file `id`. */
  removeRegion(id, index) {
    return this.changeUserRegions(id, () => this.boxes.remove(index));
  }

  /**
   * A box automatic detection found in file `id` ({x, y, w, h} as reported): with
   * `notText`, the user says it is not text and it is left visible in that image; without,
   * it is blacked out again. The package is rebuilt; results are posted again.
   */
  setDetection(id, region, notText) {
    return this.changeUserRegions(id, (key) => this.boxes.setDetection(key, region, notText));
  }

  /** Change the user's boxes with `change(imageKey of file id)`, then rebuild the run; the
   * change is undone if the rebuild fails. */
  changeUserRegions(id, change) {
    const job = this.queue.then(async () => {
      const getBytes = this.sources.get(id);
      if (!getBytes || !this.run) throw new Error('this file is not in the package');
      const key = this.core.imageKey(new Uint8Array(await getBytes()));
      const saved = this.boxes.save();
      change(key);
      try {
        await this.replay(true);
      } catch (e) {
        this.boxes.restore(saved);
        throw e;
      }
    });
    this.queue = job.catch(() => {});
    return job;
  }

  /**
   * A ZIP archive (a Blob: a file on disk, or bytes) becomes a row per file inside. Only its
   * directory is read now; each file is read from its own part of the archive when its turn
   * comes (and again for previews), so an archive of many GB never has to fit in memory.
   * `entry`: where it is when it is inside an archive itself. Archives inside archives are
   * opened as the CLI opens them (`nestedArchiveDepth`, src/input.rs): three levels deep.
   */
  async expandArchive(id, name, blob, entry = null) {
    const nesting = entry ? entry.nesting : 0;
    if (nesting > this.core.nestedArchiveDepth()) {
      this.exclude(id, this.core.archiveTooDeep());
      return;
    }
    let files;
    try {
      files = await listArchive(this.core, blob);
    } catch (e) {
      this.exclude(id, errorText(e));
      return;
    }
    this.post({ type: 'result', id, report: { status: 'archive', reason: `ZIP archive: ${files.length} files inside, listed below` } });
    for (const { name: inner, at, len, entry } of files) {
      // The pool's worker reads and decompresses the entry itself (in parallel); here it is
      // read again only when needed (previews, key images, a replay).
      this.enqueue(`${name}/${inner}`, async () => {
        const local = new Uint8Array(await blob.slice(at, at + len).arrayBuffer());
        return this.core.unzipEntry(entry, local);
      }, null, Number(entry.size) || len, { record: entry, archive: blob, at, len, nesting: nesting + 1 });
    }
  }

  /** File `id` before and after de-identification, rendered for display (frame `frame`,
   * 0-based, or the middle one), with the boxes drawn that apply to it (`boxes`). */
  preview(id, frame, window) {
    return this.withSource(id, (bytes) => ({
      ...this.run.preview(bytes, frame ?? undefined, window ? window.center : undefined, window ? window.width : undefined),
      // The boxes the user drew that apply to this image, for the image check's list.
      boxes: this.boxes.drawn(this.core.imageKey(bytes)),
    }));
  }

  /** File `id` as it goes into the package, rendered for its series' thumbnail (its middle
   * frame). */
  thumbnail(id) {
    return this.withSource(id, (bytes) => this.run.thumbnail(bytes));
  }

  /** What was changed in file `id`: `{changes, review}` (with original values), which the
   * page is sent only when the user opens the list. */
  async details(id) {
    return JSON.parse(await this.withSource(id, (bytes) => this.run.details(bytes)));
  }

  /** `use(bytes of file id)`, with the run as it is. A trap there leaves a fresh instance
   * with the same package behind (and is thrown). */
  async withSource(id, use) {
    const getBytes = this.sources.get(id);
    if (!getBytes || !this.run) throw new Error('this file is not in the package');
    const bytes = new Uint8Array(await getBytes());
    try {
      return use(bytes);
    } catch (e) {
      if (isTrap(e)) {
        // The module's memory can no longer be trusted: a fresh instance, the same package.
        this.traps += 1;
        this.ready = this.reload();
        await this.ready;
        await this.replay(false);
      }
      throw e;
    }
  }

  /** Resolves when every queued file is done, including those queued meanwhile (the files
   * inside an archive are queued when its directory has been read). */
  async settled() {
    let queue;
    do {
      await this.firstPassesDone();
      queue = this.queue;
      await queue;
    } while (queue !== this.queue || this.holds > 0);
  }

  /** The package as it is now: the pieces so far and a trailer describing them. */
  async packageParts(notes = '') {
    await this.settled();
    if (!this.run) throw new Error('no file has been de-identified yet');
    this.run.setCaseNotes(notes);
    // Key images join the package before its directory: those the user chose, and the
    // middle image of every other series.
    const wanted = keyImagesWanted(this.keyChoices, this.pathOf, this.run.keyImagePlan());
    for (const { name, path, frame, window } of wanted) {
      const getBytes = this.byPath.get(path);
      if (!getBytes) continue;
      try {
        const bytes = new Uint8Array(await getBytes());
        const chunk = this.run.keyImage(name, bytes, frame,
          window ? window.center : undefined, window ? window.width : undefined);
        this.chunks.push(chunk);
        // A multi-frame image also gets its cine (an animated GIF; nothing for one frame).
        const cine = this.run.cine(name.replace(/(-frame\d+)?\.png$/, '-cine.gif'), bytes);
        this.chunks.push(cine);
      } catch (e) {
        // An image that cannot be drawn (e.g. no decoder) simply has no key image.
        if (isTrap(e)) throw e;
      }
    }
    this.keyImagesAdded = true;
    return [...this.chunks.all(), this.run.packageTrailer()];
  }

  /** The package as it leaves: `parts` (see `packageParts`) encrypted with `password` when
   * one is given (AES-256, see src/package/encrypt.rs) and hashed, handed to `write` a slice
   * at a time (a part of many MB is never copied whole into the module). Returns the export
   * log's line for it (no patient data). */
  async exportPackage(parts, { password, preset }, write) {
    const out = new this.core.PackageExport(password || undefined, crypto.getRandomValues(new Uint8Array(32)));
    try {
      for (const part of parts) {
        for await (const bytes of slices(part)) {
          const o = out.push(bytes);
          if (o.length) await write(o);
        }
      }
      const end = out.finish();
      if (end.last.length) await write(end.last);
      return this.run.exportLogLine(preset || '', Date.now() / 1000, end.bytes, end.sha256, end.encrypted);
    } finally {
      out.free();
    }
  }

  /** The sealed re-identification key of the current run. */
  async reidentificationKey(passphrase) {
    await this.settled();
    if (!this.run) throw new Error('no file has been de-identified yet');
    return this.run.reidentificationKey(passphrase, crypto.getRandomValues(new Uint8Array(28)));
  }
}

/** Bytes given to the module at once when a package goes out. */
const EXPORT_SLICE = 4 << 20;

/** A package's part (a Blob or bytes) as slices of at most `EXPORT_SLICE` bytes. */
async function* slices(part) {
  const size = part.size ?? part.byteLength;
  for (let at = 0; at < size; at += EXPORT_SLICE) {
    const end = Math.min(size, at + EXPORT_SLICE);
    yield part instanceof Blob ? new Uint8Array(await part.slice(at, end).arrayBuffer()) : part.subarray(at, end);
  }
}
