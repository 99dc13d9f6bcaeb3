//! Sequences stored as UN with an undefined length, made readable.
//!
//! A program that does not know a sequence (often a private one) and converts a file from
//! implicit to explicit VR writes it as UN with an undefined length; its value is then still
//! in implicit VR little endian (PS3.5 §6.2.2, Note 4). dicom-rs reads such a value in the
//! file's own explicit VR and fails, so a valid file would be refused. Here a copy of the
//! data set is rewritten with each such element as an SQ whose items are in explicit VR
//! (sequences and items with undefined lengths and delimiters, so that no length has to be
//! worked out again). The de-identification then sees inside it like any other sequence.
//!
//! A standard attribute stored as UN with a defined length (a converter that did not know
//! it, or a file made to hide it), or as bytes (OB, OW) where the dictionary says text,
//! numbers or a sequence, is read with the VR its dictionary gives (PS3.5 §6.2.2): as
//! a sequence in implicit VR where the dictionary says SQ, with that VR otherwise. The rules
//! then apply to it as to any other; the patient's own values are learned from it. One that
//! cannot be read so stays UN, and the de-identification removes it.

use dicom_core::dictionary::{DataDictionary, VirtualVr};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;

use super::precheck::{has_long_length, Damage};

const UNDEFINED: u32 = 0xFFFF_FFFF;
const MAX_DEPTH: usize = 64;
const ITEM: [u8; 4] = [0xFE, 0xFF, 0x00, 0xE0];
const ITEM_END: [u8; 8] = [0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0];
const SEQUENCE_END: [u8; 8] = [0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0];

/// The encoding of the bytes being read (the output is always explicit VR little endian).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Input {
    Explicit,
    Implicit,
}

/// The header of an element in explicit VR little endian: its tag, `vr`, and `len` in 32
/// bits after two reserved bytes or in 16 (PS3.5 Table 7.1-1), as [`has_long_length`] says.
pub(crate) fn element_header(out: &mut Vec<u8>, tag: Tag, vr: VR, len: u32) {
    out.extend_from_slice(&tag.group().to_le_bytes());
    out.extend_from_slice(&tag.element().to_le_bytes());
    out.extend_from_slice(&vr.to_bytes());
    if has_long_length(vr) {
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&len.to_le_bytes());
    } else {
        out.extend_from_slice(&(len as u16).to_le_bytes());
    }
}

/// `data_set` (explicit VR little endian, without its meta group) with every UN of undefined
/// length rewritten as an SQ in explicit VR. Called only for a data set that holds one
/// ([`super::precheck::check_part10`] says so while it checks the file). A data set that cannot
/// be read so is damaged: the error says where, in which element, and in which items.
pub fn rewrite(data_set: &[u8]) -> Result<Vec<u8>, Damage> {
    let reader = Reader { buf: data_set };
    let mut out = Vec::with_capacity(data_set.len() + 1024);
    reader.elements(0, data_set.len(), Input::Explicit, &mut out, 0)?;
    Ok(out)
}

/// The VR the dictionary gives a standard attribute, with which a value stored as UN is read
/// (the first of the VRs it may have where it names several); `None` for a private, unknown
/// or retired-without-VR attribute, and for pixel data.
pub(crate) fn dictionary_vr(tag: Tag) -> Option<VR> {
    if tag.group() % 2 == 1 || tag.element() == 0 || tag.group() == 0xFFFE {
        return None;
    }
    match StandardDataDictionary.by_tag(tag)?.vr {
        VirtualVr::Exact(VR::UN) | VirtualVr::Px => None,
        VirtualVr::Exact(vr) => Some(vr),
        VirtualVr::Xs => Some(VR::US),
        VirtualVr::Ox => Some(VR::OB),
        VirtualVr::Lt => Some(VR::OW),
        // (A kind of VR a later dictionary may add: not guessed at.)
        _ => None,
    }
}

