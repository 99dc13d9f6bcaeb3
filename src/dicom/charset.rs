//! Text in ISO 2022 code extensions (PS3.5 §6.1.2.5), read as the standard says.
//!
//! A Specific Character Set with several values (`\ISO 2022 IR 87`, `ISO 2022 IR 13\ISO 2022
//! IR 87`, `\ISO 2022 IR 149`, `\ISO 2022 IR 58`, `ISO 2022 IR 100\ISO 2022 IR 126`…) switches
//! character sets inside a value with escape sequences. dicom-rs reads such text with the
//! first value's character set only, so a Japanese, Korean or Chinese name comes out as
//! escape sequences and bytes, which the free-text sweep cannot match against the same name
//! in another attribute written another way. Right after a file is read, every text value of
//! such a file is decoded here as PS3.5 says, and the file's character set becomes UTF-8
//! (`ISO_IR 192`), which holds every character and is written as it is read: from then on
//! the rules and the sweep see the text a person would.
//!
//! A value that does not decode (an escape sequence the standard does not define, a broken
//! multi-byte character) cannot be checked, so it is not kept (fail safe): it becomes
//! [`UNDECODABLE`], which a person sees as the replacement character wherever the file is
//! shown, and which de-identification empties with a line of its own in the change log
//! ([`is_undecodable`]).

use dicom_core::header::Header;
use dicom_core::value::{PrimitiveValue, Value};
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_encoding::text::{SpecificCharacterSet, TextCodec};
use dicom_object::InMemDicomObject;
use encoding::all::{
    EUC_JP, GBK, ISO_8859_1, ISO_8859_2, ISO_8859_3, ISO_8859_4, ISO_8859_5, ISO_8859_6,
    ISO_8859_7, ISO_8859_8, WINDOWS_1254, WINDOWS_874, WINDOWS_949,
};
use encoding::{DecoderTrap, Encoding, EncodingRef};

/// What a value that does not decode becomes when the file is read: the replacement
/// character alone. No decoded value is ever exactly this (a decoder writes it only among
/// other text, and [`recode`] never keeps a value that needed it).
pub const UNDECODABLE: &str = "\u{FFFD}";

/// Whether `elem` is a text value that did not decode when the file was read.
pub fn is_undecodable(elem: &DataElement<InMemDicomObject>) -> bool {
    is_text(elem.vr())
        && matches!(elem.value(), Value::Primitive(PrimitiveValue::Str(s)) if s == UNDECODABLE)
}

/// The value representations whose text the character set decides (PS3.5 §6.1.2.3).
fn is_text(vr: VR) -> bool {
    matches!(
        vr,
        VR::PN | VR::LO | VR::SH | VR::LT | VR::ST | VR::UT | VR::UC
    )
}

/// The code element G0 (bytes below 0x80) is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum G0 {
    Ascii,
    /// JIS X 0208 (ISO IR 87): two bytes a character.
    Jis0208,
    /// JIS X 0212 (ISO IR 159): two bytes a character.
    Jis0212,
}

/// The code element G1 (bytes from 0xA0) is in.
#[derive(Clone, Copy)]
enum G1 {
    None,
    /// JIS X 0201 katakana (ISO IR 13).
    Katakana,
    /// One byte a character: the upper half of an ISO 8859 part.
    Single(EncodingRef),
    /// Two bytes a character, as EUC writes them: KS X 1001 (IR 149), GB 2312 (IR 58).
    Double(EncodingRef),
}

/// What an escape sequence does: designate a set to G0 or to G1.
enum Switch {
    G0(G0),
    G1(G1),
}

