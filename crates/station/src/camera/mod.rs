//! The station's simulated endoscope camera: a thread of its own renders the scene (tissue and
//! the instrument at its measured pose, read lock-free from what the servo thread last measured)
//! at a fixed frame rate, encodes it with H.264 at the bitrate the video channel's rate
//! controller allows, stamps it with its capture time on the station's clock, and hands it to the
//! network thread, which sends each frame on a stream of its own below control and resets a frame
//! still in flight when a newer one is ready (`sender`). It never touches the servo thread's work
//! and encodes only while a console is connected.

pub mod encoder;
pub mod pose_cell;
pub mod rate;
pub mod scene;
pub mod sender;

use crate::shared::Shared;
use bytes::Bytes;
use encoder::H264Encoder;
use proto::video::{VideoCodec, VideoHeader, encode_video_frame};
use rate::{RateController, RateSettings};
use scene::{CameraView, Scene};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use teleop::stats::AtomicHistogram;

/// Encode times up to this many µs are kept exactly.
const ENCODE_HISTOGRAM_US: usize = 200_000;
/// The camera thread's default nice value (see `CameraSettings::thread_nice`).
pub const DEFAULT_THREAD_NICE: i32 = 10;
/// How often an idle camera (no console) looks again.
const IDLE_POLL: Duration = Duration::from_millis(50);
/// The newest frames whose times through the station are kept (`VideoChannel::timeline`): four
/// and a half minutes at 30 fps.
const TIMELINE_FRAMES: usize = 8192;

/// The camera's settings (the `[camera]` table of the station's configuration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CameraSettings {
    pub width: u16,
    pub height: u16,
    pub fps: f64,
    /// A keyframe at least this often (s), so a page that joins or falls behind resumes soon;
    /// keyframes also come when a console connects and after a frame was dropped.
    pub keyframe_interval_s: f64,
    /// The camera thread's nice value (0-19; 0: as the station): rendering and encoding run below
    /// the servo and network threads and below anything else on the control path that does not
    /// run in real time (on one machine with the console: its threads, a relay), so a frame's
    /// work waits for them rather than they for it.
    pub thread_nice: i32,
    pub rate: RateSettings,
    pub view: CameraView,
}

