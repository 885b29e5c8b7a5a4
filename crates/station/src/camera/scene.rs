//! The simulated endoscope's picture, a pure function of the measured pose: a fixed pinhole camera
//! looks at a tissue plane below the arm's workspace (textured and lit once, at start) and the
//! instrument is drawn over it each frame where the measured pose puts it: the shaft from the
//! remote centre of motion side down to the tip, the dark wrist, and two jaws. No clock, no IO;
//! one RGB buffer reused for every frame.

use super::pose_cell::MeasuredPose;
use serde::{Deserialize, Serialize};

type V3 = [f64; 3];

/// Where the endoscope looks from and how wide (the arm's base frame: the remote centre of motion
/// at the origin, z up; the default start tip is at (0, 0, -0.1135) m).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CameraView {
    pub eye_m: V3,
    pub look_at_m: V3,
    /// Horizontal field of view (degrees).
    pub fov_deg: f64,
    /// Height of the tissue surface (m, base frame z).
    pub tissue_z_m: f64,
}

impl Default for CameraView {
    fn default() -> Self {
        Self {
            eye_m: [0.035, -0.035, -0.07],
            look_at_m: [0.0, 0.0, -0.118],
            fov_deg: 70.0,
            tissue_z_m: -0.13,
        }
    }
}

/// Radius of the instrument's shaft and how much of it is drawn above the tip (m).
const SHAFT_RADIUS_M: f64 = 0.004;
const SHAFT_LENGTH_M: f64 = 0.10;
/// The dark wrist at the end of the shaft, and the jaws.
const WRIST_LENGTH_M: f64 = 0.009;
const JAW_LENGTH_M: f64 = 0.009;
const JAW_RADIUS_M: f64 = 0.0012;
const JAW_HALF_ANGLE_RAD: f64 = 0.3;
const NEAR_M: f64 = 0.004;
const SHAFT_PIECES: usize = 8;

const SHAFT_RGB: [f64; 3] = [175.0, 178.0, 182.0];
const WRIST_RGB: [f64; 3] = [40.0, 40.0, 44.0];
const JAW_RGB: [f64; 3] = [120.0, 122.0, 126.0];

/// The camera's projection.
#[derive(Debug, Clone, Copy)]
pub struct Projection {
    eye: V3,
    right: V3,
    down: V3,
    forward: V3,
    focal_px: f64,
    cx: f64,
    cy: f64,
}

impl Projection {
    pub fn new(view: &CameraView, width: usize, height: usize) -> Self {
        let forward = normalise(sub(view.look_at_m, view.eye_m));
        let right = normalise(cross(forward, [0.0, 0.0, 1.0]));
        let down = cross(forward, right);
        let focal_px = (width as f64 / 2.0) / (view.fov_deg.to_radians() / 2.0).tan();
        Self {
            eye: view.eye_m,
            right,
            down,
            forward,
            focal_px,
            cx: width as f64 / 2.0,
            cy: height as f64 / 2.0,
        }
    }

    /// Camera coordinates (right, down, depth) of a point.
    fn camera_coordinates(&self, p: V3) -> V3 {
        let v = sub(p, self.eye);
        [dot(v, self.right), dot(v, self.down), dot(v, self.forward)]
    }

    /// The pixel (column, row) a point in front of the camera lands on.
    pub fn project(&self, p: V3) -> Option<(f64, f64)> {
        let c = self.camera_coordinates(p);
        (c[2] > NEAR_M).then(|| self.pixel_of(c))
    }

    fn pixel_of(&self, c: V3) -> (f64, f64) {
        (
            self.cx + self.focal_px * c[0] / c[2],
            self.cy + self.focal_px * c[1] / c[2],
        )
    }

    /// The ray through a pixel, in the base frame (not normalised).
    fn ray(&self, col: f64, row: f64) -> V3 {
        let (x, y) = (
            (col - self.cx) / self.focal_px,
            (row - self.cy) / self.focal_px,
        );
        add(self.forward, add(scale(self.right, x), scale(self.down, y)))
    }
}

