//! The fault matrix: every named profile x several seeds, a short scripted procedure each, in
//! simulated time; every safety invariant must hold and tracking must stay within the profile's
//! bound. Plus the cases the matrix alone does not pin down: no automatic re-engagement after a
//! long outage, and reactions that each profile must show.

use netem::named_profile;
use rehearsal::matrix::{PROCEDURE_S, SEEDS, run_cell, run_matrix};
use rehearsal::{RehearsalConfig, rehearse};
use safety::SupervisorConfig;

#[test]
fn every_profile_and_seed_keeps_every_safety_invariant() {
    let cells = run_matrix(&SEEDS, PROCEDURE_S, |cell| {
        let r = &cell.report;
        eprintln!(
            "{:16} seed {} one-way p50 {:7.0} p99 {:7.0} us loss {:.4} rms {:.3} mm holds {} hold {:.0} ms reengaged {} stale {:?} reordered {:?} motion {:.5}",
            r.profile,
            r.seed,
            r.one_way_us.p50,
            r.one_way_us.p99,
            r.command_loss,
            r.station.tracking_rms_mm,
            r.holds,
            r.hold_ms,
            r.reengagements,
            r.station.commands_dropped.get("stale"),
            r.station.commands_dropped.get("reordered"),
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
        .map(|t| t.reason.as_str())
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
