//! Blanking regions of burned-in text in the pixels.
//!
//! Regions come from rules keyed on what identifies a kind of image (modality, manufacturer,
//! model, size), as sites maintain them for their ultrasound machines and screen captures.
//! Native pixel data (any byte order) is blanked in place. Compressed pixel data is decoded
//! frame by frame (RLE Lossless by [`rle`], JPEG-LS by `pure_jpegls` (colour split into its
//! components by [`jpegls_colour`], or, interleaved, by [`jpegls_lines`]), the JPEG
//! family including lossless and JPEG 2000 by the pure-Rust decoders of dicom-rs), blanked,
//! and packed again as RLE Lossless. A file whose rule matches but whose pixels cannot be decoded
//! (progressive JPEG, JPEG-LS with mapping tables) is left out, never passed through.

use dicom_core::value::{PrimitiveValue, Value};
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_object::{FileDicomObject, InMemDicomObject};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use serde::{Deserialize, Serialize};

use crate::attrs;
use crate::dicom::{Codec, Lossy, TransferSyntax};

mod bits;
mod codestream;
pub mod ctp;
pub mod detect;
mod jpeg12;
mod jpeg_blocks;
mod jpeg_huffman;
mod jpeg_markers;
mod jpegls_colour;
mod jpegls_lines;
mod rle;
mod segmented;
pub mod text;
pub mod text_boxes;
pub mod text_model;

/// A rectangle in pixel coordinates (columns x, rows y), inclusive of its top-left corner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub struct Region {
    /// First column.
    pub x: u32,
    /// First row.
    pub y: u32,
    /// Width in columns.
    pub w: u32,
    /// Height in rows.
    pub h: u32,
}

/// Which images a rule applies to and what to blank in them. Every given criterion must match;
/// text criteria ignore case, and `manufacturer` / `model` match a part of the value.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RegionRule {
    /// A name for the log, e.g. "Vendor X ultrasound top band".
    #[serde(default)]
    pub name: String,
    /// Modality (exact), e.g. `US`.
    pub modality: Option<String>,
    /// Part of Manufacturer.
    pub manufacturer: Option<String>,
    /// Part of Manufacturer's Model Name.
    pub model: Option<String>,
    /// Rows.
    pub rows: Option<u32>,
    /// Columns.
    pub columns: Option<u32>,
    /// SOP Instance UID (exact, original value): one image, e.g. a box drawn on it.
    pub sop_instance_uid: Option<String>,
    /// Series Instance UID (exact, original value): every image of one series.
    pub series_instance_uid: Option<String>,
    /// The rectangles to blank on every frame.
    pub regions: Vec<Region>,
    /// A condition in CTP's filter language (from an imported CTP script).
    #[serde(skip)]
    pub condition: Option<ctp::Condition>,
}

/// A set of rules, read from JSON: `{"rules": [{"modality": "US", "regions": [{"x":0,"y":0,"w":640,"h":40}]}]}`,
/// or from a CTP `DicomPixelAnonymizer` script (see [`ctp`]).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RegionRules {
    /// The rules, all applied where they match (unless `first_match`).
    pub rules: Vec<RegionRule>,
    /// Only the first matching rule applies (CTP's way).
    #[serde(default)]
    pub first_match: bool,
    /// Boxes found by automatic detection that the user looked at and said are not text:
    /// they are left as they are in that image.
    #[serde(default)]
    pub rejected: Vec<RejectedBox>,
}

/// A box of automatic detection left visible in one image, at the user's word.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RejectedBox {
    /// SOP Instance UID (exact, original value) of the image.
    pub sop_instance_uid: String,
    /// The box, exactly as detection proposed it.
    #[serde(flatten)]
    pub region: Region,
}

impl RegionRules {
    /// Whether the user left `region`, found by detection, visible in the image `obj`.
    pub fn is_rejected(&self, obj: &InMemDicomObject, region: &Region) -> bool {
        !self.rejected.is_empty() && {
            let uid = attrs::text(obj, tags::SOP_INSTANCE_UID);
            self.rejected
                .iter()
                .any(|r| r.region == *region && r.sop_instance_uid == uid)
        }
    }
}

/// Why pixels could not be cleaned, or drawn.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PixelError {
    /// The rules file is not valid.
    #[error("pixel rules: {0}")]
    Rules(String),
    /// The pixels are stored in a way Obscura cannot change yet: why.
    #[error("{0}: its burned-in text cannot be removed yet")]
    Unsupported(String),
    /// The same, when the image was to be drawn (for the page, a key image): why.
    #[error("{0}")]
    Undrawable(String),
}

impl PixelError {
    /// Why, without what it means for blanking (for a message that says that itself).
    pub fn reason(&self) -> String {
        match self {
            PixelError::Unsupported(why) | PixelError::Undrawable(why) => why.clone(),
            other => other.to_string(),
        }
    }

    /// This error as one of drawing the image (its reason without what it means for
    /// blanking).
    fn drawing(self) -> PixelError {
        match self {
            PixelError::Unsupported(why) => PixelError::Undrawable(why),
            other => other,
        }
    }
}

impl RegionRules {
    /// Parse rules from Obscura's JSON or a CTP `DicomPixelAnonymizer` script, whichever the
    /// text is.
    pub fn parse(text: &str) -> Result<RegionRules, PixelError> {
        if ctp::looks_like_ctp(text) {
            ctp::parse_script(text)
        } else {
            RegionRules::from_json(text)
        }
    }

    /// Parse rules from JSON text.
    pub fn from_json(text: &str) -> Result<RegionRules, PixelError> {
        let rules: RegionRules =
            serde_json::from_str(text).map_err(|e| PixelError::Rules(e.to_string()))?;
        for r in &rules.rules {
            if r.regions.is_empty() {
                return Err(PixelError::Rules(format!(
                    "rule {:?} has no regions",
                    r.name
                )));
            }
        }
        Ok(rules)
    }

    /// The regions of every rule that matches the object, with the rules' names.
    pub fn regions_for(&self, obj: &InMemDicomObject) -> (Vec<Region>, Vec<String>) {
        let text = |tag| attrs::text(obj, tag).to_uppercase();
        let num = |tag| attrs::uint(obj, tag);
        let (modality, manufacturer, model) = (
            text(tags::MODALITY),
            text(tags::MANUFACTURER),
            text(tags::MANUFACTURER_MODEL_NAME),
        );
        let (rows, columns) = (num(tags::ROWS), num(tags::COLUMNS));
        let mut regions = Vec::new();
        let mut names = Vec::new();
        for r in &self.rules {
            let ok = r
                .modality
                .as_ref()
                .is_none_or(|m| m.to_uppercase() == modality)
                && r.manufacturer
                    .as_ref()
                    .is_none_or(|m| manufacturer.contains(&m.to_uppercase()))
                && r.model
                    .as_ref()
                    .is_none_or(|m| model.contains(&m.to_uppercase()))
                && r.rows.is_none_or(|v| Some(v) == rows)
                && r.columns.is_none_or(|v| Some(v) == columns)
                && r.sop_instance_uid
                    .as_ref()
                    .is_none_or(|u| *u == attrs::text(obj, tags::SOP_INSTANCE_UID))
                && r.series_instance_uid
                    .as_ref()
                    .is_none_or(|u| *u == attrs::text(obj, tags::SERIES_INSTANCE_UID))
                && r.condition.as_ref().is_none_or(|c| c.eval(obj));
            if ok {
                regions.extend_from_slice(&r.regions);
                names.push(if r.name.is_empty() {
                    "unnamed rule".to_string()
                } else {
                    r.name.clone()
                });
                if self.first_match {
                    break;
                }
            }
        }
        (regions, names)
    }
}

/// How one frame is laid out in memory, and which value shows as black.
#[derive(Clone)]
struct Geometry {
    rows: usize,
    cols: usize,
    spp: usize,
    /// Bytes per sample: 1, 2 or 4.
    bps: usize,
    planar: bool,
    frames: u32,
    signed: bool,
    stored: u32,
    /// The black value of each sample.
    black: Vec<u32>,
    /// YBR_FULL_422: each pair of pixels in a row is stored as Y1 Y2 Cb Cr.
    subsampled: bool,
    /// The palette of a PALETTE COLOR image.
    palette: Option<Palette>,
}

impl Geometry {
    /// Bytes in one frame.
    fn frame_len(&self) -> usize {
        let samples = if self.subsampled { 2 } else { self.spp };
        self.rows * self.cols * samples * self.bps
    }

