//! The browser binding: a thin layer over [`crate::deid::Session`] and
//! [`crate::package::PackageWriter`]. It only converts between JavaScript and Rust values.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::deid::{
    Change, Deidentified, Outcome, Policy, ProjectKey, ReviewRow, Session, Summary, TextDetector,
};
use crate::package::PackageWriter;
use crate::profile::{OptionSet, ProfileOption, PRESETS};

/// What the page learns about one processed file as it is done. The list of changes, with
/// original values, is kept out of it: the page asks for it ([`Run::details`]) when the user
/// opens it, so that thousands of files' lists never cross to the page nor stay there.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FileReport<'a> {
    status: &'static str,
    /// Why a file was left out, as a short stable name ([`crate::deid::DeidError::code`], or
    /// `skipped`); empty when it was de-identified.
    #[serde(skip_serializing_if = "str::is_empty")]
    code: &'static str,
    reason: String,
    before: Option<&'a Summary>,
    after: Option<&'a Summary>,
    /// How many attributes were changed.
    change_count: usize,
    warnings: &'a [String],
    /// Boxes automatic detection found in the image (blanked, or left visible at the user's
    /// word).
    detections: &'a [crate::deid::Detection],
    package_path: String,
    /// De-identified, but left out of the package: the user did not choose it.
    left_out_by_choice: bool,
}

impl FileReport<'_> {
    fn without_file(
        status: &'static str,
        code: &'static str,
        reason: String,
    ) -> FileReport<'static> {
        FileReport {
            status,
            code,
            reason,
            before: None,
            after: None,
            change_count: 0,
            warnings: &[],
            detections: &[],
            package_path: String::new(),
            left_out_by_choice: false,
        }
    }
}

fn js_err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

thread_local! {
    /// This instance's text detector: the model the page fetched from its own origin and gave
    /// to [`load_text_model`], or why there is none.
    static TEXT_DETECTOR: std::cell::RefCell<TextDetector> = std::cell::RefCell::new(
        TextDetector::Unavailable("the page has not loaded the text detection model".into()),
    );
}

/// Load the text detection model from the bytes of its file (checked against its SHA-256
/// first). Runs and cleaners made afterwards detect text with it. On failure, detection is
/// unavailable, with the reason, until a model loads.
#[wasm_bindgen(js_name = loadTextModel)]
pub fn load_text_model(bytes: &[u8]) -> Result<(), JsError> {
    let (detector, result) = match crate::pixels::text_model::TextModel::load(bytes) {
        Ok(model) => (
            TextDetector::Learned {
                model: std::sync::Arc::new(model),
                // As the CLI: the band detector adds recall (docs/benchmarks.md).
                bands: true,
                // Given with the run's policy (`policy_from`), whenever it was loaded.
                reader: None,
            },
            Ok(()),
        ),
        Err(e) => (TextDetector::Unavailable(e.to_string()), Err(js_err(&e))),
    };
    TEXT_DETECTOR.with(|d| *d.borrow_mut() = detector);
    result
}

thread_local! {
    /// This instance's reader of the boxes found, once the page gave it
    /// ([`load_text_reader`]).
    static TEXT_READER: std::cell::RefCell<Option<std::sync::Arc<crate::pixels::text_read::TextReader>>> =
        const { std::cell::RefCell::new(None) };
}

/// Load the text recognition model and its characters from their files' bytes (both checked
/// against their SHA-256 first). Runs and cleaners made afterwards read the boxes they find:
/// the page shows what was read, and "Keep non-identifying annotations" can work. On failure
/// there is no reader: nothing is read, and every box found is blanked.
#[wasm_bindgen(js_name = loadTextReader)]
pub fn load_text_reader(model: &[u8], keys: &[u8]) -> Result<(), JsError> {
    let loaded = crate::pixels::text_read::TextReader::load(model, keys);
    let (reader, result) = match loaded {
        Ok(reader) => (Some(std::sync::Arc::new(reader)), Ok(())),
        Err(e) => (None, Err(js_err(&e))),
    };
    TEXT_READER.with(|r| *r.borrow_mut() = reader);
    result
}

/// Say why the page could not get the text detection model (it could not be fetched, or
/// its integrity check failed): files that need detection are flagged, with this reason.
#[wasm_bindgen(js_name = textModelUnavailable)]
pub fn text_model_unavailable(why: &str) {
    TEXT_DETECTOR.with(|d| *d.borrow_mut() = TextDetector::Unavailable(why.to_string()));
}

/// A de-identification run in the browser: a session plus the package being streamed.
#[wasm_bindgen]
pub struct Run {
    session: Session,
    package: PackageWriter,
}

