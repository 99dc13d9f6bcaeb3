//! Colour JPEG-LS whose components are coded one after the other (interleave mode 0, "none"):
//! each component's scan is a complete greyscale image of its own (T.87 coding starts afresh at
//! each scan), so it is split out into a single-component stream that the greyscale decoder
//! (`pure_jpegls`, imported as `jpegls`) reads. Line- and sample-interleaved streams share their coding state
//! between components and cannot be split this way: they are refused with that reason.

use super::jpeg_markers::{segments, MarkerError};

/// Why a stream could not be split.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// The stream is damaged or not JPEG-LS.
    #[error("damaged JPEG-LS stream: {0}")]
    Damaged(&'static str),
    /// A kind of JPEG-LS this module does not split.
    #[error("{0}")]
    Unsupported(String),
    /// Components coded line by line or sample by sample, in one scan (see
    /// [`super::jpegls_lines`]).
    #[error("colour JPEG-LS with interleaved components")]
    LineInterleaved,
}

impl From<MarkerError> for SplitError {
    fn from(e: MarkerError) -> SplitError {
        SplitError::Damaged(e.0)
    }
}

/// The single-component streams of a multi-component JPEG-LS stream coded with interleave
/// mode 0, in component order; `None` when the stream has one component (decode it as is).
pub fn split_components(stream: &[u8]) -> Result<Option<Vec<Vec<u8>>>, SplitError> {
    let damaged = SplitError::Damaged;
    let mut frame: Option<&[u8]> = None;
    // Segments every component's stream needs (preset parameters), in order.
    let mut shared: Vec<&[u8]> = Vec::new();
    let mut scans: Vec<Vec<u8>> = Vec::new();
    for seg in segments(stream)? {
        let seg = seg?;
        match seg.marker {
            // SOF55: JPEG-LS frame header.
            0xF7 => {
                let nf = *seg.bytes.get(9).ok_or(damaged("frame header"))?;
                if nf == 1 {
                    return Ok(None);
                }
                if seg.bytes.len() < 10 + 3 * usize::from(nf) {
                    return Err(damaged("frame header"));
                }
                frame = Some(seg.bytes);
            }
            // LSE: preset parameters (or mapping tables, which no DICOM encoder writes).
            0xF8 => {
                if seg.bytes.get(4) != Some(&1) {
                    return Err(SplitError::Unsupported(
                        "JPEG-LS with mapping tables is not decoded".into(),
                    ));
                }
                shared.push(seg.bytes);
            }
            // SOS: one scan.
            0xDA => {
                let frame = frame.ok_or(damaged("scan before the frame header"))?;
                let ns = *seg.bytes.get(4).ok_or(damaged("scan header"))?;
                let ilv = *seg
                    .bytes
                    .get(6 + 2 * usize::from(ns))
                    .ok_or(damaged("scan header"))?;
                if ilv != 0 && ns > 1 {
                    return Err(SplitError::LineInterleaved);
                }
                if ns != 1 || ilv != 0 {
                    return Err(SplitError::Unsupported(format!(
                        "colour JPEG-LS coded {} is not decoded (only components coded one after the other)",
                        if ilv == 2 { "sample by sample" } else { "line by line" }
                    )));
                }
                let component = seg.bytes[5];
                let spec = (0..usize::from(frame[9]))
                    .map(|i| &frame[10 + 3 * i..13 + 3 * i])
                    .find(|c| c[0] == component)
                    .ok_or(damaged("scan of an unknown component"))?;
                // SOI, the shared segments, a one-component frame header, the scan, EOI.
                let mut one = vec![0xFF, 0xD8];
                for s in &shared {
                    one.extend_from_slice(s);
                }
                one.extend_from_slice(&[0xFF, 0xF7, 0x00, 0x0B]);
                one.extend_from_slice(&frame[4..9]); // precision, rows, columns
                one.push(1);
                one.extend_from_slice(spec);
                one.extend_from_slice(seg.bytes);
                one.extend_from_slice(seg.data);
                one.extend_from_slice(&[0xFF, 0xD9]);
                scans.push(one);
            }
            // SOI again, APPn (a colour transform, APP8 "mrfx", changes the samples), others.
            0xE8 if seg.bytes.get(4..8) == Some(b"mrfx") => {
                return Err(SplitError::Unsupported(
                    "JPEG-LS with a colour transform (HP) is not decoded".into(),
                ))
            }
            _ => {}
        }
    }
    let nf = frame
        .map(|f| usize::from(f[9]))
        .ok_or(damaged("no frame header"))?;
    if scans.len() != nf {
        return Err(damaged("not one scan per component"));
    }
    Ok(Some(scans))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A three-component stream coded with interleave mode 0, made of three greyscale streams
    /// (as an encoder writes it: one frame header, then a scan per component).
    fn colour_stream(planes: &[Vec<u16>; 3], width: u32, height: u32) -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8];
        for (c, plane) in planes.iter().enumerate() {
            let mut grey = Vec::new();
            jpegls::encode(plane, width, height, &mut grey).expect("encode");
            // Its frame header (once) and scan, with the component's id.
            for seg in segments(&grey).expect("SOI") {
                let seg = seg.expect("segment");
                match seg.marker {
                    0xF7 if c == 0 => {
                        out.extend_from_slice(&[0xFF, 0xF7, 0x00, 0x11]);
                        out.extend_from_slice(&seg.bytes[4..9]);
                        out.push(3);
                        for id in 1..=3u8 {
                            out.extend_from_slice(&[id, 0x11, 0]);
                        }
                    }
                    0xDA => {
                        let mut sos = seg.bytes.to_vec();
                        sos[5] = c as u8 + 1;
                        out.extend_from_slice(&sos);
                        out.extend_from_slice(seg.data);
                        break;
                    }
                    _ => {}
                }
            }
        }
        out.extend_from_slice(&[0xFF, 0xD9]);
        out
    }

    #[test]
    fn components_coded_one_after_the_other_decode_to_their_planes() {
        let (w, h) = (37u32, 23u32);
        let planes: [Vec<u16>; 3] = std::array::from_fn(|c| {
            (0..w * h)
                .map(|i| ((i * (c as u32 + 3) + (i / w) * 7) % 256) as u16)
                .collect()
        });
        let stream = colour_stream(&planes, w, h);
        let parts = split_components(&stream).expect("split").expect("colour");
        assert_eq!(parts.len(), 3);
        for (part, plane) in parts.iter().zip(&planes) {
            let (samples, ..) = jpegls::decode(part, w, h).expect("decode");
            assert_eq!(&samples, plane);
        }
    }

    #[test]
    fn greyscale_is_left_alone_and_interleaved_or_damaged_streams_are_refused() {
        let mut grey = Vec::new();
        jpegls::encode(&[1u16, 2, 3, 4], 2, 2, &mut grey).expect("encode");
        assert_eq!(split_components(&grey), Ok(None));
        let planes: [Vec<u16>; 3] = std::array::from_fn(|_| vec![5u16; 4]);
        let mut stream = colour_stream(&planes, 2, 2);
        // Mark the first scan line-interleaved.
        let sos = stream
            .windows(2)
            .position(|w| w == [0xFF, 0xDA])
            .expect("scan");
        let ns = usize::from(stream[sos + 4]);
        stream[sos + 6 + 2 * ns] = 1;
        assert!(
            matches!(split_components(&stream), Err(SplitError::Unsupported(m)) if m.contains("line by line"))
        );
        for cut in 0..stream.len() {
            let _ = split_components(&stream[..cut]);
        }
        assert!(split_components(b"not jpeg").is_err());
    }
}
