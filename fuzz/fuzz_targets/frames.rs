//! Frame decoding and blanking: the fuzzer's bytes become the compressed pixel data (one or
//! more fragments) of an otherwise valid image, in a transfer syntax picked by the first byte.
#![no_main]
use dicom_core::value::{PixelFragmentSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use libfuzzer_sys::fuzz_target;
use obscura::deid::{Policy, ProjectKey, Session};
use obscura::pixels::RegionRules;

const SYNTAXES: &[&str] = &[
    "1.2.840.10008.1.2.5",    // RLE Lossless
    "1.2.840.10008.1.2.4.50", // JPEG Baseline
    "1.2.840.10008.1.2.4.51", // JPEG Extended
    "1.2.840.10008.1.2.4.57", // JPEG Lossless
    "1.2.840.10008.1.2.4.70", // JPEG Lossless SV1
    "1.2.840.10008.1.2.4.80", // JPEG-LS Lossless
    "1.2.840.10008.1.2.4.81", // JPEG-LS near-lossless
    "1.2.840.10008.1.2.4.90", // JPEG 2000 lossless
    "1.2.840.10008.1.2.4.91", // JPEG 2000
];

fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let ts = SYNTAXES[head as usize % SYNTAXES.len()];
    let (rows, cols) = (1 + (head >> 3) as u16 % 16, 1 + (head >> 5) as u16 * 5);
    let color = head & 0x40 != 0;
    let bits: u16 = if head & 0x80 != 0 { 16 } else { 8 };
    let frames = 1 + rest.first().copied().unwrap_or(0) % 3;
    let fragments: Vec<Vec<u8>> = rest
        .split(|b| *b == 0xFE)
        .take(8)
        .map(|f| {
            let mut f = f.to_vec();
            if f.len() % 2 == 1 {
                f.push(0);
            }
            f
        })
        .collect();
    let mut o = InMemDicomObject::new_empty();
    let us = |t, v: u16| DataElement::new(t, VR::US, PrimitiveValue::from(v));
    let text = |t, vr, v: &str| DataElement::new(t, vr, PrimitiveValue::from(v));
    o.put(text(
        tags::SOP_CLASS_UID,
        VR::UI,
        "1.2.840.10008.5.1.4.1.1.7",
    ));
    o.put(text(tags::SOP_INSTANCE_UID, VR::UI, "2.25.1"));
    o.put(text(tags::MODALITY, VR::CS, "OT"));
    o.put(text(tags::PATIENT_NAME, VR::PN, "FUZZ^PATIENT"));
    o.put(us(tags::ROWS, rows));
    o.put(us(tags::COLUMNS, cols));
    o.put(us(tags::SAMPLES_PER_PIXEL, if color { 3 } else { 1 }));
    o.put(text(
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        if color { "YBR_FULL_422" } else { "MONOCHROME2" },
    ));
    o.put(us(tags::BITS_ALLOCATED, bits));
    o.put(us(tags::BITS_STORED, bits));
    o.put(us(tags::HIGH_BIT, bits - 1));
    o.put(us(tags::PIXEL_REPRESENTATION, 0));
    o.put(text(tags::NUMBER_OF_FRAMES, VR::IS, &frames.to_string()));
    o.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        Value::from(PixelFragmentSequence::new(Vec::<u32>::new(), fragments)),
    ));
    let Ok(meta) = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.7")
        .media_storage_sop_instance_uid("2.25.1")
        .transfer_syntax(ts)
        .build()
    else {
        return;
    };
    let mut bytes = Vec::new();
    if o.with_exact_meta(meta).write_all(&mut bytes).is_err() {
        return;
    }
    let mut policy = Policy::basic(ProjectKey::from_bytes([3; 32]));
    if let Ok(rules) = RegionRules::parse("{ true. } (0, 0, 4, 4)") {
        policy.pixel_rules = rules;
    }
    let _ = Session::new(policy).process(&bytes);
});
