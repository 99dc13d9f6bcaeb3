//! Dates as people write them in free text: found by their meaning, not by a list of
//! spellings, so that a known date (a birth date, an exam date) is blanked however it is
//! written: 1944-03-02, 2/3/1944, 02.03.44, 19440302, 2nd March 1944, March 2, 1944,
//! 02-MAR-44, 2. März 1944, 2 de marzo de 1944, 02031944, 440302, 2.III.1944,
//! 1944年3月2日, 1944년 3월 2일, 1944 Mar 2, 2 Mar '44, 1944-062 (the 62nd day), and in
//! Japan's eras: 昭和19年3月2日, S19.3.2, 平成元年1月8日.

use std::collections::BTreeSet;
use std::ops::Range;

/// A calendar date: (year, month, day).
pub(super) type Ymd = (u16, u8, u8);

/// Known dates, to be found in text.
#[derive(Debug, Clone, Default)]
pub(super) struct Dates {
    full: BTreeSet<Ymd>,
    /// The same with the year's last two digits (for dates written 02.03.44).
    short: BTreeSet<Ymd>,
}

impl Dates {
    /// Record the date a DICOM DA (or the start of a DT) value holds; false when it is none.
    pub(super) fn add_dicom(&mut self, v: &str) -> bool {
        let b = v.as_bytes();
        if b.len() < 8 || !b[..8].iter().all(u8::is_ascii_digit) {
            return false;
        }
        let num = |r: Range<usize>| v.get(r).and_then(|s| s.parse::<u16>().ok());
        match (num(0..4), num(4..6), num(6..8)) {
            (Some(y), Some(m), Some(d)) if valid(m, d) => {
                self.insert((y, m as u8, d as u8));
                true
            }
            _ => false,
        }
    }

    fn insert(&mut self, (y, m, d): Ymd) {
        self.full.insert((y, m, d));
        self.short.insert((y % 100, m, d));
    }

    /// Add another set's dates.
    pub(super) fn extend(&mut self, other: &Dates) {
        self.full.extend(&other.full);
        self.short.extend(&other.short);
    }

    /// How many dates are known.
    pub(super) fn len(&self) -> usize {
        self.full.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.full.is_empty()
    }

    fn knows(&self, (year, m, d): Reading) -> bool {
        match year {
            Year::Full(y) => self.full.contains(&(y, m, d)),
            Year::Short(y) => self.short.contains(&(y, m, d)),
        }
    }
}

/// Blank (with `*`, keeping the length) every date in `lower` (the text, a folded character
/// for each of `chars`: see `scrub::fold`) that one of `sets` knows. Returns how many.
pub(super) fn blank_dates(sets: &[&Dates], lower: &[char], chars: &mut [char]) -> usize {
    // Every date has digits (its year at least): most texts have none and are not read.
    if sets.iter().all(|s| s.is_empty()) || lower.iter().filter(|c| c.is_ascii_digit()).count() < 2
    {
        return 0;
    }
    let mut hits = 0;
    for (span, readings) in dates_in(lower) {
        if readings.iter().any(|r| sets.iter().any(|s| s.knows(*r))) {
            let mut blanked = false;
            for c in &mut chars[span] {
                if !c.is_whitespace() && *c != '*' {
                    *c = '*';
                    blanked = true;
                }
            }
            hits += usize::from(blanked);
        }
    }
    hits
}

/// A date as read from text: (year, month, day).
type Reading = (Year, u8, u8);

/// A year as written: in full, or its last two digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Year {
    Full(u16),
    Short(u16),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Digits: their value and how many.
    Number(u32, usize),
    /// Digits with an ordinal ending (2nd, 1er, 3rd).
    Ordinal(u32),
    Month(u8),
    /// A word that joins a date's parts (of, de, del).
    Link,
    /// Any other word.
    Word,
    /// One punctuation character.
    Punct(char),
    /// A Japanese era (昭和 or S, 平成 or H…): the year before its first.
    Era(u16),
}

/// Japan's eras since the calendar became the Gregorian one (1873): the name, its letter
/// (folded), and the year before its first year (Showa 1 is 1926).
const ERAS: [(&str, char, u16); 5] = [
    ("明治", 'm', 1867),
    ("大正", 't', 1911),
    ("昭和", 's', 1925),
    ("平成", 'h', 1988),
    ("令和", 'r', 2018),
];

