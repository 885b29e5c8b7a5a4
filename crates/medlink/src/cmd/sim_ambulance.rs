//! `medlink sim ambulance`: ambulances drive to the hospital streaming vitals and GPS position;
//! the hub lists them with their ETA and NEWS2 at `/api/incoming`.
//!
//! The hospital is the hub's (`hospital` in the hub's TOML, given with `--config`, or
//! `--hospital LAT,LON`), and the speed reported is the speed the position changes at in real
//! time (`--speed-kmh` times `--speed`), so the hub's ETAs are in the seconds people wait.

use super::scenario::{Script, SimPatient};
use super::sim::{Extras, SimOptions, SimUnit, run_units};
use clap::Args;
use rand::SeedableRng;
use std::path::PathBuf;
use vitals::geo::{LatLon, distance_m};

#[derive(Args)]
pub struct AmbulanceArgs {
    /// Number of ambulances.
    #[arg(long, default_value_t = 1)]
    units: usize,
    /// Starting distance from the hospital in km.
    #[arg(long, default_value_t = 12.0)]
    distance_km: f64,
    /// Driving speed in km/h (simulated time; `--speed` scales it).
    #[arg(long, default_value_t = 50.0)]
    speed_kmh: f64,
    /// The hub's TOML configuration: the ambulances head to its `hospital`.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The hospital as `LAT,LON` (overrides `--config`).
    #[arg(long, value_parser = parse_lat_lon)]
    hospital: Option<LatLon>,
    #[command(flatten)]
    options: SimOptions,
}

/// Parses `LAT,LON` in degrees.
fn parse_lat_lon(text: &str) -> Result<LatLon, String> {
    let (lat, lon) = text
        .split_once(',')
        .ok_or_else(|| format!("{text:?}: expected LAT,LON"))?;
    let number = |s: &str| s.trim().parse::<f64>().map_err(|e| format!("{s:?}: {e}"));
    let (lat, lon) = (number(lat)?, number(lon)?);
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err(format!("{text:?}: latitude -90..90, longitude -180..180"));
    }
    Ok(LatLon { lat, lon })
}

/// The hub's hospital: `--hospital`, else the `--config` file's, else the hub's default.
fn hospital(args: &AmbulanceArgs) -> anyhow::Result<LatLon> {
    if let Some(hospital) = args.hospital {
        return Ok(hospital);
    }
    let config: hub::config::HubConfig = super::config_file::load(args.config.as_deref())?;
    Ok(config.hospital)
}

/// The speed an ambulance driving `speed_kmh` in simulated time moves at in real time, m/s.
fn reported_speed_mps(speed_kmh: f64, sim_speed: f64) -> f64 {
    speed_kmh / 3.6 * sim_speed
}

/// Position after driving `driven_m` from `start` straight towards `goal`.
fn along(start: LatLon, goal: LatLon, driven_m: f64) -> LatLon {
    let total = distance_m(start, goal).max(1.0);
    let f = (driven_m / total).clamp(0.0, 1.0);
    LatLon {
        lat: start.lat + (goal.lat - start.lat) * f,
        lon: start.lon + (goal.lon - start.lon) * f,
    }
}

