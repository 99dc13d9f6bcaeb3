//! Applying a de-identification policy to one DICOM object.
//!
//! [`Session::deidentify`] is the single entry point: bytes of a DICOM Part 10 file in, the
//! de-identified bytes and a change log out. The [`Session`] holds the batch state (pseudonyms,
//! date offsets, identifiers seen so far) and is shared by the CLI and the wasm binding.

mod ages;
mod dates;
mod documents;
mod hipaa;
mod keys;
pub mod reid;
mod scrub;
mod text_dates;
mod walk;

use std::collections::BTreeMap;
use std::sync::Arc;

use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use serde::{Deserialize, Serialize};

pub use keys::{ProjectKey, Salt, KEY_FILE_HELP};
pub use scrub::Identifiers;

use crate::attrs;
use crate::dicom::{
    read_file, read_file_owned, write_part10, ReadError, TransferSyntax, WriteError,
};
use crate::profile::{Code, OptionSet};

/// The SOP Class of a DICOMDIR (Media Storage Directory Storage).
pub const DICOMDIR_SOP_CLASS: &str = "1.2.840.10008.1.3.10";

/// Whether `file` is a DICOMDIR, as its file meta says (the class UID comes without its
/// padding).
pub fn is_dicomdir(file: &dicom_object::DefaultDicomObject) -> bool {
    file.meta().media_storage_sop_class_uid() == DICOMDIR_SOP_CLASS
}

/// What to do: the profile options, the project key, and user overrides.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The chosen options of the confidentiality profile (empty: Basic Profile alone).
    pub options: OptionSet,
    /// The key every replacement is derived from.
    pub key: ProjectKey,
    /// A date offset in days for every patient, instead of one derived from the key.
    pub date_offset_days: Option<i32>,
    /// Pseudonyms supplied by the user: original Patient ID → new Patient ID and Name.
    pub pseudonyms: BTreeMap<String, String>,
    /// Actions the user chose for particular public attributes (tag as `group << 16 |
    /// element`), applied instead of the profile's wherever the attribute appears.
    pub overrides: BTreeMap<u32, Code>,
    /// Include files that say text is burned into their pixels (Burned In Annotation = YES),
    /// which Obscura cannot clean yet. Off by default: such files are excluded.
    pub accept_burned_in: bool,
    /// Include files that hold an encapsulated document (a PDF or CDA report, a 3D model):
    /// their document is replaced by a placeholder of its type. Off by default: such files
    /// are excluded, since their text cannot be cleaned.
    pub include_documents: bool,
    /// The HIPAA method followed, if any (set by the HIPAA presets): dates to their year
    /// (Safe Harbor), the town, state and ZIP code of the patient's address kept (Limited
    /// Data Set), and the report's HIPAA section.
    pub hipaa: Option<crate::profile::Hipaa>,
    /// Regions of burned-in text to blank, per kind of image.
    pub pixel_rules: crate::pixels::RegionRules,
    /// Regions the user drew (per image, series or image size): always applied, in addition
    /// to `pixel_rules`.
    pub user_regions: crate::pixels::RegionRules,
    /// Look for burned-in text automatically and blank what is found, in images that say
    /// they carry text (Burned In Annotation = YES) or are of a kind that usually does
    /// ([`TEXT_MODALITIES`]).
    pub detect_text: bool,
    /// What `detect_text` looks with (the learned model is loaded once per run).
    pub text_detector: TextDetector,
}

/// What automatic detection of burned-in text looks with.
#[derive(Debug, Clone)]
pub enum TextDetector {
    /// The learned model ([`crate::pixels::text_model`]), and where `bands`, the detector of
    /// bright text on dark bands ([`crate::pixels::detect`]) too.
    Learned {
        /// The loaded model.
        model: Arc<crate::pixels::text_model::TextModel>,
        /// Add the band detector's boxes.
        bands: bool,
    },
    /// The band detector alone (only to compare detectors: it misses most text).
    BandsOnly,
    /// No detector could be loaded: why. Files that need detection are flagged, or left out
    /// when they say they carry text.
    Unavailable(String),
}

/// Modalities whose images usually have text burned in: ultrasound, secondary capture,
/// angiography, fluoroscopy, endoscopy, external camera and microscope photographs, other;
/// ophthalmic photographs, intra-oral and panoramic dental X-rays, scanned documents and
/// bone densitometry reports, which their devices label with the patient's name. Slide
/// microscopy is looked at in its label and overview images only (the slide's label), not
/// in the tissue's tiles. (Radiographs and mammograms are looked at when they say they carry
/// text.)
pub const TEXT_MODALITIES: &[&str] = &[
    "US", "SC", "XA", "RF", "ES", "XC", "GM", "OT", "OP", "IO", "PX", "DOC", "BMD",
];

/// Whether an image of this kind is looked at for burned-in text (see [`TEXT_MODALITIES`]).
fn carries_text(obj: &InMemDicomObject, says_burned_in: bool) -> bool {
    let modality = attrs::text(obj, tags::MODALITY).to_uppercase();
    let image_type = attrs::text(obj, tags::IMAGE_TYPE).to_uppercase();
    says_burned_in
        || TEXT_MODALITIES.contains(&modality.as_str())
        || (modality == "SM"
            && image_type
                .split('\\')
                .any(|t| matches!(t.trim(), "LABEL" | "OVERVIEW")))
}

impl Policy {
    /// The Basic Profile with the given key.
    pub fn basic(key: ProjectKey) -> Policy {
        Policy {
            options: OptionSet::basic(),
            key,
            date_offset_days: None,
            pseudonyms: BTreeMap::new(),
            overrides: BTreeMap::new(),
            accept_burned_in: false,
            include_documents: false,
            hipaa: None,
            pixel_rules: crate::pixels::RegionRules::default(),
            user_regions: crate::pixels::RegionRules::default(),
            detect_text: true,
            text_detector: TextDetector::Unavailable(
                "the text detection model was not loaded".into(),
            ),
        }
    }

