//! Packaging a de-identified case: the DICOM files in a patient/study/series folder layout,
//! a manifest, and a readable change log, streamed as one ZIP archive.
//!
//! Nothing in the package names an original file, value or UID: paths are counters and the
//! change log lists only tags and actions.

mod case;
mod change_sets;
mod deck;
mod dicomdir;
pub mod encrypt;
pub mod export_log;
pub mod gif;
mod hipaa;
pub mod png;
mod report;
mod selection;
pub mod slides;
mod zip;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::sync::Arc;

use serde::Serialize;

pub use self::change_sets::{ChangeSets, Run};
pub use self::dicomdir::{dicomdir, write_dicomdir, DirFile};
pub use self::encrypt::{ExportError, PackageOutput, Written};
pub use self::export_log::MadeBy;
pub use self::selection::{Selection, SelectionError};
pub use self::zip::{Compressed, Deflating, ZipStream};
use crate::deid::{Deidentified, Policy, Summary};

/// Bytes of printed lists of changes kept while `changes.json` is written (see
/// [`Layout::changes_json`]).
const PRINTED_BYTES: usize = 16 << 20;

/// Name of the package a user downloads.
pub const PACKAGE_NAME: &str = "obscura-package.zip";

/// One de-identified file as listed in the manifest (made when the manifest is written).
#[derive(Debug, Clone, Serialize)]
pub struct ManifestEntry<'a> {
    /// Path inside the package.
    pub path: String,
    /// Pseudonymous Patient ID.
    pub patient: &'a str,
    /// New Study Instance UID.
    pub study_uid: &'a str,
    /// New Series Instance UID.
    pub series_uid: &'a str,
    /// New SOP Instance UID.
    pub instance_uid: &'a str,
    /// SOP Class UID.
    pub sop_class_uid: &'a str,
    /// Modality.
    pub modality: &'a str,
    /// Transfer Syntax UID.
    pub transfer_syntax: &'a str,
    /// Number of attributes changed, removed or added.
    pub changes: usize,
    /// What to check by eye (e.g. burned-in text).
    pub warnings: Vec<&'a str>,
}

/// What the layout keeps of one placed file until the package's own files are written: its
/// directory record, and the few values of the manifest the record does not have. Values
/// that files share (modality, warnings) are held once (see [`Layout::intern`]).
#[derive(Debug, Clone)]
struct Placed {
    dir: DirFile,
    modality: Arc<str>,
    changes: usize,
    warnings: Vec<Arc<str>>,
}

impl Placed {
    fn manifest(&self) -> ManifestEntry<'_> {
        let series = &self.dir.series;
        ManifestEntry {
            path: self.dir.path(),
            patient: &series.patient_id,
            study_uid: &series.study_uid,
            series_uid: &series.series_uid,
            instance_uid: &self.dir.instance_uid,
            sop_class_uid: &self.dir.sop_class_uid,
            modality: &self.modality,
            transfer_syntax: &self.dir.transfer_syntax,
            changes: self.changes,
            warnings: self.warnings.iter().map(|w| &**w).collect(),
        }
    }
}

/// Series of a study: new Series Instance UID → (series number, images so far).
type Series = BTreeMap<String, (usize, usize)>;
/// Studies of a patient: new Study Instance UID → (study number, its series).
type Studies = BTreeMap<String, (usize, Series)>;

/// Assigns package paths (`DICOM/PAT0001/STU0001/SER0001/IM000001`: short upper-case parts,
/// as DICOMDIR file IDs require) and builds the package's own files.
#[derive(Debug, Default)]
pub struct Layout {
    patients: BTreeMap<String, (usize, Studies)>,
    /// The files placed, in order. About 200 bytes each (a study of 10,000 files: 2 MB).
    files: Vec<Placed>,
    /// The first file's values of each series (patient, study, series numbers).
    series: BTreeMap<(usize, usize, usize), Arc<Summary>>,
    /// Strings that many files share, held once.
    strings: BTreeSet<Arc<str>>,
    /// What was done to each file: the distinct lists of changes, and which each file had
    /// (the change logs are written from them at the end).
    changes: ChangeSets,
    excluded: BTreeMap<String, usize>,
    skipped: usize,
    /// What the user chose to put in the package, and how many files they left out.
    selection: Selection,
    chosen_out: usize,
    /// Key images added: name in the package, PNG.
    images: Vec<(String, Vec<u8>)>,
    /// The user's teaching notes for `case.html`.
    notes: String,
}

impl Layout {
    /// An empty layout.
    pub fn new() -> Layout {
        Layout::default()
    }