/// The code elements a defined term starts with (its G1; G0 is always ASCII at the start).
fn initial_g1(term: &str) -> Option<G1> {
    Some(match term.trim() {
        "" | "ISO 2022 IR 6" => G1::None,
        "ISO 2022 IR 13" => G1::Katakana,
        "ISO 2022 IR 100" => G1::Single(ISO_8859_1),
        "ISO 2022 IR 101" => G1::Single(ISO_8859_2),
        "ISO 2022 IR 109" => G1::Single(ISO_8859_3),
        "ISO 2022 IR 110" => G1::Single(ISO_8859_4),
        "ISO 2022 IR 144" => G1::Single(ISO_8859_5),
        "ISO 2022 IR 127" => G1::Single(ISO_8859_6),
        "ISO 2022 IR 126" => G1::Single(ISO_8859_7),
        "ISO 2022 IR 138" => G1::Single(ISO_8859_8),
        "ISO 2022 IR 148" => G1::Single(WINDOWS_1254),
        "ISO 2022 IR 166" => G1::Single(WINDOWS_874),
        _ => return None,
    })
}

/// Decode `bytes`, written with ISO 2022 escape sequences, starting with G1 as `start` says.
/// `None` when they do not decode.
fn decode(bytes: &[u8], start: G1) -> Option<String> {
    let (mut g0, mut g1) = (G0::Ascii, start);
    let mut out = String::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == 0x1B {
            let rest = &bytes[i + 1..];
            let (len, switch) = match rest {
                [b'(', b'B' | b'J', ..] => (2, Switch::G0(G0::Ascii)),
                [b'$', b'B' | b'@', ..] => (2, Switch::G0(G0::Jis0208)),
                [b'$', b'(', b'D', ..] => (3, Switch::G0(G0::Jis0212)),
                [b')', b'I', ..] => (2, Switch::G1(G1::Katakana)),
                [b'$', b')', b'C', ..] => (3, Switch::G1(G1::Double(WINDOWS_949))),
                [b'$', b')', b'A', ..] => (3, Switch::G1(G1::Double(GBK))),
                [b'-', f, ..] => {
                    let part: EncodingRef = match f {
                        b'A' => ISO_8859_1,
                        b'B' => ISO_8859_2,
                        b'C' => ISO_8859_3,
                        b'D' => ISO_8859_4,
                        b'F' => ISO_8859_7,
                        b'G' => ISO_8859_6,
                        b'H' => ISO_8859_8,
                        b'L' => ISO_8859_5,
                        b'M' => WINDOWS_1254,
                        b'T' => WINDOWS_874,
                        _ => return None,
                    };
                    (2, Switch::G1(G1::Single(part)))
                }
                _ => return None,
            };
            match switch {
                Switch::G0(set) => g0 = set,
                Switch::G1(set) => g1 = set,
            }
            i += 1 + len;
            continue;
        }
        if b < 0x80 {
            if b < 0x21 || g0 == G0::Ascii {
                // Control characters and the space end a multi-byte run (PS3.5 §6.1.2.5.3:
                // G0 is ASCII again after a line break, a tab or a delimiter).
                if matches!(b, b'\r' | b'\n' | 0x0C | b'\t') {
                    g0 = G0::Ascii;
                }
                out.push(char::from(b));
                i += 1;
                continue;
            }
            let pair = bytes.get(i..i + 2)?;
            let euc: Vec<u8> = match g0 {
                G0::Jis0208 => vec![pair[0] | 0x80, pair[1] | 0x80],
                _ => vec![0x8F, pair[0] | 0x80, pair[1] | 0x80],
            };
            out.push_str(&EUC_JP.decode(&euc, DecoderTrap::Strict).ok()?);
            i += 2;
            continue;
        }
        match g1 {
            G1::None => return None,
            G1::Katakana => {
                // JIS X 0201 katakana: U+FF61 to U+FF9F.
                if !(0xA1..=0xDF).contains(&b) {
                    return None;
                }
                out.push(char::from_u32(0xFF61 + u32::from(b - 0xA1))?);
                i += 1;
            }
            G1::Single(part) => {
                out.push_str(&part.decode(&[b], DecoderTrap::Strict).ok()?);
                i += 1;
            }
            G1::Double(part) => {
                let pair = bytes.get(i..i + 2)?;
                out.push_str(&part.decode(pair, DecoderTrap::Strict).ok()?);
                i += 2;
            }
        }
    }
    Some(out)
}

