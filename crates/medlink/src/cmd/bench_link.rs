//! `medlink bench link`: control latency through the production path against raw UDP, in one run.
//! Ours is a real station (network thread, lock-free queue, 1 kHz servo thread running the
//! session core) and a real console (its session core on a timerfd-paced QUIC runtime), with
//! clock sync, the hello and an explicit engage, on loopback with mutual TLS. Both share one clock
//! zero, so a measuring tap on the station's core entry point sees each command's true age: at
//! receipt by the network thread (comparable with raw UDP), and when the supervisor applied it
//! (through the queue and the servo tick). With `--record` the same run is made without and with
//! recording, and their p99 and missed deadlines are compared.

use super::bench_udp;
use clap::Args;
use console::ConsoleConfig;
use proto::Datagram;
use serde_json::json;
use station::{StationConfig, StationHandle};
use std::sync::Arc;
use std::time::{Duration, Instant};
use teleop::stats::AtomicHistogram;
use teleop::{Percentiles, StationInput, StationOutput, Tap};

/// Latencies up to this many µs are kept exactly; longer ones land in the last bin.
const HISTOGRAM_US: usize = 200_000;

#[derive(Args)]
pub struct BenchLinkArgs {
    /// Control commands per run (sent at 1 kHz).
    #[arg(long, default_value_t = 10_000)]
    messages: usize,
    /// Pin the raw-UDP threads and the console's thread to CPU 0 (reference/network.md §2).
    #[arg(long)]
    pin: bool,
    /// Also run with every session recorded (MCAP, in a temporary directory), and compare.
    #[arg(long, conflicts_with = "with_bulk")]
    record: bool,
    /// Instead: control latency p99 through the `5g-embb` relay without and with 20 Mbit/s of
    /// bulk frames on the same connection, and their ratio (docs/network.md).
    #[arg(long)]
    with_bulk: bool,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Watches the station core's entry point: each control datagram's receipt, and the verdict that
/// follows it. Allocation-free; runs on the servo thread.
struct LatencyTap {
    received: Arc<AtomicHistogram>,
    applied: Arc<AtomicHistogram>,
    pending: Option<(u64, i64)>,
}

impl Tap<StationInput, StationOutput> for LatencyTap {
    fn input(&mut self, _now: Duration, input: &StationInput) {
        self.pending = None;
        if let StationInput::Datagram {
            datagram: Datagram::Control(cmd),
            received_at,
            ..
        } = input
        {
            self.received
                .record_us(received_at.as_micros() as i64 - cmd.sent_at_us);
            self.pending = Some((cmd.seq, cmd.sent_at_us));
        }
    }