/// The scene: its projection, the lit tissue once, and the frame buffer.
pub struct Scene {
    pub width: usize,
    pub height: usize,
    projection: Projection,
    background: Vec<u8>,
    frame: Vec<u8>,
}

impl Scene {
    pub fn new(view: &CameraView, width: usize, height: usize) -> Self {
        let projection = Projection::new(view, width, height);
        let background = tissue(&projection, view.tissue_z_m, width, height);
        Self {
            width,
            height,
            projection,
            frame: background.clone(),
            background,
        }
    }

    pub fn projection(&self) -> &Projection {
        &self.projection
    }

    /// Renders the instrument at `pose` (none yet: tissue only) and returns the RGB picture.
    pub fn render(&mut self, pose: Option<&MeasuredPose>) -> &[u8] {
        self.frame.copy_from_slice(&self.background);
        if let Some(pose) = pose {
            self.draw_instrument(pose);
        }
        &self.frame
    }

    fn draw_instrument(&mut self, pose: &MeasuredPose) {
        let (x_axis, z_axis) = axes(pose.quaternion_xyzw);
        let tip = pose.tip_m;
        let wrist = sub(tip, scale(z_axis, WRIST_LENGTH_M));
        let top = sub(tip, scale(z_axis, SHAFT_LENGTH_M));
        // In pieces: the part near the camera projects wide, and one capsule's bounding box
        // would then cover the whole picture (4.5 ms a frame at 720p instead of about 1).
        for i in 0..SHAFT_PIECES {
            let at = |k: usize| {
                let t = k as f64 / SHAFT_PIECES as f64;
                add(top, scale(sub(wrist, top), t))
            };
            self.capsule(at(i), at(i + 1), SHAFT_RADIUS_M, SHAFT_RGB);
        }
        self.capsule(wrist, tip, SHAFT_RADIUS_M * 0.8, WRIST_RGB);
        for side in [-1.0, 1.0] {
            let (s, c) = (side * JAW_HALF_ANGLE_RAD).sin_cos();
            let direction = add(scale(z_axis, c), scale(x_axis, s));
            let end = add(tip, scale(direction, JAW_LENGTH_M));
            self.capsule(tip, end, JAW_RADIUS_M, JAW_RGB);
        }
    }

    /// Draws a lit cylinder with rounded ends between two points, clipped to the near plane.
    fn capsule(&mut self, a: V3, b: V3, radius_m: f64, rgb: [f64; 3]) {
        let p = &self.projection;
        let (ca, cb) = (p.camera_coordinates(a), p.camera_coordinates(b));
        if ca[2] <= NEAR_M && cb[2] <= NEAR_M {
            return;
        }
        // Clip the part behind the near plane.
        let clip = |near: V3, far: V3| {
            if near[2] > NEAR_M {
                return near;
            }
            let t = (NEAR_M - near[2]) / (far[2] - near[2]);
            add(near, scale(sub(far, near), t + 1e-9))
        };
        let (ca, cb) = (clip(ca, cb), clip(cb, ca));
        let (pa, pb) = (p.pixel_of(ca), p.pixel_of(cb));
        let (ra, rb) = (p.focal_px * radius_m / ca[2], p.focal_px * radius_m / cb[2]);
        let r_max = ra.max(rb);
        let (w, h) = (self.width as f64, self.height as f64);
        let x0 = (pa.0.min(pb.0) - r_max).floor().clamp(0.0, w) as usize;
        let x1 = (pa.0.max(pb.0) + r_max).ceil().clamp(0.0, w) as usize;
        let y0 = (pa.1.min(pb.1) - r_max).floor().clamp(0.0, h) as usize;
        let y1 = (pa.1.max(pb.1) + r_max).ceil().clamp(0.0, h) as usize;
        let (dx, dy) = (pb.0 - pa.0, pb.1 - pa.1);
        let len2 = (dx * dx + dy * dy).max(1e-12);
        for row in y0..y1 {
            let py = row as f64 + 0.5;
            let line = &mut self.frame[row * self.width * 3..(row + 1) * self.width * 3];
            for col in x0..x1 {
                let px = col as f64 + 0.5;
                let s = (((px - pa.0) * dx + (py - pa.1) * dy) / len2).clamp(0.0, 1.0);
                let (qx, qy) = (pa.0 + s * dx - px, pa.1 + s * dy - py);
                let r = ra + s * (rb - ra);
                let d2 = qx * qx + qy * qy;
                if d2 < r * r {
                    let shade = 0.35 + 0.65 * (1.0 - d2 / (r * r)).sqrt();
                    let px = &mut line[col * 3..col * 3 + 3];
                    for (out, c) in px.iter_mut().zip(rgb) {
                        *out = (c * shade).clamp(0.0, 255.0) as u8;
                    }
                }
            }
        }
    }
}