/// The era that `lower` begins at `i` (its name, or its letter right before the year's
/// digits and not inside a word), and how many characters it takes.
fn era_at(lower: &[char], i: usize) -> Option<(u16, usize)> {
    for (name, letter, base) in ERAS {
        let n = name.chars().count();
        if lower.len() >= i + n && lower[i..i + n].iter().copied().eq(name.chars()) {
            return Some((base, n));
        }
        let alone = i == 0 || !lower[i - 1].is_alphanumeric();
        if lower[i] == letter && alone && lower.get(i + 1).is_some_and(char::is_ascii_digit) {
            return Some((base, 1));
        }
    }
    None
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
}

/// Month names (folded: lower case, no accents) in English, German, French, Spanish,
/// Italian, Dutch and Portuguese. A word is a month when it is one of these or begins one
/// (three letters at least) and every name it begins is of the same month ("mar", "sept").
const MONTH_NAMES: [&[&str]; 12] = [
    &[
        "january", "januar", "janvier", "enero", "gennaio", "januari", "janeiro",
    ],
    &[
        "february",
        "februar",
        "fevrier",
        "febrero",
        "febbraio",
        "februari",
        "fevereiro",
    ],
    &["march", "marz", "maerz", "mars", "marzo", "maart", "marco"],
    &["april", "avril", "abril", "aprile"],
    &["may", "mai", "mayo", "maggio", "mei", "maio"],
    &["june", "juni", "juin", "junio", "giugno", "junho"],
    &["july", "juli", "juillet", "julio", "luglio", "julho"],
    &["august", "aout", "agosto", "augustus"],
    &[
        "september",
        "septembre",
        "septiembre",
        "setiembre",
        "settembre",
        "setembro",
    ],
    &[
        "october", "oktober", "octobre", "octubre", "ottobre", "outubro",
    ],
    &["november", "novembre", "noviembre", "novembro"],
    &[
        "december",
        "dezember",
        "decembre",
        "diciembre",
        "dicembre",
        "dezembro",
    ],
];

/// The months in Roman numerals, folded.
const ROMAN_MONTHS: [&str; 12] = [
    "i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii",
];

/// Whether `c` is one of the marks of a date in Chinese, Japanese and Korean.
fn cjk_mark(c: char) -> bool {
    matches!(c, '年' | '月' | '日' | '년' | '월' | '일')
}

/// The month and day of the `n`th day of `year` (1 for January 1st).
fn from_ordinal(year: u32, n: u32) -> Option<(u32, u32)> {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let lengths = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let mut left = n;
    for (m, len) in lengths.iter().enumerate() {
        if left >= 1 && left <= *len {
            return Some((m as u32 + 1, left));
        }
        left = left.checked_sub(*len)?;
    }
    None
}

fn month_of(word: &str) -> Option<u8> {
    if word.chars().count() < 3 {
        return None;
    }
    let mut found = None;
    for (i, names) in MONTH_NAMES.iter().enumerate() {
        if names.iter().any(|n| n.starts_with(word)) {
            if found.is_some() {
                return None;
            }
            found = Some(i as u8 + 1);
        }
    }
    found
}

