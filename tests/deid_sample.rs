//! Behaviour of the de-identification core on the fake sample study: what a user relies on.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;

use dicom_core::header::Header;
use dicom_dictionary_std::tags;
use dicom_object::{InMemDicomObject, OpenFileOptions};
use obscura::deid::{Outcome, Policy, ProjectKey, Session};
use obscura::profile::{OptionSet, ProfileOption};
use obscura::sample::{sample_study, CANARIES};

fn session(options: &[ProfileOption], key: u8) -> Session {
    let mut policy = Policy::basic(ProjectKey::from_bytes([key; 32]));
    policy.options = OptionSet::new(options.iter().copied()).expect("valid options");
    Session::new(policy)
}

fn parse(bytes: &[u8]) -> dicom_object::DefaultDicomObject {
    assert_eq!(
        &bytes[128..132],
        b"DICM",
        "output has the Part 10 preamble and marker"
    );
    OpenFileOptions::new()
        .read_preamble(dicom_object::file::ReadPreamble::Always)
        .from_reader(bytes)
        .expect("output parses again")
}

fn text(obj: &InMemDicomObject, tag: dicom_core::Tag) -> String {
    obj.get(tag)
        .and_then(|e| e.value().to_str().ok())
        .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
        .unwrap_or_default()
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Every UI value at any depth, with its path.
fn uids(obj: &InMemDicomObject, path: &str, out: &mut Vec<(String, String)>) {
    for e in obj.iter() {
        let here = format!("{path}({:04X},{:04X})", e.tag().group(), e.tag().element());
        if let Some(items) = e.value().items() {
            for (i, item) in items.iter().enumerate() {
                uids(item, &format!("{here}[{i}]/"), out);
            }
        } else if e.vr() == dicom_core::VR::UI {
            if let Ok(v) = e.value().to_str() {
                out.push((here, v.trim_end_matches('\0').to_string()));
            }
        }
    }
}

#[test]
fn no_fake_phi_survives_the_basic_profile_anywhere_in_the_bytes() {
    let mut s = session(&[], 1);
    for (name, bytes) in sample_study() {
        let d = s.deidentify(&bytes).expect("sample file de-identifies");
        for canary in CANARIES {
            assert!(!contains(&d.bytes, canary), "{canary} leaked in {name}");
        }
        // The change log never holds original values either.
        let log = serde_json::to_string(&d.changes).expect("log serializes");
        for canary in CANARIES {
            assert!(
                !log.contains(canary),
                "{canary} in the change log of {name}"
            );
        }
    }
}

#[test]
fn every_uid_is_replaced_consistently_across_the_batch() {
    let mut s = session(&[], 2);
    let mut mapping: BTreeMap<String, String> = BTreeMap::new();
    let mut outputs = Vec::new();
    for (_, bytes) in sample_study() {
        let original = parse(&bytes);
        let d = s.deidentify(&bytes).expect("de-identifies");
        let cleaned = parse(&d.bytes);
        // Same original UID at the same place → same new UID, across every file.
        for tag in [
            tags::STUDY_INSTANCE_UID,
            tags::SERIES_INSTANCE_UID,
            tags::SOP_INSTANCE_UID,
            tags::FRAME_OF_REFERENCE_UID,
        ] {
            let (o, n) = (text(&original, tag), text(&cleaned, tag));
            assert_ne!(o, n, "UID at {tag} changed");
            assert!(n.starts_with("2.25."), "new UIDs are 2.25 UIDs: {n}");
            if let Some(prev) = mapping.insert(o.clone(), n.clone()) {
                assert_eq!(prev, n, "{o} mapped to one UID only");
            }
        }
        assert_eq!(
            cleaned
                .meta()
                .media_storage_sop_instance_uid()
                .trim_end_matches('\0'),
            text(&cleaned, tags::SOP_INSTANCE_UID),
            "file meta follows the new SOP Instance UID"
        );
        outputs.push(cleaned);
    }
    // References inside sequences point at the new UIDs of the referenced images.
    let new_sops: Vec<String> = outputs
        .iter()
        .map(|o| text(o, tags::SOP_INSTANCE_UID))
        .collect();
    for o in &outputs {
        let mut all = Vec::new();
        uids(o, "", &mut all);
        let reference = all
            .iter()
            .find(|(p, _)| p.starts_with("(0008,2112)") && p.ends_with("(0008,1155)"))
            .map(|(_, v)| v.clone())
            .expect("Source Image Sequence keeps its reference");
        assert!(
            new_sops.contains(&reference),
            "reference {reference} points at a de-identified image"
        );
        for (path, v) in &all {
            assert!(!v.starts_with("1.2.999."), "original UID left at {path}");
        }
    }
}

#[test]
fn same_key_same_result_different_key_unlinkable() {
    let (_, bytes) = &sample_study()[0];
    let a = session(&[], 3).deidentify(bytes).expect("ok");
    let b = session(&[], 3).deidentify(bytes).expect("ok");
    let c = session(&[], 4).deidentify(bytes).expect("ok");
    assert_eq!(a.after, b.after, "same key: same UIDs and pseudonym");
    assert_eq!(a.bytes, b.bytes, "same key: identical output");
    assert_ne!(a.after.study_uid, c.after.study_uid);
    assert_ne!(a.after.patient_id, c.after.patient_id);
}

#[test]
fn the_deidentification_is_recorded_in_the_object() {
    let mut s = session(&[ProfileOption::CleanDescriptors], 5);
    let d = s.deidentify(&sample_study()[0].1).expect("ok");
    let obj = parse(&d.bytes);
    assert_eq!(text(&obj, tags::PATIENT_IDENTITY_REMOVED), "YES");
    let method = text(&obj, tags::DEIDENTIFICATION_METHOD);
    assert!(
        method.contains("Basic Application Confidentiality Profile"),
        "{method}"
    );
    assert!(method.contains("Clean Descriptors Option"), "{method}");
    let codes: Vec<String> = obj
        .get(tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE)
        .and_then(|e| e.value().items())
        .map(|items| items.iter().map(|i| text(i, tags::CODE_VALUE)).collect())
        .unwrap_or_default();
    assert_eq!(codes, vec!["113100", "113105"]);
    assert_eq!(
        text(&obj, tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED),
        "REMOVED"
    );
}

#[test]
fn a_file_de_identified_again_keeps_the_record_of_the_first_time() {
    let first = session(&[ProfileOption::CleanDescriptors], 5)
        .deidentify(&sample_study()[0].1)
        .expect("ok");
    let again = session(&[ProfileOption::RetainUids], 6)
        .deidentify(&first.bytes)
        .expect("ok");
    let obj = parse(&again.bytes);
    let methods: Vec<String> = obj
        .get(tags::DEIDENTIFICATION_METHOD)
        .and_then(|e| e.value().to_multi_str().ok())
        .map(|v| v.iter().map(|s| s.trim().to_string()).collect())
        .unwrap_or_default();
    let ours = format!("Obscura {}", env!("CARGO_PKG_VERSION"));
    assert_eq!(
        methods,
        [
            &ours,
            "Basic Application Confidentiality Profile",
            "Clean Descriptors Option",
            &ours,
            "Basic Application Confidentiality Profile",
            "Retain UIDs Option",
        ]
    );
    let codes: Vec<String> = obj
        .get(tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE)
        .and_then(|e| e.value().items())
        .map(|items| items.iter().map(|i| text(i, tags::CODE_VALUE)).collect())
        .unwrap_or_default();
    assert_eq!(codes, vec!["113100", "113105", "113100", "113110"]);
}

#[test]
fn patients_get_readable_pseudonyms_and_keep_their_grouping() {
    let mut s = session(&[], 6);
    let mut by_patient: BTreeMap<String, String> = BTreeMap::new();
    for (_, bytes) in sample_study() {
        let d = s.deidentify(&bytes).expect("ok");
        assert_eq!(d.after.patient_name, d.after.patient_id);
        assert!(
            d.after.patient_id.starts_with("OBSC-") && d.after.patient_id.len() == 24,
            "{}",
            d.after.patient_id
        );
        if let Some(prev) =
            by_patient.insert(d.before.patient_id.clone(), d.after.patient_id.clone())
        {
            assert_eq!(prev, d.after.patient_id);
        }
    }
    assert_eq!(by_patient.len(), 2);
    assert_ne!(by_patient.values().next(), by_patient.values().last());
}

#[test]
fn user_pseudonyms_replace_the_derived_ones() {
    let mut policy = Policy::basic(ProjectKey::from_bytes([7; 32]));
    policy
        .load_pseudonyms_csv("original,pseudonym\nFAKEID0001,CASE-001\n")
        .expect("valid csv");
    let mut s = Session::new(policy);
    let d = s.deidentify(&sample_study()[0].1).expect("ok");
    assert_eq!(d.after.patient_id, "CASE-001");
    assert_eq!(d.after.patient_name, "CASE-001");
    assert!(obscura::deid::reidentification_csv(&s).contains("FAKEID0001,CASE-001"));
}

#[test]
fn modified_dates_keep_intervals_and_say_so() {
    let mut s = session(&[ProfileOption::RetainLongitudinalModifiedDates], 8);
    let d = s.deidentify(&sample_study()[0].1).expect("ok");
    let obj = parse(&d.bytes);
    let study = text(&obj, tags::STUDY_DATE);
    let content = text(&obj, tags::CONTENT_DATE);
    assert_ne!(study, "20240115");
    assert_eq!(study.len(), 8);
    // 2024-01-15 → 2024-01-16 is one day; it still is after shifting.
    let day = |s: &str| -> i64 {
        let (y, m, d): (i64, i64, i64) = (
            s[0..4].parse().unwrap_or(0),
            s[4..6].parse().unwrap_or(0),
            s[6..8].parse().unwrap_or(0),
        );
        let (y, m) = if m <= 2 { (y - 1, m + 12) } else { (y, m) };
        365 * y + y / 4 - y / 100 + y / 400 + (153 * (m - 3) + 2) / 5 + d
    };
    assert_eq!(day(&content) - day(&study), 1);
    assert_eq!(
        text(&obj, tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED),
        "MODIFIED"
    );
    // The real dates are nowhere in the file.
    for c in ["20240115", "20240116"] {
        assert!(!contains(&d.bytes, c));
    }
}

#[test]
fn full_dates_option_keeps_dates() {
    let mut s = session(&[ProfileOption::RetainLongitudinalFullDates], 9);
    let d = s.deidentify(&sample_study()[0].1).expect("ok");
    let obj = parse(&d.bytes);
    assert_eq!(text(&obj, tags::STUDY_DATE), "20240115");
    assert_eq!(
        text(&obj, tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED),
        "UNMODIFIED"
    );
}

#[test]
fn clean_descriptors_keeps_descriptions_without_the_names() {
    let mut s = session(&[ProfileOption::CleanDescriptors], 10);
    let d = s.deidentify(&sample_study()[0].1).expect("ok");
    let obj = parse(&d.bytes);
    let desc = text(&obj, tags::STUDY_DESCRIPTION);
    assert!(desc.starts_with("CT head"), "{desc}");
    assert!(!desc.contains("FAKEDOE"), "{desc}");
    let series = text(&obj, tags::SERIES_DESCRIPTION);
    assert!(
        series.starts_with("Series 1 of") && !series.contains("JANEFAKE"),
        "{series}"
    );
    assert!(d.changes.iter().any(|c| c.action == "cleaned"));
}

/// A code that is also part of the patient's name (a patient called Perfusion, an image of
/// type PERFUSION) is kept, as the image needs it, and the user is told to look; free text
/// that names the patient is still cleaned.
#[test]
fn codes_like_the_patients_name_are_kept_and_flagged() {
    use dicom_core::value::PrimitiveValue;
    use dicom_core::{DataElement, VR};
    let file = obscura::dicom::read_file(&sample_study()[0].1).expect("sample");
    let meta = file.meta().clone();
    let mut obj = file.into_inner();
    let put = |obj: &mut InMemDicomObject, tag, vr, v: &str| {
        obj.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
    };
    put(&mut obj, tags::PATIENT_NAME, VR::PN, "PERFUSION^FAKECASE");
    put(
        &mut obj,
        tags::IMAGE_TYPE,
        VR::CS,
        "DERIVED\\PRIMARY\\PERFUSION",
    );
    put(&mut obj, tags::MANUFACTURER, VR::LO, "Perfusion Systems");
    let mut bytes = Vec::new();
    obj.with_exact_meta(meta)
        .write_all(&mut bytes)
        .expect("written");

    let d = session(&[], 9).deidentify(&bytes).expect("ok");
    let out = parse(&d.bytes);
    assert_eq!(text(&out, tags::IMAGE_TYPE), "DERIVED\\PRIMARY\\PERFUSION");
    let image_type = d
        .changes
        .iter()
        .find(|c| c.name == "ImageType")
        .expect("logged");
    assert_eq!(image_type.action, "kept");
    assert!(
        d.warnings
            .iter()
            .any(|w| w.starts_with("ImageType kept a code")),
        "{:?}",
        d.warnings
    );
    let maker = text(&out, tags::MANUFACTURER);
    assert!(
        maker.ends_with("Systems") && !maker.to_uppercase().contains("PERFUSION"),
        "{maker}"
    );
}

/// A code that holds a patient's value as a word is flagged like one equal to it, and a
/// flagged value never reaches the package's own files (the summary they are made from).
#[test]
fn codes_holding_the_patients_name_are_flagged_and_kept_out_of_the_package() {
    use dicom_core::value::PrimitiveValue;
    use dicom_core::{DataElement, VR};
    let file = obscura::dicom::read_file(&sample_study()[0].1).expect("sample");
    let meta = file.meta().clone();
    let mut obj = file.into_inner();
    let put = |obj: &mut InMemDicomObject, tag, vr, v: &str| {
        obj.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
    };
    put(&mut obj, tags::PATIENT_NAME, VR::PN, "KESTREL^WANDA");
    put(
        &mut obj,
        tags::IMAGE_TYPE,
        VR::CS,
        "ORIGINAL\\PRIMARY\\WANDA KESTREL",
    );
    put(&mut obj, tags::BODY_PART_EXAMINED, VR::CS, "KESTREL HEAD");
    put(&mut obj, tags::MODALITY, VR::CS, "KESTREL");
    let mut bytes = Vec::new();
    obj.with_exact_meta(meta)
        .write_all(&mut bytes)
        .expect("written");
    let d = session(&[], 9).deidentify(&bytes).expect("ok");
    for name in ["ImageType", "BodyPartExamined", "Modality"] {
        assert!(
            d.warnings.iter().any(|w| w.contains(name)),
            "{name}: {:?}",
            d.warnings
        );
    }
    assert_eq!(d.after.modality, "");
    let summary = serde_json::to_string(&d.after).expect("json");
    assert!(!summary.contains("KESTREL"), "{summary}");
}

#[test]
fn retain_uids_keeps_the_original_uids() {
    let mut s = session(&[ProfileOption::RetainUids], 11);
    let (_, bytes) = &sample_study()[0];
    let d = s.deidentify(bytes).expect("ok");
    assert_eq!(d.after.study_uid, d.before.study_uid);
    assert_eq!(d.after.instance_uid, d.before.instance_uid);
}

#[test]
fn private_overlay_and_unknown_attributes_are_removed() {
    let mut s = session(&[], 12);
    let d = s.deidentify(&sample_study()[0].1).expect("ok");
    let obj = parse(&d.bytes);
    for e in obj.iter() {
        let t = e.tag();
        assert!(t.group() % 2 == 0, "private {t} left");
        assert!(!(0x6000..=0x601E).contains(&t.group()), "overlay {t} left");
        assert_ne!(
            t,
            dicom_core::Tag(0x0022, 0x9999),
            "unknown text attribute left"
        );
    }
    assert!(obj.get(tags::PIXEL_DATA).is_some(), "pixel data kept");
}

#[test]
fn broken_and_foreign_files_are_excluded_with_a_reason() {
    let mut s = session(&[], 13);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("text", b"hello, this is not DICOM".to_vec()),
        ("truncated", sample_study()[0].1[..400].to_vec()),
        ("preamble only", {
            let mut v = vec![0u8; 128];
            v.extend_from_slice(b"DICM");
            v
        }),
    ];
    for (what, bytes) in cases {
        match s.process(&bytes) {
            Outcome::Excluded(e) => assert!(!e.to_string().is_empty(), "{what}"),
            other => panic!("{what}: expected exclusion, got {other:?}"),
        }
    }
    // The session goes on working after bad input.
    assert!(s.deidentify(&sample_study()[1].1).is_ok());
}

