// The page: collects files and settings, sends them to the worker, and draws what comes back.
// Nothing here parses DICOM or waits on heavy work, so the page never blocks.

import { entriesToFiles } from './entries.js';
import { Collector } from '../shared/collect.js';
import { toWorker, fromWorker, Requests } from '../shared/protocol.js';

const $ = (id) => document.getElementById(id);
$('key-form')?.addEventListener('submit', (ev) => ev.preventDefault());
// Trusted Types (required by the page's CSP where the browser supports them): the only script
// URL the page ever makes is its own worker, on its own origin.
const scriptPolicy = globalThis.trustedTypes?.createPolicy('obscura', {
  createScriptURL(url) {
    const u = new URL(url, location.href);
    if (u.origin !== location.origin) throw new Error(`refused to load a script from ${u.origin}`);
    return u.href;
  },
});
const workerUrl = new URL('../worker/worker.js', import.meta.url).href;

// Offline after the first visit: a service worker keeps the page's own files.
if ('serviceWorker' in navigator) {
  const swUrl = new URL('../sw.js', import.meta.url).href;
  navigator.serviceWorker.register(scriptPolicy ? scriptPolicy.createScriptURL(swUrl) : swUrl)
    .catch(() => { /* the page works without it, online */ });
}
const worker = new Worker(scriptPolicy ? scriptPolicy.createScriptURL(workerUrl) : workerUrl, { type: 'module' });
/** Requests to the worker whose answers the page awaits (see ../shared/protocol.js). */
const requests = new Requests(toWorker, worker);
/** Cancels the requests about the batch's files (lists of changes, thumbnails) when the user
 * starts over: their answers, when they come, are dropped. */
let batchAsking = new AbortController();

const rows = new Map();   // id → { name, report, flagged, checked, tr (while on the list's page) }
// The file list shows a page of rows at a time: a study of thousands of files stays light
// (the rest are kept as data only). Files to look at come first, then those left out. (Each
// row shown costs the tab about 50 KB, with its layout and painting: 100 rather than 200 a
// page took 5 MiB less on a large study.)
const PAGE_SIZE = 100;
let listPage = 0;
let shownIds = [];
let listPending = false;
let settingsSent = false;
let pseudonymsCsv = null;
let pixelRules = null;
let pending = 0;
let workerError = null;

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
  if (pending === 0 || rows.size <= SHORT_LIST) { refresh(); return; }
  if (!refreshTimer) refreshTimer = setTimeout(refresh, REFRESH_MS);
}
function refresh() {
  clearTimeout(refreshTimer);
  refreshTimer = 0;
  const now = performance.now();
  const all = pending === 0 || rows.size <= SHORT_LIST || now - rowsDrawnAt >= ROWS_MS;
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
  updateStatus(all);
}

function text(tag, content, cls) {
  const el = document.createElement(tag);
  if (content !== undefined) el.textContent = content;
  if (cls) el.className = cls;
  return el;
}

function describe(summary) {
  if (!summary) return '';
  const lines = [
    [summary.patientName, summary.patientId].filter(Boolean).join(' · '),
    [summary.studyDate, summary.studyDescription].filter(Boolean).join(' · '),
    [summary.modality, summary.seriesNumber && `series ${summary.seriesNumber}`, summary.seriesDescription]
      .filter(Boolean).join(' · '),
  ];
  return lines.filter(Boolean).join('\n');
}

// ---- settings -------------------------------------------------------------------------

function currentSettings() {
  const options = [...document.querySelectorAll('#options input[type=checkbox]:checked')].map((c) => c.value);
  const offset = $('date-offset').value.trim();
  return {
    options,
    passphrase: $('passphrase').value,
    salt: $('project-salt').value,
    dateOffsetDays: offset === '' ? null : Number.parseInt(offset, 10),
    pseudonymsCsv,
    acceptBurnedIn: $('accept-burned-in').checked,
    includeDocuments: $('include-documents').checked,
    hipaa: chosenHipaa() || undefined,
    detectText: $('detect-text').checked,
    keepAnnotations: $('detect-text').checked && $('keep-annotations').checked,
    pixelRules,
    only: packageChoice(),
  };
}

// What goes into the package (HIPAA's minimum necessary): every file starts chosen; the user
// unticks a file ("In the package", in its row) or a series (in "In the package" above the
// list). The choice goes to the core as the CLI's `--only` takes it (package/selection.rs):
// the series by their UIDs in the package and the images by Instance Number, so the same
// choice gives the same package.
/** The choice as `--only`'s SPEC ('' for everything), each series by its Series Instance UID
 * in the package (two studies may both have a series 1). */
function packageChoice() {
  const series = new Map(); // new Series Instance UID → { all: true|false, chosen: [Instance Number] }
  let everything = true;
  for (const row of rows.values()) {
    const after = row.report && row.report.status === 'done' && row.report.after;
    if (!after) continue;
    const chosen = row.inPackage !== false;
    everything &&= chosen;
    const s = series.get(after.seriesUid) || { all: true, chosen: [] };
    s.all &&= chosen;
    if (chosen && /^\s*-?\d+\s*$/.test(after.instanceNumber || '')) s.chosen.push(after.instanceNumber.trim());
    series.set(after.seriesUid, s);
  }
  if (everything) return '';
  const spec = [];
  for (const [uid, s] of series) {
    if (!uid) continue; // a file without a Series Instance UID cannot be chosen alone
    if (s.all) spec.push(uid);
    else if (s.chosen.length) spec.push(`${uid}:${s.chosen.join(',')}`);
  }
  // (Nothing chosen: a series that cannot exist, so that nothing goes in.)
  return spec.length ? spec.join(';') : '0:0-0';
}
let choiceTimer = null;
/** A file or series was ticked or unticked: the package is made again with the choice. */
function choiceChanged() {
  clearTimeout(choiceTimer);
  choiceTimer = setTimeout(async () => {
    const note = $('choice-note');
    note.hidden = false;
    note.textContent = 'Making the package again with your choice…';
    try {
      await requests.request('changeSettings', { settings: currentSettings() }, { signal: batchAsking.signal });
    } catch (e) {
      if (e.name !== 'AbortError') note.textContent = `Your choice could not be applied (${e.message}).`;
      return;
    }
    const { done, chosenOut } = counts();
    note.textContent = chosenOut
      ? `The package holds ${plural(done - chosenOut, 'file')}: ${chosenOut} left out by your choice.`
      : 'The package holds every file de-identified.';
    unsaved = true;
    updateStatus();
  }, 300);
}

// The project key, if the user asked to remember it, lives only in this browser.
const KEY_STORAGE = 'obscura.projectKey';
function restoreKey() {
  const saved = localStorage.getItem(KEY_STORAGE);
  if (saved) { $('passphrase').value = saved; $('remember-key').checked = true; }
}
function rememberKey() {
  if ($('remember-key').checked && $('passphrase').value) localStorage.setItem(KEY_STORAGE, $('passphrase').value);
  else localStorage.removeItem(KEY_STORAGE);
}
$('remember-key').addEventListener('change', rememberKey);
$('passphrase').addEventListener('change', rememberKey);
restoreKey();