/// Whether text values are written in ISO 2022 code extensions that dicom-rs reads byte for
/// byte with the first value's set (so that the bytes can be had back and decoded here):
/// several values, the first of them empty or one of the sets [`initial_g1`] knows.
fn extended(terms: &[String]) -> Option<(SpecificCharacterSet, G1)> {
    if terms.len() < 2 {
        return None;
    }
    let first = terms.first()?;
    let mut start = initial_g1(first)?;
    // Some systems write Korean or Chinese without the escape sequence that designates it
    // (pydicom does, for GB 2312): when it is the only two-byte G1 set declared and the first
    // value designates none, G1 starts as that set (a conformant value designates it anyway).
    let doubles: Vec<G1> = terms[1..]
        .iter()
        .filter_map(|t| match t.trim() {
            "ISO 2022 IR 149" => Some(G1::Double(WINDOWS_949)),
            "ISO 2022 IR 58" => Some(G1::Double(GBK)),
            _ => None,
        })
        .collect();
    if let ([only], G1::None) = (&doubles[..], start) {
        start = *only;
    }
    let read_with = match first.trim() {
        "" | "ISO 2022 IR 6" => SpecificCharacterSet::default(),
        term => SpecificCharacterSet::from_code(term)?,
    };
    Some((read_with, start))
}

/// Decode every text value of `obj` (at any depth) written in ISO 2022 code extensions, and
/// make its character set UTF-8. Returns how many values could not be decoded (each is now
/// [`UNDECODABLE`]).
pub fn to_unicode(obj: &mut InMemDicomObject) -> usize {
    let terms: Vec<String> = match obj.get(tags::SPECIFIC_CHARACTER_SET) {
        Some(e) => match e.value().to_multi_str() {
            Ok(v) => v
                .iter()
                .map(|s| s.trim_end_matches('\0').to_string())
                .collect(),
            Err(_) => return 0,
        },
        None => Vec::new(),
    };
    let (failed, any) = match extended(&terms) {
        Some((read_with, start)) => (recode(obj, &mut Recode::Iso2022(read_with, start)), true),
        None if latin1(&terms) => {
            // UTF-8 under a Latin-1 (or no) declaration, as some systems write it: a value
            // whose bytes are UTF-8 with a character beyond ASCII is read as UTF-8 (Latin-1
            // text is almost never valid UTF-8 so), and the file becomes UTF-8.
            let mut found = 0;
            recode(obj, &mut Recode::Utf8(&mut found));
            (0, found > 0)
        }
        None => (0, false),
    };
    if any {
        obj.put(DataElement::new(
            tags::SPECIFIC_CHARACTER_SET,
            VR::CS,
            PrimitiveValue::from("ISO_IR 192"),
        ));
    }
    failed
}

/// Whether dicom-rs read the text as Latin-1, byte for byte: no Specific Character Set, the
/// default repertoire, or Latin-1.
fn latin1(terms: &[String]) -> bool {
    match terms {
        [] => true,
        [one] => matches!(one.trim(), "" | "ISO_IR 6" | "ISO_IR 100" | "ISO 2022 IR 6"),
        _ => false,
    }
}

/// How values are recoded.
enum Recode<'a> {
    /// ISO 2022 code extensions, read first with that set and starting with that G1.
    Iso2022(SpecificCharacterSet, G1),
    /// UTF-8 read as Latin-1: counts the values found so.
    Utf8(&'a mut usize),
}

/// The value `joined` (several values joined by `\`) as it should have been read; `None`
/// when it does not decode; `Some` of the same text when nothing changes.
fn recoded(joined: &str, how: &mut Recode) -> Option<String> {
    match how {
        Recode::Iso2022(read_with, start) => read_with
            .encode(joined)
            .ok()
            .and_then(|bytes| decode(&bytes, *start)),
        Recode::Utf8(found) => {
            if joined.is_ascii() {
                return Some(joined.to_string());
            }
            // Read as Latin-1, every character is one byte.
            let bytes: Option<Vec<u8>> = joined
                .chars()
                .map(|c| u8::try_from(u32::from(c)).ok())
                .collect();
            match bytes.and_then(|b| String::from_utf8(b).ok()) {
                Some(text) => {
                    **found += 1;
                    Some(text)
                }
                None => Some(joined.to_string()),
            }
        }
    }
}

