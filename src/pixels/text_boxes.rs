//! From a text detector's probability map to boxes to blank.
//!
//! A DBNet-style detector (see [`super::text_model`]) gives, for every pixel of its input, the
//! probability that it lies inside a line of text. Its training shrinks each text region
//! inwards, so the region it reports is narrower than the glyphs: every box is widened again
//! ("unclipped", by a distance that grows with the box's area over its perimeter) and given a
//! margin, so that it covers whole glyphs. Recall comes first: the thresholds are low, and a
//! box that would be thin or small is still kept when its pixels are confident.

use super::Region;

/// How a probability map is turned into boxes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoxParams {
    /// A pixel belongs to text when its probability is above this.
    pub threshold: f32,
    /// A region is kept when the mean probability of its pixels is at least this.
    pub box_threshold: f32,
    /// How far a region is widened, as a multiple of its area over its perimeter (DBNet's
    /// unclip ratio).
    pub unclip: f32,
    /// Pixels added around each widened box, in the frame's own pixels.
    pub margin: u32,
    /// Regions with fewer pixels than this (in the map) are noise.
    pub min_pixels: usize,
    /// Each box is widened sideways by this many times its region's height more, so that a
    /// faint first or last glyph of the line is covered too.
    pub extend: f32,
    /// A region thicker than this both ways (in map pixels) is not a line of text but a patch
    /// of texture the model mistook (it happens in speckle and noise, mostly when enlarged).
    pub max_thickness: usize,
}

impl Default for BoxParams {
    /// Tuned for recall on `make bench-detect`'s generated set (docs/benchmarks.md).
    fn default() -> Self {
        BoxParams {
            threshold: 0.2,
            box_threshold: 0.35,
            unclip: 2.0,
            margin: 3,
            min_pixels: 4,
            extend: 0.5,
            max_thickness: 96,
        }
    }
}

/// Boxes around the text in a `width × height` probability map (row by row), in map pixels,
/// clipped to `limit` (the part of the map that holds the frame: the rest is padding).
pub fn boxes_from_map(
    prob: &[f32],
    width: usize,
    height: usize,
    limit: (usize, usize),
    params: &BoxParams,
) -> Vec<Region> {
    let (lw, lh) = (limit.0.min(width), limit.1.min(height));
    if prob.len() < width * height || lw == 0 || lh == 0 {
        return Vec::new();
    }
    let on = |x: usize, y: usize| prob[y * width + x] > params.threshold;
    let mut seen = vec![false; lw * lh];
    let mut stack = Vec::new();
    let mut out = Vec::new();
    for start_y in 0..lh {
        for start_x in 0..lw {
            if seen[start_y * lw + start_x] || !on(start_x, start_y) {
                continue;
            }
            // One 4-connected region, with an explicit stack (no recursion on input data).
            seen[start_y * lw + start_x] = true;
            stack.push((start_x, start_y));
            let (mut x0, mut y0, mut x1, mut y1) = (start_x, start_y, start_x, start_y);
            let (mut count, mut sum) = (0usize, 0f32);
            while let Some((x, y)) = stack.pop() {
                count += 1;
                sum += prob[y * width + x];
                x0 = x0.min(x);
                y0 = y0.min(y);
                x1 = x1.max(x);
                y1 = y1.max(y);
                let mut visit = |nx: usize, ny: usize| {
                    if !seen[ny * lw + nx] && on(nx, ny) {
                        seen[ny * lw + nx] = true;
                        stack.push((nx, ny));
                    }
                };
                if x > 0 {
                    visit(x - 1, y);
                }
                if x + 1 < lw {
                    visit(x + 1, y);
                }
                if y > 0 {
                    visit(x, y - 1);
                }
                if y + 1 < lh {
                    visit(x, y + 1);
                }
            }
            let thick = (x1 - x0 + 1).min(y1 - y0 + 1);
            if count < params.min_pixels
                || sum / (count as f32) < params.box_threshold
                || thick > params.max_thickness
            {
                continue;
            }
            out.push(unclip(x0, y0, x1 + 1, y1 + 1, params, (lw, lh)));
        }
    }
    merge_overlapping(out)
}

