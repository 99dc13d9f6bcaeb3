//! Cleaning free text: blanking out identifying values found elsewhere in the same object or
//! study (names in any order or case, IDs, dates), and number runs that look like record
//! numbers or dates. Replacements keep the text's length so VR length limits still hold.

use std::collections::BTreeSet;

/// Identifying values to look for in free text.
#[derive(Debug, Clone, Default)]
pub struct Identifiers {
    values: BTreeSet<String>,
    /// The subset that names the patient directly (name, IDs, birth date, accession number):
    /// searched for in every kept text, not only in cleaned ones.
    patient: BTreeSet<String>,
}

impl Identifiers {
    /// Record the value of an attribute the profile removes or replaces.
    ///
    /// Person names are split into their components (family, given, …) so that a name
    /// written in another order or case is still found.
    pub fn add(&mut self, value: &str, is_person_name: bool) {
        for v in value.split('\\') {
            let v = v.trim();
            if is_person_name {
                for part in v.split(['^', '=', ' ', ',']) {
                    self.add_one(part);
                }
            }
            self.add_one(&v.replace('^', " "));
            if let Some(forms) = date_forms(v) {
                for f in forms {
                    self.add_one(&f);
                }
            }
        }
    }

    /// Record a value that names the patient directly (also added to the general set).
    pub fn add_patient(&mut self, value: &str, is_person_name: bool) {
        let mut one = Identifiers::default();
        one.add(value, is_person_name);
        self.patient.extend(one.values.iter().cloned());
        self.values.extend(one.values);
    }

    fn add_one(&mut self, v: &str) {
        let v = v.trim().trim_matches('.');
        // Single letters (initials) would blank out every such letter in the text.
        if v.chars().filter(|c| c.is_alphanumeric()).count() >= 2 {
            self.values.insert(v.to_lowercase());
        }
    }

    /// Merge another set in.
    pub fn extend(&mut self, other: &Identifiers) {
        self.values.extend(other.values.iter().cloned());
        self.patient.extend(other.patient.iter().cloned());
    }

    /// Number of distinct values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Blank out every whole-word occurrence of a known identifier of at least `min_len`
    /// characters. Returns the text and how many were blanked.
    pub fn blank_known(&self, text: &str, min_len: usize) -> (String, usize) {
        blank(&self.values, text, min_len)
    }

    /// Like [`Identifiers::blank_known`], with only the values that name the patient.
    pub fn blank_patient(&self, text: &str, min_len: usize) -> (String, usize) {
        blank(&self.patient, text, min_len)
    }

    /// Whether a whole value is one that names the patient.
    pub fn is_patient_value(&self, value: &str) -> bool {
        self.patient.contains(&value.trim().to_lowercase())
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
        (chars.into_iter().collect(), hits)
    }
}

/// Blank whole-word occurrences of `values` (lower case) of at least `min_len` characters.
fn blank(values: &BTreeSet<String>, text: &str, min_len: usize) -> (String, usize) {
    let mut chars: Vec<char> = text.chars().collect();
    let lower: Vec<char> = chars
        .iter()
        .map(|c| c.to_lowercase().next().unwrap_or(*c))
        .collect();
    let mut hits = 0;
    // Longest first, so "Jane Doe" is blanked as one before "Doe" alone.
    let mut needles: Vec<Vec<char>> = values
        .iter()
        .filter(|v| v.chars().count() >= min_len)
        .map(|v| v.chars().collect())
        .collect();
    needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
    for needle in &needles {
        let n = needle.len();
        if n == 0 || n > lower.len() {
            continue;
        }
        let mut i = 0;
        while i + n <= lower.len() {
            let before_ok = i == 0 || !lower[i - 1].is_alphanumeric();
            let after_ok = i + n == lower.len() || !lower[i + n].is_alphanumeric();
            if before_ok && after_ok && lower[i..i + n] == needle[..] && chars[i] != '*' {
                for c in &mut chars[i..i + n] {
                    if !c.is_whitespace() {
                        *c = '*';
                    }
                }
                hits += 1;
                i += n;
            } else {
                i += 1;
            }
        }
    }
    (chars.into_iter().collect(), hits)
}

/// The usual ways a DICOM date `YYYYMMDD` is written in free text.
fn date_forms(v: &str) -> Option<Vec<String>> {
    if v.len() < 8 || !v.as_bytes().iter().take(8).all(u8::is_ascii_digit) {
        return None;
    }
    let (y, m, d) = (v.get(0..4)?, v.get(4..6)?, v.get(6..8)?);
    Some(vec![
        format!("{y}{m}{d}"),
        format!("{y}-{m}-{d}"),
        format!("{y}/{m}/{d}"),
        format!("{d}.{m}.{y}"),
        format!("{d}/{m}/{y}"),
        format!("{m}/{d}/{y}"),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_any_order_and_case_are_blanked() {
        let mut ids = Identifiers::default();
        ids.add("FAKEDOE^JANEFAKE", true);
        let (out, hits) = ids.scrub("CT for janefake fakedoe, follow-up");
        assert_eq!(out, "CT for ******** *******, follow-up");
        assert_eq!(hits, 2);
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
    }
}