#[test]
fn user_overrides_win_over_the_profile() {
    let mut policy = Policy::basic(ProjectKey::from_bytes([14; 32]));
    policy
        .add_override("0010,1010=K")
        .expect("keep Patient's Age");
    policy
        .add_override("(0008,0070)=X")
        .expect("remove Manufacturer");
    assert!(
        policy.add_override("0009,1001=K").is_err(),
        "private attributes cannot be kept this way"
    );
    assert!(policy.add_override("0010,1010=maybe").is_err());
    let mut s = Session::new(policy);
    let obj = parse(&s.deidentify(&sample_study()[0].1).expect("ok").bytes);
    assert_eq!(text(&obj, tags::PATIENT_AGE), "053Y");
    assert!(obj.get(tags::MANUFACTURER).is_none());
}

/// A sample image with a report-like content tree and a text annotation naming the patient.
fn with_text_content() -> Vec<u8> {
    use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
    use dicom_core::{DataElement, Length, VR};
    let file = parse(&sample_study()[0].1);
    let meta = file.meta().clone();
    let mut obj = file.into_inner();
    let el =
        |tag, vr, v: &str| DataElement::new(tag, vr, Value::Primitive(PrimitiveValue::from(v)));
    let sq = |tag, items: Vec<InMemDicomObject>| {
        DataElement::new(
            tag,
            VR::SQ,
            Value::from(DataSetSequence::new(items, Length::UNDEFINED)),
        )
    };
    let concept = InMemDicomObject::from_element_iter([
        el(tags::CODE_VALUE, VR::SH, "121071"),
        el(tags::CODING_SCHEME_DESIGNATOR, VR::SH, "DCM"),
        el(tags::CODE_MEANING, VR::LO, "Finding"),
    ]);
    let item = InMemDicomObject::from_element_iter([
        el(tags::RELATIONSHIP_TYPE, VR::CS, "CONTAINS"),
        el(tags::VALUE_TYPE, VR::CS, "TEXT"),
        sq(tags::CONCEPT_NAME_CODE_SEQUENCE, vec![concept]),
        el(
            tags::TEXT_VALUE,
            VR::UT,
            "Nodule seen in JaneFake FAKEDOE on 2024-01-15",
        ),
    ]);
    obj.put(sq(tags::CONTENT_SEQUENCE, vec![item]));
    let text = InMemDicomObject::from_element_iter([el(
        tags::UNFORMATTED_TEXT_VALUE,
        VR::ST,
        "FAKEDOE left side",
    )]);
    let annotation =
        InMemDicomObject::from_element_iter([sq(tags::TEXT_OBJECT_SEQUENCE, vec![text])]);
    obj.put(sq(tags::GRAPHIC_ANNOTATION_SEQUENCE, vec![annotation]));
    let mut bytes = Vec::new();
    obj.with_exact_meta(meta)
        .write_all(&mut bytes)
        .expect("written");
    bytes
}

