//! How a frame is laid out in memory (rows, columns, samples, bits, planes, byte order),
//! which value is black in it, and the palettes of PALETTE COLOR images.

use dicom_core::value::{PrimitiveValue, Value};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use super::rules::Region;
use super::{fits_in_memory, segmented, unsupported, PixelError};
use crate::attrs;

/// How one frame is laid out in memory, and which value shows as black.
#[derive(Clone)]
pub(super) struct Geometry {
    pub(super) rows: usize,
    pub(super) cols: usize,
    pub(super) spp: usize,
    /// Bytes per sample: 1, 2 or 4.
    pub(super) bps: usize,
    pub(super) planar: bool,
    pub(super) frames: u32,
    pub(super) signed: bool,
    pub(super) stored: u32,
    /// The black value of each sample.
    pub(super) black: Vec<u32>,
    /// YBR_FULL_422: each pair of pixels in a row is stored as Y1 Y2 Cb Cr.
    pub(super) subsampled: bool,
    /// The palette of a PALETTE COLOR image.
    pub(super) palette: Option<Palette>,
}

impl Geometry {
    /// Bytes in one frame.
    pub(super) fn frame_len(&self) -> usize {
        let samples = if self.subsampled { 2 } else { self.spp };
        self.rows * self.cols * samples * self.bps
    }

    /// Where sample `s` of pixel `p` (row by row) is in a frame, counted in samples.
    pub(super) fn index(&self, p: usize, s: usize) -> usize {
        if self.subsampled {
            (p / 2) * 4 + if s == 0 { p % 2 } else { 1 + s }
        } else if self.planar {
            s * self.rows * self.cols + p
        } else {
            p * self.spp + s
        }
    }
}

/// The Red, Green and Blue Palette Color Lookup Tables of a PALETTE COLOR image.
#[derive(Debug, Clone)]
pub(super) struct Palette {
    /// The pixel value mapped to the first entry.
    pub(super) first: i64,
    /// The entries, as stored (8 or 16 bits each).
    pub(super) entries: Vec<[u16; 3]>,
    /// Bits per entry.
    pub(super) bits: u32,
}

impl Palette {
    /// Read the three tables, or say why they cannot be used.
    pub(super) fn of(obj: &InMemDicomObject) -> Result<Palette, PixelError> {
        let descriptors = [
            tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
        ];
        let data = [
            tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
        ];
        let no_palette = || unsupported("a palette colour image without a readable palette");
        let descriptor: Vec<i64> = obj
            .get(descriptors[0])
            .and_then(|e| e.value().to_multi_int::<i64>().ok())
            .filter(|d| d.len() == 3)
            .ok_or_else(no_palette)?;
        let count = match descriptor[0] {
            0 => 65536,
            n if n > 0 => (n as usize).min(65536),
            // A count written as a signed 16-bit value.
            n => (n + 65536).clamp(1, 65536) as usize,
        };
        let bits = if descriptor[2] == 8 { 8 } else { 16 };
        // The first mapped value is US or SS by the image's pixel representation.
        let signed = attrs::uint(obj, tags::PIXEL_REPRESENTATION) == Some(1);
        let first = match descriptor[1] {
            v if !signed && v < 0 => v + 65536,
            v if signed && v > 32767 => v - 65536,
            v => v,
        };
        let segmented = [
            tags::SEGMENTED_RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            tags::SEGMENTED_GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            tags::SEGMENTED_BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
        ];
        let mut entries = vec![[0u16; 3]; count];
        for (c, tag) in data.iter().enumerate() {
            let Some(elem) = obj.get(*tag) else {
                // Written as segments (PS3.3 C.7.9.2), 16-bit entries.
                let words = obj
                    .get(segmented[c])
                    .filter(|_| bits == 16)
                    .and_then(|e| words_of(e.value()))
                    .ok_or_else(|| {
                        unsupported("a palette colour image without a readable palette")
                    })?;
                let values = segmented::expand(&words, count).ok_or_else(|| {
                    unsupported("a palette colour image with a damaged segmented palette")
                })?;
                for (entry, v) in entries.iter_mut().zip(values) {
                    entry[c] = v;
                }
                continue;
            };
            let values: Vec<u16> = match elem.value() {
                Value::Primitive(PrimitiveValue::U16(w)) if bits == 16 || w.len() >= count => {
                    w.to_vec()
                }
                // 8-bit entries packed two to a 16-bit word.
                Value::Primitive(PrimitiveValue::U16(w)) => w
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .map(u16::from)
                    .collect(),
                Value::Primitive(PrimitiveValue::U8(b)) if bits == 8 && b.len() >= count => {
                    b.iter().map(|v| u16::from(*v)).collect()
                }
                Value::Primitive(PrimitiveValue::U8(b)) => le_words(b),
                _ => return Err(no_palette()),
            };
            if values.len() < count {
                return Err(no_palette());
            }
            for (entry, v) in entries.iter_mut().zip(values) {
                entry[c] = v;
            }
        }
        Ok(Palette {
            first,
            entries,
            bits,
        })
    }

