//! A streaming ZIP writer: each entry is turned into bytes as soon as it is added, so a
//! package can be handed out piece by piece (to a Blob in the browser, to a file natively)
//! without holding the whole archive in memory. Entries are deflated; ZIP64 is used when the
//! archive or an entry passes 4 GiB.

use std::io::Write;

use flate2::write::DeflateEncoder;
use flate2::Compression;

/// Where each entry starts and what the central directory needs to know about it.
#[derive(Debug, Clone)]
struct EntryRecord {
    name: String,
    crc: u32,
    compressed: u64,
    size: u64,
    offset: u64,
    method: u16,
    /// Encrypted with WinZip's AES-256 (AE-2, see [`super::encrypt`]): written with method 99
    /// and a 0x9901 extra field that names `method`.
    encrypted: bool,
}

impl EntryRecord {
    /// The method written in the headers.
    fn written_method(&self) -> u16 {
        if self.encrypted {
            99
        } else {
            self.method
        }
    }

    /// Version needed to extract: 2.0, 4.5 for ZIP64, 5.1 for AES (as 7-Zip and WinZip write).
    fn version(&self, zip64: bool) -> u16 {
        match (self.encrypted, zip64) {
            (true, _) => 51,
            (false, true) => 45,
            (false, false) => 20,
        }
    }

    /// General purpose flags: names are UTF-8; bit 0 when encrypted.
    fn flags(&self) -> u16 {
        (1 << 11) | u16::from(self.encrypted)
    }

    /// The 0x9901 extra field of an encrypted entry: AE-2, vendor "AE", AES-256, its method.
    fn aes_extra(&self, out: &mut Vec<u8>) {
        if self.encrypted {
            put16(out, 0x9901);
            put16(out, 7);
            put16(out, 2);
            out.extend_from_slice(b"AE");
            out.push(3);
            put16(out, self.method);
        }
    }
}

/// One entry's data as it goes into the archive: deflated, or stored when that is smaller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compressed {
    /// CRC-32 of the data.
    pub crc: u32,
    /// Size of the data.
    pub size: u64,
    /// 8 (deflated) or 0 (stored).
    pub method: u16,
    /// The bytes that go into the archive.
    pub body: Vec<u8>,
}

impl Compressed {
    /// `data` stored as it is (its CRC computed): for data deflate cannot make smaller.
    pub fn stored(data: &[u8]) -> Compressed {
        Compressed {
            crc: crate::crc::hash(data),
            size: data.len() as u64,
            method: 0,
            body: data.to_vec(),
        }
    }

    /// A DICOM file of transfer syntax `transfer_syntax` for an entry: stored when its pixel
    /// data is already compressed by an image or video codec (JPEG, JPEG-LS, JPEG 2000, MPEG,
    /// HEVC…) or the whole data set deflated, where deflate (about 180 MB/s here) would spend
    /// its time for a percent or two; deflated otherwise.
    pub fn of_dicom(data: &[u8], transfer_syntax: &str) -> Compressed {
        let ts = crate::dicom::TransferSyntax::of(transfer_syntax);
        if ts.is_codec_compressed() || ts.is_deflated() {
            Compressed::stored(data)
        } else {
            Compressed::of(data)
        }
    }

    /// Compress `data` for an entry.
    pub fn of(data: &[u8]) -> Compressed {
        let crc = crate::crc::hash(data);
        let mut enc = DeflateEncoder::new(Vec::with_capacity(data.len() / 2), Compression::fast());
        // Writing into a Vec cannot fail.
        let deflated = enc.write_all(data).and_then(|_| enc.finish()).ok();
        let (method, body) = match deflated {
            Some(d) if d.len() < data.len() => (8, d),
            _ => (0, data.to_vec()),
        };
        Compressed {
            crc,
            size: data.len() as u64,
            method,
            body,
        }
    }
}

/// An entry deflated as it is written: large generated files (the DICOMDIR, the manifest of
/// thousands of files) are never held whole, only their deflated bytes.
pub struct Deflating {
    encoder: DeflateEncoder<Vec<u8>>,
    crc: crc32fast::Hasher,
    size: u64,
}

impl Default for Deflating {
    fn default() -> Deflating {
        Deflating {
            encoder: DeflateEncoder::new(Vec::new(), Compression::fast()),
            crc: crc32fast::Hasher::new(),
            size: 0,
        }
    }
}

impl Deflating {
    /// A new, empty entry.
    pub fn new() -> Deflating {
        Deflating::default()
    }

    /// A new, empty entry compressed as well as zlib's default level does: for a large,
    /// repetitive text that must be held deflated until the archive's end (`changes.json`
    /// of 7,600 files: 0.5 MB rather than 2.4 MB, in about three times the time).
    pub fn smaller() -> Deflating {
        Deflating {
            encoder: DeflateEncoder::new(Vec::new(), Compression::default()),
            ..Deflating::default()
        }
    }