// The project's salt is random, made once in this browser and kept here, so the same
// passphrase gives the same results on later visits but a guessed passphrase alone does not.
const SALT_STORAGE = 'obscura.projectSalt';
function storeSalt(salt) {
  try {
    localStorage.setItem(SALT_STORAGE, salt);
  } catch { /* storage refused: the salt lasts this visit; the hint says to copy it */ }
}
function restoreSalt() {
  let salt = null;
  try {
    salt = localStorage.getItem(SALT_STORAGE);
  } catch { /* storage refused */ }
  if (!salt) {
    salt = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
    storeSalt(salt);
  }
  $('project-salt').value = salt;
}
$('project-salt').addEventListener('change', () => {
  const salt = $('project-salt').value.replace(/[\s-]/g, '');
  if (/^[0-9a-fA-F]{32}$/.test(salt)) storeSalt(salt.toLowerCase());
  else $('status').textContent = 'The project salt must be 32 hex digits (0-9, a-f).';
});
restoreSalt();

function ensureSettingsSent() {
  if (settingsSent) return;
  toWorker.post(worker, 'settings', { settings: currentSettings() });
  settingsSent = true;
}

// Settings changed after files were added: the batch is redone with them (same key, same
// boxes and key images), a moment after the last change. What was looked at is looked at
// again: the images may have changed.
let redoTimer = null;
// Controls of step 2 that change nothing in the files.
const NOT_CLEANING = new Set(['remember-key']);
function settingsChanged(ev) {
  if (!settingsSent || (ev && ev.target && NOT_CLEANING.has(ev.target.id))) return;
  clearTimeout(redoTimer);
  redoTimer = setTimeout(redoWithSettings, 300);
}
async function redoWithSettings() {
  const note = $('settings-note');
  const done = [...rows.values()].filter((r) => r.report).length;
  note.hidden = false;
  note.textContent = `Cleaning ${plural(done, 'file')} again with the new settings…`;
  try {
    await requests.request('changeSettings', { settings: currentSettings() }, { signal: batchAsking.signal });
  } catch (e) {
    if (e.name !== 'AbortError') note.textContent = `The new settings could not be used (${e.message}): the files keep the earlier ones.`;
    return;
  }
  for (const [id, row] of rows) {
    row.checked = false;
    row.seen = false;
    dirtyRows.add(id);
  }
  unsaved = true;
  updateStatus();
  scheduleList();
  note.textContent = `${plural(done, 'file')} cleaned again with the new settings, with the same key. Look at the flagged images again.`;
}
$('settings').addEventListener('change', settingsChanged);
$('settings').addEventListener('submit', settingsChanged);

function renderOptions({ options, presets }) {
  const fieldset = $('options');
  for (const o of options) {
    const id = `opt-${o.id}`;
    const wrap = text('div', undefined, 'option');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.id = id;
    box.value = o.id;
    const label = text('label', o.label);
    label.htmlFor = id;
    const help = text('p', o.explanation, 'hint');
    wrap.append(box, label, help);
    fieldset.append(wrap);
    box.addEventListener('change', () => {
      // Full and modified dates exclude each other.
      const other = { 'retain-full-dates': 'retain-modified-dates', 'retain-modified-dates': 'retain-full-dates' }[o.id];
      if (other && box.checked) $(`opt-${other}`).checked = false;
      setPreset('');
      showHipaaNote();
    });
  }
  // The presets lead, in plain words, as one choice: what the package is for.
  const group = $('preset');
  const choices = [...presets, { id: '', label: 'Your own choice of options', explanation: 'The options you tick under “Details: the options of the DICOM profile”.' }];
  for (const p of choices) {
    const id = `preset-${p.id || 'custom'}`;
    const wrap = text('div', undefined, 'option');
    const radio = document.createElement('input');
    radio.type = 'radio';
    radio.name = 'preset';
    radio.id = id;
    radio.value = p.id;
    radio.dataset.hipaa = p.hipaa || '';
    radio.setAttribute('aria-describedby', `${id}-hint`);
    const label = text('label', p.label);
    label.htmlFor = id;
    const help = text('p', p.explanation, 'hint');
    help.id = `${id}-hint`;
    wrap.append(radio, label, help);
    group.append(wrap);
    radio.addEventListener('change', () => {
      showHipaaNote();
      if (!p.id) return;
      for (const box of fieldset.querySelectorAll('input[type=checkbox]')) box.checked = p.options.includes(box.value);
    });
  }
  setPreset('basic');
}

/** The id of the preset chosen ('' for the user's own choice of options). */
function presetValue() {
  const chosen = document.querySelector('#preset input[name=preset]:checked');
  return chosen ? chosen.value : '';
}
/** Choose the preset `id` (without ticking its options); false if there is no such preset. */
function setPreset(id) {
  const radio = [...document.querySelectorAll('#preset input[name=preset]')].find((r) => r.value === id);
  if (radio) radio.checked = true;
  return Boolean(radio);
}

// The HIPAA method of the chosen preset ('' for the others, and for Custom).
function chosenHipaa() {
  const chosen = document.querySelector('#preset input[name=preset]:checked');
  return (chosen && chosen.dataset.hipaa) || '';
}

const HIPAA_NOTES = {
  'hipaa-safe-harbor': 'HIPAA Safe Harbor: the report accounts for each of the 18 kinds of identifier. Look at every image flagged for a face or burned-in text before sharing.',
  'hipaa-limited-data-set': 'HIPAA Limited Data Set: dates and the town, state and ZIP code are kept, so a data use agreement with the recipient is needed before you share this package.',
};
function showHipaaNote() {
  const note = HIPAA_NOTES[chosenHipaa()];
  $('hipaa-note').hidden = !note;
  $('hipaa-note').textContent = note || '';
}

$('pixel-rules').addEventListener('change', async (ev) => {
  const f = ev.target.files[0];
  pixelRules = f ? await f.text() : null;
  pixelRulesName = f ? f.name : null;
  saveSettings();
  showRememberedRules();
  settingsChanged();
});