/// The first value of `tag` at any depth.
fn find_text(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<String> {
    for e in obj.iter() {
        if e.tag() == tag {
            return e
                .value()
                .to_str()
                .ok()
                .map(|s| s.trim_end_matches(['\0', ' ']).to_string());
        }
        if let Some(items) = e.value().items() {
            if let Some(found) = items.iter().find_map(|i| find_text(i, tag)) {
                return Some(found);
            }
        }
    }
    None
}

#[test]
fn report_text_and_annotations_never_keep_a_name() {
    let bytes = with_text_content();
    let basic = session(&[], 15).deidentify(&bytes).expect("ok");
    assert!(!contains(&basic.bytes, "FAKEDOE") && !contains(&basic.bytes, "JaneFake"));
    let obj = parse(&basic.bytes);
    assert_eq!(
        find_text(&obj, tags::TEXT_VALUE).as_deref(),
        Some("ANONYMIZED")
    );
    let content = obj
        .get(tags::CONTENT_SEQUENCE)
        .and_then(|e| e.value().items())
        .expect("content kept");
    assert_eq!(
        find_text(&content[0], tags::CODE_MEANING).as_deref(),
        Some("Finding"),
        "coded structure is kept"
    );

    let clean = session(
        &[
            ProfileOption::CleanStructuredContent,
            ProfileOption::CleanGraphics,
        ],
        15,
    )
    .deidentify(&bytes)
    .expect("ok");
    assert!(!contains(&clean.bytes, "FAKEDOE") && !contains(&clean.bytes, "JaneFake"));
    let obj = parse(&clean.bytes);
    assert_eq!(
        find_text(&obj, tags::TEXT_VALUE).as_deref(),
        Some("Nodule seen in ******** ******* on **********"),
        "the report text is kept, without the name or the date"
    );
    assert_eq!(
        find_text(&obj, tags::UNFORMATTED_TEXT_VALUE).as_deref(),
        Some("******* left side")
    );
}

#[test]
fn images_marked_with_burned_in_text_are_left_out_unless_accepted() {
    let mut s = session(&[], 16);
    let plain = s.deidentify(&sample_study()[0].1).expect("ok");
    assert!(
        plain.warnings.is_empty(),
        "a CT without the flag is not flagged"
    );
    let file = parse(&sample_study()[0].1);
    let meta = file.meta().clone();
    let mut obj = file.into_inner();
    obj.put(dicom_core::DataElement::new(
        tags::BURNED_IN_ANNOTATION,
        dicom_core::VR::CS,
        dicom_core::value::PrimitiveValue::from("YES"),
    ));
    let mut bytes = Vec::new();
    obj.with_exact_meta(meta)
        .write_all(&mut bytes)
        .expect("written");
    match s.process(&bytes) {
        Outcome::Excluded(e) => {
            assert!(e.to_string().contains("Burned In Annotation = YES"), "{e}")
        }
        other => panic!("a file with burned-in text is left out by default, got {other:?}"),
    }
    let mut policy = Policy::basic(ProjectKey::from_bytes([16; 32]));
    policy.accept_burned_in = true;
    let flagged = Session::new(policy)
        .deidentify(&bytes)
        .expect("accepted on request");
    // Flagged, and (no text detection model was loaded here) told that detection could not
    // look for the text.
    assert_eq!(flagged.warnings.len(), 2, "{:?}", flagged.warnings);
    assert!(flagged.warnings[0].contains("burned into the image"));
    assert!(flagged.warnings[1].contains("could not be looked for automatically"));
    // Patient Identity Removed tells the truth: the pixels were not cleaned.
    let obj = parse(&flagged.bytes);
    assert_eq!(text(&obj, tags::PATIENT_IDENTITY_REMOVED), "NO");
    assert_eq!(text(&obj, tags::BURNED_IN_ANNOTATION), "YES");
    assert!(flagged
        .changes
        .iter()
        .any(|c| c.name == "PatientIdentityRemoved"
            && c.reason
                .starts_with("NO: text burned into its pixels may remain")));
}

#[test]
fn bare_data_sets_without_a_file_header_are_read_too() {
    let mut s = session(&[], 17);
    for index in [0, 3] {
        let file = parse(&sample_study()[index].1);
        let mut bare = Vec::new();
        file.write_dataset(&mut bare).expect("data set written");
        assert_ne!(bare.get(128..132), Some(&b"DICM"[..]));
        let d = s
            .deidentify(&bare)
            .expect("a bare data set is de-identified");
        for canary in CANARIES {
            assert!(!contains(&d.bytes, canary), "{canary} leaked");
        }
        let out = parse(&d.bytes);
        assert_eq!(
            out.meta()
                .media_storage_sop_instance_uid()
                .trim_end_matches('\0'),
            text(&out, tags::SOP_INSTANCE_UID),
            "the new file meta matches the data set"
        );
        assert_eq!(
            out.meta().transfer_syntax().trim_end_matches('\0'),
            file.meta().transfer_syntax().trim_end_matches('\0')
        );
    }
}

#[test]
fn overlays_hidden_in_unused_pixel_bits_are_zeroed() {
    use dicom_core::value::PrimitiveValue;
    use dicom_core::{DataElement, Tag, VR};
    let file = parse(&sample_study()[0].1);
    let meta = file.meta().clone();
    let mut obj = file.into_inner();
    // An overlay in bit 12 of the pixel data (no Overlay Data of its own), spelling nothing
    // but set on every pixel so that any residue shows.
    obj.remove_element(Tag(0x6000, 0x3000));
    obj.put(DataElement::new(
        Tag(0x6000, 0x0102),
        VR::US,
        PrimitiveValue::from(12_u16),
    ));
    let low: Vec<u16> = (0..64 * 64).map(|i| (i % 4096) as u16).collect();
    let with_overlay: Vec<u8> = low
        .iter()
        .flat_map(|w| (w | 0x1000).to_le_bytes())
        .collect();
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U8(with_overlay.into()),
    ));
    let mut bytes = Vec::new();
    obj.with_exact_meta(meta)
        .write_all(&mut bytes)
        .expect("written");

    let d = session(&[], 18).deidentify(&bytes).expect("ok");
    let out = parse(&d.bytes);
    let pixels = out
        .get(tags::PIXEL_DATA)
        .and_then(|e| e.value().to_bytes().ok())
        .expect("pixels");
    let words: Vec<u16> = pixels
        .chunks_exact(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]))
        .collect();
    assert_eq!(
        words, low,
        "bits above High Bit are zero, the image itself is unchanged"
    );
    assert!(d
        .changes
        .iter()
        .any(|c| c.name == "PixelData" && c.action == "cleaned"));
}

/// A sample file with one text attribute changed.
fn sample_with(index: usize, tag: dicom_core::Tag, vr: dicom_core::VR, value: &str) -> Vec<u8> {
    use dicom_core::value::{PrimitiveValue, Value};
    let file = parse(&sample_study()[index].1);
    let meta = file.meta().clone();
    let mut obj = file.into_inner();
    obj.put(dicom_core::DataElement::new(
        tag,
        vr,
        Value::Primitive(PrimitiveValue::from(value)),
    ));
    let mut bytes = Vec::new();
    obj.with_exact_meta(meta)
        .write_all(&mut bytes)
        .expect("written");
    bytes
}

#[test]
fn a_first_pass_cleans_a_name_that_only_a_later_file_gives() {
    use dicom_core::VR;
    // The same patient: the first file's description names someone that only the second
    // file's Other Patient Names says is the patient.
    let first = sample_with(
        0,
        tags::SERIES_DESCRIPTION,
        VR::LO,
        "Series 1 ROEFAKE follow-up",
    );
    let second = sample_with(1, tags::OTHER_PATIENT_NAMES, VR::PN, "ROEFAKE^JANE");
    let desc = |d: &obscura::deid::Deidentified| text(&parse(&d.bytes), tags::SERIES_DESCRIPTION);

    // One pass, in this order: the name is not known yet when the first file is cleaned.
    let mut one_pass = session(&[ProfileOption::CleanDescriptors], 11);
    let early = one_pass.deidentify(&first).expect("ok");
    assert!(
        desc(&early).contains("ROEFAKE"),
        "the gap this test is about"
    );

    // Two passes, in either order: cleaned, and the same bytes.
    let mut outputs = Vec::new();
    for order in [[&first, &second], [&second, &first]] {
        let mut s = session(&[ProfileOption::CleanDescriptors], 11);
        for f in order {
            let scan = s.scan(f).expect("readable");
            s.add_scan(&scan);
        }
        let d = s.deidentify(&first).expect("ok");
        assert!(!desc(&d).contains("ROEFAKE"), "{}", desc(&d));
        outputs.push(d.bytes);
    }
    assert_eq!(
        outputs[0], outputs[1],
        "the order of the first pass does not matter"
    );

    // A scan made in one place and given elsewhere as JSON (the page's main worker to its
    // pool) gives the same output; a scan that brings nothing new says so.
    let mut s = session(&[ProfileOption::CleanDescriptors], 11);
    // (The second file adds the name ROEFAKE to what the first gave.)
    for f in [&first, &second] {
        let json = serde_json::to_string(&s.scan(f).expect("readable")).expect("json");
        let scan: obscura::deid::PatientScan = serde_json::from_str(&json).expect("back");
        assert!(s.add_scan(&scan), "a new file's scan teaches the session");
        assert!(!s.add_scan(&scan), "the same scan again teaches nothing");
    }
    assert_eq!(s.deidentify(&first).expect("ok").bytes, outputs[0]);

    // After a first pass, files no longer teach the session new names.
    let mut s = session(&[ProfileOption::CleanDescriptors], 11);
    s.add_scan(&s.scan(&first).expect("readable"));
    let before = s.deidentify(&first).expect("ok").bytes;
    s.deidentify(&second).expect("ok");
    assert_eq!(s.deidentify(&first).expect("ok").bytes, before);
}

#[test]
fn a_description_naming_another_patient_of_the_batch_is_cleaned_of_that_name() {
    // The sample's second patient (FAKESMITH) has series described as "Series 1 of JANEFAKE":
    // the first patient's given name.
    let study = sample_study();
    let (doe, smith): (Vec<_>, Vec<_>) = study
        .iter()
        .partition(|(name, _)| name.starts_with("FAKEDOE"));
    assert!(!doe.is_empty() && !smith.is_empty());
    let smith_descriptions = |s: &mut Session| -> Vec<String> {
        smith
            .iter()
            .map(|(_, bytes)| {
                let d = s.deidentify(bytes).expect("ok");
                text(&parse(&d.bytes), tags::SERIES_DESCRIPTION)
            })
            .collect()
    };

    // One pass, the other patient's files first (as the page goes).
    let mut s = session(&[ProfileOption::CleanDescriptors], 5);
    for (_, bytes) in &doe {
        s.deidentify(bytes).expect("ok");
    }
    let after = smith_descriptions(&mut s);
    assert!(
        after
            .iter()
            .all(|d| d.starts_with("Series") && !d.contains("JANEFAKE")),
        "{after:?}"
    );

    // A first pass (as the CLI goes): whatever the order.
    let mut s = session(&[ProfileOption::CleanDescriptors], 5);
    for (_, bytes) in study.iter().rev() {
        let scan = s.scan(bytes).expect("readable");
        s.add_scan(&scan);
    }
    let first = smith_descriptions(&mut s);
    assert_eq!(first, after);
}

