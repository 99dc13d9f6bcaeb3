//! Frames of compressed pixel data, decoded one at a time: the choice of decoder for a
//! transfer syntax's [`Codec`] ([`FrameDecoder`]), and the decoders and codestream readers of
//! Obscura's own: RLE Lossless ([`rle`]), 12-bit JPEG ([`jpeg12`]), JPEG blanked in whole
//! blocks ([`jpeg_blocks`], with [`jpeg_huffman`] and [`jpeg_markers`]), JPEG-LS colour
//! ([`jpegls_colour`], [`jpegls_lines`]) and codestream headers ([`codestream`]). The rest
//! are dicom-rs's.

pub(super) mod codestream;
pub(super) mod jpeg12;
pub(super) mod jpeg_blocks;
pub(super) mod jpeg_huffman;
pub(super) mod jpeg_markers;
pub(super) mod jpegls_colour;
pub(super) mod jpegls_lines;
pub(super) mod rle;

use dicom_core::value::{PrimitiveValue, Value};
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_object::{FileDicomObject, InMemDicomObject};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use crate::attrs;
use crate::dicom::{Codec, TransferSyntax};
use crate::pixels::compressed::Stored;
use crate::pixels::geometry::{geometry, le_bytes, Geometry};
use crate::pixels::native::is_blank;
use crate::pixels::rules::Region;
use crate::pixels::{unsupported, PixelError};

/// Frame `f` (0-based) of compressed (encapsulated) pixel data, decoded: little-endian,
/// interleaved samples, exactly one frame long.
pub fn decode_frame(
    file: &FileDicomObject<InMemDicomObject>,
    f: u32,
) -> Result<Vec<u8>, PixelError> {
    Decoder::new(file)?.frame(f)
}

/// Which fragments hold each of `frames` frames of encapsulated pixel data, as ranges of
/// indices into `fragments` (PS3.5 A.4): one fragment a frame; one frame in them all; the
/// frames' offsets (`offsets`, from the Basic or the Extended Offset Table: where each
/// frame's first fragment item starts, counted from the first fragment item); or, without
/// offsets, a new frame at each fragment that starts a JPEG, JPEG-LS (SOI) or JPEG 2000
/// (SOC) codestream. `None` when none of these gives exactly `frames` frames.
pub(super) fn frame_fragments(
    fragments: &[&[u8]],
    offsets: &[u64],
    frames: usize,
) -> Option<Vec<std::ops::Range<usize>>> {
    let n = fragments.len();
    if frames == 0 || n < frames {
        return None;
    }
    if n == frames {
        return Some((0..n).map(|i| i..i + 1).collect());
    }
    if frames == 1 {
        return Some(std::iter::once(0..n).collect());
    }
    let ranges = |starts: &[usize]| -> Option<Vec<std::ops::Range<usize>>> {
        let ok = starts.len() == frames
            && starts.first() == Some(&0)
            && starts.windows(2).all(|w| w[0] < w[1]);
        ok.then(|| {
            starts
                .iter()
                .enumerate()
                .map(|(i, &s)| s..starts.get(i + 1).copied().unwrap_or(n))
                .collect()
        })
    };
    if offsets.len() == frames {
        // Where each fragment item starts: an item is its 8-byte header and its value.
        let mut at = Vec::with_capacity(n);
        let mut pos = 0u64;
        for f in fragments {
            at.push(pos);
            pos = pos.saturating_add(8 + f.len() as u64);
        }
        let starts: Option<Vec<usize>> = offsets.iter().map(|o| at.binary_search(o).ok()).collect();
        if let Some(r) = starts.as_deref().and_then(ranges) {
            return Some(r);
        }
    }
    let starts: Vec<usize> = fragments
        .iter()
        .enumerate()
        .filter(|(_, f)| f.starts_with(&[0xFF, 0xD8]) || f.starts_with(&[0xFF, 0x4F, 0xFF, 0x51]))
        .map(|(i, _)| i)
        .collect();
    ranges(&starts)
}

