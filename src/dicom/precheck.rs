//! A structural check of a file's element headers before the full parser runs.
//!
//! A damaged or hostile file can declare an element of gigabytes in a file of kilobytes; a
//! parser that believes it allocates that much, which in the browser ends the whole module.
//! This pass walks the encoding (elements, sequences, items, fragments) without reading any
//! value and refuses the file when a length runs past its end, a VR is not a VR, or nesting
//! is absurdly deep.

use dicom_core::dictionary::{DataDictionary, VirtualVr};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::{uids, StandardDataDictionary};

pub use super::transfer_syntax::Encoding;
use super::transfer_syntax::TransferSyntax;

/// How deep sequences may nest before a file is refused.
const MAX_DEPTH: usize = 64;

/// The most a deflated data set may inflate to, whatever its size (see [`crate::inflate`]).
pub const INFLATE_MAX: u64 = 512 << 20;

/// The most a deflated data set of `len` bytes may inflate to: [`crate::inflate::limit`], at
/// most [`INFLATE_MAX`].
pub fn inflate_limit(len: u64) -> u64 {
    crate::inflate::limit(len).min(INFLATE_MAX)
}

/// A deflated data set (PS3.5 A.5: raw deflate, RFC 1951) inflated, reading no more than
/// [`inflate_limit`] allows: a deflate bomb is refused before it fills memory.
pub fn inflate(deflated: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let limit = inflate_limit(deflated.len() as u64);
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(deflated)
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("the deflated data set cannot be inflated ({e})"))?;
    if out.len() as u64 > limit {
        return Err(crate::inflate::bomb("the deflated data set", limit));
    }
    Ok(out)
}
const UNDEFINED: u32 = 0xFFFF_FFFF;

struct Walker<'a> {
    buf: &'a [u8],
    /// Set when an explicit-VR element of VR UN with an undefined length was walked (a
    /// sequence in implicit VR inside: see `super::un_sequences`).
    un_sequence: std::cell::Cell<bool>,
}

/// What ended a run of elements.
enum Stop {
    End,
    /// An element at or after the tag the walk was to stop at.
    Until,
    ItemDelimiter,
    SequenceDelimiter,
}

/// Whether an element of `vr` has a 32-bit length after two reserved bytes in explicit VR
/// (PS3.5 Table 7.1-1), rather than a 16-bit one.
pub(crate) fn has_long_length(vr: VR) -> bool {
    matches!(
        vr,
        VR::OB
            | VR::OD
            | VR::OF
            | VR::OL
            | VR::OV
            | VR::OW
            | VR::SQ
            | VR::SV
            | VR::UC
            | VR::UN
            | VR::UR
            | VR::UT
            | VR::UV
    )
}

impl<'a> Walker<'a> {
    fn new(buf: &'a [u8]) -> Walker<'a> {
        Walker {
            buf,
            un_sequence: std::cell::Cell::new(false),
        }
    }
}

fn fmt(tag: Tag) -> String {
    format!("({:04X},{:04X})", tag.group(), tag.element())
}

/// Where and why a file's structure is damaged, as the pre-check found it: what is wrong, the
/// element it is in, the items of the sequences around it, and where in the data set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// What is wrong.
    pub why: String,
    /// The element it is in, when it is in one.
    pub tag: Option<Tag>,
    /// The sequence items it is inside, innermost first: each sequence's tag and the item's
    /// number (from 1).
    pub path: Vec<(Tag, usize)>,
    /// Where it was found, in bytes from the start of the data set (after the file meta
    /// group; in a deflated file, of the data set inflated); `None` in the meta group.
    pub offset: Option<usize>,
}

impl Damage {
    /// Damage with no place to point to (the file meta group, the file as a whole).
    pub fn new(why: impl Into<String>) -> Damage {
        Damage {
            why: why.into(),
            tag: None,
            path: Vec::new(),
            offset: None,
        }
    }

    /// Damage at `offset` of the data set, in element `tag`.
    pub(super) fn at(offset: usize, tag: Option<Tag>, why: impl Into<String>) -> Damage {
        Damage {
            offset: Some(offset),
            tag,
            ..Damage::new(why)
        }
    }
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.why)?;
        for (sequence, item) in &self.path {
            write!(f, " in item {item} of {}", fmt(*sequence))?;
        }
        if let Some(offset) = self.offset {
            write!(f, " (at byte {offset} of the data set)")?;
        }
        Ok(())
    }
}

