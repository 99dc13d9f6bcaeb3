// The package's pieces as the main worker keeps them until a download: each file's ZIP entry
// (and the key images) is small, and making a Blob of each costs a round trip to the browser
// process; pieces are therefore gathered and kept a few MiB at a time, in the order given.

/** Gather this many bytes before keeping them as one piece. */
export const GATHER_BYTES = 4 << 20;

export class Pieces {
  /**
   * @param {(bytes: Uint8Array) => Blob|Uint8Array} keep what a gathered piece becomes (a
   *   Blob in the browser, which may live on disk)
   * @param {number} gather how many bytes to gather before keeping them
   */
  constructor(keep, gather = GATHER_BYTES) {
    this.keep = keep;
    this.gather = gather;
    this.kept = [];
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Add a piece at the end. */
  push(bytes) {
    if (!bytes || bytes.length === 0) return;
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes >= this.gather) this.flush();
  }

  /** Keep what has been gathered (one piece, in order). */
  flush() {
    if (this.pending.length === 0) return;
    let one = this.pending[0];
    if (this.pending.length > 1) {
      one = new Uint8Array(this.pendingBytes);
      let at = 0;
      for (const p of this.pending) {
        one.set(p, at);
        at += p.length;
      }
    }
    this.kept.push(this.keep(one));
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Every piece so far, in order (what was gathered is kept first). */
  all() {
    this.flush();
    return [...this.kept];
  }
}
