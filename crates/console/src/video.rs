//! The console's end of the video channel: reads each frame the station sends on a stream of its
//! own (`proto::video`), hands them on in capture order (a frame whose stream finished before its
//! predecessor's waits for it, up to `MAX_HELD` frames), skips the pictures that depend on a lost
//! frame until the next keyframe, maps each capture time from the station's
//! clock to the console's through the session's clock sync, and hands every frame to whoever
//! subscribed (`VideoFeed::subscribe`: the page's video socket, a benchmark), as
//! `Arc<EncodedFrame>`. Nothing here decodes a picture: the browser does.

use crate::capture_pacer::{CapturePacer, PaintReport};
use bytes::Bytes;
use proto::video::{VideoCodec, VideoHeader, decode_video_frame, h264_codec_string};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::broadcast;

/// Frames held while the one before them may still arrive (its stream finished later); one
/// more and the missing frame counts as lost.
const MAX_HELD: usize = 3;
/// Frames a subscriber may fall behind by before it is told it lagged (and then resumes at the
/// next keyframe).
const SUBSCRIBER_BACKLOG: usize = 8;

/// One encoded picture from the station's camera.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedFrame {
    /// The camera's frame number (from 1 per station run).
    pub seq: u64,
    /// When the camera captured it, µs on the station's clock.
    pub capture_station_us: i64,
    /// The same instant on the console's clock (µs since its epoch), by clock sync; `None` before
    /// the first clock-sync exchange.
    pub capture_console_us: Option<i64>,
    /// When the console had the whole frame, µs on its clock.
    pub received_console_us: i64,
    pub keyframe: bool,
    /// The WebCodecs codec string (`avc1.42c01f`), from the stream's newest SPS.
    pub codec: String,
    pub width: u16,
    pub height: u16,
    /// The newest control command the station had applied when the pictured pose was measured.
    pub applied_seq: u64,
    /// The pictured tool tip as measured, µm in the arm's base frame.
    pub tip_um: [i32; 3],
    /// H.264 Annex-B.
    pub data: Bytes,
}

/// What the console's video end has seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct VideoFeedStats {
    /// Frames handed to subscribers.
    pub frames: u64,
    /// Frames that arrived after a newer one (their stream was slower).
    pub out_of_order: u64,
    /// Frames skipped because a picture they depend on never arrived.
    pub waiting_for_keyframe: u64,
    /// Streams that were not a valid video frame.
    pub malformed: u64,
    /// Capture shifts asked of the station's camera (display-locked capture).
    pub capture_shifts_asked: u64,
}

/// Where frames come in and subscribers take them; cheap to clone.
#[derive(Clone)]
pub struct VideoFeed {
    inner: Arc<Inner>,
}

struct Inner {
    epoch: Instant,
    frames: broadcast::Sender<Arc<EncodedFrame>>,
    /// The station clock's zero on the console's clock (µs), once synchronised.
    station_zero_us: AtomicI64,
    synced: AtomicBool,
    order: Mutex<Order>,
    handed: AtomicU64,
    out_of_order: AtomicU64,
    skipped: AtomicU64,
    malformed: AtomicU64,
    /// Display-locked capture: whether the page's paint reports move the camera's phase, the
    /// pacer, and the shift (µs) waiting for the session to send it.
    pacing: AtomicBool,
    pacer: Mutex<CapturePacer>,
    capture_shift_us: AtomicI64,
    shifts_asked: AtomicU64,
}

struct Order {
    last_seq: u64,
    broken: bool,
    codec: Option<String>,
    /// Frames that arrived before the one they follow, by seq.
    held: BTreeMap<u64, Arrived>,
}

/// A frame waiting for the one before it.
struct Arrived {
    header: VideoHeader,
    data: Bytes,
    received_console_us: i64,
}

impl std::fmt::Debug for VideoFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoFeed")
            .field("stats", &self.stats())
            .finish()
    }
}

