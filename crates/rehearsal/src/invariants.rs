//! The safety invariants of a rehearsed session, judged from its report. Each failure comes back
//! as a sentence naming the rule and the time, so a failing matrix cell says what went wrong.
//! Ages are judged twice: by the independent auditor inside the station (fed the true age) and
//! here from the true ages the station recorded, so neither alone has to be trusted.

use crate::observe::Observations;
use crate::session::RehearsalReport;
use netem::InterruptionKind;
use proto::SupervisorStateCode;
use safety::SupervisorConfig;
use std::time::Duration;

/// One servo period of slack on top of a watchdog's budget, plus one for the tick alignment.
const WATCHDOG_SLACK: Duration = Duration::from_millis(2);
/// The tip must stay this still (mm) once settled while the arm is not following.
pub const MAX_MOTION_AT_REST_MM: f64 = 0.01;

/// What a profile is allowed: its tracking bound.
#[derive(Debug, Clone, Copy)]
pub struct Expectations {
    pub max_tracking_rms_mm: f64,
}

/// Every broken invariant, as sentences; empty when the session was safe.
pub fn check(
    report: &RehearsalReport,
    supervisor: &SupervisorConfig,
    expect: &Expectations,
) -> Vec<String> {
    let mut broken = Vec::new();
    let station = &report.station;
    if station.unsafe_applied > 0 {
        broken.push(format!(
            "the audit found {} unsafe applications (stale, reordered, out of limits, or a \
             setpoint moved outside ENGAGED); first: {:?}",
            station.unsafe_applied, station.first_unsafe
        ));
    }
    check_true_age(report, supervisor, &mut broken);
    let obs = &report.observed;
    for at in &obs.engaged_unasked {
        broken.push(format!("ENGAGED at {at:?} without an engage request"));
    }
    if obs.max_motion_at_rest_mm > MAX_MOTION_AT_REST_MM {
        broken.push(format!(
            "the tip moved {:.4} mm while the station was not following",
            obs.max_motion_at_rest_mm
        ));
    }
    check_watchdog(obs, supervisor, &mut broken);
    check_interruptions(report, supervisor, &mut broken);
    if station.tracking_rms_mm > expect.max_tracking_rms_mm {
        broken.push(format!(
            "tracking RMS {:.3} mm over the profile's bound {:.3} mm",
            station.tracking_rms_mm, expect.max_tracking_rms_mm
        ));
    }
    if station.commands_applied == 0 {
        broken.push("no command was ever applied".into());
    }
    broken
}

/// No applied command was truly older than `max_command_age`. The station judges the upper bound
/// of a command's age from clock sync; only the simulation knows the true send time, so this is
/// where a wrong bound (or a station judging the estimate) shows, whatever the path asymmetry.
fn check_true_age(
    report: &RehearsalReport,
    supervisor: &SupervisorConfig,
    broken: &mut Vec<String>,
) {
    let station = &report.station;
    let limit_us = supervisor.max_command_age.as_secs_f64() * 1e6;
    match &station.true_age_at_apply_us {
        Some(age) if age.max >= limit_us => broken.push(format!(
            "a command was applied {:.1} ms old in truth, at or over the {:.0} ms \
             max_command_age (the station's bound said at most {:.1} ms, its estimate {:.1} ms)",
            age.max / 1e3,
            limit_us / 1e3,
            station.age_at_apply_us.max / 1e3,
            station.estimated_age_at_apply_us.max / 1e3,
        )),
        None if station.commands_applied > 0 => broken.push(format!(
            "{} commands applied but the true age of none is known",
            station.commands_applied
        )),
        _ => {}
    }
}

/// Whenever commands stopped reaching an ENGAGED station for longer than the survival time (and
/// no engage request restarted the clock), the station had left ENGAGED by then.
fn check_watchdog(obs: &Observations, supervisor: &SupervisorConfig, broken: &mut Vec<String>) {
    let budget = supervisor.survival_time + WATCHDOG_SLACK;
    for pair in obs.command_arrivals.windows(2) {
        let (last, next) = (pair[0], pair[1]);
        let deadline = last + budget;
        let engage_in_between = obs
            .engage_arrivals
            .iter()
            .any(|at| *at >= last && *at <= deadline);
        if next <= deadline || engage_in_between {
            continue;
        }
        if obs.state_at(deadline) == Some(SupervisorStateCode::Engaged) {
            broken.push(format!(
                "still ENGAGED at {deadline:?}, {budget:?} after the last command arrived"
            ));
        }
    }
}

/// Per interruption of the link while ENGAGED: HOLD within the survival time of a cut's start; a
/// cut longer than the disengage time ends in READY before any re-engagement; and the session
/// follows again after it.
fn check_interruptions(
    report: &RehearsalReport,
    supervisor: &SupervisorConfig,
    broken: &mut Vec<String>,
) {
    let obs = &report.observed;
    let end = Duration::from_secs_f64(report.duration_s);
    for gap in &report.interruptions {
        if obs.state_at(gap.start) != Some(SupervisorStateCode::Engaged) {
            continue;
        }
        let lost = gap.kind != InterruptionKind::HandoverBuffered;
        let hold_by = gap.start + supervisor.survival_time + WATCHDOG_SLACK;
        if lost && obs.state_at(hold_by) == Some(SupervisorStateCode::Engaged) {
            broken.push(format!(
                "still ENGAGED at {hold_by:?}, a survival time after the cut at {:?}",
                gap.start
            ));
        }
        let next_engaged = obs
            .states_between(gap.end, end)
            .find(|(_, s)| *s == SupervisorStateCode::Engaged)
            .map(|(t, _)| t);
        if lost && gap.end - gap.start > supervisor.disengage_after {
            let ready_first = obs
                .states_between(gap.start, next_engaged.unwrap_or(end))
                .any(|(_, s)| s == SupervisorStateCode::Ready);
            if !ready_first {
                broken.push(format!(
                    "the {:?} cut at {:?} did not end in READY",
                    gap.end - gap.start,
                    gap.start
                ));
            }
        }
        // Recovery: the operator re-engages after a settle time; leave room for it.
        if report.auto_reengage
            && report.observed.states.len() as u128 > (gap.end + Duration::from_secs(2)).as_millis()
            && next_engaged.is_none()
        {
            broken.push(format!(
                "the session did not follow again after the interruption at {:?}",
                gap.start
            ));
        }
    }
}