#[test]
fn dummies_of_binary_and_uri_values_are_not_empty() {
    use dicom_core::value::PrimitiveValue;
    use dicom_core::{DataElement, Tag, VR};
    let original = parse(&sample_study()[0].1);
    let meta = original.meta().clone();
    let mut obj = original.into_inner();
    // Table E.1-1 asks for D (a dummy value of non-zero length) for these.
    let document = Tag(0x0042, 0x0011);
    let selector_ob = Tag(0x0072, 0x0065);
    let selector_ur = Tag(0x0072, 0x0071);
    obj.put(DataElement::new(
        document,
        VR::OB,
        PrimitiveValue::from(b"%PDF-1.4 report for FAKEDOC^PDF".to_vec()),
    ));
    obj.put(DataElement::new(
        Tag(0x0042, 0x0015),
        VR::UL,
        PrimitiveValue::from(32_u32),
    ));
    obj.put(DataElement::new(
        selector_ob,
        VR::OB,
        PrimitiveValue::from(b"FAKEBYTES!".to_vec()),
    ));
    obj.put(DataElement::new(
        selector_ur,
        VR::UR,
        PrimitiveValue::from("https://pacs.invalid/FAKEURI"),
    ));
    let mut bytes = Vec::new();
    obj.with_exact_meta(meta)
        .write_all(&mut bytes)
        .expect("written");
    match session(&[], 9).process(&bytes) {
        Outcome::Excluded(e) => assert!(e.to_string().contains("an encapsulated document"), "{e}"),
        other => panic!("a file holding a document is left out by default, got {other:?}"),
    }
    let mut policy = Policy::basic(ProjectKey::from_bytes([9; 32]));
    policy.include_documents = true;
    let out = Session::new(policy)
        .deidentify(&bytes)
        .expect("included on request");
    assert!(!contains(&out.bytes, "FAKE"), "no fake value is left");
    let obj = parse(&out.bytes);
    for tag in [document, selector_ob, selector_ur] {
        let e = obj.get(tag).expect("replaced, not removed");
        let len = e.value().to_bytes().map(|b| b.len()).unwrap_or(0);
        assert!(
            len > 0 && len.is_multiple_of(2),
            "{tag}: a dummy of even, non-zero length ({len})"
        );
    }
    assert_eq!(text(&obj, selector_ur), "ANONYMIZED");
    // The document's length says the length of the dummy, not of the original.
    let length = obj
        .get(Tag(0x0042, 0x0015))
        .and_then(|e| e.value().to_int::<u32>().ok());
    let document = obj
        .get(document)
        .and_then(|e| e.value().to_bytes().ok().map(|b| b.len()));
    assert_eq!(length, document.map(|n| n as u32));
    assert!(out
        .changes
        .iter()
        .any(|c| c.name == "EncapsulatedDocumentLength"));
}

#[test]
fn a_file_meta_group_with_presentation_addresses_is_read_and_cleaned() {
    // (0002,0026) Source Presentation Address is a UR: a 32-bit length after two reserved
    // bytes. The file was refused as damaged when the meta group was read as if it had a
    // 16-bit length.
    let mut bytes = sample_study()[0].1.clone();
    let group_len = u32::from_le_bytes(bytes[140..144].try_into().expect("4 bytes")) as usize;
    let end = 144 + group_len;
    let address = b"dicom://FAKEHOST:104";
    let mut element = vec![0x02, 0x00, 0x26, 0x00, b'U', b'R', 0, 0];
    element.extend_from_slice(&(address.len() as u32).to_le_bytes());
    element.extend_from_slice(address);
    bytes.splice(end..end, element.iter().copied());
    let new_len = (group_len + element.len()) as u32;
    bytes[140..144].copy_from_slice(&new_len.to_le_bytes());
    let out = session(&[], 4)
        .deidentify(&bytes)
        .expect("a valid file is de-identified, not refused");
    assert!(!contains(&out.bytes, "FAKEHOST"), "the address is not kept");
    parse(&out.bytes);
}

#[test]
fn a_file_meta_group_without_its_group_length_is_read() {
    // Some writers leave out File Meta Information Group Length (0002,0000); DCMTK and
    // pydicom read such files, and so must Obscura.
    let original = sample_study()[0].1.clone();
    assert_eq!(&original[132..136], &[2, 0, 0, 0], "the sample has one");
    let mut bytes = original[..132].to_vec();
    bytes.extend_from_slice(&original[144..]);
    let out = session(&[], 4)
        .deidentify(&bytes)
        .expect("read, not refused");
    parse(&out.bytes);
    for canary in CANARIES {
        assert!(!contains(&out.bytes, canary), "{canary} leaked");
    }
}

#[test]
fn reserved_private_and_misplaced_meta_elements_and_lone_creators_are_removed_and_logged() {
    // (gggg,0001)–(gggg,000F) of an odd group are reserved, a Private Creator may come
    // without any attribute of its block, and a damaged or odd file can carry file meta
    // elements in its data set: all go, and the change log says so.
    use dicom_core::{DataElement, PrimitiveValue, VR};
    let mut file = obscura::dicom::read_file(&sample_study()[0].1).expect("the sample");
    file.put(DataElement::new(
        dicom_core::Tag(0x0009, 0x0001),
        VR::LO,
        PrimitiveValue::from("FAKERESERVED^NAME"),
    ));
    file.put(DataElement::new(
        dicom_core::Tag(0x0011, 0x0010),
        VR::LO,
        PrimitiveValue::from("FAKECREATOR"),
    ));
    file.put(DataElement::new(
        tags::SOURCE_APPLICATION_ENTITY_TITLE,
        VR::AE,
        PrimitiveValue::from("FAKEDSMETAAE"),
    ));
    let mut bytes = Vec::new();
    file.write_all(&mut bytes).expect("written");
    for options in [&[][..], &[ProfileOption::RetainSafePrivate][..]] {
        let out = session(options, 4)
            .deidentify(&bytes)
            .expect("de-identified");
        assert!(!contains(&out.bytes, "FAKERESERVED"), "{options:?}");
        assert!(!contains(&out.bytes, "FAKECREATOR"), "{options:?}");
        assert!(!contains(&out.bytes, "FAKEDSMETAAE"), "{options:?}");
        let logged = |path: &str| {
            out.changes
                .iter()
                .any(|c| c.path == path && c.action == "removed")
        };
        assert!(logged("(0009,0001)"), "{options:?}: {:?}", out.changes);
        assert!(logged("(0011,0010)"), "{options:?}: {:?}", out.changes);
        assert!(logged("(0002,0016)"), "{options:?}: {:?}", out.changes);
    }
}

