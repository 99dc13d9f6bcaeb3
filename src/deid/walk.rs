//! The recursive walk that applies Table E.1-1 to every attribute of a data set, at any depth
//! of sequences, and cleans the file meta group.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use dicom_core::dictionary::DataDictionary;
use dicom_core::header::Header;
use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_dictionary_std::{tags, StandardDataDictionary};
use dicom_object::mem::InMemElement;
use dicom_object::{FileMetaTable, FileMetaTableBuilder, InMemDicomObject};

use super::ages;
use super::dates::{shift_date, shift_datetime};
use super::scrub::{Collect, Identifiers};
use super::{Change, DeidError, Policy, ReviewRow};
use crate::dicom::{IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME};
use crate::profile::{
    is_retired_text, is_vocabulary_uid, is_well_known_uid, outside_table, rule_for, Code, Hipaa,
    Outside, ProfileOption, BASIC_PROFILE_CODE,
};

/// The CID 7050 code of the Clean Pixel Data Option.
const CLEAN_PIXEL_DATA_CODE: (&str, &str) = ("113101", "Clean Pixel Data Option");

/// Dummy text for D actions on text VRs.
const DUMMY_TEXT: &str = "ANONYMIZED";

/// How long a value may get in the local review before it is shortened.
const REVIEW_MAX_CHARS: usize = 80;

/// Applies one policy to one object, collecting the change log as it goes.
pub(super) struct Walker<'a> {
    policy: &'a Policy,
    pseudonym: String,
    offset_days: i32,
    identifiers: Identifiers,
    /// SOP Class UID of the object: decides what its IOD requires.
    sop_class: String,
    /// How free text is treated inside the sequence being walked.
    content: Content,
    /// Whether regions of the pixels are blanked (recorded as the Clean Pixel Data Option).
    pub(super) pixels_cleaned: bool,
    /// Whether text burned into the pixels may remain and nothing cleaned it (the file says
    /// so, or is a video, or could not be looked at; the user included it anyway): Patient
    /// Identity Removed is then NO.
    pub(super) burned_in_left: bool,
    /// The MIME type of the object's encapsulated document, if any (its placeholder's type).
    document_mime: String,
    changes: Vec<Change>,
    review: Vec<ReviewRow>,
    /// Attributes kept with a code that is also part of the patient's name or ID (each
    /// named once, however many items hold it).
    codes_like_patient: BTreeSet<String>,
}

