//! Fuzz target: HIFU label volumes (JSON header + raw labels), plan JSON and the device's text commands
//! must give errors, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = hifu::plan::Plan::from_json(data);
    let spot = hifu::plan::Spot {
        slice: 0,
        focus_mm: [0.0; 3],
        power_w: 40.0,
        on_s: 20.0,
        cool_s: 0.0,
    };
    for line in String::from_utf8_lossy(data).lines() {
        let _ = hifu::device_script::parse_line(line, &[spot.clone(), spot.clone()]);
    }
    if let Some((&first, rest)) = data.split_first() {
        let split = usize::from(first).min(rest.len());
        let (header, raw) = rest.split_at(split);
        let _ = hifu::volume_file::decode_volume(header, raw);
    }
});
