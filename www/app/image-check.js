// The image check: a file's image before and after, drawn from what the worker rendered, as a
// viewer shows it (fitted and zoomed, the series list, frames and files by wheel and keys,
// window presets and dragging), with the boxes found outlined on the image, boxes drawn to
// black out, the key images, and "I looked at this image".

import { $, text, plural } from './dom.js';
import { store, on, emit, nextToCheck, seriesOfBatch } from './store.js';
import { worker, requests } from './bridge.js';
import { toWorker } from '../shared/protocol.js';

const { rows, keyChoices, thumbs } = store;

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

// Key images the user chose (store.keyChoices).
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
export function keyImageSet(msg) {
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
  emit('status');
});

/** Offer the next image to look at after this one, in the image check. */
function showNextToCheck() {
  const more = preview && nextToCheck(preview.id);
  $('preview-next').hidden = !more || more.id === preview.id;
}
on('status', showNextToCheck);
function lookAtNext(after) {
  const next = nextToCheck(after);
  if (next) openPreview(next.id, next.name);
}
$('preview-next').addEventListener('click', () => lookAtNext(preview && preview.id));
on('open-image', (id) => {
  const row = rows.get(id);
  if (row) openPreview(id, row.name);
});

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
// dragging its lower right corner (the square handle) resizes it. Dragging a box found
// moves it the same way: it becomes a box of the user's, which replaces the one found.
let boxDrag = null; // { mode: 'new' | 'move' | 'resize', from, start, found }
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
  const mode = boxPart(ev.currentTarget, from);
  boxDrag = { mode, from, start: preview.box && { ...preview.box }, found: mode === 'new' ? detectionAt(from) : null };
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
  const dx = p.x - boxDrag.from.x;
  const dy = p.y - boxDrag.from.y;
  // A box found, dragged further than a click goes: taken into the box tools, and moved.
  const unit = c.width / Math.max(1, c.getBoundingClientRect().width);
  if (boxDrag.mode === 'new' && boxDrag.found && Math.hypot(dx, dy) > 3 * unit && !preview.rebuilding) {
    const d = boxDrag.found;
    preview.box = { x: d.x, y: d.y, w: d.w, h: d.h };
    preview.replaces = d.rejected || d.annotation ? null : { ...preview.box };
    Object.assign(boxDrag, { mode: 'move', start: { ...preview.box }, found: null });
    $('preview-note').textContent = 'Drop the box where it should be, or drag its corner handle, then choose where to black it out: it replaces the box found.';
  }
  const { mode, from, start } = boxDrag;
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

export function regionApplied(msg) {
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
  emit('status');
  if (preview && msg.id === preview.id) {
    preview.loading = false;
    requestFrame(preview.frame);
  }
}

on('reset', () => {
  drawnBoxes = [];
  showDrawnBoxes();
});
// A series' picture arrived: the series list shows it.
on('thumbnail', renderSeriesStrip);