    /// The entry: what was written, deflated.
    pub fn finish(self) -> Compressed {
        Compressed {
            crc: self.crc.finalize(),
            size: self.size,
            method: 8,
            // Deflating into a Vec cannot fail.
            body: self.encoder.finish().unwrap_or_default(),
        }
    }
}

impl Write for Deflating {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.encoder.write(buf)?;
        self.crc.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.encoder.flush()
    }
}

impl Compressed {
    /// The data back, inflated (for tests, and to write an entry to a plain file).
    pub fn write_data(&self, out: &mut impl std::io::Write) -> std::io::Result<u64> {
        match self.method {
            8 => std::io::copy(
                &mut flate2::read::DeflateDecoder::new(self.body.as_slice()),
                out,
            ),
            _ => out.write_all(&self.body).map(|_| self.body.len() as u64),
        }
    }

    /// The data as text (for tests).
    pub fn text(&self) -> String {
        let mut out = Vec::new();
        let _ = self.write_data(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// Writes a ZIP archive as a sequence of byte chunks.
#[derive(Debug, Default, Clone)]
pub struct ZipStream {
    entries: Vec<EntryRecord>,
    offset: u64,
}

/// Fixed DOS date/time (1980-01-01 00:00): entry times would otherwise reveal when the
/// study was processed, and a fixed time makes packages reproducible.
const DOS_TIME: u16 = 0;
const DOS_DATE: u16 = (1 << 5) | 1;

impl ZipStream {
    /// A new, empty archive.
    pub fn new() -> ZipStream {
        ZipStream::default()
    }

    /// Number of entries added so far.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no entry was added.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Add one file; returns the bytes to append to the archive.
    pub fn add(&mut self, name: &str, data: &[u8]) -> Vec<u8> {
        self.add_compressed(name, &Compressed::of(data))
    }

    /// Add one file compressed beforehand (possibly elsewhere, e.g. in a worker of the page's
    /// pool); returns the bytes to append to the archive.
    pub fn add_compressed(&mut self, name: &str, c: &Compressed) -> Vec<u8> {
        let mut out = self.begin_entry(name, c.size, c.body.len() as u64, c.crc, c.method, false);
        out.extend_from_slice(&c.body);
        out
    }

    /// The header of an entry whose `compressed` bytes of data the caller writes right after
    /// it (`size`: the data's size uncompressed; `method`: how it was compressed; `encrypted`:
    /// whether it was then encrypted with AES, see [`super::encrypt`]).
    pub(crate) fn begin_entry(
        &mut self,
        name: &str,
        size: u64,
        compressed: u64,
        crc: u32,
        method: u16,
        encrypted: bool,
    ) -> Vec<u8> {
        let record = EntryRecord {
            name: name.to_string(),
            crc,
            compressed,
            size,
            offset: self.offset,
            method,
            encrypted,
        };
        let zip64 = record.size >= 0xFFFF_FFFF || record.compressed >= 0xFFFF_FFFF;
        let mut extra = Vec::new();
        if zip64 {
            put16(&mut extra, 0x0001);
            put16(&mut extra, 16);
            put64(&mut extra, record.size);
            put64(&mut extra, record.compressed);
        }
        record.aes_extra(&mut extra);
        let mut out = Vec::with_capacity(30 + name.len() + extra.len() + compressed as usize);
        put32(&mut out, 0x0403_4b50);
        put16(&mut out, record.version(zip64));
        put16(&mut out, record.flags());
        put16(&mut out, record.written_method());
        put16(&mut out, DOS_TIME);
        put16(&mut out, DOS_DATE);
        put32(&mut out, crc);
        if zip64 {
            put32(&mut out, 0xFFFF_FFFF);
            put32(&mut out, 0xFFFF_FFFF);
        } else {
            put32(&mut out, record.compressed as u32);
            put32(&mut out, record.size as u32);
        }
        put16(&mut out, name.len() as u16);
        put16(&mut out, extra.len() as u16);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&extra);
        self.offset += (out.len() as u64) + compressed;
        self.entries.push(record);
        out
    }

    /// The central directory: the last bytes of the archive.
    pub fn finish(self) -> Vec<u8> {
        self.directory()
    }

    /// Where the archive stands: entries added after it can be taken back with
    /// [`ZipStream::rewind`].
    pub fn mark(&self) -> (usize, u64) {
        (self.entries.len(), self.offset)
    }

    /// Forget the entries added since `mark` (their bytes were handed out as a trailer that
    /// will be made again).
    pub fn rewind(&mut self, mark: (usize, u64)) {
        self.entries.truncate(mark.0);
        self.offset = mark.1;
    }

    /// At most how many bytes [`ZipStream::directory`] takes.
    pub fn directory_len(&self) -> usize {
        let entries: usize = self
            .entries
            .iter()
            .map(|e| 46 + 28 + 11 + e.name.len())
            .sum();
        entries + 56 + 20 + 22
    }

    /// Bytes an entry named `name` of `body_len` bytes takes in the archive, at most.
    pub fn entry_len(name: &str, body_len: usize) -> usize {
        30 + 20 + 11 + name.len() + body_len
    }

    /// The central directory for the entries so far (the archive is left as it is).
    pub fn directory(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.directory_len());
        let cd_start = self.offset;
        for e in &self.entries {
            let big =
                e.size >= 0xFFFF_FFFF || e.compressed >= 0xFFFF_FFFF || e.offset >= 0xFFFF_FFFF;
            let mut extra = Vec::new();
            if big {
                put16(&mut extra, 0x0001);
                put16(&mut extra, 24);
                put64(&mut extra, e.size);
                put64(&mut extra, e.compressed);
                put64(&mut extra, e.offset);
            }
            e.aes_extra(&mut extra);
            put32(&mut out, 0x0201_4b50);
            put16(&mut out, 0x0300 | 45); // made by: Unix, spec 4.5
            put16(&mut out, e.version(big));
            put16(&mut out, e.flags());
            put16(&mut out, e.written_method());
            put16(&mut out, DOS_TIME);
            put16(&mut out, DOS_DATE);
            put32(&mut out, e.crc);
            let clamp = |v: u64| if big { 0xFFFF_FFFF } else { v as u32 };
            put32(&mut out, clamp(e.compressed));
            put32(&mut out, clamp(e.size));
            put16(&mut out, e.name.len() as u16);
            put16(&mut out, extra.len() as u16);
            put16(&mut out, 0); // comment
            put16(&mut out, 0); // disk
            put16(&mut out, 0); // internal attributes
            put32(&mut out, 0o100644 << 16); // regular file, rw-r--r--
            put32(&mut out, clamp(e.offset));
            out.extend_from_slice(e.name.as_bytes());
            out.extend_from_slice(&extra);
        }
        let cd_size = out.len() as u64;
        let count = self.entries.len() as u64;
        let need64 = count >= 0xFFFF || cd_start >= 0xFFFF_FFFF || cd_size >= 0xFFFF_FFFF;
        if need64 {
            let eocd64 = cd_start + cd_size;
            put32(&mut out, 0x0606_4b50);
            put64(&mut out, 44);
            put16(&mut out, 45);
            put16(&mut out, 45);
            put32(&mut out, 0);
            put32(&mut out, 0);
            put64(&mut out, count);
            put64(&mut out, count);
            put64(&mut out, cd_size);
            put64(&mut out, cd_start);
            put32(&mut out, 0x0706_4b50);
            put32(&mut out, 0);
            put64(&mut out, eocd64);
            put32(&mut out, 1);
        }
        put32(&mut out, 0x0605_4b50);
        put16(&mut out, 0);
        put16(&mut out, 0);
        let c16 = if need64 { 0xFFFF } else { count as u16 };
        put16(&mut out, c16);
        put16(&mut out, c16);
        put32(&mut out, if need64 { 0xFFFF_FFFF } else { cd_size as u32 });
        put32(&mut out, if need64 { 0xFFFF_FFFF } else { cd_start as u32 });
        put16(&mut out, 0);
        out
    }
}

fn put16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn put32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn put64(v: &mut Vec<u8>, x: u64) {
    v.extend_from_slice(&x.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deflating_entry_holds_what_was_written_in_pieces() {
        let mut d = Deflating::new();
        let mut expected = Vec::new();
        for i in 0..2000 {
            let line = format!("{{\"path\": \"DICOM/PAT0001/IM{i:06}\"}},\n");
            d.write_all(line.as_bytes()).expect("into memory");
            expected.extend_from_slice(line.as_bytes());
        }
        let c = d.finish();
        assert_eq!(c.method, 8);
        assert_eq!(c.size, expected.len() as u64);
        assert_eq!(c.crc, crc32fast::hash(&expected));
        assert!(
            c.body.len() < expected.len() / 4,
            "deflated: {}",
            c.body.len()
        );
        assert_eq!(c.text().as_bytes(), &expected[..]);
        let empty = Deflating::new().finish();
        assert_eq!((empty.size, empty.crc, empty.text()), (0, 0, String::new()));
    }

    #[test]
    fn files_whose_pixels_a_codec_compressed_are_stored_the_others_deflated() {
        // Compressible bytes, so that only the transfer syntax decides.
        let data = b"DICM and the same words again and again ".repeat(200);
        for ts in [
            "1.2.840.10008.1.2.4.50",
            "1.2.840.10008.1.2.4.80",
            "1.2.840.10008.1.2.4.90\0",
            "1.2.840.10008.1.2.4.102",
            "1.2.840.10008.1.2.4.201",
            "1.2.840.10008.1.2.1.99",
        ] {
            let c = Compressed::of_dicom(&data, ts);
            assert_eq!((c.method, &c.body), (0, &data), "{ts}");
            assert_eq!((c.size, c.crc), (data.len() as u64, crc32fast::hash(&data)));
        }
        for ts in [
            "1.2.840.10008.1.2.1",
            "1.2.840.10008.1.2",
            "1.2.840.10008.1.2.5",
        ] {
            let c = Compressed::of_dicom(&data, ts);
            assert_eq!(c.method, 8, "{ts}");
            assert_eq!(c.text().as_bytes(), &data[..]);
        }
    }
}
