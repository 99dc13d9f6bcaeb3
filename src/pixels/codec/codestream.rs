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

/// A codestream with what may hold text and is not image removed, and how many pieces there
/// were: JPEG and JPEG-LS comments (COM) and application segments (APPn: EXIF with the
/// camera's owner and dates, XMP, ICC profiles), except those a decoder needs (a JFIF header
/// without its thumbnail, Adobe's colour transform, JPEG-LS's HP colour transform); JPEG 2000
/// comments (COM) in the main and tile-part headers; the JP2 file format's boxes around a
/// JPEG 2000 codestream (XML, UUID and other metadata boxes; PS3.5 A.4.4 asks for the bare
/// codestream) and the JPEG XL container's around its codestream (Exif, XMP); and bytes after the end of the image (EOI, EOC) other than zero padding,
/// which no decoder reads and no viewer shows. `None` when there is none, or the stream is
/// not one of these (or cannot be read: a decoder will say so). The coded data are copied as
/// they are.
pub fn without_text(stream: &[u8]) -> Option<(Vec<u8>, usize)> {
    if stream.starts_with(&[0xFF, 0xD8]) {
        return jpeg_without_text(stream);
    }
    if stream.starts_with(&[0xFF, 0x4F, 0xFF, 0x51]) {
        return j2k_without_text(stream);
    }
    if stream.starts_with(&JP2_SIGNATURE) {
        let codestream = jp2_codestream(stream)?;
        return Some(match j2k_without_text(codestream) {
            Some((out, n)) => (out, n + 1),
            None => (codestream.to_vec(), 1),
        });
    }
    if stream.starts_with(&JXL_SIGNATURE) {
        // Its Exif, XMP ("xml "), compressed ("brob") and other metadata boxes go.
        return jxl_codestream(stream).map(|c| (c, 1));
    }
    None
}

/// The JP2 file format's signature box (ISO/IEC 15444-1 I.5.1).
const JP2_SIGNATURE: [u8; 12] = [
    0, 0, 0, 0x0C, b'j', b'P', b' ', b' ', 0x0D, 0x0A, 0x87, 0x0A,
];
/// The JPEG XL container's signature box (ISO/IEC 18181-2 3.1).
const JXL_SIGNATURE: [u8; 12] = [
    0, 0, 0, 0x0C, b'J', b'X', b'L', b' ', 0x0D, 0x0A, 0x87, 0x0A,
];

/// The boxes of an ISO base media file (JP2, the JPEG XL container): (type, contents), every
/// length checked; `None` when one runs past the end.
fn boxes(file: &[u8]) -> Option<Vec<([u8; 4], &[u8])>> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < file.len() {
        if file.len() - at < 8 && file[at..].iter().all(|&b| b == 0) {
            // A fragment's padding to an even length.
            break;
        }
        let head = file.get(at..at + 8)?;
        let lbox = u32::from_be_bytes(head[..4].try_into().ok()?);
        let (header, len) = match lbox {
            // The last box: to the end of the file.
            0 => (8, file.len() - at),
            // Its length in the next 8 bytes.
            1 => {
                let xl = u64::from_be_bytes(file.get(at + 8..at + 16)?.try_into().ok()?);
                (16, usize::try_from(xl).ok()?)
            }
            n => (8, usize::try_from(n).ok()?),
        };
        let end = at
            .checked_add(len)
            .filter(|&e| e <= file.len() && len >= header)?;
        out.push((head[4..8].try_into().ok()?, &file[at + header..end]));
        at = end;
    }
    Some(out)
}

/// The codestream inside a JP2 file's contiguous codestream box (`jp2c`); `None` when there
/// is no such box or it holds no codestream.
fn jp2_codestream(file: &[u8]) -> Option<&[u8]> {
    let (_, codestream) = boxes(file)?.into_iter().find(|(t, _)| t == b"jp2c")?;
    codestream
        .starts_with(&[0xFF, 0x4F, 0xFF, 0x51])
        .then_some(codestream)
}

/// The codestream inside a JPEG XL container: its `jxlc` box, or its `jxlp` boxes (each a
/// 4-byte index, then a part) joined in order; `None` when there is none or it is not a JPEG
/// XL codestream (which starts FF 0A).
fn jxl_codestream(file: &[u8]) -> Option<Vec<u8>> {
    let boxes = boxes(file)?;
    let codestream = match boxes.iter().find(|(t, _)| t == b"jxlc") {
        Some((_, c)) => c.to_vec(),
        None => boxes
            .iter()
            .filter(|(t, _)| t == b"jxlp")
            .map(|(_, c)| c.get(4..))
            .collect::<Option<Vec<_>>>()?
            .concat(),
    };
    codestream.starts_with(&[0xFF, 0x0A]).then_some(codestream)
}

