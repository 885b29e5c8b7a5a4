//! Scripted surgical motions at the master: a suturing loop and a knot-tying motion, built from
//! minimum-jerk segments (so position is C2 and velocity starts and ends each segment at zero),
//! with a little physiological tremor (8.5–10.5 Hz, 0.1–0.17 mm per axis) for the tremor filter to remove.
//!
//! Amplitudes are a few centimetres at the master (a few millimetres at the PSM after the 0.2
//! scale) and speeds stay below 100 mm/s. Everything is deterministic from the seed.

use super::{MasterInput, PSM_START_JOINTS};
use crate::geometry::{Pose, Vec3, add, lerp, mat_mul, rot_x, rot_z, scale};
use crate::kinematics::{Joints, Psm};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::f64::consts::{PI, TAU};

/// Stitches in [`SurgicalScript::suturing`].
pub const DEFAULT_STITCHES: usize = 4;
/// Throws in [`SurgicalScript::knot_tying`].
pub const DEFAULT_THROWS: usize = 3;

/// Which motion a script performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MotionKind {
    Suturing,
    KnotTying,
}

/// Minimum-jerk progress from 0 to 1 (zero velocity and acceleration at both ends).
fn min_jerk(s: f64) -> f64 {
    let s = s.clamp(0.0, 1.0);
    s * s * s * (10.0 + s * (-15.0 + 6.0 * s))
}

/// The wrist and gripper state: roll about the tool axis, tilt about the tool x axis, jaw opening.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Wrist {
    roll_rad: f64,
    tilt_rad: f64,
    jaw_rad: f64,
}

impl Wrist {
    fn lerp(&self, to: &Wrist, s: f64) -> Wrist {
        let mix = |a: f64, b: f64| a + (b - a) * s;
        Wrist {
            roll_rad: mix(self.roll_rad, to.roll_rad),
            tilt_rad: mix(self.tilt_rad, to.tilt_rad),
            jaw_rad: mix(self.jaw_rad, to.jaw_rad),
        }
    }
}

/// The geometric path of one segment, parametrised by progress 0..=1.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Path {
    Line {
        from: Vec3,
        to: Vec3,
    },
    /// `centre + r·(cos a·u + sin a·v)` for `a` from `from_rad` to `to_rad`.
    Arc {
        centre: Vec3,
        u: Vec3,
        v: Vec3,
        radius_m: f64,
        from_rad: f64,
        to_rad: f64,
    },
}

impl Path {
    fn at(&self, s: f64) -> Vec3 {
        match *self {
            Path::Line { from, to } => lerp(from, to, s),
            Path::Arc {
                centre,
                u,
                v,
                radius_m,
                from_rad,
                to_rad,
            } => {
                let (sin, cos) = (from_rad + (to_rad - from_rad) * s).sin_cos();
                add(centre, scale(add(scale(u, cos), scale(v, sin)), radius_m))
            }
        }
    }
}

/// One minimum-jerk segment of the script.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Segment {
    start_s: f64,
    duration_s: f64,
    path: Path,
    wrist_from: Wrist,
    wrist_to: Wrist,
}

/// Builds a script segment by segment, each starting where the previous one ended.
struct ScriptBuilder {
    segments: Vec<Segment>,
    position: Vec3,
    wrist: Wrist,
    time_s: f64,
}

impl ScriptBuilder {
    fn new(start: Vec3) -> ScriptBuilder {
        ScriptBuilder {
            segments: Vec::new(),
            position: start,
            wrist: Wrist::default(),
            time_s: 0.0,
        }
    }

    fn push(&mut self, path: Path, wrist: Wrist, duration_s: f64) {
        self.segments.push(Segment {
            start_s: self.time_s,
            duration_s,
            path,
            wrist_from: self.wrist,
            wrist_to: wrist,
        });
        self.position = path.at(1.0);
        self.wrist = wrist;
        self.time_s += duration_s;
    }

    /// Straight line to `to` (also used with `to` = current position to move only the wrist).
    fn line_to(&mut self, to: Vec3, wrist: Wrist, duration_s: f64) {
        let from = self.position;
        self.push(Path::Line { from, to }, wrist, duration_s);
    }

