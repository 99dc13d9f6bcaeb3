//! Parse + de-identify (+ package) any bytes, as a dropped file: with the default policy, and
//! with a rule that matches every image, so pixel decoding and blanking run too (the bytes
//! given up to the core, as the CLI and the page do).
#![no_main]
use libfuzzer_sys::fuzz_target;
use obscura::deid::{Outcome, Policy, ProjectKey, Session};
use obscura::package::PackageWriter;
use obscura::pixels::RegionRules;

fuzz_target!(|data: &[u8]| {
    let mut plain = Session::new(Policy::basic(ProjectKey::from_bytes([1; 32])));
    let mut package = PackageWriter::new();
    if let Outcome::Done(d) = plain.process(data) {
        package.add(&d);
    }
    let _ = package.trailer(plain.policy());

    let mut policy = Policy::basic(ProjectKey::from_bytes([2; 32]));
    if let Ok(rules) = RegionRules::parse("{ true. } (0, 0, 16, 16) (5, 5, 100000, 3)") {
        policy.pixel_rules = rules;
    }
    // Given up rather than borrowed: the reader that works on the pixel bytes in place.
    let _ = Session::new(policy).process_owned(data.to_vec());
});
