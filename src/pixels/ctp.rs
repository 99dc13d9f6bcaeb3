//! Reading RSNA CTP `DicomPixelAnonymizer` scripts, so sites can bring the pixel rules they
//! already maintain (such as CTP's own "Burned-in Annotation Library").
//!
//! A script is a list of signatures. Each is a condition in braces followed by the regions to
//! blank, as `(x, y, width, height)`:
//!
//! ```text
//! { Modality.equals("US") * [0008,0070].containsIgnoreCase("acme") * Rows.equals("480") }
//! (0, 0, 640, 40) (0, 440, 200, 40)
//! ```
//!
//! Conditions use CTP's filter language: attributes by keyword or `[gggg,eeee]`; the methods
//! `equals`, `equalsIgnoreCase`, `contains`, `containsIgnoreCase`, `startsWith`,
//! `startsWithIgnoreCase`, `endsWith`, `endsWithIgnoreCase`, `matches` (a regular expression
//! for the whole value), `isLessThan`, `isGreaterThan`; `!` not, `*` and, `+` or, parentheses,
//! `true.` and `false.`. As in CTP, an image gets the regions of the first signature it matches,
//! and text outside braces and parentheses is commentary.
//!
//! Anything Obscura cannot understand is refused with its position, never silently ignored: a
//! condition that cannot be read would otherwise leave burned-in text in place.

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::Tag;
use dicom_dictionary_std::StandardDataDictionary;
use dicom_object::InMemDicomObject;

use super::{PixelError, Region, RegionRule, RegionRules};
use crate::attrs;

/// A signature's condition.
#[derive(Debug, Clone)]
pub enum Condition {
    /// `true.` or `false.`
    Const(bool),
    /// `Attribute.method("value")`
    Test {
        /// The attribute.
        tag: Tag,
        /// What is asked of its value.
        method: Method,
        /// The argument.
        value: String,
    },
    /// `!c`
    Not(Box<Condition>),
    /// `a * b`
    And(Box<Condition>, Box<Condition>),
    /// `a + b`
    Or(Box<Condition>, Box<Condition>),
}

/// The tests of CTP's filter language.
#[derive(Debug, Clone)]
pub enum Method {
    /// Same text.
    Equals,
    /// Same text, any case.
    EqualsIgnoreCase,
    /// Holds the text.
    Contains,
    /// Holds the text, any case.
    ContainsIgnoreCase,
    /// Starts with the text.
    StartsWith,
    /// Starts with the text, any case.
    StartsWithIgnoreCase,
    /// Ends with the text.
    EndsWith,
    /// Ends with the text, any case.
    EndsWithIgnoreCase,
    /// The whole value matches the regular expression.
    Matches(regex::Regex),
    /// A number below the argument.
    IsLessThan,
    /// A number above the argument.
    IsGreaterThan,
}

impl Condition {
    /// Whether the object satisfies the condition.
    pub fn eval(&self, obj: &InMemDicomObject) -> bool {
        match self {
            Condition::Const(b) => *b,
            Condition::Not(c) => !c.eval(obj),
            Condition::And(a, b) => a.eval(obj) && b.eval(obj),
            Condition::Or(a, b) => a.eval(obj) || b.eval(obj),
            Condition::Test { tag, method, value } => {
                let have = attrs::text(obj, *tag);
                let (h, v) = (have.to_lowercase(), value.to_lowercase());
                let number = |s: &str| s.trim().parse::<f64>().ok();
                match method {
                    Method::Equals => have == *value,
                    Method::EqualsIgnoreCase => h == v,
                    Method::Contains => have.contains(value.as_str()),
                    Method::ContainsIgnoreCase => h.contains(&v),
                    Method::StartsWith => have.starts_with(value.as_str()),
                    Method::StartsWithIgnoreCase => h.starts_with(&v),
                    Method::EndsWith => have.ends_with(value.as_str()),
                    Method::EndsWithIgnoreCase => h.ends_with(&v),
                    Method::Matches(re) => re.is_match(&have),
                    Method::IsLessThan => {
                        matches!((number(&have), number(value)), (Some(a), Some(b)) if a < b)
                    }
                    Method::IsGreaterThan => {
                        matches!((number(&have), number(value)), (Some(a), Some(b)) if a > b)
                    }
                }
            }
        }
    }
}

