// How much of the batch is at work at once, for the main worker's Batch (./batch.js): the
// files waiting their turn (`Backlog`), and the room in the pool for files being read and
// cleaned (`Slots`), so that memory stays bounded however many files are added.

/** Files given to the pool at once, per worker, when they are small (see `Slots`): reading a
 * file from disk takes longer than cleaning it, so many reads wait in line. */
export const FILES_PER_WORKER = 8;
/** Bytes of files given to the pool at once beyond one file per worker. */
const IN_FLIGHT_BYTES = 64 << 20;

/** A first-in first-out list (an array's `shift` moves every element: slow for thousands). */
export class Backlog {
  constructor() {
    this.items = [];
    this.head = 0;
  }

  push(item) {
    this.items.push(item);
  }

  /** The first item, removed; `undefined` when empty. */
  shift() {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head += 1;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

/** Room in the pool: files are let in, in turn, while it has room for them. */
export class Slots {
  /** @param {number} workers the pool's size */
  constructor(workers) {
    this.workers = workers;
    this.inFlight = 0; // files being read or cleaned by the pool and not yet packaged
    this.inFlightBytes = 0; // their sizes (as far as known beforehand)
    this.waiters = []; // files waiting for room, in order
  }

  /** Whether a file of `bytes` may go to the pool now: at least one per worker, then as
   * many as fit in IN_FLIGHT_BYTES (up to FILES_PER_WORKER each). */
  fits(bytes) {
    if (this.inFlight >= this.workers * FILES_PER_WORKER) return false;
    return this.inFlight < this.workers || this.inFlightBytes + bytes <= IN_FLIGHT_BYTES;
  }

  /** Wait for room in the pool for a file of about `bytes` (0 when not known), in turn. */
  async take(bytes) {
    if (this.waiters.length === 0 && this.fits(bytes)) {
      this.inFlight += 1;
      this.inFlightBytes += bytes;
      return;
    }
    await new Promise((resolve) => this.waiters.push({ bytes, resolve }));
  }

  /** A file of `bytes` left the pool (cleaned, failed or cancelled). */
  give(bytes) {
    this.inFlight -= 1;
    this.inFlightBytes -= bytes;
    // The files waiting go in their order, as many as now fit.
    while (this.waiters.length && this.fits(this.waiters[0].bytes)) {
      const next = this.waiters.shift();
      this.inFlight += 1;
      this.inFlightBytes += next.bytes;
      next.resolve();
    }
  }
}
