//! Fuzzes the decoders of the video channel's input: a whole video stream as the console reads it
//! from the station (header, length checks, the picture slice), the WebCodecs codec string taken
//! from an H.264 picture's SPS, and the stream sniffing that tells video from bulk frames.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proto::video::{VideoHeader, decode_video_frame, h264_codec_string, is_video_stream};

fuzz_target!(|data: &[u8]| {
    let _ = is_video_stream(data);
    let _ = VideoHeader::read(data);
    if let Ok((header, picture)) = decode_video_frame(data) {
        assert_eq!(picture.len(), header.data_len as usize);
        let _ = h264_codec_string(picture);
    }
    let _ = h264_codec_string(data);
});