impl std::error::Error for Damage {}

impl From<String> for Damage {
    fn from(why: String) -> Damage {
        Damage::new(why)
    }
}

impl From<Damage> for String {
    fn from(d: Damage) -> String {
        d.to_string()
    }
}

impl From<&str> for Damage {
    fn from(why: &str) -> Damage {
        Damage::new(why)
    }
}

impl Walker<'_> {
    fn u16(&self, at: usize, enc: Encoding) -> Result<u16, Damage> {
        let b = self
            .buf
            .get(at..at + 2)
            .ok_or_else(|| Damage::at(at, None, "the file ends inside an element header"))?;
        Ok(match enc {
            Encoding::ExplicitBig => u16::from_be_bytes([b[0], b[1]]),
            _ => u16::from_le_bytes([b[0], b[1]]),
        })
    }

    fn u32(&self, at: usize, enc: Encoding) -> Result<u32, Damage> {
        let b = self
            .buf
            .get(at..at + 4)
            .ok_or_else(|| Damage::at(at, None, "the file ends inside an element header"))?;
        Ok(match enc {
            Encoding::ExplicitBig => u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            _ => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        })
    }

    fn check_len(&self, tag: Tag, pos: usize, len: u32, end: usize) -> Result<usize, Damage> {
        let stop = pos
            .checked_add(len as usize)
            .filter(|&e| e <= end)
            .ok_or_else(|| {
                let why = format!(
                    "element {} claims {len} bytes but only {} are left",
                    fmt(tag),
                    end.saturating_sub(pos)
                );
                Damage::at(pos, Some(tag), why)
            })?;
        Ok(stop)
    }

    /// Walk elements from `pos` to `end` (or to a delimiter); returns where it stopped.
    /// With `until`, the walk stops before the first element whose tag is that or later.
    fn elements(
        &self,
        mut pos: usize,
        end: usize,
        enc: Encoding,
        depth: usize,
        until: Option<Tag>,
    ) -> Result<(usize, Stop), Damage> {
        if depth > MAX_DEPTH {
            return Err(Damage::at(pos, None, "sequences nest too deeply"));
        }
        while pos < end {
            let tag = Tag(self.u16(pos, enc)?, self.u16(pos + 2, enc)?);
            if until.is_some_and(|u| tag >= u) {
                return Ok((pos, Stop::Until));
            }
            if tag.group() == 0xFFFE {
                let len = self.u32(pos + 4, enc)?;
                match tag.element() {
                    0xE00D => return Ok((pos + 8, Stop::ItemDelimiter)),
                    0xE0DD => return Ok((pos + 8, Stop::SequenceDelimiter)),
                    _ => {
                        let why =
                            format!("unexpected item {} of {len} bytes among elements", fmt(tag));
                        return Err(Damage::at(pos, Some(tag), why));
                    }
                }
            }
            let (vr, len, header) = match enc {
                Encoding::ImplicitLittle => {
                    let vr = match StandardDataDictionary.by_tag(tag).map(|e| e.vr) {
                        Some(VirtualVr::Exact(VR::SQ)) => Some(VR::SQ),
                        _ => None,
                    };
                    (vr, self.u32(pos + 4, enc)?, 8)
                }
                _ => {
                    let code = self.buf.get(pos + 4..pos + 6).ok_or_else(|| {
                        Damage::at(pos, Some(tag), "the file ends inside an element header")
                    })?;
                    let vr = VR::from_binary([code[0], code[1]]).ok_or_else(|| {
                        Damage::at(
                            pos,
                            Some(tag),
                            format!("element {} has no valid VR", fmt(tag)),
                        )
                    })?;
                    if has_long_length(vr) {
                        (Some(vr), self.u32(pos + 8, enc)?, 12)
                    } else {
                        (Some(vr), u32::from(self.u16(pos + 6, enc)?), 8)
                    }
                }
            };
            let start = pos;
            pos += header;
            if len == UNDEFINED {
                let fragments = tag == Tag(0x7FE0, 0x0010);
                // An undefined-length UN holds an implicit VR little endian sequence.
                let inner = if vr == Some(VR::UN) {
                    if enc == Encoding::ExplicitLittle {
                        self.un_sequence.set(true);
                    }
                    Encoding::ImplicitLittle
                } else {
                    enc
                };
                pos = self.items(pos, end, inner, (tag, fragments), depth + 1)?;
            } else {
                let stop = self.check_len(tag, pos, len, end)?;
                // A standard attribute stored as UN (or bytes) is read with its dictionary VR (by
                // `super::un_sequences`, which checks a sequence's items as it reads them).
                if enc == Encoding::ExplicitLittle
                    && vr.is_some_and(|vr| super::un_sequences::reread_vr(tag, vr).is_some())
                {
                    self.un_sequence.set(true);
                }
                if vr == Some(VR::SQ) {
                    let after = self.items(pos, stop, enc, (tag, false), depth + 1)?;
                    if after != stop {
                        let why = format!("sequence {} does not fill its length", fmt(tag));
                        return Err(Damage::at(start, Some(tag), why));
                    }
                }
                pos = stop;
            }
        }
        Ok((pos, Stop::End))
    }

    /// Walk the items of sequence `of.0` (or its pixel data fragments, when `of.1`) until
    /// `end` or the sequence delimiter; returns the position after them. Damage inside an
    /// item says which item of which sequence it is in.
    fn items(
        &self,
        mut pos: usize,
        end: usize,
        enc: Encoding,
        (sequence, fragments): (Tag, bool),
        depth: usize,
    ) -> Result<usize, Damage> {
        let mut number = 0;
        while pos < end {
            let start = pos;
            let tag = Tag(self.u16(pos, enc)?, self.u16(pos + 2, enc)?);
            let len = self.u32(pos + 4, enc)?;
            pos += 8;
            number += 1;
            let inside = |mut d: Damage| {
                d.path.push((sequence, number));
                d
            };
            match (tag.group(), tag.element()) {
                (0xFFFE, 0xE0DD) => return Ok(pos),
                (0xFFFE, 0xE000) if fragments => {
                    if len == UNDEFINED {
                        let why = "a pixel data fragment has no length";
                        return Err(inside(Damage::at(start, Some(sequence), why)));
                    }
                    pos = self.check_len(tag, pos, len, end).map_err(inside)?;
                }
                (0xFFFE, 0xE000) if len == UNDEFINED => {
                    match self.elements(pos, end, enc, depth, None).map_err(inside)? {
                        (p, Stop::ItemDelimiter) => pos = p,
                        _ => {
                            let why = "an item is not closed";
                            return Err(inside(Damage::at(start, Some(sequence), why)));
                        }
                    }
                }
                (0xFFFE, 0xE000) => {
                    let stop = self.check_len(tag, pos, len, end).map_err(inside)?;
                    match self.elements(pos, stop, enc, depth, None).map_err(inside)? {
                        (p, Stop::End) if p == stop => pos = stop,
                        _ => {
                            let why = "an item does not fill its length";
                            return Err(inside(Damage::at(start, Some(sequence), why)));
                        }
                    }
                }
                _ => {
                    let why = format!("expected an item of {}, found {}", fmt(sequence), fmt(tag));
                    return Err(Damage::at(start, Some(sequence), why));
                }
            }
        }
        Ok(pos)
    }
}

