//! A JPEG-LS decoder (ITU-T T.87) for colour images whose components are interleaved: line by
//! line (interleave mode 1, DCMTK's default for colour: the components' lines follow each
//! other, sharing the coding contexts, each component with its own run index) or sample by
//! sample (mode 2: a pixel's samples follow each other; runs are of whole pixels). Lossless
//! and near-lossless; default or preset coding parameters. Not read here (refused with a
//! reason): mapping tables, point transforms, restart intervals.
//!
//! Greyscale and component-by-component streams are decoded by `pure_jpegls` (see
//! [`super::jpegls_colour`]); this module covers what that decoder cannot.

/// Why a stream could not be decoded.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinesError {
    /// The stream is damaged or not JPEG-LS.
    #[error("damaged JPEG-LS stream: {0}")]
    Damaged(&'static str),
    /// A kind of JPEG-LS this decoder does not read.
    #[error("{0}")]
    Unsupported(&'static str),
}

use super::jpeg_markers::{segments, u16_at, MarkerError};
use LinesError::{Damaged, Unsupported};

/// The run-length order table (T.87 A.2.1).
const J: [u32; 32] = [
    0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 9, 10, 11, 12, 13,
    14, 15,
];

/// Reads the entropy-coded bits of a scan: after a 0xFF byte, the next byte carries 7 bits
/// (its first bit is a stuffed 0).
struct Bits<'a> {
    data: &'a [u8],
    at: usize,
    /// Bits not yet used, left-aligned in `value` (`count` of them).
    value: u64,
    count: u32,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Bits<'a> {
        Bits {
            data,
            at: 0,
            value: 0,
            count: 0,
        }
    }

    /// Refill to at least 32 bits (zeros past the end, which the caller's bounds catch).
    fn fill(&mut self) {
        while self.count <= 56 {
            let (byte, width) = match self.data.get(self.at) {
                Some(&b) => {
                    let after_ff = self.at > 0 && self.data[self.at - 1] == 0xFF;
                    self.at += 1;
                    if after_ff {
                        (u64::from(b & 0x7F), 7)
                    } else {
                        (u64::from(b), 8)
                    }
                }
                None => {
                    self.at += 1;
                    if self.at > self.data.len() + 16 {
                        return;
                    }
                    (0, 8)
                }
            };
            self.value |= byte << (64 - width - self.count);
            self.count += width;
        }
    }

    fn bits(&mut self, n: u32) -> Result<u32, LinesError> {
        if n == 0 {
            return Ok(0);
        }
        if self.count < n {
            self.fill();
            if self.count < n {
                return Err(Damaged("the coded data ends too early"));
            }
        }
        let v = (self.value >> (64 - n)) as u32;
        self.value <<= n;
        self.count -= n;
        Ok(v)
    }

    fn bit(&mut self) -> Result<bool, LinesError> {
        Ok(self.bits(1)? == 1)
    }

    /// The number of 0 bits before the next 1 bit.
    fn zeros(&mut self) -> Result<u32, LinesError> {
        let mut n = 0;
        loop {
            if self.count == 0 {
                self.fill();
                if self.count == 0 {
                    return Err(Damaged("the coded data ends too early"));
                }
            }
            let lead = self.value.leading_zeros().min(self.count);
            n += lead;
            // All 64 bits may be zeros: a shift by 64 would overflow.
            self.value = self.value.checked_shl(lead).unwrap_or(0);
            self.count -= lead;
            if self.count > 0 {
                // The 1 bit.
                self.value <<= 1;
                self.count -= 1;
                return Ok(n);
            }
            if n > 65_536 {
                return Err(Damaged("a code longer than any the standard allows"));
            }
        }
    }
}

/// Coding parameters of a scan (T.87 C.2.4.1.1 defaults, or an LSE marker's presets).
#[derive(Clone, Copy)]
struct Params {
    maxval: i32,
    near: i32,
    t1: i32,
    t2: i32,
    t3: i32,
    reset: i32,
    range: i32,
    qbpp: u32,
    limit: u32,
}

