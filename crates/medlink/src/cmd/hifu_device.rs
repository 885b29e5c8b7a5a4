//! `medlink hifu device PLAN`: the simulated HIFU device driven from a terminal or a pipe. Commands
//! come one per line on stdin; thermometry frames, completions, acknowledgements and errors go out
//! as JSON lines on stdout, paced in real or accelerated time. A bad line is answered with an error
//! and the device carries on. The HIFU supervisor judges every solver step: the beam goes off at
//! the first broken rule (organ at risk, focal ceiling, planned duration, the plan's energy
//! budget), named in a `beam` event, and stays off until `ack`; at the end of input the beam goes
//! off (the operator is gone).

use crate::cmd::hifu::{heat_pattern, load_medium};
use anyhow::Context;
use clap::Args;
use hifu::device::{DeviceOutput, HifuDevice, ThermometryFrame};
use hifu::device_script::{Input, USAGE, parse_line};
use hifu::dose::NECROSIS_CEM43;
use hifu::plan::{Plan, Spot};
use hifu::simulate::treatment_with_step;
use safety::hifu::HifuLimits;
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
    /// The longest solver step (simulated s): the HIFU supervisor judges the heating after
    /// every step, so the beam goes off at most this long after a limit is passed.
    #[arg(long, default_value_t = 0.25)]
    max_step: f64,
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
        DeviceOutput::Beam {
            time_s,
            state,
            rule,
            reason,
        } => {
            json!({"event": "beam", "state": state, "rule": rule, "reason": reason, "time_s": time_s})
        }
        DeviceOutput::SonicationDone { spot, time_s } => {
            json!({"event": "sonication_done", "spot": spot, "time_s": time_s})
        }
    }
}

/// Lines of stdin, read on their own thread so that the simulation keeps its pace meanwhile. Bytes
/// that are not UTF-8 reach the parser as U+FFFD, which it refuses like any other bad line.
fn stdin_lines() -> Receiver<std::io::Result<String>> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        loop {
            let mut bytes = Vec::new();
            let line = match stdin.read_until(b'\n', &mut bytes) {
                Ok(0) => break,
                Ok(_) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
                Err(error) => Err(error),
            };
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

    /// A refused line: a JSON error event, and the same in words on stderr.
    fn refuse(&mut self, line: usize, message: &str) -> anyhow::Result<()> {
        eprintln!("line {line}: {message}");
        self.emit(&json!({"event": "error", "line": line, "message": message}))
    }
}

/// The device, its plan's spots and where the reading of commands stands.
struct Session<W: Write> {
    device: HifuDevice,
    spots: Vec<Spot>,
    events: Events<W>,
    full_frames: bool,
    waiting: Option<Waiting>,
    lines_read: usize,
    quit: bool,
}

impl<W: Write> Session<W> {
    /// Brings the device to `now` and sends what it reported.
    fn advance(&mut self, now: Duration) -> anyhow::Result<()> {
        self.device.handle_timeout(now);
        while let Some(output) = self.device.poll_output() {
            self.events.emit(&output_event(&output, self.full_frames))?;
        }
        if self.waiting.is_some_and(|w| w.is_over(&self.device)) {
            self.waiting = None;
        }
        Ok(())
    }

    /// Whether the next line may be taken now.
    fn reading(&self) -> bool {
        self.waiting.is_none() && !self.quit
    }

    /// Takes one line at `now` (the time the device was last brought to).
    fn take(&mut self, line: &str, now: Duration) -> anyhow::Result<()> {
        self.lines_read += 1;
        let time_s = self.device.treatment().time_s();
        match parse_line(line, &self.spots) {
            Ok(None) => Ok(()),
            Ok(Some(Input::Command(command))) => match self.device.handle_command(command, now) {
                Ok(()) => self.events.emit(&json!({
                    "event": "accepted",
                    "line": self.lines_read,
                    "command": command,
                    "time_s": self.device.treatment().time_s(),
                })),
                Err(error) => self.events.refuse(self.lines_read, &error.to_string()),
            },
            Ok(Some(Input::WaitSeconds(seconds))) => {
                self.waiting = Some(Waiting::Until(time_s + seconds));
                Ok(())
            }
            Ok(Some(Input::WaitDone)) => {
                self.waiting = Some(Waiting::Done);
                Ok(())
            }
            Ok(Some(Input::Quit)) => {
                self.quit = true;
                Ok(())
            }
            Err(message) => self.events.refuse(self.lines_read, &message),
        }
    }

    /// The closing summary of the treatment so far.
    fn summarise(&mut self, wall_s: f64) -> anyhow::Result<()> {
        let summary = self.device.treatment().summary();
        self.events.emit(&json!({
            "event": "summary",
            "ablated_fraction": summary.ablated_fraction,
            "oar_max_temp_c": summary.oar_max_temp_c,
            "oar_max_cem43": summary.oar_max_cem43,
            "oar_within_limits": summary.oar_within_limits,
            "energy_j": summary.energy_j,
            "peak_temperature_c": summary.peak_temperature_c,
            "treatment_time_s": summary.treatment_time_s,
            "wall_s": wall_s,
        }))
    }
}

pub fn run(args: DeviceArgs) -> anyhow::Result<()> {
    for (flag, value) in [
        ("--speed", args.speed),
        ("--frame-interval", args.frame_interval),
        ("--max-step", args.max_step),
    ] {
        anyhow::ensure!(
            value.is_finite() && value > 0.0,
            "{flag} {value}: must be a positive number"
        );
    }
    let mut session = start(&args)?;
    let lines = stdin_lines();
    let clock = Instant::now();
    let mut input_open = true;
    while !session.quit {
        let now = clock.elapsed();
        session.advance(now)?;
        while session.reading() && input_open {
            match lines.try_recv() {
                Ok(line) => session.take(&line.context("reading commands from stdin")?, now)?,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    input_open = false;
                    session.device.input_ended(now);
                }
            }
        }
        let treating = session.device.treatment().is_sonicating();
        if !input_open && session.waiting.is_none() && !treating {
            break;
        }
        let now = clock.elapsed();
        let due = session.device.poll_timeout().unwrap_or(now).max(now);
        std::thread::sleep((due - now).min(MAX_IDLE));
    }
    // What the end of input did (the beam off) is reported before the summary.
    session.advance(clock.elapsed())?;
    session.summarise(clock.elapsed().as_secs_f64())
}

/// Loads the plan, builds its device and announces it on stdout.
fn start(args: &DeviceArgs) -> anyhow::Result<Session<std::io::StdoutLock<'static>>> {
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
    let treatment = treatment_with_step(&plan, medium, pattern, args.max_step)?;
    let oar = treatment.oar_limits();
    let limits = HifuLimits {
        oar_max_temp_c: oar.max_temp_c,
        oar_max_cem43: oar.max_cem43,
        // The operator is at the device: no heartbeat; the end of input stops the beam.
        survival_time: None,
        energy_budget_j: Some(plan.energy_j()),
        ..HifuLimits::default()
    };
    let device = HifuDevice::new(treatment, foci, args.speed, args.frame_interval, limits)?;
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
    Ok(Session {
        device,
        spots: plan.spots,
        events,
        full_frames: args.full_frames,
        waiting: None,
        lines_read: 0,
        quit: false,
    })
}
