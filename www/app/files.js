// Step 1 and the file list: files added (chosen, dropped anywhere on the page, or the sample
// study) go to the worker; each file's row shows its result as it comes.

import { $, text, describe } from './dom.js';
import { entriesToFiles } from './entries.js';
import { store, on, emit } from './store.js';
import { worker, requests, collector } from './bridge.js';
import { ensureSettingsSent } from './settings.js';
import { startCounting } from './privacy.js';
import { toWorker } from '../shared/protocol.js';

const { rows, progress } = store;
// The file list shows a page of rows at a time: a study of thousands of files stays light
// (the rest are kept as data only). Files to look at come first, then those left out. (Each
// row shown costs the tab about 50 KB, with its layout and painting: 100 rather than 200 a
// page took 5 MiB less on a large study.)
const PAGE_SIZE = 100;
let listPage = 0;
let shownIds = [];
let listPending = false;

// What results change on screen is drawn at most a few times a second once the list is long:
// laying out the list after every file would take the page's whole time on a large study.
// Counts and progress are redrawn every REFRESH_MS; rows of the list and the study tree, the
// costly part, every ROWS_MS while files are still coming. A short list, and the last result
// of a batch, are shown at once.
const REFRESH_MS = 250;
const ROWS_MS = 1000;
const SHORT_LIST = 64;
const dirtyRows = new Set();
let refreshTimer = 0;
let rowsDrawnAt = -Infinity;
function scheduleRefresh() {
  if (store.pending === 0 || rows.size <= SHORT_LIST) { refresh(); return; }
  if (!refreshTimer) refreshTimer = setTimeout(refresh, REFRESH_MS);
}
function refresh() {
  clearTimeout(refreshTimer);
  refreshTimer = 0;
  const now = performance.now();
  const all = store.pending === 0 || rows.size <= SHORT_LIST || now - rowsDrawnAt >= ROWS_MS;
  if (all) {
    rowsDrawnAt = now;
    for (const id of dirtyRows) {
      const row = rows.get(id);
      if (row && row.tr && row.report) drawRow(id, row);
    }
    dirtyRows.clear();
  } else if (dirtyRows.size) {
    refreshTimer = setTimeout(refresh, REFRESH_MS);
  }
  emit('status', all);
}

function addRow(id, name) {
  if (store.pending === 0) Object.assign(progress, { files: 0, bytes: 0, total: 0, start: performance.now() });
  progress.total += 1;
  rows.set(id, { name, report: null, tr: null });
  store.pending += 1;
  scheduleList();
  scheduleRefresh();
}

function showResult(id, report, bytes) {
  const row = rows.get(id);
  if (!row) return;
  // A file is counted once; results posted again (after a box was drawn) only redraw it.
  if (!row.report) {
    store.pending -= 1;
    progress.files += 1;
    progress.bytes += bytes || 0;
  }
  const before = listRank(row);
  row.report = report;
  if ((report.warnings || []).length) row.flagged = true;
  if (listRank(row) !== before) scheduleList();
  dirtyRows.add(id);
  scheduleRefresh();
}

/** Where a row goes in the list: images to look at, then files left out, then the rest. */
function listRank(row) {
  if (row.flagged) return 0;
  const status = row.report && row.report.status;
  return status === 'excluded' || status === 'skipped' ? 1 : 2;
}

function scheduleList() {
  if (!listPending) { listPending = true; requestAnimationFrame(renderList); }
}

/** Put the rows of the current page in the table (made when they come into view, dropped
 * when they leave it), and say which page it is. */
function renderList() {
  listPending = false;
  const ranked = [[], [], []];
  for (const [id, row] of rows) ranked[listRank(row)].push(id);
  const all = ranked.flat();
  const pages = Math.max(1, Math.ceil(all.length / PAGE_SIZE));
  listPage = Math.min(listPage, pages - 1);
  const ids = all.slice(listPage * PAGE_SIZE, (listPage + 1) * PAGE_SIZE);
  const pager = $('file-pager');
  pager.hidden = pages === 1;
  if (pages > 1) {
    $('file-page').textContent = `Files ${listPage * PAGE_SIZE + 1}–${listPage * PAGE_SIZE + ids.length} of ${all.length}`
      + (ranked[0].length || ranked[1].length ? ' (images to look at and files left out first)' : '');
    $('file-prev').disabled = listPage === 0;
    $('file-next').disabled = listPage >= pages - 1;
  }
  if (ids.length === shownIds.length && ids.every((id, i) => id === shownIds[i])) return;
  const keep = new Set(ids);
  for (const id of shownIds) {
    const row = rows.get(id);
    if (row && !keep.has(id)) row.tr = null;
  }
  for (const id of ids) {
    const row = rows.get(id);
    if (row.tr) continue;
    row.tr = document.createElement('tr');
    row.tr.append(text('td', row.name, 'name'), text('td', '', 'before'), text('td', '', 'after'), text('td', 'waiting', 'state'));
    if (row.report) drawRow(id, row);
  }
  $('file-list').replaceChildren(...ids.map((id) => rows.get(id).tr));
  shownIds = ids;
}

