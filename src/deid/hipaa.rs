//! What the HIPAA presets keep beyond the profile's options: the year of a date (Safe Harbor
//! removes every other element of it), and the town, state and ZIP code of the patient's
//! address (a Limited Data Set keeps them, and no other part of the address).

use dicom_core::VR;

/// A DA or DT value (possibly several, `\`-separated) reduced to its year: a DT as `YYYY`
/// (which DT allows), a DA as 1 January of its year (a DA holds a whole date). `None` when a
/// value does not start with a year, so that the profile's action applies instead.
pub fn year_only(vr: VR, value: &str) -> Option<String> {
    let mut out = Vec::new();
    for v in value.split('\\') {
        let v = v.trim_matches(['\0', ' ']);
        if v.is_empty() {
            continue;
        }
        let year = v
            .get(..4)
            .filter(|y| y.bytes().all(|b| b.is_ascii_digit()))?;
        out.push(match vr {
            VR::DA => format!("{year}0101"),
            _ => year.to_string(),
        });
    }
    (!out.is_empty()).then(|| out.join("\\"))
}

/// Words that make a part of an address a street, a box or a flat rather than a place.
const STREET_WORDS: &[&str] = &[
    "street",
    "st",
    "road",
    "rd",
    "avenue",
    "ave",
    "av",
    "lane",
    "ln",
    "drive",
    "dr",
    "boulevard",
    "blvd",
    "way",
    "court",
    "ct",
    "place",
    "pl",
    "square",
    "sq",
    "terrace",
    "apt",
    "apartment",
    "suite",
    "ste",
    "unit",
    "flat",
    "floor",
    "fl",
    "box",
    "po",
    "p.o.",
    "pob",
    "rue",
    "strasse",
    "straße",
    "str",
    "weg",
    "platz",
    "allee",
    "calle",
    "via",
    "rua",
    "house",
    "building",
    "bldg",
    "room",
    "rm",
    "highway",
    "hwy",
    "route",
    "rte",
    "parkway",
    "pkwy",
    "circle",
    "cir",
    "trail",
    "row",
    "close",
    "crescent",
    "mews",
    "alley",
];

/// The town, state and ZIP code of an address, without its street, number, box or flat:
/// the parts (split at `,` `^` `;` or a line break) that are a place name or a ZIP code.
/// `None` when nothing is left that is surely not a street.
pub fn town_state_zip(address: &str) -> Option<String> {
    let parts: Vec<&str> = address
        .split([',', '^', ';', '\n', '\r'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let kept: Vec<&str> = parts.into_iter().filter(|p| is_place(p)).collect();
    (!kept.is_empty()).then(|| kept.join(", "))
}

/// A place name ("Springfield", "IL", "New South Wales"), a ZIP code ("62704", "62704-1234"),
/// or a state and ZIP code ("IL 62704"); not a street ("12 Fake Street"), not a box.
fn is_place(part: &str) -> bool {
    let words: Vec<String> = part
        .split_whitespace()
        .map(|w| w.trim_matches(['.', '#']).to_lowercase())
        .collect();
    if words.is_empty() || words.iter().any(|w| STREET_WORDS.contains(&w.as_str())) {
        return false;
    }
    let is_zip = |w: &str| {
        let (five, rest) = w.split_at(w.len().min(5));
        five.len() == 5
            && five.bytes().all(|b| b.is_ascii_digit())
            && (rest.is_empty()
                || (rest.len() == 5
                    && rest.starts_with('-')
                    && rest[1..].bytes().all(|b| b.is_ascii_digit())))
    };
    let last = words.len() - 1;
    words.iter().enumerate().all(|(i, w)| {
        if i == last && is_zip(w) {
            return true;
        }
        w.chars()
            .all(|c| c.is_alphabetic() || c == '-' || c == '\'')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_keep_their_year_only() {
        assert_eq!(year_only(VR::DA, "20240317").as_deref(), Some("20240101"));
        assert_eq!(
            year_only(VR::DT, "20240317101500.000+0100").as_deref(),
            Some("2024")
        );
        assert_eq!(
            year_only(VR::DA, "20240317\\20230101").as_deref(),
            Some("20240101\\20230101")
        );
        assert_eq!(year_only(VR::DA, "garbage"), None);
        assert_eq!(year_only(VR::DA, ""), None);
    }

    #[test]
    fn an_address_keeps_its_town_state_and_zip_code_only() {
        for (address, want) in [
            (
                "123 Fake Street, Springfield, IL 62704",
                Some("Springfield, IL 62704"),
            ),
            (
                "12 Fakeroad Ave^Apt 4^Shelbyville^IL^62565-1234",
                Some("Shelbyville, IL, 62565-1234"),
            ),
            ("PO Box 77, Ogdenville, 62999", Some("Ogdenville, 62999")),
            ("Flat 3, 9 Fake Lane", None),
            ("Fakestraße 5, Berlin", Some("Berlin")),
            ("77 Sunset Strip", None),
        ] {
            assert_eq!(town_state_zip(address).as_deref(), want, "{address}");
        }
    }
}
