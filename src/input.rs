//! Reading what users drop in besides plain files: ZIP archives (stored or deflated entries,
//! ZIP64 included), read entry by entry without trusting the sizes they declare.

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
}

/// Whether the bytes start like a ZIP archive.
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// One file inside an archive.
#[derive(Debug, Clone)]
pub struct ZipEntry {
    /// Its path inside the archive.
    pub name: String,
    method: u16,
    flags: u16,
    crc: u32,
    compressed: u64,
    size: u64,
    offset: u64,
}

/// An archive whose directory has been read; entries are decompressed one at a time.
#[derive(Debug)]
pub struct ZipArchive<'a> {
    bytes: &'a [u8],
    entries: Vec<ZipEntry>,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Largest entry Obscura will decompress (a bound against decompression bombs). In the
/// browser the whole module has at most 4 GiB of memory, so the bound is lower there.
#[cfg(target_arch = "wasm32")]
const MAX_ENTRY: u64 = 1 << 30;
#[cfg(not(target_arch = "wasm32"))]
const MAX_ENTRY: u64 = 4 << 30;

impl<'a> ZipArchive<'a> {
    /// Read the central directory.
    pub fn new(bytes: &'a [u8]) -> Result<ZipArchive<'a>, ZipError> {
        let damaged = ZipError::Damaged;
        // End of central directory: 22 bytes plus a comment of up to 65535 bytes.
        let min = bytes.len().saturating_sub(22 + 65_535);
        let eocd = (min..=bytes.len().saturating_sub(22))
            .rev()
            .find(|&i| u32_at(bytes, i) == Some(0x0605_4b50))
            .ok_or(damaged("no end of central directory"))?;
        let mut count = u64::from(u16_at(bytes, eocd + 10).ok_or(damaged("short"))?);
        let mut cd_offset = u64::from(u32_at(bytes, eocd + 16).ok_or(damaged("short"))?);
        // ZIP64: the locator sits just before the end record.
        if eocd >= 20 && u32_at(bytes, eocd - 20) == Some(0x0706_4b50) {
            let rec = u64_at(bytes, eocd - 12).ok_or(damaged("ZIP64 locator"))? as usize;
            if u32_at(bytes, rec) != Some(0x0606_4b50) {
                return Err(damaged("ZIP64 end record"));
            }
            count = u64_at(bytes, rec + 32).ok_or(damaged("ZIP64 end record"))?;
            cd_offset = u64_at(bytes, rec + 48).ok_or(damaged("ZIP64 end record"))?;
        }
        let mut entries = Vec::new();
        let mut p = usize::try_from(cd_offset).map_err(|_| damaged("offset"))?;
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
            });
            p += 46 + name_len + extra_len + comment_len;
        }
        Ok(ZipArchive { bytes, entries })
    }

    /// The files in the archive, without folders and macOS resource forks.
    pub fn files(&self) -> impl Iterator<Item = &ZipEntry> {
        self.entries
            .iter()
            .filter(|e| !e.name.ends_with('/') && !e.name.starts_with("__MACOSX/"))
    }

    /// Decompress one entry, checking its size and checksum.
    pub fn read(&self, entry: &ZipEntry) -> Result<Vec<u8>, ZipError> {
        if entry.flags & 1 == 1 {
            return Err(ZipError::Unsupported(format!(
                "{} is encrypted",
                entry.name
            )));
        }
        if entry.size > MAX_ENTRY {
            return Err(ZipError::Unsupported(format!(
                "{} is larger than {} GiB",
                entry.name,
                MAX_ENTRY >> 30
            )));
        }
        let local = usize::try_from(entry.offset).map_err(|_| ZipError::Damaged("offset"))?;
        if u32_at(self.bytes, local) != Some(0x0403_4b50) {
            return Err(ZipError::Damaged("local header"));
        }
        let name_len =
            usize::from(u16_at(self.bytes, local + 26).ok_or(ZipError::Damaged("local header"))?);
        let extra_len =
            usize::from(u16_at(self.bytes, local + 28).ok_or(ZipError::Damaged("local header"))?);
        let start = local + 30 + name_len + extra_len;
        let len = usize::try_from(entry.compressed).map_err(|_| ZipError::Damaged("size"))?;
        let data = self
            .bytes
            .get(start..start.saturating_add(len))
            .ok_or(ZipError::Corrupt("data runs past the end of the archive"))?;
        let out = match entry.method {
            0 => data.to_vec(),
            8 => {
                let mut out = Vec::with_capacity(entry.size.min(1 << 28) as usize);
                // Read one byte more than declared, to notice an entry that lies about its size.
                DeflateDecoder::new(data)
                    .take(entry.size + 1)
                    .read_to_end(&mut out)
                    .map_err(|_| ZipError::Corrupt("deflate data"))?;
                out
            }
            m => {
                return Err(ZipError::Unsupported(format!(
                    "{} uses compression method {m}",
                    entry.name
                )))
            }
        };
        if out.len() as u64 != entry.size {
            return Err(ZipError::Corrupt("size does not match the directory"));
        }
        if crc32fast::hash(&out) != entry.crc {
            return Err(ZipError::Corrupt("checksum mismatch"));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::ZipStream;

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
