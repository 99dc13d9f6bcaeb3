//! Conformance with PS3.15 Table E.1-1, row by row and option by option, and a dictionary-wide
//! canary test: whatever the standard does not keep must not be found anywhere in the output.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;

use aho_corasick::AhoCorasick;
use dicom_core::dictionary::{DataDictionary, VirtualVr};
use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_dictionary_std::{tags, uids, StandardDataDictionary};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject, OpenFileOptions};
use obscura::deid::{Policy, ProjectKey, Session};
use obscura::profile::{
    exact_rules, is_retired_text, outside_table, rule_for, Code, OptionSet, Outside, ProfileOption,
};

/// The option sets every check runs under: none, each option alone, and the two maximal
/// compatible combinations.
fn option_sets() -> Vec<(String, OptionSet)> {
    let mut sets = vec![("basic".to_string(), OptionSet::basic())];
    for o in ProfileOption::ALL {
        sets.push((
            o.id().to_string(),
            OptionSet::new([o]).expect("single option"),
        ));
    }
    for excluded in [
        ProfileOption::RetainLongitudinalFullDates,
        ProfileOption::RetainLongitudinalModifiedDates,
    ] {
        let all = ProfileOption::ALL.into_iter().filter(|o| *o != excluded);
        sets.push((
            format!("all but {}", excluded.id()),
            OptionSet::new(all).expect("compatible"),
        ));
    }
    sets
}

fn dictionary_vr(tag: Tag) -> Option<VR> {
    match StandardDataDictionary.by_tag(tag)?.vr {
        VirtualVr::Exact(vr) => Some(vr),
        VirtualVr::Xs => Some(VR::US),
        VirtualVr::Ox | VirtualVr::Px => Some(VR::OB),
        VirtualVr::Lt => Some(VR::OW),
        _ => None,
    }
}

fn element(tag: Tag, vr: VR, value: PrimitiveValue) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, Value::Primitive(value))
}

/// Wrap a data set as a Part 10 file (explicit VR little endian).
fn to_file(obj: InMemDicomObject, source_ae: &str) -> Vec<u8> {
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(uids::SECONDARY_CAPTURE_IMAGE_STORAGE)
        .media_storage_sop_instance_uid("1.2.999.77.1")
        .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
        .implementation_class_uid("1.2.999.0.2")
        .source_application_entity_title(source_ae)
        .build()
        .expect("meta");
    let mut bytes = Vec::new();
    obj.with_exact_meta(meta)
        .write_all(&mut bytes)
        .expect("written");
    bytes
}

fn deidentify(bytes: &[u8], options: &OptionSet) -> InMemDicomObject {
    let mut policy = Policy::basic(ProjectKey::from_bytes([42; 32]));
    policy.options = options.clone();
    policy.date_offset_days = Some(-20_000);
    // The file holds every row, Encapsulated Document among them: documents are included so
    // that the row's action can be seen.
    policy.include_documents = true;
    let d = Session::new(policy)
        .deidentify(bytes)
        .expect("de-identifies");
    OpenFileOptions::new()
        .read_preamble(dicom_object::file::ReadPreamble::Always)
        .from_reader(d.bytes.as_slice())
        .expect("output parses")
        .into_inner()
}

