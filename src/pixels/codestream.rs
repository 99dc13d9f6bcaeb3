//! What a compressed frame's own codestream says its size is, read from its header alone
//! (JPEG and JPEG-LS: the frame header, SOF; JPEG 2000 and HTJ2K: the image and tile size
//! marker, SIZ), so that a frame whose codestream disagrees with the file's Rows and Columns
//! is refused before a decoder allocates what the codestream claims (65000 × 65000 in a file
//! that says 16 × 16).

use super::jpeg_markers;

/// A codestream's image size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub rows: u32,
    pub cols: u32,
}

/// How far into a frame the JPEG 2000 codestream may start (after the boxes of a JP2 file
/// that some writers put in the fragment).
const JP2_SEARCH: usize = 4096;

/// The size `stream` declares: `Ok(None)` when it is neither a JPEG family nor a JPEG 2000
/// codestream (RLE, raw samples), an error when it is one whose header cannot be read.
pub fn size(stream: &[u8]) -> Result<Option<Size>, String> {
    if stream.starts_with(&[0xFF, 0xD8]) {
        return jpeg_size(stream).map(Some);
    }
    let head = &stream[..stream.len().min(JP2_SEARCH)];
    if let Some(at) = head.windows(4).position(|w| w == [0xFF, 0x4F, 0xFF, 0x51]) {
        return j2k_size(&stream[at..]).map(Some);
    }
    Ok(None)
}

/// The size in the first frame header of a JPEG or JPEG-LS stream (T.81 B.2.2, T.87 C.2.2:
/// the sample precision, then the number of lines, then the samples a line).
fn jpeg_size(stream: &[u8]) -> Result<Size, String> {
    for segment in jpeg_markers::segments(stream)? {
        let segment = segment?;
        match segment.marker {
            // SOF0–SOF15 (not DHT, JPG, DAC), SOF55 (JPEG-LS), DHP (hierarchical).
            0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF | 0xF7 | 0xDE => {
                let b = segment.body;
                let at = |i: usize| {
                    b.get(i..i + 2)
                        .map(|v| u32::from(u16::from_be_bytes([v[0], v[1]])))
                        .ok_or("the JPEG frame header is cut short")
                };
                return Ok(Size {
                    rows: at(1)?,
                    cols: at(3)?,
                });
            }
            0xDA => break,
            _ => {}
        }
    }
    Err("the JPEG stream has no frame header before its first scan".into())
}

/// The size in a JPEG 2000 codestream's SIZ marker segment (T.800 A.5.1): the reference
/// grid's extent less the image's offset on it.
fn j2k_size(stream: &[u8]) -> Result<Size, String> {
    let at = |i: usize| {
        stream
            .get(i..i + 4)
            .map(|v| u32::from_be_bytes([v[0], v[1], v[2], v[3]]))
            .ok_or("the JPEG 2000 image size marker is cut short")
    };
    // SOC (2), SIZ marker (2), Lsiz (2), Rsiz (2), then Xsiz, Ysiz, XOsiz, YOsiz.
    let (x, y, x0, y0) = (at(8)?, at(12)?, at(16)?, at(20)?);
    if x0 >= x || y0 >= y {
        return Err("the JPEG 2000 image size marker describes an empty image".into());
    }
    Ok(Size {
        rows: y - y0,
        cols: x - x0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(rows: u16, cols: u16) -> Vec<u8> {
        let mut s = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00];
        s.extend([0xFF, 0xC0, 0x00, 0x0B, 8]);
        s.extend(rows.to_be_bytes());
        s.extend(cols.to_be_bytes());
        s.extend([1, 1, 0x11, 0]);
        s.extend([0xFF, 0xD9]);
        s
    }

    #[test]
    fn sizes_are_read_from_frame_headers() {
        assert_eq!(size(&jpeg(16, 24)), Ok(Some(Size { rows: 16, cols: 24 })));
        let mut ls = jpeg(65000, 65000);
        ls[9] = 0xF7;
        assert_eq!(
            size(&ls),
            Ok(Some(Size {
                rows: 65000,
                cols: 65000
            }))
        );
        // No frame header before the scan, or one cut short.
        let scan_first = [0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0xFF, 0xD9];
        assert!(size(&scan_first).is_err());
        assert!(size(&jpeg(16, 16)[..12]).is_err());
        // Not a codestream at all (RLE's header).
        assert_eq!(size(&[1, 0, 0, 0, 64, 0, 0, 0]), Ok(None));
    }

    #[test]
    fn jpeg_2000_sizes_are_the_grid_less_its_offset() {
        let mut s = vec![0xFF, 0x4F, 0xFF, 0x51, 0x00, 0x29, 0x00, 0x00];
        for v in [300u32, 200, 44, 0] {
            s.extend(v.to_be_bytes());
        }
        s.extend([0; 24]);
        assert_eq!(
            size(&s),
            Ok(Some(Size {
                rows: 200,
                cols: 256
            }))
        );
        // After a JP2 file's boxes, too.
        let mut boxed = b"\x00\x00\x00\x0cjP  \r\n\x87\n".to_vec();
        boxed.extend(&s);
        assert_eq!(size(&boxed), size(&s));
        assert!(size(&s[..14]).is_err());
    }
}
