//! Overlay planes (PS3.3 C.9.2) drawn over a rendered frame, as a viewer shows them. Overlays
//! often hold what a person wrote or a device drew over the image (names, marks), and they
//! never go into the package: the user sees them on the image before de-identification, so
//! that the check shows what a viewer would.
//!
//! Only overlays with their own Overlay Data (60xx,3000) are drawn. An overlay kept in the
//! unused high bits of the pixels (retired) is zeroed by the header stage and is not drawn.
//! The work is bounded by the frame's size, whatever the overlay says of its own.

use dicom_core::value::{PrimitiveValue, Value};
use dicom_core::Tag;
use dicom_object::InMemDicomObject;

use super::render::Rendered;
use crate::attrs;

/// The colour overlays are drawn in (as OHIF's viewer does: white).
const INK: [u8; 3] = [255, 255, 255];

/// Draw every overlay plane of `file` that applies to the frame of `r` onto it; returns how
/// many were drawn.
pub(super) fn draw(file: &InMemDicomObject, r: &mut Rendered) -> usize {
    (0x6000u16..=0x601E)
        .step_by(2)
        .filter(|&group| draw_one(file, group, r))
        .count()
}

/// Draw overlay group `group` on `r`, if it has a bitmap that applies to the frame.
fn draw_one(file: &InMemDicomObject, group: u16, r: &mut Rendered) -> bool {
    let Some(data) = file.get(Tag(group, 0x3000)).map(|e| e.value()) else {
        return false;
    };
    let bits: std::borrow::Cow<[u8]> = match data {
        Value::Primitive(PrimitiveValue::U8(b)) => std::borrow::Cow::Borrowed(&b[..]),
        Value::Primitive(PrimitiveValue::U16(w)) => {
            std::borrow::Cow::Owned(w.iter().flat_map(|v| v.to_le_bytes()).collect())
        }
        _ => return false,
    };
    let num = |element| attrs::uint(file, Tag(group, element));
    let (Some(rows), Some(cols)) = (num(0x0010), num(0x0011)) else {
        return false;
    };
    if num(0x0100).is_some_and(|b| b != 1) {
        return false;
    }
    let (rows, cols) = (rows as usize, cols as usize);
    // Which of the overlay's frames goes with this image frame. Without Number of Frames in
    // Overlay, the one bitmap is shown on every frame (it may well hold text for all of them).
    let plane = match num(0x0015) {
        Some(count) => {
            let first = num(0x0051).unwrap_or(1).max(1);
            match (r.frame + 1).checked_sub(first) {
                Some(k) if k < count => k as usize,
                _ => return false,
            }
        }
        None => 0,
    };
    // Overlay Origin: the image row and column (1-based, may be negative) of its top left.
    let origin = file
        .get(Tag(group, 0x0050))
        .and_then(|e| e.value().to_multi_int::<i32>().ok())
        .unwrap_or_default();
    let (top, left) = (
        i64::from(origin.first().copied().unwrap_or(1)) - 1,
        i64::from(origin.get(1).copied().unwrap_or(1)) - 1,
    );
    // (Bit offsets in 64 bits: a crafted overlay's sizes would overflow 32.)
    let start = plane as u64 * rows as u64 * cols as u64;
    let (width, height) = (i64::from(r.width), i64::from(r.height));
    let mut drawn = false;
    // Only the overlay's pixels that land in the frame are visited.
    for y in top.max(0)..(top + rows as i64).min(height) {
        let oy = (y - top) as u64;
        for x in left.max(0)..(left + cols as i64).min(width) {
            let bit = start + oy * cols as u64 + (x - left) as u64;
            let Some(byte) = usize::try_from(bit / 8).ok().and_then(|i| bits.get(i)) else {
                return drawn;
            };
            if byte >> (bit % 8) & 1 == 1 {
                let p = (y * width + x) as usize * 4;
                r.rgba[p..p + 3].copy_from_slice(&INK);
                drawn = true;
            }
        }
    }
    drawn
}

#[cfg(test)]
mod tests {
    use dicom_core::{DataElement, VR};

    use super::*;

    fn frame(width: u32, height: u32, frame: u32) -> Rendered {
        Rendered {
            width,
            height,
            rgba: vec![0; (width * height * 4) as usize],
            frame,
            frames: 3,
            window: None,
        }
    }

    fn with_overlay(rows: u16, cols: u16, origin: [i16; 2], bits: Vec<u8>) -> InMemDicomObject {
        let mut obj = InMemDicomObject::new_empty();
        let put =
            |obj: &mut InMemDicomObject, e, vr, v| obj.put(DataElement::new(Tag(0x6002, e), vr, v));
        put(&mut obj, 0x0010, VR::US, PrimitiveValue::from(rows));
        put(&mut obj, 0x0011, VR::US, PrimitiveValue::from(cols));
        put(
            &mut obj,
            0x0050,
            VR::SS,
            PrimitiveValue::I16(origin.to_vec().into()),
        );
        put(&mut obj, 0x0100, VR::US, PrimitiveValue::from(1u16));
        put(&mut obj, 0x3000, VR::OB, PrimitiveValue::U8(bits.into()));
        obj
    }

    fn ink_at(r: &Rendered) -> Vec<(u32, u32)> {
        (0..r.height)
            .flat_map(|y| (0..r.width).map(move |x| (x, y)))
            .filter(|&(x, y)| r.rgba[((y * r.width + x) * 4) as usize] == 255)
            .collect()
    }

    #[test]
    fn an_overlay_is_drawn_where_its_origin_puts_it() {
        // An 8×2 overlay, its first bit (least significant first) and its tenth set, at row
        // 3, column 5 (1-based) of a 16×8 frame.
        let obj = with_overlay(2, 8, [3, 5], vec![0b0000_0001, 0b0000_0010]);
        let mut r = frame(16, 8, 0);
        assert_eq!(draw(&obj, &mut r), 1);
        assert_eq!(ink_at(&r), vec![(4, 2), (5, 3)]);
    }

    #[test]
    fn a_multi_frame_overlay_is_drawn_on_its_own_frames_only() {
        let mut obj = with_overlay(1, 8, [1, 1], vec![0x01, 0x80]);
        obj.put(DataElement::new(
            Tag(0x6002, 0x0015),
            VR::IS,
            PrimitiveValue::from("2"),
        ));
        obj.put(DataElement::new(
            Tag(0x6002, 0x0051),
            VR::US,
            PrimitiveValue::from(2u16),
        ));
        let mut first = frame(8, 1, 0);
        assert_eq!(
            draw(&obj, &mut first),
            0,
            "the overlay starts at the second frame"
        );
        let mut second = frame(8, 1, 1);
        draw(&obj, &mut second);
        assert_eq!(ink_at(&second), vec![(0, 0)]);
        let mut third = frame(8, 1, 2);
        draw(&obj, &mut third);
        assert_eq!(ink_at(&third), vec![(7, 0)]);
    }

    #[test]
    fn an_overlay_that_claims_more_than_it_holds_or_lies_outside_is_bounded() {
        // 65535 × 65535 claimed, two bytes given, partly off the frame: no panic, and no
        // more work than the frame's pixels.
        let obj = with_overlay(u16::MAX, u16::MAX, [-3, -3], vec![0xFF, 0xFF]);
        let mut r = frame(8, 8, 0);
        draw(&obj, &mut r);
        let obj = with_overlay(4, 4, [100, 100], vec![0xFF, 0xFF]);
        let mut r = frame(8, 8, 0);
        assert_eq!(draw(&obj, &mut r), 0);
    }
}
