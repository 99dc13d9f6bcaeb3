//! Sequential Huffman JPEG (ISO 10918-1 / T.81, processes 1, 2 and 4: SOF0 and SOF1), 8 or 12
//! bits, greyscale or three components in one interleaved scan (YCbCr 4:2:2 or 4:2:0, or RGB):
//! DICOM's JPEG Extended (1.2.840.10008.1.2.4.51) as CT, MR and angiography write it at 12
//! bits, which the `jpeg-decoder` crate cannot read.
//!
//! Written for input from anywhere: every length and table index is checked, the image must
//! have the size the DICOM header gives, and the work is bounded by that size.

use super::jpeg_huffman::{Bits, Huffman, Tables, ZIGZAG};
use super::jpeg_markers::segments;

/// Decode one frame of `rows × cols` pixels: greyscale, or three components interleaved in
/// one scan (converted from YCbCr to RGB when `ycbcr`, chroma sampled up by repetition).
/// Returns the samples (row by row, a pixel's components together) and the precision in bits.
pub fn decode(
    data: &[u8],
    rows: usize,
    cols: usize,
    ycbcr: bool,
) -> Result<(Vec<u16>, u8), String> {
    let mut tables = Tables::default();
    for seg in segments(data)? {
        let seg = seg?;
        tables.read(&seg)?;
        let Some(frame) = tables.frame.as_ref() else {
            continue;
        };
        let n = frame.comps.len();
        if matches!(seg.marker, 0xC0 | 0xC1) {
            if n != 1 && n != 3 {
                return Err(format!("{n}-component sequential JPEG"));
            }
            if frame.cols != cols || (frame.rows != rows && frame.rows != 0) {
                return Err(format!(
                    "the JPEG frame is {}×{}, the image {cols}×{rows}",
                    frame.cols, frame.rows
                ));
            }
        }
        if seg.marker != 0xDA {
            continue;
        }
        let scan = tables.scan(seg.body)?;
        if scan.len() != n {
            return Err(
                "a JPEG scan of fewer components than the frame (only interleaved scans are read here)"
                    .into(),
            );
        }
        let mut units = Vec::with_capacity(n);
        for sc in &scan {
            let comp = frame.comps[sc.index];
            if comp.h > 2 || comp.v > 2 {
                return Err(format!("JPEG sampling factors {}×{}", comp.h, comp.v));
            }
            // One component alone is one block per unit, whatever its factors.
            let (h, v) = if n == 1 { (1, 1) } else { (comp.h, comp.v) };
            units.push(Unit {
                h,
                v,
                dc: tables.dc[sc.dc].clone().ok_or("a missing DC table")?,
                ac: tables.ac[sc.ac].clone().ok_or("a missing AC table")?,
                quant: tables.quant[comp.tq],
            });
        }
        // Sequential and interleaved: the one scan holds the whole image.
        let samples = scan_samples(
            seg.data,
            rows,
            cols,
            frame.precision,
            &units,
            tables.restart,
            ycbcr,
        )?;
        return Ok((samples, frame.precision));
    }
    Err("the JPEG frame has no scan".into())
}

/// A component as a scan codes it: its sampling and tables.
struct Unit {
    h: usize,
    v: usize,
    dc: Huffman,
    ac: Huffman,
    quant: [u16; 64],
}

/// Decode the entropy-coded data of the one scan into samples (a pixel's components
/// together).
fn scan_samples(
    data: &[u8],
    rows: usize,
    cols: usize,
    precision: u8,
    units: &[Unit],
    restart: usize,
    ycbcr: bool,
) -> Result<Vec<u16>, String> {
    let hmax = units.iter().map(|u| u.h).max().unwrap_or(1);
    let vmax = units.iter().map(|u| u.v).max().unwrap_or(1);
    let (mcux, mcuy) = (cols.div_ceil(8 * hmax), rows.div_ceil(8 * vmax));
    // Each component's samples at its own resolution, whole blocks.
    let mut planes: Vec<(usize, Vec<u16>)> = units
        .iter()
        .map(|u| {
            let width = mcux * u.h * 8;
            (width, vec![0u16; width * mcuy * u.v * 8])
        })
        .collect();
    let mut bits = Bits::new(data);
    let idct = Idct::new();
    let max = (1i32 << precision) - 1;
    let shift = 1i32 << (precision - 1);
    let mut preds = vec![0i32; units.len()];
    let mut quantised = [0i32; 64];
    for n in 0..mcux * mcuy {
        if restart > 0 && n > 0 && n % restart == 0 {
            bits.restart()?;
            preds.fill(0);
        }
        let (mx, my) = (n % mcux, n / mcux);
        for (c, unit) in units.iter().enumerate() {
            for by in 0..unit.v {
                for bx in 0..unit.h {
                    bits.block(&unit.dc, &unit.ac, &mut preds[c], &mut quantised)?;
                    let mut coefficients = [0i32; 64];
                    for (k, q) in quantised.iter().enumerate() {
                        coefficients[ZIGZAG[k]] = q.wrapping_mul(unit.quant[ZIGZAG[k]] as i32);
                    }
                    let pixels = idct.apply(&coefficients);
                    let (width, plane) = &mut planes[c];
                    let (x0, y0) = ((mx * unit.h + bx) * 8, (my * unit.v + by) * 8);
                    for y in 0..8 {
                        for x in 0..8 {
                            let v = (pixels[y * 8 + x].round() as i32 + shift).clamp(0, max);
                            plane[(y0 + y) * *width + x0 + x] = v as u16;
                        }
                    }
                }
            }
        }
    }
    let mut out = Vec::with_capacity(rows * cols * units.len());
    let centre = shift as f32;
    for y in 0..rows {
        for x in 0..cols {
            let sample = |c: usize| {
                let (width, plane) = &planes[c];
                let u = &units[c];
                plane[(y * u.v / vmax) * width + x * u.h / hmax]
            };
            if units.len() == 1 {
                out.push(sample(0));
            } else if ycbcr {
                let (l, cb, cr) = (
                    sample(0) as f32,
                    sample(1) as f32 - centre,
                    sample(2) as f32 - centre,
                );
                for v in [
                    l + 1.402 * cr,
                    l - 0.344_136 * cb - 0.714_136 * cr,
                    l + 1.772 * cb,
                ] {
                    out.push((v.round() as i32).clamp(0, max) as u16);
                }
            } else {
                out.extend((0..units.len()).map(sample));
            }
        }
    }
    Ok(out)
}

