//! The station's simulated patient monitor: a thread of its own that takes one reading a
//! period (one a second by default) from `vitals::sim_patient` (a stable patient wandering
//! slowly around a baseline, with measurement noise, deterministic for a seed) and hands it to
//! the session core as `StationInput::Monitor`, which sends it to every console. The servo
//! thread never waits for it: the reading goes through the same lock-free inbound queue as
//! every other input.

use crate::shared::Shared;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use teleop::{MonitorReading, StationInput};
use vitals::Vitals;
use vitals::sim_patient::{Script, SimPatient};

/// How often the thread looks at the stop flag while it waits for the next reading.
const STOP_POLL: Duration = Duration::from_millis(50);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MonitorSettings {
    /// Time between readings (ms), 100 to 60 000.
    pub period_ms: u64,
    /// Seed of the simulated patient (baseline and noise).
    pub seed: u64,
}

impl Default for MonitorSettings {
    fn default() -> Self {
        Self {
            period_ms: 1000,
            seed: 1,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error("monitor period_ms must be between 100 and 60000, got {0}")]
    Period(u64),
    #[error("could not start the monitor thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// The simulated patient and its generator; `reading(t)` is pure given the seed.
pub struct SimulatedMonitor {
    patient: SimPatient,
    rng: StdRng,
}

impl SimulatedMonitor {
    pub fn new(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let patient = SimPatient::new(Script::Stable, 0.0, &mut rng);
        Self { patient, rng }
    }

    /// The reading at `at` on the station's clock.
    pub fn reading(&mut self, at: Duration) -> MonitorReading {
        let vitals = self.patient.vitals_at(at.as_secs_f64(), &mut self.rng);
        reading_of(&vitals, at)
    }
}

/// A monitor reading from the vital-sign model (a sign the model left out reads as NaN, which
/// every console refuses as implausible).
pub fn reading_of(vitals: &Vitals, at: Duration) -> MonitorReading {
    let sign = |v: Option<f64>| v.unwrap_or(f64::NAN);
    MonitorReading {
        hr_bpm: sign(vitals.heart_rate),
        spo2_pct: sign(vitals.spo2),
        rr_per_min: sign(vitals.resp_rate),
        sbp_mmhg: sign(vitals.systolic),
        dbp_mmhg: sign(vitals.diastolic),
        temp_c: sign(vitals.temperature),
        at_us: i64::try_from(at.as_micros()).unwrap_or(i64::MAX),
    }
}

/// Starts the monitor thread; it ends when `stop` is set.
pub fn spawn(
    settings: &MonitorSettings,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>, MonitorError> {
    if !(100..=60_000).contains(&settings.period_ms) {
        return Err(MonitorError::Period(settings.period_ms));
    }
    let period = Duration::from_millis(settings.period_ms);
    let mut monitor = SimulatedMonitor::new(settings.seed);
    let handle = std::thread::Builder::new()
        .name("station-monitor".into())
        .spawn(move || {
            let mut next = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                let now = Instant::now();
                if next > now {
                    std::thread::sleep((next - now).min(STOP_POLL));
                    continue;
                }
                next = now + period;
                let reading = monitor.reading(shared.now());
                shared.push_inbound(StationInput::Monitor { reading });
            }
        })?;
    Ok(handle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_are_plausible_and_carry_the_station_time() {
        let mut monitor = SimulatedMonitor::new(7);
        for s in 0..1200 {
            let r = monitor.reading(Duration::from_secs(s));
            assert!(r.is_plausible(), "{r:?}");
            assert!((50.0..=110.0).contains(&r.hr_bpm), "{r:?}");
            assert!((90.0..=100.0).contains(&r.spo2_pct), "{r:?}");
            assert!(r.dbp_mmhg < r.sbp_mmhg, "{r:?}");
            assert_eq!(r.at_us, s as i64 * 1_000_000);
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_patient() {
        let (mut a, mut b) = (SimulatedMonitor::new(3), SimulatedMonitor::new(3));
        let at = Duration::from_secs(5);
        assert_eq!(a.reading(at), b.reading(at));
    }

    #[test]
    fn a_missing_sign_reads_as_implausible() {
        let r = reading_of(&Vitals::default(), Duration::ZERO);
        assert!(!r.is_plausible());
    }
}
