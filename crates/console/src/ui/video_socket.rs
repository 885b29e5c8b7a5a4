//! The page's video socket: `GET /ws/video` upgrades to a WebSocket on which the console sends
//! each frame of the station's camera as one binary message, in capture order, starting at a
//! keyframe; a page that falls behind skips to the next keyframe rather than queueing old frames.
//! The page server merges `router` behind its own sign-in; the page decodes with WebCodecs
//! (`web/console/video.js`). The page sends back, as text, when its frames were captured, drawn
//! and painted (`capture_pacer::PaintReport`, JSON), from which the console paces the station's
//! camera (display-locked capture).
//!
//! Message layout (little-endian; times are µs as float64, exact below 2^53):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `MLW1` |
//! | 4 | 1 | flags: bit 0 keyframe |
//! | 5 | 1 | length L of the codec string |
//! | 6 | 2 | width (u16) |
//! | 8 | 2 | height (u16) |
//! | 10 | 2 | reserved |
//! | 12 | 8 | frame seq (f64) |
//! | 20 | 8 | capture time on the station's clock, µs (f64) |
//! | 28 | 8 | capture time on the console's clock, µs since its epoch (f64; NaN before clock sync) |
//! | 36 | 8 | when the console had the frame, µs on its clock (f64) |
//! | 44 | 8 | newest applied control command seq when the pose was measured (f64) |
//! | 52 | 24 | pictured tool tip, µm in the arm's base frame (3 × f64) |
//! | 76 | 8 | the console clock's epoch as Unix time, µs (f64) |
//! | 84 | L | codec string, ASCII (`avc1.42c01f`) |
//! | 84+L | rest | the H.264 Annex-B picture |

use crate::capture_pacer::PaintReport;
use crate::video::{EncodedFrame, VideoFeed};
use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::broadcast::error::RecvError;

pub const WS_MAGIC: [u8; 4] = *b"MLW1";
pub const WS_HEADER_LEN: usize = 84;

/// The `/ws/video` route over `frames`.
pub fn router(frames: VideoFeed) -> Router {
    Router::new()
        .route("/ws/video", get(upgrade))
        .with_state(frames)
}

async fn upgrade(State(feed): State<VideoFeed>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| forward(socket, feed))
}

/// The console clock's epoch as Unix time (µs).
fn epoch_unix_us(feed: &VideoFeed) -> f64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_micros() as f64);
    now - feed.epoch().elapsed().as_micros() as f64
}

async fn forward(mut socket: WebSocket, feed: VideoFeed) {
    let mut frames = feed.subscribe();
    let epoch_unix = epoch_unix_us(&feed);
    let mut need_keyframe = true;
    loop {
        tokio::select! {
            frame = frames.recv() => match frame {
                Ok(frame) => {
                    if need_keyframe && !frame.keyframe {
                        continue;
                    }
                    need_keyframe = false;
                    if socket.send(Message::Binary(message(&frame, epoch_unix))).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Lagged(_)) => need_keyframe = true,
                Err(RecvError::Closed) => return,
            },
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(Message::Text(text))) => match PaintReport::parse(&text) {
                    Ok(report) => feed.on_paint_report(&report),
                    Err(e) => tracing::warn!(error = %e, "the page's paint report was ignored"),
                },
                Some(Ok(_)) => {}
            },
        }
    }
}

/// One frame as the page receives it (the layout above).
pub fn message(frame: &EncodedFrame, epoch_unix_us: f64) -> Vec<u8> {
    let codec = frame.codec.as_bytes();
    let codec = &codec[..codec.len().min(255)];
    let mut out = Vec::with_capacity(WS_HEADER_LEN + codec.len() + frame.data.len());
    out.extend_from_slice(&WS_MAGIC);
    out.push(u8::from(frame.keyframe));
    out.push(codec.len() as u8);
    out.extend_from_slice(&frame.width.to_le_bytes());
    out.extend_from_slice(&frame.height.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    let times = [
        frame.seq as f64,
        frame.capture_station_us as f64,
        frame.capture_console_us.map_or(f64::NAN, |t| t as f64),
        frame.received_console_us as f64,
        frame.applied_seq as f64,
        f64::from(frame.tip_um[0]),
        f64::from(frame.tip_um[1]),
        f64::from(frame.tip_um[2]),
        epoch_unix_us,
    ];
    for v in times {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(codec);
    out.extend_from_slice(&frame.data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_layout_is_as_documented() {
        let frame = EncodedFrame {
            seq: 7,
            capture_station_us: 1_000,
            capture_console_us: None,
            received_console_us: 3_000,
            keyframe: true,
            codec: "avc1.42c01f".into(),
            width: 1280,
            height: 720,
            applied_seq: 9,
            tip_um: [1, -2, -113_500],
            data: bytes::Bytes::from_static(&[0, 0, 0, 1, 0x67]),
        };
        let m = message(&frame, 1.5e15);
        let f64_at = |i: usize| f64::from_le_bytes(m[i..i + 8].try_into().unwrap());
        assert_eq!(&m[0..4], b"MLW1");
        assert_eq!((m[4], m[5] as usize), (1, 11));
        assert_eq!(u16::from_le_bytes([m[6], m[7]]), 1280);
        assert_eq!(u16::from_le_bytes([m[8], m[9]]), 720);
        assert_eq!(f64_at(12), 7.0);
        assert_eq!(f64_at(20), 1_000.0);
        assert!(f64_at(28).is_nan());
        assert_eq!(f64_at(36), 3_000.0);
        assert_eq!(f64_at(44), 9.0);
        assert_eq!(f64_at(68), -113_500.0);
        assert_eq!(f64_at(76), 1.5e15);
        assert_eq!(&m[84..95], b"avc1.42c01f");
        assert_eq!(&m[95..], &[0, 0, 0, 1, 0x67]);
    }
}
