//! `medlink bench link`: one-way control-message latency through our whole path (encode, QUIC
//! datagram with TLS, decode, inverse kinematics and supervisor in the station core) against raw
//! UDP on loopback, measured in the same run, paced at 1 kHz and unpaced (one message in flight).
//! Both paths run their threads as the station and console do: senders and receivers with 1 ns
//! timer slack and real-time priority where permitted.

use anyhow::Context;
use clap::Args;
use link::stats::{LatencyRecorder, Percentiles};
use proto::datagram::MAX_DATAGRAM_LEN;
use proto::{ControlCommand, Datagram};
use safety::{Request, SupervisorConfig};
use serde_json::json;
use station::{Inbound, StationCore};
use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct BenchLinkArgs {
    /// Messages per path and mode.
    #[arg(long, default_value_t = 10_000)]
    messages: usize,
    /// Pin every thread of the run to CPU 0 (stable figures; see reference/network.md §2).
    #[arg(long)]
    pin: bool,
    /// Instead: control latency p99 through the `5g-embb` relay without and with 20 Mbit/s of
    /// bulk frames on the same connection, and their ratio (docs/network.md).
    #[arg(long)]
    with_bulk: bool,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// One message per millisecond, absolute deadlines.
    Paced,
    /// The next message leaves as soon as the previous one was processed.
    Unpaced,
}

/// Send times (ns since the run's epoch) by sequence number, shared by sender and receiver.
struct Timeline {
    epoch: Instant,
    sent_ns: Vec<AtomicU64>,
    processed: AtomicU64,
    done: AtomicBool,
    pin: bool,
}

impl Timeline {
    fn new(messages: usize, pin: bool) -> Arc<Self> {
        Arc::new(Self {
            epoch: Instant::now(),
            sent_ns: (0..=messages).map(|_| AtomicU64::new(0)).collect(),
            processed: AtomicU64::new(0),
            done: AtomicBool::new(false),
            pin,
        })
    }

    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// Records the arrival of `seq`; returns its one-way latency.
    fn arrived(&self, seq: u64) -> Option<u64> {
        let sent = self.sent_ns.get(seq as usize)?.load(Ordering::Acquire);
        self.processed.store(seq, Ordering::Release);
        (sent > 0).then(|| self.now_ns().saturating_sub(sent))
    }
}

/// A valid command toward the arm's start pose, so the whole station path runs (IK, supervisor).
fn command(seq: u64) -> ControlCommand {
    let start = robot::script::SurgicalScript::psm_start_joints();
    let tip = robot::Psm::dvrk_classic().forward(&start);
    ControlCommand {
        seq,
        sent_at_us: 0,
        target: link::wire::pose_to_wire(&tip),
        jaw_rad: 0.0,
    }
}

/// Encodes command `seq`, stamped with the run's clock, into `buf`; returns its length.
fn encode(timeline: &Timeline, seq: u64, buf: &mut [u8; MAX_DATAGRAM_LEN]) -> usize {
    let mut cmd = command(seq);
    cmd.sent_at_us = timeline.epoch.elapsed().as_micros() as i64;
    Datagram::Control(cmd).encode(buf)
}

/// Unpaced mode: whether message `seq - 1` was processed, or 100 ms have passed since `since`.
fn may_send_next(timeline: &Timeline, seq: u64, since: Instant) -> bool {
    timeline.processed.load(Ordering::Acquire) >= seq - 1
        || since.elapsed() >= Duration::from_millis(100)
}

/// After an unpaced wait: 1 if message `seq - 1` never arrived.
fn lost_before(timeline: &Timeline, seq: u64) -> u64 {
    u64::from(timeline.processed.load(Ordering::Acquire) < seq - 1)
}

/// Stamps the send time of `seq` just before it leaves.
fn mark_sent(timeline: &Timeline, seq: u64) {
    timeline.sent_ns[seq as usize].store(timeline.now_ns(), Ordering::Release);
}

/// Lets the last messages land, then tells the receiver to stop.
fn finish(timeline: &Timeline) {
    std::thread::sleep(Duration::from_millis(50));
    timeline.done.store(true, Ordering::Release);
}

/// Raw UDP's sender: a thread paced by `Pacer` (or closed-loop); returns how many were lost.
fn drive(timeline: &Timeline, mode: Mode, messages: usize, mut send: impl FnMut(&[u8])) -> u64 {
    pin_if_asked(timeline.pin);
    let mut buf = [0u8; MAX_DATAGRAM_LEN];
    let mut pacer = link::Pacer::new(Duration::from_millis(1));
    let mut lost = 0;
    for seq in 1..=messages as u64 {
        let n = encode(timeline, seq, &mut buf);
        match mode {
            Mode::Paced => {
                pacer.wait();
            }
            Mode::Unpaced => {
                let since = Instant::now();
                while !may_send_next(timeline, seq, since) {
                    std::hint::spin_loop();
                    std::thread::yield_now();
                }
                lost += lost_before(timeline, seq);
            }
        }
        mark_sent(timeline, seq);
        send(&buf[..n]);
    }
    finish(timeline);
    lost
}