    /// Arc of `radius_m` in the plane (u, v) through the current point, which sits at angle
    /// `start_rad` on the circle, sweeping `sweep_rad`.
    fn arc(
        &mut self,
        plane: (Vec3, Vec3),
        radius_m: f64,
        start_rad: f64,
        sweep_rad: f64,
        wrist: Wrist,
        duration_s: f64,
    ) {
        let (u, v) = plane;
        let on_circle = add(scale(u, start_rad.cos()), scale(v, start_rad.sin()));
        let centre = add(self.position, scale(on_circle, -radius_m));
        let path = Path::Arc {
            centre,
            u,
            v,
            radius_m,
            from_rad: start_rad,
            to_rad: start_rad + sweep_rad,
        };
        self.push(path, wrist, duration_s);
    }
}

/// Two tremor sinusoids per axis: (amplitude m, frequency Hz, phase rad).
type Tremor = [[(f64, f64, f64); 2]; 3];

const X: Vec3 = [1.0, 0.0, 0.0];
const Y: Vec3 = [0.0, 1.0, 0.0];
const Z: Vec3 = [0.0, 0.0, 1.0];

/// A scripted master motion: deterministic from its seed.
#[derive(Debug, Clone, PartialEq)]
pub struct SurgicalScript {
    kind: MotionKind,
    segments: Vec<Segment>,
    duration_s: f64,
    /// Master orientation with the wrist neutral: the PSM tool orientation at the start joints.
    neutral_rotation: crate::geometry::Mat3,
    tremor: Tremor,
}

/// `nominal·(1 ± spread)`, drawn uniformly.
fn vary(rng: &mut StdRng, nominal: f64, spread: f64) -> f64 {
    nominal * (1.0 + rng.random_range(-spread..=spread))
}

impl SurgicalScript {
    /// A suturing loop of [`DEFAULT_STITCHES`] stitches (about 6 s each).
    pub fn suturing(seed: u64) -> SurgicalScript {
        SurgicalScript::suturing_stitches(seed, DEFAULT_STITCHES)
    }

    /// A suturing loop of `stitches` stitches along the wound (the x axis). Each stitch: drive the
    /// needle along a half circle of ~2 cm radius under the surface while rolling the wrist,
    /// release and regrasp, pull the thread up and out, move to the next entry point ~12 mm on.
    pub fn suturing_stitches(seed: u64, stitches: usize) -> SurgicalScript {
        let mut rng = StdRng::seed_from_u64(seed);
        let spacing_m = 0.012;
        let first_x = -spacing_m * (stitches.max(1) - 1) as f64 / 2.0;
        let mut radius_m = vary(&mut rng, 0.02, 0.1);
        let mut b = ScriptBuilder::new([first_x, -radius_m, 0.0]);
        let mut x = first_x;
        for stitch in 0..stitches {
            let roll = vary(&mut rng, 0.8, 0.15);
            let tilt = vary(&mut rng, 0.12, 0.3);
            let driving = Wrist {
                roll_rad: roll,
                tilt_rad: tilt,
                jaw_rad: 0.0,
            };
            b.arc((Y, Z), radius_m, PI, PI, driving, vary(&mut rng, 2.0, 0.1));
            let released = Wrist {
                jaw_rad: 0.6,
                ..driving
            };
            b.line_to(b.position, released, 0.4);
            let pulled = add(
                b.position,
                [0.0, vary(&mut rng, 0.015, 0.2), vary(&mut rng, 0.03, 0.1)],
            );
            b.line_to(pulled, Wrist::default(), vary(&mut rng, 1.2, 0.1));
            if stitch + 1 < stitches {
                x += vary(&mut rng, spacing_m, 0.1);
                radius_m = vary(&mut rng, 0.02, 0.1);
                b.line_to(
                    [x, -radius_m, 0.0],
                    Wrist::default(),
                    vary(&mut rng, 2.2, 0.1),
                );
            }
        }
        SurgicalScript::from_builder(MotionKind::Suturing, b, &mut rng)
    }

    /// A knot-tying motion of [`DEFAULT_THROWS`] throws (a surgeon's knot and more).
    pub fn knot_tying(seed: u64) -> SurgicalScript {
        SurgicalScript::knot_tying_throws(seed, DEFAULT_THROWS)
    }

