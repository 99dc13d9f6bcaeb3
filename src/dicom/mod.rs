//! DICOM bytes in and out: the first step of the pipeline and the last.
//!
//! - [`transfer_syntax`]: every fact Obscura uses about a transfer syntax.
//! - [`precheck`]: the structural check of a file's element headers before any parser runs.
//! - [`read`]: bytes to an object (Part 10 or a bare data set), with the repairs some valid
//!   files need; `un_sequences` repairs sequences stored as UN (and standard attributes stored
//!   with a VR other than the dictionary's); `charset` decodes text to Unicode.
//! - [`write`](mod@write): an object to Part 10 bytes.

pub(crate) mod charset;
pub mod precheck;
pub mod read;
pub mod transfer_syntax;
pub(crate) mod un_sequences;
pub mod write;

#[cfg(test)]
pub(crate) mod tests;

pub use precheck::{header_len, Damage};
pub use read::{header_and_memory, read_file, read_file_owned, ReadError};
pub use transfer_syntax::{Codec, Encoding, Lossy, TransferSyntax};
pub use write::{write_part10, WriteError};

/// Obscura's own Implementation Class UID, written in the file meta of every output file.
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.3305193540373548620197474153727066571";
/// Obscura's Implementation Version Name (SH, at most 16 characters).
pub const IMPLEMENTATION_VERSION_NAME: &str = "OBSCURA_0_1_0";

/// An error and its causes on one line.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}