/// Reads the rest of one video stream (its first four bytes, the magic, already read) and hands
/// the frame to the feed; a stream reset by the station (the frame was late) is simply dropped.
pub(crate) async fn read_frame(mut stream: quinn::RecvStream, first: [u8; 4], feed: VideoFeed) {
    let limit = proto::video::VIDEO_HEADER_LEN + proto::video::MAX_VIDEO_FRAME_LEN;
    let Ok(rest) = stream.read_to_end(limit).await else {
        return;
    };
    let mut bytes = Vec::with_capacity(4 + rest.len());
    bytes.extend_from_slice(&first);
    bytes.extend_from_slice(&rest);
    feed.on_stream(Bytes::from(bytes));
}

impl VideoFeed {
    /// A feed whose console clock starts at `epoch` (the console run's).
    pub fn new(epoch: Instant) -> Self {
        let (frames, _) = broadcast::channel(SUBSCRIBER_BACKLOG);
        Self {
            inner: Arc::new(Inner {
                epoch,
                frames,
                station_zero_us: AtomicI64::new(0),
                synced: AtomicBool::new(false),
                order: Mutex::new(Order {
                    last_seq: 0,
                    broken: true,
                    codec: None,
                    held: BTreeMap::new(),
                }),
                handed: AtomicU64::new(0),
                out_of_order: AtomicU64::new(0),
                skipped: AtomicU64::new(0),
                malformed: AtomicU64::new(0),
                pacing: AtomicBool::new(true),
                pacer: Mutex::new(CapturePacer::default()),
                capture_shift_us: AtomicI64::new(0),
                shifts_asked: AtomicU64::new(0),
            }),
        }
    }

    /// Display-locked capture on (the default) or off: with it off, the page's paint reports
    /// are read but the camera's phase is left where it is.
    pub fn set_pacing(&self, on: bool) {
        self.inner.pacing.store(on, Ordering::Relaxed);
    }

