//! Cleaning free text: blanking out identifying values found elsewhere in the same object or
//! study (names in any order or case, IDs, dates), and number runs that look like record
//! numbers or dates. Replacements keep the text's length so VR length limits still hold.

use std::collections::BTreeSet;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, MatchKind};
use serde::{Deserialize, Serialize};

use super::text_dates::{blank_dates, Dates};

/// A set of values as free text is compared ([`fold`]ed), with one automaton over them all
/// (Aho–Corasick, built when first searched with and again after a value is added), so that
/// a search costs the length of the text and what it finds, however many values there are.
#[derive(Debug, Clone, Default)]
struct Values {
    set: BTreeSet<String>,
    automaton: std::sync::OnceLock<Option<AhoCorasick>>,
}

impl Values {
    fn insert(&mut self, v: String) {
        if !self.set.contains(&v) {
            self.set.insert(v);
            self.automaton = std::sync::OnceLock::new();
        }
    }

    fn extend(&mut self, other: &Values) {
        for v in &other.set {
            self.insert(v.clone());
        }
    }

    fn contains(&self, v: &str) -> bool {
        self.set.contains(v)
    }

    /// The automaton over the values; `None` when it could not be built (far beyond any
    /// batch: the caller then blanks the whole text rather than miss a value).
    fn automaton(&self) -> Result<Option<&AhoCorasick>, ()> {
        if self.set.is_empty() {
            return Ok(None);
        }
        let built = self.automaton.get_or_init(|| {
            AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(&self.set)
                .ok()
        });
        built.as_ref().map(Some).ok_or(())
    }
}

/// One identifying value as a first pass finds it (see [`Collect`]): what [`Identifiers`] are
/// built from, kept as found so that a first pass made in one place can be handed to sessions
/// elsewhere (the page's workers) and give them the same identifiers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Found {
    /// [`Identifiers::add`]: the text, and whether it is a person's name.
    Value(String, bool),
    /// [`Identifiers::add_patient`]: the text, and whether it is a person's name.
    Patient(String, bool),
    /// [`Identifiers::add_address`]: the text, and whether it is the patient's address.
    Address(String, bool),
}

/// Where the identifying values a walk of a header finds go: straight into [`Identifiers`], or
/// recorded as [`Found`] values.
pub trait Collect {
    /// A value the profile removes or replaces.
    fn value(&mut self, text: &str, is_person_name: bool);
    /// A value that names the patient directly.
    fn patient(&mut self, text: &str, is_person_name: bool);
    /// A postal address.
    fn address(&mut self, text: &str, patient: bool);
}

impl Collect for Identifiers {
    fn value(&mut self, text: &str, is_person_name: bool) {
        self.add(text, is_person_name);
    }
    fn patient(&mut self, text: &str, is_person_name: bool) {
        self.add_patient(text, is_person_name);
    }
    fn address(&mut self, text: &str, patient: bool) {
        self.add_address(text, patient);
    }
}

impl Collect for Vec<Found> {
    fn value(&mut self, text: &str, is_person_name: bool) {
        self.push(Found::Value(text.to_string(), is_person_name));
    }
    fn patient(&mut self, text: &str, is_person_name: bool) {
        self.push(Found::Patient(text.to_string(), is_person_name));
    }
    fn address(&mut self, text: &str, patient: bool) {
        self.push(Found::Address(text.to_string(), patient));
    }
}

/// Identifying values to look for in free text.
#[derive(Debug, Clone, Default)]
pub struct Identifiers {
    values: Values,
    /// The subset that names the patient directly (name, IDs, birth date, accession number):
    /// searched for in every kept text, not only in cleaned ones.
    patient: Values,
    /// The names of every other person the files name (physicians, operators, the people of
    /// a waveform's annotations): searched for in every kept text too.
    people: Values,
    /// The dates among the values, found in text however they are written.
    dates: Dates,
    /// The subset of those that names the patient (the birth date).
    patient_dates: Dates,
    /// Those of the other patients of the batch, searched for too (shared, not copied: a
    /// batch of many patients has many values).
    others: Option<Arc<Identifiers>>,
}

impl Identifiers {
    /// Record what a first pass found.
    pub fn add_found(&mut self, found: &Found) {
        match found {
            Found::Value(text, pn) => self.add(text, *pn),
            Found::Patient(text, pn) => self.add_patient(text, *pn),
            Found::Address(text, patient) => self.add_address(text, *patient),
        }
    }

    /// Record the value of an attribute the profile removes or replaces.
    ///
    /// Person names are split into their components (family, given, …) so that a name
    /// written in another order or case is still found.
    pub fn add(&mut self, value: &str, is_person_name: bool) {
        if !is_person_name {
            self.add_values(value, false);
            return;
        }
        let mut one = Identifiers::default();
        one.add_values(value, true);
        self.people.extend(&one.values);
        self.values.extend(&one.values);
        self.dates.extend(&one.dates);
    }