/// Our sender, as the console's: a task of the QUIC client's current-thread runtime paced by
/// `AsyncPacer`, so the thread that sends a command also encrypts and transmits its packet.
async fn drive_quic(
    timeline: &Timeline,
    mode: Mode,
    messages: usize,
    connection: &quinn::Connection,
) -> anyhow::Result<u64> {
    pin_if_asked(timeline.pin);
    let mut buf = [0u8; MAX_DATAGRAM_LEN];
    let mut pacer = link::AsyncPacer::new(Duration::from_millis(1))?;
    let mut lost = 0;
    for seq in 1..=messages as u64 {
        let n = encode(timeline, seq, &mut buf);
        match mode {
            Mode::Paced => {
                pacer.wait().await?;
            }
            Mode::Unpaced => {
                let since = Instant::now();
                while !may_send_next(timeline, seq, since) {
                    tokio::task::yield_now().await;
                }
                lost += lost_before(timeline, seq);
            }
        }
        mark_sent(timeline, seq);
        let _ = connection.send_datagram(bytes::Bytes::copy_from_slice(&buf[..n]));
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    timeline.done.store(true, Ordering::Release);
    Ok(lost)
}

fn pin_if_asked(pin: bool) {
    #[cfg(target_os = "linux")]
    if pin {
        // SAFETY: the CPU set is a plain value initialised by CPU_ZERO before use.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_ZERO(&mut set);
            libc::CPU_SET(0, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        }
    }
}

/// Raw UDP: a blocking receiver thread that only timestamps arrivals.
fn measure_udp(mode: Mode, messages: usize, pin: bool) -> anyhow::Result<(Percentiles, u64)> {
    let timeline = Timeline::new(messages, pin);
    let receiver = UdpSocket::bind("127.0.0.1:0")?;
    receiver.set_read_timeout(Some(Duration::from_millis(20)))?;
    let target = receiver.local_addr()?;
    let sender = UdpSocket::bind("127.0.0.1:0")?;
    let rx_timeline = timeline.clone();
    let rx = std::thread::spawn(move || {
        pin_if_asked(rx_timeline.pin);
        link::pacer::tune_current_thread();
        let mut recorder = LatencyRecorder::with_capacity(messages);
        let mut buf = [0u8; 2048];
        while !rx_timeline.done.load(Ordering::Acquire) {
            if let Ok(n) = receiver.recv(&mut buf)
                && let Ok(Datagram::Control(cmd)) = Datagram::decode(&buf[..n])
                && let Some(ns) = rx_timeline.arrived(cmd.seq)
            {
                recorder.record_ns(ns);
            }
        }
        recorder.percentiles()
    });
    let lost = drive(&timeline, mode, messages, |bytes| {
        let _ = sender.send_to(bytes, target);
    });
    let percentiles = rx
        .join()
        .map_err(|_| anyhow::anyhow!("UDP receiver thread panicked"))?;
    Ok((
        percentiles,
        lost.max(messages as u64 - percentiles.count as u64),
    ))
}

/// Ours: QUIC with mutual TLS, decode, inverse kinematics and the supervisor of the station core.
fn measure_ours(
    mode: Mode,
    messages: usize,
    pin: bool,
    pki: &std::path::Path,
) -> anyhow::Result<(Percentiles, u64)> {
    let timeline = Timeline::new(messages, pin);
    let station_identity = link::Identity::load(&link::PkiPaths::in_dir(pki, "station"))?;
    let console_identity = link::Identity::load(&link::PkiPaths::in_dir(pki, "console"))?;
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let rx_timeline = timeline.clone();
    let receiver = std::thread::spawn(move || -> anyhow::Result<Percentiles> {
        pin_if_asked(rx_timeline.pin);
        link::pacer::tune_current_thread();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let endpoint = link::server_endpoint("127.0.0.1:0".parse()?, station_identity)?;
            addr_tx.send(endpoint.local_addr()?)?;
            let connection = link::accept_session(&endpoint)
                .await
                .context("no session")?;
            let start = robot::script::SurgicalScript::psm_start_joints();
            let now = || rx_timeline.epoch.elapsed();
            let mut core = StationCore::new(SupervisorConfig::default(), start, now())?;
            core.handle(Inbound::Request(Request::Enable), now())
                .map_err(anyhow::Error::msg)?;
            core.handle(Inbound::Request(Request::Engage { from_seq: 1 }), now())
                .map_err(anyhow::Error::msg)?;
            let mut recorder = LatencyRecorder::with_capacity(messages);
            while !rx_timeline.done.load(Ordering::Acquire) {
                let Ok(Ok(bytes)) =
                    tokio::time::timeout(Duration::from_millis(20), connection.read_datagram())
                        .await
                else {
                    continue;
                };
                if let Ok(Datagram::Control(cmd)) = Datagram::decode(&bytes) {
                    let t = now();
                    let _ = core.handle(
                        Inbound::Command {
                            cmd,
                            issued_at: Some(t),
                            received_at: t,
                        },
                        t,
                    );
                    if let Some(ns) = rx_timeline.arrived(cmd.seq) {
                        recorder.record_ns(ns);
                    }
                }
            }
            connection.close(0u32.into(), b"done");
            Ok(recorder.percentiles())
        })
    });
    let addr = addr_rx
        .recv()
        .context("the QUIC receiver failed to start")?;
    let client_timeline = timeline.clone();
    let client = std::thread::spawn(move || -> anyhow::Result<u64> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let endpoint = link::client_endpoint(console_identity, addr)?;
            let connection = link::connect(&endpoint, addr, "localhost").await?;
            let lost = drive_quic(&client_timeline, mode, messages, &connection).await?;
            connection.close(0u32.into(), b"done");
            endpoint.wait_idle().await;
            Ok(lost)
        })
    });
    let lost = client
        .join()
        .map_err(|_| anyhow::anyhow!("QUIC client thread panicked"))??;
    let percentiles = receiver
        .join()
        .map_err(|_| anyhow::anyhow!("QUIC receiver thread panicked"))??;
    Ok((
        percentiles,
        lost.max(messages as u64 - percentiles.count as u64),
    ))
}

