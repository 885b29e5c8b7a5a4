//! The network thread's half of the video channel: each frame goes to each console on a
//! unidirectional stream of its own, below control datagrams, events and thermometry in priority.
//! A frame still in flight to a console when a newer one is ready is reset (its unsent bytes are
//! discarded and never retransmitted), so a frame never waits behind an older one and an old one
//! never delays a new one. What happened to each frame (delivered in time, late, dropped) feeds
//! the rate controller.

use super::{VideoChannel, VideoOut};
use crate::shared::Shared;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::oneshot;

/// Video streams go after everything else (control datagrams, events, thermometry at -1).
pub const VIDEO_PRIORITY: i32 = -2;

/// A console's video state on the network thread.
#[derive(Default)]
pub struct VideoPeer {
    in_flight: Option<oneshot::Sender<()>>,
}

/// Sends a frame to one console, resetting the one still in flight to it.
pub fn send_to(
    peer: &mut VideoPeer,
    connection: &quinn::Connection,
    frame: &VideoOut,
    channel: &Arc<VideoChannel>,
    shared: &Arc<Shared>,
) {
    if let Some(cancel) = peer.in_flight.take() {
        let _ = cancel.send(());
    }
    let (cancel, cancelled) = oneshot::channel();
    peer.in_flight = Some(cancel);
    tokio::spawn(deliver(
        connection.clone(),
        frame.bytes.clone(),
        cancelled,
        channel.clone(),
        shared.clone(),
    ));
}

async fn deliver(
    connection: quinn::Connection,
    bytes: bytes::Bytes,
    cancelled: oneshot::Receiver<()>,
    channel: Arc<VideoChannel>,
    shared: Arc<Shared>,
) {
    let started = Instant::now();
    let Ok(mut stream) = connection.open_uni().await else {
        return;
    };
    let _ = stream.set_priority(VIDEO_PRIORITY);
    let delivered = tokio::select! {
        done = async {
            stream.write_chunk(bytes).await.ok()?;
            stream.finish().ok()?;
            // Resolves once the console acknowledged every byte.
            stream.stopped().await.ok()
        } => done.is_some(),
        _ = cancelled => {
            // Superseded, or the console left: drop what is not yet delivered.
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