    /// Where sample `s` of pixel `p` (row by row) is in a frame, counted in samples.
    fn index(&self, p: usize, s: usize) -> usize {
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
struct Palette {
    /// The pixel value mapped to the first entry.
    first: i64,
    /// The entries, as stored (8 or 16 bits each).
    entries: Vec<[u16; 3]>,
    /// Bits per entry.
    bits: u32,
}

impl Palette {
    /// Read the three tables, or say why they cannot be used.
    fn of(obj: &InMemDicomObject) -> Result<Palette, PixelError> {
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
    fn rgb8(&self, value: i64) -> [u8; 3] {
        let i = (value - self.first).clamp(0, self.entries.len() as i64 - 1) as usize;
        let shift = if self.bits == 16 { 8 } else { 0 };
        self.entries[i].map(|v| (v >> shift).min(255) as u8)
    }

    /// The stored value that shows the darkest colour of the palette.
    fn darkest(&self) -> i64 {
        let luma = |e: &[u16; 3]| 299 * e[0] as u64 + 587 * e[1] as u64 + 114 * e[2] as u64;
        let i = (0..self.entries.len())
            .min_by_key(|i| luma(&self.entries[*i]))
            .unwrap_or(0);
        self.first + i as i64
    }
}

/// The 16-bit words of an OW value (as read, or as bytes in little-endian order).
fn words_of(value: &Value<InMemDicomObject>) -> Option<Vec<u16>> {
    match value {
        Value::Primitive(PrimitiveValue::U16(w)) => Some(w.to_vec()),
        Value::Primitive(PrimitiveValue::U8(b)) => Some(le_words(b)),
        _ => None,
    }
}

/// 16-bit samples as little-endian bytes (sized once: collecting two bytes at a time would
/// grow the vector again and again).
fn le_bytes(words: &[u16]) -> Vec<u8> {
    let mut out = vec![0u8; words.len() * 2];
    for (dst, v) in out.chunks_exact_mut(2).zip(words) {
        dst.copy_from_slice(&v.to_le_bytes());
    }
    out
}

/// Little-endian byte pairs as 16-bit words (the inverse of [`le_bytes`]; an odd last byte is
/// left out).
fn le_words(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks_exact(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]))
        .collect()
}

/// Refuse an image whose pixel data (the product of `sizes`) could not be held in memory
/// (more than 2 GiB, the most WebAssembly can address at once).
fn fits_in_memory(sizes: &[u32]) -> Result<(), PixelError> {
    let total = sizes
        .iter()
        .try_fold(1u64, |n, s| n.checked_mul(u64::from(*s)));
    match total {
        Some(n) if n <= i32::MAX as u64 => Ok(()),
        _ => Err(unsupported("the image is too large to be held in memory")),
    }
}

fn unsupported(what: &str) -> PixelError {
    PixelError::Unsupported(what.to_string())
}

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

/// The layout of the object's frames, given the photometric interpretation and planar
/// configuration the pixel bytes are in (decoders may change both).
fn geometry(
    obj: &InMemDicomObject,
    photometric: &str,
    planar: bool,
) -> Result<Geometry, PixelError> {
    let num = |tag| attrs::uint(obj, tag);
    let (Some(rows), Some(cols)) = (num(tags::ROWS), num(tags::COLUMNS)) else {
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
fn each_black_sample(g: &Geometry, regions: &[Region], mut f: impl FnMut(usize, u32)) {
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
fn sample_bytes(value: u32, bps: usize, le: bool) -> ([u8; 4], usize) {
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
fn sample_at(frame: &[u8], at: usize, bps: usize, le: bool) -> u32 {
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
fn swap_words(bytes: &mut [u8]) {
    for sample in bytes.chunks_exact_mut(4) {
        sample.rotate_left(2);
    }
}

/// Fill the regions of one frame with black. `le` tells the byte order of 16- and 32-bit
/// samples.
fn blank_frame(frame: &mut [u8], g: &Geometry, regions: &[Region], le: bool) {
    each_black_sample(g, regions, |at, value| {
        let (bytes, n) = sample_bytes(value, g.bps, le);
        if let Some(dst) = frame.get_mut(at..at + n) {
            dst.copy_from_slice(&bytes[..n]);
        }
    });
}

/// Whether the regions of a (little-endian) frame are black already.
fn is_blank(frame: &[u8], g: &Geometry, regions: &[Region]) -> bool {
    let mut blank = true;
    each_black_sample(g, regions, |at, value| {
        let (bytes, n) = sample_bytes(value, g.bps, true);
        blank &= frame.get(at..at + n) == Some(&bytes[..n]);
    });
    blank
}

fn mark_cleaned(obj: &mut InMemDicomObject) {
    obj.put(DataElement::new(
        tags::BURNED_IN_ANNOTATION,
        VR::CS,
        PrimitiveValue::from("NO"),
    ));
}

/// How native pixel data was read: bytes (OB, or any VR in the file's byte order), 16-bit
/// words (OW) or 32-bit ones (OL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
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

/// How [`blank_encapsulated`] stored the blanked frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Decoded, blanked and packed as RLE Lossless: the caller must write the file so.
    Rle,
    /// Blanked inside the JPEG stream (Baseline or Extended) in whole blocks; every other
    /// block is exactly as it was, and the transfer syntax stays.
    JpegBlocks {
        /// Width and height in pixels of the unit (MCU) regions were widened to.
        unit: (usize, usize),
        /// Some frame's Huffman tables lacked a needed code and were made again.
        new_tables: bool,
    },
}

/// Blank the regions in compressed (encapsulated) pixel data.
///
/// JPEG Baseline and Extended are blanked in the compressed stream, whole blocks at a time,
/// leaving the rest of the image exactly as it was (see [`jpeg_blocks`]); each frame so
/// blanked is decoded again and its regions checked to be black. Anything else, and JPEG
/// that cannot be blanked so, is decoded a frame at a time, blanked, and packed again as RLE
/// Lossless (nothing is compressed lossily a second time, and never more than one decoded
/// frame is held). Returns the object with its new pixel data, the number of frames and how
/// they are stored.
///
/// Lossless input stays lossless. For lossy input Lossy Image Compression (0028,2110) says
/// "01" with the method, as the standard asks.
pub fn blank_encapsulated(
    file: FileDicomObject<InMemDicomObject>,
    regions: &[Region],
) -> Result<(InMemDicomObject, u32, Stored), PixelError> {
    // One decoder for every frame; what it knows is taken out before the object is.
    let (ts_uid, photometric, g, out, stored) = {
        let decoder = Decoder::new(&file)?;
        let g = decoder.g.clone();
        if let Some((fragments, stored)) = decoder.jpeg_blocks(regions) {
            let photometric = decoder.source_photometric.clone();
            (decoder.ts_uid.clone(), photometric, g, fragments, stored)
        } else {
            // A frame decoded, blanked and packed at a time: never more than one decoded frame.
            let mut fragments = Vec::with_capacity((g.frames as usize).min(4096));
            for f in 0..g.frames {
                let mut frame = decoder.frame(f)?;
                blank_frame(&mut frame, &g, regions, true);
                fragments.push(rle::encode_frame(&frame, g.rows, g.cols, g.spp, g.bps));
            }
            let photometric = decoder.photometric.clone();
            (
                decoder.ts_uid.clone(),
                photometric,
                g,
                fragments,
                Stored::Rle,
            )
        }
    };
    let mut obj = file.into_inner();
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        Value::PixelSequence(dicom_core::value::PixelFragmentSequence::new(
            Vec::<u32>::new(),
            out,
        )),
    ));
    // The input's Extended Offset Table told where its own fragments were (PS3.5 A.4).
    obj.remove_element(tags::EXTENDED_OFFSET_TABLE);
    obj.remove_element(tags::EXTENDED_OFFSET_TABLE_LENGTHS);
    let cs = |t, v: &str| DataElement::new(t, VR::CS, PrimitiveValue::from(v));
    obj.put(cs(tags::PHOTOMETRIC_INTERPRETATION, &photometric));
    if g.spp > 1 && stored == Stored::Rle {
        obj.put(DataElement::new(
            tags::PLANAR_CONFIGURATION,
            VR::US,
            PrimitiveValue::from(0u16),
        ));
    }
    if let Some(Lossy { method, always }) = TransferSyntax::of(&ts_uid).lossy() {
        let said = attrs::text(&obj, tags::LOSSY_IMAGE_COMPRESSION);
        let already =
            said == "01" && !attrs::text(&obj, tags::LOSSY_IMAGE_COMPRESSION_METHOD).is_empty();
        if !already && (always || said != "00") {
            obj.put(cs(tags::LOSSY_IMAGE_COMPRESSION, "01"));
            obj.put(cs(tags::LOSSY_IMAGE_COMPRESSION_METHOD, method));
        }
    }
    mark_cleaned(&mut obj);
    Ok((obj, g.frames, stored))
}

/// Frame `f` (0-based) of compressed (encapsulated) pixel data, decoded: little-endian,
/// interleaved samples, exactly one frame long.
pub fn decode_frame(
    file: &FileDicomObject<InMemDicomObject>,
    f: u32,
) -> Result<Vec<u8>, PixelError> {
    Decoder::new(file)?.frame(f)
}

/// Remove the segments that may hold text (comments, application segments: see
/// [`codestream::without_text`]) from every frame of encapsulated JPEG, JPEG-LS or
/// JPEG 2000 pixel data, without decoding anything; returns how many were removed. A frame
/// that had some becomes one fragment; the Basic Offset Table is made anew when the frames
/// are known, the Extended Offset Table removed (it told where the old fragments were).
pub fn strip_codestream_text(obj: &mut InMemDicomObject) -> usize {
    use dicom_core::value::PixelFragmentSequence;
    let Some(Value::PixelSequence(seq)) = obj.get(tags::PIXEL_DATA).map(|e| e.value()) else {
        return 0;
    };
    let fragments: Vec<&[u8]> = seq.fragments().iter().map(|f| f.as_slice()).collect();
    let bot: Vec<u64> = seq.offset_table().iter().map(|&o| u64::from(o)).collect();
    let offsets = if bot.is_empty() {
        obj.get(tags::EXTENDED_OFFSET_TABLE)
            .and_then(|e| e.value().to_bytes().ok())
            .map(|b| {
                b.chunks_exact(8)
                    .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        bot.clone()
    };
    let even = |mut v: Vec<u8>| {
        if v.len() % 2 == 1 {
            v.push(0);
        }
        v
    };
    let mut removed = 0;
    let mut new_fragments: Vec<Vec<u8>> = Vec::with_capacity(fragments.len());
    let mut frame_starts: Option<Vec<usize>> = None;
    match frame_fragments(&fragments, &offsets, attrs::frames(obj) as usize) {
        Some(ranges) => {
            let mut starts = Vec::with_capacity(ranges.len());
            for range in ranges {
                starts.push(new_fragments.len());
                let parts = &fragments[range];
                let stream = if parts.len() == 1 {
                    std::borrow::Cow::Borrowed(parts[0])
                } else {
                    std::borrow::Cow::Owned(parts.concat())
                };
                match codestream::without_text(&stream) {
                    Some((clean, n)) => {
                        removed += n;
                        new_fragments.push(even(clean));
                    }
                    None => new_fragments.extend(parts.iter().map(|p| p.to_vec())),
                }
            }
            frame_starts = Some(starts);
        }
        // Frames that cannot be told apart: each fragment that starts a codestream alone.
        None => {
            for part in &fragments {
                match codestream::without_text(part) {
                    Some((clean, n)) => {
                        removed += n;
                        new_fragments.push(even(clean));
                    }
                    None => new_fragments.push(part.to_vec()),
                }
            }
        }
    }
    if removed == 0 {
        return 0;
    }
    // Where each frame's first fragment item starts, counted from the first one.
    let table: Vec<u32> = match frame_starts {
        Some(starts) if !bot.is_empty() || new_fragments.len() != starts.len() => {
            let mut at = Vec::with_capacity(new_fragments.len());
            let mut pos = 0u64;
            for f in &new_fragments {
                at.push(pos);
                pos += 8 + f.len() as u64;
            }
            starts
                .iter()
                .map(|&i| u32::try_from(at[i]).ok())
                .collect::<Option<Vec<u32>>>()
                .unwrap_or_default()
        }
        _ => Vec::new(),
    };
    obj.remove_element(tags::EXTENDED_OFFSET_TABLE);
    obj.remove_element(tags::EXTENDED_OFFSET_TABLE_LENGTHS);
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        Value::PixelSequence(PixelFragmentSequence::new(table, new_fragments)),
    ));
    removed
}

/// Which fragments hold each of `frames` frames of encapsulated pixel data, as ranges of
/// indices into `fragments` (PS3.5 A.4): one fragment a frame; one frame in them all; the
/// frames' offsets (`offsets`, from the Basic or the Extended Offset Table: where each
/// frame's first fragment item starts, counted from the first fragment item); or, without
/// offsets, a new frame at each fragment that starts a JPEG, JPEG-LS (SOI) or JPEG 2000
/// (SOC) codestream. `None` when none of these gives exactly `frames` frames.
fn frame_fragments(
    fragments: &[&[u8]],
    offsets: &[u64],
    frames: usize,
) -> Option<Vec<std::ops::Range<usize>>> {
    let n = fragments.len();
    if frames == 0 || n < frames {
        return None;
    }
    if n == frames {
        return Some((0..n).map(|i| i..i + 1).collect());
    }
    if frames == 1 {
        return Some(std::iter::once(0..n).collect());
    }
    let ranges = |starts: &[usize]| -> Option<Vec<std::ops::Range<usize>>> {
        let ok = starts.len() == frames
            && starts.first() == Some(&0)
            && starts.windows(2).all(|w| w[0] < w[1]);
        ok.then(|| {
            starts
                .iter()
                .enumerate()
                .map(|(i, &s)| s..starts.get(i + 1).copied().unwrap_or(n))
                .collect()
        })
    };
    if offsets.len() == frames {
        // Where each fragment item starts: an item is its 8-byte header and its value.
        let mut at = Vec::with_capacity(n);
        let mut pos = 0u64;
        for f in fragments {
            at.push(pos);
            pos = pos.saturating_add(8 + f.len() as u64);
        }
        let starts: Option<Vec<usize>> = offsets.iter().map(|o| at.binary_search(o).ok()).collect();
        if let Some(r) = starts.as_deref().and_then(ranges) {
            return Some(r);
        }
    }
    let starts: Vec<usize> = fragments
        .iter()
        .enumerate()
        .filter(|(_, f)| f.starts_with(&[0xFF, 0xD8]) || f.starts_with(&[0xFF, 0x4F, 0xFF, 0x51]))
        .map(|(i, _)| i)
        .collect();
    ranges(&starts)
}

/// Which decoder reads a file's frames: one of Obscura's own, or one of dicom-rs's.
#[derive(Clone, Copy)]
enum FrameDecoder<'a> {
    /// RLE Lossless, by [`rle`].
    Rle,
    /// JPEG-LS (lossless or near-lossless), by `pure_jpegls` (colour: a component at a time,
    /// see [`jpegls_colour`]; interleaved colour by [`jpegls_lines`]).
    JpegLs,
    /// 12-bit JPEG (Extended, process 4), greyscale or colour, by [`jpeg12`].
    Jpeg12,
    /// Anything else, by the codec dicom-rs's registry has for the transfer syntax.
    Registry(&'a (dyn dicom_encoding::adapters::PixelDataReader + Send + Sync)),
}

/// Frames of encapsulated pixel data, decoded one at a time (see [`FrameDecoder`]).
struct Decoder<'a> {
    file: &'a FileDicomObject<InMemDicomObject>,
    ts_uid: String,
    ts_name: String,
    /// The codec of the transfer syntax.
    codec: Codec,
    /// Which decoder reads the frames.
    decoder: FrameDecoder<'a>,
    fragments: Vec<&'a [u8]>,
    /// The fragments of each frame (see [`frame_fragments`]); `None` when they cannot be told.
    frame_ranges: Option<Vec<std::ops::Range<usize>>>,
    /// The photometric interpretation of decoded frames.
    photometric: String,
    /// The file's own photometric interpretation (of the compressed samples).
    source_photometric: String,
    g: Geometry,
}

impl<'a> Decoder<'a> {
    fn new(file: &'a FileDicomObject<InMemDicomObject>) -> Result<Decoder<'a>, PixelError> {
        let syntax = TransferSyntax::of(file.meta().transfer_syntax());
        let ts_uid = syntax.uid().to_string();
        let ts = TransferSyntaxRegistry
            .get(&ts_uid)
            .ok_or_else(|| unsupported(&format!("unknown transfer syntax {ts_uid}")))?;
        let codec = syntax.codec();
        let rle = codec == Codec::Rle;
        let spp = attrs::uint(file, tags::SAMPLES_PER_PIXEL).unwrap_or(1);
        let jpeg_ls = codec == Codec::JpegLs && (spp == 1 || spp == 3);
        let reader = ts.pixel_data_reader().map(|r| &**r);
        if reader.is_none() && !rle && !jpeg_ls {
            return Err(unsupported(&format!(
                "no decoder for {} ({ts_uid}) in Obscura",
                ts.name()
            )));
        }
        let source_photometric = attrs::text(file, tags::PHOTOMETRIC_INTERPRETATION);
        // Decoders give colour as interleaved RGB; RLE and JPEG-LS (no colour transform in
        // DICOM) give the stored samples as they are.
        let photometric = match (spp, source_photometric.as_str()) {
            (3, p) if jpeg_ls => p.to_string(),
            // RLE keeps every sample of every pixel (PS3.5 G.2): never 4:2:2.
            (3, "YBR_FULL_422") if rle => "YBR_FULL".to_string(),
            (3, p) if rle => p.to_string(),
            (3, _) => "RGB".to_string(),
            (_, p @ ("MONOCHROME1" | "MONOCHROME2" | "PALETTE COLOR")) => p.to_string(),
            _ => "MONOCHROME2".to_string(),
        };
        let g = geometry(file, &photometric, false)?;
        let (fragments, offset_table): (Vec<&[u8]>, Vec<u64>) =
            match file.get(tags::PIXEL_DATA).map(|e| e.value()) {
                Some(Value::PixelSequence(seq)) => (
                    seq.fragments().iter().map(|f| f.as_slice()).collect(),
                    seq.offset_table().iter().map(|&o| u64::from(o)).collect(),
                ),
                _ => return Err(unsupported("the pixel data is not encapsulated")),
            };
        // The Extended Offset Table stands in for an empty Basic Offset Table (PS3.5 A.4).
        let offsets = if offset_table.is_empty() {
            file.get(tags::EXTENDED_OFFSET_TABLE)
                .and_then(|e| e.value().to_bytes().ok())
                .map(|b| {
                    b.chunks_exact(8)
                        .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
                        .collect()
                })
                .unwrap_or_default()
        } else {
            offset_table
        };
        let frame_ranges = frame_fragments(&fragments, &offsets, g.frames as usize);
        let jpeg12 = codec == Codec::JpegDct && (spp == 1 || spp == 3) && g.bps == 2;
        let decoder = match reader {
            _ if rle => FrameDecoder::Rle,
            _ if jpeg_ls => FrameDecoder::JpegLs,
            _ if jpeg12 => FrameDecoder::Jpeg12,
            Some(reader) => FrameDecoder::Registry(reader),
            None => {
                return Err(unsupported(&format!(
                    "no decoder for {} ({ts_uid}) in Obscura",
                    ts.name()
                )))
            }
        };
        let d = Decoder {
            file,
            ts_name: ts.name().to_string(),
            codec,
            decoder,
            ts_uid,
            fragments,
            frame_ranges,
            photometric,
            source_photometric,
            g,
        };
        // Every frame takes at least one fragment (RLE: exactly one).
        let frames = d.g.frames as usize;
        if (rle && d.fragments.len() != frames) || d.fragments.len() < frames {
            return Err(d.undecodable(
                0,
                &format!("{} fragments for {frames} frames", d.fragments.len()),
            ));
        }
        Ok(d)
    }

    /// Whether the 12-bit decoder reads colour components as YCbCr: unless the file says
    /// RGB (PS3.5 8.2.1).
    fn jpeg12_ycbcr(&self) -> bool {
        self.source_photometric.starts_with("YBR")
    }

    /// One frame's JPEG stream through the 12-bit decoder, as little-endian samples.
    fn jpeg12_frame(&self, stream: &[u8]) -> Result<Vec<u8>, String> {
        let g = &self.g;
        let (samples, _) = jpeg12::decode(stream, g.rows, g.cols, self.jpeg12_ycbcr())?;
        Ok(le_bytes(&samples))
    }

    /// Every frame of a JPEG Baseline or Extended image with its regions blanked in the
    /// compressed stream ([`jpeg_blocks`]), each decoded again and checked to be black there;
    /// `None` when any frame cannot be blanked so (the caller decodes instead).
    fn jpeg_blocks(&self, regions: &[Region]) -> Option<(Vec<Vec<u8>>, Stored)> {
        use jpeg_blocks::Black;
        let g = &self.g;
        let jpeg = self.codec == Codec::JpegDct;
        if !jpeg || g.signed || g.palette.is_some() {
            return None;
        }
        let grey = match (g.spp, self.source_photometric.as_str()) {
            (1, "MONOCHROME1" | "MONOCHROME2") => Some(*g.black.first()?),
            (3, "RGB" | "YBR_FULL" | "YBR_FULL_422") => None,
            _ => return None,
        };
        let mut fragments = Vec::with_capacity((g.frames as usize).min(4096));
        let (mut unit, mut new_tables) = ((8, 8), false);
        for f in 0..g.frames {
            self.check_size(f).ok()?;
            let stream = self.stream(f).ok()?;
            // Colour components as the decoder reads them: the 12-bit one by the
            // photometric interpretation, the 8-bit one by the stream's markers.
            let ycbcr = if matches!(self.decoder, FrameDecoder::Jpeg12) {
                self.jpeg12_ycbcr()
            } else {
                grey.is_some() || jpeg_blocks::is_ycbcr(&stream).ok()?
            };
            let black = grey.map_or(Black::Colour { ycbcr }, Black::Grey);
            let blanked = jpeg_blocks::blank(&stream, regions, g.rows, g.cols, black).ok()?;
            let frame = if matches!(self.decoder, FrameDecoder::Jpeg12) {
                self.jpeg12_frame(&blanked.stream).ok()?
            } else {
                jpeg_decoder::Decoder::new(&blanked.stream[..])
                    .decode()
                    .ok()?
            };
            if frame.len() < g.frame_len() || !is_blank(&frame, g, regions) {
                return None;
            }
            unit = blanked.unit;
            new_tables |= blanked.new_tables;
            let mut stream = blanked.stream;
            // Fragments are of even length (PS3.5 A.4): a trailing zero after EOI.
            if stream.len() % 2 == 1 {
                stream.push(0);
            }
            fragments.push(stream);
        }
        Some((fragments, Stored::JpegBlocks { unit, new_tables }))
    }

    fn undecodable(&self, f: u32, why: &dyn std::fmt::Display) -> PixelError {
        PixelError::Unsupported(format!(
            "frame {} of the {} pixel data could not be decoded ({why})",
            f + 1,
            self.ts_name
        ))
    }

    /// The file with frame `f` as its only frame, in one fragment (the other attributes as
    /// they are, the file meta group too).
    fn frame_alone(&self, f: u32) -> Result<FileDicomObject<InMemDicomObject>, PixelError> {
        let stream = self.stream(f)?.into_owned();
        let mut obj = InMemDicomObject::new_empty();
        for elem in self.file.iter() {
            if dicom_core::header::Header::tag(elem) != tags::PIXEL_DATA {
                obj.put(elem.clone());
            }
        }
        obj.remove_element(tags::EXTENDED_OFFSET_TABLE);
        obj.remove_element(tags::EXTENDED_OFFSET_TABLE_LENGTHS);
        obj.put(DataElement::new(
            tags::NUMBER_OF_FRAMES,
            VR::IS,
            PrimitiveValue::from("1"),
        ));
        obj.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            Value::PixelSequence(dicom_core::value::PixelFragmentSequence::new(
                Vec::<u32>::new(),
                vec![stream],
            )),
        ));
        Ok(obj.with_exact_meta(self.file.meta().clone()))
    }

    /// The compressed bytes of frame `f`: its fragment, or its fragments joined.
    fn stream(&self, f: u32) -> Result<std::borrow::Cow<'a, [u8]>, PixelError> {
        let Some(ranges) = &self.frame_ranges else {
            return Err(
                self.undecodable(f, &"which fragments belong to which frame cannot be told")
            );
        };
        match ranges
            .get(f as usize)
            .and_then(|r| self.fragments.get(r.clone()))
        {
            Some([one]) => Ok(std::borrow::Cow::Borrowed(*one)),
            Some(many) if !many.is_empty() => Ok(std::borrow::Cow::Owned(many.concat())),
            _ => Err(self.undecodable(f, &"no fragment")),
        }
    }

