//! The fault matrix: every named profile x several seeds, a short scripted procedure each, in
//! simulated time; every safety invariant must hold and tracking must stay within the profile's
//! bound. Plus the cases the matrix alone does not pin down: no automatic re-engagement after a
//! long outage or a reconnect, reactions that each profile must show, and, on the asymmetric
//! links, that the age bound keeps truly stale commands off the arm where the midpoint estimate
//! of clock sync would not have.

use netem::named_profile;
use proto::{ClockSync, Datagram, SupervisorStateCode};
use rehearsal::matrix::{
    ASYMMETRIC_PROFILES, PROCEDURE_S, SEEDS, matrix_profile, run_cell, run_matrix,
};
use rehearsal::session::suturing;
use rehearsal::{RehearsalConfig, rehearse};
use safety::SupervisorConfig;
use std::time::Duration;
use teleop::sim::SimPair;
use teleop::{NoTap, StationInput, StationOutput, Tap};

#[test]
fn every_profile_and_seed_keeps_every_safety_invariant() {
    let cells = run_matrix(&SEEDS, PROCEDURE_S, |cell| {
        let r = &cell.report;
        let s = &r.station;
        eprintln!(
            "{:19} seed {} one-way p50 {:6.1} p99 {:6.1} back p50 {:5.1} ms | age at apply max: true {:5.1} bound {:5.1} estimate {:5.1} ms | loss {:.4} rms {:.3} mm holds {} hold {:.0} ms reengaged {} stale {} reordered {} applied {} motion {:.5}",
            r.profile,
            r.seed,
            r.one_way_us.p50 / 1e3,
            r.one_way_us.p99 / 1e3,
            r.back_one_way_us.p50 / 1e3,
            s.true_age_at_apply_us.map_or(f64::NAN, |p| p.max) / 1e3,
            s.age_at_apply_us.max / 1e3,
            s.estimated_age_at_apply_us.max / 1e3,
            r.command_loss,
            s.tracking_rms_mm,
            r.holds,
            r.hold_ms,
            r.reengagements,
            s.commands_dropped.get("stale").unwrap_or(&0),
            s.commands_dropped.get("reordered").unwrap_or(&0),
            s.commands_applied,
            r.observed.max_motion_at_rest_mm,
        );
    })
    .unwrap();
    let failures: Vec<String> = cells
        .iter()
        .flat_map(|c| {
            c.broken
                .iter()
                .map(move |b| format!("{} seed {}: {b}", c.report.profile, c.report.seed))
        })
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn after_a_long_outage_the_station_waits_in_ready_for_a_new_engage() {
    let profile = named_profile("outage").unwrap();
    let outage = profile.outages[0];
    let config = RehearsalConfig {
        auto_reengage: false,
        ..RehearsalConfig::new(profile, 5, PROCEDURE_S)
    };
    let report = rehearse(&config).unwrap();
    let reasons: Vec<&str> = report
        .station
        .transitions
        .iter()
        .map(|t| t.reason.as_ref())
        .collect();
    assert!(reasons.contains(&"no valid command within the survival time"));
    assert!(reasons.contains(&"no valid command within the disengage time"));
    let outage_start_ms = outage.start_ms;
    let after: Vec<_> = report
        .station
        .transitions
        .iter()
        .filter(|t| t.at_ms >= outage_start_ms)
        .collect();
    assert!(
        after.iter().all(|t| t.to != "ENGAGED"),
        "re-engaged by itself: {after:?}"
    );
    let applied_before_outage = report.station.commands_applied;
    assert!(applied_before_outage > 2_000);
    let end = std::time::Duration::from_secs_f64(PROCEDURE_S);
    let outage_end =
        std::time::Duration::from_secs_f64((outage.start_ms + outage.duration_ms) / 1e3);
    assert!(
        report
            .observed
            .states_between(outage_end + std::time::Duration::from_millis(100), end)
            .all(|(_, s)| s == proto::SupervisorStateCode::Ready)
    );
}

#[test]
fn each_disruptive_profile_makes_the_supervisor_react_and_the_session_recover() {
    for name in ["handover", "outage"] {
        let cell = run_cell(
            &named_profile(name).unwrap(),
            9,
            PROCEDURE_S,
            &SupervisorConfig::default(),
        )
        .unwrap();
        let r = &cell.report;
        assert!(cell.broken.is_empty(), "{name}: {:?}", cell.broken);
        assert!(r.holds >= 1 && r.reengagements >= 1, "{name}: {r:?}");
        let last = r.station.transitions.last().unwrap();
        assert_eq!(last.to, "ENGAGED", "{name} ends following");
    }
}

#[test]
fn a_quiet_link_never_holds() {
    for name in ["lan", "5g-urllc", "5g-embb"] {
        let cell = run_cell(
            &named_profile(name).unwrap(),
            4,
            PROCEDURE_S,
            &SupervisorConfig::default(),
        )
        .unwrap();
        assert!(cell.broken.is_empty(), "{name}: {:?}", cell.broken);
        assert_eq!(cell.report.holds, 0, "{name}");
        assert_eq!(cell.report.reengagements, 0, "{name}");
    }
}

#[test]
fn on_asymmetric_links_no_command_truly_over_the_age_limit_is_applied_and_the_bound_drops_some() {
    for name in ASYMMETRIC_PROFILES {
        let profile = matrix_profile(name).unwrap().unwrap();
        let mut stale_over_seeds = 0;
        for seed in SEEDS {
            let cell = run_cell(&profile, seed, PROCEDURE_S, &SupervisorConfig::default()).unwrap();
            let s = &cell.report.station;
            assert!(
                cell.broken.is_empty(),
                "{name} seed {seed}: {:?}",
                cell.broken
            );
            let truth = s.true_age_at_apply_us.unwrap();
            assert!(truth.max < 100_000.0, "{name} seed {seed}: {truth:?}");
            assert_eq!(truth.count as u64, s.commands_applied);
            stale_over_seeds += s.commands_dropped.get("stale").copied().unwrap_or(0);
            assert!(s.commands_applied > 3_000, "{name} seed {seed}: {s:?}");
        }
        // The bound is doing work: commands were dropped as stale by it. Counted over the seeds:
        // since the long-haul tail is a process of time (2026-12-04) an 8 s cell of
        // longhaul-asymmetric may pass without a spike large enough (seed 1: none; 2: 12; 3: 113).
        assert!(stale_over_seeds > 0, "{name}: no command dropped as stale");
    }
}

/// Mirrors the station's clock sync from what the station is handed (the pongs and when they
/// arrived) and judges each arriving command twice: by the midpoint estimate (the rule before the
/// age bound) and by the upper bound (the rule now), against the true age only the simulation
/// knows.
struct AgeJudge {
    clock: ClockSync,
    true_offset_us: i64,
    limit_us: i64,
    judged: u64,
    /// Sum of (true age − estimated age) over the judged commands, µs.
    understatement_us: i64,
    /// Truly at or over the limit, yet younger than it by the estimate.
    estimate_passes_truly_stale: u64,
    /// Truly at or over the limit, yet younger than it by the bound (must be none).
    bound_passes_truly_stale: u64,
    /// The bound below the true age (must be none).
    bound_below_truth: u64,
}

impl AgeJudge {
    fn new(true_offset: Duration, limit: Duration) -> Self {
        Self {
            clock: ClockSync::new(),
            true_offset_us: true_offset.as_micros() as i64,
            limit_us: limit.as_micros() as i64,
            judged: 0,
            understatement_us: 0,
            estimate_passes_truly_stale: 0,
            bound_passes_truly_stale: 0,
            bound_below_truth: 0,
        }
    }

    fn mean_understatement_ms(&self) -> f64 {
        self.understatement_us as f64 / self.judged.max(1) as f64 / 1e3
    }
}

impl Tap<StationInput, StationOutput> for AgeJudge {
    fn input(&mut self, now: Duration, input: &StationInput) {
        let now_us = now.as_micros() as i64;
        match input {
            StationInput::Connected { .. } => self.clock = ClockSync::new(),
            StationInput::Datagram {
                datagram: Datagram::Pong(pong),
                received_at,
                ..
            } => {
                self.clock.on_pong(pong, received_at.as_micros() as i64);
            }
            StationInput::Datagram {
                datagram: Datagram::Control(cmd),
                ..
            } => {
                let (Some(estimated), Some(earliest)) = (
                    self.clock.to_local_us(cmd.sent_at_us),
                    self.clock.earliest_issue_us(cmd.sent_at_us, now_us),
                ) else {
                    return;
                };
                let true_age = now_us - (cmd.sent_at_us - self.true_offset_us);
                let (estimated_age, bound_age) = (now_us - estimated, now_us - earliest);
                self.judged += 1;
                self.understatement_us += true_age - estimated_age;
                let truly_stale = true_age >= self.limit_us;
                self.estimate_passes_truly_stale +=
                    u64::from(truly_stale && estimated_age < self.limit_us);
                self.bound_passes_truly_stale +=
                    u64::from(truly_stale && bound_age < self.limit_us);
                self.bound_below_truth += u64::from(bound_age < true_age);
            }
            _ => {}
        }
    }

    fn output(&mut self, _now: Duration, _output: &StationOutput) {}
}

/// Runs `name` with `seed` through the judge; returns the judge and the station's report.
fn judge(name: &str, seed: u64) -> (AgeJudge, teleop::StationReport) {
    let config = RehearsalConfig::new(matrix_profile(name).unwrap().unwrap(), seed, PROCEDURE_S);
    let sim = config.sim();
    let (input, duration_s) = suturing(seed, PROCEDURE_S).unwrap();
    let tap = AgeJudge::new(sim.console_clock_ahead, config.supervisor.max_command_age);
    let mut pair = SimPair::new(&sim, input, duration_s, NoTap, tap).unwrap();
    while pair.step() {}
    let report = pair.station.core().report(pair.now(), false);
    let (_, judge) = pair.station.into_parts();
    (judge, report)
}

#[test]
fn the_midpoint_estimate_understates_ages_by_about_half_the_asymmetry_and_would_have_applied_stale_commands()
 {
    // Half the difference of the mean one-way delays: 12.5 ms on longhaul-asymmetric (45 vs 20
    // ms), 27.5 ms on bufferbloat (70 vs 15 ms). The estimate is the midpoint of the quickest
    // round trip of the last 32 (640 ms); bufferbloat's forward delay drifts (correlation time
    // 500 ms), so that round trip caught the queue low and the estimate is off by less than half
    // the mean asymmetry, more when the queue grows: which is when commands turn stale.
    for (name, understated_ms) in [
        ("longhaul-asymmetric", 0.7 * 12.5..=1.3 * 12.5),
        ("bufferbloat", 5.0..=27.5),
    ] {
        let mut estimate_would_have_applied = 0;
        for seed in SEEDS {
            let (judge, report) = judge(name, seed);
            let understated = judge.mean_understatement_ms();
            eprintln!(
                "{name} seed {seed}: {} commands judged; estimate understates the age by {understated:.1} ms on average; truly stale but fresh by the estimate: {}; by the bound: {}; report true max {:.1} ms, estimate max {:.1} ms, bound max {:.1} ms",
                judge.judged,
                judge.estimate_passes_truly_stale,
                judge.bound_passes_truly_stale,
                report.true_age_at_apply_us.unwrap().max / 1e3,
                report.estimated_age_at_apply_us.max / 1e3,
                report.age_at_apply_us.max / 1e3,
            );
            assert!(judge.judged > 3_000, "{name} seed {seed}");
            assert!(
                understated_ms.contains(&understated),
                "{name} seed {seed}: understated by {understated:.1} ms"
            );
            assert_eq!(judge.bound_below_truth, 0, "{name} seed {seed}");
            assert_eq!(judge.bound_passes_truly_stale, 0, "{name} seed {seed}");
            estimate_would_have_applied += judge.estimate_passes_truly_stale;
        }
        // The issue: judged by the estimate, commands truly 100 ms old or more looked fresh.
        assert!(estimate_would_have_applied > 0, "{name}");
    }
}

#[test]
fn after_a_reconnect_the_station_waits_for_an_engage_of_the_new_session() {
    let config = RehearsalConfig {
        auto_reengage: false,
        ..RehearsalConfig::new(named_profile("5g-embb").unwrap(), 6, 5.0)
    };
    let (input, duration_s) = suturing(config.seed, config.duration_s).unwrap();
    let mut pair = SimPair::new(&config.sim(), input, duration_s, NoTap, NoTap).unwrap();
    let state = |pair: &SimPair<NoTap, NoTap>| {
        SupervisorStateCode::from_byte(pair.last_step().state.supervisor_state).unwrap()
    };
    while pair.now() < Duration::from_secs(2) {
        assert!(pair.step());
    }
    assert_eq!(state(&pair), SupervisorStateCode::Engaged);
    let first = pair.station.core().report(pair.now(), false);
    assert!(first.commands_applied > 1_500, "{first:?}");

    pair.reconnect();
    let reconnected_at = pair.now();
    assert_eq!(pair.station.core().session_id(), Some(2));
    let mut waiting = Vec::new();
    let mut engage_arrived = None;
    let mut engaged_at = None;
    while pair.step() {
        let step = pair.last_step();
        if engage_arrived.is_none() && !step.engage_arrivals.is_empty() {
            engage_arrived = Some(step.now);
        }
        if engage_arrived.is_none() {
            waiting.push(state(&pair));
        }
        if engaged_at.is_none() && state(&pair) == SupervisorStateCode::Engaged {
            engaged_at = Some(step.now);
        }
    }
    let engage_arrived = engage_arrived.expect("the scripted surgeon engages the new session");
    // Until the new session's engage arrived the arm held (never ENGAGED by itself).
    assert!(!waiting.is_empty());
    assert!(
        waiting.iter().all(|s| *s == SupervisorStateCode::Hold),
        "{waiting:?}"
    );
    assert_eq!(engaged_at, Some(engage_arrived));
    assert!(engage_arrived - reconnected_at < Duration::from_millis(200));
    // Motion is applied in the new session.
    let second = pair.station.core().report(pair.now(), false);
    assert_eq!(second.session_id, 2);
    assert_eq!(second.unsafe_applied, 0, "{:?}", second.first_unsafe);
    assert!(second.commands_applied > 2_500, "{second:?}");
    assert!(second.true_age_at_apply_us.unwrap().max < 100_000.0);
    // The console asked once per session (no automatic re-engage), and what the old connection
    // had in flight never reached the new session.
    let console = pair.console.core().report();
    assert_eq!(console.reconnects, 1);
    assert_eq!(console.operator.engage_requests, 2);
    assert!(pair.old_connection_datagrams() > 0);
}
