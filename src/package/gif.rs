//! A small animated GIF (GIF89a) writer for the cine of a multi-frame series: a presenter can
//! drop it on a slide, and every browser and office suite plays it.
//!
//! Greyscale frames keep all 256 grey levels; colour frames are mapped to a fixed palette of
//! 6 × 7 × 6 colours plus 4 greys (no dithering, so text-free areas stay calm).

/// The palette and the index of each RGBA pixel.
struct Palette {
    colours: Vec<[u8; 3]>,
    grey: bool,
}

impl Palette {
    fn new(grey: bool) -> Palette {
        let colours = if grey {
            (0..=255u8).map(|v| [v, v, v]).collect()
        } else {
            let mut c = Vec::with_capacity(256);
            for r in 0..6u32 {
                for g in 0..7u32 {
                    for b in 0..6u32 {
                        c.push([
                            (r * 255 / 5) as u8,
                            (g * 255 / 6) as u8,
                            (b * 255 / 5) as u8,
                        ]);
                    }
                }
            }
            for v in [64u8, 128, 192, 224] {
                c.push([v, v, v]);
            }
            c
        };
        Palette { colours, grey }
    }

    fn index(&self, p: &[u8]) -> u8 {
        if self.grey {
            // The luma of a pixel that is not quite grey.
            return ((p[0] as u32 * 299 + p[1] as u32 * 587 + p[2] as u32 * 114 + 500) / 1000)
                as u8;
        }
        let q = |v: u8, levels: u32| ((v as u32 * (levels - 1) + 127) / 255) as u8;
        let (r, g, b) = (q(p[0], 6), q(p[1], 7), q(p[2], 6));
        r * 42 + g * 6 + b
    }
}

/// An animated GIF written a frame at a time (only the compressed frames are kept).
pub struct Writer {
    out: Vec<u8>,
    palette: Palette,
    /// The LZW coder, kept from frame to frame (its table is 2 MiB).
    lzw: Lzw,
    width: u16,
    height: u16,
    delay: u16,
}

impl Writer {
    /// A looping animation of `width × height` frames shown `delay_ms` each, with 256 greys
    /// when `grey`, else the fixed colour palette.
    pub fn new(width: u16, height: u16, grey: bool, delay_ms: u32) -> Writer {
        let palette = Palette::new(grey);
        let mut out = Vec::new();
        out.extend_from_slice(b"GIF89a");
        out.extend_from_slice(&width.to_le_bytes());
        out.extend_from_slice(&height.to_le_bytes());
        // Global colour table of 256 entries, 8 bits of colour resolution.
        out.extend_from_slice(&[0xF7, 0, 0]);
        for i in 0..256 {
            out.extend_from_slice(palette.colours.get(i).unwrap_or(&[0, 0, 0]));
        }
        // Loop for ever (the NETSCAPE2.0 application extension).
        out.extend_from_slice(&[0x21, 0xFF, 11]);
        out.extend_from_slice(b"NETSCAPE2.0");
        out.extend_from_slice(&[3, 1, 0, 0, 0]);
        Writer {
            out,
            palette,
            lzw: Lzw::new(),
            width,
            height,
            delay: ((delay_ms + 5) / 10).clamp(2, 65535) as u16,
        }
    }

    /// Add a frame: `width × height × 4` RGBA bytes, row by row.
    pub fn add(&mut self, rgba: &[u8]) {
        let out = &mut self.out;
        // Graphic control: the delay, no transparency.
        out.extend_from_slice(&[0x21, 0xF9, 4, 0]);
        out.extend_from_slice(&self.delay.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        // Image descriptor: the whole canvas, no local table.
        out.push(0x2C);
        out.extend_from_slice(&[0, 0, 0, 0]);
        out.extend_from_slice(&self.width.to_le_bytes());
        out.extend_from_slice(&self.height.to_le_bytes());
        out.push(0);
        let n = self.width as usize * self.height as usize;
        let mut indices: Vec<u8> = rgba
            .chunks_exact(4)
            .take(n)
            .map(|p| self.palette.index(p))
            .collect();
        indices.resize(n, 0);
        out.push(8);
        for block in self.lzw.encode(&indices).chunks(255) {
            out.push(block.len() as u8);
            out.extend_from_slice(block);
        }
        out.push(0);
    }

    /// The whole file.
    pub fn finish(mut self) -> Vec<u8> {
        self.out.push(0x3B);
        self.out
    }
}

/// GIF's variable-length LZW of 8-bit indices (minimum code size 8), least significant bit
/// first, a clear code when the table is full. The code table is made once and cleared entry
/// by entry, so that many frames do not each allocate and zero it.
struct Lzw {
    /// (prefix code, next index) → code, as a dense table (0: none).
    table: Vec<u16>,
    /// The entries set since the table was last cleared.
    used: Vec<usize>,
}

impl Lzw {
    fn new() -> Lzw {
        Lzw {
            table: vec![0u16; 4096 * 256],
            used: Vec::with_capacity(4096),
        }
    }

    /// Clear the entries set since the last clear.
    fn clear(&mut self) {
        for slot in self.used.drain(..) {
            self.table[slot] = 0;
        }
    }

