//! The readable summary of a telesurgery session (console + station reports), as text or as the
//! JSON object that `--json` prints.

use console::ConsoleReport;
use link::relay::RelayStats;
use serde_json::{Value, json};

/// The emulated network a demo ran through (`medlink demo --profile`).
pub struct NetworkSummary {
    pub profile: String,
    pub relay: RelayStats,
}

/// The network part of the summary: profile, measured RTT and loss, the supervisor's reactions.
pub fn network_json(report: &ConsoleReport, network: &NetworkSummary) -> Value {
    let station = report.station.clone().unwrap_or_default();
    let loss = |lane: &netem::LaneStats| {
        let lost = lane.lost + lane.lost_interrupted + lane.dropped_queue_full;
        lost as f64 / lane.sent.max(1) as f64
    };
    let holds: Vec<f64> = station
        .transitions
        .iter()
        .filter(|t| t.to == "HOLD")
        .map(|t| t.at_ms)
        .collect();
    let engagements = station
        .transitions
        .iter()
        .filter(|t| t.to == "ENGAGED")
        .count();
    json!({
        "profile": network.profile,
        "rtt_ms": {"p50": report.rtt_us.p50 / 1e3, "p99": report.rtt_us.p99 / 1e3},
        "loss": {"forward": loss(&network.relay.forward), "back": loss(&network.relay.back)},
        "relay": network.relay,
        "hold_entered_at_ms": holds,
        "hold_ms": station.state_time_ms.get("HOLD").copied().unwrap_or(0.0),
        "reengagements": engagements.saturating_sub(1),
    })
}

/// The summary with the network part, as text or as JSON with a `network` key.
pub fn print_with_network(
    report: &ConsoleReport,
    network: &NetworkSummary,
    as_json: bool,
) -> anyhow::Result<()> {
    let net = network_json(report, network);
    if as_json {
        let mut all = to_json(report);
        all["network"] = net;
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(());
    }
    print_text(report);
    println!(
        "  network profile     {}: RTT p50 {:.1} ms, p99 {:.1} ms; loss forward {:.3} %, back {:.3} %",
        network.profile,
        net["rtt_ms"]["p50"].as_f64().unwrap_or(0.0),
        net["rtt_ms"]["p99"].as_f64().unwrap_or(0.0),
        net["loss"]["forward"].as_f64().unwrap_or(0.0) * 100.0,
        net["loss"]["back"].as_f64().unwrap_or(0.0) * 100.0,
    );
    println!(
        "  supervisor reaction HOLD entered {} times ({:.0} ms in HOLD), re-engaged {} times",
        net["hold_entered_at_ms"].as_array().map_or(0, Vec::len),
        net["hold_ms"].as_f64().unwrap_or(0.0),
        net["reengagements"].as_u64().unwrap_or(0),
    );
    Ok(())
}

/// The JSON summary; the keys are a stable interface (README, docs/safety.md).
pub fn to_json(report: &ConsoleReport) -> Value {
    let station = report.station.clone().unwrap_or_default();
    let mut dropped = serde_json::Map::new();
    for (reason, n) in &station.commands_dropped {
        dropped.insert(reason.clone(), json!(n));
    }
    let lost = report
        .operator
        .commands_sent
        .saturating_sub(station.commands_received);
    if lost > 0 {
        dropped.insert("not_received".into(), json!(lost));
    }
    json!({
        "duration_s": report.duration_s,
        "commands_sent": report.operator.commands_sent,
        "commands_received": station.commands_received,
        "commands_applied": station.commands_applied,
        "commands_dropped": dropped,
        "unsafe_applied": station.unsafe_applied,
        "first_unsafe": station.first_unsafe,
        "tracking_rms_mm": station.tracking_rms_mm,
        "tracking_max_mm": station.tracking_max_mm,
        "latency_us": station.latency_us,
        "age_at_apply_us": station.age_at_apply_us,
        "estimated_age_at_apply_us": station.estimated_age_at_apply_us,
        "true_age_at_apply_us": station.true_age_at_apply_us,
        "clock_bound_width_us": station.clock_bound_width_us,
        "servo_stalls": station.servo_stalls,
        "reconnects": report.reconnects,
        "admitted": report.admitted,
        "control": report.control,
        "sessions": report.sessions.iter().map(|s| json!({
            "session_id": s.session_id,
            "opened_s": s.opened_s,
            "closed_s": s.closed_s,
            "ended": s.ended,
            "commands_applied": s.station.as_ref().map(|r| r.commands_applied),
            "engage_requests": s.operator.engage_requests,
        })).collect::<Vec<_>>(),
        "rtt_us": report.rtt_us,
        "state_time_ms": station.state_time_ms,
        "transitions": station.transitions,
        "engage_requests": report.operator.engage_requests,
        "station_left_engaged": report.operator.station_left_engaged,
        "refused_requests": report.refused,
        "malformed": station.malformed,
        "servo_missed_deadlines": station.servo_missed_deadlines,
        "sender_missed_deadlines": report.sender_missed_deadlines,
        "station_report_received": report.station.is_some(),
        "vitals_received": report.vitals_received,
        "vitals_refused": report.vitals_refused,
        "last_vitals": report.last_vitals,
    })
}