#[wasm_bindgen]
impl Run {
    /// Start a run with the page's settings: `{options, passphrase, salt, randomKey,
    /// dateOffsetDays, pseudonymsCsv, acceptBurnedIn, includeDocuments, hipaa, pixelRules,
    /// detectText, keepAnnotations, userRegions, only}` (see [`RunSettings`]).
    #[wasm_bindgen(constructor)]
    pub fn new(settings: JsValue) -> Result<Run, JsError> {
        let settings = settings_from(settings)?;
        let mut package = PackageWriter::new();
        let only = crate::package::Selection::parse(settings.only.as_deref().unwrap_or(""))
            .map_err(js_err)?;
        package.layout_mut().set_selection(only);
        Ok(Run {
            session: session_of(settings)?,
            package,
        })
    }

    /// Package a file a [`Cleaner`] made with the same settings, from what
    /// [`Cleaner::clean`] gave: `status`, `reason`, `meta` (as UTF-8 bytes), and the file's
    /// ZIP entry data (`crc`, `size`, `method`, `body`). Returns `{report, reportJson, chunk}`
    /// as [`Run::process`] does.
    #[wasm_bindgen(js_name = addCleaned)]
    #[allow(clippy::too_many_arguments)]
    pub fn add_cleaned(
        &mut self,
        status: &str,
        reason: &str,
        meta: &[u8],
        crc: u32,
        size: f64,
        method: u16,
        body: Vec<u8>,
    ) -> Result<JsValue, JsError> {
        let (outcome, compressed) = match status {
            "done" => {
                let d: Deidentified = serde_json::from_slice(meta).map_err(js_err)?;
                self.session.note_done(&d);
                let c = crate::package::Compressed {
                    crc,
                    size: size as u64,
                    method,
                    body,
                };
                (Outcome::Done(Box::new(d)), Some(c))
            }
            "skipped" => (Outcome::Skipped(reason.to_string()), None),
            _ => (
                Outcome::Excluded(crate::deid::DeidError::Reported(reason.to_string())),
                None,
            ),
        };
        self.report(outcome, compressed)
    }

    /// First pass over one file: `head`, its bytes up to its pixel data at least (see
    /// [`header_length`]). Gives what it learns of the file's patient as JSON, for
    /// [`Run::add_scans`] and the settings of the run's cleaners (`scans`); nothing when the
    /// file cannot be read (the second pass says why). Nothing is recorded here.
    pub fn scan(&self, head: &[u8]) -> Result<Option<String>, JsError> {
        match self.session.scan(head) {
            Some(scan) => serde_json::to_string(&scan).map(Some).map_err(js_err),
            None => Ok(None),
        }
    }

    /// Record scans [`Run::scan`] gave: free text is cleaned of the identifiers of every
    /// patient they name, whichever file comes first. Whether the run learned an identifying
    /// value it did not know (files already cleaned may then come out differently).
    #[wasm_bindgen(js_name = addScans)]
    pub fn add_scans(&mut self, scans: Vec<String>) -> Result<bool, JsError> {
        add_scans(&mut self.session, &scans)
    }

    /// De-identify one file without placing it in the package, for a program that uses
    /// Obscura as a library: `{status, code, reason, bytes, meta}`. When `status` is `done`,
    /// `bytes` is the de-identified file and `meta` (JSON) what [`Deidentified`] says of it:
    /// its changes, warnings, boxes of text found and summaries. Otherwise `code` (see
    /// [`crate::deid::DeidError::code`], or `skipped`) and `reason` say why. The run records
    /// the file as it records packaged ones, so pseudonyms and UIDs agree across files.
    pub fn deidentify(&mut self, bytes: Vec<u8>) -> Result<JsValue, JsError> {
        let out = match self.session.process_owned(bytes) {
            Outcome::Done(d) => {
                let out = with_status("done", "")?;
                let meta = serde_json::to_string(&*d).map_err(js_err)?;
                set(&out, "meta", &meta.into())?;
                set(&out, "bytes", &js_sys::Uint8Array::from(d.bytes.as_slice()))?;
                out
            }
            Outcome::Skipped(why) => {
                let out = with_status("skipped", &why)?;
                set(&out, "code", &"skipped".into())?;
                out
            }
            Outcome::Excluded(e) => {
                let out = with_status("excluded", &e.to_string())?;
                set(&out, "code", &e.code().into())?;
                out
            }
        };
        Ok(out.into())
    }

    /// De-identify one file. Returns `{report, reportJson, chunk}`: what happened (`report`: its
    /// `status` and `packagePath`; `reportJson`: all of it, as JSON), and the bytes to append
    /// to the package (empty when the file was excluded or skipped).
    pub fn process(&mut self, bytes: Vec<u8>) -> Result<JsValue, JsError> {
        let outcome = self.session.process_owned(bytes);
        self.report(outcome, None)
    }
}

impl Run {
    /// `bytes` (an original file) de-identified again with a copy of the run's state, as in
    /// the package, for what the page shows or adds later (the run itself is not changed).
    fn again(&self, bytes: &[u8]) -> Result<Deidentified, JsError> {
        self.session.clone().deidentify(bytes).map_err(js_err)
    }

