//! Ages over 89, aggregated into one category, "90 or older", wherever an age is kept: in an
//! Age String (Patient's Age `093Y` becomes `090Y`) and in free text ("a 93-year-old",
//! "aged 93", "93 y/o" read "90+"). HIPAA's Safe Harbor (45 CFR 164.514(b)(2)(i)(C)) asks for
//! this, and it is what a reader expects of any preset that keeps ages; only an explicit
//! per-attribute override (`--action 0010,1010=K`) keeps such an age as it was.

/// The Age String of "90 or older".
pub const AGGREGATED: &str = "090Y";

/// What an age over 89 reads as in free text.
const AGGREGATED_TEXT: &str = "90+";

/// Days in 90 years, and the same age in weeks and months.
const DAYS_90Y: u32 = 32_872;
const WEEKS_90Y: u32 = 4_696;
const MONTHS_90Y: u32 = 1_080;

/// The age in an Age String (`nnnD`, `nnnW`, `nnnM` or `nnnY`), when it is 90 years or more.
pub fn is_over_89(value: &str) -> bool {
    let v = value.trim_matches(|c: char| c == ' ' || c == '\0');
    let (digits, unit) = v.split_at(v.len().saturating_sub(1));
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 6 {
        return false;
    }
    let Ok(n) = digits.parse::<u32>() else {
        return false;
    };
    match unit {
        "Y" | "y" => n >= 90,
        "M" | "m" => n >= MONTHS_90Y,
        "W" | "w" => n >= WEEKS_90Y,
        "D" | "d" => n >= DAYS_90Y,
        _ => false,
    }
}

/// An Age String value (possibly several, `\`-separated) with every age over 89 aggregated.
/// Returns the value and how many ages changed.
pub fn aggregate_age_string(value: &str) -> (String, usize) {
    let mut changed = 0;
    let parts: Vec<&str> = value
        .split('\\')
        .map(|v| {
            if is_over_89(v) {
                changed += 1;
                AGGREGATED
            } else {
                v
            }
        })
        .collect();
    (parts.join("\\"), changed)
}

/// Words after a number that make it an age in years ("93 y/o", "93-year-old", "93 Jahre").
const UNITS_AFTER: &[&str] = &[
    "y",
    "yo",
    "y/o",
    "y.o",
    "yr",
    "yrs",
    "year",
    "years",
    "jahr",
    "jahre",
    "jährig",
    "jährige",
    "jähriger",
    "ans",
    "an",
    "año",
    "años",
    "anos",
    "anni",
    "jaar",
    "år",
    "lat",
    "let",
    "歳",
    "才",
    "岁",
    "歲",
    "세",
    "살",
];

/// Words before a number that make it an age ("aged 93", "Age: 93", "âge 93").
const WORDS_BEFORE: &[&str] = &[
    "age", "aged", "âge", "agé", "âgé", "âgée", "alter", "edad", "età", "eta", "leeftijd", "idade",
    "ålder", "wiek",
];

/// Free text with every age over 89 written as "90+" (and an Age String inside the text as
/// `090Y`). Returns the text and how many ages changed.
pub fn aggregate_in_text(text: &str) -> (String, usize) {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut changed = 0;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let starts_number = c.is_ascii_digit()
            && (i == 0 || !(chars[i - 1].is_alphanumeric() || ".,".contains(chars[i - 1])));
        if !starts_number {
            out.push(c);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        let digits: String = chars[start..i].iter().collect();
        let number_ends = i == chars.len()
            || !(chars[i] == '.' || chars[i] == ',')
            || chars.get(i + 1).is_none_or(|c| !c.is_ascii_digit());
        let n: u32 = if digits.len() <= 4 && number_ends {
            digits.parse().unwrap_or(0)
        } else {
            0
        };
        // An Age String written into text ("093Y", "1100M").
        let unit = chars.get(i).copied();
        let after_unit = chars.get(i + 1).copied();
        if let Some(u) = unit.filter(|u| "YMWD".contains(*u)) {
            if digits.len() >= 3
                && after_unit.is_none_or(|c| !c.is_alphanumeric())
                && is_over_89(&format!("{digits}{u}"))
            {
                out.push_str(AGGREGATED);
                changed += 1;
                i += 1;
                continue;
            }
        }
        if (90..=150).contains(&n) && (unit_follows(&chars, i) || word_precedes(&chars, start)) {
            out.push_str(AGGREGATED_TEXT);
            changed += 1;
        } else {
            out.push_str(&digits);
        }
    }
    (out, changed)
}

