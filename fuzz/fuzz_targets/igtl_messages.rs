//! Fuzzes the OpenIGTLink decoder with what a peer can send `medlink igtl`: one message, and the
//! same bytes as a TCP stream in pieces. Nothing may panic, and every message that decodes must
//! encode again (a decoded message is always one medlink can send).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = igtl::Message::decode(data) {
        assert!(message.encode().is_ok(), "{message:?}");
    }
    let mut stream = igtl::StreamDecoder::new(1 << 20);
    for chunk in data.chunks(61) {
        stream.push(chunk);
        while let Some(result) = stream.next_message() {
            if let Ok(message) = result {
                assert!(message.encode().is_ok(), "{message:?}");
            }
        }
    }
});
