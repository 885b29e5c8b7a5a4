//! The console's side of the remote HIFU procedure, pure: it sends the plan, waits for the
//! station's verdict and its device, then runs the accepted plan spot by spot (start, wait for the
//! spot to end, cool for the spot's planned cooling time, next), and takes the operator's typed
//! commands (pause, resume, stop, ack). After a safety stop it waits for the operator: resuming
//! needs `ack` and then `resume`. It keeps what the live view shows: the latest thermometry, each
//! spot's delivered time, the energy, the beam's state and the last stop's reason.

use super::{HifuNews, HifuRequest, PlanPreview, plan_digest};
use hifu::closed_loop::{ClosedLoopSettings, CoolingGate, Decision, SpotController};
use hifu::device::ThermometryFrame;
use hifu::plan::Plan;
use std::collections::VecDeque;
use std::time::Duration;

/// What the operator types during a procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorCommand {
    Pause,
    Resume,
    Stop,
    Acknowledge,
}

/// The typed commands, as the console's standard input takes them during `--hifu`.
pub const HIFU_COMMANDS: &str = "pause, resume, stop, ack";

impl OperatorCommand {
    /// Parses a typed line; `None` for an empty line, an error naming the commands otherwise.
    pub fn parse(line: &str) -> Result<Option<Self>, String> {
        Ok(Some(match line.trim() {
            "" => return Ok(None),
            "pause" => OperatorCommand::Pause,
            "resume" => OperatorCommand::Resume,
            "stop" => OperatorCommand::Stop,
            "ack" | "acknowledge" => OperatorCommand::Acknowledge,
            other => return Err(format!("unknown command {other:?}: use {HIFU_COMMANDS}")),
        }))
    }
}

/// What the operator's side asks its edge to do.
#[derive(Debug, Clone, PartialEq)]
pub enum OperatorStep {
    /// Send the plan on the bulk channel.
    SendPlan,
    /// Send this request, naming the plan's digest.
    Request {
        digest: String,
        request: HifuRequest,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    NeedPlan,
    AwaitingVerdict,
    AwaitingDevice,
    /// Ready to start the next spot.
    Idle,
    Starting,
    Sonicating(usize),
    Cooling {
        until: Duration,
    },
    /// Paused by the operator, or stopped by a safety rule: waits for the operator.
    Waiting,
    Ended,
}

pub struct HifuOperator {
    plan: Plan,
    digest: String,
    phase: Phase,
    preview: Option<PlanPreview>,
    delivered_s: Vec<f64>,
    next_spot: usize,
    /// Requests typed by the operator, sent in order.
    queued: VecDeque<HifuRequest>,
    frame: Option<ThermometryFrame>,
    beam: String,
    last_stop: Option<String>,
    outcome: Option<Result<String, String>>,
    /// When the spot under the beam (re)started, on the device's clock.
    started_at_s: Option<f64>,
    closed_loop: Option<ClosedLoop>,
}

/// The plan's closed loop on the thermometry frames (`hifu::closed_loop`): it ends a spot when
/// its cell has the target dose, and holds the next one until its neighbourhood has cooled.
struct ClosedLoop {
    settings: ClosedLoopSettings,
    /// Each spot's focus voxel, and the grid spacing (mm).
    foci: Vec<[usize; 3]>,
    spacing_mm: f64,
    controller: Option<SpotController>,
    gate: Option<CoolingGate>,
}

impl HifuOperator {
    pub fn new(plan: Plan) -> Self {
        Self {
            digest: plan_digest(&plan),
            delivered_s: vec![0.0; plan.spots.len()],
            plan,
            phase: Phase::NeedPlan,
            preview: None,
            next_spot: 0,
            queued: VecDeque::new(),
            frame: None,
            beam: "off".into(),
            last_stop: None,
            outcome: None,
            started_at_s: None,
            closed_loop: None,
        }
    }

    /// Closes the loop on the thermometry when the plan asks for it (`planner.closed_loop`):
    /// `foci` are the spots' focus voxels on the patient model's grid of `spacing_mm`.
    pub fn with_closed_loop(mut self, foci: Vec<[usize; 3]>, spacing_mm: f64) -> Self {
        self.closed_loop = self
            .plan
            .planner
            .closed_loop
            .filter(|_| foci.len() == self.plan.spots.len())
            .map(|settings| ClosedLoop {
                settings,
                foci,
                spacing_mm,
                controller: None,
                gate: None,
            });
        self
    }

