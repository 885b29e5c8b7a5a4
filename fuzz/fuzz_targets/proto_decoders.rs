//! Fuzzes the decoders of network input: control/state/clock datagrams and the session's event
//! frames (framing and the typed events inside), both as a console and as a station get them.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = proto::Datagram::decode(data);
    // The body of a frame, past its checksum: what a peer with a valid CRC can make us parse.
    let _ = serde_json::from_slice::<teleop::SessionEvent>(data);
    let mut frames = proto::FrameDecoder::new();
    for chunk in data.chunks(7) {
        frames.push(chunk);
        while let Some(Ok(_)) = frames.next_message::<teleop::SessionEvent>() {}
    }
});