fn bits_for(v: i32) -> u32 {
    32 - (v.max(1) as u32 - 1).leading_zeros().min(32)
}

impl Params {
    fn new(precision: u8, near: i32, preset: [i32; 5]) -> Result<Params, LinesError> {
        let maxval = if preset[0] > 0 {
            preset[0]
        } else {
            (1i32 << precision) - 1
        };
        if near < 0 || near > (maxval / 2).min(255) {
            return Err(Damaged("NEAR out of range"));
        }
        let clamp = |i: i32, j: i32| if i > maxval || i < j { j } else { i };
        // The basic thresholds 3, 7 and 21, scaled (C.2.4.1.1.1).
        let (basic1, basic2, basic3) = (3, 7, 21);
        let (t1, t2, t3) = if maxval >= 128 {
            let factor = (maxval.min(4095) + 128) / 256;
            let t1 = clamp(factor * (basic1 - 2) + 2 + 3 * near, near + 1);
            let t2 = clamp(factor * (basic2 - 3) + 3 + 5 * near, t1);
            (t1, t2, clamp(factor * (basic3 - 4) + 4 + 7 * near, t2))
        } else {
            let factor = 256 / (maxval + 1);
            let t1 = clamp((basic1 / factor + 3 * near).max(2), near + 1);
            let t2 = clamp((basic2 / factor + 5 * near).max(3), t1);
            (t1, t2, clamp((basic3 / factor + 7 * near).max(4), t2))
        };
        let t1 = if preset[1] > 0 { preset[1] } else { t1 };
        let t2 = if preset[2] > 0 { preset[2] } else { t2 };
        let t3 = if preset[3] > 0 { preset[3] } else { t3 };
        let reset = if preset[4] > 0 { preset[4] } else { 64 };
        let range = (maxval + 2 * near) / (2 * near + 1) + 1;
        let qbpp = bits_for(range);
        let bpp = bits_for(maxval + 1).max(2);
        Ok(Params {
            maxval,
            near,
            t1,
            t2,
            t3,
            reset,
            range,
            qbpp,
            limit: 2 * (bpp + bpp.max(8)),
        })
    }

    fn quantize(&self, d: i32) -> i32 {
        if d <= -self.t3 {
            -4
        } else if d <= -self.t2 {
            -3
        } else if d <= -self.t1 {
            -2
        } else if d < -self.near {
            -1
        } else if d <= self.near {
            0
        } else if d < self.t1 {
            1
        } else if d < self.t2 {
            2
        } else if d < self.t3 {
            3
        } else {
            4
        }
    }

    fn clamp(&self, v: i32) -> i32 {
        v.clamp(0, self.maxval)
    }

    /// The sample from its prediction and its (signed, quantized) error.
    fn reconstruct(&self, px: i32, err: i32) -> i32 {
        let step = 2 * self.near + 1;
        let mut v = px + err * step;
        if v < -self.near {
            v += self.range * step;
        } else if v > self.maxval + self.near {
            v -= self.range * step;
        }
        self.clamp(v)
    }
}

/// A regular-mode context (T.87 A.2.1).
#[derive(Clone, Copy)]
struct Context {
    a: i32,
    b: i32,
    c: i32,
    n: i32,
}

/// A run-interruption context.
#[derive(Clone, Copy)]
struct RunContext {
    a: i32,
    n: i32,
    nn: i32,
    ri_type: i32,
}

/// Golomb-coded value with a length limit (T.87 A.5.3).
fn golomb(bits: &mut Bits, k: u32, limit: u32, qbpp: u32) -> Result<i64, LinesError> {
    let high = bits.zeros()?;
    if high >= limit.saturating_sub(qbpp + 1) {
        return Ok(i64::from(bits.bits(qbpp)?) + 1);
    }
    if k >= 31 {
        return Err(Damaged("Golomb parameter out of range"));
    }
    Ok((i64::from(high) << k) + i64::from(bits.bits(k)?))
}