    /// Frame `frame` (default: the middle one) of `bytes` as it goes into the package, drawn
    /// with `window` (default: the file's own).
    fn packaged_image(
        &self,
        bytes: &[u8],
        frame: Option<u32>,
        window: Option<(f64, f64)>,
    ) -> Result<crate::pixels::Rendered, JsError> {
        render_cleaned(&self.again(bytes)?, frame, window)
    }

    /// Place a file's outcome in the package (with its bytes compressed beforehand when
    /// `compressed` is given): `{report, reportJson, chunk}`.
    fn report(
        &mut self,
        outcome: Outcome,
        compressed: Option<crate::package::Compressed>,
    ) -> Result<JsValue, JsError> {
        let (report, chunk) = match &outcome {
            Outcome::Done(d) => {
                // De-identified, but not placed when it is not among what the user chose
                // for the package.
                let chosen = self.package.layout_mut().choose(d);
                let (path, chunk) = match &compressed {
                    _ if !chosen => (String::new(), Vec::new()),
                    Some(c) => self.package.add_compressed(d, c),
                    None => self.package.add(d),
                };
                (
                    FileReport {
                        status: "done",
                        code: "",
                        reason: String::new(),
                        before: Some(&d.before),
                        after: Some(&d.after),
                        change_count: d.changes.len(),
                        warnings: &d.warnings,
                        detections: &d.detections,
                        package_path: path,
                        left_out_by_choice: !chosen,
                    },
                    chunk,
                )
            }
            Outcome::Skipped(why) => {
                self.package.layout_mut().skip();
                (
                    FileReport::without_file("skipped", "skipped", why.clone()),
                    Vec::new(),
                )
            }
            Outcome::Excluded(e) => {
                let reason = e.to_string();
                self.package.layout_mut().exclude(&reason);
                (
                    FileReport::without_file("excluded", e.code(), reason),
                    Vec::new(),
                )
            }
        };
        let out = js_sys::Object::new();
        // The report whole as JSON (one string: the page parses it; building it here as
        // objects and copying those to the page cost more than the file itself), and what
        // the batch needs of it as fields.
        let brief = js_sys::Object::new();
        set(&brief, "status", &report.status.into())?;
        set(&brief, "packagePath", &report.package_path.as_str().into())?;
        set(&out, "report", &brief)?;
        let json = serde_json::to_string(&report).map_err(js_err)?;
        set(&out, "reportJson", &json.into())?;
        set(&out, "chunk", &js_sys::Uint8Array::from(chunk.as_slice()))?;
        Ok(out.into())
    }
}

/// Frame `frame` of a de-identified file, drawn with `window` (default: the file's own).
fn render_cleaned(
    cleaned: &Deidentified,
    frame: Option<u32>,
    window: Option<(f64, f64)>,
) -> Result<crate::pixels::Rendered, JsError> {
    let after = crate::dicom::read_file(&cleaned.bytes).map_err(js_err)?;
    crate::pixels::render_with(&after, frame, window).map_err(js_err)
}

/// What was changed in one file, for the user to read on this computer: every change, and
/// original values beside new ones.
#[derive(Serialize)]
struct FileDetails<'a> {
    changes: &'a [Change],
    review: &'a [ReviewRow],
}

#[wasm_bindgen]
impl Run {
    /// What was changed in `bytes` (the original file, de-identified again as in the
    /// package), as JSON: `{changes, review}` (see [`Deidentified`]).
    pub fn details(&self, bytes: &[u8]) -> Result<String, JsError> {
        let d = self.again(bytes)?;
        serde_json::to_string(&FileDetails {
            changes: &d.changes,
            review: &d.review,
        })
        .map_err(js_err)
    }

    /// A frame (the middle one unless `frame` is given, 0-based) of a file before and after
    /// de-identification, for the user to check the image, with the file's window unless
    /// `window_width` is given (0 or less: the frame's full range): `{before, after}`, each `{width, height, rgba, frame, frames}` and, for greyscale,
    /// `windowCenter` and `windowWidth` (`after` is
    /// what goes into the package; the run itself is not changed).
    pub fn preview(
        &self,
        bytes: &[u8],
        frame: Option<u32>,
        window_center: Option<f64>,
        window_width: Option<f64>,
    ) -> Result<JsValue, JsError> {
        let window = window_width.map(|w| (window_center.unwrap_or(0.0), w));
        let before = crate::dicom::read_file(bytes).map_err(js_err)?;
        let before = crate::pixels::render_with(&before, frame, window).map_err(js_err)?;
        let cleaned = self.again(bytes)?;
        let after = render_cleaned(&cleaned, frame, window)?;
        let out = js_sys::Object::new();
        set(&out, "before", &rendered(before)?)?;
        set(&out, "after", &rendered(after)?)?;
        // The boxes found, with what was read in each: the page's pool reads only when
        // annotations are kept (the reader is large), so the text the image check shows
        // comes from here. For the user's eyes only.
        // (As plain objects: a box's fields are flattened, which would otherwise make a Map.)
        let found = cleaned
            .detections
            .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
            .map_err(js_err)?;
        set(&out, "detections", &found)?;
        Ok(out.into())
    }

