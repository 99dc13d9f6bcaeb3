//! The CRC-32 of ZIP and PNG (ISO-HDLC) of whole buffers, as fast as the target allows.
//!
//! Natively, `crc32fast` uses the processor's carry-less multiply and takes about 10 µs for
//! a 512×512 CT slice. WebAssembly has no such instruction: there `crc32fast` falls back to
//! slicing-by-16, which V8 runs at about 2 GB/s, so the CRC of each file put into the
//! package took about 260 µs of the 690 µs a cleaner of the page spends on a CT slice.
//! zlib-rs's braided tables (five words at a time, zlib's method) take about 210 µs for the
//! same bytes, and are used there (`tools/bench-core.mjs` measures the whole).

/// The CRC-32 of `data`.
pub fn hash(data: &[u8]) -> u32 {
    #[cfg(target_arch = "wasm32")]
    {
        zlib_rs::crc32::crc32(0, data)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crc32fast::hash(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both methods give the same CRC, for every length around the braid's word and block
    /// sizes and for longer buffers (with the standard check value).
    #[test]
    fn braided_tables_agree_with_crc32fast() {
        assert_eq!(zlib_rs::crc32::crc32(0, b"123456789"), 0xCBF4_3926);
        let data: Vec<u8> = (0u32..70_000)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for len in (0..200).chain([4095, 4096, 4097, 65_535, 70_000]) {
            let d = &data[..len];
            assert_eq!(
                zlib_rs::crc32::crc32(0, d),
                crc32fast::hash(d),
                "length {len}"
            );
            assert_eq!(hash(d), crc32fast::hash(d), "length {len}");
        }
    }
}
