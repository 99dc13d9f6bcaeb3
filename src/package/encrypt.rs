//! A password-protected package: the archive [`super::ZipStream`] writes, turned as it streams
//! into one whose entries are encrypted with AES-256 the way WinZip does it (AE-2), which
//! 7-Zip, WinZip, PeaZip, Keka and Bandizip open.
//!
//! The archive goes through [`PackageOutput`] piece by piece, however it was cut: each entry's
//! header is read, an encrypted entry's header written in its place, and its data encrypted as
//! it passes, so memory stays that of one header. The plain archive's directory is dropped and
//! one for the encrypted entries written at the end. With no password the archive goes through
//! as it is. Either way its SHA-256 and size are counted on the way out, for the export log
//! ([`super::export_log`]).
//!
//! AE-2, per entry: a 16-byte salt; PBKDF2-HMAC-SHA1 (1,000 rounds) of the password and the salt
//! gives the AES-256 key, an HMAC-SHA1 key and a 2-byte password check; the data (as
//! compressed) is encrypted in CTR mode, the counter a little-endian number starting at 1; the
//! first 10 bytes of the HMAC-SHA1 of the encrypted data follow it. The entry's CRC is 0 (it
//! would tell something of small plain files) and its method is 99, the real one in a 0x9901
//! extra field. Each entry's salt is new (HMAC-SHA256 of a random seed and the entry's number):
//! a key is never used twice.

use aes::cipher::{BlockEncrypt, KeyInit};
use aes::Aes256;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::zip::ZipStream;

/// Fewest characters a package password may have.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// What WinZip's AE-2 adds to each entry's data: the salt, the password check, the
/// authentication code.
const OVERHEAD: u64 = 16 + 2 + 10;

/// Why a package could not be written.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExportError {
    #[error("the package password must have at least {MIN_PASSWORD_CHARS} characters")]
    ShortPassword,
    #[error("the package is not an archive Obscura wrote (at byte {offset}: {what})")]
    NotOurArchive { offset: u64, what: &'static str },
    #[error("the package ended inside an entry (at byte {offset})")]
    Truncated { offset: u64 },
}

/// A finished package: its size and SHA-256 (lower-case hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub bytes: u64,
    pub sha256: String,
    pub encrypted: bool,
}

/// The package on its way out: encrypted when a password was given, counted and hashed.
pub struct PackageOutput {
    encrypting: Option<Encrypting>,
    sha: Sha256,
    bytes: u64,
}

impl PackageOutput {
    /// The package as it is (counted and hashed only).
    pub fn plain() -> PackageOutput {
        PackageOutput {
            encrypting: None,
            sha: Sha256::new(),
            bytes: 0,
        }
    }