    pub fn digest(&self) -> &str {
        &self.digest
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// A new connection: the plan goes again (the station answers the same plan the same way).
    pub fn on_connected(&mut self) {
        if self.phase != Phase::Ended {
            self.phase = Phase::NeedPlan;
        }
    }

    /// The link is lost: what the view showed of the beam is no longer known (the station's
    /// dead-man's switch turns it off after its survival time).
    pub fn on_link_lost(&mut self) {
        self.beam = "unknown (link lost)".into();
    }

    /// The procedure's end: `Ok` with why when it ended, `Err` when the station refused it.
    pub fn outcome(&self) -> Option<&Result<String, String>> {
        self.outcome.as_ref()
    }

    pub fn on_frame(&mut self, frame: ThermometryFrame) {
        if matches!(self.phase, Phase::Sonicating(_))
            && let Some(cl) = self.closed_loop.as_mut()
            && let Some(controller) = cl.controller.as_mut()
            && let Decision::StopSpot { reason } = controller.on_frame(&frame, frame.time_s)
        {
            cl.controller = None;
            self.last_stop = Some(format!("closed loop: {reason:?}"));
            self.queued.push_back(HifuRequest::Complete);
        }
        self.frame = Some(frame);
    }

    pub fn on_command(&mut self, command: OperatorCommand) {
        let request = match command {
            OperatorCommand::Pause => HifuRequest::Pause,
            OperatorCommand::Resume => HifuRequest::Resume,
            OperatorCommand::Stop => HifuRequest::Stop,
            OperatorCommand::Acknowledge => HifuRequest::Acknowledge,
        };
        if matches!(command, OperatorCommand::Pause) {
            self.phase = Phase::Waiting;
        }
        self.queued.push_back(request);
    }

    pub fn on_news(&mut self, news: &HifuNews, now: Duration) {
        match news {
            HifuNews::PlanAccepted(preview) if preview.digest == self.digest => {
                self.preview = Some((**preview).clone());
                if self.phase == Phase::AwaitingVerdict {
                    self.phase = Phase::AwaitingDevice;
                }
            }
            HifuNews::PlanRefused { digest, reason } if *digest == self.digest => {
                self.finish(Err(format!("the station refused the plan: {reason}")));
            }
            HifuNews::DeviceReady { digest }
                if *digest == self.digest && self.phase == Phase::AwaitingDevice =>
            {
                self.phase = Phase::Idle;
            }
            HifuNews::DeviceFailed { reason } => {
                self.finish(Err(format!("the station's device failed: {reason}")));
            }
            HifuNews::SpotStarted {
                spot,
                time_s,
                duration_s,
                ..
            } => {
                self.phase = Phase::Sonicating(*spot);
                self.started_at_s = Some(*time_s);
                if let Some(cl) = self.closed_loop.as_mut()
                    && let Some(&focus) = cl.foci.get(*spot)
                {
                    cl.controller = Some(SpotController::start(
                        cl.settings,
                        focus,
                        cl.spacing_mm,
                        *duration_s,
                        *time_s,
                    ));
                }
            }
            HifuNews::SpotEnded {
                spot,
                delivered_s,
                complete,
                ..
            } => {
                if let Some(d) = self.delivered_s.get_mut(*spot) {
                    *d = *delivered_s;
                }
                if *complete {
                    self.next_spot = spot + 1;
                    if self.next_spot >= self.plan.spots.len() {
                        // The last spot: done, even if the station's own word of it is lost.
                        return self.finish(Ok("every spot delivered".into()));
                    }
                    let cool = self.plan.spots.get(*spot).map_or(0.0, |s| s.cool_s);
                    if let Some(cl) = self.closed_loop.as_mut()
                        && let Some(&next) = cl.foci.get(*spot + 1)
                    {
                        let since = self.frame.as_ref().map_or(0.0, |f| f.time_s);
                        cl.gate = Some(CoolingGate::new(cl.settings, next, cl.spacing_mm, since));
                    }
                    if self.phase != Phase::Waiting {
                        self.phase = Phase::Cooling {
                            until: now + Duration::from_secs_f64(cool),
                        };
                    }
                } else {
                    self.phase = Phase::Waiting;
                }
            }
            HifuNews::Beam {
                state,
                rule,
                reason,
                ..
            } => {
                self.beam = state.clone();
                if state == "stopped" {
                    self.last_stop = Some(format!(
                        "{}: {}",
                        rule.as_deref().unwrap_or("stopped"),
                        reason.as_deref().unwrap_or("")
                    ));
                    self.phase = Phase::Waiting;
                }
            }
            HifuNews::Ended { why, .. } => self.finish(Ok(why.clone())),
            _ => {}
        }
    }

    /// The station refused a request: starting again waits for the operator.
    pub fn on_refused(&mut self, reason: &str) {
        if matches!(self.phase, Phase::Starting) {
            self.phase = Phase::Waiting;
            self.last_stop = Some(format!("refused: {reason}"));
        }
    }

    fn finish(&mut self, outcome: Result<String, String>) {
        self.phase = Phase::Ended;
        self.outcome.get_or_insert(outcome);
    }

    /// What to do now, if anything.
    pub fn poll(&mut self, now: Duration) -> Option<OperatorStep> {
        if let Some(request) = self.queued.pop_front() {
            return Some(self.request(request));
        }
        match self.phase {
            Phase::NeedPlan => {
                self.phase = Phase::AwaitingVerdict;
                Some(OperatorStep::SendPlan)
            }
            Phase::Cooling { until } if now >= until && self.cooled() => {
                self.phase = Phase::Idle;
                self.poll(now)
            }
            Phase::Idle if self.next_spot < self.plan.spots.len() => {
                self.phase = Phase::Starting;
                let spot = self.next_spot;
                Some(self.request(HifuRequest::Start { spot }))
            }
            _ => None,
        }
    }

    /// Whether the closed loop's cooling gate (if any) lets the next spot start, by the latest
    /// frame.
    fn cooled(&self) -> bool {
        let gate = self.closed_loop.as_ref().and_then(|cl| cl.gate.as_ref());
        match (gate, &self.frame) {
            (None, _) => true,
            (Some(gate), Some(frame)) => gate.ready(frame, frame.time_s),
            (Some(_), None) => false,
        }
    }

    fn request(&self, request: HifuRequest) -> OperatorStep {
        OperatorStep::Request {
            digest: self.digest.clone(),
            request,
        }
    }

    /// The live view's figures.
    pub fn status(&self) -> HifuStatus {
        let planned: f64 = self.plan.spots.iter().map(|s| s.on_s).sum();
        let delivered: f64 = self.delivered_s.iter().sum();
        let energy_j = self
            .plan
            .spots
            .iter()
            .zip(&self.delivered_s)
            .map(|(s, d)| s.power_w * d)
            .sum();
        let current = match self.phase {
            Phase::Sonicating(k) => Some(k),
            _ => (self.next_spot < self.plan.spots.len()).then_some(self.next_spot),
        };
        let spot_fraction = current.map_or(1.0, |k| {
            let on = self.plan.spots[k].on_s;
            // Time under the beam since the spot (re)started, on the device's clock.
            let running = match (&self.frame, self.phase, self.started_at_s) {
                (Some(f), Phase::Sonicating(s), Some(t0)) if f.sonicating_spot == Some(s) => {
                    (f.time_s - t0).max(0.0)
                }
                _ => 0.0,
            };
            ((self.delivered_s[k] + running) / on).clamp(0.0, 1.0)
        });
        HifuStatus {
            spot: current,
            spots: self.plan.spots.len(),
            spot_fraction,
            overall_fraction: if planned > 0.0 {
                delivered / planned
            } else {
                0.0
            },
            energy_j,
            planned_energy_j: self.plan.energy_j(),
            focal_c: self.frame.as_ref().map(|f| f.focal_temperature_c),
            oar_max_c: self.frame.as_ref().map(|f| f.oar_max_temp_c),
            frame_time_s: self.frame.as_ref().map(|f| f.time_s),
            beam: self.beam.clone(),
            phase: self.phase_name(),
            last_stop: self.last_stop.clone(),
        }
    }

    fn phase_name(&self) -> &'static str {
        match self.phase {
            Phase::NeedPlan | Phase::AwaitingVerdict => "sending plan",
            Phase::AwaitingDevice => "device preparing",
            Phase::Idle | Phase::Starting => "starting",
            Phase::Sonicating(_) => "sonicating",
            Phase::Cooling { .. } => "cooling",
            Phase::Waiting => "waiting for the operator",
            Phase::Ended => "ended",
        }
    }
}

/// The figures of the live view at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct HifuStatus {
    /// The spot sonicating or next, if any is left.
    pub spot: Option<usize>,
    pub spots: usize,
    pub spot_fraction: f64,
    pub overall_fraction: f64,
    pub energy_j: f64,
    pub planned_energy_j: f64,
    pub focal_c: Option<f32>,
    pub oar_max_c: Option<f32>,
    pub frame_time_s: Option<f64>,
    pub beam: String,
    pub phase: &'static str,
    pub last_stop: Option<String>,
}

impl HifuStatus {
    /// One line of the text view: progress bars for the spot and the whole plan.
    pub fn line(&self) -> String {
        let bar = |f: f64| {
            let filled = (f.clamp(0.0, 1.0) * 20.0).round() as usize;
            format!("[{}{}]", "#".repeat(filled), "-".repeat(20 - filled))
        };
        let temp = |t: Option<f32>| t.map_or("--".to_string(), |t| format!("{t:.1} °C"));
        let spot = self.spot.map_or("all spots done".to_string(), |k| {
            format!("spot {}/{}", k + 1, self.spots)
        });
        format!(
            "{spot} {} {:3.0}% | overall {} {:3.0}% | focal {} | OAR max {} | energy {:.0}/{:.0} J | beam {} | {}",
            bar(self.spot_fraction),
            self.spot_fraction * 100.0,
            bar(self.overall_fraction),
            self.overall_fraction * 100.0,
            temp(self.focal_c),
            temp(self.oar_max_c),
            self.energy_j,
            self.planned_energy_j,
            self.beam,
            self.phase
        )
    }
}