    /// Refuse frame `f` when its codestream says it is another size than the file's Rows and
    /// Columns, before any decoder allocates what the codestream claims (read from the
    /// header in its first fragment: see [`codestream`]). RLE has no such header.
    fn check_size(&self, f: u32) -> Result<(), PixelError> {
        let first = self
            .frame_ranges
            .as_ref()
            .and_then(|r| r.get(f as usize))
            .and_then(|r| self.fragments.get(r.start));
        let Some(first) = first.filter(|_| self.codec != Codec::Rle) else {
            return Ok(());
        };
        let (rows, cols) = (self.g.rows, self.g.cols);
        match codestream::size(first) {
            Ok(Some(s)) if (s.rows as usize, s.cols as usize) != (rows, cols) => Err(self
                .undecodable(
                    f,
                    &format!(
                        "its codestream is {}×{} pixels where the header says {cols}×{rows}",
                        s.cols, s.rows
                    ),
                )),
            Ok(_) => Ok(()),
            Err(e) => Err(self.undecodable(f, &e)),
        }
    }

    /// Frame `f` (0-based) as little-endian, interleaved samples, exactly one frame long.
    fn frame(&self, f: u32) -> Result<Vec<u8>, PixelError> {
        self.check_size(f)?;
        let g = &self.g;
        let frame_len = g.frame_len();
        let mut frame = match self.decoder {
            FrameDecoder::JpegLs => {
                let stream = self.stream(f)?;
                let stream = without_fill_before_eoi(&stream);
                let samples = match jpegls_colour::split_components(&stream) {
                    // Colour coded line by line: Obscura's own decoder.
                    Err(jpegls_colour::SplitError::LineInterleaved) => {
                        let (samples, nf) =
                            jpegls_lines::decode(&stream, g.rows as u32, g.cols as u32)
                                .map_err(|e| self.undecodable(f, &e))?;
                        if nf != g.spp {
                            return Err(self
                                .undecodable(f, &"components do not match the samples per pixel"));
                        }
                        samples
                    }
                    Err(e) => return Err(self.undecodable(f, &e)),
                    Ok(None) => {
                        jpegls::decode(&stream, g.cols as u32, g.rows as u32)
                            .map_err(|e| self.undecodable(f, &e))?
                            .0
                    }
                    // Colour, a component after the other: each decoded on its own, then
                    // interleaved.
                    Ok(Some(parts)) if parts.len() == g.spp => {
                        let mut planes = Vec::with_capacity(parts.len());
                        for part in &parts {
                            planes.push(
                                jpegls::decode(part, g.cols as u32, g.rows as u32)
                                    .map_err(|e| self.undecodable(f, &e))?
                                    .0,
                            );
                        }
                        let n = planes.iter().map(Vec::len).min().unwrap_or(0);
                        (0..n)
                            .flat_map(|i| planes.iter().map(move |p| p[i]))
                            .collect()
                    }
                    Ok(Some(parts)) => {
                        return Err(self.undecodable(
                            f,
                            &format!("{} components for {} samples per pixel", parts.len(), g.spp),
                        ))
                    }
                };
                if g.bps == 1 {
                    samples.iter().map(|v| *v as u8).collect()
                } else {
                    le_bytes(&samples)
                }
            }
            FrameDecoder::Jpeg12 => self
                .jpeg12_frame(&self.stream(f)?)
                .map_err(|e| self.undecodable(f, &e))?,
            FrameDecoder::Rle => {
                let fragment = self
                    .fragments
                    .get(f as usize)
                    .ok_or_else(|| self.undecodable(f, &"no fragment"))?;
                rle::decode_frame(fragment, g.rows, g.cols, g.spp, g.bps)
                    .map_err(|e| self.undecodable(f, &e))?
            }
            FrameDecoder::Registry(reader) => {
                let mut frame = Vec::with_capacity(frame_len.min(64 << 20));
                let decoded = if self.fragments.len() == g.frames as usize || g.frames == 1 {
                    reader.decode_frame(self.file, f, &mut frame)
                } else {
                    // Frames split over fragments: the decoders find them by offsets only,
                    // so the frame is given to them alone.
                    reader.decode_frame(&self.frame_alone(f)?, 0, &mut frame)
                };
                decoded.map_err(|e| self.undecodable(f, &e))?;
                frame
            }
        };
        if frame.len() < frame_len {
            return Err(PixelError::Unsupported(format!(
                "frame {} decoded to {} bytes instead of {frame_len}",
                f + 1,
                frame.len()
            )));
        }
        frame.truncate(frame_len);
        Ok(frame)
    }
}