    /// The colour of a stored value, 8 bits per channel (values outside the table take the
    /// first or last entry).
    pub(super) fn rgb8(&self, value: i64) -> [u8; 3] {
        let i = (value - self.first).clamp(0, self.entries.len() as i64 - 1) as usize;
        let shift = if self.bits == 16 { 8 } else { 0 };
        self.entries[i].map(|v| (v >> shift).min(255) as u8)
    }

    /// The stored value that shows the darkest colour of the palette.
    pub(super) fn darkest(&self) -> i64 {
        let luma = |e: &[u16; 3]| 299 * e[0] as u64 + 587 * e[1] as u64 + 114 * e[2] as u64;
        let i = (0..self.entries.len())
            .min_by_key(|i| luma(&self.entries[*i]))
            .unwrap_or(0);
        self.first + i as i64
    }
}

/// The 16-bit words of an OW value (as read, or as bytes in little-endian order).
pub(super) fn words_of(value: &Value<InMemDicomObject>) -> Option<Vec<u16>> {
    match value {
        Value::Primitive(PrimitiveValue::U16(w)) => Some(w.to_vec()),
        Value::Primitive(PrimitiveValue::U8(b)) => Some(le_words(b)),
        _ => None,
    }
}

/// 16-bit samples as little-endian bytes (sized once: collecting two bytes at a time would
/// grow the vector again and again).
pub(super) fn le_bytes(words: &[u16]) -> Vec<u8> {
    let mut out = vec![0u8; words.len() * 2];
    for (dst, v) in out.chunks_exact_mut(2).zip(words) {
        dst.copy_from_slice(&v.to_le_bytes());
    }
    out
}

/// Little-endian byte pairs as 16-bit words (the inverse of [`le_bytes`]; an odd last byte is
/// left out).
pub(super) fn le_words(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks_exact(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]))
        .collect()
}

/// The layout of the object's frames, given the photometric interpretation and planar
/// configuration the pixel bytes are in (decoders may change both).
pub(super) fn geometry(
    obj: &InMemDicomObject,
    photometric: &str,
    planar: bool,
) -> Result<Geometry, PixelError> {
    let num = |tag| attrs::uint(obj, tag);
    // (Rows or Columns of 0: no pixel to hold, and frames of no length to step through.)
    let (Some(rows @ 1..), Some(cols @ 1..)) = (num(tags::ROWS), num(tags::COLUMNS)) else {
        return Err(unsupported("the image has no size"));
    };
    let spp = num(tags::SAMPLES_PER_PIXEL).unwrap_or(1);
    let bits = num(tags::BITS_ALLOCATED).unwrap_or(16);
    let stored = num(tags::BITS_STORED).unwrap_or(bits).clamp(1, bits.max(1));
    let signed = num(tags::PIXEL_REPRESENTATION) == Some(1);
    let frames = attrs::frames(obj);
    if obj.get(tags::FLOAT_PIXEL_DATA).is_some() || obj.get(tags::DOUBLE_FLOAT_PIXEL_DATA).is_some()
    {
        return Err(unsupported("floating-point pixels (parametric maps)"));
    }
    if !matches!(bits, 8 | 16 | 32) {
        return Err(unsupported(&format!("{bits}-bit pixels")));
    }
    // Sizes are counted in memory's own words (32 bits in WebAssembly): an image whose pixel
    // data could not be held is refused before any of it is counted.
    fits_in_memory(&[rows, cols, spp, bits / 8, frames])?;
    let palette = if photometric == "PALETTE COLOR" {
        Some(Palette::of(obj)?)
    } else {
        None
    };
    let subsampled = photometric == "YBR_FULL_422";
    if subsampled && (planar || cols % 2 == 1) {
        return Err(unsupported(
            "a YBR_FULL_422 image with planar samples or an odd number of columns",
        ));
    }
    // (In 64 bits: 32 bits stored would overflow a 32-bit shift.)
    let ones = |n: u32| ((1u64 << n) - 1) as u32;
    let black: Vec<u32> = match photometric {
        "MONOCHROME1" if signed => vec![ones(stored - 1)],
        "MONOCHROME1" => vec![ones(stored)],
        "MONOCHROME2" if signed => vec![(1u32 << (stored - 1)).wrapping_neg()],
        "MONOCHROME2" => vec![0],
        "PALETTE COLOR" => {
            let dark = palette.as_ref().map_or(0, Palette::darkest);
            let mask = (1i64 << stored) - 1;
            vec![(dark & mask) as u32]
        }
        "RGB" => vec![0, 0, 0],
        "YBR_FULL" | "YBR_FULL_422" => vec![0, 1 << (stored - 1), 1 << (stored - 1)],
        other => {
            return Err(unsupported(&format!(
                "photometric interpretation {other:?}"
            )))
        }
    };
    if black.len() != spp as usize {
        return Err(unsupported(
            "samples per pixel do not match the photometric interpretation",
        ));
    }
    Ok(Geometry {
        rows: rows as usize,
        cols: cols as usize,
        spp: spp as usize,
        bps: (bits / 8) as usize,
        planar,
        frames,
        signed,
        stored,
        black,
        subsampled,
        palette,
    })
}

