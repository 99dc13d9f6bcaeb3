//! Reading and writing, checked against dicom-rs's own writer and reader on files of every
//! kind: the sample study, an 8-bit ultrasound with text burned in, an image of an odd
//! number of bytes, in each little endian syntax and deflated. (The fixtures serve the
//! de-identification's tests too.)

use dicom_dictionary_std::{tags, uids};
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_transfer_syntax_registry::entries::{
    DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN,
};

use super::{header_and_memory, header_len, precheck, read_file, read_file_owned, write_part10};

/// The sample's first image turned into a 240×320 8-bit ultrasound frame with two lines
/// of fake text burned in. Returns the file and its pixels.
pub(crate) fn ultrasound_with_text() -> (Vec<u8>, Vec<u8>) {
    ultrasound_with(&[("FAKE 1901", 6, 4, 1, 250), ("KAFE", 200, 210, 2, 230)])
}

/// A 320×240 8-bit ultrasound image with `lines` (text, x, y, scale, level) drawn over its
/// "anatomy": its Part 10 bytes and its pixels.
pub(crate) fn ultrasound_with(lines: &[(&str, usize, usize, usize, u8)]) -> (Vec<u8>, Vec<u8>) {
    use crate::pixels::detect::tests::{draw, frame};
    use dicom_core::value::PrimitiveValue;
    use dicom_core::{DataElement, VR};
    let mut f = frame(240, 320);
    for &(text, x, y, scale, level) in lines {
        draw(&mut f, text, x, y, scale, level);
    }
    let file = read_file(&crate::sample::sample_study()[0].1).expect("sample");
    let meta = file.meta().clone();
    let mut obj = file.into_inner();
    let us = |t, v: u16| DataElement::new(t, VR::US, PrimitiveValue::from(v));
    for (t, v) in [
        (tags::ROWS, 240),
        (tags::COLUMNS, 320),
        (tags::BITS_ALLOCATED, 8),
        (tags::BITS_STORED, 8),
        (tags::HIGH_BIT, 7),
        (tags::PIXEL_REPRESENTATION, 0),
    ] {
        obj.put(us(t, v));
    }
    obj.put(DataElement::new(
        tags::MODALITY,
        VR::CS,
        PrimitiveValue::from("US"),
    ));
    obj.remove_element(tags::WINDOW_CENTER);
    obj.remove_element(tags::WINDOW_WIDTH);
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::U8(f.data.clone().into()),
    ));
    let mut bytes = Vec::new();
    obj.with_exact_meta(meta)
        .write_all(&mut bytes)
        .expect("written");
    (bytes, f.data)
}

/// The sample study, the 8-bit ultrasound image, and that image with an odd number of
/// pixel bytes (padded when written).
pub(crate) fn files_of_every_kind() -> Vec<Vec<u8>> {
    use dicom_core::value::PrimitiveValue;
    use dicom_core::{DataElement, VR};
    let mut files: Vec<_> = crate::sample::sample_study()
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    let (us, _) = ultrasound_with_text();
    let mut odd = read_file(&us).expect("parses");
    odd.put(DataElement::new(
        tags::ROWS,
        VR::US,
        PrimitiveValue::from(3_u16),
    ));
    odd.put(DataElement::new(
        tags::COLUMNS,
        VR::US,
        PrimitiveValue::from(5_u16),
    ));
    odd.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::U8((0..15).collect()),
    ));
    files.extend([us, written(&odd)]);
    files
}

/// A file read and set to transfer syntax `ts` (written in it when written out).
pub(crate) fn in_syntax(bytes: &[u8], ts: &str) -> dicom_object::DefaultDicomObject {
    let mut file = read_file(bytes).expect("parses");
    let syntax = dicom_transfer_syntax_registry::TransferSyntaxRegistry
        .get(ts)
        .expect("known");
    file.meta_mut().set_transfer_syntax(syntax);
    file
}

/// A file read and set to each little endian transfer syntax (explicit, then implicit VR).
pub(crate) fn in_little_endian(
    bytes: &[u8],
) -> Vec<(&'static str, dicom_object::DefaultDicomObject)> {
    [
        uids::EXPLICIT_VR_LITTLE_ENDIAN,
        uids::IMPLICIT_VR_LITTLE_ENDIAN,
    ]
    .into_iter()
    .map(|ts| (ts, in_syntax(bytes, ts)))
    .collect()
}

/// The bytes of `file` as dicom-rs writes it.
pub(crate) fn written(file: &dicom_object::DefaultDicomObject) -> Vec<u8> {
    let mut bytes = Vec::new();
    file.write_all(&mut bytes).expect("written");
    bytes
}

#[test]
fn the_pixel_data_shortcut_writes_what_dicom_rs_writes() {
    for bytes in files_of_every_kind() {
        for (ts, file) in in_little_endian(&bytes) {
            let plain = written(&file);
            let ours = write_part10(file).expect("written");
            assert!(plain == ours, "same bytes in {ts}");
        }
    }
}