    fn output(&mut self, now: Duration, output: &StationOutput) {
        if let (StationOutput::Verdict { seq, verdict }, Some((pending, sent_us))) =
            (output, self.pending)
            && *seq == pending
            && verdict == "applied"
        {
            self.applied.record_us(now.as_micros() as i64 - sent_us);
        }
    }
}

/// One run of the production path.
struct Run {
    received: Percentiles,
    applied: Percentiles,
    sent: u64,
    servo_missed: u64,
    sender_missed: u64,
    unsafe_applied: u64,
    servo_work: Percentiles,
}

impl Run {
    fn to_json(&self) -> serde_json::Value {
        let pct = |p: &Percentiles| json!({"p50": p.p50, "p99": p.p99, "p999": p.p999, "max": p.max, "count": p.count});
        json!({
            "received_us": pct(&self.received),
            "applied_us": pct(&self.applied),
            "commands_sent": self.sent,
            "missed_deadlines": {"servo": self.servo_missed, "sender": self.sender_missed},
            "unsafe_applied": self.unsafe_applied,
            "servo_work_us": pct(&self.servo_work),
        })
    }
}

fn measure_ours(messages: usize, pin: bool, record: bool) -> anyhow::Result<Run> {
    let pki = tempfile::tempdir()?;
    link::pki::init(pki.path(), &["localhost".into()], false)?;
    let recordings = tempfile::tempdir()?;
    let record_dir = record.then(|| recordings.path().to_owned());
    let epoch = Instant::now();
    let (received, applied) = (
        AtomicHistogram::new(HISTOGRAM_US),
        AtomicHistogram::new(HISTOGRAM_US),
    );
    let tap = LatencyTap {
        received: received.clone(),
        applied: applied.clone(),
        pending: None,
    };
    let mut station_recording = None;
    let station = StationHandle::start(
        &StationConfig {
            listen: "127.0.0.1:0".parse()?,
            pki_dir: pki.path().to_owned(),
            shared_epoch: Some(epoch),
            ..StationConfig::default()
        },
        None,
        |session| {
            super::record::start(record_dir.as_deref(), session, &mut station_recording)
                .map(|recorder| (recorder, tap))
        },
    )?;
    bench_udp::pin_if_asked(pin);
    let mut console_recording = None;
    let console = console::run(
        &ConsoleConfig {
            station: station.local_addr(),
            pki_dir: pki.path().to_owned(),
            duration_s: Some(messages as f64 / 1e3),
            shared_epoch: Some(epoch),
            record_dir: None,
            ..ConsoleConfig::default()
        },
        console::Controls::default(),
        |session| super::record::start(record_dir.as_deref(), session, &mut console_recording),
    );
    let final_station = station.shutdown();
    super::record::finish(console_recording)?;
    super::record::finish(station_recording)?;
    let console = console?;
    Ok(Run {
        received: received.percentiles(),
        applied: applied.percentiles(),
        sent: console.operator.commands_sent,
        servo_missed: final_station.servo_missed_deadlines,
        sender_missed: console.sender_missed_deadlines,
        unsafe_applied: final_station.unsafe_applied,
        servo_work: final_station.servo_work_us,
    })
}

pub fn run(args: BenchLinkArgs) -> anyhow::Result<()> {
    if args.with_bulk {
        return super::bench_bulk::run_with_bulk(args.json);
    }
    anyhow::ensure!(args.messages >= 100, "--messages must be at least 100");
    if !args.json {
        eprintln!(
            "measuring {} commands at 1 kHz through station + console, then raw UDP ...",
            args.messages
        );
    }
    let ours = measure_ours(args.messages, args.pin, false)?;
    let (udp, udp_lost) = bench_udp::measure(args.messages, args.pin)?;
    let recorded = if args.record {
        if !args.json {
            eprintln!("measuring again with every session recorded ...");
        }
        Some(measure_ours(args.messages, args.pin, true)?)
    } else {
        None
    };
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
    let ratio_p50 = ratio(ours.received.p50, udp.p50);
    let record_ratio_p99 = recorded
        .as_ref()
        .map(|r| ratio(r.applied.p99, ours.applied.p99));
    if args.json {
        let mut out = json!({
            "ours_us": {"p50": ours.received.p50, "p99": ours.received.p99, "p999": ours.received.p999, "max": ours.received.max},
            "applied_us": {"p50": ours.applied.p50, "p99": ours.applied.p99, "p999": ours.applied.p999, "max": ours.applied.max},
            "udp_us": {"p50": udp.p50, "p99": udp.p99, "p999": udp.p999, "max": udp.max},
            "ratio_p50": ratio_p50,
            "udp_lost": udp_lost,
            "ours": ours.to_json(),
            "missed_deadlines": {"servo": ours.servo_missed, "sender": ours.sender_missed},
            "messages": args.messages,
            "pinned": args.pin,
        });
        if let (Some(r), Some(record_ratio)) = (&recorded, record_ratio_p99) {
            out["recorded"] = r.to_json();
            out["record_ratio_p99"] = json!(record_ratio);
            out["missed_deadlines_recorded"] =
                json!({"servo": r.servo_missed, "sender": r.sender_missed});
            out["servo_work_ratio_p99"] = json!(ratio(r.servo_work.p99, ours.servo_work.p99));
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "control latency on loopback, µs ({} commands at 1 kHz{})",
        args.messages,
        if args.pin { ", pinned to CPU 0" } else { "" }
    );
    println!(
        "{:<44} {:>8} {:>8} {:>8} {:>8}",
        "path", "p50", "p99", "p99.9", "max"
    );
    let mut rows = vec![
        ("ours: console -> station network thread", &ours.received),
        ("ours: console -> supervisor applied", &ours.applied),
    ];
    if let Some(r) = &recorded {
        rows.push(("ours, recorded: -> supervisor applied", &r.applied));
    }
    rows.push(("raw UDP", &udp));
    for (name, p) in rows {
        println!(
            "{name:<44} {:>8.1} {:>8.1} {:>8.1} {:>8.1}",
            p.p50, p.p99, p.p999, p.max
        );
    }
    println!("ratio ours/UDP (p50, to the network thread)  {ratio_p50:.2}");
    println!(
        "missed deadlines: servo {}, console sender {}",
        ours.servo_missed, ours.sender_missed
    );
    if let (Some(r), Some(ratio)) = (&recorded, record_ratio_p99) {
        println!(
            "recording: p99 to apply x{ratio:.3}; missed deadlines servo {}, sender {}",
            r.servo_missed, r.sender_missed
        );
        println!(
            "servo work per period p50/p99/max µs: {:.0}/{:.0}/{:.0} without, {:.0}/{:.0}/{:.0} with recording",
            ours.servo_work.p50,
            ours.servo_work.p99,
            ours.servo_work.max,
            r.servo_work.p50,
            r.servo_work.p99,
            r.servo_work.max
        );
    }
    Ok(())
}
