//! Private attributes that PS3.15 Table E.3.10-1 lists as safe to keep under the Retain Safe
//! Private Option.
//!
//! This is a hand-picked subset of the standard's table (diffusion parameters that research
//! users most often need); a private attribute not listed here is removed even with the option,
//! which is the fail-safe direction.

/// What a safe private value must look like to be kept: the VR and form the standard's table
/// gives it. Anything else in the slot (text where numbers are meant, a sequence, a name in a
/// code) is removed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SafeForm {
    /// Integer strings (IS), at most this many.
    Integers(usize),
    /// 64-bit floats (FD), exactly this many.
    Doubles(usize),
    /// 32-bit floats (FL), exactly this many.
    Floats(usize),
    /// One code string (CS) among these.
    Code(&'static [&'static str]),
}

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
    /// What the value must look like (PS3.15 Table E.3.10-1's VR and multiplicity).
    pub form: SafeForm,
}

/// The safe private attributes Obscura knows.
pub const SAFE_PRIVATE: &[SafePrivate] = &[
    SafePrivate {
        creator: "SIEMENS MR HEADER",
        group: 0x0019,
        element: 0x0C,
        name: "B value",
        form: SafeForm::Integers(1),
    },
    SafePrivate {
        creator: "SIEMENS MR HEADER",
        group: 0x0019,
        element: 0x0D,
        name: "Diffusion directionality",
        form: SafeForm::Code(&["DIRECTIONAL", "NONE", "ISOTROPIC", "BMATRIX"]),
    },
    SafePrivate {
        creator: "SIEMENS MR HEADER",
        group: 0x0019,
        element: 0x0E,
        name: "Diffusion gradient direction",
        form: SafeForm::Doubles(3),
    },
    SafePrivate {
        creator: "SIEMENS MR HEADER",
        group: 0x0019,
        element: 0x27,
        name: "B matrix",
        form: SafeForm::Doubles(6),
    },
    SafePrivate {
        creator: "GEMS_PARM_01",
        group: 0x0043,
        element: 0x39,
        name: "Slop integers 6-9 (b value)",
        form: SafeForm::Integers(4),
    },
    SafePrivate {
        creator: "Philips Imaging DD 001",
        group: 0x2001,
        element: 0x03,
        name: "Diffusion b-factor",
        form: SafeForm::Floats(1),
    },
    SafePrivate {
        creator: "Philips Imaging DD 001",
        group: 0x2001,
        element: 0x04,
        name: "Diffusion direction",
        form: SafeForm::Code(&["I", "O", "P", "S", "M", "R", "A", "F", "N"]),
    },
];

/// The safe private attribute `(group, xx element)` of a block owned by `creator`, if it is
/// one.
pub fn safe_private(creator: &str, group: u16, element: u8) -> Option<&'static SafePrivate> {
    let creator = creator.trim();
    SAFE_PRIVATE
        .iter()
        .find(|s| s.group == group && s.element == element && s.creator == creator)
}

/// The largest magnitude a kept float may have (b-values reach a few 10^4 s/mm²): the bytes
/// of text read as a float are far larger or far smaller.
const FLOAT_RANGE: (f64, f64) = (1e-9, 1e7);

fn plausible(x: f64) -> bool {
    x == 0.0 || (x.is_finite() && (FLOAT_RANGE.0..=FLOAT_RANGE.1).contains(&x.abs()))
}

impl SafePrivate {
    /// Whether a value (its VR as read, and its bytes as stored: text for IS and CS, little
    /// endian for FD and FL; a private attribute of an implicit VR file is read as UN) has
    /// this attribute's form.
    pub fn accepts(&self, vr: dicom_core::VR, bytes: &[u8]) -> bool {
        use dicom_core::VR;
        let text = || {
            std::str::from_utf8(bytes)
                .ok()
                .map(|t| t.trim_end_matches(['\0', ' ']))
        };
        match self.form {
            SafeForm::Integers(n) => {
                matches!(vr, VR::IS | VR::UN)
                    && text().is_some_and(|t| {
                        let values: Vec<&str> = t.split('\\').collect();
                        values.len() <= n
                            && values.iter().all(|v| {
                                let v = v.trim();
                                v.len() <= 12 && v.parse::<i64>().is_ok()
                            })
                    })
            }
            SafeForm::Code(allowed) => {
                matches!(vr, VR::CS | VR::UN)
                    && text().is_some_and(|t| t.is_empty() || allowed.contains(&t.trim()))
            }
            SafeForm::Doubles(n) => {
                matches!(vr, VR::FD | VR::UN | VR::OB)
                    && bytes.len() == 8 * n
                    && bytes
                        .chunks_exact(8)
                        .all(|c| plausible(f64::from_le_bytes(c.try_into().unwrap_or_default())))
            }
            SafeForm::Floats(n) => {
                matches!(vr, VR::FL | VR::UN | VR::OB)
                    && bytes.len() == 4 * n
                    && bytes.chunks_exact(4).all(|c| {
                        // Four bytes of text also read as a plausible float ("WAND" is
                        // 825.02…); a b-factor is a round number.
                        let x = f64::from(f32::from_le_bytes(c.try_into().unwrap_or_default()));
                        plausible(x) && ((x * 1000.0) - (x * 1000.0).round()).abs() < 1e-2
                    })
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::VR;

    #[test]
    fn only_values_of_the_expected_form_are_safe() {
        let b_value = safe_private("SIEMENS MR HEADER", 0x0019, 0x0C).expect("listed");
        assert!(b_value.accepts(VR::IS, b"1000"));
        assert!(b_value.accepts(VR::UN, b"1000 "));
        assert!(!b_value.accepts(VR::IS, b"KESTREL"));
        assert!(!b_value.accepts(VR::LO, b"1000"));
        assert!(!b_value.accepts(VR::SQ, b""));
        let direction = safe_private("SIEMENS MR HEADER", 0x0019, 0x0E).expect("listed");
        let doubles: Vec<u8> = [0.0f64, 0.707, -0.707]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert!(direction.accepts(VR::FD, &doubles));
        assert!(direction.accepts(VR::UN, &doubles));
        // Text in the slot, 24 bytes of it: as doubles, far out of range.
        assert!(!direction.accepts(VR::FD, b"KESTREL^WANDA 1961-02-03"));
        assert!(!direction.accepts(VR::FD, &doubles[..16]));
        let directionality = safe_private("SIEMENS MR HEADER", 0x0019, 0x0D).expect("listed");
        assert!(directionality.accepts(VR::CS, b"DIRECTIONAL "));
        assert!(!directionality.accepts(VR::CS, b"KESTREL"));
        let b_factor = safe_private("Philips Imaging DD 001", 0x2001, 0x03).expect("listed");
        assert!(b_factor.accepts(VR::FL, &800f32.to_le_bytes()));
        assert!(!b_factor.accepts(VR::FL, b"WAND"));
        assert!(safe_private("SIEMENS MR HEADER", 0x0019, 0x10).is_none());
    }
}
