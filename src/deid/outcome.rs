//! What de-identifying one file gives: the outcome ([`Outcome`]), the change log
//! ([`Change`]), the values for local review ([`ReviewRow`]), the few values that name the
//! file in lists and the package ([`Summary`]), and the boxes of text found ([`Detection`]).

use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use serde::{Deserialize, Serialize};

use crate::attrs;
use crate::dicom::{ReadError, WriteError};

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

impl DeidError {
    /// A short, stable name for the kind of error, for programs (the library's typed errors:
    /// `not-dicom`, `archive`, `gzip`, `unreadable`, `damaged`, `pixels`, `burned-in`,
    /// `document`, `recording`, `video`, `unlookable`, `write`, `pseudonyms`, `override`,
    /// `key`, `reported`).
    pub fn code(&self) -> &'static str {
        match self {
            DeidError::Read(ReadError::NotDicom) => "not-dicom",
            DeidError::Read(ReadError::NestedArchive) => "archive",
            DeidError::Read(ReadError::Gzip) => "gzip",
            DeidError::Read(ReadError::Parse(_)) => "unreadable",
            DeidError::Read(ReadError::Malformed(_)) => "damaged",
            DeidError::Pixels(_) => "pixels",
            DeidError::BurnedIn => "burned-in",
            DeidError::Document(_) => "document",
            DeidError::Recording => "recording",
            DeidError::Video(_) => "video",
            DeidError::Unlookable(_) => "unlookable",
            DeidError::Write(_) => "write",
            DeidError::Pseudonyms(_) => "pseudonyms",
            DeidError::Override(_) => "override",
            DeidError::Key(_) => "key",
            DeidError::Reported(_) => "reported",
        }
    }
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
    pub(super) fn patient_key(&self) -> String {
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
    pub(super) fn withhold(&mut self, flagged: &std::collections::BTreeSet<String>) {
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

    pub(super) fn of(obj: &InMemDicomObject) -> Summary {
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detection {
    /// Where.
    #[serde(flatten)]
    pub region: crate::pixels::Region,
    /// The user said it is not text: it was left as it is.
    pub rejected: bool,
    /// What was read in it, for the user's eyes on the page only: the package and the change
    /// log never hold it. Empty when nothing was read (or no reader was loaded).
    #[serde(default)]
    pub text: String,
    /// It was left visible as a non-identifying annotation ("Keep non-identifying
    /// annotations").
    #[serde(default)]
    pub annotation: bool,
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
