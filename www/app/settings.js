// Step 2, the settings: presets and options, the project key and salt, detection, the rules
// file and the pseudonym list; remembered in this browser for the next visit. Settings
// changed after files were added clean the batch again, and so does a change of what goes
// into the package.

import { $, text, plural } from './dom.js';
import { store, on, emit, counts, packageChoice } from './store.js';
import { worker, requests } from './bridge.js';
import { toWorker } from '../shared/protocol.js';

let pseudonymsCsv = null;
let pixelRules = null;
let pixelRulesName = null;

$('key-form')?.addEventListener('submit', (ev) => ev.preventDefault());

/** The settings as the worker takes them. */
export function currentSettings() {
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


let choiceTimer = null;
/** A file or series was ticked or unticked: the package is made again with the choice. */
on('choice', () => {
  clearTimeout(choiceTimer);
  choiceTimer = setTimeout(async () => {
    const note = $('choice-note');
    note.hidden = false;
    note.textContent = 'Making the package again with your choice…';
    try {
      await requests.request('changeSettings', { settings: currentSettings() }, { signal: store.batchAsking.signal });
    } catch (e) {
      if (e.name !== 'AbortError') note.textContent = `Your choice could not be applied (${e.message}).`;
      return;
    }
    const { done, chosenOut } = counts();
    note.textContent = chosenOut
      ? `The package holds ${plural(done - chosenOut, 'file')}: ${chosenOut} left out by your choice.`
      : 'The package holds every file de-identified.';
    store.unsaved = true;
    emit('status');
  }, 300);
});

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

/** The settings go to the worker with the first file. */
export function ensureSettingsSent() {
  if (store.settingsSent) return;
  toWorker.post(worker, 'settings', { settings: currentSettings() });
  store.settingsSent = true;
}

// Settings changed after files were added: the batch is redone with them (same key, same
// boxes and key images), a moment after the last change. What was looked at is looked at
// again: the images may have changed.
let redoTimer = null;
// Controls of step 2 that change nothing in the files.
const NOT_CLEANING = new Set(['remember-key']);
function settingsChanged(ev) {
  if (!store.settingsSent || (ev && ev.target && NOT_CLEANING.has(ev.target.id))) return;
  clearTimeout(redoTimer);
  redoTimer = setTimeout(redoWithSettings, 300);
}
async function redoWithSettings() {
  const note = $('settings-note');
  const done = [...store.rows.values()].filter((r) => r.report).length;
  note.hidden = false;
  note.textContent = `Cleaning ${plural(done, 'file')} again with the new settings…`;
  try {
    await requests.request('changeSettings', { settings: currentSettings() }, { signal: store.batchAsking.signal });
  } catch (e) {
    if (e.name !== 'AbortError') note.textContent = `The new settings could not be used (${e.message}): the files keep the earlier ones.`;
    return;
  }
  for (const row of store.rows.values()) {
    row.checked = false;
    row.seen = false;
  }
  store.unsaved = true;
  emit('redone');
  emit('status');
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
export function presetValue() {
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


/** The worker's profile options and presets came: step 2 is drawn with them, as the user
 * left it last time. */
export function optionsCame(msg) {
  emit('worker-loaded');
  renderOptions(msg.value);
  restoreSettings();
}

// Starting over: the next file sends the settings again; a redo waiting is dropped.
on('reset', () => {
  clearTimeout(redoTimer);
  $('settings-note').hidden = true;
});
