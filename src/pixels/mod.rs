//! Blanking regions of burned-in text in the pixels, and drawing frames.
//!
//! Regions come from rules keyed on what identifies a kind of image (modality, manufacturer,
//! model, size), as sites maintain them for their ultrasound machines and screen captures
//! ([`rules`](RegionRules)), from boxes drawn on the page, and from the text detectors
//! ([`text`], [`detect`]). Native pixel data (any byte order) is blanked in place (`native`).
//! Compressed pixel data (`compressed`) is blanked inside JPEG's compressed blocks where it
//! can be; anything else is decoded frame by frame (`codec`: Obscura's own decoders for RLE,
//! 12-bit JPEG and JPEG-LS colour, dicom-rs's for the rest), blanked, and packed again as RLE
//! Lossless. A file whose rule matches but whose pixels cannot be decoded (progressive JPEG,
//! JPEG-LS with mapping tables) is left out, never passed through. How a frame is laid out
//! and which value is black is `geometry`; frames are drawn for people and the detector by
//! `render`.

mod bits;
mod codec;
mod compressed;
pub mod ctp;
pub mod detect;
mod geometry;
mod native;
mod overlay;
mod plans;
mod render;
mod rules;
mod segmented;
pub mod text;
pub mod text_boxes;
pub mod text_model;
pub mod text_read;

pub use codec::decode_frame;
pub use compressed::{blank_encapsulated, strip_codestream_text, Stored};
pub use native::{blank_regions, cut_after_image};
pub use render::{luma_frames, render, render_with, Luma, Rendered};
pub use rules::{Region, RegionRule, RegionRules, RejectedBox};

/// Why pixels could not be cleaned, or drawn.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PixelError {
    /// The rules file is not valid.
    #[error("pixel rules: {0}")]
    Rules(String),
    /// The pixels are stored in a way Obscura cannot change yet: why.
    #[error("{0}: its burned-in text cannot be removed yet")]
    Unsupported(String),
    /// The same, when the image was to be drawn (for the page, a key image): why.
    #[error("{0}")]
    Undrawable(String),
}

impl PixelError {
    /// Why, without what it means for blanking (for a message that says that itself).
    pub fn reason(&self) -> String {
        match self {
            PixelError::Unsupported(why) | PixelError::Undrawable(why) => why.clone(),
            other => other.to_string(),
        }
    }

    /// This error as one of drawing the image (its reason without what it means for
    /// blanking).
    fn drawing(self) -> PixelError {
        match self {
            PixelError::Unsupported(why) => PixelError::Undrawable(why),
            other => other,
        }
    }
}

/// Refuse an image whose pixel data (the product of `sizes`) could not be held in memory
/// (more than 2 GiB, the most WebAssembly can address at once).
fn fits_in_memory(sizes: &[u32]) -> Result<(), PixelError> {
    let total = sizes
        .iter()
        .try_fold(1u64, |n, s| n.checked_mul(u64::from(*s)));
    match total {
        Some(n) if n <= i32::MAX as u64 => Ok(()),
        _ => Err(unsupported("the image is too large to be held in memory")),
    }
}

fn unsupported(what: &str) -> PixelError {
    PixelError::Unsupported(what.to_string())
}

#[cfg(test)]
mod tests {
    use dicom_core::value::{PrimitiveValue, Value};
    use dicom_core::{DataElement, VR};
    use dicom_dictionary_std::tags;
    use dicom_object::InMemDicomObject;

    use super::codec::frame_fragments;
    use super::geometry::Palette;
    use super::*;