impl<'a> Walker<'a> {
    /// Prepare a walk over `obj`: gather the identifying values it holds (for cleaning free
    /// text) and merge them with those already seen for the same patient; free text is
    /// cleaned of `others` too (every patient's values seen in the batch).
    pub(super) fn new(
        policy: &'a Policy,
        pseudonym: String,
        offset_days: i32,
        obj: &InMemDicomObject,
        patient_identifiers: &mut Identifiers,
        others: Arc<Identifiers>,
    ) -> Walker<'a> {
        let mut found = Identifiers::default();
        collect_identifiers(obj, policy, &mut found);
        patient_identifiers.extend(&found);
        Walker {
            policy,
            pseudonym,
            offset_days,
            identifiers: patient_identifiers.clone().with_others(others),
            sop_class: obj
                .get(tags::SOP_CLASS_UID)
                .and_then(|e| value_text(e.value()))
                .unwrap_or_default(),
            content: Content::Plain,
            pixels_cleaned: false,
            burned_in_left: false,
            document_mime: super::documents::mime_of(obj),
            changes: Vec::new(),
            review: Vec::new(),
            codes_like_patient: BTreeSet::new(),
        }
    }

    /// Clean the main data set and add the attributes that record the de-identification.
    pub(super) fn clean_top_level(&mut self, obj: InMemDicomObject) -> InMemDicomObject {
        let mut out = self.clean_dataset(obj, "");
        self.record_method(&mut out);
        self.match_document_length(&mut out);
        out
    }

    /// Encapsulated Document Length (0042,0015) made to match an Encapsulated Document that
    /// was replaced by its dummy (it still gave the original's length).
    fn match_document_length(&mut self, out: &mut InMemDicomObject) {
        const DOCUMENT: Tag = Tag(0x0042, 0x0011);
        const LENGTH: Tag = Tag(0x0042, 0x0015);
        let Some(now) = out
            .get(DOCUMENT)
            .and_then(|e| e.value().to_bytes().ok())
            .map(|b| b.len() as u32)
        else {
            return;
        };
        let Some(said) = out.get(LENGTH).map(|e| e.value().to_int::<u32>().ok()) else {
            return;
        };
        if said == Some(now) {
            return;
        }
        out.put(DataElement::new(LENGTH, VR::UL, PrimitiveValue::from(now)));
        self.log(
            &fmt_tag(LENGTH),
            "EncapsulatedDocumentLength",
            "replaced",
            "the length of the Encapsulated Document as it is now",
        );
    }

    /// The log, the review rows, what the user should look at, and the attributes kept with
    /// a value flagged as possibly naming the patient (by keyword).
    pub(super) fn finish(self) -> (Vec<Change>, Vec<ReviewRow>, Vec<String>, BTreeSet<String>) {
        let mut warnings = Vec::new();
        if !self.codes_like_patient.is_empty() {
            let names: Vec<&str> = self.codes_like_patient.iter().map(String::as_str).collect();
            warnings.push(format!(
                "{} kept a code that is, or holds, part of the patient's name or ID (codes \
                 are the standard's terms, and the image needs them): check that it does not \
                 name the patient. The package's own files (manifest, case page, DICOMDIR) \
                 do not repeat it.",
                names.join(", ")
            ));
        }
        (self.changes, self.review, warnings, self.codes_like_patient)
    }

    fn options(&self) -> &crate::profile::OptionSet {
        &self.policy.options
    }

    fn log(&mut self, path: &str, name: &str, action: &'static str, reason: impl Into<String>) {
        self.changes.push(Change {
            path: path.to_string(),
            name: name.to_string(),
            action: action.into(),
            reason: reason.into(),
        });
    }

    /// Leave an attribute out: its original value goes to the review list (shown only on
    /// this computer), and the log says why.
    fn remove(&mut self, elem: &InMemElement, path: &str, name: &str, reason: impl Into<String>) {
        self.note_review(path, name, elem.value(), "");
        self.log(path, name, "removed", reason);
    }

    fn note_review(
        &mut self,
        path: &str,
        name: &str,
        before: &Value<InMemDicomObject>,
        after: &str,
    ) {
        self.review.push(ReviewRow {
            path: path.to_string(),
            name: name.to_string(),
            before: review_text(before),
            after: shorten(after),
        });
    }

    /// Clean one data set (the top level or a sequence item).
    fn clean_dataset(&mut self, obj: InMemDicomObject, path: &str) -> InMemDicomObject {
        let retain_safe = self.options().contains(ProfileOption::RetainSafePrivate);
        // Private Creators of this data set: (group, block) → creator string.
        let creators: BTreeMap<(u16, u8), (String, InMemElement)> = obj
            .iter()
            .filter(|e| e.tag().group() % 2 == 1 && (0x0010..=0x00FF).contains(&e.tag().element()))
            .map(|e| {
                let creator = e
                    .value()
                    .to_str()
                    .map(|s| s.trim().to_string())
                    .unwrap_or_default();
                (
                    (e.tag().group(), e.tag().element() as u8),
                    (creator, e.clone()),
                )
            })
            .collect();
        let mut kept_blocks = BTreeSet::new();
        let mut removed_blocks: BTreeMap<(u16, u8), usize> = BTreeMap::new();
        let mut removed_overlays = BTreeSet::new();
        let mut overlays_with_data = BTreeSet::new();
        // Elements (gggg,0001)–(gggg,000F) of odd groups: reserved, never data of any use.
        let mut removed_reserved = Vec::new();
        let mut out = InMemDicomObject::new_empty();

        for elem in obj {
            let tag = elem.tag();
            let (group, element) = (tag.group(), tag.element());
            if element == 0x0000 {
                // Group lengths are optional and would be stale after cleaning.
                continue;
            }
            if group == 0x0000 || group == 0x0002 {
                // Command and file meta elements have no place in a data set (a damaged or
                // strangely written file); what they hold (AE titles, private information)
                // is not cleaned here, so they go.
                let name = keyword(tag).unwrap_or("attribute").to_string();
                self.remove(
                    &elem,
                    &format!("{path}{}", fmt_tag(tag)),
                    &name,
                    "a command or file meta element inside the data set",
                );
                continue;
            }
            if group % 2 == 1 {
                if element < 0x1000 {
                    // Creators are put back below for blocks that keep an attribute; other
                    // elements below 0x1000 are reserved and never hold useful data.
                    if element < 0x0010 {
                        removed_reserved.push(tag);
                    }
                    continue;
                }
                let block = (element >> 8) as u8;
                let creator = creators.get(&(group, block)).map(|c| c.0.as_str());
                // A safe slot keeps only a value of the form it is meant to hold (numbers
                // where numbers are meant, never a sequence).
                let safe = retain_safe
                    && !matches!(elem.value(), Value::Sequence(_))
                    && creator
                        .and_then(|c| crate::profile::safe_private(c, group, element as u8))
                        .is_some_and(|s| {
                            elem.value()
                                .to_bytes()
                                .is_ok_and(|b| s.accepts(elem.vr(), &b))
                        });
                if safe {
                    kept_blocks.insert((group, block));
                    out.put(elem);
                } else {
                    *removed_blocks.entry((group, block)).or_default() += 1;
                }
                continue;
            }
            if (0x6000..=0x601E).contains(&group) {
                // Overlay planes can hold burned-in text or drawings: the whole group goes, so
                // no orphan overlay attributes remain (Overlay Data is X in every option set
                // Obscura can verify; cleaning overlay bitmaps belongs to the pixel stage).
                removed_overlays.insert(group);
                if element == 0x3000 {
                    overlays_with_data.insert(group);
                }
                continue;
            }
            if crate::dicom::un_sequences::reread_vr(tag, elem.vr()).is_some() {
                // A standard attribute stored as UN (or bytes) that could not be read with its
                // dictionary VR when the file was read (see `crate::dicom::un_sequences`): what it
                // holds cannot be told, so it goes.
                let name = keyword(tag).unwrap_or("attribute").to_string();
                self.remove(
                    &elem,
                    &format!("{path}{}", fmt_tag(tag)),
                    &name,
                    "stored as UN or bytes and not readable with its dictionary VR",
                );
                continue;
            }
            if crate::dicom::charset::is_undecodable(&elem) {
                // Text that did not decode in the file's declared character set when it was
                // read: what it says cannot be checked, so it is emptied, whatever its rule
                // (an override to keep it included), and said so.
                let name = keyword(tag).unwrap_or("attribute").to_string();
                self.log(
                    &format!("{path}{}", fmt_tag(tag)),
                    &name,
                    "emptied",
                    "its text does not decode in the file's declared character set, so it \
                     cannot be checked (fail safe)",
                );
                out.put(DataElement::new(tag, elem.vr(), PrimitiveValue::Empty));
                continue;
            }
            let user_choice = self
                .policy
                .overrides
                .get(&((u32::from(group) << 16) | u32::from(element)));
            if let Some(code) = user_choice {
                if *code == Code::K && elem.vr() == VR::AS {
                    // Only an explicit override keeps an age over 89 as it is.
                    out.put(elem);
                    continue;
                }
                let name = keyword(tag).unwrap_or("attribute").to_string();
                self.apply(
                    elem,
                    *code,
                    &format!("user override of {name}"),
                    path,
                    &mut out,
                );
                continue;
            }
            match rule_for(group, element) {
                Some(rule) => {
                    let code = rule.code_for(self.options());
                    self.apply(elem, code, rule.name, path, &mut out);
                }
                None => self.not_in_table(elem, path, &mut out),
            }
        }

        for (group, block) in &kept_blocks {
            if let Some((_, creator_elem)) = creators.get(&(*group, *block)) {
                out.put(creator_elem.clone());
            }
        }
        // Creators of blocks that hold no attribute here go too, and are named.
        for ((group, block), (creator, _)) in &creators {
            if !kept_blocks.contains(&(*group, *block))
                && !removed_blocks.contains_key(&(*group, *block))
            {
                self.log(
                    &format!("{path}({group:04X},00{block:02X})"),
                    &format!(
                        "Private Creator of block {} (no attribute of its block here)",
                        block_name(creator, *group, *block)
                    ),
                    "removed",
                    "private attributes (Basic Profile)",
                );
            }
        }
        for tag in removed_reserved {
            self.log(
                &format!("{path}{}", fmt_tag(tag)),
                "reserved element of a private group",
                "removed",
                "not a standard attribute, may hold anything",
            );
        }
        for ((group, block), count) in removed_blocks {
            let name = match creators.get(&(group, block)) {
                Some((creator, _)) => block_name(creator, group, block),
                None => format!("({group:04X},{block:02X}xx), without a Private Creator"),
            };
            let reason = if retain_safe {
                "private attributes not on the safe list"
            } else {
                "private attributes (Basic Profile)"
            };
            self.log(
                &format!("{path}({group:04X},{block:02X}xx)"),
                &format!("Private block {name} ({count} attributes)"),
                "removed",
                reason,
            );
        }
        // An overlay without its own Overlay Data lives in the unused high bits of the pixels
        // (retired, but still written by old devices): those bits are zeroed too.
        if removed_overlays
            .iter()
            .any(|g| !overlays_with_data.contains(g))
            && zero_high_bits(&mut out)
        {
            self.log(
                &format!("{path}{}", fmt_tag(tags::PIXEL_DATA)),
                "PixelData",
                "cleaned",
                "unused high bits that held an overlay were zeroed",
            );
        }
        for group in removed_overlays {
            self.log(
                &format!("{path}({group:04X},xxxx)"),
                "Overlay plane",
                "removed",
                "overlays can carry burned-in annotations",
            );
        }
        out
    }

    /// Apply a Table E.1-1 action code to one attribute.
    fn apply(
        &mut self,
        elem: InMemElement,
        code: Code,
        rule_name: &str,
        path: &str,
        out: &mut InMemDicomObject,
    ) {
        let tag = elem.tag();
        let here = format!("{path}{}", fmt_tag(tag));
        let name = keyword(tag).unwrap_or(rule_name).to_string();
        let why = format!("{} ({})", code.as_str(), rule_name);

        if matches!(elem.value(), Value::Sequence(_)) {
            match code {
                // "X unless Z is needed": an empty sequence is an error where the sequence is
                // Type 3, so it is removed unless the object's IOD requires it (Type 2).
                Code::X | Code::XD => {
                    self.log(&here, &name, "removed", why);
                }
                Code::XZ | Code::XZD if !sequence_is_type2(tag, &self.sop_class) => {
                    self.log(&here, &name, "removed", why);
                }
                Code::Z | Code::ZD | Code::XZ | Code::XZD => {
                    self.log(&here, &name, "emptied", why);
                    out.put(DataElement::new(
                        tag,
                        VR::SQ,
                        Value::from(DataSetSequence::new(
                            Vec::<InMemDicomObject>::new(),
                            Length::UNDEFINED,
                        )),
                    ));
                }
                Code::K | Code::C | Code::U | Code::D | Code::XZUStar => {
                    // Content whose structure is kept but whose text the table does not list
                    // (SR content items, graphic annotations): D replaces that text, C cleans
                    // it. The stricter treatment of an enclosing sequence stays in force.
                    let outer = self.content;
                    self.content = match code {
                        Code::D => Content::Dummy,
                        Code::C if outer == Content::Plain => Content::Clean,
                        _ => outer,
                    };
                    let cleaned = self.clean_sequence(elem, &here);
                    self.content = outer;
                    out.put(cleaned);
                }
            }
            return;
        }

        let vr = elem.vr();
        if let Some(hipaa) = self.policy.hipaa {
            if let Some(kept) = self.hipaa_keeps(hipaa, &elem, code, &here, &name) {
                out.put(kept);
                return;
            }
        }
        match code {
            Code::K => self.keep(elem, &here, &name, out),
            Code::X if !is_patient_identity(tag) => {
                self.remove(&elem, &here, &name, why);
            }
            Code::U => self.replace_uids(elem, &here, &name, why, out),
            Code::C => self.clean_value(elem, &here, &name, why, out),
            Code::Z | Code::XZ | Code::XZUStar if !is_patient_identity(tag) => {
                self.note_review(&here, &name, elem.value(), "");
                self.log(&here, &name, "emptied", why);
                out.put(DataElement::new(tag, vr, PrimitiveValue::Empty));
            }
            _ => {
                // D and the combinations that allow D: a dummy consistent with the VR. Patient
                // ID and Name get the patient's pseudonym instead, so studies stay grouped.
                if vr == VR::UI {
                    self.replace_uids(elem, &here, &name, why, out);
                    return;
                }
                let value = if is_patient_identity(tag) {
                    PrimitiveValue::from(pseudonym_value(tag, &self.pseudonym))
                } else if tag == super::documents::DOCUMENT && path.is_empty() {
                    // A document a reader still opens, saying it was removed.
                    PrimitiveValue::from(super::documents::placeholder(&self.document_mime))
                } else {
                    dummy(vr)
                };
                let after = match &value {
                    PrimitiveValue::U8(_) => "(placeholder bytes)".to_string(),
                    v => v.to_str().to_string(),
                };
                self.note_review(&here, &name, elem.value(), &after);
                let action = if is_patient_identity(tag) {
                    "pseudonymized"
                } else {
                    "replaced"
                };
                self.log(&here, &name, action, why);
                out.put(DataElement::new(tag, vr, value));
            }
        }
    }

    /// What a HIPAA preset keeps of an attribute the profile would remove, empty or replace:
    /// the year of a date (Safe Harbor; birth dates follow the profile, as a birth year can
    /// tell an age over 89), the town, state and ZIP code of the patient's address and the
    /// region of residence (Limited Data Set), the country of residence (both).
    fn hipaa_keeps(
        &mut self,
        hipaa: Hipaa,
        elem: &InMemElement,
        code: Code,
        here: &str,
        name: &str,
    ) -> Option<InMemElement> {
        if matches!(code, Code::K | Code::C | Code::U) {
            return None;
        }
        let tag = elem.tag();
        let vr = elem.vr();
        let text = || value_text(elem.value()).unwrap_or_default();
        let (value, action, why) = match hipaa {
            Hipaa::SafeHarbor
                if matches!(vr, VR::DA | VR::DT)
                    && !name.contains("Birth")
                    && tag.group() != 0x0002 =>
            {
                let year = super::hipaa::year_only(vr, &text())?;
                let why = if vr == VR::DA {
                    "HIPAA Safe Harbor: every element of the date but its year removed (a DA \
                     holds a whole date, so it reads 1 January of the year)"
                } else {
                    "HIPAA Safe Harbor: every element of the date but its year removed"
                };
                (year, "reduced to year", why)
            }
            Hipaa::LimitedDataSet if tag == tags::PATIENT_ADDRESS => {
                let place = super::hipaa::town_state_zip(&text())?;
                (
                    place,
                    "cleaned",
                    "HIPAA Limited Data Set: the town, state and ZIP code kept, the rest of the \
                     address removed",
                )
            }
            Hipaa::LimitedDataSet if tag == tags::REGION_OF_RESIDENCE => (
                text(),
                "kept",
                "HIPAA Limited Data Set: a state or region, which it keeps",
            ),
            _ if tag == tags::COUNTRY_OF_RESIDENCE => (
                text(),
                "kept",
                "HIPAA: a country is not a geographic unit smaller than a state",
            ),
            _ => return None,
        };
        self.note_review(here, name, elem.value(), &value);
        self.log(here, name, action, why);
        Some(DataElement::new(tag, vr, PrimitiveValue::from(value)))
    }

    /// An attribute the table does not name: kept unless its VR can carry identity and the
    /// standard cannot vouch for it (fail safe).
    fn not_in_table(&mut self, elem: InMemElement, path: &str, out: &mut InMemDicomObject) {
        let tag = elem.tag();
        let here = format!("{path}{}", fmt_tag(tag));
        let known = keyword(tag);
        let name = known.unwrap_or("Unknown attribute").to_string();
        if matches!(elem.value(), Value::Sequence(_)) {
            // A sequence on the reviewed keep list is walked (its items go through the same
            // rules, value by value); any other goes whole: one that identifies people,
            // orders or consent, one the dictionary does not know, one a newer edition adds.
            if known.is_some() && outside_table(tag.group(), tag.element()) == Outside::Keep {
                let cleaned = self.clean_sequence(elem, &here);
                out.put(cleaned);
            } else {
                let why = if known.is_none() {
                    "unknown sequence, which may hold anything (fail safe)"
                } else {
                    "sequence outside the profile table and its reviewed keep list (fail safe)"
                };
                self.remove(&elem, &here, &name, why);
            }
            return;
        }
        let vr = elem.vr();
        let free_text = matches!(vr, VR::LO | VR::SH | VR::LT | VR::ST | VR::UT | VR::UC);
        let dates = matches!(vr, VR::DA | VR::DT);
        if vr == VR::PN {
            self.remove(
                &elem,
                &here,
                &name,
                "person name outside the profile table (fail safe)",
            );
        } else if known.is_none() {
            // Not in the dictionary: nothing vouches for what it holds, whatever its VR
            // (text in an OB, a name in a CS, an ID in an IS).
            self.remove(
                &elem,
                &here,
                &name,
                "unknown attribute, which may hold anything (fail safe)",
            );
        } else if (free_text || dates || vr == VR::TM)
            && self.content != Content::Plain
            && !is_code(tag)
        {
            self.content_value(elem, &here, &name, out);
        } else if free_text && is_retired_text(tag.group(), tag.element()) {
            self.remove(
                &elem,
                &here,
                &name,
                "retired attribute that may hold text (fail safe)",
            );
        } else if free_text || vr == VR::UR {
            // Text and URLs the table does not name: kept only when the reviewed list says
            // they are technical (a code, a device's make, a technique); emptied where an IOD
            // needs them; removed otherwise (a URL's query, a description people wrote).
            match outside_table(tag.group(), tag.element()) {
                Outside::Keep => self.keep(elem, &here, &name, out),
                Outside::Empty => {
                    self.note_review(&here, &name, elem.value(), "");
                    self.log(
                        &here,
                        &name,
                        "emptied",
                        "text outside the profile table that its IOD needs (fail safe)",
                    );
                    out.put(DataElement::new(tag, vr, PrimitiveValue::Empty));
                }
                Outside::Remove => self.remove(
                    &elem,
                    &here,
                    &name,
                    "text or URL outside the profile table and its reviewed keep list (fail safe)",
                ),
            }
        } else if matches!(
            vr,
            VR::OB | VR::OW | VR::OF | VR::OD | VR::OL | VR::OV | VR::UN
        ) {
            // Binary values the table does not name: numbers, lookup tables, geometry and the
            // image itself are on the reviewed list; anything else binary (a record key, a
            // drawing, encrypted content, a blob a device left) could hold anything.
            match outside_table(tag.group(), tag.element()) {
                Outside::Keep => self.keep(elem, &here, &name, out),
                Outside::Empty | Outside::Remove => self.remove(
                    &elem,
                    &here,
                    &name,
                    "binary value outside the profile table and its reviewed keep list (fail safe)",
                ),
            }
        } else if vr == VR::UI && !self.options().contains(ProfileOption::RetainUids) {
            // A class, coding-scheme or creator UID is kept when it is a well-known value
            // (see `map_uid`); any other value is replaced like an instance UID.
            let why = if known.is_none() {
                "unknown UID attribute (fail safe)"
            } else if known.is_some_and(is_vocabulary_uid) {
                "class, scheme or creator UID that is not one of the standard's (fail safe)"
            } else {
                "UID outside the profile table (fail safe)"
            };
            self.replace_uids(elem, &here, &name, why.into(), out);
        } else if dates
            && self
                .options()
                .contains(ProfileOption::RetainLongitudinalModifiedDates)
        {
            // Every date moves with the patient's offset, so intervals stay consistent.
            self.clean_value(elem, &here, &name, "Modified Dates option".into(), out);
        } else if dates
            && !self
                .options()
                .contains(ProfileOption::RetainLongitudinalFullDates)
        {
            // A date the table does not list (newer attributes such as Study Update DateTime):
            // the profile removes every other date of the study, so this one goes too.
            self.remove(
                &elem,
                &here,
                &name,
                "date outside the profile table (fail safe)",
            );
        } else {
            self.keep(elem, &here, &name, out);
        }
    }

    /// Keep an attribute, unless its text holds a value that names the patient: then that
    /// value is blanked (free text), and the log says so. A code (CS) that equals such a value
    /// is kept, logged and listed for the user to check (see below).
    fn keep(&mut self, elem: InMemElement, here: &str, name: &str, out: &mut InMemDicomObject) {
        let vr = elem.vr();
        let tag = elem.tag();
        let free_text = matches!(
            vr,
            VR::LO | VR::SH | VR::LT | VR::ST | VR::UT | VR::UC | VR::AE | VR::UR
        );
        if vr == VR::AS {
            self.keep_age(elem, here, name, out);
            return;
        }
        if !(free_text || vr == VR::CS) {
            out.put(elem);
            return;
        }
        let text = value_text(elem.value()).unwrap_or_default();
        if vr == VR::CS {
            // A code string holds codes (upper case, at most 16 characters), mostly the
            // standard's defined terms: one that is also part of the patient's name (a
            // patient called Perfusion, an Image Type of PERFUSION) is far likelier a code
            // than the name, and removing it would leave an image without attributes it
            // must have (Image Type, Frame Type). It is kept, and the user is told to look.
            // A code equal to such a value, or holding one as a word (an Image Type of
            // ORIGINAL\\PRIMARY\\WANDA KESTREL, a Body Part of KESTREL HEAD), is flagged;
            // the package's own files never copy it (see `Summary::withhold`).
            if text.split('\\').any(|v| {
                v.trim().chars().count() >= SWEEP_MIN_CHARS
                    && (self.identifiers.is_patient_value(v)
                        || self.identifiers.blank_patient(v, SWEEP_MIN_CHARS).1 > 0)
            }) {
                self.log(
                    here,
                    name,
                    "kept",
                    "a code that is, or holds, part of a name or of the patient's ID (check it)",
                );
                self.codes_like_patient.insert(name.to_string());
            }
            out.put(elem);
            return;
        }
        let (clean, hits) = self.identifiers.blank_patient(&text, SWEEP_MIN_CHARS);
        let (clean, ages) = ages::aggregate_in_text(&clean);
        if hits == 0 && ages == 0 {
            out.put(elem);
            return;
        }
        self.note_review(here, name, elem.value(), &clean);
        let why = match (hits, ages) {
            (0, _) => AGES_WHY,
            (_, 0) => "held a value that names the patient (fail safe)",
            _ => "held a value that names the patient (fail safe), and an age over 89",
        };
        self.log(here, name, "cleaned", why);
        let value = if matches!(vr, VR::LT | VR::ST | VR::UT | VR::UR) {
            PrimitiveValue::from(clean)
        } else {
            PrimitiveValue::Strs(clean.split('\\').map(str::to_string).collect())
        };
        out.put(DataElement::new(tag, vr, value));
    }

    /// A kept Age String: an age of 90 or more becomes "90 or older" (`090Y`).
    fn keep_age(&mut self, elem: InMemElement, here: &str, name: &str, out: &mut InMemDicomObject) {
        let text = value_text(elem.value()).unwrap_or_default();
        let (aggregated, changed) = ages::aggregate_age_string(&text);
        if changed == 0 {
            out.put(elem);
            return;
        }
        self.note_review(here, name, elem.value(), &aggregated);
        self.log(here, name, "aggregated", AGES_WHY);
        out.put(DataElement::new(
            elem.tag(),
            VR::AS,
            PrimitiveValue::from(aggregated),
        ));
    }

    /// Text, dates and times inside structured content or graphics that the table does not
    /// list: a dummy under D, cleaned under C (dates follow the date options).
    fn content_value(
        &mut self,
        elem: InMemElement,
        here: &str,
        name: &str,
        out: &mut InMemDicomObject,
    ) {
        let tag = elem.tag();
        let vr = elem.vr();
        let dates_kept = self
            .options()
            .contains(ProfileOption::RetainLongitudinalFullDates);
        let dates_moved = self
            .options()
            .contains(ProfileOption::RetainLongitudinalModifiedDates);
        let is_date = matches!(vr, VR::DA | VR::DT | VR::TM);
        match self.content {
            Content::Clean if !is_date => self.clean_value(
                elem,
                here,
                name,
                "Clean option: structured content".into(),
                out,
            ),
            Content::Clean if dates_kept => {
                out.put(elem);
            }
            Content::Clean if dates_moved => {
                self.clean_value(elem, here, name, "Modified Dates option".into(), out)
            }
            _ => {
                let value = dummy(vr);
                self.note_review(here, name, elem.value(), &value.to_str());
                self.log(
                    here,
                    name,
                    "replaced",
                    "D (text in structured content or graphics)",
                );
                out.put(DataElement::new(tag, vr, value));
            }
        }
    }

    /// Clean every item of a sequence with the same rules.
    fn clean_sequence(&mut self, elem: InMemElement, here: &str) -> InMemElement {
        let tag = elem.tag();
        let items = match elem.into_value() {
            Value::Sequence(seq) => seq.into_items(),
            _ => Default::default(),
        };
        let cleaned: Vec<InMemDicomObject> = items
            .into_iter()
            .enumerate()
            .map(|(i, item)| self.clean_dataset(item, &format!("{here}[{}]/", i + 1)))
            .collect();
        DataElement::new(
            tag,
            VR::SQ,
            Value::from(DataSetSequence::new(cleaned, Length::UNDEFINED)),
        )
    }

    /// Replace every UID in the value with its keyed replacement.
    fn replace_uids(
        &mut self,
        elem: InMemElement,
        here: &str,
        name: &str,
        why: String,
        out: &mut InMemDicomObject,
    ) {
        let tag = elem.tag();
        let Some(text) = value_text(elem.value()) else {
            self.log(here, name, "removed", "UID value could not be read");
            return;
        };
        let new: Vec<String> = text
            .split('\\')
            .map(|u| u.trim_end_matches(['\0', ' ']).trim())
            .filter(|u| !u.is_empty())
            .map(|u| self.map_uid(u))
            .collect();
        let after = new.join("\\");
        if after != text.trim_end_matches(['\0', ' ']) {
            self.note_review(here, name, elem.value(), &after);
            self.log(here, name, "uid-replaced", why);
        }
        out.put(DataElement::new(
            tag,
            VR::UI,
            PrimitiveValue::Strs(new.into()),
        ));
    }

    /// The replacement for one UID; DICOM's own well-known UIDs (classes, transfer syntaxes,
    /// coding schemes) identify nobody and are kept, whatever attribute holds them.
    fn map_uid(&self, uid: &str) -> String {
        if is_well_known_uid(uid) {
            uid.to_string()
        } else {
            self.policy.key.uid(uid)
        }
    }

    /// The C action: keep the attribute with identifying information cleaned out.
    fn clean_value(
        &mut self,
        elem: InMemElement,
        here: &str,
        name: &str,
        why: String,
        out: &mut InMemDicomObject,
    ) {
        let tag = elem.tag();
        let vr = elem.vr();
        match vr {
            VR::DA | VR::DT => {
                let text = value_text(elem.value()).unwrap_or_default();
                let mut shifted = Vec::new();
                let mut failed = false;
                for v in text
                    .split('\\')
                    .map(|v| v.trim_end_matches(['\0', ' ']).trim())
                {
                    if v.is_empty() {
                        continue;
                    }
                    let s = if vr == VR::DA {
                        shift_date(v, self.offset_days)
                    } else {
                        shift_datetime(v, self.offset_days)
                    };
                    match s {
                        Some(s) => shifted.push(s),
                        None => failed = true,
                    }
                }
                if failed {
                    self.note_review(here, name, elem.value(), "");
                    self.log(
                        here,
                        name,
                        "emptied",
                        format!("{why}: a date could not be shifted"),
                    );
                    out.put(DataElement::new(tag, vr, PrimitiveValue::Empty));
                } else {
                    let after = shifted.join("\\");
                    if !after.is_empty() {
                        self.note_review(here, name, elem.value(), &after);
                        self.log(here, name, "date-shifted", why);
                    }
                    out.put(DataElement::new(
                        tag,
                        vr,
                        PrimitiveValue::Strs(shifted.into()),
                    ));
                }
            }
            VR::TM => {
                // Dates move by whole days, so times of day stay as they are.
                out.put(elem);
            }
            VR::UI => self.replace_uids(elem, here, name, why, out),
            VR::PN | VR::LO | VR::SH | VR::LT | VR::ST | VR::UT | VR::UC | VR::AE | VR::CS => {
                let text = value_text(elem.value()).unwrap_or_default();
                let (clean, hits) = self.identifiers.scrub(&text);
                let (clean, ages) = if vr == VR::CS {
                    (clean, 0)
                } else {
                    ages::aggregate_in_text(&clean)
                };
                if hits + ages > 0 {
                    self.note_review(here, name, elem.value(), &clean);
                    let what = match (hits, ages) {
                        (0, _) => AGES_WHY.to_string(),
                        (_, 0) => format!("{hits} identifying value(s) blanked"),
                        _ => format!("{hits} identifying value(s) blanked; {AGES_WHY}"),
                    };
                    self.log(here, name, "cleaned", format!("{why}: {what}"));
                    let value = if matches!(vr, VR::LT | VR::ST | VR::UT) {
                        PrimitiveValue::from(clean)
                    } else {
                        PrimitiveValue::Strs(clean.split('\\').map(str::to_string).collect())
                    };
                    out.put(DataElement::new(tag, vr, value));
                } else {
                    out.put(elem);
                }
            }
            VR::OB | VR::OW | VR::UN | VR::OF | VR::OD | VR::OL | VR::OV => {
                // Binary graphics (curves, overlays) cannot be checked for text here.
                self.log(
                    here,
                    name,
                    "removed",
                    format!("{why}: binary content cannot be verified clean"),
                );
            }
            _ => {
                out.put(elem);
            }
        }
    }

    /// Add Patient Identity Removed, De-identification Method (and its code sequence) and
    /// Longitudinal Temporal Information Modified.
    fn record_method(&mut self, out: &mut InMemDicomObject) {
        let opts = self.options().clone();
        // YES only when the metadata and the pixels are both clean (PS3.3 C.12.1.1.7).
        let removed = if self.burned_in_left { "NO" } else { "YES" };
        out.put(DataElement::new(
            tags::PATIENT_IDENTITY_REMOVED,
            VR::CS,
            PrimitiveValue::from(removed),
        ));
        // A file de-identified before keeps the record of it, ours after (PS3.3: the method
        // is multi-valued "in the case that the object was anonymized more than once"). The
        // values were cleaned by the walk like any kept text and codes.
        let earlier: Vec<String> = out
            .get(tags::DEIDENTIFICATION_METHOD)
            .and_then(|e| e.value().to_multi_str().ok())
            .map(|v| {
                v.iter()
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let earlier_codes: Vec<InMemDicomObject> = match out
            .get(tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE)
            .map(|e| e.value())
        {
            Some(Value::Sequence(seq)) => seq.items().to_vec(),
            _ => Vec::new(),
        };
        let mut methods = earlier;
        methods.extend([
            format!("Obscura {}", env!("CARGO_PKG_VERSION")),
            BASIC_PROFILE_CODE.1.to_string(),
        ]);
        methods.extend(opts.iter().map(|o| o.code_meaning().to_string()));
        methods.extend(self.policy.hipaa.map(|h| h.method().to_string()));
        if self.pixels_cleaned {
            methods.push(CLEAN_PIXEL_DATA_CODE.1.to_string());
        }
        out.put(DataElement::new(
            tags::DEIDENTIFICATION_METHOD,
            VR::LO,
            PrimitiveValue::Strs(methods.into()),
        ));
        let mut codes = earlier_codes;
        codes.push(code_item(BASIC_PROFILE_CODE.0, BASIC_PROFILE_CODE.1));
        codes.extend(
            opts.iter()
                .map(|o| code_item(o.code_value(), o.code_meaning())),
        );
        if self.pixels_cleaned {
            codes.push(code_item(CLEAN_PIXEL_DATA_CODE.0, CLEAN_PIXEL_DATA_CODE.1));
        }
        out.put(DataElement::new(
            tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
            VR::SQ,
            Value::from(DataSetSequence::new(codes, Length::UNDEFINED)),
        ));
        let temporal = if self.policy.hipaa == Some(Hipaa::SafeHarbor) {
            "MODIFIED" // dates reduced to their year
        } else if opts.contains(ProfileOption::RetainLongitudinalFullDates) {
            "UNMODIFIED"
        } else if opts.contains(ProfileOption::RetainLongitudinalModifiedDates) {
            "MODIFIED"
        } else {
            "REMOVED"
        };
        out.put(DataElement::new(
            tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED,
            VR::CS,
            PrimitiveValue::from(temporal),
        ));
        for (tag, name) in [
            (tags::PATIENT_IDENTITY_REMOVED, "PatientIdentityRemoved"),
            (tags::DEIDENTIFICATION_METHOD, "DeidentificationMethod"),
            (
                tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
                "DeidentificationMethodCodeSequence",
            ),
            (
                tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED,
                "LongitudinalTemporalInformationModified",
            ),
        ] {
            let why = if tag == tags::PATIENT_IDENTITY_REMOVED && self.burned_in_left {
                "NO: text burned into its pixels may remain, and nothing cleaned them \
                 (included because you asked)"
            } else {
                "records the de-identification (PS3.15 E)"
            };
            self.log(&fmt_tag(tag), name, "added", why);
        }
    }

    /// A video the user included: nothing in its stream was looked at or cleaned.
    pub(super) fn log_video(&mut self) {
        self.log(
            &fmt_tag(tags::PIXEL_DATA),
            "PixelData",
            "kept",
            "a video, included at the user's request: its frames were not looked at for \
             burned-in text and its stream's metadata and sound were not cleaned (Patient \
             Identity Removed is NO)",
        );
    }

    /// An image the user included although it could not be looked at for burned-in text.
    pub(super) fn log_unlooked(&mut self) {
        self.log(
            &fmt_tag(tags::PIXEL_DATA),
            "PixelData",
            "kept",
            "could not be looked at for burned-in text, included at the user's request \
             (Patient Identity Removed is NO)",
        );
    }

    /// Say that `cut` bytes after the image left native Pixel Data.
    pub(super) fn log_after_image(&mut self, cut: usize) {
        self.log(
            &fmt_tag(tags::PIXEL_DATA),
            "PixelData",
            "cleaned",
            format!(
                "{cut} byte(s) after the image's end removed (no viewer shows them, and they \
                 can hold anything); the image is kept as it was"
            ),
        );
    }

    /// Say that `removed` pieces that are not image left the compressed frames.
    pub(super) fn log_codestream_text(&mut self, removed: usize) {
        self.log(
            &fmt_tag(tags::PIXEL_DATA),
            "PixelData",
            "cleaned",
            format!(
                "{removed} piece(s) that are not image removed from the compressed frames: \
                 comment, application and file-format segments (they may hold names, dates or \
                 a camera's owner) and data after the image's end; the image data are kept \
                 exactly as they were"
            ),
        );
    }

    /// Record that regions of the pixels were blanked; `stored` tells how the frames were
    /// stored, as a clause to follow the rules (empty for native pixel data); `undeclared`,
    /// that detection found text in an image that did not say it carried any.
    pub(super) fn log_pixels(
        &mut self,
        regions: usize,
        frames: u32,
        rules: &[String],
        stored: &str,
        undeclared: bool,
    ) {
        self.log(
            &fmt_tag(tags::PIXEL_DATA),
            "PixelData",
            "cleaned",
            format!(
                "{regions} region(s) blanked on {frames} frame(s) by rule(s): {}{stored}",
                rules.join(", ")
            ),
        );
        self.log(
            &fmt_tag(tags::BURNED_IN_ANNOTATION),
            "BurnedInAnnotation",
            "replaced",
            if undeclared {
                "NO: text was found burned into the pixels although the file did not say so \
                 (Burned In Annotation was not YES), and was blanked"
            } else {
                "NO: the regions of burned-in text were blanked"
            },
        );
    }

    /// A new file meta group: new instance UID, the original class and transfer syntax,
    /// Obscura as the implementation, and no AE titles or private information.
    pub(super) fn clean_meta(
        &mut self,
        meta: &FileMetaTable,
        cleaned: &InMemDicomObject,
    ) -> Result<FileMetaTable, DeidError> {
        let trim = |s: &str| s.trim_end_matches(['\0', ' ']).to_string();
        // The meta's own UIDs are kept (class) or mapped (instance) exactly like the data
        // set's, so they still match each other whenever they matched in the input.
        let dataset_uid = |tag| {
            cleaned
                .get(tag)
                .and_then(|e: &InMemElement| value_text(e.value()))
                .map(|s| trim(&s))
        };
        let instance = match trim(meta.media_storage_sop_instance_uid()) {
            uid if uid.is_empty() => dataset_uid(tags::SOP_INSTANCE_UID).unwrap_or_default(),
            uid if self.options().contains(ProfileOption::RetainUids) => uid,
            uid => self.map_uid(&uid),
        };
        let class = match trim(meta.media_storage_sop_class_uid()) {
            uid if uid.is_empty() => dataset_uid(tags::SOP_CLASS_UID).unwrap_or_default(),
            uid if self.options().contains(ProfileOption::RetainUids) => uid,
            // A well-known class is kept, any other mapped (as SOP Class UID is).
            uid => self.map_uid(&uid),
        };
        let removed = [
            (
                meta.source_application_entity_title.is_some(),
                tags::SOURCE_APPLICATION_ENTITY_TITLE,
                "SourceApplicationEntityTitle",
            ),
            (
                meta.sending_application_entity_title.is_some(),
                tags::SENDING_APPLICATION_ENTITY_TITLE,
                "SendingApplicationEntityTitle",
            ),
            (
                meta.receiving_application_entity_title.is_some(),
                tags::RECEIVING_APPLICATION_ENTITY_TITLE,
                "ReceivingApplicationEntityTitle",
            ),
            (
                meta.private_information_creator_uid.is_some(),
                tags::PRIVATE_INFORMATION_CREATOR_UID,
                "PrivateInformationCreatorUID",
            ),
            (
                meta.private_information.is_some(),
                tags::PRIVATE_INFORMATION,
                "PrivateInformation",
            ),
        ];
        for (present, tag, name) in removed {
            if present {
                self.log(
                    &fmt_tag(tag),
                    name,
                    "removed",
                    "file meta: identifies a sender or holds private data",
                );
            }
        }
        self.log(
            &fmt_tag(tags::MEDIA_STORAGE_SOP_INSTANCE_UID),
            "MediaStorageSOPInstanceUID",
            "uid-replaced",
            "file meta: matches the new SOP Instance UID",
        );
        self.log(
            &fmt_tag(tags::IMPLEMENTATION_CLASS_UID),
            "ImplementationClassUID",
            "replaced",
            "file meta: names Obscura as the writer",
        );
        FileMetaTableBuilder::new()
            .media_storage_sop_class_uid(class)
            .media_storage_sop_instance_uid(instance)
            .transfer_syntax(trim(meta.transfer_syntax()))
            .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
            .implementation_version_name(IMPLEMENTATION_VERSION_NAME)
            .build()
            .map_err(|e| DeidError::Write(crate::dicom::WriteError::Meta(e.to_string())))
    }
}

/// Zero the bits above High Bit in native 16-bit pixel data, where embedded overlays live.
/// Returns whether anything was done (false for encapsulated or 8-bit data).
fn zero_high_bits(obj: &mut InMemDicomObject) -> bool {
    let num = |tag| crate::attrs::uint(obj, tag);
    let (Some(16), Some(high)) = (num(tags::BITS_ALLOCATED), num(tags::HIGH_BIT)) else {
        return false;
    };
    if high >= 15 {
        return false;
    }
    let mask: u16 = (1u16 << (high + 1)) - 1;
    // Taken out and changed where it is (no copy of the pixel data), then put back.
    let Some(elem) = obj.take(tags::PIXEL_DATA) else {
        return false;
    };
    let vr = elem.vr();
    let (value, done) = match elem.into_value() {
        Value::Primitive(PrimitiveValue::U16(mut words)) => {
            words.iter_mut().for_each(|w| *w &= mask);
            (Value::Primitive(PrimitiveValue::U16(words)), true)
        }
        Value::Primitive(PrimitiveValue::U8(bytes)) => {
            // Native OW read as bytes: little endian pairs.
            let mut b = bytes.into_vec();
            for pair in b.chunks_exact_mut(2) {
                let w = u16::from_le_bytes([pair[0], pair[1]]) & mask;
                pair.copy_from_slice(&w.to_le_bytes());
            }
            (Value::Primitive(PrimitiveValue::U8(b.into())), true)
        }
        other => (other, false),
    };
    obj.put(DataElement::new(tags::PIXEL_DATA, vr, value));
    done
}

/// How free text that the table does not list is treated inside a sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Content {
    /// Kept, as anywhere else (the standard lists what can identify).
    Plain,
    /// Replaced by dummies: the sequence's action is D (e.g. SR Content Sequence).
    Dummy,
    /// Cleaned of identifying values: the sequence's action is C (a Clean option).
    Clean,
}

