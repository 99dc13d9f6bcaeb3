//! DICOM bytes in and out: the first step of the pipeline and the last.
//!
//! - [`transfer_syntax`]: every fact Obscura uses about a transfer syntax.
//! - [`precheck`]: the structural check of a file's element headers before any parser runs.
//! - `un_sequences`: the repair of sequences stored as UN (and of standard attributes stored
//!   with a VR other than the dictionary's), so that dicom-rs can read such files.

pub mod precheck;
pub mod transfer_syntax;
pub(crate) mod un_sequences;

pub use transfer_syntax::{Codec, Encoding, Lossy, TransferSyntax};