    /// [`Identifiers::add`] into the general set alone.
    fn add_values(&mut self, value: &str, is_person_name: bool) {
        for v in value.split('\\') {
            let v = v.trim();
            if is_person_name {
                self.add_name_forms(v);
                for part in v.split(['^', '=', ' ', ',', '.', '_', '/', ';', '\t']) {
                    self.add_one(part);
                    // A double-barrelled or apostrophed name (Smith-Jones, O'Brien) is also
                    // written in part (Mrs Jones), together or spaced: each part of three
                    // letters or more is looked for, and the whole with any of the marks.
                    let pieces: Vec<&str> = part
                        .split(['-', '\'', '’'])
                        .filter(|p| !p.is_empty())
                        .collect();
                    if pieces.len() > 1 {
                        for piece in pieces.iter().filter(|p| p.chars().count() >= 3) {
                            self.add_one(piece);
                        }
                        for mark in ["", " ", "-", "'", "’"] {
                            self.add_one(&pieces.join(mark));
                        }
                    }
                }
                // In Chinese, Japanese and Korean a name is written without spaces, family name
                // first (山田太郎, 홍길동): also found so, even with a one-character family name.
                for group in v.split('=').filter(|g| g.chars().any(unspaced)) {
                    self.add_one(&group.replace(['^', ' '], ""));
                }
            }
            self.add_one(&v.replace('^', " "));
            // An ID is also written without its separators or with others (A-77123 as
            // A77123, A 77123, A.77123); not a short one, whose few characters would be found
            // in unrelated words and numbers.
            if !is_person_name && v.chars().any(|c| c.is_ascii_digit()) {
                let groups: Vec<&str> = v
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|g| !g.is_empty())
                    .collect();
                let letters: usize = groups.iter().map(|g| g.chars().count()).sum();
                if groups.len() > 1 && letters >= 5 {
                    for sep in ["", " ", "-", ".", "/", "_"] {
                        self.add_one(&groups.join(sep));
                    }
                }
                // The number of an ID is also written alone (chart 55129 for MRN-55129,
                // 20240042 for ACC-2024-0042): each run of five digits or more, and all the
                // digits together when there are six or more.
                let runs: Vec<&str> = v
                    .split(|c: char| !c.is_ascii_digit())
                    .filter(|r| !r.is_empty())
                    .collect();
                for run in runs.iter().filter(|r| r.len() >= 5) {
                    self.add_one(run);
                    self.add_one(run.trim_start_matches('0'));
                }
                let all: String = runs.concat();
                if runs.len() > 1 && all.len() >= 6 {
                    self.add_one(&all);
                }
                // A number is also written without its leading zeros (0012345 as 12345).
                let bare = v.trim_start_matches('0');
                if bare.len() < v.len()
                    && bare.len() >= 5
                    && bare.bytes().all(|b| b.is_ascii_digit())
                {
                    self.add_one(bare);
                }
            }
            self.dates.add_dicom(v);
        }
    }

    /// The ways a person's name is also written whole: given name first or last, spaced or
    /// joined (Amy Lee, LeeAmy, KestrelWanda), and the initial joined to the other name
    /// (wkestrel, as in user names). A short name (Bo Ng, Amy Lee) is found so, although its
    /// parts alone are too short to look for. The name's parts are split at `^` or, where a
    /// system wrote it otherwise, at a space, comma, full stop, underscore, slash,
    /// semicolon or tab.
    fn add_name_forms(&mut self, v: &str) {
        // The alphabetic group (before any `=`), as `^` gives its parts, else the marks.
        let alphabetic = v.split('=').next().unwrap_or("");
        let marks: &[char] = if alphabetic.contains('^') {
            &['^']
        } else {
            &[' ', ',', '.', '_', '/', ';', '\t']
        };
        let parts: Vec<&str> = alphabetic
            .split(marks)
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        let (Some(&a), Some(&b)) = (parts.first(), parts.get(1)) else {
            return;
        };
        for (x, y) in [(a, b), (b, a)] {
            for mark in [" ", "", ", ", ","] {
                self.add_one(&format!("{x}{mark}{y}"));
            }
            if let Some(initial) = x.chars().next().filter(|c| c.is_alphabetic()) {
                if y.chars().count() >= 3 {
                    self.add_one(&format!("{initial}{y}"));
                }
            }
        }
    }

    /// Record an address: whole, and each of its parts (street, town, region, postcode: at
    /// commas, semicolons, line breaks or `^`), so a town or a street written alone in kept
    /// text is found too. A patient's address is searched for in every kept text.
    pub fn add_address(&mut self, value: &str, patient: bool) {
        let mut one = Identifiers::default();
        one.add_values(value, false);
        for part in value.split([',', ';', '\n', '\r', '^', '\\']) {
            let part = part.trim();
            if part.chars().filter(|c| c.is_alphanumeric()).count() >= 4 {
                one.add_values(part, false);
                // The street without its number (12 Fake Street as Fake Street).
                let words: Vec<&str> = part.split_whitespace().collect();
                if words.len() > 2 && words[0].chars().all(|c| c.is_ascii_digit()) {
                    one.add_one(&words[1..].join(" "));
                }
                // A postcode after the town or region (Fakeshire FK1 2ZZ, IL 62704).
                if let [.., a, b] = words[..] {
                    if words.len() > 2 && b.chars().any(|c| c.is_ascii_digit()) {
                        one.add_values(&format!("{a} {b}"), false);
                    }
                }
            }
        }
        if patient {
            self.patient.extend(&one.values);
        }
        self.values.extend(&one.values);
        self.dates.extend(&one.dates);
    }

    /// Record a value that names the patient directly (also added to the general set).
    pub fn add_patient(&mut self, value: &str, is_person_name: bool) {
        let mut one = Identifiers::default();
        one.add_values(value, is_person_name);
        self.patient.extend(&one.values);
        self.values.extend(&one.values);
        self.patient_dates.extend(&one.dates);
        self.dates.extend(&one.dates);
    }

    fn add_one(&mut self, v: &str) {
        let v = v.trim().trim_matches('.');
        // Single letters (initials) would blank out every such letter in the text.
        if v.chars().filter(|c| c.is_alphanumeric()).count() >= 2 {
            // Umlauts and the like are also written out (Müller as Mueller).
            let spelled = spelled_out(v);
            for v in [Some(lower(v)), spelled.map(|s| lower(&s))]
                .into_iter()
                .flatten()
            {
                self.values.insert(v);
            }
        }
    }

    /// How many values, names and dates are known, counting each set a value is in (it grows
    /// whenever a value is learned, or learned to be the patient's).
    pub fn extent(&self) -> usize {
        self.values.set.len()
            + self.patient.set.len()
            + self.people.set.len()
            + self.dates.len()
            + self.patient_dates.len()
    }

    /// Merge another set's own values in (not those of its other patients).
    pub fn extend(&mut self, other: &Identifiers) {
        self.values.extend(&other.values);
        self.patient.extend(&other.patient);
        self.people.extend(&other.people);
        self.dates.extend(&other.dates);
        self.patient_dates.extend(&other.patient_dates);
    }

    /// Search free text for `others`' values too: those of the batch's other patients.
    pub fn with_others(mut self, others: Arc<Identifiers>) -> Identifiers {
        self.others = (!others.is_empty()).then_some(others);
        self
    }

    /// Number of distinct values.
    pub fn len(&self) -> usize {
        self.values.set.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.values.set.is_empty()
    }

    /// Blank out every whole-word occurrence of a known identifier of at least `min_len`
    /// characters, and every known date however it is written. Returns the text and how many
    /// were blanked.
    pub fn blank_known(&self, text: &str, min_len: usize) -> (String, usize) {
        let others = self.others.as_deref();
        blank(
            &[Some(&self.values), others.map(|o| &o.values)],
            &[Some(&self.dates), others.map(|o| &o.dates)],
            text,
            min_len,
        )
    }

    /// Like [`Identifiers::blank_known`], with only the values that name a person: the
    /// patients' names, IDs, birth dates and accession numbers, and every other person's name
    /// (a referring physician named in a kept annotation).
    pub fn blank_patient(&self, text: &str, min_len: usize) -> (String, usize) {
        let others = self.others.as_deref();
        blank(
            &[
                Some(&self.patient),
                Some(&self.people),
                others.map(|o| &o.patient),
                others.map(|o| &o.people),
            ],
            &[Some(&self.patient_dates), others.map(|o| &o.patient_dates)],
            text,
            min_len,
        )
    }

    /// Whether a whole value is one that names a patient.
    pub fn is_patient_value(&self, value: &str) -> bool {
        let v = lower(value.trim());
        self.patient.contains(&v)
            || self
                .others
                .as_deref()
                .is_some_and(|o| o.patient.contains(&v))
    }

    /// Blank out every whole-word occurrence of a known identifier, and every run of six or
    /// more digits (record numbers, dates). Returns the cleaned text and how many were blanked.
    pub fn scrub(&self, text: &str) -> (String, usize) {
        let (text, mut hits) = self.blank_known(text, 0);
        let mut chars: Vec<char> = text.chars().collect();
        // Long digit runs standing alone (possibly with separators such as 12/03/2024) are
        // blanked too; digits inside a word (a code such as T2W1234567) are not.
        let mut i = 0;
        while i < chars.len() {
            if chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_alphanumeric()) {
                let start = i;
                let mut digits = 0;
                while i < chars.len() && (chars[i].is_ascii_digit() || "-/.".contains(chars[i])) {
                    if chars[i].is_ascii_digit() {
                        digits += 1;
                    }
                    i += 1;
                }
                let alone = i == chars.len() || !chars[i].is_alphanumeric();
                if digits >= 6 && alone {
                    for c in &mut chars[start..i] {
                        *c = '*';
                    }
                    hits += 1;
                }
            } else {
                i += 1;
                while i < chars.len()
                    && chars[i].is_alphanumeric()
                    && chars[i - 1].is_alphanumeric()
                {
                    i += 1;
                }
            }
        }
        hits += blank_phone_numbers(&mut chars);
        hits += blank_addresses(&mut chars);
        (chars.into_iter().collect(), hits)
    }
}

