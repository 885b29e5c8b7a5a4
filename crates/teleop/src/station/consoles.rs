//! The consoles of a station: admission on connect (role, the site's policy, room), a certificate
//! that reconnects superseding its old connection, the hello, and every request checked for role,
//! control and the bedside confirmation before the supervisor sees it; each one audited.

use super::control::PeerId;
use super::peers::{self, Admission, MAX_CONSOLES, Peer};
use super::*;

impl StationSession {
    pub(super) fn on_connected(
        &mut self,
        peer: PeerId,
        identity: Identity,
        admission: Admission,
        now: Duration,
    ) {
        let refusal = if !identity.role.is_console() {
            Some(format!(
                "{identity}: the role {} may not connect as a console (role.not_console)",
                identity.role
            ))
        } else if !admission.admitted {
            Some(format!(
                "refused by rule {}: {}",
                admission.rule, admission.explanation
            ))
        } else if self.peers.len() >= MAX_CONSOLES
            && !self
                .peers
                .iter()
                .any(|p| p.key == peers::certificate_key(&identity))
        {
            // A certificate that reconnects replaces its own connection and takes no more room.
            Some(REASON_FULL.to_string())
        } else {
            None
        };
        if let Some(reason) = refusal {
            self.audit(
                Some(&identity),
                AuditAction::Admission,
                "console",
                format!("refused: {reason}"),
                now,
            );
            self.out.push(StationOutput::Close {
                peer,
                reason: Cow::Owned(reason),
            });
            return;
        }
        // The same certificate connecting again supersedes its old connection (a reconnect).
        let key = peers::certificate_key(&identity);
        if let Some(old) = self.peers.iter().find(|p| p.key == key).map(|p| p.id) {
            self.out.push(StationOutput::Close {
                peer: old,
                reason: Cow::Borrowed("superseded by a new connection of the same certificate"),
            });
            self.on_disconnected(old, now);
        }
        self.sessions += 1;
        let new = Peer::new(
            peer,
            identity,
            &admission,
            self.sessions,
            self.config.max_clock_drift_ppm,
            now,
        );
        let outcome = format!(
            "admitted ({}): {}; session {}",
            if new.operator {
                "may operate"
            } else {
                "watch only"
            },
            admission.explanation,
            new.session_id
        );
        self.audit(
            Some(&new.identity),
            AuditAction::Admission,
            "console",
            outcome,
            now,
        );
        let (operator, session_id) = (new.operator, new.session_id);
        self.send(
            Some(peer),
            SessionEvent::Hello {
                role: Role::Station,
                wire_version: proto::WIRE_VERSION,
                session_id,
                clock: self.config.own_clock,
            },
        );
        self.send(
            Some(peer),
            SessionEvent::Admitted {
                name: new.identity.name.clone(),
                role: new.identity.role.to_string(),
                may_operate: operator,
                rule: admission.rule,
                explanation: admission.explanation,
            },
        );
        self.peers.push(new);
        match self.control.connect(peer, &key, operator) {
            Some(change) => self.apply(change, now),
            None => self.announce(Some(peer), ControlStep::Status, "station".into(), None, now),
        }
    }

    pub(super) fn on_disconnected(&mut self, peer: PeerId, now: Duration) {
        let Some(index) = self.peer_index(peer) else {
            return;
        };
        let was_controller = self.control.is_controller(peer);
        let change = self.control.disconnect(peer);
        let gone = self.peers.swap_remove(index);
        if was_controller {
            // Control stays reserved for its certificate; the arm holds until it comes back.
            self.arm.end_session(now);
        }
        self.audit(
            Some(&gone.identity),
            AuditAction::Disconnected,
            format!("session {}", gone.session_id),
            if was_controller {
                "held control (kept for its reconnect)"
            } else {
                "did not hold control"
            },
            now,
        );
        if let Some(change) = change {
            self.apply(change, now);
        } else {
            self.announce(None, ControlStep::Status, gone.label(), None, now);
        }
    }

    pub(super) fn refuse_peer(&mut self, peer: PeerId, reason: &'static str, now: Duration) {
        self.out.push(StationOutput::Close {
            peer,
            reason: Cow::Borrowed(reason),
        });
        self.on_disconnected(peer, now);
    }