/// Check the structure of a data set encoded with `enc` (the bytes after the file meta group).
pub fn check_dataset(buf: &[u8], enc: Encoding) -> Result<(), Damage> {
    check_dataset_noting(buf, enc).map(|_| ())
}

/// [`check_dataset`], saying whether the data set holds a UN of undefined length in explicit
/// VR little endian (which `super::un_sequences` rewrites for dicom-rs).
pub(crate) fn check_dataset_noting(buf: &[u8], enc: Encoding) -> Result<bool, Damage> {
    let w = Walker::new(buf);
    match w.elements(0, buf.len(), enc, 0, None)? {
        (_, Stop::End) => Ok(w.un_sequence.get()),
        (at, _) => Err(Damage::at(
            at - 8,
            None,
            "a delimiter appears outside any sequence",
        )),
    }
}

/// What the file meta group of a Part 10 file says: where it ends (from after the "DICM"
/// marker), and the transfer syntax of the data set after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Meta {
    /// Its length: the data set starts there.
    pub len: usize,
    /// The transfer syntax UID it names (trailing padding included), or the one
    /// [`guess_syntax`] reads from the data set when it names none or names the wrong one of
    /// explicit and implicit VR little endian.
    pub syntax: String,
    /// That syntax, when it is the data set's own rather than the one the group names.
    pub guessed: Option<&'static str>,
}