    /// The picture of a file's series on the page: its middle frame as it goes into the
    /// package, with the file's window (what [`Run::preview`] gives as `after`, without
    /// drawing the original as well).
    pub fn thumbnail(&self, bytes: &[u8]) -> Result<JsValue, JsError> {
        rendered(self.packaged_image(bytes, None, None)?)
    }

    /// Add the cine `name` (an animated GIF, see [`crate::package::cine`]) of `bytes` (the
    /// original file, de-identified again as in the package). Returns the archive bytes to
    /// append: empty for a single-frame image, or when the cine is already there.
    pub fn cine(&mut self, name: &str, bytes: &[u8]) -> Result<Vec<u8>, JsError> {
        if self.package.layout_mut().has_image(name) {
            return Ok(Vec::new());
        }
        let cleaned = self.again(bytes)?;
        match crate::package::cine(&cleaned.bytes).map_err(js_err)? {
            Some(gif) => Ok(self.package.add_key_image(name, &gif)),
            None => Ok(Vec::new()),
        }
    }

    /// The key images the package still lacks: `[[image name, package path], …]`, the middle
    /// image of each series.
    #[wasm_bindgen(js_name = keyImagePlan)]
    pub fn key_image_plan(&mut self) -> js_sys::Array {
        let out = js_sys::Array::new();
        for (name, path) in self.package.layout_mut().key_image_plan() {
            let pair = js_sys::Array::new();
            pair.push(&JsValue::from_str(&name));
            pair.push(&JsValue::from_str(&path));
            out.push(&pair);
        }
        out
    }

    /// Add key image `name` made from `bytes` (the original file; it is de-identified again
    /// with a copy of the run's state, exactly as in the package): frame `frame` (0-based; the
    /// middle one when not given) with the file's window unless `window_width` is given.
    /// Returns the archive bytes to append (empty when the image is already there).
    #[wasm_bindgen(js_name = keyImage)]
    pub fn key_image(
        &mut self,
        name: &str,
        bytes: &[u8],
        frame: Option<u32>,
        window_center: Option<f64>,
        window_width: Option<f64>,
    ) -> Result<Vec<u8>, JsError> {
        let cleaned = self.again(bytes)?;
        let window = window_width.map(|w| (window_center.unwrap_or(0.0), w));
        let png = crate::package::key_image_with(&cleaned.bytes, frame, window).map_err(js_err)?;
        Ok(self.package.add_key_image(name, &png))
    }

    /// Record a file that could not be processed at all (the module stopped on it), so the
    /// package's manifest and change log list it as excluded with `reason`.
    #[wasm_bindgen(js_name = noteExcluded)]
    pub fn note_excluded(&mut self, reason: &str) {
        self.package.layout_mut().exclude(reason);
    }

    /// The user's teaching notes for `case.html` in the package (their own words).
    #[wasm_bindgen(js_name = setCaseNotes)]
    pub fn set_case_notes(&mut self, notes: &str) {
        self.package.layout_mut().set_notes(notes);
    }

    /// The last bytes of the package as it is now (report files and ZIP directory).
    #[wasm_bindgen(js_name = packageTrailer)]
    pub fn package_trailer(&mut self) -> Vec<u8> {
        self.package.trailer(self.session.policy())
    }

    /// The export log's line (JSON) for the package of this run that a [`PackageExport`] just
    /// wrote: made at `unixSeconds` with the preset `preset` ('' for none), `bytes` long, of
    /// SHA-256 `sha256`, `encrypted` or not. No patient data.
    #[wasm_bindgen(js_name = exportLogLine)]
    pub fn export_log_line(
        &mut self,
        preset: &str,
        unix_seconds: f64,
        bytes: f64,
        sha256: &str,
        encrypted: bool,
    ) -> String {
        let written = crate::package::Written {
            bytes: bytes as u64,
            sha256: sha256.to_string(),
            encrypted,
        };
        self.package.layout_mut().export_log_line(
            self.session.policy(),
            Some(preset).filter(|p| !p.is_empty()),
            crate::package::MadeBy::Browser,
            unix_seconds as i64,
            &written,
        )
    }

    /// The re-identification key (original → pseudonym), sealed with `passphrase`; `random`
    /// is 28 bytes from `crypto.getRandomValues`. Only on the user's request.
    #[wasm_bindgen(js_name = reidentificationKey)]
    pub fn reidentification_key(&self, passphrase: &str, random: &[u8]) -> Result<String, JsError> {
        let csv = crate::deid::reidentification_csv(&self.session);
        crate::deid::reid::seal(&csv, passphrase, random).map_err(js_err)
    }
}

fn set(obj: &js_sys::Object, key: &str, value: &JsValue) -> Result<(), JsError> {
    js_sys::Reflect::set(obj, &key.into(), value)
        .map(|_| ())
        .map_err(|_| js_err("could not build the result"))
}