    /// The path for a de-identified file, recording it in the manifest and change log.
    pub fn place(&mut self, d: &Deidentified) -> String {
        let a = &d.after;
        let npat = self.patients.len();
        let (pat_no, studies) = self
            .patients
            .entry(a.patient_id.clone())
            .or_insert_with(|| (npat + 1, BTreeMap::new()));
        let nstudy = studies.len();
        let (study_no, series) = studies
            .entry(a.study_uid.clone())
            .or_insert_with(|| (nstudy + 1, BTreeMap::new()));
        let nseries = series.len();
        let (series_no, images) = series
            .entry(a.series_uid.clone())
            .or_insert_with(|| (nseries + 1, 0));
        *images += 1;
        let group = (*pat_no, *study_no, *series_no);
        let image = *images;
        let series = Arc::clone(
            self.series
                .entry(group)
                .or_insert_with(|| Arc::new(a.clone())),
        );
        let dir = DirFile {
            group,
            image,
            series,
            instance_uid: a.instance_uid.as_str().into(),
            instance_number: a.instance_number.as_str().into(),
            has_pixels: a.has_pixels,
            sop_class_uid: self.intern(&d.sop_class_uid),
            transfer_syntax: self.intern(&d.transfer_syntax),
        };
        let path = dir.path();
        let placed = Placed {
            dir,
            modality: self.intern(&a.modality),
            changes: d.changes.len(),
            warnings: d.warnings.iter().map(|w| self.intern(w)).collect(),
        };
        self.files.push(placed);
        self.changes.add(&d.changes);
        path
    }

    /// `value`, held once for all the files that share it.
    fn intern(&mut self, value: &str) -> Arc<str> {
        if let Some(v) = self.strings.get(value) {
            return Arc::clone(v);
        }
        let v: Arc<str> = value.into();
        self.strings.insert(Arc::clone(&v));
        v
    }

    /// For each distinct list of changes, the files that had it, as runs of images that follow
    /// each other in a series.
    fn change_runs(&self) -> Vec<Vec<Run>> {
        self.changes.runs(|last, next| self.follows(last, next))
    }

    /// Whether placed file `next` is the image right after file `last` in the same series.
    fn follows(&self, last: usize, next: usize) -> bool {
        let (a, b) = (&self.files[last].dir, &self.files[next].dir);
        a.group == b.group && a.image + 1 == b.image
    }

    /// How many files have something to check by eye.
    pub(crate) fn warned_files(&self) -> usize {
        self.files.iter().filter(|e| !e.warnings.is_empty()).count()
    }

    /// Each warning files were given (to check by eye), in the order first met, with the
    /// files that had it as runs of images that follow each other in a series: a series of
    /// 2,000 ultrasound images, all with text found and blanked, is one line.
    pub(crate) fn warning_runs(&self) -> Vec<(Arc<str>, Vec<Run>)> {
        let mut order: Vec<(Arc<str>, Vec<Run>)> = Vec::new();
        let mut index: std::collections::HashMap<Arc<str>, usize> = Default::default();
        for (i, f) in self.files.iter().enumerate() {
            for w in &f.warnings {
                let n = *index.entry(Arc::clone(w)).or_insert_with(|| {
                    order.push((Arc::clone(w), Vec::new()));
                    order.len() - 1
                });
                Run::add(&mut order[n].1, i, |last, next| self.follows(last, next));
            }
        }
        order
    }

    /// A run of files in words: its first file's path, and the last one's name and how many
    /// when there are several (`DICOM/PAT0001/STU0001/SER0001/IM000001 to IM000300 (300 files)`).
    pub(crate) fn describe_run(&self, run: &Run) -> String {
        let first = self.files[run.first].dir.path();
        if run.count == 1 {
            first
        } else {
            format!(
                "{first} to IM{:06} ({} files)",
                self.files[run.last].dir.image, run.count
            )
        }
    }

    /// Count a file left out. Only the kind of reason is kept, not its details: file names
    /// and, in a parser's message, even values could identify someone.
    pub fn exclude(&mut self, reason: &str) {
        let kind = reason.split(": ").next().unwrap_or(reason).trim();
        *self.excluded.entry(kind.to_string()).or_default() += 1;
    }

    /// The key image of each series not yet pictured: `(image name, package path of the file to
    /// show)`, the middle image of the series by Instance Number.
    pub fn key_image_plan(&self) -> Vec<(String, String)> {
        let mut series: BTreeMap<(usize, usize, usize), Vec<&DirFile>> = BTreeMap::new();
        for f in self.files.iter().map(|f| &f.dir).filter(|f| f.has_pixels) {
            series.entry(f.group).or_default().push(f);
        }
        let mut plan = Vec::new();
        for ((p, st, se), mut files) in series {
            let name = format!("images/PAT{p:04}-STU{st:04}-SER{se:04}.png");
            if self.images.iter().any(|(n, _)| *n == name) {
                continue;
            }
            files.sort_by_key(|f| f.instance_number.trim().parse::<i64>().unwrap_or(i64::MAX));
            plan.push((name, files[files.len() / 2].path()));
        }
        plan
    }

    /// Whether an image (key image or cine) of this name is in the package.
    pub fn has_image(&self, name: &str) -> bool {
        self.images.iter().any(|(n, _)| n == name)
    }

    /// Record a key image put into the package (it also goes into `case.html`).
    pub fn add_key_image(&mut self, name: &str, png: &[u8]) {
        if !self.images.iter().any(|(n, _)| n == name) {
            self.images.push((name.to_string(), png.to_vec()));
        }
    }

