//! The scripted surgeon: the operator's decisions for a console run by a script (demo, rehearsal,
//! `medlink console`), taken from what the console shows. It enables a disabled arm, presses
//! engage once per session when the station is ready, and, if asked to, presses it again a
//! settle time after the station fell back to HOLD or READY, as a surgeon presses the pedal.
//! It accepts an offer of control addressed to it (a hand-back from the bedside team, or another
//! console's offer) and acts only while it holds control. Its decisions reach the console core as
//! operator inputs, so they are recorded like a person's.

use super::{ConsoleView, FRESH_STATE, OperatorAction};
use proto::SupervisorStateCode;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScriptedSurgeon {
    /// Press engage again after the station left ENGAGED within a session.
    pub reengage: bool,
    /// How long the station must have been back (fresh reports) before pressing it again.
    pub reengage_after: Duration,
    enable_asked_in_session: u64,
}

impl ScriptedSurgeon {
    pub fn new(reengage: bool, reengage_after: Duration) -> Self {
        Self {
            reengage,
            reengage_after,
            enable_asked_in_session: 0,
        }
    }

    /// The operator's action for this tick, if any.
    pub fn decide(&mut self, view: &ConsoleView) -> Option<OperatorAction> {
        let fresh = view.state_age.is_some_and(|age| age < FRESH_STATE);
        if !view.connected || view.finished || view.session_id == 0 || !fresh {
            return None;
        }
        if view.offer_to_me && view.may_operate == Some(true) {
            return Some(OperatorAction::AcceptControl);
        }
        if !view.in_control {
            return None;
        }
        let state = view.station_state?;
        if state == SupervisorStateCode::Disabled && self.enable_asked_in_session != view.session_id
        {
            self.enable_asked_in_session = view.session_id;
            return Some(OperatorAction::Enable);
        }
        let ready = matches!(
            state,
            SupervisorStateCode::Ready | SupervisorStateCode::Hold
        );
        if !ready || view.following || view.engage_pending {
            return None;
        }
        let first_of_session = view.engages_this_session == 0;
        let settled = self.reengage
            && view
                .left_engaged_at
                .is_some_and(|left| view.now.saturating_sub(left) >= self.reengage_after);
        (first_of_session || settled).then_some(OperatorAction::Engage)
    }
}