impl Default for CameraSettings {
    fn default() -> Self {
        Self {
            width: 1280,
            height: 720,
            fps: 30.0,
            keyframe_interval_s: 2.0,
            thread_nice: DEFAULT_THREAD_NICE,
            rate: RateSettings::default(),
            view: CameraView::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CameraError {
    #[error("camera size {0}x{1}: width and height must be even, from 16 to 3840x2160")]
    Size(u16, u16),
    #[error("camera fps must be between 1 and 60, got {0}")]
    Fps(f64),
    #[error("camera thread_nice must be between 0 and 19, got {0}")]
    Nice(i32),
    #[error(transparent)]
    Encoder(#[from] encoder::EncodeError),
    #[error("could not start the camera thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// One encoded frame on its way to the network thread: the whole stream's bytes.
#[derive(Debug, Clone)]
pub struct VideoOut {
    pub seq: u64,
    pub keyframe: bool,
    pub bytes: Bytes,
}

/// What the video channel has done so far (read by reports and benchmarks).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VideoStats {
    pub frames_encoded: u64,
    pub keyframes: u64,
    /// Frames whose every byte a console acknowledged.
    pub frames_delivered: u64,
    /// Frames reset because a newer one was ready first (never queued behind it).
    pub frames_dropped: u64,
    /// Delivered frames that took longer than a round trip and one frame interval.
    pub frames_late: u64,
    pub bytes_encoded: u64,
    pub bitrate_bps: u32,
    pub encode_ms: teleop::Percentiles,
    pub render_ms: teleop::Percentiles,
    /// Capture shifts the console in control asked for and the camera applied, and their sum
    /// (ms; display-locked capture).
    #[serde(default)]
    pub capture_shifts: u64,
    #[serde(default)]
    pub capture_shifted_ms: f64,
}

/// One frame's times through the station, µs on the station's clock: the capture (its pose
/// read), the picture rendered, the picture encoded, and the network thread starting to send it
/// (None until then, or when it was skipped for a newer one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct FrameTimes {
    pub seq: u64,
    pub capture_us: i64,
    pub rendered_us: i64,
    pub encoded_us: i64,
    pub sending_us: Option<i64>,
}

/// What the camera thread and the network thread share.
pub struct VideoChannel {
    pub fps: f64,
    /// Consoles connected (the camera idles at zero).
    pub viewers: AtomicUsize,
    /// The encoder's next picture must be a keyframe.
    pub keyframe_wanted: AtomicBool,
    pub target_bps: AtomicU32,
    rate: Mutex<RateController>,
    encoded: AtomicU64,
    keyframes: AtomicU64,
    delivered: AtomicU64,
    dropped: AtomicU64,
    late: AtomicU64,
    bytes: AtomicU64,
    encode_us: Arc<AtomicHistogram>,
    render_us: Arc<AtomicHistogram>,
    /// The newest frames' times through the station (for benchmarks' breakdowns).
    timeline: Mutex<VecDeque<FrameTimes>>,
    /// How much later (µs) the camera's next capture comes, as the console in control asked
    /// (display-locked capture); the camera takes it at its next frame.
    capture_shift_us: AtomicU64,
    /// Capture shifts applied so far, and their sum (µs).
    shifts: AtomicU64,
    shifted_us: AtomicU64,
}

impl VideoChannel {
    pub fn new(settings: &CameraSettings) -> Arc<Self> {
        let rate = RateController::new(settings.rate.clone(), settings.fps);
        Arc::new(Self {
            fps: settings.fps,
            viewers: AtomicUsize::new(0),
            keyframe_wanted: AtomicBool::new(true),
            target_bps: AtomicU32::new(rate.target_bps()),
            rate: Mutex::new(rate),
            encoded: AtomicU64::new(0),
            keyframes: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            late: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            encode_us: AtomicHistogram::new(ENCODE_HISTOGRAM_US),
            render_us: AtomicHistogram::new(ENCODE_HISTOGRAM_US),
            timeline: Mutex::new(VecDeque::with_capacity(TIMELINE_FRAMES)),
            capture_shift_us: AtomicU64::new(0),
            shifts: AtomicU64::new(0),
            shifted_us: AtomicU64::new(0),
        })
    }

    /// The console in control asks for the next capture `shift_us` later. Only later: an
    /// earlier capture would bring two frames closer than the frame period, and the older could
    /// be dropped for the newer in flight (a phase is a phase modulo the display's refresh, so
    /// later is always enough); a negative request counts as none. Requests add up until the
    /// camera takes them, at most one frame period in all.
    pub fn shift_capture(&self, shift_us: i64) {
        let period_us = (1e6 / self.fps) as u64;
        let later = u64::try_from(shift_us).unwrap_or(0);
        let _ =
            self.capture_shift_us
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |pending| {
                    Some(pending.saturating_add(later).min(period_us))
                });
    }

    /// The capture shift asked for since the last call, now applied by the camera.
    fn take_capture_shift(&self) -> Duration {
        let shift = self.capture_shift_us.swap(0, Ordering::Relaxed);
        if shift > 0 {
            self.shifts.fetch_add(1, Ordering::Relaxed);
            self.shifted_us.fetch_add(shift, Ordering::Relaxed);
        }
        Duration::from_micros(shift)
    }

    /// The camera made frame `times.seq` (the oldest kept frame makes room past the limit).
    fn on_encoded(&self, times: FrameTimes) {
        if let Ok(mut timeline) = self.timeline.lock() {
            if timeline.len() == TIMELINE_FRAMES {
                timeline.pop_front();
            }
            timeline.push_back(times);
        }
    }

    /// The network thread starts sending frame `seq` at `now` (station clock).
    pub fn on_sending(&self, seq: u64, now: Duration) {
        if let Ok(mut timeline) = self.timeline.lock()
            && let Some(frame) = timeline.iter_mut().rev().find(|f| f.seq == seq)
        {
            frame.sending_us = Some(now.as_micros() as i64);
        }
    }

    /// The newest frames' times through the station, oldest first.
    pub fn timeline(&self) -> Vec<FrameTimes> {
        self.timeline
            .lock()
            .map(|t| t.iter().copied().collect())
            .unwrap_or_default()
    }

    /// A frame reached a console in `took` over a path with round trip `rtt`.
    pub fn on_delivered(&self, took: Duration, rtt: Duration, now: Duration) {
        self.delivered.fetch_add(1, Ordering::Relaxed);
        if took > rtt + Duration::from_secs_f64(1.0 / self.fps) {
            self.late.fetch_add(1, Ordering::Relaxed);
        }
        self.with_rate(|r| r.on_delivered(took, rtt, now));
    }

    /// A frame was reset for a newer one: the console's decoder lost a reference, so the next
    /// picture is a keyframe.
    pub fn on_dropped(&self, now: Duration) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        self.keyframe_wanted.store(true, Ordering::Relaxed);
        self.with_rate(|r| r.on_dropped(now));
    }

    fn with_rate(&self, f: impl FnOnce(&mut RateController)) {
        if let Ok(mut rate) = self.rate.lock() {
            f(&mut rate);
            self.target_bps.store(rate.target_bps(), Ordering::Relaxed);
        }
    }

    pub fn stats(&self) -> VideoStats {
        let ms = |p: teleop::Percentiles| teleop::Percentiles {
            p50: p.p50 / 1e3,
            p99: p.p99 / 1e3,
            p999: p.p999 / 1e3,
            max: p.max / 1e3,
            ..p
        };
        VideoStats {
            frames_encoded: self.encoded.load(Ordering::Relaxed),
            keyframes: self.keyframes.load(Ordering::Relaxed),
            frames_delivered: self.delivered.load(Ordering::Relaxed),
            frames_dropped: self.dropped.load(Ordering::Relaxed),
            frames_late: self.late.load(Ordering::Relaxed),
            bytes_encoded: self.bytes.load(Ordering::Relaxed),
            bitrate_bps: self.target_bps.load(Ordering::Relaxed),
            encode_ms: ms(self.encode_us.percentiles()),
            render_ms: ms(self.render_us.percentiles()),
            capture_shifts: self.shifts.load(Ordering::Relaxed),
            capture_shifted_ms: self.shifted_us.load(Ordering::Relaxed) as f64 / 1e3,
        }
    }
}

/// The running camera thread.
pub struct CameraThread {
    pub channel: Arc<VideoChannel>,
    pub handle: JoinHandle<()>,
}

/// Starts the camera thread; it ends when `stop` is set.
pub fn spawn(
    settings: &CameraSettings,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    frames: tokio::sync::mpsc::UnboundedSender<VideoOut>,
) -> Result<CameraThread, CameraError> {
    let (w, h) = (settings.width, settings.height);
    if w % 2 == 1 || h % 2 == 1 || w < 16 || h < 16 || w.max(h) > 3840 || w.min(h) > 2160 {
        return Err(CameraError::Size(w, h));
    }
    if !(1.0..=60.0).contains(&settings.fps) {
        return Err(CameraError::Fps(settings.fps));
    }
    if !(0..=19).contains(&settings.thread_nice) {
        return Err(CameraError::Nice(settings.thread_nice));
    }
    let nice = settings.thread_nice;
    let channel = VideoChannel::new(settings);
    let encoder = H264Encoder::new(
        w.into(),
        h.into(),
        settings.fps as f32,
        channel.target_bps.load(Ordering::Relaxed),
        (settings.fps * settings.keyframe_interval_s.max(0.0)).round() as u32,
    )?;
    let scene = Scene::new(&settings.view, w.into(), h.into());
    let period = Duration::from_secs_f64(1.0 / settings.fps);
    let thread_channel = channel.clone();
    let handle = std::thread::Builder::new()
        .name("station-camera".into())
        .spawn(move || {
            lower_priority(nice);
            let mut camera = Camera {
                scene,
                encoder,
                channel: thread_channel,
                shared,
                frames,
                seq: 0,
            };
            camera.run(&stop, period);
        })?;
    Ok(CameraThread { channel, handle })
}

/// Lowers the calling thread's priority to `nice` (Linux nice values are per thread); a refusal
/// leaves it as it is, with a warning.
fn lower_priority(nice: i32) {
    if nice == 0 {
        return;
    }
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its plain-value arguments; `who` 0 is the calling thread.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) } != 0 {
        tracing::warn!(
            nice,
            error = %std::io::Error::last_os_error(),
            "the camera thread keeps the station's priority"
        );
    }
}