/// Blank telephone and fax numbers written in groups ("(555) 010-9999", "+44 20 7946 0000",
/// "555 010 9999"): groups of at least two digits (a leading "+1" aside) joined by single
/// spaces, dots, dashes, slashes or brackets, seven digits or more in all. Returns how many.
fn blank_phone_numbers(chars: &mut [char]) -> usize {
    const JOINS: &str = " -./()";
    let mut hits = 0;
    let mut i = 0;
    while i < chars.len() {
        let starts = (chars[i].is_ascii_digit() || chars[i] == '+' || chars[i] == '(')
            && (i == 0 || !chars[i - 1].is_alphanumeric());
        if !starts {
            i += 1;
            continue;
        }
        let start = i;
        let mut groups: Vec<usize> = Vec::new();
        let mut end = i;
        let mut j = i;
        let plus = chars[j] == '+';
        if plus {
            j += 1;
        }
        loop {
            // At most two joining characters between groups ("), " or ") ").
            let mut joins = 0;
            while j < chars.len() && JOINS.contains(chars[j]) && joins < 2 {
                j += 1;
                joins += 1;
            }
            let g = j;
            while j < chars.len() && chars[j].is_ascii_digit() {
                j += 1;
            }
            if j == g {
                break;
            }
            if j < chars.len() && chars[j].is_alphabetic() {
                break; // "12mm": a measure, not a group
            }
            groups.push(j - g);
            end = j;
            if j < chars.len() && chars[j] == ')' {
                end = j + 1;
            }
        }
        let digits: usize = groups.iter().sum();
        let short_ok = groups
            .iter()
            .enumerate()
            .all(|(k, &n)| n >= 2 || (k == 0 && plus));
        if groups.len() >= 2 && digits >= 7 && short_ok {
            for c in &mut chars[start..end] {
                if !c.is_whitespace() {
                    *c = '*';
                }
            }
            hits += 1;
            i = end;
        } else {
            i += 1;
            while i < chars.len() && chars[i].is_alphanumeric() {
                i += 1;
            }
        }
    }
    hits
}

