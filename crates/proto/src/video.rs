//! The video channel's wire format: one QUIC unidirectional stream per frame, which starts with a
//! fixed little-endian header (`VIDEO_MAGIC`, so a video stream is told from a bulk frame by its
//! first four bytes: as a bulk frame's length they would be far over the bulk limit) and carries
//! the encoded picture after it. Every frame names its capture time on the station's clock, the
//! newest control command the station had applied when the pose it shows was measured, and that
//! measured tool-tip position, so a console can time glass-to-glass and motion-to-photon.
//!
//! Layout (bytes, little-endian):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `MLV1` |
//! | 4 | 1 | flags: bit 0 keyframe |
//! | 5 | 1 | codec: 1 = H.264 Annex-B |
//! | 6 | 2 | width |
//! | 8 | 2 | height |
//! | 10 | 2 | reserved (0) |
//! | 12 | 8 | frame sequence number (u64, from 1, per station run) |
//! | 20 | 8 | capture time, µs on the station's clock (i64) |
//! | 28 | 8 | newest applied control command's seq when the pose was measured (u64, 0: none) |
//! | 36 | 12 | measured tool tip, µm in the arm's base frame (3 × i32) |
//! | 48 | 4 | length of the encoded picture that follows (u32) |
//! | 52 | n | the encoded picture |

use thiserror::Error;

/// The first four bytes of every video stream.
pub const VIDEO_MAGIC: [u8; 4] = *b"MLV1";
/// Bytes before the encoded picture.
pub const VIDEO_HEADER_LEN: usize = 52;
/// No encoded picture may be longer than this (a 1080p keyframe of a noisy scene fits).
pub const MAX_VIDEO_FRAME_LEN: usize = 4 * 1024 * 1024;

/// The codec of an encoded picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoCodec {
    /// H.264 in Annex-B byte-stream format (start codes; each keyframe carries SPS and PPS).
    H264AnnexB,
}

impl VideoCodec {
    fn code(self) -> u8 {
        match self {
            VideoCodec::H264AnnexB => 1,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(VideoCodec::H264AnnexB),
            _ => None,
        }
    }
}

/// What a video frame says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoHeader {
    pub keyframe: bool,
    pub codec: VideoCodec,
    pub width: u16,
    pub height: u16,
    pub seq: u64,
    pub capture_station_us: i64,
    pub applied_seq: u64,
    pub tip_um: [i32; 3],
    pub data_len: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VideoDecodeError {
    #[error("not a video frame (bad magic)")]
    BadMagic,
    #[error("video frame shorter than its header")]
    Truncated,
    #[error("unknown video codec {0}")]
    UnknownCodec(u8),
    #[error("video frame of {0} bytes is over the limit")]
    Oversize(usize),
    #[error("video frame length {declared} does not match the {actual} bytes received")]
    LengthMismatch { declared: usize, actual: usize },
    #[error("video frame with zero width or height")]
    EmptyPicture,
}

impl VideoDecodeError {
    /// A short stable name for counters.
    pub fn reason(&self) -> &'static str {
        match self {
            VideoDecodeError::BadMagic => "video_bad_magic",
            VideoDecodeError::Truncated => "video_truncated",
            VideoDecodeError::UnknownCodec(_) => "video_unknown_codec",
            VideoDecodeError::Oversize(_) => "video_oversize",
            VideoDecodeError::LengthMismatch { .. } => "video_length_mismatch",
            VideoDecodeError::EmptyPicture => "video_empty_picture",
        }
    }
}

impl VideoHeader {
    /// Writes the header into the first `VIDEO_HEADER_LEN` bytes of `out`.
    pub fn write(&self, out: &mut [u8; VIDEO_HEADER_LEN]) {
        out[0..4].copy_from_slice(&VIDEO_MAGIC);
        out[4] = u8::from(self.keyframe);
        out[5] = self.codec.code();
        out[6..8].copy_from_slice(&self.width.to_le_bytes());
        out[8..10].copy_from_slice(&self.height.to_le_bytes());
        out[10..12].copy_from_slice(&[0, 0]);
        out[12..20].copy_from_slice(&self.seq.to_le_bytes());
        out[20..28].copy_from_slice(&self.capture_station_us.to_le_bytes());
        out[28..36].copy_from_slice(&self.applied_seq.to_le_bytes());
        for (i, v) in self.tip_um.iter().enumerate() {
            out[36 + 4 * i..40 + 4 * i].copy_from_slice(&v.to_le_bytes());
        }
        out[48..52].copy_from_slice(&self.data_len.to_le_bytes());
    }

    /// Reads a header from the start of `bytes` (the picture may follow or not yet be there).
    pub fn read(bytes: &[u8]) -> Result<Self, VideoDecodeError> {
        if bytes.len() >= 4 && bytes[0..4] != VIDEO_MAGIC {
            return Err(VideoDecodeError::BadMagic);
        }
        let Some(h) = bytes.first_chunk::<VIDEO_HEADER_LEN>() else {
            return Err(VideoDecodeError::Truncated);
        };
        let u16_at = |i: usize| u16::from_le_bytes([h[i], h[i + 1]]);
        let u64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&h[i..i + 8]);
            u64::from_le_bytes(b)
        };
        let i32_at = |i: usize| i32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let codec = VideoCodec::from_code(h[5]).ok_or(VideoDecodeError::UnknownCodec(h[5]))?;
        let data_len = u32::from_le_bytes([h[48], h[49], h[50], h[51]]);
        if data_len as usize > MAX_VIDEO_FRAME_LEN {
            return Err(VideoDecodeError::Oversize(data_len as usize));
        }
        let (width, height) = (u16_at(6), u16_at(8));
        if width == 0 || height == 0 {
            return Err(VideoDecodeError::EmptyPicture);
        }
        Ok(Self {
            keyframe: h[4] & 1 == 1,
            codec,
            width,
            height,
            seq: u64_at(12),
            capture_station_us: u64_at(20) as i64,
            applied_seq: u64_at(28),
            tip_um: [i32_at(36), i32_at(40), i32_at(44)],
            data_len,
        })
    }
}