pub async fn run(args: AmbulanceArgs) -> anyhow::Result<()> {
    let hospital = hospital(&args)?;
    let options = args.options;
    options.validate()?;
    anyhow::ensure!((1..=100).contains(&args.units), "--units must be 1-100");
    anyhow::ensure!(
        args.speed_kmh > 0.0 && args.distance_km > 0.0,
        "speed and distance must be positive"
    );
    let (host, port) = options.broker()?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(options.seed);
    let mut units = Vec::new();
    let mut starts = Vec::new();
    let ids: Vec<(String, String)> = (0..args.units)
        .map(|i| {
            (
                format!("ambulance-{i:02}"),
                format!("ambulance-patient-{i:02}"),
            )
        })
        .collect();
    let passwords = options.login.passwords(&ids)?;
    for (index, ((device_id, patient), password)) in ids.into_iter().zip(passwords).enumerate() {
        let bearing = (index as f64 * 67.0).to_radians();
        // Degrees of latitude per km is about 1/111; longitude shrinks with cos(latitude).
        let dlat = args.distance_km / 111.2 * bearing.cos();
        let dlon = args.distance_km / (111.2 * hospital.lat.to_radians().cos()) * bearing.sin();
        starts.push(LatLon {
            lat: hospital.lat + dlat,
            lon: hospital.lon + dlon,
        });
        let script = if index % 2 == 0 {
            Script::Sepsis
        } else {
            Script::Hypoxia
        };
        let device =
            hub::device::Device::connect(&host, port, &device_id, &password, &patient).await?;
        println!(
            "{device_id} with {patient} ({}), {:.1} km out",
            script.label(),
            args.distance_km
        );
        units.push(SimUnit {
            device,
            patient,
            sim: SimPatient::new(script, 0.0, &mut rng),
            seq: 0,
        });
    }
    let speed_mps = args.speed_kmh / 3.6;
    let reported_mps = reported_speed_mps(args.speed_kmh, options.speed);
    run_units(&options, units, move |units, t| {
        let mut extras: Extras = Vec::new();
        let mut driving = false;
        for (index, unit) in units.iter().enumerate() {
            let here = along(starts[index], hospital, speed_mps * t);
            let arrived = distance_m(here, hospital) < 50.0;
            driving |= !arrived;
            let body = serde_json::json!({
                "patient": unit.patient, "lat": here.lat, "lon": here.lon,
                "speed_mps": if arrived { 0.0 } else { reported_mps }, "time_ms": super::sim::wall_ms(),
            });
            extras.push((index, hub::topics::position(&unit.device.id), body.to_string().into_bytes()));
        }
        (extras, driving)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reported_speed_is_the_real_time_one_so_the_hub_eta_is_what_people_wait() {
        // 12 km at 50 km/h is 864 s of simulated driving; at --speed 5, 172.8 s of real time.
        let (distance_m, sim_speed) = (12_000.0, 5.0);
        let real_s = distance_m / (50.0 / 3.6) / sim_speed;
        let eta_s = distance_m / reported_speed_mps(50.0, sim_speed);
        assert!((eta_s - real_s).abs() < 1e-9, "{eta_s} vs {real_s}");
    }

    #[test]
    fn the_hospital_comes_from_the_flag_or_the_hub_configuration() {
        assert_eq!(
            parse_lat_lon("48.85, 2.35"),
            Ok(LatLon {
                lat: 48.85,
                lon: 2.35
            })
        );
        assert!(parse_lat_lon("48.85").is_err());
        assert!(parse_lat_lon("95,0").is_err());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.toml");
        std::fs::write(&path, "hospital = { lat = 48.85, lon = 2.35 }\n").unwrap();
        let args = |config: Option<PathBuf>, hospital: Option<LatLon>| AmbulanceArgs {
            units: 1,
            distance_km: 12.0,
            speed_kmh: 50.0,
            config,
            hospital,
            options: SimOptions {
                mqtt: "mqtt://127.0.0.1:1883".into(),
                rate: 1.0,
                duration: 0.0,
                speed: 1.0,
                seed: 1,
                login: Default::default(),
            },
        };
        let from_file = hospital(&args(Some(path.clone()), None)).unwrap();
        assert_eq!(
            from_file,
            LatLon {
                lat: 48.85,
                lon: 2.35
            }
        );
        let flag = LatLon { lat: 1.0, lon: 2.0 };
        assert_eq!(hospital(&args(Some(path), Some(flag))).unwrap(), flag);
        let default = hub::config::HubConfig::default().hospital;
        assert_eq!(hospital(&args(None, None)).unwrap(), default);
    }
}