    /// Add a user override from text such as `0010,1010=K` (tag, then X, Z, D, K, C or U).
    pub fn add_override(&mut self, spec: &str) -> Result<(), DeidError> {
        let bad = || {
            DeidError::Override(format!(
                "{spec:?}: expected GGGG,EEEE=ACTION, e.g. 0010,1010=K"
            ))
        };
        let (tag, action) = spec.split_once('=').ok_or_else(bad)?;
        let (g, e) = tag
            .trim()
            .trim_matches(['(', ')'])
            .split_once(',')
            .ok_or_else(bad)?;
        let group = u16::from_str_radix(g.trim(), 16).map_err(|_| bad())?;
        let element = u16::from_str_radix(e.trim(), 16).map_err(|_| bad())?;
        if group % 2 == 1 || group == 0x0002 {
            return Err(DeidError::Override(format!(
                "{spec:?}: only public data set attributes can be overridden"
            )));
        }
        let code = Code::from_letter(action).ok_or_else(bad)?;
        self.overrides
            .insert((u32::from(group) << 16) | u32::from(element), code);
        Ok(())
    }

    /// Read user pseudonyms from CSV text: `original_patient_id,pseudonym` per line; a header
    /// line and blank lines are allowed.
    pub fn load_pseudonyms_csv(&mut self, text: &str) -> Result<usize, DeidError> {
        let mut n = 0;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let mut cols = line.splitn(2, [',', ';', '\t']);
            let (orig, pseudo) = match (cols.next(), cols.next()) {
                (Some(a), Some(b)) => (a.trim().trim_matches('"'), b.trim().trim_matches('"')),
                _ => {
                    return Err(DeidError::Pseudonyms(format!(
                        "line {}: expected two columns, original ID and pseudonym",
                        i + 1
                    )))
                }
            };
            if i == 0 && orig.eq_ignore_ascii_case("original")
                || orig.eq_ignore_ascii_case("patientid")
            {
                continue;
            }
            if pseudo.is_empty() || pseudo.len() > 64 || pseudo.contains('\\') {
                return Err(DeidError::Pseudonyms(format!(
                    "line {}: a pseudonym must be 1 to 64 characters without a backslash",
                    i + 1
                )));
            }
            // One pseudonym for two patients would merge their studies.
            if let Some((other, _)) = self
                .pseudonyms
                .iter()
                .find(|(o, p)| p.as_str() == pseudo && o.as_str() != orig)
            {
                return Err(DeidError::Pseudonyms(format!(
                    "line {}: pseudonym {pseudo:?} is already given to patient {other:?}; \
                     two patients with one pseudonym would become one",
                    i + 1
                )));
            }
            if self.pseudonyms.get(orig).is_some_and(|p| p != pseudo) {
                return Err(DeidError::Pseudonyms(format!(
                    "line {}: patient {orig:?} is listed twice with different pseudonyms",
                    i + 1
                )));
            }
            self.pseudonyms.insert(orig.to_string(), pseudo.to_string());
            n += 1;
        }
        Ok(n)
    }
}

/// Why a file could not be de-identified. Such a file is excluded from the output.
#[derive(Debug, thiserror::Error)]
pub enum DeidError {
    /// The file could not be read (not DICOM, an archive or gzip, damaged, unreadable).
    #[error(transparent)]
    Read(#[from] ReadError),
    /// A pixel rule matched but the pixels could not be cleaned.
    #[error("burned-in text could not be removed: {0}")]
    Pixels(String),
    /// The file says its pixels carry text, which cannot be cleaned yet.
    #[error(
        "the file says text is burned into the image (Burned In Annotation = YES) and Obscura \
         cannot remove it yet; left out to be safe (include such files only after checking them)"
    )]
    BurnedIn,
    /// The file holds a document (a PDF or CDA report, a 3D model) whose text cannot be cleaned.
    #[error(
        "the file holds {0}, whose text can name the patient and cannot be cleaned; left out to \
         be safe (include documents to keep such files, with the document replaced by a \
         placeholder)"
    )]
    Document(&'static str),
    /// The file holds a sound recording (voice, dictation, a study's audio).
    #[error(
        "the file holds a sound recording: a voice identifies the speaker and what it says \
         cannot be checked; left out to be safe"
    )]
    Recording,
    /// The file holds a video, which Obscura can neither look at nor clean.
    #[error(
        "the file is a video ({0}): Obscura cannot look at its frames for burned-in text, nor \
         clean the metadata or sound its stream may carry; left out to be safe (include such \
         files only after checking them yourself, with the option for images marked as having \
         text burned in)"
    )]
    Video(String),
    /// The image is of a kind that carries burned-in text, but it could not be looked at for
    /// text (its frames could not be read, or the detector failed on them): why.
    #[error(
        "its image could not be looked at for burned-in text ({0}); left out to be safe \
         (include such files only after checking them yourself, with the option for images \
         marked as having text burned in)"
    )]
    Unlookable(String),
    /// The cleaned object could not be written back.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// The user's pseudonym list is malformed.
    #[error("pseudonym list: {0}")]
    Pseudonyms(String),
    /// A user override is malformed.
    #[error("override: {0}")]
    Override(String),
    /// A re-identification key could not be sealed or opened.
    #[error("re-identification key: {0}")]
    Key(String),
    /// The reason another worker (of the page's pool) gave, as it gave it.
    #[error("{0}")]
    Reported(String),
}

/// One thing done to one attribute, for the change log. Never holds the original value.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Hash)]
pub struct Change {
    /// Where: the tag, prefixed by the sequences and item numbers that contain it,
    /// e.g. `(0008,1115)[1]/(0008,1155)`.
    pub path: String,
    /// The attribute's name (keyword), or `Private` / `Unknown`.
    pub name: String,
    /// What was done: `removed`, `emptied`, `replaced`, `uid-replaced`, `date-shifted`,
    /// `cleaned`, `aggregated` (an age over 89), `kept`, `added`.
    pub action: std::borrow::Cow<'static, str>,
    /// Why, in a few words (the rule or option that decided).
    pub reason: String,
}

