//! Who has control of the station's devices, and how it passes: the two-teams protocol as a pure
//! state machine. One remote console (by certificate) or the bedside team holds control; control
//! passes between consoles only by an explicit offer and accept; the bedside team takes over at
//! once and hands back by an offer the remote surgeon must accept. The station core applies what
//! each step means for the arm (hold, bedside control, a fresh engagement).

use crate::message::ControlStep;
use serde::{Deserialize, Serialize};

/// A connection's id, given by the edge (one per accepted connection).
pub type PeerId = u64;

/// Who may receive or make an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Party {
    Remote { peer: PeerId },
    Bedside,
}

/// Who holds control now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HolderState {
    /// Nobody: the first operator to connect (or to accept) takes it.
    Vacant,
    /// A remote console, known by its certificate so that it keeps control across a reconnect;
    /// `peer` is `None` while it is disconnected.
    Remote { key: String, peer: Option<PeerId> },
    /// The bedside team: remote commands and requests are ignored.
    Bedside,
}

/// An offer of control waiting for its recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub from: Party,
    pub to: PeerId,
}

/// What a step did to control; the core turns it into arm actions, events and audit records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub step: ControlStep,
    /// The party that acted.
    pub by: Party,
    /// The recipient, for offers and their answers.
    pub to: Option<Party>,
    /// Whether the controlling party changed (the arm starts a fresh engagement).
    pub holder_changed: bool,
}

pub type Refusal = &'static str;

pub const NOT_IN_CONTROL: Refusal = "this console does not have control";
pub const BEDSIDE_HAS_CONTROL: Refusal = "the bedside team has control";
pub const OFFER_PENDING: Refusal = "a control offer is pending";
const NO_OFFER: Refusal = "no control offer is addressed to this console";
const NOT_AN_OPERATOR: Refusal = "the recipient is not a connected operator";
const TO_SELF: Refusal = "a console cannot offer control to itself";
const NOT_BEDSIDE: Refusal = "only the bedside team can hand control back";
const NOTHING_TO_WITHDRAW: Refusal = "this console has no offer to withdraw";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    holder: HolderState,
    offer: Option<Offer>,
}

impl Default for Control {
    fn default() -> Self {
        Self::new()
    }
}

impl Control {
    pub fn new() -> Self {
        Self {
            holder: HolderState::Vacant,
            offer: None,
        }
    }

    pub fn holder(&self) -> &HolderState {
        &self.holder
    }

    pub fn offer(&self) -> Option<Offer> {
        self.offer
    }

    /// Whether `peer`'s commands and requests may reach the supervisor.
    pub fn is_controller(&self, peer: PeerId) -> bool {
        matches!(self.holder, HolderState::Remote { peer: Some(p), .. } if p == peer)
    }

    pub fn bedside_has_control(&self) -> bool {
        self.holder == HolderState::Bedside
    }

    /// Why `peer` may not act now, if it may not: not the holder, or an offer is pending.
    pub fn may_act(&self, peer: PeerId) -> Result<(), Refusal> {
        if self.bedside_has_control() {
            return Err(BEDSIDE_HAS_CONTROL);
        }
        if !self.is_controller(peer) {
            return Err(NOT_IN_CONTROL);
        }
        if self.offer.is_some() {
            return Err(OFFER_PENDING);
        }
        Ok(())
    }

    /// A console connected. An operator takes vacant control; the holder's certificate
    /// reconnecting takes its control back (a fresh engagement).
    pub fn connect(&mut self, peer: PeerId, key: &str, operator: bool) -> Option<Change> {
        let by = Party::Remote { peer };
        match &mut self.holder {
            HolderState::Remote { key: held, peer: p } if held == key && operator => {
                *p = Some(peer);
                Some(change(ControlStep::Resumed, by, None, true))
            }
            HolderState::Vacant if operator => {
                self.holder = HolderState::Remote {
                    key: key.to_string(),
                    peer: Some(peer),
                };
                Some(change(ControlStep::Granted, by, None, true))
            }
            _ => None,
        }
    }