function turnListPage(step) {
  listPage = Math.max(0, listPage + step);
  scheduleList();
}
$('file-prev').addEventListener('click', () => turnListPage(-1));
$('file-next').addEventListener('click', () => turnListPage(1));

/** Fill a row of the table from its file's result. */
function drawRow(id, row) {
  const { report } = row;
  const [, before, after, state] = row.tr.children;
  before.textContent = describe(report.before);
  after.textContent = describe(report.after);
  if (report.status === 'done' && report.packagePath) after.append(text('p', `In the package: ${report.packagePath}`, 'package-path'));
  state.textContent = '';
  row.tr.className = report.status;
  if (report.status === 'done') {
    state.append(text('span', 'de-identified', 'badge done'));
    // In the package or not, by the user's choice (every file starts in it).
    const choice = document.createElement('label');
    choice.className = 'choice';
    const inPackage = document.createElement('input');
    inPackage.type = 'checkbox';
    inPackage.checked = !report.leftOutByChoice;
    inPackage.setAttribute('aria-label', `In the package: ${row.name}`);
    inPackage.addEventListener('change', () => { row.inPackage = inPackage.checked; emit('choice'); });
    choice.append(inPackage, ' In the package');
    state.append(choice);
    if (report.leftOutByChoice) state.append(text('p', 'Left out of the package by your choice.', 'reason warn'));
    if (report.after && report.after.hasPixels) {
      const show = text('button', 'Show image', 'show-image');
      show.type = 'button';
      show.setAttribute('aria-label', `Show image: ${row.name}`);
      show.addEventListener('click', () => emit('open-image', id));
      state.append(show);
    }
    for (const w of report.warnings || []) {
      state.append(text('span', 'check image', 'badge skipped'), text('p', w, 'reason warn'));
    }
    if ((report.warnings || []).length) {
      // At-risk images block the download until someone has looked.
      const label = document.createElement('label');
      label.className = 'looked';
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = Boolean(row.checked);
      // Only once the image was shown: a box ticked without looking protects no one.
      box.disabled = !row.seen;
      box.addEventListener('change', () => { row.checked = box.checked; emit('status'); });
      label.append(box, ' I looked at this image');
      state.append(label);
      if (!row.seen) state.append(text('p', 'Open it with "Show image" first.', 'hint looked-hint'));
    }
    const details = document.createElement('details');
    details.append(text('summary', `What changed (${report.changeCount})`));
    // The list is asked for when first opened (the worker de-identifies the file again): a
    // study of thousands of files never has all their lists on the page.
    details.addEventListener('toggle', () => {
      if (!details.open || details.dataset.asked) return;
      details.dataset.asked = 'yes';
      details.append(text('p', 'Listing the changes…', 'hint'));
      requests.request('details', { id }, { signal: store.batchAsking.signal }).then(
        (answer) => showDetails(details, answer.details),
        (e) => {
          if (e.name !== 'AbortError') details.lastChild.replaceWith(text('p', `The changes could not be listed: ${e.message}`, 'reason'));
        },
      );
    });
    state.append(details);
  } else if (report.status === 'cancelled') {
    state.append(text('span', 'cancelled', 'badge archive'));
  } else if (report.status === 'archive') {
    state.append(text('span', 'archive', 'badge archive'), text('p', report.reason, 'hint'));
  } else {
    state.append(text('span', report.status === 'skipped' ? 'skipped' : 'excluded', `badge ${report.status}`),
      text('p', report.reason, 'reason'));
  }
}


/** The list of changes of a file arrived: it goes in the element that asked for it. */
function showDetails(details, { changes, review }) {
  const list = document.createElement('ul');
  for (const r of review) {
    list.append(text('li', `${r.name}: “${r.before}” → ${r.after ? `“${r.after}”` : 'removed'}`));
  }
  const reviewed = new Set(review.map((r) => r.path));
  for (const c of changes.filter((c) => !reviewed.has(c.path))) {
    list.append(text('li', `${c.name}: ${c.action} (${c.reason})`));
  }
  details.lastChild.replaceWith(list, text('p', 'Original values are shown only here, on this computer; they are not in the package.', 'hint'));
}


/** Files handed to the worker per message: the first ones are at work while the rest are
 * still being handed over (the first message is smaller, to start sooner). */
