// Types of Obscura's library API (index.js). See README.md.

/** The kinds of error: a file's (why it is left out) or the library's own. */
export type ErrorCode =
  // Why a file is left out:
  | 'not-dicom' | 'archive' | 'gzip' | 'unreadable' | 'damaged' | 'pixels' | 'burned-in'
  | 'document' | 'recording' | 'video' | 'unlookable' | 'write' | 'pseudonyms' | 'override'
  | 'key' | 'reported' | 'skipped'
  // The library's own:
  | 'load' | 'not-loaded' | 'settings' | 'argument' | 'scan' | 'deidentify' | 'render'
  | 'key-image' | 'package' | 'freed' | 'finished' | 'trap';

/** Every error the library throws. */
export class ObscuraError extends Error {
  readonly name: 'ObscuraError';
  /** What kind of error, for a program to act on. */
  readonly code: ErrorCode;
}

/** Bytes, a URL (relative to the page, or absolute on your own origin), or a fetched Response. */
export type Source = Uint8Array | ArrayBuffer | URL | string | Response;

export interface InitOptions {
  /** The core (`core/obscura_bg.wasm`); by default, the file beside index.js. */
  wasm?: Source;
  /**
   * The text detection and reading models. `true` (the default): the ones shipped beside
   * index.js (`models/`). `false`: none, and images that need looking at for burned-in text
   * are left out (code `unlookable`). Each model is checked against its SHA-256 before use.
   */
  textModels?: boolean | { detector?: Source; reader?: Source; keys?: Source };
}

export interface DetectionStatus {
  /** Whether burned-in text can be looked for. */
  available: boolean;
  /** Why not, when it cannot. */
  reason: string;
  /** Whether what is found can be read (for `keepAnnotations`). */
  reading?: boolean;
  readingReason?: string;
}

/** Load the core and the models; call once and await before anything else. */
export function init(options?: InitOptions): Promise<DetectionStatus>;
export function detectionStatus(): DetectionStatus;

/** The project key: the same key (and the same policy) gives the same pseudonyms and UIDs. */
export type Key =
  /** A passphrase and the project's salt (32 hex digits), as `obscura deid --key-file`. */
  | { passphrase: string; salt: string }
  /** At least 16 random bytes. */
  | { bytes: Uint8Array };

/** A rectangle in an image's pixels. */
export interface Region { x: number; y: number; w: number; h: number }

/** How files are de-identified: the DICOM PS3.15 Basic Profile, with these choices. */
export interface Policy {
  /** The project key; a fresh random key when absent (pseudonyms then differ every session). */
  key?: Key;
  /** Profile option ids (see `profileOptions()`), e.g. `retain-uids`, `clean-descriptors`. */
  options?: string[];
  /** A HIPAA method: `hipaa-safe-harbor` or `hipaa-limited-data-set`. */
  hipaa?: string;
  /** Shift every date by this many days, rather than removing it (with `retain-long-modified-dates`). */
  dateOffsetDays?: number;
  /** Pseudonyms to use, as CSV (`original_patient_id,pseudonym`). */
  pseudonymsCsv?: string;
  /** Include images marked as having burned-in text that could not be looked at, flagged. */
  acceptBurnedIn?: boolean;
  /** Include files holding a document (PDF, CDA), the document replaced by a placeholder. */
  includeDocuments?: boolean;
  /** Pixel rules: Obscura's JSON (as text or as an object) or a CTP pixel script. */
  pixelRules?: string | object;
  /** Look for burned-in text in the kinds of image that carry it (default true). */
  detectText?: boolean;
  /** Leave visible boxes whose whole text is a non-identifying annotation (L, R, cm, …). */
  keepAnnotations?: boolean;
  /** Boxes to black out or leave visible, as the page's drawn boxes (JSON text or object). */
  regions?: string | object;
  /** What a Batch's package holds, as `obscura deid --only` takes it: `2;3:1-10,12`. */
  only?: string;
}

