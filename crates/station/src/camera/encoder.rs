//! H.264 encoding of the endoscope's pictures with OpenH264 (Cisco's encoder, built from source by
//! the `openh264` crate; `scripts/setup-nasm.sh` installs the assembler that makes it about 2.5x
//! faster). Configured explicitly for live video: real-time camera usage, bitrate rate control
//! without frame skipping, two threads over slices of at most 6000 bytes, constrained baseline
//! (no B-frames, no reordering), an IDR every `intra_period` frames (0: never) and whenever asked
//! (a new console, a lost frame). The target bitrate can change between frames without a new
//! keyframe.

use openh264::OpenH264API;
use openh264::encoder::{
    BitRate, Complexity, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, Level,
    Profile, RateControlMode, UsageType,
};
use openh264::formats::{RgbSliceU8, YUVBuffer};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum EncodeError {
    #[error("the H.264 encoder failed: {0}")]
    Codec(#[from] openh264::Error),
    #[error("the picture is {got} bytes, {want} expected for {width}x{height} RGB")]
    PictureSize {
        got: usize,
        want: usize,
        width: usize,
        height: usize,
    },
    #[error("the encoder refused the new bitrate (code {0})")]
    Bitrate(i32),
}

/// One encoded picture.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedPicture {
    /// Annex-B byte stream (keyframes start with SPS and PPS).
    pub data: Vec<u8>,
    pub keyframe: bool,
}

/// Threads OpenH264 encodes with, and the largest slice (bytes) it cuts a picture into.
const ENCODER_THREADS: u16 = 2;
const MAX_SLICE_BYTES: u32 = 6000;

pub struct H264Encoder {
    encoder: Encoder,
    yuv: YUVBuffer,
    width: usize,
    height: usize,
    bitrate_bps: u32,
    force_keyframe: bool,
}

impl H264Encoder {
    pub fn new(
        width: usize,
        height: usize,
        fps: f32,
        bitrate_bps: u32,
        intra_period: u32,
    ) -> Result<Self, EncodeError> {
        // The lowest H.264 level for the picture size and macroblock rate: 3.1 carries 720p30
        // (108,000 macroblocks a second), 3.2 720p60 (216,000), 4.0 above 720p.
        let macroblocks = width.div_ceil(16) * height.div_ceil(16);
        let level = if macroblocks > 3600 {
            Level::Level_4_0
        } else if macroblocks as f64 * f64::from(fps) > 108_000.0 {
            Level::Level_3_2
        } else {
            Level::Level_3_1
        };
        let config = EncoderConfig::new()
            .usage_type(UsageType::CameraVideoRealTime)
            .rate_control_mode(RateControlMode::Bitrate)
            .bitrate(BitRate::from_bps(bitrate_bps))
            .max_frame_rate(FrameRate::from_hz(fps))
            .skip_frames(false)
            // Two threads encode the picture's slices at once (slices of at most
            // MAX_SLICE_BYTES; OpenH264 threads only slices). On 2 cores 720p P frames took
            // 3.8 ms p50 with one thread, 2.2-2.4 ms with two on an idle machine (`medlink bench
            // video` reports encode_ms); the workers start on the niced camera thread and keep
            // its priority.
            .num_threads(ENCODER_THREADS)
            .max_slice_len(MAX_SLICE_BYTES)
            .profile(Profile::Baseline)
            .level(level)
            .complexity(Complexity::Low)
            .scene_change_detect(false)
            .background_detection(false)
            .intra_frame_period(IntraFramePeriod::from_num_frames(intra_period));
        Ok(Self {
            encoder: Encoder::with_api_config(OpenH264API::from_source(), config)?,
            yuv: YUVBuffer::new(width, height),
            width,
            height,
            bitrate_bps,
            force_keyframe: true,
        })
    }

    /// The next picture will be an IDR (a console joined, or a frame was lost on the way).
    pub fn request_keyframe(&mut self) {
        self.force_keyframe = true;
    }

    pub fn bitrate_bps(&self) -> u32 {
        self.bitrate_bps
    }

    /// Changes the target bitrate from the next picture on (no keyframe).
    pub fn set_bitrate(&mut self, bps: u32) -> Result<(), EncodeError> {
        if bps == self.bitrate_bps {
            return Ok(());
        }
        let bitrate = i32::try_from(bps).unwrap_or(i32::MAX);
        // The target is set for the whole stream (OpenH264 then gives its one layer the same),
        // the ceiling on that layer: OpenH264 checks the layer's target against the layer's
        // ceiling, and a ceiling set for the whole stream never reaches the layer, so every
        // raise above the starting bitrate was refused. The layer's ceiling is never below its
        // target: going up it moves first, going down it moves last.
        let target = (
            openh264_sys2::ENCODER_OPTION_BITRATE,
            openh264_sys2::SPATIAL_LAYER_ALL,
        );
        let ceiling = (
            openh264_sys2::ENCODER_OPTION_MAX_BITRATE,
            openh264_sys2::SPATIAL_LAYER_0,
        );
        let order = if bps > self.bitrate_bps {
            [ceiling, target]
        } else {
            [target, ceiling]
        };
        for (option, layer) in order {
            let mut info = openh264_sys2::SBitrateInfo {
                iLayer: layer,
                iBitrate: bitrate,
            };
            // SAFETY: the encoder is initialised (made in `new`); both options read one
            // SBitrateInfo, which lives on this stack frame for the whole call.
            let code = unsafe {
                self.encoder
                    .raw_api()
                    .set_option(option, (&raw mut info).cast())
            };
            if code != 0 {
                return Err(EncodeError::Bitrate(code));
            }
        }
        self.bitrate_bps = bps;
        Ok(())
    }

    /// Encodes one RGB picture of the encoder's size.
    pub fn encode(&mut self, rgb: &[u8]) -> Result<EncodedPicture, EncodeError> {
        let want = self.width * self.height * 3;
        if rgb.len() != want {
            return Err(EncodeError::PictureSize {
                got: rgb.len(),
                want,
                width: self.width,
                height: self.height,
            });
        }
        self.yuv
            .read_rgb8(RgbSliceU8::new(rgb, (self.width, self.height)));
        if std::mem::take(&mut self.force_keyframe) {
            self.encoder.force_intra_frame();
        }
        let stream = self.encoder.encode(&self.yuv)?;
        let keyframe = matches!(stream.frame_type(), FrameType::IDR | FrameType::I);
        Ok(EncodedPicture {
            data: stream.to_vec(),
            keyframe,
        })
    }
}