/// Whether a unit of age in years follows position `i` (after spaces or a hyphen).
fn unit_follows(chars: &[char], mut i: usize) -> bool {
    let mut gap = 0;
    while i < chars.len() && (chars[i] == ' ' || chars[i] == '-') && gap < 2 {
        i += 1;
        gap += 1;
    }
    let word_start = i;
    while i < chars.len() && (chars[i].is_alphabetic() || chars[i] == '/' || chars[i] == '.') {
        i += 1;
        // CJK units are one character, written against the next word.
        if !chars[i - 1].is_ascii() && is_cjk_unit(chars[i - 1]) {
            break;
        }
    }
    if chars.get(i).is_some_and(|c| c.is_alphanumeric()) && !is_cjk_unit(chars[i - 1]) {
        return false; // a code such as 95Y2, not a unit
    }
    let word: String = chars[word_start..i]
        .iter()
        .flat_map(|c| c.to_lowercase())
        .collect();
    let word = word.trim_end_matches('.');
    UNITS_AFTER.contains(&word)
}

fn is_cjk_unit(c: char) -> bool {
    matches!(c, '歳' | '才' | '岁' | '歲' | '세' | '살')
}

/// Whether a word that names an age precedes position `start` (after spaces, ':' or '=').
fn word_precedes(chars: &[char], start: usize) -> bool {
    let mut i = start;
    let mut gap = 0;
    while i > 0 && matches!(chars[i - 1], ' ' | ':' | '=') && gap < 3 {
        i -= 1;
        gap += 1;
    }
    let end = i;
    while i > 0 && chars[i - 1].is_alphabetic() {
        i -= 1;
    }
    let word: String = chars[i..end]
        .iter()
        .flat_map(|c| c.to_lowercase())
        .collect();
    WORDS_BEFORE.contains(&word.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_strings_of_90_years_or_more_become_090y() {
        for v in ["090Y", "093Y", "105Y", "1080M", "4700W", "33000D", "093Y "] {
            assert!(is_over_89(v), "{v}");
        }
        for v in [
            "089Y", "053Y", "1079M", "011M", "4695W", "300D", "", "Y", "93", "ABCY",
        ] {
            assert!(!is_over_89(v), "{v}");
        }
        assert_eq!(aggregate_age_string("093Y"), ("090Y".into(), 1));
        assert_eq!(aggregate_age_string("053Y"), ("053Y".into(), 0));
        assert_eq!(aggregate_age_string("095Y\\012M"), ("090Y\\012M".into(), 1));
    }

    #[test]
    fn ages_over_89_in_text_read_90_plus() {
        for (text, want) in [
            ("93 yo male, chest pain", "90+ yo male, chest pain"),
            ("a 93-year-old woman", "a 90+-year-old woman"),
            ("Patient aged 97 with fall", "Patient aged 90+ with fall"),
            ("Age: 102", "Age: 90+"),
            ("F 91 y/o", "F 90+ y/o"),
            ("Pat. 94 Jahre", "Pat. 90+ Jahre"),
            ("femme de 92 ans", "femme de 90+ ans"),
            ("age 095Y", "age 090Y"),
            ("AGE=93", "AGE=90+"),
            ("92歳 女性", "90+歳 女性"),
            ("93세", "90+세"),
        ] {
            let (out, n) = aggregate_in_text(text);
            assert_eq!(out, want, "{text}");
            assert_eq!(n, 1, "{text}");
        }
    }

    #[test]
    fn other_numbers_and_younger_ages_stay() {
        for text in [
            "89 yo male",
            "age 45",
            "93 mm lesion",
            "kVp 120, 93 slices",
            "1993 year of the scanner",
            "T2 93ms",
            "series 93",
            "dose 93.5 years", // a decimal is not an age in years
            "CT 95Y2",
            "a 12-year-old",
        ] {
            assert_eq!(aggregate_in_text(text), (text.to_string(), 0), "{text}");
        }
    }
}
