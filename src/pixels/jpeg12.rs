//! Sequential Huffman JPEG (ISO 10918-1 / T.81, processes 1, 2 and 4: SOF0 and SOF1), 8 or 12
//! bits, greyscale or three components in one interleaved scan (YCbCr 4:2:2 or 4:2:0, or RGB):
//! DICOM's JPEG Extended (1.2.840.10008.1.2.4.51) as CT, MR and angiography write it at 12
//! bits, which the `jpeg-decoder` crate cannot read.
//!
//! Written for input from anywhere: every length and table index is checked, the image must
//! have the size the DICOM header gives, and the work is bounded by that size.

/// The zig-zag order: coefficient `k` of a block in the stream is `ZIGZAG[k]` in row order.
const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// A Huffman table as T.81 F.2.2.3 decodes with it.
#[derive(Clone)]
struct Huffman {
    /// Largest code of each length (1–16), or -1 when there is none.
    maxcode: [i32; 17],
    /// Index in `values` of the first code of each length, minus that code.
    offset: [i32; 17],
    values: Vec<u8>,
}

impl Huffman {
    fn new(counts: &[u8; 16], values: Vec<u8>) -> Result<Huffman, String> {
        let mut maxcode = [-1i32; 17];
        let mut offset = [0i32; 17];
        let (mut code, mut k) = (0i32, 0i32);
        for len in 1..=16 {
            let n = counts[len - 1] as i32;
            offset[len] = k - code;
            if n > 0 {
                code += n;
                k += n;
                maxcode[len] = code - 1;
            }
            if code > (1 << len) {
                return Err("a Huffman table has more codes than its lengths allow".into());
            }
            code <<= 1;
        }
        if k as usize != values.len() {
            return Err("a Huffman table's counts do not match its values".into());
        }
        Ok(Huffman {
            maxcode,
            offset,
            values,
        })
    }
}

/// Reads the entropy-coded data of a scan, bit by bit, undoing byte stuffing.
struct Bits<'a> {
    data: &'a [u8],
    at: usize,
    acc: u32,
    count: u32,
    /// A marker was met: no more data bits until the restart is handled.
    marker: bool,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Bits<'a> {
        Bits {
            data,
            at: 0,
            acc: 0,
            count: 0,
            marker: false,
        }
    }

    fn bit(&mut self) -> u32 {
        if self.count == 0 {
            let mut byte = 0;
            if !self.marker && self.at < self.data.len() {
                byte = self.data[self.at];
                if byte == 0xFF {
                    match self.data.get(self.at + 1) {
                        Some(0) => self.at += 1,
                        _ => {
                            // A marker: pad with zeros from here (T.81 F.2.2.5 fills with 1s
                            // for the encoder; a decoder reading past it sees garbage anyway).
                            self.marker = true;
                            byte = 0;
                        }
                    }
                }
                if !self.marker {
                    self.at += 1;
                }
            }
            self.acc = byte as u32;
            self.count = 8;
        }
        self.count -= 1;
        (self.acc >> self.count) & 1
    }

    fn bits(&mut self, n: u32) -> u32 {
        (0..n).fold(0, |v, _| (v << 1) | self.bit())
    }

    fn decode(&mut self, table: &Huffman) -> Result<u8, String> {
        let mut code = 0i32;
        for len in 1..=16 {
            code = (code << 1) | self.bit() as i32;
            if code <= table.maxcode[len] {
                let i = (code + table.offset[len]) as usize;
                return table
                    .values
                    .get(i)
                    .copied()
                    .ok_or_else(|| "a Huffman code points outside its table".to_string());
            }
        }
        Err("a Huffman code is not in its table".into())
    }

    /// T.81 F.2.2.1 EXTEND of an `s`-bit value.
    fn receive_extend(&mut self, s: u8) -> i32 {
        if s == 0 {
            return 0;
        }
        let s = u32::from(s.min(16));
        let v = self.bits(s) as i32;
        if v < 1 << (s - 1) {
            v - (1 << s) + 1
        } else {
            v
        }
    }

    /// At a restart marker: drop the bits left in the byte and step over RSTn.
    fn restart(&mut self) -> Result<(), String> {
        self.count = 0;
        self.marker = false;
        match self.data.get(self.at..self.at + 2) {
            Some([0xFF, m]) if (0xD0..=0xD7).contains(m) => {
                self.at += 2;
                Ok(())
            }
            _ => Err("a restart marker is missing".into()),
        }
    }
}

fn u16_at(data: &[u8], at: usize) -> Result<usize, String> {
    data.get(at..at + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]) as usize)
        .ok_or_else(|| "the JPEG stream ends inside a marker segment".to_string())
}

/// One component of a frame, as its header describes it.
#[derive(Clone, Copy)]
struct Component {
    id: u8,
    /// Horizontal and vertical sampling factors.
    h: usize,
    v: usize,
    /// Quantisation table.
    tq: usize,
}

