// What the user decides while looking at images (www/worker/review.js): the boxes they draw
// or reject, as the core takes them, and the key images of the case page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserBoxes, keyImagesWanted } from '../../www/worker/review.js';

const key = { sopInstanceUid: '2.25.1', seriesInstanceUid: '2.25.2', rows: 480, columns: 640 };

test('boxes drawn become region rules for the image, its series or its size, in whole pixels', () => {
  const boxes = new UserBoxes();
  assert.equal(boxes.toJson(), undefined, 'no boxes: no setting');
  boxes.add(key, 'image', { x: 10.4, y: -3, w: 20.6, h: 5 });
  boxes.add(key, 'series', { x: 1, y: 2, w: 3, h: 4 });
  boxes.add(key, 'size', { x: 5, y: 6, w: 7, h: 8 });
  assert.deepEqual(JSON.parse(boxes.toJson()), {
    rules: [
      { name: 'box drawn on the page (this image)', regions: [{ x: 10, y: 0, w: 21, h: 5 }], sop_instance_uid: '2.25.1' },
      { name: 'box drawn on the page (its series)', regions: [{ x: 1, y: 2, w: 3, h: 4 }], series_instance_uid: '2.25.2' },
      { name: 'box drawn on the page (images of this size)', regions: [{ x: 5, y: 6, w: 7, h: 8 }], rows: 480, columns: 640 },
    ],
    rejected: [],
  });
  assert.deepEqual(boxes.drawn().map((b) => [b.name, b.x]), [
    ['box drawn on the page (this image)', 10], ['box drawn on the page (its series)', 1], ['box drawn on the page (images of this size)', 5],
  ]);
  assert.throws(() => boxes.add({ sopInstanceUid: '2.25.9' }, 'size', { x: 0, y: 0, w: 1, h: 1 }), /no size/);
  boxes.remove(1);
  assert.deepEqual(boxes.drawn().map((b) => b.x), [10, 5]);
  assert.throws(() => boxes.remove(5), /no such box/);
});

test('a detected box said not to be text is left visible in that image only, and can be taken back', () => {
  const boxes = new UserBoxes();
  boxes.setDetection(key, { x: 1.2, y: 2, w: 3, h: 4 }, true);
  boxes.setDetection(key, { x: 1, y: 2, w: 3, h: 4 }, true); // the same box again: once
  assert.deepEqual(JSON.parse(boxes.toJson()).rejected, [{ sop_instance_uid: '2.25.1', x: 1, y: 2, w: 3, h: 4 }]);
  boxes.setDetection(key, { x: 1, y: 2, w: 3, h: 4 }, false);
  assert.equal(boxes.toJson(), undefined);
});

test('a change that fails is undone', () => {
  const boxes = new UserBoxes();
  boxes.add(key, 'image', { x: 1, y: 1, w: 1, h: 1 });
  const saved = boxes.save();
  boxes.add(key, 'series', { x: 2, y: 2, w: 2, h: 2 });
  boxes.setDetection(key, { x: 3, y: 3, w: 3, h: 3 }, true);
  boxes.restore(saved);
  assert.deepEqual(boxes.drawn().map((b) => b.x), [1]);
  assert.equal(JSON.parse(boxes.toJson()).rejected.length, 0);
  boxes.clear();
  assert.equal(boxes.toJson(), undefined);
});

test('key images: the ones chosen, and the middle image of every series where none was chosen', () => {
  const pathOf = new Map([[1, 'P1/ST1/SE1/IM2.dcm'], [2, 'P1/ST1/SE2/IM1.dcm']]);
  const choices = new Map([[1, { frame: 4, window: { center: 40, width: 400 } }], [2, { frame: null, window: null }], [3, { frame: 0 }]]);
  const plan = [['images/ST1-SE1-IM1.png', 'P1/ST1/SE1/IM1.dcm'], ['images/ST1-SE3-IM5.png', 'P1/ST1/SE3/IM5.dcm']];
  assert.deepEqual(keyImagesWanted(choices, pathOf, plan), [
    { name: 'images/ST1-SE1-IM2.dcm-frame5.png', path: 'P1/ST1/SE1/IM2.dcm', frame: 4, window: { center: 40, width: 400 } },
    { name: 'images/ST1-SE2-IM1.dcm.png', path: 'P1/ST1/SE2/IM1.dcm', frame: undefined, window: null },
    // Series 1 has a chosen image: not its middle one; file 3 is not in the package.
    { name: 'images/ST1-SE3-IM5.png', path: 'P1/ST1/SE3/IM5.dcm' },
  ]);
  assert.deepEqual(keyImagesWanted(new Map(), pathOf, plan).map((w) => w.name), plan.map(([name]) => name));
});

test('the boxes drawn are listed for the image they apply to, each with its place among all', () => {
  const boxes = new UserBoxes();
  const a = { sopInstanceUid: '2.25.1', seriesInstanceUid: '2.25.10', rows: 480, columns: 640 };
  const b = { sopInstanceUid: '2.25.2', seriesInstanceUid: '2.25.10', rows: 480, columns: 640 };
  const c = { sopInstanceUid: '2.25.3', seriesInstanceUid: '2.25.20', rows: 512, columns: 512 };
  boxes.add(a, 'image', { x: 1, y: 1, w: 5, h: 5 });
  boxes.add(c, 'image', { x: 2, y: 2, w: 5, h: 5 });
  boxes.add(b, 'series', { x: 3, y: 3, w: 5, h: 5 });
  boxes.add(c, 'size', { x: 4, y: 4, w: 5, h: 5 });
  const on = (key) => boxes.drawn(key).map((d) => [d.index, d.x]);
  assert.deepEqual(on(a), [[0, 1], [2, 3]], 'its own box and its series\' box');
  assert.deepEqual(on(b), [[2, 3]], 'not the box drawn on another image of its series');
  assert.deepEqual(on(c), [[1, 2], [3, 4]], 'its own box and the one for its size');
  assert.deepEqual(boxes.drawn().map((d) => d.index), [0, 1, 2, 3], 'without a key, all');
  // Taking one back by its index leaves the others as they were.
  boxes.remove(on(c)[0][0]);
  assert.deepEqual(on(a), [[0, 1], [1, 3]]);
  assert.deepEqual(on(c), [[2, 4]]);
});