/// Coded entries (code value, scheme, meaning): vocabulary, not identity, and needed for the
/// structure of reports and annotations to stay meaningful.
fn is_code(tag: Tag) -> bool {
    [
        tags::CODE_VALUE,
        tags::CODING_SCHEME_DESIGNATOR,
        tags::CODING_SCHEME_VERSION,
        tags::CODE_MEANING,
        tags::LONG_CODE_VALUE,
        tags::URN_CODE_VALUE,
        tags::MAPPING_RESOURCE,
        tags::CONTEXT_IDENTIFIER,
        tags::CONTEXT_GROUP_VERSION,
    ]
    .contains(&tag)
}

/// Attributes whose values name the patient directly. Their values are looked for in every
/// text the profile keeps, whatever attribute it is in (a value in the wrong place, a
/// vendor's misuse, a damaged file).
const PATIENT_IDENTITY: [Tag; 13] = [
    tags::PATIENT_NAME,
    tags::PATIENT_ID,
    Tag(0x0010, 0x1000), // Other Patient IDs (retired)
    tags::OTHER_PATIENT_NAMES,
    tags::PATIENT_BIRTH_NAME,
    tags::PATIENT_MOTHER_BIRTH_NAME,
    tags::PATIENT_BIRTH_DATE,
    tags::ACCESSION_NUMBER,
    tags::STUDY_ID,
    Tag(0x0010, 0x1090), // Medical Record Locator (retired)
    tags::PATIENT_ADDRESS,
    tags::PATIENT_TELEPHONE_NUMBERS,
    tags::RESPONSIBLE_PERSON,
];

