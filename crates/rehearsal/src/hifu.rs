//! The HIFU fault matrix: a remote HIFU procedure rehearsed over every matrix profile and seed, in
//! simulated time, with the production cores (the station core's HIFU procedure, the device with
//! its HIFU supervisor, the console's operator) beside the simulated pair. Checked in every cell:
//! after the link goes silent the beam is never on longer than the survival time plus one frame
//! (one solver step: the supervisor's period of judgement), no organ at risk passes its limit by
//! more than one frame's heating, and a plan edited in flight is refused. The OAR limit of the
//! rehearsal is set low on purpose so that the OAR rule fires in every cell.

use crate::session::{RehearsalError, suturing};
use hifu::device::HifuDevice;
use hifu::field::FieldSettings;
use hifu::heating::HeatPattern;
use hifu::medium::Medium;
use hifu::plan::{MediumSource, Plan, PlannerSettings, Spot};
use hifu::scenario::FibroidScenario;
use hifu::tissue::Tissue;
use netem::Profile;
use safety::hifu::{BeamState, HifuLimits};
use serde::Serialize;
use std::time::Duration;
use teleop::hifu::device_kit::{DevicePace, build_device, command_device, report_of};
use teleop::hifu::operator::{HifuOperator, OperatorCommand, OperatorStep};
use teleop::hifu::procedure::HifuStationConfig;
use teleop::hifu::{BulkMessage, DeviceOrder, DeviceReport, HifuNews, plan_digest};
use teleop::sim::{SimConfig, SimPair};
use teleop::{NoTap, OperatorAction, SessionEvent};

/// Spots of the rehearsal's plan, each on this long, cooling between.
const SPOTS: usize = 6;
const SPOT_ON_S: f64 = 2.0;
const SPOT_COOL_S: f64 = 0.5;
const SPOT_POWER_W: f64 = 150.0;
/// The solver's longest step: one frame of the supervisor's judgement.
pub const FRAME_S: f64 = 0.25;
/// The operator acknowledges a safety stop and resumes this long after seeing it.
const OPERATOR_REACTION: Duration = Duration::from_millis(800);
/// When the console sends an edited plan (a spot is then under way).
const EDIT_AT: Duration = Duration::from_millis(1_500);
/// No cell runs longer than this (simulated).
const MAX_S: f64 = 40.0;

/// The patient model, heat pattern and plan every cell shares (built once: the field is costly).
pub struct HifuFixture {
    medium: Medium,
    pattern: HeatPattern,
    plan: Plan,
    /// The OAR temperature limit of the rehearsal (°C): low, so that the OAR rule fires.
    pub oar_limit_c: f32,
}

impl HifuFixture {
    /// A 24 mm fibroid on a 3 mm grid, six spots around its centre.
    pub fn small() -> Result<Self, hifu::HifuError> {
        let scenario = FibroidScenario {
            spacing_mm: 3.0,
            fibroid_semi_axes_mm: [12.0; 3],
            lateral_margin_mm: 15.0,
            posterior_mm: 6.0,
            ..FibroidScenario::default()
        };
        let medium = scenario.build()?;
        let field = FieldSettings {
            patches_per_wavelength: 2.0,
            subsamples: 2,
            ..FieldSettings::default()
        };
        let transducer = hifu::transducer::Bowl::default();
        let pattern = field.heat_pattern(&transducer, medium.grid.spacing_m, &|_, _| {});
        let centre = centroid_mm(&medium);
        let spots = (0..SPOTS)
            .map(|k| {
                let angle = k as f64 * std::f64::consts::TAU / SPOTS as f64;
                Spot {
                    slice: 0,
                    focus_mm: [
                        centre[0] + 4.0 * angle.cos(),
                        centre[1] + 4.0 * angle.sin(),
                        centre[2],
                    ],
                    power_w: SPOT_POWER_W,
                    on_s: SPOT_ON_S,
                    cool_s: SPOT_COOL_S,
                }
            })
            .collect();
        let plan = Plan {
            medium: MediumSource::Fibroid(scenario),
            transducer,
            field,
            thermal: Default::default(),
            limits: Default::default(),
            planner: PlannerSettings::default(),
            spots,
        };
        Ok(Self {
            medium,
            pattern,
            plan,
            oar_limit_c: 38.4,
        })
    }

    fn device(&self, limits: &HifuLimits, now: Duration) -> Result<HifuDevice, String> {
        let pace = DevicePace {
            max_step_s: FRAME_S,
            speed: 1.0,
            frame_interval_s: 0.5,
        };
        let plan = &self.plan;
        build_device(plan, &self.medium, &self.pattern, plan, pace, limits, now)
    }

    fn limits(&self) -> HifuLimits {
        HifuLimits {
            oar_max_temp_c: self.oar_limit_c,
            ..HifuLimits::default()
        }
    }
}

fn centroid_mm(medium: &Medium) -> [f64; 3] {
    let fibroid = medium.indices_of(Tissue::Fibroid);
    let mut sum = [0.0; 3];
    for &i in &fibroid {
        let p = medium.grid.position(medium.grid.voxel(i));
        for (s, v) in sum.iter_mut().zip(p) {
            *s += v * 1e3;
        }
    }
    sum.map(|s| s / fibroid.len().max(1) as f64)
}

