//! Sequential Huffman JPEG (T.81 processes 1, 2 and 4: SOF0 and SOF1) as both the 12-bit
//! decoder ([`super::jpeg12`]) and compressed-domain blanking ([`super::jpeg_blocks`]) read it:
//! the tables of the header, the frame and scan headers, and the quantised coefficients of
//! each block, bit by bit.
//!
//! Written for input from anywhere: every length and table index is checked.

use super::jpeg_markers::{u16_at, Segment};

/// The zig-zag order: coefficient `k` of a block in the stream is `ZIGZAG[k]` in row order.
pub const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// A Huffman table: as stored (counts of codes of each length, symbols in code order), and as
/// T.81 F.2.2.3 decodes with it.
#[derive(Clone, Debug)]
pub struct Huffman {
    /// Number of codes of each length 1–16.
    pub counts: [u8; 16],
    /// The symbols, in order of their codes.
    pub values: Vec<u8>,
    /// Largest code of each length (1–16), or -1 when there is none.
    maxcode: [i32; 17],
    /// Index in `values` of the first code of each length, minus that code.
    offset: [i32; 17],
}

impl Huffman {
    /// A table from its counts and symbols (T.81 C.2), checked.
    pub fn new(counts: &[u8; 16], values: Vec<u8>) -> Result<Huffman, String> {
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
            counts: *counts,
            values,
            maxcode,
            offset,
        })
    }

    /// The code of every symbol as (code, length); length 0 for a symbol the table lacks
    /// (T.81 C.2, for the encoder).
    pub fn codes(&self) -> [(u16, u8); 256] {
        let mut out = [(0u16, 0u8); 256];
        let (mut code, mut k) = (0u32, 0usize);
        for len in 1..=16u8 {
            for _ in 0..self.counts[len as usize - 1] {
                if let Some(v) = self.values.get(k) {
                    out[*v as usize] = (code as u16, len);
                }
                code += 1;
                k += 1;
            }
            code <<= 1;
        }
        out
    }
}

/// Reads the entropy-coded data of a scan, bit by bit, undoing byte stuffing.
pub struct Bits<'a> {
    data: &'a [u8],
    at: usize,
    acc: u32,
    count: u32,
    /// A marker was met: no more data bits until the restart is handled.
    marker: bool,
}

