//! Blanking regions of a sequential Huffman JPEG (DICOM's JPEG Baseline and Extended) in the
//! compressed domain, as PixelMed's DicomCleaner does: every block (8×8 samples of one
//! component) of the minimum coded units (MCUs) a region touches becomes one flat colour, the
//! image's black, and every other block keeps its quantised coefficients exactly, so the rest
//! of the image decodes to the very same samples: nothing is compressed a second time.
//!
//! The entropy-coded data is coded again (the DC coefficients are coded as differences, so the
//! bits after a blanked block move) with the stream's own Huffman tables. When a table lacks a
//! code the blanked blocks need, each scan gets optimal tables of its own (T.81 K.2) instead.
//! Everything else in the stream (tables, markers, application segments) is copied as it is.
//!
//! With subsampled colour, decoders smooth chroma across neighbouring samples; the blanked area
//! then reaches one chroma sample beyond the region, so no colour from outside bleeds into it.

use super::jpeg_huffman::{Bits, Frame, Huffman, ScanComponent, Tables};
use super::jpeg_markers::segments;
use crate::pixels::Region;

/// What black is, in the components of the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Black {
    /// One component: this sample value.
    Grey(u32),
    /// Three components, YCbCr (black: Y 0, Cb and Cr neutral) or RGB (all 0).
    Colour {
        /// The components are YCbCr.
        ycbcr: bool,
    },
}

/// A stream with its regions blanked.
#[derive(Debug)]
pub struct Blanked {
    /// The new JPEG stream, SOI to EOI.
    pub stream: Vec<u8>,
    /// Width and height of an MCU in pixels: regions were widened to whole units of this.
    pub unit: (usize, usize),
    /// The Huffman tables were replaced by optimal ones (a table lacked a needed code).
    pub new_tables: bool,
}

/// Whether the three components of `stream` are YCbCr, as decoders tell it (the same rules as
/// libjpeg and the `jpeg-decoder` crate: component identifiers, then a JFIF segment, then
/// Adobe's colour transform, else YCbCr).
pub fn is_ycbcr(stream: &[u8]) -> Result<bool, String> {
    let (mut jfif, mut adobe, mut ids) = (false, None, None);
    for seg in segments(stream)? {
        let seg = seg?;
        match seg.marker {
            0xE0 if seg.body.starts_with(b"JFIF\0") => jfif = true,
            0xEE if seg.body.starts_with(b"Adobe") => adobe = seg.body.get(11).copied(),
            0xC0 | 0xC1 if seg.body.get(5) == Some(&3) => {
                ids = seg.body.get(6..15).map(|c| (c[0], c[3], c[6]));
            }
            0xDA => break,
            _ => {}
        }
    }
    match ids {
        Some((1, 2, 3)) => return Ok(true),
        Some((b'R', b'G', b'B')) => return Ok(false),
        Some((1, 34, 35) | (b'r', b'g', b'b')) => {
            return Err("JPEG colour with big-gamut YCC or RGB".into())
        }
        Some(_) => {}
        None => return Err("not a three-component sequential JPEG".into()),
    }
    match (jfif, adobe) {
        (true, _) | (false, Some(1) | None) => Ok(true),
        (false, Some(0)) => Ok(false),
        (false, Some(_)) => Err("JPEG colour with Adobe's YCCK transform".into()),
    }
}

/// Blank `regions` of a `rows × cols` JPEG stream with `black`.
pub fn blank(
    stream: &[u8],
    regions: &[Region],
    rows: usize,
    cols: usize,
    black: Black,
) -> Result<Blanked, String> {
    match code(stream, regions, rows, cols, black, false) {
        Err(Coding::MissingCode) => match code(stream, regions, rows, cols, black, true) {
            Ok(b) => Ok(b),
            Err(Coding::MissingCode) => Err("a Huffman code is missing from new tables".into()),
            Err(Coding::Bad(e)) => Err(e),
        },
        Err(Coding::Bad(e)) => Err(e),
        Ok(b) => Ok(b),
    }
}

/// Why coding a stream again stopped.
enum Coding {
    /// A symbol has no code in the stream's table.
    MissingCode,
    /// The stream cannot be blanked this way.
    Bad(String),
}

impl From<String> for Coding {
    fn from(e: String) -> Coding {
        Coding::Bad(e)
    }
}

impl From<&str> for Coding {
    fn from(e: &str) -> Coding {
        Coding::Bad(e.to_string())
    }
}

