//! Fuzzes the decoders of network input: control/state/clock datagrams and event-stream frames.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = proto::Datagram::decode(data);
    let mut frames = proto::FrameDecoder::new();
    for chunk in data.chunks(7) {
        frames.push(chunk);
        while let Some(Ok(_)) = frames.next_event() {}
    }
});