/// An original and new value side by side, for the user's local review only: never written
/// to the package or any log file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReviewRow {
    /// Where, as in [`Change::path`].
    pub path: String,
    /// The attribute's name.
    pub name: String,
    /// The value before (shortened).
    pub before: String,
    /// The value after (empty when removed).
    pub after: String,
}

/// The few values that identify a file in a list (patient, study, series).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Patient's Name.
    pub patient_name: String,
    /// Patient ID.
    pub patient_id: String,
    /// Issuer of Patient ID (part of the patient's key: the same ID from two issuers is two
    /// patients).
    #[serde(skip)]
    pub issuer_of_patient_id: String,
    /// Study Date.
    pub study_date: String,
    /// Study Time.
    pub study_time: String,
    /// Study ID.
    pub study_id: String,
    /// Accession Number.
    pub accession_number: String,
    /// Study Description.
    pub study_description: String,
    /// Series Description.
    pub series_description: String,
    /// Modality.
    pub modality: String,
    /// Body Part Examined (for the case page's captions).
    #[serde(default)]
    pub body_part: String,
    /// Study Instance UID.
    pub study_uid: String,
    /// Series Instance UID.
    pub series_uid: String,
    /// SOP Instance UID.
    pub instance_uid: String,
    /// Series Number.
    pub series_number: String,
    /// Instance Number.
    pub instance_number: String,
    /// Whether the object holds an image (Pixel Data).
    pub has_pixels: bool,
}

impl Summary {
    /// The key the session files a patient under: Patient ID, with its Issuer when there is
    /// one (`ID\\ISSUER`: a backslash cannot be in either), or the name when the ID is empty.
    fn patient_key(&self) -> String {
        if self.patient_id.is_empty() {
            self.patient_name.clone()
        } else if self.issuer_of_patient_id.is_empty() {
            self.patient_id.clone()
        } else {
            format!("{}\\{}", self.patient_id, self.issuer_of_patient_id)
        }
    }

    /// Leave out the values kept in the file but flagged as possibly naming the patient
    /// (`flagged`: attribute keywords), so that the package's own files (manifest, case
    /// page, DICOMDIR, report), made from this summary, never copy them.
    fn withhold(&mut self, flagged: &std::collections::BTreeSet<String>) {
        for (keyword, value) in [
            ("Modality", &mut self.modality),
            ("BodyPartExamined", &mut self.body_part),
            ("StudyDescription", &mut self.study_description),
            ("SeriesDescription", &mut self.series_description),
            ("StudyID", &mut self.study_id),
            ("SeriesNumber", &mut self.series_number),
            ("InstanceNumber", &mut self.instance_number),
        ] {
            if flagged.contains(keyword) {
                value.clear();
            }
        }
    }

    fn of(obj: &InMemDicomObject) -> Summary {
        let s = |tag| attrs::text(obj, tag);
        Summary {
            patient_name: s(tags::PATIENT_NAME).trim_end_matches('^').to_string(),
            patient_id: s(tags::PATIENT_ID),
            issuer_of_patient_id: s(tags::ISSUER_OF_PATIENT_ID),
            study_date: s(tags::STUDY_DATE),
            study_time: s(tags::STUDY_TIME),
            study_id: s(tags::STUDY_ID),
            accession_number: s(tags::ACCESSION_NUMBER),
            study_description: s(tags::STUDY_DESCRIPTION),
            series_description: s(tags::SERIES_DESCRIPTION),
            modality: s(tags::MODALITY),
            body_part: s(tags::BODY_PART_EXAMINED),
            study_uid: s(tags::STUDY_INSTANCE_UID),
            series_uid: s(tags::SERIES_INSTANCE_UID),
            instance_uid: s(tags::SOP_INSTANCE_UID),
            series_number: s(tags::SERIES_NUMBER),
            instance_number: s(tags::INSTANCE_NUMBER),
            has_pixels: obj.get(tags::PIXEL_DATA).is_some(),
        }
    }
}

/// The result of de-identifying one file. As JSON it is everything but the bytes and the
/// review, so that a file cleaned in one place (a worker of the page's pool) can be packaged
/// in another.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Deidentified {
    /// The de-identified DICOM Part 10 file.
    #[serde(skip)]
    pub bytes: Vec<u8>,
    /// What was done, attribute by attribute (no original values).
    pub changes: Vec<Change>,
    /// Original and new values, for local review only. Not serialized: a file the page's
    /// pool cleaned goes to the package without them, and the page asks for them again.
    #[serde(skip)]
    pub review: Vec<ReviewRow>,
    /// Identifying values before.
    pub before: Summary,
    /// The same values after.
    pub after: Summary,
    /// What the user should look at before sharing (e.g. text burned into the pixels).
    pub warnings: Vec<String>,
    /// Boxes automatic detection found, blanked or (at the user's word) left visible.
    pub detections: Vec<Detection>,
    /// SOP Class UID (unchanged).
    pub sop_class_uid: String,
    /// Transfer Syntax UID (unchanged).
    pub transfer_syntax: String,
}

/// A box of burned-in text found by automatic detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detection {
    /// Where.
    #[serde(flatten)]
    pub region: crate::pixels::Region,
    /// The user said it is not text: it was left as it is.
    pub rejected: bool,
}

/// What happened to one input file.
#[derive(Debug)]
pub enum Outcome {
    /// De-identified.
    Done(Box<Deidentified>),
    /// Deliberately not copied (e.g. a DICOMDIR index: its records point at the original
    /// files), with the reason.
    Skipped(String),
    /// Could not be cleaned, so it is left out of the output.
    Excluded(DeidError),
}

/// What the session remembers of one patient.
#[derive(Debug, Clone, Serialize)]
pub struct PatientEntry {
    /// The pseudonym used for Patient ID and Patient's Name.
    pub pseudonym: String,
    /// The date offset in days applied with the Modified Dates option.
    pub date_offset_days: i32,
    #[serde(skip)]
    identifiers: Identifiers,
}

