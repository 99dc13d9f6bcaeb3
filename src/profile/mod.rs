//! The PS3.15 Annex E confidentiality profile as data: the actions of Table E.1-1,
//! the profile options, and how a row's action is chosen for a set of options.
//!
//! `table.rs` is generated from the standard by `tools/gen_profile_table.py`; everything
//! else here is hand-written logic on top of it.

// Generated files keep the generator's layout.
#[rustfmt::skip]
pub mod outside;
mod retired;
mod safe_private;
#[rustfmt::skip]
mod table;

use std::collections::BTreeSet;
use std::fmt;

pub use outside::{outside_table, Outside};
pub use safe_private::{known_creator, safe_private, SafeForm, SafePrivate, SAFE_PRIVATE};

/// Number of rows of Table E.1-1 the generated table holds.
pub const TABLE_ROWS: usize = table::SOURCE_ROWS;

/// The edition of PS3.15 whose Table E.1-1 Obscura applies (e.g. "2026c").
pub const EDITION: &str = table::EDITION;

/// The profile as the package, the report and `obscura options` name it, edition included.
pub const PROFILE_NAME: &str = concat!(
    "DICOM PS3.15 Annex E Basic Application Level Confidentiality Profile (Table E.1-1, edition ",
    "2026c",
    ")"
);

/// An action code exactly as Table E.1-1 writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// Replace with a non-zero length dummy value consistent with the VR.
    D,
    /// Replace with a zero length value (or a dummy).
    Z,
    /// Remove.
    X,
    /// Keep.
    K,
    /// Clean: keep, with identifying information replaced by non-identifying values.
    C,
    /// Replace the UID with a non-identifying one, consistently within the set.
    U,
    /// Z unless D is needed for IOD conformance.
    ZD,
    /// X unless Z is needed for IOD conformance.
    XZ,
    /// X unless D is needed for IOD conformance.
    XD,
    /// X unless Z or D is needed for IOD conformance.
    XZD,
    /// X unless Z, or replacement of the contained UIDs, is needed.
    XZUStar,
}

impl Code {
    /// Parse a single-letter action a user may ask for (`X`, `Z`, `D`, `K`, `C`, `U`).
    pub fn from_letter(s: &str) -> Option<Code> {
        Some(match s.trim().to_ascii_uppercase().as_str() {
            "X" => Code::X,
            "Z" => Code::Z,
            "D" => Code::D,
            "K" => Code::K,
            "C" => Code::C,
            "U" => Code::U,
            _ => return None,
        })
    }

    /// The code as printed in the standard, e.g. `X/Z/D`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::D => "D",
            Code::Z => "Z",
            Code::X => "X",
            Code::K => "K",
            Code::C => "C",
            Code::U => "U",
            Code::ZD => "Z/D",
            Code::XZ => "X/Z",
            Code::XD => "X/D",
            Code::XZD => "X/Z/D",
            Code::XZUStar => "X/Z/U*",
        }
    }
}

/// One row of Table E.1-1.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// The tag (group << 16 | element), with the `xx` digits of repeating groups zeroed.
    pub tag: u32,
    /// Which bits of `tag` are fixed (all ones for a single attribute).
    pub mask: u32,
    /// The attribute's name as the standard prints it.
    pub name: &'static str,
    /// Whether the standard says the attribute is used in a standard composite IOD.
    pub in_standard_iod: bool,
    /// The Basic Profile's action.
    pub basic: Code,
    /// The action of each option column that differs from the Basic Profile.
    pub options: &'static [(ProfileOption, Code)],
}

impl Rule {
    /// The code that applies under the given options.
    ///
    /// An option that retains (K) wins over one that cleans (C), which wins over the Basic
    /// Profile: each option only ever relaxes or refines the basic action for its own rows.
    pub fn code_for(&self, options: &OptionSet) -> Code {
        let mut chosen = self.basic;
        for (opt, code) in self.options {
            if !options.contains(*opt) {
                continue;
            }
            match (chosen, code) {
                (Code::K, _) => {}
                (_, Code::K) => chosen = Code::K,
                (Code::C, _) => {}
                _ => chosen = *code,
            }
        }
        chosen
    }
}

/// Find the Table E.1-1 row for a (public) tag, if the table names it.
pub fn rule_for(group: u16, element: u16) -> Option<&'static Rule> {
    let tag = (u32::from(group) << 16) | u32::from(element);
    if group % 2 == 1 {
        return Some(&table::PRIVATE);
    }
    if let Ok(i) = table::EXACT.binary_search_by_key(&tag, |r| r.tag) {
        return table::EXACT.get(i);
    }
    table::MASKED.iter().find(|r| tag & r.mask == r.tag)
}