/// The Golomb parameter of a context: the least k with N·2^k ≥ A.
fn golomb_k(n: i32, a: i32) -> Result<u32, LinesError> {
    let mut k = 0;
    while (i64::from(n) << k) < i64::from(a) {
        k += 1;
        if k > 30 {
            return Err(Damaged("context out of range"));
        }
    }
    Ok(k)
}

struct Decoder<'a> {
    p: Params,
    bits: Bits<'a>,
    contexts: Vec<Context>,
    runs: [RunContext; 2],
}

impl Decoder<'_> {
    fn regular(&mut self, qs: i32, ra: i32, rb: i32, rc: i32) -> Result<i32, LinesError> {
        let sign = if qs < 0 { -1 } else { 1 };
        let q = (qs * sign) as usize;
        let ctx = self.contexts[q];
        let pred = if rc >= ra.max(rb) {
            ra.min(rb)
        } else if rc <= ra.min(rb) {
            ra.max(rb)
        } else {
            ra + rb - rc
        };
        let px = self.p.clamp(pred + sign * ctx.c);
        let k = golomb_k(ctx.n, ctx.a)?;
        let m = golomb(&mut self.bits, k, self.p.limit, self.p.qbpp)?;
        // Unmap (A.5.2), with the special mapping for k = 0 in lossless coding.
        let mut err = if m & 1 == 1 { -((m + 1) >> 1) } else { m >> 1 };
        if k == 0 && self.p.near == 0 && 2 * i64::from(ctx.b) + i64::from(ctx.n) - 1 < 0 {
            err = !err;
        }
        if err.abs() > 65_535 {
            return Err(Damaged("error value out of range"));
        }
        let err = err as i32;
        self.update(q, err);
        Ok(self.p.reconstruct(px, err * sign))
    }

    /// Context update and bias correction (A.6).
    fn update(&mut self, q: usize, err: i32) {
        let (near, reset) = (self.p.near, self.p.reset);
        let c = &mut self.contexts[q];
        c.a += err.abs();
        c.b += err * (2 * near + 1);
        if c.n == reset {
            c.a >>= 1;
            c.b >>= 1;
            c.n >>= 1;
        }
        c.n += 1;
        if c.b + c.n <= 0 {
            c.b += c.n;
            if c.b <= -c.n {
                c.b = -c.n + 1;
            }
            if c.c > -128 {
                c.c -= 1;
            }
        } else if c.b > 0 {
            c.b -= c.n;
            if c.b > 0 {
                c.b = 0;
            }
            if c.c < 127 {
                c.c += 1;
            }
        }
    }

    /// The run-interruption sample (A.7.2).
    fn interruption(&mut self, ra: i32, rb: i32, run_index: usize) -> Result<i32, LinesError> {
        let t = usize::from((ra - rb).abs() <= self.p.near);
        self.interruption_with(t, ra, rb, run_index)
    }

    /// A run-interruption sample of a pixel of several components: context 0, from above.
    fn interruption_from_above(
        &mut self,
        ra: i32,
        rb: i32,
        run_index: usize,
    ) -> Result<i32, LinesError> {
        self.interruption_with(0, ra, rb, run_index)
    }

    fn interruption_with(
        &mut self,
        t: usize,
        ra: i32,
        rb: i32,
        run_index: usize,
    ) -> Result<i32, LinesError> {
        let ctx = self.runs[t];
        let k = golomb_k(ctx.n, ctx.a + (ctx.n >> 1) * ctx.ri_type)?;
        let limit = self.p.limit.saturating_sub(J[run_index] + 1);
        let em = golomb(&mut self.bits, k, limit, self.p.qbpp)?;
        if em > 131_072 {
            return Err(Damaged("error value out of range"));
        }
        let em = em as i32;
        let temp = em + ctx.ri_type;
        let map = temp & 1 == 1;
        let abs = (temp + i32::from(map)) / 2;
        let err = if (k != 0 || 2 * ctx.nn >= ctx.n) == map {
            -abs
        } else {
            abs
        };
        let c = &mut self.runs[t];
        if err < 0 {
            c.nn += 1;
        }
        c.a += (em + 1 - c.ri_type) >> 1;
        if c.n == self.p.reset {
            c.a >>= 1;
            c.n >>= 1;
            c.nn >>= 1;
        }
        c.n += 1;
        Ok(if t == 1 {
            self.p.reconstruct(ra, err)
        } else {
            self.p.reconstruct(rb, err * if rb >= ra { 1 } else { -1 })
        })
    }

    /// The length of a run (A.7.1.2) of at most `left` samples (or pixels).
    fn run_length(&mut self, left: usize, run_index: &mut usize) -> Result<usize, LinesError> {
        let mut n = 0;
        while self.bits.bit()? {
            let step = (1usize << J[*run_index]).min(left - n);
            n += step;
            if step == 1 << J[*run_index] {
                *run_index = (*run_index + 1).min(31);
            }
            if n == left {
                return Ok(n);
            }
        }
        n += self.bits.bits(J[*run_index])? as usize;
        if n > left {
            return Err(Damaged("a run past the end of the line"));
        }
        Ok(n)
    }

    /// Decode one line into `cur` (with one sample of margin on each side, as is `prev`).
    fn line(
        &mut self,
        prev: &[i32],
        cur: &mut [i32],
        width: usize,
        run_index: &mut usize,
    ) -> Result<(), LinesError> {
        let mut x = 1; // cur[1..=width] are the samples
        while x <= width {
            let (ra, rb, rc, rd) = (cur[x - 1], prev[x], prev[x - 1], prev[x + 1]);
            let q1 = self.p.quantize(rd - rb);
            let q2 = self.p.quantize(rb - rc);
            let q3 = self.p.quantize(rc - ra);
            let qs = (q1 * 9 + q2) * 9 + q3;
            if qs != 0 {
                cur[x] = self.regular(qs, ra, rb, rc)?;
                x += 1;
                continue;
            }
            // Run mode (A.7.1): samples equal to Ra, then maybe an interruption sample.
            let n = self.run_length(width + 1 - x, run_index)?;
            for v in &mut cur[x..x + n] {
                *v = ra;
            }
            x += n;
            if x <= width {
                cur[x] = self.interruption(ra, prev[x], *run_index)?;
                *run_index = run_index.saturating_sub(1);
                x += 1;
            }
        }
        Ok(())
    }
}

