//! The core compiled to WebAssembly, run in headless Chromium (wasm-bindgen-test): the same
//! guarantees as natively, in the environment users actually run.
#![cfg(target_arch = "wasm32")]

use obscura::deid::{Outcome, Policy, ProjectKey, Session};
use obscura::package::PackageWriter;
use obscura::sample::{sample_study, CANARIES};
use wasm_bindgen_test::*;

mod common;

wasm_bindgen_test_configure!(run_in_browser);

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[wasm_bindgen_test]
fn sample_study_is_deidentified_in_the_browser_without_leaks() {
    let mut session = Session::new(Policy::basic(ProjectKey::from_bytes([9; 32])));
    let mut package = PackageWriter::new();
    let mut archive = Vec::new();
    let mut study_uids = std::collections::BTreeSet::new();
    for (name, bytes) in sample_study() {
        let d = session
            .deidentify(&bytes)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        for canary in CANARIES {
            assert!(!contains(&d.bytes, canary), "{canary} leaked in {name}");
        }
        assert!(d.after.study_uid.starts_with("2.25."));
        study_uids.insert((d.before.study_uid.clone(), d.after.study_uid.clone()));
        archive.extend(package.add(&d).1);
    }
    // Two original studies, each mapped to exactly one new UID.
    assert_eq!(study_uids.len(), 2);
    archive.extend(package.trailer(session.policy()));
    assert_eq!(&archive[..4], b"PK\x03\x04");
    for canary in CANARIES {
        assert!(!contains(&archive, canary), "{canary} in the package");
    }
}

