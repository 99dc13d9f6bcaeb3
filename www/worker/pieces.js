// The package's pieces as the main worker keeps them until a download: each file's ZIP entry
// (and the key images) is small, and making a Blob of each costs a round trip to the browser
// process; pieces are therefore gathered and kept a MiB at a time, in the order given (more
// at a time costs the tab that much more while a piece is made: the gathering buffer and
// the browser's copy of it).

/** Gather this many bytes before keeping them as one piece. */
export const GATHER_BYTES = 1 << 20;

export class Pieces {
  /**
   * @param {(bytes: Uint8Array) => Blob|Uint8Array} keep what a gathered piece becomes: it
   *   must copy the bytes (a Blob does), as the gathering buffer is used again and callers
   *   let their pieces go
   * @param {number} gather how many bytes to gather before keeping them
   */
  constructor(keep, gather = GATHER_BYTES) {
    this.keep = keep;
    this.gather = gather;
    this.kept = [];
    // Pieces are copied here as they come, so that they can be let go of at once (each is a
    // buffer that the garbage collector would otherwise keep until its next full collection),
    // and this one buffer serves the whole package.
    this.buffer = null;
    this.used = 0;
  }

  /** Add a piece at the end. Small ones are copied, large ones kept (which copies them):
   * either way the caller may let `bytes` go. */
  push(bytes) {
    if (!bytes || bytes.length === 0) return;
    if (bytes.length >= this.gather) {
      // A large piece is kept as it is.
      this.flush();
      this.kept.push(this.keep(bytes));
      return;
    }
    if (this.used + bytes.length > this.gather) this.flush();
    if (!this.buffer) this.buffer = new Uint8Array(this.gather);
    this.buffer.set(bytes, this.used);
    this.used += bytes.length;
  }

  /** Keep what has been gathered (one piece, in order). */
  flush() {
    if (this.used === 0) return;
    this.kept.push(this.keep(this.buffer.subarray(0, this.used)));
    this.used = 0;
  }

  /** Every piece so far, in order (what was gathered is kept first). */
  all() {
    this.flush();
    return [...this.kept];
  }
}