    fn encode(&mut self, indices: &[u8]) -> Vec<u8> {
        const CLEAR: u16 = 256;
        const END: u16 = 257;
        self.clear();
        let mut out = Vec::new();
        let (mut acc, mut nbits) = (0u32, 0u32);
        let mut put = |code: u16, size: u32, out: &mut Vec<u8>| {
            acc |= (code as u32) << nbits;
            nbits += size;
            while nbits >= 8 {
                out.push(acc as u8);
                acc >>= 8;
                nbits -= 8;
            }
        };
        let mut next = END + 1;
        let mut size = 9u32;
        put(CLEAR, size, &mut out);
        let mut iter = indices.iter();
        let Some(&first) = iter.next() else {
            put(END, size, &mut out);
            if nbits > 0 {
                out.push(acc as u8);
            }
            return out;
        };
        let mut current = first as u16;
        for &k in iter {
            let slot = current as usize * 256 + k as usize;
            if self.table[slot] != 0 {
                current = self.table[slot];
                continue;
            }
            put(current, size, &mut out);
            if next < 4096 {
                self.table[slot] = next;
                self.used.push(slot);
                // The decoder's table is one entry behind: widen when the code just added
                // does not fit the current size.
                if next == 1 << size && size < 12 {
                    size += 1;
                }
                next += 1;
            } else {
                put(CLEAR, size, &mut out);
                self.clear();
                next = END + 1;
                size = 9;
            }
            current = k as u16;
        }
        put(current, size, &mut out);
        // Reading that last code, the decoder adds the entry before `next` and may widen.
        if next == 1 << size && size < 12 {
            size += 1;
        }
        put(END, size, &mut out);
        if nbits > 0 {
            out.push(acc as u8);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GIF LZW decoder (as a reader would do it), to check the encoder round-trips.
    fn unlzw(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let (mut acc, mut nbits, mut at) = (0u32, 0u32, 0usize);
        let mut size = 9u32;
        let mut dict: Vec<Vec<u8>> = Vec::new();
        let reset = |dict: &mut Vec<Vec<u8>>| {
            dict.clear();
            dict.extend((0..=255u8).map(|v| vec![v]));
            dict.push(Vec::new());
            dict.push(Vec::new());
        };
        reset(&mut dict);
        let mut prev: Option<Vec<u8>> = None;
        loop {
            while nbits < size {
                acc |= (data[at] as u32) << nbits;
                at += 1;
                nbits += 8;
            }
            let code = (acc & ((1 << size) - 1)) as usize;
            acc >>= size;
            nbits -= size;
            if code == 256 {
                reset(&mut dict);
                size = 9;
                prev = None;
                continue;
            }
            if code == 257 {
                return out;
            }
            let entry = if code < dict.len() {
                dict[code].clone()
            } else {
                let p = prev.clone().expect("a code after the first");
                let mut e = p.clone();
                e.push(p[0]);
                e
            };
            out.extend_from_slice(&entry);
            if let Some(p) = prev {
                if dict.len() < 4096 {
                    let mut n = p;
                    n.push(entry[0]);
                    dict.push(n);
                }
            }
            if dict.len() == (1 << size) && size < 12 {
                size += 1;
            }
            prev = Some(entry);
        }
    }

    #[test]
    fn lzw_round_trips_through_a_decoder() {
        // One coder for every case: its table must come back clean after each.
        let mut coder = Lzw::new();
        let mut lzw = |d: &[u8]| coder.encode(d);
        let mut seed = 7u32;
        let mut noise = || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (seed >> 16) as u8
        };
        let cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![5],
            vec![0; 10_000],
            (0..70_000).map(|i| (i % 256) as u8).collect(),
            (0..50_000).map(|_| noise()).collect(),
            (0..50_000).map(|_| noise() % 4).collect(),
        ];
        for (i, c) in cases.iter().enumerate() {
            if c.is_empty() {
                continue;
            }
            assert_eq!(&unlzw(&lzw(c)), c, "case {i}");
        }
        // Every length up to past the first widenings, so the last code falls on each edge.
        let data: Vec<u8> = (0..3000).map(|_| noise() % 3).collect();
        for n in 1..data.len() {
            assert_eq!(unlzw(&lzw(&data[..n])), &data[..n], "length {n}");
        }
    }

    #[test]
    fn an_animation_has_its_frames_delay_and_loop() {
        let mut w = Writer::new(4, 4, true, 40);
        w.add(&[10u8; 4 * 4 * 4]);
        w.add(&[200u8; 4 * 4 * 4]);
        let gif = w.finish();
        assert!(gif.starts_with(b"GIF89a"));
        assert_eq!(gif.last(), Some(&0x3B));
        assert_eq!(gif.windows(11).filter(|w| *w == b"NETSCAPE2.0").count(), 1);
        // Two graphic control blocks with 4/100 s.
        let gce: Vec<usize> = gif
            .windows(4)
            .enumerate()
            .filter(|(_, w)| *w == [0x21, 0xF9, 4, 0])
            .map(|(i, _)| i)
            .collect();
        assert_eq!(gce.len(), 2);
        assert_eq!(&gif[gce[0] + 4..gce[0] + 6], &4u16.to_le_bytes());
    }

    #[test]
    fn colour_goes_to_the_nearest_palette_entry() {
        let rgba = [255u8, 0, 0, 255, 0, 0, 255, 255];
        let p = Palette::new(false);
        assert_eq!(p.colours[p.index(&rgba[..4]) as usize], [255, 0, 0]);
        assert_eq!(p.colours[p.index(&rgba[4..]) as usize], [0, 0, 255]);
    }
}
