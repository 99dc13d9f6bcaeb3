//! Private attributes that PS3.15 Table E.3.10-1 lists as safe to keep under the Retain Safe
//! Private Option.
//!
//! This is a hand-picked subset of the standard's table (diffusion parameters that research
//! users most often need); a private attribute not listed here is removed even with the option,
//! which is the fail-safe direction.

/// One safe private attribute: its block's Private Creator and its tag inside the block.
#[derive(Debug, Clone, Copy)]
pub struct SafePrivate {
    /// The Private Creator value that owns the block, e.g. `SIEMENS MR HEADER`.
    pub creator: &'static str,
    /// The (odd) group.
    pub group: u16,
    /// The low byte of the element number (the `xx` of `(gggg,xxee)` is the block).
    pub element: u8,
    /// What the value is.
    pub name: &'static str,
}

/// The safe private attributes Obscura knows.
pub const SAFE_PRIVATE: &[SafePrivate] = &[
    SafePrivate {
        creator: "SIEMENS MR HEADER",
        group: 0x0019,
        element: 0x0C,
        name: "B value",
    },
    SafePrivate {
        creator: "SIEMENS MR HEADER",
        group: 0x0019,
        element: 0x0D,
        name: "Diffusion directionality",
    },
    SafePrivate {
        creator: "SIEMENS MR HEADER",
        group: 0x0019,
        element: 0x0E,
        name: "Diffusion gradient direction",
    },
    SafePrivate {
        creator: "SIEMENS MR HEADER",
        group: 0x0019,
        element: 0x27,
        name: "B matrix",
    },
    SafePrivate {
        creator: "GEMS_PARM_01",
        group: 0x0043,
        element: 0x39,
        name: "Slop integers 6-9 (b value)",
    },
    SafePrivate {
        creator: "Philips Imaging DD 001",
        group: 0x2001,
        element: 0x03,
        name: "Diffusion b-factor",
    },
    SafePrivate {
        creator: "Philips Imaging DD 001",
        group: 0x2001,
        element: 0x04,
        name: "Diffusion direction",
    },
];

/// Whether the attribute `(group, xx element)` of a block owned by `creator` is safe to keep.
pub fn is_safe_private(creator: &str, group: u16, element: u8) -> bool {
    let creator = creator.trim();
    SAFE_PRIVATE
        .iter()
        .any(|s| s.group == group && s.element == element && s.creator == creator)
}

/// The name of a Private Creator that Obscura's own list holds for `group` (a vendor's, such
/// as `SIEMENS MR HEADER`), to name a block in the change log; `None` for any other, which
/// the log never repeats (a creator string is the file's own text and may hold anything).
pub fn known_creator(creator: &str, group: u16) -> Option<&'static str> {
    let creator = creator.trim();
    SAFE_PRIVATE
        .iter()
        .find(|s| s.group == group && s.creator == creator)
        .map(|s| s.creator)
}
