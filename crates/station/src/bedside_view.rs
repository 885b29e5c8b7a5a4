//! What the bedside panel shows, taken from the session core on the servo thread: the supervisor
//! state, looked at every tick so that no change is missed (kept with its station time), and
//! every `EVERY_TICKS` ticks who holds control, a pending offer, the measured tool tip and the
//! patient monitor's newest plausible reading with its age. The servo
//! thread never waits for it: it only tries the lock (a change it could not write is written on
//! the next tick), and builds text only when something changed.

use serde::Serialize;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use teleop::station::control::HolderState;
use teleop::{MonitorReading, StationSession};

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
    /// The patient monitor's newest plausible reading (one that is not is not shown as the
    /// patient's vitals) and how old it was at `now_s` (station clock), ms.
    pub vitals: Option<MonitorReading>,
    pub vitals_age_ms: Option<f64>,
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
        if let Some(reading) = core.last_vitals().filter(MonitorReading::is_plausible) {
            snapshot.vitals = Some(reading);
        }
        snapshot.vitals_age_ms = snapshot
            .vitals
            .map(|v| now.saturating_sub(v.at()).as_secs_f64() * 1000.0);
    }

    pub fn snapshot(&self) -> MutexGuard<'_, BedsideSnapshot> {
        self.snapshot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use teleop::{Core, StationInput, StationSessionConfig};

    fn reading(hr_bpm: f64, at: Duration) -> MonitorReading {
        MonitorReading {
            hr_bpm,
            spo2_pct: 97.0,
            rr_per_min: 14.0,
            sbp_mmhg: 121.0,
            dbp_mmhg: 79.0,
            temp_c: 36.9,
            at_us: at.as_micros() as i64,
        }
    }

    #[test]
    fn the_panel_shows_the_newest_plausible_reading_with_its_age() {
        let mut core = StationSession::new(StationSessionConfig::default()).unwrap();
        let view = BedsideView::default();
        let at = |ms| Duration::from_millis(ms);
        view.observe(&core, None, EVERY_TICKS, at(0));
        assert!(view.snapshot().vitals.is_none() && view.snapshot().vitals_age_ms.is_none());

        let first = reading(72.0, at(1000));
        core.handle_input(StationInput::Monitor { reading: first }, at(1000));
        view.observe(&core, None, 2 * EVERY_TICKS, at(1500));
        assert_eq!(view.snapshot().vitals, Some(first));
        assert_eq!(view.snapshot().vitals_age_ms, Some(500.0));

        // An implausible reading (a sign the monitor lost) is not shown; the last good one ages.
        let lost = reading(f64::NAN, at(2000));
        core.handle_input(StationInput::Monitor { reading: lost }, at(2000));
        view.observe(&core, None, 3 * EVERY_TICKS, at(7000));
        assert_eq!(view.snapshot().vitals, Some(first));
        assert_eq!(view.snapshot().vitals_age_ms, Some(6000.0));

        let newer = reading(75.0, at(8000));
        core.handle_input(StationInput::Monitor { reading: newer }, at(8000));
        view.observe(&core, None, 4 * EVERY_TICKS, at(8020));
        assert_eq!(view.snapshot().vitals, Some(newer));
        assert_eq!(view.snapshot().vitals_age_ms, Some(20.0));
    }
}
