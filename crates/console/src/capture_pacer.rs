//! Display-locked capture: from when the page's frames were captured, drawn and painted, the
//! shift of the station camera's capture phase that brings each frame to the page just before
//! the display refreshes. A 30 fps camera and a 60 Hz display keep their phase for a whole run,
//! so without this each run lands at a phase by chance, and a frame drawn just after a refresh
//! waits most of a refresh period (up to 16.7 ms at 60 Hz) for the next one. Pure: no clock, no
//! IO (docs/video.md).

use serde::Deserialize;
use std::f64::consts::TAU;
use thiserror::Error;

/// Frames judged at once (two seconds of video at 30 fps).
pub const WINDOW: usize = 60;
/// Frames aim to be drawn this long before the refresh they are meant for (the animation
/// frame's own jitter).
pub const MARGIN_MS: f64 = 0.5;
/// A shift is asked for only if it should shorten the mean capture-to-paint time by at least
/// this much (otherwise the phase is right: no hunting on noise).
pub const MIN_GAIN_MS: f64 = 0.5;
/// After a shift, this many frames are not counted: those captured before it were still on
/// their way.
const SETTLE_FRAMES: usize = 10;
/// A page's report carries at most this many frames.
pub const MAX_REPORT_FRAMES: usize = 120;
/// Captures whose phases on the refresh grid spread more than this (mean resultant length
/// below it: a camera rate that is no multiple or divisor of the display's) cannot be locked.
const MIN_PHASE_CONCENTRATION: f64 = 0.9;

/// What the page reports on its video socket (text message, JSON).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaintReport {
    /// Per painted frame, in order: its capture, when it was drawn on the canvas and when the
    /// animation frame that painted it ran, each ms on the page's clock (Unix time).
    pub frames: Vec<[f64; 3]>,
    /// The display's refresh period as the page's animation frames show it (ms).
    pub display_period_ms: f64,
}

#[derive(Debug, Error, PartialEq)]
pub enum PaintReportError {
    #[error("the paint report is not JSON of the expected shape: {0}")]
    Shape(String),
    #[error("the paint report has {0} frames; at most {MAX_REPORT_FRAMES} are taken")]
    TooMany(usize),
    #[error(
        "a frame's times must be finite, drawn no earlier than captured and painted no earlier \
         than drawn, each within 10 s of the last (got {0:?})"
    )]
    Times([f64; 3]),
    #[error("the display period must be from 2 to 100 ms (got {0})")]
    Period(f64),
}

impl PaintReport {
    /// Parses and checks a page's report.
    pub fn parse(text: &str) -> Result<Self, PaintReportError> {
        let report: PaintReport =
            serde_json::from_str(text).map_err(|e| PaintReportError::Shape(e.to_string()))?;
        if report.frames.len() > MAX_REPORT_FRAMES {
            return Err(PaintReportError::TooMany(report.frames.len()));
        }
        let plausible = |[capture, drawn, painted]: [f64; 3]| {
            [capture, drawn, painted].iter().all(|t| t.is_finite())
                && (0.0..=10_000.0).contains(&(drawn - capture))
                && (0.0..=10_000.0).contains(&(painted - drawn))
        };
        if let Some(bad) = report.frames.iter().find(|f| !plausible(**f)) {
            return Err(PaintReportError::Times(*bad));
        }
        if !(2.0..=100.0).contains(&report.display_period_ms) {
            return Err(PaintReportError::Period(report.display_period_ms));
        }
        Ok(report)
    }
}

/// Collects frames' times and decides capture shifts.
#[derive(Debug, Default)]
pub struct CapturePacer {
    frames: Vec<[f64; 3]>,
    settle: usize,
}

impl CapturePacer {
    /// Takes a page's report; once a window is full, the capture shift to ask for (µs, always
    /// later, less than a refresh period), if it should shorten the window's mean
    /// capture-to-paint time.
    pub fn on_report(&mut self, report: &PaintReport) -> Option<i64> {
        for &frame in &report.frames {
            if self.settle > 0 {
                self.settle -= 1;
            } else {
                self.frames.push(frame);
            }
        }
        if self.frames.len() < WINDOW {
            return None;
        }
        let frames = std::mem::take(&mut self.frames);
        let (shift_ms, expected_ms) = shift_ms(&frames, report.display_period_ms)?;
        let now_ms = frames.iter().map(|f| f[2] - f[0]).sum::<f64>() / frames.len() as f64;
        if now_ms - expected_ms < MIN_GAIN_MS {
            return None;
        }
        self.settle = SETTLE_FRAMES;
        Some((shift_ms * 1e3).round() as i64)
    }
}

