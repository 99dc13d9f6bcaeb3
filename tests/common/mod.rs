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

/// One element, explicit VR little endian (the long form for OB, OW, SQ, UN, UT and the
/// like). `length` overrides the value's own length (for damaged files).
pub fn element(group: u16, elem: u16, vr: &[u8; 2], value: &[u8], length: Option<u32>) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(group.to_le_bytes());
    out.extend(elem.to_le_bytes());
    out.extend(vr);
    let len = length.unwrap_or(value.len() as u32);
    if matches!(
        vr,
        b"OB" | b"OW" | b"OF" | b"SQ" | b"UN" | b"UT" | b"UC" | b"UR" | b"OD" | b"OL" | b"OV"
    ) {
        out.extend([0, 0]);
        out.extend(len.to_le_bytes());
    } else {
        out.extend((len as u16).to_le_bytes());
    }
    out.extend(value);
    out
}

/// An item or delimiter header: (FFFE,tag) with a 32-bit length.
pub fn item_header(elem: u16, length: u32) -> Vec<u8> {
    let mut out = vec![0xFE, 0xFF];
    out.extend(elem.to_le_bytes());
    out.extend(length.to_le_bytes());
    out
}

/// Where the element `(group, elem)` with `vr` starts in an explicit VR LE file, if found.
pub fn find_element(bytes: &[u8], group: u16, elem: u16, vr: &[u8; 2]) -> Option<usize> {
    let mut pat = Vec::new();
    pat.extend(group.to_le_bytes());
    pat.extend(elem.to_le_bytes());
    pat.extend(vr);
    bytes.windows(6).position(|w| w == pat.as_slice())
}