impl From<super::jpeg_markers::MarkerError> for Coding {
    fn from(e: super::jpeg_markers::MarkerError) -> Coding {
        Coding::Bad(e.0.to_string())
    }
}

fn code(
    stream: &[u8],
    regions: &[Region],
    rows: usize,
    cols: usize,
    black: Black,
    new_tables: bool,
) -> Result<Blanked, Coding> {
    let mut out = Vec::with_capacity(stream.len() + 1024);
    out.extend_from_slice(&[0xFF, 0xD8]);
    let mut tables = Tables::default();
    let mut unit = (8, 8);
    let mut scans = 0;
    for seg in segments(stream)? {
        let seg = seg?;
        tables.read(&seg)?;
        match seg.marker {
            // Each scan is preceded by its own new tables.
            0xC4 if new_tables => {}
            0xC0 | 0xC1 => {
                let frame = tables.frame.as_ref().ok_or("no frame header")?;
                check_frame(frame, rows, cols, black)?;
                let (hmax, vmax) = frame.max_sampling();
                unit = (8 * hmax, 8 * vmax);
                out.extend_from_slice(seg.bytes);
            }
            0xDA => {
                let frame = tables
                    .frame
                    .as_ref()
                    .ok_or("a JPEG scan before its frame header")?;
                let scan = tables.scan(seg.body)?;
                if seg.body.get(1 + 2 * scan.len()..4 + 2 * scan.len()) != Some(&[0, 63, 0]) {
                    return Err("a JPEG scan that is not sequential".into());
                }
                let plan = Plan::new(frame, &scan, &tables, regions, black)?;
                let mut codes: Vec<Codes> = Vec::with_capacity(scan.len());
                if new_tables {
                    let mut count = Count::default();
                    transcode(seg.data, &plan, &tables, &mut count)?;
                    let dht = count.tables(&scan)?;
                    out.extend_from_slice(&dht.segment);
                    for (i, _) in scan.iter().enumerate() {
                        codes.push(Codes {
                            dc: dht.dc[i].codes(),
                            ac: dht.ac[i].codes(),
                        });
                    }
                } else {
                    for sc in &scan {
                        let (Some(dc), Some(ac)) = (&tables.dc[sc.dc], &tables.ac[sc.ac]) else {
                            return Err("a JPEG scan names a missing table".into());
                        };
                        codes.push(Codes {
                            dc: dc.codes(),
                            ac: ac.codes(),
                        });
                    }
                }
                out.extend_from_slice(seg.bytes);
                let mut writer = Writer {
                    out: &mut out,
                    codes: &codes,
                    acc: 0,
                    n: 0,
                };
                transcode(seg.data, &plan, &tables, &mut writer)?;
                writer.flush();
                scans += 1;
            }
            _ => out.extend_from_slice(seg.bytes),
        }
    }
    if scans == 0 {
        return Err("the JPEG frame has no scan".into());
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    Ok(Blanked {
        stream: out,
        unit,
        new_tables,
    })
}

fn check_frame(frame: &Frame, rows: usize, cols: usize, black: Black) -> Result<(), String> {
    if frame.cols != cols || frame.rows != rows {
        return Err(format!(
            "the JPEG frame is {}×{}, the image {cols}×{rows}",
            frame.cols, frame.rows
        ));
    }
    match (frame.comps.len(), black) {
        (1, Black::Grey(_)) | (3, Black::Colour { .. }) => {}
        (n, _) => {
            return Err(format!(
                "{n} JPEG components for this photometric interpretation"
            ))
        }
    }
    let (hmax, vmax) = frame.max_sampling();
    if frame
        .comps
        .iter()
        .any(|c| hmax % c.h != 0 || vmax % c.v != 0)
    {
        return Err("JPEG sampling factors that do not divide each other".into());
    }
    Ok(())
}

/// A scan component as coded: where its blocks are and what a blanked block holds.
struct Part {
    /// Blocks of this component in one MCU (1×1 in a scan of one component).
    h: usize,
    v: usize,
    /// Pixels covered by one block of this component.
    block_w: usize,
    block_h: usize,
    /// Blocks in a row of this component (scans of one component).
    blocks_per_row: usize,
    /// Huffman table numbers.
    dc: usize,
    ac: usize,
    /// The quantised DC coefficient of a black block.
    black_dc: i32,
}

/// How a scan is walked and which of its blocks are blanked.
struct Plan {
    parts: Vec<Part>,
    /// MCUs per row and in the scan.
    mcus_per_row: usize,
    mcus: usize,
    restart: usize,
    /// The widened regions, in pixels: [x0, x1) × [y0, y1), each edge on the MCU grid.
    areas: Vec<[usize; 4]>,
}

impl Plan {
    fn new(
        frame: &Frame,
        scan: &[ScanComponent],
        tables: &Tables,
        regions: &[Region],
        black: Black,
    ) -> Result<Plan, String> {
        let (hmax, vmax) = frame.max_sampling();
        let (mcu_w, mcu_h) = (8 * hmax, 8 * vmax);
        let mid = 1u32 << (frame.precision - 1);
        let interleaved = scan.len() > 1;
        let mut parts = Vec::with_capacity(scan.len());
        for sc in scan {
            let comp = frame.comps[sc.index];
            let target = match black {
                Black::Grey(v) => v.min((1 << frame.precision) - 1),
                Black::Colour { ycbcr: true } if sc.index > 0 => mid,
                Black::Colour { .. } => 0,
            };
            let (block_w, block_h) = (8 * hmax / comp.h, 8 * vmax / comp.v);
            parts.push(Part {
                h: if interleaved { comp.h } else { 1 },
                v: if interleaved { comp.v } else { 1 },
                block_w,
                block_h,
                blocks_per_row: (frame.cols * comp.h).div_ceil(hmax).div_ceil(8),
                dc: sc.dc,
                ac: sc.ac,
                black_dc: black_dc(target, frame.precision, tables.quant[comp.tq][0]),
            });
        }
        let (mcus_per_row, mcus) = if interleaved {
            let per_row = frame.cols.div_ceil(mcu_w);
            (per_row, per_row * frame.rows.div_ceil(mcu_h))
        } else {
            let comp = frame.comps[scan[0].index];
            let per_row = parts[0].blocks_per_row;
            (
                per_row,
                per_row * (frame.rows * comp.v).div_ceil(vmax).div_ceil(8),
            )
        };
        // One chroma sample more around the region when colour is subsampled.
        let hmin = frame.comps.iter().map(|c| c.h).min().unwrap_or(1);
        let vmin = frame.comps.iter().map(|c| c.v).min().unwrap_or(1);
        let (margin_x, margin_y) = (
            if hmin < hmax { hmax / hmin } else { 0 },
            if vmin < vmax { vmax / vmin } else { 0 },
        );
        let mut areas = Vec::with_capacity(regions.len());
        for r in regions {
            let x0 = (r.x as usize).min(frame.cols);
            let y0 = (r.y as usize).min(frame.rows);
            let x1 = (r.x as usize).saturating_add(r.w as usize).min(frame.cols);
            let y1 = (r.y as usize).saturating_add(r.h as usize).min(frame.rows);
            if x0 >= x1 || y0 >= y1 {
                continue;
            }
            let down = |v: usize, m: usize, unit: usize| v.saturating_sub(m) / unit * unit;
            let up = |v: usize, m: usize, unit: usize| (v + m).div_ceil(unit) * unit;
            areas.push([
                down(x0, margin_x, mcu_w),
                up(x1, margin_x, mcu_w),
                down(y0, margin_y, mcu_h),
                up(y1, margin_y, mcu_h),
            ]);
        }
        Ok(Plan {
            parts,
            mcus_per_row,
            mcus,
            restart: tables.restart,
            areas,
        })
    }

    /// Whether block (`bx`, `by`) of part `p` lies in a widened region (blocks never straddle
    /// one: both are on the MCU grid).
    fn blanked(&self, p: &Part, bx: usize, by: usize) -> bool {
        let (x, y) = (bx * p.block_w, by * p.block_h);
        self.areas
            .iter()
            .any(|a| x >= a[0] && x + p.block_w <= a[1] && y >= a[2] && y + p.block_h <= a[3])
    }
}

/// The quantised DC coefficient whose flat block decodes to `target` (T.81 A.3.3: a block with
/// only DC is `DC · Q / 8` around the level shift), rounded away from the middle so that the
/// decoded samples clamp to the target.
fn black_dc(target: u32, precision: u8, q: u16) -> i32 {
    let f = 8 * (i64::from(target) - (1i64 << (precision - 1)));
    let q = i64::from(q.max(1));
    let dc = if f <= 0 {
        f.div_euclid(q)
    } else {
        -(-f).div_euclid(q)
    };
    dc as i32
}

/// Where coded symbols go: counted, or written.
trait Sink {
    /// Symbol `symbol` of table class `ac` of part `part`, then `len` bits of `extra`.
    fn symbol(
        &mut self,
        part: usize,
        ac: bool,
        symbol: u8,
        extra: u32,
        len: u8,
    ) -> Result<(), Coding>;
    /// Restart marker `m` (0–7).
    fn restart(&mut self, m: u8);
}

/// Decode every block of a scan, blank those in the regions, and hand the symbols of every
/// block, as they are now, to `sink`.
fn transcode(data: &[u8], plan: &Plan, tables: &Tables, sink: &mut dyn Sink) -> Result<(), Coding> {
    let mut bits = Bits::new(data);
    let mut read_preds = vec![0i32; plan.parts.len()];
    let mut write_preds = vec![0i32; plan.parts.len()];
    let mut block = [0i32; 64];
    for n in 0..plan.mcus {
        if plan.restart > 0 && n > 0 && n % plan.restart == 0 {
            bits.restart()?;
            read_preds.fill(0);
            write_preds.fill(0);
            sink.restart(((n / plan.restart - 1) % 8) as u8);
        }
        let (mx, my) = (n % plan.mcus_per_row, n / plan.mcus_per_row);
        for (i, p) in plan.parts.iter().enumerate() {
            let (Some(dc), Some(ac)) = (&tables.dc[p.dc], &tables.ac[p.ac]) else {
                return Err("a JPEG scan names a missing table".into());
            };
            for by in 0..p.v {
                for bx in 0..p.h {
                    bits.block(dc, ac, &mut read_preds[i], &mut block)?;
                    if plan.blanked(p, mx * p.h + bx, my * p.v + by) {
                        block = [0; 64];
                        block[0] = p.black_dc;
                    }
                    encode_block(sink, i, &block, &mut write_preds[i])?;
                }
            }
        }
    }
    Ok(())
}

/// Category and extra bits of a coefficient (T.81 F.1.2.1.1).
fn magnitude(v: i32) -> (u8, u32) {
    if v == 0 {
        return (0, 0);
    }
    let s = 32 - v.unsigned_abs().leading_zeros();
    let extra = if v < 0 {
        (v - 1) as u32 & ((1u32 << s) - 1)
    } else {
        v as u32
    };
    (s as u8, extra)
}

/// The symbols of one block (T.81 F.1.2): DC difference, then runs of zeros and values.
fn encode_block(
    sink: &mut dyn Sink,
    part: usize,
    block: &[i32; 64],
    pred: &mut i32,
) -> Result<(), Coding> {
    let diff = block[0].wrapping_sub(*pred);
    *pred = block[0];
    let (s, extra) = magnitude(diff);
    if s > 15 {
        return Err("a DC difference too large for sequential JPEG".into());
    }
    sink.symbol(part, false, s, extra, s)?;
    let mut run = 0u8;
    for &v in &block[1..] {
        if v == 0 {
            run += 1;
            continue;
        }
        while run > 15 {
            sink.symbol(part, true, 0xF0, 0, 0)?;
            run -= 16;
        }
        let (s, extra) = magnitude(v);
        if s > 15 {
            return Err("an AC coefficient too large for sequential JPEG".into());
        }
        sink.symbol(part, true, (run << 4) | s, extra, s)?;
        run = 0;
    }
    if run > 0 {
        sink.symbol(part, true, 0x00, 0, 0)?;
    }
    Ok(())
}

/// The codes of one scan component's tables.
struct Codes {
    dc: [(u16, u8); 256],
    ac: [(u16, u8); 256],
}

/// Writes symbols as entropy-coded data, stuffing every 0xFF byte.
struct Writer<'a> {
    out: &'a mut Vec<u8>,
    codes: &'a [Codes],
    acc: u64,
    n: u32,
}

