//! The two-teams protocol applied at the station: control offers and their answers from consoles,
//! the bedside team's take-over, hand-back and confirmation from the local input, and what each
//! step means for the arm; every step announced to every console and audited with who took it.

use super::control::{Change, HolderState, Party, PeerId};
use super::peers::{Peer, label};
use super::*;

impl StationSession {
    pub(super) fn on_offer(&mut self, index: usize, to: &str, now: Duration) {
        let from = self.peers[index].id;
        let recipient = self
            .peers
            .iter()
            .find(|p| p.identity.name == to && p.id != from)
            .map(|p| (p.id, p.operator));
        let result = match (self.peers[index].operator, recipient) {
            (false, _) => Err(WATCH_ONLY),
            (true, None) => Err(NO_RECIPIENT),
            (true, Some((to, operator))) => self.control.offer_to(from, to, operator),
        };
        self.control_result(index, "offer_control", result, now);
    }

    pub(super) fn control_result(
        &mut self,
        index: usize,
        request: &'static str,
        result: Result<Change, &'static str>,
        now: Duration,
    ) {
        let identity = self.peers[index].identity.clone();
        let peer = self.peers[index].id;
        match result {
            Ok(change) => {
                self.answer(Some(peer), Some(&identity), request, Ok(()), now);
                self.apply(change, now);
            }
            Err(reason) => self.answer(Some(peer), Some(&identity), request, Err(reason), now),
        }
    }

    pub(super) fn on_bye(&mut self, index: usize, now: Duration) {
        let peer = self.peers[index].id;
        let report = self.report(now, false);
        self.send(Some(peer), SessionEvent::Report(Box::new(report)));
        // A console that watched, or one whose offer lapsed: nothing changes for the arm.
        if let Some(change) = self.control.release(peer) {
            self.apply(change, now);
        }
    }

    pub(super) fn on_local(&mut self, request: LocalRequest, now: Duration) {
        let name = request.name();
        let bedside = self.bedside.clone();
        let result = match request {
            LocalRequest::Estop => {
                self.hifu_bedside_stop();
                self.arm.request(Request::LocalEstop, now).map(|()| None)
            }
            LocalRequest::EstopClear => self
                .arm
                .request(Request::LocalEstopClear, now)
                .map(|()| None),
            LocalRequest::FaultClear => self
                .arm
                .request(Request::LocalFaultClear, now)
                .map(|()| None),
            LocalRequest::TakeOver => Ok(Some(self.control.take_over())),
            LocalRequest::HandBack { to } => self.hand_back_to(to.as_deref()).map(Some),
            LocalRequest::WithdrawOffer => self.control.withdraw(Party::Bedside).map(Some),
            LocalRequest::Confirm => self.confirm(now).map(|()| None),
        };
        match result {
            Ok(change) => {
                self.answer(None, Some(&bedside), name, Ok(()), now);
                if let Some(change) = change {
                    self.apply(change, now);
                }
            }
            Err(reason) => self.answer(None, Some(&bedside), name, Err(reason), now),
        }
    }

    pub(super) fn hand_back_to(&mut self, to: Option<&str>) -> Result<Change, &'static str> {
        let mut operators = self.peers.iter().filter(|p| p.operator);
        let recipient = match to {
            Some(name) => self
                .peers
                .iter()
                .find(|p| p.identity.name == name)
                .ok_or(NO_RECIPIENT)?,
            None => match (operators.next(), operators.next()) {
                (Some(only), None) => only,
                _ => return Err(NAME_A_SURGEON),
            },
        };
        let (id, operator) = (recipient.id, recipient.operator);
        self.control.hand_back(id, operator)
    }

    pub(super) fn confirm(&mut self, now: Duration) -> Result<(), &'static str> {
        let controller = self.controller().ok_or(NO_CONTROLLER)?;
        let (key, label) = (controller.key.clone(), controller.label());
        if !self.confirmed.contains(&key) {
            self.confirmed.push(key);
        }
        self.announce(
            None,
            ControlStep::BedsideConfirmed,
            label_of(&self.bedside),
            Some(label),
            now,
        );
        Ok(())
    }

    /// Applies a control step to the arm, tells every console and audits it.
    pub(super) fn apply(&mut self, change: Change, now: Duration) {
        match change.step {
            ControlStep::TakenOver => self.arm.set_bedside_control(true, now),
            // The same session goes on (its statistics too); the supervisor starts a fresh
            // sequence window and nothing moves until the surgeon engages.
            ControlStep::HandedBack => self.arm.set_bedside_control(false, now),
            ControlStep::Offered => self.arm.hold(TransitionReason::ControlHandover, now),
            ControlStep::Released => self.arm.end_session(now),
            ControlStep::Granted | ControlStep::Resumed | ControlStep::Accepted => {
                self.arm.begin_session(now)
            }
            _ => {}
        }
        if change.holder_changed {
            self.controller_session = self.controller().map_or(0, |p| p.session_id);
        }
        let by = self.party_label(change.by);
        let to = change.to.map(|p| self.party_label(p));
        self.announce(None, change.step, by, to, now);
    }

    pub(super) fn party_label(&self, party: Party) -> String {
        match party {
            Party::Bedside => label_of(&self.bedside),
            Party::Remote { peer } => self
                .peers
                .iter()
                .find(|p| p.id == peer)
                .map_or_else(|| format!("console {peer}"), Peer::label),
        }
    }

    /// Sends a control step to one console or all, with who holds control and who is present.
    pub(super) fn announce(
        &mut self,
        to: Option<PeerId>,
        step: ControlStep,
        by: String,
        recipient: Option<String>,
        now: Duration,
    ) {
        let holder = match self.control.holder() {
            HolderState::Vacant => ControlHolder::Vacant,
            HolderState::Bedside => ControlHolder::Bedside {
                name: self.bedside.name.clone(),
            },
            HolderState::Remote { key, peer } => ControlHolder::Remote {
                name: key
                    .split_once('/')
                    .map_or(key.as_str(), |(_, n)| n)
                    .to_string(),
                connected: peer.is_some(),
            },
        };
        let present = self.peers.iter().map(Peer::label).collect();
        if step != ControlStep::Status {
            let subject = match &recipient {
                Some(r) => format!("{} -> {r}", step.name()),
                None => step.name().to_string(),
            };
            let actor = self.actor_by_label(&by);
            self.audit(
                actor.as_ref(),
                AuditAction::Control,
                subject,
                format!("holder: {holder:?}"),
                now,
            );
        }
        self.send(
            to,
            SessionEvent::Control {
                step,
                by,
                to: recipient,
                holder,
                present,
                at_us: now.as_micros() as i64,
            },
        );
    }

    pub(super) fn actor_by_label(&self, by: &str) -> Option<Identity> {
        if by == label_of(&self.bedside) {
            return Some(self.bedside.clone());
        }
        self.peers
            .iter()
            .find(|p| p.label() == by)
            .map(|p| p.identity.clone())
    }
}

fn label_of(identity: &Identity) -> String {
    label(identity)
}
