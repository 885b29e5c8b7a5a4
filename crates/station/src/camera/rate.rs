//! How many bits per second the video may use: additive increase while frames arrive in time,
//! multiplicative decrease when one is late or had to be dropped for a newer one. Pure: the
//! network thread feeds it what happened to each frame and the time; the camera thread reads the
//! target before each encode. Control datagrams share the path: keeping every frame's delivery
//! within a frame interval of the round trip keeps the video from filling the queues they cross.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The bitrate bounds and how the target moves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateSettings {
    pub min_bps: u32,
    pub start_bps: u32,
    pub max_bps: u32,
    /// Added per frame delivered in time, as a share of the current target.
    pub increase_per_frame: f64,
    /// Factor applied when a frame is dropped (superseded before it was delivered).
    pub decrease_on_drop: f64,
    /// Factor applied when a frame's delivery took longer than a round trip and one frame
    /// interval (the path is queueing).
    pub decrease_on_late: f64,
}

impl Default for RateSettings {
    fn default() -> Self {
        Self {
            min_bps: 250_000,
            start_bps: 2_000_000,
            max_bps: 4_000_000,
            increase_per_frame: 0.01,
            decrease_on_drop: 0.7,
            decrease_on_late: 0.85,
        }
    }
}

/// After a decrease, no increase and no other decrease for this long (the queue drains).
const HOLD_AFTER_DECREASE: Duration = Duration::from_millis(500);

#[derive(Debug, Clone)]
pub struct RateController {
    settings: RateSettings,
    target_bps: f64,
    last_decrease: Option<Duration>,
    frame_interval: Duration,
}

impl RateController {
    pub fn new(settings: RateSettings, fps: f64) -> Self {
        let fps = if fps.is_finite() && fps > 0.0 {
            fps
        } else {
            30.0
        };
        Self {
            target_bps: f64::from(settings.start_bps.clamp(settings.min_bps, settings.max_bps)),
            settings,
            last_decrease: None,
            frame_interval: Duration::from_secs_f64(1.0 / fps),
        }
    }

    pub fn target_bps(&self) -> u32 {
        self.target_bps as u32
    }

    fn holding(&self, now: Duration) -> bool {
        self.last_decrease
            .is_some_and(|at| now.saturating_sub(at) < HOLD_AFTER_DECREASE)
    }

    fn decrease(&mut self, factor: f64, now: Duration) {
        if self.holding(now) {
            return;
        }
        self.target_bps = (self.target_bps * factor).max(f64::from(self.settings.min_bps));
        self.last_decrease = Some(now);
    }

    /// A frame reached the console: how long from the start of its sending to the
    /// acknowledgement of its last byte, and the path's round trip.
    pub fn on_delivered(&mut self, took: Duration, rtt: Duration, now: Duration) {
        if took > rtt + self.frame_interval {
            self.decrease(self.settings.decrease_on_late, now);
        } else if !self.holding(now) {
            self.target_bps = (self.target_bps * (1.0 + self.settings.increase_per_frame))
                .min(f64::from(self.settings.max_bps));
        }
    }

    /// A frame was reset because a newer one was ready before it had been delivered.
    pub fn on_dropped(&mut self, now: Duration) {
        self.decrease(self.settings.decrease_on_drop, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn grows_to_the_ceiling_while_frames_arrive_in_time() {
        let mut rate = RateController::new(RateSettings::default(), 30.0);
        for i in 0..300 {
            rate.on_delivered(MS(12), MS(10), MS(33 * i));
        }
        assert_eq!(rate.target_bps(), 4_000_000);
    }

    #[test]
    fn backs_off_on_drops_and_late_frames_down_to_the_floor() {
        let mut rate = RateController::new(RateSettings::default(), 30.0);
        rate.on_dropped(MS(0));
        assert_eq!(rate.target_bps(), 1_400_000);
        // Within the hold time nothing moves.
        rate.on_dropped(MS(100));
        rate.on_delivered(MS(5), MS(5), MS(200));
        assert_eq!(rate.target_bps(), 1_400_000);
        rate.on_delivered(MS(200), MS(40), MS(600));
        assert_eq!(rate.target_bps(), 1_190_000);
        for i in 0..100 {
            rate.on_dropped(MS(1_200 + 600 * i));
        }
        assert_eq!(rate.target_bps(), 250_000);
    }
}
