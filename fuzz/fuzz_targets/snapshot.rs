//! Bytes → one snapshot file, as `ke diag --snapshot` loads it, once as a
//! `.yaml` file and once as a `.json` file. Nothing may panic, hang or take
//! memory out of proportion (run with -timeout and -rss_limit_mb).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The loader reads invalid UTF-8 as a coverage gap, before any parsing.
    let Ok(text) = std::str::from_utf8(data) else { return };
    for name in ["fuzz.yaml", "fuzz.json"] {
        let mut inventory = kubeeye::inventory::Inventory::default();
        kubeeye::collect::offline::load_text(Path::new(name), text, &mut inventory);
    }
});
