// Step 3, the results: the status line and the status bar (with progress and Cancel), the
// package as a tree of patients, studies and series with their pictures, and the outputs:
// the package, the re-identification key, the export log. Starting over is here too.

import { $, text, plural, saveBlob } from './dom.js';
import { store, on, emit, counts, nextToCheck, forgetBatch } from './store.js';
import { worker, requests, collector } from './bridge.js';
import { presetValue } from './settings.js';
import { toWorker } from '../shared/protocol.js';

const { rows, thumbs, progress } = store;

/** Progress of the current batch: files and bytes done, throughput and time left. */
function showProgress() {
  const line = $('progress-line');
  if (store.pending === 0 || progress.total === 0) { line.hidden = true; return; }
  line.hidden = false;
  const seconds = Math.max(0.001, (performance.now() - progress.start) / 1000);
  const mb = progress.bytes / 1e6;
  const perFile = seconds / Math.max(1, progress.files);
  const left = Math.round(perFile * store.pending);
  $('progress').max = progress.total;
  $('progress').value = progress.files;
  $('progress-text').textContent = `${progress.files} of ${progress.total} files · ${mb.toFixed(1)} MB · ${(mb / seconds).toFixed(1)} MB/s`
    + (progress.files > 0 ? ` · about ${left} s left` : '');
}

// The package as a tree: patient → study → series, from the de-identified values only.
let treePending = false;
// Series thumbnails: one image of each series as it goes into the package, asked of the
// worker one at a time so that they never hold up the files.
let thumbBusy = false;
function wantThumbnail() {
  if (thumbBusy) return;
  for (const [id, { report }] of rows) {
    if (!report || report.status !== 'done' || !report.after || !report.after.hasPixels) continue;
    const key = report.after.seriesUid;
    if (thumbs.has(key)) continue;
    thumbs.set(key, 'pending');
    thumbBusy = true;
    requests.request('thumbnail', { id, key }, { signal: store.batchAsking.signal }).then(
      (answer) => thumbnailMade(key, answer.image),
      (e) => {
        thumbBusy = false;
        if (e.name !== 'AbortError') thumbnailMade(key, null);
      },
    );
    return;
  }
}
/** The picture of the series `key` arrived (`image`), or there is none. */
function thumbnailMade(key, image) {
  thumbBusy = false;
  if (image && thumbs.get(key) === 'pending') {
    const { width, height, rgba } = image;
    const full = document.createElement('canvas');
    full.width = width;
    full.height = height;
    full.getContext('2d').putImageData(new ImageData(rgba, width, height), 0, 0);
    const scale = 64 / Math.max(width, height);
    const thumb = document.createElement('canvas');
    thumb.width = Math.max(1, Math.round(width * scale));
    thumb.height = Math.max(1, Math.round(height * scale));
    thumb.className = 'thumb';
    thumb.setAttribute('role', 'img');
    thumb.setAttribute('aria-label', 'A picture of the series as it goes into the package');
    const ctx = thumb.getContext('2d');
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(full, 0, 0, thumb.width, thumb.height);
    thumbs.set(key, thumb);
  } else if (!image) {
    thumbs.set(key, 'none');
  }
  if (!treePending) { treePending = true; requestAnimationFrame(renderTree); }
  emit('thumbnail');
}

function renderTree() {
  treePending = false;
  wantThumbnail();
  const patients = new Map();
  for (const { report } of rows.values()) {
    if (!report || report.status !== 'done' || !report.after) continue;
    const a = report.after;
    const patient = patients.get(a.patientId) || new Map();
    patients.set(a.patientId, patient);
    const study = patient.get(a.studyUid) || { date: a.studyDate, description: a.studyDescription, series: new Map() };
    patient.set(a.studyUid, study);
    const series = study.series.get(a.seriesUid) || { uid: a.seriesUid, modality: a.modality, number: a.seriesNumber, description: a.seriesDescription, files: 0, chosen: 0 };
    series.files += 1;
    if (!report.leftOutByChoice) series.chosen += 1;
    study.series.set(a.seriesUid, series);
  }
  const root = document.createElement('ul');
  for (const [id, studies] of patients) {
    const p = text('li', `${id || 'no patient ID'}: ${plural(studies.size, 'study')}`);
    const ul = document.createElement('ul');
    for (const study of studies.values()) {
      const s = text('li', [study.date ? `study of ${study.date}` : 'study (date removed)', study.description].filter(Boolean).join(' · '));
      const sl = document.createElement('ul');
      for (const se of study.series.values()) {
        const words = [se.modality, se.number && `series ${se.number}`, se.description, plural(se.files, 'file')].filter(Boolean).join(' · ');
        const item = text('li', words);
        const thumb = thumbs.get(se.uid);
        if (thumb instanceof HTMLCanvasElement) item.prepend(thumb);
        // The whole series in the package, or out of it (a file at a time: in its row).
        const choice = document.createElement('label');
        choice.className = 'choice';
        const box = document.createElement('input');
        box.type = 'checkbox';
        box.checked = se.chosen > 0;
        box.indeterminate = se.chosen > 0 && se.chosen < se.files;
        box.setAttribute('aria-label', `In the package: ${words}`);
        box.addEventListener('change', () => {
          for (const row of rows.values()) {
            if (row.report && row.report.after && row.report.after.seriesUid === se.uid) row.inPackage = box.checked;
          }
          emit('choice');
        });
        choice.append(box, se.chosen < se.files ? ` In the package: ${se.chosen} of ${se.files}` : ' In the package');
        item.append(' ', choice);
        sl.append(item);
      }
      s.append(sl);
      ul.append(s);
    }
    p.append(ul);
    root.append(p);
  }
  $('study-tree').replaceChildren(...(patients.size ? [text('h3', 'In the package'), root] : []));
}