/// A JPEG-LS stream without the fill bytes (0xFF) that encoders may put before the final EOI
/// marker (T.81 B.1.1.2 allows any number; DCMTK writes one), which `jpegls` does not skip.
fn without_fill_before_eoi(stream: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let Some(eoi) = stream.windows(2).rposition(|w| w == [0xFF, 0xD9]) else {
        return std::borrow::Cow::Borrowed(stream);
    };
    let mut start = eoi;
    while start > 0 && stream[start - 1] == 0xFF {
        start -= 1;
    }
    if start == eoi {
        return std::borrow::Cow::Borrowed(stream);
    }
    let mut out = stream[..start].to_vec();
    out.extend_from_slice(&[0xFF, 0xD9]);
    std::borrow::Cow::Owned(out)
}

/// One frame for analysis: 8-bit luminance where text is bright (MONOCHROME1 inverted,
/// colour as the brightest sample), scaled to the frame's own range.
pub struct Luma {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// `rows × cols` values, row by row.
    pub data: Vec<u8>,
}

/// Frames of a file as stored or decoded, with what is needed to read their samples.
struct DecodedFrames {
    g: Geometry,
    /// The photometric interpretation of the samples (the planar configuration is `g`'s).
    photometric: String,
    /// Byte order of 16- and 32-bit samples.
    le: bool,
    frames: Vec<Vec<u8>>,
}

