//! Arbitrary bytes through everything a scenario goes through before it runs: the
//! YAML reader, the scenario decoder, manifest decoding and admission, settings and
//! event resolution (`sim::prepare_bytes`). Any panic, hang or runaway allocation is a
//! bug: bad input must always come back as diagnostics naming the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    // The folder does not exist, so `manifestFiles` entries fail to read (with a
    // diagnostic) instead of touching the disk of the machine running the fuzzer.
    let path = Path::new("/nonexistent-poolsim-fuzz/scenario.yaml");
    if let Err(diagnostics) = poolsim::sim::prepare_bytes(data, path) {
        assert!(!diagnostics.is_empty(), "an Err without diagnostics");
        for diagnostic in &diagnostics {
            assert!(diagnostic.file.starts_with("/nonexistent-poolsim-fuzz"), "{diagnostic}");
        }
    }
});