/// Whether a rules text looks like a CTP script rather than Obscura's JSON: JSON rules start
/// with `{` and a quoted key; a CTP signature starts with `{` and a condition.
pub fn looks_like_ctp(text: &str) -> bool {
    let mut rest = text.trim_start().chars();
    match rest.next() {
        Some('{') => !matches!(
            rest.as_str().trim_start().chars().next(),
            Some('"') | Some('}')
        ),
        Some(_) => true,
        None => false,
    }
}

/// Read a CTP `DicomPixelAnonymizer` script.
pub fn parse_script(text: &str) -> Result<RegionRules, PixelError> {
    let err = |msg: String| PixelError::Rules(format!("CTP pixel script: {msg}"));
    let mut rules = Vec::new();
    let mut rest = text;
    let mut offset = 0usize;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| {
            err(format!(
                "a signature at byte {} has no closing brace",
                offset + open
            ))
        })?;
        let script = &after[..close];
        let condition = Parser::new(script).parse().map_err(|e| {
            err(format!(
                "signature {} ({}): {e}",
                rules.len() + 1,
                short(script)
            ))
        })?;
        let tail = &after[close + 1..];
        let region_text = &tail[..tail.find('{').unwrap_or(tail.len())];
        let regions = parse_regions(region_text).map_err(|e| {
            err(format!(
                "signature {} ({}): {e}",
                rules.len() + 1,
                short(script)
            ))
        })?;
        rules.push(RegionRule {
            name: format!("CTP signature {}: {}", rules.len() + 1, short(script)),
            condition: Some(condition),
            regions,
            ..RegionRule::default()
        });
        let consumed = open + 1 + close + 1 + region_text.len();
        offset += consumed;
        rest = &rest[consumed..];
    }
    if rules.is_empty() {
        return Err(err(
            "no signature found (expected a JSON rules file or `{ condition } (x,y,w,h)` lines)"
                .into(),
        ));
    }
    Ok(RegionRules {
        rules,
        first_match: true,
        rejected: Vec::new(),
    })
}

/// A condition shortened for the log.
fn short(script: &str) -> String {
    let one_line = script.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 80 {
        format!("{}…", one_line.chars().take(80).collect::<String>())
    } else {
        one_line
    }
}

/// Every `(x, y, w, h)` in the text after a signature. Parentheses without a comma are
/// commentary; with commas they must hold four numbers, or the script is refused (CTP skips
/// them with a warning; Obscura will not guess at a region meant to hide text).
fn parse_regions(text: &str) -> Result<Vec<Region>, String> {
    let mut regions = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('(') {
        let after = &rest[open + 1..];
        let close = after
            .find(')')
            .ok_or("a region has no closing parenthesis")?;
        let inner = &after[..close];
        rest = &after[close + 1..];
        if !inner.contains(',') {
            continue;
        }
        let nums: Vec<Option<u32>> = inner.split(',').map(|s| s.trim().parse().ok()).collect();
        match nums.as_slice() {
            [Some(x), Some(y), Some(w), Some(h)] => regions.push(Region {
                x: *x,
                y: *y,
                w: *w,
                h: *h,
            }),
            _ => return Err(format!("({inner}) is not a region (x, y, width, height)")),
        }
    }
    if regions.is_empty() {
        return Err("no region follows the condition".into());
    }
    Ok(regions)
}