/// The 8×8 inverse DCT (T.81 A.3.3), separable, in floating point.
struct Idct {
    /// `c[x][u] = C(u)/2 · cos((2x+1)uπ/16)`.
    c: [[f32; 8]; 8],
}

impl Idct {
    fn new() -> Idct {
        let mut c = [[0f32; 8]; 8];
        for (x, row) in c.iter_mut().enumerate() {
            for (u, v) in row.iter_mut().enumerate() {
                let cu = if u == 0 {
                    std::f32::consts::FRAC_1_SQRT_2
                } else {
                    1.0
                };
                *v = cu / 2.0
                    * (((2 * x + 1) as f32 * u as f32 * std::f32::consts::PI) / 16.0).cos();
            }
        }
        Idct { c }
    }

    fn apply(&self, block: &[i32; 64]) -> [f32; 64] {
        let mut tmp = [0f32; 64];
        // Rows: for each frequency row v, transform over u.
        for v in 0..8 {
            for x in 0..8 {
                tmp[v * 8 + x] = (0..8).map(|u| self.c[x][u] * block[v * 8 + u] as f32).sum();
            }
        }
        let mut out = [0f32; 64];
        for x in 0..8 {
            for y in 0..8 {
                out[y * 8 + x] = (0..8).map(|v| self.c[y][v] * tmp[v * 8 + x]).sum();
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damaged_streams_are_errors_not_panics() {
        assert!(decode(&[], 8, 8, false).is_err());
        assert!(decode(&[0xFF, 0xD8], 8, 8, false).is_err());
        assert!(decode(&[0xFF, 0xD8, 0xFF, 0xC1, 0xFF, 0xFF], 8, 8, false).is_err());
        // A frame header of the wrong size.
        let sof = [
            0xFF, 0xD8, 0xFF, 0xC1, 0, 11, 12, 0, 8, 0, 9, 1, 1, 0x11, 0, 0xFF, 0xD9,
        ];
        assert!(decode(&sof, 8, 8, false).unwrap_err().contains("9×8"));
    }

    /// A 12-bit stream of `blocks` 8×8 blocks side by side, quantiser 1, each with DC
    /// difference 64 (category 7) and no AC; with `restart`, a restart marker after each block.
    /// DC table: one code "0" of length 1 for category 7; AC table: one code "0" for EOB.
    fn flat_blocks(blocks: u8, restart: bool) -> Vec<u8> {
        let mut s = vec![0xFF, 0xD8];
        s.extend([0xFF, 0xDB, 0, 67, 0x00]);
        s.extend([1u8; 64]);
        s.extend([0xFF, 0xC1, 0, 11, 12, 0, 8, 0, 8 * blocks, 1, 1, 0x11, 0]);
        if restart {
            s.extend([0xFF, 0xDD, 0, 4, 0, 1]);
        }
        let mut dht = vec![0x00];
        dht.extend([1u8].iter().chain([0u8; 15].iter()));
        dht.push(7);
        dht.push(0x10);
        dht.extend([1u8].iter().chain([0u8; 15].iter()));
        dht.push(0x00);
        s.extend([0xFF, 0xC4, 0, (dht.len() + 2) as u8]);
        s.extend(dht);
        s.extend([0xFF, 0xDA, 0, 8, 1, 1, 0x00, 0, 63, 0]);
        for b in 0..blocks {
            if restart && b > 0 {
                s.extend([0xFF, 0xD0 + (b - 1) % 8]);
            }
            // Bits: DC code 0, then 7 bits 1000000 (64), then AC code 0 (EOB); padded with 1s.
            s.extend([0b0100_0000, 0b0011_1111]);
        }
        s.extend([0xFF, 0xD9]);
        s
    }

    #[test]
    fn a_flat_block_decodes_to_its_dc_value() {
        let (samples, precision) = decode(&flat_blocks(1, false), 8, 8, false).expect("decodes");
        assert_eq!(precision, 12);
        // DC 64 → every sample 64 / 8 + 2048.
        assert!(samples.iter().all(|v| *v == 2056), "{samples:?}");
    }

    #[test]
    fn restart_markers_reset_the_dc_prediction() {
        let (samples, _) = decode(&flat_blocks(3, true), 8, 24, false).expect("decodes");
        // Without the restarts the second and third blocks would add up to 128 and 192.
        assert!(samples.iter().all(|v| *v == 2056), "{samples:?}");
        // Without the markers the stream is read as one run of differences instead.
        let mut missing = flat_blocks(3, true);
        let at = missing
            .windows(2)
            .position(|w| w == [0xFF, 0xD0])
            .expect("marker");
        missing.drain(at..at + 2);
        assert!(decode(&missing, 8, 24, false).is_err());
    }
}