/// Blank e-mail addresses and web addresses (URLs) standing as words in `chars`: they name a
/// person or lead to their record whoever they are. Returns how many were blanked.
fn blank_addresses(chars: &mut [char]) -> usize {
    let mut hits = 0;
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && !chars[i].is_whitespace() {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect::<String>().to_lowercase();
        let word = word.trim_matches(|c: char| "()<>[]\"',;".contains(c));
        let email = word
            .split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'));
        let url = ["http://", "https://", "ftp://", "www."]
            .iter()
            .any(|p| word.starts_with(p));
        if email || url {
            for c in &mut chars[start..i] {
                *c = '*';
            }
            hits += 1;
        }
    }
    hits
}

/// The letters U+00C0 to U+017F (Latin-1 Supplement and Latin Extended-A) in lower case
/// without their accents, one byte each (0: kept as it is). Made with Python's unicodedata:
/// the first character of each letter's canonical decomposition; letters that have none by
/// the letter they are written with (æ a, ø o, ß s, ł l, đ d, þ t, œ o).
const LATIN_BASE: &[u8; 192] = b"aaaaaaaceeeeiiiidnooooo\0ouuuuytsaaaaaaaceeeeiiiidnooooo\0ouuuuyty\
aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiiiiijjkkkllllllllllnnnnnnnnnoooooooorrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";

/// One character as free text is compared: lower case (the first character of its mapping,
/// so the count of characters does not change), without accents: a name written without
/// them ("Mullerbrandt" for Müllerbrandt) or in capitals is still found.
pub(super) fn fold(c: char) -> char {
    let c = c.to_lowercase().next().unwrap_or(c);
    // Full-width forms (ＫＥＳＴＲＥＬ, １９４４年, as Japanese, Chinese and Korean text writes
    // Latin letters and digits) are the ASCII characters they stand for; the ideographic
    // space is a space.
    let c = match u32::from(c) {
        w @ 0xFF01..=0xFF5E => char::from_u32(w - 0xFEE0).unwrap_or(c),
        0x3000 => ' ',
        _ => c,
    };
    match u32::from(c)
        .checked_sub(0xC0)
        .map(|i| LATIN_BASE.get(i as usize))
    {
        Some(Some(&b)) if b != 0 => char::from(b),
        _ => c,
    }
}

/// A value as [`blank`] compares text: every character [`fold`]ed, and the marks that
/// stand between a name's parts or an ID's groups ([`gap`]) read as a space.
fn lower(v: &str) -> String {
    v.chars().map(|c| gap(fold(c))).collect()
}

/// The marks people and systems put between the parts of a name or an ID where DICOM puts
/// `^` or a space (KESTREL.WANDA, kestrel_wanda, KESTREL/WANDA, Kestrel;Wanda, a tab): read
/// as a space in values and text alike, one character for one, so "Lee_Amy" is found as
/// "lee amy" and byte offsets do not move.
fn gap(c: char) -> char {
    if matches!(c, '^' | '_' | '.' | '/' | ';' | '\t') {
        ' '
    } else {
        c
    }
}

/// `v` with umlauts and the like written out as they are without them (ä ae, ö oe, ü ue,
/// ß ss, æ ae, ø oe, å aa); `None` when it has none.
fn spelled_out(v: &str) -> Option<String> {
    if v.is_ascii() {
        return None;
    }
    let mut out = String::with_capacity(v.len() + 4);
    let mut any = false;
    for c in v.chars().flat_map(char::to_lowercase) {
        let two = match c {
            'ä' | 'æ' => "ae",
            'ö' | 'ø' => "oe",
            'ü' => "ue",
            'ß' => "ss",
            'å' => "aa",
            _ => {
                out.push(c);
                continue;
            }
        };
        any = true;
        out.push_str(two);
    }
    any.then_some(out)
}