/// The tissue surface as the endoscope's light shows it: a mucosa-red base, a few vessels,
/// speckle, and light falling off with distance and angle.
fn tissue(projection: &Projection, tissue_z_m: f64, width: usize, height: usize) -> Vec<u8> {
    let mut rgb = vec![0u8; width * height * 3];
    for row in 0..height {
        for col in 0..width {
            let d = projection.ray(col as f64 + 0.5, row as f64 + 0.5);
            let i = (row * width + col) * 3;
            if d[2] >= -1e-9 {
                rgb[i..i + 3].copy_from_slice(&[20, 6, 6]);
                continue;
            }
            let t = (tissue_z_m - projection.eye[2]) / d[2];
            let p = add(projection.eye, scale(d, t));
            let distance = t * norm(d);
            let cosine = -d[2] / norm(d);
            let light = cosine.max(0.0) / (1.0 + (distance / 0.09).powi(2));
            let (x, y) = (p[0] * 1000.0, p[1] * 1000.0);
            let vessel = ((x * 0.35 + 2.5 * (y * 0.11).sin()).sin().abs())
                .min((y * 0.27 + 3.0 * (x * 0.07).cos()).sin().abs() * 1.4);
            let vessel = (1.0 - (vessel / 0.08).min(1.0)) * 0.45;
            let speckle = hash(col as u32, row as u32) * 0.08;
            let base = [225.0, 120.0, 110.0];
            let tint = [1.0 - vessel * 0.4, 1.0 - vessel, 1.0 - vessel * 0.9];
            for k in 0..3 {
                let v = base[k] * tint[k] * (0.25 + 1.6 * light) * (0.96 + speckle);
                rgb[i + k] = v.clamp(0.0, 255.0) as u8;
            }
        }
    }
    rgb
}

/// A deterministic value in [0, 1) per pixel.
fn hash(x: u32, y: u32) -> f64 {
    let mut h = x.wrapping_mul(0x9E37_79B1) ^ y.wrapping_mul(0x85EB_CA77);
    h ^= h >> 15;
    h = h.wrapping_mul(0x2C1B_3C6D);
    h ^= h >> 12;
    f64::from(h & 0xFFFF) / 65536.0
}

/// The tool's x and z axes (z: along the shaft, towards the tip) from its quaternion.
fn axes(q: [f64; 4]) -> (V3, V3) {
    let n = (q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]).sqrt();
    let [x, y, z, w] = if n > 1e-9 && n.is_finite() {
        [q[0] / n, q[1] / n, q[2] / n, q[3] / n]
    } else {
        [0.0, 0.0, 0.0, 1.0]
    };
    let x_axis = [
        1.0 - 2.0 * (y * y + z * z),
        2.0 * (x * y + w * z),
        2.0 * (x * z - w * y),
    ];
    let z_axis = [
        2.0 * (x * z + w * y),
        2.0 * (y * z - w * x),
        1.0 - 2.0 * (x * x + y * y),
    ];
    (x_axis, z_axis)
}

fn add(a: V3, b: V3) -> V3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}
fn sub(a: V3, b: V3) -> V3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
fn scale(a: V3, s: f64) -> V3 {
    [a[0] * s, a[1] * s, a[2] * s]
}
fn dot(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
fn norm(a: V3) -> f64 {
    dot(a, a).sqrt()
}
fn normalise(a: V3) -> V3 {
    scale(a, 1.0 / norm(a).max(1e-12))
}
fn cross(a: V3, b: V3) -> V3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}
