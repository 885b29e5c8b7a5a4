//! Fuzz target: HIFU label volumes (JSON header + raw labels) and plan JSON must give errors, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = hifu::plan::Plan::from_json(data);
    if let Some((&first, rest)) = data.split_first() {
        let split = usize::from(first).min(rest.len());
        let (header, raw) = rest.split_at(split);
        let _ = hifu::volume_file::decode_volume(header, raw);
    }
});
