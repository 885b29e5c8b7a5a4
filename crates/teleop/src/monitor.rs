//! The patient monitor's readings as the session carries them: one reading of the six vital
//! signs with the station-clock time it was taken, sent by the station to every console on the
//! events stream and kept by the console with its age.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// One patient monitor reading, in the units its field names say.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MonitorReading {
    pub hr_bpm: f64,
    pub spo2_pct: f64,
    pub rr_per_min: f64,
    pub sbp_mmhg: f64,
    pub dbp_mmhg: f64,
    pub temp_c: f64,
    /// When the monitor took it, on the station's clock, µs.
    pub at_us: i64,
}

impl MonitorReading {
    /// The station-clock time of the reading (zero for a negative time).
    pub fn at(&self) -> Duration {
        Duration::from_micros(u64::try_from(self.at_us).unwrap_or(0))
    }

    /// Whether every sign is a finite number in a range a monitor can display (a reading that
    /// is not is not shown as a patient's vitals).
    pub fn is_plausible(&self) -> bool {
        let within = |v: f64, lo: f64, hi: f64| v.is_finite() && (lo..=hi).contains(&v);
        within(self.hr_bpm, 0.0, 350.0)
            && within(self.spo2_pct, 0.0, 100.0)
            && within(self.rr_per_min, 0.0, 150.0)
            && within(self.sbp_mmhg, 0.0, 400.0)
            && within(self.dbp_mmhg, 0.0, 400.0)
            && within(self.temp_c, 20.0, 45.0)
    }
}