/// Walk the elements of the file meta group at the start of `buf` (from after the "DICM"
/// marker; always explicit VR little endian), calling `each` with every element's start, its
/// element number and the range of its value; returns where the group ends.
pub(crate) fn meta_elements(
    buf: &[u8],
    mut each: impl FnMut(usize, u16, std::ops::Range<usize>),
) -> Result<usize, String> {
    let w = Walker::new(buf);
    let mut pos = 0;
    while w.u16(pos, Encoding::ExplicitLittle).ok() == Some(0x0002) {
        let element = w.u16(pos + 2, Encoding::ExplicitLittle)?;
        let code = buf
            .get(pos + 4..pos + 6)
            .ok_or("the file ends inside its meta group")?;
        let vr = VR::from_binary([code[0], code[1]])
            .ok_or("the meta group has an element with no valid VR")?;
        let (len, header) = if has_long_length(vr) {
            (w.u32(pos + 8, Encoding::ExplicitLittle)?, 12)
        } else {
            (u32::from(w.u16(pos + 6, Encoding::ExplicitLittle)?), 8)
        };
        let stop = w.check_len(Tag(0x0002, element), pos + header, len, buf.len())?;
        each(pos, element, pos + header..stop);
        pos = stop;
    }
    Ok(pos)
}

/// The file meta group of a Part 10 file given from after its "DICM" marker (always explicit
/// VR little endian): where it ends, and the transfer syntax it names (or, without one, the
/// data set's own, see [`guess_syntax`]).
pub(crate) fn meta_group(buf: &[u8]) -> Result<Meta, String> {
    let mut ts = None;
    let pos = meta_elements(buf, |_, element, value| {
        if element == 0x0010 {
            ts = Some(String::from_utf8_lossy(&buf[value]).into_owned());
        }
    })?;
    let data_set = &buf[pos..];
    let guessed = match &ts {
        None => Some(guess_syntax(data_set)),
        // Explicit VR named for a data set in implicit VR, or the other way round: a
        // converter that rewrote one and not the other. The data set says which it is (as
        // pydicom reads such files); a compressed syntax is always explicit VR and kept.
        Some(named) => {
            let plain = |uid| TransferSyntax::of(uid).plain_little_endian().is_some();
            let actual = guess_syntax(data_set);
            let named = TransferSyntax::of(named).uid();
            (plain(named) && plain(actual) && named != actual && data_set.len() >= 8)
                .then_some(actual)
        }
    };
    Ok(Meta {
        len: pos,
        syntax: match (guessed, ts) {
            (Some(uid), _) => uid.to_string(),
            (None, named) => named.unwrap_or_default(),
        },
        guessed,
    })
}

/// The transfer syntax of a data set read from its first element, for a Part 10 file whose
/// meta group names none (older software wrote such files; DCMTK and pydicom read them the
/// same way): explicit VR when a valid VR follows the first tag, in big endian when that tag
/// is written high byte first (a group below 0100: 00 08 rather than 08 00), in little endian
/// otherwise; implicit VR little endian when no VR follows. A wrong guess does not get
/// through: the data set is then checked, and read, in a syntax it does not follow.
pub(crate) fn guess_syntax(data_set: &[u8]) -> &'static str {
    match data_set.get(0..6) {
        Some(h) if VR::from_binary([h[4], h[5]]).is_some() => {
            if h[0] == 0 && h[1] != 0 {
                crate::dicom::transfer_syntax::EXPLICIT_VR_BIG_ENDIAN
            } else {
                uids::EXPLICIT_VR_LITTLE_ENDIAN
            }
        }
        _ => uids::IMPLICIT_VR_LITTLE_ENDIAN,
    }
}

