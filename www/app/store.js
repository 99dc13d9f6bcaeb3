// The page's state, in one place, and the events by which its sections tell each other what
// changed.
//
// Each section of the page (settings.js, files.js, results.js, image-check.js, privacy.js)
// draws its own part and keeps its own view state (which page of the list, the image shown);
// what more than one section reads lives here, in `store`, and the questions asked of it
// (how many files are done, what goes into the package) are the functions below. A section
// never calls into another: it says what happened with `emit`, and the sections that care
// listen with `on`. So no section imports another one that imports it back, and main.js only
// puts them together and routes the worker's messages.

/** The batch as the page knows it. */
export const store = {
  /** id → { name, report, flagged, checked, seen, inPackage, tr (while on the list's page) } */
  rows: new Map(),
  /** Files added and not yet answered. */
  pending: 0,
  /** Progress of the current batch: files and bytes done, throughput and time left. */
  progress: { files: 0, bytes: 0, total: 0, start: 0 },
  /** What the worker said went wrong with it, if anything. */
  workerError: null,
  /** Whether the settings went to the worker (they do with the first file). */
  settingsSent: false,
  /** Files cleaned since the last package was saved: leaving asks first. */
  unsaved: false,
  /** Cancels the requests about the batch's files (lists of changes, thumbnails) when the
   * user starts over: their answers, when they come, are dropped. */
  batchAsking: new AbortController(),
  /** Key images the user chose: file id → { frame, window } (window undefined: the file's own). */
  keyChoices: new Map(),
  /** Series thumbnails: new Series Instance UID → canvas, 'pending' or 'none'. */
  thumbs: new Map(),
};

/**
 * What a section can say happened, and what it carries:
 * - `status` (tree?: boolean): files were counted, ticked or changed: the status line, its
 *   buttons and (unless `tree` is false) the study tree are drawn again (results.js);
 * - `open-image` (id): the user asked to look at a file's image (image-check.js);
 * - `choice`: a file or series was ticked in or out of the package (settings.js makes the
 *   package again with the choice);
 * - `redone`: every file was cleaned again with new settings (files.js redraws the rows);
 * - `thumbnail`: a series' picture arrived (image-check.js redraws its series list);
 * - `worker-loaded`: the worker has loaded all its scripts (privacy.js starts counting);
 * - `reset`: the user started over: each section forgets what it showed.
 */
const EVENTS = new Set(['status', 'open-image', 'choice', 'redone', 'thumbnail', 'worker-loaded', 'reset']);
const listeners = new Map([...EVENTS].map((e) => [e, []]));

/** Call `fn` whenever `event` happens. */
export function on(event, fn) {
  if (!EVENTS.has(event)) throw new Error(`the page has no event "${event}"`);
  listeners.get(event).push(fn);
}

/** Say that `event` happened, to every section listening. */
export function emit(event, ...args) {
  if (!EVENTS.has(event)) throw new Error(`the page has no event "${event}"`);
  for (const fn of listeners.get(event)) fn(...args);
}

/** Start over: the batch is forgotten (each section forgets its own view on `reset`). */
export function forgetBatch() {
  store.rows.clear();
  store.batchAsking.abort();
  store.batchAsking = new AbortController();
  store.keyChoices.clear();
  store.thumbs.clear();
  store.pending = 0;
  store.workerError = null;
  store.settingsSent = false;
  store.unsaved = false;
  emit('reset');
}

/** How many files are where. */
export function counts() {
  let done = 0; let excluded = 0; let skipped = 0; let warned = 0; let cancelled = 0; let unchecked = 0;
  let indexes = 0; // DICOMDIR indexes skipped
  let chosenOut = 0; // de-identified, but left out of the package by the user's choice
  for (const { report, checked } of store.rows.values()) {
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

// What goes into the package (HIPAA's minimum necessary): every file starts chosen; the user
// unticks a file ("In the package", in its row) or a series (in "In the package" above the
// list). The choice goes to the core as the CLI's `--only` takes it (package/selection.rs):
// the series by their UIDs in the package and the images by Instance Number, so the same
// choice gives the same package.
/** The choice as `--only`'s SPEC ('' for everything), each series by its Series Instance UID
 * in the package (two studies may both have a series 1). */
export function packageChoice() {
  const series = new Map(); // new Series Instance UID → { all: true|false, chosen: [Instance Number] }
  let everything = true;
  for (const row of store.rows.values()) {
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

// What needs the user leads there: the status line, the status bar and the image check offer
// the next image flagged for burned-in text that nobody has looked at yet, in the order the
// files came.
/** The id and name of the next image to look at (after `after`, wrapping), and how many are
 * left, or null. */
export function nextToCheck(after) {
  const waiting = [...store.rows].filter(([, row]) => row.report && row.report.status === 'done'
    && !row.report.leftOutByChoice && (row.report.warnings || []).length && !row.checked);
  if (waiting.length === 0) return null;
  const later = waiting.findIndex(([id]) => id > after);
  const [id, row] = waiting[after === undefined || later < 0 ? 0 : later];
  return { id, name: row.name, left: waiting.length };
}

/** The series of the batch that hold images, in the order their files came: `{ uid, ids,
 * modality, number, description }`, `ids` the files of each. */
export function seriesOfBatch() {
  const series = new Map();
  for (const [id, r] of store.rows) {
    const after = r.report && r.report.status === 'done' && r.report.after;
    if (!after || !after.hasPixels) continue;
    const key = after.seriesUid || `file ${id}`;
    if (!series.has(key)) series.set(key, { uid: after.seriesUid, ids: [], modality: after.modality, number: after.seriesNumber, description: after.seriesDescription });
    series.get(key).ids.push(id);
  }
  return [...series.values()];
}