/// Batch state shared by every file of a de-identification run.
#[derive(Debug, Clone)]
pub struct Session {
    policy: Policy,
    /// Keyed by original Patient ID (or name when the ID is empty).
    patients: BTreeMap<String, PatientEntry>,
    /// How many files were de-identified.
    done: usize,
    /// Whether a first pass ([`Session::add_scan`]) gathered every patient's identifiers:
    /// files then use those and no longer add to them, so the result of each file no longer
    /// depends on the order of the files (and files can be processed in parallel).
    scanned: bool,
    /// Every patient's identifying values seen so far (all of them after a first pass): the
    /// free text of one patient's files is cleaned of the other patients' values too (a
    /// description naming another patient of the batch).
    everyone: Arc<Identifiers>,
}

/// What a first pass over one file learns of its patient (see [`Session::scan`]): the
/// identifying values as found, so that a scan made in one place (the page's main worker) can
/// be given to sessions elsewhere (its pool's workers) as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientScan {
    key: String,
    found: Vec<scrub::Found>,
}

/// The entry of one patient in `patients`, created on first sight with its pseudonym and
/// date offset.
fn patient_entry<'a>(
    policy: &Policy,
    patients: &'a mut BTreeMap<String, PatientEntry>,
    key: &str,
) -> &'a mut PatientEntry {
    patients
        .entry(key.to_string())
        .or_insert_with(|| PatientEntry {
            // A list gives pseudonyms by Patient ID, with or without its issuer.
            pseudonym: policy
                .pseudonyms
                .get(key)
                .or_else(|| {
                    key.split_once('\\')
                        .and_then(|(id, _)| policy.pseudonyms.get(id))
                })
                .cloned()
                .unwrap_or_else(|| policy.key.pseudonym(key)),
            date_offset_days: policy
                .date_offset_days
                .unwrap_or_else(|| policy.key.date_offset_days(key)),
            identifiers: Identifiers::default(),
        })
}

impl Session {
    /// A session applying `policy` to every file.
    pub fn new(policy: Policy) -> Session {
        Session {
            policy,
            patients: BTreeMap::new(),
            done: 0,
            scanned: false,
            everyone: Arc::default(),
        }
    }

    /// First pass of a two-pass run: read the attributes before the pixel data and gather
    /// the identifying values of the file's patient. `None` for a file that cannot be read
    /// (the second pass says why).
    ///
    /// Free text is cleaned of the identifiers of every patient seen anywhere in the batch;
    /// without a first pass only those of files processed earlier are known, so a name that
    /// appears in a later file's Other Patient Names would be missed in an earlier file.
    pub fn scan(&self, bytes: &[u8]) -> Option<PatientScan> {
        let file = crate::dicom::read::read_file_until(bytes, Some(tags::PIXEL_DATA)).ok()?;
        let summary = Summary::of(&file);
        let mut found = Vec::new();
        walk::collect_identifiers(&file, &self.policy, &mut found);
        Some(PatientScan {
            key: summary.patient_key(),
            found,
        })
    }

    /// Record what [`Session::scan`] found. After the first `add_scan`, files no longer add
    /// identifiers of their own to the session. Whether the session learned a value it did
    /// not know (files cleaned before may then come out differently).
    pub fn add_scan(&mut self, scan: &PatientScan) -> bool {
        self.scanned = true;
        let mut identifiers = Identifiers::default();
        scan.found.iter().for_each(|f| identifiers.add_found(f));
        let entry = &mut self.patient(&scan.key).identifiers;
        let known = entry.extent();
        entry.extend(&identifiers);
        let learned = entry.extent() != known;
        let known = self.everyone.extent();
        Arc::make_mut(&mut self.everyone).extend(&identifiers);
        learned || self.everyone.extent() != known
    }

    /// Fold in a copy of this session that processed other files of the same batch (one
    /// per thread): counts add up, patients seen only there are added.
    pub fn merge(&mut self, other: Session) {
        self.done += other.done;
        if !Arc::ptr_eq(&self.everyone, &other.everyone) {
            Arc::make_mut(&mut self.everyone).extend(&other.everyone);
        }
        for (key, entry) in other.patients {
            let mine = self.patient(&key);
            mine.identifiers.extend(&entry.identifiers);
        }
    }

    /// Count a file de-identified elsewhere with a copy of this session (a worker of the
    /// page's pool), so that its patient is in the re-identification map.
    pub fn note_done(&mut self, d: &Deidentified) {
        self.done += 1;
        self.patient(&d.before.patient_key());
    }