/// Frames `which` (0-based; out-of-range indices are skipped) of a file, native or
/// compressed.
fn decoded_frames(
    file: &FileDicomObject<InMemDicomObject>,
    which: &[u32],
) -> Result<DecodedFrames, PixelError> {
    let encapsulated = matches!(
        file.get(tags::PIXEL_DATA).map(|e| e.value()),
        Some(Value::PixelSequence(_))
    );
    if encapsulated {
        let d = Decoder::new(file)?;
        let mut frames = Vec::new();
        for &f in which.iter().filter(|f| **f < d.g.frames) {
            frames.push(d.frame(f)?);
        }
        return Ok(DecodedFrames {
            g: d.g.clone(),
            photometric: d.photometric.clone(),
            le: true,
            frames,
        });
    }
    let photometric = attrs::text(file, tags::PHOTOMETRIC_INTERPRETATION);
    let little_endian = TransferSyntax::of(file.meta().transfer_syntax()).is_little_endian();
    if bits::is_one_bit(file) {
        let (g, frames) = bits::frames(file, which, little_endian)?;
        return Ok(DecodedFrames {
            g,
            photometric,
            le: true,
            frames,
        });
    }
    let planar = attrs::uint(file, tags::PLANAR_CONFIGURATION) == Some(1);
    let g = geometry(file, &photometric, planar)?;
    let Some(elem) = file.get(tags::PIXEL_DATA) else {
        return Err(unsupported("no pixel data"));
    };
    let frame_len = g.frame_len();
    let short = || unsupported("the pixel data is shorter than its frames");
    let mut frames = Vec::new();
    // Only the frames asked for are copied (a cine may be hundreds of frames).
    let le = match elem.value() {
        Value::Primitive(PrimitiveValue::U8(b)) => {
            for &f in which.iter().filter(|f| **f < g.frames) {
                let at = f as usize * frame_len;
                frames.push(b.get(at..at + frame_len).ok_or_else(short)?.to_vec());
            }
            little_endian
        }
        Value::Primitive(PrimitiveValue::U16(w)) => {
            // (Words hold two bytes each: a frame of an odd number of bytes, such as 8-bit
            // data read as OW in implicit VR, starts or ends inside one.)
            for &f in which.iter().filter(|f| **f < g.frames) {
                let start = f as usize * frame_len;
                let end = start + frame_len;
                let words = w.get(start / 2..end.div_ceil(2)).ok_or_else(short)?;
                let mut bytes = le_bytes(words);
                bytes.drain(..start % 2);
                bytes.truncate(frame_len);
                if g.bps == 4 && !little_endian {
                    // 32-bit samples of a big-endian file, read as words.
                    swap_words(&mut bytes);
                }
                frames.push(bytes);
            }
            true
        }
        Value::Primitive(PrimitiveValue::U32(w)) => {
            for &f in which.iter().filter(|f| **f < g.frames) {
                let start = f as usize * frame_len;
                let words = w
                    .get(start / 4..(start + frame_len).div_ceil(4))
                    .ok_or_else(short)?;
                let mut bytes: Vec<u8> = words.iter().flat_map(|v| v.to_le_bytes()).collect();
                bytes.truncate(frame_len);
                frames.push(bytes);
            }
            true
        }
        _ => return Err(unsupported("the pixel data has an unusual form")),
    };
    Ok(DecodedFrames {
        g,
        photometric,
        le,
        frames,
    })
}

/// The luminance of frames `which` (0-based; out-of-range indices are skipped) of a file,
/// native or compressed.
pub fn luma_frames(
    file: &FileDicomObject<InMemDicomObject>,
    which: &[u32],
) -> Result<Vec<Luma>, PixelError> {
    let d = decoded_frames(file, which)?;
    Ok(d.frames
        .iter()
        .map(|f| to_luma(f, &d.g, &d.photometric, d.le))
        .collect())
}

/// A frame ready to show: RGBA, 8 bits per channel, row by row.
pub struct Rendered {
    /// Columns.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// `width × height × 4` bytes.
    pub rgba: Vec<u8>,
    /// Which frame this is (0-based), and how many the image has.
    pub frame: u32,
    /// Number of frames.
    pub frames: u32,
    /// The window used, `(center, width)` in rescaled units (greyscale images only).
    pub window: Option<(f64, f64)>,
}

/// Render one frame (the middle one when `frame` is `None`) for display: greyscale through
/// the modality rescale and the file's first window (or the frame's range when it has none),
/// MONOCHROME1 inverted; colour as RGB.
pub fn render(
    file: &FileDicomObject<InMemDicomObject>,
    frame: Option<u32>,
) -> Result<Rendered, PixelError> {
    render_with(file, frame, None)
}

