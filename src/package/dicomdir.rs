//! Writing the package's DICOMDIR (PS3.10 media directory, PS3.3 Annex F Basic Directory IOD).
//!
//! The directory is encoded by hand in Explicit VR Little Endian with defined lengths, so the
//! byte offset of every record (which records must point at) is known while writing. Every
//! value comes from the de-identified files, never from the originals.

use std::sync::Arc;

use dicom_object::FileMetaTableBuilder;
use sha2::{Digest, Sha256};

use crate::deid::Summary;

/// SOP Class of a DICOMDIR.
const MEDIA_STORAGE_DIRECTORY: &str = "1.2.840.10008.1.3.10";
const EXPLICIT_VR_LE: &str = dicom_dictionary_std::uids::EXPLICIT_VR_LITTLE_ENDIAN;

/// One de-identified file as the directory sees it. A study has thousands of files, so what
/// they share is held once: the values of their series (patient, study, series) in one
/// [`Summary`] per series, and their SOP class and transfer syntax as shared strings.
#[derive(Debug, Clone)]
pub struct DirFile {
    /// (patient, study, series) numbers that group the file.
    pub group: (usize, usize, usize),
    /// Its number in the series, as in its path.
    pub image: usize,
    /// The de-identified values of the series' first file: the patient, study and series
    /// records come from it.
    pub series: Arc<Summary>,
    /// SOP Instance UID.
    pub instance_uid: Box<str>,
    /// Instance Number.
    pub instance_number: Box<str>,
    /// Whether the file holds an image (Pixel Data).
    pub has_pixels: bool,
    /// SOP Class UID.
    pub sop_class_uid: Arc<str>,
    /// Transfer Syntax UID.
    pub transfer_syntax: Arc<str>,
}

impl DirFile {
    /// Path in the package, `/`-separated, e.g. `DICOM/PAT0001/STU0001/SER0001/IM000001`.
    pub fn path(&self) -> String {
        let (p, st, se) = self.group;
        format!("DICOM/PAT{p:04}/STU{st:04}/SER{se:04}/IM{:06}", self.image)
    }
}

/// The directory record type for a SOP class (PS3.3 F.5).
fn record_type(sop_class: &str) -> &'static str {
    let c = sop_class;
    let prefix = "1.2.840.10008.5.1.4.1.1.";
    let Some(rest) = c.strip_prefix(prefix) else {
        return "PRIVATE";
    };
    match rest {
        "88.59" => "KEY OBJECT DOC",
        r if r.starts_with("88.") => "SR DOCUMENT",
        r if r.starts_with("11.") => "PRESENTATION",
        r if r.starts_with("9.") => "WAVEFORM",
        "481.2" => "RT DOSE",
        "481.3" => "RT STRUCTURE SET",
        "481.5" | "481.8" => "RT PLAN",
        "481.4" | "481.6" | "481.7" => "RT TREAT RECORD",
        "104.1" | "104.2" | "104.3" | "104.4" | "104.5" => "ENCAP DOC",
        "66" => "RAW DATA",
        "66.1" => "REGISTRATION",
        "66.2" => "FIDUCIAL",
        "66.4" => "SEGMENTATION",
        "66.5" => "SURFACE",
        "4.2" | "4.3" => "SPECTROSCOPY",
        _ => "IMAGE",
    }
}

/// Explicit VR little endian encoder for the few VRs a directory needs.
#[derive(Default)]
struct Enc(Vec<u8>);

impl Enc {
    fn header(&mut self, group: u16, element: u16, vr: &[u8; 2], len: usize) {
        self.0.extend_from_slice(&group.to_le_bytes());
        self.0.extend_from_slice(&element.to_le_bytes());
        self.0.extend_from_slice(vr);
        if vr == b"SQ" || vr == b"UN" || vr == b"OB" {
            self.0.extend_from_slice(&[0, 0]);
            self.0.extend_from_slice(&(len as u32).to_le_bytes());
        } else {
            self.0.extend_from_slice(&(len as u16).to_le_bytes());
        }
    }

    /// A text value, padded to even length (NUL for UI, space otherwise).
    fn text(&mut self, group: u16, element: u16, vr: &[u8; 2], value: &str) {
        let mut bytes = value.as_bytes().to_vec();
        if bytes.len() % 2 == 1 {
            bytes.push(if vr == b"UI" { 0 } else { b' ' });
        }
        self.header(group, element, vr, bytes.len());
        self.0.extend_from_slice(&bytes);
    }

