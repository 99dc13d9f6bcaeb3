//! Where to blank: regions, and the rules that give them for a kind of image (modality,
//! manufacturer, model, size), in Obscura's JSON or as a CTP pixel script ([`super::ctp`]).

use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use serde::{Deserialize, Serialize};

use super::{ctp, PixelError};
use crate::attrs;

/// A rectangle in pixel coordinates (columns x, rows y), inclusive of its top-left corner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
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

impl Region {
    /// Whether `other` lies wholly within this region.
    pub fn contains(&self, other: &Region) -> bool {
        other.x >= self.x
            && other.y >= self.y
            && other.x + other.w <= self.x + self.w
            && other.y + other.h <= self.y + self.h
    }
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
    /// SOP Instance UID (exact, original value): one image, e.g. a box drawn on it.
    pub sop_instance_uid: Option<String>,
    /// Series Instance UID (exact, original value): every image of one series.
    pub series_instance_uid: Option<String>,
    /// The rectangles to blank on every frame.
    pub regions: Vec<Region>,
    /// A condition in CTP's filter language (from an imported CTP script).
    #[serde(skip)]
    pub condition: Option<ctp::Condition>,
}

/// A set of rules, read from JSON: `{"rules": [{"modality": "US", "regions": [{"x":0,"y":0,"w":640,"h":40}]}]}`,
/// or from a CTP `DicomPixelAnonymizer` script (see [`ctp`]).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RegionRules {
    /// The rules, all applied where they match (unless `first_match`).
    pub rules: Vec<RegionRule>,
    /// Only the first matching rule applies (CTP's way).
    #[serde(default)]
    pub first_match: bool,
    /// Boxes found by automatic detection that the user looked at and said are not text:
    /// they are left as they are in that image.
    #[serde(default)]
    pub rejected: Vec<RejectedBox>,
}

/// A box of automatic detection left visible in one image, at the user's word.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RejectedBox {
    /// SOP Instance UID (exact, original value) of the image.
    pub sop_instance_uid: String,
    /// The box, exactly as detection proposed it.
    #[serde(flatten)]
    pub region: Region,
}

impl RegionRules {
    /// Whether the user left `region`, found by detection, visible in the image `obj`.
    pub fn is_rejected(&self, obj: &InMemDicomObject, region: &Region) -> bool {
        !self.rejected.is_empty() && {
            let uid = attrs::text(obj, tags::SOP_INSTANCE_UID);
            self.rejected
                .iter()
                .any(|r| r.region == *region && r.sop_instance_uid == uid)
        }
    }
}

impl RegionRules {
    /// Parse rules from Obscura's JSON or a CTP `DicomPixelAnonymizer` script, whichever the
    /// text is.
    pub fn parse(text: &str) -> Result<RegionRules, PixelError> {
        if ctp::looks_like_ctp(text) {
            ctp::parse_script(text)
        } else {
            RegionRules::from_json(text)
        }
    }

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
                && r.columns.is_none_or(|v| Some(v) == columns)
                && r.sop_instance_uid
                    .as_ref()
                    .is_none_or(|u| *u == attrs::text(obj, tags::SOP_INSTANCE_UID))
                && r.series_instance_uid
                    .as_ref()
                    .is_none_or(|u| *u == attrs::text(obj, tags::SERIES_INSTANCE_UID))
                && r.condition.as_ref().is_none_or(|c| c.eval(obj));
            if ok {
                regions.extend_from_slice(&r.regions);
                names.push(if r.name.is_empty() {
                    "unnamed rule".to_string()
                } else {
                    r.name.clone()
                });
                if self.first_match {
                    break;
                }
            }
        }
        (regions, names)
    }
}
