//! `medlink sim ...`: device simulators that publish to the hub's MQTT broker.

use anyhow::Context;
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
    #[command(flatten)]
    pub login: DeviceLogin,
}

/// How simulated devices get their passwords (every device signs in: docs/hub.md, "Devices").
#[derive(Args, Clone, Default)]
pub struct DeviceLogin {
    /// The devices' passwords: a file of `DEVICE PASSWORD` lines (what `medlink hub device add
    /// --credentials-file` appends).
    #[arg(long, conflicts_with = "register")]
    pub credentials: Option<std::path::PathBuf>,
    /// Register the simulated devices (to their patients, with new passwords) in this hub
    /// database first, as `medlink hub device add` would: the quick way on one machine (an
    /// SQLite file, or a postgres:// URL with its password in PGPASSWORD or ~/.pgpass).
    #[arg(long)]
    pub register: Option<std::path::PathBuf>,
}

impl DeviceLogin {
    /// The password of each `(device, patient)`: registered now (`--register`) or read from
    /// `--credentials`.
    pub fn passwords(&self, devices: &[(String, String)]) -> anyhow::Result<Vec<String>> {
        if let Some(db) = &self.register {
            let (mut store, _) = super::hub_device::open(Some(db.clone()))?;
            let (mut accounts, _) = super::hub_user::open_accounts(Some(db.clone()))?;
            let (now, by) = (hub::now_ms(), super::hub_user::cli_actor());
            return devices
                .iter()
                .map(|(device, patient)| {
                    let (device, patient) = (device.as_str(), patient.as_str());
                    hub::registrations::register_audited(
                        &mut store,
                        &mut accounts,
                        (device, patient),
                        &by,
                        now,
                    )
                    .with_context(|| format!("registering {device}"))
                })
                .collect();
        }
        let known = match &self.credentials {
            Some(file) => read_credentials(file)?,
            None => Default::default(),
        };
        devices
            .iter()
            .map(|(device, patient)| {
                known.get(device).cloned().with_context(|| {
                    format!(
                        "device {device} has no password: register it (`medlink hub device add \
                         {device} --patient {patient} --credentials-file FILE`, then --credentials \
                         FILE) or let the simulator do it (--register HUB_DB)"
                    )
                })
            })
            .collect()
    }
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

/// Reads `DEVICE PASSWORD` lines (blank lines and `#` comments skipped).
fn read_credentials(
    file: &std::path::Path,
) -> anyhow::Result<std::collections::HashMap<String, String>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let mut known = std::collections::HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (device, password) = line
            .split_once(' ')
            .with_context(|| format!("{}:{}: expected `DEVICE PASSWORD`", file.display(), n + 1))?;
        known.insert(device.to_string(), password.trim().to_string());
    }
    Ok(known)
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
