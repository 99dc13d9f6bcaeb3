//! Burned-in text blanked by region rules: inside the rectangles the image is black on every
//! frame, outside it is bit-for-bit the same, and what cannot be cleaned is left out.
#![cfg(not(target_arch = "wasm32"))]

use dicom_core::value::{PixelFragmentSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, OpenFileOptions};
use obscura::deid::{Outcome, Policy, ProjectKey, Session};
use obscura::pixels::RegionRules;
use obscura::sample::sample_study;

mod common;
use common::with;

const RULES: &str = r#"{"rules": [{"name": "sample CT corner", "modality": "CT", "rows": 64, "columns": 64,
  "regions": [{"x": 2, "y": 3, "w": 20, "h": 5}, {"x": 60, "y": 60, "w": 50, "h": 50}]}]}"#;

fn parse(bytes: &[u8]) -> DefaultDicomObject {
    OpenFileOptions::new()
        .read_preamble(dicom_object::file::ReadPreamble::Always)
        .from_reader(bytes)
        .expect("parses")
}

/// An attribute's value as text, trimmed ("" when absent).
fn text_of(obj: &DefaultDicomObject, tag: dicom_core::Tag) -> String {
    obj.get(tag)
        .and_then(|e| e.value().to_str().ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn words(obj: &DefaultDicomObject) -> Vec<u16> {
    let bytes = obj
        .get(tags::PIXEL_DATA)
        .and_then(|e| e.value().to_bytes().ok())
        .expect("pixels");
    bytes
        .chunks_exact(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]))
        .collect()
}

fn session(rules: &str) -> Session {
    session_from(RegionRules::from_json(rules).expect("valid rules"))
}

fn session_from(rules: RegionRules) -> Session {
    let mut policy = Policy::basic(ProjectKey::from_bytes([21; 32]));
    policy.pixel_rules = rules;
    Session::new(policy)
}

/// Inside RULES' rectangles of the 64×64 sample CT every pixel is black; outside, each is
/// as it was.
fn assert_only_rule_regions_black(before: &[u16], after: &[u16]) {
    assert_eq!(after.len(), before.len());
    for y in 0..64 {
        for x in 0..64 {
            let i = y * 64 + x;
            let inside = ((2..22).contains(&x) && (3..8).contains(&y)) || (x >= 60 && y >= 60);
            if inside {
                assert_eq!(after[i], 0, "({x},{y}) is black");
            } else {
                assert_eq!(after[i], before[i], "({x},{y}) is unchanged");
            }
        }
    }
}

