//! Rules files (JSON or CTP pixel scripts): parsed, and applied to a small image.
#![no_main]
use libfuzzer_sys::fuzz_target;
use obscura::pixels::RegionRules;
use std::sync::OnceLock;

static SAMPLE: OnceLock<Vec<u8>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(rules) = RegionRules::parse(text) {
        let sample = SAMPLE.get_or_init(|| obscura::sample::sample_study().swap_remove(0).1);
        let mut policy =
            obscura::deid::Policy::basic(obscura::deid::ProjectKey::from_bytes([4; 32]));
        policy.pixel_rules = rules;
        let _ = obscura::deid::Session::new(policy).process(sample);
    }
});
