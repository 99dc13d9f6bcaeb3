//! # Obscura
//!
//! De-identification of DICOM studies, built to run entirely inside a web browser (compiled to
//! WebAssembly) and natively (the `obscura` CLI). Nothing leaves the machine.
//!
//! Data flows one way: bytes → parsed object → policy applied → bytes → package.
//!
//! - [`attrs`]: reading single attribute values.
//! - [`crc`]: the CRC-32 of the package's entries, fast in WebAssembly too.
//! - [`profile`]: PS3.15 Annex E as data: the generated Table E.1-1, the options, presets.
//! - [`dicom`]: DICOM bytes in and out: reading (after a structural pre-check, with repairs)
//!   and writing Part 10, and every transfer-syntax fact.
//! - [`deid`]: applying a [`deid::Policy`] to one object; the [`deid::Session`] holds the
//!   batch state (pseudonyms, date offsets) and is the single entry point.
//! - [`inflate`]: the bound on every deflate stream read (decompression bombs).
//! - [`input`]: reading ZIP archives users drop in.
//! - [`pixels`]: blanking regions of burned-in text (rules per kind of image, JSON or CTP
//!   scripts), in native and compressed pixel data.
//! - [`package`]: the streamed ZIP package with DICOMDIR, manifest and change log.
//! - [`sample`]: a fake study for the page's demo and the tests.
//! - [`cli`]: the `obscura` command (native only), which the Python package runs too.
//! - `wasm`: the only module that knows about wasm-bindgen; `python` (with the `python`
//!   feature) the only one that knows about pyo3.

pub mod attrs;
#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
pub mod crc;
pub mod deid;
pub mod dicom;
pub mod inflate;
pub mod input;
pub mod package;
pub mod pixels;
pub mod profile;
pub mod sample;

#[cfg(feature = "python")]
mod python;
#[cfg(target_arch = "wasm32")]
mod wasm;
#[cfg(target_arch = "wasm32")]
mod wasm_libc;

pub use deid::{Deidentified, Outcome, Policy, ProjectKey, Session};