/// Whether the bytes after an image's end hold anything: zero padding (a fragment is of even
/// length) is nothing; another JPEG stream is left to the decoders, as before.
fn hidden_after_end(tail: &[u8]) -> bool {
    tail.iter().any(|&b| b != 0) && !tail.starts_with(&[0xFF, 0xD8])
}

/// Whether a JPEG marker segment may hold text and is not needed to decode.
fn jpeg_text_segment(marker: u8, body: &[u8]) -> bool {
    match marker {
        0xFE => true,
        // JFIF (T.871): kept without its thumbnail (dropped below when it has one).
        0xE0 => !(body.starts_with(b"JFIF\0") && body.get(12..14) == Some(&[0, 0])),
        0xE8 => !body.starts_with(b"mrfx"),
        0xEE => !body.starts_with(b"Adobe"),
        0xE1..=0xEF => true,
        _ => false,
    }
}

fn jpeg_without_text(stream: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut out = Vec::with_capacity(stream.len());
    out.extend_from_slice(&[0xFF, 0xD8]);
    let mut removed = 0;
    let mut segments = jpeg_markers::segments(stream).ok()?;
    for segment in segments.by_ref() {
        let segment = segment.ok()?;
        if jpeg_text_segment(segment.marker, segment.body) {
            removed += 1;
            continue;
        }
        out.extend_from_slice(segment.bytes);
        out.extend_from_slice(segment.data);
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    let tail = stream.get(segments.offset()..).unwrap_or_default();
    if hidden_after_end(tail) {
        removed += 1;
    } else {
        // Anything else after EOI (padding, another stream) stays as it was.
        out.extend_from_slice(tail);
    }
    (removed > 0).then_some((out, removed))
}

fn j2k_without_text(stream: &[u8]) -> Option<(Vec<u8>, usize)> {
    let u16_at = |i: usize| {
        stream
            .get(i..i + 2)
            .map(|v| usize::from(u16::from_be_bytes([v[0], v[1]])))
    };
    let mut out = Vec::with_capacity(stream.len());
    out.extend_from_slice(&stream[..2]);
    let mut removed = 0;
    let mut tile_lengths_changed = false;
    let mut at = 2;
    // Main header: marker segments up to the first tile-part (SOT).
    let mut tlm = None;
    loop {
        let marker = u16_at(at)?;
        if marker == 0xFF90 {
            break;
        }
        let len = u16_at(at + 2)?;
        let seg = stream.get(at..at + 2 + len)?;
        match marker {
            0xFF64 => removed += 1,
            0xFF55 => {
                // Tile-part lengths: dropped below if a tile-part gets shorter.
                tlm.get_or_insert(Vec::new())
                    .push(out.len()..out.len() + seg.len());
                out.extend_from_slice(seg);
            }
            _ => out.extend_from_slice(seg),
        }
        at += 2 + len;
    }
    // Tile-parts: SOT (with the tile-part's length, Psot), header segments, SOD, data.
    while u16_at(at)? == 0xFF90 {
        let psot = stream.get(at + 6..at + 10)?;
        let psot = u32::from_be_bytes([psot[0], psot[1], psot[2], psot[3]]) as usize;
        let end = if psot == 0 {
            // The last tile-part: up to the end of codestream marker (the last FFD9: coded
            // data never hold a marker).
            at + stream[at..].windows(2).rposition(|w| w == [0xFF, 0xD9])?
        } else {
            at.checked_add(psot).filter(|&e| e <= stream.len())?
        };
        let sot_len = u16_at(at + 2)?;
        let sot_at = out.len();
        out.extend_from_slice(stream.get(at..at + 2 + sot_len)?);
        let mut p = at + 2 + sot_len;
        let mut dropped = 0;
        loop {
            let marker = u16_at(p)?;
            if marker == 0xFF93 {
                break;
            }
            let len = u16_at(p + 2)?;
            let seg = stream.get(p..p + 2 + len)?;
            if marker == 0xFF64 {
                removed += 1;
                dropped += seg.len();
            } else {
                out.extend_from_slice(seg);
            }
            p += 2 + len;
        }
        out.extend_from_slice(stream.get(p..end)?);
        if dropped > 0 && psot != 0 {
            let new = u32::try_from(psot - dropped).ok()?;
            out[sot_at + 6..sot_at + 10].copy_from_slice(&new.to_be_bytes());
            tile_lengths_changed = true;
        }
        at = end;
    }
    let rest = stream.get(at..)?;
    match rest.strip_prefix(&[0xFF, 0xD9][..]) {
        Some(tail) if hidden_after_end(tail) => {
            out.extend_from_slice(&[0xFF, 0xD9]);
            removed += 1;
        }
        _ => out.extend_from_slice(rest),
    }
    if removed == 0 {
        return None;
    }
    if tile_lengths_changed {
        // Optional markers that would now give wrong lengths.
        for range in tlm.unwrap_or_default().into_iter().rev() {
            out.drain(range);
            removed += 1;
        }
    }
    Some((out, removed))
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
    fn jpeg_comments_and_application_segments_go_and_the_data_stay() {
        let mut s = vec![0xFF, 0xD8];
        let seg = |marker: u8, body: &[u8]| {
            let mut v = vec![0xFF, marker];
            v.extend(((body.len() + 2) as u16).to_be_bytes());
            v.extend(body);
            v
        };
        let jfif = b"JFIF\0\x01\x02\0\0\x01\0\x01\0\0";
        s.extend(seg(0xE0, jfif));
        s.extend(seg(0xE1, b"Exif\0\0owner KESTREL WANDA"));
        s.extend(seg(0xFE, b"Patient KESTREL"));
        s.extend(seg(0xEE, b"Adobe\0\x64\0\0\0\0\x01"));
        s.extend(seg(0xC0, &[8, 0, 16, 0, 24, 1, 1, 0x11, 0]));
        s.extend(seg(0xDA, &[1, 1, 0, 0, 63, 0]));
        s.extend([0x12, 0x34, 0xFF, 0x00, 0x56]);
        s.extend(seg(0xFE, b"between scans KESTREL"));
        s.extend([0xFF, 0xD9]);
        let (out, removed) = without_text(&s).expect("stripped");
        assert_eq!(removed, 3);
        assert!(!out.windows(7).any(|w| w == b"KESTREL"));
        // JFIF without a thumbnail, Adobe, the frame header and the coded data stay.
        assert!(out.windows(4).any(|w| w == b"JFIF"));
        assert!(out.windows(5).any(|w| w == b"Adobe"));
        assert!(out.windows(5).any(|w| w == [0x12, 0x34, 0xFF, 0x00, 0x56]));
        assert_eq!(size(&out), size(&s));
        assert!(without_text(&out).is_none(), "nothing left to strip");
        // A JFIF header with a thumbnail goes too.
        let mut thumb = vec![0xFF, 0xD8];
        thumb.extend(seg(
            0xE0,
            b"JFIF\0\x01\x02\0\0\x01\0\x01\x02\x02abcdefghijkl",
        ));
        thumb.extend([0xFF, 0xD9]);
        assert_eq!(without_text(&thumb).map(|(_, n)| n), Some(1));
    }

    #[test]
    fn jpeg_2000_comments_go_and_tile_parts_keep_true_lengths() {
        let marker = |m: u16, body: &[u8]| {
            let mut v = m.to_be_bytes().to_vec();
            v.extend(((body.len() + 2) as u16).to_be_bytes());
            v.extend(body);
            v
        };
        let mut s = vec![0xFF, 0x4F];
        let mut siz = vec![0, 0];
        for v in [16u32, 16, 0, 0, 16, 16, 0, 0] {
            siz.extend(v.to_be_bytes());
        }
        siz.extend([0, 1, 7, 1, 1]);
        s.extend(marker(0xFF51, &siz));
        s.extend(marker(0xFF64, b"\0\x01Kakadu KESTREL"));
        // One tile-part: SOT, a comment, SOD, 4 bytes of data.
        let com = marker(0xFF64, b"\0\x01tile KESTREL");
        let psot = (12 + com.len() + 2 + 4) as u32;
        let mut sot = vec![0, 0];
        sot.extend(psot.to_be_bytes());
        sot.extend([0, 1]);
        s.extend(marker(0xFF90, &sot));
        s.extend(&com);
        s.extend([0xFF, 0x93, 1, 2, 3, 4]);
        s.extend([0xFF, 0xD9]);
        let (out, removed) = without_text(&s).expect("stripped");
        assert_eq!(removed, 2);
        assert!(!out.windows(7).any(|w| w == b"KESTREL"));
        assert_eq!(size(&out), size(&s));
        // The tile-part's length is what is left of it.
        let sot_at = out.windows(2).position(|w| w == [0xFF, 0x90]).expect("SOT");
        let new = u32::from_be_bytes(out[sot_at + 6..sot_at + 10].try_into().unwrap());
        assert_eq!(new as usize, out.len() - 2 - sot_at);
        assert!(out.ends_with(&[0xFF, 0x93, 1, 2, 3, 4, 0xFF, 0xD9]));
    }

    /// A bare JPEG 2000 codestream of one tile-part (Psot as given) holding 4 bytes of data.
    fn j2k(psot_zero: bool) -> Vec<u8> {
        let mut s = vec![0xFF, 0x4F, 0xFF, 0x51, 0x00, 0x29, 0x00, 0x00];
        for v in [16u32, 16, 0, 0, 16, 16, 0, 0] {
            s.extend(v.to_be_bytes());
        }
        s.extend([0, 1, 7, 1, 1]);
        let psot: u32 = if psot_zero { 0 } else { 12 + 2 + 4 };
        s.extend([0xFF, 0x90, 0, 10, 0, 0]);
        s.extend(psot.to_be_bytes());
        s.extend([0, 1]);
        s.extend([0xFF, 0x93, 1, 2, 3, 4, 0xFF, 0xD9]);
        s
    }

    #[test]
    fn data_after_the_end_of_the_image_goes_and_padding_stays() {
        for psot_zero in [false, true] {
            let bare = j2k(psot_zero);
            assert_eq!(without_text(&bare), None, "nothing to remove");
            let mut padded = bare.clone();
            padded.push(0);
            assert_eq!(without_text(&padded), None, "zero padding is nothing");
            let mut hidden = bare.clone();
            hidden.extend(b"KESTREL^WANDA");
            assert_eq!(
                without_text(&hidden),
                Some((bare.clone(), 1)),
                "{psot_zero}"
            );
        }
        // (Without the test stream's APP0, which goes.)
        let mut jpeg = without_text(&jpeg(8, 8)).expect("its APP0 goes").0;
        assert_eq!(without_text(&jpeg), None);
        let clean = jpeg.clone();
        jpeg.extend(b"KESTREL 1961\0");
        assert_eq!(without_text(&jpeg), Some((clean.clone(), 1)));
        // Another stream after the first is left to the decoders, as before.
        let mut two = clean.clone();
        two.extend(&clean);
        assert_eq!(without_text(&two), None);
    }

    /// One box of an ISO base media file: length, type, contents.
    fn b(t: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend(t);
        v.extend(body);
        v
    }

    #[test]
    fn the_boxes_of_a_jp2_file_or_a_jpeg_xl_container_go_and_the_codestream_stays() {
        let codestream = j2k(false);
        let boxed = |cs: &[u8], last_to_end: bool| {
            let mut f = JP2_SIGNATURE.to_vec();
            f.extend(b(b"ftyp", b"jp2 \0\0\0\0jp2 "));
            f.extend(b(b"xml ", b"<patient>KESTREL^WANDA</patient>"));
            if last_to_end {
                f.extend([0, 0, 0, 0]);
                f.extend(b"jp2c");
                f.extend(cs);
            } else {
                f.extend(b(b"jp2c", cs));
                f.extend(b(b"uuid", b"0123456789abcdefEXIF KESTREL"));
            }
            f
        };
        for last_to_end in [false, true] {
            let (out, removed) = without_text(&boxed(&codestream, last_to_end)).expect("unboxed");
            assert_eq!(out, codestream);
            assert_eq!(removed, 1);
        }
        // A JPEG XL container: its codestream whole, or in parts, without its Exif and XMP.
        let jxl = |parts: &[&[u8]]| {
            let mut f = JXL_SIGNATURE.to_vec();
            f.extend(b(b"ftyp", b"jxl \0\0\0\0jxl "));
            f.extend(b(b"Exif", b"\0\0\0\0MM\0*Artist KESTREL"));
            if let [whole] = parts {
                f.extend(b(b"jxlc", whole));
            } else {
                for (k, part) in parts.iter().enumerate() {
                    let mut body = (k as u32).to_be_bytes().to_vec();
                    body.extend(*part);
                    f.extend(b(b"jxlp", &body));
                }
            }
            f.extend(b(b"xml ", b"<x:xmpmeta>KESTREL</x:xmpmeta>"));
            f
        };
        let bare: &[u8] = &[0xFF, 0x0A, 1, 2, 3, 4, 5, 6];
        for parts in [vec![bare], vec![&bare[..3], &bare[3..]]] {
            assert_eq!(without_text(&jxl(&parts)), Some((bare.to_vec(), 1)));
            let mut padded = jxl(&parts);
            padded.push(0);
            assert_eq!(without_text(&padded), Some((bare.to_vec(), 1)), "padding");
        }
        assert_eq!(without_text(&jxl(&[b"not jxl"])), None);
        // Lengths that run past the end, or no codestream inside: left to the decoders.
        let mut bad = boxed(&codestream, false);
        bad[JP2_SIGNATURE.len() + 3] = 0xFF;
        assert_eq!(without_text(&bad), None);
        assert_eq!(without_text(&boxed(b"not a codestream", false)), None);
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