const FILES_PER_MESSAGE = 32;
const FILES_IN_FIRST_MESSAGE = 8;

function addFiles(files) {
  const list = [...files];
  if (list.length === 0) return;
  ensureSettingsSent();
  startCounting();
  for (let i = 0; i < list.length;) {
    const chunk = list.slice(i, i + (i === 0 ? FILES_IN_FIRST_MESSAGE : FILES_PER_MESSAGE));
    i += chunk.length;
    // Chromium copies a File to the worker much faster once its size is known: asking for
    // it first takes about a fifth of the time the copy would take to learn it (300 files:
    // 70 instead of 370 ms of the page's thread).
    for (const f of chunk) void f.size;
    // (`last`: the worker's first pass reads every header of the addition before cleaning.)
    toWorker.post(worker, 'files', { files: chunk, last: i >= list.length, countNetwork: true });
  }
}

$('file-input').addEventListener('change', (ev) => { addFiles(ev.target.files); ev.target.value = ''; });
$('folder-input').addEventListener('change', (ev) => { addFiles(ev.target.files); ev.target.value = ''; });
$('sample-button').addEventListener('click', () => { ensureSettingsSent(); startCounting(); toWorker.post(worker, 'sample', { countNetwork: true }); });

// Folders dropped on the page are walked recursively (./entries.js). Entries that cannot be
// read get rows of their own, numbered downwards from -1 (the worker's files count up from 1).
let unreadable = 0;
const zone = $('dropzone');
// Files can be dropped anywhere on the page, except on a file field of its own (the rules
// file, the pseudonym list), which takes them itself.
const droppedFiles = (ev) => ev.dataTransfer && [...ev.dataTransfer.types].includes('Files')
  && !(ev.target instanceof HTMLInputElement && ev.target.type === 'file');
document.addEventListener('dragover', (ev) => {
  if (!droppedFiles(ev)) return;
  ev.preventDefault();
  zone.classList.add('over');
});
document.addEventListener('dragleave', (ev) => { if (!ev.relatedTarget) zone.classList.remove('over'); });
document.addEventListener('drop', async (ev) => {
  if (!droppedFiles(ev)) return;
  ev.preventDefault();
  zone.classList.remove('over');
  const entries = [...ev.dataTransfer.items].map((i) => i.webkitGetAsEntry && i.webkitGetAsEntry()).filter(Boolean);
  if (entries.length === 0) { addFiles(ev.dataTransfer.files); return; }
  const files = [];
  const failed = [];
  for (const e of entries) await entriesToFiles(e, files, failed);
  // What could not be read is listed, with why; the rest goes in.
  for (const { path, reason } of failed) {
    unreadable -= 1;
    addRow(unreadable, path.replace(/^\//, ''));
    showResult(unreadable, { status: 'excluded', reason });
  }
  addFiles(files);
});

// The values files of a series have in common (names, dates, UIDs of the study and series),
// held once for all their reports: a study of thousands of files would otherwise hold
// thousands of copies of each. What the page never uses of a file (its SOP Instance UID) is
// not kept. Its path in the package is: the row shows it, so that the
// user can tell which of their files each package file is (on the page only: the package
// never names the user's files).
const commonValues = new Map();
const COMMON_FIELDS = ['patientName', 'patientId', 'studyDate', 'studyTime', 'studyId', 'accessionNumber',
  'studyDescription', 'seriesDescription', 'modality', 'studyUid', 'seriesUid', 'seriesNumber'];
function shareValues(report) {
  const kept = (side) => {
    if (!side) return side;
    // (The Instance Number, for the choice of what goes into the package.)
    const summary = { hasPixels: Boolean(side.hasPixels), instanceNumber: side.instanceNumber || '' };
    for (const field of COMMON_FIELDS) {
      const v = side[field];
      if (typeof v !== 'string') {
        summary[field] = v;
        continue;
      }
      const held = commonValues.get(v);
      if (held === undefined) commonValues.set(v, v);
      summary[field] = held === undefined ? v : held;
    }
    return summary;
  };
  report.before = kept(report.before);
  report.after = kept(report.after);
  return report;
}


/** The worker took a file in (`id`, `name`). */
export function added(msg) {
  addRow(msg.id, msg.name);
}

/** A file's result came. */
export function resultCame(msg) {
  store.unsaved = true;
  showResult(msg.id, msg.report || shareValues(JSON.parse(msg.reportJson)), msg.bytes);
  collector.fileDone();
}

// Every file was cleaned again: every row is drawn again.
on('redone', () => {
  for (const id of rows.keys()) dirtyRows.add(id);
  scheduleList();
});

on('reset', () => {
  commonValues.clear();
  shownIds = [];
  listPage = 0;
  scheduleList();
});