/// A value for a row of the table, by VR; `None` when the VR needs no test value.
fn row_value(tag: Tag, vr: VR) -> Option<PrimitiveValue> {
    let n = format!("{:04X}{:04X}", tag.group(), tag.element());
    Some(match vr {
        VR::PN | VR::LO | VR::SH | VR::LT | VR::ST | VR::UT | VR::UC | VR::AE | VR::CS | VR::UR => {
            PrimitiveValue::from(format!("ROW{n}"))
        }
        VR::DA => PrimitiveValue::from("19550607"),
        VR::DT => PrimitiveValue::from("19550607101112"),
        VR::TM => PrimitiveValue::from("101112"),
        VR::UI => PrimitiveValue::from(format!("1.2.999.{}.{}", tag.group(), tag.element())),
        VR::AS => PrimitiveValue::from("042Y"),
        VR::DS | VR::IS => PrimitiveValue::from("7"),
        VR::US => PrimitiveValue::from(7_u16),
        VR::SS => PrimitiveValue::from(7_i16),
        VR::UL => PrimitiveValue::from(7_u32),
        VR::SL => PrimitiveValue::from(7_i32),
        VR::FL => PrimitiveValue::from(7_f32),
        VR::FD => PrimitiveValue::from(7_f64),
        VR::OB | VR::UN => PrimitiveValue::U8(vec![7, 7].into()),
        VR::OW => PrimitiveValue::U8(vec![7, 7].into()),
        VR::AT => PrimitiveValue::Tags([Tag(0x0010, 0x0010)].as_slice().into()),
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Absent,
    Empty,
    Same,
    Changed,
}

fn outcome(out: &InMemDicomObject, tag: Tag, original: &Value<InMemDicomObject>) -> Seen {
    let Some(e) = out.get(tag) else {
        return Seen::Absent;
    };
    match (e.value(), original) {
        (Value::Sequence(s), Value::Sequence(o)) => {
            if s.items().is_empty() {
                Seen::Empty
            } else if s.items().len() == o.items().len() {
                Seen::Same
            } else {
                Seen::Changed
            }
        }
        (Value::Primitive(PrimitiveValue::Empty), _) => Seen::Empty,
        (v, o) => {
            let a = v
                .to_str()
                .map(|s| s.trim_end_matches(['\0', ' ', '^']).to_string())
                .unwrap_or_default();
            let b = o
                .to_str()
                .map(|s| s.trim_end_matches(['\0', ' ', '^']).to_string())
                .unwrap_or_default();
            if a.is_empty() {
                Seen::Empty
            } else if a == b {
                Seen::Same
            } else {
                Seen::Changed
            }
        }
    }
}

/// What each code allows. A sequence under C, D, K or U keeps its items (their contents are
/// cleaned by the same rules), which this check sees as `Same`.
fn allowed(code: Code, vr: VR, tag: Tag) -> &'static [Seen] {
    use Seen::*;
    let identity = tag == tags::PATIENT_NAME || tag == tags::PATIENT_ID;
    match code {
        Code::X => &[Absent],
        Code::Z if identity => &[Changed],
        Code::Z => &[Empty],
        Code::XZ | Code::XZUStar if vr == VR::SQ => &[Absent, Empty, Same],
        Code::XZ | Code::XZUStar => &[Absent, Empty],
        Code::D | Code::ZD | Code::XD | Code::XZD if vr == VR::SQ => &[Absent, Empty, Same],
        Code::D | Code::ZD | Code::XD | Code::XZD => &[Changed, Empty, Absent],
        Code::K => &[Same],
        Code::C if vr == VR::SQ => &[Same],
        // Cleaning keeps what has nothing identifying and changes (or removes) what has.
        Code::C => &[Same, Changed, Empty, Absent],
        Code::U => &[Changed],
    }
}

#[test]
fn every_row_of_table_e1_1_is_applied_under_every_option_set() {
    let mut obj = InMemDicomObject::new_empty();
    let mut rows = Vec::new();
    for rule in exact_rules() {
        let tag = Tag((rule.tag >> 16) as u16, rule.tag as u16);
        if tag.group() == 0x0002 || tag.group() == 0x0000 || tag == tags::PIXEL_DATA {
            continue; // file meta and command groups are not data set attributes
        }
        let Some(vr) = dictionary_vr(tag) else {
            continue;
        };
        let value: Value<InMemDicomObject> = if vr == VR::SQ {
            let item = InMemDicomObject::from_element_iter([element(
                tags::CODE_MEANING,
                VR::LO,
                PrimitiveValue::from("item"),
            )]);
            Value::from(DataSetSequence::new(vec![item], Length::UNDEFINED))
        } else {
            match row_value(tag, vr) {
                Some(v) => Value::Primitive(v),
                None => continue,
            }
        };
        obj.put(DataElement::new(tag, vr, value.clone()));
        rows.push((tag, vr, value, rule));
    }
    assert!(rows.len() > 500, "most rows are exercised ({})", rows.len());
    let bytes = to_file(obj, "ROWSOURCEAE");

    let mut failures = Vec::new();
    for (set_name, set) in option_sets() {
        let out = deidentify(&bytes, &set);
        for (tag, vr, value, rule) in &rows {
            let code = rule.code_for(&set);
            let seen = outcome(&out, *tag, value);
            if !allowed(code, *vr, *tag).contains(&seen) {
                failures.push(format!(
                    "[{set_name}] {tag} {} ({vr:?}): code {} gave {seen:?}",
                    rule.name,
                    code.as_str()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} rows misapplied:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every tag of the standard dictionary in the groups that hold data set attributes.
fn dictionary_tags() -> Vec<(Tag, VR)> {
    let mut groups: Vec<u16> = (0x0008..=0x0100).step_by(2).collect();
    groups.extend([
        0x0400, 0x2000, 0x2010, 0x2020, 0x2030, 0x2040, 0x2050, 0x2100, 0x2110, 0x2120, 0x2130,
        0x2200,
    ]);
    groups.extend((0x3002..=0x300E).step_by(2));
    groups.extend([0x4000, 0x4008, 0x4010, 0x4FFE, 0x5200, 0x5400, 0x5600]);
    let mut out = Vec::new();
    for g in groups {
        for e in 0x0001..=0xFFFF_u16 {
            let tag = Tag(g, e);
            if let Some(entry) = StandardDataDictionary.by_tag(tag) {
                // Only exact entries: repeating groups (60xx) are covered by the overlay tests.
                if entry.tag.inner() != tag {
                    continue;
                }
                if let VirtualVr::Exact(vr) = entry.vr {
                    out.push((tag, vr));
                }
            }
        }
    }
    out
}

/// Attributes Obscura sets itself (the record of de-identification) or needs as given.
fn written_by_obscura(tag: Tag) -> bool {
    [
        tags::SOP_CLASS_UID,
        tags::SOP_INSTANCE_UID,
        tags::PATIENT_IDENTITY_REMOVED,
        tags::DEIDENTIFICATION_METHOD,
        tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED,
    ]
    .contains(&tag)
}

/// Text, name, date and UID VRs: the ones that can carry identity.
fn canary_vr(vr: VR) -> bool {
    matches!(
        vr,
        VR::PN
            | VR::LO
            | VR::SH
            | VR::LT
            | VR::ST
            | VR::UT
            | VR::UC
            | VR::AE
            | VR::DA
            | VR::DT
            | VR::UI
    )
}

/// A distinctive value for (tag, place); dates are distinct days in 1950–1959 so that no
/// shifted date (moved by −20000 days) can look like another canary.
fn canary(tag: Tag, vr: VR, place: u8, index: usize) -> String {
    let n = format!("{:04X}{:04X}", tag.group(), tag.element());
    match vr {
        VR::DA | VR::DT => {
            let day = index * 3 + place as usize;
            let (y, rest) = (1950 + day / 336, day % 336);
            let date = format!("{y:04}{:02}{:02}", rest / 28 + 1, rest % 28 + 1);
            if vr == VR::DT {
                format!("{date}0{place}0000")
            } else {
                date
            }
        }
        // The trailing ".9" keeps one canary from being the prefix of another.
        VR::UI => format!("1.2.999.{place}.{}.{}.9", tag.group(), tag.element()),
        _ => format!("CNR{place}{n}"),
    }
}

/// Whether the standard keeps the value under `set`: the row's action is K, or C on text
/// that holds nothing identifying; attributes the table does not name are kept unless they
/// are person names or dates (newer date attributes, such as Study Update DateTime, are
/// removed as the table's dates are: kept only with the Full Dates option, moved with the
/// Modified Dates option), or UIDs (replaced unless UIDs are retained; those of classes,
/// syntaxes and vocabularies are kept only when well known), or text that can identify
/// outside the reviewed keep list (`src/profile/outside_table.tsv`).
fn standard_keeps(tag: Tag, vr: VR, set: &OptionSet) -> bool {
    let dates_kept = set.contains(ProfileOption::RetainLongitudinalFullDates)
        && !set.contains(ProfileOption::RetainLongitudinalModifiedDates);
    match rule_for(tag.group(), tag.element()) {
        Some(rule) => match rule.code_for(set) {
            Code::K => true,
            Code::C => !matches!(vr, VR::DA | VR::DT | VR::UI),
            _ => false,
        },
        None => {
            // (Class, syntax and vocabulary UIDs are kept only when they are the standard's
            // well-known values, which no canary is.)
            let uid_kept = set.contains(ProfileOption::RetainUids);
            let text = matches!(
                vr,
                VR::LO | VR::SH | VR::LT | VR::ST | VR::UT | VR::UC | VR::UR
            );
            vr != VR::PN
                && (dates_kept || !matches!(vr, VR::DA | VR::DT))
                && (uid_kept || vr != VR::UI)
                && (!text || outside_table(tag.group(), tag.element()) == Outside::Keep)
                && !is_retired_text(tag.group(), tag.element())
        }
    }
}

#[test]
fn dictionary_wide_canaries_survive_exactly_where_the_standard_keeps_them() {
    let attrs: Vec<(Tag, VR)> = dictionary_tags()
        .into_iter()
        .filter(|(t, vr)| canary_vr(*vr) && !written_by_obscura(*t))
        .collect();
    assert!(
        attrs.len() > 800,
        "dictionary walk found {} attributes",
        attrs.len()
    );

    // Place 0: top level. Place 1: two levels down in sequences the table does not name
    // (kept and recursed into). Place 2: inside a private block.
    let mut top = InMemDicomObject::new_empty();
    let mut nested = InMemDicomObject::new_empty();
    let mut expected: Vec<(String, Tag, VR, u8)> = Vec::new();
    for (i, (tag, vr)) in attrs.iter().enumerate() {
        for place in [0u8, 1] {
            let v = canary(*tag, *vr, place, i);
            let e = element(*tag, *vr, PrimitiveValue::from(v.clone()));
            if place == 0 {
                top.put(e);
            } else {
                nested.put(e);
            }
            expected.push((v, *tag, *vr, place));
        }
    }
    let inner = InMemDicomObject::from_element_iter([DataElement::new(
        tags::ANATOMIC_REGION_MODIFIER_SEQUENCE,
        VR::SQ,
        Value::from(DataSetSequence::new(vec![nested], Length::UNDEFINED)),
    )]);
    top.put(DataElement::new(
        tags::ANATOMIC_REGION_SEQUENCE,
        VR::SQ,
        Value::from(DataSetSequence::new(vec![inner], Length::UNDEFINED)),
    ));
    top.put(element(
        Tag(0x0029, 0x0010),
        VR::LO,
        PrimitiveValue::from("CANARY VENDOR"),
    ));
    for k in 0..16u16 {
        let v = format!("CNR2PRIV{k:04}");
        top.put(element(
            Tag(0x0029, 0x1000 + k),
            VR::LO,
            PrimitiveValue::from(v.clone()),
        ));
        expected.push((v, Tag(0x0029, 0x1000 + k), VR::LO, 2));
    }
    top.put(element(
        tags::SOP_CLASS_UID,
        VR::UI,
        PrimitiveValue::from(uids::SECONDARY_CAPTURE_IMAGE_STORAGE),
    ));
    top.put(element(
        tags::SOP_INSTANCE_UID,
        VR::UI,
        PrimitiveValue::from("1.2.999.77.1"),
    ));
    expected.push((
        "CNRMETAAE".into(),
        tags::SOURCE_APPLICATION_ENTITY_TITLE,
        VR::AE,
        3,
    ));
    expected.push(("1.2.999.77.1".into(), tags::SOP_INSTANCE_UID, VR::UI, 0));
    let bytes = to_file(top, "CNRMETAAE");

    let patterns: Vec<&str> = expected.iter().map(|(v, ..)| v.as_str()).collect();
    let matcher = AhoCorasick::new(&patterns).expect("patterns");
    let mut failures = BTreeMap::new();
    for (set_name, set) in option_sets() {
        let mut policy = Policy::basic(ProjectKey::from_bytes([42; 32]));
        policy.options = set.clone();
        policy.date_offset_days = Some(-20_000);
        let out = Session::new(policy)
            .deidentify(&bytes)
            .expect("de-identifies")
            .bytes;
        let mut found = vec![false; patterns.len()];
        for m in matcher.find_overlapping_iter(&out) {
            found[m.pattern().as_usize()] = true;
        }
        for (i, (v, tag, vr, place)) in expected.iter().enumerate() {
            // Private data (place 2) and file meta values (place 3) never survive.
            let keep = *place < 2 && standard_keeps(*tag, *vr, &set);
            if found[i] != keep {
                let what = if keep { "was lost" } else { "LEAKED" };
                failures
                    .entry(set_name.clone())
                    .or_insert_with(Vec::new)
                    .push(format!("{tag} {vr:?} at place {place}: {v} {what}"));
            }
        }
    }
    let report: Vec<String> = failures
        .iter()
        .map(|(set, f)| {
            format!(
                "[{set}] {} problems, e.g.\n  {}",
                f.len(),
                f.iter().take(15).cloned().collect::<Vec<_>>().join("\n  ")
            )
        })
        .collect();
    assert!(failures.is_empty(), "{}", report.join("\n"));
}