/** Say where the batch is (and, with `tree`, redraw the study tree). */
function updateStatus(tree = true) {
  if (tree && !treePending) { treePending = true; requestAnimationFrame(renderTree); }
  showProgress();
  const { done, excluded, skipped, warned, cancelled, unchecked, indexes, chosenOut } = counts();
  const status = $('status');
  if (store.workerError) {
    status.textContent = `Error: ${store.workerError}`;
  } else if (rows.size === 0) {
    status.textContent = 'No files yet.';
  } else if (store.pending > 0) {
    status.textContent = `Working: ${rows.size - store.pending} of ${plural(rows.size, 'file')} checked…`;
  } else {
    let s = `${plural(done, 'file')} de-identified, ${excluded} excluded`;
    if (skipped) s += `, ${skipped} skipped`;
    if (cancelled) s += `, ${cancelled} cancelled`;
    if (chosenOut) s += `, ${chosenOut} left out of the package by your choice`;
    if (warned) s += `. ${plural(warned, 'image')} to check for burned-in text`;
    if (unchecked) s += ` (listed first): look at each with "Show image" and tick "I looked at this image" to download`;
    // A disc's DICOMDIR added by itself: it names the study's files but holds none of them,
    // and a page can read only what it is given.
    if (indexes && done === 0) s += '. A DICOMDIR only lists the files of a study: add the folder (or disc) that holds it';
    status.textContent = s;
  }
  $('download-button').disabled = store.pending > 0 || done - chosenOut === 0 || unchecked > 0;
  $('cancel-button').disabled = store.pending === 0;
  $('reid-button').disabled = store.pending > 0 || done === 0;
  showNextToCheck();
  showStatusBar();
}

// The status bar: the same status, progress and Cancel, at the foot of the window whenever
// the results' own status line is out of sight (the user is choosing settings or looking
// at the top of the page while a batch runs), with a way to the results.
let statusInView = true;
new IntersectionObserver((entries) => {
  statusInView = entries[entries.length - 1].isIntersecting;
  showStatusBar();
}).observe($('status'));
function showStatusBar() {
  const bar = $('status-bar');
  bar.hidden = statusInView || rows.size === 0;
  if (bar.hidden) return;
  $('status-bar-text').textContent = $('status').textContent;
  const shown = $('status-bar-progress');
  shown.hidden = $('progress-line').hidden;
  shown.max = $('progress').max;
  shown.value = $('progress').value;
  $('status-bar-cancel').disabled = store.pending === 0;
}
$('status-bar-cancel').addEventListener('click', () => $('cancel-button').click());

// ---- outputs --------------------------------------------------------------------------