/// Whether the attribute is retired from the standard and can hold free text or a name.
/// The profile table does not vouch for such attributes, so Obscura removes them (fail safe).
pub fn is_retired_text(group: u16, element: u16) -> bool {
    let tag = (u32::from(group) << 16) | u32::from(element);
    retired::RETIRED_TEXT
        .binary_search_by_key(&tag, |r| r.0)
        .is_ok()
}

/// Whether a UID attribute (by its standard keyword) names a kind of thing rather than an
/// instance: a SOP class, a transfer syntax, a coding scheme or other vocabulary, software.
/// Such values identify nobody and are kept; every other UID attribute the table does not
/// list is replaced like the table's (fail safe: it may point at an original instance, or
/// name the hospital's repository).
pub fn is_vocabulary_uid(keyword: &str) -> bool {
    ["SOPClass", "TransferSyntax", "CodingScheme"]
        .iter()
        .any(|k| keyword.contains(k))
        || [
            "ContextUID",
            "MappingResourceUID",
            "CreatorVersionUID",
            "ContextGroupExtensionCreatorUID",
            "SegmentationTemplateUID",
            "ImplementationClassUID",
            "PrivateInformationCreatorUID",
        ]
        .contains(&keyword)
}

/// Whether a UID is one of DICOM's own well-known values, which identify nobody and are kept:
/// a SOP class of the standard's registry, a transfer syntax Obscura knows, or a short value
/// of another family of the standard's UIDs (coding schemes `1.2.840.10008.2.16.n`,
/// well-known frames of reference `1.2.840.10008.1.4.1.n`, context groups, application
/// contexts: at most four components of at most four digits after `1.2.840.10008.`). A
/// value that only starts with the standard's root (a device that appends to a SOP Class
/// UID, an instance UID made under it) is not one: it is replaced like any other.
pub fn is_well_known_uid(uid: &str) -> bool {
    use dicom_core::dictionary::UidDictionary;
    use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
    let Some(rest) = uid.strip_prefix("1.2.840.10008.") else {
        return false;
    };
    if dicom_dictionary_std::StandardSopClassDictionary
        .by_uid(uid)
        .is_some()
        || dicom_transfer_syntax_registry::TransferSyntaxRegistry
            .get(uid)
            .is_some()
    {
        return true;
    }
    let parts: Vec<&str> = rest.split('.').collect();
    !rest.starts_with("5.1.4.1.1.")
        && parts.len() <= 4
        && parts.iter().all(|p| {
            (1..=4).contains(&p.len())
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
        })
}

/// Every single-attribute row of the table, in tag order (for tests and listings).
pub fn exact_rules() -> &'static [Rule] {
    table::EXACT
}

/// The rows for repeating groups (curves, overlays).
pub fn masked_rules() -> &'static [Rule] {
    table::MASKED
}

/// The metadata options of the profile (PS3.15 E.3), each with its CID 7050 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProfileOption {
    /// Retain Safe Private Option.
    RetainSafePrivate,
    /// Retain UIDs Option.
    RetainUids,
    /// Retain Device Identity Option.
    RetainDeviceIdentity,
    /// Retain Institution Identity Option.
    RetainInstitutionIdentity,
    /// Retain Patient Characteristics Option.
    RetainPatientCharacteristics,
    /// Retain Longitudinal Temporal Information with Full Dates Option.
    RetainLongitudinalFullDates,
    /// Retain Longitudinal Temporal Information with Modified Dates Option.
    RetainLongitudinalModifiedDates,
    /// Clean Descriptors Option.
    CleanDescriptors,
    /// Clean Structured Content Option.
    CleanStructuredContent,
    /// Clean Graphics Option.
    CleanGraphics,
}

impl ProfileOption {
    /// All options, in the order the standard lists them in Table E.1-1.
    pub const ALL: [ProfileOption; 10] = [
        ProfileOption::RetainSafePrivate,
        ProfileOption::RetainUids,
        ProfileOption::RetainDeviceIdentity,
        ProfileOption::RetainInstitutionIdentity,
        ProfileOption::RetainPatientCharacteristics,
        ProfileOption::RetainLongitudinalFullDates,
        ProfileOption::RetainLongitudinalModifiedDates,
        ProfileOption::CleanDescriptors,
        ProfileOption::CleanStructuredContent,
        ProfileOption::CleanGraphics,
    ];