/// The capture shift (ms, later by less than a refresh period) that gives the window's
/// frames the shortest mean capture-to-paint time, and that mean (ms); None if the captures hold
/// no phase.
///
/// A frame ready `r` after its capture is painted at the first refresh after that. Aiming the
/// refresh `x` after the capture paints the frames ready by then after `x`, and the others a
/// refresh period (or more) later: the mean is about `x + period · P(r > x)`, smallest at one
/// of the readiness times seen. So a slow tenth of frames (a keyframe, a busy moment) is left to
/// the next refresh rather than delaying every frame.
fn shift_ms(frames: &[[f64; 3]], period_ms: f64) -> Option<(f64, f64)> {
    let (capture_phase, concentration) = mean_phase(frames.iter().map(|f| f[0]), period_ms);
    if concentration < MIN_PHASE_CONCENTRATION {
        return None;
    }
    let (refresh_phase, _) = mean_phase(frames.iter().map(|f| f[2]), period_ms);
    let mut ready: Vec<f64> = frames.iter().map(|f| f[1] - f[0]).collect();
    ready.sort_by(f64::total_cmp);
    let n = ready.len() as f64;
    let cost = |i: usize| ready[i] + period_ms * (n - 1.0 - i as f64) / n;
    let best = (0..ready.len()).min_by(|a, b| cost(*a).total_cmp(&cost(*b)))?;
    let wanted = refresh_phase - ready[best] - MARGIN_MS;
    // Always later (a phase is a phase modulo the refresh period): an earlier capture would
    // bring two frames closer than the camera's period, and the older one could be dropped
    // for the newer while in flight.
    let shift = (wanted - capture_phase).rem_euclid(period_ms);
    Some((shift, cost(best) + MARGIN_MS))
}