/// [`render`] with a chosen window for greyscale images: `(center, width)` in rescaled units,
/// or a width of 0 or less for the frame's full range.
pub fn render_with(
    file: &FileDicomObject<InMemDicomObject>,
    frame: Option<u32>,
    window: Option<(f64, f64)>,
) -> Result<Rendered, PixelError> {
    let total = attrs::frames(file);
    let index = frame.unwrap_or(total / 2).min(total - 1);
    let d = decoded_frames(file, &[index]).map_err(PixelError::drawing)?;
    let Some(bytes) = d.frames.first() else {
        return Err(PixelError::Undrawable("the frame is missing".into()));
    };
    let g = &d.g;
    let n = g.rows * g.cols;
    let sample = |i: usize| -> u32 { sample_at(bytes, i * g.bps, g.bps, d.le) };
    let at = |p: usize, s: usize| g.index(p, s);
    let mut rgba = vec![255u8; n * 4];
    let mut used = None;
    if g.spp == 3 && g.bps == 1 && !g.planar && !g.subsampled && d.photometric == "RGB" {
        // The common case (8-bit RGB, pixel by pixel): the samples as they are.
        for (dst, src) in rgba.chunks_exact_mut(4).zip(bytes.chunks_exact(3)) {
            dst[..3].copy_from_slice(src);
        }
    } else if g.spp == 3 {
        let shift = g.stored.saturating_sub(8);
        for p in 0..n {
            let (a, b, c) = (
                (sample(at(p, 0)) >> shift) as f32,
                (sample(at(p, 1)) >> shift) as f32,
                (sample(at(p, 2)) >> shift) as f32,
            );
            let (r, gr, bl) = if d.photometric.starts_with("YBR_FULL") {
                (
                    a + 1.402 * (c - 128.0),
                    a - 0.344_136 * (b - 128.0) - 0.714_136 * (c - 128.0),
                    a + 1.772 * (b - 128.0),
                )
            } else {
                (a, b, c)
            };
            rgba[p * 4] = r.clamp(0.0, 255.0) as u8;
            rgba[p * 4 + 1] = gr.clamp(0.0, 255.0) as u8;
            rgba[p * 4 + 2] = bl.clamp(0.0, 255.0) as u8;
        }
    } else if let Some(palette) = &g.palette {
        for p in 0..n {
            let v = sample(p) as i64;
            let v = match (g.signed, g.bps) {
                (true, 2) => v as u16 as i16 as i64,
                (true, 4) => v as u32 as i32 as i64,
                _ => v,
            };
            rgba[p * 4..p * 4 + 3].copy_from_slice(&palette.rgb8(v));
        }
    } else {
        let stored = g.stored.clamp(1, 32);
        let mask = ((1u64 << stored) - 1) as u32;
        let slope = attrs::text(file, tags::RESCALE_SLOPE)
            .parse::<f64>()
            .unwrap_or(1.0);
        let intercept = attrs::text(file, tags::RESCALE_INTERCEPT)
            .parse::<f64>()
            .unwrap_or(0.0);
        let values: Vec<f64> = (0..n)
            .map(|p| {
                let v = sample(p) & mask;
                let v = if g.signed && v & (1 << (stored - 1)) != 0 {
                    v as i64 - (1i64 << stored)
                } else {
                    v as i64
                };
                v as f64 * slope + intercept
            })
            .collect();
        let first = |tag| {
            attrs::text(file, tag)
                .split('\\')
                .next()
                .and_then(|v| v.trim().parse::<f64>().ok())
        };
        let chosen = match window {
            Some((c, w)) if w > 1.0 => (Some(c), Some(w)),
            Some(_) => (None, None),
            None => (first(tags::WINDOW_CENTER), first(tags::WINDOW_WIDTH)),
        };
        // The file's own view, given as a VOI LUT (a table) rather than a window.
        let table = match (window, chosen) {
            (None, (None, _) | (_, None)) => voi_lut(file),
            _ => None,
        };
        if let Some(lut) = table {
            let invert = d.photometric == "MONOCHROME1";
            for (p, v) in values.iter().enumerate() {
                let x = lut.display(*v);
                let x = if invert { 255 - x } else { x };
                rgba[p * 4..p * 4 + 3].copy_from_slice(&[x, x, x]);
            }
            // Dragging the window starts from the range the table covers.
            let width = lut.table.len() as f64;
            return Ok(Rendered {
                width: g.cols as u32,
                height: g.rows as u32,
                rgba,
                frame: index,
                frames: total,
                window: Some((lut.first + width / 2.0, width)),
            });
        }
        let (center, width) = match chosen {
            (Some(c), Some(w)) if w > 1.0 => (c, w),
            _ => {
                let (lo, hi) = values
                    .iter()
                    .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
                ((lo + hi) / 2.0, (hi - lo).max(2.0))
            }
        };
        used = Some((center, width));
        let invert = d.photometric == "MONOCHROME1";
        for (p, v) in values.iter().enumerate() {
            let x = (((v - (center - 0.5)) / (width - 1.0) + 0.5).clamp(0.0, 1.0) * 255.0) as u8;
            let x = if invert { 255 - x } else { x };
            rgba[p * 4] = x;
            rgba[p * 4 + 1] = x;
            rgba[p * 4 + 2] = x;
        }
    }
    Ok(Rendered {
        width: g.cols as u32,
        height: g.rows as u32,
        rgba,
        frame: index,
        frames: total,
        window: used,
    })
}

/// A VOI LUT (PS3.3 C.11.2): the display value of each stored value from `first` on.
struct VoiLut {
    first: f64,
    table: Vec<u16>,
    /// The largest value the table can hold.
    top: f64,
}

impl VoiLut {
    /// The value to display (0–255) for a modality value.
    fn display(&self, v: f64) -> u8 {
        let last = self.table.len().saturating_sub(1) as f64;
        let i = (v.round() - self.first).clamp(0.0, last) as usize;
        let x = f64::from(self.table.get(i).copied().unwrap_or(0));
        (x / self.top * 255.0).round().clamp(0.0, 255.0) as u8
    }
}

/// The first VOI LUT of a file's VOI LUT Sequence, if it is usable.
fn voi_lut(file: &InMemDicomObject) -> Option<VoiLut> {
    let item = file.get(tags::VOILUT_SEQUENCE)?.items()?.first()?;
    let descriptor = item
        .get(tags::LUT_DESCRIPTOR)?
        .value()
        .to_multi_int::<i32>()
        .ok()?;
    let (&entries, &first, &bits) = (descriptor.first()?, descriptor.get(1)?, descriptor.get(2)?);
    let entries = if entries == 0 {
        65_536
    } else {
        usize::try_from(entries).ok()?
    };
    let value = item.get(tags::LUT_DATA)?.value();
    let mut table: Vec<u16> = match value.to_multi_int::<u16>() {
        Ok(v) if v.len() >= entries => v,
        _ => le_words(&value.to_bytes().ok()?),
    };
    if table.len() < entries || !(1..=16).contains(&bits) {
        return None;
    }
    table.truncate(entries);
    let max = table.iter().copied().max().unwrap_or(0);
    let top = f64::from(((1u32 << bits) - 1).max(u32::from(max)).max(1));
    Some(VoiLut {
        first: f64::from(first),
        table,
        top,
    })
}