    pub(super) fn on_event(&mut self, peer: PeerId, event: SessionEvent, now: Duration) {
        let Some(index) = self.peer_index(peer) else {
            return;
        };
        if !self.peers[index].within_event_rate(now) {
            return self.refuse_peer(peer, REASON_FLOOD, now);
        }
        let hello = self.peers[index].hello;
        let request = match event {
            SessionEvent::Hello {
                role,
                wire_version,
                clock,
                ..
            } => return self.on_hello(index, role, wire_version, clock, now),
            _ if !hello => return self.refuse_peer(peer, REASON_NO_HELLO, now),
            SessionEvent::Enable => Request::Enable,
            SessionEvent::Disable => Request::Disable,
            SessionEvent::Engage { from_seq } => Request::Engage { from_seq },
            SessionEvent::Disengage => Request::Disengage,
            SessionEvent::EstopRequest => Request::RemoteEstop,
            SessionEvent::OfferControl { to } => return self.on_offer(index, &to, now),
            SessionEvent::AcceptControl => {
                let p = &self.peers[index];
                let result = self.control.accept(peer, &p.key.clone(), p.operator);
                return self.control_result(index, "accept_control", result, now);
            }
            SessionEvent::DeclineControl => {
                let result = self.control.decline(peer);
                return self.control_result(index, "decline_control", result, now);
            }
            SessionEvent::WithdrawOffer => {
                let result = self.control.withdraw(Party::Remote { peer });
                return self.control_result(index, "withdraw_offer", result, now);
            }
            SessionEvent::Bye => return self.on_bye(index, now),
            SessionEvent::HifuRequest { digest, request } => {
                return self.on_hifu_request(index, &digest, request, now);
            }
            SessionEvent::VideoPacing { shift_us } => {
                // The picture is paced for the display of the console in control; a watching
                // console's request is not an error, it is just not the one that counts.
                if self.control.is_controller(peer) {
                    self.out.push(StationOutput::VideoPacing { shift_us });
                }
                return;
            }
            SessionEvent::Transition { .. }
            | SessionEvent::Refused { .. }
            | SessionEvent::Report(_)
            | SessionEvent::Admitted { .. }
            | SessionEvent::Control { .. }
            | SessionEvent::Hifu(_)
            | SessionEvent::Vitals(_) => {
                return self.refuse_peer(peer, REASON_UNEXPECTED, now);
            }
        };
        self.remote_request(index, request, now);
    }

    pub(super) fn on_hello(
        &mut self,
        index: usize,
        role: Role,
        wire_version: u8,
        clock: Option<ClockAnnouncement>,
        now: Duration,
    ) {
        let peer = self.peers[index].id;
        if role != Role::Console {
            return self.refuse_peer(peer, REASON_NOT_A_CONSOLE, now);
        }
        if wire_version != proto::WIRE_VERSION {
            return self.refuse_peer(peer, REASON_WIRE_VERSION, now);
        }
        let p = &mut self.peers[index];
        p.hello = true;
        if let (TimeSource::Disciplined { .. }, Some(own), Some(theirs)) =
            (self.config.time_source, self.config.own_clock, clock)
        {
            let (offset, error) = own.offset_to(&theirs);
            p.clock
                .set_external_bound(offset, error, now.as_micros() as i64);
        }
        // A console that joins sees the patient's vitals at once, not at the next reading.
        if let Some(reading) = self.last_vitals {
            self.send(Some(peer), SessionEvent::Vitals(reading));
        }
    }

    /// A console's request for the supervisor: its role, control and the bedside confirmation
    /// are checked first; while the bedside team has control the supervisor itself refuses.
    pub(super) fn remote_request(&mut self, index: usize, request: Request, now: Duration) {
        let p = &self.peers[index];
        let check = if !p.operator {
            Err(WATCH_ONLY)
        } else if request == Request::RemoteEstop || self.control.bedside_has_control() {
            // Stopping is always allowed; under bedside control the supervisor refuses the rest.
            Ok(())
        } else if let Err(reason) = self.control.may_act(p.id) {
            Err(reason)
        } else if matches!(request, Request::Engage { .. })
            && p.bedside_confirmation
            && !self.confirmed.contains(&p.key)
        {
            Err(NOT_CONFIRMED)
        } else {
            Ok(())
        };
        let result = check.and_then(|()| self.arm.request(request, now));
        let identity = self.peers[index].identity.clone();
        self.answer(
            Some(self.peers[index].id),
            Some(&identity),
            request_name(request),
            result,
            now,
        );
    }

    /// Tells the console (or every console) a refusal and audits the request either way.
    pub(super) fn answer(
        &mut self,
        to: Option<PeerId>,
        actor: Option<&Identity>,
        request: &'static str,
        result: Result<(), &'static str>,
        now: Duration,
    ) {
        let outcome = match result {
            Ok(()) => "granted".to_string(),
            Err(reason) => {
                self.send(
                    to,
                    SessionEvent::Refused {
                        request: Cow::Borrowed(request),
                        reason: Cow::Borrowed(reason),
                    },
                );
                format!("refused: {reason}")
            }
        };
        self.audit(actor, AuditAction::Request, request, outcome, now);
    }
}

fn request_name(request: Request) -> &'static str {
    match request {
        Request::Enable => "enable",
        Request::Disable => "disable",
        Request::Engage { .. } => "engage",
        Request::Disengage => "disengage",
        Request::RemoteEstop => "estop_request",
        Request::LocalEstop => "local_estop",
        Request::LocalEstopClear => "local_estop_clear",
        Request::LocalFaultClear => "local_fault_clear",
    }
}
