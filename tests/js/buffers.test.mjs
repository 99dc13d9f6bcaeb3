// Buffers used again (www/worker/buffers.js): freeing a buffer at once, spare buffers, and
// how a cleaner packs a cleaned file into one buffer for the main worker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { release, SpareBuffers, packCleaned, unpackCleaned, PACKED_BODY_MAX } from '../../www/worker/buffers.js';

test('a buffer of its own is freed at once; part of a buffer is left alone', () => {
  const body = new Uint8Array(10_000).fill(3);
  release(body);
  assert.equal(body.length, 0);
  assert.equal(body.buffer.byteLength, 0, 'the buffer is detached');
  release(body); // (twice is harmless, and so is nothing)
  release(undefined);
  // A view of part of a buffer is left alone: the rest may be someone else's.
  const shared = new Uint8Array(100);
  release(shared.subarray(10, 20));
  assert.equal(shared.length, 100);
});

test('spare buffers: the smallest that fits is taken, new ones come in steps, and only so many bytes are kept', () => {
  const spares = new SpareBuffers(200 << 10, 64 << 10);
  const a = spares.take(1);
  const b = spares.take(100_000);
  assert.equal(a.byteLength, 64 << 10);
  assert.equal(b.byteLength, 128 << 10);
  spares.keep(b);
  spares.keep(a);
  assert.equal(spares.bytes, 192 << 10);
  assert.equal(spares.take(10), a, 'the smallest that fits');
  assert.equal(spares.take(10).byteLength, 128 << 10);
  assert.equal(spares.bytes, 0);
  // Beyond what is kept, a buffer is left to the garbage collector; so is an empty one.
  spares.keep(new ArrayBuffer(256 << 10));
  spares.keep(new ArrayBuffer(0));
  assert.equal(spares.bytes, 0);
  assert.equal(spares.take(300 << 10).byteLength, 320 << 10);
  // Larger ones in sixteenths of the next power of two: never much more than asked.
  assert.equal(spares.take(525_732).byteLength, 576 << 10);
  assert.equal(spares.take((5 << 20) + 1).byteLength, (5 << 20) + (512 << 10));
  assert.equal(spares.take(86_400_000).byteLength, 88 << 20);
  for (const size of [1, 65_537, 999_999, 12_345_678]) {
    const got = spares.sizeFor(size);
    assert.ok(got >= size && got <= Math.max(size + (64 << 10), size * 1.07), `${size} -> ${got}`);
  }
});

/** What a Cleaner gives for a file done, with `body` of `n` bytes. */
function cleaned(meta, n) {
  const body = new Uint8Array(n);
  for (let i = 0; i < n; i++) body[i] = (i * 7) & 0xff;
  return { status: 'done', reason: '', meta: new TextEncoder().encode(meta), crc: 1234, size: 99, method: 8, body };
}

test('a cleaned file is packed into one buffer and read back the same', () => {
  const spares = new SpareBuffers(8 << 20, 64 << 10);
  const meta = JSON.stringify({ changes: [{ name: 'PatientName', note: 'Müller^Jörg 山田 🙂' }] });
  const out = cleaned(meta, 5000);
  const want = out.body.slice();
  const { fields, transfer } = packCleaned(out, spares);
  assert.deepEqual(transfer, [fields.packed], 'one buffer handed over');
  assert.equal(fields.body, undefined);
  assert.equal(out.body.length + out.meta.length, 0, "the core's copies are freed");
  assert.deepEqual([fields.crc, fields.size, fields.method, fields.status], [1234, 99, 8, 'done']);
  const { meta: m, body } = unpackCleaned(structuredClone(fields, { transfer }));
  assert.equal(new TextDecoder().decode(m), meta);
  assert.deepEqual(body, want);
  // Given back, the buffer serves the next file.
  const again = packCleaned(cleaned('{}', 10), spares);
  assert.equal(again.fields.packed.byteLength, 64 << 10);
});

test('a large compressed file is handed over as it is, beside its change list', () => {
  const spares = new SpareBuffers(8 << 20, 64 << 10);
  const out = cleaned('{"changes":[]}', PACKED_BODY_MAX + 1);
  const body = out.body;
  const { fields, transfer } = packCleaned(out, spares);
  assert.equal(fields.body, body, 'not copied');
  assert.deepEqual(transfer, [fields.packed, body.buffer]);
  const back = unpackCleaned(fields);
  assert.equal(back.body, body);
  assert.equal(new TextDecoder().decode(back.meta), '{"changes":[]}');
});

test('a file not done carries its status and reason only', () => {
  const spares = new SpareBuffers(8 << 20, 64 << 10);
  const { fields, transfer } = packCleaned({ status: 'excluded', reason: 'not DICOM' }, spares);
  assert.deepEqual(fields, { status: 'excluded', reason: 'not DICOM' });
  assert.deepEqual(transfer, []);
  const { meta, body } = unpackCleaned(fields);
  assert.equal(meta.length + body.length, 0);
});