/// Why an age over 89 changed, in the change log.
const AGES_WHY: &str = "an age over 89 became \"90 or older\" (HIPAA Safe Harbor)";

/// Shortest patient value looked for in kept text (shorter ones, such as initials, would
/// blank ordinary words).
const SWEEP_MIN_CHARS: usize = 4;

/// Whether a sequence that Table E.1-1 marks X/Z is Type 2 (must be present, possibly empty)
/// in the IOD of `sop_class`.
fn sequence_is_type2(tag: Tag, sop_class: &str) -> bool {
    /// Prefix of the Structured Report storage SOP classes.
    const SR: &str = "1.2.840.10008.5.1.4.1.1.88.";
    match tag {
        // Acquisition Context Module (waveforms, ophthalmic, …): Type 2 wherever it is used.
        tags::ACQUISITION_CONTEXT_SEQUENCE => true,
        // SR Document Series Module: Type 2; Type 3 in the image series modules.
        tags::REFERENCED_PERFORMED_PROCEDURE_STEP_SEQUENCE => sop_class.starts_with(SR),
        _ => false,
    }
}

/// The pseudonym as the attribute's value: as a name it is the family name component (a PN
/// without `^` reads as the retired name form to validators).
fn pseudonym_value(tag: Tag, pseudonym: &str) -> String {
    if tag == tags::PATIENT_NAME && !pseudonym.contains('^') {
        format!("{pseudonym}^")
    } else {
        pseudonym.to_string()
    }
}