/// Blank whole-word occurrences of the values of `sets` of at least `min_len` characters,
/// the longest one where several start at the same place ("Jane Doe" is one hit, not two),
/// overlapping ones all blanked. One pass of each set's automaton over the folded text finds
/// every occurrence (so the cost grows with the text and what is found, not with the number
/// of values known); those that start and end at a word's edge count. Then the dates of
/// `dates`, however they are written (see [`blank_dates`]).
fn blank(
    sets: &[Option<&Values>],
    dates: &[Option<&Dates>],
    text: &str,
    min_len: usize,
) -> (String, usize) {
    let mut chars: Vec<char> = text.chars().collect();
    let lower: Vec<char> = chars.iter().map(|&c| fold(c)).collect();
    let folded: String = lower.iter().map(|&c| gap(c)).collect();
    // Where each character starts in `folded`, to turn the automaton's byte offsets into
    // character indices.
    let mut starts: Vec<usize> = Vec::with_capacity(lower.len() + 1);
    let mut at = 0;
    for c in &lower {
        starts.push(at);
        at += c.len_utf8();
    }
    starts.push(at);
    let index = |byte: usize| starts.binary_search(&byte).ok();
    // How much text a match is, to weigh it against `min_len`: a character of a script
    // written without spaces counts twice, since an ideograph or a Hangul syllable says as
    // much as two Latin letters (李明, 김민 are whole names of two characters).
    let mut weight: Vec<usize> = Vec::with_capacity(lower.len() + 1);
    weight.push(0);
    for &c in &lower {
        let last = weight.last().copied().unwrap_or(0);
        weight.push(last + if unspaced(c) { 2 } else { 1 });
    }
    // Chinese, Japanese and Korean are written without spaces between words: a name there
    // is found where it starts and ends with such a character, whatever is next to it.
    let edge_before = |i: usize| {
        i == 0 || !lower[i - 1].is_alphanumeric() || unspaced(lower[i]) || unspaced(lower[i - 1])
    };
    let edge_after = |j: usize| {
        j == lower.len()
            || !lower[j].is_alphanumeric()
            || unspaced(lower[j])
            || unspaced(lower[j - 1])
    };
    // The end of the longest value found at each start.
    let mut longest: Vec<usize> = vec![0; lower.len()];
    for set in sets.iter().flatten() {
        let automaton = match set.automaton() {
            Ok(Some(a)) => a,
            Ok(None) => continue,
            Err(()) => {
                // Values that cannot be searched for are not missed: the text goes.
                let whole: String = chars
                    .iter()
                    .map(|&c| if c.is_whitespace() { c } else { '*' })
                    .collect();
                return (whole, 1);
            }
        };
        for m in automaton.find_overlapping_iter(&folded) {
            let (Some(i), Some(j)) = (index(m.start()), index(m.end())) else {
                continue;
            };
            if weight[j] - weight[i] >= min_len.max(1)
                && j > longest[i]
                && edge_before(i)
                && edge_after(j)
            {
                longest[i] = j;
            }
        }
    }
    let mut hits = 0;
    for (i, &j) in longest.iter().enumerate() {
        if j == 0 {
            continue;
        }
        let mut blanked = false;
        for c in &mut chars[i..j] {
            if !c.is_whitespace() && *c != '*' {
                *c = '*';
                blanked = true;
            }
        }
        hits += usize::from(blanked);
    }
    hits += blank_regrouped_numbers(sets, &lower, &mut chars);
    let dates: Vec<&Dates> = dates.iter().flatten().copied().collect();
    hits += blank_dates(&dates, &lower, &mut chars);
    (chars.into_iter().collect(), hits)
}

/// Numbers of six digits or more that one of `sets` knows, written in other groups ("5512 9345",
/// "551-293-45" for 55129345; a known ID's digits are among its values, see
/// [`Identifiers::add`]): two or more groups of digits in a row, joined by single spaces,
/// dashes, dots or slashes and standing alone, whose digits together are a known value, are
/// blanked. Returns how many.
fn blank_regrouped_numbers(sets: &[Option<&Values>], lower: &[char], chars: &mut [char]) -> usize {
    const MIN_DIGITS: usize = 6;
    const MAX_DIGITS: usize = 64;
    let known = |digits: &str| sets.iter().flatten().any(|s| s.contains(digits));
    let mut hits = 0;
    let mut i = 0;
    while i < lower.len() {
        if !lower[i].is_ascii_digit() || (i > 0 && lower[i - 1].is_alphanumeric()) {
            i += 1;
            continue;
        }
        // A run of groups from `i`: digits, then (one separator and digits) again and again,
        // ending where a group is followed by neither a separator and a digit nor a
        // non-letter (a group inside a word, 12ab, ends the run before it).
        let mut groups: Vec<(usize, usize)> = Vec::new();
        let mut j = i;
        loop {
            let from = j;
            while j < lower.len() && lower[j].is_ascii_digit() {
                j += 1;
            }
            if j == from || lower.get(j).is_some_and(|c| c.is_alphanumeric()) {
                break;
            }
            groups.push((from, j));
            let joined = matches!(lower.get(j), Some(' ' | '-' | '.' | '/'))
                && lower.get(j + 1).is_some_and(char::is_ascii_digit);
            if !joined {
                break;
            }
            j += 1;
        }
        // Any two or more of its groups in a row (the longest first) whose digits together
        // are a known value: "seen 12 5512 9345" holds 55129345.
        // (No known value is longer than MAX_DIGITS: the search stays linear in the text.)
        let mut a = 0;
        while a + 1 < groups.len() {
            let mut run: String = lower[groups[a].0..groups[a].1].iter().collect();
            let mut found = None;
            for (b, &(s, e)) in groups.iter().enumerate().skip(a + 1) {
                run.extend(&lower[s..e]);
                if run.len() > MAX_DIGITS {
                    break;
                }
                if run.len() >= MIN_DIGITS && known(&run) {
                    found = Some(b);
                }
            }
            match found {
                Some(b) => {
                    for c in &mut chars[groups[a].0..groups[b].1] {
                        if !c.is_whitespace() && *c != '*' {
                            *c = '*';
                        }
                    }
                    hits += 1;
                    a = b + 1;
                }
                None => a += 1,
            }
        }
        i = groups.last().map_or(i + 1, |g| g.1.max(i + 1));
    }
    hits
}

