//! RLE Lossless (PS3.5 Annex G) frame decoding, written for input from anywhere: every length
//! and offset is checked, and a frame that does not hold exactly its pixels is an error. (The
//! decoder in dicom-rs indexes and allocates from the header's numbers unchecked, which can
//! exhaust memory or stop the wasm module on a damaged file.) And encoding: cleaned frames of
//! compressed images are stored as RLE Lossless, a frame at a time.

/// Decode one frame: `fragment` is the frame's whole RLE fragment; the result holds
/// `rows × cols` pixels of `spp` samples of `bps` bytes, interleaved (planar configuration 0),
/// little endian.
pub fn decode_frame(
    fragment: &[u8],
    rows: usize,
    cols: usize,
    spp: usize,
    bps: usize,
) -> Result<Vec<u8>, String> {
    let pixels = rows.checked_mul(cols).ok_or("the image is too large")?;
    let segments = spp * bps;
    if fragment.len() < 64 {
        return Err("the RLE header is shorter than 64 bytes".into());
    }
    let word = |i: usize| {
        u32::from_le_bytes([
            fragment[i * 4],
            fragment[i * 4 + 1],
            fragment[i * 4 + 2],
            fragment[i * 4 + 3],
        ]) as usize
    };
    let count = word(0);
    if count != segments {
        return Err(format!(
            "the RLE header has {count} segments where the image needs {segments}"
        ));
    }
    let mut bounds: Vec<usize> = (1..=count).map(word).collect();
    bounds.push(fragment.len());
    if bounds[0] != 64 || bounds.windows(2).any(|w| w[0] > w[1]) {
        return Err("the RLE segment offsets are not in order within the fragment".into());
    }
    let mut out = vec![0u8; pixels * segments];
    let mut segment = Vec::with_capacity(pixels);
    for s in 0..spp {
        for b in 0..bps {
            let index = s * bps + b;
            unpack(
                &fragment[bounds[index]..bounds[index + 1]],
                pixels,
                &mut segment,
            )?;
            // Segment b of a sample holds its most significant byte first.
            let at = bps - 1 - b;
            for (p, value) in segment.iter().enumerate() {
                out[(p * spp + s) * bps + at] = *value;
            }
        }
    }
    Ok(out)
}

/// Encode one frame (`rows × cols` pixels of `spp` samples of `bps` bytes, interleaved,
/// little endian) as an RLE Lossless fragment: a segment per byte of each sample, most
/// significant first, each row packed on its own (PS3.5 G.3.1).
pub fn encode_frame(frame: &[u8], rows: usize, cols: usize, spp: usize, bps: usize) -> Vec<u8> {
    let segments = spp * bps;
    let mut header = vec![0u8; 64];
    header[0..4].copy_from_slice(&(segments as u32).to_le_bytes());
    let mut body = Vec::with_capacity(frame.len() / 2);
    let mut plane = vec![0u8; cols];
    for s in 0..spp {
        for b in 0..bps {
            let at = 64 + body.len();
            let index = 1 + s * bps + b;
            header[index * 4..index * 4 + 4].copy_from_slice(&(at as u32).to_le_bytes());
            // Segment b of a sample holds its most significant byte first.
            let byte = bps - 1 - b;
            for r in 0..rows {
                for (c, v) in plane.iter_mut().enumerate() {
                    *v = frame
                        .get(((r * cols + c) * spp + s) * bps + byte)
                        .copied()
                        .unwrap_or(0);
                }
                pack(&plane, &mut body);
            }
            if body.len() % 2 == 1 {
                body.push(0x80); // no-op, keeps every segment at an even offset
            }
        }
    }
    header.extend_from_slice(&body);
    header
}

/// PackBits one row: runs of 2 to 128 equal bytes as repeats, the rest as literals of up
/// to 128 bytes.
fn pack(row: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < row.len() {
        let mut run = 1;
        while i + run < row.len() && run < 128 && row[i + run] == row[i] {
            run += 1;
        }
        if run >= 2 {
            out.push((1i16 - run as i16) as i8 as u8);
            out.push(row[i]);
            i += run;
            continue;
        }
        // A literal until the next pair of equal bytes (or 128 bytes).
        let start = i;
        while i < row.len() && i - start < 128 {
            if i + 1 < row.len() && row[i] == row[i + 1] {
                break;
            }
            i += 1;
        }
        out.push((i - start - 1) as u8);
        out.extend_from_slice(&row[start..i]);
    }
}