fn to_luma(frame: &[u8], g: &Geometry, photometric: &str, le: bool) -> Luma {
    let n = g.rows * g.cols;
    let sample = |i: usize| -> u32 { sample_at(frame, i * g.bps, g.bps, le) };
    let mut values: Vec<u32> = (0..n)
        .map(|p| {
            if photometric.starts_with("YBR_FULL") {
                // Y alone.
                sample(g.index(p, 0))
            } else if let Some(palette) = &g.palette {
                palette
                    .rgb8(sample(p) as i64)
                    .into_iter()
                    .max()
                    .unwrap_or(0) as u32
            } else {
                (0..g.spp).map(|s| sample(g.index(p, s))).max().unwrap_or(0)
            }
        })
        .collect();
    if g.signed && g.spp == 1 && g.palette.is_none() {
        // Two's complement: shift so the most negative value is 0.
        let (offset, mask) = match g.bps {
            1 => (0x80, 0xff),
            2 => (0x8000, 0xffff),
            _ => (0x8000_0000, 0xffff_ffff),
        };
        values.iter_mut().for_each(|v| *v = (*v ^ offset) & mask);
    }
    let (lo, hi) = values
        .iter()
        .fold((u32::MAX, 0), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    let span = hi.saturating_sub(lo).max(1) as u64;
    let invert = photometric == "MONOCHROME1";
    let data = values
        .iter()
        .map(|v| {
            let x = ((v.saturating_sub(lo)) as u64 * 255 / span) as u8;
            if invert {
                255 - x
            } else {
                x
            }
        })
        .collect();
    Luma {
        rows: g.rows,
        cols: g.cols,
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::single_range_in_vec_init)] // one frame's range is what is meant
    fn frames_are_found_in_their_fragments() {
        let soi = [0xFF, 0xD8, 1, 2].as_slice();
        let soc = [0xFF, 0x4F, 0xFF, 0x51].as_slice();
        let rest = [7, 7].as_slice();
        // One fragment a frame, and one frame in every fragment.
        assert_eq!(
            frame_fragments(&[rest, rest], &[], 2),
            Some(vec![0..1, 1..2])
        );
        assert_eq!(
            frame_fragments(&[soi, rest, rest], &[], 1),
            Some(vec![0..3])
        );
        // Two frames in five fragments, by the offset table: item starts 0, 12, 22, 32, 44.
        let five = [soi, rest, rest, soi, rest];
        assert_eq!(frame_fragments(&five, &[0, 32], 2), Some(vec![0..3, 3..5]));
        // An offset that is not where an item starts is not trusted; without offsets the
        // codestreams' starts tell, for JPEG and JPEG 2000 alike.
        assert_eq!(frame_fragments(&five, &[0, 30], 2), Some(vec![0..3, 3..5]));
        assert_eq!(frame_fragments(&five, &[], 2), Some(vec![0..3, 3..5]));
        assert_eq!(
            frame_fragments(&[soc, rest, soc, rest, rest], &[], 2),
            Some(vec![0..2, 2..5])
        );
        // Offsets beat markers (a frame's later fragment may start like a codestream).
        assert_eq!(
            frame_fragments(&[soi, soi, soi], &[0, 12], 2),
            Some(vec![0..1, 1..3])
        );
        // Nothing tells: no guess.
        assert_eq!(frame_fragments(&[soi, rest, rest], &[], 2), None);
        assert_eq!(frame_fragments(&[rest, soi, soi], &[], 2), None);
        assert_eq!(frame_fragments(&[soi, soi, soi], &[], 2), None);
        assert_eq!(frame_fragments(&[soi], &[], 2), None);
        assert_eq!(
            frame_fragments(&[soi, rest, soi], &[0, 0], 2),
            Some(vec![0..2, 2..3])
        );
    }

    pub(super) fn image(
        photometric: &str,
        spp: u16,
        bits: u16,
        frames: u32,
        planar: u16,
        pixels: Vec<u8>,
    ) -> InMemDicomObject {
        let mut o = InMemDicomObject::new_empty();
        let us = |t, v: u16| DataElement::new(t, VR::US, PrimitiveValue::from(v));
        o.put(us(tags::ROWS, 4));
        o.put(us(tags::COLUMNS, 5));
        o.put(us(tags::SAMPLES_PER_PIXEL, spp));
        o.put(us(tags::BITS_ALLOCATED, bits));
        o.put(us(tags::BITS_STORED, bits));
        o.put(us(tags::PLANAR_CONFIGURATION, planar));
        o.put(us(tags::PIXEL_REPRESENTATION, 0));
        o.put(DataElement::new(
            tags::NUMBER_OF_FRAMES,
            VR::IS,
            PrimitiveValue::from(frames.to_string()),
        ));
        o.put(DataElement::new(
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            PrimitiveValue::from(photometric),
        ));
        o.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            PrimitiveValue::U8(pixels.into()),
        ));
        o
    }

    fn pixels(o: &InMemDicomObject) -> Vec<u8> {
        o.get(tags::PIXEL_DATA)
            .and_then(|e| e.value().to_bytes().ok())
            .map(|b| b.to_vec())
            .unwrap_or_default()
    }

    const CORNER: [Region; 1] = [Region {
        x: 0,
        y: 0,
        w: 2,
        h: 1,
    }];

    #[test]
    fn rgb_multiframe_interleaved_and_planar() {
        // 3 frames of 4×5 RGB, every byte 200.
        for planar in [0u16, 1] {
            let mut o = image("RGB", 3, 8, 3, planar, vec![200; 3 * 4 * 5 * 3]);
            assert_eq!(blank_regions(&mut o, &CORNER, true), Ok(3));
            let p = pixels(&o);
            for f in 0..3 {
                let frame = &p[f * 60..(f + 1) * 60];
                let zeros = frame.iter().filter(|b| **b == 0).count();
                assert_eq!(
                    zeros,
                    2 * 3,
                    "two pixels × three samples blanked in frame {f} (planar {planar})"
                );
                if planar == 0 {
                    assert_eq!(&frame[..6], &[0; 6]);
                } else {
                    for s in 0..3 {
                        assert_eq!(&frame[s * 20..s * 20 + 2], &[0, 0]);
                    }
                }
            }
        }
    }

    /// 32-bit samples (RT doses, some screen captures) in every form they are read in: bytes
    /// in either byte order, 16-bit words (a big-endian file's with their words the other way
    /// round) and 32-bit values; black is the lowest value, or the highest for MONOCHROME1.
    #[test]
    fn thirty_two_bit_samples_in_every_form() {
        let value: u32 = 0x1234_5678;
        let region = [Region {
            x: 0,
            y: 0,
            w: 1,
            h: 1,
        }];
        // (photometric, signed, black)
        for (photometric, signed, black) in [
            ("MONOCHROME2", false, 0u32),
            ("MONOCHROME2", true, 0x8000_0000),
            ("MONOCHROME1", false, 0xFFFF_FFFF),
        ] {
            for little_endian in [true, false] {
                let order = |v: u32| {
                    if little_endian {
                        v.to_le_bytes()
                    } else {
                        v.to_be_bytes()
                    }
                };
                let file_bytes: Vec<u8> = (0..20).flat_map(|_| order(value)).collect();
                // As the file's bytes; as words (held in the machine's order); as 32-bit values.
                let words: Vec<u16> = file_bytes
                    .chunks_exact(2)
                    .map(|p| {
                        if little_endian {
                            u16::from_le_bytes([p[0], p[1]])
                        } else {
                            u16::from_be_bytes([p[0], p[1]])
                        }
                    })
                    .collect();
                let forms = [
                    PrimitiveValue::U8(file_bytes.clone().into()),
                    PrimitiveValue::U16(words.into()),
                    PrimitiveValue::U32(vec![value; 20].into()),
                ];
                for form in forms {
                    let kind = format!("{form:?}").chars().take(3).collect::<String>();
                    let mut o = image(photometric, 1, 32, 1, 0, Vec::new());
                    o.put(DataElement::new(tags::PIXEL_DATA, VR::OW, form));
                    o.put(DataElement::new(
                        tags::PIXEL_REPRESENTATION,
                        VR::US,
                        PrimitiveValue::from(u16::from(signed)),
                    ));
                    assert_eq!(blank_regions(&mut o, &region, little_endian), Ok(1));
                    // Read back as the file would be written: the first sample black, the
                    // next untouched.
                    let samples: Vec<u32> = match o.get(tags::PIXEL_DATA).map(|e| e.value()) {
                        Some(Value::Primitive(PrimitiveValue::U8(b))) => b
                            .chunks_exact(4)
                            .map(|p| {
                                let p = [p[0], p[1], p[2], p[3]];
                                if little_endian {
                                    u32::from_le_bytes(p)
                                } else {
                                    u32::from_be_bytes(p)
                                }
                            })
                            .collect(),
                        Some(Value::Primitive(PrimitiveValue::U16(w))) => w
                            .chunks_exact(2)
                            .map(|p| {
                                if little_endian {
                                    u32::from(p[0]) | u32::from(p[1]) << 16
                                } else {
                                    u32::from(p[0]) << 16 | u32::from(p[1])
                                }
                            })
                            .collect(),
                        Some(Value::Primitive(PrimitiveValue::U32(w))) => w.to_vec(),
                        other => panic!("{other:?}"),
                    };
                    let what = format!("{photometric} signed {signed} le {little_endian} {kind}");
                    assert_eq!(samples.len(), 20, "{what}");
                    assert_eq!(samples[0], black, "{what}");
                    assert!(samples[1..].iter().all(|v| *v == value), "{what}");
                }
            }
        }
    }

    #[test]
    fn ybr_full_422_blanks_whole_pairs_with_neutral_colour() {
        // 2 frames of 4 rows × 6 columns: each row holds 3 pairs of Y1 Y2 Cb Cr.
        let mut o = image("YBR_FULL_422", 3, 8, 2, 0, vec![200; 2 * 4 * 6 * 2]);
        o.put(DataElement::new(
            tags::COLUMNS,
            VR::US,
            PrimitiveValue::from(6u16),
        ));
        // Columns 1 and 2 of row 1 touch pairs 0 and 1: both are blanked whole.
        let region = [Region {
            x: 1,
            y: 1,
            w: 2,
            h: 1,
        }];
        assert_eq!(blank_regions(&mut o, &region, true), Ok(2));
        let p = pixels(&o);
        assert_eq!(p.len(), 96);
        for frame in p.chunks(48) {
            assert_eq!(
                &frame[12..24],
                &[0, 0, 128, 128, 0, 0, 128, 128, 200, 200, 200, 200]
            );
            assert!(frame[..12].iter().chain(&frame[24..]).all(|b| *b == 200));
        }
        // An odd number of columns cannot be 4:2:2.
        let mut odd = image("YBR_FULL_422", 3, 8, 1, 0, vec![200; 40]);
        assert!(blank_regions(&mut odd, &region, true).is_err());
    }

    /// A 4-entry palette (16-bit entries, first mapped value 10): white, red, black, grey.
    fn with_palette(o: &mut InMemDicomObject) {
        let channels = [
            [65535u16, 65535, 0, 32768],
            [65535, 0, 0, 32768],
            [65535, 0, 0, 32768],
        ];
        for (c, values) in channels.into_iter().enumerate() {
            let n = c as u16;
            o.put(DataElement::new(
                dicom_core::Tag(0x0028, 0x1101 + n),
                VR::US,
                PrimitiveValue::U16(vec![4, 10, 16].into()),
            ));
            o.put(DataElement::new(
                dicom_core::Tag(0x0028, 0x1201 + n),
                VR::OW,
                PrimitiveValue::U16(values.to_vec().into()),
            ));
        }
    }

    #[test]
    fn palette_colour_black_is_the_darkest_entry() {
        let mut o = image("PALETTE COLOR", 1, 8, 1, 0, vec![10; 20]);
        with_palette(&mut o);
        assert_eq!(blank_regions(&mut o, &CORNER, true), Ok(1));
        // Value 12 maps to the black entry; index 0 would have been white here.
        assert_eq!(&pixels(&o)[..3], &[12, 12, 10]);
        let p = Palette::of(&o).expect("palette");
        assert_eq!(p.rgb8(11), [255, 0, 0]);
        assert_eq!(
            p.rgb8(0),
            [255, 255, 255],
            "below the table: its first entry"
        );
        assert_eq!(
            p.rgb8(99),
            [128, 128, 128],
            "above the table: its last entry"
        );

        // Without its palette the image is refused.
        let mut bare = image("PALETTE COLOR", 1, 8, 1, 0, vec![10; 20]);
        assert!(blank_regions(&mut bare, &CORNER, true).is_err());
    }

    /// The same palette written as segments (as some ultrasound machines write theirs):
    /// read the same, and black is again its darkest entry. A damaged one is refused.
    #[test]
    fn segmented_palettes_are_expanded() {
        let mut o = image("PALETTE COLOR", 1, 8, 1, 0, vec![10; 20]);
        with_palette(&mut o);
        let plain = Palette::of(&o).expect("palette").entries;
        // Red: two entries, then lines down to 0 and up to grey, one step each. Green: three
        // runs. Blue: a run, a flat line, a run and a padding word.
        let segments: [&[u16]; 3] = [
            &[0, 2, 65535, 65535, 1, 1, 0, 1, 1, 32768],
            &[0, 1, 65535, 0, 2, 0, 0, 0, 1, 32768],
            &[0, 2, 65535, 0, 1, 1, 0, 0, 1, 32768, 0],
        ];
        for (c, words) in segments.into_iter().enumerate() {
            let n = c as u16;
            o.remove_element(dicom_core::Tag(0x0028, 0x1201 + n));
            o.put(DataElement::new(
                dicom_core::Tag(0x0028, 0x1221 + n),
                VR::OW,
                PrimitiveValue::U16(words.to_vec().into()),
            ));
        }
        let p = Palette::of(&o).expect("segmented palette");
        assert_eq!(p.entries, plain);
        assert_eq!(blank_regions(&mut o, &CORNER, true), Ok(1));
        assert_eq!(&pixels(&o)[..3], &[12, 12, 10]);

        o.put(DataElement::new(
            dicom_core::Tag(0x0028, 0x1221),
            VR::OW,
            PrimitiveValue::U16(vec![1, 2, 9].into()),
        ));
        let err = Palette::of(&o).expect_err("damaged");
        assert!(
            format!("{err:?}").contains("damaged segmented palette"),
            "{err:?}"
        );
    }

    /// An image that cannot be drawn says why, without what that means for blanking; one
    /// that cannot be blanked says both.
    #[test]
    fn errors_say_what_they_mean_for_drawing_or_blanking() {
        use dicom_object::meta::FileMetaTableBuilder;
        let mut o = image("MONOCHROME2", 1, 12, 1, 0, vec![0; 30]);
        let meta = FileMetaTableBuilder::new()
            .transfer_syntax(dicom_dictionary_std::uids::EXPLICIT_VR_LITTLE_ENDIAN)
            .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.7")
            .media_storage_sop_instance_uid("2.25.8");
        let file = o.clone().with_meta(meta).expect("meta");
        assert_eq!(
            render(&file, None).err(),
            Some(PixelError::Undrawable("12-bit pixels".into()))
        );
        // Sizes whose product would wrap around memory's words are refused, not counted.
        let mut huge = image("RGB", 3, 32, 1, 0, vec![0; 8]);
        for t in [tags::ROWS, tags::COLUMNS] {
            huge.put(DataElement::new(t, VR::US, PrimitiveValue::from(65535u16)));
        }
        let too_large = blank_regions(&mut huge, &CORNER, true).expect_err("too large");
        assert_eq!(
            too_large.reason(),
            "the image is too large to be held in memory"
        );
        let err = blank_regions(&mut o, &CORNER, true).expect_err("12-bit");
        assert_eq!(err.reason(), "12-bit pixels");
        assert_eq!(
            err.to_string(),
            "12-bit pixels: its burned-in text cannot be removed yet"
        );
    }

    #[test]
    fn the_files_voi_lut_is_used_when_it_has_no_window() {
        use dicom_object::meta::FileMetaTableBuilder;
        // Values 0..20; the table maps 0..9 to 0..9 × 100 (of 12 bits) and clamps the rest.
        let mut o = image("MONOCHROME2", 1, 8, 1, 0, (0..20).collect());
        let mut item = InMemDicomObject::new_empty();
        item.put(DataElement::new(
            tags::LUT_DESCRIPTOR,
            VR::US,
            PrimitiveValue::U16(vec![10, 0, 12].into()),
        ));
        item.put(DataElement::new(
            tags::LUT_DATA,
            VR::OW,
            PrimitiveValue::U16((0..10u16).map(|i| i * 100).collect()),
        ));
        o.put(DataElement::new(
            tags::VOILUT_SEQUENCE,
            VR::SQ,
            dicom_core::value::DataSetSequence::from(vec![item]),
        ));
        o.put(DataElement::new(
            tags::SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from("1.2.840.10008.5.1.4.1.1.7"),
        ));
        o.put(DataElement::new(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from("2.25.7"),
        ));
        let file = o
            .with_meta(
                FileMetaTableBuilder::new()
                    .transfer_syntax(dicom_dictionary_std::uids::EXPLICIT_VR_LITTLE_ENDIAN)
                    .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.7")
                    .media_storage_sop_instance_uid("2.25.7"),
            )
            .expect("meta");
        let r = render(&file, None).expect("rendered");
        let grey: Vec<u8> = r.rgba.chunks(4).map(|p| p[0]).collect();
        let expected = |v: u32| ((v.min(9) * 100) as f64 / 4095.0 * 255.0).round() as u8;
        assert_eq!(grey, (0..20).map(expected).collect::<Vec<_>>());
        assert_eq!(r.window, Some((5.0, 10.0)));
        // A window chosen by the user wins over the table.
        let w = render_with(&file, None, Some((10.0, 20.0))).expect("rendered");
        assert_ne!(w.rgba.chunks(4).map(|p| p[0]).collect::<Vec<_>>(), grey);
    }

    #[test]
    fn monochrome1_black_is_the_highest_value() {
        let mut o = image("MONOCHROME1", 1, 8, 1, 0, vec![5; 20]);
        assert_eq!(blank_regions(&mut o, &CORNER, true), Ok(1));
        assert_eq!(&pixels(&o)[..3], &[255, 255, 5]);
    }

    #[test]
    fn regions_outside_the_image_are_clipped() {
        let mut o = image("MONOCHROME2", 1, 8, 1, 0, vec![9; 20]);
        let far = [
            Region {
                x: 4,
                y: 3,
                w: 100,
                h: 100,
            },
            Region {
                x: 50,
                y: 50,
                w: 1,
                h: 1,
            },
        ];
        assert_eq!(blank_regions(&mut o, &far, true), Ok(1));
        let p = pixels(&o);
        assert_eq!(
            p.iter().filter(|b| **b == 0).count(),
            1,
            "only the last pixel"
        );
        assert_eq!(p[19], 0);
    }

    #[test]
    fn rules_match_on_every_given_criterion() {
        let rules = RegionRules::from_json(
            r#"{"rules": [{"name": "a", "modality": "US", "manufacturer": "acme", "regions": [{"x":0,"y":0,"w":1,"h":1}]},
                          {"name": "b", "rows": 4, "columns": 5, "regions": [{"x":1,"y":1,"w":1,"h":1}]}]}"#,
        )
        .expect("rules");
        let mut o = image("MONOCHROME2", 1, 8, 1, 0, vec![1; 20]);
        o.put(DataElement::new(
            tags::MODALITY,
            VR::CS,
            PrimitiveValue::from("US"),
        ));
        o.put(DataElement::new(
            tags::MANUFACTURER,
            VR::LO,
            PrimitiveValue::from("ACME Medical"),
        ));
        let (regions, names) = rules.regions_for(&o);
        assert_eq!(names, vec!["a", "b"]);
        assert_eq!(regions.len(), 2);
        o.put(DataElement::new(
            tags::MANUFACTURER,
            VR::LO,
            PrimitiveValue::from("Other"),
        ));
        assert_eq!(rules.regions_for(&o).1, vec!["b"]);
    }
}