/// The VR with which an explicit-VR element of a standard attribute written with `written`
/// is to be read instead: its dictionary VR when written as UN; when written as OB or OW
/// (bytes, a writer's catch-all), the dictionary's VR where that is a single VR other than
/// bytes (text, numbers, a sequence). `None` when it is to be read as written.
pub(crate) fn reread_vr(tag: Tag, written: VR) -> Option<VR> {
    match written {
        VR::UN => dictionary_vr(tag),
        VR::OB | VR::OW => match StandardDataDictionary.by_tag(tag)?.vr {
            _ if tag.group() % 2 == 1 || tag.element() == 0 => None,
            VirtualVr::Exact(VR::OB | VR::OW | VR::OF | VR::OD | VR::OL | VR::OV | VR::UN) => None,
            VirtualVr::Exact(vr) => Some(vr),
            _ => None,
        },
        _ => None,
    }
}

/// The VR an implicit-VR element is written with: the dictionary's, when it names one, UN
/// otherwise (and for a value too long for a 16-bit length).
fn implicit_vr(tag: Tag, len: u32) -> VR {
    if len == UNDEFINED {
        return VR::SQ;
    }
    let private_creator = tag.group() % 2 == 1 && (0x0010..=0x00FF).contains(&tag.element());
    let vr = match StandardDataDictionary.by_tag(tag).map(|e| e.vr) {
        _ if private_creator => VR::LO,
        Some(VirtualVr::Exact(vr)) => vr,
        _ => VR::UN,
    };
    if !has_long_length(vr) && len > 0xFFFF {
        VR::UN
    } else {
        vr
    }
}

struct Reader<'a> {
    buf: &'a [u8],
}

/// What ended a run of elements.
enum End {
    Bytes,
    ItemDelimiter,
}