impl Decoder<'_> {
    /// Decode one line of `nf` components coded sample by sample (interleave mode 2) into
    /// `cur`: pixels of `nf` samples, with one pixel of margin on each side (as `prev`).
    fn pixel_line(
        &mut self,
        prev: &[i32],
        cur: &mut [i32],
        width: usize,
        nf: usize,
        run_index: &mut usize,
    ) -> Result<(), LinesError> {
        let mut x = 1;
        let mut qs = [0i32; 4];
        while x <= width {
            for (c, q) in qs.iter_mut().enumerate().take(nf) {
                let (ra, rb) = (cur[(x - 1) * nf + c], prev[x * nf + c]);
                let (rc, rd) = (prev[(x - 1) * nf + c], prev[(x + 1) * nf + c]);
                *q = (self.p.quantize(rd - rb) * 9 + self.p.quantize(rb - rc)) * 9
                    + self.p.quantize(rc - ra);
            }
            if qs[..nf].iter().any(|&q| q != 0) {
                // Every component in regular mode (a flat one with context 0).
                for c in 0..nf {
                    let (ra, rb, rc) = (
                        cur[(x - 1) * nf + c],
                        prev[x * nf + c],
                        prev[(x - 1) * nf + c],
                    );
                    cur[x * nf + c] = self.regular(qs[c], ra, rb, rc)?;
                }
                x += 1;
                continue;
            }
            // Run mode over whole pixels equal to the one on the left.
            let n = self.run_length(width + 1 - x, run_index)?;
            for i in x..x + n {
                for c in 0..nf {
                    cur[i * nf + c] = cur[(x - 1) * nf + c];
                }
            }
            let start = x - 1;
            x += n;
            if x <= width {
                // The interruption pixel: each component from the one above, context 0.
                for c in 0..nf {
                    let (ra, rb) = (cur[start * nf + c], prev[x * nf + c]);
                    cur[x * nf + c] = self.interruption_from_above(ra, rb, *run_index)?;
                }
                *run_index = run_index.saturating_sub(1);
                x += 1;
            }
        }
        Ok(())
    }
}

