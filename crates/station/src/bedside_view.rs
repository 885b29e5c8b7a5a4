//! What the bedside panel shows, taken from the session core on the servo thread: the supervisor
//! state, looked at every tick so that no change is missed (kept with its station time), and
//! every `EVERY_TICKS` ticks who holds control, a pending offer, the measured tool tip. The servo
//! thread never waits for it: it only tries the lock (a change it could not write is written on
//! the next tick), and builds text only when something changed.

use serde::Serialize;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use teleop::StationSession;
use teleop::station::control::HolderState;

/// The servo thread refreshes the rest every this many ticks (20 ms at 1 kHz).
pub const EVERY_TICKS: u64 = 20;
/// State changes kept for the panel.
const KEPT: usize = 32;

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
pub struct BedsideView {
    snapshot: Mutex<BedsideSnapshot>,
    holder: Mutex<Option<HolderState>>,
    /// The state last written into the snapshot (`NONE` before the first).
    written: AtomicU8,
}

const NONE: u8 = u8::MAX;

impl Default for BedsideView {
    fn default() -> Self {
        Self {
            snapshot: Mutex::default(),
            holder: Mutex::default(),
            written: AtomicU8::new(NONE),
        }
    }
}

impl BedsideView {
    /// Called by the servo thread every tick (`tick` counts them); returns at once when nothing
    /// changed or the panel holds the lock.
    pub fn observe(&self, core: &StationSession, tip: Option<[f64; 3]>, tick: u64, now: Duration) {
        let code = core.arm().state() as u8;
        let changed = self.written.load(Ordering::Relaxed) != code;
        if !changed && !tick.is_multiple_of(EVERY_TICKS) {
            return;
        }
        let Ok(mut snapshot) = self.snapshot.try_lock() else {
            return;
        };
        self.written.store(code, Ordering::Relaxed);
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
