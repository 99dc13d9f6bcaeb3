//! Reading what users drop in besides plain files: ZIP archives (stored or deflated entries,
//! ZIP64 included), read entry by entry without trusting the sizes they declare; and the
//! files a DICOMDIR lists (a disc's index, which the command line follows when it is given
//! one).

use std::io::Read;

use flate2::read::DeflateDecoder;

/// Why an archive or one of its entries could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ZipError {
    /// The bytes are not a ZIP archive or its directory is damaged.
    #[error("damaged ZIP archive: {0}")]
    Damaged(&'static str),
    /// The entry uses a feature Obscura does not read.
    #[error("ZIP entry not readable: {0}")]
    Unsupported(String),
    /// The entry's data does not match its checksum or size.
    #[error("ZIP entry is corrupt: {0}")]
    Corrupt(&'static str),
    /// The archive or entry is built to exhaust memory or time (a ZIP bomb).
    #[error("ZIP entry refused: {0}")]
    Bomb(String),
}

/// The files a DICOMDIR lists, in the order of its records: each as the components of its
/// Referenced File ID (0004,1500), relative to the folder that holds the DICOMDIR (PS3.10
/// 8.2: `DICOM\PAT1\IM1` is `["DICOM", "PAT1", "IM1"]`). `Ok(None)` when the file is
/// DICOM but not a DICOMDIR; `Err` with the parser's reason when it cannot be read. A listed
/// ID that could climb out of the folder (`..`, an empty or absolute component) is left out:
/// the index of a disc only points inside it.
pub fn dicomdir_files(bytes: &[u8]) -> Result<Option<Vec<Vec<String>>>, String> {
    use dicom_dictionary_std::tags;
    let file = crate::dicom::read_file(bytes).map_err(|e| e.to_string())?;
    if !crate::deid::is_dicomdir(&file) {
        return Ok(None);
    }
    let mut listed = Vec::new();
    let Some(records) = file
        .element_opt(tags::DIRECTORY_RECORD_SEQUENCE)
        .ok()
        .flatten()
        .and_then(|e| e.items())
    else {
        return Ok(Some(listed));
    };
    for record in records {
        let Some(id) = record.element_opt(tags::REFERENCED_FILE_ID).ok().flatten() else {
            continue;
        };
        let Ok(parts) = id.to_multi_str() else {
            continue;
        };
        let parts: Vec<String> = parts
            .iter()
            .map(|p| p.trim_matches(['\0', ' ']).to_string())
            .collect();
        let safe = !parts.is_empty()
            && parts
                .iter()
                .all(|p| !p.is_empty() && p != "." && p != ".." && !p.contains(['/', '\\', ':']));
        if safe {
            listed.push(parts);
        }
    }
    Ok(Some(listed))
}

/// Whether the bytes start like a ZIP archive.
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// How deep archives inside archives are opened: those in an archive given, and in those,
/// and in those. One rule for the CLI and the page, in both passes: an entry is an archive
/// when its bytes are one (whatever its name), and one deeper still is left out with
/// [`TOO_DEEP`].
pub const NESTED_DEPTH: u32 = 3;

/// Why an archive inside archives deeper than [`NESTED_DEPTH`] is left out.
pub const TOO_DEEP: &str =
    "a ZIP archive inside archives more than three levels deep: not opened (unzip it and add the files it holds)";

/// One file inside an archive, as its central directory describes it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ZipEntry {
    /// Its path inside the archive.
    pub name: String,
    method: u16,
    flags: u16,
    crc: u32,
    compressed: u64,
    size: u64,
    offset: u64,
    /// Whether its data overlaps another entry's (see [`read_directory`]).
    #[serde(default)]
    shared: bool,
}

/// Where an archive's central directory lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZipDirectory {
    /// Its offset from the start of the archive.
    pub offset: u64,
    /// Its length in bytes.
    pub len: u64,
    /// How many entries it lists.
    pub count: u64,
}

/// How many bytes at the end of an archive [`locate_directory`] needs: the end record with
/// the longest comment, the ZIP64 locator and the ZIP64 end record before it.
pub const TAIL_LEN: u64 = 22 + 65_535 + 20 + 56 + 1024;

