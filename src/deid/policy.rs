//! What to do to a file: the profile and its options, the project key, pseudonyms, the
//! user's overrides, pixel rules and boxes, and text detection ([`Policy`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use super::{DeidError, ProjectKey};
use crate::attrs;
use crate::profile::{Code, OptionSet};

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
    /// Leave visible the boxes found whose whole text reads, surely, as a non-identifying
    /// annotation (laterality, scale and unit labels, probe and body-marker labels:
    /// [`crate::pixels::text_read::is_annotation`]). Off by default; needs a reader.
    pub keep_annotations: bool,
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
        /// What reads the boxes found, if loaded: the page shows what was read, and
        /// [`Policy::keep_annotations`] needs it.
        reader: Option<Arc<crate::pixels::text_read::TextReader>>,
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
pub(super) fn carries_text(obj: &InMemDicomObject, says_burned_in: bool) -> bool {
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
            keep_annotations: false,
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