/// What [`check_part10`] found in a well-formed Part 10 file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part10 {
    /// The length of the file meta group (after the "DICM" marker).
    pub meta_len: usize,
    /// Whether the data set holds a UN of undefined length in explicit VR little endian.
    pub un_sequences: bool,
    /// The transfer syntax read from the data set when the meta group names none, or names
    /// the wrong one of explicit and implicit VR little endian.
    pub guessed_syntax: Option<&'static str>,
    /// A deflated data set, inflated (see [`inflate`]) and checked as explicit VR little
    /// endian like any other: the parser is given this rather than the deflate stream.
    pub inflated: Option<Vec<u8>>,
}

/// Check a Part 10 file given from its "DICM" marker: the file meta group (always explicit
/// VR little endian), then the data set in the transfer syntax the meta group names (or
/// that its first element shows, when the group names none or the wrong one, see
/// `meta_group`).
pub fn check_part10(body: &[u8]) -> Result<Part10, Damage> {
    let buf = body.get(4..).ok_or("the file ends after its marker")?;
    let meta = meta_group(buf).map_err(|e| Damage::new(format!("{e} (in the file meta group)")))?;
    if meta.len == buf.len() {
        // Every DICOM object has at least its SOP Class and Instance UIDs.
        return Err("the file holds no data set after its meta group".into());
    }
    let (un_sequences, inflated) = match TransferSyntax::of(&meta.syntax).encoding() {
        Some(enc) => (check_dataset_noting(&buf[meta.len..], enc)?, None),
        // A deflated data set: inflated within bounds, then walked with the same limits.
        None => {
            let inflated = inflate(&buf[meta.len..])?;
            let un = check_dataset_noting(&inflated, Encoding::ExplicitLittle)?;
            (un, Some(inflated))
        }
    };
    Ok(Part10 {
        meta_len: meta.len,
        un_sequences,
        guessed_syntax: meta.guessed,
        inflated,
    })
}

/// How many bytes of a Part 10 file (preamble included, or from its "DICM" marker) come
/// before its Pixel Data (7FE0,0010), when `head`, the start of the file, holds them all and
/// they are well formed; `None` otherwise (no pixel data in `head`, a deflated data set, a
/// damaged header). Those bytes alone are then a file without its pixels.
pub fn header_len(head: &[u8]) -> Option<usize> {
    header_and_encoding(head).map(|(len, _)| len)
}

/// Where the pixel bytes of a file are when they end it: a Part 10 file in little endian
/// (explicit or implicit VR) whose last element is native Pixel Data (OB, or OW: words in
/// little endian are their bytes in order) with a defined, even length. Its header
/// (everything before the Pixel Data element) is then a file of its own, and the pixel bytes
/// can become the Pixel Data value without being copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailingPixels {
    /// Bytes before the Pixel Data element (as [`header_len`]).
    pub header_len: usize,
    /// Its VR: OB or OW (words, little endian here), as dicom-rs would read it.
    pub vr: dicom_core::VR,
    /// The Pixel Data value: from after its element header to the end of the file.
    pub value: std::ops::Range<usize>,
}

/// The [`TrailingPixels`] of a file of `file_len` bytes given its start (`head`: at least
/// its header and the Pixel Data element's own header), or `None` when its pixel data is
/// anything else (compressed, followed by other elements, damaged, absent).
pub fn trailing_pixels(head: &[u8], file_len: usize) -> Option<TrailingPixels> {
    trailing_after(head, header_and_encoding(head)?, file_len)
}

/// [`trailing_pixels`] once the header is known (as [`header_and_encoding`] found it).
pub(crate) fn trailing_after(
    head: &[u8],
    (header_len, enc): (usize, Encoding),
    file_len: usize,
) -> Option<TrailingPixels> {
    // The element's header: its VR (as dicom-rs reads it: always OW in implicit VR), its
    // length, and its own size.
    let (vr, len, header) = match enc {
        Encoding::ExplicitLittle => {
            let h = head.get(header_len..header_len + 12)?;
            let vr = match h[..6] {
                [0xE0, 0x7F, 0x10, 0x00, b'O', b'B'] => VR::OB,
                [0xE0, 0x7F, 0x10, 0x00, b'O', b'W'] => VR::OW,
                _ => return None,
            };
            (vr, u32::from_le_bytes([h[8], h[9], h[10], h[11]]), 12)
        }
        Encoding::ImplicitLittle => {
            let h = head.get(header_len..header_len + 8)?;
            if h[..4] != [0xE0, 0x7F, 0x10, 0x00] {
                return None;
            }
            (VR::OW, u32::from_le_bytes([h[4], h[5], h[6], h[7]]), 8)
        }
        Encoding::ExplicitBig => return None,
    };
    let start = header_len + header;
    let ends_the_file = start.checked_add(len as usize) == Some(file_len);
    (len != UNDEFINED && len % 2 == 0 && ends_the_file).then_some(TrailingPixels {
        header_len,
        vr,
        value: start..file_len,
    })
}