/// PackBits: a header byte n, then n + 1 literal bytes (n ≥ 0) or one byte repeated 1 − n
/// times (n < 0, except −128, which does nothing). Exactly `len` bytes are kept; fewer is an
/// error, more (padding) is ignored.
fn unpack(data: &[u8], len: usize, out: &mut Vec<u8>) -> Result<(), String> {
    out.clear();
    let mut i = 0;
    while out.len() < len && i < data.len() {
        let n = data[i] as i8;
        i += 1;
        if n >= 0 {
            let run = n as usize + 1;
            let bytes = data
                .get(i..i + run)
                .ok_or("an RLE literal run goes past the end of its segment")?;
            out.extend_from_slice(bytes);
            i += run;
        } else if n != -128 {
            let value = *data
                .get(i)
                .ok_or("an RLE repeat run goes past the end of its segment")?;
            out.resize(out.len() + (1 - n as isize) as usize, value);
            i += 1;
        }
    }
    if out.len() < len {
        return Err(format!(
            "an RLE segment decodes to {} bytes instead of {len}",
            out.len()
        ));
    }
    out.truncate(len);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(offsets: &[u32]) -> Vec<u8> {
        let mut h = [0u32; 16];
        h[0] = offsets.len() as u32;
        h[1..=offsets.len()].copy_from_slice(offsets);
        h.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    #[test]
    fn sixteen_bit_two_pixels() {
        // Pixels 0x0102 and 0x0304: MSB segment [1, 3] as a literal, LSB [2, 4] as a literal.
        let mut f = header(&[64, 67]);
        f.extend([1, 1, 3, 1, 2, 4]);
        assert_eq!(decode_frame(&f, 1, 2, 1, 2), Ok(vec![2, 1, 4, 3]));
    }

    #[test]
    fn repeat_runs_and_rgb_interleaving() {
        // 2 pixels of RGB 8-bit: R = 9,9 (repeat), G = 5,6 (literal), B = 7,7 (repeat).
        let mut f = header(&[64, 66, 69]);
        f.extend([0xff, 9, 1, 5, 6, 0xff, 7]);
        assert_eq!(decode_frame(&f, 1, 2, 3, 1), Ok(vec![9, 5, 7, 9, 6, 7]));
    }

    #[test]
    fn what_is_encoded_decodes_back() {
        let mut seed = 7u32;
        for (rows, cols, spp, bps) in [(1, 1, 1, 1), (3, 5, 1, 2), (17, 300, 3, 1), (8, 129, 1, 1)]
        {
            let frame: Vec<u8> = (0..rows * cols * spp * bps)
                .map(|i| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    // Runs, literals and long flat stretches.
                    if (i / 7) % 3 == 0 {
                        0
                    } else if (i / 300) % 2 == 0 {
                        (seed >> 16) as u8
                    } else {
                        9
                    }
                })
                .collect();
            let fragment = encode_frame(&frame, rows, cols, spp, bps);
            assert_eq!(fragment.len() % 2, 0);
            assert_eq!(decode_frame(&fragment, rows, cols, spp, bps), Ok(frame));
        }
        // A flat frame packs small.
        let flat = vec![0u8; 512 * 512 * 2];
        assert!(encode_frame(&flat, 512, 512, 1, 2).len() < 10_000);
    }

    #[test]
    fn damaged_frames_are_errors() {
        let mut good = header(&[64]);
        good.extend([1, 8, 9]);
        assert!(decode_frame(&good, 1, 2, 1, 1).is_ok());
        assert!(
            decode_frame(&good[..40], 1, 2, 1, 1).is_err(),
            "short header"
        );
        assert!(decode_frame(&good, 1, 3, 1, 1).is_err(), "too few pixels");
        assert!(
            decode_frame(&good, 1, 2, 3, 1).is_err(),
            "wrong segment count"
        );
        let mut huge = header(&[64]);
        huge[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(
            decode_frame(&huge, 1, 2, 1, 1).is_err(),
            "absurd segment count"
        );
        let mut past = header(&[900]);
        past.extend([1, 8, 9]);
        assert!(
            decode_frame(&past, 1, 2, 1, 1).is_err(),
            "offset past the end"
        );
        let mut literal = header(&[64]);
        literal.extend([5, 8]);
        assert!(
            decode_frame(&literal, 1, 2, 1, 1).is_err(),
            "literal past the end"
        );
    }
}