    /// The user's teaching notes, shown in `case.html` (their own words: not checked for PHI).
    pub fn set_notes(&mut self, notes: &str) {
        self.notes = notes.to_string();
    }

    /// Count a file deliberately not copied (e.g. a DICOMDIR).
    pub fn skip(&mut self) {
        self.skipped += 1;
    }

    /// Put only the series and images of `selection` in the package (see [`Selection`]).
    pub fn set_selection(&mut self, selection: Selection) {
        self.selection = selection;
    }

    /// Whether a de-identified file is among what the user chose to put in the package; if
    /// not, it is counted as left out by choice, and must not be placed.
    pub fn choose(&mut self, d: &Deidentified) -> bool {
        let chosen = self.selection.includes(
            &d.before.series_number,
            &d.after.series_uid,
            &d.before.instance_number,
        );
        if !chosen {
            self.chosen_out += 1;
        }
        chosen
    }

    /// The package's files in a line: how many de-identified, excluded, skipped and left out
    /// by the user's choice.
    fn files_line(&self) -> String {
        let mut line = format!(
            "{} de-identified, {} excluded, {} skipped",
            self.files.len(),
            self.excluded.values().sum::<usize>(),
            self.skipped
        );
        if self.chosen_out > 0 {
            line.push_str(&format!(
                ", {} left out by your choice (not for safety)",
                self.chosen_out
            ));
        }
        line
    }

    /// Number of files placed.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Patients, studies and series placed.
    pub fn counts(&self) -> (usize, usize, usize) {
        let studies = self.patients.values().map(|(_, s)| s.len()).sum();
        let series = self
            .patients
            .values()
            .flat_map(|(_, s)| s.values())
            .map(|(_, series)| series.len())
            .sum();
        (self.patients.len(), studies, series)
    }

    /// Files left out of the package (excluded, for whatever reason).
    pub fn left_out(&self) -> usize {
        self.excluded.values().sum()
    }

    /// Whether no file was placed.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// `manifest.json`: what the package holds and how it was made.
    pub fn manifest_json(&self, policy: &Policy) -> String {
        let mut out = Vec::new();
        match self.write_manifest(policy, &mut out) {
            Ok(()) => String::from_utf8_lossy(&out).into_owned(),
            Err(e) => format!("{{\"error\":\"{e}\"}}"),
        }
    }