/// [`to_unicode`] on one data set and the items of its sequences.
fn recode(obj: &mut InMemDicomObject, how: &mut Recode) -> usize {
    let mut failed = 0;
    let mut changed: Vec<DataElement<InMemDicomObject>> = Vec::new();
    for elem in obj.iter() {
        if !is_text(elem.vr()) {
            continue;
        }
        let Value::Primitive(value) = elem.value() else {
            continue;
        };
        let strs = value.to_multi_str();
        // The value's bytes as they were read, then decoded as PS3.5 says.
        let joined = strs.join("\\");
        let decoded = recoded(&joined, how);
        let new = match decoded {
            Some(text) if text == joined => continue,
            Some(text) => {
                if matches!(elem.vr(), VR::LT | VR::ST | VR::UT) {
                    PrimitiveValue::from(text)
                } else {
                    PrimitiveValue::Strs(text.split('\\').map(str::to_string).collect())
                }
            }
            None => {
                failed += 1;
                PrimitiveValue::from(UNDECODABLE)
            }
        };
        changed.push(DataElement::new(elem.tag(), elem.vr(), new));
    }
    for e in changed {
        obj.put(e);
    }
    // Items of sequences: taken out, recoded and put back.
    let sequences: Vec<_> = obj
        .iter()
        .filter(|e| matches!(e.value(), Value::Sequence(_)))
        .map(|e| e.tag())
        .collect();
    for tag in sequences {
        if let Ok(mut elem) = obj.take_element(tag) {
            if let Some(items) = elem.items_mut() {
                for item in items.iter_mut() {
                    failed += recode(item, how);
                }
            }
            obj.put(elem);
        }
    }
    failed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn japanese_korean_chinese_and_greek_extensions_decode() {
        // Examples of PS3.5 Annex H, I and K (Yamada^Tarou, Hong^Gildong, Wang^XiaoDong).
        let jp =
            b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B";
        assert_eq!(
            decode(jp, G1::None).as_deref(),
            Some("Yamada^Tarou=山田^太郎=やまだ^たろう")
        );
        let kr = b"Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7=\x1b$)C\xc8\xab^\x1b$)C\xb1\xe6\xb5\xbf";
        assert_eq!(
            decode(kr, G1::None).as_deref(),
            Some("Hong^Gildong=洪^吉洞=홍^길동")
        );
        let cn = b"Zhang^XiaoDong=\x1b$)A\xd5\xc5^\x1b$)A\xd0\xa1\xb6\xab=";
        assert_eq!(
            decode(cn, G1::None).as_deref(),
            Some("Zhang^XiaoDong=张^小东=")
        );
        let greek = b"Dionysios=\x1b-F\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2";
        assert_eq!(
            decode(greek, G1::None).as_deref(),
            Some("Dionysios=Διονυσιος")
        );
        // Half-width katakana in G1 from the start (ISO 2022 IR 13).
        assert_eq!(
            decode(b"\xd4\xcf\xc0\xde", G1::Katakana).as_deref(),
            Some("ﾔﾏﾀﾞ")
        );
        // GB 2312 without its escape, where the declaration names it alone (as pydicom writes).
        let terms = ["".to_string(), "ISO 2022 IR 58".to_string()];
        let (_, start) = extended(&terms).expect("extended");
        assert_eq!(
            decode(b"Zhang^San=\xd5\xc5^\xc8\xfd", start).as_deref(),
            Some("Zhang^San=张^三")
        );
        // Undefined escapes and bytes no set holds do not decode.
        assert_eq!(decode(b"\x1b%G", G1::None), None);
        assert_eq!(decode(b"caf\xe9", G1::None), None);
        assert_eq!(decode(b"\x1b$B;", G1::None), None, "half a character");
    }
}
