//! Bytes → a user rule file, through the loader every rule file goes through
//! (`RuleSet::from_sources`): YAML limits, schema and regex compilation,
//! overrides. Errors are fine; panics, hangs and runaway memory are not.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = kubeeye::rules::RuleSet::from_sources(&[("fuzz.yaml".to_string(), text.to_string(), false)]);
});
