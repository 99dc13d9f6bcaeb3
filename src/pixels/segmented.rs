//! Segmented Palette Color Lookup Tables (PS3.3 C.7.9.2): a palette written as segments
//! (runs of entries, straight lines between two entries, and copies of earlier segments), as
//! some ultrasound machines write their colour maps. Expanded here to the plain table of
//! entries the rest of the pixel code uses.
//!
//! The data is read as untrusted input: every length and offset is checked, the table never
//! grows past the entries the descriptor announces (plus one segment), and a copy may not
//! refer to another copy, so expansion always ends.

/// Segment types (the first word of each segment).
const DISCRETE: u16 = 0;
const LINEAR: u16 = 1;
const INDIRECT: u16 = 2;

/// The `count` entries of the table whose segments are `data` (16-bit entries), or `None`
/// when the segments are damaged or give fewer than `count` entries.
pub(super) fn expand(data: &[u16], count: usize) -> Option<Vec<u16>> {
    let mut out = Vec::with_capacity(count);
    segments(data, 0, usize::MAX, count, true, &mut out)?;
    if out.len() < count {
        return None;
    }
    out.truncate(count);
    Some(out)
}

/// Expand at most `max_segments` segments of `data` from word `at` onto `out`, until it
/// holds `count` entries or the data ends. Indirect segments only when `indirect` (a copied
/// segment may not itself copy). Returns `None` on a damaged segment.
fn segments(
    data: &[u16],
    mut at: usize,
    max_segments: usize,
    count: usize,
    indirect: bool,
    out: &mut Vec<u16>,
) -> Option<()> {
    let mut done = 0;
    // A segment has at least two words: a single word left is padding.
    while done < max_segments && at + 1 < data.len() && out.len() < count {
        let (kind, length) = (data[at], usize::from(data[at + 1]));
        let start = at;
        at += 2;
        match kind {
            DISCRETE => {
                out.extend_from_slice(data.get(at..at + length)?);
                at += length;
            }
            LINEAR => {
                // A straight line from the last entry to the segment's value, in `length`
                // steps (the last entry itself is not repeated).
                let from = f64::from(*out.last()?);
                let to = *data.get(at)?;
                at += 1;
                let step = (f64::from(to) - from) / length.max(1) as f64;
                out.extend((1..=length).map(|i| (from + step * i as f64).round() as u16));
            }
            INDIRECT if indirect => {
                // `length` segments copied from a byte offset (least significant word first)
                // into the data; only earlier segments, so the copy cannot loop.
                if out.is_empty() {
                    return None;
                }
                let low = usize::from(*data.get(at)?);
                let high = usize::from(*data.get(at + 1)?);
                at += 2;
                let offset = (high << 16) | low;
                if offset % 2 != 0 || offset / 2 >= start {
                    return None;
                }
                segments(data, offset / 2, length, count, false, out)?;
            }
            _ => return None,
        }
        done += 1;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discrete_and_linear_segments() {
        // 3 entries as they are, a line up to 90 in 3 steps, a line staying at 90 in 2 steps.
        let data = [0, 3, 10, 20, 30, 1, 3, 90, 1, 2, 90];
        assert_eq!(expand(&data, 8), Some(vec![10, 20, 30, 50, 70, 90, 90, 90]));
        // A trailing padding word is ignored; extra entries are cut to the count.
        let mut padded = data.to_vec();
        padded.push(0);
        assert_eq!(expand(&padded, 5), Some(vec![10, 20, 30, 50, 70]));
        // A falling line rounds to the nearest entry.
        assert_eq!(expand(&[0, 1, 100, 1, 3, 0], 4), Some(vec![100, 67, 33, 0]));
    }

    #[test]
    fn indirect_segments_copy_earlier_ones() {
        // Segment A (discrete 1, 2) at word 0, segment B (line to 5 in 1 step) at word 4,
        // then a copy of both (byte offset 0), then a copy of B alone (byte offset 8).
        let data = [0, 2, 1, 2, 1, 1, 5, 2, 2, 0, 0, 2, 1, 8, 0];
        // 1 2 | 5 | the copy of both: 1 2, then a line from 2 to 5 | the copy of B: 5 to 5.
        assert_eq!(expand(&data, 7), Some(vec![1, 2, 5, 1, 2, 5, 5]));
    }

    #[test]
    fn damaged_segments_are_refused() {
        let cases: [&[u16]; 7] = [
            &[1, 3, 90],            // a line with no entry before it
            &[2, 1, 0, 0],          // a copy with nothing before it
            &[0, 5, 1, 2],          // a run longer than the data
            &[0, 1, 7, 2, 1, 6, 0], // a copy that points at itself
            &[0, 1, 7, 2, 1, 1, 0], // a copy at an odd byte offset
            &[0, 1, 7, 9, 1, 3],    // an unknown segment type
            &[0, 2, 1, 2],          // fewer entries than the count
        ];
        for data in cases {
            assert_eq!(expand(data, 3), None, "{data:?}");
        }
        // A copy of a copy is refused (it could loop).
        let nested = [0, 1, 7, 2, 1, 0, 0, 2, 1, 6, 0];
        assert_eq!(expand(&nested, 3), None);
    }

    #[test]
    fn expansion_is_bounded_by_the_count() {
        // Lines of 65535 entries, many times over: stops once the count is reached.
        let mut data = vec![0, 1, 0];
        for _ in 0..1000 {
            data.extend([1, u16::MAX, 1000]);
        }
        let lut = expand(&data, 65536).expect("expanded");
        assert_eq!(lut.len(), 65536);
    }
}
