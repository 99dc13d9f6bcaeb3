// Buffers used again, within a worker and between workers.
//
// A buffer that a message brings to a worker is held by the browser (with the message) until
// its next full garbage collection, which it seldom runs while files are coming in: freeing it
// from script does not give its memory back. When the cleaners sent each file's change list
// and compressed bytes in buffers of their own, these grew the tab by about 16 KB a file
// (120 MiB for a study of 7,600 files). A cleaner therefore packs both into one buffer, which
// the main worker gives back once it has packaged them (see Pool.giveBack): the same few
// buffers go back and forth for the whole study, and what messages hold is theirs.

/** Free the memory behind `view` at once (ArrayBuffer.transfer; elsewhere it moves to a new
 * buffer that nothing holds, which the next minor collection frees): the view is empty after.
 * Only a view of a whole buffer of its own is freed (never one others may share). Memory that
 * came in a message is not freed this way (see above). */
export function release(view) {
  const buffer = view && view.buffer;
  if (!buffer || buffer.byteLength === 0) return;
  if (view.byteOffset !== 0 || view.byteLength !== buffer.byteLength) return;
  if (typeof SharedArrayBuffer === 'function' && buffer instanceof SharedArrayBuffer) return;
  if (typeof buffer.transfer === 'function') buffer.transfer(0);
  else structuredClone(buffer, { transfer: [buffer] });
}

/** ArrayBuffers not in use, kept up to a number of bytes in all, each handed out again for the
 * smallest request it fits. */
export class SpareBuffers {
  /**
   * @param {number} keepBytes how many bytes of spare buffers to keep, in all
   * @param {number} step new buffers are sized in steps of at least this, and of a sixteenth
   *   of the next power of two for larger ones, so that requests of about the same size share
   *   them and none is more than about 6% larger than asked (a 526 KB CT slice: 576 KiB)
   */
  constructor(keepBytes, step) {
    this.keepBytes = keepBytes;
    this.step = step;
    this.spare = [];
    this.bytes = 0;
  }

  /** A spare buffer of at least `size` bytes (the smallest that fits), or a new one. */
  take(size) {
    let best = -1;
    for (let i = 0; i < this.spare.length; i++) {
      const len = this.spare[i].byteLength;
      if (len >= size && (best < 0 || len < this.spare[best].byteLength)) best = i;
    }
    if (best < 0) return new ArrayBuffer(this.sizeFor(size));
    const [buf] = this.spare.splice(best, 1);
    this.bytes -= buf.byteLength;
    return buf;
  }

  /** The size of a new buffer for a request of `size` bytes. */
  sizeFor(size) {
    const power = 2 ** Math.ceil(Math.log2(Math.max(size, 1)));
    const unit = Math.max(this.step, power / 16);
    return Math.max(this.step, Math.ceil(size / unit) * unit);
  }

  /** Keep `buf` for a later `take`, if it fits in what is kept (else it is left to the
   * garbage collector). */
  keep(buf) {
    if (!(buf instanceof ArrayBuffer) || buf.byteLength === 0) return;
    if (this.bytes + buf.byteLength > this.keepBytes) return;
    this.spare.push(buf);
    this.bytes += buf.byteLength;
  }
}

/** Compressed files up to this size travel in the packed buffer; larger ones (a few large
 * files, not thousands) are handed over as they are, not copied. */
export const PACKED_BODY_MAX = 1 << 20;

/**
 * The fields of a cleaner's `cleaned` message for `out` (what Cleaner.clean gave), and the
 * buffers it hands over: for a file done, its change list (`meta`, UTF-8 JSON bytes) and,
 * when small, its compressed bytes are packed into one buffer from `spares` (`packed`, with
 * `metaLength` and `bodyLength`); a larger body goes as `body`. What was packed is freed.
 */
export function packCleaned(out, spares) {
  const { status, reason, meta, crc, size, method, body } = out;
  if (status !== 'done') return { fields: { status, reason }, transfer: [] };
  const inside = body.length <= PACKED_BODY_MAX;
  const packed = spares.take(meta.length + (inside ? body.length : 0));
  const view = new Uint8Array(packed);
  view.set(meta);
  const fields = { status, reason, crc, size, method, packed, metaLength: meta.length, bodyLength: body.length };
  release(meta);
  if (inside) {
    view.set(body, fields.metaLength);
    release(body);
    return { fields, transfer: [packed] };
  }
  fields.body = body;
  return { fields, transfer: [packed, body.buffer] };
}

/** What `packCleaned` packed, as views: `{meta, body}` (empty for a file not done). */
export function unpackCleaned(fields) {
  if (!fields.packed) return { meta: new Uint8Array(0), body: fields.body || new Uint8Array(0) };
  const meta = new Uint8Array(fields.packed, 0, fields.metaLength);
  const body = fields.body || new Uint8Array(fields.packed, fields.metaLength, fields.bodyLength);
  return { meta, body };
}
