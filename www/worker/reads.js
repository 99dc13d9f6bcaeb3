// Reading files into buffers that are used again. `blob.arrayBuffer()` makes a new buffer for
// every file, and a worker's garbage collector frees the old ones late: on a 1 GB study about
// 100 MiB of files already cleaned were still held by the cleaners. Here a file is read from
// the Blob's byte stream into a spare buffer (BYOB: "bring your own buffer"), and the buffer
// is given back once the core has copied the bytes into its own memory.

import { SpareBuffers } from './buffers.js';

/** Spare buffers are sized in steps of at least this (see SpareBuffers), so that files of
 * about the same size share them. */
const STEP = 64 << 10;

/** The readers reading: held here, because a stream that nothing else holds can be collected
 * with its pending read, which then never ends. */
const reading = new Set();

export class ReadBuffers {
  /** @param {number} keepBytes spare buffers kept for later reads, in all */
  constructor(keepBytes) {
    this.spares = new SpareBuffers(keepBytes, STEP);
    this.ours = new WeakSet(); // buffers handed out by `read`, to be given back
  }

  /** Bytes of spare buffers kept. */
  get spareBytes() {
    return this.spares.bytes;
  }

  /** The bytes of `blob`, as a Uint8Array over a buffer of this pool (or over a buffer of its
   * own where the browser cannot read a Blob into a given buffer). */
  async read(blob) {
    if (blob.size === 0) return new Uint8Array(0);
    let reader;
    try {
      reader = blob.stream().getReader({ mode: 'byob' });
    } catch {
      return new Uint8Array(await blob.arrayBuffer());
    }
    let buf = this.spares.take(blob.size);
    let at = 0;
    reading.add(reader);
    try {
      while (at < blob.size) {
        // Each read moves the buffer to a new ArrayBuffer object (the same memory).
        const { value, done } = await reader.read(new Uint8Array(buf, at, blob.size - at));
        if (done) break;
        buf = value.buffer;
        at += value.byteLength;
      }
    } finally {
      reading.delete(reader);
      reader.cancel().catch(() => {});
    }
    if (at !== blob.size) throw new Error(`the file ended after ${at} of its ${blob.size} bytes`);
    this.ours.add(buf);
    return new Uint8Array(buf, 0, blob.size);
  }

  /** Give back the buffer of bytes `read` returned, once nothing uses them any more. */
  giveBack(bytes) {
    const buf = bytes && bytes.buffer;
    if (!buf || !this.ours.has(buf)) return;
    this.ours.delete(buf);
    this.spares.keep(buf);
  }
}
