//! Malformed input: thousands of damaged variants of real files go through the core, and none
//! may panic (in the browser a panic would stop the worker). Each must be de-identified or
//! excluded with a reason.
#![cfg(not(target_arch = "wasm32"))]

use obscura::deid::{Outcome, Policy, ProjectKey, Session};
use obscura::sample::{sample_study, CANARIES};

mod common;
use common::{mutate, Rng};

#[test]
fn damaged_files_never_panic_and_never_leak() {
    let mut bases: Vec<Vec<u8>> = sample_study().into_iter().map(|(_, b)| b).collect();
    bases.push(common::eight_bit(&bases[0]));
    let mut rng = Rng(0x0B5C_0A2A_D1C0_1234);
    let mut session = Session::new(Policy::basic(ProjectKey::from_bytes([3; 32])));
    let (mut done, mut excluded) = (0, 0);
    for round in 0..3000 {
        let base = &bases[round % bases.len()];
        let input = mutate(&mut rng, base);
        // Borrowed and given-up bytes take different ways through the reader.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if round % 2 == 0 {
                session.process(&input)
            } else {
                session.process_owned(input)
            }
        }));
        match result {
            Err(_) => panic!("round {round}: the core panicked on a damaged file"),
            Ok(Outcome::Done(d)) => {
                done += 1;
                // Whatever survives damage is still cleaned.
                for canary in CANARIES {
                    let leaked = d
                        .bytes
                        .windows(canary.len())
                        .any(|w| w == canary.as_bytes());
                    assert!(
                        !leaked || canary.len() < 9,
                        "round {round}: {canary} leaked"
                    );
                }
            }
            Ok(Outcome::Excluded(e)) => {
                excluded += 1;
                assert!(!e.to_string().is_empty());
            }
            Ok(Outcome::Skipped(_)) => {}
        }
    }
    assert!(
        done > 100 && excluded > 100,
        "both outcomes exercised: {done} done, {excluded} excluded"
    );
}

#[test]
fn every_kind_of_damage_ends_in_a_clear_result() {
    let sample = &sample_study()[0].1;
    let mut session = Session::new(Policy::basic(ProjectKey::from_bytes([5; 32])));
    let cases = common::crafted_cases(sample);
    assert!(cases.len() > 40, "{} cases", cases.len());
    for (name, bytes) in &cases {
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| session.process(bytes)));
        if let Ok(Outcome::Excluded(e)) = &result {
            if !name.starts_with("truncated") {
                eprintln!("{name}: {e}");
            }
        }
        match result {
            Err(_) => panic!("{name}: the core panicked"),
            Ok(Outcome::Excluded(e)) => assert!(e.to_string().len() > 10, "{name}: {e}"),
            Ok(Outcome::Skipped(why)) => panic!("{name}: skipped ({why})"),
            Ok(Outcome::Done(d)) => {
                // Only harmless damage may give a file, and it is clean.
                assert!(
                    name.starts_with("truncated")
                        || name.contains("zero")
                        || name.contains("bytes"),
                    "{name}: accepted"
                );
                for canary in CANARIES {
                    assert!(
                        !d.bytes
                            .windows(canary.len())
                            .any(|w| w == canary.as_bytes()),
                        "{name}: {canary} leaked"
                    );
                }
            }
        }
    }
    // The empty, foreign and hostile ones are refused with their own words.
    let mut reason = |name: &str| {
        let (_, bytes) = cases.iter().find(|(n, _)| *n == name).expect("case");
        match session.process(bytes) {
            Outcome::Excluded(e) => e.to_string(),
            _ => String::from("not excluded"),
        }
    };
    assert!(reason("empty file").contains("not a DICOM file"));
    assert!(
        reason("declared length of 4 GB").contains("damaged"),
        "{}",
        reason("declared length of 4 GB")
    );
    assert!(
        reason("sequences nested 5000 deep").contains("deep"),
        "{}",
        reason("sequences nested 5000 deep")
    );
    assert!(reason("unknown transfer syntax").len() > 10);
    // Deflated data sets are checked as closely once inflated, and inflate only so far.
    assert!(reason("deflated, sequences nested 5000 deep").contains("deep"));
    assert!(reason("deflated, declared length of 1.5 GB").contains("damaged"));
    assert!(
        reason("deflate bomb").contains("decompression bomb"),
        "{}",
        reason("deflate bomb")
    );
}

/// Files in a container are named for what they are, so that the user knows what to do.
#[test]
fn archives_and_gzip_files_say_what_they_are() {
    use std::io::Write;
    let sample = &sample_study()[0].1;
    let mut session = Session::new(Policy::basic(ProjectKey::from_bytes([5; 32])));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(sample).expect("gzip");
    let gz = gz.finish().expect("gzip");
    let mut zip = obscura::package::ZipStream::new();
    let mut archive = zip.add("a.dcm", sample);
    archive.extend(zip.finish());
    for (bytes, words) in [
        (gz, "gzip-compressed file: decompress it"),
        (archive, "not a DICOM file: add it to a batch"),
    ] {
        match session.process(&bytes) {
            Outcome::Excluded(e) => assert!(e.to_string().contains(words), "{e}"),
            other => panic!("expected exclusion, got {other:?}"),
        }
    }
}

/// A ZIP bomb that lists one stream many times over is never inflated: every entry that
/// shares its data with another is refused, saying so.
#[test]
fn zip_entries_sharing_one_stream_are_refused() {
    use obscura::input::{ZipArchive, ZipError};
    let bytes = common::zip_overlapping(&vec![0u8; 1 << 20], 8);
    let zip = ZipArchive::new(&bytes).expect("directory");
    assert_eq!(zip.files().count(), 8);
    for entry in zip.files() {
        match zip.read(entry) {
            Err(ZipError::Bomb(why)) => assert!(why.contains("shares its data"), "{why}"),
            other => panic!("{:?}", other.map(|b| b.len())),
        }
    }
    // Listed once, the same entry is read.
    let once = common::zip_overlapping(&vec![0u8; 1 << 20], 1);
    let zip = ZipArchive::new(&once).expect("directory");
    let entry = zip.files().next().expect("entry");
    assert_eq!(zip.read(entry).map(|b| b.len()), Ok(1 << 20));
}