impl Writer<'_> {
    fn put(&mut self, bits: u32, len: u8) {
        if len == 0 {
            return;
        }
        // At most 7 bits wait in `acc`, and codes and extra bits are at most 16 long.
        let len = u32::from(len.min(16));
        self.acc = (self.acc << len) | u64::from(bits & ((1u32 << len) - 1));
        self.n += len;
        while self.n >= 8 {
            let byte = (self.acc >> (self.n - 8)) as u8;
            self.out.push(byte);
            if byte == 0xFF {
                self.out.push(0);
            }
            self.n -= 8;
        }
        self.acc &= (1u64 << self.n) - 1;
    }

    /// Pad the last byte with 1 bits (T.81 F.1.2.3).
    fn flush(&mut self) {
        if self.n > 0 {
            let pad = 8 - self.n;
            self.put((1 << pad) - 1, pad as u8);
        }
    }
}

impl Sink for Writer<'_> {
    fn symbol(
        &mut self,
        part: usize,
        ac: bool,
        symbol: u8,
        extra: u32,
        len: u8,
    ) -> Result<(), Coding> {
        let codes = self
            .codes
            .get(part)
            .ok_or("no codes for a scan component")?;
        let (code, size) = if ac { codes.ac } else { codes.dc }[symbol as usize];
        if size == 0 {
            return Err(Coding::MissingCode);
        }
        self.put(u32::from(code), size);
        self.put(extra, len);
        Ok(())
    }

    fn restart(&mut self, m: u8) {
        self.flush();
        self.out.extend_from_slice(&[0xFF, 0xD0 + m]);
    }
}

