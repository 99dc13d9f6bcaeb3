//! Reading DICOM files into objects: a Part 10 file, or a bare data set as older software
//! wrote them, after the structural [`super::precheck`] that keeps a damaged file from making
//! the parser allocate or recurse without bound. A few valid files dicom-rs cannot read as
//! they are (a meta group without its length or naming the wrong syntax, a sequence stored as
//! UN) are repaired on the way in; text is decoded to Unicode (`charset`).

use dicom_dictionary_std::{tags, uids};
use dicom_object::{InMemDicomObject, OpenFileOptions};
use dicom_transfer_syntax_registry::entries::{
    DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN,
};

use super::precheck::Damage;
use super::{
    charset, error_chain, precheck, un_sequences, TransferSyntax, IMPLEMENTATION_CLASS_UID,
};
use crate::attrs;

/// Why a file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The bytes are neither a DICOM Part 10 file nor a bare DICOM data set.
    #[error("not a DICOM file (no \"DICM\" marker, and not a readable DICOM data set)")]
    NotDicom,
    /// A ZIP archive given where one DICOM file was expected (archives added to a batch are
    /// opened before this, as deep as [`crate::input::NESTED_DEPTH`]).
    #[error("a ZIP archive, not a DICOM file: add it to a batch (its files are read from it), or unzip it and add the files it holds")]
    NestedArchive,
    /// A gzip-compressed file (`.gz`).
    #[error("a gzip-compressed file: decompress it (gunzip) and add the file it holds")]
    Gzip,
    /// The file claims to be DICOM but could not be read.
    #[error("could not read the DICOM data: {0}")]
    Parse(String),
    /// The file's structure is damaged (checked before parsing, so that a lying length
    /// cannot make the reader allocate gigabytes): what, in which element and item, where.
    #[error("damaged DICOM file: {0}")]
    Malformed(#[from] Damage),
}

/// Read a DICOM file (Part 10, or a bare data set as older software wrote them) from bytes,
/// after the structural check that keeps damaged files from making the parser allocate or
/// recurse without bound.
pub fn read_file(bytes: &[u8]) -> Result<dicom_object::DefaultDicomObject, ReadError> {
    read_file_until(bytes, None)
}

/// [`read_file`] for bytes the caller gives up. When native pixel data ends the file
/// (see [`precheck::trailing_pixels`]), the bytes before it are read as a file of their own
/// and the buffer itself becomes the Pixel Data value (its header moved out of the way, not
/// copied); otherwise the file is read as usual and the bytes are let go of at once.
pub fn read_file_owned(mut bytes: Vec<u8>) -> Result<dicom_object::DefaultDicomObject, ReadError> {
    use dicom_core::value::{PrimitiveValue, C};
    let Some(pixels) = precheck::trailing_pixels(&bytes, bytes.len()) else {
        return read_file(&bytes);
    };
    let mut file = read_file(&bytes[..pixels.header_len])?;
    bytes.drain(..pixels.value.start);
    // 16-bit words stay bytes (little endian), as the pixel code and the writer take them.
    file.put(dicom_core::DataElement::new(
        tags::PIXEL_DATA,
        pixels.vr,
        PrimitiveValue::U8(C::from_vec(bytes)),
    ));
    Ok(file)
}

/// What the start of a file (`head`, as read to learn its patient) tells before the file is
/// read whole, from one walk of its header: where the header ends ([`super::header_len`]; `None`
/// when `head` does not hold it all), and about how much memory de-identifying the file holds
/// at once. That is the file's size (`file_len`) when native pixel data ends it in little
/// endian (they are worked on where they were read: see [`read_file_owned`]); twice its size
/// otherwise (the bytes read and the values parsed from them, then those values and the bytes
/// written); and for a deflated file given whole, its size and twice what its data set
/// inflates to (no more than [`precheck::inflate_limit`] allows).
pub fn header_and_memory(head: &[u8], file_len: u64) -> (Option<usize>, u64) {
    if head.len() as u64 == file_len {
        if let Some(inflated) = precheck::inflated_len(head) {
            // Deflated: the file, its data set inflated, and the values parsed from it.
            return (None, file_len.saturating_add(inflated.saturating_mul(2)));
        }
    }
    let header = precheck::header_and_encoding(head);
    let trailing = match (header, usize::try_from(file_len)) {
        (Some(h), Ok(len)) => precheck::trailing_after(head, h, len).is_some(),
        _ => false,
    };
    let memory = if trailing {
        file_len
    } else {
        file_len.saturating_mul(2)
    };
    (header.map(|(len, _)| len), memory)
}