impl Reader<'_> {
    fn bytes(&self, at: usize, n: usize) -> Result<&[u8], Damage> {
        self.buf
            .get(
                at..at
                    .checked_add(n)
                    .ok_or_else(|| Damage::at(at, None, "a length overflows"))?,
            )
            .ok_or_else(|| Damage::at(at, None, "the data set ends inside an element"))
    }

    fn u16(&self, at: usize) -> Result<u16, Damage> {
        let b = self.bytes(at, 2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&self, at: usize) -> Result<u32, Damage> {
        let b = self.bytes(at, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// One element's header at `pos`: (tag, VR, length, header size); the VR is `None` for
    /// an item or delimiter.
    fn header(&self, pos: usize, input: Input) -> Result<(Tag, Option<VR>, u32, usize), Damage> {
        let tag = Tag(self.u16(pos)?, self.u16(pos + 2)?);
        if tag.group() == 0xFFFE {
            return Ok((tag, None, self.u32(pos + 4)?, 8));
        }
        match input {
            Input::Implicit => {
                let len = self.u32(pos + 4)?;
                Ok((tag, Some(implicit_vr(tag, len)), len, 8))
            }
            Input::Explicit => {
                let code = self.bytes(pos + 4, 2)?;
                let vr = VR::from_binary([code[0], code[1]]).unwrap_or(VR::UN);
                if has_long_length(vr) {
                    Ok((tag, Some(vr), self.u32(pos + 8)?, 12))
                } else {
                    Ok((tag, Some(vr), u32::from(self.u16(pos + 6)?), 8))
                }
            }
        }
    }

    /// Past the fragments of encapsulated pixel data (after their sequence delimiter).
    fn skip_fragments(&self, mut pos: usize, end: usize) -> Result<usize, Damage> {
        while pos < end {
            let tag = Tag(self.u16(pos)?, self.u16(pos + 2)?);
            let len = self.u32(pos + 4)?;
            pos += 8;
            if tag == Tag(0xFFFE, 0xE0DD) {
                return Ok(pos);
            }
            if len == UNDEFINED {
                return Err(Damage::at(
                    pos - 8,
                    Some(Tag(0x7FE0, 0x0010)),
                    "a pixel data fragment has no length",
                ));
            }
            pos = pos.saturating_add(len as usize);
        }
        Ok(pos)
    }

    /// Copy the elements from `pos` to `end` (or to an item delimiter) into `out` in explicit
    /// VR; returns where reading stopped.
    fn elements(
        &self,
        mut pos: usize,
        end: usize,
        input: Input,
        out: &mut Vec<u8>,
        depth: usize,
    ) -> Result<(usize, End), Damage> {
        if depth > MAX_DEPTH {
            return Err(Damage::at(pos, None, "sequences nest too deeply"));
        }
        while pos < end {
            let (tag, vr, len, header) = self.header(pos, input)?;
            let Some(vr) = vr else {
                if tag == Tag(0xFFFE, 0xE00D) {
                    return Ok((pos + 8, End::ItemDelimiter));
                }
                return Err(Damage::at(
                    pos,
                    Some(tag),
                    format!(
                        "unexpected item ({:04X},{:04X}) among elements",
                        tag.group(),
                        tag.element()
                    ),
                ));
            };
            let start = pos;
            pos += header;
            if tag == Tag(0x7FE0, 0x0010) && len == UNDEFINED {
                // Encapsulated pixel data: copied as they are.
                let stop = self.skip_fragments(pos, end)?;
                out.extend_from_slice(self.bytes(start, stop - start)?);
                pos = stop;
                continue;
            }
            if len != UNDEFINED && input == Input::Explicit {
                if let Some(known) = reread_vr(tag, vr) {
                    pos = self.known_un(tag, known, pos, len, end, out, depth)?;
                    continue;
                }
            }
            let sequence = vr == VR::SQ || (vr == VR::UN && len == UNDEFINED);
            if sequence {
                // Inside a UN of undefined length, the items are in implicit VR.
                let inner = if vr == VR::UN { Input::Implicit } else { input };
                element_header(out, tag, VR::SQ, UNDEFINED);
                let stop = if len == UNDEFINED {
                    end
                } else {
                    pos.checked_add(len as usize)
                        .filter(|&s| s <= end)
                        .ok_or_else(|| {
                            Damage::at(
                                start,
                                Some(tag),
                                "a sequence claims more bytes than are left",
                            )
                        })?
                };
                pos = self.items(tag, pos, stop, len == UNDEFINED, inner, out, depth + 1)?;
                out.extend_from_slice(&SEQUENCE_END);
                continue;
            }
            let value = self.bytes(pos, len as usize).map_err(|mut d| {
                d.tag.get_or_insert(tag);
                d
            })?;
            element_header(out, tag, vr, len);
            out.extend_from_slice(value);
            pos = pos.saturating_add(len as usize);
        }
        Ok((pos, End::Bytes))
    }

    /// A standard attribute stored as UN (or as bytes, see [`reread_vr`]) with a defined
    /// length (its value from `pos`, `len` bytes), written with its dictionary VR `known`: a sequence whose items are read in
    /// implicit VR, or the same value bytes under the new VR. Where it cannot be read so (the
    /// items are not items, a value too long for the VR's 16-bit length) it is copied as UN;
    /// returns the position after it.
    #[allow(clippy::too_many_arguments)]
    fn known_un(
        &self,
        tag: Tag,
        known: VR,
        pos: usize,
        len: u32,
        end: usize,
        out: &mut Vec<u8>,
        depth: usize,
    ) -> Result<usize, Damage> {
        let stop = pos
            .checked_add(len as usize)
            .filter(|&s| s <= end)
            .ok_or_else(|| {
                Damage::at(pos, Some(tag), "an element claims more bytes than are left")
            })?;
        let value = self.bytes(pos, len as usize)?;
        if known == VR::SQ {
            let mut seq = Vec::with_capacity(value.len() + 64);
            element_header(&mut seq, tag, VR::SQ, UNDEFINED);
            if self
                .items(tag, pos, stop, false, Input::Implicit, &mut seq, depth + 1)
                .is_ok_and(|p| p == stop)
            {
                seq.extend_from_slice(&SEQUENCE_END);
                out.extend_from_slice(&seq);
                return Ok(stop);
            }
        } else if has_long_length(known) || len <= 0xFFFF {
            element_header(out, tag, known, len);
            out.extend_from_slice(value);
            return Ok(stop);
        }
        element_header(out, tag, VR::UN, len);
        out.extend_from_slice(value);
        Ok(stop)
    }

    /// Copy the items of sequence `sequence` (each rewritten with an undefined length and a
    /// delimiter); returns the position after them (after the sequence delimiter when
    /// `delimited`).
    #[allow(clippy::too_many_arguments)]
    fn items(
        &self,
        sequence: Tag,
        mut pos: usize,
        end: usize,
        delimited: bool,
        input: Input,
        out: &mut Vec<u8>,
        depth: usize,
    ) -> Result<usize, Damage> {
        let damage = |at: usize, why: &str| Damage::at(at, Some(sequence), why);
        // Damage inside item `n` says which item of which sequence it is in (innermost
        // first, as it comes back up); damage to the items themselves is in the sequence.
        let inside = |n: usize| {
            move |mut d: Damage| {
                d.path.push((sequence, n));
                d
            }
        };
        let in_sequence = |mut d: Damage| {
            d.tag.get_or_insert(sequence);
            d
        };
        let mut item = 0;
        while pos < end {
            let tag = Tag(
                self.u16(pos).map_err(in_sequence)?,
                self.u16(pos + 2).map_err(in_sequence)?,
            );
            let len = self.u32(pos + 4).map_err(in_sequence)?;
            pos += 8;
            match (tag.group(), tag.element()) {
                (0xFFFE, 0xE0DD) => return Ok(pos),
                (0xFFFE, 0xE000) => {
                    item += 1;
                    out.extend_from_slice(&ITEM);
                    out.extend_from_slice(&UNDEFINED.to_le_bytes());
                    if len == UNDEFINED {
                        match self
                            .elements(pos, end, input, out, depth)
                            .map_err(inside(item))?
                        {
                            (p, End::ItemDelimiter) => pos = p,
                            _ => return Err(damage(pos, "an item is not closed")),
                        }
                    } else {
                        let stop = pos
                            .checked_add(len as usize)
                            .filter(|&s| s <= end)
                            .ok_or_else(|| {
                                damage(pos, "an item claims more bytes than are left")
                            })?;
                        match self
                            .elements(pos, stop, input, out, depth)
                            .map_err(inside(item))?
                        {
                            (p, End::Bytes) if p == stop => pos = stop,
                            _ => return Err(damage(pos, "an item does not fill its length")),
                        }
                    }
                    out.extend_from_slice(&ITEM_END);
                }
                _ => return Err(damage(pos - 8, "expected an item in a sequence")),
            }
        }
        if delimited {
            return Err(damage(pos, "a sequence is not closed"));
        }
        Ok(pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn implicit(tag: (u16, u16), value: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&tag.0.to_le_bytes());
        v.extend_from_slice(&tag.1.to_le_bytes());
        v.extend_from_slice(&(value.len() as u32).to_le_bytes());
        v.extend_from_slice(value);
        v
    }

    #[test]
    fn a_un_of_undefined_length_becomes_an_explicit_sequence() {
        // (0009,0010) LO creator, then (0009,1001) UN undefined: one item holding, in
        // implicit VR, Patient's Name and a nested sequence of undefined length.
        let mut ds = Vec::new();
        ds.extend_from_slice(&[0x09, 0, 0x10, 0, b'L', b'O', 4, 0]);
        ds.extend_from_slice(b"ACME");
        ds.extend_from_slice(&[
            0x09, 0, 0x01, 0x10, b'U', b'N', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        ds.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        ds.extend(implicit((0x0010, 0x0010), b"FAKE^NAME "));
        ds.extend_from_slice(&[0x08, 0, 0x15, 0x11, 0xFF, 0xFF, 0xFF, 0xFF]);
        ds.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        ds.extend(implicit((0x0020, 0x000E), b"1.2.3\0"));
        ds.extend_from_slice(&ITEM_END);
        ds.extend_from_slice(&SEQUENCE_END);
        ds.extend_from_slice(&ITEM_END);
        ds.extend_from_slice(&SEQUENCE_END);
        ds.extend_from_slice(&[0x10, 0, 0x20, 0, b'L', b'O', 4, 0]);
        ds.extend_from_slice(b"ID01");

        // Cut anywhere, or with a byte changed, the bytes give an answer, never a panic.
        for cut in 0..ds.len() {
            let _ = rewrite(&ds[..cut]);
            let mut changed = ds.clone();
            changed[cut] ^= 0xFF;
            let _ = rewrite(&changed);
        }
        let explicit = super::super::precheck::Encoding::ExplicitLittle;
        assert_eq!(
            super::super::precheck::check_dataset_noting(&ds, explicit),
            Ok(true),
            "the check that every file goes through notes it"
        );
        let out = rewrite(&ds).expect("well formed");
        let obj = dicom_object::InMemDicomObject::read_dataset_with_ts(
            out.as_slice(),
            &dicom_transfer_syntax_registry::entries::EXPLICIT_VR_LITTLE_ENDIAN.erased(),
        )
        .expect("dicom-rs reads the result");
        let seq = obj.element(Tag(0x0009, 0x1001)).expect("kept");
        assert_eq!(seq.vr(), VR::SQ);
        let item = &seq.items().expect("a sequence")[0];
        let name = item.element(Tag(0x0010, 0x0010)).expect("inside");
        assert_eq!(name.vr(), VR::PN);
        assert_eq!(name.to_str().expect("text"), "FAKE^NAME");
        let inner = item.element(Tag(0x0008, 0x1115)).expect("nested");
        let uid = inner.items().expect("a sequence")[0]
            .element(Tag(0x0020, 0x000E))
            .expect("inside")
            .to_str()
            .expect("text")
            .to_string();
        assert_eq!(uid.trim_end_matches('\0'), "1.2.3");
        assert_eq!(
            obj.element(Tag(0x0010, 0x0020))
                .expect("after")
                .to_str()
                .expect("text"),
            "ID01"
        );
    }

    #[test]
    fn a_data_set_without_one_is_not_noted() {
        let mut ds = vec![0x10, 0, 0x20, 0, b'L', b'O', 4, 0];
        ds.extend_from_slice(b"ID01");
        let explicit = super::super::precheck::Encoding::ExplicitLittle;
        assert_eq!(
            super::super::precheck::check_dataset_noting(&ds, explicit),
            Ok(false)
        );
        // Damaged bytes are an error, never a panic.
        let mut cut = vec![
            0x09, 0, 0x01, 0x10, b'U', b'N', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ];
        cut.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF]);
        let damage = rewrite(&cut).expect_err("cut short");
        // It says where: in which sequence, at which byte.
        assert_eq!(damage.tag, Some(Tag(0x0009, 0x1001)));
        assert_eq!(damage.offset, Some(16));
        // And damage inside an item says which item of which sequence it is in.
        let mut inner = vec![
            0x09, 0, 0x01, 0x10, b'U', b'N', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ];
        inner.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        inner.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
        inner.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        inner.extend_from_slice(&[0x10, 0x00, 0x10, 0x00, 0xFF, 0x00, 0x00, 0x00, b'X']);
        let damage = rewrite(&inner).expect_err("a value past the end");
        assert_eq!(damage.path, vec![(Tag(0x0009, 0x1001), 2)]);
        assert_eq!(damage.tag, Some(Tag(0x0010, 0x0010)));
        assert_eq!(damage.offset, Some(44));
        assert!(
            damage.to_string().contains("in item 2 of (0009,1001)"),
            "{damage}"
        );
    }
}