// The choices of step 2 are remembered in this browser (localStorage) for the next visit:
// options, preset, detection, the rules file. Not the pseudonym list (it holds patients' IDs),
// and the key only when asked ("Remember the key on this computer").
const SETTINGS_STORAGE = 'obscura.settings';
let pixelRulesName = null;
function saveSettings() {
  const options = [...document.querySelectorAll('#options input[type=checkbox]:checked')].map((c) => c.value);
  const saved = {
    preset: presetValue(),
    options,
    detectText: $('detect-text').checked,
    keepAnnotations: $('keep-annotations').checked,
    acceptBurnedIn: $('accept-burned-in').checked,
    includeDocuments: $('include-documents').checked,
    dateOffset: $('date-offset').value,
    pixelRules: pixelRules ? { name: pixelRulesName || 'rules', text: pixelRules } : null,
  };
  try {
    localStorage.setItem(SETTINGS_STORAGE, JSON.stringify(saved));
  } catch { /* storage full or refused: the settings simply are not remembered */ }
}
function restoreSettings() {
  let saved;
  try {
    saved = JSON.parse(localStorage.getItem(SETTINGS_STORAGE) || 'null');
  } catch {
    saved = null;
  }
  if (!saved || typeof saved !== 'object') return;
  for (const box of document.querySelectorAll('#options input[type=checkbox]')) {
    box.checked = Array.isArray(saved.options) && saved.options.includes(box.value);
  }
  if (typeof saved.preset === 'string') setPreset(saved.preset);
  showHipaaNote();
  // On unless the user turned it off.
  $('detect-text').checked = saved.detectText !== false;
  $('keep-annotations').checked = saved.keepAnnotations === true;
  $('accept-burned-in').checked = Boolean(saved.acceptBurnedIn);
  $('include-documents').checked = Boolean(saved.includeDocuments);
  $('date-offset').value = typeof saved.dateOffset === 'string' ? saved.dateOffset : '';
  if (saved.pixelRules && typeof saved.pixelRules.text === 'string') {
    pixelRules = saved.pixelRules.text;
    pixelRulesName = String(saved.pixelRules.name || 'rules');
  }
  showRememberedRules();
}
function showRememberedRules() {
  const line = $('rules-remembered');
  line.hidden = !pixelRules;
  if (!pixelRules) return;
  $('rules-remembered-name').textContent = pixelRulesName || 'rules';
}
$('rules-forget').addEventListener('click', () => {
  pixelRules = null;
  pixelRulesName = null;
  $('pixel-rules').value = '';
  saveSettings();
  showRememberedRules();
  settingsChanged();
});
// (After the page's own handlers of the same event, e.g. a preset ticking its options.)
const saveSoon = () => setTimeout(saveSettings, 0);
for (const id of ['preset', 'detect-text', 'keep-annotations', 'accept-burned-in', 'include-documents', 'date-offset', 'options']) $(id).addEventListener('change', saveSoon);
$('pseudonyms').addEventListener('change', async (ev) => {
  const f = ev.target.files[0];
  pseudonymsCsv = f ? await f.text() : null;
  settingsChanged();
});

// ---- files ----------------------------------------------------------------------------

// Progress of the current batch: files and bytes done, throughput and time left.
const progress = { files: 0, bytes: 0, total: 0, start: 0 };
function showProgress() {
  const line = $('progress-line');
  if (pending === 0 || progress.total === 0) { line.hidden = true; return; }
  line.hidden = false;
  const seconds = Math.max(0.001, (performance.now() - progress.start) / 1000);
  const mb = progress.bytes / 1e6;
  const perFile = seconds / Math.max(1, progress.files);
  const left = Math.round(perFile * pending);
  $('progress').max = progress.total;
  $('progress').value = progress.files;
  $('progress-text').textContent = `${progress.files} of ${progress.total} files · ${mb.toFixed(1)} MB · ${(mb / seconds).toFixed(1)} MB/s`
    + (progress.files > 0 ? ` · about ${left} s left` : '');
}

function addRow(id, name) {
  if (pending === 0) Object.assign(progress, { files: 0, bytes: 0, total: 0, start: performance.now() });
  progress.total += 1;
  rows.set(id, { name, report: null, tr: null });
  pending += 1;
  scheduleList();
  scheduleRefresh();
}

