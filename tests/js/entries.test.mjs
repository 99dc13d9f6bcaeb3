// Folders dropped on the page (www/app/entries.js): every file below a dropped folder is
// found, however deep, and across the batches in which a folder's reader hands entries over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { entriesToFiles } from '../../www/app/entries.js';

/** A file entry as the browser gives one (its "File" is its name here). */
function file(name) {
  return { isFile: true, isDirectory: false, name, file: (ok) => setTimeout(() => ok(name), 1) };
}

/** A folder entry whose reader gives its children `batch` at a time, then an empty batch. */
function folder(name, children, batch = 2) {
  return {
    isFile: false,
    isDirectory: true,
    name,
    createReader() {
      let at = 0;
      return {
        readEntries(ok) {
          const part = children.slice(at, at + batch);
          at += part.length;
          setTimeout(() => ok(part), 1);
        },
      };
    },
  };
}

test('every file below a dropped folder, in order, across reader batches', async () => {
  const tree = folder('study', [
    file('DICOMDIR'),
    folder('SER1', [file('IM1'), file('IM2'), file('IM3')]),
    folder('empty', []),
    folder('SER2', [folder('deeper', [file('IM4')], 1), file('IM5')], 1),
    file('notes.txt'),
  ], 3);
  const out = [];
  await entriesToFiles(tree, out);
  assert.deepEqual(out, ['DICOMDIR', 'IM1', 'IM2', 'IM3', 'IM4', 'IM5', 'notes.txt']);
});

test('what cannot be read is listed with why, and the walk goes on', async () => {
  const broken = { isFile: true, isDirectory: false, fullPath: '/f/gone.dcm', file: (_ok, fail) => fail(new Error('the file was removed')) };
  const locked = { isFile: false, isDirectory: true, fullPath: '/f/locked', createReader: () => ({ readEntries: (_ok, fail) => fail(new Error('not allowed')) }) };
  const { out, failed } = await entriesToFiles(folder('f', [broken, file('IM1'), locked, file('IM2')]), []);
  assert.deepEqual(out, ['IM1', 'IM2']);
  assert.deepEqual(failed, [
    { path: '/f/gone.dcm', reason: 'could not be read: the file was removed' },
    { path: '/f/locked', reason: 'could not be read: not allowed' },
  ]);
  // Neither a file nor a folder: nothing.
  assert.deepEqual((await entriesToFiles({ isFile: false, isDirectory: false }, [])).out, []);
});