/// [`read_file`], stopping before `until` (e.g. Pixel Data) in a Part 10 file.
pub(crate) fn read_file_until(
    bytes: &[u8],
    until: Option<dicom_core::Tag>,
) -> Result<dicom_object::DefaultDicomObject, ReadError> {
    let body = if bytes.get(128..132) == Some(b"DICM") {
        &bytes[128..]
    } else if bytes.get(0..4) == Some(b"DICM") {
        bytes
    } else {
        return read_raw_dataset(bytes);
    };
    let part10 = precheck::check_part10(body).map_err(ReadError::Malformed)?;
    let repaired = readable(body, &part10).map_err(ReadError::Malformed)?;
    let mut options = OpenFileOptions::new().read_preamble(dicom_object::file::ReadPreamble::Never);
    if let Some(tag) = until {
        options = options.read_until(tag);
    }
    // A repaired file is its new meta group, then its data set where it is (not copied).
    let read = match &repaired {
        Some((meta, data_set)) => {
            options.from_reader(std::io::Read::chain(&meta[..], &data_set[..]))
        }
        None => options.from_reader(body),
    };
    let mut file = read.map_err(|e| ReadError::Parse(error_chain(&e)))?;
    charset::to_unicode(&mut file);
    if part10.inflated.is_some() {
        // Read inflated as explicit VR little endian; written deflated again, as it came.
        file.meta_mut()
            .set_transfer_syntax(&DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN);
    }
    Ok(file)
}

/// A new `DICM` marker and file meta group, and the data set to read after them.
type Repaired<'a> = (Vec<u8>, std::borrow::Cow<'a, [u8]>);

/// What dicom-rs can read of `body` (from its `DICM` marker), for the few valid files it
/// cannot read as they are: a new `DICM` marker and meta group, and the data set to follow it;
/// `None` when it can read them as they are. `part10` is what
/// [`precheck::check_part10`] found: where the meta group ends (after the marker), whether
/// the data set holds a UN of undefined length (see [`un_sequences`]), and the data set's
/// transfer syntax when the meta group names none or the wrong one. A meta group without its
/// group length gets one, and one without a Transfer Syntax UID (or with the wrong one of
/// explicit and implicit VR little endian) gets the syntax the data set shows (DCMTK and
/// pydicom read such files; dicom-rs needs them right).
fn readable<'a>(
    body: &'a [u8],
    part10: &'a precheck::Part10,
) -> Result<Option<Repaired<'a>>, precheck::Damage> {
    let meta_len = part10.meta_len;
    let meta = body.get(4..4 + meta_len).unwrap_or_default();
    let data_set = match &part10.inflated {
        Some(inflated) => inflated.as_slice(),
        None => body.get(4 + meta_len..).unwrap_or_default(),
    };
    // A deflated data set is given to the parser inflated, under the syntax it then is.
    let syntax = part10.guessed_syntax.or(part10
        .inflated
        .is_some()
        .then_some(EXPLICIT_VR_LITTLE_ENDIAN.uid()));
    let has_group_length = meta.get(0..4) == Some(&[0x02, 0x00, 0x00, 0x00]);
    if has_group_length && !part10.un_sequences && syntax.is_none() {
        return Ok(None);
    }
    let data_set = if part10.un_sequences {
        std::borrow::Cow::Owned(un_sequences::rewrite(data_set)?)
    } else {
        std::borrow::Cow::Borrowed(data_set)
    };
    // The group's elements after its group length (if any), with the Transfer Syntax UID
    // put in its place (elements are in ascending order) when it was missing or wrong.
    let elements = if has_group_length {
        meta.get(12..)
            .ok_or("the meta group's length is cut short")?
    } else {
        meta
    };
    let mut group = Vec::with_capacity(elements.len() + 32);
    match syntax {
        Some(uid) => {
            let mut value = uid.as_bytes().to_vec();
            if value.len() % 2 == 1 {
                value.push(0);
            }
            let mut element = vec![0x02, 0x00, 0x10, 0x00, b'U', b'I'];
            element.extend_from_slice(&(value.len() as u16).to_le_bytes());
            element.extend_from_slice(&value);
            // The elements in order, the one naming the wrong syntax (if any) left out, the
            // right one before the first that comes after it.
            let mut placed = false;
            precheck::meta_elements(elements, |at, number, value| {
                if number > 0x0010 && !placed {
                    group.extend_from_slice(&element);
                    placed = true;
                }
                if number != 0x0010 {
                    group.extend_from_slice(&elements[at..value.end]);
                }
            })?;
            if !placed {
                group.extend_from_slice(&element);
            }
        }
        None => group.extend_from_slice(elements),
    }
    let len = u32::try_from(group.len()).map_err(|_| "the meta group is too long".to_string())?;
    let mut out = Vec::with_capacity(16 + group.len());
    out.extend_from_slice(b"DICM");
    out.extend_from_slice(&[0x02, 0x00, 0x00, 0x00, b'U', b'L', 4, 0]);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&group);
    Ok(Some((out, data_set)))
}