fn tokens(lower: &[char]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lower.len() {
        let c = lower[i];
        let start = i;
        if c.is_ascii_digit() {
            while i < lower.len() && lower[i].is_ascii_digit() {
                i += 1;
            }
            let digits: String = lower[start..i].iter().collect();
            let value = digits.parse::<u32>().unwrap_or(u32::MAX);
            let n = i - start;
            // An ordinal ending right after the digits, and nothing more of a word.
            let mut j = i;
            while j < lower.len() && lower[j].is_alphabetic() && !cjk_mark(lower[j]) {
                j += 1;
            }
            let ending: String = lower[i..j].iter().collect();
            let time_follows = ending == "t" && lower.get(j).is_some_and(char::is_ascii_digit);
            if time_follows {
                // 1944-03-02T10:10: the date ends at the T.
                out.push(Token {
                    kind: Kind::Number(value, n),
                    start,
                    end: i,
                });
                out.push(Token {
                    kind: Kind::Punct('t'),
                    start: i,
                    end: j,
                });
                i = j;
            } else if j > i
                && ["st", "nd", "rd", "th", "er", "e", "o", "º"].contains(&ending.as_str())
            {
                out.push(Token {
                    kind: Kind::Ordinal(value),
                    start,
                    end: j,
                });
                i = j;
            } else if j > i {
                // Digits inside a word (3mm, T2W): part of no date.
                out.push(Token {
                    kind: Kind::Word,
                    start,
                    end: j,
                });
                i = j;
            } else {
                out.push(Token {
                    kind: Kind::Number(value, n),
                    start,
                    end: i,
                });
            }
        } else if matches!(c, '年' | '月' | '日' | '년' | '월' | '일') {
            // The marks of a date in Chinese, Japanese and Korean (1944年3月2日).
            out.push(Token {
                kind: Kind::Punct(c),
                start,
                end: i + 1,
            });
            i += 1;
        } else if let Some((base, n)) = era_at(lower, i) {
            // 昭和19年, S19.3.2; 平成元年 (元: the era's first year).
            i += n;
            out.push(Token {
                kind: Kind::Era(base),
                start,
                end: i,
            });
            if lower.get(i) == Some(&'元') {
                out.push(Token {
                    kind: Kind::Number(1, 1),
                    start: i,
                    end: i + 1,
                });
                i += 1;
            }
        } else if c.is_alphabetic() {
            while i < lower.len() && lower[i].is_alphanumeric() && !cjk_mark(lower[i]) {
                i += 1;
            }
            let word: String = lower[start..i].iter().collect();
            let kind = if ["of", "de", "del", "the"].contains(&word.as_str()) {
                Kind::Link
            } else if let Some(m) = ROMAN_MONTHS.iter().position(|r| *r == word) {
                // 2.III.1944: a month in Roman numerals (only ever part of a date when a day
                // and a year stand on either side).
                Kind::Month(m as u8 + 1)
            } else if word.chars().all(char::is_alphabetic) {
                month_of(&word).map_or(Kind::Word, Kind::Month)
            } else {
                Kind::Word
            };
            out.push(Token {
                kind,
                start,
                end: i,
            });
        } else if c.is_whitespace() {
            i += 1;
        } else {
            out.push(Token {
                kind: Kind::Punct(c),
                start,
                end: i + 1,
            });
            i += 1;
        }
    }
    out
}

fn valid(m: u16, d: u16) -> bool {
    (1..=12).contains(&m) && (1..=31).contains(&d)
}

/// The readings (year, month, day) of a year, month and day as written, when they make a date.
fn reading(year: (u32, usize), m: u32, d: u32) -> Option<Reading> {
    let (m, d) = (u16::try_from(m).ok()?, u16::try_from(d).ok()?);
    let y = u16::try_from(year.0).ok()?;
    let year = match year.1 {
        4 => Year::Full(y),
        2 => Year::Short(y),
        _ => return None,
    };
    valid(m, d).then_some((year, m as u8, d as u8))
}