    fn ul(&mut self, group: u16, element: u16, v: u32) {
        self.header(group, element, b"UL", 4);
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    fn us(&mut self, group: u16, element: u16, v: u16) {
        self.header(group, element, b"US", 2);
        self.0.extend_from_slice(&v.to_le_bytes());
    }
}

/// A record before encoding: its type, its attributes, and links by index.
struct Record {
    kind: &'static str,
    attrs: Vec<(u16, u16, &'static [u8; 2], String)>,
    next: Option<usize>,
    child: Option<usize>,
}

/// A value that must not be empty in the record (Type 1): the file's, or a neutral one.
fn or(value: &str, fallback: &str) -> String {
    if value.trim().is_empty() {
        fallback.to_string()
    } else {
        value.to_string()
    }
}

/// A name with at least one component separator (a bare name reads as the retired form).
fn person_name(name: &str) -> String {
    if name.is_empty() || name.contains('^') {
        name.to_string()
    } else {
        format!("{name}^")
    }
}

/// Build the records in depth-first order with sibling and child links.
fn records(files: &[&DirFile]) -> Vec<Record> {
    let mut sorted: Vec<&DirFile> = files.to_vec();
    sorted.sort_by_key(|f| (f.group, f.image));
    let mut recs: Vec<Record> = Vec::new();
    // Index of the last record at each level (patient, study, series, instance).
    let mut last: [Option<usize>; 4] = [None; 4];
    let mut current: (Option<usize>, Option<usize>, Option<usize>) = (None, None, None);
    for f in sorted {
        let s = &f.series;
        let (p, st, se) = f.group;
        let push =
            |recs: &mut Vec<Record>, level: usize, kind, attrs, last: &mut [Option<usize>; 4]| {
                let idx = recs.len();
                recs.push(Record {
                    kind,
                    attrs,
                    next: None,
                    child: None,
                });
                match last[level] {
                    Some(prev) => recs[prev].next = Some(idx),
                    None if level > 0 => {
                        if let Some(parent) = last[level - 1] {
                            recs[parent].child = Some(idx);
                        }
                    }
                    None => {}
                }
                last[level] = Some(idx);
                for l in &mut last[level + 1..] {
                    *l = None;
                }
            };
        if current.0 != Some(p) {
            let attrs = vec![
                (0x0010, 0x0010, b"PN", person_name(&s.patient_name)),
                (0x0010, 0x0020, b"LO", s.patient_id.clone()),
            ];
            push(&mut recs, 0, "PATIENT", attrs, &mut last);
            current = (Some(p), None, None);
        }
        if current.1 != Some(st) {
            let attrs = vec![
                (0x0008, 0x0020, b"DA", or(&s.study_date, "19000101")),
                (0x0008, 0x0030, b"TM", or(&s.study_time, "000000")),
                (0x0008, 0x0050, b"SH", s.accession_number.clone()),
                (0x0008, 0x1030, b"LO", s.study_description.clone()),
                (0x0020, 0x000D, b"UI", s.study_uid.clone()),
                (0x0020, 0x0010, b"SH", or(&s.study_id, &st.to_string())),
            ];
            push(&mut recs, 1, "STUDY", attrs, &mut last);
            current.1 = Some(st);
            current.2 = None;
        }
        if current.2 != Some(se) {
            let attrs = vec![
                (0x0008, 0x0060, b"CS", or(&s.modality, "OT")),
                (0x0020, 0x000E, b"UI", s.series_uid.clone()),
                (0x0020, 0x0011, b"IS", or(&s.series_number, &se.to_string())),
            ];
            push(&mut recs, 2, "SERIES", attrs, &mut last);
            current.2 = Some(se);
        }
        let file_id = f.path().replace('/', "\\");
        let attrs = vec![
            (0x0004, 0x1500, b"CS", file_id),
            (0x0004, 0x1510, b"UI", f.sop_class_uid.to_string()),
            (0x0004, 0x1511, b"UI", f.instance_uid.to_string()),
            (0x0004, 0x1512, b"UI", f.transfer_syntax.to_string()),
            (
                0x0020,
                0x0013,
                b"IS",
                or(&f.instance_number, &f.image.to_string()),
            ),
        ];
        push(
            &mut recs,
            3,
            record_type(&f.sop_class_uid),
            attrs,
            &mut last,
        );
    }
    recs
}

/// Encode one record with the given link offsets.
fn encode_record(r: &Record, next: u32, child: u32) -> Vec<u8> {
    let mut e = Enc::default();
    e.ul(0x0004, 0x1400, next);
    e.us(0x0004, 0x1410, 0xFFFF);
    e.ul(0x0004, 0x1420, child);
    e.text(0x0004, 0x1430, b"CS", r.kind);
    let mut attrs = r.attrs.clone();
    attrs.sort_by_key(|(g, el, ..)| (*g, *el));
    for (g, el, vr, v) in &attrs {
        e.text(*g, *el, vr, v);
    }
    e.0
}

/// The DICOMDIR file for the given files, or an error message.
pub fn dicomdir(files: &[&DirFile]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    write_dicomdir(files, &mut out)?;
    Ok(out)
}

/// [`dicomdir`] written to `sink` a record at a time (for thousands of files, the whole file
/// is never held in memory: see [`crate::package::Deflating`]).
pub fn write_dicomdir(files: &[&DirFile], sink: &mut impl std::io::Write) -> Result<(), String> {
    let recs = records(files);
    let non_ascii = recs.iter().any(|r| r.attrs.iter().any(|a| !a.3.is_ascii()));
    let mut hash = Sha256::new();
    for f in files {
        hash.update(f.instance_uid.as_bytes());
        hash.update([0]);
    }
    let digest = hash.finalize();
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest[..16]);
    let instance_uid = format!("2.25.{}", u128::from_be_bytes(first));

    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(MEDIA_STORAGE_DIRECTORY)
        .media_storage_sop_instance_uid(instance_uid)
        .transfer_syntax(EXPLICIT_VR_LE)
        .implementation_class_uid(crate::dicom::IMPLEMENTATION_CLASS_UID)
        .implementation_version_name(crate::dicom::IMPLEMENTATION_VERSION_NAME)
        .build()
        .map_err(|e| e.to_string())?;
    let mut out = vec![0u8; 128];
    out.extend_from_slice(b"DICM");
    meta.write(&mut out).map_err(|e| e.to_string())?;