struct ModeResult {
    mode: Mode,
    ours: Percentiles,
    udp: Percentiles,
    ours_lost: u64,
    udp_lost: u64,
}

impl ModeResult {
    fn ratio_p50(&self) -> f64 {
        if self.udp.p50 > 0.0 {
            self.ours.p50 / self.udp.p50
        } else {
            f64::NAN
        }
    }

    fn to_json(&self) -> serde_json::Value {
        let pct =
            |p: &Percentiles| json!({"p50": p.p50, "p99": p.p99, "p999": p.p999, "max": p.max});
        json!({
            "ours_us": pct(&self.ours),
            "udp_us": pct(&self.udp),
            "ratio_p50": self.ratio_p50(),
            "ratio_p999": if self.udp.p999 > 0.0 { self.ours.p999 / self.udp.p999 } else { f64::NAN },
            "ours_lost": self.ours_lost,
            "udp_lost": self.udp_lost,
        })
    }
}

pub fn run(args: BenchLinkArgs) -> anyhow::Result<()> {
    if args.with_bulk {
        return super::bench_bulk::run_with_bulk(args.json);
    }
    anyhow::ensure!(args.messages >= 100, "--messages must be at least 100");
    let pki = tempfile::tempdir()?;
    link::pki::init(pki.path(), &["localhost".into()], false)?;
    let mut results = Vec::new();
    for mode in [Mode::Paced, Mode::Unpaced] {
        if !args.json {
            eprintln!(
                "measuring {mode:?}: {} messages over QUIC, then over raw UDP ...",
                args.messages
            );
        }
        let (ours, ours_lost) = measure_ours(mode, args.messages, args.pin, pki.path())?;
        let (udp, udp_lost) = measure_udp(mode, args.messages, args.pin)?;
        results.push(ModeResult {
            mode,
            ours,
            udp,
            ours_lost,
            udp_lost,
        });
    }
    if args.json {
        let paced = results[0].to_json();
        let out = json!({
            "ours_us": paced["ours_us"],
            "udp_us": paced["udp_us"],
            "ratio_p50": paced["ratio_p50"],
            "paced_1khz": paced,
            "unpaced": results[1].to_json(),
            "messages": args.messages,
            "pinned": args.pin,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "one-way control latency on loopback, µs ({} messages per row{})",
        args.messages,
        if args.pin { ", pinned to CPU 0" } else { "" }
    );
    println!(
        "{:<10} {:<28} {:>8} {:>8} {:>8} {:>8} {:>6}",
        "mode", "path", "p50", "p99", "p99.9", "max", "lost"
    );
    for r in &results {
        let mode = if r.mode == Mode::Paced {
            "1 kHz"
        } else {
            "unpaced"
        };
        for (name, p, lost) in [
            ("ours (QUIC+TLS+supervisor)", &r.ours, r.ours_lost),
            ("raw UDP", &r.udp, r.udp_lost),
        ] {
            println!(
                "{mode:<10} {name:<28} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {lost:>6}",
                p.p50, p.p99, p.p999, p.max
            );
        }
        println!(
            "{mode:<10} {:<28} {:>8.2}",
            "ratio ours/UDP (p50)",
            r.ratio_p50()
        );
    }
    Ok(())
}
