//! Great-circle distance and the estimated time of arrival of an ambulance at the hospital.

/// Mean Earth radius in metres.
const EARTH_RADIUS_M: f64 = 6_371_000.0;
/// Below this speed the ETA is computed as if the ambulance drove at it (stopped at lights).
pub const MIN_ETA_SPEED_MPS: f64 = 5.0;

/// A point on Earth in degrees.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LatLon {
    pub lat: f64,
    pub lon: f64,
}

/// Haversine distance between two points, in metres.
pub fn distance_m(a: LatLon, b: LatLon) -> f64 {
    let (lat1, lat2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.lon - a.lon).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// Seconds to arrival at `speed_mps` (never slower than [`MIN_ETA_SPEED_MPS`]) in a straight line.
pub fn eta_s(from: LatLon, to: LatLon, speed_mps: f64) -> f64 {
    distance_m(from, to) / speed_mps.max(MIN_ETA_SPEED_MPS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_degree_of_latitude_is_about_111_km() {
        let d = distance_m(LatLon { lat: 0.0, lon: 0.0 }, LatLon { lat: 1.0, lon: 0.0 });
        assert!((d - 111_195.0).abs() < 50.0, "{d}");
    }

    #[test]
    fn eta_uses_the_minimum_speed_when_stopped() {
        let a = LatLon { lat: 0.0, lon: 0.0 };
        let b = LatLon {
            lat: 0.0,
            lon: 0.01,
        };
        assert!((eta_s(a, b, 0.0) - distance_m(a, b) / MIN_ETA_SPEED_MPS).abs() < 1e-9);
        assert!(eta_s(a, b, 20.0) < eta_s(a, b, 10.0));
    }
}
