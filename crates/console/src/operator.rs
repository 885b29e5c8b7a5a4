//! The console's control core, free of clocks and IO: every control tick it reads the master
//! pose, filters tremor, maps it through the teleoperation mapping and emits a command; it asks the
//! station to engage when the station is ready, and stops following when the station leaves
//! ENGAGED. Time comes in as arguments.

use link::wire::pose_to_wire;
use proto::{ControlCommand, Event, SupervisorStateCode};
use robot::Pose;
use robot::filter::{FilterConfig, TremorFilter};
use robot::geometry::{mat_mul, transpose};
use robot::script::MasterInput;
use robot::teleop::{TeleopConfig, TeleopMapper, TeleopState};

/// A station state report arriving this long after the previous one means the link is not fresh.
const FRESH_STATE_S: f64 = 0.1;
/// An engage request not confirmed within this long is given up (and retried later).
const ENGAGE_CONFIRM_S: f64 = 1.0;

/// What the console last heard from the station.
#[derive(Debug, Clone, Copy)]
pub struct StationView {
    pub state: SupervisorStateCode,
    /// The measured tool-tip pose.
    pub tip: Pose,
    /// Seconds since that report arrived.
    pub age_s: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum OperatorOutput {
    Command(ControlCommand),
    Event(Event),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OperatorStats {
    pub commands_sent: u64,
    pub engage_requests: u64,
    /// Times the station left ENGAGED under the console (HOLD, READY, ESTOP, FAULT).
    pub station_left_engaged: u64,
}

pub struct Operator {
    input: Box<dyn MasterInput + Send>,
    duration_s: f64,
    teleop: TeleopMapper,
    filter: TremorFilter,
    /// Rotation applied to master orientations so they start aligned with the tool (the stand-in
    /// for the dVRK's motorised wrist alignment), re-captured at each engage.
    registration: robot::geometry::Mat3,
    seq: u64,
    auto_reengage: bool,
    reengage_after_s: f64,
    engage_requested_at: Option<f64>,
    left_engaged_at: Option<f64>,
    stats: OperatorStats,
}

impl Operator {
    pub fn new(
        input: Box<dyn MasterInput + Send>,
        duration_s: f64,
        scale: f64,
        tremor_cutoff_hz: f64,
        auto_reengage: bool,
        reengage_after_s: f64,
    ) -> Self {
        Self {
            input,
            duration_s,
            teleop: TeleopMapper::new(TeleopConfig {
                scale,
                ..TeleopConfig::default()
            }),
            filter: TremorFilter::new(FilterConfig::Butterworth {
                cutoff_hz: tremor_cutoff_hz,
                order: 4,
            }),
            registration: robot::geometry::IDENTITY,
            seq: 0,
            auto_reengage,
            reengage_after_s,
            engage_requested_at: None,
            left_engaged_at: None,
            stats: OperatorStats::default(),
        }
    }

    pub fn stats(&self) -> OperatorStats {
        self.stats
    }

    pub fn duration_s(&self) -> f64 {
        self.duration_s
    }

    /// One control tick at `t_s` seconds into the run; `now_us` is the console clock stamped on
    /// commands. Returns false once the input is over.
    pub fn step(
        &mut self,
        t_s: f64,
        now_us: i64,
        station: Option<StationView>,
        mut emit: impl FnMut(OperatorOutput),
    ) -> bool {
        if t_s >= self.duration_s {
            return false;
        }
        let Some(raw) = self.input.pose_at(t_s) else {
            return false;
        };
        let jaw_rad = self.input.jaw_at(t_s).unwrap_or(0.0);
        let master = Pose {
            position: self.filter.filter(raw.position, t_s),
            rotation: raw.rotation,
        };
        self.follow_station(t_s, &master, station, &mut emit);
        let registered = Pose {
            position: master.position,
            rotation: mat_mul(&self.registration, &master.rotation),
        };
        if let Some(target) = self.teleop.map(&registered) {
            self.seq += 1;
            self.stats.commands_sent += 1;
            emit(OperatorOutput::Command(ControlCommand {
                seq: self.seq,
                sent_at_us: now_us,
                target: pose_to_wire(&target),
                jaw_rad,
            }));
        }
        true
    }

    fn follow_station(
        &mut self,
        t_s: f64,
        master: &Pose,
        station: Option<StationView>,
        emit: &mut impl FnMut(OperatorOutput),
    ) {
        let Some(view) = station.filter(|v| v.age_s < FRESH_STATE_S) else {
            return;
        };
        let following = self.teleop.state() != TeleopState::Disengaged;
        if let Some(asked_at) = self.engage_requested_at {
            if view.state == SupervisorStateCode::Engaged {
                self.engage_requested_at = None;
            } else if t_s - asked_at > ENGAGE_CONFIRM_S {
                self.engage_requested_at = None;
                self.teleop.disengage();
                self.left_engaged_at = Some(t_s);
            }
            return;
        }
        if following && view.state != SupervisorStateCode::Engaged {
            self.teleop.disengage();
            self.left_engaged_at = Some(t_s);
            self.stats.station_left_engaged += 1;
            return;
        }
        let may_engage = match self.left_engaged_at {
            None => self.stats.engage_requests == 0,
            Some(left) => self.auto_reengage && t_s - left >= self.reengage_after_s,
        };
        if !following
            && may_engage
            && matches!(
                view.state,
                SupervisorStateCode::Ready | SupervisorStateCode::Hold
            )
        {
            self.registration = mat_mul(&view.tip.rotation, &transpose(&master.rotation));
            let registered = Pose {
                position: master.position,
                rotation: view.tip.rotation,
            };
            if self.teleop.engage(&registered, &view.tip).is_ok() {
                self.stats.engage_requests += 1;
                self.engage_requested_at = Some(t_s);
                emit(OperatorOutput::Event(Event::Engage {
                    from_seq: self.seq + 1,
                }));
            }
        }
    }
}
