//! The station's side of the remote HIFU procedure, a pure part of the station core: it takes the
//! plan a console sends (refused while another plan's procedure is under way: no plan is edited in
//! flight), the operator's requests (only from the console in control, only for the accepted
//! plan's digest), the device thread's reports, and the controller's clock-sync echoes, which
//! renew the HIFU supervisor's dead-man's switch. It hands back news for every console, orders for
//! the device thread and audit entries. The beam itself is the device's: its HIFU supervisor
//! switches it off on its own clock whatever this part hears or does not hear.

use super::{DeviceOrder, DeviceReport, HifuNews, HifuRequest, PlanLimits, plan_digest};
use hifu::device::DeviceCommand;
use hifu::plan::{Plan, Spot};
use safety::hifu::HifuLimits;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// A spot counts as delivered when this little of its planned time is left (one solver step
/// ends it at most this early).
const DELIVERED_TOLERANCE_S: f64 = 1e-3;

/// The station's HIFU device and what it allows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HifuStationConfig {
    /// The station's own plan file: its patient model, transducer, field, thermal settings and
    /// OAR limits. A console's plan must match it in all of these; the spots are the console's.
    pub reference: Box<Plan>,
    #[serde(default)]
    pub plan_limits: PlanLimits,
    /// What the device's HIFU supervisor enforces (focal ceiling, OAR limits, survival time).
    #[serde(default)]
    pub device_limits: HifuLimits,
}

/// What the procedure asks the station core to do.
#[derive(Debug, Clone, PartialEq)]
pub enum ProcedureOutput {
    /// Tell every console.
    News(HifuNews),
    /// Tell the console that asked: its request was refused.
    Refused {
        request: &'static str,
        reason: String,
    },
    Device(DeviceOrder),
    /// Append to the audit log: a request (granted or refused) or what the beam did.
    Audit {
        request: bool,
        subject: String,
        outcome: String,
    },
}

/// The accepted plan and how far each spot has got.
#[derive(Debug, Clone)]
struct Accepted {
    digest: String,
    spots: Vec<Spot>,
    delivered_s: Vec<f64>,
    ready: bool,
}

impl Accepted {
    fn complete(&self, spot: usize) -> bool {
        self.delivered_s[spot] >= self.spots[spot].on_s - DELIVERED_TOLERANCE_S
    }

    fn remaining_s(&self, spot: usize) -> f64 {
        (self.spots[spot].on_s - self.delivered_s[spot]).max(0.0)
    }
}

pub struct HifuProcedure {
    config: HifuStationConfig,
    plan: Option<Accepted>,
    /// Whether a spot has started since the plan was accepted and the procedure has not ended.
    under_way: bool,
    /// The spot asked for, until the device reports the beam on.
    starting: Option<usize>,
    /// The spot under the beam and the device time the beam went on.
    sonicating: Option<(usize, f64)>,
    /// A spot interrupted (paused, or stopped by a safety rule) with time left.
    interrupted: Option<usize>,
    /// The spot the operator's closed loop ended as delivered, until the device reports it off.
    completing: Option<usize>,
    /// A safety stop the operator has not acknowledged yet.
    latched: bool,
    out: VecDeque<ProcedureOutput>,
}

impl HifuProcedure {
    pub fn new(config: HifuStationConfig) -> Self {
        Self {
            config,
            plan: None,
            under_way: false,
            starting: None,
            sonicating: None,
            interrupted: None,
            completing: None,
            latched: false,
            out: VecDeque::new(),
        }
    }

    pub fn config(&self) -> &HifuStationConfig {
        &self.config
    }

    pub fn poll(&mut self) -> Option<ProcedureOutput> {
        self.out.pop_front()
    }

    /// The digest of the accepted plan, if any.
    pub fn digest(&self) -> Option<&str> {
        self.plan.as_ref().map(|p| p.digest.as_str())
    }

    fn audit(&mut self, request: bool, subject: impl Into<String>, outcome: impl Into<String>) {
        self.out.push_back(ProcedureOutput::Audit {
            request,
            subject: subject.into(),
            outcome: outcome.into(),
        });
    }

    fn news(&mut self, news: HifuNews) {
        self.out.push_back(ProcedureOutput::News(news));
    }