    /// [`Layout::manifest_json`] written to `sink` as it is made (for thousands of files,
    /// neither the text nor a list of its entries is ever held whole).
    pub fn write_manifest(
        &self,
        policy: &Policy,
        sink: &mut impl std::io::Write,
    ) -> serde_json::Result<()> {
        /// The files' entries, made one at a time as they are written.
        struct Files<'a>(&'a [Placed]);
        impl Serialize for Files<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.0.iter().map(Placed::manifest))
            }
        }
        #[derive(Serialize)]
        struct Manifest<'a> {
            generator: String,
            profile: &'static str,
            options: Vec<&'static str>,
            files: Files<'a>,
            key_images: Vec<&'a str>,
            excluded: &'a BTreeMap<String, usize>,
            skipped: usize,
            #[serde(skip_serializing_if = "is_zero")]
            left_out_by_choice: usize,
        }
        fn is_zero(n: &usize) -> bool {
            *n == 0
        }
        let m = Manifest {
            generator: format!("Obscura {}", env!("CARGO_PKG_VERSION")),
            profile: crate::profile::PROFILE_NAME,
            options: policy.options.iter().map(|o| o.code_meaning()).collect(),
            files: Files(&self.files),
            key_images: self.images.iter().map(|(n, _)| n.as_str()).collect(),
            excluded: &self.excluded,
            skipped: self.skipped,
            left_out_by_choice: self.chosen_out,
        };
        let mut buffered = std::io::BufWriter::new(sink);
        serde_json::to_writer_pretty(&mut buffered, &m)?;
        std::io::Write::flush(&mut buffered).map_err(serde_json::Error::io)
    }

    /// `changes.json`: every change, file by file (tags and actions, never values).
    pub fn changes_json(&self) -> Compressed {
        let mut entry = Deflating::smaller();
        // Writing into a Deflating cannot fail.
        let _ = self.write_changes_json(&mut entry, PRINTED_BYTES);
        entry.finish()
    }

    /// [`Layout::changes_json`] written to `sink` as it is made: an array of
    /// `{"path", "changes"}`, pretty-printed. Each distinct list of changes is printed once
    /// and kept while the lists kept take at most `keep_printed` bytes (a few lists, as a
    /// rule); past that, printed again for each file that has it.
    fn write_changes_json(
        &self,
        sink: &mut impl std::io::Write,
        keep_printed: usize,
    ) -> std::io::Result<()> {
        // Each list as it stands in the array: inside an element, 4 spaces in.
        let print = |n: usize| {
            serde_json::to_string_pretty(&*self.changes.changes(n))
                .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
                .replace('\n', "\n    ")
        };
        let mut printed: Vec<Option<String>> = vec![None; self.changes.len()];
        let mut printed_bytes = 0;
        let mut out = std::io::BufWriter::new(sink);
        out.write_all(if self.files.is_empty() { b"[" } else { b"[\n" })?;
        for (i, f) in self.files.iter().enumerate() {
            if i > 0 {
                out.write_all(b",\n")?;
            }
            let path = serde_json::to_string(&f.dir.path()).unwrap_or_default();
            let n = self.changes.set_of(i);
            let fresh;
            let list = match printed.get(n) {
                Some(Some(list)) => list.as_str(),
                _ => {
                    fresh = print(n);
                    if n < printed.len() && printed_bytes + fresh.len() <= keep_printed {
                        printed_bytes += fresh.len();
                        printed[n] = Some(fresh.clone());
                    }
                    fresh.as_str()
                }
            };
            write!(
                out,
                "  {{\n    \"path\": {path},\n    \"changes\": {list}\n  }}"
            )?;
        }
        out.write_all(if self.files.is_empty() { b"]" } else { b"\n]" })?;
        out.flush()
    }

    /// `CHANGES.txt`: the change log in plain words.
    pub fn changes_text(&self, policy: &Policy) -> Compressed {
        let mut s = String::new();
        s.push_str("Obscura de-identification report\n");
        s.push_str("================================\n\n");
        s.push_str(&format!("Profile: {}\n", crate::profile::PROFILE_NAME));
        if let Some(method) = policy.hipaa {
            s.push_str(&format!("Method:  {}\n", method.method()));
            if method == crate::profile::Hipaa::LimitedDataSet {
                s.push_str(
                    "         (dates and town/state/ZIP kept: share only under a data use agreement)\n",
                );
            }
        }
        if policy.options.is_empty() {
            s.push_str("Options: none (the Basic Profile alone)\n");
        } else {
            for o in policy.options.iter() {
                s.push_str(&format!("Option:  {}\n", o.code_meaning()));
            }
        }
        s.push_str(&format!("Files:   {}\n", self.files_line()));
        for (reason, n) in &self.excluded {
            s.push_str(&format!("Excluded ({n}): {reason}\n"));
        }
        let warned = self.warned_files();
        if warned > 0 {
            s.push_str(&format!("\nTo check by eye ({}):\n", count_files(warned)));
            for (warning, runs) in self.warning_runs() {
                for run in runs {
                    s.push_str(&format!("  {}: {warning}\n", self.describe_run(&run)));
                }
            }
        }
        s.push_str(
            "\nOriginal values are never written here. Per file, what was done (files with the \
             same changes are listed together):\n",
        );
        let mut entry = Deflating::new();
        // Writing into a Deflating cannot fail.
        let _ = entry.write_all(s.as_bytes());
        for (n, runs) in self.change_runs().iter().enumerate() {
            let mut text = String::from("\n");
            for run in runs {
                text.push_str(&self.describe_run(run));
                text.push('\n');
            }
            for c in self.changes.changes(n).iter() {
                text.push_str(&format!(
                    "  {:<40} {:<44} {:<13} {}\n",
                    c.path, c.name, c.action, c.reason
                ));
            }
            let _ = entry.write_all(text.as_bytes());
        }
        entry.finish()
    }

    /// For the report's HIPAA section: how many files held each of the 18 kinds of
    /// identifier (by their change logs), and how many were flagged as possibly showing a face.
    fn hipaa_counts(&self) -> ([usize; 18], usize) {
        let mut held = [0; 18];
        for (n, runs) in self.change_runs().iter().enumerate() {
            let files: usize = runs.iter().map(|r| r.count).sum();
            let mut kinds = [false; 18];
            for c in self.changes.changes(n).iter() {
                if let Some(k) = hipaa::kind_of(c) {
                    kinds[k] = true;
                }
            }
            for (k, present) in kinds.iter().enumerate() {
                if *present {
                    held[k] += files;
                }
            }
        }
        let faces = self
            .files
            .iter()
            .filter(|f| f.warnings.iter().any(|w| w.contains("face")))
            .count();
        (held, faces)
    }

    /// `deidentification-report.html`: the log as a readable page.
    pub fn report_html(&self, policy: &Policy) -> Compressed {
        let mut entry = Deflating::new();
        // Writing into a Deflating cannot fail.
        let hipaa_section = policy.hipaa.map(|method| {
            let (held, faces) = self.hipaa_counts();
            hipaa::section(method, &held, faces)
        });
        let _ = entry.write_all(
            report::report_head(self, policy, hipaa_section.as_deref().unwrap_or("")).as_bytes(),
        );
        for (n, runs) in self.change_runs().iter().enumerate() {
            let files: Vec<String> = runs.iter().map(|r| self.describe_run(r)).collect();
            let count = runs.iter().map(|r| r.count).sum();
            let section = report::report_files(&files, count, &self.changes.changes(n));
            let _ = entry.write_all(section.as_bytes());
        }
        let _ = entry.write_all(report::PAGE_END.as_bytes());
        entry.finish()
    }

    /// The package's own files, for the end of the archive: the DICOMDIR index of the
    /// DICOM files, the manifest and the change logs, compressed.
    pub fn package_files(&mut self, policy: &Policy) -> Vec<(&'static str, Compressed)> {
        let mut files = Vec::new();
        if !self.files.is_empty() {
            let directory: Vec<&DirFile> = self.files.iter().map(|f| &f.dir).collect();
            let mut entry = Deflating::new();
            match write_dicomdir(&directory, &mut entry) {
                Ok(()) => files.push(("DICOMDIR", entry.finish())),
                // The files are still valid without an index; say so instead of failing.
                Err(e) => files.push((
                    "DICOMDIR-ERROR.txt",
                    Compressed::of(format!("no DICOMDIR: {e}\n").as_bytes()),
                )),
            }
        }
        let mut manifest = Deflating::new();
        let manifest = match self.write_manifest(policy, &mut manifest) {
            Ok(()) => manifest.finish(),
            Err(e) => Compressed::of(format!("{{\"error\":\"{e}\"}}").as_bytes()),
        };
        files.push(("manifest.json", manifest));
        files.push(("deidentification-report.html", self.report_html(policy)));
        files.push((
            "case.html",
            Compressed::of(report::case_html(self).as_bytes()),
        ));
        files.push(("case.pptx", Compressed::stored(&deck::case_pptx(self))));
        files.push(("changes.json", self.changes_json()));
        files.push(("CHANGES.txt", self.changes_text(policy)));
        files
    }
}

