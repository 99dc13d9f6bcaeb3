//! Finding burned-in text in every frame of an image, with the learned detector
//! ([`super::text_model`]) and, where it adds recall, the detector of bright text on dark
//! bands ([`super::detect`]).
//!
//! Every frame is looked at: text that a cine shows in only some of its frames is found. A
//! frame whose pixels are exactly those of the frame looked at just before it is not looked at
//! again (its text-bearing pixels are unchanged, so it holds the same text); that is the only
//! frame skipped. The boxes found in any frame are blanked in every frame: text that stands
//! out in one frame may be there, fainter, in the others, and an image's frames share their
//! overlays and annotations.
//!
//! With a reader ([`super::text_read`]), each box is also read, in the frame it was found in
//! (a box found again, at the same place, in a later frame is not read again).

use dicom_object::{FileDicomObject, InMemDicomObject};

use super::text_boxes::merge_overlapping;
use super::text_model::TextModel;
use super::text_read::TextReader;
use super::{detect, render_with, Luma, PixelError, Region};
use crate::attrs;

/// What looking for text in an image found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextFound {
    /// Boxes to blank, in every frame.
    pub regions: Vec<Region>,
    /// How many frames the image has.
    pub frames: u32,
    /// How many of them were looked at (the others repeat the frame before them exactly).
    pub looked_at: u32,
    /// What was read in each box of `regions` (in the same order), when a reader was given.
    pub read: Vec<Read>,
}

/// What was read in one box.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Read {
    /// The text, as read (the parts of a box that joined several, in order).
    pub text: String,
    /// Whether all of it reads, surely, as a non-identifying annotation
    /// ([`super::text_read::is_annotation`]).
    pub annotation: bool,
}

/// Look for burned-in text in every frame of `file` with `model`, and with the
/// bright-text-on-dark-band detector where `bands`.
pub fn find_text(
    file: &FileDicomObject<InMemDicomObject>,
    model: Option<&TextModel>,
    reader: Option<&TextReader>,
    bands: bool,
) -> Result<TextFound, PixelError> {
    let frames = attrs::frames(file).max(1);
    let mut found = TextFound {
        frames,
        ..TextFound::default()
    };
    let mut previous: Option<Vec<u8>> = None;
    // Each box found, with what was read in it.
    let mut boxes: Vec<(Region, Read)> = Vec::new();
    for k in 0..frames {
        // The frame's whole range, not its window: text outside a window is still text.
        let frame = render_with(file, Some(k), Some((0.0, 0.0)))?;
        if previous.as_deref() == Some(frame.rgba.as_slice()) {
            continue;
        }
        found.looked_at += 1;
        let (w, h) = (frame.width as usize, frame.height as usize);
        let mut here = Vec::new();
        if let Some(model) = model {
            here = model
                .detect(&frame.rgba, w, h)
                .map_err(|e| PixelError::Undrawable(format!("the text detector failed: {e}")))?;
        }
        if bands {
            here.extend(detect::propose(&luma_of(&frame.rgba, w, h)));
        }
        for region in here {
            if boxes.iter().any(|(r, _)| *r == region) {
                continue;
            }
            let read = match reader {
                Some(reader) => read_box(reader, &frame.rgba, w, h, &region),
                None => Read::default(),
            };
            boxes.push((region, read));
        }
        previous = Some(frame.rgba);
    }
    found.regions = merge_overlapping(boxes.iter().map(|(r, _)| *r).collect());
    if reader.is_some() {
        found.read = found
            .regions
            .iter()
            .map(|merged| joined(boxes.iter().filter(|(r, _)| merged.contains(r))))
            .collect();
    }
    Ok(found)
}

/// What `reader` reads in `region`. A box it fails on reads as nothing (it is blanked as any
/// other: reading only ever decides to leave a box visible).
fn read_box(reader: &TextReader, rgba: &[u8], w: usize, h: usize, region: &Region) -> Read {
    match reader.read(rgba, w, h, region) {
        Ok(reading) => Read {
            annotation: reading.is_annotation(),
            text: reading.text,
        },
        Err(_) => Read::default(),
    }
}

/// What was read in the boxes a merged box joined: their texts in reading order, and an
/// annotation only when every one of them is.
fn joined<'a>(parts: impl Iterator<Item = &'a (Region, Read)>) -> Read {
    let mut parts: Vec<&(Region, Read)> = parts.collect();
    parts.sort_by_key(|(r, _)| (r.y / r.h.max(1), r.x));
    let mut texts: Vec<&str> = Vec::new();
    for (_, read) in &parts {
        if !read.text.is_empty() && !texts.contains(&read.text.as_str()) {
            texts.push(&read.text);
        }
    }
    Read {
        text: texts.join(" "),
        annotation: !parts.is_empty() && parts.iter().all(|(_, read)| read.annotation),
    }
}