/// The circular mean of times on a grid of `period_ms` (ms in [0, period)), and how closely
/// they gather (mean resultant length: 1 all at one phase, 0 spread evenly).
fn mean_phase(times: impl Iterator<Item = f64>, period_ms: f64) -> (f64, f64) {
    let (mut sin, mut cos, mut n) = (0.0, 0.0, 0.0);
    for t in times {
        let angle = TAU * t.rem_euclid(period_ms) / period_ms;
        sin += angle.sin();
        cos += angle.cos();
        n += 1.0;
    }
    if n == 0.0 {
        return (0.0, 0.0);
    }
    let phase = (sin.atan2(cos) / TAU * period_ms).rem_euclid(period_ms);
    (phase, (sin * sin + cos * cos).sqrt() / n)
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: f64 = 1000.0 / 60.0;
    const CAMERA: f64 = 1000.0 / 30.0;
    const REFRESH_AT: f64 = 5.0;

    /// A frame captured at `capture` is ready to paint `ready_ms` later and painted at the
    /// first refresh after that (refreshes at REFRESH_AT + k·P).
    fn frame(capture: f64, ready_ms: f64) -> [f64; 3] {
        let drawn = capture + ready_ms;
        let painted = REFRESH_AT + ((drawn - REFRESH_AT) / P).ceil() * P;
        [capture, drawn, painted]
    }

    /// Frames of a 30 fps camera whose captures start at `phase`, each ready after 10 ms plus
    /// up to 1.2 ms of jitter.
    fn frames(phase: f64, from: usize, n: usize) -> Vec<[f64; 3]> {
        (from..from + n)
            .map(|i| {
                frame(
                    1000.0 + phase + i as f64 * CAMERA,
                    10.0 + 0.4 * (i % 4) as f64,
                )
            })
            .collect()
    }

    fn report(frames: Vec<[f64; 3]>) -> PaintReport {
        PaintReport {
            frames,
            display_period_ms: P,
        }
    }

    fn glass_to_glass(frames: &[[f64; 3]]) -> f64 {
        frames.iter().map(|f| f[2] - f[0]).sum::<f64>() / frames.len() as f64
    }

    #[test]
    fn the_loop_locks_at_any_starting_phase_and_then_stays() {
        for start in 0..34 {
            let mut phase = start as f64 * 0.5;
            let mut pacer = CapturePacer::default();
            let before = glass_to_glass(&frames(phase, 0, WINDOW));
            let mut shifts = 0;
            for window in 0..8 {
                let batch = frames(phase, window * 100, WINDOW + SETTLE_FRAMES);
                if let Some(shift) = pacer.on_report(&report(batch)) {
                    assert!(
                        (0.0..P * 1e3).contains(&(shift as f64)),
                        "later only: {shift}"
                    );
                    phase += shift as f64 / 1e3;
                    shifts += 1;
                }
            }
            let after = frames(phase, 1000, WINDOW);
            // Ready after at most 11.2 ms, drawn 0.5 ms ahead of a refresh.
            for f in &after {
                assert!(
                    f[2] - f[0] <= 11.2 + MARGIN_MS + MIN_GAIN_MS + 1e-3,
                    "{start}: {f:?}"
                );
            }
            // Never worse than before by more than the margin bought against late frames.
            assert!(
                glass_to_glass(&after) <= before + MARGIN_MS,
                "start {start}"
            );
            assert!(shifts <= 1, "start {start}: {shifts} shifts (it hunts)");
        }
    }

    #[test]
    fn frames_already_just_in_time_are_left_alone() {
        // Ready at 11.2 ms at the slowest, drawn 0.5 ms before the refresh at 5 + P.
        let phase = REFRESH_AT + P - 11.2 - MARGIN_MS;
        let mut pacer = CapturePacer::default();
        assert_eq!(pacer.on_report(&report(frames(phase, 0, WINDOW))), None);
    }

    #[test]
    fn a_slow_tenth_of_frames_is_left_to_the_next_refresh() {
        // Nine frames in ten ready after 10 ms, one after 30 ms: aim at the fast ones.
        let batch: Vec<[f64; 3]> = (0..WINDOW)
            .map(|i| {
                frame(
                    1000.0 + i as f64 * CAMERA,
                    if i % 10 == 9 { 30.0 } else { 10.0 },
                )
            })
            .collect();
        let (shift, _) = shift_ms(&batch, P).unwrap();
        let fast = frame(1000.0 + shift, 10.0);
        assert!(
            (fast[2] - fast[0] - 10.0 - MARGIN_MS).abs() < 1e-6,
            "{fast:?}"
        );
    }

    #[test]
    fn a_shift_waits_for_a_full_window_of_frames_captured_after_it() {
        let mut pacer = CapturePacer::default();
        assert_eq!(pacer.on_report(&report(frames(0.0, 0, WINDOW - 1))), None);
        assert!(
            pacer
                .on_report(&report(frames(0.0, WINDOW - 1, 1)))
                .is_some()
        );
        let more = frames(0.0, WINDOW, SETTLE_FRAMES + WINDOW - 1);
        assert_eq!(pacer.on_report(&report(more)), None);
        assert!(
            pacer
                .on_report(&report(frames(0.0, 3 * WINDOW, 1)))
                .is_some()
        );
    }

    #[test]
    fn a_camera_rate_that_holds_no_phase_on_the_refresh_grid_is_not_paced() {
        // 24 fps on a 60 Hz display: captures fall at five phases.
        let frames: Vec<[f64; 3]> = (0..WINDOW)
            .map(|i| frame(1000.0 + i as f64 * 1000.0 / 24.0, 10.0))
            .collect();
        assert_eq!(CapturePacer::default().on_report(&report(frames)), None);
    }

    #[test]
    fn bad_reports_are_refused_with_the_reason() {
        assert!(matches!(
            PaintReport::parse("{\"frames\":[[1,2,3]]}"),
            Err(PaintReportError::Shape(_))
        ));
        assert_eq!(
            PaintReport::parse("{\"frames\":[[5,2,3]],\"display_period_ms\":16.7}"),
            Err(PaintReportError::Times([5.0, 2.0, 3.0]))
        );
        assert_eq!(
            PaintReport::parse("{\"frames\":[[1,2,3]],\"display_period_ms\":0}"),
            Err(PaintReportError::Period(0.0))
        );
        let many = format!(
            "{{\"frames\":[{}],\"display_period_ms\":16.7}}",
            vec!["[1,2,3]"; MAX_REPORT_FRAMES + 1].join(",")
        );
        assert_eq!(
            PaintReport::parse(&many),
            Err(PaintReportError::TooMany(MAX_REPORT_FRAMES + 1))
        );
        let ok = PaintReport::parse("{\"frames\":[[1.5,3,4]],\"display_period_ms\":16.7}");
        assert_eq!(ok.unwrap().frames, vec![[1.5, 3.0, 4.0]]);
    }
}