/// An archive held in memory whose directory has been read; entries are decompressed one at
/// a time. (An archive on disk or in a browser's File is read the same way, a piece at a
/// time: [`locate_directory`], [`read_directory`], then [`ZipEntry::span`] and
/// [`ZipEntry::read_from`] for each entry.)
#[derive(Debug)]
pub struct ZipArchive<'a> {
    bytes: &'a [u8],
    entries: Vec<ZipEntry>,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// Largest entry Obscura will decompress (a bound against decompression bombs). In the
/// browser the whole module has at most 4 GiB of memory, so the bound is lower there.
#[cfg(target_arch = "wasm32")]
const MAX_ENTRY: u64 = 1 << 30;
#[cfg(not(target_arch = "wasm32"))]
const MAX_ENTRY: u64 = 4 << 30;

/// Largest central directory Obscura will read (about two million entries).
const MAX_DIRECTORY: u64 = 256 << 20;

/// Find the central directory from the archive's last bytes: `tail` holds the bytes from
/// `tail_start` to the end (at least the last [`TAIL_LEN`] bytes, or the whole archive).
pub fn locate_directory(tail: &[u8], tail_start: u64) -> Result<ZipDirectory, ZipError> {
    let damaged = ZipError::Damaged;
    // End of central directory: 22 bytes plus a comment of up to 65535 bytes.
    let min = tail.len().saturating_sub(22 + 65_535);
    let eocd = (min..=tail.len().saturating_sub(22))
        .rev()
        .find(|&i| u32_at(tail, i) == Some(0x0605_4b50))
        .ok_or(damaged("no end of central directory"))?;
    let mut dir = ZipDirectory {
        count: u64::from(u16_at(tail, eocd + 10).ok_or(damaged("short"))?),
        len: u64::from(u32_at(tail, eocd + 12).ok_or(damaged("short"))?),
        offset: u64::from(u32_at(tail, eocd + 16).ok_or(damaged("short"))?),
    };
    // ZIP64: the locator sits just before the end record and says where the ZIP64 end
    // record is (normally just before the locator).
    if eocd >= 20 && u32_at(tail, eocd - 20) == Some(0x0706_4b50) {
        let rec = u64_at(tail, eocd - 12).ok_or(damaged("ZIP64 locator"))?;
        let rec = rec
            .checked_sub(tail_start)
            .and_then(|r| usize::try_from(r).ok())
            .ok_or(damaged("ZIP64 end record out of place"))?;
        if u32_at(tail, rec) != Some(0x0606_4b50) {
            return Err(damaged("ZIP64 end record"));
        }
        dir.count = u64_at(tail, rec + 32).ok_or(damaged("ZIP64 end record"))?;
        dir.len = u64_at(tail, rec + 40).ok_or(damaged("ZIP64 end record"))?;
        dir.offset = u64_at(tail, rec + 48).ok_or(damaged("ZIP64 end record"))?;
    }
    if dir.len > MAX_DIRECTORY {
        return Err(ZipError::Unsupported(format!(
            "the archive's directory is larger than {} MiB",
            MAX_DIRECTORY >> 20
        )));
    }
    Ok(dir)
}

/// How much more all the entries of an archive may inflate to than [`crate::inflate::RATIO`]
/// times their compressed sizes.
const ARCHIVE_SLACK: u64 = 64 << 20;

/// Read the entries of a central directory (`bytes` starts at its first entry). The entries
/// whose data overlap another's are marked so that reading them fails (a ZIP bomb lists one
/// stream many times over, to be inflated again and again); an archive whose files declare
/// more than [`crate::inflate::RATIO`] times their compressed sizes in all (and 64 MiB) is
/// refused whole.
pub fn read_directory(bytes: &[u8], count: u64) -> Result<Vec<ZipEntry>, ZipError> {
    let mut entries = directory_entries(bytes, count)?;
    let (size, compressed) = entries.iter().fold((0u64, 0u64), |(s, c), e| {
        (s.saturating_add(e.size), c.saturating_add(e.compressed))
    });
    let limit = crate::inflate::limit(compressed).saturating_add(ARCHIVE_SLACK);
    if size > limit {
        return Err(ZipError::Bomb(crate::inflate::bomb("the archive", limit)));
    }
    mark_shared(&mut entries);
    Ok(entries)
}

/// Mark the entries whose data overlap another entry's: each holds at least its local
/// header's 30 fixed bytes and its compressed data from its offset on.
fn mark_shared(entries: &mut [ZipEntry]) {
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by_key(|&i| entries[i].offset);
    let mut reach: Option<(u64, usize)> = None;
    for i in order {
        let end = entries[i].offset.saturating_add(30 + entries[i].compressed);
        match reach {
            Some((r, owner)) if entries[i].offset < r => {
                entries[i].shared = true;
                entries[owner].shared = true;
                if end > r {
                    reach = Some((end, i));
                }
            }
            Some((r, _)) if end <= r => {}
            _ => reach = Some((end, i)),
        }
    }
}