/// Damaged and hostile files of every kind a malformed-input suite names, made from a valid
/// explicit VR little endian sample file (whose last element is Pixel Data): each must end in
/// a clear per-file error (or, for harmless damage, a clean result), never a panic, a trap or
/// a huge allocation.
pub fn crafted_cases(sample: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let mut cases: Vec<(&'static str, Vec<u8>)> = Vec::new();
    // Private elements after Pixel Data (7FE0,0010), in tag order.
    let creator = element(0x7FE1, 0x0010, b"LO", b"OBSCURA TEST", None);
    let tail = |extra: &[u8]| {
        let mut v = sample.to_vec();
        v.extend(&creator);
        v.extend(extra);
        v
    };
    cases.push(("empty file", Vec::new()));
    cases.push((
        "not DICOM",
        b"This is a text file, not an image.\n".to_vec(),
    ));
    cases.push(("only the preamble", vec![0u8; 132]));
    // A length of gigabytes in a small file.
    cases.push((
        "declared length of 4 GB",
        tail(&element(0x7FE1, 0x1011, b"OB", &[1; 10], Some(0xFFFF_FFF0))),
    ));
    cases.push((
        "declared length of 1 GB",
        tail(&element(0x7FE1, 0x1011, b"UT", b"abc", Some(0x4000_0000))),
    ));
    // A sequence and an item of undefined length, never closed.
    let mut open = element(0x7FE1, 0x1010, b"SQ", &[], Some(0xFFFF_FFFF));
    open.extend(item_header(0xE000, 0xFFFF_FFFF));
    open.extend(element(0x0008, 0x0100, b"SH", b"FAKEDOE1", None));
    cases.push(("undefined length never closed", tail(&open)));
    // Sequences nested 5000 deep (closed, then not closed).
    for (name, close) in [
        ("sequences nested 5000 deep", true),
        ("sequences nested 5000 deep, never closed", false),
    ] {
        let mut deep = Vec::new();
        for _ in 0..5000 {
            deep.extend(element(0x7FE1, 0x1010, b"SQ", &[], Some(0xFFFF_FFFF)));
            deep.extend(item_header(0xE000, 0xFFFF_FFFF));
        }
        if close {
            for _ in 0..5000 {
                deep.extend(item_header(0xE00D, 0));
                deep.extend(item_header(0xE0DD, 0));
            }
        }
        cases.push((name, tail(&deep)));
    }
    // Deflated data sets (PS3.5 A.5): the same hostile structures inside the deflate
    // stream, and a deflate bomb (8 MiB of zeros in a few kilobytes).
    let data_set = &sample[132 + 12 + meta_group_len(sample)..];
    let mut deep = data_set.to_vec();
    for _ in 0..5000 {
        deep.extend(element(0x7FE1, 0x1010, b"SQ", &[], Some(0xFFFF_FFFF)));
        deep.extend(item_header(0xE000, 0xFFFF_FFFF));
    }
    cases.push((
        "deflated, sequences nested 5000 deep",
        deflated(sample, &deep),
    ));
    let mut long = data_set.to_vec();
    long.extend(&creator);
    long.extend(element(0x7FE1, 0x1011, b"OB", &[1; 10], Some(0x6000_0000)));
    cases.push((
        "deflated, declared length of 1.5 GB",
        deflated(sample, &long),
    ));
    let mut bomb = data_set.to_vec();
    bomb.extend(&creator);
    bomb.extend(element(0x7FE1, 0x1011, b"OB", &vec![0; 8 << 20], None));
    cases.push(("deflate bomb", deflated(sample, &bomb)));
    // Odd and wrong lengths of Patient's Name.
    if let Some(at) = find_element(sample, 0x0010, 0x0010, b"PN") {
        let len = u16::from_le_bytes([sample[at + 6], sample[at + 7]]);
        for (name, new) in [
            ("odd length", len + 1),
            ("length past the end", 0xFFFF),
            ("length of zero", 0),
        ] {
            let mut v = sample.to_vec();
            v[at + 6..at + 8].copy_from_slice(&new.to_le_bytes());
            cases.push((name, v));
        }
        // Wrong VRs.
        for (name, vr) in [
            ("unknown VR", b"ZZ"),
            ("text read as a sequence", b"SQ"),
            ("text read as bytes", b"OB"),
        ] {
            let mut v = sample.to_vec();
            v[at + 4..at + 6].copy_from_slice(vr);
            cases.push((name, v));
        }
    }
    // A transfer syntax no one knows, and one that is not a UID.
    let ts = b"1.2.840.10008.1.2.1";
    if let Some(at) = sample[..sample.len().min(400)]
        .windows(ts.len())
        .position(|w| w == ts)
    {
        for (name, bad) in [
            ("unknown transfer syntax", b"1.2.3.4.5.6.7.8.9.0"),
            (
                "transfer syntax not a UID",
                b"not-a-uid\0\0\0\0\0\0\0\0\0\0",
            ),
        ] {
            let mut v = sample.to_vec();
            v[at..at + ts.len()].copy_from_slice(bad);
            cases.push((name, v));
        }
    }
    // Cut at every element boundary of the data set (and one byte into each header).
    let mut at = 132 + 12 + meta_group_len(sample);
    let mut cuts = vec![10, 131, 140];
    while at + 8 <= sample.len() {
        cuts.push(at);
        cuts.push(at + 1);
        let vr = [sample[at + 4], sample[at + 5]];
        let long = matches!(
            &vr,
            b"OB" | b"OW" | b"OF" | b"SQ" | b"UN" | b"UT" | b"UC" | b"UR" | b"OD" | b"OL" | b"OV"
        );
        let (len, head) = if long {
            (
                u32::from_le_bytes([
                    sample[at + 8],
                    sample[at + 9],
                    sample[at + 10],
                    sample[at + 11],
                ]) as usize,
                12,
            )
        } else {
            (
                u16::from_le_bytes([sample[at + 6], sample[at + 7]]) as usize,
                8,
            )
        };
        if len == 0xFFFF_FFFF {
            break; // undefined length: its inner boundaries are left to the byte-by-byte cuts
        }
        at += head + len;
    }
    for cut in cuts {
        if cut < sample.len() {
            cases.push(("truncated at an element boundary", sample[..cut].to_vec()));
        }
    }
    cases
}

/// The length of the file meta group of an explicit VR little endian Part 10 `sample` (its
/// group length's value).
pub fn meta_group_len(sample: &[u8]) -> usize {
    u32::from_le_bytes([sample[140], sample[141], sample[142], sample[143]]) as usize
}

/// A Part 10 file with `sample`'s meta group (Transfer Syntax UID made Deflated Explicit VR
/// Little Endian) and `data_set` (explicit VR little endian) deflated after it.
pub fn deflated(sample: &[u8], data_set: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let meta = &sample[132 + 12..132 + 12 + meta_group_len(sample)];
    let mut group = Vec::new();
    let mut at = 0;
    while at + 8 <= meta.len() {
        let elem = u16::from_le_bytes([meta[at + 2], meta[at + 3]]);
        let vr = [meta[at + 4], meta[at + 5]];
        let (len, head) = if vr == *b"OB" {
            let l = &meta[at + 8..at + 12];
            (u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize, 12)
        } else {
            (u16::from_le_bytes([meta[at + 6], meta[at + 7]]) as usize, 8)
        };
        if elem == 0x0010 {
            group.extend(element(
                0x0002,
                0x0010,
                b"UI",
                b"1.2.840.10008.1.2.1.99",
                None,
            ));
        } else {
            group.extend(&meta[at..at + head + len]);
        }
        at += head + len;
    }
    let mut out = sample[..128].to_vec();
    out.extend(b"DICM");
    out.extend(element(
        0x0002,
        0x0000,
        b"UL",
        &(group.len() as u32).to_le_bytes(),
        None,
    ));
    out.extend(group);
    let mut z = flate2::write::DeflateEncoder::new(out, flate2::Compression::default());
    z.write_all(data_set).expect("deflate");
    z.finish().expect("deflate")
}

/// The 64×64 16-bit sample CT (`sample`) as an 8-bit JPEG Baseline file (made with the
/// `jpeg-encoder` crate), with `change` applied to its data set.
pub fn jpeg_baseline(
    sample: &[u8],
    change: impl FnOnce(&mut dicom_object::InMemDicomObject),
) -> Vec<u8> {
    use dicom_core::value::{PixelFragmentSequence, PrimitiveValue, Value};
    use dicom_core::{DataElement, VR};
    use dicom_dictionary_std::tags;
    let file = dicom_object::OpenFileOptions::new()
        .read_preamble(dicom_object::file::ReadPreamble::Always)
        .from_reader(sample)
        .expect("parses");
    let pixels = file
        .get(tags::PIXEL_DATA)
        .and_then(|e| e.value().to_bytes().ok())
        .expect("pixels");
    let grey: Vec<u8> = pixels
        .chunks_exact(2)
        .map(|p| (u16::from_le_bytes([p[0], p[1]]) >> 4).min(255) as u8)
        .collect();
    let mut stream = Vec::new();
    jpeg_encoder::Encoder::new(&mut stream, 90)
        .encode(&grey, 64, 64, jpeg_encoder::ColorType::Luma)
        .expect("encoded");
    if stream.len() % 2 == 1 {
        stream.push(0);
    }
    with(
        sample,
        |o| {
            for (tag, v) in [
                (tags::BITS_ALLOCATED, 8u16),
                (tags::BITS_STORED, 8),
                (tags::HIGH_BIT, 7),
                (tags::PIXEL_REPRESENTATION, 0),
            ] {
                o.put(DataElement::new(tag, VR::US, PrimitiveValue::from(v)));
            }
            let fragments = PixelFragmentSequence::new(Vec::<u32>::new(), vec![stream]);
            o.put(DataElement::new(
                tags::PIXEL_DATA,
                VR::OB,
                Value::from(fragments),
            ));
            change(o);
        },
        Some("1.2.840.10008.1.2.4.50"),
    )
}

/// A JPEG file (from [`jpeg_baseline`]) whose codestream's frame header claims `rows` ×
/// `cols` while its Rows and Columns stay as they were: a decoder believing it allocates
/// gigabytes. `marker` is the frame header's (0xC0 baseline, 0xF7 JPEG-LS).
pub fn jpeg_claiming(jpeg: &[u8], marker: u8, rows: u16, cols: u16) -> Vec<u8> {
    let at = jpeg
        .windows(4)
        .position(|w| w == [0xFF, 0xC0, 0x00, 0x0B])
        .expect("a baseline frame header");
    let mut out = jpeg.to_vec();
    out[at + 1] = marker;
    out[at + 5..at + 7].copy_from_slice(&rows.to_be_bytes());
    out[at + 7..at + 9].copy_from_slice(&cols.to_be_bytes());
    out
}

/// `sample` (a Part 10 file) with standard attributes stored as UN (`(group, element)` and
/// the value's bytes), as a converter that did not know them writes them (explicit VR, a
/// defined length); each replaces the attribute of its tag if there is one.
pub fn with_un(sample: &[u8], values: &[((u16, u16), Vec<u8>)]) -> Vec<u8> {
    use dicom_core::value::PrimitiveValue;
    use dicom_core::{DataElement, Tag, VR};
    with(
        sample,
        |o| {
            for ((g, e), v) in values {
                o.put(DataElement::new(
                    Tag(*g, *e),
                    VR::UN,
                    PrimitiveValue::U8(v.clone().into()),
                ));
            }
        },
        None,
    )
}

/// An element in implicit VR little endian (as items of a UN sequence hold them).
pub fn implicit(group: u16, elem: u16, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(group.to_le_bytes());
    out.extend(elem.to_le_bytes());
    out.extend((value.len() as u32).to_le_bytes());
    out.extend(value);
    out
}

/// An archive whose directory lists its one entry (`data`) `copies` times, every record
/// pointing at the same data: the overlapping ZIP bomb, one stream inflated again and again.
pub fn zip_overlapping(data: &[u8], copies: u16) -> Vec<u8> {
    let mut z = obscura::package::ZipStream::new();
    let mut bytes = z.add("a.dcm", data);
    let cd = bytes.len();
    bytes.extend(z.finish());
    let eocd = bytes.len() - 22;
    let record = bytes[cd..eocd].to_vec();
    let mut out = bytes[..cd].to_vec();
    for _ in 0..copies {
        out.extend(&record);
    }
    let mut end = bytes[eocd..].to_vec();
    end[8..10].copy_from_slice(&copies.to_le_bytes());
    end[10..12].copy_from_slice(&copies.to_le_bytes());
    end[12..16].copy_from_slice(&(record.len() as u32 * u32::from(copies)).to_le_bytes());
    out.extend(end);
    out
}

/// A JPEG file (from [`jpeg_baseline`]) with text in its codestream, after its SOI: an EXIF
/// segment naming the camera's owner and a comment, each holding `text`.
pub fn jpeg_with_text(jpeg: &[u8], text: &str) -> Vec<u8> {
    let at = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xD8])
        .expect("a JPEG stream")
        + 2;
    let segment = |marker: u8, body: &[u8]| {
        let mut v = vec![0xFF, marker];
        v.extend(((body.len() + 2) as u16).to_be_bytes());
        v.extend(body);
        v
    };
    let mut inserted = segment(0xE1, format!("Exif\0\0Artist {text}").as_bytes());
    inserted.extend(segment(0xFE, format!("patient {text}").as_bytes()));
    if inserted.len() % 2 == 1 {
        inserted.extend(segment(0xFE, b""));
    }
    let mut out = jpeg[..at].to_vec();
    out.extend(&inserted);
    out.extend(&jpeg[at..]);
    // The fragment, the Pixel Data element and the item holding it grow alike.
    let grow = |bytes: &mut Vec<u8>, at: usize| {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        bytes[at..at + 4].copy_from_slice(&(len + inserted.len() as u32).to_le_bytes());
    };
    // The fragment's item header sits just before the stream.
    let item = (0..at - 2)
        .rev()
        .find(|&i| out[i..i + 4] == [0xFE, 0xFF, 0x00, 0xE0] && i + 8 == at - 2)
        .expect("the fragment's item");
    grow(&mut out, item + 4);
    out
}