/// The page's settings for a run (and for the pool's cleaners, which get the same).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RunSettings {
    /// Profile option ids (e.g. `retain-uids`).
    #[serde(default)]
    options: Vec<String>,
    /// The project key's passphrase: same passphrase and salt, same results.
    passphrase: Option<String>,
    /// The project's random salt for the passphrase, as 32 hex digits.
    salt: Option<String>,
    /// Without a passphrase, the key: at least 16 random bytes.
    #[serde(default)]
    random_key: Vec<u8>,
    date_offset_days: Option<i32>,
    pseudonyms_csv: Option<String>,
    /// Include images marked as having burned-in text, flagged.
    #[serde(default)]
    accept_burned_in: bool,
    /// Include files that hold an encapsulated document, with a placeholder document.
    #[serde(default)]
    include_documents: bool,
    /// The HIPAA method of the chosen preset (`hipaa-safe-harbor`, `hipaa-limited-data-set`).
    hipaa: Option<String>,
    /// A rules file: Obscura's JSON or a CTP pixel script.
    pixel_rules: Option<String>,
    #[serde(default)]
    detect_text: bool,
    /// Leave visible the boxes whose whole text reads as a non-identifying annotation.
    #[serde(default)]
    keep_annotations: bool,
    /// The boxes the user drew or rejected, as JSON (see `RegionRules::from_json`).
    user_regions: Option<String>,
    /// The batch's first pass: what [`Run::scan`] gave for each file scanned so far.
    #[serde(default)]
    scans: Vec<String>,
    /// The series and images to put in the package, as the CLI's `--only` takes them (see
    /// `package::Selection`); everything when absent.
    only: Option<String>,
}

/// The session of a run (or of one of its cleaners) from the page's settings: its policy, and
/// the batch's first pass so far.
fn session_from(settings: JsValue) -> Result<Session, JsError> {
    session_of(settings_from(settings)?)
}

/// The page's settings, read.
fn settings_from(settings: JsValue) -> Result<RunSettings, JsError> {
    serde_wasm_bindgen::from_value(settings).map_err(|e| js_err(format!("settings: {e}")))
}

/// The session of a run from its settings (see [`session_from`]).
fn session_of(settings: RunSettings) -> Result<Session, JsError> {
    let scans = settings.scans.clone();
    let mut session = Session::new(policy_from(settings)?);
    add_scans(&mut session, &scans)?;
    Ok(session)
}

/// Record a first pass's scans (as [`Run::scan`] gave them) in `session`; whether it learned
/// an identifying value it did not know.
fn add_scans(session: &mut Session, scans: &[String]) -> Result<bool, JsError> {
    let mut learned = false;
    for json in scans {
        let scan: crate::deid::PatientScan =
            serde_json::from_str(json).map_err(|e| js_err(format!("first pass: {e}")))?;
        learned |= session.add_scan(&scan);
    }
    Ok(learned)
}

/// The policy of a run from the page's settings.
fn policy_from(settings: RunSettings) -> Result<Policy, JsError> {
    let RunSettings {
        options,
        passphrase,
        salt,
        random_key,
        date_offset_days,
        pseudonyms_csv,
        accept_burned_in,
        include_documents,
        hipaa,
        pixel_rules: pixel_rules_json,
        detect_text,
        keep_annotations,
        user_regions: user_regions_json,
        scans: _,
        only: _,
    } = settings;
    let mut chosen = Vec::new();
    for id in &options {
        chosen.push(
            ProfileOption::from_id(id).ok_or_else(|| js_err(format!("unknown option {id}")))?,
        );
    }
    let key = match passphrase.as_deref().map(str::trim) {
        Some(p) if !p.is_empty() => {
            let salt = salt
                .as_deref()
                .and_then(crate::deid::Salt::from_hex)
                .ok_or_else(|| js_err("the project salt must be 32 hex digits"))?;
            ProjectKey::from_passphrase(p, &salt)
        }
        _ if random_key.len() >= 16 => ProjectKey::from_slice(&random_key),
        _ => return Err(js_err("a random key of at least 16 bytes is needed")),
    };
    let mut policy = Policy::basic(key);
    policy.options = OptionSet::new(chosen).map_err(js_err)?;
    policy.date_offset_days = date_offset_days;
    policy.accept_burned_in = accept_burned_in;
    policy.include_documents = include_documents;
    policy.hipaa = match hipaa.as_deref() {
        None | Some("") => None,
        Some(id) => Some(
            crate::profile::Hipaa::from_id(id)
                .ok_or_else(|| js_err(format!("unknown HIPAA method {id}")))?,
        ),
    };
    policy.detect_text = detect_text;
    policy.keep_annotations = keep_annotations;
    policy.text_detector = TEXT_DETECTOR.with(|d| d.borrow().clone());
    if let TextDetector::Learned { reader, .. } = &mut policy.text_detector {
        *reader = TEXT_READER.with(|r| r.borrow().clone());
    }
    if let Some(json) = user_regions_json {
        policy.user_regions = crate::pixels::RegionRules::from_json(&json).map_err(js_err)?;
    }
    if let Some(json) = pixel_rules_json {
        policy.pixel_rules = crate::pixels::RegionRules::parse(&json).map_err(js_err)?;
    }
    if let Some(csv) = pseudonyms_csv {
        policy.load_pseudonyms_csv(&csv).map_err(js_err)?;
    }
    Ok(policy)
}