    /// The short name used by the CLI and the page, e.g. `retain-uids`.
    pub fn id(self) -> &'static str {
        match self {
            ProfileOption::RetainSafePrivate => "retain-safe-private",
            ProfileOption::RetainUids => "retain-uids",
            ProfileOption::RetainDeviceIdentity => "retain-device-identity",
            ProfileOption::RetainInstitutionIdentity => "retain-institution-identity",
            ProfileOption::RetainPatientCharacteristics => "retain-patient-characteristics",
            ProfileOption::RetainLongitudinalFullDates => "retain-full-dates",
            ProfileOption::RetainLongitudinalModifiedDates => "retain-modified-dates",
            ProfileOption::CleanDescriptors => "clean-descriptors",
            ProfileOption::CleanStructuredContent => "clean-structured-content",
            ProfileOption::CleanGraphics => "clean-graphics",
        }
    }

    /// Parse the short name used by the CLI and the page.
    pub fn from_id(id: &str) -> Option<ProfileOption> {
        ProfileOption::ALL.into_iter().find(|o| o.id() == id)
    }

    /// The code value in CID 7050 (De-identification Method), coding scheme DCM.
    pub fn code_value(self) -> &'static str {
        match self {
            ProfileOption::CleanGraphics => "113103",
            ProfileOption::CleanStructuredContent => "113104",
            ProfileOption::CleanDescriptors => "113105",
            ProfileOption::RetainLongitudinalFullDates => "113106",
            ProfileOption::RetainLongitudinalModifiedDates => "113107",
            ProfileOption::RetainPatientCharacteristics => "113108",
            ProfileOption::RetainDeviceIdentity => "113109",
            ProfileOption::RetainUids => "113110",
            ProfileOption::RetainSafePrivate => "113111",
            ProfileOption::RetainInstitutionIdentity => "113112",
        }
    }

    /// The code meaning in CID 7050.
    pub fn code_meaning(self) -> &'static str {
        match self {
            ProfileOption::CleanGraphics => "Clean Graphics Option",
            ProfileOption::CleanStructuredContent => "Clean Structured Content Option",
            ProfileOption::CleanDescriptors => "Clean Descriptors Option",
            ProfileOption::RetainLongitudinalFullDates => {
                "Retain Longitudinal Temporal Information Full Dates Option"
            }
            ProfileOption::RetainLongitudinalModifiedDates => {
                "Retain Longitudinal Temporal Information Modified Dates Option"
            }
            ProfileOption::RetainPatientCharacteristics => "Retain Patient Characteristics Option",
            ProfileOption::RetainDeviceIdentity => "Retain Device Identity Option",
            ProfileOption::RetainUids => "Retain UIDs Option",
            ProfileOption::RetainSafePrivate => "Retain Safe Private Option",
            ProfileOption::RetainInstitutionIdentity => "Retain Institution Identity Option",
        }
    }

    /// What the option keeps or changes, in plain words for the page and `obscura options`.
    pub fn explanation(self) -> &'static str {
        match self {
            ProfileOption::RetainSafePrivate => {
                "Keeps the few vendor-private values the standard lists as safe (for example \
                 MR diffusion b-values); every other private value is still removed."
            }
            ProfileOption::RetainUids => {
                "Keeps the original study, series and image identifiers (UIDs) so the copy can \
                 be matched to the original. They can link the copy back to the hospital."
            }
            ProfileOption::RetainDeviceIdentity => {
                "Keeps scanner names and serial numbers and similar device details."
            }
            ProfileOption::RetainInstitutionIdentity => {
                "Keeps the hospital's name, address and department."
            }
            ProfileOption::RetainPatientCharacteristics => {
                "Keeps age, sex, size, weight and similar characteristics of the patient."
            }
            ProfileOption::RetainLongitudinalFullDates => {
                "Keeps all dates and times exactly as they are."
            }
            ProfileOption::RetainLongitudinalModifiedDates => {
                "Moves all dates of a patient by the same number of days, so intervals between \
                 exams are kept but the real dates are not."
            }
            ProfileOption::CleanDescriptors => {
                "Keeps study, series and other descriptions, with any name, ID or date of the \
                 patient found in them blanked out."
            }
            ProfileOption::CleanStructuredContent => {
                "Keeps the content of structured reports, with identifying values cleaned."
            }
            ProfileOption::CleanGraphics => {
                "Keeps text annotations of graphics, with identifying values cleaned."
            }
        }
    }
}

