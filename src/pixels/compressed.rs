//! Blanking compressed (encapsulated) pixel data: JPEG inside its compressed blocks, anything
//! else decoded a frame at a time, blanked and packed again as RLE Lossless; and removing the
//! text a codestream can carry besides its image (comments, file-format boxes).

use dicom_core::value::{PrimitiveValue, Value};
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileDicomObject, InMemDicomObject};

use super::codec::{codestream, frame_fragments, frame_offsets, rle, Decoder};
use super::native::{blank_frame, mark_cleaned};
use super::rules::Region;
use super::PixelError;
use crate::attrs;
use crate::dicom::{Lossy, TransferSyntax};

/// How [`blank_encapsulated`] stored the blanked frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Decoded, blanked and packed as RLE Lossless: the caller must write the file so.
    Rle,
    /// Blanked inside the JPEG stream (Baseline or Extended) in whole blocks; every other
    /// block is exactly as it was, and the transfer syntax stays.
    JpegBlocks {
        /// Width and height in pixels of the unit (MCU) regions were widened to.
        unit: (usize, usize),
        /// Some frame's Huffman tables lacked a needed code and were made again.
        new_tables: bool,
    },
}

/// Blank the regions in compressed (encapsulated) pixel data.
///
/// JPEG Baseline and Extended are blanked in the compressed stream, whole blocks at a time,
/// leaving the rest of the image exactly as it was (see `codec::jpeg_blocks`); each frame so
/// blanked is decoded again and its regions checked to be black. Anything else, and JPEG
/// that cannot be blanked so, is decoded a frame at a time, blanked, and packed again as RLE
/// Lossless (nothing is compressed lossily a second time, and never more than one decoded
/// frame is held). Returns the object with its new pixel data, the number of frames and how
/// they are stored.
///
/// Lossless input stays lossless. For lossy input Lossy Image Compression (0028,2110) says
/// "01" with the method, as the standard asks.
pub fn blank_encapsulated(
    file: FileDicomObject<InMemDicomObject>,
    regions: &[Region],
) -> Result<(InMemDicomObject, u32, Stored), PixelError> {
    // One decoder for every frame; what it knows is taken out before the object is.
    let (ts_uid, photometric, g, out, stored) = {
        let decoder = Decoder::new(&file)?;
        let g = decoder.g.clone();
        if let Some((fragments, stored)) = decoder.jpeg_blocks(regions) {
            let photometric = decoder.source_photometric.clone();
            (decoder.ts_uid.clone(), photometric, g, fragments, stored)
        } else {
            // A frame decoded, blanked and packed at a time: never more than one decoded frame.
            let mut fragments = Vec::with_capacity((g.frames as usize).min(4096));
            for f in 0..g.frames {
                let mut frame = decoder.frame(f)?;
                blank_frame(&mut frame, &g, regions, true);
                fragments.push(rle::encode_frame(&frame, g.rows, g.cols, g.spp, g.bps));
            }
            let photometric = decoder.photometric.clone();
            (
                decoder.ts_uid.clone(),
                photometric,
                g,
                fragments,
                Stored::Rle,
            )
        }
    };
    let mut obj = file.into_inner();
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        Value::PixelSequence(dicom_core::value::PixelFragmentSequence::new(
            Vec::<u32>::new(),
            out,
        )),
    ));
    // The input's Extended Offset Table told where its own fragments were (PS3.5 A.4).
    obj.remove_element(tags::EXTENDED_OFFSET_TABLE);
    obj.remove_element(tags::EXTENDED_OFFSET_TABLE_LENGTHS);
    let cs = |t, v: &str| DataElement::new(t, VR::CS, PrimitiveValue::from(v));
    obj.put(cs(tags::PHOTOMETRIC_INTERPRETATION, &photometric));
    if g.spp > 1 && stored == Stored::Rle {
        obj.put(DataElement::new(
            tags::PLANAR_CONFIGURATION,
            VR::US,
            PrimitiveValue::from(0u16),
        ));
    }
    if let Some(Lossy { method, always }) = TransferSyntax::of(&ts_uid).lossy() {
        let said = attrs::text(&obj, tags::LOSSY_IMAGE_COMPRESSION);
        let already =
            said == "01" && !attrs::text(&obj, tags::LOSSY_IMAGE_COMPRESSION_METHOD).is_empty();
        if !already && (always || said != "00") {
            obj.put(cs(tags::LOSSY_IMAGE_COMPRESSION, "01"));
            obj.put(cs(tags::LOSSY_IMAGE_COMPRESSION_METHOD, method));
        }
    }
    mark_cleaned(&mut obj);
    Ok((obj, g.frames, stored))
}

