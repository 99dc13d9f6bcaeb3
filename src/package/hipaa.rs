//! The report's HIPAA section: for each kind of identifier the chosen method names (the 18 of
//! Safe Harbor, 45 CFR 164.514(b)(2); the 16 direct identifiers of a Limited Data Set,
//! 164.514(e)(2)), how many files of the batch held it and what was done. Counts only, never
//! a value.

use std::fmt::Write as _;

use crate::deid::Change;
use crate::profile::Hipaa;

/// One kind of identifier: its name in the rule, and what each method did with it.
struct Kind {
    name: &'static str,
    /// What the Safe Harbor preset does.
    safe_harbor: &'static str,
    /// What the Limited Data Set preset does; `None` when the kind is not one of its 16.
    limited: Option<&'static str>,
}

/// The 18 identifiers of 164.514(b)(2)(i), in the rule's order.
const KINDS: [Kind; 18] = [
    Kind {
        name: "Names",
        safe_harbor: "Every person-name attribute removed, emptied or replaced by the pseudonym; names swept from kept text.",
        limited: Some("As Safe Harbor."),
    },
    Kind {
        name: "Geographic subdivisions smaller than a state (addresses, towns, ZIP codes)",
        safe_harbor: "Addresses, regions of residence and institution addresses removed (the country of residence is kept); address parts swept from kept text.",
        limited: Some("Street, number and any other part of the patient's address removed; its town, state and ZIP code kept, as is the region of residence."),
    },
    Kind {
        name: "All elements of dates (except the year) related to the individual, and ages over 89",
        safe_harbor: "Dates reduced to their year (a DA reads 1 January of it); birth dates emptied; ages over 89 become \"90 or older\" (090Y); dates swept from kept text.",
        limited: None,
    },
    Kind {
        name: "Telephone numbers",
        safe_harbor: "Telephone attributes removed; runs of six or more digits blanked in cleaned text.",
        limited: Some("As Safe Harbor."),
    },
    Kind {
        name: "Fax numbers",
        safe_harbor: "DICOM has no fax attribute; a number written in text is blanked as a telephone number is.",
        limited: Some("As Safe Harbor."),
    },
    Kind {
        name: "Electronic mail addresses",
        safe_harbor: "E-mail attributes removed; addresses blanked in cleaned text.",
        limited: Some("As Safe Harbor."),
    },
    Kind {
        name: "Social Security numbers",
        safe_harbor: "DICOM has no SSN attribute; one used as a patient ID is replaced with it (see medical record numbers), one written in text is blanked as a run of digits.",
        limited: Some("As Safe Harbor."),
    },
    Kind {
        name: "Medical record numbers",
        safe_harbor: "Patient ID replaced by the pseudonym; other IDs and their issuers removed; the numbers swept from kept text.",
        limited: Some("As Safe Harbor."),
    },
    Kind {
        name: "Health plan beneficiary numbers",
        safe_harbor: "Insurance plan identification removed.",
        limited: Some("As Safe Harbor."),
    },
    Kind {
        name: "Account numbers",
        safe_harbor: "Accession, admission, visit, order and procedure IDs removed or emptied.",
        limited: Some("As Safe Harbor."),
    },
    Kind {
        name: "Certificate/license numbers",
        safe_harbor: "DICOM has no such attribute; a number written in text is blanked as a run of digits.",
        limited: Some("As Safe Harbor."),
    },
    Kind {
        name: "Vehicle identifiers and serial numbers, including license plate numbers",
        safe_harbor: "DICOM has no such attribute; one written in text is blanked only when it is a value of the headers or a run of six or more digits.",
        limited: Some("As Safe Harbor."),
    },
    Kind {
        name: "Device identifiers and serial numbers",
        safe_harbor: "Device serial numbers, device and station IDs removed or emptied.",
        limited: Some("As Safe Harbor."),
    },
    Kind {
        name: "Web Universal Resource Locators (URLs)",
        safe_harbor: "URL and URI attributes removed; URLs blanked in cleaned text.",
        limited: Some("As Safe Harbor."),
    },
    Kind {
        name: "Internet Protocol (IP) addresses",
        safe_harbor: "Network IDs and AE titles removed; IP addresses blanked in cleaned text (as runs of digits).",
        limited: Some("As Safe Harbor."),
    },
    Kind {
        name: "Biometric identifiers, including finger and voice prints",
        safe_harbor: "DICOM headers hold none; images that can show a face are flagged (next row).",
        limited: Some("As Safe Harbor."),
    },
    Kind {
        name: "Full-face photographs and any comparable images",
        safe_harbor: "Photographs, 3D renderings and images that say they show recognizable features are flagged to be looked at (listed under \"To check by eye\"); they are not altered.",
        limited: Some("As Safe Harbor."),
    },
    Kind {
        name: "Any other unique identifying number, characteristic, or code",
        safe_harbor: "UIDs replaced by keyed ones; private attributes, unknown attributes and free text the profile does not vouch for removed; burned-in text blanked where found.",
        limited: None,
    },
];