/// Whether `c` is of a script written without spaces between words: CJK ideographs, kana
/// (full and half width) and Hangul syllables.
fn unspaced(c: char) -> bool {
    matches!(u32::from(c),
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF
        | 0xFF66..=0xFF9F | 0xAC00..=0xD7AF | 0x20000..=0x3134F)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e_mail_and_web_addresses_are_blanked_in_cleaned_text() {
        let ids = Identifiers::default();
        let (out, hits) = ids.scrub("sent by jane.fake@example.invalid, see https://pacs.invalid/p?id=5 or www.fake.invalid");
        assert_eq!(hits, 3, "{out}");
        assert!(
            !out.contains("jane") && !out.contains("pacs") && !out.contains("www"),
            "{out}"
        );
        assert_eq!(ids.scrub("T1 @ 3T, 5 mm").0, "T1 @ 3T, 5 mm");
    }

    #[test]
    fn telephone_and_fax_numbers_in_groups_are_blanked_in_cleaned_text() {
        let ids = Identifiers::default();
        for text in [
            "call (555) 010-9999 today",
            "fax 555 010 9999",
            "tel +44 20 7946 0000",
            "+1 555.010.9999",
        ] {
            let (out, hits) = ids.scrub(text);
            assert_eq!(hits, 1, "{text}: {out}");
            assert!(!out.contains("9999") && !out.contains("0000"), "{out}");
        }
        for text in [
            "120 kVp 250 mAs",
            "512 x 512, 3 mm",
            "slices 12 34 56 7",
            "3 4 5 6 7 8 9",
        ] {
            assert_eq!(ids.scrub(text).0, text);
        }
    }

    #[test]
    fn values_of_every_length_are_found_whole_and_longest_first() {
        // 248 names, each a longer beginning of the same letters, and text that holds some
        // as whole words, some inside words, some overlapping.
        let letters = "kestrelwandaharrowmoss".repeat(12);
        let mut ids = Identifiers::default();
        for n in 3..251 {
            ids.add_patient(&letters[..n], true);
        }
        let text = "kes kestrel kestrelw xkestrel kestrelwandaharrow, kestrelwandaharrowmossk";
        let (out, hits) = ids.blank_patient(text, 3);
        assert_eq!(
            out,
            "*** ******* ******** xkestrel ******************, ***********************"
        );
        assert_eq!(hits, 5);
        // Below the shortest length asked for, nothing is looked for.
        assert_eq!(ids.blank_patient("kes", 4).0, "kes");
        // The same over a long text: every occurrence, nothing else.
        let long = "kestrel and moss; ".repeat(50_000);
        let (out, hits) = ids.blank_patient(&long, 3);
        assert_eq!(hits, 50_000);
        assert_eq!(out, "******* and moss; ".repeat(50_000));
    }

    #[test]
    fn names_are_found_with_or_without_their_accents() {
        let mut ids = Identifiers::default();
        ids.add("Müllerbrandt^Jürgen", true);
        ids.add("Ødegård^Åse", true);
        for (text, left) in [
            ("seen by MÜLLERBRANDT", "seen by "),
            ("Mullerbrandt, J.", ", J."),
            ("pat. Muellerbrandt Juergen", "pat.  "),
            ("Odegard Ase", " "),
            ("Oedegaard", ""),
        ] {
            let (out, hits) = ids.scrub(text);
            assert!(hits > 0, "{text}");
            assert_eq!(out.replace('*', ""), left, "{text} → {out}");
            assert_eq!(out.chars().count(), text.chars().count());
        }
        // Other words with those letters are kept.
        assert_eq!(ids.scrub("Müller lane").0, "Müller lane");
    }

    #[test]
    fn names_in_scripts_without_spaces_are_found_inside_words() {
        let mut ids = Identifiers::default();
        ids.add("Yamada^Tarou=山田^太郎=やまだ^たろう", true);
        ids.add("Hong^Gildong=홍^길동", true);
        for (text, left) in [
            ("山田太郎様 胸部CT", "様 胸部CT"),
            ("やまだたろう 造影", " 造影"),
            ("홍길동님 검사", "님 검사"),
        ] {
            let (out, _) = ids.scrub(text);
            assert_eq!(out.replace('*', ""), left, "{text} → {out}");
            assert_eq!(out.chars().count(), text.chars().count());
        }
        // Latin names are still whole words only.
        assert_eq!(ids.scrub("Yamadas").0, "Yamadas");
    }

    #[test]
    fn ids_are_found_without_their_separators() {
        let mut ids = Identifiers::default();
        ids.add("A-77123", false);
        assert_eq!(
            ids.scrub("id A77123, also A-77123").0,
            "id ******, also *******"
        );
        for text in ["A 77123", "A.77123", "A/77123", "A_77123"] {
            assert_eq!(ids.blank_patient(text, 4).0, text, "not the patient's");
            assert_eq!(ids.scrub(text).0.replace(['*', ' '], ""), "", "{text}");
        }
        // A number without its leading zeros; not when too little of it is left.
        ids.add_patient("0012345", false);
        ids.add_patient("000123", false);
        assert_eq!(ids.blank_patient("MRN 12345, 123", 4).0, "MRN *****, 123");
        // Short ones are not compacted (1-2 would blank every "12").
        ids.add("1-2", false);
        assert_eq!(ids.scrub("12 mm").0, "12 mm");
    }

    #[test]
    fn an_ids_digits_are_found_in_other_groups() {
        let mut ids = Identifiers::default();
        ids.add_patient("MRN-55129345", false);
        for text in [
            "chart 5512 9345 seen",
            "chart 551-293-45 seen",
            "chart 55.12.93.45 seen",
            "chart 5512/9345 seen",
            "seen 12 5512 9345",
        ] {
            let out = ids.blank_patient(text, 4).0;
            assert!(
                !out.contains("9345") && !out.contains("93-45") && !out.contains("93.45"),
                "{text} → {out}"
            );
        }
        // Other numbers, and the digits inside a longer number or a word, stay.
        for text in [
            "5512 9346",
            "5512 93451",
            "x5512 9345",
            "5512 9345mm",
            "5512  9345",
        ] {
            assert_eq!(ids.blank_patient(text, 4).0, text, "{text}");
        }
    }

    #[test]
    fn names_with_hyphens_or_apostrophes_are_found_in_part() {
        let mut ids = Identifiers::default();
        ids.add("Smith-Jones^Ann", true);
        ids.add("O'Brien^Li-Na", true);
        for (text, left) in [
            ("Mrs Jones", "Mrs "),
            ("ann smith jones", "  "),
            ("SmithJones", ""),
            ("seen by Obrien", "seen by "),
            ("O’Brien", ""),
            ("brien", ""),
        ] {
            let (out, _) = ids.scrub(text);
            assert_eq!(out.replace('*', ""), left, "{text} → {out}");
        }
        // Parts of fewer than three letters are not looked for alone (they are everywhere).
        assert_eq!(ids.scrub("na o li").0, "na o li");
        assert_eq!(ids.scrub("Li Na").0.replace('*', ""), " ");
    }

    #[test]
    fn names_in_any_order_and_case_are_blanked() {
        let mut ids = Identifiers::default();
        ids.add("FAKEDOE^JANEFAKE", true);
        let (out, hits) = ids.scrub("CT for janefake fakedoe, follow-up");
        assert_eq!(out, "CT for ******** *******, follow-up");
        assert_eq!(hits, 1, "a name written whole is one hit");
    }

    #[test]
    fn short_names_joined_names_and_names_with_other_marks_are_found() {
        let found = |name: &str, text: &str| {
            let mut ids = Identifiers::default();
            ids.add_patient(name, true);
            ids.blank_patient(text, 4).0
        };
        // Short names, whose parts alone are too short to look for, written whole.
        assert_eq!(
            found("LEE^AMY", "seen by Amy Lee today"),
            "seen by *** *** today"
        );
        assert_eq!(found("NG^BO", "Bo Ng, 2nd opinion"), "** **, 2nd opinion");
        assert_eq!(found("LEE^AMY", "Lee, Amy"), "**** ***");
        assert_eq!(found("LEE^AMY", "lee_amy.jpg"), "*******.jpg");
        // ... but not their parts alone, which are ordinary words.
        assert_eq!(found("LEE^AMY", "a lee shore"), "a lee shore");
        // Written in full-width letters, as Japanese, Chinese and Korean text writes them.
        assert_eq!(
            found("KESTREL^WANDA", "患者 ＫＥＳＴＲＥＬ　Ｗａｎｄａ様"),
            "患者 *******\u{3000}*****様"
        );
        // Joined, and the initial joined to the family name (as in user names).
        assert_eq!(found("KESTREL^WANDA", "by KestrelWanda"), "by ************");
        assert_eq!(found("KESTREL^WANDA", "user wkestrel"), "user ********");
        // A Patient's Name written with other marks than `^`.
        for written in [
            "KESTREL.WANDA",
            "KESTREL_WANDA",
            "KESTREL/WANDA",
            "KESTREL;WANDA",
            "KESTREL\tWANDA",
        ] {
            assert_eq!(
                found(written, "Dr Wanda Kestrel"),
                "Dr ***** *******",
                "{written:?}"
            );
            assert_eq!(found(written, "TY, WANDA"), "TY, *****", "{written:?}");
        }
        // Two-character Chinese and Korean names, whole or family name first.
        assert_eq!(found("李^明=李^明", "患者李明复查"), "患者**复查");
        assert_eq!(found("KIM^MIN=김^민", "김민 환자"), "** 환자");
        assert_eq!(
            found("李^明=李^明", "李"),
            "李",
            "one character alone is not a name"
        );
    }

    #[test]
    fn the_parts_of_an_address_are_found_alone() {
        let mut ids = Identifiers::default();
        ids.add_address(
            "12 Fakewood Lane, Kestrelton, Fakeshire FK1 2ZZ, 62704",
            true,
        );
        let (out, _) = ids.blank_patient(
            "moved from Kestrelton to Fakewood Lane; post code FK1 2ZZ, zip 62704; lane 12",
            4,
        );
        assert_eq!(
            out,
            "moved from ********** to ******** ****; post code *** ***, zip *****; lane 12"
        );
    }

    #[test]
    fn the_number_of_an_id_is_found_alone() {
        let mut ids = Identifiers::default();
        ids.add_patient("MRN-55129", false);
        ids.add_patient("ACC-2024-0042", false);
        ids.add_patient("S0077123", false);
        let (out, _) = ids.blank_patient(
            "chart 55129, acc 20240042, study 77123; 2024 and 0042 kept",
            4,
        );
        assert_eq!(
            out,
            "chart *****, acc ********, study *****; 2024 and 0042 kept"
        );
    }

    #[test]
    fn other_patients_values_are_blanked_too() {
        let mut mine = Identifiers::default();
        mine.add_patient("FAKEDOE^JANE", true);
        let mut others = Identifiers::default();
        others.add_patient("FAKEROE^RICHARD", true);
        others.add("FAKE GENERAL", false);
        let ids = mine.with_others(Arc::new(others));
        let (out, hits) = ids.scrub("Jane compared with Richard FakeRoe at fake general");
        assert_eq!(out, "**** compared with ******* ******* at **** *******");
        assert_eq!(hits, 3);
        let (out, _) = ids.blank_patient("for richard", 5);
        assert_eq!(out, "for *******");
        assert!(ids.is_patient_value(" FAKEROE "));
        assert!(!ids.is_patient_value("ROE"));
    }

    #[test]
    fn overlapping_values_are_all_blanked() {
        let mut ids = Identifiers::default();
        ids.add("JANE DOE", false);
        ids.add("DOE SMITH", false);
        let (out, hits) = ids.scrub("jane doe smith, seen");
        assert_eq!(out, "**** *** *****, seen");
        assert_eq!(hits, 2);
    }

    #[test]
    fn a_value_whose_lower_case_is_longer_is_still_found() {
        // 'İ' lower-cases to two characters; text and values are compared a character at a time.
        let mut ids = Identifiers::default();
        ids.add("İNCE^AYŞE", true);
        let (out, _) = ids.scrub("for Ayşe İnce");
        assert_eq!(out, "for **** ****");
    }

    #[test]
    fn whole_words_only() {
        let mut ids = Identifiers::default();
        ids.add("LI^AN", true);
        let (out, _) = ids.scrub("Lipid scan of Li");
        assert_eq!(out, "Lipid scan of **");
    }

    #[test]
    fn codes_with_digits_inside_words_are_kept() {
        let ids = Identifiers::default();
        let (out, hits) = ids.scrub("T2W_TSE ABC1234567 seq 1234567");
        assert_eq!(out, "T2W_TSE ABC1234567 seq *******");
        assert_eq!(hits, 1);
    }

    #[test]
    fn dates_and_record_numbers_are_blanked() {
        let mut ids = Identifiers::default();
        ids.add("19700402", false);
        let (out, hits) = ids.scrub("born 1970-04-02, MRN 8812345, 3 mm");
        assert_eq!(out, "born **********, MRN *******, 3 mm");
        assert_eq!(hits, 2);
        for text in [
            "2 April 1970",
            "Apr 2, 1970",
            "APRIL 02 1970",
            "02-APR-1970",
        ] {
            assert_eq!(ids.scrub(text).0.replace(['*', ' '], ""), "", "{text}");
        }
        assert_eq!(ids.scrub("2 April 1971").0, "2 April 1971");
    }

    #[test]
    fn the_birth_date_is_found_in_any_kept_text_and_other_dates_where_text_is_cleaned() {
        let mut ids = Identifiers::default();
        ids.add_patient("19440302", false);
        ids.add("20240105", false);
        let (out, hits) = ids.blank_patient("DOB 2nd Mar 44, CT 5 Jan 2024", 4);
        assert_eq!(out, "DOB *** *** **, CT 5 Jan 2024");
        assert_eq!(hits, 1);
        let (out, hits) = ids.blank_known("DOB 3/2/1944, CT 5 Jan 2024", 0);
        assert_eq!(out, "DOB ********, CT * *** ****");
        assert_eq!(hits, 2);
        // Another patient's birth date too.
        let mut other = Identifiers::default();
        other.add_patient("19500607", false);
        let ids = ids.with_others(Arc::new(other));
        assert_eq!(ids.blank_patient("born 7.6.1950", 4).0, "born ********");
    }
}
