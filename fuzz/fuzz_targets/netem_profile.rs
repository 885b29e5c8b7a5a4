//! Fuzz target: the netem TOML profile loader must return an error on any input, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = netem::Profile::from_toml(text);
    }
});