/// One worker of the page's pool: de-identifies files with the settings of a [`Run`] (its
/// own copy of the session), for the run to package them ([`Run::add_cleaned`]).
#[wasm_bindgen]
pub struct Cleaner {
    session: Session,
}

#[wasm_bindgen]
impl Cleaner {
    /// A cleaner with the same settings as [`Run::new`].
    #[wasm_bindgen(constructor)]
    pub fn new(settings: JsValue) -> Result<Cleaner, JsError> {
        Ok(Cleaner {
            session: session_from(settings)?,
        })
    }

    /// [`Cleaner::clean`] for one entry of an archive given as stored (`local`: the archive's
    /// bytes at its span, `entry` as [`zip_files`] listed it), decompressed here so that the
    /// file's bytes do not go through JavaScript. The status is `unreadable` (with the reason)
    /// when the entry cannot be decompressed, `zip` when it is an archive itself.
    #[wasm_bindgen(js_name = cleanEntry)]
    pub fn clean_entry(&mut self, entry: JsValue, local: Vec<u8>) -> Result<JsValue, JsError> {
        let entry: crate::input::ZipEntry =
            serde_wasm_bindgen::from_value(entry).map_err(js_err)?;
        let bytes = match entry.read_from(&local) {
            Ok(b) => b,
            Err(e) => return Ok(with_status("unreadable", &e.to_string())?.into()),
        };
        drop(local);
        if crate::input::is_zip(&bytes) {
            return Ok(with_status("zip", "")?.into());
        }
        self.clean(bytes)
    }

    /// De-identify one file: `{status, reason, meta, crc, size, method, body}` with status
    /// `done` (then `meta`, the change list as UTF-8 JSON bytes, and the ZIP entry data of
    /// the de-identified file are what [`Run::add_cleaned`] needs), `skipped` or `excluded`
    /// (with the reason).
    pub fn clean(&mut self, bytes: Vec<u8>) -> Result<JsValue, JsError> {
        let out = match self.session.process_owned(bytes) {
            Outcome::Done(d) => {
                let out = with_status("done", "")?;
                // As UTF-8 bytes: a string made here would be held by the browser until its
                // next full garbage collection (see www/worker/buffers.js).
                let meta = serde_json::to_vec(&*d).map_err(js_err)?;
                set(&out, "meta", &js_sys::Uint8Array::from(meta.as_slice()))?;
                // Compressed here, in parallel with the other cleaners, for the ZIP entry.
                let c = crate::package::Compressed::of_dicom(&d.bytes, &d.transfer_syntax);
                set(&out, "crc", &c.crc.into())?;
                set(&out, "size", &(c.size as f64).into())?;
                set(&out, "method", &c.method.into())?;
                set(&out, "body", &js_sys::Uint8Array::from(c.body.as_slice()))?;
                out
            }
            Outcome::Skipped(why) => with_status("skipped", &why)?,
            Outcome::Excluded(e) => with_status("excluded", &e.to_string())?,
        };
        Ok(out.into())
    }
}

/// A [`Cleaner`] result's start: `{status, reason}`.
fn with_status(status: &str, reason: &str) -> Result<js_sys::Object, JsError> {
    let out = js_sys::Object::new();
    set(&out, "status", &JsValue::from_str(status))?;
    set(&out, "reason", &JsValue::from_str(reason))?;
    Ok(out)
}

fn rendered(r: crate::pixels::Rendered) -> Result<JsValue, JsError> {
    let out = js_sys::Object::new();
    set(&out, "width", &r.width.into())?;
    set(&out, "height", &r.height.into())?;
    set(&out, "frame", &r.frame.into())?;
    set(&out, "frames", &r.frames.into())?;
    if let Some((center, width)) = r.window {
        set(&out, "windowCenter", &center.into())?;
        set(&out, "windowWidth", &width.into())?;
    }
    set(
        &out,
        "rgba",
        &js_sys::Uint8ClampedArray::from(r.rgba.as_slice()),
    )?;
    Ok(out.into())
}