struct Camera {
    scene: Scene,
    encoder: H264Encoder,
    channel: Arc<VideoChannel>,
    shared: Arc<Shared>,
    frames: tokio::sync::mpsc::UnboundedSender<VideoOut>,
    seq: u64,
}

impl Camera {
    fn run(&mut self, stop: &AtomicBool, period: Duration) {
        let mut next = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            if self.channel.viewers.load(Ordering::Relaxed) == 0 {
                std::thread::sleep(IDLE_POLL);
                next = Instant::now();
                continue;
            }
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
            } else if now - next > period {
                // Fell behind (a long keyframe, a busy machine): start again from now.
                next = now;
            }
            next += period + self.channel.take_capture_shift();
            if let Err(e) = self.frame() {
                tracing::error!(error = %e, "the camera stopped");
                return;
            }
        }
    }

    /// Captures, encodes and hands over one frame.
    fn frame(&mut self) -> Result<(), encoder::EncodeError> {
        if self.channel.keyframe_wanted.swap(false, Ordering::Relaxed) {
            self.encoder.request_keyframe();
        }
        if let Err(e) = self
            .encoder
            .set_bitrate(self.channel.target_bps.load(Ordering::Relaxed))
        {
            // The previous bitrate stays; the video goes on.
            tracing::warn!(error = %e, "could not change the video bitrate");
        }
        let capture = self.shared.now();
        let pose = self.shared.pose.load();
        let started = Instant::now();
        let rgb = self.scene.render(pose.as_ref());
        let rendered = self.shared.now();
        self.channel
            .render_us
            .record_us(started.elapsed().as_micros() as i64);
        let encoding = Instant::now();
        let picture = self.encoder.encode(rgb)?;
        let encoded = self.shared.now();
        self.channel
            .encode_us
            .record_us(encoding.elapsed().as_micros() as i64);
        if picture.data.is_empty() {
            return Ok(());
        }
        self.seq += 1;
        let tip_um = pose.map_or([0; 3], |p| p.tip_m.map(|m| (m * 1e6).round() as i32));
        let header = VideoHeader {
            keyframe: picture.keyframe,
            codec: VideoCodec::H264AnnexB,
            width: self.scene.width as u16,
            height: self.scene.height as u16,
            seq: self.seq,
            capture_station_us: capture.as_micros() as i64,
            applied_seq: pose.map_or(0, |p| p.applied_seq),
            tip_um,
            data_len: 0,
        };
        let mut bytes = Vec::new();
        if encode_video_frame(&header, &picture.data, &mut bytes).is_err() {
            tracing::warn!(
                len = picture.data.len(),
                "a video frame over the size limit was skipped"
            );
            self.channel.keyframe_wanted.store(true, Ordering::Relaxed);
            return Ok(());
        }
        self.channel.encoded.fetch_add(1, Ordering::Relaxed);
        self.channel
            .bytes
            .fetch_add(picture.data.len() as u64, Ordering::Relaxed);
        if picture.keyframe {
            self.channel.keyframes.fetch_add(1, Ordering::Relaxed);
        }
        self.channel.on_encoded(FrameTimes {
            seq: self.seq,
            capture_us: header.capture_station_us,
            rendered_us: rendered.as_micros() as i64,
            encoded_us: encoded.as_micros() as i64,
            sending_us: None,
        });
        let _ = self.frames.send(VideoOut {
            seq: self.seq,
            keyframe: picture.keyframe,
            bytes: Bytes::from(bytes),
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(seq: u64) -> FrameTimes {
        FrameTimes {
            seq,
            capture_us: seq as i64 * 1000,
            rendered_us: seq as i64 * 1000 + 100,
            encoded_us: seq as i64 * 1000 + 300,
            sending_us: None,
        }
    }

    #[test]
    fn capture_shifts_are_later_only_add_up_within_a_frame_period_and_are_taken_once() {
        let channel = VideoChannel::new(&CameraSettings::default()); // 30 fps: 33,333 µs
        let us = Duration::from_micros;
        channel.shift_capture(20_000);
        channel.shift_capture(20_000);
        assert_eq!(
            channel.take_capture_shift(),
            us(33_333),
            "one period at most"
        );
        assert_eq!(channel.take_capture_shift(), us(0), "taken once");
        channel.shift_capture(-5_000);
        assert_eq!(channel.take_capture_shift(), us(0), "never earlier");
        channel.shift_capture(-5_000);
        channel.shift_capture(1_500);
        assert_eq!(channel.take_capture_shift(), us(1_500));
        let stats = channel.stats();
        assert_eq!(stats.capture_shifts, 2);
        assert_eq!(stats.capture_shifted_ms, 34.833);
    }

    #[test]
    fn the_timeline_keeps_the_newest_frames_and_when_each_was_sent() {
        let channel = VideoChannel::new(&CameraSettings::default());
        for seq in 1..=TIMELINE_FRAMES as u64 + 2 {
            channel.on_encoded(times(seq));
        }
        channel.on_sending(2, Duration::from_micros(2_400));
        channel.on_sending(TIMELINE_FRAMES as u64 + 1, Duration::from_micros(9_000));
        let timeline = channel.timeline();
        assert_eq!(timeline.len(), TIMELINE_FRAMES);
        assert_eq!(timeline[0].seq, 3, "the two oldest made room");
        let sent: Vec<_> = timeline.iter().filter(|f| f.sending_us.is_some()).collect();
        assert_eq!(sent.len(), 1, "frame 2 was no longer kept");
        assert_eq!(sent[0].seq, TIMELINE_FRAMES as u64 + 1);
        assert_eq!(sent[0].sending_us, Some(9_000));
    }
}