/// What one cell saw.
#[derive(Debug, Clone, Serialize)]
pub struct HifuCellReport {
    pub profile: String,
    pub seed: u64,
    pub simulated_s: f64,
    pub spots_complete: usize,
    pub beam_on_s: f64,
    /// The longest the beam stayed on with no heartbeat reaching the device, s.
    pub max_silence_with_beam_on_s: f64,
    pub survival_s: f64,
    /// The most any OAR passed its temperature limit, °C (0 if never).
    pub oar_overshoot_c: f32,
    /// The largest rise of the hottest OAR voxel in one solver step, °C: one frame's heating.
    pub max_oar_rise_per_frame_c: f32,
    /// Safety stops by rule name.
    pub stops: Vec<String>,
    pub edit_refused: bool,
    pub ended: Option<String>,
}

impl HifuCellReport {
    /// The rules the cell broke, in words.
    pub fn broken(&self) -> Vec<String> {
        let mut broken = Vec::new();
        let bound = self.survival_s + FRAME_S;
        if self.max_silence_with_beam_on_s > bound + 1e-9 {
            broken.push(format!(
                "beam on {:.3} s after the last heartbeat (survival + one frame = {bound:.3} s)",
                self.max_silence_with_beam_on_s
            ));
        }
        if self.oar_overshoot_c > self.max_oar_rise_per_frame_c + 1e-4 {
            broken.push(format!(
                "an OAR passed its limit by {:.3} °C, more than one frame's heating ({:.3} °C)",
                self.oar_overshoot_c, self.max_oar_rise_per_frame_c
            ));
        }
        if !self.edit_refused {
            broken.push("the plan edited in flight was not refused".into());
        }
        broken
    }
}

/// Rehearses the procedure of `fixture` over `profile` with `seed`.
pub fn rehearse_hifu(
    fixture: &HifuFixture,
    profile: &Profile,
    seed: u64,
) -> Result<HifuCellReport, RehearsalError> {
    let limits = fixture.limits();
    let base = SimConfig::new(profile.clone(), seed);
    let config = SimConfig {
        station: teleop::StationSessionConfig {
            hifu: Some(HifuStationConfig {
                reference: Box::new(fixture.plan.clone()),
                plan_limits: Default::default(),
                device_limits: limits.clone(),
            }),
            ..base.station.clone()
        },
        ..base
    };
    // The arm is not used: a short script, after which the console only answers the station.
    let (input, duration_s) = suturing(seed, 0.01)?;
    let mut pair = SimPair::new(&config, input, duration_s, NoTap, NoTap)?;
    let mut cell = Cell::new(fixture, limits, profile, seed);
    while pair.now().as_secs_f64() < MAX_S && cell.ended.is_none() {
        pair.step();
        cell.console(&mut pair);
        cell.station(&mut pair, fixture);
    }
    Ok(cell.report(pair.now()))
}

/// The state of one cell besides the pair.
struct Cell {
    operator: HifuOperator,
    device: Option<HifuDevice>,
    limits: HifuLimits,
    edited: Plan,
    edit_sent: bool,
    report: HifuCellReport,
    last_heartbeat: Duration,
    last_oar_c: Option<f32>,
    /// When the operator resumes, and whether it acknowledges a stop first.
    resume_at: Option<(Duration, bool)>,
    ended: Option<String>,
}

impl Cell {
    fn new(fixture: &HifuFixture, limits: HifuLimits, profile: &Profile, seed: u64) -> Self {
        let mut edited = fixture.plan.clone();
        edited.spots[SPOTS - 1].power_w *= 1.1;
        Self {
            operator: HifuOperator::new(fixture.plan.clone()),
            device: None,
            report: HifuCellReport {
                profile: profile.name.clone(),
                seed,
                simulated_s: 0.0,
                spots_complete: 0,
                beam_on_s: 0.0,
                max_silence_with_beam_on_s: 0.0,
                survival_s: limits
                    .survival_time
                    .map_or(f64::INFINITY, |d| d.as_secs_f64()),
                oar_overshoot_c: 0.0,
                max_oar_rise_per_frame_c: 0.0,
                stops: Vec::new(),
                edit_refused: false,
                ended: None,
            },
            limits,
            edited,
            edit_sent: false,
            last_heartbeat: Duration::ZERO,
            last_oar_c: None,
            resume_at: None,
            ended: None,
        }
    }

