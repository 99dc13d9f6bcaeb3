//! The re-identification key: the map from original patient identities to pseudonyms,
//! sealed with a passphrase (PBKDF2-HMAC-SHA-256 → AES-256-GCM) so it can be stored apart
//! from the package. The same format is written by the page and the CLI.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::DeidError;

/// Format tag written in every sealed key file.
pub const FORMAT: &str = "obscura-reidentification-key-v1";
/// PBKDF2 rounds for the passphrase.
const ROUNDS: u32 = 310_000;
/// Bytes of randomness [`seal`] needs: a 16-byte salt and a 12-byte nonce.
pub const RANDOM_BYTES: usize = 28;

#[derive(Serialize, Deserialize)]
struct Kdf {
    name: String,
    iterations: u32,
    salt: String,
}

#[derive(Serialize, Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

#[derive(Serialize, Deserialize)]
struct Sealed {
    format: String,
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

fn key_for(passphrase: &str, salt: &[u8], rounds: u32) -> [u8; 32] {
    let mut key = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(passphrase.as_bytes(), salt, rounds, &mut key);
    key
}

/// Seal `plaintext` with `passphrase`. `random` must be [`RANDOM_BYTES`] fresh random bytes
/// (salt, then nonce): the caller owns the randomness source (the browser's or the OS's).
pub fn seal(plaintext: &str, passphrase: &str, random: &[u8]) -> Result<String, DeidError> {
    if passphrase.chars().count() < 8 {
        return Err(DeidError::Key(
            "the passphrase must have at least 8 characters".into(),
        ));
    }
    let (salt, nonce) = match (random.get(..16), random.get(16..RANDOM_BYTES)) {
        (Some(s), Some(n)) => (s, n),
        _ => {
            return Err(DeidError::Key(format!(
                "{RANDOM_BYTES} random bytes are needed"
            )))
        }
    };
    let cipher = Aes256Gcm::new((&key_for(passphrase, salt, ROUNDS)).into());
    let ciphertext = cipher
        .encrypt(Nonce::from_slice(nonce), plaintext.as_bytes())
        .map_err(|_| DeidError::Key("encryption failed".into()))?;
    let sealed = Sealed {
        format: FORMAT.into(),
        kdf: Kdf {
            name: "PBKDF2-HMAC-SHA-256".into(),
            iterations: ROUNDS,
            salt: B64.encode(salt),
        },
        cipher: Cipher {
            name: "AES-256-GCM".into(),
            nonce: B64.encode(nonce),
        },
        ciphertext: B64.encode(ciphertext),
    };
    serde_json::to_string_pretty(&sealed).map_err(|e| DeidError::Key(e.to_string()))
}

/// Open a sealed key file with its passphrase.
pub fn open(sealed: &str, passphrase: &str) -> Result<String, DeidError> {
    let bad = |what: &str| DeidError::Key(format!("not a valid key file: {what}"));
    let s: Sealed = serde_json::from_str(sealed).map_err(|e| bad(&e.to_string()))?;
    if s.format != FORMAT {
        return Err(bad("unknown format"));
    }
    let salt = B64.decode(&s.kdf.salt).map_err(|_| bad("salt"))?;
    let nonce = B64.decode(&s.cipher.nonce).map_err(|_| bad("nonce"))?;
    let ct = B64.decode(&s.ciphertext).map_err(|_| bad("ciphertext"))?;
    if nonce.len() != 12 || s.kdf.iterations == 0 {
        return Err(bad("parameters"));
    }
    let cipher = Aes256Gcm::new((&key_for(passphrase, &salt, s.kdf.iterations)).into());
    let plain = cipher
        .decrypt(Nonce::from_slice(&nonce), ct.as_slice())
        .map_err(|_| DeidError::Key("wrong passphrase, or the file was changed".into()))?;
    String::from_utf8(plain).map_err(|_| bad("content"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_maps_open_only_with_the_passphrase() {
        let random: Vec<u8> = (0..RANDOM_BYTES as u8).collect();
        let sealed = seal(
            "original,pseudonym\nFAKEID0001,OBSC-000001\n",
            "long enough pass",
            &random,
        )
        .expect("seals");
        assert!(
            !sealed.contains("FAKEID0001"),
            "the identities are not readable"
        );
        assert_eq!(
            open(&sealed, "long enough pass").expect("opens"),
            "original,pseudonym\nFAKEID0001,OBSC-000001\n"
        );
        assert!(open(&sealed, "another passphrase").is_err());
        assert!(seal("x", "short", &random).is_err());
    }
}