/// `bytes` (a Part 10 file) with its data set changed by `change` and, when `ts` is given,
/// its transfer syntax set to it.
pub fn with(
    bytes: &[u8],
    change: impl FnOnce(&mut dicom_object::InMemDicomObject),
    ts: Option<&str>,
) -> Vec<u8> {
    let file = obscura::dicom::read_file(bytes).expect("a readable file");
    let mut meta = file.meta().clone();
    if let Some(ts) = ts {
        meta.transfer_syntax = ts.to_string();
    }
    let mut obj = file.into_inner();
    change(&mut obj);
    let mut out = Vec::new();
    obj.with_exact_meta(meta)
        .write_all(&mut out)
        .expect("written");
    out
}

/// `bytes` (a Part 10 file of one image) made an 8-bit image whose pixel bytes (VR OB) end
/// the file, as ultrasound and screen captures are: the case where the core works on the
/// pixel bytes in the buffer they were read into.
pub fn eight_bit(bytes: &[u8]) -> Vec<u8> {
    use dicom_core::value::PrimitiveValue;
    use dicom_core::{DataElement, VR};
    use dicom_dictionary_std::tags;
    with(
        bytes,
        |obj| {
            let rows = obscura::attrs::uint(obj, tags::ROWS).unwrap_or(1);
            let cols = obscura::attrs::uint(obj, tags::COLUMNS).unwrap_or(1);
            let n = (rows * cols) as usize;
            for (t, v) in [
                (tags::BITS_ALLOCATED, 8_u16),
                (tags::BITS_STORED, 8),
                (tags::HIGH_BIT, 7),
            ] {
                obj.put(DataElement::new(t, VR::US, PrimitiveValue::from(v)));
            }
            let pixels: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
            obj.put(DataElement::new(
                tags::PIXEL_DATA,
                VR::OB,
                PrimitiveValue::U8(pixels.into()),
            ));
        },
        Some("1.2.840.10008.1.2.1"),
    )
}

/// White fake text drawn into an RGBA frame of `cols` columns (see
/// `obscura::sample::burn_text`); the pixels drawn.
pub fn draw_text(
    rgba: &mut [u8],
    cols: usize,
    text: &str,
    x: usize,
    y: usize,
    scale: usize,
) -> Vec<(u32, u32)> {
    obscura::sample::burn_text(rgba, cols, text, (x, y), scale, &[250, 250, 250, 255])
}
