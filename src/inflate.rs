//! Bounds on decompression, one rule for every deflate stream Obscura reads (ZIP entries,
//! deflated data sets): what inflates to more than [`RATIO`] times its compressed size (and
//! [`SLACK`] more, for small files) is refused as a decompression bomb before it fills
//! memory. DICOM files compress a few times, seldom ten; deflate itself cannot pass ~1030.

/// How many times its compressed size a stream may inflate to.
pub const RATIO: u64 = 128;

/// What any stream may inflate to, whatever its ratio.
pub const SLACK: u64 = 1 << 20;

/// The most `compressed` bytes may inflate to.
pub fn limit(compressed: u64) -> u64 {
    compressed.saturating_mul(RATIO).saturating_add(SLACK)
}

/// Why a stream was refused, in the user's words.
pub fn bomb(what: &str, limit: u64) -> String {
    format!(
        "{what} inflates to more than {} MiB, {RATIO} times its compressed size \
         (a decompression bomb?)",
        limit >> 20
    )
}