/// A region's box widened by DBNet's unclip distance and the margin, within `limit`.
fn unclip(
    x0: usize,
    y0: usize,
    x1: usize,
    y1: usize,
    params: &BoxParams,
    limit: (usize, usize),
) -> Region {
    let (w, h) = ((x1 - x0) as f32, (y1 - y0) as f32);
    let d = (w * h * params.unclip / (2.0 * (w + h))).ceil() as usize + params.margin as usize;
    // Sideways by the line's thickness more: along a line, a glyph the model was unsure of.
    let side = d + (w.min(h) * params.extend).ceil() as usize;
    let (dx, dy) = if w >= h { (side, d) } else { (d, side) };
    let (nx0, ny0) = (x0.saturating_sub(dx), y0.saturating_sub(dy));
    let (nx1, ny1) = ((x1 + dx).min(limit.0), (y1 + dy).min(limit.1));
    Region {
        x: nx0 as u32,
        y: ny0 as u32,
        w: (nx1 - nx0) as u32,
        h: (ny1 - ny0) as u32,
    }
}

/// Whether two boxes share a pixel.
fn overlaps(a: &Region, b: &Region) -> bool {
    a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h
}

/// Whether the box holding both is little more than the two: parts of one line, or one box
/// inside another; not two lines crossing at an angle, whose union would blank much else.
fn snug(a: &Region, b: &Region) -> bool {
    let area = |r: &Region| u64::from(r.w) * u64::from(r.h);
    let u = union(a, b);
    area(&u) * 4 <= (area(a) + area(b)) * 5
}

/// The smallest box holding both.
fn union(a: &Region, b: &Region) -> Region {
    let (x0, y0) = (a.x.min(b.x), a.y.min(b.y));
    let (x1, y1) = ((a.x + a.w).max(b.x + b.w), (a.y + a.h).max(b.y + b.h));
    Region {
        x: x0,
        y: y0,
        w: x1 - x0,
        h: y1 - y0,
    }
}

/// Boxes that overlap snugly, merged into one (until no more can be): a line of text is one
/// box, and the boxes of several frames or tiles add up without repeating themselves.
pub fn merge_overlapping(mut boxes: Vec<Region>) -> Vec<Region> {
    loop {
        let mut merged = false;
        let mut i = 0;
        while i < boxes.len() {
            let mut j = i + 1;
            while j < boxes.len() {
                if overlaps(&boxes[i], &boxes[j]) && snug(&boxes[i], &boxes[j]) {
                    let b = boxes.swap_remove(j);
                    boxes[i] = union(&boxes[i], &b);
                    merged = true;
                } else {
                    j += 1;
                }
            }
            i += 1;
        }
        if !merged {
            boxes.sort_by_key(|r| (r.y, r.x));
            return boxes;
        }
    }
}