/// A recursive-descent parser: or := and ('+' and)*; and := unary ('*' unary)*;
/// unary := '!' unary | '(' or ')' | 'true.' | 'false.' | attribute '.' method '(' string ')'.
struct Parser<'a> {
    s: &'a [u8],
    at: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn new(s: &'a str) -> Parser<'a> {
        Parser {
            s: s.as_bytes(),
            at: 0,
            depth: 0,
        }
    }

    fn parse(mut self) -> Result<Condition, String> {
        let c = self.or()?;
        self.skip_ws();
        if self.at < self.s.len() {
            return Err(format!("unexpected text at character {}", self.at + 1));
        }
        Ok(c)
    }

    fn skip_ws(&mut self) {
        while self.s.get(self.at).is_some_and(|b| b.is_ascii_whitespace()) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.at).copied()
    }

    fn or(&mut self) -> Result<Condition, String> {
        let mut left = self.and()?;
        while self.peek() == Some(b'+') {
            self.at += 1;
            left = Condition::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Condition, String> {
        let mut left = self.unary()?;
        while self.peek() == Some(b'*') {
            self.at += 1;
            left = Condition::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Condition, String> {
        self.depth += 1;
        if self.depth > 64 {
            return Err("the condition is nested too deeply".into());
        }
        let c = match self.peek() {
            Some(b'!') => {
                self.at += 1;
                Condition::Not(Box::new(self.unary()?))
            }
            Some(b'(') => {
                self.at += 1;
                let c = self.or()?;
                if self.peek() != Some(b')') {
                    return Err(format!("')' expected at character {}", self.at + 1));
                }
                self.at += 1;
                c
            }
            Some(_) => self.test()?,
            None => return Err("the condition ends too early".into()),
        };
        self.depth -= 1;
        Ok(c)
    }

    fn test(&mut self) -> Result<Condition, String> {
        let start = self.at;
        let tag = if self.peek() == Some(b'[') {
            let close = self.s[self.at..]
                .iter()
                .position(|b| *b == b']')
                .ok_or("']' expected")?;
            let inner = std::str::from_utf8(&self.s[self.at + 1..self.at + close])
                .map_err(|_| "not text")?;
            self.at += close + 1;
            parse_tag(inner).ok_or_else(|| format!("[{inner}] is not a tag"))?
        } else {
            let word = self.word();
            match word.as_str() {
                "true" | "false" if self.s.get(self.at) == Some(&b'.') => {
                    self.at += 1;
                    return Ok(Condition::Const(word == "true"));
                }
                "" => {
                    return Err(format!(
                        "an attribute is expected at character {}",
                        start + 1
                    ))
                }
                _ => {}
            }
            StandardDataDictionary
                .by_name(&word)
                .map(|e| e.tag())
                .ok_or_else(|| format!("{word} is not an attribute keyword"))?
        };
        if self.s.get(self.at) != Some(&b'.') {
            return Err(format!(
                "'.' and a method expected at character {}",
                self.at + 1
            ));
        }
        self.at += 1;
        let name = self.word();
        if self.peek() != Some(b'(') {
            return Err(format!("'(' expected after {name}"));
        }
        self.at += 1;
        let value = self.string()?;
        if self.peek() != Some(b')') {
            return Err(format!("')' expected after the value of {name}"));
        }
        self.at += 1;
        let method = match name.as_str() {
            "equals" => Method::Equals,
            "equalsIgnoreCase" => Method::EqualsIgnoreCase,
            "contains" => Method::Contains,
            "containsIgnoreCase" => Method::ContainsIgnoreCase,
            "startsWith" => Method::StartsWith,
            "startsWithIgnoreCase" => Method::StartsWithIgnoreCase,
            "endsWith" => Method::EndsWith,
            "endsWithIgnoreCase" => Method::EndsWithIgnoreCase,
            "matches" => Method::Matches(
                regex::Regex::new(&format!("^(?:{value})$"))
                    .map_err(|e| format!("the pattern {value:?} is not valid: {e}"))?,
            ),
            "isLessThan" => Method::IsLessThan,
            "isGreaterThan" => Method::IsGreaterThan,
            other => return Err(format!("unknown method {other}")),
        };
        Ok(Condition::Test { tag, method, value })
    }

    fn word(&mut self) -> String {
        self.skip_ws();
        let start = self.at;
        while self
            .s
            .get(self.at)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        {
            self.at += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.at]).into_owned()
    }

    fn string(&mut self) -> Result<String, String> {
        if self.peek() != Some(b'"') {
            return Err(format!(
                "a quoted value expected at character {}",
                self.at + 1
            ));
        }
        self.at += 1;
        let mut out = Vec::new();
        loop {
            match self.s.get(self.at) {
                None => return Err("a quoted value is not closed".into()),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(String::from_utf8_lossy(&out).into_owned());
                }
                Some(b'\\') if self.s.get(self.at + 1) == Some(&b'"') => {
                    out.push(b'"');
                    self.at += 2;
                }
                Some(b) => {
                    out.push(*b);
                    self.at += 1;
                }
            }
        }
    }
}

/// `gggg,eeee` (hexadecimal) as a tag.
fn parse_tag(s: &str) -> Option<Tag> {
    let (g, e) = s.split_once(',')?;
    Some(Tag(
        u16::from_str_radix(g.trim(), 16).ok()?,
        u16::from_str_radix(e.trim(), 16).ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::value::PrimitiveValue;
    use dicom_core::{DataElement, VR};
    use dicom_dictionary_std::tags;

    fn obj(modality: &str, manufacturer: &str, rows: u16) -> InMemDicomObject {
        let mut o = InMemDicomObject::new_empty();
        o.put(DataElement::new(
            tags::MODALITY,
            VR::CS,
            PrimitiveValue::from(modality),
        ));
        o.put(DataElement::new(
            tags::MANUFACTURER,
            VR::LO,
            PrimitiveValue::from(manufacturer),
        ));
        o.put(DataElement::new(
            tags::ROWS,
            VR::US,
            PrimitiveValue::from(rows),
        ));
        o
    }

    const SCRIPT: &str = r#"
*******************************************************
  Ultrasound from the (fictitious) ACME company
*******************************************************
{ Modality.equals("US") * [0008,0070].containsIgnoreCase("acme") * Rows.isGreaterThan("400") }
(0, 0, 640, 40)  (0,440,200,40)

  Any other ultrasound (and some angiography)
{ Modality.equals("US") + (Modality.matches("X[AR]") * !Manufacturer.startsWith("Good")) }
(0,0,100,20)
"#;

    #[test]
    fn signatures_conditions_and_regions() {
        let rules = parse_script(SCRIPT).expect("parses");
        assert!(rules.first_match);
        assert_eq!(rules.rules.len(), 2);
        let (regions, names) = rules.regions_for(&obj("US", "Acme Imaging", 480));
        assert_eq!(regions.len(), 2, "first signature only");
        assert!(names[0].starts_with("CTP signature 1"));
        assert_eq!(rules.regions_for(&obj("US", "Other", 480)).0.len(), 1);
        assert_eq!(rules.regions_for(&obj("US", "Acme", 300)).0.len(), 1);
        assert_eq!(rules.regions_for(&obj("XA", "Acme", 300)).0.len(), 1);
        assert_eq!(rules.regions_for(&obj("XA", "Good Co", 300)).0.len(), 0);
        assert_eq!(rules.regions_for(&obj("CT", "Acme", 512)).0.len(), 0);
    }

    #[test]
    fn what_cannot_be_read_is_refused() {
        for bad in [
            "{ Modality.equals(\"US\") }",
            "{ Modality.equals(\"US\") } (1,2,3)",
            "{ NotAKeyword.equals(\"US\") } (1,2,3,4)",
            "{ Modality.sounds(\"US\") } (1,2,3,4)",
            "{ Modality.equals(\"US\" } (1,2,3,4)",
            "{ Modality.matches(\"(\") } (1,2,3,4)",
            "{ Modality.equals(\"US\") (1,2,3,4)",
            "no signatures at all",
        ] {
            assert!(parse_script(bad).is_err(), "{bad}");
        }
        assert!(parse_script(&format!("{{ {}true. }} (1,2,3,4)", "!".repeat(500))).is_err());
    }

    #[test]
    fn json_and_ctp_are_told_apart() {
        assert!(!looks_like_ctp(r#" {"rules": []}"#));
        assert!(!looks_like_ctp("{}"));
        assert!(looks_like_ctp(SCRIPT));
        assert!(looks_like_ctp("{ true. } (0,0,1,1)"));
    }
}