    // Record sizes do not depend on the offsets (all UL), so positions follow from sizes.
    let sizes: Vec<usize> = recs
        .iter()
        .map(|r| 8 + encode_record(r, 0, 0).len())
        .collect();
    let seq_len: usize = sizes.iter().sum();
    let head = |first: u32, last: u32| {
        let mut e = Enc::default();
        if non_ascii {
            e.text(0x0008, 0x0005, b"CS", "ISO_IR 192");
        }
        e.text(0x0004, 0x1130, b"CS", "OBSCURA");
        e.ul(0x0004, 0x1200, first);
        e.ul(0x0004, 0x1202, last);
        e.us(0x0004, 0x1212, 0);
        e.header(0x0004, 0x1220, b"SQ", seq_len);
        e.0
    };
    let start = out.len() + head(0, 0).len();
    let mut offsets = Vec::with_capacity(recs.len());
    let mut pos = start;
    for s in &sizes {
        offsets.push(pos as u32);
        pos += s;
    }
    let at = |i: Option<usize>| i.and_then(|i| offsets.get(i).copied()).unwrap_or(0);
    // The root entity is the chain of patient records that starts at the first record.
    let mut first_root = 0;
    let mut last_root = 0;
    let mut i = if recs.is_empty() { None } else { Some(0) };
    while let Some(idx) = i {
        if first_root == 0 {
            first_root = at(Some(idx));
        }
        last_root = at(Some(idx));
        i = recs.get(idx).and_then(|r| r.next);
    }
    out.extend_from_slice(&head(first_root, last_root));
    let failed = |e: std::io::Error| format!("the DICOMDIR could not be written: {e}");
    sink.write_all(&out).map_err(failed)?;
    for r in &recs {
        let body = encode_record(r, at(r.next), at(r.child));
        let mut item = Vec::with_capacity(8 + body.len());
        item.extend_from_slice(&0xFFFE_u16.to_le_bytes());
        item.extend_from_slice(&0xE000_u16.to_le_bytes());
        item.extend_from_slice(&(body.len() as u32).to_le_bytes());
        item.extend_from_slice(&body);
        sink.write_all(&item).map_err(failed)?;
    }
    Ok(())
}
