//! Fuzzes the decoders of network input: control/state/clock datagrams and the session's event
//! frames (framing and the typed events inside), both as a console and as a station get them;
//! a decoded patient monitor reading goes through the console core, which shows it only when
//! every sign is finite and in range.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = proto::Datagram::decode(data);
    // The body of a frame, past its checksum: what a peer with a valid CRC can make us parse.
    // A patient monitor reading, whatever its numbers, is shown only when plausible.
    if let Ok(event @ teleop::SessionEvent::Vitals(reading)) =
        serde_json::from_slice::<teleop::SessionEvent>(data)
    {
        use teleop::Core;
        let mut console = teleop::ConsoleSession::new(teleop::ConsoleSessionConfig::default());
        let now = std::time::Duration::ZERO;
        console.handle_input(teleop::ConsoleInput::Event { event }, now);
        let shown = console.view(now).vitals;
        assert_eq!(shown.is_some(), reading.is_plausible());
        assert!(shown.is_none_or(|r| r.hr_bpm.is_finite() && r.temp_c.is_finite()));
    }
    let mut frames = proto::FrameDecoder::new();
    for chunk in data.chunks(7) {
        frames.push(chunk);
        while let Some(Ok(_)) = frames.next_message::<teleop::SessionEvent>() {}
    }
});
