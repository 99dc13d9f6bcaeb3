//! The marker segments of a JPEG stream (T.81 B.1.1; JPEG-LS, T.87, has the same syntax), one
//! reader for every decoder here: segments in order from SOI to EOI, fill bytes skipped, and
//! for a scan header (SOS) the entropy-coded data that follows it.
//!
//! Written for input from anywhere: every length is checked and nothing is read past the end.

/// Why a stream's segments could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MarkerError(pub &'static str);

impl From<MarkerError> for String {
    fn from(e: MarkerError) -> String {
        e.0.to_string()
    }
}

/// One marker segment.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    /// The marker's second byte (0xC0 for SOF0, 0xDA for SOS, …).
    pub marker: u8,
    /// The whole segment as stored: marker, length and parameters.
    pub bytes: &'a [u8],
    /// The parameters (after the length).
    pub body: &'a [u8],
    /// For a scan header: its entropy-coded data, restart markers included, up to the next
    /// other marker. Empty for every other segment.
    pub data: &'a [u8],
}

/// Big-endian 16-bit value at `at`.
pub fn u16_at(b: &[u8], at: usize) -> Result<usize, MarkerError> {
    b.get(at..at + 2)
        .map(|v| usize::from(u16::from_be_bytes([v[0], v[1]])))
        .ok_or(MarkerError("a JPEG marker segment is cut short"))
}

/// The segments of `stream`, which must start with SOI. The iteration ends at EOI; a stream
/// that ends before its EOI yields an error last.
pub fn segments(stream: &[u8]) -> Result<Segments<'_>, MarkerError> {
    if !stream.starts_with(&[0xFF, 0xD8]) {
        return Err(MarkerError(
            "the frame does not start with a JPEG SOI marker",
        ));
    }
    Ok(Segments {
        stream,
        at: 2,
        done: false,
    })
}

/// Iterator over the segments of a stream (see [`segments`]).
pub struct Segments<'a> {
    stream: &'a [u8],
    at: usize,
    done: bool,
}

impl<'a> Segments<'a> {
    /// Where reading has got to: after the end of image (EOI) once the iteration has ended
    /// there.
    pub fn offset(&self) -> usize {
        self.at
    }

    fn fail(&mut self, why: &'static str) -> Option<Result<Segment<'a>, MarkerError>> {
        self.done = true;
        Some(Err(MarkerError(why)))
    }
}

impl<'a> Iterator for Segments<'a> {
    type Item = Result<Segment<'a>, MarkerError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let s = self.stream;
        loop {
            // Any number of fill bytes (0xFF) may precede a marker (T.81 B.1.1.2).
            while s.get(self.at) == Some(&0xFF) && s.get(self.at + 1) == Some(&0xFF) {
                self.at += 1;
            }
            let start = self.at;
            let marker = match s.get(start..start + 2) {
                Some([0xFF, m]) => *m,
                _ if start >= s.len() => return self.fail("the JPEG stream has no end of image"),
                _ => return self.fail("a JPEG marker was expected"),
            };
            self.at += 2;
            match marker {
                0xD9 => {
                    self.done = true;
                    return None;
                }
                // Markers without parameters: SOI, restarts outside a scan, TEM.
                0xD0..=0xD8 | 0x01 => continue,
                _ => {}
            }
            let Ok(len) = u16_at(s, start + 2) else {
                return self.fail("a JPEG marker segment is cut short");
            };
            let Some(bytes) = s.get(start..start + 2 + len).filter(|_| len >= 2) else {
                return self.fail("a JPEG marker segment runs past the end of the frame");
            };
            self.at = start + 2 + len;
            let data = if marker == 0xDA {
                let end = scan_end(s, self.at);
                let data = &s[self.at..end];
                self.at = end;
                data
            } else {
                &[]
            };
            return Some(Ok(Segment {
                marker,
                bytes,
                body: &bytes[4..],
                data,
            }));
        }
    }
}

/// Where the entropy-coded data starting at `at` ends: at the next marker that is neither a
/// restart nor stuffing. JPEG stuffs 0xFF with 0x00 and JPEG-LS with a byte whose high bit is
/// clear; markers proper have it set, so one rule serves both.
fn scan_end(stream: &[u8], at: usize) -> usize {
    let mut i = at;
    while i + 1 < stream.len() {
        if stream[i] == 0xFF && stream[i + 1] & 0x80 != 0 && !(0xD0..=0xD7).contains(&stream[i + 1])
        {
            return i;
        }
        i += 1;
    }
    stream.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_and_scan_data_in_order() {
        let stream = [
            0xFF, 0xD8, // SOI
            0xFF, 0xE0, 0, 4, 1, 2, // APP0
            0xFF, 0xFF, // a fill byte
            0xFF, 0xDA, 0, 3, 9, // SOS
            0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, // data, stuffing and a restart
            0xFF, 0xD9, // EOI
            0x00, // padding after it is not read
        ];
        let found: Vec<Segment> = segments(&stream)
            .expect("SOI")
            .collect::<Result<_, _>>()
            .expect("segments");
        assert_eq!(found.len(), 2);
        assert_eq!((found[0].marker, found[0].body), (0xE0, &[1u8, 2][..]));
        assert_eq!(found[0].bytes, &[0xFF, 0xE0, 0, 4, 1, 2]);
        assert_eq!((found[1].marker, found[1].body), (0xDA, &[9u8][..]));
        assert_eq!(found[1].data, &[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56]);
    }

    #[test]
    fn damaged_streams_are_errors() {
        assert!(segments(&[]).is_err());
        assert!(segments(&[0xFF, 0xD9]).is_err());
        // Whether the last item is an error (`None`: the stream ended well).
        fn last_failed(s: &[u8]) -> Option<bool> {
            segments(s).expect("SOI").last().map(|r| r.is_err())
        }
        assert_eq!(last_failed(&[0xFF, 0xD8]), Some(true));
        assert_eq!(last_failed(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 9, 1]), Some(true));
        assert_eq!(last_failed(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 1]), Some(true));
        assert_eq!(last_failed(&[0xFF, 0xD8, 0x12]), Some(true));
        assert_eq!(last_failed(&[0xFF, 0xD8, 0xFF, 0xD9]), None);
    }
}
