//! `medlink hifu device PLAN`: the simulated HIFU device driven from a terminal or a pipe. Commands
//! come one per line on stdin; thermometry frames, completions, acknowledgements and errors go out
//! as JSON lines on stdout, paced in real or accelerated time. A bad line is answered with an error
//! and the device carries on; at the end of input a sonication under way is finished, not dropped.

use crate::cmd::hifu::{heat_pattern, load_medium};
use anyhow::Context;
use clap::Args;
use hifu::device::{DeviceOutput, HifuDevice, ThermometryFrame};
use hifu::device_script::{Input, USAGE, parse_line};
use hifu::dose::NECROSIS_CEM43;
use hifu::plan::Plan;
use hifu::simulate::treatment_for;
use serde_json::{Value, json};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::{Duration, Instant};

/// The longest the loop sleeps, so that commands are taken up promptly at any speed.
const MAX_IDLE: Duration = Duration::from_millis(5);

#[derive(Args)]
pub struct DeviceArgs {
    /// The plan JSON written by `medlink hifu plan` (medium, transducer and the spots to sonicate).
    plan: PathBuf,
    /// Simulated seconds per second of wall-clock time (1 = real time).
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Simulated seconds between thermometry frames.
    #[arg(long, default_value_t = 2.0)]
    frame_interval: f64,
    /// Put the whole slice maps (temperature and CEM43, x fastest) in every frame.
    #[arg(long)]
    full_frames: bool,
}

/// What holds the reading of input back.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Waiting {
    Until(f64),
    Done,
}

impl Waiting {
    fn is_over(self, device: &HifuDevice) -> bool {
        match self {
            Waiting::Until(time_s) => device.treatment().time_s() >= time_s - 1e-9,
            Waiting::Done => !device.treatment().is_sonicating(),
        }
    }
}

/// A frame as a JSON event: summary figures of the slice, and the maps when `full`.
fn frame_event(frame: &ThermometryFrame, full: bool) -> Value {
    let max = |values: &[f32]| values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut event = json!({
        "event": "frame",
        "time_s": frame.time_s,
        "slice_z": frame.slice_z,
        "dims": frame.dims,
        "focal_temperature_c": frame.focal_temperature_c,
        "oar_max_temp_c": frame.oar_max_temp_c,
        "slice_max_temperature_c": max(&frame.temperature_c),
        "slice_max_cem43": max(&frame.dose_cem43),
        "slice_ablated_voxels": frame.dose_cem43.iter().filter(|&&d| d >= NECROSIS_CEM43).count(),
        "sonicating_spot": frame.sonicating_spot,
    });
    if full {
        event["temperature_c"] = json!(frame.temperature_c);
        event["dose_cem43"] = json!(frame.dose_cem43);
    }
    event
}

fn output_event(output: &DeviceOutput, full: bool) -> Value {
    match output {
        DeviceOutput::Frame(frame) => frame_event(frame, full),
        DeviceOutput::SonicationDone { spot, time_s } => {
            json!({"event": "sonication_done", "spot": spot, "time_s": time_s})
        }
    }
}

/// Lines of stdin, read on their own thread so that the simulation keeps its pace meanwhile.
fn stdin_lines() -> Receiver<std::io::Result<String>> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let failed = line.is_err();
            if send.send(line).is_err() || failed {
                break;
            }
        }
    });
    receive
}

/// JSON lines on stdout, flushed one by one for whoever reads the pipe.
struct Events<W: Write>(W);

impl<W: Write> Events<W> {
    fn emit(&mut self, event: &Value) -> anyhow::Result<()> {
        writeln!(self.0, "{event}")
            .and_then(|()| self.0.flush())
            .context("writing to stdout")
    }
}