#[test]
fn rule_regions_are_black_and_the_rest_is_untouched() {
    let (_, original) = &sample_study()[0];
    let before = words(&parse(original));
    let d = session(RULES).deidentify(original).expect("cleaned");
    let out = parse(&d.bytes);
    assert_only_rule_regions_black(&before, &words(&out));
    let text = |tag| text_of(&out, tag);
    assert_eq!(text(tags::BURNED_IN_ANNOTATION), "NO");
    assert!(text(tags::DEIDENTIFICATION_METHOD).contains("Clean Pixel Data Option"));
    let codes: Vec<String> = out
        .get(tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE)
        .and_then(|e| e.value().items())
        .map(|items| {
            items
                .iter()
                .filter_map(|i| {
                    i.get(tags::CODE_VALUE)?
                        .value()
                        .to_str()
                        .ok()
                        .map(|s| s.trim().to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    assert!(codes.contains(&"113101".to_string()), "{codes:?}");
    assert!(d
        .changes
        .iter()
        .any(|c| c.name == "PixelData" && c.reason.contains("sample CT corner")));
}

/// `file` saying text is burned into its pixels (Burned In Annotation = YES).
fn said_burned_in(file: &[u8]) -> Vec<u8> {
    with(
        file,
        |o| {
            o.put(DataElement::new(
                tags::BURNED_IN_ANNOTATION,
                VR::CS,
                PrimitiveValue::from("YES"),
            ));
        },
        None,
    )
}

#[test]
fn a_file_marked_burned_in_is_kept_once_its_rule_cleaned_it() {
    let (_, original) = &sample_study()[0];
    let marked = said_burned_in(original);
    assert!(matches!(
        session(r#"{"rules": []}"#).process(&marked),
        Outcome::Excluded(_)
    ));
    let d = session(RULES)
        .deidentify(&marked)
        .expect("cleaned by the rule");
    let out = parse(&d.bytes);
    assert_eq!(
        out.get(tags::BURNED_IN_ANNOTATION)
            .and_then(|e| e.value().to_str().ok())
            .as_deref()
            .map(str::trim),
        Some("NO")
    );
}

#[test]
fn rle_pixels_are_decoded_blanked_and_stored_as_rle_again() {
    let (_, original) = &sample_study()[0];
    let before = words(&parse(original));
    let rle = with(
        original,
        |o| {
            let fragments =
                PixelFragmentSequence::new(Vec::<u32>::new(), vec![common::rle_fragment(&before)]);
            o.put(DataElement::new(
                tags::PIXEL_DATA,
                VR::OB,
                Value::from(fragments),
            ));
        },
        Some("1.2.840.10008.1.2.5"),
    );
    let d = session(RULES).deidentify(&rle).expect("cleaned");
    assert_eq!(
        d.transfer_syntax.trim_end_matches('\0'),
        "1.2.840.10008.1.2.5"
    );
    let out = parse(&d.bytes);
    let after: Vec<u16> = obscura::pixels::decode_frame(&out, 0)
        .expect("decodes")
        .chunks_exact(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]))
        .collect();
    assert_only_rule_regions_black(&before, &after);
    assert!(d.changes.iter().any(|c| c.name == "PixelData"
        && c.reason.contains("decoded from RLE")
        && c.reason.contains("stored as RLE Lossless")));
    // RLE is lossless: nothing claims a lossy history.
    assert!(out.get(tags::LOSSY_IMAGE_COMPRESSION).is_none());
}

/// The sample CT as an 8-bit JPEG Baseline image, with `change` applied to it.
fn jpeg_baseline(change: impl FnOnce(&mut dicom_object::InMemDicomObject)) -> Vec<u8> {
    common::jpeg_baseline(&sample_study()[0].1, change)
}

/// A codestream that claims another size than the file's Rows and Columns is refused before
/// any decoder believes it (a JPEG claiming 65000 × 65000 pixels in a 64 × 64 image made a
/// decoder allocate gigabytes), in JPEG, JPEG-LS and JPEG 2000.
#[test]
fn codestreams_larger_than_their_header_are_refused_before_decoding() {
    let jpeg = jpeg_baseline(|_| {});
    let huge = common::jpeg_claiming(&jpeg, 0xC0, 65000, 65000);
    let jpeg_ls = with(
        &common::jpeg_claiming(&jpeg, 0xF7, 65000, 65000),
        |_| {},
        Some("1.2.840.10008.1.2.4.80"),
    );
    let mut siz = vec![0xFF, 0x4F, 0xFF, 0x51, 0x00, 0x29, 0x00, 0x00];
    for v in [65000u32, 65000, 0, 0, 65000, 65000, 0, 0] {
        siz.extend(v.to_be_bytes());
    }
    siz.extend([0x00, 0x01, 0x07, 0x01, 0x01, 0xFF, 0xD9]);
    siz.push(0);
    let j2k = with(
        &jpeg,
        |o| {
            let fragments = PixelFragmentSequence::new(Vec::<u32>::new(), vec![siz]);
            o.put(DataElement::new(
                tags::PIXEL_DATA,
                VR::OB,
                Value::from(fragments),
            ));
        },
        Some("1.2.840.10008.1.2.4.90"),
    );
    for (name, input) in [("JPEG", huge), ("JPEG-LS", jpeg_ls), ("JPEG 2000", j2k)] {
        let e = obscura::pixels::decode_frame(&parse(&input), 0).expect_err(name);
        assert!(e.to_string().contains("65000×65000"), "{name}: {e}");
        // Blanking needs the pixels: the file is left out, saying why.
        match session(RULES).process(&input) {
            Outcome::Excluded(e) => assert!(e.to_string().contains("65000×65000"), "{name}: {e}"),
            other => panic!("{name}: expected exclusion, got {other:?}"),
        }
    }
    // The true size passes.
    assert!(obscura::pixels::decode_frame(&parse(&jpeg), 0).is_ok());
}

/// An image of a kind that carries burned-in text (here an ultrasound image) whose frames cannot
/// be read to look for text is left out, saying why, unless the user includes such files
/// after checking them; then it is flagged and Patient Identity Removed says NO. Whatever
/// made the frames unreadable (here a codestream claiming another size; equally a damaged
/// one or a codec Obscura cannot decode), the text in them could be neither found nor seen.
#[test]
fn text_bearing_images_that_cannot_be_looked_at_are_left_out_unless_included() {
    let input = common::jpeg_claiming(
        &jpeg_baseline(|o| {
            o.put(DataElement::new(
                tags::MODALITY,
                VR::CS,
                PrimitiveValue::from("US"),
            ));
        }),
        0xC0,
        65000,
        65000,
    );
    let detecting = |accept: bool| {
        let mut policy = Policy::basic(ProjectKey::from_bytes([21; 32]));
        policy.text_detector = obscura::deid::TextDetector::BandsOnly;
        policy.accept_burned_in = accept;
        Session::new(policy)
    };
    match detecting(false).process(&input) {
        Outcome::Excluded(e) => {
            let e = e.to_string();
            assert!(e.contains("looked at for burned-in text"), "{e}");
            assert!(e.contains("65000×65000"), "{e}");
        }
        other => panic!("expected exclusion, got {other:?}"),
    }
    let d = detecting(true)
        .deidentify(&input)
        .expect("included on request");
    assert!(
        d.warnings
            .iter()
            .any(|w| w.contains("could not be looked for")),
        "{:?}",
        d.warnings
    );
    assert_eq!(
        obscura::attrs::text(&parse(&d.bytes), tags::PATIENT_IDENTITY_REMOVED),
        "NO"
    );
    assert!(d
        .changes
        .iter()
        .any(|c| c.name == "PixelData" && c.reason.contains("could not be looked at")));
    // Without a detector at all (no model), every such file is flagged, as the files
    // needing detection always were: that is no fault of the image.
    let d = session(r#"{"rules": []}"#)
        .deidentify(&input)
        .expect("flagged, not left out");
    assert!(d
        .warnings
        .iter()
        .any(|w| w.contains("could not be looked for")));
}

/// Bytes hidden after the image's end: after a JPEG's end of image, or after what Rows,
/// Columns, Samples and Bits say native Pixel Data holds. No viewer shows them, and they can
/// hold anything (a name, another picture): they leave the file, and the image stays.
#[test]
fn data_hidden_after_the_image_is_removed() {
    use dicom_core::value::PixelFragmentSequence;
    // JPEG: text after EOI, in a fragment of even length.
    let jpeg = jpeg_baseline(|_| {});
    let stream = match parse(&jpeg)
        .get(tags::PIXEL_DATA)
        .map(|e| e.value().clone())
    {
        Some(Value::PixelSequence(seq)) => seq.fragments()[0].to_vec(),
        other => panic!("encapsulated, got {other:?}"),
    };
    let mut hidden = stream.clone();
    while hidden.last() == Some(&0) {
        hidden.pop();
    }
    hidden.extend_from_slice(b"KESTREL^WANDA 19610203");
    let input = with(
        &jpeg,
        |o| {
            o.put(DataElement::new(
                tags::PIXEL_DATA,
                VR::OB,
                Value::from(PixelFragmentSequence::new(Vec::<u32>::new(), vec![hidden])),
            ));
        },
        None,
    );
    let before = obscura::pixels::decode_frame(&parse(&input), 0).expect("decodes");
    let d = session(r#"{"rules": []}"#)
        .deidentify(&input)
        .expect("cleaned");
    assert!(!d.bytes.windows(7).any(|w| w == b"KESTREL"));
    assert_eq!(
        obscura::pixels::decode_frame(&parse(&d.bytes), 0).expect("decodes"),
        before
    );
    assert!(d
        .changes
        .iter()
        .any(|c| c.name == "PixelData" && c.reason.contains("after the image's end")));

    // Native: the sample CT (64 × 64, 16 bits) with text after its 8,192 bytes.
    let native = with(
        &sample_study()[0].1,
        |o| {
            let mut bytes = o
                .get(tags::PIXEL_DATA)
                .and_then(|e| e.value().to_bytes().ok())
                .expect("pixels")
                .to_vec();
            assert_eq!(bytes.len(), 64 * 64 * 2);
            bytes.extend_from_slice(b"KESTREL^WANDA 1961");
            o.put(DataElement::new(
                tags::PIXEL_DATA,
                VR::OW,
                PrimitiveValue::from(bytes),
            ));
        },
        None,
    );
    for rules in [r#"{"rules": []}"#, RULES] {
        let d = session(rules).deidentify(&native).expect("cleaned");
        assert!(!d.bytes.windows(7).any(|w| w == b"KESTREL"), "{rules}");
        let pixels = parse(&d.bytes)
            .get(tags::PIXEL_DATA)
            .and_then(|e| e.value().to_bytes().ok())
            .expect("pixels")
            .len();
        assert_eq!(pixels, 64 * 64 * 2, "{rules}");
        assert!(d
            .changes
            .iter()
            .any(|c| c.name == "PixelData" && c.reason.contains("after the image's end")));
    }
}

/// Comments and application segments (EXIF: a camera's owner, dates) leave the compressed
/// frames without decoding them: the image data are the same bytes.
#[test]
fn text_in_jpeg_codestreams_is_removed_without_decoding() {
    let jpeg = jpeg_baseline(|_| {});
    let input = common::jpeg_with_text(&jpeg, "KESTREL^WANDA");
    assert!(input.windows(7).any(|w| w == b"KESTREL"));
    let before = obscura::pixels::decode_frame(&parse(&input), 0).expect("decodes");
    // Without any region to blank, and with one.
    for rules in [r#"{"rules": []}"#, RULES] {
        let d = session(rules).deidentify(&input).expect("cleaned");
        assert!(!d.bytes.windows(7).any(|w| w == b"KESTREL"), "{rules}");
        assert_eq!(
            d.transfer_syntax.trim_end_matches('\0'),
            "1.2.840.10008.1.2.4.50"
        );
        assert!(d
            .changes
            .iter()
            .any(|c| c.name == "PixelData"
                && c.reason.contains("piece(s) that are not image removed")));
        if rules == RULES {
            continue;
        }
        let after = obscura::pixels::decode_frame(&parse(&d.bytes), 0).expect("decodes");
        assert_eq!(after, before, "the image is untouched");
    }
    // A codestream without such segments is copied as it was.
    let d = session(r#"{"rules": []}"#)
        .deidentify(&jpeg)
        .expect("cleaned");
    let fragment = |bytes: &[u8]| {
        let obj = parse(bytes);
        match obj.get(tags::PIXEL_DATA).map(|e| e.value().clone()) {
            Some(Value::PixelSequence(seq)) => seq.fragments()[0].clone(),
            _ => panic!("encapsulated"),
        }
    };
    assert_eq!(fragment(&d.bytes), fragment(&jpeg));
}

#[test]
fn jpeg_baseline_is_blanked_in_whole_blocks_and_stays_jpeg() {
    let input = jpeg_baseline(|_| {});
    let before = obscura::pixels::decode_frame(&parse(&input), 0).expect("decodes");
    let d = session(RULES).deidentify(&input).expect("cleaned");
    assert_eq!(
        d.transfer_syntax.trim_end_matches('\0'),
        "1.2.840.10008.1.2.4.50"
    );
    let out = parse(&d.bytes);
    let after = obscura::pixels::decode_frame(&out, 0).expect("decodes");
    // RULES' rectangles widened to 8×8 blocks: x 0–23, y 0–7, and x 56–63, y 56–63.
    for y in 0..64 {
        for x in 0..64 {
            let i = y * 64 + x;
            let blanked = (x < 24 && y < 8) || (x >= 56 && y >= 56);
            if blanked {
                assert_eq!(after[i], 0, "({x},{y}) is black");
            } else {
                assert_eq!(after[i], before[i], "({x},{y}) is exactly as it was");
            }
        }
    }
    assert!(d.changes.iter().any(|c| c.name == "PixelData"
        && c.reason.contains("blanked inside the JPEG Baseline")
        && c.reason.contains("8×8")));
    let text = |tag| text_of(&out, tag);
    assert_eq!(text(tags::LOSSY_IMAGE_COMPRESSION), "01");
    assert_eq!(text(tags::BURNED_IN_ANNOTATION), "NO");
}

#[test]
fn jpeg_that_cannot_be_blanked_in_blocks_is_decoded_and_stored_as_rle() {
    // Signed samples: their black is not what a flat JPEG block can say safely here.
    let input = jpeg_baseline(|o| {
        o.put(DataElement::new(
            tags::PIXEL_REPRESENTATION,
            VR::US,
            PrimitiveValue::from(1u16),
        ));
    });
    let d = session(RULES).deidentify(&input).expect("cleaned");
    assert_eq!(
        d.transfer_syntax.trim_end_matches('\0'),
        "1.2.840.10008.1.2.5"
    );
    assert!(d.changes.iter().any(|c| c.name == "PixelData"
        && c.reason.contains("decoded from JPEG Baseline")
        && c.reason.contains("stored as RLE Lossless")));
    let after = obscura::pixels::decode_frame(&parse(&d.bytes), 0).expect("decodes");
    // The signed black, -128, in every pixel of the first rectangle.
    assert!((3..8).all(|y| (2..22).all(|x| after[y * 64 + x] == 0x80)));
}

#[test]
fn compressed_pixels_that_do_not_decode_are_left_out() {
    let (_, original) = &sample_study()[0];
    let encapsulated = with(
        original,
        |o| {
            let fragments = PixelFragmentSequence::new(Vec::<u32>::new(), vec![vec![0u8; 64]]);
            o.put(DataElement::new(
                tags::PIXEL_DATA,
                VR::OB,
                Value::from(fragments),
            ));
        },
        Some("1.2.840.10008.1.2.4.70"),
    );
    match session(RULES).process(&encapsulated) {
        Outcome::Excluded(e) => assert!(e.to_string().contains("could not be decoded"), "{e}"),
        other => panic!("expected exclusion, got {other:?}"),
    }
    // Damaged JPEG-LS: the same.
    let jpeg_ls = with(&encapsulated, |_| {}, Some("1.2.840.10008.1.2.4.80"));
    match session(RULES).process(&jpeg_ls) {
        Outcome::Excluded(e) => assert!(e.to_string().contains("could not be decoded"), "{e}"),
        other => panic!("expected exclusion, got {other:?}"),
    }
    // A transfer syntax without any decoder (JPEG XL): left out with that reason.
    let jpeg_xl = with(&encapsulated, |_| {}, Some("1.2.840.10008.1.2.4.112"));
    match session(RULES).process(&jpeg_xl) {
        Outcome::Excluded(e) => {
            let e = e.to_string();
            assert!(
                e.contains("no decoder") || e.contains("unknown transfer syntax"),
                "{e}"
            )
        }
        other => panic!("expected exclusion, got {other:?}"),
    }
    // Without a matching rule the same file goes through, still compressed (nothing says
    // it has text).
    let d = session(r#"{"rules": [{"modality": "US", "regions": [{"x":0,"y":0,"w":1,"h":1}]}]}"#)
        .deidentify(&encapsulated)
        .expect("passes");
    assert_eq!(
        d.transfer_syntax.trim_end_matches('\0'),
        "1.2.840.10008.1.2.4.70"
    );
}

#[test]
fn a_ctp_script_blanks_like_the_same_json_rule() {
    let (_, original) = &sample_study()[0];
    let script =
        r#"{ Modality.equals("CT") * [0028,0010].equals("64") } (2, 3, 20, 5) (60,60,50,50)"#;
    let from_ctp = session_from(RegionRules::parse(script).expect("CTP script"))
        .deidentify(original)
        .expect("cleaned");
    let from_json = session(RULES).deidentify(original).expect("cleaned");
    assert_eq!(
        words(&parse(&from_ctp.bytes)),
        words(&parse(&from_json.bytes))
    );
}

#[test]
fn bad_rules_are_refused() {
    assert!(RegionRules::from_json("{").is_err());
    assert!(RegionRules::from_json(r#"{"rules": [{"modality": "US", "regions": []}]}"#).is_err());
}

/// Images in Float or Double Float Pixel Data (7FE0,0008 / 0009: parametric maps) are images
/// too: a rule that matches one cannot blank it (no black in floating point here), so the file
/// is left out; one that says text is burned in is left out as any other would be.
#[test]
fn float_pixel_images_a_rule_matches_are_left_out() {
    let (_, original) = &sample_study()[0];
    for (tag, vr, bits) in [
        (tags::FLOAT_PIXEL_DATA, VR::OF, 32u16),
        (tags::DOUBLE_FLOAT_PIXEL_DATA, VR::OD, 64),
    ] {
        let float = with(
            original,
            |o| {
                o.remove_element(tags::PIXEL_DATA);
                o.put(DataElement::new(
                    tags::BITS_ALLOCATED,
                    VR::US,
                    PrimitiveValue::from(bits),
                ));
                o.put(DataElement::new(
                    tag,
                    vr,
                    PrimitiveValue::U8(vec![0x40; 64 * 64 * bits as usize / 8].into()),
                ));
            },
            None,
        );
        match session(RULES).process(&float) {
            Outcome::Excluded(e) => {
                assert!(e.to_string().contains("floating-point pixels"), "{e}")
            }
            other => panic!("{tag}: expected exclusion, got {other:?}"),
        }
        match session(r#"{"rules": []}"#).process(&said_burned_in(&float)) {
            Outcome::Excluded(e) => assert!(e.to_string().contains("burned"), "{e}"),
            other => panic!("{tag}: expected exclusion, got {other:?}"),
        }
        // Without a rule or a burned-in flag the file goes through, its image kept.
        let d = session(r#"{"rules": []}"#)
            .deidentify(&float)
            .expect("passes");
        assert!(parse(&d.bytes).get(tag).is_some());
    }
}

/// The single JPEG Baseline frame of `jpeg_baseline`, twice, as a 2-frame image whose pixel
/// data is made by `encapsulate` from the frame's stream.
fn two_frames(encapsulate: impl Fn(&[u8]) -> PixelFragmentSequence<Vec<u8>>) -> Vec<u8> {
    jpeg_baseline(|o| {
        let stream = match o.get(tags::PIXEL_DATA).map(|e| e.value()) {
            Some(Value::PixelSequence(s)) => s.fragments()[0].clone(),
            _ => unreachable!("jpeg_baseline encapsulates"),
        };
        o.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            Value::from(encapsulate(&stream)),
        ));
        o.put(DataElement::new(
            tags::NUMBER_OF_FRAMES,
            VR::IS,
            PrimitiveValue::from("2"),
        ));
    })
}

/// Both frames' RULES rectangles are black (widened to JPEG blocks, as in
/// `jpeg_baseline_is_blanked_in_whole_blocks_and_stays_jpeg`).
fn assert_both_frames_blanked(out: &DefaultDicomObject) {
    for f in 0..2 {
        let frame = obscura::pixels::decode_frame(out, f).expect("decodes");
        assert!(
            (0..8).all(|y| (0..24).all(|x| frame[y * 64 + x] == 0)),
            "frame {f}"
        );
    }
}

/// A frame may be split over several fragments (PS3.5 A.4): which belong to which frame is
/// told by the Basic Offset Table or, when it is empty, by where each JPEG stream starts.
/// Either way every frame is blanked, in the JPEG data, one fragment a frame after.
#[test]
fn frames_split_over_fragments_are_blanked() {
    let split = |stream: &[u8]| {
        // Halves of even length, so that the items stay even (as PS3.5 asks).
        let half = (stream.len() / 2) & !1;
        (stream[..half].to_vec(), stream[half..].to_vec())
    };
    let with_offsets = two_frames(|s| {
        let (a, b) = split(s);
        let second = (8 + a.len() + 8 + b.len()) as u32;
        PixelFragmentSequence::new(vec![0u32, second], vec![a.clone(), b.clone(), a, b])
    });
    let by_markers = two_frames(|s| {
        let (a, b) = split(s);
        PixelFragmentSequence::new(Vec::<u32>::new(), vec![a.clone(), b.clone(), a, b])
    });
    for input in [with_offsets, by_markers] {
        let d = session(RULES).deidentify(&input).expect("cleaned");
        assert_eq!(
            d.transfer_syntax.trim_end_matches('\0'),
            "1.2.840.10008.1.2.4.50"
        );
        let out = parse(&d.bytes);
        match out.get(tags::PIXEL_DATA).map(|e| e.value()) {
            Some(Value::PixelSequence(s)) => assert_eq!(s.fragments().len(), 2),
            other => panic!("not encapsulated: {other:?}"),
        }
        assert_both_frames_blanked(&out);
    }
}

/// An Extended Offset Table tells where the input's fragments were: once they are written
/// anew it would point into the middle of them, so it goes.
#[test]
fn the_extended_offset_table_goes_with_the_fragments_it_described() {
    let eot = |o: &mut dicom_object::InMemDicomObject, tag, values: [u64; 2]| {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        o.put(DataElement::new(tag, VR::OV, PrimitiveValue::from(bytes)));
    };
    let two =
        two_frames(|s| PixelFragmentSequence::new(Vec::<u32>::new(), vec![s.to_vec(), s.to_vec()]));
    let input = with(
        &two,
        |o| {
            let len = match o.get(tags::PIXEL_DATA).map(|e| e.value()) {
                Some(Value::PixelSequence(s)) => s.fragments()[0].len() as u64,
                _ => unreachable!(),
            };
            eot(o, tags::EXTENDED_OFFSET_TABLE, [0, 8 + len]);
            eot(o, tags::EXTENDED_OFFSET_TABLE_LENGTHS, [len, len]);
        },
        None,
    );
    let d = session(RULES).deidentify(&input).expect("cleaned");
    let out = parse(&d.bytes);
    assert!(out.get(tags::EXTENDED_OFFSET_TABLE).is_none());
    assert!(out.get(tags::EXTENDED_OFFSET_TABLE_LENGTHS).is_none());
    assert_both_frames_blanked(&out);
}

/// A frame split over fragments with text in its codestream: the frames stay where the new
/// Basic Offset Table says, each decoding to the same image, without the text.
#[test]
fn text_in_frames_split_over_fragments_is_removed() {
    let text = |stream: &[u8]| {
        // The frame's stream with a comment after its SOI, padded to even length.
        let mut s = stream[..2].to_vec();
        s.extend([0xFF, 0xFE, 0x00, 0x0B]);
        s.extend(b"KESTREL\0\0");
        s.extend(&stream[2..]);
        s
    };
    let input = two_frames(|stream| {
        let s = text(stream);
        let half = (s.len() / 2) & !1;
        let (a, b) = (s[..half].to_vec(), s[half..].to_vec());
        let second = (8 + a.len() + 8 + b.len()) as u32;
        PixelFragmentSequence::new(vec![0u32, second], vec![a.clone(), b.clone(), a, b])
    });
    let plain =
        two_frames(|s| PixelFragmentSequence::new(Vec::<u32>::new(), vec![s.to_vec(), s.to_vec()]));
    let d = session(r#"{"rules": []}"#)
        .deidentify(&input)
        .expect("cleaned");
    assert!(!d.bytes.windows(7).any(|w| w == b"KESTREL"));
    let out = parse(&d.bytes);
    for f in 0..2 {
        assert_eq!(
            obscura::pixels::decode_frame(&out, f).expect("decodes"),
            obscura::pixels::decode_frame(&parse(&plain), f).expect("decodes"),
            "frame {f}"
        );
    }
    match out.get(tags::PIXEL_DATA).map(|e| e.value()) {
        Some(Value::PixelSequence(seq)) => {
            assert_eq!(seq.fragments().len(), 2);
            let first = 8 + seq.fragments()[0].len() as u32;
            assert_eq!(seq.offset_table(), &[0, first]);
        }
        _ => panic!("encapsulated"),
    }
}

#[test]
fn an_overlay_shows_in_the_image_before_and_is_gone_from_the_package() {
    // The sample CT (64×64) with an overlay plane: a 16×16 square of ink at row 9, column 9.
    let (_, original) = &sample_study()[0];
    let with_overlay = with(
        original,
        |obj| {
            let put = |obj: &mut dicom_object::InMemDicomObject, e, vr, v| {
                obj.put(DataElement::new(dicom_core::Tag(0x6000, e), vr, v))
            };
            put(obj, 0x0010, VR::US, PrimitiveValue::from(16u16));
            put(obj, 0x0011, VR::US, PrimitiveValue::from(16u16));
            put(obj, 0x0040, VR::CS, PrimitiveValue::from("G"));
            put(obj, 0x0050, VR::SS, PrimitiveValue::I16(vec![9, 9].into()));
            put(obj, 0x0100, VR::US, PrimitiveValue::from(1u16));
            put(obj, 0x0102, VR::US, PrimitiveValue::from(0u16));
            put(
                obj,
                0x3000,
                VR::OB,
                PrimitiveValue::U8(vec![0xFF; 32].into()),
            );
        },
        None,
    );
    let white = |r: &obscura::pixels::Rendered| -> Vec<(u32, u32)> {
        (0..r.height)
            .flat_map(|y| (0..r.width).map(move |x| (x, y)))
            .filter(|&(x, y)| r.rgba[((y * r.width + x) * 4) as usize..][..3] == [255, 255, 255])
            .collect()
    };
    let plain = obscura::pixels::render(&parse(original), None).expect("drawn");
    let before = obscura::pixels::render(&parse(&with_overlay), None).expect("drawn");
    let square: Vec<(u32, u32)> = (8..24).flat_map(|y| (8..24).map(move |x| (x, y))).collect();
    let (was_white, now_white) = (white(&plain), white(&before));
    let inked: Vec<&(u32, u32)> = now_white
        .iter()
        .filter(|p| !was_white.contains(p))
        .collect();
    assert!(!inked.is_empty());
    assert!(
        inked.iter().all(|p| square.contains(p)),
        "ink only where the overlay is"
    );
    assert!(square.iter().all(|p| now_white.contains(p)), "all of it");
    // The package holds no overlay, so the image after shows none.
    let d = session(r#"{"rules": []}"#)
        .deidentify(&with_overlay)
        .expect("cleaned");
    let out = parse(&d.bytes);
    assert!(out.get(dicom_core::Tag(0x6000, 0x3000)).is_none());
    let after = obscura::pixels::render(&out, None).expect("drawn");
    assert!(square.iter().any(|p| !white(&after).contains(p)));
}

#[test]
fn an_image_of_no_rows_or_no_columns_is_left_out_not_a_crash() {
    // Found by the fuzzer: Rows or Columns of 0 made frames of no length to step through.
    let (_, original) = &sample_study()[0];
    let all_ct = r#"{"rules": [{"name": "every CT", "modality": "CT",
        "regions": [{"x": 0, "y": 0, "w": 16, "h": 16}]}]}"#;
    for tag in [tags::ROWS, tags::COLUMNS] {
        let empty = with(
            original,
            |obj| {
                obj.put(DataElement::new(tag, VR::US, PrimitiveValue::from(0u16)));
            },
            None,
        );
        match session(all_ct).process(&empty) {
            Outcome::Excluded(e) => assert!(e.to_string().contains("no size"), "{e}"),
            _ => panic!("{tag}: an image to blank that has no size is not passed through"),
        }
    }
}
