//! The case as a presenter shows it: a title, and each series with a caption in words and
//! its pictures (key images and cine). `case.html` ([`super::report::case_html`]) and the
//! slide deck ([`super::deck`]) are both made from it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::{DirFile, Layout};
use crate::deid::Summary;

/// One picture of a series, as it is in the package.
pub struct Picture<'a> {
    /// Its name in the package (`images/…`).
    pub name: &'a str,
    /// The PNG (key image) or GIF (cine).
    pub bytes: &'a [u8],
}

impl Picture<'_> {
    /// Whether it is a cine (an animated GIF) rather than a key image (PNG).
    pub fn is_cine(&self) -> bool {
        self.name.ends_with(".gif")
    }
}

/// One series of the case.
pub struct Series<'a> {
    /// Its first file (the series' de-identified values).
    pub first: &'a DirFile,
    /// The series in words (see [`series_caption`]).
    pub caption: String,
    /// Its key images and cine.
    pub pictures: Vec<Picture<'a>>,
}

/// The case: its title and its series in package order.
pub struct Case<'a> {
    /// "Teaching case: <the study's description>", "Teaching case", or "Teaching cases (N
    /// patients)".
    pub title: String,
    /// Every series, in package order.
    pub series: Vec<Series<'a>>,
}

impl<'a> Case<'a> {
    /// The case of the package laid out so far.
    pub fn of(layout: &'a Layout) -> Case<'a> {
        // Series in package order, with how many files and images each has.
        let mut groups: BTreeMap<(usize, usize, usize), (usize, usize, &DirFile)> = BTreeMap::new();
        for f in layout.files.iter().map(|f| &f.dir) {
            let entry = groups.entry(f.group).or_insert((0, 0, f));
            entry.0 += 1;
            entry.1 += usize::from(f.has_pixels);
        }
        let studies: BTreeSet<&str> = groups
            .values()
            .map(|(_, _, f)| f.series.study_description.trim())
            .filter(|d| !d.is_empty())
            .collect();
        let title = match (layout.patients.len(), studies.first()) {
            (0 | 1, Some(study)) if studies.len() == 1 => format!("Teaching case: {study}"),
            (0 | 1, _) => "Teaching case".to_string(),
            (n, _) => format!("Teaching cases ({n} patients)"),
        };
        let series = groups
            .into_iter()
            .map(|((p, st, se), (files, images, first))| {
                let prefix = format!("images/PAT{p:04}-STU{st:04}-SER{se:04}");
                Series {
                    first,
                    caption: series_caption(&first.series, files, images),
                    pictures: layout
                        .images
                        .iter()
                        .filter(|(n, _)| {
                            n.strip_prefix(&prefix)
                                .is_some_and(|rest| rest.starts_with(['.', '-']))
                        })
                        .map(|(name, bytes)| Picture { name, bytes })
                        .collect(),
                }
            })
            .collect();
        Case { title, series }
    }
}

/// A series in words, for a slide: what kind of imaging, of which part, the series'
/// description as cleaned, and how many images (e.g. "CT of the chest, “AXIAL 5MM”,
/// 12 images").
pub fn series_caption(s: &Summary, files: usize, images: usize) -> String {
    let kind = modality_in_words(s.modality.trim());
    let body = s.body_part.trim().replace('_', " ").to_lowercase();
    let mut caption = if body.is_empty() {
        kind
    } else {
        format!("{kind} of the {body}")
    };
    let description = s.series_description.trim();
    if !description.is_empty() {
        let _ = write!(caption, ", “{description}”");
    }
    let (n, one, many) = if images > 0 {
        (images, "image", "images")
    } else {
        (files, "file", "files")
    };
    let _ = write!(caption, ", {n} {}", if n == 1 { one } else { many });
    caption
}

/// A modality (PS3.3 C.7.3.1.1.1) as a presenter would name it.
fn modality_in_words(modality: &str) -> String {
    match modality {
        "" => "Series",
        "CT" => "CT",
        "MR" => "MRI",
        "US" => "Ultrasound",
        "IVUS" => "Intravascular ultrasound",
        "CR" | "DX" => "Radiograph",
        "MG" => "Mammogram",
        "IO" => "Intra-oral radiograph",
        "PX" => "Panoramic radiograph",
        "XA" => "Angiogram",
        "RF" => "Fluoroscopy",
        "NM" => "Nuclear medicine",
        "PT" => "PET",
        "ES" => "Endoscopy",
        "XC" | "GM" => "Photograph",
        "OP" => "Ophthalmic photograph",
        "OCT" | "OPT" => "Optical coherence tomography",
        "SM" => "Slide microscopy",
        "OT" => "Image",
        "SR" => "Structured report",
        "DOC" => "Document",
        "SEG" => "Segmentation",
        "PR" => "Presentation state",
        "KO" => "Key images note",
        "ECG" => "ECG",
        other => other,
    }
    .to_string()
}

/// A package laid out from the sample study (2 patients, 3 series), each series with a small
/// key image, for the tests of the case page and the deck.
#[cfg(test)]
pub(super) fn sample_package() -> super::PackageWriter {
    let policy = crate::deid::Policy::basic(crate::deid::ProjectKey::from_bytes([6; 32]));
    let mut session = crate::deid::Session::new(policy);
    let mut writer = super::PackageWriter::new();
    for (_, bytes) in crate::sample::sample_study() {
        let d = session.deidentify(&bytes).expect("de-identified");
        writer.add(&d);
    }
    let layout = writer.layout_mut();
    for (name, _) in layout.key_image_plan() {
        layout.add_key_image(&name, &super::png::encode(3, 2, &[200; 24]));
    }
    writer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_is_captioned_in_words() {
        let s = crate::deid::Summary {
            modality: "MR".into(),
            body_part: "HEAD_NECK".into(),
            series_description: "AX T2".into(),
            ..Default::default()
        };
        assert_eq!(
            series_caption(&s, 24, 24),
            "MRI of the head neck, “AX T2”, 24 images"
        );
        let s = crate::deid::Summary {
            modality: "US".into(),
            ..Default::default()
        };
        assert_eq!(series_caption(&s, 1, 1), "Ultrasound, 1 image");
        let s = crate::deid::Summary {
            modality: "SR".into(),
            ..Default::default()
        };
        assert_eq!(series_caption(&s, 2, 0), "Structured report, 2 files");
        assert_eq!(modality_in_words("ZZ"), "ZZ");
    }
}