pub fn print_text(report: &ConsoleReport) {
    let Some(station) = &report.station else {
        println!(
            "the station sent no report; console sent {} commands",
            report.operator.commands_sent
        );
        return;
    };
    let sent = report.operator.commands_sent;
    let lost = sent.saturating_sub(station.commands_received);
    println!(
        "telesurgery session: {:.1} s of scripted input",
        report.duration_s
    );
    println!(
        "  commands   sent {sent}, received {}, applied {}",
        station.commands_received, station.commands_applied
    );
    if lost > 0 {
        println!("  dropped    not_received: {lost}");
    }
    for (reason, n) in &station.commands_dropped {
        println!("  dropped    {reason}: {n}");
    }
    println!(
        "  unsafe applied      {}  (independent audit of every applied command)",
        station.unsafe_applied
    );
    if let Some(first) = &station.first_unsafe {
        println!("  first unsafe        {first}");
    }
    println!(
        "  tool-tip tracking   RMS {:.3} mm, max {:.3} mm",
        station.tracking_rms_mm, station.tracking_max_mm
    );
    let l = &station.latency_us;
    println!(
        "  one-way latency     p50 {:.0} µs, p99 {:.0} µs, p99.9 {:.0} µs, max {:.0} µs",
        l.p50, l.p99, l.p999, l.max
    );
    let ages = [
        ("bound (judged)", Some(&station.age_at_apply_us)),
        ("estimate", Some(&station.estimated_age_at_apply_us)),
        ("true", station.true_age_at_apply_us.as_ref()),
    ];
    for (name, a) in ages {
        if let Some(a) = a {
            println!(
                "  age when applied    {name:<15} p50 {:.0} µs, p99 {:.0} µs, p99.9 {:.0} µs, max {:.0} µs",
                a.p50, a.p99, a.p999, a.max
            );
        }
    }
    let r = &report.rtt_us;
    println!(
        "  link round trip     p50 {:.0} µs, p99 {:.0} µs",
        r.p50, r.p99
    );
    let times: Vec<String> = station
        .state_time_ms
        .iter()
        .filter(|(_, ms)| **ms > 0.0)
        .map(|(state, ms)| format!("{state} {:.0} ms", ms))
        .collect();
    println!("  supervisor time     {}", times.join(", "));
    println!("  safety events       {}", station.transitions.len());
    for t in &station.transitions {
        println!(
            "    {:>9.1} ms  {} -> {}  ({})",
            t.at_ms, t.from, t.to, t.reason
        );
    }
    for refused in &report.refused {
        println!("  refused             {refused}");
    }
    if let Some(admitted) = &report.admitted {
        println!("  admitted            {admitted}");
    }
    for step in &report.control {
        println!("  control             {step}");
    }
    if let Some(v) = &report.last_vitals {
        println!(
            "  patient monitor     {} readings; last HR {:.0}/min, SpO2 {:.0} %, RR {:.0}/min, BP {:.0}/{:.0} mmHg, {:.1} °C",
            report.vitals_received,
            v.hr_bpm,
            v.spo2_pct,
            v.rr_per_min,
            v.sbp_mmhg,
            v.dbp_mmhg,
            v.temp_c
        );
    }
    if !station.malformed.is_empty() {
        println!("  malformed input     {:?}", station.malformed);
    }
    println!(
        "  missed deadlines    servo {}, console sender {}; servo stalls (HOLD) {}",
        station.servo_missed_deadlines, report.sender_missed_deadlines, station.servo_stalls
    );
    if report.reconnects > 0 {
        println!("  reconnects          {}", report.reconnects);
    }
    for s in &report.sessions {
        println!(
            "  session {:<3}        opened at {:.1} s, {}; applied {}",
            s.session_id,
            s.opened_s,
            s.ended.as_deref().unwrap_or("open"),
            s.station.as_ref().map_or(0, |r| r.commands_applied)
        );
    }
}