/// The kind (index into the 18) a change of the change log is about; `None` for the record
/// Obscura adds of its own work.
pub fn kind_of(change: &Change) -> Option<usize> {
    if change.action == "added" {
        return None;
    }
    let n = change.name.as_str();
    let has = |parts: &[&str]| parts.iter().any(|p| n.contains(p));
    Some(if has(&["Telephone", "Telecom"]) {
        3
    } else if has(&["Fax"]) {
        4
    } else if has(&["ElectronicMail", "Email"]) {
        5
    } else if has(&["PatientID", "OtherPatientIDs", "MedicalRecordLocator"]) {
        7
    } else if has(&["Insurance"]) {
        8
    } else if has(&[
        "AccessionNumber",
        "AdmissionID",
        "ServiceEpisodeID",
        "OrderNumber",
        "StudyID",
        "ProcedureID",
        "ProcedureStepID",
        "VisitID",
    ]) {
        9
    } else if has(&[
        "Serial",
        "DeviceID",
        "DeviceUID",
        "StationName",
        "GantryID",
        "DetectorID",
        "PlateID",
        "CassetteID",
    ]) {
        12
    } else if has(&["URL", "URI", "Url", "Uri"]) {
        13
    } else if has(&["AETitle", "NetworkID"]) {
        14
    } else if has(&["Address", "Residence", "InstitutionName", "Institutional"]) {
        1
    } else if has(&["Date", "Time", "Age"]) || change.action == "aggregated" {
        2
    } else if has(&["Name", "Person", "PhysiciansOfRecord", "Physician"]) {
        0
    } else {
        17
    })
}

/// The HTML section for `method`: `held[i]` files held kind `i`, `faces` files were flagged
/// as possibly showing a face.
pub fn section(method: Hipaa, held: &[usize; 18], faces: usize) -> String {
    let mut b = String::new();
    let (title, lead) = match method {
        Hipaa::SafeHarbor => (
            "HIPAA Safe Harbor: the 18 identifiers",
            "Each kind of identifier of 45 CFR 164.514(b)(2)(i), how many files held one, and \
             what was done. Safe Harbor also asks that you have no actual knowledge that what \
             remains could identify the patient: look at every image flagged above.",
        ),
        Hipaa::LimitedDataSet => (
            "HIPAA Limited Data Set: the 16 direct identifiers",
            "A Limited Data Set keeps dates and the town, state and ZIP code, so it may be \
             shared only under a data use agreement with the recipient (45 CFR 164.514(e)(4)). \
             Each direct identifier of 164.514(e)(2), how many files held one, and what was \
             done.",
        ),
    };
    let _ = writeln!(b, "<h2>{title}</h2>\n<p>{lead}</p>");
    let _ = writeln!(
        b,
        "<table><thead><tr><th></th><th>Identifier</th><th>Files that held it</th>\
         <th>What was done</th></tr></thead><tbody>"
    );
    let mut number = 0;
    for (i, kind) in KINDS.iter().enumerate() {
        let done = match method {
            Hipaa::SafeHarbor => Some(kind.safe_harbor),
            Hipaa::LimitedDataSet => kind.limited.map(|l| {
                if l == "As Safe Harbor." {
                    kind.safe_harbor
                } else {
                    l
                }
            }),
        };
        let Some(done) = done else {
            continue;
        };
        number += 1;
        let count = if i == 16 { faces } else { held[i] };
        let held_text = if count == 0 {
            "none found".to_string()
        } else {
            super::count_files(count)
        };
        let _ = writeln!(
            b,
            "<tr><td>{number}</td><td>{}</td><td>{held_text}</td><td>{}</td></tr>",
            kind.name, done
        );
    }
    let _ = writeln!(b, "</tbody></table>");
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(name: &str, action: &'static str) -> Change {
        Change {
            path: String::new(),
            name: name.into(),
            action: action.into(),
            reason: String::new(),
        }
    }

    #[test]
    fn changes_are_sorted_into_the_18_kinds() {
        for (name, action, kind) in [
            ("PatientName", "pseudonymized", 0),
            ("ReferringPhysicianName", "emptied", 0),
            ("PatientAddress", "removed", 1),
            ("StudyDate", "reduced to year", 2),
            ("PatientAge", "aggregated", 2),
            ("PatientTelephoneNumbers", "removed", 3),
            ("PersonTelecomInformation", "removed", 3),
            ("PatientID", "pseudonymized", 7),
            ("MedicalRecordLocator", "removed", 7),
            ("InsurancePlanIdentification", "removed", 8),
            ("AccessionNumber", "emptied", 9),
            ("DeviceSerialNumber", "removed", 12),
            ("RetrieveURL", "removed", 13),
            ("StationAETitle", "removed", 14),
            ("SOPInstanceUID", "uid-replaced", 17),
        ] {
            assert_eq!(kind_of(&change(name, action)), Some(kind), "{name}");
        }
        assert_eq!(kind_of(&change("PatientIdentityRemoved", "added")), None);
    }

    #[test]
    fn the_sections_list_18_and_16_identifiers_and_never_a_value() {
        let mut held = [0; 18];
        held[0] = 3;
        let sh = section(Hipaa::SafeHarbor, &held, 1);
        assert_eq!(sh.matches("<tr><td>").count(), 18);
        assert!(sh.contains("<td>3 files</td>") || sh.contains("3 file"));
        let lds = section(Hipaa::LimitedDataSet, &held, 0);
        assert_eq!(lds.matches("<tr><td>").count(), 16);
        assert!(lds.contains("data use agreement"));
        assert!(lds.contains("town, state and ZIP code kept"));
    }
}
