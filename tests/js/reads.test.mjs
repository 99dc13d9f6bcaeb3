// The cleaners' reusable read buffers (www/worker/reads.js), with Node's Blob.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReadBuffers } from '../../www/worker/reads.js';

function bytesOf(n, seed) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

test('files are read whole and exactly, whatever their size', async () => {
  const buffers = new ReadBuffers(8 << 20);
  for (const n of [0, 1, 4095, 1 << 20, (1 << 20) + 3, 3_000_001]) {
    const want = bytesOf(n, n);
    const got = await buffers.read(new Blob([want]));
    assert.equal(got.length, n);
    assert.ok(Buffer.from(got).equals(Buffer.from(want)), `${n} bytes`);
    buffers.giveBack(got);
  }
});

test('a buffer given back is used for the next file that fits, within the limit kept', async () => {
  const buffers = new ReadBuffers(2 << 20);
  const a = await buffers.read(new Blob([bytesOf(1_500_000, 1)]));
  const b = await buffers.read(new Blob([bytesOf(200, 2)]));
  assert.equal(a.buffer.byteLength, 1536 << 10, 'sized in sixteenths of the next power of two');
  assert.equal(b.buffer.byteLength, 64 << 10, 'and in steps of 64 KiB at least');
  buffers.giveBack(a);
  buffers.giveBack(b);
  assert.equal(buffers.spareBytes, (1536 + 64) << 10);
  // The smallest spare that fits is taken; bytes are those of the new file.
  const c = await buffers.read(new Blob([bytesOf(900_000, 3)]));
  assert.equal(buffers.spareBytes, 64 << 10);
  assert.equal(c.buffer.byteLength, 1536 << 10);
  assert.ok(Buffer.from(c).equals(Buffer.from(bytesOf(900_000, 3))));
  // Beyond the limit, a buffer is left to the garbage collector.
  const big = await buffers.read(new Blob([bytesOf(2_500_000, 4)]));
  buffers.giveBack(big);
  assert.equal(buffers.spareBytes, 64 << 10);
  // Bytes that did not come from `read` are not taken in, nor is a buffer given back twice.
  buffers.giveBack(new Uint8Array(10));
  buffers.giveBack(c);
  buffers.giveBack(c);
  assert.equal(buffers.spareBytes, (1536 + 64) << 10);
});

test('where a Blob cannot be read into a given buffer, it is read as usual', async () => {
  const want = bytesOf(5000, 9);
  const blob = new Blob([want]);
  const plain = {
    size: blob.size,
    stream: () => new ReadableStream({ start(c) { c.enqueue(want); c.close(); } }),
    arrayBuffer: () => blob.arrayBuffer(),
  };
  const buffers = new ReadBuffers(8 << 20);
  const got = await buffers.read(plain);
  assert.ok(Buffer.from(got).equals(Buffer.from(want)));
  buffers.giveBack(got);
  assert.equal(buffers.spareBytes, 0, 'not a buffer of the pool');
});

test('a file shorter than it said is an error, not a short file', async () => {
  const blob = new Blob([bytesOf(3000, 5)]);
  const short = { size: 4000, stream: () => blob.stream() };
  await assert.rejects(new ReadBuffers(8 << 20).read(short), /ended after 3000 of its 4000 bytes/);
});