    /// A console's connection ended: offers to or from it are withdrawn; a holder keeps control
    /// reserved for its certificate (it may reconnect), the bedside team can always take over.
    pub fn disconnect(&mut self, peer: PeerId) -> Option<Change> {
        if let HolderState::Remote { peer: p, .. } = &mut self.holder
            && *p == Some(peer)
        {
            *p = None;
        }
        self.withdraw_involving(peer)
    }

    /// The holder is done (said bye): control becomes vacant.
    pub fn release(&mut self, peer: PeerId) -> Option<Change> {
        let withdrawn = self.withdraw_involving(peer);
        if self.is_controller(peer) {
            self.holder = HolderState::Vacant;
            return Some(change(
                ControlStep::Released,
                Party::Remote { peer },
                None,
                true,
            ));
        }
        withdrawn
    }

    /// The holder offers control to another connected operator (`recipient_is_operator`).
    pub fn offer_to(
        &mut self,
        from: PeerId,
        to: PeerId,
        recipient_is_operator: bool,
    ) -> Result<Change, Refusal> {
        self.may_act(from)?;
        if from == to {
            return Err(TO_SELF);
        }
        if !recipient_is_operator {
            return Err(NOT_AN_OPERATOR);
        }
        let by = Party::Remote { peer: from };
        self.offer = Some(Offer { from: by, to });
        Ok(change(
            ControlStep::Offered,
            by,
            Some(Party::Remote { peer: to }),
            false,
        ))
    }

    /// The recipient of an offer accepts it, or an operator claims vacant control.
    pub fn accept(&mut self, peer: PeerId, key: &str, operator: bool) -> Result<Change, Refusal> {
        let by = Party::Remote { peer };
        match self.offer {
            Some(offer) if offer.to == peer => {
                self.offer = None;
                self.holder = HolderState::Remote {
                    key: key.to_string(),
                    peer: Some(peer),
                };
                let step = match offer.from {
                    Party::Bedside => ControlStep::HandedBack,
                    Party::Remote { .. } => ControlStep::Accepted,
                };
                Ok(change(step, by, Some(offer.from), true))
            }
            None if self.holder == HolderState::Vacant && operator => {
                self.connect(peer, key, operator).ok_or(NO_OFFER)
            }
            _ => Err(NO_OFFER),
        }
    }

    /// The recipient of an offer declines it; control stays where it was.
    pub fn decline(&mut self, peer: PeerId) -> Result<Change, Refusal> {
        match self.offer {
            Some(offer) if offer.to == peer => {
                self.offer = None;
                Ok(change(
                    ControlStep::Declined,
                    Party::Remote { peer },
                    Some(offer.from),
                    false,
                ))
            }
            _ => Err(NO_OFFER),
        }
    }

    /// The party that made an offer takes it back.
    pub fn withdraw(&mut self, by: Party) -> Result<Change, Refusal> {
        match self.offer {
            Some(offer) if offer.from == by => {
                self.offer = None;
                Ok(change(
                    ControlStep::Withdrawn,
                    by,
                    Some(Party::Remote { peer: offer.to }),
                    false,
                ))
            }
            _ => Err(NOTHING_TO_WITHDRAW),
        }
    }

    /// The bedside team takes control, at once and from any state; pending offers lapse.
    pub fn take_over(&mut self) -> Change {
        let changed = !self.bedside_has_control();
        self.offer = None;
        self.holder = HolderState::Bedside;
        change(ControlStep::TakenOver, Party::Bedside, None, changed)
    }

