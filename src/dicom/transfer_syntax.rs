//! Every fact Obscura uses about a transfer syntax, in one place.
//!
//! The rest of the crate never compares a transfer syntax UID with a literal: it asks a
//! [`TransferSyntax`] what it needs to know (how the data set is encoded, whether its pixel
//! data is native or which codec compressed it, whether that codec may have lost information).
//! The UIDs are the dictionary's constants (`dicom_dictionary_std::uids`); the names for
//! people come from dicom-rs's registry.

use dicom_dictionary_std::uids;
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

/// Explicit VR Big Endian: retired from the standard (and so deprecated in the dictionary), but
/// still in older files, which Obscura reads and writes.
#[allow(deprecated)]
pub const EXPLICIT_VR_BIG_ENDIAN: &str = uids::EXPLICIT_VR_BIG_ENDIAN;

/// How a data set's elements are encoded (the file meta group is always explicit VR little
/// endian).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Explicit VR little endian (and every compressed syntax).
    ExplicitLittle,
    /// Implicit VR little endian.
    ImplicitLittle,
    /// Explicit VR big endian (retired).
    ExplicitBig,
}

/// The codec that compressed encapsulated pixel data, as far as Obscura treats codecs apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// JPEG Baseline (process 1) or Extended (processes 2 and 4): DCT, 8 or 12 bits. Blanked
    /// in the compressed stream, a block at a time; 12-bit streams have their own decoder.
    JpegDct,
    /// JPEG-LS, lossless or near-lossless.
    JpegLs,
    /// RLE Lossless, which Obscura both reads and writes.
    Rle,
    /// An MPEG-2, MPEG-4 AVC or HEVC video stream: never decoded.
    Video,
    /// Any other codec (JPEG lossless, JPEG 2000, HTJ2K, JPEG XL…): decoded by dicom-rs when
    /// it can.
    Other,
}

/// How a lossy codec is named in Lossy Image Compression Method (0028,2114), and whether it
/// always loses information or only may (a lossless setting of the same codec exists).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lossy {
    /// The defined term of PS3.3 C.7.6.1.1.5.1.
    pub method: &'static str,
    /// It always loses information (JPEG's DCT processes); otherwise it only may, and the
    /// file's own Lossy Image Compression "00" is believed.
    pub always: bool,
}

/// Codecs that lose, or may lose, information: every lossy JPEG process, JPEG-LS
/// near-lossless, JPEG 2000 and HTJ2K with irreversible wavelets, JPEG XL. (The retired JPEG
/// processes are deprecated in the dictionary; files made with them still exist.)
#[allow(deprecated)]
const LOSSY: &[(&str, Lossy)] = &[
    (uids::JPEG_BASELINE8_BIT, JPEG_LOSSY),
    (uids::JPEG_EXTENDED12_BIT, JPEG_LOSSY),
    (uids::JPEG_EXTENDED35, JPEG_LOSSY),
    (uids::JPEG_SPECTRAL_SELECTION_NON_HIERARCHICAL68, JPEG_LOSSY),
    (uids::JPEG_SPECTRAL_SELECTION_NON_HIERARCHICAL79, JPEG_LOSSY),
    (uids::JPEG_FULL_PROGRESSION_NON_HIERARCHICAL1012, JPEG_LOSSY),
    (uids::JPEG_FULL_PROGRESSION_NON_HIERARCHICAL1113, JPEG_LOSSY),
    (uids::JPEG_EXTENDED_HIERARCHICAL1618, JPEG_LOSSY),
    (uids::JPEG_EXTENDED_HIERARCHICAL1719, JPEG_LOSSY),
    (uids::JPEG_SPECTRAL_SELECTION_HIERARCHICAL2022, JPEG_LOSSY),
    (uids::JPEG_SPECTRAL_SELECTION_HIERARCHICAL2123, JPEG_LOSSY),
    (uids::JPEG_FULL_PROGRESSION_HIERARCHICAL2426, JPEG_LOSSY),
    (uids::JPEG_FULL_PROGRESSION_HIERARCHICAL2527, JPEG_LOSSY),
    (uids::JPEGLS_NEAR_LOSSLESS, may("ISO_14495_1")),
    (uids::JPEG2000, may("ISO_15444_1")),
    (uids::JPEG2000MC, may("ISO_15444_1")),
    (uids::HTJ2K, may("ISO_15444_15")),
    // A JPEG recompressed losslessly: the JPEG it holds lost information.
    (uids::JPEGXLJPEG_RECOMPRESSION, JPEG_LOSSY),
    (uids::JPEGXL, may("ISO_18181_1")),
];

const JPEG_LOSSY: Lossy = Lossy {
    method: "ISO_10918_1",
    always: true,
};