/// For a whole Part 10 file (`bytes`) whose data set is deflated: how many bytes it inflates
/// to, counted without holding them, and no more than one past its [`inflate_limit`]. `None`
/// for any other file.
pub fn inflated_len(bytes: &[u8]) -> Option<u64> {
    use std::io::Read;
    let start = match bytes.get(128..132) {
        Some(b"DICM") => 132,
        _ if bytes.starts_with(b"DICM") => 4,
        _ => return None,
    };
    let buf = &bytes[start..];
    let meta = meta_group(buf).ok()?;
    if TransferSyntax::of(&meta.syntax).encoding().is_some() {
        return None;
    }
    let deflated = &buf[meta.len..];
    let limit = inflate_limit(deflated.len() as u64);
    let mut reader = flate2::read::DeflateDecoder::new(deflated).take(limit + 1);
    Some(std::io::copy(&mut reader, &mut std::io::sink()).unwrap_or(0))
}

/// [`header_len`], and the encoding of the data set.
pub(crate) fn header_and_encoding(head: &[u8]) -> Option<(usize, Encoding)> {
    let start = if head.get(128..132) == Some(b"DICM") {
        128
    } else if head.get(0..4) == Some(b"DICM") {
        0
    } else {
        return None;
    };
    let buf = head.get(start + 4..)?;
    let meta = meta_group(buf).ok()?;
    let meta_end = meta.len;
    let enc = TransferSyntax::of(&meta.syntax).encoding()?;
    let w = Walker::new(&buf[meta_end..]);
    match w.elements(0, w.buf.len(), enc, 0, Some(Tag(0x7FE0, 0x0010))) {
        Ok((p, Stop::Until)) => Some((start + 4 + meta_end + p, enc)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_sets_syntax_is_read_from_its_first_element() {
        let cases: [(&[u8], &str); 5] = [
            (
                &[0x08, 0x00, 0x05, 0x00, b'C', b'S', 0x0A, 0x00],
                uids::EXPLICIT_VR_LITTLE_ENDIAN,
            ),
            (
                &[0x00, 0x08, 0x00, 0x05, b'C', b'S', 0x00, 0x0A],
                crate::dicom::transfer_syntax::EXPLICIT_VR_BIG_ENDIAN,
            ),
            (
                &[0x08, 0x00, 0x05, 0x00, 0x0A, 0x00, 0x00, 0x00],
                uids::IMPLICIT_VR_LITTLE_ENDIAN,
            ),
            // Not a VR, even in capitals: implicit VR (a length of 0x4141).
            (
                &[0x08, 0x00, 0x05, 0x00, b'A', b'A', 0x00, 0x00],
                uids::IMPLICIT_VR_LITTLE_ENDIAN,
            ),
            (&[0x08, 0x00], uids::IMPLICIT_VR_LITTLE_ENDIAN),
        ];
        for (bytes, ts) in cases {
            assert_eq!(guess_syntax(bytes), ts, "{bytes:02X?}");
        }
    }

    #[test]
    fn sample_files_pass() {
        for (name, bytes) in crate::sample::sample_study() {
            assert_eq!(
                check_part10(&bytes[128..]).map(|p| (p.un_sequences, p.guessed_syntax)),
                Ok((false, None)),
                "{name}"
            );
        }
    }

    #[test]
    fn the_header_ends_where_pixel_data_begins() {
        for (name, bytes) in crate::sample::sample_study() {
            let Some(p) = header_len(&bytes) else {
                // Files without pixels (a report) have no end of header to find.
                assert!(
                    !bytes.windows(4).any(|w| w == [0xE0, 0x7F, 0x10, 0x00]),
                    "{name}"
                );
                continue;
            };
            assert_eq!(&bytes[p..p + 4], &[0xE0, 0x7F, 0x10, 0x00], "{name}");
            // From the marker on, the same; and only the header's bytes are needed.
            assert_eq!(header_len(&bytes[128..]), Some(p - 128), "{name}");
            assert_eq!(header_len(&bytes[..p + 8]), Some(p), "{name}");
            assert_eq!(header_len(&bytes[..p - 1]), None, "{name}");
            // What comes before is a well-formed file of its own.
            assert_eq!(
                check_part10(&bytes[128..p]).map(|p| (p.un_sequences, p.guessed_syntax)),
                Ok((false, None)),
                "{name}"
            );
        }
        assert_eq!(header_len(b"not dicom"), None);
    }

    #[test]
    fn a_length_past_the_end_is_refused() {
        let (_, mut bytes) = crate::sample::sample_study().remove(0);
        // Patient's Name is short text with a 2-byte length; find it and inflate its length.
        let at = bytes
            .windows(6)
            .position(|w| w == [0x10, 0x00, 0x10, 0x00, b'P', b'N'])
            .expect("PN");
        bytes[at + 6] = 0xFF;
        bytes[at + 7] = 0xFF;
        let damage = check_part10(&bytes[128..]).unwrap_err();
        assert_eq!(damage.tag, Some(Tag(0x0010, 0x0010)));
        assert!(damage.path.is_empty());
        assert!(
            damage
                .to_string()
                .starts_with("element (0010,0010) claims 65535 bytes"),
            "{damage}"
        );
    }

    /// An explicit VR little endian element: tag, VR, length (16 or 32 bits), value.
    fn element(tag: (u16, u16), vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let vr = VR::from_binary(*vr).expect("a VR");
        super::super::un_sequences::element_header(
            &mut out,
            Tag(tag.0, tag.1),
            vr,
            value.len() as u32,
        );
        out.extend_from_slice(value);
        out
    }

    /// An item of a defined length holding `elements`.
    fn item(elements: &[u8]) -> Vec<u8> {
        let mut out = vec![0xFE, 0xFF, 0x00, 0xE0];
        out.extend_from_slice(&(elements.len() as u32).to_le_bytes());
        out.extend_from_slice(elements);
        out
    }

    #[test]
    fn damage_says_which_element_of_which_item_of_which_sequence_and_where() {
        // (0008,1115) Referenced Series Sequence, item 1 holds (0008,114A) Referenced
        // Instance Sequence, whose item 2 holds a Referenced SOP Instance UID claiming more
        // bytes than its item has.
        let good = element((0x0008, 0x1155), b"UI", b"1.2.3.4\0");
        let mut bad = element((0x0008, 0x1155), b"UI", b"1.2.3.4\0");
        bad[6] = 200;
        let inner = [item(&good), item(&bad)].concat();
        let referenced = element((0x0008, 0x114A), b"SQ", &inner);
        let series = element((0x0008, 0x1115), b"SQ", &item(&referenced));
        let data_set = [element((0x0008, 0x0060), b"CS", b"CT"), series].concat();
        let damage = check_dataset(&data_set, Encoding::ExplicitLittle).unwrap_err();
        assert_eq!(damage.tag, Some(Tag(0x0008, 0x1155)));
        assert_eq!(
            damage.path,
            vec![(Tag(0x0008, 0x114A), 2), (Tag(0x0008, 0x1115), 1)]
        );
        // Where the value starts: after the first element (10 bytes), the outer sequence's
        // header (12) and item header (8), the inner sequence's header (12), its first item
        // (8 + 16) and the second item's header (8), and the element's own header (8).
        assert_eq!(damage.offset, Some(10 + 12 + 8 + 12 + 24 + 8 + 8));
        assert_eq!(
            damage.to_string(),
            "element (0008,1155) claims 200 bytes but only 8 are left in item 2 of (0008,114A) \
             in item 1 of (0008,1115) (at byte 82 of the data set)"
        );
        // The same through the reader, as the user sees it.
        let err = crate::dicom::read::ReadError::from(damage);
        assert!(err
            .to_string()
            .starts_with("damaged DICOM file: element (0008,1155)"));
    }
}
