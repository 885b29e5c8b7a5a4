//! `medlink sim ambulance`: ambulances drive to the hospital streaming vitals and GPS position;
//! the hub lists them with their ETA and NEWS2 at `/api/incoming`.

use super::scenario::{Script, SimPatient};
use super::sim::{Extras, SimOptions, SimUnit, run_units};
use clap::Args;
use rand::SeedableRng;
use vitals::geo::{LatLon, distance_m};

#[derive(Args)]
pub struct AmbulanceArgs {
    /// Number of ambulances.
    #[arg(long, default_value_t = 1)]
    units: usize,
    /// Starting distance from the hospital in km.
    #[arg(long, default_value_t = 12.0)]
    distance_km: f64,
    /// Driving speed in km/h.
    #[arg(long, default_value_t = 50.0)]
    speed_kmh: f64,
    #[command(flatten)]
    options: SimOptions,
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
    let options = args.options;
    options.validate()?;
    anyhow::ensure!((1..=100).contains(&args.units), "--units must be 1-100");
    anyhow::ensure!(
        args.speed_kmh > 0.0 && args.distance_km > 0.0,
        "speed and distance must be positive"
    );
    let hospital = hub::config::HubConfig::default().hospital;
    let (host, port) = options.broker()?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(options.seed);
    let mut units = Vec::new();
    let mut starts = Vec::new();
    for index in 0..args.units {
        let patient = format!("ambulance-patient-{index:02}");
        let device_id = format!("ambulance-{index:02}");
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
        let device = hub::device::Device::connect(&host, port, &device_id, &patient).await?;
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
    run_units(&options, units, move |units, t| {
        let mut extras: Extras = Vec::new();
        let mut driving = false;
        for (index, unit) in units.iter().enumerate() {
            let here = along(starts[index], hospital, speed_mps * t);
            let arrived = distance_m(here, hospital) < 50.0;
            driving |= !arrived;
            let body = serde_json::json!({
                "patient": unit.patient, "lat": here.lat, "lon": here.lon,
                "speed_mps": if arrived { 0.0 } else { speed_mps }, "time_ms": super::sim::wall_ms(),
            });
            extras.push((index, hub::topics::position(&unit.device.id), body.to_string().into_bytes()));
        }
        (extras, driving)
    })
    .await
}
