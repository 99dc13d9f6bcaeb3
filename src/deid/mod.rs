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
mod outcome;
mod policy;
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
pub use outcome::{Change, DeidError, Deidentified, Detection, Outcome, ReviewRow, Summary};
use policy::carries_text;
pub use policy::{Policy, TextDetector, TEXT_MODALITIES};
pub use scrub::Identifiers;

use crate::attrs;
use crate::dicom::{read_file, read_file_owned, write_part10, ReadError, TransferSyntax};
use crate::pixels::text::TextFound;

/// The SOP Class of a DICOMDIR (Media Storage Directory Storage).
pub const DICOMDIR_SOP_CLASS: &str = "1.2.840.10008.1.3.10";

/// Whether `file` is a DICOMDIR, as its file meta says (the class UID comes without its
/// padding).
pub fn is_dicomdir(file: &dicom_object::DefaultDicomObject) -> bool {
    file.meta().media_storage_sop_class_uid() == DICOMDIR_SOP_CLASS
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

impl PatientScan {
    /// Scans of many files as one per patient, in the order patients were first met, each
    /// value once: what [`Session::add_scan`] learns from them is the same, and a first pass
    /// made in pieces (shards of an archive) is handed on at the size of its patients, not of
    /// its files.
    pub fn gather(scans: impl IntoIterator<Item = PatientScan>) -> Vec<PatientScan> {
        let mut order: Vec<PatientScan> = Vec::new();
        let mut index: std::collections::HashMap<String, usize> = Default::default();
        let mut seen: Vec<std::collections::HashSet<scrub::Found>> = Vec::new();
        for scan in scans {
            let n = *index.entry(scan.key.clone()).or_insert_with(|| {
                order.push(PatientScan {
                    key: scan.key.clone(),
                    found: Vec::new(),
                });
                seen.push(Default::default());
                order.len() - 1
            });
            for f in scan.found {
                if seen[n].insert(f.clone()) {
                    order[n].found.push(f);
                }
            }
        }
        order
    }
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

    /// A copy of this session to de-identify files with elsewhere (another thread), to be
    /// given back to [`Session::merge`]: it counts only the files it does itself.
    pub fn fork(&self) -> Session {
        Session {
            done: 0,
            ..self.clone()
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
        // The boxes the user drew on this image: an annotation under one is not kept.
        let mut drawn = Vec::new();
        if has_pixels {
            let names;
            (drawn, names) = self.policy.user_regions.regions_for(&obj);
            regions.extend(drawn.iter().copied());
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
                        TextFound::default(),
                        format!(
                            "Burned-in text could not be looked for automatically ({why}): you \
                         included such files; look at the image."
                        ),
                    )
                }
            };
            obj = file.into_inner();
            detections = found
                .regions
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let read = found.read.get(i).cloned().unwrap_or_default();
                    let rejected = self.policy.user_regions.is_rejected(&obj, r);
                    let covered = drawn.iter().any(|d| d.contains(r));
                    Detection {
                        region: *r,
                        rejected,
                        annotation: self.policy.keep_annotations
                            && read.annotation
                            && !rejected
                            && !covered,
                        text: read.text,
                    }
                })
                .collect();
            let kept = detections.iter().filter(|d| d.rejected).count();
            let annotations = detections.iter().filter(|d| d.annotation).count();
            let blanked: Vec<_> = detections
                .iter()
                .filter(|d| !d.rejected && !d.annotation)
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
            let mut note = note;
            if kept > 0 {
                note.push_str(&format!(
                    " {kept} box(es) found were left visible: you said they are not text."
                ));
            }
            let unread = matches!(
                &self.policy.text_detector,
                TextDetector::Learned { reader: None, .. }
            );
            if self.policy.keep_annotations && unread && !detections.is_empty() {
                note.push_str(
                    " Non-identifying annotations could not be kept: the text recognition model \
                     is not loaded, so every box found was blanked.",
                );
            }
            if annotations > 0 {
                note.push_str(&format!(
                    " {annotations} box(es) found were left visible: their whole text reads as a \
                     non-identifying annotation (laterality, a scale or unit, a probe or body \
                     marker), and you chose to keep such annotations."
                ));
            }
            detection_note = Some(note);
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
    /// Boxes around the text found in every frame (maybe none), with what was read in them,
    /// and a note for the user on what was (or could not be) done.
    Found(TextFound, String),
    /// The image could not be looked at (its frames could not be read, or the detector failed
    /// on them): why.
    Failed(String),
}