/// The entries of a central directory as it lists them.
fn directory_entries(bytes: &[u8], count: u64) -> Result<Vec<ZipEntry>, ZipError> {
    let damaged = ZipError::Damaged;
    let mut entries = Vec::new();
    let mut p = 0usize;
    for _ in 0..count {
        if u32_at(bytes, p) != Some(0x0201_4b50) {
            return Err(damaged("central directory entry"));
        }
        let get16 = |o| u16_at(bytes, p + o).ok_or(damaged("entry"));
        let get32 = |o| u32_at(bytes, p + o).ok_or(damaged("entry"));
        let flags = get16(8)?;
        let method = get16(10)?;
        let crc = get32(16)?;
        let mut compressed = u64::from(get32(20)?);
        let mut size = u64::from(get32(24)?);
        let name_len = usize::from(get16(28)?);
        let extra_len = usize::from(get16(30)?);
        let comment_len = usize::from(get16(32)?);
        let mut offset = u64::from(get32(42)?);
        let name_bytes = bytes
            .get(p + 46..p + 46 + name_len)
            .ok_or(damaged("name"))?;
        let name = String::from_utf8_lossy(name_bytes).into_owned();
        let extra = bytes
            .get(p + 46 + name_len..p + 46 + name_len + extra_len)
            .ok_or(damaged("extra field"))?;
        // ZIP64 extra field: only the values that overflowed are present, in this order.
        let mut e = 0;
        while e + 4 <= extra.len() {
            let id = u16_at(extra, e).unwrap_or(0);
            let len = usize::from(u16_at(extra, e + 2).unwrap_or(0));
            if id == 0x0001 {
                let mut q = e + 4;
                for field in [&mut size, &mut compressed, &mut offset] {
                    if *field == 0xFFFF_FFFF {
                        *field = u64_at(extra, q).ok_or(damaged("ZIP64 field"))?;
                        q += 8;
                    }
                }
            }
            e += 4 + len;
        }
        entries.push(ZipEntry {
            name,
            method,
            flags,
            crc,
            compressed,
            size,
            offset,
            shared: false,
        });
        p += 46 + name_len + extra_len + comment_len;
    }
    Ok(entries)
}

impl ZipEntry {
    /// Whether the entry is a file worth reading (not a folder or a macOS resource fork).
    pub fn is_file(&self) -> bool {
        !self.name.ends_with('/') && !self.name.starts_with("__MACOSX/")
    }

    /// Its size once decompressed, as the directory declares it.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The part of the archive that holds this entry, as `(offset, length)`: its local
    /// header (whose name and extra field may be up to 64 KiB each) and its data. The length
    /// may run past the end of the archive; read what there is.
    pub fn span(&self) -> (u64, u64) {
        (
            self.offset,
            (30 + 2 * 65_535u64).saturating_add(self.compressed),
        )
    }

    /// Decompress the entry from `local`, the archive's bytes from [`ZipEntry::span`]'s
    /// offset on, checking its size and checksum.
    pub fn read_from(&self, local: &[u8]) -> Result<Vec<u8>, ZipError> {
        let out = self.inflate(local, self.size, true)?;
        if out.len() as u64 != self.size {
            return Err(ZipError::Corrupt("size does not match the directory"));
        }
        if crate::crc::hash(&out) != self.crc {
            return Err(ZipError::Corrupt("checksum mismatch"));
        }
        Ok(out)
    }

    /// The part of the archive [`ZipEntry::read_head_from`] needs for the first `max` bytes
    /// of the entry, as `(offset, length)`: the start of [`ZipEntry::span`] (a stored or
    /// deflated stream never takes more than twice its output, and 64 KiB, to give it).
    pub fn head_span(&self, max: u64) -> (u64, u64) {
        let (at, len) = self.span();
        (
            at,
            len.min((30 + 2 * 65_535) + max.saturating_mul(2) + (64 << 10)),
        )
    }