/// The transfer syntax a data set with no file meta group seems to use (older files, as
/// written by ACR-NEMA era software): from the first element's bytes.
fn guess_raw_transfer_syntax(bytes: &[u8]) -> Option<&'static str> {
    let head = bytes.get(0..8)?;
    let group_le = u16::from_le_bytes([head[0], head[1]]);
    let group_be = u16::from_be_bytes([head[0], head[1]]);
    let vr_like = head[4].is_ascii_uppercase() && head[5].is_ascii_uppercase();
    // A data set starts with a low, even group (0008 in practice, 0000–0028 allowed here).
    let plausible = |g: u16| g.is_multiple_of(2) && (0x0002..=0x0028).contains(&g);
    if plausible(group_le) && vr_like {
        Some(uids::EXPLICIT_VR_LITTLE_ENDIAN)
    } else if plausible(group_le) {
        Some(uids::IMPLICIT_VR_LITTLE_ENDIAN)
    } else if plausible(group_be) && vr_like {
        Some(crate::dicom::transfer_syntax::EXPLICIT_VR_BIG_ENDIAN)
    } else {
        None
    }
}

/// Read a data set that has no preamble and no file meta group, giving it a file meta group
/// from its own SOP Class and Instance UIDs. Anything else is not DICOM.
fn read_raw_dataset(bytes: &[u8]) -> Result<dicom_object::DefaultDicomObject, ReadError> {
    use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
    if bytes.starts_with(b"PK\x03\x04") {
        return Err(ReadError::NestedArchive);
    }
    if bytes.starts_with(&[0x1F, 0x8B]) {
        return Err(ReadError::Gzip);
    }
    let ts_uid = guess_raw_transfer_syntax(bytes).ok_or(ReadError::NotDicom)?;
    if let Some(enc) = TransferSyntax::of(ts_uid).encoding() {
        precheck::check_dataset(bytes, enc).map_err(|_| ReadError::NotDicom)?;
    }
    let ts = dicom_transfer_syntax_registry::TransferSyntaxRegistry
        .get(ts_uid)
        .ok_or(ReadError::NotDicom)?;
    let mut obj =
        InMemDicomObject::read_dataset_with_ts(bytes, ts).map_err(|_| ReadError::NotDicom)?;
    charset::to_unicode(&mut obj);
    let class = attrs::text(&obj, tags::SOP_CLASS_UID);
    let instance = attrs::text(&obj, tags::SOP_INSTANCE_UID);
    if class.is_empty() || instance.is_empty() {
        return Err(ReadError::NotDicom);
    }
    let meta = dicom_object::FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(class)
        .media_storage_sop_instance_uid(instance)
        .transfer_syntax(ts_uid)
        .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
        .build()
        .map_err(|e| ReadError::Parse(e.to_string()))?;
    Ok(obj.with_exact_meta(meta))
}
