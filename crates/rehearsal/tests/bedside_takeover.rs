//! The bedside team takes over in the middle of a rehearsed procedure on every matrix profile:
//! from the take-over until the remote surgeon has accepted the hand-back and engaged again, no
//! remote command moves the arm (the setpoint does not change by a single bit), however the link
//! delays, reorders, loses or cuts the console's commands and events; afterwards the procedure
//! resumes. (A console that keeps sending commands under bedside control is tested at the core,
//! crates/teleop/tests/two_teams.rs: the supervisor drops every one as `bedside_control`.)

use rehearsal::matrix::{PROCEDURE_S, matrix_profiles};
use rehearsal::session::{RehearsalConfig, suturing};
use std::time::Duration;
use teleop::sim::SimPair;
use teleop::{LocalRequest, NoTap};

const TAKE_OVER_AT: Duration = Duration::from_millis(2_000);
const HAND_BACK_AT: Duration = Duration::from_millis(4_000);

#[test]
fn while_the_bedside_team_has_control_no_remote_command_moves_the_arm_on_any_profile() {
    for profile in matrix_profiles().unwrap() {
        let config = RehearsalConfig::new(profile.clone(), 1, PROCEDURE_S);
        let (input, duration_s) = suturing(config.seed, config.duration_s).unwrap();
        let mut pair = SimPair::new(&config.sim(), input, duration_s, NoTap, NoTap).unwrap();
        let mut held = None;
        let mut handed_back = false;
        let mut moved_after = false;
        let mut bedside_ticks = 0u64;
        while pair.step() {
            let now = pair.now();
            let station = pair.station.core();
            let setpoint = *station.arm().supervisor().setpoint();
            let bedside = station.control().bedside_has_control();
            if now >= TAKE_OVER_AT && held.is_none() {
                pair.local(LocalRequest::TakeOver);
                held = Some(*pair.station.core().arm().supervisor().setpoint());
                continue;
            }
            if now >= HAND_BACK_AT && !handed_back {
                pair.local(LocalRequest::HandBack { to: None });
                handed_back = true;
            }
            if let Some(held) = held {
                let engaged_again =
                    !bedside && pair.station.core().arm().state() == safety::SafetyState::Engaged;
                if !engaged_again && !moved_after {
                    assert_eq!(
                        setpoint, held,
                        "{}: the arm moved at {now:?} while the bedside team had control or \
                         before the surgeon engaged again",
                        profile.name
                    );
                    bedside_ticks += u64::from(bedside);
                } else if setpoint != held {
                    moved_after = true;
                }
            }
        }
        let report = pair.station.core().report(pair.now(), true);
        assert!(
            bedside_ticks >= 1_900,
            "{}: bedside control lasted {bedside_ticks} ms",
            profile.name
        );
        assert!(
            moved_after,
            "{}: the surgeon accepted the hand-back, engaged and the procedure resumed",
            profile.name
        );
        assert_eq!(report.unsafe_applied, 0, "{}", profile.name);
    }
}