/** One thing done to one attribute. Never holds the original value. */
export interface Change {
  /** The tag, prefixed by the sequences and items holding it: `(0008,1115)[1]/(0008,1155)`. */
  path: string;
  /** The attribute's keyword, or `Private` / `Unknown`. */
  name: string;
  /** `removed`, `emptied`, `replaced`, `uid-replaced`, `date-shifted`, `cleaned`, `aggregated`, `kept`, `added`. */
  action: string;
  /** Why, in a few words. */
  reason: string;
}

/** The values that name a file in lists (before: original; after: de-identified). */
export interface Summary {
  patientName: string; patientId: string; studyDate: string; studyTime: string; studyId: string;
  accessionNumber: string; studyDescription: string; seriesDescription: string; modality: string;
  bodyPart: string; studyUid: string; seriesUid: string; instanceUid: string;
  seriesNumber: string; instanceNumber: string; hasPixels: boolean;
}

/** A box of burned-in text found. `text` is what was read in it: for your eyes only (it may
 * name the patient); never log or send it. */
export interface Detection extends Region { rejected: boolean; text: string; annotation: boolean }

export interface Deidentified {
  /** The de-identified file. */
  bytes: Uint8Array;
  changes: Change[];
  /** What needs a person's look (e.g. burned-in text found and blanked). */
  warnings: string[];
  detections: Detection[];
  /** Original values (keep them on this machine). */
  before: Summary;
  after: Summary;
  sopClassUid: string;
  transferSyntax: string;
}

export class Session {
  constructor(policy?: Policy);
  /** First pass over a file (its header is enough); whether it taught the session something new. */
  scan(bytes: Uint8Array | ArrayBuffer): boolean;
  /** De-identify one file; throws an ObscuraError (with the file's `code`) when it is left out. */
  deidentify(bytes: Uint8Array | ArrayBuffer): Deidentified;
  free(): void;
}

export interface FileResult {
  name: string;
  status: 'done' | 'excluded' | 'skipped';
  code: ErrorCode | '';
  reason: string;
  /** Where the file is in the package, e.g. `DICOM/PAT0001/STU0001/SER0001/IM000001`. */
  packagePath: string;
  before: Summary | null;
  after: Summary | null;
  changeCount: number;
  warnings: string[];
  detections: Detection[];
  /** De-identified, but not in the package (not among `only`). */
  leftOutByChoice: boolean;
}

export interface PackageOptions {
  /** The presenter's notes, for case.html. */
  notes?: string;
  /** An original file's bytes from its package path, for key images and cines. */
  originals?: (packagePath: string) => Uint8Array | ArrayBuffer | Promise<Uint8Array | ArrayBuffer>;
}

export class Batch {
  constructor(policy?: Policy);
  scan(bytes: Uint8Array | ArrayBuffer): boolean;
  /** Never throws for a bad file: the result says what happened. */
  add(bytes: Uint8Array | ArrayBuffer, name?: string): FileResult;
  results(): FileResult[];
  /** The package as one ZIP; the batch is finished after it. */
  package(options?: PackageOptions): Promise<Uint8Array>;
  free(): void;
}

export interface Frame { width: number; height: number; rgba: Uint8Array; frame: number; frames: number }
export function renderFrame(bytes: Uint8Array | ArrayBuffer, options?: { frame?: number }): Frame;

/** A profile option (PS3.15 Table E.1-1's columns, and Obscura's own). */
export interface ProfileOption { id: string; label: string; explanation: string }
/** A preset: options chosen together for a purpose, and the HIPAA method it follows. */
export interface Preset { id: string; label: string; explanation: string; options: string[]; hipaa: string | null }
export function profileOptions(): { options: ProfileOption[]; presets: Preset[] };

/** Obscura's fake sample study (two obviously fake patients, a CT, an MR and an ultrasound with
 * text burned into it), to try the library on. */
export function sampleStudy(): { name: string; bytes: Uint8Array }[];
