//! What the bedside panel shows, taken from the session core on the servo thread every
//! `EVERY_TICKS` ticks: the supervisor state (its changes kept with their station time), who
//! holds control, a pending offer, the measured tool tip. The servo thread never waits for it:
//! it only tries the lock, and builds text only when something changed.

use serde::Serialize;
use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use teleop::StationSession;
use teleop::station::control::HolderState;

/// The servo thread looks every this many ticks (20 ms at 1 kHz).
pub const EVERY_TICKS: u64 = 20;
/// State changes kept for the panel.
const KEPT: usize = 12;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StateChange {
    pub at_s: f64,
    pub from: &'static str,
    pub to: &'static str,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct BedsideSnapshot {
    pub now_s: f64,
    pub state: Option<&'static str>,
    /// "vacant", "bedside team", or the remote console's certificate key and whether it is
    /// connected.
    pub control: String,
    pub bedside_control: bool,
    pub offer_pending: bool,
    pub estop_latched: bool,
    pub tip: Option<[f64; 3]>,
    pub session_id: Option<u64>,
    pub changes: VecDeque<StateChange>,
}

/// Shared between the servo thread (writer) and the panel (reader).
#[derive(Default)]
pub struct BedsideView {
    snapshot: Mutex<BedsideSnapshot>,
    holder: Mutex<Option<HolderState>>,
}

impl BedsideView {
    /// Called by the servo thread; returns at once when the panel holds the lock.
    pub fn observe(&self, core: &StationSession, tip: Option<[f64; 3]>, now: Duration) {
        let Ok(mut snapshot) = self.snapshot.try_lock() else {
            return;
        };
        let state = core.arm().state().name();
        if let Some(from) = snapshot.state
            && from != state
        {
            if snapshot.changes.len() == KEPT {
                snapshot.changes.pop_front();
            }
            snapshot.changes.push_back(StateChange {
                at_s: now.as_secs_f64(),
                from,
                to: state,
            });
        }
        snapshot.now_s = now.as_secs_f64();
        snapshot.state = Some(state);
        snapshot.estop_latched = state == "ESTOP";
        snapshot.session_id = core.session_id();
        snapshot.offer_pending = core.control().offer().is_some();
        snapshot.bedside_control = core.control().bedside_has_control();
        let holder = core.control().holder();
        if let Ok(mut seen) = self.holder.try_lock()
            && seen.as_ref() != Some(holder)
        {
            snapshot.control = match holder {
                HolderState::Vacant => "vacant".to_string(),
                HolderState::Bedside => "bedside team".to_string(),
                HolderState::Remote { key, peer } => {
                    let link = if peer.is_some() {
                        "connected"
                    } else {
                        "reconnecting"
                    };
                    format!("remote console {key} ({link})")
                }
            };
            *seen = Some(holder.clone());
        }
        snapshot.tip = tip.or(snapshot.tip);
    }

    pub fn snapshot(&self) -> MutexGuard<'_, BedsideSnapshot> {
        self.snapshot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