const fn may(method: &'static str) -> Lossy {
    Lossy {
        method,
        always: false,
    }
}

/// Video streams (MPEG-2, MPEG-4 AVC, HEVC), which Obscura cannot look into.
const VIDEO: &[&str] = &[
    uids::MPEG2MPML,
    uids::MPEG2MPMLF,
    uids::MPEG2MPHL,
    uids::MPEG2MPHLF,
    uids::MPEG4HP41,
    uids::MPEG4HP41F,
    uids::MPEG4HP41BD,
    uids::MPEG4HP41BDF,
    uids::MPEG4HP422D,
    uids::MPEG4HP422DF,
    uids::MPEG4HP423D,
    uids::MPEG4HP423DF,
    uids::MPEG4HP42STEREO,
    uids::MPEG4HP42STEREOF,
    uids::HEVCMP51,
    uids::HEVCM10P51,
];

/// A transfer syntax, as a file meta group names it (its padding removed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferSyntax<'a> {
    uid: &'a str,
}

impl<'a> TransferSyntax<'a> {
    /// The transfer syntax of a UID as written in a file (trailing NUL or space padding
    /// allowed).
    pub fn of(uid: &'a str) -> TransferSyntax<'a> {
        TransferSyntax {
            uid: uid.trim_end_matches(['\0', ' ']),
        }
    }

    /// Its UID, without padding.
    pub fn uid(self) -> &'a str {
        self.uid
    }

    /// Its name for people (the registry's), or its UID when dicom-rs does not know it.
    pub fn name(self) -> String {
        TransferSyntaxRegistry
            .get(self.uid)
            .map(|ts| ts.name().to_string())
            .unwrap_or_else(|| self.uid.to_string())
    }

    /// How its data set is encoded, or `None` when the data set is compressed as a whole
    /// (deflated) and cannot be walked as it is. A syntax not known here is read as explicit
    /// VR little endian, as every compressed one is.
    pub fn encoding(self) -> Option<Encoding> {
        match self.uid {
            uids::IMPLICIT_VR_LITTLE_ENDIAN => Some(Encoding::ImplicitLittle),
            EXPLICIT_VR_BIG_ENDIAN => Some(Encoding::ExplicitBig),
            uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN => None,
            _ => Some(Encoding::ExplicitLittle),
        }
    }

    /// Whether its values are little endian (every syntax but the retired big endian one).
    pub fn is_little_endian(self) -> bool {
        self.uid != EXPLICIT_VR_BIG_ENDIAN
    }

    /// Whether it deflates the whole data set.
    pub fn is_deflated(self) -> bool {
        self.uid == uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN
    }

    /// `Some(true)` for explicit and `Some(false)` for implicit VR little endian, the two
    /// syntaxes whose native pixel data Obscura writes itself; `None` for any other.
    pub fn plain_little_endian(self) -> Option<bool> {
        match self.uid {
            uids::EXPLICIT_VR_LITTLE_ENDIAN => Some(true),
            uids::IMPLICIT_VR_LITTLE_ENDIAN => Some(false),
            _ => None,
        }
    }

    /// The codec of its encapsulated pixel data (`Other` for native syntaxes too: ask
    /// [`TransferSyntax::is_codec_compressed`] first where that matters).
    pub fn codec(self) -> Codec {
        match self.uid {
            uids::JPEG_BASELINE8_BIT | uids::JPEG_EXTENDED12_BIT => Codec::JpegDct,
            uids::JPEGLS_LOSSLESS | uids::JPEGLS_NEAR_LOSSLESS => Codec::JpegLs,
            uids::RLE_LOSSLESS => Codec::Rle,
            uid if VIDEO.contains(&uid) => Codec::Video,
            _ => Codec::Other,
        }
    }

    /// Whether its pixel data is a video stream.
    pub fn is_video(self) -> bool {
        self.codec() == Codec::Video
    }

    /// Whether an image or video codec compressed its pixel data (JPEG in all its forms,
    /// JPEG-LS, JPEG 2000, HTJ2K, JPEG XL, MPEG, HEVC: the `1.2.840.10008.1.2.4` family):
    /// such bytes hardly deflate further.
    pub fn is_codec_compressed(self) -> bool {
        self.uid
            .strip_prefix(uids::IMPLICIT_VR_LITTLE_ENDIAN)
            .is_some_and(|rest| rest.starts_with(".4."))
    }