/// Every sample of the regions in a frame: its byte offset and its black value.
pub(super) fn each_black_sample(g: &Geometry, regions: &[Region], mut f: impl FnMut(usize, u32)) {
    let (rows, cols) = (g.rows as u32, g.cols as u32);
    for r in regions {
        let (mut x0, y0) = (r.x.min(cols) as usize, r.y.min(rows) as usize);
        let (mut x1, y1) = (
            (r.x.saturating_add(r.w)).min(cols) as usize,
            (r.y.saturating_add(r.h)).min(rows) as usize,
        );
        if g.subsampled {
            // Two pixels share their colour: a pair partly inside is blanked whole, so no
            // colour of the covered pixel is left in its neighbour.
            x0 -= x0 % 2;
            x1 = (x1 + x1 % 2).min(g.cols);
        }
        for y in y0..y1 {
            for x in x0..x1 {
                for (s, value) in g.black.iter().enumerate() {
                    f(g.index(y * g.cols + x, s) * g.bps, *value);
                }
            }
        }
    }
}

/// The bytes of one sample of value `value` (the first `bps` of the array).
pub(super) fn sample_bytes(value: u32, bps: usize, le: bool) -> ([u8; 4], usize) {
    let v = value as u16;
    let (a, b) = if le {
        (v.to_le_bytes(), value.to_le_bytes())
    } else {
        (v.to_be_bytes(), value.to_be_bytes())
    };
    match bps {
        1 => ([value as u8, 0, 0, 0], 1),
        2 => ([a[0], a[1], 0, 0], 2),
        _ => (b, 4),
    }
}

/// The sample at byte `at` of a frame of `bps`-byte samples in byte order `le`.
pub(super) fn sample_at(frame: &[u8], at: usize, bps: usize, le: bool) -> u32 {
    match (bps, le) {
        (1, _) => frame[at] as u32,
        (2, true) => u16::from_le_bytes([frame[at], frame[at + 1]]) as u32,
        (2, false) => u16::from_be_bytes([frame[at], frame[at + 1]]) as u32,
        (_, true) => u32::from_le_bytes([frame[at], frame[at + 1], frame[at + 2], frame[at + 3]]),
        (_, false) => u32::from_be_bytes([frame[at], frame[at + 1], frame[at + 2], frame[at + 3]]),
    }
}

/// Swap the two 16-bit words of each 32-bit sample: a big-endian file's 32-bit samples read
/// as 16-bit words (OW), each word in little-endian order, become little-endian samples, and
/// back.
pub(super) fn swap_words(bytes: &mut [u8]) {
    for sample in bytes.chunks_exact_mut(4) {
        sample.rotate_left(2);
    }
}
