// Asking the browser for a garbage collection every so many files (www/shared/collect.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Collector, COLLECT_EVERY } from '../../www/shared/collect.js';

test('a collection is asked for every so many files, and asking never fails', () => {
  const c = new Collector(3);
  for (let i = 0; i < 10; i++) c.fileDone();
  assert.equal(c.asked, 3);
  const d = new Collector();
  for (let i = 0; i < COLLECT_EVERY - 1; i++) d.fileDone();
  assert.equal(d.asked, 0);
  d.fileDone();
  assert.equal(d.asked, 1);
});
