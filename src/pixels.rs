//! Blanking regions of burned-in text in the pixels.
//!
//! Regions come from rules keyed on what identifies a kind of image (modality, manufacturer,
//! model, size), as sites maintain them for their ultrasound machines and screen captures.
//! Today only uncompressed (native, little endian) pixel data can be blanked; a file whose
//! rule matches but whose pixels are compressed is left out, never passed through.

use dicom_core::value::{PrimitiveValue, Value};
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use serde::Deserialize;

use crate::attrs;

/// A rectangle in pixel coordinates (columns x, rows y), inclusive of its top-left corner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Region {
    /// First column.
    pub x: u32,
    /// First row.
    pub y: u32,
    /// Width in columns.
    pub w: u32,
    /// Height in rows.
    pub h: u32,
}

/// Which images a rule applies to and what to blank in them. Every given criterion must match;
/// text criteria ignore case, and `manufacturer` / `model` match a part of the value.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RegionRule {
    /// A name for the log, e.g. "Vendor X ultrasound top band".
    #[serde(default)]
    pub name: String,
    /// Modality (exact), e.g. `US`.
    pub modality: Option<String>,
    /// Part of Manufacturer.
    pub manufacturer: Option<String>,
    /// Part of Manufacturer's Model Name.
    pub model: Option<String>,
    /// Rows.
    pub rows: Option<u32>,
    /// Columns.
    pub columns: Option<u32>,
    /// The rectangles to blank on every frame.
    pub regions: Vec<Region>,
}

/// A set of rules, read from JSON: `{"rules": [{"modality": "US", "regions": [{"x":0,"y":0,"w":640,"h":40}]}]}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RegionRules {
    /// The rules, all applied where they match.
    pub rules: Vec<RegionRule>,
}

/// Why pixels could not be cleaned.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PixelError {
    /// The rules file is not valid.
    #[error("pixel rules: {0}")]
    Rules(String),
    /// The pixels are stored in a way Obscura cannot change yet.
    #[error("{0}")]
    Unsupported(String),
}

impl RegionRules {
    /// Parse rules from JSON text.
    pub fn from_json(text: &str) -> Result<RegionRules, PixelError> {
        let rules: RegionRules =
            serde_json::from_str(text).map_err(|e| PixelError::Rules(e.to_string()))?;
        for r in &rules.rules {
            if r.regions.is_empty() {
                return Err(PixelError::Rules(format!(
                    "rule {:?} has no regions",
                    r.name
                )));
            }
        }
        Ok(rules)
    }

    /// The regions of every rule that matches the object, with the rules' names.
    pub fn regions_for(&self, obj: &InMemDicomObject) -> (Vec<Region>, Vec<String>) {
        let text = |tag| attrs::text(obj, tag).to_uppercase();
        let num = |tag| attrs::uint(obj, tag);
        let (modality, manufacturer, model) = (
            text(tags::MODALITY),
            text(tags::MANUFACTURER),
            text(tags::MANUFACTURER_MODEL_NAME),
        );
        let (rows, columns) = (num(tags::ROWS), num(tags::COLUMNS));
        let mut regions = Vec::new();
        let mut names = Vec::new();
        for r in &self.rules {
            let ok = r
                .modality
                .as_ref()
                .is_none_or(|m| m.to_uppercase() == modality)
                && r.manufacturer
                    .as_ref()
                    .is_none_or(|m| manufacturer.contains(&m.to_uppercase()))
                && r.model
                    .as_ref()
                    .is_none_or(|m| model.contains(&m.to_uppercase()))
                && r.rows.is_none_or(|v| Some(v) == rows)
                && r.columns.is_none_or(|v| Some(v) == columns);
            if ok {
                regions.extend_from_slice(&r.regions);
                names.push(if r.name.is_empty() {
                    "unnamed rule".to_string()
                } else {
                    r.name.clone()
                });
            }
        }
        (regions, names)
    }
}