    /// The package encrypted with `password` (at least [`MIN_PASSWORD_CHARS`] characters, as
    /// UTF-8). `seed`: 32 random bytes, new for each package, from which each entry's salt
    /// comes.
    pub fn encrypted(password: &str, seed: [u8; 32]) -> Result<PackageOutput, ExportError> {
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(ExportError::ShortPassword);
        }
        Ok(PackageOutput {
            encrypting: Some(Encrypting::new(password.as_bytes(), seed)),
            ..PackageOutput::plain()
        })
    }

    /// The next bytes of the plain archive; returns the bytes to write out.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<u8>, ExportError> {
        let out = match &mut self.encrypting {
            Some(e) => e.push(bytes)?,
            None => bytes.to_vec(),
        };
        self.count(&out);
        Ok(out)
    }

    /// The end of the plain archive: the last bytes to write out, and what was written.
    pub fn finish(mut self) -> Result<(Vec<u8>, Written), ExportError> {
        let encrypted = self.encrypting.is_some();
        let out = match self.encrypting.take() {
            Some(e) => e.finish()?,
            None => Vec::new(),
        };
        self.count(&out);
        let written = Written {
            bytes: self.bytes,
            sha256: hex(&self.sha.finalize()),
            encrypted,
        };
        Ok((out, written))
    }

    fn count(&mut self, out: &[u8]) {
        self.sha.update(out);
        self.bytes += out.len() as u64;
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where the reader of the plain archive stands.
enum State {
    /// Gathering an entry's header (or the directory's signature).
    Header,
    /// Inside an entry's data: this many bytes to go.
    Body {
        remaining: u64,
        cipher: Box<EntryCipher>,
    },
    /// In the plain archive's directory: the rest is dropped.
    Directory,
}

struct Encrypting {
    password: Vec<u8>,
    seed: [u8; 32],
    /// The encrypted archive's entries (for its directory).
    zip: ZipStream,
    state: State,
    /// A header being gathered.
    pending: Vec<u8>,
    /// Bytes of the plain archive read so far (for errors).
    offset: u64,
}

impl Encrypting {
    fn new(password: &[u8], seed: [u8; 32]) -> Encrypting {
        Encrypting {
            password: password.to_vec(),
            seed,
            zip: ZipStream::new(),
            state: State::Header,
            pending: Vec::new(),
            offset: 0,
        }
    }

    fn push(&mut self, mut input: &[u8]) -> Result<Vec<u8>, ExportError> {
        let mut out = Vec::with_capacity(input.len() + 128);
        while !input.is_empty() {
            match &mut self.state {
                State::Directory => {
                    self.offset += input.len() as u64;
                    break;
                }
                State::Body { remaining, cipher } => {
                    let n = (*remaining).min(input.len() as u64) as usize;
                    let start = out.len();
                    out.extend_from_slice(&input[..n]);
                    cipher.apply(&mut out[start..]);
                    *remaining -= n as u64;
                    input = &input[n..];
                    self.offset += n as u64;
                    if *remaining == 0 {
                        out.extend_from_slice(&cipher.tag());
                        self.state = State::Header;
                    }
                }
                State::Header => {
                    let (used, header) = self.header(input)?;
                    input = &input[used..];
                    self.offset += used as u64;
                    if let Some(h) = header {
                        out.extend(self.begin(h));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Gathers a local header from `input`: how many bytes were taken, and the header when it
    /// is complete.
    fn header(&mut self, input: &[u8]) -> Result<(usize, Option<LocalHeader>), ExportError> {
        let mut used = 0;
        loop {
            let need = if self.pending.len() < 4 {
                4
            } else {
                self.needed()?
            };
            if self.state_is_directory() {
                return Ok((used, None));
            }
            if self.pending.len() >= need {
                let h = LocalHeader::parse(&self.pending, self.offset)?;
                self.pending.clear();
                return Ok((used, Some(h)));
            }
            let take = (need - self.pending.len()).min(input.len() - used);
            if take == 0 {
                return Ok((used, None));
            }
            self.pending.extend_from_slice(&input[used..used + take]);
            used += take;
        }
    }

    fn state_is_directory(&self) -> bool {
        matches!(self.state, State::Directory)
    }

    /// How long the header being gathered is (30 bytes until its lengths are known); at the
    /// directory's signature, switches to dropping the rest.
    fn needed(&mut self) -> Result<usize, ExportError> {
        let sig = u32::from_le_bytes([
            self.pending[0],
            self.pending[1],
            self.pending[2],
            self.pending[3],
        ]);
        match sig {
            0x0403_4b50 if self.pending.len() < 30 => Ok(30),
            0x0403_4b50 => {
                let n = u16::from_le_bytes([self.pending[26], self.pending[27]]) as usize;
                let m = u16::from_le_bytes([self.pending[28], self.pending[29]]) as usize;
                Ok(30 + n + m)
            }
            0x0201_4b50 | 0x0606_4b50 | 0x0605_4b50 => {
                self.state = State::Directory;
                self.pending.clear();
                Ok(0)
            }
            _ => Err(ExportError::NotOurArchive {
                offset: self.offset,
                what: "no entry header",
            }),
        }
    }

    /// The encrypted entry's header, salt and password check for a plain entry's header.
    fn begin(&mut self, h: LocalHeader) -> Vec<u8> {
        let n = self.zip.len() as u64;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.seed).expect("any key length");
        mac.update(&n.to_le_bytes());
        let salt: [u8; 16] = mac.finalize().into_bytes()[..16]
            .try_into()
            .expect("16 of 32 bytes");
        let mut keys = [0u8; 66];
        pbkdf2::pbkdf2_hmac::<Sha1>(&self.password, &salt, 1000, &mut keys);
        let mut out =
            self.zip
                .begin_entry(&h.name, h.size, h.compressed + OVERHEAD, 0, h.method, true);
        out.extend_from_slice(&salt);
        out.extend_from_slice(&keys[64..66]);
        let cipher = Box::new(EntryCipher::new(&keys[..32], &keys[32..64]));
        if h.compressed == 0 {
            out.extend_from_slice(&cipher.tag());
        } else {
            self.state = State::Body {
                remaining: h.compressed,
                cipher,
            };
        }
        out
    }

    fn finish(self) -> Result<Vec<u8>, ExportError> {
        match self.state {
            State::Body { .. } => Err(ExportError::Truncated {
                offset: self.offset,
            }),
            _ if !self.pending.is_empty() => Err(ExportError::Truncated {
                offset: self.offset,
            }),
            _ => Ok(self.zip.directory()),
        }
    }
}

/// What an entry's header says, as [`ZipStream`] writes it.
struct LocalHeader {
    name: String,
    method: u16,
    size: u64,
    compressed: u64,
}

impl LocalHeader {
    fn parse(b: &[u8], offset: u64) -> Result<LocalHeader, ExportError> {
        let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let flags = u16_at(6);
        if flags & 0b1001 != 0 {
            return Err(ExportError::NotOurArchive {
                offset,
                what: "an entry already encrypted or with its sizes after its data",
            });
        }
        let (n, m) = (u16_at(26) as usize, u16_at(28) as usize);
        let name = String::from_utf8_lossy(&b[30..30 + n]).into_owned();
        let (mut size, mut compressed) = (u32_at(22) as u64, u32_at(18) as u64);
        if size == 0xFFFF_FFFF || compressed == 0xFFFF_FFFF {
            // The ZIP64 extra field: the two sizes, in that order.
            let extra = &b[30 + n..30 + n + m];
            let mut i = 0;
            let mut found = false;
            while i + 4 <= extra.len() {
                let id = u16::from_le_bytes([extra[i], extra[i + 1]]);
                let len = u16::from_le_bytes([extra[i + 2], extra[i + 3]]) as usize;
                if id == 1 && len >= 16 && i + 4 + 16 <= extra.len() {
                    let v = |j: usize| {
                        u64::from_le_bytes(extra[i + 4 + j..i + 12 + j].try_into().expect("8"))
                    };
                    (size, compressed) = (v(0), v(8));
                    found = true;
                    break;
                }
                i += 4 + len;
            }
            if !found {
                return Err(ExportError::NotOurArchive {
                    offset,
                    what: "a large entry without its ZIP64 sizes",
                });
            }
        }
        Ok(LocalHeader {
            name,
            method: u16_at(8),
            size,
            compressed,
        })
    }
}

/// One entry's AES-256 in CTR mode (WinZip's: a little-endian counter from 1) and the
/// HMAC-SHA1 of what it encrypted.
struct EntryCipher {
    aes: Aes256,
    counter: u128,
    /// Keystream not used yet: `keystream[used..]`.
    keystream: [u8; 16 * BLOCKS],
    used: usize,
    mac: Hmac<Sha1>,
}

/// Blocks of keystream made at once (the AES implementation works on several in parallel).
const BLOCKS: usize = 16;

impl EntryCipher {
    fn new(key: &[u8], mac_key: &[u8]) -> EntryCipher {
        EntryCipher {
            aes: Aes256::new_from_slice(key).expect("32-byte key"),
            counter: 0,
            keystream: [0; 16 * BLOCKS],
            used: 16 * BLOCKS,
            mac: <Hmac<Sha1> as Mac>::new_from_slice(mac_key).expect("any key length"),
        }
    }

    fn refill(&mut self) {
        let mut blocks = [aes::Block::default(); BLOCKS];
        for b in &mut blocks {
            self.counter += 1;
            b.copy_from_slice(&self.counter.to_le_bytes());
        }
        self.aes.encrypt_blocks(&mut blocks);
        for (i, b) in blocks.iter().enumerate() {
            self.keystream[16 * i..16 * i + 16].copy_from_slice(b);
        }
        self.used = 0;
    }

    /// Encrypt `data` in place (the next bytes of the entry).
    fn apply(&mut self, data: &mut [u8]) {
        let mut i = 0;
        while i < data.len() {
            if self.used == self.keystream.len() {
                self.refill();
            }
            let n = (self.keystream.len() - self.used).min(data.len() - i);
            for (d, k) in data[i..i + n]
                .iter_mut()
                .zip(&self.keystream[self.used..self.used + n])
            {
                *d ^= k;
            }
            self.used += n;
            i += n;
        }
        self.mac.update(data);
    }

    /// The authentication code that ends the entry.
    fn tag(&self) -> [u8; 10] {
        let full = self.mac.clone().finalize().into_bytes();
        full[..10].try_into().expect("10 of 20 bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::Compressed;

    /// A plain archive of `entries`, and the same encrypted with `password`, cut into pieces
    /// of `piece` bytes on the way.
    fn both(entries: &[(&str, Vec<u8>)], password: &str, piece: usize) -> (Vec<u8>, Vec<u8>) {
        let mut z = ZipStream::new();
        let mut plain = Vec::new();
        for (name, data) in entries {
            plain.extend(z.add_compressed(name, &Compressed::of(data)));
        }
        plain.extend(z.finish());
        let mut out = PackageOutput::encrypted(password, [7; 32]).expect("long enough");
        let mut enc = Vec::new();
        for p in plain.chunks(piece) {
            enc.extend(out.push(p).expect("our archive"));
        }
        let (last, written) = out.finish().expect("complete");
        enc.extend(last);
        assert!(written.encrypted);
        assert_eq!(written.bytes, enc.len() as u64);
        assert_eq!(written.sha256, hex(&Sha256::digest(&enc)));
        (plain, enc)
    }

    /// The entries of an AE-2 archive, decrypted (the reader 7-Zip is, in short).
    fn decrypt(archive: &[u8], password: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
        let mut out = Vec::new();
        let mut i = 0;
        while archive[i..i + 4] == [0x50, 0x4b, 3, 4] {
            let u16_at = |j: usize| u16::from_le_bytes([archive[j], archive[j + 1]]) as usize;
            let u32_at = |j: usize| u32::from_le_bytes(archive[j..j + 4].try_into().unwrap());
            assert_eq!(u16_at(i + 8), 99, "method: AES");
            assert_eq!(u32_at(i + 14), 0, "AE-2: no CRC");
            assert_eq!(u16_at(i + 6) & 1, 1, "encrypted flag");
            let csize = u32_at(i + 18) as usize;
            let (n, m) = (u16_at(i + 26), u16_at(i + 28));
            let name = String::from_utf8(archive[i + 30..i + 30 + n].to_vec()).unwrap();
            let extra = &archive[i + 30 + n..i + 30 + n + m];
            assert_eq!(&extra[..4], &[0x01, 0x99, 7, 0]);
            assert_eq!(&extra[4..9], &[2, 0, b'A', b'E', 3]);
            let method = u16::from_le_bytes([extra[9], extra[10]]);
            let body = &archive[i + 30 + n + m..i + 30 + n + m + csize];
            let (salt, check) = (&body[..16], &body[16..18]);
            let mut keys = [0u8; 66];
            pbkdf2::pbkdf2_hmac::<Sha1>(password.as_bytes(), salt, 1000, &mut keys);
            if &keys[64..] != check {
                return Err(format!("{name}: wrong password"));
            }
            let data = &body[18..csize - 10];
            let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(&keys[32..64]).unwrap();
            mac.update(data);
            assert_eq!(&mac.finalize().into_bytes()[..10], &body[csize - 10..]);
            let mut clear = data.to_vec();
            EntryCipher::new(&keys[..32], &keys[32..64]).apply(&mut clear);
            let c = Compressed {
                crc: 0,
                size: 0,
                method,
                body: clear,
            };
            let mut inflated = Vec::new();
            c.write_data(&mut inflated).unwrap();
            out.push((name, inflated));
            i += 30 + n + m + csize;
        }
        assert_eq!(
            &archive[i..i + 4],
            &[0x50, 0x4b, 1, 2],
            "the directory follows"
        );
        Ok(out)
    }

    #[test]
    fn entries_are_encrypted_whatever_pieces_the_archive_comes_in() {
        let entries = vec![
            ("DICOM/PAT0001/IM000001", b"DICM fake pixels ".repeat(500)),
            ("empty.txt", Vec::new()),
            ("report.html", b"<p>report</p>".to_vec()),
        ];
        let mut first = None;
        for piece in [1, 7, 30, 31, 4096, usize::MAX / 2] {
            let (plain, enc) = both(&entries, "correct horse", piece.max(1));
            let got = decrypt(&enc, "correct horse").expect("right password");
            assert_eq!(got.len(), 3);
            for ((n, d), (gn, gd)) in entries.iter().zip(&got) {
                assert_eq!((n, d), (&gn.as_str(), gd));
            }
            // Nothing of the plain data shows.
            assert!(!enc.windows(16).any(|w| w == b"DICM fake pixels"));
            assert!(plain.windows(8).any(|w| w == b"empty.tx"));
            // The same archive whatever the pieces.
            match &first {
                None => first = Some(enc),
                Some(f) => assert_eq!(f, &enc, "piece {piece}"),
            }
        }
    }

    #[test]
    fn a_wrong_password_is_told_by_its_check_and_each_entry_has_its_own_salt() {
        let entries = vec![("a", b"same".to_vec()), ("b", b"same".to_vec())];
        let (_, enc) = both(&entries, "correct horse", 4096);
        assert!(decrypt(&enc, "wrong horse").is_err());
        let (a, b) = (30 + 1 + 11, 30 + 1 + 11 + 28 + 4 + 30 + 1 + 11);
        assert_ne!(&enc[a..a + 16], &enc[b..b + 16], "salts");
    }

    #[test]
    fn short_passwords_truncated_and_foreign_archives_are_refused() {
        assert_eq!(
            PackageOutput::encrypted("1234567", [0; 32]).err(),
            Some(ExportError::ShortPassword)
        );
        let mut z = ZipStream::new();
        let entry = z.add("a.txt", b"some text");
        let mut out = PackageOutput::encrypted("12345678", [0; 32]).unwrap();
        out.push(&entry[..entry.len() - 3]).unwrap();
        assert!(matches!(out.finish(), Err(ExportError::Truncated { .. })));
        let mut out = PackageOutput::encrypted("12345678", [0; 32]).unwrap();
        assert!(matches!(
            out.push(b"GIF89a and more bytes than a header"),
            Err(ExportError::NotOurArchive { offset: 0, .. })
        ));
    }

    #[test]
    fn without_a_password_the_package_goes_through_counted_and_hashed() {
        let mut out = PackageOutput::plain();
        let mut all = out.push(b"PK\x03\x04 any bytes").unwrap();
        let (last, w) = out.finish().unwrap();
        all.extend(last);
        assert_eq!(all, b"PK\x03\x04 any bytes");
        assert_eq!(w.bytes, 14);
        assert!(!w.encrypted);
        assert_eq!(
            w.sha256,
            "dec71f41db60e034cc6ba98b322c92cab65b92896cf4f230502e26f911316792"
        );
    }
}
