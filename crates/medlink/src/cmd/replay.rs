//! `medlink replay FILE [--summary] [--json]`: replays a session recording (docs/recording.md)
//! through the same core that made it and checks that every recorded output is reproduced; the
//! first difference is printed with its file, channel, message index and session time, and the
//! command fails. `--summary` prints the session's report as the replayed core has it.

use clap::Args;
use recorder::teleop::ConsoleReport;
use recorder::{ReplayError, ReplayOutcome, ReplayedCore};
use serde_json::{Value, json};
use std::path::PathBuf;

#[derive(Args)]
pub struct ReplayArgs {
    /// The recording's first part (e.g. rec/station-20260101T120000Z-4242-001.mcap); its
    /// following parts (-002.mcap, ...) are replayed after it.
    file: PathBuf,
    /// Also print the session's summary as the replayed core reports it (the station's report of
    /// its session, or the console's report of its run).
    #[arg(long)]
    summary: bool,
    /// Print the outcome as one JSON object on stdout (with the report under "summary" when
    /// --summary is given); a divergence is printed the same way, and the command still fails.
    #[arg(long)]
    json: bool,
}

pub fn run(args: ReplayArgs) -> anyhow::Result<()> {
    match recorder::replay(&args.file) {
        Ok(outcome) if args.json => {
            println!("{}", outcome_json(&outcome, args.summary));
            Ok(())
        }
        Ok(outcome) => {
            print_outcome(&outcome);
            if args.summary {
                print_summary(&outcome);
            }
            Ok(())
        }
        Err(e) => {
            if args.json {
                println!("{}", error_json(&e));
            }
            Err(anyhow::Error::new(e).context("the replay did not reproduce the recording"))
        }
    }
}

fn what_is_reproduced(role: &str) -> &'static str {
    match role {
        "station" => "every decision and arm state reproduced",
        _ => "every command and event reproduced",
    }
}

fn print_outcome(outcome: &ReplayOutcome) {
    let files = match outcome.files.as_slice() {
        [one] => one.display().to_string(),
        [first, .., last] => format!(
            "{} files ({} … {})",
            outcome.files.len(),
            first.display(),
            last.display()
        ),
        [] => "no file".into(),
    };
    println!(
        "replayed {} inputs, {} outputs of the {} session(s) in {files}: {}",
        outcome.inputs,
        outcome.outputs,
        outcome.role(),
        what_is_reproduced(outcome.role())
    );
    if !outcome.build.same() {
        println!(
            "  note: recorded by another build ({}); replay is promised bit for bit only on the \
             same build and target",
            outcome.build.differences().join("; ")
        );
    }
}

fn print_summary(outcome: &ReplayOutcome) {
    match &outcome.core {
        ReplayedCore::Station(core) => {
            let station = core.report(outcome.last_now, false);
            println!(
                "station side only (session {} of {}): what the console sent and measured (commands \
                 sent, link round trip) is in the console's recording",
                station.session_id, station.sessions
            );
            crate::cmd::summary::print_text(&ConsoleReport {
                station: Some(station),
                duration_s: duration_s(outcome),
                ..ConsoleReport::default()
            });
        }
        ReplayedCore::Console(core) => crate::cmd::summary::print_text(&ConsoleReport {
            duration_s: duration_s(outcome),
            ..core.report()
        }),
    }
}

/// The session time the recording spans, first input to last.
fn duration_s(outcome: &ReplayOutcome) -> f64 {
    outcome
        .last_now
        .saturating_sub(outcome.first_now)
        .as_secs_f64()
}

fn outcome_json(outcome: &ReplayOutcome, summary: bool) -> Value {
    let mut value = json!({
        "reproduced": true,
        "role": outcome.role(),
        "files": outcome.files,
        "inputs": outcome.inputs,
        "outputs": outcome.outputs,
        "first_now_s": outcome.first_now.as_secs_f64(),
        "last_now_s": outcome.last_now.as_secs_f64(),
        "same_build": outcome.build.same(),
        "build_differences": outcome.build.differences(),
    });
    if summary {
        value["summary"] = match &outcome.core {
            ReplayedCore::Station(core) => json!(core.report(outcome.last_now, false)),
            ReplayedCore::Console(core) => json!(ConsoleReport {
                duration_s: duration_s(outcome),
                ..core.report()
            }),
        };
    }
    value
}

fn error_json(e: &ReplayError) -> Value {
    let mut value = json!({"reproduced": false, "error": e.to_string()});
    if let ReplayError::Divergence {
        file,
        channel,
        sequence,
        now_ns,
        what,
    } = e
    {
        value["divergence"] = json!({
            "file": file,
            "channel": channel,
            "sequence": sequence,
            "now_ns": now_ns,
            "what": what,
        });
    }
    value
}
