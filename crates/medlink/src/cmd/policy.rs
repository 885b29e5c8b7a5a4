//! `medlink policy check|validate`: what a site's admission policy decides for a certificate,
//! rule by rule, with the same code the station runs (`station::admission`); and a policy file's
//! validation. Exit status: 0 admitted (or valid), 1 refused, 2 a bad policy, certificate or date.

use anyhow::Context;
use clap::{Args, Subcommand};
use station::admission::Admission;
use std::io::Write;
use std::path::PathBuf;
use trust::Identity;
use trust::policy::{ConsentState, Date, Decision, Device};

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Explain what the site's policy decides for a certificate: every rule checked, in order,
    /// then ADMITTED or REFUSED naming the rule. Exit 0 admitted, 1 refused, 2 bad input.
    Check(CheckArgs),
    /// Load and validate a policy file: its summary and warnings, or every problem. Exit 0
    /// valid, 2 not.
    Validate(ValidateArgs),
}

#[derive(Args)]
pub struct CheckArgs {
    /// The site's policy file (TOML; see docs/policy.md).
    #[arg(long)]
    policy: PathBuf,
    /// The peer's certificate (PEM; the first certificate in the file).
    #[arg(long)]
    cert: PathBuf,
    /// The device asked for.
    #[arg(long, default_value = "arm", value_parser = parse_device)]
    device: Device,
    /// Decide as of 12:00 at the site on this day (YYYY-MM-DD) instead of now.
    #[arg(long, value_parser = parse_date)]
    date: Option<Date>,
    /// Print the decision as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ValidateArgs {
    /// The site's policy file (TOML).
    #[arg(long)]
    policy: PathBuf,
}

fn parse_device(name: &str) -> Result<Device, String> {
    Device::parse(name).ok_or_else(|| format!("{name:?} is not a device: arm or hifu"))
}

fn parse_date(text: &str) -> Result<Date, String> {
    text.parse()
        .map_err(|e: trust::policy::DateParseError| e.to_string())
}

pub fn run(command: PolicyCommand) -> anyhow::Result<()> {
    let outcome = match command {
        PolicyCommand::Check(args) => check(&args),
        PolicyCommand::Validate(args) => validate(&args),
    };
    let _ = std::io::stdout().flush();
    match outcome {
        Ok(true) => Ok(()),
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(2)
        }
    }
}

/// Prints the decision; `Ok(admitted)`.
fn check(args: &CheckArgs) -> anyhow::Result<bool> {
    let admission = Admission::load(&args.policy)?;
    let identity = link::peer::identity_of_file(&args.cert)
        .with_context(|| format!("reading the certificate {}", args.cert.display()))?;
    let policy = admission.policy();
    let now = match args.date {
        Some(date) => policy.midday_on(date),
        None => unix_now(),
    };
    let decision = admission.decide_at(&identity, args.device, now);
    if args.json {
        let report = serde_json::json!({
            "admitted": decision.admitted(),
            "summary": decision.summary(),
            "identity": identity,
            "policy": args.policy,
            "decision": decision,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_decision(&admission, &identity, &decision);
    }
    Ok(decision.admitted())
}

fn print_decision(admission: &Admission, identity: &Identity, decision: &Decision) {
    let policy = admission.policy();
    let site = policy.site();
    println!(
        "site     {} ({}), policy {}",
        site.name,
        site.jurisdiction,
        admission.path().display()
    );
    println!(
        "peer     {identity}, certificate valid {} to {} (UTC)",
        Date::from_unix_seconds(identity.not_before),
        Date::from_unix_seconds(identity.not_after)
    );
    println!(
        "request  the {} on {} at the site (UTC{})",
        decision.device, decision.today, site.utc_offset
    );
    println!("consent  {}", consent_line(admission));
    println!("rules, in order:");
    for step in &decision.steps {
        println!("  {step}");
    }
    println!("{}", decision.summary());
}

fn consent_line(admission: &Admission) -> String {
    let record = admission
        .consent_record()
        .map_or("(none named)".to_string(), |p| p.display().to_string());
    if !admission.policy().consent().required {
        return format!("not required (record {record})");
    }
    match admission.consent_state() {
        ConsentState::Present => format!("{record}: present"),
        ConsentState::Missing { reason } => format!("missing: {reason}"),
        ConsentState::Mismatch { found, .. } => format!("{record}: sha256 {found} does not match"),
        ConsentState::NotChecked => format!("{record}: not checked"),
    }
}

/// Prints the policy's summary and warnings; `Ok(true)` when it loads.
fn validate(args: &ValidateArgs) -> anyhow::Result<bool> {
    let admission = Admission::load(&args.policy)?;
    let policy = admission.policy();
    let site = policy.site();
    let list = |items: Vec<String>| items.join(", ");
    println!("{}: valid", args.policy.display());
    println!(
        "site      {} in {} (UTC{}), hosts {}",
        site.name,
        site.jurisdiction,
        site.utc_offset,
        list(site.devices.iter().map(ToString::to_string).collect())
    );
    println!(
        "licences  recognised from {}",
        list(site.recognised().iter().map(ToString::to_string).collect())
    );
    println!("consent   {}", consent_line(&admission));
    println!(
        "bedside   {}",
        if policy.bedside().confirm_first_engage {
            "confirms before the first engage"
        } else {
            "no confirmation before the first engage"
        }
    );
    for surgeon in policy.surgeons() {
        let licences = surgeon
            .licences
            .iter()
            .map(|l| format!("{} {} until {}", l.jurisdiction, l.number, l.expires))
            .collect();
        println!(
            "surgeon   {}: {} until {}; licences {}{}",
            surgeon.name,
            list(surgeon.devices.iter().map(ToString::to_string).collect()),
            surgeon.credentialed_until,
            list(licences),
            surgeon
                .serial
                .as_ref()
                .map_or(String::new(), |s| format!("; certificate {s} only"))
        );
    }
    for warning in policy.warnings() {
        println!("warning   {warning}");
    }
    Ok(true)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