// Where the browser can write to a file the user picks (File System Access), the package is
// streamed to it; otherwise it comes as a normal download.
$('download-button').addEventListener('click', async () => {
  collector.ask(); // (see the worker's 'package')
  const notes = $('case-notes').value;
  const password = $('package-protect').checked ? $('package-password').value : '';
  if ($('package-protect').checked && [...password].length < 8) {
    $('status').textContent = 'Choose a password of at least 8 characters for the package, or untick "Protect the package with a password".';
    $('package-password').focus();
    return;
  }
  const ask = { notes, password, preset: presetValue() };
  if (typeof window.showSaveFilePicker !== 'function') {
    toWorker.post(worker, 'package', ask);
    return;
  }
  let handle;
  try {
    handle = await window.showSaveFilePicker({
      suggestedName: packageName(),
      types: [{ description: 'ZIP archive', accept: { 'application/zip': ['.zip'] } }],
    });
  } catch (e) {
    if (e && e.name === 'AbortError') return; // the user closed the dialog
    toWorker.post(worker, 'package', ask); // no picker after all: a normal download
    return;
  }
  $('status').textContent = `Writing ${handle.name}…`;
  toWorker.post(worker, 'package', { ...ask, handle });
});
$('package-protect').addEventListener('change', () => {
  $('package-password-row').hidden = !$('package-protect').checked;
  if ($('package-protect').checked) $('package-password').focus();
});
export function packageSaved(msg) {
  updateStatus();
  const status = $('status');
  status.textContent = msg.error
    ? `The package could not be written to ${msg.name}: ${msg.error}`
    : `${status.textContent} Saved: ${msg.name} (${(msg.bytes / 1e6).toFixed(1)} MB).`;
  if (!msg.error) store.unsaved = false;
  if (msg.logLine) logExport(msg.logLine);
}

// Leaving (or reloading) the page with files cleaned since the last download loses them: the
// browser asks first.
window.addEventListener('beforeunload', (ev) => {
  if (!store.unsaved) return;
  ev.preventDefault();
  ev.returnValue = '';
});

// ---- export log: a line per package made, kept in this browser (no patient data) -------

const EXPORT_LOG = 'obscura-export-log';
function exportLog() {
  return localStorage.getItem(EXPORT_LOG) || '';
}
function logExport(line) {
  try {
    localStorage.setItem(EXPORT_LOG, `${exportLog()}${line}\n`);
  } catch {
    // Storage full or refused: the package is made all the same.
  }
  showExportLog();
}
function showExportLog() {
  const n = exportLog().split('\n').filter(Boolean).length;
  $('export-log-count').textContent = n === 1 ? '1 package so far' : `${n} packages so far`;
  $('export-log-button').disabled = n === 0;
}
$('export-log-button').addEventListener('click', () => {
  saveBlob(new Blob([exportLog()], { type: 'application/x-ndjson' }), 'obscura-export-log.jsonl');
});
showExportLog();
// Files not started yet are dropped; the package keeps the ones already done.
$('cancel-button').addEventListener('click', () => toWorker.post(worker, 'cancel'));
$('reid-button').addEventListener('click', () => { $('reid-panel').hidden = false; $('reid-passphrase').focus(); });
$('reid-export').addEventListener('click', () => {
  const passphrase = $('reid-passphrase').value;
  if (passphrase.length < 8) { $('status').textContent = 'Choose a passphrase of at least 8 characters for the key file.'; return; }
  toWorker.post(worker, 'reid', { passphrase });
});
$('reset-button').addEventListener('click', () => {
  forgetBatch();
  $('reid-panel').hidden = true;
  updateStatus();
});

/** The download's name: after the pseudonymised case when the package holds one patient. */
function packageName() {
  const ids = new Set();
  for (const { report } of rows.values()) if (report && report.status === 'done' && report.after) ids.add(report.after.patientId);
  const [only] = ids;
  const safe = ids.size === 1 && only ? only.replace(/[^A-Za-z0-9_-]/g, '') : '';
  return safe ? `${safe}-case.zip` : 'obscura-package.zip';
}

/** Offer the next image to look at, from the status line and the status bar. */
function showNextToCheck() {
  const next = nextToCheck();
  const label = next && `Look at the ${next.left === 1 ? 'image' : `${next.left} images`} to check`;
  for (const id of ['next-to-check', 'status-bar-next']) {
    $(id).hidden = !next || store.pending > 0;
    if (next) $(id).textContent = label;
  }
}
for (const id of ['next-to-check', 'status-bar-next']) {
  $(id).addEventListener('click', () => {
    const next = nextToCheck();
    if (next) emit('open-image', next.id);
  });
}

on('status', (tree) => updateStatus(tree));

// The package came whole (no file was picked to stream it to): it is downloaded.
export function packageMade(msg) {
  saveBlob(msg.blob, packageName());
  store.unsaved = false;
  if (msg.logLine) logExport(msg.logLine);
}

/** The re-identification key came: it is downloaded. */
export function reidMade(msg) {
  saveBlob(new Blob([msg.text], { type: 'application/json' }), 'obscura-reidentification-key.json');
  $('reid-panel').hidden = true;
}

/** The worker failed. */
export function workerFailed(message) {
  store.workerError = message;
  updateStatus();
}