pub fn run(args: DeviceArgs) -> anyhow::Result<()> {
    for (flag, value) in [
        ("--speed", args.speed),
        ("--frame-interval", args.frame_interval),
    ] {
        anyhow::ensure!(
            value.is_finite() && value > 0.0,
            "{flag} {value}: must be a positive number"
        );
    }
    let bytes =
        std::fs::read(&args.plan).with_context(|| format!("reading {}", args.plan.display()))?;
    let plan =
        Plan::from_json(&bytes).with_context(|| format!("checking {}", args.plan.display()))?;
    let medium = load_medium(&plan.medium)?;
    let pattern = heat_pattern(&plan.field, &plan.transducer, &medium)?;
    let grid = medium.grid;
    let foci = plan
        .spots
        .iter()
        .map(|spot| Plan::focus_voxel(&grid, spot))
        .collect::<Result<Vec<_>, _>>()?;
    let treatment = treatment_for(&plan, medium, pattern)?;
    let mut device = HifuDevice::new(treatment, foci, args.speed, args.frame_interval)?;
    let mut events = Events(std::io::stdout().lock());
    events.emit(&json!({
        "event": "ready",
        "spots": plan.spots.len(),
        "grid": grid.dims,
        "dt_s": device.treatment().dt_s(),
        "speed": args.speed,
        "frame_interval_s": args.frame_interval,
        "usage": USAGE,
    }))?;
    let lines = stdin_lines();
    let clock = Instant::now();
    device.handle_timeout(Duration::ZERO);
    let (mut waiting, mut input_open, mut quit, mut line_number) = (None, true, false, 0usize);
    while !quit {
        let now = clock.elapsed();
        device.handle_timeout(now);
        while let Some(output) = device.poll_output() {
            events.emit(&output_event(&output, args.full_frames))?;
        }
        if waiting.is_some_and(|w: Waiting| w.is_over(&device)) {
            waiting = None;
        }
        while waiting.is_none() && input_open && !quit {
            let line = match lines.try_recv() {
                Ok(Ok(line)) => line,
                Ok(Err(error)) => return Err(error).context("reading commands from stdin"),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    input_open = false;
                    break;
                }
            };
            line_number += 1;
            let time_s = device.treatment().time_s();
            match parse_line(&line, &plan.spots) {
                Ok(None) => {}
                Ok(Some(Input::Command(command))) => {
                    // At the `now` the device was just brought to, so that it applies at `time_s`
                    // (unless the device is behind its pace and takes another slice first).
                    match device.handle_command(command, now) {
                        Ok(()) => events.emit(&json!({
                            "event": "accepted", "line": line_number, "command": command,
                            "time_s": device.treatment().time_s(),
                        }))?,
                        Err(error) => report(&mut events, line_number, &error.to_string())?,
                    }
                }
                Ok(Some(Input::WaitSeconds(seconds))) => {
                    waiting = Some(Waiting::Until(time_s + seconds))
                }
                Ok(Some(Input::WaitDone)) => waiting = Some(Waiting::Done),
                Ok(Some(Input::Quit)) => quit = true,
                Err(message) => report(&mut events, line_number, &message)?,
            }
        }
        let finished = !input_open && waiting.is_none() && !device.treatment().is_sonicating();
        if finished {
            break;
        }
        let now = clock.elapsed();
        let due = device.poll_timeout().unwrap_or(now).max(now);
        std::thread::sleep((due - now).min(MAX_IDLE));
    }
    let summary = device.treatment().summary();
    events.emit(&json!({
        "event": "summary",
        "ablated_fraction": summary.ablated_fraction,
        "oar_max_temp_c": summary.oar_max_temp_c,
        "oar_max_cem43": summary.oar_max_cem43,
        "oar_within_limits": summary.oar_within_limits,
        "energy_j": summary.energy_j,
        "peak_temperature_c": summary.peak_temperature_c,
        "treatment_time_s": summary.treatment_time_s,
        "wall_s": clock.elapsed().as_secs_f64(),
    }))
}

/// A refused line: a JSON error event on stdout, and the same in words on stderr.
fn report<W: Write>(events: &mut Events<W>, line: usize, message: &str) -> anyhow::Result<()> {
    eprintln!("line {line}: {message}");
    events.emit(&json!({"event": "error", "line": line, "message": message}))
}