/// Decode one frame of `rows × cols` pixels: greyscale, or three components interleaved in
/// one scan (converted from YCbCr to RGB when `ycbcr`, chroma sampled up by repetition).
/// Returns the samples (row by row, a pixel's components together) and the precision in bits.
pub fn decode(
    data: &[u8],
    rows: usize,
    cols: usize,
    ycbcr: bool,
) -> Result<(Vec<u16>, u8), String> {
    if data.get(0..2) != Some(&[0xFF, 0xD8]) {
        return Err("the frame does not start with a JPEG SOI marker".into());
    }
    let mut quant = [[0u16; 64]; 4];
    let mut dc: [Option<Huffman>; 4] = [None, None, None, None];
    let mut ac: [Option<Huffman>; 4] = [None, None, None, None];
    let mut frame: Option<(u8, Vec<Component>)> = None;
    let mut restart = 0usize;
    let mut at = 2;
    loop {
        // Skip fill bytes before a marker.
        while data.get(at) == Some(&0xFF) && data.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let marker = match data.get(at..at + 2) {
            Some([0xFF, m]) => *m,
            _ => return Err("a JPEG marker was expected".into()),
        };
        at += 2;
        if marker == 0xD9 {
            break;
        }
        let len = u16_at(data, at)?;
        let body = data
            .get(at + 2..at + len)
            .filter(|_| len >= 2)
            .ok_or("a JPEG marker segment runs past the end of the frame")?;
        match marker {
            0xC0 | 0xC1 => {
                if body.len() < 6 {
                    return Err("the JPEG frame header is too short".into());
                }
                let precision = body[0];
                let (y, x, n) = (u16_at(body, 1)?, u16_at(body, 3)?, body[5] as usize);
                if precision != 8 && precision != 12 {
                    return Err(format!("{precision}-bit JPEG samples"));
                }
                if n != 1 && n != 3 {
                    return Err(format!("{n}-component sequential JPEG"));
                }
                if x != cols || (y != rows && y != 0) {
                    return Err(format!(
                        "the JPEG frame is {x}×{y}, the image {cols}×{rows}"
                    ));
                }
                let mut comps = Vec::with_capacity(n);
                for i in 0..n {
                    let c = body
                        .get(6 + 3 * i..9 + 3 * i)
                        .ok_or("the JPEG frame header is too short")?;
                    let (h, v, tq) = ((c[1] >> 4) as usize, (c[1] & 0x0F) as usize, c[2] as usize);
                    if !(1..=2).contains(&h) || !(1..=2).contains(&v) {
                        return Err(format!("JPEG sampling factors {h}×{v}"));
                    }
                    if tq > 3 {
                        return Err("a quantisation table number above 3".into());
                    }
                    // One component alone is one block per unit, whatever its factors.
                    let (h, v) = if n == 1 { (1, 1) } else { (h, v) };
                    comps.push(Component { id: c[0], h, v, tq });
                }
                frame = Some((precision, comps));
            }
            0xC2 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                return Err(format!(
                    "a JPEG process (SOF{}) other than sequential Huffman",
                    marker - 0xC0
                ));
            }
            0xC4 => {
                let mut p = 0;
                while p < body.len() {
                    let class_id = body[p];
                    let counts: [u8; 16] = body
                        .get(p + 1..p + 17)
                        .and_then(|c| c.try_into().ok())
                        .ok_or("a Huffman table is cut short")?;
                    let total: usize = counts.iter().map(|c| *c as usize).sum();
                    let values = body
                        .get(p + 17..p + 17 + total)
                        .ok_or("a Huffman table is cut short")?
                        .to_vec();
                    let id = (class_id & 0x0F) as usize;
                    if id > 3 {
                        return Err("a Huffman table number above 3".into());
                    }
                    let table = Huffman::new(&counts, values)?;
                    if class_id >> 4 == 0 {
                        dc[id] = Some(table);
                    } else {
                        ac[id] = Some(table);
                    }
                    p += 17 + total;
                }
            }
            0xDB => {
                let mut p = 0;
                while p < body.len() {
                    let (wide, id) = (body[p] >> 4 != 0, (body[p] & 0x0F) as usize);
                    if id > 3 {
                        return Err("a quantisation table number above 3".into());
                    }
                    let size = if wide { 128 } else { 64 };
                    let values = body
                        .get(p + 1..p + 1 + size)
                        .ok_or("a quantisation table is cut short")?;
                    for k in 0..64 {
                        quant[id][ZIGZAG[k]] = if wide {
                            u16::from_be_bytes([values[2 * k], values[2 * k + 1]])
                        } else {
                            values[k] as u16
                        };
                    }
                    p += 1 + size;
                }
            }
            0xDD => restart = u16_at(body, 0)?,
            0xDA => {
                let (precision, comps) = frame.ok_or("a JPEG scan before its frame header")?;
                let ns = *body.first().ok_or("a JPEG scan header is too short")? as usize;
                if ns != comps.len() {
                    return Err(
                        "a JPEG scan of fewer components than the frame (only interleaved scans are read here)"
                            .into(),
                    );
                }
                let mut units = Vec::with_capacity(ns);
                for (i, comp) in comps.iter().enumerate() {
                    let spec = body
                        .get(1 + 2 * i..3 + 2 * i)
                        .ok_or("a JPEG scan header is too short")?;
                    if spec[0] != comp.id {
                        return Err("the JPEG scan's components are not the frame's".into());
                    }
                    let tables = spec[1];
                    units.push(Unit {
                        comp: *comp,
                        dc: dc[(tables >> 4) as usize & 3]
                            .clone()
                            .ok_or("a JPEG scan names a missing DC table")?,
                        ac: ac[(tables & 0x0F) as usize & 3]
                            .clone()
                            .ok_or("a JPEG scan names a missing AC table")?,
                        quant: quant[comp.tq],
                    });
                }
                // Sequential and interleaved: the one scan holds the whole image.
                let samples = scan(
                    &data[at + len..],
                    rows,
                    cols,
                    precision,
                    &units,
                    restart,
                    ycbcr,
                )?;
                return Ok((samples, precision));
            }
            // APPn, COM and anything else with a length: not needed.
            _ => {}
        }
        at += len;
    }
    Err("the JPEG frame has no scan".into())
}

