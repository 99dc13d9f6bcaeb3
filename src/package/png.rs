//! A small PNG writer for key images: 8-bit greyscale or RGB, no filtering, zlib from
//! `flate2`. Enough for a slide; no colour profile, no metadata (nothing that could carry PHI).

use std::io::Write;

/// Encode an RGBA frame (alpha ignored) as PNG: greyscale when every pixel is grey.
pub fn encode(width: u32, height: u32, rgba: &[u8]) -> Vec<u8> {
    let n = width as usize * height as usize;
    let rgba = &rgba[..rgba.len().min(n * 4)];
    let grey = rgba.chunks_exact(4).all(|p| p[0] == p[1] && p[1] == p[2]);
    let channels = if grey { 1 } else { 3 };
    let mut raw = Vec::with_capacity(height as usize * (1 + width as usize * channels));
    for row in rgba.chunks_exact(width.max(1) as usize * 4) {
        raw.push(0); // filter: none
        for p in row.chunks_exact(4) {
            raw.extend_from_slice(&p[..channels]);
        }
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing into a Vec cannot fail.
    let _ = z.write_all(&raw);
    let idat = z.finish().unwrap_or_default();

    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, if grey { 0 } else { 2 }, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend((data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crate::crc::hash(&out[start..]);
    out.extend(crc.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn grey_and_colour_round_trip_through_zlib() {
        let grey = [10, 10, 10, 255, 200, 200, 200, 255];
        let png = encode(2, 1, &grey);
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(png[25], 0, "colour type grey");
        let colour = [10, 20, 30, 255, 200, 200, 200, 255];
        let png = encode(1, 2, &colour);
        assert_eq!(png[25], 2, "colour type RGB");
        // IDAT starts after signature (8) + IHDR (25) and its own length and type (8).
        let len = u32::from_be_bytes([png[33], png[34], png[35], png[36]]) as usize;
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(&png[41..41 + len])
            .read_to_end(&mut raw)
            .expect("zlib");
        assert_eq!(raw, vec![0, 10, 20, 30, 0, 200, 200, 200]);
    }
}