/// Counts how often each symbol of each scan component's tables is used.
#[derive(Default)]
struct Count {
    /// Per scan component: DC and AC symbol counts.
    counts: Vec<([u64; 256], [u64; 256])>,
}

impl Sink for Count {
    fn symbol(&mut self, part: usize, ac: bool, symbol: u8, _: u32, _: u8) -> Result<(), Coding> {
        if self.counts.len() <= part {
            self.counts.resize(part + 1, ([0; 256], [0; 256]));
        }
        let (dc_counts, ac_counts) = &mut self.counts[part];
        let counts = if ac { ac_counts } else { dc_counts };
        counts[symbol as usize] += 1;
        Ok(())
    }

    fn restart(&mut self, _: u8) {}
}

/// Which table number of a scan component (its DC or its AC table).
type TableOf = fn(&ScanComponent) -> usize;

/// New tables for a scan and the DHT segment that defines them.
struct NewTables {
    segment: Vec<u8>,
    /// Per scan component.
    dc: Vec<Huffman>,
    ac: Vec<Huffman>,
}

impl Count {
    /// Optimal tables for the scan; components that share a table number share the table
    /// (their counts are added up).
    fn tables(&self, scan: &[ScanComponent]) -> Result<NewTables, String> {
        let mut body = Vec::new();
        let (mut dc, mut ac) = (Vec::new(), Vec::new());
        let classes: [(bool, TableOf); 2] = [(false, |s| s.dc), (true, |s| s.ac)];
        for (ac_class, number_of) in classes {
            let mut made: Vec<(usize, Huffman)> = Vec::new();
            for sc in scan {
                let id = number_of(sc);
                if made.iter().any(|(i, _)| *i == id) {
                    continue;
                }
                let mut freq = [0u64; 256];
                for (i, other) in scan.iter().enumerate() {
                    if number_of(other) == id {
                        if let Some((d, a)) = self.counts.get(i) {
                            let c = if ac_class { a } else { d };
                            for (f, n) in freq.iter_mut().zip(c) {
                                *f += n;
                            }
                        }
                    }
                }
                let table = optimal(&freq)?;
                body.push((u8::from(ac_class) << 4) | id as u8);
                body.extend_from_slice(&table.counts);
                body.extend_from_slice(&table.values);
                made.push((id, table));
            }
            for sc in scan {
                let id = number_of(sc);
                let table = made
                    .iter()
                    .find(|(i, _)| *i == id)
                    .map(|(_, t)| t.clone())
                    .ok_or("a table was not made")?;
                if ac_class {
                    ac.push(table);
                } else {
                    dc.push(table);
                }
            }
        }
        let len = u16::try_from(body.len() + 2).map_err(|_| "Huffman tables too large")?;
        let mut segment = vec![0xFF, 0xC4];
        segment.extend_from_slice(&len.to_be_bytes());
        segment.extend_from_slice(&body);
        Ok(NewTables { segment, dc, ac })
    }
}

