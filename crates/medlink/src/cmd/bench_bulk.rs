//! Control latency with and without bulk traffic on the same QUIC connection, in one run, through
//! the netem relay under `5g-embb`: 1 kHz control datagrams (console → station) alone, then the
//! same while the station sends 20 Mbit/s of stand-in video frames (station → console, as the
//! video channel does), one low-priority unidirectional stream per frame. QUIC datagrams go ahead of streams in quinn,
//! and the sender never queues control behind control. `medlink bench link --with-bulk` calls
//! `run_with_bulk`.

use anyhow::Context;
use bytes::Bytes;
use link::relay::{Relay, RelayConfig};
use link::{Identity, PkiPaths};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use teleop::LatencyRecorder;

const PHASE: Duration = Duration::from_secs(4);
const BULK_MBIT_S: f64 = 20.0;
const FRAMES_PER_S: f64 = 30.0;
const CONTROL_BYTES: usize = 96;
const BULK_CHUNK_BYTES: usize = 4096;

/// Prints both p99 figures, their ratio, and JSON with `json`.
pub fn run_with_bulk(json: bool) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let (alone, with_bulk, frames) = runtime.block_on(measure())?;
    let ratio = with_bulk.p99 / alone.p99.max(1.0);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "profile": "5g-embb",
                "control_alone_us": alone,
                "control_with_bulk_us": with_bulk,
                "bulk_mbit_s": BULK_MBIT_S,
                "bulk_frames_delivered": frames,
                "p99_ratio": ratio,
            }))?
        );
    } else {
        println!("control latency through the 5g-embb relay, one connection, one run:");
        println!(
            "  control alone        p50 {:.2} ms, p99 {:.2} ms ({} datagrams)",
            alone.p50 / 1e3,
            alone.p99 / 1e3,
            alone.count
        );
        println!(
            "  with {BULK_MBIT_S} Mbit/s bulk  p50 {:.2} ms, p99 {:.2} ms ({} datagrams, {frames} frames)",
            with_bulk.p50 / 1e3,
            with_bulk.p99 / 1e3,
            with_bulk.count
        );
        println!("  p99 ratio (with bulk / alone): {ratio:.3}");
    }
    Ok(())
}

type Recorder = Arc<Mutex<LatencyRecorder>>;

async fn measure() -> anyhow::Result<(teleop::Percentiles, teleop::Percentiles, u64)> {
    let pki = tempfile::tempdir().context("temporary PKI directory")?;
    link::pki::init(pki.path(), &["localhost".into()], false)?;
    let server = link::server_endpoint(
        "127.0.0.1:0".parse()?,
        Identity::load(&PkiPaths::in_dir(pki.path(), "station"))?,
    )?;
    let relay = Relay::start(&RelayConfig {
        listen: "127.0.0.1:0".parse()?,
        forward: server.local_addr()?,
        profile: netem::Profile::resolve("5g-embb")?,
        seed: 1,
    })?;
    let epoch = Instant::now();
    let recorder: Recorder = Arc::new(Mutex::new(LatencyRecorder::with_capacity(20_000)));
    let frames = Arc::new(Mutex::new(0u64));
    let receiver = tokio::spawn(receive(server.clone(), epoch, recorder.clone()));
    let client = link::client_endpoint(
        Identity::load(&PkiPaths::in_dir(pki.path(), "console"))?,
        relay.local_addr(),
    )?;
    let connection = link::connect(&client, relay.local_addr(), "localhost").await?;
    let drain = tokio::spawn(count_frames(connection.clone(), frames.clone()));
    send_control(&connection, epoch, PHASE, false).await;
    let alone = swap(&recorder);
    send_control(&connection, epoch, PHASE, true).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    drain.abort();
    let with_bulk = swap(&recorder);
    connection.close(0u32.into(), b"done");
    receiver.abort();
    let delivered = *frames.lock().unwrap_or_else(|e| e.into_inner());
    relay.stop();
    Ok((alone, with_bulk, delivered))
}

/// The phase's percentiles, and a fresh recorder for the next phase.
fn swap(recorder: &Recorder) -> teleop::Percentiles {
    let mut r = recorder.lock().unwrap_or_else(|e| e.into_inner());
    let p = r.percentiles();
    *r = LatencyRecorder::with_capacity(20_000);
    p
}

/// The station side: records control latency, and starts the bulk frames when the console's
/// datagrams say the second phase began.
async fn receive(server: quinn::Endpoint, epoch: Instant, recorder: Recorder) {
    let Some(connection) = link::accept_session(&server).await else {
        return;
    };
    let mut bulk_started = false;
    while let Ok(datagram) = connection.read_datagram().await {
        let Some(stamp) = datagram.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()) else {
            continue;
        };
        let sent_ns = u64::from_le_bytes(stamp);
        let now_ns = epoch.elapsed().as_nanos() as u64;
        recorder
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record_ns(now_ns.saturating_sub(sent_ns));
        if !bulk_started && datagram.get(8) == Some(&1) {
            bulk_started = true;
            tokio::spawn(send_bulk(connection.clone(), PHASE));
        }
    }
}

/// The console side of the bulk channel: reads every frame to its end and counts it.
async fn count_frames(connection: quinn::Connection, frames: Arc<Mutex<u64>>) {
    while let Ok(mut stream) = connection.accept_uni().await {
        let frames = frames.clone();
        tokio::spawn(async move {
            if stream.read_to_end(1 << 20).await.is_ok() {
                *frames.lock().unwrap_or_else(|e| e.into_inner()) += 1;
            }
        });
    }
}

/// 1 kHz control datagrams stamped with their send time; skipped, never queued, when quinn's
/// datagram buffer still holds older ones.
async fn send_control(
    connection: &quinn::Connection,
    epoch: Instant,
    phase: Duration,
    with_bulk: bool,
) {
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let end = Instant::now() + phase;
    let mut payload = vec![0u8; CONTROL_BYTES];
    payload[8] = u8::from(with_bulk);
    while Instant::now() < end {
        tick.tick().await;
        if connection.datagram_send_buffer_space() < CONTROL_BYTES * 4 {
            continue;
        }
        let stamp = epoch.elapsed().as_nanos() as u64;
        payload[..8].copy_from_slice(&stamp.to_le_bytes());
        let _ = connection.send_datagram(Bytes::copy_from_slice(&payload));
    }
}

/// Stand-in video: one unidirectional stream per frame at `BULK_MBIT_S`, lowest priority, each
/// frame written in small chunks spread over its frame interval, so the bulk never bursts into
/// the bottleneck queue that control datagrams share.
async fn send_bulk(connection: quinn::Connection, phase: Duration) {
    let frame_bytes = (BULK_MBIT_S * 1e6 / 8.0 / FRAMES_PER_S) as usize;
    let chunks_per_frame = frame_bytes.div_ceil(BULK_CHUNK_BYTES);
    let chunk = Bytes::from(vec![0x5au8; BULK_CHUNK_BYTES]);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(
        1.0 / (FRAMES_PER_S * chunks_per_frame as f64),
    ));
    let end = Instant::now() + phase;
    while Instant::now() < end {
        let Ok(mut stream) = connection.open_uni().await else {
            return;
        };
        let _ = stream.set_priority(-1);
        for _ in 0..chunks_per_frame {
            tick.tick().await;
            if stream.write_chunk(chunk.clone()).await.is_err() {
                break;
            }
        }
        let _ = stream.finish();
    }
}
