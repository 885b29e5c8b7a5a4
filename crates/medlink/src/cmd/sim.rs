//! `medlink sim ...`: device simulators that publish to the hub's MQTT broker.

use clap::{Args, Subcommand};

/// Options every simulator shares.
#[derive(Args, Clone)]
pub struct SimOptions {
    /// Broker to publish to.
    #[arg(long, default_value = "mqtt://127.0.0.1:1883")]
    pub mqtt: String,
    /// Measurements per second per device.
    #[arg(long, default_value_t = 1.0)]
    pub rate: f64,
    /// Stop after this many seconds (0 = run until interrupted or done).
    #[arg(long, default_value_t = 0.0)]
    pub duration: f64,
    /// Simulated seconds per real second (speeds the scripts up).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

impl SimOptions {
    /// Broker host and port.
    pub fn broker(&self) -> anyhow::Result<(String, u16)> {
        match hub::config::parse_mqtt_url(&self.mqtt).map_err(anyhow::Error::msg)? {
            hub::config::MqttSource::External { host, port } => Ok((host, port)),
            hub::config::MqttSource::Embedded(addr) => Ok((addr.ip().to_string(), addr.port())),
        }
    }

    /// Checks the numbers make sense.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.rate > 0.0 && self.rate <= 1000.0,
            "--rate must be in (0, 1000]"
        );
        anyhow::ensure!(self.speed > 0.0, "--speed must be positive");
        anyhow::ensure!(self.duration >= 0.0, "--duration must not be negative");
        Ok(())
    }
}

#[derive(Subcommand)]
pub enum SimCommand {
    /// An elderly-care home: one wearable per resident, some with scripted deteriorations.
    Wearables(super::sim_wearables::WearablesArgs),
    /// Ambulances driving to the hospital, streaming vitals and GPS position.
    Ambulance(super::sim_ambulance::AmbulanceArgs),
    /// An ECG device streaming one lead of a WFDB record (optionally with electrode faults).
    Ecg(super::sim_ecg::EcgSimArgs),
}

pub fn run(command: SimCommand) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    match command {
        SimCommand::Wearables(args) => runtime.block_on(super::sim_wearables::run(args)),
        SimCommand::Ambulance(args) => runtime.block_on(super::sim_ambulance::run(args)),
        SimCommand::Ecg(args) => runtime.block_on(super::sim_ecg::run(args)),
    }
}

/// Time since the Unix epoch in ms (simulators are edges: they read the clock).
pub fn wall_ms() -> i64 {
    hub::now_ms()
}

/// A progress line showing what was sent and what the hub confirmed.
pub fn progress(devices: &[hub::device::Device], sent: u64) -> String {
    let (pubacked, committed) = devices.iter().fold((0, 0), |(p, c), d| {
        let (dp, dc) = d.counts();
        (p + dp, c + dc)
    });
    format!("sent {sent}, PUBACK'd {pubacked}, committed by the hub {committed}")
}

/// One simulated device with its patient.
pub struct SimUnit {
    pub device: hub::device::Device,
    pub patient: String,
    pub sim: super::scenario::SimPatient,
    pub seq: u64,
}

/// Extra publishes for a tick: (unit index, topic, payload).
pub type Extras = Vec<(usize, String, Vec<u8>)>;

/// Runs the publish loop: every `1 / rate` s each unit publishes its vitals; `extra` may add
/// publishes (positions) and returns `false` when the simulation is done.
pub async fn run_units(
    options: &SimOptions,
    mut units: Vec<SimUnit>,
    mut extra: impl FnMut(&[SimUnit], f64) -> (Extras, bool),
) -> anyhow::Result<()> {
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(options.seed.wrapping_add(1));
    let bar = indicatif::ProgressBar::new_spinner();
    let start = std::time::Instant::now();
    let mut interval =
        tokio::time::interval(std::time::Duration::from_secs_f64(1.0 / options.rate));
    let (mut sent, mut last_heartbeat) = (0u64, 0.0);
    loop {
        interval.tick().await;
        let elapsed = start.elapsed().as_secs_f64();
        if options.duration > 0.0 && elapsed >= options.duration {
            break;
        }
        let t = elapsed * options.speed;
        let now = wall_ms();
        for unit in units.iter_mut() {
            unit.seq += 1;
            let v = unit.sim.vitals_at(t, &mut rng);
            let body = super::scenario::payload(&unit.patient, unit.seq, now, &v);
            unit.device.publish_vitals(unit.seq, body).await?;
            sent += 1;
        }
        if elapsed - last_heartbeat >= 5.0 {
            last_heartbeat = elapsed;
            for unit in &units {
                unit.device.heartbeat(&unit.patient).await?;
            }
        }
        let (extras, keep_going) = extra(&units, t);
        for (index, topic, body) in extras {
            if let Some(unit) = units.get(index) {
                unit.device.publish_raw(topic, body).await?;
            }
        }
        let devices: Vec<hub::device::Device> = units.iter().map(|u| u.device.clone()).collect();
        bar.set_message(format!(
            "t = {t:.0} s simulated; {}",
            progress(&devices, sent)
        ));
        bar.tick();
        if !keep_going {
            break;
        }
    }
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let devices: Vec<hub::device::Device> = units.iter().map(|u| u.device.clone()).collect();
    bar.finish_with_message(progress(&devices, sent));
    for device in &devices {
        device.disconnect().await;
    }
    Ok(())
}