    /// The entry's first `max` bytes (all of it when it is smaller), decompressed from
    /// `local` (the bytes at [`ZipEntry::head_span`]) as [`ZipEntry::read_from`] does but
    /// without inflating the rest: enough to read a header. Its checksum is not checked (it
    /// covers the whole entry).
    pub fn read_head_from(&self, local: &[u8], max: u64) -> Result<Vec<u8>, ZipError> {
        let mut out = self.inflate(local, max.min(self.size), false)?;
        out.truncate(usize::try_from(max.min(self.size)).unwrap_or(usize::MAX));
        Ok(out)
    }

    /// The entry's data from `local` decompressed up to `upto` bytes, and one more (to
    /// notice an entry that lies about its size), after the checks that keep a hostile
    /// entry from costing memory or time: encrypted, too large, inflating too far, or
    /// sharing its data with another entry. Unless `whole`, `local` may end before the data.
    fn inflate(&self, local: &[u8], upto: u64, whole: bool) -> Result<Vec<u8>, ZipError> {
        if self.flags & 1 == 1 {
            return Err(ZipError::Unsupported(format!("{} is encrypted", self.name)));
        }
        if self.size > MAX_ENTRY {
            return Err(ZipError::Unsupported(format!(
                "{} is larger than {} GiB",
                self.name,
                MAX_ENTRY >> 30
            )));
        }
        if self.shared {
            return Err(ZipError::Bomb(format!(
                "{} shares its data with another entry of the archive (a ZIP bomb?)",
                self.name
            )));
        }
        let limit = crate::inflate::limit(self.compressed);
        if self.method == 8 && self.size > limit {
            return Err(ZipError::Bomb(crate::inflate::bomb(&self.name, limit)));
        }
        if u32_at(local, 0) != Some(0x0403_4b50) {
            return Err(ZipError::Damaged("local header"));
        }
        let name_len = usize::from(u16_at(local, 26).ok_or(ZipError::Damaged("local header"))?);
        let extra_len = usize::from(u16_at(local, 28).ok_or(ZipError::Damaged("local header"))?);
        let start = 30 + name_len + extra_len;
        let len = usize::try_from(self.compressed).map_err(|_| ZipError::Damaged("size"))?;
        let data = match local.get(start..start.saturating_add(len)) {
            Some(data) => data,
            None if !whole => local.get(start..).unwrap_or_default(),
            None => return Err(ZipError::Corrupt("data runs past the end of the archive")),
        };
        match self.method {
            0 => Ok(data[..data
                .len()
                .min(usize::try_from(upto + 1).unwrap_or(usize::MAX))]
                .to_vec()),
            8 => {
                let mut out = Vec::with_capacity(upto.min(1 << 28) as usize);
                DeflateDecoder::new(data)
                    .take(upto + 1)
                    .read_to_end(&mut out)
                    .map_err(|_| ZipError::Corrupt("deflate data"))?;
                Ok(out)
            }
            m => Err(ZipError::Unsupported(format!(
                "{} uses compression method {m}",
                self.name
            ))),
        }
    }
}