/// A box in a map of `map` size (with the frame scaled by `scale` and placed at `offset` in
/// the frame) brought back to the frame's pixels, within `frame` size.
pub fn to_frame(r: &Region, scale: f32, offset: (u32, u32), frame: (u32, u32)) -> Option<Region> {
    let x0 = (r.x as f32 / scale).floor() as u32 + offset.0;
    let y0 = (r.y as f32 / scale).floor() as u32 + offset.1;
    let x1 = (((r.x + r.w) as f32 / scale).ceil() as u32 + offset.0).min(frame.0);
    let y1 = (((r.y + r.h) as f32 / scale).ceil() as u32 + offset.1).min(frame.1);
    // `then`, not `then_some`: the sizes are computed only for a box that is not empty.
    (x1 > x0 && y1 > y0).then(|| Region {
        x: x0,
        y: y0,
        w: x1 - x0,
        h: y1 - y0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A map with confident rectangles, and faint noise elsewhere.
    fn map(w: usize, h: usize, rects: &[(usize, usize, usize, usize, f32)]) -> Vec<f32> {
        let mut m = vec![0.05f32; w * h];
        for &(x, y, rw, rh, p) in rects {
            for yy in y..y + rh {
                for xx in x..x + rw {
                    m[yy * w + xx] = p;
                }
            }
        }
        m
    }

    #[test]
    fn a_shrunk_text_region_is_widened_to_cover_its_glyphs() {
        // DBNet reports a 40×4 core for a 48×12 line of glyphs at (16, 16).
        let m = map(100, 60, &[(20, 20, 40, 4, 0.9)]);
        let boxes = boxes_from_map(&m, 100, 60, (100, 60), &BoxParams::default());
        assert_eq!(boxes.len(), 1, "{boxes:?}");
        let b = boxes[0];
        assert!(b.x <= 16 && b.y <= 16, "{b:?}");
        assert!(b.x + b.w >= 64 && b.y + b.h >= 28, "{b:?}");
        // …but not far beyond it (a glyph more at either end).
        assert!(b.w <= 72 && b.h <= 24, "{b:?}");
    }

    #[test]
    fn faint_regions_and_specks_are_not_text() {
        let m = map(100, 60, &[(10, 10, 30, 5, 0.25), (70, 40, 1, 2, 0.95)]);
        let params = BoxParams::default();
        assert!(boxes_from_map(&m, 100, 60, (100, 60), &params).is_empty());
    }

    #[test]
    fn a_thick_patch_is_texture_not_a_line_of_text() {
        let params = BoxParams {
            max_thickness: 40,
            ..BoxParams::default()
        };
        let m = map(200, 200, &[(10, 10, 100, 100, 0.9), (10, 150, 150, 8, 0.9)]);
        let boxes = boxes_from_map(&m, 200, 200, (200, 200), &params);
        assert_eq!(boxes.len(), 1, "{boxes:?}");
        assert!(boxes[0].y > 120, "only the line: {boxes:?}");
    }

    #[test]
    fn padding_beyond_the_frame_is_never_boxed() {
        // The map is padded to 64×64; the frame is 50×40; text in the padding is ignored and
        // a box near the edge is clipped to the frame.
        let m = map(64, 64, &[(52, 10, 10, 4, 0.9), (40, 30, 9, 4, 0.9)]);
        let boxes = boxes_from_map(&m, 64, 64, (50, 40), &BoxParams::default());
        assert_eq!(boxes.len(), 1, "{boxes:?}");
        let b = boxes[0];
        assert!(b.x + b.w <= 50 && b.y + b.h <= 40, "{b:?}");
    }

    #[test]
    fn overlapping_boxes_become_one_line() {
        let a = Region {
            x: 0,
            y: 0,
            w: 10,
            h: 10,
        };
        let b = Region {
            x: 8,
            y: 2,
            w: 10,
            h: 10,
        };
        let c = Region {
            x: 40,
            y: 40,
            w: 5,
            h: 5,
        };
        let d = Region {
            x: 17,
            y: 11,
            w: 3,
            h: 3,
        };
        let merged = merge_overlapping(vec![c, a, b, d]);
        assert_eq!(
            merged,
            vec![
                Region {
                    x: 0,
                    y: 0,
                    w: 20,
                    h: 14
                },
                c
            ]
        );
    }

    #[test]
    fn boxes_of_a_scaled_tile_come_back_to_the_frame() {
        let r = Region {
            x: 10,
            y: 20,
            w: 21,
            h: 9,
        };
        // Map at twice the frame's size, tile at (100, 50) in a 300×200 frame.
        let f = to_frame(&r, 2.0, (100, 50), (300, 200)).unwrap();
        assert_eq!(
            f,
            Region {
                x: 105,
                y: 60,
                w: 11,
                h: 5
            }
        );
        assert!(to_frame(&r, 1.0, (300, 0), (300, 200)).is_none());
    }
}