impl fmt::Display for ProfileOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// The CID 7050 code of the Basic Application Confidentiality Profile itself.
pub const BASIC_PROFILE_CODE: (&str, &str) =
    ("113100", "Basic Application Confidentiality Profile");

/// A set of profile options. Empty means the Basic Profile alone, the safest default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OptionSet(BTreeSet<ProfileOption>);

impl OptionSet {
    /// The Basic Profile with no option.
    pub fn basic() -> OptionSet {
        OptionSet::default()
    }

    /// Build a set, refusing contradictory options.
    pub fn new(options: impl IntoIterator<Item = ProfileOption>) -> Result<OptionSet, String> {
        let set: BTreeSet<ProfileOption> = options.into_iter().collect();
        if set.contains(&ProfileOption::RetainLongitudinalFullDates)
            && set.contains(&ProfileOption::RetainLongitudinalModifiedDates)
        {
            return Err("choose either full dates or modified dates, not both".into());
        }
        Ok(OptionSet(set))
    }

    /// Whether the option is chosen.
    pub fn contains(&self, option: ProfileOption) -> bool {
        self.0.contains(&option)
    }

    /// The chosen options in the standard's order.
    pub fn iter(&self) -> impl Iterator<Item = ProfileOption> + '_ {
        self.0.iter().copied()
    }

    /// Whether no option is chosen.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A named set of options offered on the page and by the CLI (`--preset`).
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    /// Short name, e.g. `teaching`.
    pub id: &'static str,
    /// Name shown to users.
    pub label: &'static str,
    /// What it is for.
    pub explanation: &'static str,
    /// The options it turns on.
    pub options: &'static [ProfileOption],
    /// The HIPAA method it follows, if any (what it keeps beyond the options, and the
    /// report's HIPAA section).
    pub hipaa: Option<Hipaa>,
}

/// The two ways HIPAA's Privacy Rule lets imaging be shared without authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hipaa {
    /// Safe Harbor (45 CFR 164.514(b)(2)): the 18 kinds of identifier removed. Dates keep only
    /// their year; ages over 89 are "90 or older".
    SafeHarbor,
    /// Limited Data Set (45 CFR 164.514(e)): the 16 direct identifiers removed; dates, and the
    /// town, state and ZIP code of an address, kept. Shared only under a data use agreement.
    LimitedDataSet,
}

impl Hipaa {
    /// The short name the page and the CLI use.
    pub fn id(self) -> &'static str {
        match self {
            Hipaa::SafeHarbor => "hipaa-safe-harbor",
            Hipaa::LimitedDataSet => "hipaa-limited-data-set",
        }
    }

    /// Parse the short name.
    pub fn from_id(id: &str) -> Option<Hipaa> {
        [Hipaa::SafeHarbor, Hipaa::LimitedDataSet]
            .into_iter()
            .find(|h| h.id() == id)
    }

    /// The method as De-identification Method and the report name it.
    pub fn method(self) -> &'static str {
        match self {
            Hipaa::SafeHarbor => "HIPAA Safe Harbor (45 CFR 164.514(b)(2))",
            Hipaa::LimitedDataSet => "HIPAA Limited Data Set (45 CFR 164.514(e))",
        }
    }
}