    #[test]
    #[allow(clippy::single_range_in_vec_init)] // one frame's range is what is meant
    fn frames_are_found_in_their_fragments() {
        let soi = [0xFF, 0xD8, 1, 2].as_slice();
        let soc = [0xFF, 0x4F, 0xFF, 0x51].as_slice();
        let rest = [7, 7].as_slice();
        // One fragment a frame, and one frame in every fragment.
        assert_eq!(
            frame_fragments(&[rest, rest], &[], 2),
            Some(vec![0..1, 1..2])
        );
        assert_eq!(
            frame_fragments(&[soi, rest, rest], &[], 1),
            Some(vec![0..3])
        );
        // Two frames in five fragments, by the offset table: item starts 0, 12, 22, 32, 44.
        let five = [soi, rest, rest, soi, rest];
        assert_eq!(frame_fragments(&five, &[0, 32], 2), Some(vec![0..3, 3..5]));
        // An offset that is not where an item starts is not trusted; without offsets the
        // codestreams' starts tell, for JPEG and JPEG 2000 alike.
        assert_eq!(frame_fragments(&five, &[0, 30], 2), Some(vec![0..3, 3..5]));
        assert_eq!(frame_fragments(&five, &[], 2), Some(vec![0..3, 3..5]));
        assert_eq!(
            frame_fragments(&[soc, rest, soc, rest, rest], &[], 2),
            Some(vec![0..2, 2..5])
        );
        // Offsets beat markers (a frame's later fragment may start like a codestream).
        assert_eq!(
            frame_fragments(&[soi, soi, soi], &[0, 12], 2),
            Some(vec![0..1, 1..3])
        );
        // Nothing tells: no guess.
        assert_eq!(frame_fragments(&[soi, rest, rest], &[], 2), None);
        assert_eq!(frame_fragments(&[rest, soi, soi], &[], 2), None);
        assert_eq!(frame_fragments(&[soi, soi, soi], &[], 2), None);
        assert_eq!(frame_fragments(&[soi], &[], 2), None);
        assert_eq!(
            frame_fragments(&[soi, rest, soi], &[0, 0], 2),
            Some(vec![0..2, 2..3])
        );
    }

