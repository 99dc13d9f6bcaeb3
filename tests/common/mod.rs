//! Helpers shared by the test suites (native and wasm).
#![allow(dead_code)]

/// A small deterministic generator (xorshift), so failures can be replayed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

pub fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut v = base.to_vec();
    match rng.below(5) {
        // Flip bytes after the preamble (headers, lengths, values).
        0 => {
            for _ in 0..1 + rng.below(8) {
                let i = 132 + rng.below(v.len() - 132);
                v[i] = rng.next() as u8;
            }
        }
        // Truncate anywhere.
        1 => v.truncate(rng.below(v.len())),
        // Overwrite a 4-byte length field with a huge or odd value.
        2 => {
            let i = 132 + rng.below(v.len() - 136);
            let bad = [0xFFFF_FFFF_u32, 0xFFFF_FFFE, 0x7FFF_FFFF, 3, 1][rng.below(5)];
            v[i..i + 4].copy_from_slice(&bad.to_le_bytes());
        }
        // Duplicate a slice (repeated or out-of-order elements).
        3 => {
            let a = 132 + rng.below(v.len() - 132);
            let b = (a + rng.below(64)).min(v.len());
            let chunk = v[a..b].to_vec();
            let at = 132 + rng.below(v.len() - 132);
            v.splice(at..at, chunk);
        }
        // Insert garbage.
        _ => {
            let at = 132 + rng.below(v.len() - 132);
            let junk: Vec<u8> = (0..1 + rng.below(32)).map(|_| rng.next() as u8).collect();
            v.splice(at..at, junk);
        }
    }
    v
}

/// RLE Lossless (PS3.5 Annex G) of 16-bit monochrome frames, literal runs only: what a
/// simple encoder writes, enough for a decoder to have real work.
pub fn rle_fragment(frame: &[u16]) -> Vec<u8> {
    let segment = |bytes: Vec<u8>| {
        let mut out = Vec::new();
        for chunk in bytes.chunks(128) {
            out.push((chunk.len() - 1) as u8);
            out.extend_from_slice(chunk);
        }
        if out.len() % 2 == 1 {
            out.push(0);
        }
        out
    };
    let high = segment(frame.iter().map(|w| (w >> 8) as u8).collect());
    let low = segment(frame.iter().map(|w| (w & 0xff) as u8).collect());
    let mut header = [0u32; 16];
    header[0] = 2;
    header[1] = 64;
    header[2] = 64 + high.len() as u32;
    let mut out: Vec<u8> = header.iter().flat_map(|v| v.to_le_bytes()).collect();
    out.extend(high);
    out.extend(low);
    out
}