/// A component as a scan codes it: its tables.
struct Unit {
    comp: Component,
    dc: Huffman,
    ac: Huffman,
    quant: [u16; 64],
}

/// The coefficients of one block (T.81 F.2.2), dequantised; `pred` is the component's DC
/// prediction.
fn block(bits: &mut Bits, unit: &Unit, pred: &mut i32) -> Result<[i32; 64], String> {
    let mut block = [0i32; 64];
    let t = bits.decode(&unit.dc)?;
    if t > 16 {
        return Err("a DC difference category above 16".into());
    }
    // Wrapping: a hostile stream may pile up differences; the samples are clamped later.
    *pred = pred.wrapping_add(bits.receive_extend(t));
    block[0] = pred.wrapping_mul(unit.quant[0] as i32);
    let mut k = 1;
    while k < 64 {
        let rs = bits.decode(&unit.ac)?;
        let (r, s) = ((rs >> 4) as usize, rs & 0x0F);
        if s == 0 {
            if r == 15 {
                k += 16;
                continue;
            }
            break;
        }
        k += r;
        if k > 63 {
            return Err("a JPEG block has more than 64 coefficients".into());
        }
        block[ZIGZAG[k]] = bits
            .receive_extend(s)
            .wrapping_mul(unit.quant[ZIGZAG[k]] as i32);
        k += 1;
    }
    Ok(block)
}

/// Decode the entropy-coded data of the one scan into samples (a pixel's components
/// together).
fn scan(
    data: &[u8],
    rows: usize,
    cols: usize,
    precision: u8,
    units: &[Unit],
    restart: usize,
    ycbcr: bool,
) -> Result<Vec<u16>, String> {
    let hmax = units.iter().map(|u| u.comp.h).max().unwrap_or(1);
    let vmax = units.iter().map(|u| u.comp.v).max().unwrap_or(1);
    let (mcux, mcuy) = (cols.div_ceil(8 * hmax), rows.div_ceil(8 * vmax));
    // Each component's samples at its own resolution, whole blocks.
    let mut planes: Vec<(usize, Vec<u16>)> = units
        .iter()
        .map(|u| {
            let width = mcux * u.comp.h * 8;
            (width, vec![0u16; width * mcuy * u.comp.v * 8])
        })
        .collect();
    let mut bits = Bits::new(data);
    let idct = Idct::new();
    let max = (1i32 << precision) - 1;
    let shift = 1i32 << (precision - 1);
    let mut preds = vec![0i32; units.len()];
    for n in 0..mcux * mcuy {
        if restart > 0 && n > 0 && n % restart == 0 {
            bits.restart()?;
            preds.fill(0);
        }
        let (mx, my) = (n % mcux, n / mcux);
        for (c, unit) in units.iter().enumerate() {
            for by in 0..unit.comp.v {
                for bx in 0..unit.comp.h {
                    let coefficients = block(&mut bits, unit, &mut preds[c])?;
                    let pixels = idct.apply(&coefficients);
                    let (width, plane) = &mut planes[c];
                    let (x0, y0) = ((mx * unit.comp.h + bx) * 8, (my * unit.comp.v + by) * 8);
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
                let u = &units[c].comp;
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
