//! Images of one bit a pixel (Bits Allocated 1: segmentations, some old screen captures):
//! eight pixels a byte, the first in the lowest bit, and frames one after the other with no
//! padding between them (a frame may start inside a byte). Only greyscale (MONOCHROME1 or 2)
//! can be so. Blanked bit by bit; drawn by unpacking each frame to one byte a pixel.

use dicom_core::value::{PrimitiveValue, Value};
use dicom_core::DataElement;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use super::geometry::{le_bytes, le_words, Geometry};
use super::native::mark_cleaned;
use super::{fits_in_memory, unsupported, PixelError, Region};
use crate::attrs;

/// Whether the object's pixels are one bit each.
pub(super) fn is_one_bit(obj: &InMemDicomObject) -> bool {
    attrs::uint(obj, tags::BITS_ALLOCATED) == Some(1)
}

/// Size, frames and the value of black (the bit's value) of a one-bit image.
struct Layout {
    rows: usize,
    cols: usize,
    frames: u32,
    black: bool,
}

fn layout(obj: &InMemDicomObject) -> Result<Layout, PixelError> {
    let (Some(rows @ 1..), Some(cols @ 1..)) = (
        attrs::uint(obj, tags::ROWS),
        attrs::uint(obj, tags::COLUMNS),
    ) else {
        return Err(unsupported("the image has no size"));
    };
    let black = match attrs::text(obj, tags::PHOTOMETRIC_INTERPRETATION).as_str() {
        "MONOCHROME1" => true,
        "MONOCHROME2" => false,
        other => {
            return Err(unsupported(&format!(
                "1-bit pixels with photometric interpretation {other:?}"
            )))
        }
    };
    if attrs::uint(obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1) != 1 {
        return Err(unsupported("1-bit pixels of more than one sample"));
    }
    // A frame is drawn a byte a pixel.
    fits_in_memory(&[rows, cols])?;
    Ok(Layout {
        rows: rows as usize,
        cols: cols as usize,
        frames: attrs::frames(obj),
        black,
    })
}

/// The packed bits as bytes in the file's order, and whether they were read as words.
/// Words are only understood from a little-endian file (where they hold the bytes in order).
fn packed(
    value: &Value<InMemDicomObject>,
    little_endian: bool,
) -> Result<(Vec<u8>, bool), PixelError> {
    match value {
        Value::Primitive(PrimitiveValue::U8(b)) => Ok((b.to_vec(), false)),
        Value::Primitive(PrimitiveValue::U16(w)) if little_endian => Ok((le_bytes(w), true)),
        Value::PixelSequence(_) => Err(unsupported("compressed 1-bit pixels")),
        _ => Err(unsupported("1-bit pixels in an unusual form")),
    }
}

/// Whether every frame's bits are there (counted in 64 bits: a study's worth of frames can
/// hold more bits than memory's own words count).
fn check_length(bytes: &[u8], l: &Layout) -> Result<(), PixelError> {
    let bits = (l.rows * l.cols) as u64 * u64::from(l.frames);
    if (bytes.len() as u64) * 8 < bits {
        return Err(unsupported("the pixel data is shorter than its frames"));
    }
    Ok(())
}

/// The byte that holds bit `bit` of the pixel data, and the bit's mask in it.
fn bit_at(bit: u64) -> (usize, u8) {
    ((bit / 8) as usize, 1 << (bit % 8))
}

/// Blank the regions on every frame of a one-bit image. Returns the number of frames.
pub(super) fn blank(
    obj: &mut InMemDicomObject,
    regions: &[Region],
    little_endian: bool,
) -> Result<u32, PixelError> {
    let l = layout(obj)?;
    let Some(elem) = obj.get(tags::PIXEL_DATA) else {
        return Err(unsupported("no pixel data"));
    };
    let vr = elem.vr();
    let (mut bytes, words) = packed(elem.value(), little_endian)?;
    check_length(&bytes, &l)?;
    let (rows, cols) = (l.rows as u32, l.cols as u32);
    let pixels = (l.rows * l.cols) as u64;
    for f in 0..u64::from(l.frames) {
        for r in regions {
            let (x0, x1) = (r.x.min(cols), r.x.saturating_add(r.w).min(cols));
            let (y0, y1) = (r.y.min(rows), r.y.saturating_add(r.h).min(rows));
            for y in y0..y1 {
                for x in x0..x1 {
                    let (at, mask) =
                        bit_at(f * pixels + u64::from(y) * u64::from(cols) + u64::from(x));
                    if l.black {
                        bytes[at] |= mask;
                    } else {
                        bytes[at] &= !mask;
                    }
                }
            }
        }
    }
    let value = if words {
        PrimitiveValue::U16(le_words(&bytes).into())
    } else {
        PrimitiveValue::U8(bytes.into())
    };
    obj.put(DataElement::new(tags::PIXEL_DATA, vr, value));
    mark_cleaned(obj);
    Ok(l.frames)
}