#[wasm_bindgen_test]
fn bad_input_is_excluded_without_a_panic() {
    let mut session = Session::new(Policy::basic(ProjectKey::from_bytes([1; 32])));
    let good = &sample_study()[0].1;
    for cut in [0, 10, 131, 132, 200, 400, good.len() / 2] {
        match session.process(&good[..cut]) {
            Outcome::Excluded(_) => {}
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
    assert!(session.deidentify(good).is_ok());
}

#[wasm_bindgen_test]
fn damaged_files_are_excluded_in_the_browser_without_a_trap() {
    // In wasm a panic or a failed huge allocation stops the module: none may happen.
    let mut session = Session::new(Policy::basic(ProjectKey::from_bytes([2; 32])));
    let bases: Vec<Vec<u8>> = sample_study().into_iter().map(|(_, b)| b).collect();
    let mut rng = common::Rng(0x5EED_0B5C_0A2A_0001);
    for round in 0..500 {
        let input = common::mutate(&mut rng, &bases[round % bases.len()]);
        let _ = session.process(&input);
    }
    // Every kind of damage the malformed-input suite names (lengths of gigabytes, sequences
    // nested 5000 deep, undefined lengths never closed, wrong VRs and transfer syntaxes...).
    for (name, bytes) in common::crafted_cases(&bases[0]) {
        if let Outcome::Excluded(e) = session.process(&bytes) {
            assert!(!e.to_string().is_empty(), "{name}");
        }
    }
    // A ZIP bomb (64 MiB of zeros that says it holds 1000 bytes) is stopped at 1000 bytes.
    let mut zip = obscura::package::ZipStream::new();
    let mut archive = zip.add("bomb.dcm", &vec![0u8; 64 << 20]);
    let cd_at = archive.len();
    archive.extend(zip.finish());
    archive[22..26].copy_from_slice(&1000u32.to_le_bytes());
    archive[cd_at + 24..cd_at + 28].copy_from_slice(&1000u32.to_le_bytes());
    let reader = obscura::input::ZipArchive::new(&archive).expect("directory");
    let entry = reader.files().next().expect("entry");
    assert!(reader.read(entry).is_err());
    assert!(
        session.deidentify(&bases[0]).is_ok(),
        "the module still works"
    );
}

/// The CRC-32 the package's entries get in the browser (zlib-rs's braided tables there) is
/// the one crc32fast computes, for lengths around the braid's words and blocks and beyond.
#[wasm_bindgen_test]
fn crc_of_entries_in_the_browser_is_the_zip_crc() {
    assert_eq!(obscura::crc::hash(b"123456789"), 0xCBF4_3926);
    let data: Vec<u8> = (0u32..70_000)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for len in (0..200).chain([4095, 4096, 4097, 65_535, 70_000]) {
        let d = &data[..len];
        assert_eq!(obscura::crc::hash(d), crc32fast::hash(d), "length {len}");
    }
}

/// Images whose declared size would wrap around WebAssembly's 32-bit words (a damaged or
/// hostile header), and 32-bit and 1-bit images, with a rule that applies to every image:
/// blanked or excluded, never a trap.
#[wasm_bindgen_test]
fn pixel_sizes_that_would_wrap_in_32_bits_are_refused_without_a_trap() {
    use dicom_core::value::PrimitiveValue;
    use dicom_core::{DataElement, VR};
    use dicom_dictionary_std::tags;
    let rules = obscura::pixels::RegionRules::from_json(
        r#"{"rules": [{"name": "all", "regions": [{"x": 0, "y": 0, "w": 4, "h": 4}]}]}"#,
    )
    .expect("rules");
    let mut policy = Policy::basic(ProjectKey::from_bytes([3; 32]));
    policy.pixel_rules = rules;
    let mut session = Session::new(policy);
    let base = &sample_study()[0].1;
    let us = |t, v: u16| DataElement::new(t, VR::US, PrimitiveValue::from(v));
    // (rows, columns, samples, bits allocated, frames, whether it can be blanked)
    for (rows, cols, spp, bits, frames, fine) in [
        (65535, 65535, 3, 32, 1, false),
        (65535, 65535, 1, 16, 40000, false),
        (64, 64, 1, 1, 2_000_000_000, false),
        (64, 64, 1, 32, 1, true),
        (64, 64, 1, 1, 1, true),
    ] {
        let bytes = common::with(
            base,
            |o| {
                for (t, v) in [
                    (tags::ROWS, rows),
                    (tags::COLUMNS, cols),
                    (tags::SAMPLES_PER_PIXEL, spp),
                    (tags::BITS_ALLOCATED, bits),
                    (tags::BITS_STORED, bits),
                    (tags::HIGH_BIT, bits - 1),
                ] {
                    o.put(us(t, v));
                }
                if spp == 3 {
                    o.put(DataElement::new(
                        tags::PHOTOMETRIC_INTERPRETATION,
                        VR::CS,
                        PrimitiveValue::from("RGB"),
                    ));
                }
                o.put(DataElement::new(
                    tags::NUMBER_OF_FRAMES,
                    VR::IS,
                    PrimitiveValue::from(frames.to_string()),
                ));
                let len = (64 * 64 * usize::from(bits)).div_ceil(8);
                o.put(DataElement::new(
                    tags::PIXEL_DATA,
                    VR::OB,
                    PrimitiveValue::U8(vec![7; len.max(2)].into()),
                ));
            },
            None,
        );
        let what = format!("{rows}x{cols}x{spp} of {bits} bits, {frames} frames");
        match (session.process(&bytes), fine) {
            (Outcome::Done(_), true) | (Outcome::Excluded(_), false) => {}
            (other, _) => panic!("{what}: {other:?}"),
        }
    }
}

/// The text detection model loads in the browser (from bytes, as the page gives it after
/// fetching it from its own origin), is refused when it is not the expected file, and finds a
/// line of text drawn over a textured frame there.
#[wasm_bindgen_test]
fn the_text_detector_loads_and_finds_text_in_the_browser() {
    use obscura::pixels::text_model::{ModelError, TextModel};
    static MODEL: &[u8] = include_bytes!("../www/models/text-detect.onnx");
    let mut damaged = MODEL.to_vec();
    damaged[1000] ^= 1;
    assert!(matches!(
        TextModel::load(&damaged),
        Err(ModelError::Mismatch { .. })
    ));
    let model = TextModel::load(MODEL).expect("the model loads in WebAssembly");
    // A 320×240 grey texture with a white bar pattern shaped like a line of text.
    let (w, h) = (320usize, 240usize);
    let mut rgba = vec![0u8; w * h * 4];
    for y in 0..h {
        for x in 0..w {
            let v = (60 + (x * 7 + y * 13) % 40) as u8;
            rgba[(y * w + x) * 4..][..4].copy_from_slice(&[v, v, v, 255]);
        }
    }
    let text = common::draw_text(&mut rgba, w, "FAKE 1901", 100, 110, 2);
    let found = model.detect(&rgba, w, h).expect("detection runs");
    for (x, y) in text {
        assert!(
            found
                .iter()
                .any(|r| x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h),
            "text pixel ({x},{y}) not in {found:?}"
        );
    }
}

/// The text recognition model loads in the browser (as the page gives it), and reads the line
/// the detector found.
#[wasm_bindgen_test]
fn the_text_reader_loads_and_reads_in_the_browser() {
    use obscura::pixels::text_model::TextModel;
    use obscura::pixels::text_read::{ReaderError, TextReader};
    static DETECTOR: &[u8] = include_bytes!("../www/models/text-detect.onnx");
    static READER: &[u8] = include_bytes!("../www/models/text-read.onnx");
    static KEYS: &[u8] = include_bytes!("../www/models/text-read-keys.txt");
    assert!(matches!(
        TextReader::load(READER, &KEYS[1..]),
        Err(ReaderError::Mismatch { .. })
    ));
    let reader = TextReader::load(READER, KEYS).expect("the reader loads in WebAssembly");
    let (w, h) = (640usize, 480usize);
    let mut rgba = [0u8, 0, 0, 255].repeat(w * h);
    common::draw_text(&mut rgba, w, "KAFE 1901", 20, 20, 3);
    let found = TextModel::load(DETECTOR)
        .expect("the model loads")
        .detect(&rgba, w, h)
        .expect("detection runs");
    let read: Vec<String> = found
        .iter()
        .map(|r| reader.read(&rgba, w, h, r).expect("reading runs").text)
        .collect();
    assert!(read.contains(&"KAFE 1901".to_string()), "{read:?}");
}