/// Appends one whole frame (header and picture) to `out`.
pub fn encode_video_frame(
    header: &VideoHeader,
    data: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), VideoDecodeError> {
    if data.len() > MAX_VIDEO_FRAME_LEN {
        return Err(VideoDecodeError::Oversize(data.len()));
    }
    let mut head = [0u8; VIDEO_HEADER_LEN];
    VideoHeader {
        data_len: data.len() as u32,
        ..*header
    }
    .write(&mut head);
    out.reserve(VIDEO_HEADER_LEN + data.len());
    out.extend_from_slice(&head);
    out.extend_from_slice(data);
    Ok(())
}

/// Decodes one whole frame received on its stream: the header and the picture's bytes.
pub fn decode_video_frame(bytes: &[u8]) -> Result<(VideoHeader, &[u8]), VideoDecodeError> {
    let header = VideoHeader::read(bytes)?;
    let data = &bytes[VIDEO_HEADER_LEN..];
    if data.len() != header.data_len as usize {
        return Err(VideoDecodeError::LengthMismatch {
            declared: header.data_len as usize,
            actual: data.len(),
        });
    }
    Ok((header, data))
}

/// Whether a stream that starts with these bytes is a video frame (not a bulk frame).
pub fn is_video_stream(first: &[u8]) -> bool {
    first.starts_with(&VIDEO_MAGIC)
}

/// The WebCodecs codec string (`avc1.PPCCLL`) of an H.264 Annex-B picture that carries an SPS,
/// from its profile, constraint flags and level; `None` when it has no SPS.
pub fn h264_codec_string(annex_b: &[u8]) -> Option<String> {
    let mut i = 0;
    while i + 3 < annex_b.len() {
        let start = if annex_b[i..].starts_with(&[0, 0, 1]) {
            3
        } else if annex_b[i..].starts_with(&[0, 0, 0, 1]) {
            4
        } else {
            i += 1;
            continue;
        };
        let nal = i + start;
        // NAL type 7: sequence parameter set; then profile_idc, constraint flags, level_idc.
        if let Some(&[kind, profile, constraints, level]) = annex_b.get(nal..nal + 4)
            && kind & 0x1f == 7
        {
            return Some(format!("avc1.{profile:02x}{constraints:02x}{level:02x}"));
        }
        i = nal;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn header(seq: u64) -> VideoHeader {
        VideoHeader {
            keyframe: seq.is_multiple_of(2),
            codec: VideoCodec::H264AnnexB,
            width: 1280,
            height: 720,
            seq,
            capture_station_us: 1_234_567,
            applied_seq: 42,
            tip_um: [-1000, 2000, -150_000],
            data_len: 0,
        }
    }

    #[test]
    fn a_frame_round_trips() {
        let mut out = Vec::new();
        encode_video_frame(&header(8), &[1, 2, 3], &mut out).unwrap();
        let (h, data) = decode_video_frame(&out).unwrap();
        assert_eq!(
            h,
            VideoHeader {
                data_len: 3,
                ..header(8)
            }
        );
        assert_eq!(data, &[1, 2, 3]);
        assert!(is_video_stream(&out));
    }

    #[test]
    fn a_bulk_frame_is_not_a_video_stream() {
        let mut bulk = Vec::new();
        crate::encode_frame(&"plan", &mut bulk).unwrap();
        assert!(!is_video_stream(&bulk));
        assert_eq!(VideoHeader::read(&bulk), Err(VideoDecodeError::BadMagic));
        // As a bulk length prefix the magic is over the bulk limit.
        assert!(u32::from_le_bytes(VIDEO_MAGIC) as usize > crate::frame::MAX_BULK_FRAME_LEN);
    }

    #[test]
    fn a_cut_or_padded_frame_is_refused() {
        let mut out = Vec::new();
        encode_video_frame(&header(1), &[9; 10], &mut out).unwrap();
        assert_eq!(
            decode_video_frame(&out[..20]).unwrap_err(),
            VideoDecodeError::Truncated
        );
        assert!(matches!(
            decode_video_frame(&out[..out.len() - 1]),
            Err(VideoDecodeError::LengthMismatch { .. })
        ));
        out.push(0);
        assert!(decode_video_frame(&out).is_err());
    }

    #[test]
    fn the_codec_string_comes_from_the_sps() {
        let annex_b = [
            0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0xaa, 0, 0, 1, 0x68, 0xce,
        ];
        assert_eq!(h264_codec_string(&annex_b).as_deref(), Some("avc1.42c01f"));
        assert_eq!(h264_codec_string(&[0, 0, 1, 0x41, 0x9a]), None);
    }

    proptest! {
        #[test]
        fn any_bytes_decode_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_video_frame(&bytes);
            let _ = h264_codec_string(&bytes);
        }

        #[test]
        fn headers_round_trip(seq in any::<u64>(), t in any::<i64>(), applied in any::<u64>(), tip in any::<[i32; 3]>(), key in any::<bool>()) {
            let h = VideoHeader { keyframe: key, seq, capture_station_us: t, applied_seq: applied, tip_um: tip, ..header(0) };
            let mut out = Vec::new();
            encode_video_frame(&h, &[], &mut out).unwrap();
            prop_assert_eq!(decode_video_frame(&out).unwrap().0, h);
        }
    }
}
