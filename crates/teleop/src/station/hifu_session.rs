//! The station core's HIFU device: plans from the bulk channel, the operator's HIFU requests
//! (checked for role and control like every request), the device thread's reports, the
//! controller's clock-sync echoes as the beam's dead-man's switch, and the bedside e-stop; each
//! turned into news for the consoles, orders for the device thread and audit records.

use super::control::PeerId;
use super::*;
use crate::hifu::procedure::ProcedureOutput;
use crate::hifu::{BulkMessage, DeviceOrder, DeviceReport, HifuRequest};
use hifu::device::DeviceCommand;

const NO_HIFU: &str = "this station has no HIFU device";
const NOT_A_CONSOLE_MESSAGE: &str = "the console sent a bulk message only a station may send";

impl StationSession {
    pub(super) fn on_hifu_request(
        &mut self,
        index: usize,
        digest: &str,
        request: HifuRequest,
        now: Duration,
    ) {
        let p = &self.peers[index];
        let (peer, identity) = (p.id, p.identity.clone());
        // Pausing or stopping the beam is always allowed to an operator, like an e-stop.
        let stopping = matches!(request, HifuRequest::Pause | HifuRequest::Stop);
        let check = if self.hifu.is_none() {
            Err(NO_HIFU)
        } else if !p.operator {
            Err(WATCH_ONLY)
        } else if stopping {
            Ok(())
        } else if self.control.bedside_has_control() {
            Err("the bedside team has control")
        } else {
            self.control.may_act(peer)
        };
        match (check, self.hifu.as_mut()) {
            (Ok(()), Some(procedure)) => procedure.on_request(digest, request),
            (Err(reason), _) => {
                self.audit(
                    Some(&identity),
                    AuditAction::Request,
                    request.name(),
                    format!("refused: {reason}"),
                    now,
                );
                self.send(
                    Some(peer),
                    SessionEvent::Refused {
                        request: Cow::Borrowed(request.name()),
                        reason: Cow::Borrowed(reason),
                    },
                );
                return;
            }
            (Ok(()), None) => return,
        }
        self.drain_hifu(Some(peer), Some(&identity), now);
    }

    pub(super) fn on_bulk(&mut self, peer: PeerId, message: BulkMessage, now: Duration) {
        let Some(index) = self.peer_index(peer) else {
            return;
        };
        if !self.peers[index].hello {
            return self.refuse_peer(peer, REASON_NO_HELLO, now);
        }
        let BulkMessage::Plan(plan) = message else {
            return self.refuse_peer(peer, NOT_A_CONSOLE_MESSAGE, now);
        };
        let identity = self.peers[index].identity.clone();
        let may_operate = self.peers[index].operator
            && !self.control.bedside_has_control()
            && self.control.may_act(peer).is_ok();
        match self.hifu.as_mut() {
            Some(procedure) => procedure.on_plan(*plan, may_operate),
            None => {
                self.audit(
                    Some(&identity),
                    AuditAction::Request,
                    "hifu_plan",
                    format!("refused: {NO_HIFU}"),
                    now,
                );
                return self.send(
                    Some(peer),
                    SessionEvent::Refused {
                        request: Cow::Borrowed("hifu_plan"),
                        reason: Cow::Borrowed(NO_HIFU),
                    },
                );
            }
        }
        self.drain_hifu(Some(peer), Some(&identity), now);
    }

    pub(super) fn on_device_report(&mut self, report: DeviceReport, now: Duration) {
        if let Some(procedure) = self.hifu.as_mut() {
            procedure.on_report(report);
            self.drain_hifu(None, None, now);
        }
    }

    /// The controller's clock-sync echo: its console is alive, so the beam may stay on.
    pub(super) fn hifu_heartbeat(&mut self, now: Duration) {
        if let Some(procedure) = self.hifu.as_mut() {
            procedure.heartbeat();
            self.drain_hifu(None, None, now);
        }
    }

    /// The bedside e-stop switches the beam off too (the procedure can resume after it).
    pub(super) fn hifu_bedside_stop(&mut self) {
        if self.hifu.is_some() {
            self.out
                .push(StationOutput::HifuDevice(DeviceOrder::Command(
                    DeviceCommand::Stop,
                )));
        }
    }

    /// Carries out what the procedure asked: refusals to `asker`, audit records by `actor`.
    fn drain_hifu(&mut self, asker: Option<PeerId>, actor: Option<&Identity>, now: Duration) {
        while let Some(output) = self.hifu.as_mut().and_then(|p| p.poll()) {
            match output {
                ProcedureOutput::News(news) => self.send(None, SessionEvent::Hifu(news)),
                ProcedureOutput::Refused { request, reason } => self.send(
                    asker,
                    SessionEvent::Refused {
                        request: Cow::Borrowed(request),
                        reason: Cow::Owned(reason),
                    },
                ),
                ProcedureOutput::Device(order) => self.out.push(StationOutput::HifuDevice(order)),
                ProcedureOutput::Audit {
                    request,
                    subject,
                    outcome,
                } => {
                    let (action, actor) = if request {
                        (AuditAction::Request, actor)
                    } else {
                        (AuditAction::Transition, None)
                    };
                    self.audit(actor, action, subject, outcome, now);
                }
            }
        }
    }
}
