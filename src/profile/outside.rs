//! The reviewed list of text, URL, binary and sequence attributes that the profile's table
//! does not name (`outside_table.tsv`): each kept (a technical attribute: a code, a device's
//! make, a technique's name, a label an IOD needs; numbers, lookup tables, geometry, the
//! image; a sequence of coded concepts, references, geometry or technique, whose items then go
//! through the same rules) or emptied (text an IOD needs present, which people write). Every
//! other such attribute is removed: what the standard's table does not name is not trusted to
//! be free of identity (PS3.15 leaves it to the implementation; the fail-safe reading is to
//! remove it).

use std::collections::BTreeMap;
use std::sync::OnceLock;

/// What is done with a text, URL, binary or sequence attribute outside the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outside {
    /// Kept (and swept, like all kept text, for the batch's names and IDs).
    Keep,
    /// Emptied: the IOD needs it present.
    Empty,
    /// Removed: not on the list.
    Remove,
}

/// The list as written, one entry per attribute: (tag, keyword, action, why).
const LIST: &str = include_str!("outside_table.tsv");

/// One entry of the list.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    pub tag: u32,
    pub keyword: &'static str,
    pub action: Outside,
    pub why: &'static str,
}

/// Every entry of the list, by tag.
pub fn entries() -> &'static BTreeMap<u32, Entry> {
    static ENTRIES: OnceLock<BTreeMap<u32, Entry>> = OnceLock::new();
    ENTRIES.get_or_init(|| {
        let mut map = BTreeMap::new();
        for line in LIST.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
            let mut cells = line.split('\t');
            let (Some(tag), Some(keyword), Some(action), Some(why)) =
                (cells.next(), cells.next(), cells.next(), cells.next())
            else {
                // A malformed line keeps nothing (its attribute is removed); the unit test
                // below catches it before a release.
                continue;
            };
            let action = match action {
                "K" => Outside::Keep,
                "Z" => Outside::Empty,
                _ => continue,
            };
            if let Ok(tag) = u32::from_str_radix(tag, 16) {
                map.insert(
                    tag,
                    Entry {
                        tag,
                        keyword,
                        action,
                        why,
                    },
                );
            }
        }
        map
    })
}

/// What is done with the text, URL, binary or sequence attribute `tag`, which the table does
/// not name.
pub fn outside_table(group: u16, element: u16) -> Outside {
    let tag = (u32::from(group) << 16) | u32::from(element);
    entries().get(&tag).map_or(Outside::Remove, |e| e.action)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::dictionary::DataDictionary;
    use dicom_core::{Tag, VR};
    use dicom_dictionary_std::StandardDataDictionary;

    #[test]
    fn every_entry_is_a_text_url_binary_or_sequence_attribute_outside_the_table_with_a_reason() {
        let lines = LIST
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .count();
        assert_eq!(entries().len(), lines, "every line reads as one entry");
        assert!(lines > 1500);
        for e in entries().values() {
            let tag = Tag((e.tag >> 16) as u16, e.tag as u16);
            let known = StandardDataDictionary
                .by_tag(tag)
                .unwrap_or_else(|| panic!("{tag} {} is in the dictionary", e.keyword));
            assert_eq!(known.alias, e.keyword, "{tag}");
            let vr = known.vr.relaxed();
            let binary = matches!(
                vr,
                VR::OB | VR::OW | VR::OF | VR::OD | VR::OL | VR::OV | VR::UN
            );
            assert!(
                binary
                    || vr == VR::SQ
                    || matches!(
                        vr,
                        VR::LO | VR::SH | VR::LT | VR::ST | VR::UT | VR::UC | VR::UR
                    ),
                "{tag} {} is text, a URL, binary or a sequence ({vr:?})",
                e.keyword
            );
            assert!(
                !(binary || vr == VR::SQ) || e.action == Outside::Keep,
                "{} is binary or a sequence: kept or removed, never emptied",
                e.keyword
            );
            assert!(
                super::super::rule_for(tag.group(), tag.element()).is_none(),
                "{} is in the table: the table decides",
                e.keyword
            );
            assert!(e.why.len() > 20, "{} has a reason", e.keyword);
        }
        assert_eq!(outside_table(0x0008, 0x0104), Outside::Keep, "Code Meaning");
        assert_eq!(outside_table(0x0042, 0x0010), Outside::Empty, "Document Title");
        assert_eq!(outside_table(0x0008, 0x1190), Outside::Remove, "Retrieve URL");
        assert_eq!(outside_table(0x7FE0, 0x0010), Outside::Keep, "Pixel Data");
        assert_eq!(outside_table(0x0028, 0x3006), Outside::Keep, "LUT Data");
        assert_eq!(outside_table(0x0008, 0x041B), Outside::Remove, "Record Key");
        assert_eq!(outside_table(0x0068, 0x6300), Outside::Remove, "HPGL Document");
        assert_eq!(outside_table(0x0008, 0x2218), Outside::Keep, "Anatomic Region Sequence");
        assert_eq!(outside_table(0x5200, 0x9229), Outside::Keep, "Shared Functional Groups");
        assert_eq!(
            outside_table(0x0032, 0x1031),
            Outside::Remove,
            "Requesting Physician Identification Sequence"
        );
        assert_eq!(
            outside_table(0x0040, 0x0026),
            Outside::Remove,
            "Order Placer Identifier Sequence"
        );
    }
}
