//! What the user chose to put into the package (HIPAA's minimum necessary): whole series,
//! single images, or ranges of images, by Series Number and Instance Number. The CLI takes it
//! as `--only SPEC` and the page builds the same text from the files ticked; [`Layout`]
//! applies it (a file not chosen is de-identified but not placed, and counted as left out by
//! choice, apart from the files left out for safety).
//!
//! `SPEC` is a list of series separated by `;`, each a Series Number, alone (the whole
//! series) or followed by `:` and the Instance Numbers chosen in it, single or as ranges:
//! `2;3:1-10,12` is all of series 2 and images 1 to 10 and 12 of series 3. An empty `SPEC`
//! chooses everything. A series can also be given by its Series Instance UID in the package
//! (the new one, as `manifest.json` lists it): two studies often both have a series 1, and
//! the page, which knows which the user meant, says it that way.
//!
//! [`Layout`]: super::Layout

use std::fmt;

/// Why a selection could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the choice of series and images {item:?} is not understood: {why} (write, e.g., `2;3:1-10,12`: all of series 2, and images 1 to 10 and 12 of series 3)")]
pub struct SelectionError {
    /// The part of the choice at fault.
    pub item: String,
    /// What is wrong with it.
    pub why: &'static str,
}

/// The series and images chosen; everything when empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// The series, and its Instance Numbers chosen (`None`: all).
    series: Vec<(Series, Option<Ranges>)>,
}

/// Instance Numbers as inclusive ranges.
type Ranges = Vec<(i64, i64)>;

/// How a series is named in a choice.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Series {
    /// By its Series Number.
    Number(i64),
    /// By its Series Instance UID in the package.
    Uid(String),
}

impl fmt::Display for Series {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Series::Number(n) => write!(f, "{n}"),
            Series::Uid(uid) => f.write_str(uid),
        }
    }
}

impl Selection {
    /// Everything.
    pub fn all() -> Selection {
        Selection::default()
    }

    /// Read a choice written as described in the module's documentation.
    pub fn parse(spec: &str) -> Result<Selection, SelectionError> {
        let mut series = Vec::new();
        for item in spec.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let bad = |why| SelectionError {
                item: item.chars().take(40).collect(),
                why,
            };
            let (number, images) = match item.split_once(':') {
                Some((n, images)) => (n, Some(images)),
                None => (item, None),
            };
            let number = number.trim();
            let number = if number.contains('.') {
                let uid = number.len() <= 64
                    && number
                        .split('.')
                        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
                if !uid {
                    return Err(bad("a series is given by its number or its UID"));
                }
                Series::Uid(number.to_string())
            } else {
                Series::Number(
                    number
                        .parse::<i64>()
                        .map_err(|_| bad("a series is given by its number or its UID"))?,
                )
            };
            let ranges = match images {
                None => None,
                Some(images) => {
                    let mut ranges = Vec::new();
                    for part in images.split(',').map(str::trim) {
                        let (from, to) = part.split_once('-').unwrap_or((part, part));
                        let (Ok(from), Ok(to)) =
                            (from.trim().parse::<i64>(), to.trim().parse::<i64>())
                        else {
                            return Err(bad(
                                "images are given by their numbers, or ranges of them",
                            ));
                        };
                        if from > to {
                            return Err(bad("a range goes from the lower number to the higher"));
                        }
                        ranges.push((from, to));
                    }
                    Some(ranges)
                }
            };
            series.push((number, ranges));
        }
        Ok(Selection { series })
    }

    /// Whether nothing is left out.
    pub fn is_all(&self) -> bool {
        self.series.is_empty()
    }

    /// Whether the file of this Series Number, Series Instance UID (in the package) and
    /// Instance Number (as text, as in the file) is chosen. With a choice made, a file whose
    /// series cannot be told is not.
    pub fn includes(&self, series_number: &str, series_uid: &str, instance_number: &str) -> bool {
        if self.is_all() {
            return true;
        }
        let number = |s: &str| s.trim().parse::<i64>().ok();
        let (series, instance) = (number(series_number), number(instance_number));
        let uid = series_uid.trim_end_matches(['\0', ' ']);
        self.series
            .iter()
            .filter(|(s, _)| match s {
                Series::Number(n) => series == Some(*n),
                Series::Uid(u) => !uid.is_empty() && u == uid,
            })
            .any(|(_, ranges)| match (ranges, instance) {
                (None, _) => true,
                (Some(ranges), Some(i)) => ranges.iter().any(|(a, b)| (*a..=*b).contains(&i)),
                (Some(_), None) => false,
            })
    }
}

impl fmt::Display for Selection {
    /// The choice as `SPEC` (what [`Selection::parse`] reads).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (n, ranges)) in self.series.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            write!(f, "{n}")?;
            if let Some(ranges) = ranges {
                f.write_str(":")?;
                for (j, (a, b)) in ranges.iter().enumerate() {
                    if j > 0 {
                        f.write_str(",")?;
                    }
                    if a == b {
                        write!(f, "{a}")?;
                    } else {
                        write!(f, "{a}-{b}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_is_chosen_without_a_choice() {
        let all = Selection::parse(" ").unwrap();
        assert!(all.is_all());
        assert!(all.includes("", "", ""));
        assert!(all.includes("7", "1.2.3", "3"));
    }

    #[test]
    fn whole_series_single_images_and_ranges() {
        let s = Selection::parse("2; 3:1-10,12").unwrap();
        assert_eq!(s.to_string(), "2;3:1-10,12");
        let i = |series: &str, instance: &str| s.includes(series, "1.2.3", instance);
        assert!(i("2", "999"));
        assert!(i("2", ""), "a whole series, whatever its images' numbers");
        assert!(i(" 3", "1") && i("3", "10") && i("3", "12"));
        assert!(!i("3", "11") && !i("3", "13") && !i("3", ""));
        assert!(!i("4", "1"));
        assert!(!i("", "1"), "a file without a series number is not chosen");
    }

    #[test]
    fn a_series_can_be_named_by_its_uid_when_two_share_a_number() {
        let s = Selection::parse("2.25.7:2;2.25.8").unwrap();
        assert_eq!(s.to_string(), "2.25.7:2;2.25.8");
        assert!(s.includes("1", "2.25.7", "2") && !s.includes("1", "2.25.7", "1"));
        assert!(s.includes("1", "2.25.8\0", "1"), "padding aside");
        assert!(!s.includes("1", "2.25.9", "2"), "another series 1");
    }

    #[test]
    fn a_choice_that_cannot_be_read_is_an_error_that_says_why() {
        for (spec, why) in [
            ("two", "a series is given by its number"),
            ("1..2", "a series is given by its number or its UID"),
            ("2:a", "images are given by their numbers"),
            ("2:5-1", "from the lower number"),
            ("2:1-", "images are given by their numbers"),
        ] {
            let err = Selection::parse(spec).unwrap_err();
            assert!(err.to_string().contains(why), "{spec}: {err}");
        }
    }
}