/// An optimal Huffman table for the symbol counts `freq`, no code longer than 16 bits and none
/// of all 1 bits (T.81 K.2, as libjpeg makes them).
fn optimal(freq: &[u64; 256]) -> Result<Huffman, String> {
    // One more symbol, counted once, keeps any real code from being all 1 bits.
    let mut f = [0u64; 257];
    f[..256].copy_from_slice(freq);
    f[256] = 1;
    let mut size = [0usize; 257];
    let mut next: [Option<usize>; 257] = [None; 257];
    loop {
        // The two least frequent (the later symbol on ties), merged.
        let mut c1: Option<usize> = None;
        for i in 0..257 {
            if f[i] > 0 && c1.is_none_or(|c| f[i] <= f[c]) {
                c1 = Some(i);
            }
        }
        let Some(mut a) = c1 else { break };
        let mut c2: Option<usize> = None;
        for i in 0..257 {
            if f[i] > 0 && i != a && c2.is_none_or(|c| f[i] <= f[c]) {
                c2 = Some(i);
            }
        }
        let Some(mut b) = c2 else { break };
        f[a] += f[b];
        f[b] = 0;
        size[a] += 1;
        while let Some(n) = next[a] {
            a = n;
            size[a] += 1;
        }
        next[a] = Some(b);
        size[b] += 1;
        while let Some(n) = next[b] {
            b = n;
            size[b] += 1;
        }
    }
    let mut bits = [0usize; 258];
    for s in size {
        if s > 0 {
            bits[s.min(257)] += 1;
        }
    }
    // No code longer than 16 bits (K.2 Adjust_BITS).
    let mut i = 257;
    while i > 16 {
        while bits[i] > 0 {
            let mut j = i - 2;
            while j > 0 && bits[j] == 0 {
                j -= 1;
            }
            if j == 0 {
                return Err("a Huffman table could not be limited to 16 bits".into());
            }
            bits[i] -= 2;
            bits[i - 1] += 1;
            bits[j + 1] += 2;
            bits[j] -= 1;
        }
        i -= 1;
    }
    // Take away the extra symbol's code (the longest).
    while i > 0 && bits[i] == 0 {
        i -= 1;
    }
    if i > 0 {
        bits[i] -= 1;
    }
    let mut counts = [0u8; 16];
    for (c, b) in counts.iter_mut().zip(&bits[1..=16]) {
        *c = u8::try_from(*b).map_err(|_| "a Huffman table too large")?;
    }
    let mut values = Vec::new();
    for len in 1..=257 {
        for (symbol, s) in size[..256].iter().enumerate() {
            if *s == len {
                values.push(symbol as u8);
            }
        }
    }
    Huffman::new(&counts, values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

    /// A picture with detail everywhere: a gradient crossed by sharp one-pixel strokes.
    fn picture(w: usize, h: usize, channels: usize) -> Vec<u8> {
        let mut p = Vec::with_capacity(w * h * channels);
        for y in 0..h {
            for x in 0..w {
                for c in 0..channels {
                    let stroke = (x * 7 + y * 3 + c * 11) % 13 == 0;
                    p.push(if stroke {
                        250
                    } else {
                        (40 + x * 2 + y + c * 30) as u8
                    });
                }
            }
        }
        p
    }

    fn encode(
        w: usize,
        h: usize,
        colour: bool,
        sampling: SamplingFactor,
        restart: u16,
        optimized: bool,
    ) -> Vec<u8> {
        let channels = if colour { 3 } else { 1 };
        let mut out = Vec::new();
        let mut e = Encoder::new(&mut out, 85);
        e.set_sampling_factor(sampling);
        e.set_restart_interval(restart);
        e.set_optimized_huffman_tables(optimized);
        let kind = if colour {
            ColorType::Rgb
        } else {
            ColorType::Luma
        };
        e.encode(&picture(w, h, channels), w as u16, h as u16, kind)
            .expect("encode");
        out
    }

    fn decode(stream: &[u8]) -> Vec<u8> {
        jpeg_decoder::Decoder::new(stream).decode().expect("decode")
    }

    /// Blank `region` and check: inside it every sample is `black`; outside the MCUs it
    /// touched (plus `ring` pixels where chroma is smoothed) the image is exactly as before.
    fn check(
        stream: &[u8],
        w: usize,
        h: usize,
        region: Region,
        black: Black,
        ring: usize,
    ) -> Blanked {
        let channels = if matches!(black, Black::Grey(_)) {
            1
        } else {
            3
        };
        let before = decode(stream);
        let blanked = blank(stream, &[region], h, w, black).expect("blanked");
        let after = decode(&blanked.stream);
        assert_eq!(before.len(), after.len());
        let (uw, uh) = blanked.unit;
        let expected = match black {
            Black::Grey(v) => v as u8,
            Black::Colour { .. } => 0,
        };
        let (rx0, ry0) = (region.x as usize, region.y as usize);
        let (rx1, ry1) = (rx0 + region.w as usize, ry0 + region.h as usize);
        // The blanked area: the region widened (one chroma sample when subsampled) to MCUs.
        let margin = if ring > 0 { 2 } else { 0 };
        let ax0 = rx0.saturating_sub(margin) / uw * uw;
        let ay0 = ry0.saturating_sub(margin) / uh * uh;
        let ax1 = (rx1 + margin).div_ceil(uw) * uw;
        let ay1 = (ry1 + margin).div_ceil(uh) * uh;
        let mut changed_outside = 0;
        for y in 0..h {
            for x in 0..w {
                let i = (y * w + x) * channels;
                if (rx0..rx1).contains(&x) && (ry0..ry1).contains(&y) {
                    assert!(
                        after[i..i + channels].iter().all(|v| *v == expected),
                        "({x},{y}) is {:?}",
                        &after[i..i + channels]
                    );
                }
                let near = x + ring >= ax0 && x < ax1 + ring && y + ring >= ay0 && y < ay1 + ring;
                if !near && after[i..i + channels] != before[i..i + channels] {
                    changed_outside += 1;
                }
            }
        }
        assert_eq!(
            changed_outside, 0,
            "pixels changed outside the blanked blocks"
        );
        blanked
    }

    const REGION: Region = Region {
        x: 13,
        y: 5,
        w: 30,
        h: 9,
    };

    #[test]
    fn greyscale_blocks_are_blanked_and_the_rest_is_untouched() {
        let stream = encode(64, 48, false, SamplingFactor::F_1_1, 0, false);
        let b = check(&stream, 64, 48, REGION, Black::Grey(0), 0);
        assert_eq!(b.unit, (8, 8));
        assert!(!b.new_tables);
        // The stream's own segments are kept: same header bytes up to the scan.
        let header =
            |s: &[u8]| s[..s.windows(2).position(|w| w == [0xFF, 0xDA]).expect("SOS")].to_vec();
        assert_eq!(header(&stream), header(&b.stream));
        // MONOCHROME1: black is the highest value.
        check(&stream, 64, 48, REGION, Black::Grey(255), 0);
    }

    #[test]
    fn colour_in_every_common_sampling_with_restart_markers() {
        for (sampling, ring, unit) in [
            (SamplingFactor::R_4_4_4, 0, (8, 8)),
            (SamplingFactor::R_4_2_2, 2, (16, 8)),
            (SamplingFactor::R_4_2_0, 2, (16, 16)),
        ] {
            for restart in [0, 1, 3] {
                let stream = encode(72, 40, true, sampling, restart, false);
                let ycbcr = is_ycbcr(&stream).expect("colour");
                assert!(ycbcr);
                let b = check(&stream, 72, 40, REGION, Black::Colour { ycbcr }, ring);
                assert_eq!(b.unit, unit);
                if restart > 0 {
                    let count = |s: &[u8]| {
                        s.windows(2)
                            .filter(|w| w[0] == 0xFF && (0xD0..=0xD7).contains(&w[1]))
                            .count()
                    };
                    assert_eq!(count(&stream), count(&b.stream));
                }
            }
        }
    }

    #[test]
    fn optimised_tables_without_the_needed_codes_are_made_again() {
        // Optimised tables hold only the codes the image uses: a flat bright picture has no
        // code for the large DC step down to black.
        let (w, h) = (32usize, 16usize);
        let mut out = Vec::new();
        let mut e = Encoder::new(&mut out, 85);
        e.set_optimized_huffman_tables(true);
        e.encode(&vec![200u8; w * h], w as u16, h as u16, ColorType::Luma)
            .expect("encode");
        let region = Region {
            x: 8,
            y: 0,
            w: 8,
            h: 8,
        };
        let b = check(&out, w, h, region, Black::Grey(0), 0);
        assert!(b.new_tables);
    }

    /// The same image coded as one scan per component (T.81 A.2.2), which some encoders
    /// write: the blocks of an interleaved stream, taken apart and coded again.
    fn one_scan_per_component(stream: &[u8]) -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8];
        let mut tables = Tables::default();
        for seg in segments(stream).expect("SOI") {
            let seg = seg.expect("segment");
            tables.read(&seg).expect("header");
            if seg.marker != 0xDA {
                out.extend_from_slice(seg.bytes);
                continue;
            }
            let frame = tables.frame.clone().expect("frame");
            let scan = tables.scan(seg.body).expect("scan");
            let (hmax, vmax) = frame.max_sampling();
            let (mcux, mcuy) = (frame.cols.div_ceil(8 * hmax), frame.rows.div_ceil(8 * vmax));
            // Every component's blocks, on a grid of whole MCUs.
            let mut grids: Vec<Vec<[i32; 64]>> = vec![Vec::new(); scan.len()];
            let mut bits = Bits::new(seg.data);
            let mut preds = vec![0; scan.len()];
            let mut cells: Vec<Vec<(usize, usize)>> = vec![Vec::new(); scan.len()];
            for n in 0..mcux * mcuy {
                for (i, sc) in scan.iter().enumerate() {
                    let c = frame.comps[sc.index];
                    for by in 0..c.v {
                        for bx in 0..c.h {
                            let mut b = [0; 64];
                            let (dc, ac) = (tables.dc[sc.dc].as_ref(), tables.ac[sc.ac].as_ref());
                            bits.block(dc.expect("dc"), ac.expect("ac"), &mut preds[i], &mut b)
                                .expect("block");
                            grids[i].push(b);
                            cells[i].push(((n % mcux) * c.h + bx, (n / mcux) * c.v + by));
                        }
                    }
                }
            }
            for (i, sc) in scan.iter().enumerate() {
                let c = frame.comps[sc.index];
                let wide = (frame.cols * c.h).div_ceil(hmax).div_ceil(8);
                let high = (frame.rows * c.v).div_ceil(vmax).div_ceil(8);
                let spec = seg.body[2 + 2 * i];
                out.extend_from_slice(&[0xFF, 0xDA, 0, 8, 1, c.id, spec, 0, 63, 0]);
                let codes = [Codes {
                    dc: tables.dc[sc.dc].as_ref().expect("dc").codes(),
                    ac: tables.ac[sc.ac].as_ref().expect("ac").codes(),
                }];
                let mut w = Writer {
                    out: &mut out,
                    codes: &codes,
                    acc: 0,
                    n: 0,
                };
                let mut pred = 0;
                for by in 0..high {
                    for bx in 0..wide {
                        let k = cells[i].iter().position(|p| *p == (bx, by)).expect("block");
                        if encode_block(&mut w, 0, &grids[i][k], &mut pred).is_err() {
                            panic!("re-coded");
                        }
                    }
                }
                w.flush();
            }
        }
        out.extend_from_slice(&[0xFF, 0xD9]);
        out
    }

    #[test]
    fn one_scan_per_component_is_blanked_too() {
        for sampling in [SamplingFactor::R_4_4_4, SamplingFactor::R_4_2_0] {
            let interleaved = encode(40, 24, true, sampling, 0, false);
            let stream = one_scan_per_component(&interleaved);
            assert_eq!(stream.windows(2).filter(|w| *w == [0xFF, 0xDA]).count(), 3);
            // Decoders read it as the same image.
            assert_eq!(decode(&stream), decode(&interleaved));
            let ring = if sampling == SamplingFactor::R_4_4_4 {
                0
            } else {
                2
            };
            let region = Region {
                x: 9,
                y: 3,
                w: 12,
                h: 5,
            };
            check(&stream, 40, 24, region, Black::Colour { ycbcr: true }, ring);
        }
    }

    #[test]
    fn optimal_tables_are_at_most_16_bits_and_complete() {
        // Fibonacci counts give the deepest tree: it must be cut down to 16 bits.
        let mut freq = [0u64; 256];
        let (mut a, mut b) = (1u64, 1u64);
        for f in freq.iter_mut().take(40) {
            *f = a;
            (a, b) = (b, a + b);
        }
        let table = optimal(&freq).expect("table");
        assert_eq!(table.values.len(), 40);
        let codes = table.codes();
        assert!(freq
            .iter()
            .enumerate()
            .all(|(s, f)| *f == 0 || (1..=16).contains(&codes[s].1)));
        // Kraft: below 1, the all-ones code left unused.
        let kraft: f64 = (0..40).map(|s| 0.5f64.powi(i32::from(codes[s].1))).sum();
        assert!(kraft < 1.0, "{kraft}");
        // One symbol alone gets a one-bit code.
        let mut one = [0u64; 256];
        one[7] = 5;
        assert_eq!(optimal(&one).expect("table").codes()[7].1, 1);
    }

    #[test]
    fn damaged_streams_are_errors_not_panics() {
        let stream = encode(40, 24, true, SamplingFactor::R_4_2_0, 2, false);
        let black = Black::Colour { ycbcr: true };
        for cut in 0..stream.len() {
            let _ = blank(&stream[..cut], &[REGION], 24, 40, black);
        }
        let mut flipped = stream.clone();
        for i in (0..flipped.len()).step_by(7) {
            flipped[i] ^= 0x5A;
            let _ = blank(&flipped, &[REGION], 24, 40, black);
        }
        // The wrong size or photometric interpretation is refused.
        assert!(blank(&stream, &[REGION], 24, 41, black).is_err());
        assert!(blank(&stream, &[REGION], 24, 40, Black::Grey(0)).is_err());
        assert!(blank(b"not a jpeg", &[REGION], 24, 40, black).is_err());
    }
}
