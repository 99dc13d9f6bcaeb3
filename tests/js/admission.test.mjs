// How much of a batch is at work at once (www/worker/admission.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backlog, Slots, FILES_PER_WORKER } from '../../www/worker/admission.js';

test('the pool takes one file per worker whatever its size, then small files within the byte budget, in turn', async () => {
  const slots = new Slots(2);
  const let_in = [];
  const take = (name, bytes) => slots.take(bytes).then(() => let_in.push(name));
  // Two huge files: one per worker, whatever their size.
  await take('huge 1', 1 << 30);
  await take('huge 2', 1 << 30);
  // A third waits, and so does a small one behind it (files go in their order).
  const third = take('huge 3', 1 << 30);
  const small = take('small', 1 << 10);
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(let_in, ['huge 1', 'huge 2']);
  // One leaves: the third comes in; the small one with it only once the bytes allow.
  slots.give(1 << 30);
  await third;
  assert.deepEqual(let_in, ['huge 1', 'huge 2', 'huge 3']);
  slots.give(1 << 30);
  slots.give(1 << 30);
  await small;
  assert.deepEqual(let_in, ['huge 1', 'huge 2', 'huge 3', 'small']);
  // Never more than FILES_PER_WORKER a worker, however small: with the small file still in,
  // 15 more come in and the other 4 wait.
  for (let i = 0; i < 2 * FILES_PER_WORKER + 3; i += 1) slots.take(1);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(slots.inFlight, 2 * FILES_PER_WORKER);
  assert.equal(slots.waiters.length, 4);
});

test('the backlog gives its items back in order, and forgets those it gave', () => {
  const backlog = new Backlog();
  for (let i = 0; i < 5000; i += 1) backlog.push(i);
  const out = [];
  for (let item = backlog.shift(); item !== undefined; item = backlog.shift()) out.push(item);
  assert.deepEqual(out, Array.from({ length: 5000 }, (_, i) => i));
  assert.ok(backlog.items.length < 5000, 'the items given back are dropped');
  assert.equal(backlog.shift(), undefined);
});