    /// The entry of one patient, created on first sight.
    fn patient(&mut self, key: &str) -> &mut PatientEntry {
        patient_entry(&self.policy, &mut self.patients, key)
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Number of files de-identified so far.
    pub fn done(&self) -> usize {
        self.done
    }

    /// The re-identification map (original patient identity → pseudonym). This is the one
    /// piece of output that links back to patients: export it only on request, encrypted.
    pub fn reidentification_map(&self) -> Vec<(String, String)> {
        self.patients
            .iter()
            .map(|(k, v)| (k.clone(), v.pseudonym.clone()))
            .collect()
    }

    /// De-identify one file, never panicking on bad input: the result says whether the file
    /// was cleaned, skipped or excluded, and why.
    pub fn process(&mut self, bytes: &[u8]) -> Outcome {
        self.process_read(read_file(bytes).map_err(DeidError::from))
    }

    /// [`Session::process`] for bytes the caller no longer needs: they are let go of as soon
    /// as the file is read, and a large native image's pixel bytes become its value without
    /// being copied (see [`read_file_owned`]), so a large file is held about once, not three
    /// times.
    pub fn process_owned(&mut self, bytes: Vec<u8>) -> Outcome {
        self.process_read(read_file_owned(bytes).map_err(DeidError::from))
    }

    fn process_read(
        &mut self,
        read: Result<dicom_object::DefaultDicomObject, DeidError>,
    ) -> Outcome {
        match read {
            Err(e) => Outcome::Excluded(e),
            Ok(file) => {
                if is_dicomdir(&file) {
                    return Outcome::Skipped(
                        "DICOMDIR index: not copied, its records point at the original files"
                            .into(),
                    );
                }
                match self.deidentify_object(file) {
                    Ok(d) => Outcome::Done(Box::new(d)),
                    Err(e) => Outcome::Excluded(e),
                }
            }
        }
    }

    /// De-identify one DICOM Part 10 file given as bytes.
    pub fn deidentify(&mut self, bytes: &[u8]) -> Result<Deidentified, DeidError> {
        match self.process(bytes) {
            Outcome::Done(d) => Ok(*d),
            Outcome::Skipped(why) => Err(ReadError::Parse(why).into()),
            Outcome::Excluded(e) => Err(e),
        }
    }

    fn deidentify_object(
        &mut self,
        file: dicom_object::DefaultDicomObject,
    ) -> Result<Deidentified, DeidError> {
        let meta = file.meta().clone();
        let mut obj = file.into_inner();
        let before = Summary::of(&obj);
        if documents::holds_sound(&obj, meta.media_storage_sop_class_uid()) {
            return Err(DeidError::Recording);
        }
        let syntax = TransferSyntax::of(meta.transfer_syntax());
        if syntax.is_video() && !self.policy.accept_burned_in {
            return Err(DeidError::Video(syntax.name()));
        }
        if let Some(kind) = documents::kind(&obj) {
            if !self.policy.include_documents {
                return Err(DeidError::Document(kind));
            }
        }
        let has_pixels = attrs::has_image(&obj);
        // Rules are matched on the original values (model names may be removed below).
        let (mut regions, mut rule_names) = if has_pixels {
            self.policy.pixel_rules.regions_for(&obj)
        } else {
            (Vec::new(), Vec::new())
        };
        if has_pixels {
            let (drawn, names) = self.policy.user_regions.regions_for(&obj);
            regions.extend(drawn);
            rule_names.extend(names);
        }
        let says_burned_in =
            attrs::text(&obj, tags::BURNED_IN_ANNOTATION).eq_ignore_ascii_case("YES");
        let mut warnings = pixel_warnings(&obj, meta.media_storage_sop_class_uid());
        let mut detection_note = None;
        // The name detection's boxes go by in the log, when it blanked any.
        let mut detected_name: Option<String> = None;
        let mut detections = Vec::new();
        // Included although its text could not be looked for.
        let mut unlooked = false;
        if has_pixels && self.policy.detect_text && carries_text(&obj, says_burned_in) {
            let file = obj.with_exact_meta(meta.clone());
            let (found, note) = match detect_text(&file, &self.policy) {
                Looked::Found(found, note) => (found, note),
                // Its text can be neither found nor seen on the page: fail safe.
                Looked::Failed(why) if !self.policy.accept_burned_in => {
                    return Err(DeidError::Unlookable(why))
                }
                Looked::Failed(why) => {
                    unlooked = true;
                    (
                        Vec::new(),
                        format!(
                            "Burned-in text could not be looked for automatically ({why}): you \
                         included such files; look at the image."
                        ),
                    )
                }
            };
            obj = file.into_inner();
            detections = found
                .iter()
                .map(|r| Detection {
                    region: *r,
                    rejected: self.policy.user_regions.is_rejected(&obj, r),
                })
                .collect();
            let kept = detections.iter().filter(|d| d.rejected).count();
            let blanked: Vec<_> = detections
                .iter()
                .filter(|d| !d.rejected)
                .map(|d| d.region)
                .collect();
            if !blanked.is_empty() {
                detected_name = Some(format!(
                    "automatic text detection ({} box(es))",
                    blanked.len()
                ));
                rule_names.extend(detected_name.clone());
                regions.extend(blanked);
            }
            detection_note = Some(if kept > 0 {
                format!(
                    "{note} {kept} box(es) found were left visible: you said they are not text."
                )
            } else {
                note
            });
        }
        if !regions.is_empty() {
            // What detection blanked is told by its own note (one line, not two).
            let named: Vec<&str> = rule_names
                .iter()
                .filter(|n| Some(*n) != detected_name.as_ref())
                .map(String::as_str)
                .collect();
            warnings = if named.is_empty() {
                Vec::new()
            } else {
                vec![format!(
                    "Regions of {} were blanked: check that nothing else is written in the image.",
                    named.join(", ")
                )]
            };
        }
        warnings.extend(detection_note);
        if has_pixels && regions.is_empty() && says_burned_in && !self.policy.accept_burned_in {
            return Err(DeidError::BurnedIn);
        }
        let little_endian = TransferSyntax::of(meta.transfer_syntax()).is_little_endian();

        // The patient this file belongs to decides the pseudonym and the date offset.
        let everyone = Arc::clone(&self.everyone);
        let patient_key = before.patient_key();
        let entry = patient_entry(&self.policy, &mut self.patients, &patient_key);
        let mut own = Identifiers::default();
        let identifiers = if self.scanned {
            // The first pass knows them all; this file's own are added for this file only.
            own.extend(&entry.identifiers);
            &mut own
        } else {
            &mut entry.identifiers
        };
        let mut walker = walk::Walker::new(
            &self.policy,
            entry.pseudonym.clone(),
            entry.date_offset_days,
            &obj,
            identifiers,
            everyone,
        );
        walker.pixels_cleaned = !regions.is_empty();
        // (Such a file is already flagged by `pixel_warnings`.)
        walker.burned_in_left =
            (has_pixels && regions.is_empty() && says_burned_in) || syntax.is_video() || unlooked;
        if syntax.is_video() {
            walker.log_video();
        }
        if unlooked {
            walker.log_unlooked();
        }
        let mut cleaned = walker.clean_top_level(obj);
        let cut = crate::pixels::cut_after_image(&mut cleaned);
        if cut > 0 {
            walker.log_after_image(cut);
        }
        let mut decompressed = false;
        if !regions.is_empty() {
            let encapsulated = matches!(
                cleaned.get(tags::PIXEL_DATA).map(|e| e.value()),
                Some(dicom_core::value::Value::PixelSequence(_))
            );
            let (frames, stored) = if encapsulated {
                let (obj, frames, stored) = crate::pixels::blank_encapsulated(
                    cleaned.with_exact_meta(meta.clone()),
                    &regions,
                )
                .map_err(|e| DeidError::Pixels(e.reason()))?;
                cleaned = obj;
                let name = TransferSyntax::of(meta.transfer_syntax()).name();
                let note = match stored {
                    crate::pixels::Stored::Rle => {
                        decompressed = true;
                        format!("; decoded from {name} and stored as RLE Lossless")
                    }
                    crate::pixels::Stored::JpegBlocks { unit, new_tables } => format!(
                        "; blanked inside the {name} data in whole blocks of {}×{} pixels, \
                         every other block kept exactly as it was (not compressed again){}",
                        unit.0,
                        unit.1,
                        if new_tables {
                            ", with Huffman tables made anew"
                        } else {
                            ""
                        }
                    ),
                };
                (frames, note)
            } else {
                let frames = crate::pixels::blank_regions(&mut cleaned, &regions, little_endian)
                    .map_err(|e| DeidError::Pixels(e.reason()))?;
                (frames, String::new())
            };
            let undeclared = detected_name.is_some() && !says_burned_in;
            walker.log_pixels(regions.len(), frames, &rule_names, &stored, undeclared);
        }
        if !decompressed {
            // Compressed frames kept: the text their codestreams may carry goes.
            let removed = crate::pixels::strip_codestream_text(&mut cleaned);
            if removed > 0 {
                walker.log_codestream_text(removed);
            }
        }
        let mut new_meta = walker.clean_meta(&meta, &cleaned)?;
        if decompressed {
            // The blanked frames are stored as RLE Lossless.
            new_meta.set_transfer_syntax(
                &dicom_transfer_syntax_registry::entries::RLE_LOSSLESS.erased(),
            );
            new_meta.update_information_group_length();
        }
        let (changes, review, code_warnings, flagged) = walker.finish();
        warnings.extend(code_warnings);
        if !self.scanned {
            // Files of other patients that come later are cleaned of this one's values.
            if let Some(entry) = self.patients.get(&patient_key) {
                Arc::make_mut(&mut self.everyone).extend(&entry.identifiers);
            }
        }

        let mut after = Summary::of(&cleaned);
        after.withhold(&flagged);
        let sop_class_uid = new_meta.media_storage_sop_class_uid().to_string();
        let transfer_syntax = new_meta.transfer_syntax().to_string();
        let bytes = write_part10(cleaned.with_exact_meta(new_meta))?;
        self.done += 1;
        Ok(Deidentified {
            bytes,
            changes,
            review,
            detections,
            before,
            after,
            warnings,
            sop_class_uid,
            transfer_syntax,
        })
    }
}

/// What looking for burned-in text came to.
enum Looked {
    /// Boxes around the text found in every frame (maybe none), and a note for the user on
    /// what was (or could not be) done.
    Found(Vec<crate::pixels::Region>, String),
    /// The image could not be looked at (its frames could not be read, or the detector failed
    /// on them): why.
    Failed(String),
}

/// Look for burned-in text automatically in every frame.
fn detect_text(file: &dicom_object::DefaultDicomObject, policy: &Policy) -> Looked {
    let looked = match &policy.text_detector {
        TextDetector::Learned { model, bands } => {
            crate::pixels::text::find_text(file, Some(model), *bands)
        }
        TextDetector::BandsOnly => crate::pixels::text::find_text(file, None, true),
        // No detector at all is said on every file that needed one (flagged, as without
        // detection): it is not this image's fault.
        TextDetector::Unavailable(why) => {
            return Looked::Found(
                Vec::new(),
                format!(
                    "Burned-in text could not be looked for automatically ({why}): look at the \
                     image."
                ),
            )
        }
    };
    match looked {
        Ok(found) => {
            let frames = if found.frames > 1 {
                format!(" in {} frames", found.frames)
            } else {
                String::new()
            };
            let note = if found.regions.is_empty() {
                format!("Automatic detection found no burned-in text{frames}: look at the image.")
            } else {
                format!(
                    "Burned-in text was found automatically ({} box(es){frames}) and blanked: look at the image for text it missed.",
                    found.regions.len()
                )
            };
            Looked::Found(found.regions, note)
        }
        Err(e) => Looked::Failed(e.reason()),
    }
}

/// Reasons to look at the pixels before sharing: metadata cleaning does not touch text
/// burned into the image, and some kinds of image usually carry it.
fn pixel_warnings(obj: &InMemDicomObject, sop_class: &str) -> Vec<String> {
    let mut w = Vec::new();
    if !attrs::has_image(obj) {
        return w;
    }
    let burned = attrs::text(obj, tags::BURNED_IN_ANNOTATION).to_ascii_uppercase();
    let modality = attrs::text(obj, tags::MODALITY).to_ascii_uppercase();
    let sop_class = sop_class.trim_end_matches('\0');
    // Secondary capture, ultrasound, video and visible-light images, and every kind looked
    // at for text: screen grabs, scanner overlays, labels devices burn in.
    let risky_class = sop_class.starts_with("1.2.840.10008.5.1.4.1.1.7")
        || sop_class.starts_with("1.2.840.10008.5.1.4.1.1.6.")
        || sop_class.starts_with("1.2.840.10008.5.1.4.1.1.3.1")
        || sop_class.starts_with("1.2.840.10008.5.1.4.1.1.77.1.")
        || TEXT_MODALITIES.contains(&modality.as_str());
    if burned == "YES" {
        w.push("The file says text is burned into the image (Burned In Annotation = YES): check the pixels before sharing.".into());
    } else if burned != "NO" && risky_class {
        w.push("Images of this kind often have names or dates burned into the pixels: check them before sharing.".into());
    }
    let features = attrs::text(obj, tags::RECOGNIZABLE_VISUAL_FEATURES).to_ascii_uppercase();
    // Photographs (visible light, external camera) and 3D renderings can show a face, which
    // identifies the patient as surely as a name (HIPAA counts full-face images).
    let photograph = sop_class.starts_with("1.2.840.10008.5.1.4.1.1.77.1.4") || modality == "XC";
    let image_type = attrs::text(obj, tags::IMAGE_TYPE).to_ascii_uppercase();
    let rendering = image_type.split('\\').any(|t| {
        matches!(
            t.trim(),
            "VOLUME_RENDER" | "VOLUME RENDER" | "SURFACE_RENDER" | "SURFACE RENDER" | "3D"
        )
    });
    if features == "YES" {
        w.push("The file says the image shows recognizable features (e.g. a face): check it before sharing.".into());
    } else if features != "NO" && (photograph || rendering) {
        w.push(format!(
            "A {} can show the patient's face, which identifies them: check it before sharing.",
            if photograph {
                "photograph"
            } else {
                "3D rendering"
            }
        ));
    }
    w
}

/// The re-identification map as CSV text (`original,pseudonym`).
pub fn reidentification_csv(session: &Session) -> String {
    let mut csv = String::from("original,pseudonym\n");
    for (orig, pseudo) in session.reidentification_map() {
        csv.push_str(&format!(
            "{},{pseudo}\n",
            orig.replace([',', '\n', '\r'], " ")
        ));
    }
    csv
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dicom::tests::{
        files_of_every_kind, in_little_endian, in_syntax, ultrasound_with_text, written,
    };
    use dicom_dictionary_std::uids;

    /// The learned detector with the band detector, as the CLI and the page use them.
    fn learned() -> TextDetector {
        TextDetector::Learned {
            model: crate::pixels::text_model::test_model(),
            bands: true,
        }
    }

    #[test]
    fn text_in_the_middle_frames_of_a_cine_only_is_found_and_blanked_in_every_frame() {
        use crate::pixels::detect::tests::{draw, frame};
        use dicom_core::value::PrimitiveValue;
        use dicom_core::{DataElement, VR};
        let (bytes, _) = ultrasound_with_text();
        let file = read_file(&bytes).expect("the fixture");
        let meta = file.meta().clone();
        let mut obj = file.into_inner();
        // Five frames of anatomy alone; the third has a name over the anatomy.
        let clean = frame(240, 320);
        let mut named = frame(240, 320);
        draw(&mut named, "KAFE 1901", 110, 110, 2, 250);
        let mut pixels = Vec::new();
        for k in 0..5 {
            pixels.extend_from_slice(if k == 2 { &named.data } else { &clean.data });
        }
        obj.put(DataElement::new(
            tags::NUMBER_OF_FRAMES,
            VR::IS,
            PrimitiveValue::from("5"),
        ));
        obj.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            PrimitiveValue::U8(pixels.into()),
        ));
        let bytes = written(&obj.with_exact_meta(meta));
        let mut policy = Policy::basic(ProjectKey::from_bytes([4; 32]));
        policy.text_detector = learned();
        let d = Session::new(policy).deidentify(&bytes).expect("cleaned");
        let out = pixels_of(&d.bytes);
        assert_eq!(out.len(), 5 * 76_800);
        let third = &out[2 * 76_800..3 * 76_800];
        for (i, (&before, &after)) in named.data.iter().zip(third).enumerate() {
            if before != clean.data[i] {
                assert_ne!(after, before, "text pixel {i} of the third frame kept");
            }
        }
        // Blanked in every frame, with one line in the log on what detection did.
        assert!(out[..76_800] != clean.data[..]);
        assert!(
            d.warnings
                .iter()
                .any(|w| w.contains("found automatically") && w.contains("5 frames")),
            "{:?}",
            d.warnings
        );
        assert!(
            d.changes
                .iter()
                .any(|c| c.reason.contains("did not say so")),
            "Burned In Annotation recorded"
        );
    }

    #[test]
    fn the_kinds_of_image_that_carry_text_are_looked_at() {
        use dicom_core::value::PrimitiveValue;
        use dicom_core::{DataElement, VR};
        let image = |modality: &str, image_type: &str| {
            InMemDicomObject::from_element_iter([
                DataElement::new(tags::MODALITY, VR::CS, PrimitiveValue::from(modality)),
                DataElement::new(tags::IMAGE_TYPE, VR::CS, PrimitiveValue::from(image_type)),
            ])
        };
        for kind in ["US", "SC", "XA", "ES", "OP", "IO", "PX", "DOC", "BMD", "us"] {
            assert!(
                carries_text(&image(kind, "ORIGINAL\\PRIMARY"), false),
                "{kind}"
            );
        }
        // A slide's label and overview show its label; its tissue's tiles are not looked at.
        assert!(carries_text(
            &image("SM", "ORIGINAL\\PRIMARY\\LABEL\\NONE"),
            false
        ));
        assert!(carries_text(
            &image("SM", "ORIGINAL\\PRIMARY\\OVERVIEW\\NONE"),
            false
        ));
        assert!(!carries_text(
            &image("SM", "ORIGINAL\\PRIMARY\\VOLUME\\NONE"),
            false
        ));
        // Radiographs and cross-sections when they say they carry text.
        for kind in ["CT", "MR", "DX", "CR", "MG"] {
            assert!(
                !carries_text(&image(kind, "ORIGINAL\\PRIMARY"), false),
                "{kind}"
            );
            assert!(
                carries_text(&image(kind, "ORIGINAL\\PRIMARY"), true),
                "{kind}"
            );
        }
    }

    #[test]
    fn detection_that_is_unavailable_is_said_and_never_silently_skipped() {
        let (bytes, _) = ultrasound_with_text();
        let mut policy = Policy::basic(ProjectKey::from_bytes([4; 32]));
        policy.text_detector = TextDetector::Unavailable("the model file was not found".into());
        let d = Session::new(policy.clone())
            .deidentify(&bytes)
            .expect("flagged, not left out");
        assert!(
            d.warnings
                .iter()
                .any(|w| w.contains("could not be looked for") && w.contains("not found")),
            "{:?}",
            d.warnings
        );
        // A file that says it carries text is left out.
        let file = read_file(&bytes).expect("the fixture");
        let meta = file.meta().clone();
        let mut obj = file.into_inner();
        obj.put(dicom_core::DataElement::new(
            tags::BURNED_IN_ANNOTATION,
            dicom_core::VR::CS,
            dicom_core::value::PrimitiveValue::from("YES"),
        ));
        let says = written(&obj.with_exact_meta(meta));
        assert!(matches!(
            Session::new(policy).process(&says),
            Outcome::Excluded(DeidError::BurnedIn)
        ));
    }

    fn pixels_of(bytes: &[u8]) -> Vec<u8> {
        read_file(bytes)
            .ok()
            .and_then(|f| {
                f.get(tags::PIXEL_DATA)
                    .and_then(|e| e.value().to_bytes().ok())
                    .map(|b| b.to_vec())
            })
            .unwrap_or_default()
    }

    fn inside(r: &crate::pixels::Region, i: usize) -> bool {
        let (x, y) = ((i % 320) as u32, (i / 320) as u32);
        x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h
    }

    #[test]
    fn a_detected_box_the_user_says_is_not_text_is_left_visible() {
        let (bytes, original) = ultrasound_with_text();
        let mut policy = Policy::basic(ProjectKey::from_bytes([4; 32]));
        policy.detect_text = true;
        policy.text_detector = learned();
        let d = Session::new(policy.clone())
            .deidentify(&bytes)
            .expect("cleaned");
        assert!(d.detections.len() >= 2, "{:?}", d.detections);
        assert!(d.detections.iter().all(|d| !d.rejected));
        // One line tells the user what detection did (not a second one for its boxes).
        assert_eq!(d.warnings.len(), 1, "{:?}", d.warnings);
        assert!(d.warnings[0].starts_with("Burned-in text was found automatically"));
        let first = d.detections[0].region;
        let blanked = pixels_of(&d.bytes);
        assert!((0..original.len()).any(|i| inside(&first, i) && original[i] > 200));
        assert!((0..original.len())
            .filter(|i| inside(&first, *i))
            .all(|i| blanked[i] == 0));

        // The user looks and says the first box is not text.
        let uid = attrs::text(&read_file(&bytes).expect("parses"), tags::SOP_INSTANCE_UID);
        policy
            .user_regions
            .rejected
            .push(crate::pixels::RejectedBox {
                sop_instance_uid: uid,
                region: first,
            });
        let again = Session::new(policy).deidentify(&bytes).expect("cleaned");
        assert_eq!(again.detections.len(), d.detections.len());
        assert!(again.detections[0].rejected);
        assert!(again.detections[1..].iter().all(|d| !d.rejected));
        let kept = pixels_of(&again.bytes);
        for i in 0..original.len() {
            let other = again.detections[1..].iter().any(|d| inside(&d.region, i));
            if inside(&first, i) && !other {
                assert_eq!(kept[i], original[i], "pixel {i} of the rejected box kept");
            }
        }
        assert!(again.detections[1..].iter().all(|d| (0..kept.len())
            .filter(|i| inside(&d.region, *i))
            .all(|i| kept[i] == 0)));
        assert!(again.warnings.iter().any(|w| w.contains("left visible")));
    }

    #[test]
    fn given_up_bytes_are_cleaned_as_borrowed_ones() {
        let (us, _) = ultrasound_with_text();
        let mut policy = Policy::basic(ProjectKey::from_bytes([4; 32]));
        policy.detect_text = true;
        policy.text_detector = learned();
        // Each file in both little endian syntaxes (the shortcut is taken in both).
        let mut inputs = Vec::new();
        for bytes in files_of_every_kind().into_iter().chain([us]) {
            for (_, file) in in_little_endian(&bytes) {
                inputs.push(written(&file));
            }
        }
        for bytes in inputs {
            let borrowed = Session::new(policy.clone()).process(&bytes);
            let owned = Session::new(policy.clone()).process_owned(bytes);
            match (borrowed, owned) {
                (Outcome::Done(a), Outcome::Done(b)) => {
                    assert!(a.bytes == b.bytes);
                    assert_eq!(a.changes.len(), b.changes.len());
                }
                (Outcome::Skipped(a), Outcome::Skipped(b)) => assert_eq!(a, b),
                (Outcome::Excluded(a), Outcome::Excluded(b)) => {
                    assert_eq!(a.to_string(), b.to_string())
                }
                _ => panic!("different outcomes"),
            }
        }
    }

    #[test]
    fn odd_sized_8_bit_images_read_as_words_are_drawn_whole() {
        // In implicit VR, dicom-rs reads 8-bit pixel data as 16-bit words: a frame of an odd
        // number of bytes ends inside a word (this once cut the frame short and panicked).
        let odd = files_of_every_kind().pop().expect("odd image");
        let read =
            read_file(&written(&in_syntax(&odd, uids::IMPLICIT_VR_LITTLE_ENDIAN))).expect("parses");
        assert!(matches!(
            read.get(tags::PIXEL_DATA).map(|e| e.value()),
            Some(dicom_core::value::Value::Primitive(
                dicom_core::value::PrimitiveValue::U16(_)
            ))
        ));
        let shown = crate::pixels::render_with(&read, None, None).expect("drawn");
        assert_eq!((shown.width, shown.height), (5, 3));
        let bright: Vec<u8> = shown.rgba.chunks_exact(4).map(|p| p[0]).collect();
        // The 15 values 0..15, stretched over the grey scale: all there, in order.
        assert_eq!(bright.len(), 15);
        assert!(bright.windows(2).all(|w| w[0] <= w[1]), "{bright:?}");
        assert!(bright[..13].windows(2).all(|w| w[0] < w[1]), "{bright:?}");
    }
}