/// What a drawn box can be scoped to: `{sopInstanceUid, seriesInstanceUid, rows, columns}`
/// of a file (original values: they stay in the worker, for building the user's rules).
#[wasm_bindgen(js_name = imageKey)]
pub fn image_key(bytes: &[u8]) -> Result<JsValue, JsError> {
    let file = crate::dicom::read_file(bytes).map_err(js_err)?;
    let out = js_sys::Object::new();
    let text = |tag| JsValue::from_str(&crate::attrs::text(&file, tag));
    use dicom_dictionary_std::tags;
    set(&out, "sopInstanceUid", &text(tags::SOP_INSTANCE_UID))?;
    set(&out, "seriesInstanceUid", &text(tags::SERIES_INSTANCE_UID))?;
    let num = |tag| {
        crate::attrs::uint(&file, tag)
            .map(JsValue::from)
            .unwrap_or(JsValue::NULL)
    };
    set(&out, "rows", &num(tags::ROWS))?;
    set(&out, "columns", &num(tags::COLUMNS))?;
    Ok(out.into())
}

/// One frame of a file (the middle one when `frame` is not given) rendered for display:
/// `{width, height, rgba, frame, frames}`.
#[wasm_bindgen(js_name = renderFrame)]
pub fn render_frame(bytes: &[u8], frame: Option<u32>) -> Result<JsValue, JsError> {
    let file = crate::dicom::read_file(bytes).map_err(js_err)?;
    let r = crate::pixels::render(&file, frame).map_err(js_err)?;
    rendered(r)
}

/// The options and presets, for the settings panel.
#[wasm_bindgen(js_name = profileOptions)]
pub fn profile_options() -> Result<JsValue, JsError> {
    #[derive(Serialize)]
    struct Opt {
        id: &'static str,
        label: &'static str,
        explanation: &'static str,
    }
    #[derive(Serialize)]
    struct Preset {
        id: &'static str,
        label: &'static str,
        explanation: &'static str,
        options: Vec<&'static str>,
        /// The HIPAA method the preset follows, to pass back as the run's `hipaa`.
        hipaa: Option<&'static str>,
    }
    #[derive(Serialize)]
    struct All {
        options: Vec<Opt>,
        presets: Vec<Preset>,
    }
    let all = All {
        options: ProfileOption::ALL
            .iter()
            .map(|o| Opt {
                id: o.id(),
                label: o.code_meaning(),
                explanation: o.explanation(),
            })
            .collect(),
        presets: PRESETS
            .iter()
            .map(|p| Preset {
                id: p.id,
                label: p.label,
                explanation: p.explanation,
                options: p.options.iter().map(|o| o.id()).collect(),
                hipaa: p.hipaa.map(|h| h.id()),
            })
            .collect(),
    };
    serde_wasm_bindgen::to_value(&all).map_err(js_err)
}

/// The page's sample as `[[name, bytes], …]`, generated in the browser: the sample study and
/// an ultrasound with text burned into it, so that a new user sees the check of burned-in text.
#[wasm_bindgen(js_name = sampleStudy)]
pub fn sample_study() -> js_sys::Array {
    let out = js_sys::Array::new();
    for (name, bytes) in crate::sample::sample_with_ultrasound() {
        let pair = js_sys::Array::new();
        pair.push(&JsValue::from_str(&name));
        pair.push(&js_sys::Uint8Array::from(bytes.as_slice()));
        out.push(&pair);
    }
    out
}

/// How many bytes from the end of a ZIP archive [`zip_locate`] needs (or the whole archive,
/// if shorter). An archive is read a piece at a time, never whole: its tail, its directory,
/// then each entry.
#[wasm_bindgen(js_name = zipTailLength)]
pub fn zip_tail_length() -> f64 {
    crate::input::TAIL_LEN as f64
}

/// Where the directory of a ZIP archive lies, from its last bytes (`tail`, which starts at
/// byte `tail_start` of the archive): `[offset, length, count]`.
#[wasm_bindgen(js_name = zipLocate)]
pub fn zip_locate(tail: &[u8], tail_start: f64) -> Result<Vec<f64>, JsError> {
    let dir = crate::input::locate_directory(tail, tail_start as u64).map_err(js_err)?;
    Ok(vec![dir.offset as f64, dir.len as f64, dir.count as f64])
}

/// One file listed in an archive's directory, for the page.
#[derive(serde::Serialize)]
struct ListedFile<'a> {
    /// Its path inside the archive.
    name: &'a str,
    /// Where its bytes lie in the archive: from `at`, at most `len` bytes.
    at: u64,
    len: u64,
    /// What [`unzip_entry`] needs to read it.
    entry: &'a crate::input::ZipEntry,
}

/// The files listed in an archive's directory (the bytes [`zip_locate`] pointed at), without
/// folders: `[{name, at, len, entry}]`; read each with [`unzip_entry`] from the archive's
/// bytes `at..at+len`.
#[wasm_bindgen(js_name = zipFiles)]
pub fn zip_files(directory: &[u8], count: f64) -> Result<JsValue, JsError> {
    let entries = crate::input::read_directory(directory, count as u64).map_err(js_err)?;
    let listed: Vec<ListedFile> = entries
        .iter()
        .filter(|e| e.is_file())
        .map(|entry| {
            let (at, len) = entry.span();
            ListedFile {
                name: &entry.name,
                at,
                len,
                entry,
            }
        })
        .collect();
    serde_wasm_bindgen::to_value(&listed).map_err(js_err)
}

