//! Documents inside DICOM (Encapsulated Document, (0042,0011)): a PDF or CDA report is full
//! of names, numbers and dates that Obscura cannot clean, and a 3D model can be a face. Such a
//! file is left out unless the user includes documents; an included one keeps its structure
//! and gets, in place of the document, a placeholder of the same type that any reader opens
//! and that says what happened (not a broken file).
//!
//! A sound recording (a voice memo, dictation, the audio of a study) is worse: a voice
//! identifies its speaker (HIPAA counts voice prints as biometric identifiers) and what it
//! says cannot be checked. Such a file is always left out.
//!
//! A video (MPEG-2, H.264, HEVC) cannot be looked at for burned-in text, and its stream can
//! carry metadata and sound Obscura does not clean: it is left out unless the user includes
//! it after checking it, as for images that say text is burned in.

use dicom_core::value::Value;
use dicom_core::Tag;
use dicom_object::InMemDicomObject;

/// Encapsulated Document.
pub const DOCUMENT: Tag = Tag(0x0042, 0x0011);
/// MIME Type of Encapsulated Document.
pub const MIME_TYPE: Tag = Tag(0x0042, 0x0012);

/// What the placeholder says.
const NOTE: &str = "The original document was removed by Obscura: it may identify the patient.";

/// Waveform Sequence.
const WAVEFORM_SEQUENCE: Tag = Tag(0x5400, 0x0100);
/// Waveform Sample Interpretation.
const SAMPLE_INTERPRETATION: Tag = Tag(0x5400, 0x1006);
/// SOP Classes whose waveforms are sound: Basic Voice Audio and General Audio Waveform.
const AUDIO_CLASSES: [&str; 2] = [
    "1.2.840.10008.5.1.4.1.1.9.4.1",
    "1.2.840.10008.5.1.4.1.1.9.4.2",
];

/// Whether the object holds a sound recording: an audio SOP Class (`sop_class`, from the
/// file meta or the data set), or any waveform whose samples are A-law or mu-law (the
/// encodings PS3.3 gives audio channels), whatever the class says.
pub fn holds_sound(obj: &InMemDicomObject, sop_class: &str) -> bool {
    let own_class = crate::attrs::text(obj, dicom_dictionary_std::tags::SOP_CLASS_UID);
    if [sop_class, own_class.as_str()]
        .iter()
        .any(|c| AUDIO_CLASSES.contains(&c.trim_end_matches(['\0', ' '])))
    {
        return true;
    }
    let Some(Value::Sequence(seq)) = obj.get(WAVEFORM_SEQUENCE).map(|e| e.value()) else {
        return false;
    };
    seq.items().iter().any(|item| {
        let how = crate::attrs::text(item, SAMPLE_INTERPRETATION).to_ascii_uppercase();
        matches!(how.trim(), "AB" | "MB")
    })
}

/// The kind of document an object holds, in words for the user, or `None` when it holds none.
pub fn kind(obj: &InMemDicomObject) -> Option<&'static str> {
    obj.get(DOCUMENT)?;
    Some(describe(&mime_of(obj)))
}

/// The MIME type the object gives its document (lower case, trimmed; empty when absent).
pub fn mime_of(obj: &InMemDicomObject) -> String {
    obj.get(MIME_TYPE)
        .and_then(|e| e.value().to_str().ok())
        .map(|s| s.trim_matches(['\0', ' ']).to_ascii_lowercase())
        .unwrap_or_default()
}

fn describe(mime: &str) -> &'static str {
    match mime {
        "application/pdf" => "a PDF document",
        "text/xml" | "application/xml" => "a CDA document (XML)",
        "model/stl" | "application/sla" => "a 3D model (STL)",
        "model/obj" => "a 3D model (OBJ)",
        "model/mtl" => "the materials of a 3D model (MTL)",
        _ => "an encapsulated document",
    }
}

/// A placeholder document of the type `mime` names, of even length (as OB values are).
pub fn placeholder(mime: &str) -> Vec<u8> {
    let mut bytes = match mime {
        "application/pdf" => pdf(NOTE),
        "text/xml" | "application/xml" => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- {NOTE} -->\n\
             <ClinicalDocument xmlns=\"urn:hl7-org:v3\"/>\n"
        )
        .into_bytes(),
        "model/stl" | "application/sla" => b"solid removed\nendsolid removed\n".to_vec(),
        "model/obj" | "model/mtl" => format!("# {NOTE}\n").into_bytes(),
        _ => NOTE.as_bytes().to_vec(),
    };
    if !bytes.len().is_multiple_of(2) {
        bytes.push(b'\n');
    }
    bytes
}

/// A one-page PDF showing `text` (ASCII), with a correct cross-reference table.
fn pdf(text: &str) -> Vec<u8> {
    let content = format!("BT /F1 12 Tf 56 780 Td ({text}) Tj ET\n");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_string(),
        format!(
            "<< /Length {} >>\nstream\n{content}endstream",
            content.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n{body}\nendobj\n", i + 1).bytes());
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).bytes());
    for o in offsets {
        out.extend(format!("{o:010} 00000 n \n").bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .bytes(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pdf_placeholder_is_a_pdf_whose_cross_references_point_at_its_objects() {
        let p = placeholder("application/pdf");
        assert!(p.starts_with(b"%PDF-1.4\n") && p.len().is_multiple_of(2));
        let text = String::from_utf8(p.clone()).expect("ascii");
        let startxref: usize = text
            .rsplit("startxref\n")
            .next()
            .and_then(|t| t.lines().next())
            .and_then(|n| n.parse().ok())
            .expect("startxref");
        assert!(text[startxref..].starts_with("xref\n0 6\n"));
        let entries: Vec<usize> = text[startxref..]
            .lines()
            .skip(3)
            .take(5)
            .map(|l| l[..10].parse().expect("offset"))
            .collect();
        for (i, at) in entries.iter().enumerate() {
            assert!(
                text[*at..].starts_with(&format!("{} 0 obj\n", i + 1)),
                "object {} at {at}",
                i + 1
            );
        }
        let length: usize = text
            .split("/Length ")
            .nth(1)
            .and_then(|t| t.split(' ').next())
            .and_then(|n| n.parse().ok())
            .expect("length");
        let stream = text.split_once(">>\nstream\n").expect("stream").1;
        assert_eq!(&stream[length..length + 9], "endstream");
        assert!(text.contains(NOTE));
    }

    #[test]
    fn each_kind_gets_a_placeholder_of_its_type_and_even_length() {
        for (mime, start) in [
            ("text/xml", &b"<?xml"[..]),
            ("model/stl", b"solid"),
            ("model/obj", b"# "),
            ("application/x-unknown", b"The original"),
        ] {
            let p = placeholder(mime);
            assert!(p.starts_with(start) && p.len().is_multiple_of(2), "{mime}");
        }
        assert_eq!(describe("application/pdf"), "a PDF document");
        assert_eq!(describe(""), "an encapsulated document");
    }
}