/// Frames `which` (0-based; out-of-range ones skipped) of a one-bit image, one byte a pixel
/// (0 or 255, so that the image's full range is black to white), with their geometry.
pub(super) fn frames(
    obj: &InMemDicomObject,
    which: &[u32],
    little_endian: bool,
) -> Result<(Geometry, Vec<Vec<u8>>), PixelError> {
    let l = layout(obj)?;
    let Some(elem) = obj.get(tags::PIXEL_DATA) else {
        return Err(unsupported("no pixel data"));
    };
    let (bytes, _) = packed(elem.value(), little_endian)?;
    check_length(&bytes, &l)?;
    let pixels = (l.rows * l.cols) as u64;
    let frames = which
        .iter()
        .filter(|f| **f < l.frames)
        .map(|&f| {
            (0..pixels)
                .map(|p| {
                    let (at, mask) = bit_at(u64::from(f) * pixels + p);
                    if bytes[at] & mask != 0 {
                        255
                    } else {
                        0
                    }
                })
                .collect()
        })
        .collect();
    let g = Geometry {
        rows: l.rows,
        cols: l.cols,
        spp: 1,
        bps: 1,
        planar: false,
        frames: l.frames,
        signed: false,
        stored: 8,
        black: vec![if l.black { 255 } else { 0 }],
        subsampled: false,
        palette: None,
    };
    Ok((g, frames))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::VR;

    /// A 4 × 5 one-bit image of `frames` frames (20 bits each: frames after the first start
    /// inside a byte), every bit set, its pixel data as bytes or as words.
    fn one_bit(photometric: &str, frames: u32, words: bool) -> InMemDicomObject {
        let bytes = (20 * frames as usize).div_ceil(16) * 2;
        let mut o = crate::pixels::tests::image(photometric, 1, 1, frames, 0, vec![0xFF; bytes]);
        if words {
            o.put(DataElement::new(
                tags::PIXEL_DATA,
                VR::OW,
                PrimitiveValue::U16(vec![0xFFFF; bytes / 2].into()),
            ));
        }
        o
    }

    /// The bits of the object's pixel data, in order.
    fn bits_of(o: &InMemDicomObject) -> Vec<bool> {
        let bytes = o
            .get(tags::PIXEL_DATA)
            .and_then(|e| e.value().to_bytes().ok())
            .expect("pixels");
        bytes
            .iter()
            .flat_map(|b| (0..8).map(move |i| b >> i & 1 == 1))
            .collect()
    }

    #[test]
    fn regions_are_blanked_bit_by_bit_in_every_frame() {
        // 3 frames of 4 × 5.
        let region = [Region {
            x: 1,
            y: 1,
            w: 2,
            h: 5,
        }];
        for words in [false, true] {
            let mut o = one_bit("MONOCHROME2", 3, words);
            assert_eq!(blank(&mut o, &region, true), Ok(3));
            let bits = bits_of(&o);
            for f in 0..3 {
                for y in 0..4 {
                    for x in 0..5 {
                        let inside = (1..3).contains(&x) && y >= 1;
                        assert_eq!(
                            bits[f * 20 + y * 5 + x],
                            !inside,
                            "frame {f} ({x}, {y}), words {words}"
                        );
                    }
                }
            }
            // What follows the last frame is left alone.
            assert!(bits[60..].iter().all(|b| *b));
            assert_eq!(attrs::text(&o, tags::BURNED_IN_ANNOTATION), "NO");
            // Drawn: one byte a pixel, black where blanked.
            let (g, frames) = frames(&o, &[2], true).expect("drawn");
            assert_eq!((g.rows, g.cols, frames.len()), (4, 5, 1));
            assert_eq!(&frames[0][5..10], &[255, 0, 0, 255, 255]);
        }
        // MONOCHROME1: black is a set bit.
        let mut o = crate::pixels::tests::image("MONOCHROME1", 1, 1, 1, 0, vec![0; 4]);
        assert_eq!(blank(&mut o, &region, true), Ok(1));
        assert!(bits_of(&o)[6]);
        assert!(!bits_of(&o)[5]);
    }

    #[test]
    fn what_cannot_be_blanked_says_why() {
        let mut colour = one_bit("RGB", 1, false);
        assert!(blank(&mut colour, &[], true)
            .unwrap_err()
            .reason()
            .contains("RGB"));
        let mut big_endian_words = one_bit("MONOCHROME2", 1, true);
        assert!(blank(&mut big_endian_words, &[], false).is_err());
        let mut short = one_bit("MONOCHROME2", 8, false);
        short.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            PrimitiveValue::U8(vec![0; 10].into()),
        ));
        assert!(blank(&mut short, &[], true)
            .unwrap_err()
            .reason()
            .contains("shorter"));
        // A count of frames whose bits would not fit in memory's words: short, not wrapped.
        short.put(DataElement::new(
            tags::NUMBER_OF_FRAMES,
            VR::IS,
            PrimitiveValue::from("2000000000"),
        ));
        assert!(blank(&mut short, &[], true)
            .unwrap_err()
            .reason()
            .contains("shorter"));
    }
}
