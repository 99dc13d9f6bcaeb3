//! Blanking native (uncompressed) pixel data in place, in any byte order, and cutting what
//! follows the image in its value.

use dicom_core::value::{PrimitiveValue, Value};
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use super::geometry::{
    each_black_sample, geometry, le_bytes, le_words, sample_bytes, swap_words, Geometry,
};
use super::rules::Region;
use super::{bits, unsupported, PixelError};
use crate::attrs;

/// Cut native Pixel Data to what Rows, Columns, Samples per Pixel, Bits Allocated and Number
/// of Frames say it holds (with one zero byte to make it even), and say how many bytes were
/// cut: bytes after the image are shown by no viewer and can hold anything (a name, another
/// picture). Nothing is done when the value is no longer than that (a short value is a
/// damaged file, which blanking and drawing refuse) or the layout cannot be told.
pub fn cut_after_image(obj: &mut InMemDicomObject) -> usize {
    let num = |tag| attrs::uint(obj, tag).map(u64::from);
    let (Some(rows), Some(cols), Some(bits)) = (
        num(tags::ROWS),
        num(tags::COLUMNS),
        num(tags::BITS_ALLOCATED),
    ) else {
        return 0;
    };
    let samples = if attrs::text(obj, tags::PHOTOMETRIC_INTERPRETATION) == "YBR_FULL_422" {
        2
    } else {
        num(tags::SAMPLES_PER_PIXEL).unwrap_or(1)
    };
    let frames = u64::from(attrs::frames(obj).max(1));
    let Some(image_bits) = [rows, cols, samples, frames, bits]
        .into_iter()
        .try_fold(1u64, u64::checked_mul)
    else {
        return 0;
    };
    let bytes = image_bits.div_ceil(8);
    let Ok(keep) = usize::try_from(bytes + bytes % 2) else {
        return 0;
    };
    let longer = match obj.get(tags::PIXEL_DATA).map(|e| e.value()) {
        Some(Value::Primitive(PrimitiveValue::U8(b))) => b.len() > keep,
        Some(Value::Primitive(PrimitiveValue::U16(w))) => w.len() * 2 > keep,
        _ => false,
    };
    if !longer {
        // No longer than the image, or not native: not touched.
        return 0;
    }
    // Cut where the value is (a large image's bytes are not copied).
    let mut cut = 0;
    obj.update_value(tags::PIXEL_DATA, |value| match value {
        Value::Primitive(PrimitiveValue::U8(b)) if b.len() > keep => {
            cut = b.len() - keep;
            b.truncate(keep);
            if bytes % 2 == 1 {
                b[keep - 1] = 0;
            }
        }
        Value::Primitive(PrimitiveValue::U16(w)) if w.len() * 2 > keep => {
            cut = w.len() * 2 - keep;
            w.truncate(keep / 2);
        }
        _ => {}
    });
    cut
}

/// Fill the regions of one frame with black. `le` tells the byte order of 16- and 32-bit
/// samples.
pub(super) fn blank_frame(frame: &mut [u8], g: &Geometry, regions: &[Region], le: bool) {
    each_black_sample(g, regions, |at, value| {
        let (bytes, n) = sample_bytes(value, g.bps, le);
        if let Some(dst) = frame.get_mut(at..at + n) {
            dst.copy_from_slice(&bytes[..n]);
        }
    });
}

/// Whether the regions of a (little-endian) frame are black already.
pub(super) fn is_blank(frame: &[u8], g: &Geometry, regions: &[Region]) -> bool {
    let mut blank = true;
    each_black_sample(g, regions, |at, value| {
        let (bytes, n) = sample_bytes(value, g.bps, true);
        blank &= frame.get(at..at + n) == Some(&bytes[..n]);
    });
    blank
}

pub(super) fn mark_cleaned(obj: &mut InMemDicomObject) {
    obj.put(DataElement::new(
        tags::BURNED_IN_ANNOTATION,
        VR::CS,
        PrimitiveValue::from("NO"),
    ));
}

/// How native pixel data was read: bytes (OB, or any VR in the file's byte order), 16-bit
/// words (OW) or 32-bit ones (OL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Form {
    Bytes,
    Words,
    Dwords,
}

/// Blank the regions on every frame of the object's native pixel data with the image's
/// black. `little_endian` tells how the file stores words. Returns the number of frames.
pub fn blank_regions(
    obj: &mut InMemDicomObject,
    regions: &[Region],
    little_endian: bool,
) -> Result<u32, PixelError> {
    if bits::is_one_bit(obj) {
        return bits::blank(obj, regions, little_endian);
    }
    let photometric = attrs::text(obj, tags::PHOTOMETRIC_INTERPRETATION);
    let planar = attrs::uint(obj, tags::PLANAR_CONFIGURATION) == Some(1);
    let g = geometry(obj, &photometric, planar)?;
    // The pixel data is taken out of the object and changed in place (no copy of a large cine).
    let Some(elem) = obj.take(tags::PIXEL_DATA) else {
        return Err(unsupported("no pixel data"));
    };
    let vr = elem.vr();
    // The samples as bytes, and the form they were read in (put back the same way).
    let (mut bytes, form): (Vec<u8>, Form) = match elem.into_value() {
        Value::Primitive(PrimitiveValue::U8(b)) => (b.into_vec(), Form::Bytes),
        Value::Primitive(PrimitiveValue::U16(w)) => (le_bytes(&w), Form::Words),
        Value::Primitive(PrimitiveValue::U32(w)) => (
            w.iter().flat_map(|v| v.to_le_bytes()).collect(),
            Form::Dwords,
        ),
        other => {
            let compressed = matches!(other, Value::PixelSequence(_));
            obj.put(DataElement::new(tags::PIXEL_DATA, vr, other));
            return Err(unsupported(if compressed {
                "the pixel data is compressed"
            } else {
                "the pixel data has an unusual form"
            }));
        }
    };
    // Words and double words are held in the machine's order, written here little-endian;
    // bytes are as the file has them. 32-bit samples of a big-endian file read as words
    // have their words swapped to be little-endian too.
    let words_of_big_endian = form == Form::Words && !little_endian && g.bps == 4;
    let word_order_le = little_endian || form != Form::Bytes;
    let frame_len = g.frame_len();
    if bytes.len() < frame_len * g.frames as usize {
        return Err(unsupported("the pixel data is shorter than its frames"));
    }
    if words_of_big_endian {
        swap_words(&mut bytes);
    }
    for frame in bytes.chunks_exact_mut(frame_len).take(g.frames as usize) {
        blank_frame(frame, &g, regions, word_order_le);
    }
    if words_of_big_endian {
        swap_words(&mut bytes);
    }
    let value = match form {
        Form::Bytes => PrimitiveValue::U8(bytes.into()),
        Form::Words => PrimitiveValue::U16(le_words(&bytes).into()),
        Form::Dwords => PrimitiveValue::U32(
            bytes
                .chunks_exact(4)
                .map(|p| u32::from_le_bytes([p[0], p[1], p[2], p[3]]))
                .collect(),
        ),
    };
    obj.put(DataElement::new(tags::PIXEL_DATA, vr, value));
    mark_cleaned(obj);
    Ok(g.frames)
}