/// The presets, safest first.
pub const PRESETS: &[Preset] = &[
    Preset {
        id: "basic",
        label: "For sharing anywhere (the safest)",
        explanation: "Removes everything the DICOM standard lists as identifying (its Basic \
                      Profile).",
        options: &[],
        hipaa: None,
    },
    Preset {
        id: "teaching",
        label: "For a talk or teaching file",
        explanation: "The safest, but keeps the patient's age, sex and size, and descriptions \
                      cleaned of names.",
        options: &[
            ProfileOption::RetainPatientCharacteristics,
            ProfileOption::CleanDescriptors,
        ],
        hipaa: None,
    },
    Preset {
        id: "research-longitudinal",
        label: "For research, keep dates consistent",
        explanation: "Moves every date of a patient by the same number of days, so intervals \
                      stay true; keeps device details, patient characteristics, safe private \
                      values and cleaned descriptions.",
        options: &[
            ProfileOption::RetainLongitudinalModifiedDates,
            ProfileOption::RetainPatientCharacteristics,
            ProfileOption::RetainDeviceIdentity,
            ProfileOption::RetainSafePrivate,
            ProfileOption::CleanDescriptors,
            ProfileOption::CleanStructuredContent,
        ],
        hipaa: None,
    },
    Preset {
        id: "hipaa-safe-harbor",
        label: "HIPAA Safe Harbor",
        explanation: "For sharing under HIPAA without a data use agreement: the 18 kinds of \
                      identifier removed, dates kept as their year only, ages over 89 as \
                      \"90 or older\"; the report accounts for each of the 18.",
        options: &[
            ProfileOption::RetainPatientCharacteristics,
            ProfileOption::CleanDescriptors,
        ],
        hipaa: Some(Hipaa::SafeHarbor),
    },
    Preset {
        id: "hipaa-limited-data-set",
        label: "HIPAA Limited Data Set",
        explanation: "For research under a data use agreement (needed before sharing): the 16 \
                      direct identifiers removed; dates, and the town, state and ZIP code of \
                      the patient's address, kept.",
        options: &[
            ProfileOption::RetainLongitudinalFullDates,
            ProfileOption::RetainPatientCharacteristics,
            ProfileOption::CleanDescriptors,
        ],
        hipaa: Some(Hipaa::LimitedDataSet),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_standards_own_uids_are_well_known() {
        for uid in [
            "1.2.840.10008.5.1.4.1.1.2", // CT Image Storage
            "1.2.840.10008.1.2.4.50",    // JPEG Baseline
            "1.2.840.10008.2.16.4",      // DCM as a coding scheme
            "1.2.840.10008.1.4.1.1",     // a well-known frame of reference
            "1.2.840.10008.6.1.1010",    // a context group
            "1.2.840.10008.3.1.1.1",     // the application context
        ] {
            assert!(is_well_known_uid(uid), "{uid}");
        }
        for uid in [
            "1.2.840.10008.5.1.4.1.1.2.20241203.7", // a device's suffix on a SOP class
            "1.2.840.10008.5.1.4.1.1.2.9",          // not in the registry
            "1.2.840.10008.1.2.4.50.1961",          // nor this
            "1.2.840.10008.999.19610203.55129",     // an instance made under the root
            "1.2.840.10008.1.4.1.01",
            "1.2.840.113619.2.55.3", // a vendor's
            "2.25.1234",
        ] {
            assert!(!is_well_known_uid(uid), "{uid}");
        }
    }

    #[test]
    fn table_has_every_row_of_the_source() {
        // exact + masked + the private row
        assert_eq!(exact_rules().len() + masked_rules().len() + 1, TABLE_ROWS);
        assert!(
            PROFILE_NAME.contains(EDITION),
            "the profile's name says its edition"
        );
    }

    #[test]
    fn lookups_find_known_rows() {
        let name = rule_for(0x0010, 0x0010).map(|r| r.basic);
        assert_eq!(name, Some(Code::Z));
        let overlay = rule_for(0x6002, 0x3000).map(|r| r.name);
        assert_eq!(overlay, Some("Overlay Data"));
        assert!(
            rule_for(0x0028, 0x0010).is_none(),
            "Rows is not in the table"
        );
        assert_eq!(
            rule_for(0x0009, 0x1001).map(|r| r.name),
            Some("Private Attributes")
        );
    }

    #[test]
    fn options_change_the_action() {
        let study_date = rule_for(0x0008, 0x0020).copied().unwrap_or(table::PRIVATE);
        assert_eq!(study_date.code_for(&OptionSet::basic()), Code::Z);
        let full = OptionSet::new([ProfileOption::RetainLongitudinalFullDates]).unwrap_or_default();
        assert_eq!(study_date.code_for(&full), Code::K);
        let modified =
            OptionSet::new([ProfileOption::RetainLongitudinalModifiedDates]).unwrap_or_default();
        assert_eq!(study_date.code_for(&modified), Code::C);
    }

    #[test]
    fn retired_text_attributes_are_known() {
        assert!(
            is_retired_text(0x4008, 0x010C),
            "Interpretation Author (PN, retired)"
        );
        assert!(
            !is_retired_text(0x0008, 0x1030),
            "Study Description is current"
        );
    }

    #[test]
    fn contradictory_date_options_are_refused() {
        assert!(OptionSet::new([
            ProfileOption::RetainLongitudinalFullDates,
            ProfileOption::RetainLongitudinalModifiedDates
        ])
        .is_err());
    }
}