/// Patient's Name and Patient ID: replaced by the pseudonym rather than removed or emptied.
fn is_patient_identity(tag: Tag) -> bool {
    tag == tags::PATIENT_NAME || tag == tags::PATIENT_ID
}

/// One item of De-identification Method Code Sequence.
fn code_item(value: &str, meaning: &str) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        DataElement::new(tags::CODE_VALUE, VR::SH, PrimitiveValue::from(value)),
        DataElement::new(
            tags::CODING_SCHEME_DESIGNATOR,
            VR::SH,
            PrimitiveValue::from("DCM"),
        ),
        DataElement::new(tags::CODE_MEANING, VR::LO, PrimitiveValue::from(meaning)),
    ])
}

/// The text of a value. Attributes read with VR UN (unknown in explicit VR files) hold raw
/// bytes; their text is those bytes, not a list of numbers.
fn value_text(v: &Value<InMemDicomObject>) -> Option<String> {
    match v.primitive()? {
        PrimitiveValue::U8(bytes) => Some(
            String::from_utf8_lossy(bytes)
                .trim_end_matches(['\0', ' '])
                .to_string(),
        ),
        p => Some(p.to_str().to_string()),
    }
}

/// A dummy value consistent with the VR.
fn dummy(vr: VR) -> PrimitiveValue {
    match vr {
        VR::AE | VR::CS | VR::LO | VR::LT | VR::SH | VR::ST | VR::UT | VR::UC => {
            PrimitiveValue::from(DUMMY_TEXT)
        }
        // A name without a component separator reads as the retired name form.
        VR::PN => PrimitiveValue::from(format!("{DUMMY_TEXT}^")),
        VR::DA => PrimitiveValue::from("19000101"),
        VR::DT => PrimitiveValue::from("19000101000000"),
        VR::TM => PrimitiveValue::from("000000"),
        VR::AS => PrimitiveValue::from("000Y"),
        VR::DS | VR::IS => PrimitiveValue::from("0"),
        VR::US => PrimitiveValue::from(0_u16),
        VR::SS => PrimitiveValue::from(0_i16),
        VR::UL => PrimitiveValue::from(0_u32),
        VR::SL => PrimitiveValue::from(0_i32),
        VR::FL => PrimitiveValue::from(0_f32),
        VR::FD => PrimitiveValue::from(0_f64),
        VR::SV => PrimitiveValue::from(0_i64),
        VR::UV => PrimitiveValue::from(0_u64),
        // D asks for a value of non-zero length: for bytes (an encapsulated document, a
        // certificate, a selector's value), two zero bytes, or one zero of the VR's width.
        VR::OB | VR::UN => PrimitiveValue::U8([0_u8, 0].as_slice().into()),
        VR::OW => PrimitiveValue::from(0_u16),
        VR::OL | VR::OF => PrimitiveValue::from(0_u32),
        VR::OD | VR::OV => PrimitiveValue::from(0_u64),
        VR::UR => PrimitiveValue::from(DUMMY_TEXT),
        _ => PrimitiveValue::Empty,
    }
}

