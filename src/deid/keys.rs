//! The project key and everything derived from it: replacement UIDs, pseudonyms and date
//! offsets. Derivations are keyed hashes (HMAC-SHA-256), so the same input and key always give
//! the same output, on any machine, and different keys give unlinkable outputs.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Number of PBKDF2 rounds that turn a passphrase into a key: slows down guessing.
const PASSPHRASE_ROUNDS: u32 = 100_000;

/// How a key file is written, for help texts.
pub const KEY_FILE_HELP: &str = "a key file holds 64 hex digits (a random key, as `obscura \
    new-key` makes), or a passphrase on its first line and the project's random salt on a \
    second line `salt: <32 hex digits>`";

/// A project's random salt for its passphrase: 16 bytes, made once per project and kept
/// with it (not in its packages).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Salt([u8; 16]);

impl Salt {
    /// A salt from 16 random bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> Salt {
        Salt(bytes)
    }

    /// A salt written as 32 hex digits (spaces and dashes between them allowed).
    pub fn from_hex(text: &str) -> Option<Salt> {
        let digits: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        hex::<16>(&digits).map(Salt)
    }

    /// The salt as 32 lower-case hex digits.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// `N` bytes written as exactly `2N` hex digits.
fn hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// A 256-bit project key.
#[derive(Clone, PartialEq, Eq)]
pub struct ProjectKey([u8; 32]);

impl std::fmt::Debug for ProjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key itself.
        f.write_str("ProjectKey(…)")
    }
}

impl ProjectKey {
    /// A key from 32 raw bytes (e.g. from a random source).
    pub fn from_bytes(bytes: [u8; 32]) -> ProjectKey {
        ProjectKey(bytes)
    }

    /// A key from raw bytes of any length (hashed down to 32 bytes).
    pub fn from_slice(bytes: &[u8]) -> ProjectKey {
        if let Ok(arr) = <[u8; 32]>::try_from(bytes) {
            return ProjectKey(arr);
        }
        ProjectKey(Sha256::digest(bytes).into())
    }

    /// A key from a passphrase typed by a user and the project's random salt
    /// (PBKDF2-HMAC-SHA-256): the same passphrase and salt give the same key everywhere. The
    /// salt is random per project, so a passphrase guessed from a package alone (by
    /// enumerating patient IDs against its pseudonyms) is worth nothing without the salt,
    /// and one guess cannot be tried against every project at once.
    pub fn from_passphrase(passphrase: &str, salt: &Salt) -> ProjectKey {
        let mut out = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(passphrase.as_bytes(), &salt.0, PASSPHRASE_ROUNDS, &mut out);
        ProjectKey(out)
    }

    /// The key a key file gives (see [`KEY_FILE_HELP`]): 64 hex digits on its first line, or
    /// a passphrase there and the project's salt on a line `salt: <32 hex digits>`.
    /// `fresh_salt` only words the error when the salt is missing (a salt to add).
    pub fn from_key_file(text: &str, fresh_salt: &Salt) -> Result<ProjectKey, String> {
        let mut lines = text.lines().map(str::trim).filter(|l| !l.starts_with('#'));
        let first = lines.next().unwrap_or("");
        if first.is_empty() {
            return Err("the key file is empty".into());
        }
        if let Some(key) = hex::<32>(first) {
            return Ok(ProjectKey(key));
        }
        let salt = lines.find_map(|l| l.strip_prefix("salt:")).map(str::trim);
        match salt {
            Some(s) => Salt::from_hex(s)
                .map(|salt| ProjectKey::from_passphrase(first, &salt))
                .ok_or_else(|| "its salt must be 32 hex digits".into()),
            None => Err(format!(
                "a passphrase needs the project's random salt (a passphrase alone could be \
                 guessed from a package): add a second line, for example this one, made \
                 just now at random, and keep the file with the project: salt: {}",
                fresh_salt.to_hex()
            )),
        }
    }