/// One file of an archive, decompressed and checked, from the archive's bytes at its span
/// (`entry` as [`zip_files`] listed it).
#[wasm_bindgen(js_name = unzipEntry)]
pub fn unzip_entry(entry: JsValue, local: &[u8]) -> Result<Vec<u8>, JsError> {
    let entry: crate::input::ZipEntry = serde_wasm_bindgen::from_value(entry).map_err(js_err)?;
    entry.read_from(local).map_err(js_err)
}

/// How many bytes the first pass needs of a file of `file_len` bytes whose first bytes are
/// `head`: the length of its header (up to its pixel data), or nothing when `head` does not
/// hold it all (read more, or the whole file).
#[wasm_bindgen(js_name = headerLength)]
pub fn header_length(head: &[u8], file_len: f64) -> Option<f64> {
    crate::dicom::header_and_memory(head, file_len as u64)
        .0
        .map(|len| len as f64)
}

/// Where the first `max` bytes of a file in an archive lie (`entry` as [`zip_files`] listed
/// it): `[at, len]`, to read for [`unzip_entry_head`].
#[wasm_bindgen(js_name = zipHeadSpan)]
pub fn zip_head_span(entry: JsValue, max: f64) -> Result<Vec<f64>, JsError> {
    let entry: crate::input::ZipEntry = serde_wasm_bindgen::from_value(entry).map_err(js_err)?;
    let (at, len) = entry.head_span(max as u64);
    Ok(vec![at as f64, len as f64])
}

/// The first `max` bytes of a file in an archive, decompressed from the bytes at
/// [`zip_head_span`] (the rest is not inflated, and the checksum not checked).
#[wasm_bindgen(js_name = unzipEntryHead)]
pub fn unzip_entry_head(entry: JsValue, local: &[u8], max: f64) -> Result<Vec<u8>, JsError> {
    let entry: crate::input::ZipEntry = serde_wasm_bindgen::from_value(entry).map_err(js_err)?;
    entry.read_head_from(local, max as u64).map_err(js_err)
}

/// How deep archives inside archives are opened (see [`crate::input::NESTED_DEPTH`]).
#[wasm_bindgen(js_name = nestedArchiveDepth)]
pub fn nested_archive_depth() -> u32 {
    crate::input::NESTED_DEPTH
}

/// Why an archive deeper than that is left out (see [`crate::input::TOO_DEEP`]).
#[wasm_bindgen(js_name = archiveTooDeep)]
pub fn archive_too_deep() -> String {
    crate::input::TOO_DEEP.to_string()
}

/// Whether the bytes start like a ZIP archive.
#[wasm_bindgen(js_name = isZip)]
pub fn is_zip(bytes: &[u8]) -> bool {
    crate::input::is_zip(bytes)
}

/// A package on its way to the user's disk: the archive's bytes, however cut, go in; the
/// bytes to save come out, encrypted with the password when one was given (see
/// [`crate::package::encrypt`]), and are counted and hashed for the export log.
#[wasm_bindgen]
pub struct PackageExport {
    out: Option<crate::package::PackageOutput>,
}

#[wasm_bindgen]
impl PackageExport {
    /// `password`: none for a plain package, or 8 characters or more. `seed`: 32 bytes from
    /// `crypto.getRandomValues`, new for each package.
    #[wasm_bindgen(constructor)]
    pub fn new(password: Option<String>, seed: &[u8]) -> Result<PackageExport, JsError> {
        let out = match password {
            Some(p) => {
                let seed: [u8; 32] = seed
                    .try_into()
                    .map_err(|_| JsError::new("the seed must be 32 random bytes"))?;
                crate::package::PackageOutput::encrypted(&p, seed).map_err(js_err)?
            }
            None => crate::package::PackageOutput::plain(),
        };
        Ok(PackageExport { out: Some(out) })
    }

    /// The next bytes of the archive; returns the bytes to save.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<u8>, JsError> {
        match &mut self.out {
            Some(out) => out.push(bytes).map_err(js_err),
            None => Err(JsError::new("this package was already finished")),
        }
    }

    /// The end of the archive: `{last, bytes, sha256, encrypted}`: the last bytes to save, and
    /// the whole package's size, SHA-256 and whether it is encrypted.
    pub fn finish(&mut self) -> Result<JsValue, JsError> {
        let out = self
            .out
            .take()
            .ok_or_else(|| JsError::new("this package was already finished"))?;
        let (last, w) = out.finish().map_err(js_err)?;
        let result = js_sys::Object::new();
        let last = js_sys::Uint8Array::from(last.as_slice());
        set(&result, "last", &last.into())?;
        set(&result, "bytes", &(w.bytes as f64).into())?;
        set(&result, "sha256", &w.sha256.as_str().into())?;
        set(&result, "encrypted", &w.encrypted.into())?;
        Ok(result.into())
    }
}