    /// The console's operator: news in, its next step out; after a safety stop it acknowledges
    /// and resumes once it has seen the stop; mid-procedure it sends an edited plan.
    fn console(&mut self, pair: &mut SimPair<NoTap, NoTap>) {
        let now = pair.now();
        for event in pair.take_console_hifu() {
            match event {
                SessionEvent::Hifu(news) => {
                    if let HifuNews::PlanRefused { digest, .. } = &news
                        && *digest == plan_digest(&self.edited)
                    {
                        self.report.edit_refused = true;
                        continue;
                    }
                    if let HifuNews::Beam {
                        state,
                        rule: Some(rule),
                        ..
                    } = &news
                        && state == "stopped"
                    {
                        self.report.stops.push(rule.clone());
                        self.resume_at = Some((now + OPERATOR_REACTION, true));
                    }
                    if let HifuNews::Ended {
                        why,
                        spots_complete,
                    } = &news
                    {
                        self.report.spots_complete = *spots_complete;
                        self.ended = Some(why.clone());
                    }
                    self.operator.on_news(&news, now);
                }
                SessionEvent::Refused { reason, .. } => {
                    // A hot organ: the operator waits and tries again.
                    if reason.contains("wait until it cools") {
                        self.resume_at = Some((now + OPERATOR_REACTION, false));
                    }
                    self.operator.on_refused(&reason);
                }
                _ => {}
            }
        }
        if let Some((at, acknowledge)) = self.resume_at.filter(|(at, _)| now >= *at) {
            let _ = at;
            self.resume_at = None;
            if acknowledge {
                self.operator.on_command(OperatorCommand::Acknowledge);
            }
            self.operator.on_command(OperatorCommand::Resume);
        }
        if !self.edit_sent && now >= EDIT_AT {
            self.edit_sent = true;
            pair.send_bulk(BulkMessage::Plan(Box::new(self.edited.clone())));
        }
        match self.operator.poll(now) {
            Some(OperatorStep::SendPlan) => {
                let plan = self.operator.plan().clone();
                pair.send_bulk(BulkMessage::Plan(Box::new(plan)));
            }
            Some(OperatorStep::Request { digest, request }) => {
                pair.operator(OperatorAction::Hifu { digest, request });
            }
            None => {}
        }
    }

    /// The station's device thread: orders in, the device stepped to now, reports out, and the
    /// safety figures measured.
    fn station(&mut self, pair: &mut SimPair<NoTap, NoTap>, fixture: &HifuFixture) {
        let now = pair.now();
        for order in pair.take_device_orders() {
            let report = match order {
                DeviceOrder::Load { digest, .. } => match fixture.device(&self.limits, now) {
                    Ok(device) => {
                        self.last_heartbeat = now;
                        self.device = Some(device);
                        Some(DeviceReport::Loaded { digest })
                    }
                    Err(reason) => Some(DeviceReport::LoadFailed { digest, reason }),
                },
                DeviceOrder::Command(command) => {
                    if command == hifu::device::DeviceCommand::Heartbeat {
                        self.last_heartbeat = now;
                    }
                    self.device
                        .as_mut()
                        .and_then(|d| command_device(d, command, now))
                }
            };
            if let Some(report) = report {
                pair.device_report(report);
            }
        }
        let Some(device) = self.device.as_mut() else {
            return;
        };
        let before = device.treatment().time_s();
        device.handle_timeout(now);
        let stepped = device.treatment().time_s() > before;
        let mut reports = Vec::new();
        while let Some(output) = device.poll_output() {
            reports.extend(report_of(output));
        }
        let on = device.beam() == BeamState::On;
        if on {
            let silence = now.saturating_sub(self.last_heartbeat).as_secs_f64();
            let worst = &mut self.report.max_silence_with_beam_on_s;
            *worst = worst.max(silence);
            self.report.beam_on_s += teleop::sim::TICK.as_secs_f64();
        }
        if stepped {
            let oar = device
                .treatment()
                .oar_readings()
                .iter()
                .map(|r| r.temp_c)
                .fold(f32::NEG_INFINITY, f32::max);
            if let Some(last) = self.last_oar_c {
                let rise = &mut self.report.max_oar_rise_per_frame_c;
                *rise = rise.max(oar - last);
            }
            self.last_oar_c = Some(oar);
            let over = &mut self.report.oar_overshoot_c;
            *over = over.max(oar - self.limits.oar_max_temp_c);
        }
        for report in reports {
            pair.device_report(report);
        }
    }

    fn report(mut self, now: Duration) -> HifuCellReport {
        self.report.simulated_s = now.as_secs_f64();
        self.report.ended = self.ended;
        self.report
    }
}

/// Every matrix profile with every seed, calling `progress` after each cell.
pub fn run_hifu_matrix(
    fixture: &HifuFixture,
    seeds: &[u64],
    mut progress: impl FnMut(&HifuCellReport),
) -> Result<Vec<HifuCellReport>, RehearsalError> {
    let mut cells = Vec::new();
    for profile in crate::matrix::matrix_profiles()? {
        for &seed in seeds {
            let cell = rehearse_hifu(fixture, &profile, seed)?;
            progress(&cell);
            cells.push(cell);
        }
    }
    Ok(cells)
}

/// Every broken invariant of `cells`, one line each ("profile seed N: what broke").
pub fn broken_lines(cells: &[HifuCellReport]) -> Vec<String> {
    cells
        .iter()
        .flat_map(|c| {
            c.broken()
                .into_iter()
                .map(move |b| format!("{} seed {}: {b}", c.profile, c.seed))
        })
        .collect()
}
