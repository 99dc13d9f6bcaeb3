//! ZIP archives as users drop them: every entry listed and read (bounded, checksummed).
#![no_main]
use libfuzzer_sys::fuzz_target;
use obscura::input::ZipArchive;

fuzz_target!(|data: &[u8]| {
    if let Ok(archive) = ZipArchive::new(data) {
        for entry in archive.files() {
            let _ = archive.read(entry);
        }
    }
});
