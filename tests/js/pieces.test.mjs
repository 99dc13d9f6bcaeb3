// The main worker's store of package pieces (www/worker/pieces.js): small pieces are gathered
// before they are kept, large ones kept at once, and the order never changes.
// Run with `node --test tests/js/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pieces } from '../../www/worker/pieces.js';

const bytes = (n, v) => new Uint8Array(n).fill(v);
const joined = (parts) => Buffer.concat(parts.map((p) => Buffer.from(p)));

test('small pieces are gathered, in order, and kept when the next one would not fit', () => {
  const kept = [];
  const p = new Pieces((b) => { const copy = b.slice(); kept.push(copy); return copy; }, 10);
  p.push(bytes(4, 1));
  p.push(bytes(4, 2));
  assert.equal(kept.length, 0, 'not yet kept');
  p.push(bytes(4, 3));
  assert.equal(kept.length, 1);
  assert.deepEqual([...kept[0]], [1, 1, 1, 1, 2, 2, 2, 2]);
  p.push(bytes(2, 4));
  p.push(new Uint8Array(0));
  const all = p.all();
  assert.equal(all.length, 2);
  assert.deepEqual([...joined(all)], [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4]);
  // Asked again: the same, nothing kept twice.
  assert.deepEqual(p.all(), all);
  assert.equal(kept.length, 2);
});

test('pieces are copied as they come: the caller may reuse or let go of its buffer', () => {
  const p = new Pieces((b) => b.slice(), 10);
  const reused = bytes(3, 7);
  p.push(reused);
  reused.fill(8);
  p.push(reused);
  reused.fill(0);
  assert.deepEqual([...joined(p.all())], [7, 7, 7, 8, 8, 8]);
  // The gathering buffer is used again after a piece is kept.
  p.push(bytes(6, 1));
  p.push(bytes(6, 2));
  assert.deepEqual([...joined(p.all())], [7, 7, 7, 8, 8, 8, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2]);
});

test('a piece larger than the gathering size is kept as it is (no copy)', () => {
  const big = bytes(64, 9);
  const p = new Pieces((b) => b, 10);
  p.push(big);
  const all = p.all();
  assert.equal(all.length, 1);
  assert.equal(all[0], big);
});
