//! `medlink sim wearables`: an elderly-care home where every resident wears a 5G wearable.

use super::scenario::{Script, SimPatient};
use super::sim::{SimOptions, SimUnit, run_units};
use clap::Args;
use rand::SeedableRng;

#[derive(Args)]
pub struct WearablesArgs {
    /// Number of residents (one wearable each).
    #[arg(long, default_value_t = 20)]
    patients: usize,
    #[command(flatten)]
    options: SimOptions,
}

pub async fn run(args: WearablesArgs) -> anyhow::Result<()> {
    let options = args.options;
    options.validate()?;
    anyhow::ensure!(
        (1..=10_000).contains(&args.patients),
        "--patients must be 1-10000"
    );
    let (host, port) = options.broker()?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(options.seed);
    let mut units = Vec::with_capacity(args.patients);
    let ids: Vec<(String, String)> = (0..args.patients)
        .map(|i| (format!("wearable-{i:03}"), format!("resident-{i:03}")))
        .collect();
    let passwords = options.login.passwords(&ids)?;
    for (index, ((device_id, patient), password)) in ids.into_iter().zip(passwords).enumerate() {
        let script = Script::for_resident(index);
        let onset_s = 30.0 + 10.0 * index as f64;
        if script != Script::Stable {
            println!("{patient}: {} from t = {onset_s:.0} s", script.label());
        }
        let device =
            hub::device::Device::connect(&host, port, &device_id, &password, &patient).await?;
        let sim = SimPatient::new(script, onset_s, &mut rng);
        units.push(SimUnit {
            device,
            patient,
            sim,
            seq: 0,
        });
    }
    println!(
        "{} wearables publishing to {host}:{port} at {} Hz",
        units.len(),
        options.rate
    );
    run_units(&options, units, |_, _| (Vec::new(), true)).await
}