/// Blank the regions on every frame of the object's native pixel data with the image's
/// black. `little_endian` tells how the file stores words. Returns the number of frames.
pub fn blank_regions(
    obj: &mut InMemDicomObject,
    regions: &[Region],
    little_endian: bool,
) -> Result<u32, PixelError> {
    let unsupported = |what: &str| {
        PixelError::Unsupported(format!("{what}: its burned-in text cannot be removed yet"))
    };
    let num = |tag| attrs::uint(obj, tag);
    let (Some(rows), Some(cols)) = (num(tags::ROWS), num(tags::COLUMNS)) else {
        return Err(unsupported("the image has no size"));
    };
    let spp = num(tags::SAMPLES_PER_PIXEL).unwrap_or(1);
    let bits = num(tags::BITS_ALLOCATED).unwrap_or(16);
    let stored = num(tags::BITS_STORED).unwrap_or(bits).clamp(1, bits.max(1));
    let signed = num(tags::PIXEL_REPRESENTATION) == Some(1);
    let planar = num(tags::PLANAR_CONFIGURATION) == Some(1);
    let frames = obj
        .get(tags::NUMBER_OF_FRAMES)
        .and_then(|e| e.value().to_str().ok())
        .and_then(|s| s.trim().parse::<u32>().ok())
        .unwrap_or(1)
        .max(1);
    let photometric = attrs::text(obj, tags::PHOTOMETRIC_INTERPRETATION);
    let Some(elem) = obj.get(tags::PIXEL_DATA) else {
        return Err(unsupported("no pixel data"));
    };
    let vr = elem.vr();
    let mut bytes: Vec<u8> = match elem.value() {
        Value::Primitive(PrimitiveValue::U8(b)) => b.to_vec(),
        Value::Primitive(PrimitiveValue::U16(w)) => {
            w.iter().flat_map(|v| v.to_le_bytes()).collect()
        }
        Value::PixelSequence(_) => return Err(unsupported("the pixel data is compressed")),
        _ => return Err(unsupported("the pixel data has an unusual form")),
    };
    let word_order_le =
        little_endian || matches!(elem.value(), Value::Primitive(PrimitiveValue::U16(_)));
    if bits != 8 && bits != 16 {
        return Err(unsupported(&format!("{bits}-bit pixels")));
    }
    let bps = (bits / 8) as usize;
    // The value that shows as black, per sample.
    let black: Vec<u32> = match photometric.as_str() {
        "MONOCHROME1" if signed => vec![(1u32 << (stored - 1)) - 1],
        "MONOCHROME1" => vec![(1u32 << stored) - 1],
        "MONOCHROME2" if signed => vec![(1u32 << (stored - 1)).wrapping_neg()],
        "MONOCHROME2" | "PALETTE COLOR" => vec![0],
        "RGB" => vec![0, 0, 0],
        "YBR_FULL" => vec![0, 1 << (stored - 1), 1 << (stored - 1)],
        other => {
            return Err(unsupported(&format!(
                "photometric interpretation {other:?}"
            )))
        }
    };
    if black.len() != spp as usize {
        return Err(unsupported(
            "samples per pixel do not match the photometric interpretation",
        ));
    }
    let (rows_u, cols_u, spp_u) = (rows as usize, cols as usize, spp as usize);
    let frame_len = rows_u * cols_u * spp_u * bps;
    if bytes.len() < frame_len * frames as usize {
        return Err(unsupported("the pixel data is shorter than its frames"));
    }
    for f in 0..frames as usize {
        let frame = &mut bytes[f * frame_len..(f + 1) * frame_len];
        for r in regions {
            let (x0, y0) = (r.x.min(cols) as usize, r.y.min(rows) as usize);
            let (x1, y1) = (
                (r.x.saturating_add(r.w)).min(cols) as usize,
                (r.y.saturating_add(r.h)).min(rows) as usize,
            );
            for y in y0..y1 {
                for x in x0..x1 {
                    for (s, value) in black.iter().enumerate() {
                        let index = if planar {
                            s * rows_u * cols_u + y * cols_u + x
                        } else {
                            (y * cols_u + x) * spp_u + s
                        };
                        let at = index * bps;
                        if bps == 1 {
                            frame[at] = *value as u8;
                        } else {
                            let b = if word_order_le {
                                (*value as u16).to_le_bytes()
                            } else {
                                (*value as u16).to_be_bytes()
                            };
                            frame[at..at + 2].copy_from_slice(&b);
                        }
                    }
                }
            }
        }
    }
    let value = if matches!(elem.value(), Value::Primitive(PrimitiveValue::U16(_))) {
        PrimitiveValue::U16(
            bytes
                .chunks_exact(2)
                .map(|p| u16::from_le_bytes([p[0], p[1]]))
                .collect(),
        )
    } else {
        PrimitiveValue::U8(bytes.into())
    };
    obj.put(DataElement::new(tags::PIXEL_DATA, vr, value));
    obj.put(DataElement::new(
        tags::BURNED_IN_ANNOTATION,
        VR::CS,
        PrimitiveValue::from("NO"),
    ));
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(
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