/// Remove the segments that may hold text (comments, application segments: see
/// `codec::codestream::without_text`) from every frame of encapsulated JPEG, JPEG-LS or
/// JPEG 2000 pixel data, without decoding anything; returns how many were removed. A frame
/// that had some becomes one fragment; the Basic Offset Table is made anew when the frames
/// are known, the Extended Offset Table removed (it told where the old fragments were).
pub fn strip_codestream_text(obj: &mut InMemDicomObject) -> usize {
    use dicom_core::value::PixelFragmentSequence;
    let Some(Value::PixelSequence(seq)) = obj.get(tags::PIXEL_DATA).map(|e| e.value()) else {
        return 0;
    };
    let fragments: Vec<&[u8]> = seq.fragments().iter().map(|f| f.as_slice()).collect();
    let bot: Vec<u64> = seq.offset_table().iter().map(|&o| u64::from(o)).collect();
    let offsets = frame_offsets(obj, bot.clone());
    let even = |mut v: Vec<u8>| {
        if v.len() % 2 == 1 {
            v.push(0);
        }
        v
    };
    let mut removed = 0;
    let mut new_fragments: Vec<Vec<u8>> = Vec::with_capacity(fragments.len());
    let mut frame_starts: Option<Vec<usize>> = None;
    match frame_fragments(&fragments, &offsets, attrs::frames(obj) as usize) {
        Some(ranges) => {
            let mut starts = Vec::with_capacity(ranges.len());
            for range in ranges {
                starts.push(new_fragments.len());
                let parts = &fragments[range];
                let stream = if parts.len() == 1 {
                    std::borrow::Cow::Borrowed(parts[0])
                } else {
                    std::borrow::Cow::Owned(parts.concat())
                };
                match codestream::without_text(&stream) {
                    Some((clean, n)) => {
                        removed += n;
                        new_fragments.push(even(clean));
                    }
                    None => new_fragments.extend(parts.iter().map(|p| p.to_vec())),
                }
            }
            frame_starts = Some(starts);
        }
        // Frames that cannot be told apart: each fragment that starts a codestream alone.
        None => {
            for part in &fragments {
                match codestream::without_text(part) {
                    Some((clean, n)) => {
                        removed += n;
                        new_fragments.push(even(clean));
                    }
                    None => new_fragments.push(part.to_vec()),
                }
            }
        }
    }
    if removed == 0 {
        return 0;
    }
    // Where each frame's first fragment item starts, counted from the first one.
    let table: Vec<u32> = match frame_starts {
        Some(starts) if !bot.is_empty() || new_fragments.len() != starts.len() => {
            let mut at = Vec::with_capacity(new_fragments.len());
            let mut pos = 0u64;
            for f in &new_fragments {
                at.push(pos);
                pos += 8 + f.len() as u64;
            }
            starts
                .iter()
                .map(|&i| u32::try_from(at[i]).ok())
                .collect::<Option<Vec<u32>>>()
                .unwrap_or_default()
        }
        _ => Vec::new(),
    };
    obj.remove_element(tags::EXTENDED_OFFSET_TABLE);
    obj.remove_element(tags::EXTENDED_OFFSET_TABLE_LENGTHS);
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        Value::PixelSequence(PixelFragmentSequence::new(table, new_fragments)),
    ));
    removed
}