#[test]
fn deflated_files_are_written_as_dicom_rs_writes_them() {
    use std::io::Read;
    for bytes in files_of_every_kind() {
        let file = in_syntax(&bytes, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN.uid());
        let theirs = written(&file);
        let ours = write_part10(file).expect("written");
        // The same meta group, and the same data set once inflated (the deflate streams
        // themselves may differ: they were cut into pieces differently).
        let meta_end = |b: &[u8]| 132 + precheck::meta_group(&b[132..]).expect("meta").len;
        assert_eq!(meta_end(&ours), meta_end(&theirs));
        assert!(
            ours[..meta_end(&ours)] == theirs[..meta_end(&theirs)],
            "meta group"
        );
        let inflate = |b: &[u8]| {
            let mut out = Vec::new();
            flate2::read::DeflateDecoder::new(&b[meta_end(b)..])
                .read_to_end(&mut out)
                .expect("a raw deflate stream");
            out
        };
        assert!(inflate(&ours) == inflate(&theirs), "data set");
        let again = read_file(&ours).expect("read back");
        assert_eq!(
            again.meta().transfer_syntax(),
            DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN.uid()
        );
        assert!(written(&again) == theirs);
    }
}

#[test]
fn bytes_given_up_are_read_as_the_same_file() {
    let mut trailing = 0;
    for bytes in files_of_every_kind() {
        for (ts, file) in in_little_endian(&bytes) {
            let out = written(&file);
            if precheck::trailing_pixels(&out, out.len()).is_some() {
                trailing += 1;
            }
            let read = read_file(&out).expect("parses");
            let owned = read_file_owned(out.clone()).expect("parses");
            // (Parsed objects are compared by what they write: dicom-rs never finds
            // two undefined lengths equal.)
            assert_eq!(read.meta(), owned.meta());
            // (16-bit words may be held as their bytes: the same bytes, the same VR.)
            let pixels = |f: &dicom_object::DefaultDicomObject| {
                f.get(tags::PIXEL_DATA)
                    .map(|e| (e.vr(), e.value().to_bytes().ok().map(|b| b.to_vec())))
            };
            assert_eq!(pixels(&read), pixels(&owned), "{ts}");
            assert!(written(&read) == written(&owned), "the same file in {ts}");
        }
    }
    // The shortcut was taken (by the 8-bit and 16-bit images, in both syntaxes).
    assert!(trailing >= 6, "{trailing}");
    // Not taken when something follows the pixel data.
    let (us, _) = ultrasound_with_text();
    assert!(precheck::trailing_pixels(&us, us.len()).is_some());
    let mut padded = us.clone();
    padded.extend([0xFC, 0xFF, 0xFC, 0xFF, b'O', b'B', 0, 0, 2, 0, 0, 0, 0, 0]);
    assert_eq!(precheck::trailing_pixels(&padded, padded.len()), None);
    let owned = read_file_owned(padded.clone()).expect("parses");
    assert!(owned.get(dicom_core::Tag(0xFFFC, 0xFFFC)).is_some());
    // Words (OW) as well as bytes; no other VR.
    let at = us.len() - 76_800 - 8;
    assert_eq!(&us[at..at + 2], b"OB");
    let mut words = us.clone();
    words[at..at + 2].copy_from_slice(b"OW");
    let found = precheck::trailing_pixels(&words, words.len()).expect("OW");
    assert_eq!(found.vr, dicom_core::VR::OW);
    words[at..at + 2].copy_from_slice(b"UN");
    assert_eq!(precheck::trailing_pixels(&words, words.len()), None);
    // Damaged bytes are refused as they are by read_file.
    let (mut us, _) = ultrasound_with_text();
    us.truncate(us.len() - 1);
    assert!(read_file_owned(us.clone()).is_err() == read_file(&us).is_err());
    assert!(read_file_owned(b"not dicom".to_vec()).is_err());
}

#[test]
fn memory_is_estimated_from_the_start_of_a_file() {
    let (us, _) = ultrasound_with_text();
    let len = us.len() as u64;
    let head = &us[..us.len() - 76_000];
    let header = header_len(head);
    assert!(header.is_some());
    assert_eq!(header_and_memory(head, len), (header, len));
    // So does a 16-bit image in explicit VR little endian.
    let ct = &crate::sample::sample_study()[0].1;
    let ct_len = ct.len() as u64;
    assert_eq!(header_and_memory(ct, ct_len), (header_len(ct), ct_len));
    // And in implicit VR.
    let bytes = written(&in_syntax(ct, uids::IMPLICIT_VR_LITTLE_ENDIAN));
    let n = bytes.len() as u64;
    assert_eq!(header_and_memory(&bytes, n), (header_len(&bytes), n));
    // Anything else (a file that is not what its size says, big endian) counts twice.
    assert_eq!(header_and_memory(head, len + 2), (header, 2 * len + 4));
    let bytes = written(&in_syntax(
        ct,
        crate::dicom::transfer_syntax::EXPLICIT_VR_BIG_ENDIAN,
    ));
    let n = bytes.len() as u64;
    assert_eq!(header_and_memory(&bytes, n), (header_len(&bytes), 2 * n));
    assert_eq!(header_and_memory(b"DICM", 10), (None, 20));
    // A deflated file counts for what it inflates to, twice, and its own size.
    let bytes = written(&in_syntax(ct, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN.uid()));
    let n = bytes.len() as u64;
    let inflated = written(&in_syntax(ct, EXPLICIT_VR_LITTLE_ENDIAN.uid()));
    let data_set = inflated.len() - 132 - precheck::meta_group(&inflated[132..]).unwrap().len;
    assert!(data_set as u64 > 2 * n, "the sample compresses");
    assert_eq!(
        header_and_memory(&bytes, n),
        (None, n + 2 * data_set as u64)
    );
}
