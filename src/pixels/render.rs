//! Frames for people and for the text detector: RGBA with the file's window or VOI LUT (or
//! a modality's), and 8-bit luminance.

use dicom_core::value::{PrimitiveValue, Value};
use dicom_dictionary_std::tags;
use dicom_object::{FileDicomObject, InMemDicomObject};

use super::codec::Decoder;
use super::geometry::{geometry, le_bytes, le_words, sample_at, swap_words, Geometry};
use super::{bits, unsupported, PixelError};
use crate::attrs;
use crate::dicom::TransferSyntax;

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
pub(super) struct DecodedFrames {
    pub(super) g: Geometry,
    /// The photometric interpretation of the samples (the planar configuration is `g`'s).
    pub(super) photometric: String,
    /// Byte order of 16- and 32-bit samples.
    pub(super) le: bool,
    pub(super) frames: Vec<Vec<u8>>,
}

/// Frames `which` (0-based; out-of-range indices are skipped) of a file, native or
/// compressed.
pub(super) fn decoded_frames(
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
/// or a width of 0 or less for the frame's full range. The file's overlay planes are drawn
/// over the frame, as a viewer shows them ([`super::overlay`]).
pub fn render_with(
    file: &FileDicomObject<InMemDicomObject>,
    frame: Option<u32>,
    window: Option<(f64, f64)>,
) -> Result<Rendered, PixelError> {
    let mut rendered = render_pixels(file, frame, window)?;
    super::overlay::draw(file, &mut rendered);
    Ok(rendered)
}

/// The window a radiologist would first see a CT in, for a CT image in Hounsfield units
/// that names no window of its own (nor a VOI LUT): the brain window (40, 80) for a head,
/// the soft-tissue window (40, 400) otherwise. Without it, the frame's whole range (about
/// -1000 to 3000 HU) leaves the 10 HU between grey and white matter a grey level or two: a
/// head looks posterised. An image is taken to be in HU when it is a CT whose values reach
/// below -500 (air, or the scanner's padding around the field of view).
fn ct_window(file: &InMemDicomObject, lowest: f64) -> Option<(f64, f64)> {
    if attrs::text(file, tags::MODALITY).trim() != "CT" || lowest > -500.0 {
        return None;
    }
    let part = attrs::text(file, tags::BODY_PART_EXAMINED).to_ascii_uppercase();
    let head = ["HEAD", "BRAIN", "SKULL"].iter().any(|p| part.contains(p));
    Some(if head { (40.0, 80.0) } else { (40.0, 400.0) })
}

/// The frame's pixels alone, as [`render_with`] gives them.
fn render_pixels(
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
                let range = ((lo + hi) / 2.0, (hi - lo).max(2.0));
                // The file's own view (no window asked for): a CT's first window, if it is one.
                let ct = if window.is_none() {
                    ct_window(file, lo)
                } else {
                    None
                };
                ct.unwrap_or(range)
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
pub(super) struct VoiLut {
    pub(super) first: f64,
    pub(super) table: Vec<u16>,
    /// The largest value the table can hold.
    pub(super) top: f64,
}

impl VoiLut {
    /// The value to display (0–255) for a modality value.
    pub(super) fn display(&self, v: f64) -> u8 {
        let last = self.table.len().saturating_sub(1) as f64;
        let i = (v.round() - self.first).clamp(0.0, last) as usize;
        let x = f64::from(self.table.get(i).copied().unwrap_or(0));
        (x / self.top * 255.0).round().clamp(0.0, 255.0) as u8
    }
}

/// The first VOI LUT of a file's VOI LUT Sequence, if it is usable.
pub(super) fn voi_lut(file: &InMemDicomObject) -> Option<VoiLut> {
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

pub(super) fn to_luma(frame: &[u8], g: &Geometry, photometric: &str, le: bool) -> Luma {
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