    /// `throws` throws: wrap the thread around the other instrument (a ~12 mm circle in the
    /// horizontal plane; twice for the first throw, then once, alternating direction), reach for
    /// the tail with the jaw open, grasp it, pull the throw tight to the side, come back.
    pub fn knot_tying_throws(seed: u64, throws: usize) -> SurgicalScript {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut b = ScriptBuilder::new([0.0; 3]);
        for throw in 0..throws {
            let direction = if throw % 2 == 0 { 1.0 } else { -1.0 };
            let loops = if throw == 0 { 2.0 } else { 1.0 };
            let wrapping = Wrist {
                roll_rad: direction * vary(&mut rng, 0.6, 0.2),
                tilt_rad: vary(&mut rng, 0.1, 0.3),
                jaw_rad: 0.0,
            };
            let radius_m = vary(&mut rng, 0.012, 0.1);
            b.arc(
                (X, Y),
                radius_m,
                PI,
                direction * loops * TAU,
                wrapping,
                vary(&mut rng, 2.6 * loops, 0.1),
            );
            let reach = add(
                b.position,
                [direction * vary(&mut rng, 0.03, 0.15), 0.0, -0.01],
            );
            let open = Wrist {
                jaw_rad: 0.7,
                ..wrapping
            };
            b.line_to(reach, open, vary(&mut rng, 1.2, 0.1));
            b.line_to(reach, wrapping, 0.3);
            let pull = [
                -direction * vary(&mut rng, 0.04, 0.1),
                vary(&mut rng, 0.005, 0.5),
                0.02,
            ];
            b.line_to(pull, Wrist::default(), vary(&mut rng, 2.4, 0.1));
            b.line_to([0.0; 3], Wrist::default(), vary(&mut rng, 1.4, 0.1));
        }
        SurgicalScript::from_builder(MotionKind::KnotTying, b, &mut rng)
    }

    fn from_builder(kind: MotionKind, builder: ScriptBuilder, rng: &mut StdRng) -> SurgicalScript {
        let tremor = std::array::from_fn(|_| {
            [
                (
                    rng.random_range(0.08e-3..0.12e-3),
                    rng.random_range(8.5..9.5),
                    rng.random_range(0.0..TAU),
                ),
                (
                    rng.random_range(0.02e-3..0.05e-3),
                    rng.random_range(9.5..10.5),
                    rng.random_range(0.0..TAU),
                ),
            ]
        });
        SurgicalScript {
            kind,
            duration_s: builder.time_s,
            segments: builder.segments,
            neutral_rotation: Psm::dvrk_classic().forward(&PSM_START_JOINTS).rotation,
            tremor,
        }
    }

    /// The PSM joints the scripts are designed to start from (see [`PSM_START_JOINTS`]).
    pub fn psm_start_joints() -> Joints {
        PSM_START_JOINTS
    }

    pub fn kind(&self) -> MotionKind {
        self.kind
    }

    /// The tremor added to the master position at `t_s`, metres.
    pub fn tremor_at(&self, t_s: f64) -> Vec3 {
        self.tremor.map(|axis| {
            axis.iter()
                .map(|(amplitude, hz, phase)| amplitude * (TAU * hz * t_s + phase).sin())
                .sum()
        })
    }

    /// The segment active at `t_s` and the minimum-jerk progress within it.
    fn segment_at(&self, t_s: f64) -> Option<(&Segment, f64)> {
        if !(0.0..=self.duration_s).contains(&t_s) {
            return None;
        }
        let index = self
            .segments
            .partition_point(|s| s.start_s <= t_s)
            .saturating_sub(1);
        let segment = self.segments.get(index)?;
        let progress = (t_s - segment.start_s) / segment.duration_s;
        Some((segment, min_jerk(progress)))
    }

    /// The master position without tremor at `t_s`, metres.
    pub fn intended_position_at(&self, t_s: f64) -> Option<Vec3> {
        self.segment_at(t_s).map(|(segment, s)| segment.path.at(s))
    }
}

impl MasterInput for SurgicalScript {
    fn pose_at(&self, t_s: f64) -> Option<Pose> {
        let (segment, s) = self.segment_at(t_s)?;
        let wrist = segment.wrist_from.lerp(&segment.wrist_to, s);
        let rotation = mat_mul(
            &mat_mul(&self.neutral_rotation, &rot_z(wrist.roll_rad)),
            &rot_x(wrist.tilt_rad),
        );
        Some(Pose {
            position: add(segment.path.at(s), self.tremor_at(t_s)),
            rotation,
        })
    }

    fn jaw_at(&self, t_s: f64) -> Option<f64> {
        let (segment, s) = self.segment_at(t_s)?;
        Some(segment.wrist_from.lerp(&segment.wrist_to, s).jaw_rad)
    }

    fn duration_s(&self) -> f64 {
        self.duration_s
    }
}

#[cfg(test)]
mod tests;
