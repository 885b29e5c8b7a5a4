//! What the dashboard's charts are drawn from, pure (no clock, no IO): stored readings replayed
//! through a patient tracker, as the hub scored them, into a patient's chart (each reading with
//! NEWS2 as of it) and every patient's NEWS2 trend (one value per time bucket) for sparklines.

use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use vitals::fhir::Recorded;
use vitals::tracker::PatientTracker;
use vitals::{News2, SpO2Scale, Vitals};

/// One reading of a patient's chart and the patient's NEWS2 once it was scored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChartPoint {
    pub time_ms: i64,
    pub device: String,
    pub vitals: Vitals,
    pub news2: News2,
}

/// The readings stamped at or after `from_ms` as chart points. `readings` must be in time
/// order and should start a NEWS2 window (15 minutes) before `from_ms`: the earlier ones are
/// scored, not shown, so the first point's NEWS2 counts the parameters measured before it.
pub fn chart(readings: &[Recorded], scale: SpO2Scale, from_ms: i64) -> Vec<ChartPoint> {
    let mut tracker = PatientTracker::default();
    let mut points = Vec::new();
    for recorded in readings {
        let m = &recorded.measurement;
        tracker.set_scale(&m.patient, scale);
        let assessment = tracker.observe(m);
        if m.time_ms >= from_ms {
            points.push(ChartPoint {
                time_ms: m.time_ms,
                device: m.device.clone(),
                vitals: m.vitals,
                news2: assessment.news2,
            });
        }
    }
    points
}

/// One patient's NEWS2 over time: `(bucket start, aggregate)`, the last score in each bucket.
pub type Trend = Vec<(i64, u8)>;

/// Every patient's NEWS2 trend from `from_ms` in buckets of `bucket_ms` (readings in time
/// order, starting a NEWS2 window earlier as for [`chart`]; `scales` names the patients on
/// SpO2 scale 2).
pub fn trends(
    readings: &[Recorded],
    scales: &HashMap<String, SpO2Scale>,
    from_ms: i64,
    bucket_ms: i64,
) -> BTreeMap<String, Trend> {
    let bucket_ms = bucket_ms.max(1);
    let mut tracker = PatientTracker::default();
    for (patient, &scale) in scales {
        tracker.set_scale(patient, scale);
    }
    let mut trends: BTreeMap<String, Trend> = BTreeMap::new();
    for recorded in readings {
        let m = &recorded.measurement;
        let aggregate = tracker.observe(m).news2.aggregate;
        if m.time_ms < from_ms {
            continue;
        }
        let bucket = from_ms + (m.time_ms - from_ms) / bucket_ms * bucket_ms;
        let trend = trends.entry(m.patient.clone()).or_default();
        match trend.last_mut() {
            Some(last) if last.0 == bucket => last.1 = aggregate,
            _ => trend.push((bucket, aggregate)),
        }
    }
    trends
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitals::Measurement;

    fn reading(patient: &str, time_ms: i64, vitals: Vitals) -> Recorded {
        Recorded {
            row_id: time_ms,
            measurement: Measurement {
                device: format!("d-{patient}"),
                patient: patient.into(),
                seq: time_ms as u64,
                time_ms,
                vitals,
            },
        }
    }

    fn spo2(value: f64) -> Vitals {
        Vitals {
            spo2: Some(value),
            ..Vitals::default()
        }
    }

    fn heart_rate(value: f64) -> Vitals {
        Vitals {
            heart_rate: Some(value),
            ..Vitals::default()
        }
    }

    #[test]
    fn a_chart_point_scores_the_readings_before_the_window_too() {
        // SpO2 88 % (3 on scale 1) before the chart starts, heart rate 135 (3) inside it.
        let readings = [
            reading("p-1", 1_000, spo2(88.0)),
            reading("p-1", 61_000, heart_rate(135.0)),
        ];
        let points = chart(&readings, SpO2Scale::Scale1, 60_000);
        assert_eq!(points.len(), 1, "the earlier reading is scored, not shown");
        assert_eq!(points[0].time_ms, 61_000);
        assert_eq!(points[0].vitals.heart_rate, Some(135.0));
        assert_eq!(points[0].news2.aggregate, 6);
        // On scale 2 (on air) 88 % scores 0.
        let points = chart(&readings, SpO2Scale::Scale2, 60_000);
        assert_eq!(points[0].news2.aggregate, 3);
    }

    #[test]
    fn a_trend_keeps_the_last_score_of_each_bucket_per_patient() {
        let readings = [
            reading("p-1", 0, heart_rate(135.0)),     // before: scored only
            reading("p-1", 60_000, heart_rate(95.0)), // bucket 60 s: 1
            reading("p-2", 70_000, spo2(88.0)),       // bucket 60 s: 3 (scale 1)
            reading("p-1", 110_000, heart_rate(115.0)), // bucket 60 s: 2, replaces 1
            reading("p-1", 125_000, heart_rate(50.0)), // bucket 120 s: 1
        ];
        let scales = HashMap::new();
        let found = trends(&readings, &scales, 60_000, 60_000);
        assert_eq!(found["p-1"], vec![(60_000, 2), (120_000, 1)]);
        assert_eq!(found["p-2"], vec![(60_000, 3)]);
        let scale2 = HashMap::from([("p-2".to_string(), SpO2Scale::Scale2)]);
        assert_eq!(trends(&readings, &scale2, 60_000, 60_000)["p-2"][0].1, 0);
    }
}