    pub(super) fn image(
        photometric: &str,
        spp: u16,
        bits: u16,
        frames: u32,
        planar: u16,
        pixels: Vec<u8>,
    ) -> InMemDicomObject {
        let mut o = InMemDicomObject::new_empty();
        let us = |t, v: u16| DataElement::new(t, VR::US, PrimitiveValue::from(v));
        o.put(us(tags::ROWS, 4));
        o.put(us(tags::COLUMNS, 5));
        o.put(us(tags::SAMPLES_PER_PIXEL, spp));
        o.put(us(tags::BITS_ALLOCATED, bits));
        o.put(us(tags::BITS_STORED, bits));
        o.put(us(tags::PLANAR_CONFIGURATION, planar));
        o.put(us(tags::PIXEL_REPRESENTATION, 0));
        o.put(DataElement::new(
            tags::NUMBER_OF_FRAMES,
            VR::IS,
            PrimitiveValue::from(frames.to_string()),
        ));
        o.put(DataElement::new(
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            PrimitiveValue::from(photometric),
        ));
        o.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            PrimitiveValue::U8(pixels.into()),
        ));
        o
    }

    fn pixels(o: &InMemDicomObject) -> Vec<u8> {
        o.get(tags::PIXEL_DATA)
            .and_then(|e| e.value().to_bytes().ok())
            .map(|b| b.to_vec())
            .unwrap_or_default()
    }

    /// `o` as a file of explicit VR little endian, of SOP class `class`.
    fn as_file(
        o: InMemDicomObject,
        class: &str,
    ) -> dicom_object::FileDicomObject<InMemDicomObject> {
        o.with_meta(
            dicom_object::meta::FileMetaTableBuilder::new()
                .transfer_syntax(dicom_dictionary_std::uids::EXPLICIT_VR_LITTLE_ENDIAN)
                .media_storage_sop_class_uid(class)
                .media_storage_sop_instance_uid("2.25.7"),
        )
        .expect("meta")
    }

    const CORNER: [Region; 1] = [Region {
        x: 0,
        y: 0,
        w: 2,
        h: 1,
    }];

    #[test]
    fn rgb_multiframe_interleaved_and_planar() {
        // 3 frames of 4×5 RGB, every byte 200.
        for planar in [0u16, 1] {
            let mut o = image("RGB", 3, 8, 3, planar, vec![200; 3 * 4 * 5 * 3]);
            assert_eq!(blank_regions(&mut o, &CORNER, true), Ok(3));
            let p = pixels(&o);
            for f in 0..3 {
                let frame = &p[f * 60..(f + 1) * 60];
                let zeros = frame.iter().filter(|b| **b == 0).count();
                assert_eq!(
                    zeros,
                    2 * 3,
                    "two pixels × three samples blanked in frame {f} (planar {planar})"
                );
                if planar == 0 {
                    assert_eq!(&frame[..6], &[0; 6]);
                } else {
                    for s in 0..3 {
                        assert_eq!(&frame[s * 20..s * 20 + 2], &[0, 0]);
                    }
                }
            }
        }
    }

    /// 32-bit samples (RT doses, some screen captures) in every form they are read in: bytes
    /// in either byte order, 16-bit words (a big-endian file's with their words the other way
    /// round) and 32-bit values; black is the lowest value, or the highest for MONOCHROME1.
    #[test]
    fn thirty_two_bit_samples_in_every_form() {
        let value: u32 = 0x1234_5678;
        let region = [Region {
            x: 0,
            y: 0,
            w: 1,
            h: 1,
        }];
        // (photometric, signed, black)
        for (photometric, signed, black) in [
            ("MONOCHROME2", false, 0u32),
            ("MONOCHROME2", true, 0x8000_0000),
            ("MONOCHROME1", false, 0xFFFF_FFFF),
        ] {
            for little_endian in [true, false] {
                let order = |v: u32| {
                    if little_endian {
                        v.to_le_bytes()
                    } else {
                        v.to_be_bytes()
                    }
                };
                let file_bytes: Vec<u8> = (0..20).flat_map(|_| order(value)).collect();
                // As the file's bytes; as words (held in the machine's order); as 32-bit values.
                let words: Vec<u16> = file_bytes
                    .chunks_exact(2)
                    .map(|p| {
                        if little_endian {
                            u16::from_le_bytes([p[0], p[1]])
                        } else {
                            u16::from_be_bytes([p[0], p[1]])
                        }
                    })
                    .collect();
                let forms = [
                    PrimitiveValue::U8(file_bytes.clone().into()),
                    PrimitiveValue::U16(words.into()),
                    PrimitiveValue::U32(vec![value; 20].into()),
                ];
                for form in forms {
                    let kind = format!("{form:?}").chars().take(3).collect::<String>();
                    let mut o = image(photometric, 1, 32, 1, 0, Vec::new());
                    o.put(DataElement::new(tags::PIXEL_DATA, VR::OW, form));
                    o.put(DataElement::new(
                        tags::PIXEL_REPRESENTATION,
                        VR::US,
                        PrimitiveValue::from(u16::from(signed)),
                    ));
                    assert_eq!(blank_regions(&mut o, &region, little_endian), Ok(1));
                    // Read back as the file would be written: the first sample black, the
                    // next untouched.
                    let samples: Vec<u32> = match o.get(tags::PIXEL_DATA).map(|e| e.value()) {
                        Some(Value::Primitive(PrimitiveValue::U8(b))) => b
                            .chunks_exact(4)
                            .map(|p| {
                                let p = [p[0], p[1], p[2], p[3]];
                                if little_endian {
                                    u32::from_le_bytes(p)
                                } else {
                                    u32::from_be_bytes(p)
                                }
                            })
                            .collect(),
                        Some(Value::Primitive(PrimitiveValue::U16(w))) => w
                            .chunks_exact(2)
                            .map(|p| {
                                if little_endian {
                                    u32::from(p[0]) | u32::from(p[1]) << 16
                                } else {
                                    u32::from(p[0]) << 16 | u32::from(p[1])
                                }
                            })
                            .collect(),
                        Some(Value::Primitive(PrimitiveValue::U32(w))) => w.to_vec(),
                        other => panic!("{other:?}"),
                    };
                    let what = format!("{photometric} signed {signed} le {little_endian} {kind}");
                    assert_eq!(samples.len(), 20, "{what}");
                    assert_eq!(samples[0], black, "{what}");
                    assert!(samples[1..].iter().all(|v| *v == value), "{what}");
                }
            }
        }
    }

    #[test]
    fn ybr_full_422_blanks_whole_pairs_with_neutral_colour() {
        // 2 frames of 4 rows × 6 columns: each row holds 3 pairs of Y1 Y2 Cb Cr.
        let mut o = image("YBR_FULL_422", 3, 8, 2, 0, vec![200; 2 * 4 * 6 * 2]);
        o.put(DataElement::new(
            tags::COLUMNS,
            VR::US,
            PrimitiveValue::from(6u16),
        ));
        // Columns 1 and 2 of row 1 touch pairs 0 and 1: both are blanked whole.
        let region = [Region {
            x: 1,
            y: 1,
            w: 2,
            h: 1,
        }];
        assert_eq!(blank_regions(&mut o, &region, true), Ok(2));
        let p = pixels(&o);
        assert_eq!(p.len(), 96);
        for frame in p.chunks(48) {
            assert_eq!(
                &frame[12..24],
                &[0, 0, 128, 128, 0, 0, 128, 128, 200, 200, 200, 200]
            );
            assert!(frame[..12].iter().chain(&frame[24..]).all(|b| *b == 200));
        }
        // An odd number of columns cannot be 4:2:2.
        let mut odd = image("YBR_FULL_422", 3, 8, 1, 0, vec![200; 40]);
        assert!(blank_regions(&mut odd, &region, true).is_err());
    }

    /// A 4-entry palette (16-bit entries, first mapped value 10): white, red, black, grey.
    fn with_palette(o: &mut InMemDicomObject) {
        let channels = [
            [65535u16, 65535, 0, 32768],
            [65535, 0, 0, 32768],
            [65535, 0, 0, 32768],
        ];
        for (c, values) in channels.into_iter().enumerate() {
            let n = c as u16;
            o.put(DataElement::new(
                dicom_core::Tag(0x0028, 0x1101 + n),
                VR::US,
                PrimitiveValue::U16(vec![4, 10, 16].into()),
            ));
            o.put(DataElement::new(
                dicom_core::Tag(0x0028, 0x1201 + n),
                VR::OW,
                PrimitiveValue::U16(values.to_vec().into()),
            ));
        }
    }

    #[test]
    fn palette_colour_black_is_the_darkest_entry() {
        let mut o = image("PALETTE COLOR", 1, 8, 1, 0, vec![10; 20]);
        with_palette(&mut o);
        assert_eq!(blank_regions(&mut o, &CORNER, true), Ok(1));
        // Value 12 maps to the black entry; index 0 would have been white here.
        assert_eq!(&pixels(&o)[..3], &[12, 12, 10]);
        let p = Palette::of(&o).expect("palette");
        assert_eq!(p.rgb8(11), [255, 0, 0]);
        assert_eq!(
            p.rgb8(0),
            [255, 255, 255],
            "below the table: its first entry"
        );
        assert_eq!(
            p.rgb8(99),
            [128, 128, 128],
            "above the table: its last entry"
        );

        // Without its palette the image is refused.
        let mut bare = image("PALETTE COLOR", 1, 8, 1, 0, vec![10; 20]);
        assert!(blank_regions(&mut bare, &CORNER, true).is_err());
    }

    /// The same palette written as segments (as some ultrasound machines write theirs):
    /// read the same, and black is again its darkest entry. A damaged one is refused.
    #[test]
    fn segmented_palettes_are_expanded() {
        let mut o = image("PALETTE COLOR", 1, 8, 1, 0, vec![10; 20]);
        with_palette(&mut o);
        let plain = Palette::of(&o).expect("palette").entries;
        // Red: two entries, then lines down to 0 and up to grey, one step each. Green: three
        // runs. Blue: a run, a flat line, a run and a padding word.
        let segments: [&[u16]; 3] = [
            &[0, 2, 65535, 65535, 1, 1, 0, 1, 1, 32768],
            &[0, 1, 65535, 0, 2, 0, 0, 0, 1, 32768],
            &[0, 2, 65535, 0, 1, 1, 0, 0, 1, 32768, 0],
        ];
        for (c, words) in segments.into_iter().enumerate() {
            let n = c as u16;
            o.remove_element(dicom_core::Tag(0x0028, 0x1201 + n));
            o.put(DataElement::new(
                dicom_core::Tag(0x0028, 0x1221 + n),
                VR::OW,
                PrimitiveValue::U16(words.to_vec().into()),
            ));
        }
        let p = Palette::of(&o).expect("segmented palette");
        assert_eq!(p.entries, plain);
        assert_eq!(blank_regions(&mut o, &CORNER, true), Ok(1));
        assert_eq!(&pixels(&o)[..3], &[12, 12, 10]);

        o.put(DataElement::new(
            dicom_core::Tag(0x0028, 0x1221),
            VR::OW,
            PrimitiveValue::U16(vec![1, 2, 9].into()),
        ));
        let err = Palette::of(&o).expect_err("damaged");
        assert!(
            format!("{err:?}").contains("damaged segmented palette"),
            "{err:?}"
        );
    }

    /// An image that cannot be drawn says why, without what that means for blanking; one
    /// that cannot be blanked says both.
    #[test]
    fn errors_say_what_they_mean_for_drawing_or_blanking() {
        let mut o = image("MONOCHROME2", 1, 12, 1, 0, vec![0; 30]);
        let file = as_file(o.clone(), "1.2.840.10008.5.1.4.1.1.7");
        assert_eq!(
            render(&file, None).err(),
            Some(PixelError::Undrawable("12-bit pixels".into()))
        );
        // Sizes whose product would wrap around memory's words are refused, not counted.
        let mut huge = image("RGB", 3, 32, 1, 0, vec![0; 8]);
        for t in [tags::ROWS, tags::COLUMNS] {
            huge.put(DataElement::new(t, VR::US, PrimitiveValue::from(65535u16)));
        }
        let too_large = blank_regions(&mut huge, &CORNER, true).expect_err("too large");
        assert_eq!(
            too_large.reason(),
            "the image is too large to be held in memory"
        );
        let err = blank_regions(&mut o, &CORNER, true).expect_err("12-bit");
        assert_eq!(err.reason(), "12-bit pixels");
        assert_eq!(
            err.to_string(),
            "12-bit pixels: its burned-in text cannot be removed yet"
        );
    }

    #[test]
    fn the_files_voi_lut_is_used_when_it_has_no_window() {
        // Values 0..20; the table maps 0..9 to 0..9 × 100 (of 12 bits) and clamps the rest.
        let mut o = image("MONOCHROME2", 1, 8, 1, 0, (0..20).collect());
        let mut item = InMemDicomObject::new_empty();
        item.put(DataElement::new(
            tags::LUT_DESCRIPTOR,
            VR::US,
            PrimitiveValue::U16(vec![10, 0, 12].into()),
        ));
        item.put(DataElement::new(
            tags::LUT_DATA,
            VR::OW,
            PrimitiveValue::U16((0..10u16).map(|i| i * 100).collect()),
        ));
        o.put(DataElement::new(
            tags::VOILUT_SEQUENCE,
            VR::SQ,
            dicom_core::value::DataSetSequence::from(vec![item]),
        ));
        o.put(DataElement::new(
            tags::SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from("1.2.840.10008.5.1.4.1.1.7"),
        ));
        o.put(DataElement::new(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from("2.25.7"),
        ));
        let file = as_file(o, "1.2.840.10008.5.1.4.1.1.7");
        let r = render(&file, None).expect("rendered");
        let grey: Vec<u8> = r.rgba.chunks(4).map(|p| p[0]).collect();
        let expected = |v: u32| ((v.min(9) * 100) as f64 / 4095.0 * 255.0).round() as u8;
        assert_eq!(grey, (0..20).map(expected).collect::<Vec<_>>());
        assert_eq!(r.window, Some((5.0, 10.0)));
        // A window chosen by the user wins over the table.
        let w = render_with(&file, None, Some((10.0, 20.0))).expect("rendered");
        assert_ne!(w.rgba.chunks(4).map(|p| p[0]).collect::<Vec<_>>(), grey);
    }

    /// A CT in Hounsfield units with no window of its own is shown, and its key image made,
    /// in the window a radiologist starts from, not across its whole range.
    #[test]
    fn a_ct_without_a_window_is_shown_in_a_ct_window() {
        // 16-bit signed HU: air, then grey and white matter 10 HU apart, then bone.
        let hu: [i16; 20] = [
            -1000, -1000, 30, 40, 30, 40, 1000, 1000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let bytes: Vec<u8> = hu.iter().flat_map(|v| v.to_le_bytes()).collect();
        let with = |modality: &str, part: &str| {
            let mut o = image("MONOCHROME2", 1, 16, 1, 0, bytes.clone());
            o.put(DataElement::new(
                tags::PIXEL_REPRESENTATION,
                VR::US,
                PrimitiveValue::from(1u16),
            ));
            o.put(DataElement::new(
                tags::MODALITY,
                VR::CS,
                PrimitiveValue::from(modality),
            ));
            o.put(DataElement::new(
                tags::BODY_PART_EXAMINED,
                VR::CS,
                PrimitiveValue::from(part),
            ));
            as_file(o, dicom_dictionary_std::uids::CT_IMAGE_STORAGE)
        };
        let head = render(&with("CT", "HEAD"), None).expect("rendered");
        assert_eq!(head.window, Some((40.0, 80.0)));
        let grey: Vec<u8> = head.rgba.chunks(4).map(|p| p[0]).collect();
        assert!(
            grey[3] - grey[2] > 20,
            "grey and white matter apart: {grey:?}"
        );
        let chest = render(&with("CT", "CHEST"), None).expect("rendered");
        assert_eq!(chest.window, Some((40.0, 400.0)));
        // Not a CT, or a window asked for: the range, as before.
        let mr = render(&with("MR", "HEAD"), None).expect("rendered");
        assert_eq!(mr.window, Some((0.0, 2000.0)));
        let full = render_with(&with("CT", "HEAD"), None, Some((0.0, 0.0))).expect("rendered");
        assert_eq!(full.window, Some((0.0, 2000.0)));
    }

    #[test]
    fn monochrome1_black_is_the_highest_value() {
        let mut o = image("MONOCHROME1", 1, 8, 1, 0, vec![5; 20]);
        assert_eq!(blank_regions(&mut o, &CORNER, true), Ok(1));
        assert_eq!(&pixels(&o)[..3], &[255, 255, 5]);
    }

    #[test]
    fn regions_outside_the_image_are_clipped() {
        let mut o = image("MONOCHROME2", 1, 8, 1, 0, vec![9; 20]);
        let far = [
            Region {
                x: 4,
                y: 3,
                w: 100,
                h: 100,
            },
            Region {
                x: 50,
                y: 50,
                w: 1,
                h: 1,
            },
        ];
        assert_eq!(blank_regions(&mut o, &far, true), Ok(1));
        let p = pixels(&o);
        assert_eq!(
            p.iter().filter(|b| **b == 0).count(),
            1,
            "only the last pixel"
        );
        assert_eq!(p[19], 0);
    }

    #[test]
    fn rules_match_on_every_given_criterion() {
        let rules = RegionRules::from_json(
            r#"{"rules": [{"name": "a", "modality": "US", "manufacturer": "acme", "regions": [{"x":0,"y":0,"w":1,"h":1}]},
                          {"name": "b", "rows": 4, "columns": 5, "regions": [{"x":1,"y":1,"w":1,"h":1}]}]}"#,
        )
        .expect("rules");
        let mut o = image("MONOCHROME2", 1, 8, 1, 0, vec![1; 20]);
        o.put(DataElement::new(
            tags::MODALITY,
            VR::CS,
            PrimitiveValue::from("US"),
        ));
        o.put(DataElement::new(
            tags::MANUFACTURER,
            VR::LO,
            PrimitiveValue::from("ACME Medical"),
        ));
        let (regions, names) = rules.regions_for(&o);
        assert_eq!(names, vec!["a", "b"]);
        assert_eq!(regions.len(), 2);
        o.put(DataElement::new(
            tags::MANUFACTURER,
            VR::LO,
            PrimitiveValue::from("Other"),
        ));
        assert_eq!(rules.regions_for(&o).1, vec!["b"]);
    }
}