/// The luminance the bright-text detector works on: each pixel's brightest channel (a frame
/// drawn for display already has MONOCHROME1 inverted and its range scaled).
fn luma_of(rgba: &[u8], cols: usize, rows: usize) -> Luma {
    Luma {
        rows,
        cols,
        data: rgba
            .chunks_exact(4)
            .map(|p| p[0].max(p[1]).max(p[2]))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pixels::detect::tests::{draw, frame};
    use crate::pixels::text_model::test_model;

    /// An RGBA frame from a grey one, with `paint` applied to the pixels `text` marks.
    fn rgba(grey: &Luma, text: &[bool], paint: [u8; 3]) -> Vec<u8> {
        grey.data
            .iter()
            .zip(text)
            .flat_map(|(&v, &t)| {
                if t {
                    [paint[0], paint[1], paint[2], 255]
                } else {
                    [v, v, v, 255]
                }
            })
            .collect()
    }

    /// Where `draw` put text in a copy of `base`.
    fn text_mask(base: &Luma, lines: &[(&str, usize, usize, usize)]) -> Vec<bool> {
        let mut marked = Luma {
            rows: base.rows,
            cols: base.cols,
            data: vec![0; base.data.len()],
        };
        for &(text, x, y, scale) in lines {
            draw(&mut marked, text, x, y, scale, 255);
        }
        marked.data.iter().map(|&v| v == 255).collect()
    }

    fn covered(regions: &[Region], cols: usize, i: usize) -> bool {
        let (x, y) = ((i % cols) as u32, (i / cols) as u32);
        regions
            .iter()
            .any(|r| x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h)
    }

    /// Every text pixel is inside a box, and the boxes cover little else.
    fn assert_found(regions: &[Region], text: &[bool], cols: usize, what: &str) {
        let missed = (0..text.len())
            .filter(|&i| text[i] && !covered(regions, cols, i))
            .count();
        assert_eq!(
            missed, 0,
            "{what}: {missed} text pixels not covered by {regions:?}"
        );
        let area: u32 = regions.iter().map(|r| r.w * r.h).sum();
        assert!(
            (area as usize) * 20 < text.len(),
            "{what}: boxes cover {area} pixels of {}",
            text.len()
        );
    }

    #[test]
    fn a_name_over_anatomy_is_found_by_the_learned_detector() {
        let base = frame(480, 640);
        let lines = [("KAFE 1901", 250, 200, 2), ("FAKE", 260, 260, 3)];
        let text = text_mask(&base, &lines);
        let image = rgba(&base, &text, [250, 250, 250]);
        let found = test_model().detect(&image, 640, 480).unwrap();
        assert_found(&found, &text, 640, "white text over anatomy");
    }

    #[test]
    fn text_across_the_tiles_seam_of_a_portrait_frame_is_found() {
        // 480 wide, 640 high: enlarged to 960 × 1280 and cut into two tiles side by side that
        // share the frame's columns 208-272; the line runs across them.
        let base = frame(640, 480);
        let text = text_mask(&base, &[("KAFE 1901 FAKE", 120, 330, 2)]);
        let image = rgba(&base, &text, [250, 250, 250]);
        let found = test_model().detect(&image, 480, 640).unwrap();
        assert_found(&found, &text, 480, "text across a portrait frame's seam");
    }

    #[test]
    fn dark_text_on_a_light_label_and_coloured_text_are_found() {
        let mut base = frame(480, 640);
        // A light label in the corner.
        for y in 400..440 {
            for x in 20..200 {
                base.data[y * 640 + x] = 225;
            }
        }
        let label = text_mask(&base, &[("KAFE 1901", 30, 410, 2)]);
        let image = rgba(&base, &label, [30, 30, 30]);
        let found = test_model().detect(&image, 640, 480).unwrap();
        assert_found(&found, &label, 640, "dark text on a light label");

        let small = text_mask(&base, &[("FAKE 190", 300, 30, 1)]);
        let image = rgba(&base, &small, [240, 220, 0]);
        let found = test_model().detect(&image, 640, 480).unwrap();
        assert_found(&found, &small, 640, "7-pixel yellow text");
    }

    #[test]
    fn anatomy_alone_gets_no_box() {
        let base = frame(480, 640);
        let image = rgba(&base, &vec![false; base.data.len()], [0; 3]);
        let found = test_model().detect(&image, 640, 480).unwrap();
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_huge_frame_is_cut_into_tiles_and_text_on_a_tile_edge_is_found() {
        // 2,600 × 1,200: three tiles across; the line straddles the first tiles' edge.
        let (rows, cols) = (1200, 2600);
        let base = Luma {
            rows,
            cols,
            data: vec![20; rows * cols],
        };
        let text = text_mask(
            &base,
            &[(
                "KAFE 1901 FAKE",
                super::super::text_model::TILE - 60,
                600,
                3,
            )],
        );
        let image = rgba(&base, &text, [250, 250, 250]);
        let found = test_model().detect(&image, cols, rows).unwrap();
        assert_found(&found, &text, cols, "text across a tile edge");
    }
}