impl<'a> ZipArchive<'a> {
    /// Read the central directory.
    pub fn new(bytes: &'a [u8]) -> Result<ZipArchive<'a>, ZipError> {
        let dir = locate_directory(bytes, 0)?;
        let at = usize::try_from(dir.offset).map_err(|_| ZipError::Damaged("offset"))?;
        let listing = bytes
            .get(at..)
            .ok_or(ZipError::Damaged("central directory entry"))?;
        let entries = read_directory(listing, dir.count)?;
        Ok(ZipArchive { bytes, entries })
    }

    /// The files in the archive, without folders and macOS resource forks.
    pub fn files(&self) -> impl Iterator<Item = &ZipEntry> {
        self.entries.iter().filter(|e| e.is_file())
    }

    /// Decompress one entry, checking its size and checksum.
    pub fn read(&self, entry: &ZipEntry) -> Result<Vec<u8>, ZipError> {
        let local = usize::try_from(entry.offset)
            .ok()
            .and_then(|at| self.bytes.get(at..))
            .ok_or(ZipError::Damaged("local header"))?;
        entry.read_from(local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::ZipStream;

    /// A DICOMDIR whose records give `ids` as Referenced File IDs (one record without any).
    fn dicomdir_listing(ids: &[&[&str]]) -> Vec<u8> {
        use dicom_core::{DataElement, PrimitiveValue, VR};
        use dicom_dictionary_std::tags;
        use dicom_object::meta::FileMetaTableBuilder;
        use dicom_object::InMemDicomObject;
        let mut records: Vec<InMemDicomObject> = ids
            .iter()
            .map(|id| {
                let mut r = InMemDicomObject::new_empty();
                r.put(DataElement::new(
                    tags::DIRECTORY_RECORD_TYPE,
                    VR::CS,
                    PrimitiveValue::from("IMAGE"),
                ));
                let parts: Vec<String> = id.iter().map(|p| p.to_string()).collect();
                r.put(DataElement::new(
                    tags::REFERENCED_FILE_ID,
                    VR::CS,
                    PrimitiveValue::Strs(parts.into()),
                ));
                r
            })
            .collect();
        let mut patient = InMemDicomObject::new_empty();
        patient.put(DataElement::new(
            tags::DIRECTORY_RECORD_TYPE,
            VR::CS,
            PrimitiveValue::from("PATIENT"),
        ));
        records.insert(0, patient);
        let mut o = InMemDicomObject::new_empty();
        o.put(DataElement::new(
            tags::DIRECTORY_RECORD_SEQUENCE,
            VR::SQ,
            dicom_core::value::DataSetSequence::from(records),
        ));
        let file = o
            .with_meta(
                FileMetaTableBuilder::new()
                    .transfer_syntax(dicom_dictionary_std::uids::EXPLICIT_VR_LITTLE_ENDIAN)
                    .media_storage_sop_class_uid(crate::deid::DICOMDIR_SOP_CLASS)
                    .media_storage_sop_instance_uid("2.25.9"),
            )
            .expect("meta");
        let mut bytes = Vec::new();
        file.write_all(&mut bytes).expect("written");
        bytes
    }

    #[test]
    fn a_dicomdir_lists_its_files_and_never_a_way_out_of_its_folder() {
        let bytes = dicomdir_listing(&[
            &["DICOM", "PAT1", "IM1"],
            &["DICOM", "..", "..", "ETC"],
            &["", "ROOT"],
            &["DICOM/../X"],
            &["IM2"],
        ]);
        let listed = dicomdir_files(&bytes).expect("read").expect("a DICOMDIR");
        assert_eq!(listed, vec![vec!["DICOM", "PAT1", "IM1"], vec!["IM2"]]);
        // A DICOM file of another class is not a DICOMDIR; damage is an error, not a panic.
        let (_, image) = &crate::sample::sample_study()[0];
        assert_eq!(dicomdir_files(image), Ok(None));
        assert!(dicomdir_files(&bytes[..bytes.len() - 7]).is_err());
        assert!(dicomdir_files(b"not DICOM at all").is_err());
    }

    #[test]
    fn zip_bombs_are_refused_before_they_inflate() {
        // (Entries sharing one stream: tests/malformed.rs.) An entry that inflates more than 128 times, beyond the first MiB.
        let mut z = ZipStream::new();
        let mut bytes = z.add("bomb.dcm", &vec![0u8; 8 << 20]);
        bytes.extend(z.add("fine.dcm", &vec![0u8; 1 << 20]));
        bytes.extend(z.finish());
        let zip = ZipArchive::new(&bytes).expect("directory");
        let files: Vec<_> = zip.files().collect();
        match zip.read(files[0]) {
            Err(ZipError::Bomb(why)) => assert!(why.contains("decompression bomb"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(zip.read(files[1]).map(|b| b.len()), Ok(1 << 20));

        // Many entries, each within its bound, that inflate too far in all.
        let mut z = ZipStream::new();
        let mut bytes = Vec::new();
        let mib = crate::package::Compressed::of(&vec![0u8; 1 << 20]);
        for i in 0..400 {
            bytes.extend(z.add_compressed(&format!("{i}.dcm"), &mib));
        }
        bytes.extend(z.finish());
        match ZipArchive::new(&bytes) {
            Err(ZipError::Bomb(why)) => assert!(why.contains("the archive inflates"), "{why}"),
            other => panic!("{:?}", other.map(|z| z.files().count())),
        }
    }

    #[test]
    fn a_header_is_read_without_inflating_the_rest() {
        // Bytes that do not compress (xorshift).
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let data: Vec<u8> = (0..3_000_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let mut z = ZipStream::new();
        let mut bytes = z.add("big.dcm", &data);
        bytes.extend(z.finish());
        let zip = ZipArchive::new(&bytes).expect("directory");
        let entry = zip.files().next().expect("entry");
        let (at, len) = entry.head_span(1000);
        assert!(len < entry.span().1);
        let local = &bytes[at as usize..(at + len) as usize];
        assert_eq!(entry.read_head_from(local, 1000), Ok(data[..1000].to_vec()));
        assert_eq!(
            entry
                .read_head_from(local, 1 << 40)
                .map(|h| h.len() < data.len()),
            Ok(true)
        );
    }

    fn archive() -> Vec<u8> {
        let mut z = ZipStream::new();
        let mut bytes = z.add("a/one.dcm", &[7u8; 5000]);
        bytes.extend(z.add("b/two.txt", b"hi"));
        bytes.extend(z.finish());
        bytes
    }

    #[test]
    fn reads_back_what_the_package_writer_writes() {
        let bytes = archive();
        assert!(is_zip(&bytes));
        let zip = ZipArchive::new(&bytes).expect("directory");
        let files: Vec<_> = zip.files().collect();
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].name, "a/one.dcm");
        assert_eq!(zip.read(files[0]).expect("entry"), vec![7u8; 5000]);
        assert_eq!(zip.read(files[1]).expect("entry"), b"hi");
    }

    /// Read an archive the way the page and the CLI read a file: its tail, its directory,
    /// then each entry's span, never the whole.
    fn read_in_pieces(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
        let tail_start = (bytes.len() as u64).saturating_sub(TAIL_LEN);
        let dir = locate_directory(&bytes[tail_start as usize..], tail_start).expect("located");
        let listing = &bytes[dir.offset as usize..(dir.offset + dir.len) as usize];
        let entries = read_directory(listing, dir.count).expect("directory");
        entries
            .iter()
            .filter(|e| e.is_file())
            .map(|e| {
                let (at, len) = e.span();
                let end = (at + len).min(bytes.len() as u64);
                let data = e
                    .read_from(&bytes[at as usize..end as usize])
                    .expect("entry");
                (e.name.clone(), data)
            })
            .collect()
    }

    #[test]
    fn reads_an_archive_a_piece_at_a_time() {
        let bytes = archive();
        let pieces = read_in_pieces(&bytes);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0], ("a/one.dcm".to_string(), vec![7u8; 5000]));
        assert_eq!(pieces[1], ("b/two.txt".to_string(), b"hi".to_vec()));
    }

    #[test]
    fn reads_a_zip64_archive_a_piece_at_a_time() {
        // More than 65 535 entries: the directory is described by the ZIP64 records only.
        let mut z = ZipStream::new();
        let mut bytes = Vec::new();
        for i in 0..66_000u32 {
            bytes.extend(z.add(&format!("f/{i}.dcm"), &i.to_le_bytes()));
        }
        bytes.extend(z.finish());
        assert_eq!(
            u16_at(&bytes, bytes.len() - 22 + 10),
            Some(0xFFFF),
            "the end record defers to ZIP64"
        );
        let pieces = read_in_pieces(&bytes);
        assert_eq!(pieces.len(), 66_000);
        assert_eq!(pieces[65_999].1, 65_999u32.to_le_bytes());
        assert_eq!(
            ZipArchive::new(&bytes).expect("whole").files().count(),
            66_000
        );
    }

    #[test]
    fn a_directory_out_of_place_or_too_large_is_refused() {
        let mut bytes = archive();
        let eocd = bytes.len() - 22;
        bytes[eocd + 12..eocd + 16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            locate_directory(&bytes, 0),
            Err(ZipError::Unsupported(_))
        ));
        // A tail that starts after the ZIP64 end record it is told about.
        let mut z = ZipStream::new();
        let mut big = Vec::new();
        for i in 0..66_000u32 {
            big.extend(z.add(&format!("{i}"), b""));
        }
        big.extend(z.finish());
        let from = big.len() - 40;
        assert!(locate_directory(&big[from..], from as u64).is_err());
    }

    #[test]
    fn damage_is_reported_not_panicked_on() {
        let bytes = archive();
        for cut in [0, 10, 30, bytes.len() / 2, bytes.len() - 1] {
            let _ = ZipArchive::new(&bytes[..cut]).map(|z| {
                for e in z.files() {
                    let _ = z.read(e);
                }
            });
        }
        let mut flipped = bytes.clone();
        flipped[40] ^= 0xFF;
        let zip = ZipArchive::new(&flipped).expect("directory intact");
        let first = zip.files().next().expect("entry");
        assert!(
            zip.read(first).is_err(),
            "a changed byte is caught by size or checksum"
        );
    }
}