impl<'a> Bits<'a> {
    /// A reader of `data`, the bytes after a scan header.
    pub fn new(data: &'a [u8]) -> Bits<'a> {
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

    /// The next symbol coded with `table`.
    pub fn decode(&mut self, table: &Huffman) -> Result<u8, String> {
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
    pub fn restart(&mut self) -> Result<(), String> {
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

    /// The quantised coefficients of one block (T.81 F.2.2), in zig-zag order, the DC
    /// coefficient absolute; `pred` is the component's DC prediction.
    pub fn block(
        &mut self,
        dc: &Huffman,
        ac: &Huffman,
        pred: &mut i32,
        out: &mut [i32; 64],
    ) -> Result<(), String> {
        *out = [0; 64];
        let t = self.decode(dc)?;
        if t > 16 {
            return Err("a DC difference category above 16".into());
        }
        // Wrapping: a hostile stream may pile up differences; the samples are clamped later.
        *pred = pred.wrapping_add(self.receive_extend(t));
        out[0] = *pred;
        let mut k = 1;
        while k < 64 {
            let rs = self.decode(ac)?;
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
            out[k] = self.receive_extend(s);
            k += 1;
        }
        Ok(())
    }
}

/// One component of a frame, as its header describes it.
#[derive(Clone, Copy, Debug)]
pub struct Component {
    /// Component identifier.
    pub id: u8,
    /// Horizontal sampling factor.
    pub h: usize,
    /// Vertical sampling factor.
    pub v: usize,
    /// Quantisation table.
    pub tq: usize,
}

/// A frame header (SOF0 or SOF1).
#[derive(Clone, Debug)]
pub struct Frame {
    /// Bits per sample: 8 or 12.
    pub precision: u8,
    /// Lines (0 when a DNL segment gives them later).
    pub rows: usize,
    /// Samples per line.
    pub cols: usize,
    /// The components, in order.
    pub comps: Vec<Component>,
}

impl Frame {
    /// The largest horizontal and vertical sampling factors.
    pub fn max_sampling(&self) -> (usize, usize) {
        let h = self.comps.iter().map(|c| c.h).max().unwrap_or(1);
        let v = self.comps.iter().map(|c| c.v).max().unwrap_or(1);
        (h, v)
    }
}

/// What the header segments read so far define: tables, restart interval, frame.
pub struct Tables {
    /// Quantisation tables, in row order.
    pub quant: [[u16; 64]; 4],
    /// DC Huffman tables.
    pub dc: [Option<Huffman>; 4],
    /// AC Huffman tables.
    pub ac: [Option<Huffman>; 4],
    /// MCUs between restart markers (0: none).
    pub restart: usize,
    /// The frame header, once read.
    pub frame: Option<Frame>,
}

/// A component as a scan codes it: which frame component, and its tables.
#[derive(Clone, Copy, Debug)]
pub struct ScanComponent {
    /// Index in the frame's components.
    pub index: usize,
    /// DC Huffman table number.
    pub dc: usize,
    /// AC Huffman table number.
    pub ac: usize,
}

impl Default for Tables {
    fn default() -> Tables {
        Tables {
            quant: [[0; 64]; 4],
            dc: Default::default(),
            ac: Default::default(),
            restart: 0,
            frame: None,
        }
    }
}

impl Tables {
    /// Take in one header segment: frame header, Huffman or quantisation tables, restart
    /// interval. A frame header of another process is an error; other segments are ignored.
    pub fn read(&mut self, seg: &Segment) -> Result<(), String> {
        let body = seg.body;
        match seg.marker {
            0xC0 | 0xC1 => {
                if body.len() < 6 {
                    return Err("the JPEG frame header is too short".into());
                }
                let precision = body[0];
                let (rows, cols, n) = (u16_at(body, 1)?, u16_at(body, 3)?, body[5] as usize);
                if precision != 8 && precision != 12 {
                    return Err(format!("{precision}-bit JPEG samples"));
                }
                if !(1..=4).contains(&n) {
                    return Err(format!("{n}-component sequential JPEG"));
                }
                let mut comps = Vec::with_capacity(n);
                for i in 0..n {
                    let c = body
                        .get(6 + 3 * i..9 + 3 * i)
                        .ok_or("the JPEG frame header is too short")?;
                    let (h, v, tq) = ((c[1] >> 4) as usize, (c[1] & 0x0F) as usize, c[2] as usize);
                    if !(1..=4).contains(&h) || !(1..=4).contains(&v) {
                        return Err(format!("JPEG sampling factors {h}×{v}"));
                    }
                    if tq > 3 {
                        return Err("a quantisation table number above 3".into());
                    }
                    comps.push(Component { id: c[0], h, v, tq });
                }
                self.frame = Some(Frame {
                    precision,
                    rows,
                    cols,
                    comps,
                });
            }
            0xC2 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                return Err(format!(
                    "a JPEG process (SOF{}) other than sequential Huffman",
                    seg.marker - 0xC0
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
                    if id > 3 || class_id >> 4 > 1 {
                        return Err("a Huffman table number above 3".into());
                    }
                    let table = Huffman::new(&counts, values)?;
                    if class_id >> 4 == 0 {
                        self.dc[id] = Some(table);
                    } else {
                        self.ac[id] = Some(table);
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
                        self.quant[id][ZIGZAG[k]] = if wide {
                            u16::from_be_bytes([values[2 * k], values[2 * k + 1]])
                        } else {
                            values[k] as u16
                        };
                    }
                    p += 1 + size;
                }
            }
            0xDD => self.restart = u16_at(body, 0)?,
            _ => {}
        }
        Ok(())
    }

    /// The components of the scan whose header is `body`, checked against the frame and
    /// the tables defined so far.
    pub fn scan(&self, body: &[u8]) -> Result<Vec<ScanComponent>, String> {
        let frame = self
            .frame
            .as_ref()
            .ok_or("a JPEG scan before its frame header")?;
        let ns = *body.first().ok_or("a JPEG scan header is too short")? as usize;
        if ns == 0 || ns > frame.comps.len() {
            return Err("a JPEG scan header names no or too many components".into());
        }
        let mut out = Vec::with_capacity(ns);
        for i in 0..ns {
            let spec = body
                .get(1 + 2 * i..3 + 2 * i)
                .ok_or("a JPEG scan header is too short")?;
            let index = frame
                .comps
                .iter()
                .position(|c| c.id == spec[0])
                .ok_or("a JPEG scan names a component the frame does not have")?;
            let (dc, ac) = ((spec[1] >> 4) as usize, (spec[1] & 0x0F) as usize);
            if self.dc.get(dc).and_then(Option::as_ref).is_none() {
                return Err("a JPEG scan names a missing DC table".into());
            }
            if self.ac.get(ac).and_then(Option::as_ref).is_none() {
                return Err("a JPEG scan names a missing AC table".into());
            }
            out.push(ScanComponent { index, dc, ac });
        }
        Ok(out)
    }
}