    /// The bedside team offers control back to a connected operator.
    pub fn hand_back(
        &mut self,
        to: PeerId,
        recipient_is_operator: bool,
    ) -> Result<Change, Refusal> {
        if !self.bedside_has_control() {
            return Err(NOT_BEDSIDE);
        }
        if !recipient_is_operator {
            return Err(NOT_AN_OPERATOR);
        }
        self.offer = Some(Offer {
            from: Party::Bedside,
            to,
        });
        Ok(change(
            ControlStep::HandBackOffered,
            Party::Bedside,
            Some(Party::Remote { peer: to }),
            false,
        ))
    }

    fn withdraw_involving(&mut self, peer: PeerId) -> Option<Change> {
        let offer = self.offer?;
        let from_peer = offer.from == Party::Remote { peer };
        if offer.to != peer && !from_peer {
            return None;
        }
        self.offer = None;
        Some(change(
            ControlStep::Withdrawn,
            if from_peer {
                offer.from
            } else {
                Party::Remote { peer }
            },
            Some(if from_peer {
                Party::Remote { peer: offer.to }
            } else {
                offer.from
            }),
            false,
        ))
    }
}

fn change(step: ControlStep, by: Party, to: Option<Party>, holder_changed: bool) -> Change {
    Change {
        step,
        by,
        to,
        holder_changed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: PeerId = 1;
    const B: PeerId = 2;
    const OBSERVER: PeerId = 3;

    fn two_surgeons() -> Control {
        let mut c = Control::new();
        assert_eq!(
            c.connect(A, "a", true).map(|c| c.step),
            Some(ControlStep::Granted)
        );
        assert_eq!(c.connect(B, "b", true), None, "control is taken");
        assert_eq!(c.connect(OBSERVER, "o", false), None);
        c
    }

    #[test]
    fn the_first_operator_takes_vacant_control_and_observers_never_do() {
        let mut c = Control::new();
        assert_eq!(c.connect(OBSERVER, "o", false), None);
        assert_eq!(c.holder(), &HolderState::Vacant);
        assert_eq!(c.accept(OBSERVER, "o", false), Err(NO_OFFER));
        let c = two_surgeons();
        assert!(c.is_controller(A));
        assert_eq!(c.may_act(B), Err(NOT_IN_CONTROL));
        assert_eq!(c.may_act(OBSERVER), Err(NOT_IN_CONTROL));
    }

    #[test]
    fn control_passes_only_by_offer_and_accept() {
        let mut c = two_surgeons();
        assert_eq!(
            c.accept(B, "b", true),
            Err(NO_OFFER),
            "no offer, no control"
        );
        assert_eq!(c.offer_to(B, A, true), Err(NOT_IN_CONTROL));
        assert_eq!(c.offer_to(A, A, true), Err(TO_SELF));
        assert_eq!(c.offer_to(A, OBSERVER, false), Err(NOT_AN_OPERATOR));
        let offered = c.offer_to(A, B, true).unwrap();
        assert_eq!(offered.step, ControlStep::Offered);
        assert_eq!(
            c.may_act(A),
            Err(OFFER_PENDING),
            "the offerer waits in HOLD"
        );
        assert_eq!(c.accept(OBSERVER, "o", false), Err(NO_OFFER));
        let accepted = c.accept(B, "b", true).unwrap();
        assert_eq!(accepted.step, ControlStep::Accepted);
        assert!(accepted.holder_changed);
        assert!(c.is_controller(B) && !c.is_controller(A));
        assert_eq!(c.may_act(B), Ok(()));
    }

    #[test]
    fn a_declined_or_withdrawn_offer_leaves_control_where_it_was() {
        let mut c = two_surgeons();
        c.offer_to(A, B, true).unwrap();
        assert_eq!(c.decline(A), Err(NO_OFFER), "only the recipient declines");
        assert_eq!(c.decline(B).unwrap().step, ControlStep::Declined);
        assert!(c.is_controller(A));
        assert_eq!(c.may_act(A), Ok(()));
        c.offer_to(A, B, true).unwrap();
        assert_eq!(
            c.withdraw(Party::Remote { peer: B }),
            Err(NOTHING_TO_WITHDRAW)
        );
        assert_eq!(
            c.withdraw(Party::Remote { peer: A }).unwrap().step,
            ControlStep::Withdrawn
        );
        assert_eq!(c.accept(B, "b", true), Err(NO_OFFER));
        assert!(c.is_controller(A));
    }

    #[test]
    fn the_offering_console_dropping_mid_way_withdraws_its_offer() {
        let mut c = two_surgeons();
        c.offer_to(A, B, true).unwrap();
        let dropped = c.disconnect(A).unwrap();
        assert_eq!(dropped.step, ControlStep::Withdrawn);
        assert_eq!(c.accept(B, "b", true), Err(NO_OFFER), "a lapsed offer");
        assert!(!c.is_controller(B));
        // The holder's certificate gets its control back when it reconnects.
        let back = c.connect(10, "a", true).unwrap();
        assert_eq!(back.step, ControlStep::Resumed);
        assert!(c.is_controller(10));
    }

    #[test]
    fn the_recipient_dropping_withdraws_the_offer() {
        let mut c = two_surgeons();
        c.offer_to(A, B, true).unwrap();
        assert_eq!(c.disconnect(B).unwrap().step, ControlStep::Withdrawn);
        assert_eq!(c.may_act(A), Ok(()));
    }

    #[test]
    fn the_bedside_takes_over_at_once_and_hands_back_by_an_accepted_offer() {
        let mut c = two_surgeons();
        c.offer_to(A, B, true).unwrap();
        let taken = c.take_over();
        assert_eq!(taken.step, ControlStep::TakenOver);
        assert!(taken.holder_changed);
        assert_eq!(c.offer(), None, "pending offers lapse");
        assert_eq!(c.may_act(A), Err(BEDSIDE_HAS_CONTROL));
        assert_eq!(c.offer_to(A, B, true), Err(BEDSIDE_HAS_CONTROL));
        assert_eq!(c.accept(A, "a", true), Err(NO_OFFER));
        assert_eq!(c.hand_back(OBSERVER, false), Err(NOT_AN_OPERATOR));
        assert_eq!(
            c.hand_back(B, true).unwrap().step,
            ControlStep::HandBackOffered
        );
        assert_eq!(
            c.may_act(B),
            Err(BEDSIDE_HAS_CONTROL),
            "not before accepting"
        );
        assert_eq!(
            c.accept(A, "a", true),
            Err(NO_OFFER),
            "only the named surgeon"
        );
        let back = c.accept(B, "b", true).unwrap();
        assert_eq!(back.step, ControlStep::HandedBack);
        assert_eq!(back.to, Some(Party::Bedside));
        assert_eq!(c.may_act(B), Ok(()));
    }

    #[test]
    fn a_declined_hand_back_leaves_the_bedside_in_control() {
        let mut c = two_surgeons();
        c.take_over();
        c.hand_back(A, true).unwrap();
        c.decline(A).unwrap();
        assert!(c.bedside_has_control());
        assert_eq!(
            c.hand_back(A, true).map(|c| c.step),
            Ok(ControlStep::HandBackOffered)
        );
        assert_eq!(
            c.withdraw(Party::Bedside).map(|c| c.step),
            Ok(ControlStep::Withdrawn)
        );
        assert!(c.bedside_has_control());
    }

    #[test]
    fn only_the_bedside_hands_back_and_a_release_makes_control_vacant() {
        let mut c = two_surgeons();
        assert_eq!(c.hand_back(B, true), Err(NOT_BEDSIDE));
        assert_eq!(c.release(B), None, "not the holder");
        assert_eq!(c.release(A).unwrap().step, ControlStep::Released);
        assert_eq!(c.holder(), &HolderState::Vacant);
        assert_eq!(c.accept(B, "b", true).unwrap().step, ControlStep::Granted);
    }
}
