//! A small sample study of obviously fake patients, made by Obscura itself: the page's
//! "Try a sample study" button, and the tests' fixtures.
//!
//! Every identifying value is a distinctive canary (see [`CANARIES`]) so a test can search
//! the output bytes for any of them.

use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};

/// Strings of fake PHI in the sample files that the Basic Profile must remove. None of them
/// may appear anywhere in a de-identified file.
pub const CANARIES: &[&str] = &[
    "FAKEDOE",
    "JANEFAKE",
    "FAKESMITH",
    "JOHNFAKE",
    "FAKEID0001",
    "FAKEID0002",
    "FAKEACC123",
    "FAKEGENERALHOSPITAL",
    "FAKEDOC",
    "FAKEOPERATOR",
    "FAKESTATION01",
    "FAKESERIAL998877",
    "FAKESTREET",
    "FAKEPRIVATEPHI",
    "FAKESOURCEAE",
    "FAKEREQUEST77",
    "FAKECOMMENT",
    "FAKEOVERLAYTEXT",
    "FAKEUNKNOWNTEXT",
    "FAKEREFERRER",
    "19700402",
    "19650911",
    "20240115",
    "20240116",
    "1.2.999.",
];

/// The root of the sample's original UIDs (not a registered root: fake on purpose).
pub const SAMPLE_UID_ROOT: &str = "1.2.999.";

struct FakePatient {
    name: &'static str,
    id: &'static str,
    birth: &'static str,
    sex: &'static str,
    number: u32,
}

const PATIENTS: [FakePatient; 2] = [
    FakePatient {
        name: "FAKEDOE^JANEFAKE",
        id: "FAKEID0001",
        birth: "19700402",
        sex: "F",
        number: 1,
    },
    FakePatient {
        name: "FAKESMITH^JOHNFAKE",
        id: "FAKEID0002",
        birth: "19650911",
        sex: "M",
        number: 2,
    },
];

fn el(tag: Tag, vr: VR, value: impl Into<PrimitiveValue>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, Value::Primitive(value.into()))
}

fn seq(tag: Tag, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(
        tag,
        VR::SQ,
        Value::from(DataSetSequence::new(items, Length::UNDEFINED)),
    )
}

fn uid(parts: &[u32]) -> String {
    let tail: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
    format!("{SAMPLE_UID_ROOT}{}", tail.join("."))
}

/// A 16-bit gradient with a bright square, so previews show something; with `noise`, each
/// pixel also gets 0 to 32 more, at random as a scanner's noise, so that the image deflates
/// only about 1.4:1, near what real CT does (the plain gradient deflates 50:1).
fn pixels(seed: u32, size: u32, noise: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity((size * size * 2) as usize);
    let (lo, hi) = (size * 5 / 16, size * 11 / 16);
    for y in 0..size {
        for x in 0..size {
            let mut v = (x * 16 + y * 8 + seed * 100) % 1024;
            if (lo..hi).contains(&x) && (lo..hi).contains(&y) {
                v = 1500;
            }
            if noise {
                v += position_hash(x, y, seed) % 33;
            }
            out.extend_from_slice(&(v as u16).to_le_bytes());
        }
    }
    out
}

/// A hash of a pixel's position (and a seed), for noise and speckle that are the same in
/// every file made.
fn position_hash(x: u32, y: u32, seed: u32) -> u32 {
    let mut h =
        x.wrapping_mul(0x9E37_79B1) ^ y.wrapping_mul(0x85EB_CA77) ^ seed.wrapping_mul(0xC2B2_AE3D);
    h ^= h >> 15;
    h = h.wrapping_mul(0x2C1B_3C6D);
    h ^ (h >> 12)
}

/// One image of the sample study.
fn image(p: &FakePatient, modality: &str, series: u32, instance: u32, implicit: bool) -> Vec<u8> {
    image_of_size(p, modality, series, instance, implicit, 64, false)
}