/// The key image of a de-identified file: its middle frame as PNG, as a viewer would show it
/// (the file's window, or the frame's range), enlarged for slides (see [`slides`]).
pub fn key_image(dicom: &[u8]) -> Result<Vec<u8>, String> {
    key_image_with(dicom, None, None)
}

/// [`key_image`] of a chosen frame (0-based; the middle one when `None`) with a chosen window
/// (`(center, width)`; the file's own when `None`), as a user picks it in the viewer.
pub fn key_image_with(
    dicom: &[u8],
    frame: Option<u32>,
    window: Option<(f64, f64)>,
) -> Result<Vec<u8>, String> {
    let file = crate::dicom::read_file(dicom).map_err(|e| e.to_string())?;
    let r = crate::pixels::render_with(&file, frame, window).map_err(|e| e.to_string())?;
    Ok(slide_png(&r))
}

/// A rendered frame as a key image: a PNG enlarged for slides ([`slides::enlarge`]).
fn slide_png(r: &crate::pixels::Rendered) -> Vec<u8> {
    let (width, height, rgba) = slides::enlarge(r.width, r.height, &r.rgba);
    png::encode(width, height, &rgba)
}

/// Most frames a cine keeps (evenly spaced through the series).
const CINE_MAX_FRAMES: u32 = 40;
/// The longest side of a cine, in pixels (larger images are shrunk by a whole factor).
const CINE_MAX_SIDE: u32 = 512;

/// An animated GIF of a multi-frame image (after de-identification) for slides: at most
/// `CINE_MAX_FRAMES` frames, shrunk to `CINE_MAX_SIDE`, at the file's frame time (Frame
/// Time, or Recommended Display Frame Rate; 10 frames a second otherwise), every frame with the
/// middle frame's window. `None` for a single-frame image.
pub fn cine(dicom: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let file = crate::dicom::read_file(dicom).map_err(|e| e.to_string())?;
    cine_of(&file)
}

/// The key image (PNG, as [`key_image`]) and the cine (as [`cine`]) of one file, read once.
pub fn pictures(dicom: &[u8]) -> Result<(Vec<u8>, Option<Vec<u8>>), String> {
    let file = crate::dicom::read_file(dicom).map_err(|e| e.to_string())?;
    pictures_of(&file)
}

/// [`pictures`] of a file already read (e.g. an output file Obscura wrote, parsed straight
/// from disk).
pub fn pictures_of(
    file: &dicom_object::FileDicomObject<dicom_object::InMemDicomObject>,
) -> Result<(Vec<u8>, Option<Vec<u8>>), String> {
    let r = crate::pixels::render(file, None).map_err(|e| e.to_string())?;
    let png = slide_png(&r);
    drop(r);
    Ok((png, cine_of(file)?))
}

fn cine_of(
    file: &dicom_object::FileDicomObject<dicom_object::InMemDicomObject>,
) -> Result<Option<Vec<u8>>, String> {
    let frames = crate::attrs::frames(file);
    if frames < 2 {
        return Ok(None);
    }
    let step = frames.div_ceil(CINE_MAX_FRAMES);
    let number = |tag| {
        crate::attrs::text(file, tag)
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v > 0.0)
    };
    let frame_ms = number(dicom_dictionary_std::tags::FRAME_TIME)
        .or_else(|| {
            number(dicom_dictionary_std::tags::RECOMMENDED_DISPLAY_FRAME_RATE)
                .map(|fps| 1000.0 / fps)
        })
        .unwrap_or(100.0);
    let grey = crate::attrs::text(file, dicom_dictionary_std::tags::PHOTOMETRIC_INTERPRETATION)
        .starts_with("MONOCHROME");
    let middle = crate::pixels::render_with(file, None, None).map_err(|e| e.to_string())?;
    let window = middle.window;
    let mut writer: Option<gif::Writer> = None;
    for i in (0..frames).step_by(step as usize) {
        let r = crate::pixels::render_with(file, Some(i), window).map_err(|e| e.to_string())?;
        let (w, h, rgba) = shrink(r.width, r.height, &r.rgba, CINE_MAX_SIDE);
        writer
            .get_or_insert_with(|| {
                gif::Writer::new(w as u16, h as u16, grey, (frame_ms * step as f64) as u32)
            })
            .add(&rgba);
    }
    Ok(writer.map(gif::Writer::finish))
}

