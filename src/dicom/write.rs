//! Writing DICOM objects as Part 10 files, without the copies of the image dicom-rs's writer
//! would make.

use std::io::Write;

use dicom_dictionary_std::tags;
use dicom_transfer_syntax_registry::entries::EXPLICIT_VR_LITTLE_ENDIAN;

use super::{error_chain, precheck, TransferSyntax};

/// Why a cleaned object could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// dicom-rs could not encode the object, or deflating it failed.
    #[error("could not write the cleaned file: {0}")]
    Encode(String),
    /// Its file meta group could not be made.
    #[error("could not write the cleaned file: its file meta group: {0}")]
    Meta(String),
    /// Native pixel data too large for a 32-bit length.
    #[error("could not write the cleaned file: pixel data of {len} bytes is larger than 4 GiB")]
    TooLarge {
        /// The pixel data's length in bytes.
        len: usize,
    },
}

/// Write a file as DICOM Part 10. dicom-rs's writer copies every value it writes, so large
/// native pixel data in a little endian transfer syntax is set aside and appended here as
/// the last element instead: the largest copy of the image is never made. 8-bit pixel data
/// becomes the output itself, the rest of the file put in front of it.
pub fn write_part10(mut file: dicom_object::DefaultDicomObject) -> Result<Vec<u8>, WriteError> {
    use dicom_core::header::Header;
    use dicom_core::value::{PrimitiveValue, Value};
    let ts = TransferSyntax::of(file.meta().transfer_syntax());
    if ts.is_deflated() {
        return write_deflated(file);
    }
    let explicit = ts.plain_little_endian();
    let last = file.iter().map(|e| e.tag()).max();
    let native = matches!(
        file.get(tags::PIXEL_DATA).map(|e| e.value()),
        Some(Value::Primitive(
            PrimitiveValue::U8(_) | PrimitiveValue::U16(_)
        ))
    );
    let (Some(explicit), true, Some(tags::PIXEL_DATA)) = (explicit, native, last) else {
        // Sized up front: growing by doubling would hold two large buffers at once.
        let pixel_bytes = match file.get(tags::PIXEL_DATA).map(|e| e.value()) {
            Some(Value::Primitive(p)) => p.calculate_byte_len(),
            Some(Value::PixelSequence(seq)) => seq.fragments().iter().map(|f| f.len() + 8).sum(),
            _ => 0,
        };
        let mut out = Vec::with_capacity(pixel_bytes + (64 << 10));
        file.write_all(&mut out)
            .map_err(|e| WriteError::Encode(error_chain(&e)))?;
        return Ok(out);
    };
    let Some(pixels) = file.take(tags::PIXEL_DATA) else {
        return Err(WriteError::Encode("pixel data vanished".into()));
    };
    let vr = pixels.vr();
    let mut out = Vec::with_capacity(64 << 10);
    file.write_all(&mut out)
        .map_err(|e| WriteError::Encode(error_chain(&e)))?;
    let write_header = |out: &mut Vec<u8>, len: usize| -> Result<(), WriteError> {
        let len = u32::try_from(len)
            .ok()
            .filter(|l| *l != u32::MAX)
            .ok_or(WriteError::TooLarge { len })?;
        out.extend([0xE0, 0x7F, 0x10, 0x00]);
        if explicit {
            out.extend(vr.to_bytes());
            out.extend([0, 0]);
        }
        out.extend(len.to_le_bytes());
        Ok(())
    };
    match pixels.into_value() {
        Value::Primitive(PrimitiveValue::U8(b)) => {
            let mut value = b.into_vec();
            if value.len() % 2 == 1 {
                value.push(0);
            }
            write_header(&mut out, value.len())?;
            // The pixel bytes stay where they are: the buffer grows by the header's size
            // (exactly, so a large one is extended in place rather than doubled) and its
            // bytes move up to make room.
            value.reserve_exact(out.len());
            value.splice(0..0, out);
            return Ok(value);
        }
        Value::Primitive(PrimitiveValue::U16(w)) => {
            write_header(&mut out, w.len() * 2)?;
            // Converted through a small buffer a few thousand words at a time: pushing two
            // bytes at a time checks the capacity at every word, and sizing the output first
            // would write it all with zeros before writing it again.
            out.reserve(w.len() * 2);
            let mut buf = [0u8; 8192];
            for words in w.chunks(buf.len() / 2) {
                for (dst, v) in buf.chunks_exact_mut(2).zip(words) {
                    dst.copy_from_slice(&v.to_le_bytes());
                }
                out.extend_from_slice(&buf[..words.len() * 2]);
            }
        }
        _ => return Err(WriteError::Encode("pixel data changed form".into())),
    }
    Ok(out)
}

/// [`write_part10`] of a file in Deflated Explicit VR Little Endian: its data set written as
/// Explicit VR Little Endian (with the shortcut for its pixel data), then deflated in one go,
/// after its file meta group. (dicom-rs deflates as it writes, a value at a time: 16-bit
/// pixel data went in two bytes at a time, and the compressor prepares its whole output
/// buffer at every write, which made a noisy CT slice take about 85 ms instead of 5.)
fn write_deflated(mut file: dicom_object::DefaultDicomObject) -> Result<Vec<u8>, WriteError> {
    let meta = file.meta().clone();
    file.meta_mut()
        .set_transfer_syntax(&EXPLICIT_VR_LITTLE_ENDIAN.erased());
    file.meta_mut().update_information_group_length();
    let plain = write_part10(file)?;
    // The data set starts after the preamble, "DICM" and the meta group.
    let meta_len = precheck::meta_group(plain.get(132..).unwrap_or_default())
        .map_err(WriteError::Meta)?
        .len;
    let data_set = plain
        .get(132 + meta_len..)
        .ok_or_else(|| WriteError::Encode("no file meta group written".into()))?;
    let mut out = Vec::with_capacity(data_set.len() / 2 + 1024);
    out.extend_from_slice(&[0; 128]);
    out.extend_from_slice(b"DICM");
    meta.write(&mut out)
        .map_err(|e| WriteError::Encode(error_chain(&e)))?;
    // As dicom-rs would have (its fast level), the data set as one raw deflate stream.
    let mut deflate = flate2::write::DeflateEncoder::new(out, flate2::Compression::fast());
    deflate
        .write_all(data_set)
        .and_then(|_| deflate.finish())
        .map_err(|e| WriteError::Encode(format!("deflating the data set: {e}")))
}