/// `bytes` (a Part 10 file) with its meta group's Transfer Syntax UID (0002,0010) taken out,
/// and with its group length (0002,0000) kept (set right) or taken out too.
fn without_transfer_syntax(bytes: &[u8], keep_group_length: bool) -> Vec<u8> {
    assert_eq!(&bytes[132..136], &[2, 0, 0, 0], "a group length first");
    let group_len = u32::from_le_bytes(bytes[140..144].try_into().expect("4 bytes")) as usize;
    let (mut pos, end) = (144, 144 + group_len);
    let mut elements = Vec::new();
    while pos < end {
        let long = matches!(&bytes[pos + 4..pos + 6], b"OB" | b"UN" | b"UT" | b"UR");
        let next = if long {
            pos + 12 + u32::from_le_bytes(bytes[pos + 8..pos + 12].try_into().expect("4")) as usize
        } else {
            pos + 8 + u16::from_le_bytes([bytes[pos + 6], bytes[pos + 7]]) as usize
        };
        if bytes[pos + 2..pos + 4] != [0x10, 0x00] {
            elements.extend_from_slice(&bytes[pos..next]);
        }
        pos = next;
    }
    let mut out = bytes[..132].to_vec();
    if keep_group_length {
        out.extend_from_slice(&[2, 0, 0, 0, b'U', b'L', 4, 0]);
        out.extend_from_slice(&(elements.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(&elements);
    out.extend_from_slice(&bytes[end..]);
    out
}

/// `out` (a de-identified file) names `ts` as its transfer syntax, parses, is marked
/// de-identified, and holds no canary.
fn assert_read_in(out: &[u8], ts: &str) {
    let again = parse(out);
    assert_eq!(
        again.meta().transfer_syntax().trim_end_matches('\0'),
        ts,
        "the output names the syntax its data set is in"
    );
    assert_eq!(
        text(&again, tags::PATIENT_IDENTITY_REMOVED),
        "YES",
        "{ts}: de-identified"
    );
    for canary in CANARIES {
        assert!(!contains(out, canary), "{ts}: {canary} leaked");
    }
}

#[test]
fn a_file_meta_group_without_a_transfer_syntax_is_read_in_the_data_sets_own() {
    use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
    // Older writers left out Transfer Syntax UID (0002,0010); DCMTK and pydicom read the
    // data set in the syntax its first element shows. So must Obscura, and say it in the
    // output's meta group.
    let original = obscura::dicom::read_file(&sample_study()[0].1).expect("the sample");
    for ts in [
        "1.2.840.10008.1.2",
        "1.2.840.10008.1.2.1",
        "1.2.840.10008.1.2.2",
    ] {
        let mut file = original.clone();
        file.meta_mut().set_transfer_syntax(
            dicom_transfer_syntax_registry::TransferSyntaxRegistry
                .get(ts)
                .expect("known"),
        );
        file.meta_mut().update_information_group_length();
        let mut written = Vec::new();
        file.write_all(&mut written).expect("written");
        for keep_group_length in [true, false] {
            let bytes = without_transfer_syntax(&written, keep_group_length);
            assert!(!contains(&bytes[..300], ts), "{ts}: no syntax named");
            let out = session(&[], 4)
                .deidentify(&bytes)
                .unwrap_or_else(|e| panic!("{ts}, group length {keep_group_length}: {e}"));
            assert_read_in(&out.bytes, ts);
        }
    }
}

#[test]
fn a_meta_group_naming_the_wrong_one_of_explicit_and_implicit_vr_is_read_right() {
    // A converter that rewrote the data set and not the meta group (or the other way round):
    // pydicom reads the data set in the syntax its first element shows, and so must Obscura,
    // naming that syntax in the output.
    use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
    let registry = dicom_transfer_syntax_registry::TransferSyntaxRegistry;
    let file = obscura::dicom::read_file(&sample_study()[0].1).expect("the sample");
    for (named, actual) in [
        ("1.2.840.10008.1.2.1", "1.2.840.10008.1.2"),
        ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1"),
    ] {
        let mut meta = file.meta().clone();
        meta.set_transfer_syntax(registry.get(named).expect("known"));
        meta.update_information_group_length();
        let mut bytes = vec![0; 128];
        bytes.extend_from_slice(b"DICM");
        meta.write(&mut bytes).expect("meta written");
        (*file)
            .clone()
            .write_dataset_with_ts(&mut bytes, registry.get(actual).expect("known"))
            .expect("data set written");
        let out = session(&[], 4)
            .deidentify(&bytes)
            .unwrap_or_else(|e| panic!("{actual} named {named}: {e}"));
        assert_read_in(&out.bytes, actual);
    }
}

#[test]
fn a_sequence_stored_as_un_of_undefined_length_is_read_and_cleaned_inside() {
    // A private sequence converted to explicit VR by a program that did not know it: UN with
    // an undefined length, its items still in implicit VR (PS3.5 6.2.2). With Retain Safe
    // Private it stays only if safe; either way the name inside must not survive, and the
    // file must not be refused.
    let original = sample_study()[0].1.clone();
    // In private group 7FDF, just before Pixel Data (7FE0,0010), so the order stays right.
    let mut element = vec![0xDF, 0x7F, 0x10, 0x00, b'L', b'O', 4, 0];
    element.extend_from_slice(b"ACME");
    element.extend_from_slice(&[
        0xDF, 0x7F, 0x01, 0x10, b'U', b'N', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
    ]);
    element.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
    let name = b"FAKEUNSEQ^NAME";
    element.extend_from_slice(&[0x10, 0x00, 0x10, 0x00]);
    element.extend_from_slice(&(name.len() as u32).to_le_bytes());
    element.extend_from_slice(name);
    element.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
    element.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
    let at = original
        .windows(4)
        .rposition(|w| w == [0xE0, 0x7F, 0x10, 0x00])
        .expect("the sample has pixel data");
    let mut bytes = original.clone();
    bytes.splice(at..at, element.iter().copied());
    for options in [&[][..], &[ProfileOption::RetainSafePrivate][..]] {
        let out = session(options, 4)
            .deidentify(&bytes)
            .expect("read, not refused");
        assert!(!contains(&out.bytes, "FAKEUNSEQ"), "{options:?}");
        parse(&out.bytes);
    }
}

/// The change log names a private block by its group and element block, never by its
/// Private Creator string: that is the file's own text and may hold a name.
#[test]
fn the_change_log_never_repeats_a_private_creator() {
    use dicom_core::value::{PrimitiveValue, Value};
    use dicom_core::{DataElement, Tag, VR};
    let file = parse(&sample_study()[0].1);
    let meta = file.meta().clone();
    let mut obj = file.into_inner();
    let lo = |g, e, v: &str| {
        DataElement::new(Tag(g, e), VR::LO, Value::Primitive(PrimitiveValue::from(v)))
    };
    obj.put(lo(0x0029, 0x0010, "KESTREL^WANDA PRIVATE"));
    obj.put(lo(0x0029, 0x1010, "technical"));
    // A creator whose block holds nothing here.
    obj.put(lo(0x0033, 0x0011, "WKESTREL 1961"));
    let mut bytes = Vec::new();
    obj.with_exact_meta(meta)
        .write_all(&mut bytes)
        .expect("written");
    let d = session(&[], 3).deidentify(&bytes).expect("cleaned");
    let log = serde_json::to_string(&d.changes).expect("json");
    assert!(!log.to_uppercase().contains("KESTREL"), "{log}");
    assert!(
        log.contains("Private block (0029,10xx) (1 attributes)"),
        "{log}"
    );
    assert!(
        log.contains("Private Creator of block (0033,11xx)"),
        "{log}"
    );
}

/// Standard attributes stored as UN are read with their dictionary VR (PS3.5 §6.2.2) and
/// cleaned as any other: sequences with names inside, text attributes, and the patient's own
/// name, which is then learned and swept from free text too.
#[test]
fn standard_attributes_stored_as_un_are_read_with_their_dictionary_vr() {
    #[path = "common/mod.rs"]
    mod common;
    use common::{implicit, item_header, with_un};
    // An item (defined length) holding, in implicit VR, a name and an ID.
    let mut item_body = implicit(0x0008, 0x0100, b"T-D1100 ");
    item_body.extend(implicit(0x0010, 0x0010, b"UNSEQNAME^WANDA "));
    item_body.extend(implicit(0x0010, 0x0020, b"UNSEQID77"));
    let mut items = item_header(0xE000, item_body.len() as u32);
    items.extend(&item_body);
    let un = |g, e, v: &[u8]| ((g, e), v.to_vec());
    let with_description = common::with(
        &sample_study()[0].1,
        |o| {
            o.put(dicom_core::DataElement::new(
                tags::STUDY_DESCRIPTION,
                dicom_core::VR::LO,
                dicom_core::PrimitiveValue::from("follow-up ZEBRAFAKE"),
            ));
        },
        None,
    );
    let input = with_un(
        &with_description,
        &[
            // Patient's Name as UN: replaced, and learned.
            un(0x0010, 0x0010, b"ZEBRAFAKE^UNNAMED "),
            // Anatomic Region Sequence and Shared Functional Groups as UN, defined length.
            un(0x0008, 0x2218, &items),
            un(0x5200, 0x9229, &items),
            // Document Title and Text Value as UN.
            un(0x0042, 0x0010, b"Report of UNTITLEFAKE"),
            un(0x0040, 0xA160, b"Seen by UNTEXTFAKE "),
            // A sequence whose bytes are not items: cannot be read so, removed.
            un(0x0040, 0x0275, b"not items at all"),
        ],
    );
    // Code Meaning written as bytes (OB) inside a code item: read as the LO it is.
    let input = common::with(
        &input,
        |o| {
            let mut item = dicom_object::InMemDicomObject::new_empty();
            item.put(dicom_core::DataElement::new(
                tags::CODE_MEANING,
                dicom_core::VR::OB,
                dicom_core::PrimitiveValue::U8(b"Head of ZEBRAFAKE ".to_vec().into()),
            ));
            o.put(dicom_core::DataElement::new(
                tags::PROCEDURE_CODE_SEQUENCE,
                dicom_core::VR::SQ,
                dicom_core::value::DataSetSequence::from(vec![item]),
            ));
        },
        None,
    );
    let options = [ProfileOption::CleanDescriptors];
    let d = session(&options, 4).deidentify(&input).expect("cleaned");
    for canary in ["ZEBRAFAKE", "UNSEQNAME", "UNSEQID77", "not items"] {
        assert!(!contains(&d.bytes, canary), "{canary} left");
    }
    let obj = parse(&d.bytes);
    // Read as what they are: none stays UN (Document Title and Text Value, which the table
    // does not name at the top level, are kept as the text they are).
    assert!(obj.iter().all(|e| e.vr() != dicom_core::VR::UN));
    assert_eq!(
        obj.get(tags::DOCUMENT_TITLE).map(|e| e.vr()),
        Some(dicom_core::VR::ST)
    );
    assert_eq!(
        obj.get(tags::TEXT_VALUE).map(|e| e.vr()),
        Some(dicom_core::VR::UT)
    );
    assert!(text(&obj, tags::STUDY_DESCRIPTION).starts_with("follow-up "));
    let log = serde_json::to_string(&d.changes).expect("json");
    assert!(log.contains("not readable with its dictionary VR"), "{log}");
}

/// A pseudonym list that gives two patients one pseudonym is refused (their studies would
/// become one patient's); the same ID from two issuers is two patients.
#[test]
fn pseudonyms_never_merge_two_patients() {
    let mut policy = Policy::basic(ProjectKey::from_bytes([6; 32]));
    let refused = policy.load_pseudonyms_csv("A1,CASE-1\nB2,CASE-1\n");
    assert!(
        refused.is_err_and(|e| e.to_string().contains("already given to patient")),
        "two patients, one pseudonym"
    );
    let mut policy = Policy::basic(ProjectKey::from_bytes([6; 32]));
    assert!(policy
        .load_pseudonyms_csv("A1,CASE-1\nA1,CASE-2\n")
        .is_err());
    // FAKEID0001 from two issuers.
    let mut s = session(&[], 6);
    let with_issuer =
        |issuer: &str| sample_with(0, tags::ISSUER_OF_PATIENT_ID, dicom_core::VR::LO, issuer);
    let a = s.deidentify(&with_issuer("HOSPITAL A")).expect("cleaned");
    let b = s.deidentify(&with_issuer("HOSPITAL B")).expect("cleaned");
    let again = s.deidentify(&with_issuer("HOSPITAL A")).expect("cleaned");
    assert_ne!(a.after.patient_id, b.after.patient_id);
    assert_eq!(a.after.patient_id, again.after.patient_id);
}

/// Instance UIDs are replaced whatever their root (some devices make them under the
/// standard's own, or append to a SOP Class UID), and class or scheme UIDs are kept only when
/// they are the standard's well-known values.
#[test]
fn uids_under_the_standards_root_are_replaced_unless_well_known() {
    let odd_instance = "1.2.840.10008.5.1.4.1.1.2.19610203.55129";
    let input = with_uids(&[
        (tags::SOP_INSTANCE_UID, odd_instance),
        (
            tags::REFERENCED_SOP_CLASS_UID,
            "1.2.840.10008.5.1.4.1.1.2.19610203",
        ),
        (tags::CODING_SCHEME_UID, "1.2.840.10008.2.16.4"),
    ]);
    let d = session(&[], 8).deidentify(&input).expect("cleaned");
    assert!(!contains(&d.bytes, "19610203"), "no suffix survives");
    let obj = parse(&d.bytes);
    assert!(text(&obj, tags::SOP_INSTANCE_UID).starts_with("2.25."));
    assert!(text(&obj, tags::REFERENCED_SOP_CLASS_UID).starts_with("2.25."));
    assert_eq!(text(&obj, tags::CODING_SCHEME_UID), "1.2.840.10008.2.16.4");
    assert_eq!(
        text(&obj, tags::SOP_CLASS_UID),
        text(&parse(&input), tags::SOP_CLASS_UID)
    );
}

/// The first sample file with UI attributes set at its top level.
fn with_uids(values: &[(dicom_core::Tag, &str)]) -> Vec<u8> {
    let mut bytes = sample_study()[0].1.clone();
    for (tag, v) in values {
        bytes = {
            let file = parse(&bytes);
            let meta = file.meta().clone();
            let mut obj = file.into_inner();
            obj.put(dicom_core::DataElement::new(
                *tag,
                dicom_core::VR::UI,
                dicom_core::PrimitiveValue::from(*v),
            ));
            let mut out = Vec::new();
            obj.with_exact_meta(meta)
                .write_all(&mut out)
                .expect("written");
            out
        };
    }
    bytes
}

/// A SOP class that is not the standard's (a vendor's, or one a device appended to) is
/// mapped alike in the data set and the file meta group, which still agree.
#[test]
fn an_unknown_sop_class_is_mapped_alike_in_meta_and_data_set() {
    let odd = "1.2.840.10008.5.1.4.1.1.2.19610203";
    let mut bytes = with_uids(&[(tags::SOP_CLASS_UID, odd)]);
    // The meta group says the same class.
    let file = parse(&bytes);
    let mut meta = file.meta().clone();
    meta.media_storage_sop_class_uid = odd.to_string();
    meta.update_information_group_length();
    let mut out = Vec::new();
    file.into_inner()
        .with_exact_meta(meta)
        .write_all(&mut out)
        .expect("written");
    bytes = out;
    let d = session(&[], 8).deidentify(&bytes).expect("cleaned");
    assert!(!contains(&d.bytes, "19610203"));
    let obj = parse(&d.bytes);
    let class = text(&obj, tags::SOP_CLASS_UID);
    assert!(class.starts_with("2.25."), "{class}");
    assert_eq!(
        obj.meta()
            .media_storage_sop_class_uid()
            .trim_end_matches('\0'),
        class
    );
}

/// Retain Safe Private keeps a safe slot's value only in the form the slot is meant to hold:
/// numbers where numbers are meant, a listed code; never text or a sequence put there.
#[test]
fn safe_private_slots_keep_only_values_of_their_form() {
    use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
    use dicom_core::{DataElement, Tag, VR};
    let file = parse(&sample_study()[0].1);
    let meta = file.meta().clone();
    let mut obj = file.into_inner();
    let put = |o: &mut InMemDicomObject, e: u16, vr: VR, v: PrimitiveValue| {
        o.put(DataElement::new(Tag(0x0019, e), vr, Value::Primitive(v)));
    };
    put(
        &mut obj,
        0x0010,
        VR::LO,
        PrimitiveValue::from("SIEMENS MR HEADER"),
    );
    // B value: an integer, kept.
    put(&mut obj, 0x100C, VR::IS, PrimitiveValue::from("1000"));
    // Gradient direction: text where three doubles are meant.
    put(
        &mut obj,
        0x100E,
        VR::FD,
        PrimitiveValue::U8(b"KESTREL^WANDA 1961-02-03".to_vec().into()),
    );
    // Directionality: a name where a code is meant.
    put(&mut obj, 0x100D, VR::CS, PrimitiveValue::from("KESTREL"));
    // B matrix: a sequence holding Patient's Name.
    let mut item = InMemDicomObject::new_empty();
    item.put(DataElement::new(
        tags::PATIENT_NAME,
        VR::PN,
        PrimitiveValue::from("KESTREL^WANDA"),
    ));
    obj.put(DataElement::new(
        Tag(0x0019, 0x1027),
        VR::SQ,
        Value::from(DataSetSequence::from(vec![item])),
    ));
    let mut bytes = Vec::new();
    obj.with_exact_meta(meta)
        .write_all(&mut bytes)
        .expect("written");
    let d = session(&[ProfileOption::RetainSafePrivate], 5)
        .deidentify(&bytes)
        .expect("cleaned");
    assert!(!contains(&d.bytes, "KESTREL"));
    let out = parse(&d.bytes);
    assert_eq!(text(&out, Tag(0x0019, 0x100C)), "1000");
    for e in [0x100D, 0x100E, 0x1027] {
        assert!(out.get(Tag(0x0019, e)).is_none(), "(0019,{e:04X})");
    }
}

/// The sample's first file with `header` elements put (text given as the bytes it is, one
/// Latin-1 character a byte, so dicom-rs writes them back unchanged) and an Anatomic Region
/// Sequence whose code meaning (kept by the profile, swept) is `meaning`, likewise.
fn with_code_meaning(
    header: &[(dicom_core::Tag, dicom_core::VR, &[u8])],
    meaning: &[u8],
) -> Vec<u8> {
    use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
    use dicom_core::{DataElement, Length, VR};
    let latin1 = |b: &[u8]| b.iter().map(|&c| char::from(c)).collect::<String>();
    let el =
        |tag, vr, v: String| DataElement::new(tag, vr, Value::Primitive(PrimitiveValue::from(v)));
    let file = parse(&sample_study()[0].1);
    let meta = file.meta().clone();
    let mut obj = file.into_inner();
    for &(tag, vr, value) in header {
        if tag == tags::SPECIFIC_CHARACTER_SET {
            let terms = latin1(value).split('\\').map(str::to_string).collect();
            obj.put(DataElement::new(tag, vr, PrimitiveValue::Strs(terms)));
        } else {
            obj.put(el(tag, vr, latin1(value)));
        }
    }
    let concept = InMemDicomObject::from_element_iter([
        el(tags::CODE_VALUE, VR::SH, "T-1".into()),
        el(tags::CODING_SCHEME_DESIGNATOR, VR::SH, "99FAKE".into()),
        el(tags::CODE_MEANING, VR::LO, latin1(meaning)),
    ]);
    obj.put(DataElement::new(
        tags::ANATOMIC_REGION_SEQUENCE,
        VR::SQ,
        Value::from(DataSetSequence::new(vec![concept], Length::UNDEFINED)),
    ));
    let mut bytes = Vec::new();
    obj.with_exact_meta(meta)
        .write_all(&mut bytes)
        .expect("written");
    bytes
}

#[test]
fn kept_text_is_cleaned_of_every_person_the_files_name() {
    use dicom_core::VR;
    // A physician named in the header, and again in a code meaning the profile keeps: the
    // name goes from the kept text as the patient's own would (issue 27, item 14).
    let bytes = with_code_meaning(
        &[(tags::REFERRING_PHYSICIAN_NAME, VR::PN, b"QUILLFAKE^ZEDFAKE")],
        b"Letter to Dr Zedfake Quillfake",
    );
    let out = session(&[], 21).deidentify(&bytes).expect("ok");
    assert!(!contains(&out.bytes, "QUILLFAKE") && !contains(&out.bytes, "Quillfake"));
    assert!(!contains(&out.bytes, "Zedfake"));
    let obj = parse(&out.bytes);
    assert_eq!(
        find_text(&obj, tags::CODE_MEANING).as_deref(),
        Some("Letter to Dr ******* *********"),
        "the rest of the kept text stays"
    );
    assert!(
        out.changes
            .iter()
            .any(|c| c.name == "CodeMeaning" && c.action == "cleaned"),
        "the change log says so"
    );
}

/// Sequences the table does not name are walked only when the reviewed keep list holds them
/// (coded concepts, references, geometry, technique…); one that identifies people or orders,
/// and one the dictionary does not know, goes whole, whatever its items hold (issue 27,
/// item 7).
#[test]
fn sequences_outside_the_table_are_removed_unless_reviewed() {
    use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
    use dicom_core::{DataElement, Length, Tag, VR};
    let file = parse(&sample_study()[0].1);
    let meta = file.meta().clone();
    let mut obj = file.into_inner();
    let text =
        |tag, vr, v: &str| DataElement::new(tag, vr, Value::Primitive(PrimitiveValue::from(v)));
    let sequence = |tag, items: Vec<InMemDicomObject>| {
        DataElement::new(
            tag,
            VR::SQ,
            Value::from(DataSetSequence::new(items, Length::UNDEFINED)),
        )
    };
    // An order's identifier, in attributes kept elsewhere (a namespace ID is technical).
    let order = InMemDicomObject::from_element_iter([
        text(tags::LOCAL_NAMESPACE_ENTITY_ID, VR::UT, "ORDERKEEPER"),
        text(tags::UNIVERSAL_ENTITY_ID, VR::UT, "ORDERUNIVERSAL"),
    ]);
    obj.put(sequence(
        tags::ORDER_PLACER_IDENTIFIER_SEQUENCE,
        vec![order],
    ));
    let physician = InMemDicomObject::from_element_iter([text(
        tags::CODE_MEANING,
        VR::LO,
        "SEQPHYS Requesting",
    )]);
    obj.put(sequence(
        tags::REQUESTING_PHYSICIAN_IDENTIFICATION_SEQUENCE,
        vec![physician],
    ));
    // A public sequence no dictionary knows, holding only a code.
    let unknown =
        InMemDicomObject::from_element_iter([text(tags::CODE_MEANING, VR::LO, "SEQUNKNOWN")]);
    obj.put(sequence(Tag(0x0066, 0x9998), vec![unknown]));
    // A coded concept on the keep list stays, and its code with it.
    let concept = InMemDicomObject::from_element_iter([
        text(tags::CODE_VALUE, VR::SH, "T-D3000"),
        text(tags::CODING_SCHEME_DESIGNATOR, VR::SH, "SRT"),
        text(tags::CODE_MEANING, VR::LO, "Chest"),
    ]);
    obj.put(sequence(tags::ANATOMIC_REGION_SEQUENCE, vec![concept]));
    let mut bytes = Vec::new();
    obj.with_exact_meta(meta)
        .write_all(&mut bytes)
        .expect("written");

    let out = session(&[], 24).deidentify(&bytes).expect("ok");
    for canary in ["ORDERKEEPER", "ORDERUNIVERSAL", "SEQPHYS", "SEQUNKNOWN"] {
        assert!(!contains(&out.bytes, canary), "{canary}");
    }
    let cleaned = parse(&out.bytes);
    assert!(cleaned
        .get(tags::ORDER_PLACER_IDENTIFIER_SEQUENCE)
        .is_none());
    assert!(cleaned
        .get(tags::REQUESTING_PHYSICIAN_IDENTIFICATION_SEQUENCE)
        .is_none());
    assert!(cleaned.get(Tag(0x0066, 0x9998)).is_none());
    assert_eq!(
        find_text(&cleaned, tags::CODE_MEANING).as_deref(),
        Some("Chest")
    );
    let why = |name: &str| {
        out.changes
            .iter()
            .find(|c| c.name == name)
            .map(|c| (c.action.to_string(), c.reason.clone()))
    };
    let (action, reason) = why("OrderPlacerIdentifierSequence").expect("said");
    assert_eq!(action, "removed");
    assert!(reason.contains("reviewed keep list"), "{reason}");
    let (_, reason) = why("Unknown attribute").expect("said");
    assert!(reason.starts_with("unknown"), "{reason}");
}

#[test]
fn text_urls_and_unknown_attributes_outside_the_table_are_removed_unless_reviewed() {
    use dicom_core::dictionary::DataDictionary;
    use dicom_core::value::{PrimitiveValue, Value};
    use dicom_core::{DataElement, Tag, VR};
    // A URL the table does not name carries identifiers in its query; an attribute the
    // dictionary does not know may hold anything, in any VR (issue 27, item 7).
    let file = parse(&sample_study()[0].1);
    let meta = file.meta().clone();
    let mut obj = file.into_inner();
    let url = "https://pacs.example/wado?patientID=URLID77&patientName=URLNAME&studyUID=1.2.3";
    obj.put(DataElement::new(
        tags::RETRIEVE_URL,
        VR::UR,
        Value::Primitive(PrimitiveValue::from(url)),
    ));
    let unknown = [
        (Tag(0x0066, 0x9990), VR::OB, "UNKNOWNOB^NAME "),
        (Tag(0x0066, 0x9992), VR::CS, "UNKNOWNCS NAME"),
        (Tag(0x0066, 0x9994), VR::IS, "7712345"),
        (Tag(0x0066, 0x9996), VR::UR, "https://x.example/UNKNOWNUR"),
    ];
    for (tag, vr, value) in unknown {
        assert!(
            dicom_dictionary_std::StandardDataDictionary
                .by_tag(tag)
                .is_none(),
            "{tag} is unknown"
        );
        let value = if vr == VR::OB {
            PrimitiveValue::from(value.as_bytes().to_vec())
        } else {
            PrimitiveValue::from(value)
        };
        obj.put(DataElement::new(tag, vr, Value::Primitive(value)));
    }
    // Known text the table does not name: a description people wrote is removed, a title
    // an IOD needs is emptied, a technical attribute on the reviewed list is kept.
    let text =
        |tag, vr, v: &str| DataElement::new(tag, vr, Value::Primitive(PrimitiveValue::from(v)));
    obj.put(text(
        tags::DETECTOR_DESCRIPTION,
        VR::LT,
        "DETDESC set up by Dr Nobody",
    ));
    obj.put(text(
        tags::DOCUMENT_TITLE,
        VR::ST,
        "DOCTITLE for the patient",
    ));
    obj.put(text(tags::CONVOLUTION_KERNEL, VR::SH, "FAKEKERNEL"));
    obj.put(text(
        tags::FILE_ACCESS_URI,
        VR::UR,
        "file:///PACS/URLID77/1.dcm",
    ));
    let mut bytes = Vec::new();
    obj.with_exact_meta(meta)
        .write_all(&mut bytes)
        .expect("written");

    let out = session(&[], 23).deidentify(&bytes).expect("ok");
    assert!(!contains(&out.bytes, "DETDESC") && !contains(&out.bytes, "DOCTITLE"));
    let cleaned = parse(&out.bytes);
    assert!(cleaned.get(tags::DETECTOR_DESCRIPTION).is_none());
    assert_eq!(
        find_text(&cleaned, tags::DOCUMENT_TITLE).as_deref(),
        Some("")
    );
    assert_eq!(
        find_text(&cleaned, tags::CONVOLUTION_KERNEL).as_deref(),
        Some("FAKEKERNEL")
    );
    assert!(cleaned.get(tags::FILE_ACCESS_URI).is_none());
    for gone in [
        "URLID77",
        "URLNAME",
        "UNKNOWNOB",
        "UNKNOWNCS",
        "7712345",
        "UNKNOWNUR",
    ] {
        assert!(!contains(&out.bytes, gone), "{gone} is gone");
    }
    assert!(cleaned.get(tags::RETRIEVE_URL).is_none());
    for (tag, _, _) in unknown {
        assert!(cleaned.get(tag).is_none(), "{tag} removed");
    }
    assert!(out
        .changes
        .iter()
        .any(|c| c.name == "RetrieveURL" && c.action == "removed"));
}

#[test]
fn text_in_iso_2022_code_extensions_is_read_as_the_standard_says_and_swept() {
    use dicom_core::VR;
    // Japanese written as PS3.5 Annex H does (`\ISO 2022 IR 87`): the name in three groups,
    // and a kept code meaning holding it in kanji.
    let input = with_code_meaning(
        &[
            (tags::SPECIFIC_CHARACTER_SET, VR::CS, b"\\ISO 2022 IR 87"),
            (
                tags::PATIENT_NAME,
                VR::PN,
                b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B",
            ),
        ],
        b"\x1b$B;3EDB@O:\x1b(B right hand",
    );
    let out = session(&[], 25).deidentify(&input).expect("ok");
    assert!(!contains(&out.bytes, ";3ED") && !contains(&out.bytes, "B@O:"));
    assert!(!contains(&out.bytes, "Yamada") && !contains(&out.bytes, "山田"));
    let cleaned = parse(&out.bytes);
    assert_eq!(
        text(&cleaned, tags::SPECIFIC_CHARACTER_SET),
        "ISO_IR 192",
        "the text is written as UTF-8 from then on"
    );
    assert_eq!(
        find_text(&cleaned, tags::CODE_MEANING).as_deref(),
        Some("**** right hand"),
        "the kanji name is found and blanked; the rest is kept"
    );
}

/// A value that does not decode in its declared character set (an escape sequence PS3.5 does
/// not define, a broken double-byte character) cannot be checked: it is emptied, even where
/// the rules keep its attribute, and the change log says so on a line of its own.
#[test]
fn text_that_does_not_decode_is_emptied_and_said_so() {
    use dicom_core::VR;
    let input = with_code_meaning(
        &[
            (tags::SPECIFIC_CHARACTER_SET, VR::CS, b"\\ISO 2022 IR 87"),
            (tags::PATIENT_NAME, VR::PN, b"Yamada^Tarou"),
        ],
        // ESC $ Z designates no character set PS3.5 knows; then a half double-byte character.
        b"\x1b$Z;3ED\x1b(B right hand \x1b$B;",
    );
    let out = session(&[], 26).deidentify(&input).expect("ok");
    assert!(!contains(&out.bytes, ";3ED") && !contains(&out.bytes, "right hand"));
    let cleaned = parse(&out.bytes);
    assert_eq!(find_text(&cleaned, tags::CODE_MEANING).as_deref(), Some(""));
    let said: Vec<_> = out
        .changes
        .iter()
        .filter(|c| c.name == "CodeMeaning")
        .collect();
    assert_eq!(said.len(), 1, "{said:?}");
    assert_eq!(said[0].action, "emptied");
    assert!(said[0].reason.contains("does not decode"), "{said:?}");
    assert!(said[0].path.contains(")[1]/(0008,0104)"), "{said:?}");
}

#[test]
fn utf8_text_under_a_latin1_declaration_is_read_as_utf8_and_swept() {
    use dicom_core::VR;
    // The name in Latin-1 as declared; a kept code meaning written by another system in
    // UTF-8 under the same declaration.
    let input = with_code_meaning(
        &[
            (tags::SPECIFIC_CHARACTER_SET, VR::CS, b"ISO_IR 100"),
            (tags::PATIENT_NAME, VR::PN, b"M\xdcLLERFAKE^HANSI"),
        ],
        "Hand von Müllerfake".as_bytes(),
    );
    let out = session(&[], 27).deidentify(&input).expect("ok");
    assert!(!contains(&out.bytes, "llerfake") && !contains(&out.bytes, "LLERFAKE"));
    let cleaned = parse(&out.bytes);
    assert_eq!(text(&cleaned, tags::SPECIFIC_CHARACTER_SET), "ISO_IR 192");
    assert_eq!(
        find_text(&cleaned, tags::CODE_MEANING).as_deref(),
        Some("Hand von **********")
    );
}

#[test]
fn a_town_of_the_patients_address_is_found_alone_in_kept_text() {
    use dicom_core::VR;
    let input = with_code_meaning(
        &[(
            tags::PATIENT_ADDRESS,
            VR::LO,
            b"12 Fakewood Lane, Kestrelton, FK1 2ZZ",
        )],
        b"Referred from Kestrelton clinic",
    );
    let out = session(&[], 29).deidentify(&input).expect("ok");
    assert!(!contains(&out.bytes, "Kestrelton") && !contains(&out.bytes, "Fakewood"));
    assert_eq!(
        find_text(&parse(&out.bytes), tags::CODE_MEANING).as_deref(),
        Some("Referred from ********** clinic")
    );
}

#[test]
fn ages_over_89_become_90_or_older_wherever_an_age_is_kept() {
    use dicom_core::VR;
    let bytes = with_code_meaning(
        &[
            (tags::PATIENT_AGE, VR::AS, b"093Y"),
            (tags::NAME_TO_USE, VR::LT, b"Zelfake"),
            (
                tags::STUDY_DESCRIPTION,
                VR::LO,
                b"CT head, 94-year-old after a fall",
            ),
        ],
        b"Aged 93, known as Zelfake",
    );
    let teaching = [
        ProfileOption::RetainPatientCharacteristics,
        ProfileOption::CleanDescriptors,
    ];
    let out = session(&teaching, 22).deidentify(&bytes).expect("ok");
    let obj = parse(&out.bytes);
    assert_eq!(text(&obj, tags::PATIENT_AGE), "090Y", "aggregated");
    assert_eq!(
        text(&obj, tags::STUDY_DESCRIPTION),
        "CT head, 90+-year-old after a fall",
        "an age in cleaned text"
    );
    assert_eq!(
        find_text(&obj, tags::CODE_MEANING).as_deref(),
        Some("Aged 90+, known as *******"),
        "an age in kept text, and the Name to Use (2026c) swept like the patient's name"
    );
    assert!(obj.get(tags::NAME_TO_USE).is_none(), "Name to Use removed");
    assert!(!contains(&out.bytes, "093Y") && !contains(&out.bytes, "Zelfake"));
    assert!(out
        .changes
        .iter()
        .any(|c| c.name == "PatientAge" && c.action == "aggregated" && c.reason.contains("90")));

    // Only an explicit override of the attribute keeps the age as it is.
    let mut policy = Policy::basic(ProjectKey::from_bytes([22; 32]));
    policy.options = OptionSet::new(teaching).expect("valid");
    policy.add_override("0010,1010=K").expect("override");
    let out = Session::new(policy).deidentify(&bytes).expect("ok");
    assert_eq!(text(&parse(&out.bytes), tags::PATIENT_AGE), "093Y");
}

#[test]
fn documents_are_left_out_unless_included_and_then_replaced_by_a_placeholder_of_their_type() {
    use dicom_core::value::PrimitiveValue;
    use dicom_core::{DataElement, Tag, VR};
    let original = parse(&sample_study()[0].1);
    let meta = original.meta().clone();
    let mut obj = original.into_inner();
    obj.put(DataElement::new(
        Tag(0x0042, 0x0011),
        VR::OB,
        PrimitiveValue::from(b"%PDF-1.4 Report: FAKEDOE^JANE, MRN 5512345\n%%EOF".to_vec()),
    ));
    obj.put(DataElement::new(
        Tag(0x0042, 0x0012),
        VR::LO,
        PrimitiveValue::from("application/pdf"),
    ));
    obj.put(DataElement::new(
        Tag(0x0042, 0x0015),
        VR::UL,
        PrimitiveValue::from(50_u32),
    ));
    let mut bytes = Vec::new();
    obj.with_exact_meta(meta)
        .write_all(&mut bytes)
        .expect("written");
    match session(&[], 23).process(&bytes) {
        Outcome::Excluded(e) => assert!(e.to_string().contains("a PDF document"), "{e}"),
        other => panic!("left out by default, got {other:?}"),
    }
    let mut policy = Policy::basic(ProjectKey::from_bytes([23; 32]));
    policy.include_documents = true;
    let out = Session::new(policy).deidentify(&bytes).expect("included");
    assert!(!contains(&out.bytes, "FAKEDOE") && !contains(&out.bytes, "5512345"));
    let obj = parse(&out.bytes);
    let doc = obj
        .get(Tag(0x0042, 0x0011))
        .and_then(|e| e.value().to_bytes().ok())
        .expect("document")
        .to_vec();
    assert!(doc.starts_with(b"%PDF-1.4") && contains(&doc, "removed by Obscura"));
    let said = obj
        .get(Tag(0x0042, 0x0015))
        .and_then(|e| e.value().to_int::<u32>().ok());
    assert_eq!(
        said,
        Some(doc.len() as u32),
        "its length is told as it is now"
    );
}

/// A sound recording (a voice memo, dictation) is left out whatever option is chosen: a voice
/// identifies its speaker and what it says cannot be checked. It is found by its SOP Class or
/// by audio samples (A-law, mu-law) in any waveform, whatever the class says; an ECG's
/// samples are measurements and stay.
#[test]
fn sound_recordings_are_left_out_whatever_their_class_says() {
    use dicom_core::value::{DataSetSequence, PrimitiveValue};
    use dicom_core::{DataElement, Tag, VR};
    let with_waveform = |class: Option<&str>, interpretation: &str| {
        let original = parse(&sample_study()[0].1);
        let meta = original.meta().clone();
        let mut obj = original.into_inner();
        if let Some(class) = class {
            obj.put(DataElement::new(
                tags::SOP_CLASS_UID,
                VR::UI,
                PrimitiveValue::from(class),
            ));
        }
        let item = InMemDicomObject::from_element_iter([
            DataElement::new(Tag(0x003A, 0x0005), VR::US, PrimitiveValue::from(1_u16)),
            DataElement::new(Tag(0x003A, 0x0010), VR::UL, PrimitiveValue::from(4_u32)),
            DataElement::new(Tag(0x5400, 0x1004), VR::US, PrimitiveValue::from(8_u16)),
            DataElement::new(
                Tag(0x5400, 0x1006),
                VR::CS,
                PrimitiveValue::from(interpretation),
            ),
            DataElement::new(
                Tag(0x5400, 0x1010),
                VR::OB,
                PrimitiveValue::from(vec![0x55_u8; 4]),
            ),
        ]);
        obj.put(DataElement::new(
            Tag(0x5400, 0x0100),
            VR::SQ,
            DataSetSequence::from(vec![item]),
        ));
        let mut bytes = Vec::new();
        obj.with_exact_meta(meta)
            .write_all(&mut bytes)
            .expect("written");
        bytes
    };
    let voice = with_waveform(Some("1.2.840.10008.5.1.4.1.1.9.4.1"), "SB");
    let mu_law_in_an_ecg = with_waveform(Some("1.2.840.10008.5.1.4.1.1.9.1.1"), "MB");
    let a_law_unlabelled = with_waveform(None, "AB");
    for (what, bytes) in [
        ("Basic Voice Audio", &voice),
        ("mu-law samples in an ECG", &mu_law_in_an_ecg),
        ("A-law samples in an image", &a_law_unlabelled),
    ] {
        let mut policy = Policy::basic(ProjectKey::from_bytes([24; 32]));
        policy.include_documents = true;
        match Session::new(policy).process(bytes) {
            Outcome::Excluded(e) => {
                assert!(e.to_string().contains("sound recording"), "{what}: {e}")
            }
            other => panic!("{what}: left out, got {other:?}"),
        }
    }
    let measurements = with_waveform(None, "SS");
    assert!(
        matches!(session(&[], 24).process(&measurements), Outcome::Done(_)),
        "signed samples (an ECG's) are measurements, kept"
    );
}

/// Binary values the table does not name are kept only when the reviewed list says they are
/// numbers, lookup tables, geometry or the image; any other (a record key, a drawing, a blob)
/// is removed, with its reason in the log.
#[test]
fn binary_values_outside_the_table_are_removed_unless_reviewed() {
    use dicom_core::value::PrimitiveValue;
    use dicom_core::{DataElement, Tag, VR};
    let original = parse(&sample_study()[0].1);
    let meta = original.meta().clone();
    let mut obj = original.into_inner();
    let blob = b"FAKEDOE^JANE MRN 5512345 ".to_vec();
    let removed = [
        (Tag(0x0008, 0x041B), "RecordKey"),
        (Tag(0x0068, 0x6300), "HPGLDocument"),
        (Tag(0x0400, 0x0520), "EncryptedContent"),
    ];
    for (tag, _) in removed {
        obj.put(DataElement::new(
            tag,
            VR::OB,
            PrimitiveValue::from(blob.clone()),
        ));
    }
    let icc = vec![7_u8; 128];
    obj.put(DataElement::new(
        Tag(0x0028, 0x2000),
        VR::OB,
        PrimitiveValue::from(icc.clone()),
    ));
    let mut bytes = Vec::new();
    obj.with_exact_meta(meta)
        .write_all(&mut bytes)
        .expect("written");
    let out = session(&[], 25).deidentify(&bytes).expect("cleaned");
    assert!(!contains(&out.bytes, "FAKEDOE") && !contains(&out.bytes, "5512345"));
    let cleaned = parse(&out.bytes);
    for (tag, name) in removed {
        assert!(cleaned.get(tag).is_none(), "{name} removed");
        assert!(
            out.changes.iter().any(|c| c.name == name
                && c.action == "removed"
                && c.reason.contains("binary value outside the profile table")),
            "{name}: the log says why"
        );
    }
    let kept = cleaned
        .get(Tag(0x0028, 0x2000))
        .and_then(|e| e.value().to_bytes().ok())
        .map(|b| b.to_vec());
    assert_eq!(kept, Some(icc), "an ICC profile (colour science) is kept");
    assert!(cleaned.get(tags::PIXEL_DATA).is_some(), "the image is kept");
}

/// A video (MPEG-2, H.264, HEVC) cannot be looked at for burned-in text, and its stream can
/// carry metadata and sound: it is left out, and included only when the user says they
/// checked it, then with Patient Identity Removed = NO and the log saying why.
#[test]
fn videos_are_left_out_unless_the_user_includes_them_after_checking() {
    use dicom_core::value::{PixelFragmentSequence, PrimitiveValue};
    use dicom_core::{DataElement, VR};
    use dicom_dictionary_std::uids;
    use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
    for ts in [
        uids::MPEG2MPML,
        uids::MPEG4HP41,
        uids::MPEG4HP41BDF,
        uids::HEVCM10P51,
    ] {
        let original = parse(&sample_study()[0].1);
        let mut meta = original.meta().clone();
        meta.set_transfer_syntax(
            dicom_transfer_syntax_registry::TransferSyntaxRegistry
                .get(ts)
                .expect("known"),
        );
        let mut obj = original.into_inner();
        obj.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            PixelFragmentSequence::new(vec![], vec![b"\0\0\0\x18ftypmp42 udta FAKEDOE".to_vec()]),
        ));
        obj.put(DataElement::new(
            tags::NUMBER_OF_FRAMES,
            VR::IS,
            PrimitiveValue::from("30"),
        ));
        let mut bytes = Vec::new();
        obj.with_exact_meta(meta)
            .write_all(&mut bytes)
            .expect("written");
        match session(&[], 26).process(&bytes) {
            Outcome::Excluded(e) => assert!(e.to_string().contains("a video"), "{ts}: {e}"),
            other => panic!("{ts}: left out, got {other:?}"),
        }
        let mut policy = Policy::basic(ProjectKey::from_bytes([26; 32]));
        policy.accept_burned_in = true;
        let out = Session::new(policy)
            .deidentify(&bytes)
            .expect("included on request");
        let cleaned = parse(&out.bytes);
        assert_eq!(
            cleaned
                .get(tags::PATIENT_IDENTITY_REMOVED)
                .and_then(|e| e.to_str().ok())
                .as_deref(),
            Some("NO"),
            "{ts}"
        );
        assert!(
            out.changes
                .iter()
                .any(|c| c.name == "PixelData" && c.reason.contains("a video")),
            "{ts}: the log says the video was not cleaned"
        );
    }
}