impl From<MarkerError> for LinesError {
    fn from(e: MarkerError) -> LinesError {
        Damaged(e.0)
    }
}

/// Decode a line-interleaved JPEG-LS stream: samples interleaved pixel by pixel
/// (`rows × cols × components`), as 16-bit values.
pub fn decode(stream: &[u8], rows: u32, cols: u32) -> Result<(Vec<u16>, usize), LinesError> {
    let mut frame: Option<(u8, usize, usize, usize)> = None;
    let mut preset = [0i32; 5];
    for seg in segments(stream)? {
        let seg = seg?;
        let (marker, data) = (seg.marker, seg.data);
        let seg = seg.body;
        match marker {
            0xF7 => {
                if seg.len() < 6 {
                    return Err(Damaged("frame header"));
                }
                let (y, x) = (u16_at(seg, 1)?, u16_at(seg, 3)?);
                frame = Some((seg[0], y, x, usize::from(seg[5])));
            }
            0xF8 => {
                if seg.first() != Some(&1) {
                    return Err(Unsupported("JPEG-LS with mapping tables is not decoded"));
                }
                for (i, p) in preset.iter_mut().enumerate() {
                    *p = u16_at(seg, 1 + 2 * i)? as i32;
                }
            }
            0xDD => return Err(Unsupported("JPEG-LS with restart intervals is not decoded")),
            0xE8 if seg.starts_with(b"mrfx") => {
                return Err(Unsupported(
                    "JPEG-LS with a colour transform (HP) is not decoded",
                ))
            }
            0xDA => {
                let (precision, height, width, nf) = frame.ok_or(Damaged("no frame header"))?;
                let ns = usize::from(*seg.first().ok_or(Damaged("scan header"))?);
                let tail = seg
                    .get(1 + 2 * ns..4 + 2 * ns)
                    .ok_or(Damaged("scan header"))?;
                let (near, ilv, pt) = (i32::from(tail[0]), tail[1], tail[2] & 0x0F);
                if !(ilv == 1 || ilv == 2) || ns != nf {
                    return Err(Unsupported(
                        "this decoder reads only components coded line by line or sample by sample",
                    ));
                }
                if pt != 0 {
                    return Err(Unsupported("JPEG-LS with a point transform is not decoded"));
                }
                if height != rows as usize || width != cols as usize {
                    return Err(Damaged("image size differs from the file's"));
                }
                if !(2..=16).contains(&precision) || nf == 0 || nf > 4 {
                    return Err(Damaged("frame header"));
                }
                let p = Params::new(precision, near, preset)?;
                let a0 = ((p.range + 32) / 64).max(2);
                let mut d = Decoder {
                    p,
                    bits: Bits::new(data),
                    contexts: vec![
                        Context {
                            a: a0,
                            b: 0,
                            c: 0,
                            n: 1
                        };
                        365
                    ],
                    runs: [0, 1].map(|ri_type| RunContext {
                        a: a0,
                        n: 1,
                        nn: 0,
                        ri_type,
                    }),
                };
                if ilv == 2 {
                    // Pixels of nf samples, one pixel of margin on both sides.
                    let stride = (width + 2) * nf;
                    let mut prev = vec![0i32; stride];
                    let mut cur = vec![0i32; stride];
                    let mut run_index = 0;
                    let mut out = Vec::with_capacity(height * width * nf);
                    for _ in 0..height {
                        for c in 0..nf {
                            prev[(width + 1) * nf + c] = prev[width * nf + c];
                            cur[c] = prev[nf + c];
                        }
                        d.pixel_line(&prev, &mut cur, width, nf, &mut run_index)?;
                        out.extend(cur[nf..(width + 1) * nf].iter().map(|&v| v as u16));
                        std::mem::swap(&mut prev, &mut cur);
                    }
                    return Ok((out, nf));
                }
                // Two lines per component (previous, current), each with one sample of
                // margin on both sides.
                let stride = width + 2;
                let mut prev = vec![0i32; stride * nf];
                let mut cur = vec![0i32; stride * nf];
                let mut run_index = vec![0usize; nf];
                let mut out = Vec::with_capacity(height * width * nf);
                for _ in 0..height {
                    for c in 0..nf {
                        let pl = &mut prev[c * stride..(c + 1) * stride];
                        let cl = &mut cur[c * stride..(c + 1) * stride];
                        pl[width + 1] = pl[width];
                        cl[0] = pl[1];
                        d.line(pl, cl, width, &mut run_index[c])?;
                    }
                    for x in 1..=width {
                        for c in 0..nf {
                            out.push(cur[c * stride + x] as u16);
                        }
                    }
                    // The current line becomes the previous one; its left margin keeps the
                    // first sample of the line above (Rc of the next line's first sample).
                    std::mem::swap(&mut prev, &mut cur);
                }
                return Ok((out, nf));
            }
            _ => {}
        }
    }
    Err(Damaged("no scan"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SOI, a frame header for `nf` components of `rows × cols`, a scan header with
    /// interleave mode `ilv`, then `data`.
    fn stream(rows: u16, cols: u16, nf: u8, ilv: u8, data: &[u8]) -> Vec<u8> {
        let mut s = vec![0xFF, 0xD8, 0xFF, 0xF7];
        s.extend_from_slice(&(8 + 3 * u16::from(nf)).to_be_bytes());
        s.push(8);
        s.extend_from_slice(&rows.to_be_bytes());
        s.extend_from_slice(&cols.to_be_bytes());
        s.push(nf);
        for c in 1..=nf {
            s.extend_from_slice(&[c, 0x11, 0]);
        }
        s.extend_from_slice(&[0xFF, 0xDA]);
        s.extend_from_slice(&(6 + 2 * u16::from(nf)).to_be_bytes());
        s.push(nf);
        for c in 1..=nf {
            s.extend_from_slice(&[c, 0]);
        }
        s.extend_from_slice(&[0, ilv, 0]);
        s.extend_from_slice(data);
        s.extend_from_slice(&[0xFF, 0xD9]);
        s
    }

    #[test]
    fn a_flat_image_is_one_run_per_line() {
        // All zero: each line (of each component, or of whole pixels) in run mode from the
        // first sample; a 1 bit per run segment until the line is full.
        let (rows, cols) = (3u16, 5u16);
        let bits = vec![0xFFu8, 0x7F, 0xFF, 0x7F, 0xFF, 0x7F, 0xFF, 0x7F];
        for ilv in [1, 2] {
            let (samples, nf) = decode(&stream(rows, cols, 3, ilv, &bits), 3, 5).expect("decoded");
            assert_eq!(nf, 3);
            assert_eq!(samples, vec![0u16; 3 * 5 * 3]);
        }
    }

    #[test]
    fn damaged_or_foreign_data_is_an_error_not_a_panic() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for len in 0..300usize {
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    (seed >> 24) as u8
                })
                .collect();
            for ilv in [1, 2] {
                let s = stream(7, 9, 3, ilv, &data);
                let _ = decode(&s, 7, 9);
                for cut in [0, 4, 10, s.len() / 2] {
                    let _ = decode(&s[..cut], 7, 9);
                }
            }
        }
        assert!(decode(b"nothing", 1, 1).is_err());
        assert!(matches!(
            decode(&stream(7, 9, 3, 1, &[]), 8, 9),
            Err(LinesError::Damaged(_))
        ));
    }
}