    /// A plan from a console (`may_operate`: whether that console holds control).
    pub fn on_plan(&mut self, plan: Plan, may_operate: bool) {
        let digest = plan_digest(&plan);
        let refusal = if !may_operate {
            Some("only the console in control may send a plan".to_string())
        } else {
            match &self.plan {
                Some(current) if self.under_way && current.digest != digest => Some(format!(
                    "the procedure of plan {} is under way: a plan cannot be edited in flight (stop the procedure first)",
                    current.digest
                )),
                _ => None,
            }
        };
        if let Some(reason) = refusal {
            self.audit(
                true,
                format!("hifu_plan {digest}"),
                format!("refused: {reason}"),
            );
            return self.news(HifuNews::PlanRefused { digest, reason });
        }
        if let Some(current) = &self.plan
            && current.digest == digest
        {
            // The same plan again (a console that reconnected): the same answer.
            let ready = current.ready;
            if let Ok(preview) = self.preview(&plan) {
                self.news(HifuNews::PlanAccepted(Box::new(preview)));
            }
            if ready {
                self.news(HifuNews::DeviceReady { digest });
            }
            return;
        }
        match self.preview(&plan) {
            Err(reason) => {
                self.audit(
                    true,
                    format!("hifu_plan {digest}"),
                    format!("refused: {reason}"),
                );
                self.news(HifuNews::PlanRefused { digest, reason });
            }
            Ok(preview) => {
                let outcome = format!(
                    "accepted: {} spots, {:.0} J, {:.0} s beam-on",
                    preview.spots.len(),
                    preview.energy_j,
                    preview.beam_on_s
                );
                self.audit(true, format!("hifu_plan {digest}"), outcome);
                self.news(HifuNews::PlanAccepted(Box::new(preview)));
                self.plan = Some(Accepted {
                    digest: digest.clone(),
                    delivered_s: vec![0.0; plan.spots.len()],
                    spots: plan.spots.clone(),
                    ready: false,
                });
                self.under_way = false;
                self.starting = None;
                self.interrupted = None;
                self.out
                    .push_back(ProcedureOutput::Device(DeviceOrder::Load {
                        plan: Box::new(plan),
                        digest,
                    }));
            }
        }
    }

    fn preview(&self, plan: &Plan) -> Result<super::PlanPreview, String> {
        super::validate_plan(
            plan,
            &self.config.reference,
            &self.config.plan_limits,
            &self.config.device_limits,
        )
    }

    /// A request from the console in control (the station core checks control before this).
    pub fn on_request(&mut self, digest: &str, request: HifuRequest) {
        let name = request.name();
        let granted = self
            .check(digest, request)
            .and_then(|()| self.order(request));
        match granted {
            Ok(command) => {
                self.audit(true, name, format!("granted: {command:?}"));
                self.out
                    .push_back(ProcedureOutput::Device(DeviceOrder::Command(command)));
            }
            Err(reason) => {
                self.audit(true, name, format!("refused: {reason}"));
                self.out.push_back(ProcedureOutput::Refused {
                    request: name,
                    reason,
                });
            }
        }
    }

    fn check(&self, digest: &str, request: HifuRequest) -> Result<(), String> {
        let Some(plan) = &self.plan else {
            return Err("no plan has been accepted".into());
        };
        if plan.digest != digest {
            return Err(format!(
                "the request is for plan {digest}; the station holds plan {}",
                plan.digest
            ));
        }
        if !plan.ready && !matches!(request, HifuRequest::Stop) {
            return Err("the device is still being prepared for the plan".into());
        }
        Ok(())
    }

    /// The device command a checked request becomes, or why it cannot be done now.
    fn order(&mut self, request: HifuRequest) -> Result<DeviceCommand, String> {
        let busy = self.sonicating.is_some() || self.starting.is_some();
        let plan = self.plan.as_ref().ok_or("no plan has been accepted")?;
        match request {
            HifuRequest::Start { spot } => {
                if spot >= plan.spots.len() {
                    return Err(format!("the plan has {} spots", plan.spots.len()));
                }
                if plan.complete(spot) {
                    return Err(format!("spot {spot} has been delivered"));
                }
                if busy {
                    return Err("a spot is sonicating: pause or stop it first".into());
                }
                if let Some(k) = self.interrupted.filter(|&k| k != spot) {
                    return Err(format!("spot {k} was interrupted: resume or stop it first"));
                }
                self.sonicate(spot)
            }
            HifuRequest::Resume => {
                let spot = self.interrupted.ok_or("no spot is paused")?;
                if busy {
                    return Err("a spot is sonicating".into());
                }
                self.sonicate(spot)
            }
            HifuRequest::Pause => {
                if !busy {
                    return Err("no spot is sonicating".into());
                }
                Ok(DeviceCommand::Stop)
            }
            HifuRequest::Complete => {
                let (spot, _) = self.sonicating.ok_or("no spot is sonicating")?;
                self.completing = Some(spot);
                Ok(DeviceCommand::Stop)
            }
            HifuRequest::Stop => {
                self.end("stopped by the operator");
                Ok(DeviceCommand::Stop)
            }
            HifuRequest::Acknowledge => {
                if !self.latched {
                    return Err("there is no safety stop to acknowledge".into());
                }
                self.latched = false;
                Ok(DeviceCommand::Acknowledge)
            }
        }
    }