/// RGBA shrunk by the smallest whole factor that brings its longest side to `max` or less
/// (each pixel the mean of a block).
fn shrink(width: u32, height: u32, rgba: &[u8], max: u32) -> (u32, u32, Vec<u8>) {
    let k = width.max(height).div_ceil(max).max(1);
    if k == 1 {
        return (width, height, rgba.to_vec());
    }
    let (w, h) = ((width / k).max(1), (height / k).max(1));
    let mut out = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            let mut sum = [0u32; 4];
            for dy in 0..k {
                for dx in 0..k {
                    let at = (((y * k + dy) * width + x * k + dx) * 4) as usize;
                    if let Some(p) = rgba.get(at..at + 4) {
                        for c in 0..4 {
                            sum[c] += p[c] as u32;
                        }
                    }
                }
            }
            out.extend(sum.iter().map(|v| (v / (k * k)) as u8));
        }
    }
    (w, h, out)
}

/// A package being streamed: DICOM files first, the report files and the ZIP directory last.
#[derive(Debug, Default)]
pub struct PackageWriter {
    zip: ZipStream,
    layout: Layout,
}

impl PackageWriter {
    /// A new, empty package.
    pub fn new() -> PackageWriter {
        PackageWriter::default()
    }

    /// Add a de-identified file; returns its path in the package and the archive bytes to
    /// append.
    pub fn add(&mut self, d: &Deidentified) -> (String, Vec<u8>) {
        self.add_compressed(d, &Compressed::of_dicom(&d.bytes, &d.transfer_syntax))
    }

    /// [`PackageWriter::add`] of a file whose bytes were compressed beforehand (`d.bytes` is
    /// not used).
    pub fn add_compressed(&mut self, d: &Deidentified, c: &Compressed) -> (String, Vec<u8>) {
        let path = self.layout.place(d);
        let chunk = self.zip.add_compressed(&path, c);
        (path, chunk)
    }

    /// Add a key image (PNG) under `name`, once: returns the archive bytes to append, or
    /// nothing when it is already there.
    pub fn add_key_image(&mut self, name: &str, png: &[u8]) -> Vec<u8> {
        if self.layout.images.iter().any(|(n, _)| n == name) {
            return Vec::new();
        }
        self.layout.add_key_image(name, png);
        self.zip.add(name, png)
    }

    /// The layout (for counts and reports).
    pub fn layout_mut(&mut self) -> &mut Layout {
        &mut self.layout
    }

    /// The report files and the ZIP directory for the files added so far: appended to the
    /// chunks already handed out, they make a complete archive. The writer itself is left
    /// as it was, so more files can be added and a new trailer asked for.
    pub fn trailer(&mut self, policy: &Policy) -> Vec<u8> {
        let files = self.layout.package_files(policy);
        // The report files are added to the archive for as long as it takes to write its
        // directory, then taken back (a copy of the directory of thousands of files is not
        // made), and the bytes are gathered in one buffer of the right size.
        let mark = self.zip.mark();
        let mut len = 0;
        for (name, c) in &files {
            len += ZipStream::entry_len(name, c.body.len());
        }
        let mut out = Vec::with_capacity(len + self.zip.directory_len() + 100 * files.len());
        for (name, c) in &files {
            out.extend(self.zip.add_compressed(name, c));
        }
        out.extend(self.zip.directory());
        self.zip.rewind(mark);
        out
    }
}

