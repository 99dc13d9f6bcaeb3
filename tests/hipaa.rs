//! The HIPAA presets, one identifier at a time: for each of the 18 kinds of Safe Harbor (and
//! the 16 of a Limited Data Set), a file that carries it is de-identified under each preset,
//! the identifier must be gone (or kept only as the method allows), and the report's HIPAA
//! section must count it without showing it.
#![cfg(not(target_arch = "wasm32"))]

use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::{InMemDicomObject, OpenFileOptions};
use obscura::deid::{Policy, ProjectKey, Session};
use obscura::package::Layout;
use obscura::profile::{Hipaa, OptionSet, PRESETS};

/// The sample study's first image with `attrs` added.
fn file_with(attrs: &[(Tag, VR, &str)], sop_class: Option<&str>) -> Vec<u8> {
    let (_, bytes) = &obscura::sample::sample_study()[0];
    let file = OpenFileOptions::new()
        .read_preamble(dicom_object::file::ReadPreamble::Always)
        .from_reader(bytes.as_slice())
        .expect("sample parses");
    let mut meta = file.meta().clone();
    let mut obj = file.into_inner();
    for &(tag, vr, value) in attrs {
        obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
    }
    if let Some(class) = sop_class {
        obj.put(DataElement::new(
            tags::SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from(class),
        ));
        meta.media_storage_sop_class_uid = class.to_string();
    }
    let mut out = Vec::new();
    obj.with_exact_meta(meta)
        .write_all(&mut out)
        .expect("written");
    out
}

fn policy(method: Hipaa) -> Policy {
    let preset = PRESETS
        .iter()
        .find(|p| p.hipaa == Some(method))
        .expect("a preset for each method");
    let mut policy = Policy::basic(ProjectKey::from_bytes([77; 32]));
    policy.options = OptionSet::new(preset.options.iter().copied()).expect("valid");
    policy.hipaa = preset.hipaa;
    policy
}

struct Outcome {
    bytes: Vec<u8>,
    obj: InMemDicomObject,
    report: String,
}

fn run(method: Hipaa, bytes: &[u8]) -> Outcome {
    let policy = policy(method);
    let d = Session::new(policy.clone())
        .deidentify(bytes)
        .expect("de-identified");
    let mut layout = Layout::new();
    layout.place(&d);
    let report = layout.report_html(&policy).text();
    let obj = OpenFileOptions::new()
        .read_preamble(dicom_object::file::ReadPreamble::Always)
        .from_reader(d.bytes.as_slice())
        .expect("output parses")
        .into_inner();
    Outcome {
        bytes: d.bytes,
        obj,
        report,
    }
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn text(obj: &InMemDicomObject, tag: Tag) -> String {
    obj.get(tag)
        .and_then(|e| e.value().to_str().ok())
        .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
        .unwrap_or_default()
}

/// The report's row for `identifier` (its name's start) in the HIPAA section.
fn row<'a>(report: &'a str, identifier: &str) -> &'a str {
    let at = report
        .find(&format!("<td>{identifier}"))
        .unwrap_or_else(|| panic!("no row for {identifier}:\n{report}"));
    let end = report[at..].find("</tr>").expect("row ends") + at;
    &report[at..end]
}

/// The identifier is gone from the output and the report, and the report's row counts it.
fn removed_and_counted(method: Hipaa, attrs: &[(Tag, VR, &str)], fakes: &[&str], identifier: &str) {
    let out = run(method, &file_with(attrs, None));
    for fake in fakes {
        assert!(
            !contains(&out.bytes, fake),
            "{method:?}: {fake} left in the file"
        );
        assert!(
            !out.report.contains(fake),
            "{method:?}: {fake} shown in the report"
        );
    }
    let r = row(&out.report, identifier);
    assert!(r.contains("<td>1 file</td>"), "{method:?}: {r}");
}

const BOTH: [Hipaa; 2] = [Hipaa::SafeHarbor, Hipaa::LimitedDataSet];

#[test]
fn names() {
    for m in BOTH {
        removed_and_counted(
            m,
            &[
                (tags::OTHER_PATIENT_NAMES, VR::PN, "FAKEOTHER^ZELDA"),
                (tags::NAME_TO_USE, VR::LT, "Zeldafake"),
                (tags::PERFORMING_PHYSICIAN_NAME, VR::PN, "FAKEDOCTOR^ALF"),
            ],
            &["FAKEOTHER", "Zeldafake", "FAKEDOCTOR", "FAKEDOE"],
            "Names",
        );
    }
}

