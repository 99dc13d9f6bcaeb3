// Obscura as a library: de-identify DICOM files in a browser (a worker, preferably) or in
// Node, with the same Rust core as Obscura's page and CLI, compiled to WebAssembly. Nothing
// is sent anywhere: the core, and the text detection models it may use, are loaded from
// beside this module (your app's own origin in a browser, the disk in Node).
//
// The API is documented in README.md and typed in index.d.ts.

import initCore, * as core from './core/obscura.js';

/** The models shipped in this package, beside this module. */
const MODELS = {
  detector: './models/text-detect.onnx',
  reader: './models/text-read.onnx',
  keys: './models/text-read-keys.txt',
};

/**
 * Every error this library throws: `code` says what kind it is, for a program to act on,
 * and `message` says it in words for a person.
 */
export class ObscuraError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'ObscuraError';
    this.code = code;
  }
}

/** Bytes of a file beside this module: from the disk in Node, over `fetch` in a browser. */
async function besideThis(relative) {
  const url = new URL(relative, import.meta.url);
  if (url.protocol === 'file:') {
    const { readFile } = await import('node:fs/promises');
    return new Uint8Array(await readFile(url));
  }
  const response = await fetch(url);
  if (!response.ok) throw new ObscuraError('load', `${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** Bytes from what a caller may give: bytes, a URL, or a Response. */
async function bytesOf(source, fallback) {
  if (source === undefined || source === null) return besideThis(fallback);
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return asBytes(source);
  if (typeof Response !== 'undefined' && source instanceof Response) return new Uint8Array(await source.arrayBuffer());
  return besideThis(source instanceof URL ? source.href : String(source));
}

let loading = null;
let loaded = false;
let detection = { available: false, reason: 'Obscura is not loaded yet: call init() first' };

/**
 * Load the core (and, unless `textModels` is false, the text detection and reading models).
 * Call it once and wait for it before anything else; later calls return the same promise.
 */
export function init({ wasm, textModels = true } = {}) {
  loading ??= (async () => {
    try {
      await initCore({ module_or_path: await bytesOf(wasm, './core/obscura_bg.wasm') });
    } catch (e) {
      loading = null;
      throw new ObscuraError('load', `the Obscura core could not be loaded: ${e && e.message ? e.message : e}`);
    }
    loaded = true;
    if (textModels === false) {
      const why = 'text detection was turned off when Obscura was loaded (init({ textModels: false }))';
      core.textModelUnavailable(why);
      detection = { available: false, reason: why };
      return detectionStatus();
    }
    const given = typeof textModels === 'object' ? textModels : {};
    try {
      core.loadTextModel(await bytesOf(given.detector, MODELS.detector));
      detection = { available: true, reason: '' };
    } catch (e) {
      const why = `the text detection model could not be loaded: ${e && e.message ? e.message : e}`;
      core.textModelUnavailable(why);
      detection = { available: false, reason: why };
      return detectionStatus();
    }
    try {
      core.loadTextReader(await bytesOf(given.reader, MODELS.reader), await bytesOf(given.keys, MODELS.keys));
      detection.reading = true;
    } catch (e) {
      // Without the reader every box found is blanked (nothing is kept as an annotation).
      detection.reading = false;
      detection.readingReason = `the text recognition model could not be loaded: ${e && e.message ? e.message : e}`;
    }
    return detectionStatus();
  })();
  return loading;
}

/** Whether burned-in text can be looked for, and why not when it cannot. */
export function detectionStatus() {
  return { ...detection };
}

function mustBeLoaded() {
  if (!loaded) throw new ObscuraError('not-loaded', 'Obscura is not loaded yet: call and await init() first');
}

/** Call the core, turning what it throws into an ObscuraError of `code`. */
function calling(code, f) {
  try {
    return f();
  } catch (e) {
    if (e instanceof ObscuraError) throw e;
    const message = e && e.message ? e.message : String(e);
    // A trap (a bug, or memory exhausted) leaves the module unusable.
    if (e instanceof WebAssembly.RuntimeError) throw new ObscuraError('trap', `the Obscura core stopped: ${message}`);
    throw new ObscuraError(code, message);
  }
}

function asBytes(bytes) {
  if (bytes instanceof Uint8Array) return bytes;
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  if (ArrayBuffer.isView(bytes)) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  throw new ObscuraError('argument', 'a file is given as a Uint8Array, an ArrayBuffer or a Buffer');
}

/** The core's settings from a policy (see index.d.ts, `Policy`). */
function settingsOf(policy = {}) {
  const known = new Set(['key', 'options', 'hipaa', 'dateOffsetDays', 'pseudonymsCsv', 'acceptBurnedIn',
    'includeDocuments', 'pixelRules', 'detectText', 'keepAnnotations', 'regions', 'only']);
  for (const name of Object.keys(policy)) {
    if (!known.has(name)) throw new ObscuraError('settings', `unknown policy field ${JSON.stringify(name)}`);
  }
  const key = policy.key || {};
  let randomKey = [];
  if (key.bytes !== undefined) randomKey = Array.from(asBytes(key.bytes));
  else if (!key.passphrase) randomKey = Array.from(globalThis.crypto.getRandomValues(new Uint8Array(32)));
  const text = (v) => (v === undefined || v === null || typeof v === 'string' ? v : JSON.stringify(v));
  return {
    options: policy.options || [],
    passphrase: key.passphrase,
    salt: key.salt,
    randomKey,
    dateOffsetDays: policy.dateOffsetDays,
    pseudonymsCsv: policy.pseudonymsCsv,
    acceptBurnedIn: !!policy.acceptBurnedIn,
    includeDocuments: !!policy.includeDocuments,
    hipaa: policy.hipaa,
    pixelRules: text(policy.pixelRules),
    detectText: policy.detectText !== false,
    keepAnnotations: !!policy.keepAnnotations,
    userRegions: text(policy.regions),
    only: policy.only,
  };
}

/** What the core says of a de-identified file, as the library gives it. */
function resultOf(out) {
  const meta = JSON.parse(out.meta);
  return {
    bytes: out.bytes,
    changes: meta.changes,
    warnings: meta.warnings,
    detections: meta.detections,
    before: meta.before,
    after: meta.after,
    sopClassUid: meta.sop_class_uid,
    transferSyntax: meta.transfer_syntax,
  };
}

/** A run of the core under `policy`. */
function newRun(policy) {
  mustBeLoaded();
  const settings = settingsOf(policy);
  return calling('settings', () => new core.Run(settings));
}

/** The first pass over one file with `run`: whether it learned something new. */
function firstPass(run, bytes) {
  const scan = calling('scan', () => run.scan(asBytes(bytes)));
  return scan ? calling('scan', () => run.addScans([scan])) : false;
}

/**
 * De-identification under one policy: files de-identified one by one, with pseudonyms,
 * UIDs and shifted dates that agree across them. Give it every file's header first
 * (`scan`) when free text in one file may name a patient only a later file gives.
 */
export class Session {
  #run;

  constructor(policy = {}) {
    this.#run = newRun(policy);
  }

  /** The first pass over one file (its header is enough): learn its patient's identifiers.
   * Returns whether something new was learned. A file that cannot be read is passed over. */
  scan(bytes) {
    return firstPass(this.#live(), bytes);
  }

  /** De-identify one file: its bytes and what was done, or an ObscuraError saying why it is
   * left out (`code`: e.g. `not-dicom`, `burned-in`, `unlookable`, `video`). */
  deidentify(bytes) {
    const run = this.#live();
    const out = calling('deidentify', () => run.deidentify(asBytes(bytes)));
    if (out.status !== 'done') throw new ObscuraError(out.code || out.status, out.reason);
    return resultOf(out);
  }

  /** Free the core's memory for this session. */
  free() {
    if (this.#run) this.#run.free();
    this.#run = null;
  }

  #live() {
    if (!this.#run) throw new ObscuraError('freed', 'this session was freed');
    return this.#run;
  }
}

/**
 * A batch that becomes a package: the same ZIP Obscura's page and `obscura deid --zip` make
 * (DICOM/ with a DICOMDIR, key images, case.html and case.pptx, manifest.json, changes.json,
 * CHANGES.txt and the de-identification report). Scan every file first, then add each.
 */
export class Batch {
  #run;
  #parts = [];
  #results = [];
  #finished = false;

  constructor(policy = {}) {
    this.#run = newRun(policy);
  }

  /** The first pass over one file, as `Session.scan`. */
  scan(bytes) {
    return firstPass(this.#open(), bytes);
  }

  /** De-identify one file into the package. Never throws for a bad file: the result says
   * whether it was de-identified (`status: 'done'`, with its `packagePath`) or left out
   * (`excluded` or `skipped`, with `code` and `reason`). */
  add(bytes, name = '') {
    const run = this.#open();
    const out = calling('deidentify', () => run.process(asBytes(bytes)));
    this.#parts.push(out.chunk);
    const report = JSON.parse(out.reportJson);
    const result = {
      name,
      status: report.status,
      code: report.code || '',
      reason: report.reason,
      packagePath: report.packagePath,
      before: report.before,
      after: report.after,
      changeCount: report.changeCount,
      warnings: report.warnings,
      detections: report.detections,
      leftOutByChoice: report.leftOutByChoice,
    };
    this.#results.push(result);
    return result;
  }

  /** What happened to each file added, in order. */
  results() {
    return [...this.#results];
  }

  /**
   * The package as one ZIP. `notes`: the presenter's notes for case.html. `originals`: a
   * function giving an original file's bytes from its package path (what `add` returned),
   * for the key images (the middle image of each series) and cines; without it the
   * package has none.
   */
  async package({ notes = '', originals } = {}) {
    const run = this.#open();
    this.#finished = true;
    run.setCaseNotes(notes);
    const images = [];
    if (originals) {
      for (const [name, path] of run.keyImagePlan()) {
        const bytes = asBytes(await originals(path));
        images.push(calling('key-image', () => run.keyImage(name, bytes, undefined, undefined, undefined)));
        images.push(calling('key-image', () => run.cine(name.replace(/\.png$/, '-cine.gif'), bytes)));
      }
    }
    const parts = [...this.#parts, ...images, calling('package', () => run.packageTrailer())];
    const zip = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      zip.set(p, at);
      at += p.length;
    }
    this.#parts = [];
    return zip;
  }

  free() {
    if (this.#run) this.#run.free();
    this.#run = null;
    this.#parts = [];
  }

  #live() {
    if (!this.#run) throw new ObscuraError('freed', 'this batch was freed');
    return this.#run;
  }

  #open() {
    const run = this.#live();
    if (this.#finished) throw new ObscuraError('finished', 'this batch has made its package: start another batch');
    return run;
  }
}

/** One frame of a file (the middle one unless `frame`, 0-based) drawn for display, as RGBA:
 * `{width, height, rgba, frame, frames}`. */
export function renderFrame(bytes, { frame } = {}) {
  mustBeLoaded();
  return calling('render', () => core.renderFrame(asBytes(bytes), frame));
}

/** The profile options and presets a policy can name (`options`, `hipaa`). */
export function profileOptions() {
  mustBeLoaded();
  return core.profileOptions();
}

/** Obscura's fake sample study (two obviously fake patients, a CT, an MR and an ultrasound
 * with text burned into it), made here: `[{name, bytes}]`, to try the library on. */
export function sampleStudy() {
  mustBeLoaded();
  return core.sampleStudy().map(([name, bytes]) => ({ name, bytes }));
}