/// The standard keyword of a tag, if the dictionary knows it.
fn keyword(tag: Tag) -> Option<&'static str> {
    StandardDataDictionary.by_tag(tag).map(|e| e.alias)
}

/// `(gggg,eeee)` in upper-case hex.
pub(crate) fn fmt_tag(tag: Tag) -> String {
    format!("({:04X},{:04X})", tag.group(), tag.element())
}

fn shorten(s: &str) -> String {
    if s.chars().count() > REVIEW_MAX_CHARS {
        let cut: String = s.chars().take(REVIEW_MAX_CHARS).collect();
        format!("{cut}…")
    } else {
        s.to_string()
    }
}

fn review_text(v: &Value<InMemDicomObject>) -> String {
    match v {
        Value::Primitive(p) => match p {
            PrimitiveValue::Str(_) | PrimitiveValue::Strs(_) => {
                shorten(p.to_str().trim_end_matches(['\0', ' ']))
            }
            PrimitiveValue::Empty => String::new(),
            _ => format!("<{} values>", p.multiplicity()),
        },
        Value::Sequence(s) => format!("<{} items>", s.multiplicity()),
        Value::PixelSequence(_) => "<encapsulated data>".into(),
    }
}

/// Gather, at any depth, the values of attributes the policy removes, replaces or shifts:
/// those are the identifying values to blank out of free text.
pub(super) fn collect_identifiers(obj: &InMemDicomObject, policy: &Policy, ids: &mut impl Collect) {
    for elem in obj.iter() {
        let tag = elem.tag();
        if let Value::Sequence(seq) = elem.value() {
            for item in seq.items() {
                collect_identifiers(item, policy, ids);
            }
            continue;
        }
        let vr = elem.vr();
        if matches!(vr, VR::LO | VR::ST | VR::LT) && is_address(tag) {
            if let Ok(text) = elem.value().to_str() {
                if text.chars().count() <= 64 * 4 {
                    ids.address(&text, tag == tags::PATIENT_ADDRESS);
                }
            }
            continue;
        }
        // Name to Use (LT): the name the patient goes by, as identifying as Patient's Name.
        if tag == tags::NAME_TO_USE {
            if let Ok(text) = elem.value().to_str() {
                if text.chars().count() <= 64 * 4 {
                    ids.patient(&text, true);
                }
            }
            continue;
        }
        if !matches!(vr, VR::PN | VR::LO | VR::SH | VR::DA | VR::DT | VR::AE) {
            continue;
        }
        let identifying = vr == VR::PN
            || match rule_for(tag.group(), tag.element()) {
                Some(rule) if tag.group() % 2 == 0 => {
                    let code = rule.code_for(&policy.options);
                    !matches!(code, Code::K | Code::U)
                        && (code != Code::C || matches!(vr, VR::DA | VR::DT))
                }
                _ => false,
            };
        if identifying {
            if let Ok(text) = elem.value().to_str() {
                if text.chars().count() <= 64 * 4 {
                    if PATIENT_IDENTITY.contains(&tag) {
                        ids.patient(&text, vr == VR::PN);
                    } else {
                        ids.value(&text, vr == VR::PN);
                    }
                }
            }
        }
    }
}

/// Whether `tag` is a standard attribute holding a postal address (Patient's Address,
/// Institution Address, a physician's or a person's address…).
fn is_address(tag: Tag) -> bool {
    tag.group().is_multiple_of(2)
        && keyword(tag).is_some_and(|k| k.ends_with("Address") && !k.contains("Presentation"))
}

/// A private block as the change log names it: by its group and element block, and by its
/// Private Creator only when that is one Obscura's own list holds (never the file's text).
fn block_name(creator: &str, group: u16, block: u8) -> String {
    match crate::profile::known_creator(creator, group) {
        Some(known) => format!("({group:04X},{block:02X}xx) \"{known}\""),
        None => format!("({group:04X},{block:02X}xx)"),
    }
}