/// Where each frame starts in the fragments: the Basic Offset Table (`basic`), or, when it is
/// empty, the Extended Offset Table that stands in for it (PS3.5 A.4).
pub(super) fn frame_offsets(obj: &InMemDicomObject, basic: Vec<u64>) -> Vec<u64> {
    if !basic.is_empty() {
        return basic;
    }
    obj.get(tags::EXTENDED_OFFSET_TABLE)
        .and_then(|e| e.value().to_bytes().ok())
        .map(|b| {
            b.chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default()
}

/// Which decoder reads a file's frames: one of Obscura's own, or one of dicom-rs's.
#[derive(Clone, Copy)]
pub(super) enum FrameDecoder<'a> {
    /// RLE Lossless, by [`rle`].
    Rle,
    /// JPEG-LS (lossless or near-lossless), by `pure_jpegls` (colour: a component at a time,
    /// see [`jpegls_colour`]; interleaved colour by [`jpegls_lines`]).
    JpegLs,
    /// 12-bit JPEG (Extended, process 4), greyscale or colour, by [`jpeg12`].
    Jpeg12,
    /// Anything else, by the codec dicom-rs's registry has for the transfer syntax.
    Registry(&'a (dyn dicom_encoding::adapters::PixelDataReader + Send + Sync)),
}

/// Frames of encapsulated pixel data, decoded one at a time (see [`FrameDecoder`]).
pub(super) struct Decoder<'a> {
    pub(super) file: &'a FileDicomObject<InMemDicomObject>,
    pub(super) ts_uid: String,
    pub(super) ts_name: String,
    /// The codec of the transfer syntax.
    pub(super) codec: Codec,
    /// Which decoder reads the frames.
    pub(super) decoder: FrameDecoder<'a>,
    pub(super) fragments: Vec<&'a [u8]>,
    /// The fragments of each frame (see [`frame_fragments`]); `None` when they cannot be told.
    pub(super) frame_ranges: Option<Vec<std::ops::Range<usize>>>,
    /// The photometric interpretation of decoded frames.
    pub(super) photometric: String,
    /// The file's own photometric interpretation (of the compressed samples).
    pub(super) source_photometric: String,
    pub(super) g: Geometry,
}

impl<'a> Decoder<'a> {
    pub(super) fn new(
        file: &'a FileDicomObject<InMemDicomObject>,
    ) -> Result<Decoder<'a>, PixelError> {
        let syntax = TransferSyntax::of(file.meta().transfer_syntax());
        let ts_uid = syntax.uid().to_string();
        let ts = TransferSyntaxRegistry
            .get(&ts_uid)
            .ok_or_else(|| unsupported(&format!("unknown transfer syntax {ts_uid}")))?;
        let codec = syntax.codec();
        let rle = codec == Codec::Rle;
        let spp = attrs::uint(file, tags::SAMPLES_PER_PIXEL).unwrap_or(1);
        let jpeg_ls = codec == Codec::JpegLs && (spp == 1 || spp == 3);
        let reader = ts.pixel_data_reader().map(|r| &**r);
        if reader.is_none() && !rle && !jpeg_ls {
            return Err(unsupported(&format!(
                "no decoder for {} ({ts_uid}) in Obscura",
                ts.name()
            )));
        }
        let source_photometric = attrs::text(file, tags::PHOTOMETRIC_INTERPRETATION);
        // Decoders give colour as interleaved RGB; RLE and JPEG-LS (no colour transform in
        // DICOM) give the stored samples as they are.
        let photometric = match (spp, source_photometric.as_str()) {
            (3, p) if jpeg_ls => p.to_string(),
            // RLE keeps every sample of every pixel (PS3.5 G.2): never 4:2:2.
            (3, "YBR_FULL_422") if rle => "YBR_FULL".to_string(),
            (3, p) if rle => p.to_string(),
            (3, _) => "RGB".to_string(),
            (_, p @ ("MONOCHROME1" | "MONOCHROME2" | "PALETTE COLOR")) => p.to_string(),
            _ => "MONOCHROME2".to_string(),
        };
        let g = geometry(file, &photometric, false)?;
        let (fragments, offset_table): (Vec<&[u8]>, Vec<u64>) =
            match file.get(tags::PIXEL_DATA).map(|e| e.value()) {
                Some(Value::PixelSequence(seq)) => (
                    seq.fragments().iter().map(|f| f.as_slice()).collect(),
                    seq.offset_table().iter().map(|&o| u64::from(o)).collect(),
                ),
                _ => return Err(unsupported("the pixel data is not encapsulated")),
            };
        let offsets = frame_offsets(file, offset_table);
        let frame_ranges = frame_fragments(&fragments, &offsets, g.frames as usize);
        let jpeg12 = codec == Codec::JpegDct && (spp == 1 || spp == 3) && g.bps == 2;
        let decoder = match reader {
            _ if rle => FrameDecoder::Rle,
            _ if jpeg_ls => FrameDecoder::JpegLs,
            _ if jpeg12 => FrameDecoder::Jpeg12,
            Some(reader) => FrameDecoder::Registry(reader),
            None => {
                return Err(unsupported(&format!(
                    "no decoder for {} ({ts_uid}) in Obscura",
                    ts.name()
                )))
            }
        };
        let d = Decoder {
            file,
            ts_name: ts.name().to_string(),
            codec,
            decoder,
            ts_uid,
            fragments,
            frame_ranges,
            photometric,
            source_photometric,
            g,
        };
        // Every frame takes at least one fragment (RLE: exactly one).
        let frames = d.g.frames as usize;
        if (rle && d.fragments.len() != frames) || d.fragments.len() < frames {
            return Err(d.undecodable(
                0,
                &format!("{} fragments for {frames} frames", d.fragments.len()),
            ));
        }
        Ok(d)
    }

    /// Whether the 12-bit decoder reads colour components as YCbCr: unless the file says
    /// RGB (PS3.5 8.2.1).
    pub(super) fn jpeg12_ycbcr(&self) -> bool {
        self.source_photometric.starts_with("YBR")
    }

    /// One frame's JPEG stream through the 12-bit decoder, as little-endian samples.
    pub(super) fn jpeg12_frame(&self, stream: &[u8]) -> Result<Vec<u8>, String> {
        let g = &self.g;
        let (samples, _) = jpeg12::decode(stream, g.rows, g.cols, self.jpeg12_ycbcr())?;
        Ok(le_bytes(&samples))
    }

    /// Every frame of a JPEG Baseline or Extended image with its regions blanked in the
    /// compressed stream ([`jpeg_blocks`]), each decoded again and checked to be black there;
    /// `None` when any frame cannot be blanked so (the caller decodes instead).
    pub(super) fn jpeg_blocks(&self, regions: &[Region]) -> Option<(Vec<Vec<u8>>, Stored)> {
        use jpeg_blocks::Black;
        let g = &self.g;
        let jpeg = self.codec == Codec::JpegDct;
        if !jpeg || g.signed || g.palette.is_some() {
            return None;
        }
        let grey = match (g.spp, self.source_photometric.as_str()) {
            (1, "MONOCHROME1" | "MONOCHROME2") => Some(*g.black.first()?),
            (3, "RGB" | "YBR_FULL" | "YBR_FULL_422") => None,
            _ => return None,
        };
        let mut fragments = Vec::with_capacity((g.frames as usize).min(4096));
        let (mut unit, mut new_tables) = ((8, 8), false);
        for f in 0..g.frames {
            self.check_size(f).ok()?;
            let stream = self.stream(f).ok()?;
            // Colour components as the decoder reads them: the 12-bit one by the
            // photometric interpretation, the 8-bit one by the stream's markers.
            let ycbcr = if matches!(self.decoder, FrameDecoder::Jpeg12) {
                self.jpeg12_ycbcr()
            } else {
                grey.is_some() || jpeg_blocks::is_ycbcr(&stream).ok()?
            };
            let black = grey.map_or(Black::Colour { ycbcr }, Black::Grey);
            let blanked = jpeg_blocks::blank(&stream, regions, g.rows, g.cols, black).ok()?;
            let frame = if matches!(self.decoder, FrameDecoder::Jpeg12) {
                self.jpeg12_frame(&blanked.stream).ok()?
            } else {
                jpeg_decoder::Decoder::new(&blanked.stream[..])
                    .decode()
                    .ok()?
            };
            if frame.len() < g.frame_len() || !is_blank(&frame, g, regions) {
                return None;
            }
            unit = blanked.unit;
            new_tables |= blanked.new_tables;
            let mut stream = blanked.stream;
            // Fragments are of even length (PS3.5 A.4): a trailing zero after EOI.
            if stream.len() % 2 == 1 {
                stream.push(0);
            }
            fragments.push(stream);
        }
        Some((fragments, Stored::JpegBlocks { unit, new_tables }))
    }

    pub(super) fn undecodable(&self, f: u32, why: &dyn std::fmt::Display) -> PixelError {
        PixelError::Unsupported(format!(
            "frame {} of the {} pixel data could not be decoded ({why})",
            f + 1,
            self.ts_name
        ))
    }

    /// The file with frame `f` as its only frame, in one fragment (the other attributes as
    /// they are, the file meta group too).
    pub(super) fn frame_alone(
        &self,
        f: u32,
    ) -> Result<FileDicomObject<InMemDicomObject>, PixelError> {
        let stream = self.stream(f)?.into_owned();
        let mut obj = InMemDicomObject::new_empty();
        for elem in self.file.iter() {
            if dicom_core::header::Header::tag(elem) != tags::PIXEL_DATA {
                obj.put(elem.clone());
            }
        }
        obj.remove_element(tags::EXTENDED_OFFSET_TABLE);
        obj.remove_element(tags::EXTENDED_OFFSET_TABLE_LENGTHS);
        obj.put(DataElement::new(
            tags::NUMBER_OF_FRAMES,
            VR::IS,
            PrimitiveValue::from("1"),
        ));
        obj.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            Value::PixelSequence(dicom_core::value::PixelFragmentSequence::new(
                Vec::<u32>::new(),
                vec![stream],
            )),
        ));
        Ok(obj.with_exact_meta(self.file.meta().clone()))
    }

    /// The compressed bytes of frame `f`: its fragment, or its fragments joined.
    pub(super) fn stream(&self, f: u32) -> Result<std::borrow::Cow<'a, [u8]>, PixelError> {
        let Some(ranges) = &self.frame_ranges else {
            return Err(
                self.undecodable(f, &"which fragments belong to which frame cannot be told")
            );
        };
        match ranges
            .get(f as usize)
            .and_then(|r| self.fragments.get(r.clone()))
        {
            Some([one]) => Ok(std::borrow::Cow::Borrowed(*one)),
            Some(many) if !many.is_empty() => Ok(std::borrow::Cow::Owned(many.concat())),
            _ => Err(self.undecodable(f, &"no fragment")),
        }
    }

    /// Refuse frame `f` when its codestream says it is another size than the file's Rows and
    /// Columns, before any decoder allocates what the codestream claims (read from the
    /// header in its first fragment: see [`codestream`]). RLE has no such header.
    pub(super) fn check_size(&self, f: u32) -> Result<(), PixelError> {
        let first = self
            .frame_ranges
            .as_ref()
            .and_then(|r| r.get(f as usize))
            .and_then(|r| self.fragments.get(r.start));
        let Some(first) = first.filter(|_| self.codec != Codec::Rle) else {
            return Ok(());
        };
        let (rows, cols) = (self.g.rows, self.g.cols);
        match codestream::size(first) {
            Ok(Some(s)) if (s.rows as usize, s.cols as usize) != (rows, cols) => Err(self
                .undecodable(
                    f,
                    &format!(
                        "its codestream is {}×{} pixels where the header says {cols}×{rows}",
                        s.cols, s.rows
                    ),
                )),
            Ok(_) => Ok(()),
            Err(e) => Err(self.undecodable(f, &e)),
        }
    }

    /// Frame `f` (0-based) as little-endian, interleaved samples, exactly one frame long.
    pub(super) fn frame(&self, f: u32) -> Result<Vec<u8>, PixelError> {
        self.check_size(f)?;
        let g = &self.g;
        let frame_len = g.frame_len();
        let mut frame = match self.decoder {
            FrameDecoder::JpegLs => {
                let stream = self.stream(f)?;
                let stream = without_fill_before_eoi(&stream);
                let samples = match jpegls_colour::split_components(&stream) {
                    // Colour coded line by line: Obscura's own decoder.
                    Err(jpegls_colour::SplitError::LineInterleaved) => {
                        let (samples, nf) =
                            jpegls_lines::decode(&stream, g.rows as u32, g.cols as u32)
                                .map_err(|e| self.undecodable(f, &e))?;
                        if nf != g.spp {
                            return Err(self
                                .undecodable(f, &"components do not match the samples per pixel"));
                        }
                        samples
                    }
                    Err(e) => return Err(self.undecodable(f, &e)),
                    Ok(None) => {
                        jpegls::decode(&stream, g.cols as u32, g.rows as u32)
                            .map_err(|e| self.undecodable(f, &e))?
                            .0
                    }
                    // Colour, a component after the other: each decoded on its own, then
                    // interleaved.
                    Ok(Some(parts)) if parts.len() == g.spp => {
                        let mut planes = Vec::with_capacity(parts.len());
                        for part in &parts {
                            planes.push(
                                jpegls::decode(part, g.cols as u32, g.rows as u32)
                                    .map_err(|e| self.undecodable(f, &e))?
                                    .0,
                            );
                        }
                        let n = planes.iter().map(Vec::len).min().unwrap_or(0);
                        (0..n)
                            .flat_map(|i| planes.iter().map(move |p| p[i]))
                            .collect()
                    }
                    Ok(Some(parts)) => {
                        return Err(self.undecodable(
                            f,
                            &format!("{} components for {} samples per pixel", parts.len(), g.spp),
                        ))
                    }
                };
                if g.bps == 1 {
                    samples.iter().map(|v| *v as u8).collect()
                } else {
                    le_bytes(&samples)
                }
            }
            FrameDecoder::Jpeg12 => self
                .jpeg12_frame(&self.stream(f)?)
                .map_err(|e| self.undecodable(f, &e))?,
            FrameDecoder::Rle => {
                let fragment = self
                    .fragments
                    .get(f as usize)
                    .ok_or_else(|| self.undecodable(f, &"no fragment"))?;
                rle::decode_frame(fragment, g.rows, g.cols, g.spp, g.bps)
                    .map_err(|e| self.undecodable(f, &e))?
            }
            FrameDecoder::Registry(reader) => {
                let mut frame = Vec::with_capacity(frame_len.min(64 << 20));
                let decoded = if self.fragments.len() == g.frames as usize || g.frames == 1 {
                    reader.decode_frame(self.file, f, &mut frame)
                } else {
                    // Frames split over fragments: the decoders find them by offsets only,
                    // so the frame is given to them alone.
                    reader.decode_frame(&self.frame_alone(f)?, 0, &mut frame)
                };
                decoded.map_err(|e| self.undecodable(f, &e))?;
                frame
            }
        };
        if frame.len() < frame_len {
            return Err(PixelError::Unsupported(format!(
                "frame {} decoded to {} bytes instead of {frame_len}",
                f + 1,
                frame.len()
            )));
        }
        frame.truncate(frame_len);
        Ok(frame)
    }
}

/// A JPEG-LS stream without the fill bytes (0xFF) that encoders may put before the final EOI
/// marker (T.81 B.1.1.2 allows any number; DCMTK writes one), which `jpegls` does not skip.
pub(super) fn without_fill_before_eoi(stream: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let Some(eoi) = stream.windows(2).rposition(|w| w == [0xFF, 0xD9]) else {
        return std::borrow::Cow::Borrowed(stream);
    };
    let mut start = eoi;
    while start > 0 && stream[start - 1] == 0xFF {
        start -= 1;
    }
    if start == eoi {
        return std::borrow::Cow::Borrowed(stream);
    }
    let mut out = stream[..start].to_vec();
    out.extend_from_slice(&[0xFF, 0xD9]);
    std::borrow::Cow::Owned(out)
}
