//! Pictures sized for slides. A key image goes into a talk: a 64-pixel MR or a 256-pixel
//! ultrasound drawn at its own size is a stamp on a projected slide. Key images are enlarged
//! until their longer side is at least [`SLIDE_SIDE`] pixels:
//! - by a whole factor, so that every pixel of the image becomes the same square of output
//!   pixels (no pixel is stretched more than its neighbour);
//! - with bilinear interpolation between pixel centres, as viewers draw an enlarged image
//!   (no blocks, no ringing round edges, no value outside its neighbours' range);
//! - never shrunk: an image already that large keeps its own pixels.

/// The shortest a key image's longer side may be, in pixels.
pub const SLIDE_SIDE: u32 = 1024;

/// The whole factor that brings an image's longer side to at least [`SLIDE_SIDE`] (1 for an
/// image already that large). The enlarged longer side is below `2 × SLIDE_SIDE`, so memory
/// stays bounded whatever the image.
pub fn factor(width: u32, height: u32) -> u32 {
    SLIDE_SIDE.div_ceil(width.max(height).max(1)).max(1)
}

/// `rgba` (`width × height` pixels, 4 bytes each) enlarged by [`factor`]: `(width, height,
/// rgba)` of the result.
pub fn enlarge(width: u32, height: u32, rgba: &[u8]) -> (u32, u32, Vec<u8>) {
    let k = factor(width, height);
    let (w, h) = (width as usize, height as usize);
    if k == 1 || w == 0 || h == 0 || rgba.len() < w * h * 4 {
        return (width, height, rgba.to_vec());
    }
    let k = k as usize;
    let (ow, oh) = (w * k, h * k);
    let (xs, ys) = (taps(w, k), taps(h, k));
    let mut out = vec![0u8; ow * oh * 4];
    for (oy, &(y0, y1, wy)) in ys.iter().enumerate() {
        let (top, bottom) = (&rgba[y0 * w * 4..][..w * 4], &rgba[y1 * w * 4..][..w * 4]);
        let row = &mut out[oy * ow * 4..][..ow * 4];
        for (ox, &(x0, x1, wx)) in xs.iter().enumerate() {
            for c in 0..4 {
                let mix = |line: &[u8]| {
                    line[x0 * 4 + c] as f32 * (1.0 - wx) + line[x1 * 4 + c] as f32 * wx
                };
                let v = mix(top) * (1.0 - wy) + mix(bottom) * wy;
                row[ox * 4 + c] = v.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    (ow as u32, oh as u32, out)
}

/// For each of the `len × k` output positions along a side: the two source pixels it lies
/// between and the weight of the second (pixel centres aligned: output pixel `i` is at source
/// position `(i + ½) / k − ½`, clamped at the edges).
fn taps(len: usize, k: usize) -> Vec<(usize, usize, f32)> {
    (0..len * k)
        .map(|i| {
            let f = ((i as f32 + 0.5) / k as f32 - 0.5).max(0.0);
            let a = (f.floor() as usize).min(len - 1);
            let b = (a + 1).min(len - 1);
            (a, b, (f - a as f32).clamp(0.0, 1.0))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_images_are_enlarged_by_a_whole_factor_and_large_ones_kept() {
        assert_eq!(factor(64, 64), 16);
        assert_eq!(factor(640, 480), 2);
        assert_eq!(factor(300, 1000), 2);
        assert_eq!(factor(1024, 10), 1);
        assert_eq!(factor(4000, 3000), 1);
        assert_eq!(factor(0, 0), SLIDE_SIDE);
        for (w, h) in [(1, 1), (3, 700), (1023, 1), (513, 2)] {
            let long = w.max(h) * factor(w, h);
            assert!(
                (SLIDE_SIDE..2 * SLIDE_SIDE).contains(&long),
                "{w}×{h} → {long}"
            );
        }
    }

    #[test]
    fn enlarging_keeps_flat_areas_and_blends_only_between_neighbours() {
        // A 2×1 image: black, then white.
        let rgba = [0, 0, 0, 255, 255, 255, 255, 255];
        let (w, h, out) = enlarge(2, 1, &rgba);
        assert_eq!((w, h), (1024, 512));
        let grey: Vec<u8> = out[..w as usize * 4].chunks(4).map(|p| p[0]).collect();
        // Flat at both ends, rising monotonically between the two pixel centres.
        assert!(grey[..256].iter().all(|&v| v == 0), "{:?}", &grey[..260]);
        assert!(grey[768..].iter().all(|&v| v == 255));
        assert!(grey.windows(2).all(|p| p[0] <= p[1]));
        // Every row is the same (one source row), alpha stays opaque.
        assert!(out
            .chunks(w as usize * 4)
            .all(|r| r == &out[..w as usize * 4]));
        assert!(out.chunks(4).all(|p| p[3] == 255));
    }

    #[test]
    fn an_image_already_large_enough_is_unchanged() {
        let rgba: Vec<u8> = (0..1100 * 3 * 4).map(|i| (i % 251) as u8).collect();
        assert_eq!(enlarge(1100, 3, &rgba), (1100, 3, rgba.clone()));
    }
}