    /// Whether its codec loses, or may lose, information, and how that is named.
    pub fn lossy(self) -> Option<Lossy> {
        LOSSY
            .iter()
            .find(|(uid, _)| *uid == self.uid)
            .map(|(_, lossy)| *lossy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_is_not_part_of_the_uid() {
        let ts = TransferSyntax::of("1.2.840.10008.1.2.4.90\0");
        assert_eq!(ts.uid(), uids::JPEG2000_LOSSLESS);
        assert_eq!(
            TransferSyntax::of("1.2.840.10008.1.2 ").uid(),
            "1.2.840.10008.1.2"
        );
        assert_eq!(ts.name(), "JPEG 2000 Image Compression (Lossless Only)");
        assert_eq!(TransferSyntax::of("1.2.3.4").name(), "1.2.3.4");
    }

    #[test]
    fn each_syntax_says_how_its_data_set_is_encoded() {
        use Encoding::*;
        for (uid, encoding, little, plain) in [
            (
                uids::IMPLICIT_VR_LITTLE_ENDIAN,
                Some(ImplicitLittle),
                true,
                Some(false),
            ),
            (
                uids::EXPLICIT_VR_LITTLE_ENDIAN,
                Some(ExplicitLittle),
                true,
                Some(true),
            ),
            (EXPLICIT_VR_BIG_ENDIAN, Some(ExplicitBig), false, None),
            (uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, None, true, None),
            (uids::JPEG_BASELINE8_BIT, Some(ExplicitLittle), true, None),
            (uids::RLE_LOSSLESS, Some(ExplicitLittle), true, None),
            ("1.2.3.4", Some(ExplicitLittle), true, None),
        ] {
            let ts = TransferSyntax::of(uid);
            assert_eq!(ts.encoding(), encoding, "{uid}");
            assert_eq!(ts.is_little_endian(), little, "{uid}");
            assert_eq!(ts.plain_little_endian(), plain, "{uid}");
            assert_eq!(ts.is_deflated(), encoding.is_none(), "{uid}");
        }
    }

    #[test]
    fn codecs_are_told_apart() {
        for (uid, codec, compressed) in [
            (uids::JPEG_BASELINE8_BIT, Codec::JpegDct, true),
            (uids::JPEG_EXTENDED12_BIT, Codec::JpegDct, true),
            (uids::JPEG_LOSSLESS_SV1, Codec::Other, true),
            (uids::JPEGLS_LOSSLESS, Codec::JpegLs, true),
            (uids::JPEGLS_NEAR_LOSSLESS, Codec::JpegLs, true),
            (uids::JPEG2000_LOSSLESS, Codec::Other, true),
            (uids::HTJ2K_LOSSLESS, Codec::Other, true),
            (uids::MPEG4HP41, Codec::Video, true),
            (uids::HEVCM10P51, Codec::Video, true),
            (uids::RLE_LOSSLESS, Codec::Rle, false),
            (uids::EXPLICIT_VR_LITTLE_ENDIAN, Codec::Other, false),
            (
                uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
                Codec::Other,
                false,
            ),
            // A private syntax under the standard's transfer syntax root is not the family.
            ("1.2.840.10008.1.2.40", Codec::Other, false),
        ] {
            let ts = TransferSyntax::of(uid);
            assert_eq!(ts.codec(), codec, "{uid}");
            assert_eq!(ts.is_codec_compressed(), compressed, "{uid}");
            assert_eq!(ts.is_video(), codec == Codec::Video, "{uid}");
        }
    }

    #[test]
    #[allow(deprecated)] // a retired JPEG process, still in older files
    fn every_lossy_codec_is_named_and_no_lossless_one() {
        let method = |uid| {
            TransferSyntax::of(uid)
                .lossy()
                .map(|l| (l.method, l.always))
        };
        assert_eq!(
            method(uids::JPEG_BASELINE8_BIT),
            Some(("ISO_10918_1", true))
        );
        assert_eq!(
            method(uids::JPEG_FULL_PROGRESSION_HIERARCHICAL2527),
            Some(("ISO_10918_1", true))
        );
        assert_eq!(
            method(uids::JPEGLS_NEAR_LOSSLESS),
            Some(("ISO_14495_1", false))
        );
        assert_eq!(method(uids::JPEG2000), Some(("ISO_15444_1", false)));
        assert_eq!(method(uids::HTJ2K), Some(("ISO_15444_15", false)));
        assert_eq!(method(uids::JPEGXL), Some(("ISO_18181_1", false)));
        for lossless in [
            uids::EXPLICIT_VR_LITTLE_ENDIAN,
            uids::RLE_LOSSLESS,
            uids::JPEG_LOSSLESS,
            uids::JPEG_LOSSLESS_SV1,
            uids::JPEGLS_LOSSLESS,
            uids::JPEG2000_LOSSLESS,
            uids::HTJ2K_LOSSLESS,
            uids::HTJ2K_LOSSLESS_RPCL,
            uids::JPEGXL_LOSSLESS,
        ] {
            assert_eq!(method(lossless), None, "{lossless}");
        }
    }
}