/// One image of a fake study, `size`×`size` pixels.
fn image_of_size(
    p: &FakePatient,
    modality: &str,
    series: u32,
    instance: u32,
    implicit: bool,
    size: u16,
    noise: bool,
) -> Vec<u8> {
    // The ultrasound is another study of the same patient.
    let study = if modality == "US" { 2 } else { 1 };
    let study_uid = uid(&[p.number, study]);
    let series_uid = uid(&[p.number, study, series]);
    let sop_uid = uid(&[p.number, study, series, instance]);
    let other_sop = uid(&[p.number, study, series, if instance == 1 { 2 } else { 1 }]);
    let sop_class = match modality {
        "CT" => uids::CT_IMAGE_STORAGE,
        "US" => uids::ULTRASOUND_IMAGE_STORAGE,
        _ => uids::MR_IMAGE_STORAGE,
    };

    let mut obj = InMemDicomObject::new_empty();
    let mut put = |e| {
        obj.put(e);
    };
    put(el(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 100"));
    put(el(
        tags::IMAGE_TYPE,
        VR::CS,
        PrimitiveValue::Strs(
            ["ORIGINAL", "PRIMARY", "AXIAL"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        ),
    ));
    put(el(tags::SOP_CLASS_UID, VR::UI, sop_class));
    put(el(tags::SOP_INSTANCE_UID, VR::UI, sop_uid.as_str()));
    put(el(tags::STUDY_DATE, VR::DA, "20240115"));
    put(el(tags::SERIES_DATE, VR::DA, "20240115"));
    put(el(tags::CONTENT_DATE, VR::DA, "20240116"));
    put(el(tags::STUDY_TIME, VR::TM, "101500"));
    put(el(tags::CONTENT_TIME, VR::TM, "101502"));
    put(el(tags::ACCESSION_NUMBER, VR::SH, "FAKEACC123"));
    put(el(tags::MODALITY, VR::CS, modality));
    put(el(tags::MANUFACTURER, VR::LO, "Obscura Sample Generator"));
    put(el(tags::INSTITUTION_NAME, VR::LO, "FAKEGENERALHOSPITAL"));
    put(el(
        tags::INSTITUTION_ADDRESS,
        VR::ST,
        "1 FAKESTREET, Nowhere",
    ));
    put(el(
        tags::REFERRING_PHYSICIAN_NAME,
        VR::PN,
        "FAKEREFERRER^ALICE",
    ));
    put(el(tags::STATION_NAME, VR::SH, "FAKESTATION01"));
    put(el(
        tags::STUDY_DESCRIPTION,
        VR::LO,
        format!("{modality} head FAKEDOE follow-up"),
    ));
    put(el(
        tags::SERIES_DESCRIPTION,
        VR::LO,
        format!("Series {series} of JANEFAKE"),
    ));
    put(el(tags::PERFORMING_PHYSICIAN_NAME, VR::PN, "FAKEDOC^BOB"));
    put(el(tags::OPERATORS_NAME, VR::PN, "FAKEOPERATOR^CAROL"));
    put(seq(
        tags::REFERENCED_STUDY_SEQUENCE,
        vec![InMemDicomObject::from_element_iter([
            el(
                tags::REFERENCED_SOP_CLASS_UID,
                VR::UI,
                "1.2.840.10008.3.1.2.3.1",
            ),
            el(
                tags::REFERENCED_SOP_INSTANCE_UID,
                VR::UI,
                uid(&[p.number, 9, 9]).as_str(),
            ),
        ])],
    ));
    put(seq(
        tags::SOURCE_IMAGE_SEQUENCE,
        vec![InMemDicomObject::from_element_iter([
            el(tags::REFERENCED_SOP_CLASS_UID, VR::UI, sop_class),
            el(
                tags::REFERENCED_SOP_INSTANCE_UID,
                VR::UI,
                other_sop.as_str(),
            ),
        ])],
    ));
    put(el(tags::PATIENT_NAME, VR::PN, p.name));
    put(el(tags::PATIENT_ID, VR::LO, p.id));
    put(el(tags::PATIENT_BIRTH_DATE, VR::DA, p.birth));
    put(el(tags::PATIENT_SEX, VR::CS, p.sex));
    put(el(tags::PATIENT_AGE, VR::AS, "053Y"));
    put(el(tags::PATIENT_ADDRESS, VR::LO, "1 FAKESTREET"));
    put(el(
        tags::PATIENT_COMMENTS,
        VR::LT,
        "FAKECOMMENT: allergic to everything",
    ));
    put(el(tags::DEVICE_SERIAL_NUMBER, VR::LO, "FAKESERIAL998877"));
    put(el(tags::SLICE_THICKNESS, VR::DS, "5"));
    put(el(tags::STUDY_INSTANCE_UID, VR::UI, study_uid.as_str()));
    put(el(tags::SERIES_INSTANCE_UID, VR::UI, series_uid.as_str()));
    put(el(tags::STUDY_ID, VR::SH, "FAKEACC123"));
    put(el(tags::SERIES_NUMBER, VR::IS, series.to_string()));
    put(el(tags::INSTANCE_NUMBER, VR::IS, instance.to_string()));
    put(el(
        tags::FRAME_OF_REFERENCE_UID,
        VR::UI,
        uid(&[p.number, study, series, 0]).as_str(),
    ));
    put(el(
        tags::IMAGE_POSITION_PATIENT,
        VR::DS,
        PrimitiveValue::Strs([0, 0, instance * 5].iter().map(|s| s.to_string()).collect()),
    ));
    put(el(
        tags::IMAGE_ORIENTATION_PATIENT,
        VR::DS,
        PrimitiveValue::Strs(
            ["1", "0", "0", "0", "1", "0"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        ),
    ));
    put(seq(
        tags::REQUEST_ATTRIBUTES_SEQUENCE,
        vec![InMemDicomObject::from_element_iter([
            el(tags::REQUESTED_PROCEDURE_ID, VR::SH, "FAKEREQUEST77"),
            el(tags::SCHEDULED_PROCEDURE_STEP_ID, VR::SH, "FAKEREQUEST77"),
            seq(
                tags::REFERENCED_STUDY_SEQUENCE,
                vec![InMemDicomObject::from_element_iter([
                    el(
                        tags::REFERENCED_SOP_CLASS_UID,
                        VR::UI,
                        "1.2.840.10008.3.1.2.3.1",
                    ),
                    el(
                        tags::REFERENCED_SOP_INSTANCE_UID,
                        VR::UI,
                        study_uid.as_str(),
                    ),
                ])],
            ),
        ])],
    ));
    // A private block with PHI in it.
    put(el(Tag(0x0009, 0x0010), VR::LO, "FAKEVENDOR 1.0"));
    put(el(Tag(0x0009, 0x1001), VR::LO, "FAKEPRIVATEPHI FAKEDOE"));
    put(el(Tag(0x0009, 0x1002), VR::DA, "19700402"));
    // A public-group attribute no dictionary knows, holding text.
    put(el(Tag(0x0022, 0x9999), VR::LO, "FAKEUNKNOWNTEXT"));
    // Image pixel module.
    put(el(tags::SAMPLES_PER_PIXEL, VR::US, 1_u16));
    put(el(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"));
    put(el(tags::ROWS, VR::US, size));
    put(el(tags::COLUMNS, VR::US, size));
    put(el(
        tags::PIXEL_SPACING,
        VR::DS,
        PrimitiveValue::Strs(["0.5".to_string(), "0.5".to_string()].into()),
    ));
    put(el(tags::BITS_ALLOCATED, VR::US, 16_u16));
    put(el(tags::BITS_STORED, VR::US, 12_u16));
    put(el(tags::HIGH_BIT, VR::US, 11_u16));
    put(el(tags::PIXEL_REPRESENTATION, VR::US, 0_u16));
    put(el(tags::WINDOW_CENTER, VR::DS, "800"));
    put(el(tags::WINDOW_WIDTH, VR::DS, "1600"));
    put(el(tags::RESCALE_INTERCEPT, VR::DS, "0"));
    put(el(tags::RESCALE_SLOPE, VR::DS, "1"));
    // An overlay plane, with a comment holding PHI.
    put(el(Tag(0x6000, 0x0010), VR::US, 64_u16));
    put(el(Tag(0x6000, 0x0011), VR::US, 64_u16));
    put(el(Tag(0x6000, 0x0040), VR::CS, "G"));
    put(el(
        Tag(0x6000, 0x0050),
        VR::SS,
        PrimitiveValue::I16([1_i16, 1].into()),
    ));
    put(el(Tag(0x6000, 0x0100), VR::US, 1_u16));
    put(el(Tag(0x6000, 0x0102), VR::US, 0_u16));
    put(el(Tag(0x6000, 0x4000), VR::LT, "FAKEOVERLAYTEXT"));
    put(el(
        Tag(0x6000, 0x3000),
        VR::OW,
        PrimitiveValue::U8(overlay_mark().into()),
    ));
    put(el(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U8(pixels(series * 10 + instance, u32::from(size), noise).into()),
    ));
    if modality == "US" {
        ultrasound_pixels(&mut obj);
    }

    let ts = if implicit {
        uids::IMPLICIT_VR_LITTLE_ENDIAN
    } else {
        uids::EXPLICIT_VR_LITTLE_ENDIAN
    };
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(sop_class)
        .media_storage_sop_instance_uid(sop_uid.as_str())
        .transfer_syntax(ts)
        .implementation_class_uid("1.2.999.77")
        .source_application_entity_title("FAKESOURCEAE")
        .build();
    let mut bytes = Vec::new();
    if let Ok(meta) = meta {
        // Writing to memory only fails on an encoding bug, which the tests would show.
        let _ = obj.with_exact_meta(meta).write_all(&mut bytes);
    }
    bytes
}

/// The sample ultrasound's size, and where its fake PHI is burned in.
const US_SIZE: (usize, usize) = (320, 240);

/// Turn a sample image into an ultrasound frame with text burned into its pixels, as
/// scanners do: 320×240 RGB, a fan of speckle on black, the fake patient's name and birth
/// year ("FAKE 1901") in white on the black band above it, a side marker ("LT") over the
/// image and a coloured line ("FAKE 0910") in a corner; Burned In Annotation says YES.
fn ultrasound_pixels(obj: &mut InMemDicomObject) {
    for tag in [
        tags::WINDOW_CENTER,
        tags::WINDOW_WIDTH,
        tags::RESCALE_INTERCEPT,
        tags::RESCALE_SLOPE,
        tags::PIXEL_SPACING,
        tags::SLICE_THICKNESS,
        tags::IMAGE_POSITION_PATIENT,
        tags::IMAGE_ORIENTATION_PATIENT,
    ] {
        obj.remove_element(tag);
    }
    for element in [
        0x0010, 0x0011, 0x0040, 0x0050, 0x0100, 0x0102, 0x4000, 0x3000,
    ] {
        obj.remove_element(Tag(0x6000, element));
    }
    let (cols, rows) = US_SIZE;
    let mut rgb = vec![0u8; cols * rows * 3];
    // A fan from the top centre, 30 to 220 rows deep, its speckle a hash of the position.
    let (cx, top) = (cols as f32 / 2.0, 30.0f32);
    for y in 30..rows - 20 {
        for x in 0..cols {
            let (dx, dy) = (x as f32 - cx, y as f32 - top + 20.0);
            if dx.abs() > dy * 0.75 {
                continue;
            }
            let h = position_hash(x as u32, y as u32, 0);
            let depth = 1.0 - (y as f32 - top) / rows as f32;
            let mut v = (40.0 + (h % 90) as f32 * depth) as u8;
            // A dark, round structure in the fan, as a cyst or a gallbladder looks.
            let (ex, ey) = ((x as f32 - 170.0) / 42.0, (y as f32 - 140.0) / 26.0);
            if ex * ex + ey * ey < 1.0 {
                v /= 5;
            }
            rgb[(y * cols + x) * 3..][..3].copy_from_slice(&[v, v, v]);
        }
    }
    for (text, at, scale, colour) in US_TEXT {
        burn_text(&mut rgb, cols, text, at, scale, &colour);
    }
    let mut put = |e| {
        obj.put(e);
    };
    put(el(
        tags::IMAGE_TYPE,
        VR::CS,
        PrimitiveValue::Strs(
            ["ORIGINAL", "PRIMARY"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        ),
    ));
    put(el(tags::STUDY_DESCRIPTION, VR::LO, "US abdomen FAKEDOE"));
    put(el(tags::BURNED_IN_ANNOTATION, VR::CS, "YES"));
    put(el(tags::SAMPLES_PER_PIXEL, VR::US, 3_u16));
    put(el(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "RGB"));
    put(el(tags::PLANAR_CONFIGURATION, VR::US, 0_u16));
    put(el(tags::ROWS, VR::US, rows as u16));
    put(el(tags::COLUMNS, VR::US, cols as u16));
    put(el(tags::BITS_ALLOCATED, VR::US, 8_u16));
    put(el(tags::BITS_STORED, VR::US, 8_u16));
    put(el(tags::HIGH_BIT, VR::US, 7_u16));
    put(el(tags::PIXEL_DATA, VR::OB, PrimitiveValue::U8(rgb.into())));
}

/// A line of text burned into the sample ultrasound: the text, its top-left corner, the pen's
/// scale and its RGB colour.
type BurnedLine = (&'static str, (usize, usize), usize, [u8; 3]);

/// The text burned into the sample ultrasound.
const US_TEXT: [BurnedLine; 3] = [
    ("FAKE 1901", (8, 6), 2, [255, 255, 255]),
    ("LT", (60, 120), 2, [230, 230, 230]),
    ("FAKE 0910", (232, 222), 1, [255, 220, 60]),
];

/// The sample ultrasound (a new study of the first fake patient) with text burned into its
/// pixels, so that the page's sample shows how burned-in text is found and checked.
pub fn sample_ultrasound() -> (String, Vec<u8>) {
    (
        "FAKEDOE_US_1_1.dcm".into(),
        image_of_size(&PATIENTS[0], "US", 1, 1, false, 64, false),
    )
}

/// What the page's "Try a sample study" gives: the sample study and the sample ultrasound.
pub fn sample_with_ultrasound() -> Vec<(String, Vec<u8>)> {
    let mut files = sample_study();
    files.push(sample_ultrasound());
    files
}

/// The sample study: two fake patients, a CT with two series and an MR, as
/// `(file name, bytes)`. One file uses Implicit VR Little Endian.
pub fn sample_study() -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let [jane, john] = &PATIENTS;
    for series in 1..=2 {
        for instance in 1..=2 {
            let implicit = series == 2 && instance == 2;
            files.push((
                format!("FAKEDOE_CT_{series}_{instance}.dcm"),
                image(jane, "CT", series, instance, implicit),
            ));
        }
    }
    for instance in 1..=2 {
        files.push((
            format!("FAKESMITH_MR_1_{instance}.dcm"),
            image(john, "MR", 1, instance, false),
        ));
    }
    files
}

/// A large fake CT series for benchmarks: `slices` images of `size`×`size` 16-bit pixels,
/// generated one at a time; with `noise`, a scanner's noise in every image, so that it
/// deflates about 1.4:1, near what real CT does, where the plain series deflates 50:1.
pub fn ct_series(slices: u32, size: u16, noise: bool) -> impl Iterator<Item = (String, Vec<u8>)> {
    (1..=slices).map(move |i| {
        (
            format!("BENCH_CT_{i:05}.dcm"),
            image_of_size(&PATIENTS[0], "CT", 1, i, false, size, noise),
        )
    })
}

/// A 5×7 pixel pen for the fake text burned into test images (the letters of "FAKE", a few
/// digits, and the letters of "LT", "RT", "SAG" and "CM" for annotations), drawn `scale` times larger with its top-left at `(x, y)` in a frame of `cols`
/// columns and `value.len()` bytes a pixel. Returns the pixels it drew (columns, rows).
pub fn burn_text(
    data: &mut [u8],
    cols: usize,
    text: &str,
    (x, y): (usize, usize),
    scale: usize,
    value: &[u8],
) -> Vec<(u32, u32)> {
    const GLYPHS: &[(char, [u8; 7])] = &[
        ('A', [0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11]),
        ('E', [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f]),
        ('F', [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10]),
        ('K', [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11]),
        ('1', [0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e]),
        ('9', [0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c]),
        ('0', [0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e]),
        ('L', [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f]),
        ('R', [0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11]),
        ('T', [0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04]),
        ('S', [0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e]),
        ('G', [0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f]),
        ('C', [0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e]),
        ('M', [0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11]),
    ];
    let bpp = value.len();
    let mut drawn = Vec::new();
    for (k, c) in text.chars().enumerate() {
        let Some((_, rows)) = GLYPHS.iter().find(|(g, _)| *g == c) else {
            continue;
        };
        for (r, bits) in rows.iter().enumerate() {
            for b in 0..5 {
                if bits & (0x10 >> b) == 0 {
                    continue;
                }
                for sy in 0..scale {
                    for sx in 0..scale {
                        let px = x + (k * 6 + b) * scale + sx;
                        let py = y + r * scale + sy;
                        let at = (py * cols + px) * bpp;
                        data[at..at + bpp].copy_from_slice(value);
                        drawn.push((px as u32, py as u32));
                    }
                }
            }
        }
    }
    drawn
}

/// The sample's overlay bitmap (64×64, one bit a pixel, the first pixel in the lowest bit):
/// a frame around the lower part of the image, as a mark someone drew over it.
fn overlay_mark() -> Vec<u8> {
    let mut bits = vec![0u8; 64 * 64 / 8];
    for y in 44..60usize {
        for x in 4..60usize {
            if y == 44 || y == 59 || x == 4 || x == 59 {
                let i = y * 64 + x;
                bits[i / 8] |= 1 << (i % 8);
            }
        }
    }
    bits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_files_are_dicom_and_carry_the_canaries() {
        let files = sample_study();
        assert_eq!(files.len(), 6);
        for (name, bytes) in &files {
            assert_eq!(bytes.get(128..132), Some(&b"DICM"[..]), "{name}");
            let text = String::from_utf8_lossy(bytes);
            assert!(text.contains("FAKEPRIVATEPHI"), "{name}");
        }
    }

    /// The page's sample shows the review of burned-in text: the detector finds every line
    /// burned into the sample ultrasound, the side marker and the small coloured line too.
    #[test]
    fn the_sample_ultrasound_text_is_found_by_the_detector() {
        let (name, bytes) = sample_ultrasound();
        let file = crate::dicom::read_file(&bytes).expect("the sample ultrasound reads");
        let model = crate::pixels::text_model::test_model();
        let found = crate::pixels::text::find_text(&file, Some(&model), None, true)
            .expect("the frame is drawn");
        let (cols, rows) = US_SIZE;
        for (text, at, scale, colour) in US_TEXT {
            let mut scratch = vec![0u8; cols * rows * 3];
            let ink = burn_text(&mut scratch, cols, text, at, scale, &colour);
            let missed = ink
                .iter()
                .filter(|&&(x, y)| {
                    !found
                        .regions
                        .iter()
                        .any(|r| x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h)
                })
                .count();
            assert_eq!(
                missed, 0,
                "{name}: {text:?} not covered by {:?}",
                found.regions
            );
        }
        assert_eq!(
            sample_with_ultrasound().len(),
            sample_study().len() + 1,
            "the page's sample adds the ultrasound"
        );
    }
}
