//! Reading single attribute values the way every part of Obscura needs them: text trimmed of
//! its padding, small unsigned numbers. Absent or unreadable values read as empty / `None`.

use dicom_core::Tag;
use dicom_object::InMemDicomObject;

/// The text of a top-level attribute, without padding; empty when absent or not text.
pub fn text(obj: &InMemDicomObject, tag: Tag) -> String {
    obj.get(tag)
        .and_then(|e| e.value().to_str().ok())
        .map(|s| s.trim_end_matches(['\0', ' ']).trim().to_string())
        .unwrap_or_default()
}

/// The first value of a top-level attribute as an unsigned number (US, UL, IS, …).
pub fn uint(obj: &InMemDicomObject, tag: Tag) -> Option<u32> {
    obj.get(tag).and_then(|e| e.value().to_int::<u32>().ok())
}

/// Whether the object holds an image: Pixel Data, Float Pixel Data or Double Float Pixel Data
/// (7FE0,0010 / 0008 / 0009).
pub fn has_image(obj: &InMemDicomObject) -> bool {
    use dicom_dictionary_std::tags;
    [
        tags::PIXEL_DATA,
        tags::FLOAT_PIXEL_DATA,
        tags::DOUBLE_FLOAT_PIXEL_DATA,
    ]
    .into_iter()
    .any(|tag| obj.get(tag).is_some())
}

/// Number of Frames (0028,0008): 1 when absent, unreadable or 0.
pub fn frames(obj: &InMemDicomObject) -> u32 {
    text(obj, dicom_dictionary_std::tags::NUMBER_OF_FRAMES)
        .parse::<u32>()
        .unwrap_or(1)
        .max(1)
}
