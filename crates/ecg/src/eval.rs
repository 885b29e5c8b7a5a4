//! Beat-by-beat comparison with reference annotations (ANSI/AAMI EC57 style matching).

use serde::Serialize;

/// The EC57 matching window: a detection within this many seconds of a reference beat matches it.
pub const MATCH_WINDOW_S: f64 = 0.150;

/// Counts and rates of a beat-by-beat comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub tp: usize,
    #[serde(rename = "fn")]
    pub false_negatives: usize,
    #[serde(rename = "fp")]
    pub false_positives: usize,
    /// TP / (TP + FN); 1 when there is no reference beat.
    pub sensitivity: f64,
    /// TP / (TP + FP); 1 when nothing was detected.
    pub ppv: f64,
    /// Mean of detected minus reference sample over matched beats.
    pub mean_offset_samples: f64,
    /// Sample indices of unmatched reference beats.
    #[serde(skip)]
    pub missed: Vec<u64>,
    /// Sample indices of unmatched detections.
    #[serde(skip)]
    pub extra: Vec<u64>,
}

/// Matches detections to reference beats: each reference takes the closest unmatched detection
/// within `window` samples. Both inputs must be sorted.
pub fn compare(reference: &[u64], detected: &[u64], window: u64) -> Comparison {
    let mut used = vec![false; detected.len()];
    let mut start = 0usize;
    let mut missed = Vec::new();
    let mut offset_sum = 0i64;
    for &r in reference {
        while start < detected.len() && detected[start] + window < r {
            start += 1;
        }
        let closest = detected[start..]
            .iter()
            .enumerate()
            .take_while(|(_, d)| **d <= r + window)
            .filter(|(i, _)| !used[start + i])
            .min_by_key(|(_, d)| d.abs_diff(r))
            .map(|(i, _)| start + i);
        match closest {
            Some(i) => {
                used[i] = true;
                offset_sum += detected[i] as i64 - r as i64;
            }
            None => missed.push(r),
        }
    }
    let extra: Vec<u64> = detected
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|(d, _)| *d)
        .collect();
    let tp = reference.len() - missed.len();
    let ratio = |part: usize, whole: usize| {
        if whole == 0 {
            1.0
        } else {
            part as f64 / whole as f64
        }
    };
    Comparison {
        tp,
        false_negatives: missed.len(),
        false_positives: extra.len(),
        sensitivity: ratio(tp, reference.len()),
        ppv: ratio(tp, tp + extra.len()),
        mean_offset_samples: if tp == 0 {
            0.0
        } else {
            offset_sum as f64 / tp as f64
        },
        missed,
        extra,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn counts_matches_misses_and_extras() {
        let c = compare(&[100, 400, 700], &[105, 460, 690, 900], 54);
        assert_eq!((c.tp, c.false_negatives, c.false_positives), (2, 1, 2));
        assert_eq!(c.missed, vec![400]);
        assert_eq!(c.extra, vec![460, 900]);
        assert!((c.sensitivity - 2.0 / 3.0).abs() < 1e-12);
        assert!((c.ppv - 0.5).abs() < 1e-12);
    }

    #[test]
    fn a_detection_matches_one_reference_only() {
        let c = compare(&[100, 120], &[110], 54);
        assert_eq!((c.tp, c.false_negatives, c.false_positives), (1, 1, 0));
    }

    proptest! {
        #[test]
        fn counts_add_up(
            mut reference in proptest::collection::vec(0u64..10_000, 0..60),
            mut detected in proptest::collection::vec(0u64..10_000, 0..60),
        ) {
            reference.sort_unstable();
            detected.sort_unstable();
            let c = compare(&reference, &detected, 54);
            prop_assert_eq!(c.tp + c.false_negatives, reference.len());
            prop_assert_eq!(c.tp + c.false_positives, detected.len());
            let perfect = compare(&reference, &reference, 54);
            prop_assert_eq!(perfect.tp, reference.len());
        }
    }
}