function showResult(id, report, bytes) {
  const row = rows.get(id);
  if (!row) return;
  // A file is counted once; results posted again (after a box was drawn) only redraw it.
  if (!row.report) {
    pending -= 1;
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
    inPackage.addEventListener('change', () => { row.inPackage = inPackage.checked; choiceChanged(); });
    choice.append(inPackage, ' In the package');
    state.append(choice);
    if (report.leftOutByChoice) state.append(text('p', 'Left out of the package by your choice.', 'reason warn'));
    if (report.after && report.after.hasPixels) {
      const show = text('button', 'Show image', 'show-image');
      show.type = 'button';
      show.setAttribute('aria-label', `Show image: ${row.name}`);
      show.addEventListener('click', () => openPreview(id, row.name));
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
      box.addEventListener('change', () => { row.checked = box.checked; updateStatus(); });
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
      requests.request('details', { id }, { signal: batchAsking.signal }).then(
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

function counts() {
  let done = 0; let excluded = 0; let skipped = 0; let warned = 0; let cancelled = 0; let unchecked = 0;
  let indexes = 0; // DICOMDIR indexes skipped
  let chosenOut = 0; // de-identified, but left out of the package by the user's choice
  for (const { report, checked } of rows.values()) {
    if (!report) continue;
    if (report.warnings && report.warnings.length) {
      warned += 1;
      if (report.status === 'done' && !checked && !report.leftOutByChoice) unchecked += 1;
    }
    if (report.status === 'done' && report.leftOutByChoice) chosenOut += 1;
    if (report.status === 'done') done += 1;
    else if (report.status === 'archive') continue;
    else if (report.status === 'cancelled') cancelled += 1;
    else if (report.status === 'skipped') {
      skipped += 1;
      if (/^DICOMDIR/.test(report.reason || '')) indexes += 1;
    } else excluded += 1;
  }
  return { done, excluded, skipped, warned, cancelled, unchecked, indexes, chosenOut };
}

function plural(n, word) {
  if (n === 1) return `1 ${word}`;
  return word.endsWith('y') ? `${n} ${word.slice(0, -1)}ies` : `${n} ${word}s`;
}

// The package as a tree: patient → study → series, from the de-identified values only.
let treePending = false;
// Series thumbnails: one image of each series as it goes into the package, asked of the
// worker one at a time so that they never hold up the files.
const thumbs = new Map(); // new Series Instance UID → canvas, or 'pending'
let thumbBusy = false;
function wantThumbnail() {
  if (thumbBusy) return;
  for (const [id, { report }] of rows) {
    if (!report || report.status !== 'done' || !report.after || !report.after.hasPixels) continue;
    const key = report.after.seriesUid;
    if (thumbs.has(key)) continue;
    thumbs.set(key, 'pending');
    thumbBusy = true;
    requests.request('thumbnail', { id, key }, { signal: batchAsking.signal }).then(
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
  renderSeriesStrip();
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
          choiceChanged();
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
  if (workerError) {
    status.textContent = `Error: ${workerError}`;
  } else if (rows.size === 0) {
    status.textContent = 'No files yet.';
  } else if (pending > 0) {
    status.textContent = `Working: ${rows.size - pending} of ${plural(rows.size, 'file')} checked…`;
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
  $('download-button').disabled = pending > 0 || done - chosenOut === 0 || unchecked > 0;
  $('cancel-button').disabled = pending === 0;
  $('reid-button').disabled = pending > 0 || done === 0;
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
  $('status-bar-cancel').disabled = pending === 0;
}
$('status-bar-cancel').addEventListener('click', () => $('cancel-button').click());

// Live proof for the privacy panel: every network request the page or its worker makes
// after the first file is added is counted (blob: and data: URLs are not network requests).
const network = { counting: false, since: Infinity, page: 0, worker: 0 };
// (The worker's own scripts show among the page's requests: counting starts once they are
// all loaded, which its first answer says, if files come sooner than that.)
let workerLoaded = false;
function startCounting() {
  if (network.counting) return;
  network.counting = true;
  if (workerLoaded) network.since = performance.now();
  showNetwork();
}
function showNetwork() {
  const n = network.page + network.worker;
  $('network-count').textContent = `Network requests since you added files: ${n}${n === 0 ? ' (none)' : ''}.`;
}
if (typeof PerformanceObserver !== 'undefined') {
  new PerformanceObserver((list) => {
    if (!network.counting) return;
    for (const e of list.getEntries()) {
      if (e.startTime >= network.since && !/^(blob|data):/.test(e.name)) network.page += 1;
    }
    showNetwork();
  }).observe({ type: 'resource' });
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

// ---- outputs --------------------------------------------------------------------------

function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

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
function packageSaved(msg) {
  updateStatus();
  const status = $('status');
  status.textContent = msg.error
    ? `The package could not be written to ${msg.name}: ${msg.error}`
    : `${status.textContent} Saved: ${msg.name} (${(msg.bytes / 1e6).toFixed(1)} MB).`;
  if (!msg.error) unsaved = false;
  if (msg.logLine) logExport(msg.logLine);
}

// Leaving (or reloading) the page with files cleaned since the last download loses them: the
// browser asks first.
let unsaved = false;
window.addEventListener('beforeunload', (ev) => {
  if (!unsaved) return;
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
  unsaved = false;
  rows.clear();
  commonValues.clear();
  batchAsking.abort();
  batchAsking = new AbortController();
  drawnBoxes = [];
  showDrawnBoxes();
  shownIds = [];
  listPage = 0;
  scheduleList();
  keyChoices.clear();
  thumbs.clear();
  pending = 0;
  workerError = null;
  settingsSent = false;
  clearTimeout(redoTimer);
  $('settings-note').hidden = true;
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

// ---- image check: before / after, drawn from what the worker rendered -----------------

function draw(canvas, image) {
  canvas.width = image.width;
  canvas.height = image.height;
  canvas.getContext('2d').putImageData(new ImageData(image.rgba, image.width, image.height), 0, 0);
}

let preview = null; // { id, after: ImageData, box: {x, y, w, h} | null, asking: AbortController }

function openPreview(id, name) {
  stopPlaying();
  zoom = null;
  // What was asked for the image shown before is never drawn.
  if (preview) preview.asking.abort();
  preview = { id, after: null, box: null, loading: false, wanted: undefined, window: null, custom: null, asking: new AbortController() };
  $('preview-window-custom').hidden = true;
  if ($('preview-window').value === 'custom') $('preview-window').value = '';
  showWindowPresets(id);
  $('preview-title').textContent = `Before and after: ${name}`;
  $('preview-note').textContent = 'Drawing the image…';
  $('box-actions').hidden = true;
  $('frame-control').hidden = true;
  $('preview-looked-line').hidden = true;
  showNextToCheck();
  // The boxes drawn are listed for this image once its first frame comes.
  drawnBoxes = [];
  showDrawnBoxes();
  for (const c of [$('preview-before'), $('preview-after')]) c.getContext('2d').clearRect(0, 0, c.width, c.height);
  if (!$('preview').open) $('preview').showModal();
  renderSeriesStrip();
  requestFrame(undefined);
}

/** Offer the window presets of the file's modality only (CT's in Hounsfield units for a CT);
 * a preset chosen for another modality's image goes back to the file's own window, so that
 * an MR opened after a CT is never shown in a CT bone window. */
function showWindowPresets(id) {
  const row = rows.get(id);
  const report = (row && row.report) || {};
  const modality = (report.after && report.after.modality) || (report.before && report.before.modality) || '';
  const select = $('preview-window');
  for (const option of select.options) {
    if (option.dataset.modality) option.hidden = option.dataset.modality !== modality;
  }
  if (select.selectedOptions[0] && select.selectedOptions[0].hidden && select.value !== 'custom') select.value = '';
}

/** The window chosen for the image check, or undefined for the file's own. */
function chosenWindow() {
  const v = $('preview-window').value;
  if (!v) return undefined;
  if (v === 'custom') return preview && preview.custom ? { ...preview.custom } : undefined;
  if (v === 'full') return { center: 0, width: 0 };
  const [center, width] = v.split(',').map(Number);
  return { center, width };
}

function showPreview(msg) {
  if (!preview || msg.id !== preview.id) return;
  draw($('preview-before'), msg.before);
  draw($('preview-after'), msg.after);
  applyZoom();
  preview.frames = msg.after.frames;
  preview.window = msg.after.windowWidth ? { center: msg.after.windowCenter, width: msg.after.windowWidth } : null;
  $('preview-window-out').textContent = preview.window
    ? `${Math.round(preview.window.center)} / ${Math.round(preview.window.width)}` : '';
  preview.after = new ImageData(msg.after.rgba, msg.after.width, msg.after.height);
  preview.frame = msg.after.frame;
  preview.loading = false;
  drawnBoxes = msg.boxes || [];
  showDrawnBoxes();
  readTextOf(msg.id, msg.detections);
  const slider = $('preview-frame');
  $('frame-control').hidden = msg.after.frames <= 1;
  slider.max = String(msg.after.frames);
  $('preview-frame-out').textContent = `${msg.after.frame + 1} of ${msg.after.frames}`;
  if (preview.wanted !== undefined && preview.wanted !== msg.after.frame) {
    requestFrame(preview.wanted);
  } else {
    slider.value = String(msg.after.frame + 1);
  }
  showDetections();
  // The outlines of the boxes found, for this image (the zoom above drew them before the
  // image was known).
  showMarks();
  showKeyChoice();
  imageSeen(msg.id);
  const frames = msg.after.frames > 1 ? ` Frame ${msg.after.frame + 1} of ${msg.after.frames}: text can appear in some frames only, so look through them.` : '';
  const others = seriesFiles().length - 1;
  const series = others > 0 ? ` The up and down arrow keys (or the mouse wheel) show the ${plural(others, 'other image')} of its series.` : '';
  $('preview-note').textContent = `Look for names, dates or IDs written in the image: the “After” image is what goes into the package.${frames}${series}`;
  if (playing && (preview.wanted === undefined || preview.wanted === msg.after.frame)) {
    playing.timer = setTimeout(() => requestFrame((msg.after.frame + 1) % msg.after.frames), playing.delay);
  }
}

// Key images the user chose: file id → { frame, window } (window undefined: the file's own).
const keyChoices = new Map();
function sameView(a, b) {
  return a && b && a.frame === b.frame && JSON.stringify(a.window ?? null) === JSON.stringify(b.window ?? null);
}
function currentView() {
  return { frame: preview.frames > 1 ? preview.frame : undefined, window: chosenWindow() ?? null };
}
function showKeyChoice() {
  const on = Boolean(preview && preview.after && sameView(keyChoices.get(preview.id), currentView()));
  const button = $('preview-key');
  button.setAttribute('aria-pressed', String(on));
  button.textContent = on ? 'Key image: this view (press again to take it back)' : 'Use this view as a key image';
}
$('preview-key').addEventListener('click', () => {
  if (!preview || !preview.after) return;
  const view = currentView();
  const choice = sameView(keyChoices.get(preview.id), view) ? null : view;
  toWorker.post(worker, 'keyImage', { id: preview.id, choice });
});
function keyImageSet(msg) {
  if (msg.error) {
    $('preview-note').textContent = `The key image could not be chosen: ${msg.error}`;
    return;
  }
  if (msg.choice) keyChoices.set(msg.id, msg.choice);
  else keyChoices.delete(msg.id);
  showKeyChoice();
}

// Boxes automatic detection found in the image shown, listed (and outlined on the right-hand
// image, see showMarks): each can be left visible when it is not text, or blacked out again,
// from its button or by a click on it in the image.
function showDetections() {
  const found = detectionsShown();
  $('detections').hidden = found.length === 0;
  const list = $('detection-list');
  list.replaceChildren();
  found.forEach((d, i) => {
    const where = `${d.w} × ${d.h} pixels at (${d.x}, ${d.y})`;
    // What was read in the box: for the user's eyes only (the package never holds it).
    const read = d.text ? ` reads “${d.text}”,` : '';
    const state = d.rejected ? 'left visible (you said it is not text)'
      : d.annotation ? 'left visible (a non-identifying annotation, as you chose)' : 'blacked out';
    const item = text('li', `Box ${i + 1},${read} ${where}: ${state} `);
    const button = text('button', d.rejected ? 'Black it out again' : d.annotation ? 'Black it out' : 'Not text: leave visible');
    button.type = 'button';
    button.setAttribute('aria-label', `${button.textContent}: box ${i + 1}, ${where}`);
    button.addEventListener('click', () => toggleDetection(d));
    const outline = (on) => { preview.highlight = on ? d : null; showBox(); };
    for (const el of [item, button]) {
      el.addEventListener('pointerenter', () => outline(true));
      el.addEventListener('pointerleave', () => outline(false));
    }
    button.addEventListener('focus', () => outline(true));
    button.addEventListener('blur', () => outline(false));
    // Moved or resized as a box drawn: the box found is then left as it is, and the one the
    // user made is blacked out instead.
    const adjust = text('button', 'Move or resize');
    adjust.type = 'button';
    adjust.setAttribute('aria-label', `Move or resize: box ${i + 1}, ${where}`);
    adjust.addEventListener('click', () => adjustDetection(d));
    item.append(button, ' ', adjust);
    list.append(item);
  });
}

/** Take the box found `d` into the box tools, to move or resize it and choose where it
 * applies (`preview.replaces`: the box found, left visible once the new one is applied). */
function adjustDetection(d) {
  if (!preview || !preview.after || preview.rebuilding) return;
  const region = { x: d.x, y: d.y, w: d.w, h: d.h };
  preview.box = { ...region };
  preview.replaces = d.rejected || d.annotation ? null : region;
  showBox();
  fillBoxForm();
  $('box-actions').hidden = false;
  $('preview-note').textContent = 'Drag the box, or its corner handle, or type its place, then choose where to black it out: it replaces the box found.';
  $('box-x').focus();
}

/** Say a box found is not text (it is left visible), or is text after all (blacked out
 * again): the file is cleaned again. */
function toggleDetection(d) {
  if (preview.rebuilding) return;
  preview.rebuilding = true;
  $('preview-note').textContent = 'Rebuilding the package…';
  $('detection-list').querySelectorAll('button').forEach((b) => { b.disabled = true; });
  const region = { x: d.x, y: d.y, w: d.w, h: d.h };
  // An annotation kept is blacked out by a box drawn over it in this image (listed, so it
  // can be taken back).
  if (d.annotation) toWorker.post(worker, 'region', { id: preview.id, scope: 'image', region });
  else toWorker.post(worker, 'detection', { id: preview.id, region, notText: !d.rejected });
}

/** What the main worker read in the boxes found in file `id` (`found`, from the image
 * check's drawing), put beside the boxes the file's report lists: the pool's cleaners read
 * only for runs that keep annotations. For the user's eyes only. */
function readTextOf(id, found) {
  const row = rows.get(id);
  const listed = row && row.report && row.report.detections;
  if (!listed || !Array.isArray(found)) return;
  for (const d of listed) {
    const same = found.find((f) => f.x === d.x && f.y === d.y && f.w === d.w && f.h === d.h);
    if (same && same.text && !d.text) d.text = same.text;
  }
}

/** The boxes found in the image shown, and the one under the point `p` (image pixels). */
function detectionsShown() {
  const row = preview && rows.get(preview.id);
  return (row && row.report && row.report.detections) || [];
}
function detectionAt(p) {
  return detectionsShown().find((d) => p.x >= d.x && p.x < d.x + d.w && p.y >= d.y && p.y < d.y + d.h);
}

/** Outline the boxes found on the right-hand image, on a layer over it (the image itself
 * stays what goes into the package): yellow where blacked out, blue and dashed where left
 * visible, thicker for the one pointed at in the list. */
function showMarks() {
  const image = $('preview-after');
  const marks = $('preview-marks');
  if (marks.width !== image.width || marks.height !== image.height) {
    marks.width = image.width;
    marks.height = image.height;
  }
  marks.style.width = image.style.width;
  const ctx = marks.getContext('2d');
  ctx.clearRect(0, 0, marks.width, marks.height);
  const unit = image.width / Math.max(1, image.getBoundingClientRect().width); // an on-screen pixel
  for (const d of detectionsShown()) {
    const pointed = preview.highlight === d;
    ctx.lineWidth = (pointed ? 3 : 1.5) * unit;
    const visible = d.rejected || d.annotation;
    ctx.setLineDash(visible ? [4 * unit, 3 * unit] : []);
    ctx.strokeStyle = visible ? '#4da3ff' : '#ffd60a';
    ctx.strokeRect(d.x - ctx.lineWidth / 2, d.y - ctx.lineWidth / 2, d.w + ctx.lineWidth, d.h + ctx.lineWidth);
  }
  ctx.setLineDash([]);
}

/** The "I looked at this image" tick box in a file's row, if it has one. */
function lookedBox(row) {
  return row.tr ? row.tr.querySelector('label.looked input') : null;
}

/** The image of file `id` was shown: "I looked at this image" can be ticked, in its row and
 * in the image check (where it is offered for a flagged image). */
function imageSeen(id) {
  const row = rows.get(id);
  if (!row) return;
  row.seen = true;
  const box = lookedBox(row);
  if (box) box.disabled = false;
  const hint = row.tr && row.tr.querySelector('.looked-hint');
  if (hint) hint.remove();
  const flagged = Boolean(row.report && (row.report.warnings || []).length);
  $('preview-looked-line').hidden = !flagged;
  $('preview-looked').checked = Boolean(row.checked);
}
$('preview-looked').addEventListener('change', (ev) => {
  const row = preview && rows.get(preview.id);
  if (!row) return;
  row.checked = ev.target.checked;
  const box = lookedBox(row);
  if (box) box.checked = row.checked;
  updateStatus();
});

// What needs the user leads there: the status line, the status bar and the image check offer
// the next image flagged for burned-in text that nobody has looked at yet, in the order the
// files came.
/** The id and name of the next image to look at (after `after`, wrapping), or null. */
function nextToCheck(after) {
  const waiting = [...rows].filter(([, row]) => row.report && row.report.status === 'done'
    && !row.report.leftOutByChoice && (row.report.warnings || []).length && !row.checked);
  if (waiting.length === 0) return null;
  const later = waiting.findIndex(([id]) => id > after);
  const [id, row] = waiting[after === undefined || later < 0 ? 0 : later];
  return { id, name: row.name, left: waiting.length };
}
function showNextToCheck() {
  const next = nextToCheck();
  const label = next && `Look at the ${next.left === 1 ? 'image' : `${next.left} images`} to check`;
  for (const id of ['next-to-check', 'status-bar-next']) {
    $(id).hidden = !next || pending > 0;
    if (next) $(id).textContent = label;
  }
  const more = preview && nextToCheck(preview.id);
  $('preview-next').hidden = !more || more.id === preview.id;
}
function lookAtNext(after) {
  const next = nextToCheck(after);
  if (next) openPreview(next.id, next.name);
}
$('next-to-check').addEventListener('click', () => lookAtNext());
$('status-bar-next').addEventListener('click', () => lookAtNext());
$('preview-next').addEventListener('click', () => lookAtNext(preview && preview.id));

// Cine: the next frame is asked for once the last one is drawn (never faster than the
// file's frame time), so playing never queues work in the worker.
let playing = null; // { timer, delay }
function stopPlaying() {
  if (!playing) return;
  clearTimeout(playing.timer);
  playing = null;
  $('preview-play').textContent = 'Play';
  $('preview-play').setAttribute('aria-pressed', 'false');
}
$('preview-play').addEventListener('click', () => {
  if (playing) { stopPlaying(); return; }
  if (!preview || !preview.frames || preview.frames < 2) return;
  playing = { timer: null, delay: 40 };
  $('preview-play').textContent = 'Pause';
  $('preview-play').setAttribute('aria-pressed', 'true');
  requestFrame(((preview.frame ?? 0) + 1) % preview.frames);
});
$('preview').addEventListener('close', stopPlaying);
// A frame asked for and not yet drawn is not drawn once the dialog is closed.
$('preview').addEventListener('close', () => { if (preview) preview.asking.abort(); });
// The browser gives focus back to the button that opened the dialog; when that row was drawn
// anew meanwhile (a box blacked out, the file cleaned again), focus goes to its new button
// rather than falling to the page.
$('preview').addEventListener('close', () => {
  const id = preview && preview.id;
  setTimeout(() => {
    if (document.activeElement && document.activeElement !== document.body) return;
    const row = rows.get(id);
    const button = row && row.tr && row.tr.querySelector('button.show-image');
    if (button) button.focus();
  });
});

// Zoom: both images at the same scale (1 = one screen pixel per image pixel), scrolled
// together; "Fit" shows the whole image. Ctrl + wheel zooms too.
let zoom = null; // null: fit
function applyZoom() {
  const pair = document.querySelector('.preview-pair');
  pair.classList.toggle('zoomed', zoom !== null);
  for (const id of ['preview-before', 'preview-after']) {
    const c = $(id);
    const scale = zoom ?? roomScale(c);
    c.style.width = c.width ? `${Math.round(c.width * scale)}px` : '';
  }
  $('zoom-out-value').textContent = zoom === null ? 'Fit' : `${Math.round(zoom * 100)}%`;
  if (preview && preview.after) showMarks();
}
/** Fit: the scale at which an image fills the room each of the two views has (as wide as
 * 44% of the window side by side, 88% alone or on a phone, where the two are one above the
 * other, and as high as 70% of it: see `.preview-pair` in style.css), small images scaled
 * up as a viewer shows them. */
function roomScale(c) {
  if (!c.width || !c.height) return 1;
  const narrow = matchMedia('(max-width: 40rem)').matches;
  const width = narrow ? innerWidth * 0.96 - 40 : innerWidth * (compare === 'pair' ? 0.44 : 0.88);
  return Math.min(width / c.width, (innerHeight * 0.7) / c.height);
}

// Before and after side by side, or one at a time in the same place (to flip between them,
// and on a narrow screen). The choice stays for the next image.
let compare = 'pair'; // 'pair' | 'before' | 'after'
function setCompare(mode) {
  compare = mode;
  const pair = document.querySelector('.preview-pair');
  pair.classList.toggle('single', mode !== 'pair');
  $('figure-before').hidden = mode === 'after';
  $('figure-after').hidden = mode === 'before';
  for (const m of ['pair', 'before', 'after']) $(`compare-${m}`).setAttribute('aria-pressed', String(m === mode));
  applyZoom();
}
for (const m of ['pair', 'before', 'after']) $(`compare-${m}`).addEventListener('click', () => setCompare(m));
addEventListener('resize', () => { if ($('preview').open && zoom === null) applyZoom(); });
function fitScale() {
  const c = $('preview-after');
  return c.width ? c.getBoundingClientRect().width / c.width : 1;
}
function zoomBy(factor) {
  const from = zoom ?? fitScale();
  zoom = Math.min(32, Math.max(0.125, from * factor));
  applyZoom();
}
$('zoom-in').addEventListener('click', () => zoomBy(2));
$('zoom-out').addEventListener('click', () => zoomBy(0.5));
$('zoom-fit').addEventListener('click', () => { zoom = null; applyZoom(); });
const scrollers = [...document.querySelectorAll('.preview-pair .zoom')];
for (const s of scrollers) {
  s.addEventListener('scroll', () => {
    for (const o of scrollers) if (o !== s) { o.scrollLeft = s.scrollLeft; o.scrollTop = s.scrollTop; }
  });
}

// The mouse wheel steps through frames (with Ctrl: zooms).
for (const id of ['preview-before', 'preview-after']) {
  $(id).addEventListener('wheel', (ev) => {
    if (ev.ctrlKey) {
      ev.preventDefault();
      zoomBy(ev.deltaY < 0 ? 1.25 : 0.8);
      return;
    }
    if (!preview || !preview.after) return;
    ev.preventDefault();
    stopPlaying();
    const step = Math.sign(ev.deltaY);
    const from = preview.wanted ?? preview.frame ?? 0;
    const frame = from + step;
    // Through the frames of a cine, then on to the next (or previous) file of the series.
    if (preview.frames > 1 && frame >= 0 && frame < preview.frames) requestFrame(frame);
    else if (!preview.loading) stepFile(step);
  }, { passive: false });
}

/** The files of the series of the image shown that hold an image, in the list's order. */
function seriesFiles() {
  const row = preview && rows.get(preview.id);
  const uid = row && row.report && row.report.after && row.report.after.seriesUid;
  if (!uid) return [preview.id];
  const ids = [];
  for (const [id, r] of rows) {
    const after = r.report && r.report.status === 'done' && r.report.after;
    if (after && after.hasPixels && after.seriesUid === uid) ids.push(id);
  }
  return ids;
}
/** The series of the batch that hold images, in the order their files came: `{ uid, ids,
 * modality, number, description }`, `ids` the files of each. */
function seriesOfBatch() {
  const series = new Map();
  for (const [id, r] of rows) {
    const after = r.report && r.report.status === 'done' && r.report.after;
    if (!after || !after.hasPixels) continue;
    const key = after.seriesUid || `file ${id}`;
    if (!series.has(key)) series.set(key, { uid: after.seriesUid, ids: [], modality: after.modality, number: after.seriesNumber, description: after.seriesDescription });
    series.get(key).ids.push(id);
  }
  return [...series.values()];
}
// The series list in the image check, as a viewer has it: a picture of each series (as it
// goes into the package) and its name; a click shows its first image, the wheel and the
// arrow keys then move through its files.
function renderSeriesStrip() {
  if (!$('preview').open || !preview) return;
  const row = rows.get(preview.id);
  const current = row && row.report && row.report.after && row.report.after.seriesUid;
  const all = seriesOfBatch();
  // (Drawn anew: a keyboard user's focus goes to the same place in the new list.)
  const focused = [...$('series-list').querySelectorAll('button')].indexOf(document.activeElement);
  $('series-strip').hidden = all.length < 2;
  $('series-list').replaceChildren(...all.map((se) => {
    const button = document.createElement('button');
    button.type = 'button';
    const words = [se.modality, se.number && `series ${se.number}`, se.description, plural(se.ids.length, 'image')].filter(Boolean).join(' · ');
    const thumb = thumbs.get(se.uid);
    if (thumb instanceof HTMLCanvasElement) {
      const copy = document.createElement('canvas');
      copy.width = thumb.width;
      copy.height = thumb.height;
      copy.getContext('2d').drawImage(thumb, 0, 0);
      copy.setAttribute('aria-hidden', 'true');
      button.append(copy);
    }
    button.append(text('span', words));
    if (se.uid && se.uid === current) button.setAttribute('aria-current', 'true');
    button.addEventListener('click', () => {
      if (se.ids.includes(preview.id)) return;
      openPreview(se.ids[0], rows.get(se.ids[0]).name);
    });
    const item = document.createElement('li');
    item.append(button);
    return item;
  }));
  const again = $('series-list').querySelectorAll('button')[focused];
  if (focused >= 0 && again) again.focus();
  // The series shown is in sight in the row, which scrolls sideways on a phone.
  const list = $('series-list');
  const shown = list.querySelector('[aria-current="true"]');
  if (shown) {
    const [r, l] = [shown.getBoundingClientRect(), list.getBoundingClientRect()];
    if (r.left < l.left || r.right > l.right) list.scrollLeft += r.left - l.left - (l.width - r.width) / 2;
  }
}

/** Show the file `step` places on in the series (none past its first or last). */
function stepFile(step) {
  const ids = seriesFiles();
  const next = ids[ids.indexOf(preview.id) + step];
  if (next === undefined || step === 0) return;
  openPreview(next, rows.get(next).name);
}
// The keys move as in a viewer: up and down (and Page Up, Page Down) through the files of the
// series, left and right through the frames of a cine. Not while a control that takes these
// keys itself (the frame slider, a menu, a field) has the focus.
$('preview').addEventListener('keydown', (ev) => {
  if (!preview || !preview.after || ev.altKey || ev.ctrlKey || ev.metaKey) return;
  if (ev.target.closest('input, select, textarea')) return;
  // A zoomed image with the focus scrolls with the arrow keys, as any scrolled area does.
  if (zoom !== null && ev.target.classList.contains('zoom')) return;
  const files = { ArrowUp: -1, PageUp: -1, ArrowDown: 1, PageDown: 1 }[ev.key];
  const frames = { ArrowLeft: -1, ArrowRight: 1 }[ev.key];
  if (files) {
    ev.preventDefault();
    stopPlaying();
    if (!preview.loading) stepFile(files);
  } else if (frames && preview.frames > 1) {
    ev.preventDefault();
    stopPlaying();
    const from = preview.wanted ?? preview.frame ?? 0;
    requestFrame(Math.min(preview.frames - 1, Math.max(0, from + frames)));
  }
});

// Window by dragging on the left-hand image: sideways changes the width (contrast), up and
// down the center (brightness), in steps proportional to the current width.
let windowDrag = null;
$('preview-before').addEventListener('pointerdown', (ev) => {
  if (!preview || !preview.window) return;
  windowDrag = { x: ev.clientX, y: ev.clientY, from: { ...preview.window } };
  ev.currentTarget.setPointerCapture(ev.pointerId);
});
$('preview-before').addEventListener('pointermove', (ev) => {
  if (!windowDrag) return;
  const { from } = windowDrag;
  const scale = from.width / 256;
  preview.custom = {
    center: from.center - (ev.clientY - windowDrag.y) * scale,
    width: Math.max(2, from.width + (ev.clientX - windowDrag.x) * scale),
  };
  $('preview-window-custom').hidden = false;
  $('preview-window').value = 'custom';
  requestFrame(preview.wanted ?? preview.frame);
});
$('preview-before').addEventListener('pointerup', () => { windowDrag = null; });
$('preview-close').addEventListener('click', () => $('preview').close());

// Every image request goes through here: one at a time, always for the latest frame asked
// (undefined: the middle one), with the chosen window.
function requestFrame(frame) {
  if (!preview) return;
  preview.wanted = frame;
  if (preview.loading) return;
  preview.loading = true;
  preview.box = null;
  $('box-actions').hidden = true;
  requests.request('preview', { id: preview.id, frame, window: chosenWindow() }, { signal: preview.asking.signal }).then(
    showPreview,
    (e) => {
      if (e.name !== 'AbortError') $('preview-note').textContent = `The image cannot be shown: ${e.message}`;
    },
  );
}
$('preview-frame').addEventListener('input', (ev) => { stopPlaying(); requestFrame(Number(ev.target.value) - 1); });
$('preview-window').addEventListener('change', () => {
  if (preview) { preview.loading = false; requestFrame(preview.frame); }
});

// Drawing a box to black out: drag on the right-hand image, then choose where it applies.
function imagePoint(canvas, ev) {
  const r = canvas.getBoundingClientRect();
  return {
    x: Math.min(canvas.width, Math.max(0, (ev.clientX - r.left) * (canvas.width / r.width))),
    y: Math.min(canvas.height, Math.max(0, (ev.clientY - r.top) * (canvas.height / r.height))),
  };
}
function showBox() {
  const c = $('preview-after');
  if (!preview || !preview.after) return;
  const ctx = c.getContext('2d');
  ctx.putImageData(preview.after, 0, 0);
  showMarks();
  if (!preview.box) return;
  const { x, y, w, h } = preview.box;
  ctx.fillStyle = 'rgb(0 0 0 / 0.6)';
  ctx.fillRect(x, y, w, h);
  ctx.strokeStyle = '#ff3b30';
  ctx.lineWidth = Math.max(1, c.width / 300);
  ctx.strokeRect(x, y, w, h);
  // The handle that resizes it.
  const hs = handleSize(c);
  ctx.fillStyle = '#ff3b30';
  ctx.fillRect(x + w - hs / 2, y + h - hs / 2, hs, hs);
}
// Dragging on the right-hand image draws a box; dragging inside the box moves it, and
// dragging its lower right corner (the square handle) resizes it.
let boxDrag = null; // { mode: 'new' | 'move' | 'resize', from, start }
/** The corner handle's reach, in image pixels: 8 pixels on screen. */
function handleSize(c) {
  const shown = c.getBoundingClientRect().width;
  return shown > 0 ? Math.max(1, (8 * c.width) / shown) : 1;
}
function boxPart(c, p) {
  const b = preview && preview.box;
  if (!b) return 'new';
  // (Within a third of a small box, so that the rest of it can still be dragged.)
  const reach = Math.min(handleSize(c), Math.max(1, b.w / 3), Math.max(1, b.h / 3));
  if (Math.abs(p.x - (b.x + b.w)) <= reach && Math.abs(p.y - (b.y + b.h)) <= reach) return 'resize';
  if (p.x >= b.x && p.x <= b.x + b.w && p.y >= b.y && p.y <= b.y + b.h) return 'move';
  return 'new';
}
$('preview-after').addEventListener('pointerdown', (ev) => {
  if (!preview || !preview.after) return;
  const from = imagePoint(ev.currentTarget, ev);
  boxDrag = { mode: boxPart(ev.currentTarget, from), from, start: preview.box && { ...preview.box } };
  // A new box is the user's own, replacing nothing found.
  if (boxDrag.mode === 'new') preview.replaces = null;
  ev.currentTarget.setPointerCapture(ev.pointerId);
});
$('preview-after').addEventListener('pointermove', (ev) => {
  const c = ev.currentTarget;
  const p = imagePoint(c, ev);
  if (!boxDrag) {
    const part = preview && preview.after ? boxPart(c, p) : 'new';
    c.style.cursor = part === 'new' && preview && detectionAt(p) ? 'pointer' : { new: 'crosshair', move: 'move', resize: 'nwse-resize' }[part];
    return;
  }
  const { mode, from, start } = boxDrag;
  const dx = p.x - from.x;
  const dy = p.y - from.y;
  if (mode === 'move') {
    preview.box = {
      ...start,
      x: Math.min(c.width - start.w, Math.max(0, start.x + dx)),
      y: Math.min(c.height - start.h, Math.max(0, start.y + dy)),
    };
  } else if (mode === 'resize') {
    preview.box = {
      ...start,
      w: Math.min(c.width - start.x, Math.max(1, start.w + dx)),
      h: Math.min(c.height - start.y, Math.max(1, start.h + dy)),
    };
  } else {
    preview.box = { x: Math.min(from.x, p.x), y: Math.min(from.y, p.y), w: Math.abs(dx), h: Math.abs(dy) };
  }
  showBox();
});
$('preview-after').addEventListener('pointerup', (ev) => {
  // A click (no drag: within 3 pixels on screen) on a box found says it is not text, or is
  // text after all; a box drawn before stays as it was.
  const c = ev.currentTarget;
  const p = imagePoint(c, ev);
  const unit = c.width / Math.max(1, c.getBoundingClientRect().width);
  const click = boxDrag && boxDrag.mode === 'new' && Math.hypot(p.x - boxDrag.from.x, p.y - boxDrag.from.y) <= 3 * unit;
  const found = click && detectionAt(boxDrag.from);
  const before = boxDrag && boxDrag.start;
  boxDrag = null;
  if (found) {
    preview.box = before;
    showBox();
    toggleDetection(found);
  }
  fillBoxForm();
  const ok = preview && preview.box && preview.box.w >= 1 && preview.box.h >= 1;
  $('box-actions').hidden = !ok;
});
// The same box, typed (for keyboards and exact positions).
$('box-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (!preview || !preview.after) return;
  const v = (id) => Number.parseInt($(id).value, 10);
  preview.box = { x: v('box-x'), y: v('box-y'), w: v('box-w'), h: v('box-h') };
  showBox();
  $('box-actions').hidden = false;
  $('box-image').focus();
});
function fillBoxForm() {
  if (!preview || !preview.box) return;
  for (const k of ['x', 'y', 'w', 'h']) $(`box-${k}`).value = String(Math.round(preview.box[k]));
}

for (const [button, scope] of [['box-image', 'image'], ['box-series', 'series'], ['box-size', 'size']]) {
  $(button).addEventListener('click', () => {
    if (!preview || !preview.box) return;
    // Focus stays among the box tools (the button pressed is about to be hidden), ready
    // for another box.
    $('box-x').focus();
    $('box-actions').hidden = true;
    $('preview-note').textContent = 'Blacking out the box and rebuilding the package…';
    toWorker.post(worker, 'region', { id: preview.id, scope, region: preview.box, replaces: preview.replaces || null });
    preview.replaces = null;
  });
}
// The boxes drawn so far that apply to the image shown (drawn on it, its series, or images
// of its size), each of which can be taken back; `index` is its place among all boxes drawn.
let drawnBoxes = [];
function showDrawnBoxes() {
  $('drawn').hidden = drawnBoxes.length === 0;
  $('drawn-list').replaceChildren(...drawnBoxes.map((b, i) => {
    const what = `Box ${i + 1}: ${b.w} × ${b.h} pixels at (${b.x}, ${b.y}), ${b.name.replace(/^box drawn on the page \((.*)\)$/, '$1')}`;
    const item = text('li', `${what} `);
    const remove = text('button', 'Remove');
    remove.type = 'button';
    remove.setAttribute('aria-label', `Remove ${what}`);
    remove.addEventListener('click', () => {
      if (!preview) return;
      $('preview-note').textContent = 'Removing the box and rebuilding the package…';
      toWorker.post(worker, 'removeRegion', { id: preview.id, index: b.index });
    });
    item.append(remove);
    return item;
  }));
}

function regionApplied(msg) {
  if (preview) preview.rebuilding = false;
  if (msg.error) {
    $('preview-note').textContent = `The box could not be changed: ${msg.error}`;
    return;
  }
  if (preview && msg.id === preview.id) {
    drawnBoxes = msg.boxes || [];
    showDrawnBoxes();
  }
  // Boxes change images: the thumbnails are made again.
  for (const [key, t] of thumbs) if (t !== 'pending') thumbs.delete(key);
  updateStatus();
  if (preview && msg.id === preview.id) {
    preview.loading = false;
    requestFrame(preview.frame);
  }
}

worker.onmessage = (ev) => handleMessage(ev.data);

// The values files of a series have in common (names, dates, UIDs of the study and series),
// held once for all their reports: a study of thousands of files would otherwise hold
// thousands of copies of each. What the page never uses of a file (its SOP Instance UID) is
// not kept. Its path in the package is: the row shows it, so that the
// user can tell which of their files each package file is (on the page only: the package
// never names the user's files).
const commonValues = new Map();
// (See ../shared/collect.js.)
const collector = new Collector();
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

/** An answer to a request of the page's: to the request waiting for it. */
function answered(msg) {
  requests.settle(msg);
}

/** One message of the worker's (files added and their results come a few at a time, in
 * `many`). */
function handleMessage(msg) {
  fromWorker.receive(msg, messageHandlers);
}
// A handler for every message of the worker (see ../shared/protocol.js).
const messageHandlers = {
  many(msg) { for (const m of msg.messages) handleMessage(m); },
  options(msg) {
    workerLoaded = true;
    if (network.counting && network.since === Infinity) network.since = performance.now();
    renderOptions(msg.value);
    restoreSettings();
  },
  added(msg) { addRow(msg.id, msg.name); },
  result(msg) {
    unsaved = true;
    showResult(msg.id, msg.report || shareValues(JSON.parse(msg.reportJson)), msg.bytes);
    collector.fileDone();
  },
  package(msg) {
    saveBlob(msg.blob, packageName());
    unsaved = false;
    if (msg.logLine) logExport(msg.logLine);
  },
  packageSaved,
  reid(msg) {
    saveBlob(new Blob([msg.text], { type: 'application/json' }), 'obscura-reidentification-key.json');
    $('reid-panel').hidden = true;
  },
  preview: answered,
  details: answered,
  regionApplied,
  keyImageSet,
  thumbnail: answered,
  settingsChanged: answered,
  network(msg) { network.worker = msg.count; if (network.counting) showNetwork(); },
  error(msg) { workerError = msg.message; updateStatus(); },
};
worker.onerror = (ev) => { workerError = ev.message || 'the worker stopped'; updateStatus(); };
toWorker.post(worker, 'options');