#[test]
fn geographic_subdivisions() {
    let attrs = [(
        tags::PATIENT_ADDRESS,
        VR::LO,
        "12 Fakeroad Street, Springfieldfake, IL 62704",
    )];
    removed_and_counted(
        Hipaa::SafeHarbor,
        &attrs,
        &["Fakeroad", "Springfieldfake", "62704"],
        "Geographic",
    );
    // A Limited Data Set keeps the town, state and ZIP code, and nothing else of it.
    let out = run(Hipaa::LimitedDataSet, &file_with(&attrs, None));
    assert_eq!(
        text(&out.obj, tags::PATIENT_ADDRESS),
        "Springfieldfake, IL 62704"
    );
    assert!(!contains(&out.bytes, "Fakeroad"));
    assert!(row(&out.report, "Geographic").contains("<td>1 file</td>"));
}

#[test]
fn dates_and_ages_over_89() {
    let attrs = [
        (tags::STUDY_DATE, VR::DA, "20240317"),
        (tags::ACQUISITION_DATE_TIME, VR::DT, "20240317101500"),
        (tags::PATIENT_AGE, VR::AS, "093Y"),
    ];
    let out = run(Hipaa::SafeHarbor, &file_with(&attrs, None));
    assert_eq!(
        text(&out.obj, tags::STUDY_DATE),
        "20240101",
        "the year only"
    );
    assert_eq!(text(&out.obj, tags::ACQUISITION_DATE_TIME), "2024");
    assert_eq!(text(&out.obj, tags::PATIENT_AGE), "090Y");
    assert_eq!(
        text(&out.obj, tags::PATIENT_BIRTH_DATE),
        "",
        "birth date emptied"
    );
    assert_eq!(
        text(&out.obj, tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED),
        "MODIFIED"
    );
    assert!(!contains(&out.bytes, "20240317") && !contains(&out.bytes, "093Y"));
    assert!(row(&out.report, "All elements of dates").contains("<td>1 file</td>"));
    // A Limited Data Set keeps dates (not a direct identifier), and ages over 89 still go.
    let out = run(Hipaa::LimitedDataSet, &file_with(&attrs, None));
    assert_eq!(text(&out.obj, tags::STUDY_DATE), "20240317");
    assert_eq!(text(&out.obj, tags::PATIENT_AGE), "090Y");
    assert!(!out.report.contains("<td>All elements of dates"));
}

#[test]
fn telephone_numbers() {
    for m in BOTH {
        removed_and_counted(
            m,
            &[
                (tags::PATIENT_TELEPHONE_NUMBERS, VR::SH, "555-0100-1234"),
                (
                    tags::STUDY_DESCRIPTION,
                    VR::LO,
                    "CT head, call (555) 010-7777",
                ),
            ],
            &["0100-1234", "010-7777"],
            "Telephone",
        );
    }
}

#[test]
fn fax_numbers() {
    // DICOM has no fax attribute: one written in a kept description is blanked.
    for m in BOTH {
        let out = run(
            m,
            &file_with(
                &[(tags::STUDY_DESCRIPTION, VR::LO, "CT head, fax 555 010 9999")],
                None,
            ),
        );
        assert!(!contains(&out.bytes, "9999"), "{m:?}");
        assert!(row(&out.report, "Fax").contains("DICOM has no fax attribute"));
    }
}

#[test]
fn electronic_mail_addresses() {
    for m in BOTH {
        let out = run(
            m,
            &file_with(
                &[(
                    tags::STUDY_DESCRIPTION,
                    VR::LO,
                    "CT, to zelda.fake@example.invalid",
                )],
                None,
            ),
        );
        assert!(!contains(&out.bytes, "zelda.fake"), "{m:?}");
        assert!(row(&out.report, "Electronic mail").contains("blanked in cleaned text"));
    }
}

#[test]
fn social_security_numbers() {
    for m in BOTH {
        removed_and_counted(
            m,
            &[
                (Tag(0x0010, 0x1000), VR::LO, "078-05-1120"),
                (tags::STUDY_DESCRIPTION, VR::LO, "CT, SSN 078-05-1121"),
            ],
            &["078-05-112"],
            "Medical record",
        );
        let out = run(m, &file_with(&[], None));
        assert!(row(&out.report, "Social Security").contains("DICOM has no SSN attribute"));
    }
}

#[test]
fn medical_record_numbers() {
    for m in BOTH {
        removed_and_counted(
            m,
            &[(tags::PATIENT_ID, VR::LO, "FAKEMRN55512")],
            &["FAKEMRN55512"],
            "Medical record",
        );
    }
}

#[test]
fn health_plan_beneficiary_numbers() {
    for m in BOTH {
        removed_and_counted(
            m,
            &[(Tag(0x0010, 0x1050), VR::LO, "FAKEPLAN9988")],
            &["FAKEPLAN9988"],
            "Health plan",
        );
    }
}