    /// A page's paint report: the pacer may ask the camera for a capture shift.
    pub fn on_paint_report(&self, report: &PaintReport) {
        if !self.inner.pacing.load(Ordering::Relaxed) {
            return;
        }
        let shift = self
            .inner
            .pacer
            .lock()
            .ok()
            .and_then(|mut pacer| pacer.on_report(report));
        if let Some(shift) = shift {
            self.inner
                .capture_shift_us
                .fetch_add(shift, Ordering::Relaxed);
            self.inner.shifts_asked.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The capture shift (µs) waiting to be sent to the station, if any; taken once.
    pub fn take_capture_shift(&self) -> Option<i64> {
        let shift = self.inner.capture_shift_us.swap(0, Ordering::Relaxed);
        (shift != 0).then_some(shift)
    }

    /// Every frame from now on, in capture order. A subscriber that falls `SUBSCRIBER_BACKLOG`
    /// frames behind gets `RecvError::Lagged` and should wait for the next keyframe.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<EncodedFrame>> {
        self.inner.frames.subscribe()
    }

    /// The console clock's zero.
    pub fn epoch(&self) -> Instant {
        self.inner.epoch
    }

    pub fn stats(&self) -> VideoFeedStats {
        let i = &self.inner;
        VideoFeedStats {
            frames: i.handed.load(Ordering::Relaxed),
            out_of_order: i.out_of_order.load(Ordering::Relaxed),
            waiting_for_keyframe: i.skipped.load(Ordering::Relaxed),
            malformed: i.malformed.load(Ordering::Relaxed),
            capture_shifts_asked: i.shifts_asked.load(Ordering::Relaxed),
        }
    }

    /// The clock sync's newest estimate: the station clock's zero on the console's clock (µs).
    pub fn set_station_zero(&self, console_us: i64) {
        self.inner
            .station_zero_us
            .store(console_us, Ordering::Relaxed);
        self.inner.synced.store(true, Ordering::Relaxed);
    }

    /// A new connection: the station may have restarted, so numbering and pictures start over.
    pub fn on_connected(&self) {
        if let Ok(mut order) = self.inner.order.lock() {
            order.last_seq = 0;
            order.broken = true;
            order.held.clear();
        }
    }

    /// One whole stream from the station that starts with the video magic.
    pub fn on_stream(&self, bytes: Bytes) {
        let received_console_us = self.inner.epoch.elapsed().as_micros() as i64;
        let (header, data) = match decode_video_frame(&bytes) {
            Ok((header, data)) => (header, bytes.slice_ref(data)),
            Err(e) => {
                tracing::debug!(
                    reason = e.reason(),
                    "malformed video frame from the station"
                );
                self.inner.malformed.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        let Ok(mut order) = self.inner.order.lock() else {
            return;
        };
        let seq = header.seq;
        if seq <= order.last_seq {
            self.inner.out_of_order.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let arrived = Arrived {
            header,
            data,
            received_console_us,
        };
        if header.keyframe || seq == order.last_seq + 1 {
            // A keyframe needs nothing before it: frames held for a gap before it are dropped.
            let stale = order.held.keys().take_while(|&&s| s < seq).count() as u64;
            order.held.retain(|&s, _| s > seq);
            self.inner.skipped.fetch_add(stale, Ordering::Relaxed);
            self.hand_on(&mut order, arrived);
            // Frames that arrived early (their streams finished first) follow in order.
            loop {
                let following = order.last_seq + 1;
                let Some(next) = order.held.remove(&following) else {
                    break;
                };
                self.hand_on(&mut order, next);
            }
            return;
        }
        // A gap: the missing frame may still come (its stream finished later), or it was reset.
        order.held.insert(seq, arrived);
        if order.held.len() > MAX_HELD {
            // It was lost: the pictures after it may refer to it. Wait for a keyframe.
            let held = std::mem::take(&mut order.held);
            self.inner
                .skipped
                .fetch_add(held.len() as u64, Ordering::Relaxed);
            order.last_seq = held.keys().next_back().copied().unwrap_or(order.last_seq);
            order.broken = true;
        }
    }

    /// Hands one frame that follows the last one (or a keyframe) to the subscribers.
    fn hand_on(&self, order: &mut Order, arrived: Arrived) {
        let Arrived {
            header,
            data,
            received_console_us,
        } = arrived;
        order.last_seq = header.seq;
        if header.keyframe {
            order.broken = false;
            if let Some(codec) = match header.codec {
                VideoCodec::H264AnnexB => h264_codec_string(&data),
            } {
                order.codec = Some(codec);
            }
        }
        let codec = match (&order.codec, order.broken) {
            (Some(codec), false) => codec.clone(),
            _ => {
                self.inner.skipped.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        let capture_console_us = self.inner.synced.load(Ordering::Relaxed).then(|| {
            header.capture_station_us + self.inner.station_zero_us.load(Ordering::Relaxed)
        });
        let frame = EncodedFrame {
            seq: header.seq,
            capture_station_us: header.capture_station_us,
            capture_console_us,
            received_console_us,
            keyframe: header.keyframe,
            codec,
            width: header.width,
            height: header.height,
            applied_seq: header.applied_seq,
            tip_um: header.tip_um,
            data,
        };
        self.inner.handed.fetch_add(1, Ordering::Relaxed);
        // No subscriber is not an error: nobody is watching.
        let _ = self.inner.frames.send(Arc::new(frame));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::video::encode_video_frame;

    const SPS: [u8; 8] = [0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f];

    fn stream(seq: u64, keyframe: bool) -> Bytes {
        let header = VideoHeader {
            keyframe,
            codec: VideoCodec::H264AnnexB,
            width: 1280,
            height: 720,
            seq,
            capture_station_us: 1_000 * seq as i64,
            applied_seq: seq,
            tip_um: [0, 0, -113_500],
            data_len: 0,
        };
        let picture: &[u8] = if keyframe { &SPS } else { &[0, 0, 1, 0x41] };
        let mut out = Vec::new();
        encode_video_frame(&header, picture, &mut out).unwrap();
        Bytes::from(out)
    }

    fn seqs(rx: &mut broadcast::Receiver<Arc<EncodedFrame>>) -> Vec<u64> {
        std::iter::from_fn(|| rx.try_recv().ok().map(|f| f.seq)).collect()
    }

    #[test]
    fn frames_come_in_capture_order_from_a_keyframe_with_console_times() {
        let feed = VideoFeed::new(Instant::now());
        let mut rx = feed.subscribe();
        feed.on_stream(stream(1, false)); // no keyframe yet: undecodable
        feed.set_station_zero(500);
        feed.on_stream(stream(2, true));
        feed.on_stream(stream(4, false)); // its stream finished before 3's
        feed.on_stream(stream(3, false));
        feed.on_stream(stream(3, false)); // a duplicate
        // 6 lost (reset at the station): 7, 8, 9 wait for it, 10 gives it up.
        for seq in [5, 7, 8, 9, 10, 11] {
            feed.on_stream(stream(seq, false));
        }
        feed.on_stream(stream(12, true));
        feed.on_stream(stream(13, false));
        feed.on_stream(Bytes::from_static(b"MLV1 but short"));
        let frames: Vec<_> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        assert_eq!(
            frames.iter().map(|f| f.seq).collect::<Vec<_>>(),
            [2, 3, 4, 5, 12, 13]
        );
        assert_eq!(frames[0].capture_console_us, Some(2_000 + 500));
        assert_eq!(frames[0].codec, "avc1.42c01f");
        assert!(frames[0].keyframe && !frames[1].keyframe);
        assert_eq!(
            feed.stats(),
            VideoFeedStats {
                frames: 6,
                out_of_order: 1,
                waiting_for_keyframe: 6,
                malformed: 1,
                capture_shifts_asked: 0,
            }
        );
    }

    #[test]
    fn paint_reports_ask_for_a_capture_shift_once_and_only_with_pacing_on() {
        // 30 fps frames ready 10 ms after capture, painted on a 60 Hz grid 12 ms after being
        // drawn: the camera's phase moves.
        let period = 1000.0 / 60.0;
        let report = crate::capture_pacer::PaintReport {
            frames: (0..crate::capture_pacer::WINDOW)
                .map(|i| {
                    let capture = i as f64 * 2.0 * period;
                    [capture, capture + 10.0, capture + 22.0]
                })
                .collect(),
            display_period_ms: period,
        };
        let feed = VideoFeed::new(Instant::now());
        feed.set_pacing(false);
        feed.on_paint_report(&report);
        assert_eq!(feed.take_capture_shift(), None);
        feed.set_pacing(true);
        feed.on_paint_report(&report);
        let shift = feed.take_capture_shift().expect("a shift");
        // Painted at 5.33 ms on the refresh grid, ready 10 ms after capture: capture at 11.5 ms
        // on the grid, always later (11.5 ms later rather than 5.17 ms earlier).
        assert_eq!(shift, 11_500, "drawn 0.5 ms before the refresh");
        assert_eq!(feed.take_capture_shift(), None, "taken once");
        assert_eq!(feed.stats().capture_shifts_asked, 1);
    }

    #[test]
    fn a_keyframe_ends_the_wait_for_a_lost_frame() {
        let feed = VideoFeed::new(Instant::now());
        let mut rx = feed.subscribe();
        feed.on_stream(stream(1, true));
        feed.on_stream(stream(3, false)); // 2 lost; 3 waits
        feed.on_stream(stream(4, true)); // the keyframe the station sent after the loss
        feed.on_stream(stream(5, false));
        feed.on_stream(stream(2, false)); // too late
        assert_eq!(seqs(&mut rx), [1, 4, 5]);
    }

    #[test]
    fn a_new_connection_starts_the_numbering_over() {
        let feed = VideoFeed::new(Instant::now());
        let mut rx = feed.subscribe();
        feed.on_stream(stream(10, true));
        feed.on_connected();
        feed.on_stream(stream(1, false));
        feed.on_stream(stream(2, true));
        assert_eq!(seqs(&mut rx), [10, 2]);
    }
}