    /// HMAC-SHA-256 of `purpose` and `input` under this key.
    fn mac(&self, purpose: &str, input: &str) -> [u8; 32] {
        // new_from_slice accepts any key length; 32 bytes can never fail.
        let mut mac = match HmacSha256::new_from_slice(&self.0) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC accepts keys of any length"),
        };
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(input.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The replacement for a UID: `2.25.` followed by a 128-bit keyed hash in decimal.
    pub fn uid(&self, original: &str) -> String {
        let h = self.mac("uid", original);
        let mut first = [0u8; 16];
        first.copy_from_slice(&h[..16]);
        format!("2.25.{}", u128::from_be_bytes(first))
    }

    /// A readable pseudonym such as `OBSC-7Q2M-9XKD-4TBA-PW3H` for an original patient
    /// identity: 80 bits of a keyed hash in Crockford's base 32 (no I, L, O or U to misread),
    /// in groups of four. Two of ten million patients share one with a chance of about
    /// 4 in 10^11 (the birthday bound, n²/2^81); 24 bits, as before, gave even odds at 4,800.
    pub fn pseudonym(&self, original: &str) -> String {
        const DIGITS: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        let h = self.mac("pseudonym", original);
        let mut bits = u128::from_be_bytes(h[..16].try_into().unwrap_or_default()) >> 48;
        let mut digits = [0u8; 16];
        for d in digits.iter_mut().rev() {
            *d = DIGITS[(bits & 31) as usize];
            bits >>= 5;
        }
        let groups: Vec<&str> = digits
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap_or_default())
            .collect();
        format!("OBSC-{}", groups.join("-"))
    }

    /// A date offset in days for a patient, between 1 and 10 years into the past.
    pub fn date_offset_days(&self, original: &str) -> i32 {
        let h = self.mac("date-offset", original);
        let n = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
        // 365..=3652 days back; the remainder is below 3288, so the cast is exact.
        -(365 + (n % 3288) as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_deterministic_and_keyed() {
        let a = ProjectKey::from_bytes([1; 32]);
        let b = ProjectKey::from_bytes([2; 32]);
        assert_eq!(a.uid("1.2.3"), a.uid("1.2.3"));
        assert_ne!(a.uid("1.2.3"), a.uid("1.2.4"));
        assert_ne!(a.uid("1.2.3"), b.uid("1.2.3"));
        let uid = a.uid("1.2.3");
        assert!(uid.starts_with("2.25.") && uid.len() <= 64);
        assert!(uid[5..].chars().all(|c| c.is_ascii_digit()));
    }

    #[test]
    fn passphrase_keys_are_stable_and_salted_per_project() {
        let (a, b) = (Salt::from_bytes([1; 16]), Salt::from_bytes([2; 16]));
        let key = |p, s| ProjectKey::from_passphrase(p, s);
        assert_eq!(key("x", &a), key("x", &a));
        assert_ne!(key("x", &a), key("y", &a));
        assert_ne!(
            key("x", &a),
            key("x", &b),
            "the same passphrase, another project"
        );
    }

    #[test]
    fn key_files_give_a_key_or_say_what_is_missing() {
        let fresh = Salt::from_bytes([0xab; 16]);
        let raw = "00".repeat(31) + "ff";
        let mut bytes = [0u8; 32];
        bytes[31] = 0xff;
        assert_eq!(
            ProjectKey::from_key_file(&format!("{raw}\n"), &fresh),
            Ok(ProjectKey::from_bytes(bytes))
        );
        let salted = "# my project\ncorrect horse\nsalt: 0102030405060708 090a0b0c0d0e0f10\n";
        let salt = Salt::from_hex("0102030405060708090a0b0c0d0e0f10").expect("hex");
        assert_eq!(
            ProjectKey::from_key_file(salted, &fresh),
            Ok(ProjectKey::from_passphrase("correct horse", &salt))
        );
        let missing = ProjectKey::from_key_file("correct horse\n", &fresh).expect_err("no salt");
        assert!(
            missing.contains(&format!("salt: {}", "ab".repeat(16))),
            "{missing}"
        );
        assert!(ProjectKey::from_key_file("correct horse\nsalt: 12\n", &fresh).is_err());
        assert!(ProjectKey::from_key_file("\n", &fresh).is_err());
        assert_eq!(Salt::from_hex(&salt.to_hex()), Some(salt));
    }

    #[test]
    fn pseudonyms_are_readable_and_do_not_collide() {
        let k = ProjectKey::from_bytes([9; 32]);
        let p = k.pseudonym("FAKEID0001");
        assert_eq!(p.len(), 24, "{p}");
        assert!(p.starts_with("OBSC-"));
        assert!(p[5..]
            .split('-')
            .all(|g| g.len() == 4 && g.chars().all(|c| c.is_ascii_alphanumeric())));
        assert!(!p[5..].contains(['I', 'L', 'O', 'U']));
        // 100,000 patients: with 24 bits about 300 pairs would share one.
        let all: std::collections::HashSet<String> = (0..100_000)
            .map(|i| k.pseudonym(&format!("MRN{i}")))
            .collect();
        assert_eq!(all.len(), 100_000);
    }

    #[test]
    fn date_offsets_stay_in_range() {
        let k = ProjectKey::from_bytes([7; 32]);
        for id in ["A", "B", "C", "12345", ""] {
            let d = k.date_offset_days(id);
            assert!((-3652..=-365).contains(&d), "{d}");
        }
    }
}