#[test]
fn account_numbers() {
    for m in BOTH {
        removed_and_counted(
            m,
            &[
                (tags::ACCESSION_NUMBER, VR::SH, "FAKEACC7788"),
                (tags::ADMISSION_ID, VR::LO, "FAKEADM4411"),
            ],
            &["FAKEACC7788", "FAKEADM4411"],
            "Account",
        );
    }
}

#[test]
fn certificate_and_license_numbers() {
    for m in BOTH {
        let out = run(
            m,
            &file_with(
                &[(tags::STUDY_DESCRIPTION, VR::LO, "CT, licence 7712345")],
                None,
            ),
        );
        assert!(!contains(&out.bytes, "7712345"), "{m:?}");
        assert!(row(&out.report, "Certificate").contains("<td>none found</td>"));
    }
}

#[test]
fn vehicle_identifiers() {
    for m in BOTH {
        let out = run(
            m,
            &file_with(
                &[(
                    tags::STUDY_DESCRIPTION,
                    VR::LO,
                    "CT after crash, plate 4417723",
                )],
                None,
            ),
        );
        assert!(!contains(&out.bytes, "4417723"), "{m:?}");
        assert!(row(&out.report, "Vehicle").contains("DICOM has no such attribute"));
    }
}

#[test]
fn device_identifiers_and_serial_numbers() {
    for m in BOTH {
        removed_and_counted(
            m,
            &[
                (tags::DEVICE_SERIAL_NUMBER, VR::LO, "FAKESN4455"),
                (tags::SECONDARY_CAPTURE_DEVICE_ID, VR::LO, "FAKESCDEV1"),
            ],
            &["FAKESN4455", "FAKESCDEV1"],
            "Device",
        );
    }
}

#[test]
fn urls() {
    for m in BOTH {
        removed_and_counted(
            m,
            &[(tags::RETRIEVE_URL, VR::UR, "https://pacs.invalid/FAKEURL")],
            &["FAKEURL", "pacs.invalid"],
            "Web Universal",
        );
    }
}

#[test]
fn ip_addresses() {
    for m in BOTH {
        removed_and_counted(
            m,
            &[
                (tags::STATION_AE_TITLE, VR::AE, "FAKEAE"),
                (tags::STUDY_DESCRIPTION, VR::LO, "CT sent from 10.20.30.40"),
            ],
            &["FAKEAE", "10.20.30.40"],
            "Internet Protocol",
        );
    }
}

#[test]
fn biometric_identifiers() {
    for m in BOTH {
        let out = run(m, &file_with(&[], None));
        assert!(row(&out.report, "Biometric").contains("DICOM headers hold none"));
    }
}

#[test]
fn full_face_photographs() {
    const VL_PHOTOGRAPHIC: &str = "1.2.840.10008.5.1.4.1.1.77.1.4";
    for m in BOTH {
        let policy = policy(m);
        let bytes = file_with(&[(tags::MODALITY, VR::CS, "XC")], Some(VL_PHOTOGRAPHIC));
        let d = Session::new(policy.clone()).deidentify(&bytes).expect("ok");
        assert!(
            d.warnings.iter().any(|w| w.contains("face")),
            "{:?}",
            d.warnings
        );
        let mut layout = Layout::new();
        layout.place(&d);
        let report = layout.report_html(&policy).text();
        assert!(
            row(&report, "Full-face").contains("<td>1 file</td>"),
            "{m:?}"
        );
    }
}

#[test]
fn any_other_unique_identifying_code() {
    let out = run(
        Hipaa::SafeHarbor,
        &file_with(&[(Tag(0x0029, 0x0010), VR::LO, "FAKE VENDOR")], None),
    );
    assert!(!contains(&out.bytes, "FAKE VENDOR"));
    assert!(row(&out.report, "Any other unique").contains("<td>1 file</td>"));
    // Not one of the 16 direct identifiers of a Limited Data Set.
    let out = run(Hipaa::LimitedDataSet, &file_with(&[], None));
    assert!(!out.report.contains("<td>Any other unique"));
}

#[test]
fn the_sections_name_their_method_and_the_data_use_agreement() {
    let out = run(Hipaa::SafeHarbor, &file_with(&[], None));
    assert!(out.report.contains("HIPAA Safe Harbor: the 18 identifiers"));
    assert!(out
        .report
        .contains("HIPAA Safe Harbor (45 CFR 164.514(b)(2))"));
    assert!(text(&out.obj, tags::DEIDENTIFICATION_METHOD).contains("HIPAA Safe Harbor"));
    let out = run(Hipaa::LimitedDataSet, &file_with(&[], None));
    assert!(out.report.contains("the 16 direct identifiers"));
    assert!(out.report.contains("data use agreement"));
}