/// Look for burned-in text automatically in every frame.
fn detect_text(file: &dicom_object::DefaultDicomObject, policy: &Policy) -> Looked {
    let looked = match &policy.text_detector {
        TextDetector::Learned {
            model,
            bands,
            reader,
        } => crate::pixels::text::find_text(file, Some(model), reader.as_deref(), *bands),
        TextDetector::BandsOnly => crate::pixels::text::find_text(file, None, None, true),
        // No detector at all is said on every file that needed one (flagged, as without
        // detection): it is not this image's fault.
        TextDetector::Unavailable(why) => {
            return Looked::Found(
                TextFound::default(),
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
            Looked::Found(found, note)
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
            reader: None,
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
    fn boxes_are_read_and_annotations_are_kept_only_when_asked() {
        use crate::dicom::tests::ultrasound_with;
        let (bytes, original) =
            ultrasound_with(&[("KAFE 1901", 20, 10, 2, 250), ("RT SAG", 200, 200, 2, 250)]);
        let mut policy = Policy::basic(ProjectKey::from_bytes([4; 32]));
        policy.text_detector = TextDetector::Learned {
            model: crate::pixels::text_model::test_model(),
            bands: true,
            reader: Some(crate::pixels::text_read::test_reader()),
        };
        let read = |d: &Deidentified| -> Vec<String> {
            d.detections.iter().map(|d| d.text.clone()).collect()
        };
        let all = Session::new(policy.clone())
            .deidentify(&bytes)
            .expect("cleaned");
        assert!(
            read(&all).contains(&"KAFE 1901".to_string()),
            "{:?}",
            all.detections
        );
        assert!(
            read(&all).contains(&"RT SAG".to_string()),
            "{:?}",
            all.detections
        );
        // Without the option every box is blanked; what was read is in no change nor warning.
        assert!(all.detections.iter().all(|d| !d.annotation));
        let log = format!("{:?}{:?}", all.changes, all.warnings);
        assert!(!log.contains("KAFE") && !log.contains("SAG"), "{log}");
        let blanked = pixels_of(&all.bytes);
        assert!((0..original.len()).all(|i| original[i] < 250 || blanked[i] == 0));

        policy.keep_annotations = true;
        let policy_kept = policy.clone();
        let kept = Session::new(policy).deidentify(&bytes).expect("cleaned");
        let marker = kept
            .detections
            .iter()
            .find(|d| d.text == "RT SAG")
            .expect("read");
        assert!(marker.annotation);
        let name = kept
            .detections
            .iter()
            .find(|d| d.text == "KAFE 1901")
            .expect("read");
        assert!(!name.annotation);
        let pixels = pixels_of(&kept.bytes);
        for i in 0..original.len() {
            if inside(&name.region, i) {
                assert_eq!(pixels[i], 0, "pixel {i} of the name kept");
            } else if inside(&marker.region, i) {
                assert_eq!(
                    pixels[i], original[i],
                    "pixel {i} of the annotation changed"
                );
            }
        }
        assert!(kept
            .warnings
            .iter()
            .any(|w| w.contains("non-identifying annotation")));
        let log = format!("{:?}{:?}", kept.changes, kept.warnings);
        assert!(!log.contains("KAFE") && !log.contains("SAG"), "{log}");

        // A box the user draws over the annotation blacks it out after all.
        let uid = attrs::text(&read_file(&bytes).expect("parses"), tags::SOP_INSTANCE_UID);
        let r = marker.region;
        let mut drawn = policy_kept;
        drawn.user_regions = crate::pixels::RegionRules::from_json(&format!(
            r#"{{"rules": [{{"name": "box", "sop_instance_uid": "{uid}",
                "regions": [{{"x": {}, "y": {}, "w": {}, "h": {}}}]}}]}}"#,
            r.x, r.y, r.w, r.h
        ))
        .expect("rules");
        let out = Session::new(drawn).deidentify(&bytes).expect("cleaned");
        assert!(
            out.detections.iter().all(|d| !d.annotation),
            "{:?}",
            out.detections
        );
        let pixels = pixels_of(&out.bytes);
        assert!((0..original.len()).all(|i| !inside(&r, i) || pixels[i] == 0));
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
