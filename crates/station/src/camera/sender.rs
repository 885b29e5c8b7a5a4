//! The network thread's half of the video channel: each frame goes to each console on a
//! unidirectional stream of its own, below control datagrams, events and thermometry in priority,
//! and each newer frame above every older one, so a frame never waits behind an older frame's
//! unsent bytes. A frame still unacknowledged when it is late (a round trip and three frame
//! intervals after its sending began) is reset when the next one is ready: its unsent bytes are discarded
//! and never retransmitted. What happened to each frame (delivered in time, late, dropped) feeds
//! the rate controller.

use super::{VideoChannel, VideoOut};
use crate::shared::Shared;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// The lowest video priority: below control (datagrams), events and thermometry (-1). Frame n
/// gets this plus n modulo `PRIORITY_SPAN`, so newer frames go first; once every 385 days at
/// 30 fps the count wraps and one frame goes after its predecessor.
pub const VIDEO_PRIORITY_FLOOR: i32 = -1_000_000_002;
const PRIORITY_SPAN: u64 = 1_000_000_000;

/// The stream priority of frame `seq`.
pub fn priority_of(seq: u64) -> i32 {
    VIDEO_PRIORITY_FLOOR + (seq % PRIORITY_SPAN) as i32
}

/// A frame not acknowledged a round trip and this many frame intervals after its sending began
/// is late: it is reset when the next frame is ready. (With one interval, heavy-tailed jitter on
/// a long-haul path reset one frame in thirteen, and each reset costs a keyframe.)
const LATE_AFTER_FRAMES: f64 = 3.0;

struct InFlight {
    started: Instant,
    cancel: oneshot::Sender<()>,
}

/// A console's video state on the network thread: the frames not yet acknowledged.
#[derive(Default)]
pub struct VideoPeer {
    in_flight: VecDeque<InFlight>,
}

/// Sends a frame to one console; resets the frames in flight to it that are already late.
pub fn send_to(
    peer: &mut VideoPeer,
    connection: &quinn::Connection,
    frame: &VideoOut,
    channel: &Arc<VideoChannel>,
    shared: &Arc<Shared>,
) {
    let late_after = connection.rtt() + Duration::from_secs_f64(LATE_AFTER_FRAMES / channel.fps);
    // A finished delivery dropped its receiver.
    peer.in_flight.retain(|f| !f.cancel.is_closed());
    while peer
        .in_flight
        .front()
        .is_some_and(|f| f.started.elapsed() > late_after)
    {
        if let Some(old) = peer.in_flight.pop_front() {
            let _ = old.cancel.send(());
        }
    }
    let (cancel, cancelled) = oneshot::channel();
    peer.in_flight.push_back(InFlight {
        started: Instant::now(),
        cancel,
    });
    tokio::spawn(deliver(
        connection.clone(),
        frame.clone(),
        cancelled,
        channel.clone(),
        shared.clone(),
    ));
}

async fn deliver(
    connection: quinn::Connection,
    frame: VideoOut,
    cancelled: oneshot::Receiver<()>,
    channel: Arc<VideoChannel>,
    shared: Arc<Shared>,
) {
    let started = Instant::now();
    let Ok(mut stream) = connection.open_uni().await else {
        return;
    };
    let _ = stream.set_priority(priority_of(frame.seq));
    let delivered = tokio::select! {
        done = async {
            stream.write_chunk(frame.bytes).await.ok()?;
            stream.finish().ok()?;
            // Resolves once the console acknowledged every byte.
            stream.stopped().await.ok()
        } => done.is_some(),
        _ = cancelled => {
            // Late, or the console left: drop what is not yet delivered.
            if stream.reset(0u32.into()).is_ok() {
                channel.on_dropped(shared.now());
            }
            return;
        }
    };
    if delivered {
        channel.on_delivered(started.elapsed(), connection.rtt(), shared.now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_frames_go_first_and_all_below_thermometry() {
        assert!(priority_of(2) > priority_of(1));
        assert!(priority_of(PRIORITY_SPAN - 1) < -1);
        assert!(priority_of(0) > i32::MIN);
    }
}