    fn sonicate(&mut self, spot: usize) -> Result<DeviceCommand, String> {
        if self.latched {
            return Err("a safety stop has not been acknowledged".into());
        }
        let plan = self.plan.as_ref().ok_or("no plan has been accepted")?;
        let command = DeviceCommand::Sonicate {
            spot,
            power_w: plan.spots[spot].power_w,
            duration_s: plan.remaining_s(spot),
        };
        self.starting = Some(spot);
        self.under_way = true;
        Ok(command)
    }

    fn end(&mut self, why: &str) {
        let spots_complete = self
            .plan
            .as_ref()
            .map_or(0, |p| (0..p.spots.len()).filter(|&k| p.complete(k)).count());
        self.under_way = false;
        self.starting = None;
        self.interrupted = None;
        self.plan = None;
        self.audit(
            false,
            "hifu_procedure",
            format!("ended: {why}; {spots_complete} spots complete"),
        );
        self.news(HifuNews::Ended {
            spots_complete,
            why: why.to_string(),
        });
    }

    /// The controller's clock-sync echo arrived: its console is alive.
    pub fn heartbeat(&mut self) {
        if self.plan.as_ref().is_some_and(|p| p.ready) {
            self.out
                .push_back(ProcedureOutput::Device(DeviceOrder::Command(
                    DeviceCommand::Heartbeat,
                )));
        }
    }

    /// What the device thread reported.
    pub fn on_report(&mut self, report: DeviceReport) {
        match report {
            DeviceReport::Loaded { digest } => {
                if let Some(plan) = self.plan.as_mut().filter(|p| p.digest == digest) {
                    plan.ready = true;
                    self.news(HifuNews::DeviceReady { digest });
                }
            }
            DeviceReport::LoadFailed { digest, reason } => {
                if self.plan.as_ref().is_some_and(|p| p.digest == digest) {
                    self.plan = None;
                }
                self.audit(
                    false,
                    format!("hifu_plan {digest}"),
                    format!("device failed: {reason}"),
                );
                self.news(HifuNews::DeviceFailed { reason });
            }
            DeviceReport::Beam {
                state,
                rule,
                reason,
                time_s,
            } => self.on_beam(state, rule, reason, time_s),
            DeviceReport::SonicationDone { spot, time_s } => self.on_spot_done(spot, time_s),
            DeviceReport::Refused { command, reason } => {
                self.starting = None;
                self.audit(false, command, format!("device refused: {reason}"));
                self.out.push_back(ProcedureOutput::Refused {
                    request: "hifu_device",
                    reason,
                });
            }
        }
    }

    fn on_beam(
        &mut self,
        state: String,
        rule: Option<String>,
        reason: Option<String>,
        time_s: f64,
    ) {
        let outcome = match (&rule, &reason) {
            (Some(rule), Some(reason)) => format!("{state} at {time_s:.2} s: {rule}: {reason}"),
            _ => format!("{state} at {time_s:.2} s"),
        };
        self.audit(false, "hifu_beam", outcome);
        if state == "on"
            && let Some(spot) = self.starting.take()
        {
            self.sonicating = Some((spot, time_s));
            if let Some(plan) = &self.plan {
                let (power_w, duration_s) = (plan.spots[spot].power_w, plan.remaining_s(spot));
                self.news(HifuNews::SpotStarted {
                    spot,
                    power_w,
                    duration_s,
                    time_s,
                });
            }
        }
        if state == "stopped" {
            self.latched = true;
        }
        self.news(HifuNews::Beam {
            state,
            rule,
            reason,
            time_s,
        });
    }

    fn on_spot_done(&mut self, spot: usize, time_s: f64) {
        let Some((current, on_at)) = self.sonicating.take().filter(|(k, _)| *k == spot) else {
            return;
        };
        let Some(plan) = self.plan.as_mut() else {
            return;
        };
        plan.delivered_s[current] += (time_s - on_at).max(0.0);
        let delivered_s = plan.delivered_s[current];
        if self.completing.take() == Some(current) {
            // Ended early by the closed loop: delivered, whatever time was left.
            plan.delivered_s[current] = plan.spots[current].on_s;
        }
        let complete = plan.complete(current);
        let all_done = (0..plan.spots.len()).all(|k| plan.complete(k));
        self.interrupted = (!complete).then_some(current);
        self.audit(
            false,
            format!("hifu_spot {current}"),
            format!(
                "ended at {time_s:.2} s: {delivered_s:.2} s delivered{}",
                if complete {
                    ", complete"
                } else {
                    ", interrupted"
                }
            ),
        );
        self.news(HifuNews::SpotEnded {
            spot: current,
            delivered_s,
            complete,
            time_s,
        });
        if all_done {
            self.end("every spot delivered");
        }
    }
}