/// Every stretch of `lower` that reads as a date, with its possible readings (a numeric
/// date such as 02/03/1944 is read both day first and month first).
fn dates_in(lower: &[char]) -> Vec<(Range<usize>, Vec<Reading>)> {
    let toks = tokens(lower);
    let mut found = Vec::new();
    let day_of = |t: &Token| match t.kind {
        Kind::Number(v, n) if n <= 2 => Some(v),
        Kind::Ordinal(v) if v <= 31 => Some(v),
        _ => None,
    };
    let year_of = |t: &Token| match t.kind {
        Kind::Number(v, n) if n == 2 || n == 4 => Some((v, n)),
        _ => None,
    };
    // What may stand between a date's parts written with a month's name.
    let joiner = |t: &Token| {
        matches!(
            t.kind,
            Kind::Link | Kind::Punct('-' | '.' | ',' | '/' | '\'' | '’')
        )
    };
    let next_part = |from: usize| {
        let mut k = from;
        while k < toks.len() && k < from + 3 && joiner(&toks[k]) {
            k += 1;
        }
        (k < toks.len()).then_some(k)
    };
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i];
        let mut matched: Option<(usize, Vec<Reading>)> = None;
        // 19440302, 02031944 (day first), 03021944 (month first); 440302, 020344, 030244.
        if let Kind::Number(v, n @ (6 | 8)) = t.kind {
            // The year's digits (4 or 2), and what it is worth at the end.
            let year = n - 4;
            let unit = 10_u32.pow(year as u32);
            let (first, second, last) = (v / unit / 100, (v / unit) % 100, v % unit);
            let r: Vec<Reading> = [
                reading((v / 10_000, year), (v / 100) % 100, v % 100),
                reading((last, year), second, first),
                reading((last, year), first, second),
            ]
            .into_iter()
            .flatten()
            .collect();
            if !r.is_empty() {
                matched = Some((i, r));
            }
        }
        // 昭和19年3月2日, S19.3.2, S19/03/02: a Japanese era's year, then the month and day
        // with the marks of 1944年3月2日 or as in 1944.3.2.
        let era = matches!(t.kind, Kind::Era(_));
        let kinds: Vec<Kind> = if era {
            toks[i..(i + 7).min(toks.len())]
                .iter()
                .map(|t| t.kind)
                .collect()
        } else {
            Vec::new()
        };
        if let &[Kind::Era(base), Kind::Number(y, 1 | 2), Kind::Punct(s1), Kind::Number(m, 1 | 2), Kind::Punct(s2), Kind::Number(d, 1 | 2), ref rest @ ..] =
            &kinds[..]
        {
            let marks = (s1 == '年' && s2 == '月') || (s1 == s2 && ".-/".contains(s1));
            let year = u32::from(base) + y;
            if let Some(r) = reading((year, 4), m, d).filter(|_| marks && y >= 1) {
                let day_mark = rest.first() == Some(&Kind::Punct('日'));
                matched = Some((i + 5 + usize::from(day_mark), vec![r]));
            }
        }
        // 1944年3月2日, 1944년 3월 2일 (the day's mark may be left out); 1944-062 (ISO 8601's
        // ordinal date: the 62nd day of 1944).
        if matched.is_none() && i + 3 < toks.len() {
            let p = &toks[i..(i + 6).min(toks.len())];
            if let (
                Kind::Number(y, ny),
                Kind::Punct('年' | '년'),
                Kind::Number(m, _),
                Kind::Punct('月' | '월'),
            ) = (p[0].kind, p[1].kind, p[2].kind, p[3].kind)
            {
                if let Some(Kind::Number(d, _)) = p.get(4).map(|t| t.kind) {
                    let last = if matches!(p.get(5).map(|t| t.kind), Some(Kind::Punct('日' | '일')))
                    {
                        i + 5
                    } else {
                        i + 4
                    };
                    if let Some(r) = reading((y, ny), m, d) {
                        matched = Some((last, vec![r]));
                    }
                }
            }
        }
        if matched.is_none() && i + 2 < toks.len() {
            let p = &toks[i..i + 3];
            if let (Kind::Number(y, 4), Kind::Punct('-'), Kind::Number(n, 3)) =
                (p[0].kind, p[1].kind, p[2].kind)
            {
                let tight = p.windows(2).all(|w| w[0].end == w[1].start);
                if let Some((m, d)) = from_ordinal(y, n).filter(|_| tight) {
                    matched = reading((y, 4), m, d).map(|r| (i + 2, vec![r]));
                }
            }
        }
        // 1944-03-02, 02/03/1944, 2.3.44: three numbers joined by the same mark, no spaces.
        if matched.is_none() && i + 4 < toks.len() {
            let p = &toks[i..i + 5];
            if let (
                Kind::Number(a, na),
                Kind::Punct(s1),
                Kind::Number(b, nb),
                Kind::Punct(s2),
                Kind::Number(c, nc),
            ) = (p[0].kind, p[1].kind, p[2].kind, p[3].kind, p[4].kind)
            {
                let tight = p.windows(2).all(|w| w[0].end == w[1].start);
                if s1 == s2 && "-/.".contains(s1) && tight && nb <= 2 {
                    let mut r = Vec::new();
                    if na == 4 && nc <= 2 {
                        r.extend(reading((a, 4), b, c));
                    } else if na <= 2 {
                        r.extend(reading((c, nc), b, a));
                        r.extend(reading((c, nc), a, b));
                        if na == 2 && nc == 2 {
                            r.extend(reading((a, 2), b, c));
                        }
                    }
                    if !r.is_empty() {
                        matched = Some((i + 4, r));
                    }
                }
            }
        }
        // With the month's name, day first or month first, the parts joined by marks or
        // words: 2nd March 1944, 2. März 1944, 2 de marzo de 1944, 02-MAR-44; March 2nd, 1944.
        if matched.is_none() {
            matched = next_part(i + 1)
                .and_then(|b| Some((b, next_part(b + 1)?)))
                .and_then(|(b, c)| {
                    let (d, m) = match (t.kind, toks[b].kind) {
                        (Kind::Month(m), _) => (day_of(&toks[b])?, m),
                        (_, Kind::Month(m)) => match day_of(&t) {
                            Some(d) => (d, m),
                            // 1944 Mar 2, 1944-MAR-02: the year first.
                            None => {
                                let y = match t.kind {
                                    Kind::Number(v, 4) => (v, 4),
                                    _ => return None,
                                };
                                let r = reading(y, m.into(), day_of(&toks[c])?)?;
                                return Some((c, vec![r]));
                            }
                        },
                        _ => return None,
                    };
                    let r = reading(year_of(&toks[c])?, m.into(), d)?;
                    Some((c, vec![r]))
                });
        }
        match matched {
            Some((last, readings)) => {
                found.push((t.start..toks[last].end, readings));
                i = last + 1;
            }
            None => i += 1,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blanked(known: &str, text: &str) -> String {
        let mut dates = Dates::default();
        assert!(dates.add_dicom(known));
        let mut chars: Vec<char> = text.chars().collect();
        let lower: Vec<char> = text.chars().map(super::super::scrub::fold).collect();
        blank_dates(&[&dates], &lower, &mut chars);
        chars.into_iter().collect()
    }

    #[test]
    fn a_known_date_is_found_however_it_is_written() {
        for text in [
            "1944-03-02",
            "1944/03/02",
            "19440302",
            "02.03.1944",
            "2.3.1944",
            "02/03/1944",
            "3/2/1944",
            "02.03.44",
            "3/2/44",
            "44-03-02",
            "2 March 1944",
            "2nd March 1944",
            "2nd of March, 1944",
            "March 2, 1944",
            "March 2nd, 1944",
            "Mar 2 1944",
            "02-MAR-1944",
            "2 Mar 44",
            "02-Mar-44",
            "2. März 1944",
            "2 de marzo de 1944",
            "1er mars 1944",
            "2 maart 1944",
            "Sept. 2, 1944",
            "1944-03-02T10:10",
            "02031944",
            "03021944",
            "440302",
            "020344",
            "2.III.1944",
            "2 III 1944",
            "1944年3月2日",
            "1944年03月02日",
            "1944년 3월 2일",
            "1944 Mar 2",
            "1944-MAR-02",
            "2 Mar '44",
            "March 2nd, '44",
            "1944-062",
            "昭和19年3月2日",
            "昭和19年03月02日",
            "S19.3.2",
            "S19/03/02",
            "s19-3-2",
            "昭和19.3.2",
            "昭和１９年３月２日",
            "１９４４年３月２日",
            "Ｓ１９．３．２",
        ] {
            let known = if text.starts_with("Sept") {
                "19440902"
            } else if text.starts_with("1er") {
                "19440301"
            } else {
                "19440302"
            };
            let out = blanked(known, &format!("born {text}, seen"));
            // (A time is not the patient's: it stays.)
            let left = out.replace(['*', ' '], "").replace("T10:10", "");
            assert_eq!(left, "born,seen", "{text} → {out}");
        }
    }

    #[test]
    fn a_japanese_eras_first_year_and_each_era_are_read() {
        for (known, text) in [
            ("19890108", "平成元年1月8日"),
            ("19890108", "H1.1.8"),
            ("20190501", "令和元年5月1日"),
            ("20240131", "R6.1.31"),
            ("19120730", "大正元年7月30日"),
            ("19000101", "M33.1.1"),
        ] {
            let out = blanked(known, &format!("生年月日 {text} 受診"));
            assert_eq!(
                out.replace(['*', ' '], ""),
                "生年月日受診",
                "{text} → {out}"
            );
        }
    }

    #[test]
    fn other_dates_numbers_and_words_are_kept() {
        for text in [
            "2 March 1945",
            "3 March 1944",
            "1944-03-03",
            "03/03/1944",
            "19440303",
            "ref 2/3/1944x",
            "3mm at 2 3 1944",
            "march to 2 (1944)",
            "mar 2",
            "1944",
            "the marginal 2nd",
            "02031945",
            "123456",
            "1944-063",
            "1944年3月3日",
            "2 I 1944",
            "part II 1944",
            "昭和20年3月2日",
            "S19.3.3",
            "H19.3.2",
            "TS19.3.2",
            "平成19年3月2日",
        ] {
            assert_eq!(blanked("19440302", text), text, "{text}");
        }
    }

    #[test]
    fn months_are_read_from_their_names_and_unambiguous_beginnings() {
        assert_eq!(month_of("march"), Some(3));
        assert_eq!(month_of("mar"), Some(3));
        assert_eq!(month_of("sept"), Some(9));
        assert_eq!(month_of("marzo"), Some(3));
        assert_eq!(month_of("juin"), Some(6));
        // juin or juillet: not a month.
        assert_eq!(month_of("jui"), None);
        assert_eq!(month_of("ma"), None);
        assert_eq!(month_of("marching"), None);
    }
}