/// "1 file", "2 files".
pub(crate) fn count_files(n: usize) -> String {
    if n == 1 {
        "1 file".to_string()
    } else {
        format!("{n} files")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deid::ProjectKey;

    /// The sample's first image made into `frames` frames (each a little brighter).
    fn multiframe(frames: u16) -> Vec<u8> {
        use dicom_core::value::PrimitiveValue;
        use dicom_core::{DataElement, VR};
        use dicom_dictionary_std::tags;
        let file = crate::dicom::read_file(&crate::sample::sample_study()[0].1).expect("sample");
        let meta = file.meta().clone();
        let mut obj = file.into_inner();
        let one = obj
            .get(tags::PIXEL_DATA)
            .and_then(|e| e.value().to_bytes().ok())
            .map(|b| b.to_vec())
            .unwrap_or_default();
        let all: Vec<u8> = (0..frames).flat_map(|_| one.iter().copied()).collect();
        obj.put(DataElement::new(
            tags::NUMBER_OF_FRAMES,
            VR::IS,
            PrimitiveValue::from(frames.to_string()),
        ));
        obj.put(DataElement::new(
            tags::FRAME_TIME,
            VR::DS,
            PrimitiveValue::from("50"),
        ));
        obj.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::U8(all.into()),
        ));
        let mut bytes = Vec::new();
        obj.with_exact_meta(meta)
            .write_all(&mut bytes)
            .expect("written");
        bytes
    }

    #[test]
    fn key_images_are_sized_for_slides() {
        // The sample's images are 64×64: their key images are 1024×1024, at pixel centres
        // the image's own values.
        let bytes = &crate::sample::sample_study()[0].1;
        let png = key_image(bytes).expect("a key image");
        let size = |png: &[u8]| {
            let at = png.windows(4).position(|w| w == b"IHDR").expect("IHDR") + 4;
            let n = |i: usize| u32::from_be_bytes(png[at + i..at + i + 4].try_into().unwrap());
            (n(0), n(4))
        };
        assert_eq!(size(&png), (1024, 1024));
        let (_, cine) = pictures(&multiframe(3)).expect("pictures");
        assert!(cine.is_some(), "cines stay as they are");
        let (png, _) = pictures(bytes).expect("pictures");
        assert_eq!(size(&png), (1024, 1024));
    }

    #[test]
    fn a_multiframe_image_gets_a_cine_and_a_single_frame_none() {
        let gif = cine(&multiframe(3)).expect("renders").expect("a cine");
        assert!(gif.starts_with(b"GIF89a") && gif.ends_with(&[0x3B]));
        let frames = gif.windows(4).filter(|w| *w == [0x21, 0xF9, 4, 0]).count();
        assert_eq!(frames, 3);
        let at = gif
            .windows(4)
            .position(|w| w == [0x21, 0xF9, 4, 0])
            .expect("a frame");
        assert_eq!(
            &gif[at + 4..at + 6],
            &5u16.to_le_bytes(),
            "Frame Time 50 ms"
        );
        assert_eq!(cine(&crate::sample::sample_study()[0].1), Ok(None));
        // Long cines keep at most CINE_MAX_FRAMES frames.
        let long = cine(&multiframe(250)).expect("renders").expect("a cine");
        let kept = long.windows(4).filter(|w| *w == [0x21, 0xF9, 4, 0]).count();
        assert!(kept <= CINE_MAX_FRAMES as usize && kept >= 30, "{kept}");
    }

    #[test]
    fn shrinking_averages_blocks() {
        let rgba: Vec<u8> = [[0u8, 0, 0, 255], [200, 200, 200, 255]]
            .iter()
            .cycle()
            .take(4 * 4)
            .flatten()
            .copied()
            .collect();
        let (w, h, out) = shrink(4, 4, &rgba, 2);
        assert_eq!((w, h), (2, 2));
        assert!(out.chunks(4).all(|p| p == [100, 100, 100, 255]));
    }

    #[test]
    fn a_trailer_can_be_asked_for_again_after_more_files() {
        let policy = Policy::basic(ProjectKey::from_bytes([3; 32]));
        let mut session = crate::deid::Session::new(policy.clone());
        let mut writer = PackageWriter::new();
        let mut archive = Vec::new();
        let study = crate::sample::sample_study();
        let names = |bytes: &[u8]| -> Vec<String> {
            let zip = crate::input::ZipArchive::new(bytes).expect("a valid archive");
            let names: Vec<String> = zip.files().map(|e| e.name.clone()).collect();
            for e in zip.files() {
                zip.read(e)
                    .expect("each entry reads back, checksum and all");
            }
            names
        };
        let mut first = None;
        for (i, (_, bytes)) in study.iter().enumerate() {
            let d = session.deidentify(bytes).expect("de-identified");
            archive.extend(writer.add(&d).1);
            if i == 0 {
                let mut whole = archive.clone();
                whole.extend(writer.trailer(&policy));
                first = Some(names(&whole));
            }
        }
        let mut whole = archive.clone();
        whole.extend(writer.trailer(&policy));
        let last = names(&whole);
        let first = first.expect("made");
        assert_eq!(first.iter().filter(|n| n.starts_with("DICOM/")).count(), 1);
        assert_eq!(
            last.iter().filter(|n| n.starts_with("DICOM/")).count(),
            study.len()
        );
        for name in ["DICOMDIR", "manifest.json", "changes.json", "CHANGES.txt"] {
            assert_eq!(last.iter().filter(|n| *n == name).count(), 1, "{name} once");
            assert!(first.contains(&name.to_string()), "{name}");
        }
        // Asked for twice in a row: the first left nothing behind in the archive.
        let _ = writer.trailer(&policy);
        let mut again = archive.clone();
        again.extend(writer.trailer(&policy));
        assert_eq!(names(&again), last);
    }

    #[test]
    fn change_logs_list_every_file_and_files_with_the_same_changes_together() {
        let policy = Policy::basic(ProjectKey::from_bytes([5; 32]));
        let mut session = crate::deid::Session::new(policy.clone());
        let mut layout = Layout::new();
        // Each file of the sample study twice in a row: the second copy is the next image of
        // the same series, with the same changes.
        let mut placed = Vec::new();
        for (_, bytes) in crate::sample::sample_study() {
            let d = session.deidentify(&bytes).expect("de-identified");
            for _ in 0..2 {
                placed.push((layout.place(&d), d.changes.clone()));
            }
        }
        // changes.json: every file with its own changes, as a pretty-printed array.
        #[derive(Serialize)]
        struct FileLog<'a> {
            path: &'a str,
            changes: &'a [crate::deid::Change],
        }
        let expected: Vec<FileLog> = placed
            .iter()
            .map(|(path, changes)| FileLog { path, changes })
            .collect();
        let json = layout.changes_json();
        assert_eq!(
            json.text(),
            serde_json::to_string_pretty(&expected).expect("json")
        );
        assert_eq!(json.crc, crc32fast::hash(json.text().as_bytes()));

        // CHANGES.txt: each distinct list once, after the files that had it.
        let text = layout.changes_text(&policy).text();
        let sets = layout.changes.len();
        assert!(
            sets < placed.len(),
            "{sets} lists for {} files",
            placed.len()
        );
        // The runs of files named (`first` or `first to IMnnnnnn (n files)`) are every file.
        let mut named = Vec::new();
        for line in text.lines().filter(|l| l.starts_with("DICOM/")) {
            let (first, last) = match line.split_once(" to IM") {
                Some((first, rest)) => (first, rest.split(' ').next().unwrap_or("")),
                None => (line, &line[line.len() - 6..]),
            };
            let (folder, image) = first.split_at(first.len() - 6);
            let (from, to): (usize, usize) = (image.parse().expect("n"), last.parse().expect("n"));
            named.extend((from..=to).map(|i| format!("{folder}{i:06}")));
        }
        named.sort();
        let mut paths: Vec<String> = placed.iter().map(|(p, _)| p.clone()).collect();
        paths.sort();
        assert_eq!(named, paths, "{text}");
        assert!(
            text.contains(" (2 files)\n") || text.contains(" (4 files)\n"),
            "{text}"
        );
        let sections = text
            .split("\n\n")
            .filter(|s| s.starts_with("DICOM/"))
            .count();
        assert_eq!(sections, sets, "{text}");
        for (path, changes) in &placed {
            let line = changes
                .iter()
                .map(|c| format!("  {:<40} {:<44}", c.path, c.name))
                .next();
            if let Some(line) = line {
                assert!(text.contains(&line), "{path}: {line}");
            }
        }
        let html = layout.report_html(&policy).text();
        assert_eq!(html.matches("<details>").count(), sets);
        assert!(html.contains(" files): "), "{html}");
        for phi in [
            "FAKEDOE",
            "FAKEID",
            "FAKEACC",
            "FAKEDOC",
            "FAKEGENERALHOSPITAL",
        ] {
            assert!(!html.contains(phi) && !text.contains(phi), "{phi}");
        }
    }

    #[test]
    fn files_with_the_same_warning_are_listed_together_to_check_by_eye() {
        let policy = Policy::basic(ProjectKey::from_bytes([6; 32]));
        let mut session = crate::deid::Session::new(policy.clone());
        let mut layout = Layout::new();
        let (_, bytes) = &crate::sample::sample_study()[0];
        let plain = session.deidentify(bytes).expect("de-identified");
        let mut flagged = plain.clone();
        flagged.warnings = vec!["text found and blanked: check the image".into()];
        let mut other = plain.clone();
        other.warnings = vec!["something else to look at".into()];
        // Three flagged images of one series, one without a warning, one flagged again.
        for d in [&flagged, &flagged, &flagged, &plain, &flagged, &other] {
            layout.place(d);
        }
        let text = layout.changes_text(&policy).text();
        assert!(text.contains("To check by eye (5 files):"), "{text}");
        let series = "DICOM/PAT0001/STU0001/SER0001";
        assert!(
            text.contains(&format!(
            "  {series}/IM000001 to IM000003 (3 files): text found and blanked: check the image\n  \
             {series}/IM000005: text found and blanked: check the image\n  \
             {series}/IM000006: something else to look at\n"
        )),
            "{text}"
        );
        let html = layout.report_html(&policy).text();
        assert!(html.contains(&format!(
            "<code>{series}/IM000001 to IM000003 (3 files)</code>"
        )));
        assert_eq!(html.matches("<td class=\"warn\">").count(), 3);
    }

    #[test]
    fn exclusion_details_stay_out_of_the_package() {
        let mut layout = Layout::new();
        layout.exclude("could not read the DICOM data: bad value 'FAKEDOE^JANE' in (0010,0010)");
        let policy = Policy::basic(ProjectKey::from_bytes([0; 32]));
        let text = layout.changes_text(&policy).text();
        assert!(text.contains("Excluded (1): could not read the DICOM data"));
        assert!(!text.contains("FAKEDOE") && !layout.manifest_json(&policy).contains("FAKEDOE"));
    }
}
