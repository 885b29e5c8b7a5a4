//! Small 3-D geometry for the arm: vectors, rotation matrices, unit quaternions and tool poses.
//!
//! Rotation matrices are row-major `[[f64; 3]; 3]`; a column is the image of a unit axis.
//! Positions are in metres, angles in radians.

/// A 3-vector (metres when it is a position).
pub type Vec3 = [f64; 3];
/// A 3x3 matrix, row-major (`m[row][column]`).
pub type Mat3 = [[f64; 3]; 3];

/// The identity rotation.
pub const IDENTITY: Mat3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

pub fn add(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

pub fn sub(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

pub fn scale(a: Vec3, s: f64) -> Vec3 {
    [a[0] * s, a[1] * s, a[2] * s]
}

pub fn dot(a: Vec3, b: Vec3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub fn cross(a: Vec3, b: Vec3) -> Vec3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

pub fn norm(a: Vec3) -> f64 {
    dot(a, a).sqrt()
}

/// Linear interpolation `a + (b - a)·s`.
pub fn lerp(a: Vec3, b: Vec3, s: f64) -> Vec3 {
    add(a, scale(sub(b, a), s))
}

pub fn mat_mul(a: &Mat3, b: &Mat3) -> Mat3 {
    let mut out = [[0.0; 3]; 3];
    for (row, out_row) in out.iter_mut().enumerate() {
        for (col, cell) in out_row.iter_mut().enumerate() {
            *cell = (0..3).map(|k| a[row][k] * b[k][col]).sum();
        }
    }
    out
}

pub fn mat_vec(m: &Mat3, v: Vec3) -> Vec3 {
    [dot(m[0], v), dot(m[1], v), dot(m[2], v)]
}

pub fn transpose(m: &Mat3) -> Mat3 {
    let mut out = [[0.0; 3]; 3];
    for (row, m_row) in m.iter().enumerate() {
        for (col, value) in m_row.iter().enumerate() {
            out[col][row] = *value;
        }
    }
    out
}

/// Column `index` of `m`: where the rotation sends unit axis `index`.
pub fn column(m: &Mat3, index: usize) -> Vec3 {
    [m[0][index], m[1][index], m[2][index]]
}

/// Rotation by `angle_rad` about the x axis.
pub fn rot_x(angle_rad: f64) -> Mat3 {
    let (s, c) = angle_rad.sin_cos();
    [[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]]
}

/// Rotation by `angle_rad` about the y axis.
pub fn rot_y(angle_rad: f64) -> Mat3 {
    let (s, c) = angle_rad.sin_cos();
    [[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]]
}

/// Rotation by `angle_rad` about the z axis.
pub fn rot_z(angle_rad: f64) -> Mat3 {
    let (s, c) = angle_rad.sin_cos();
    [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]
}

/// The angle (radians, in [0, π]) of the rotation that takes `a` to `b`.
///
/// Uses `atan2(sin, cos)` of the relative rotation, which stays accurate for tiny angles.
pub fn angle_between_rotations(a: &Mat3, b: &Mat3) -> f64 {
    let r = mat_mul(&transpose(a), b);
    let cos = (r[0][0] + r[1][1] + r[2][2] - 1.0) / 2.0;
    let axis = [r[2][1] - r[1][2], r[0][2] - r[2][0], r[1][0] - r[0][1]];
    let sin = norm(axis) / 2.0;
    sin.atan2(cos)
}

/// Wraps an angle into (−π, π].
pub fn wrap_angle(angle_rad: f64) -> f64 {
    let wrapped = angle_rad.rem_euclid(std::f64::consts::TAU);
    if wrapped > std::f64::consts::PI {
        wrapped - std::f64::consts::TAU
    } else {
        wrapped
    }
}

/// A rigid pose: a position (metres) and an orientation (rotation matrix) in some frame.
///
/// For the PSM the frame is the base frame whose origin is the remote centre of motion (RCM).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pose {
    /// Position in metres.
    pub position: Vec3,
    /// Orientation; its columns are the pose's x, y, z axes in the parent frame.
    pub rotation: Mat3,
}

impl Pose {
    pub const IDENTITY: Pose = Pose {
        position: [0.0; 3],
        rotation: IDENTITY,
    };

    /// The position in metres.
    pub fn position_m(&self) -> Vec3 {
        self.position
    }

    /// Euclidean distance between the two positions, in metres.
    pub fn distance_m(&self, other: &Pose) -> f64 {
        norm(sub(self.position, other.position))
    }

    /// Angle of the rotation between the two orientations, in radians (0..=π).
    pub fn angle_to_rad(&self, other: &Pose) -> f64 {
        angle_between_rotations(&self.rotation, &other.rotation)
    }

    /// True when every number in the pose is finite (no NaN, no infinity).
    pub fn is_finite(&self) -> bool {
        self.position.iter().all(|v| v.is_finite())
            && self.rotation.iter().flatten().all(|v| v.is_finite())
    }

    /// The orientation as a unit quaternion.
    pub fn quaternion(&self) -> Quaternion {
        Quaternion::from_rotation(&self.rotation)
    }
}

/// A quaternion `w + xi + yj + zk`; as a rotation it is kept at unit norm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quaternion {
    pub w: f64,
    pub x: f64,
    pub y: f64,
    pub z: f64,
}

impl Quaternion {
    pub const IDENTITY: Quaternion = Quaternion {
        w: 1.0,
        x: 0.0,
        y: 0.0,
        z: 0.0,
    };

    pub fn norm(&self) -> f64 {
        self.dot(self).sqrt()
    }

    pub fn dot(&self, other: &Quaternion) -> f64 {
        self.w * other.w + self.x * other.x + self.y * other.y + self.z * other.z
    }

    /// This quaternion divided by its norm (the identity when the norm is zero or not finite).
    pub fn normalized(&self) -> Quaternion {
        let n = self.norm();
        if n > 0.0 && n.is_finite() {
            self.scaled(1.0 / n)
        } else {
            Quaternion::IDENTITY
        }
    }

    fn scaled(&self, s: f64) -> Quaternion {
        Quaternion {
            w: self.w * s,
            x: self.x * s,
            y: self.y * s,
            z: self.z * s,
        }
    }

    /// The unit quaternion of a rotation matrix (Shepperd's method, numerically stable).
    pub fn from_rotation(m: &Mat3) -> Quaternion {
        let trace = m[0][0] + m[1][1] + m[2][2];
        let q = if trace > 0.0 {
            let s = (trace + 1.0).sqrt() * 2.0;
            Quaternion {
                w: s / 4.0,
                x: (m[2][1] - m[1][2]) / s,
                y: (m[0][2] - m[2][0]) / s,
                z: (m[1][0] - m[0][1]) / s,
            }
        } else if m[0][0] > m[1][1] && m[0][0] > m[2][2] {
            let s = (1.0 + m[0][0] - m[1][1] - m[2][2]).sqrt() * 2.0;
            Quaternion {
                w: (m[2][1] - m[1][2]) / s,
                x: s / 4.0,
                y: (m[0][1] + m[1][0]) / s,
                z: (m[0][2] + m[2][0]) / s,
            }
        } else if m[1][1] > m[2][2] {
            let s = (1.0 + m[1][1] - m[0][0] - m[2][2]).sqrt() * 2.0;
            Quaternion {
                w: (m[0][2] - m[2][0]) / s,
                x: (m[0][1] + m[1][0]) / s,
                y: s / 4.0,
                z: (m[1][2] + m[2][1]) / s,
            }
        } else {
            let s = (1.0 + m[2][2] - m[0][0] - m[1][1]).sqrt() * 2.0;
            Quaternion {
                w: (m[1][0] - m[0][1]) / s,
                x: (m[0][2] + m[2][0]) / s,
                y: (m[1][2] + m[2][1]) / s,
                z: s / 4.0,
            }
        };
        q.normalized()
    }

    /// The rotation matrix of this quaternion (normalised first).
    pub fn to_rotation(&self) -> Mat3 {
        let Quaternion { w, x, y, z } = self.normalized();
        [
            [
                1.0 - 2.0 * (y * y + z * z),
                2.0 * (x * y - w * z),
                2.0 * (x * z + w * y),
            ],
            [
                2.0 * (x * y + w * z),
                1.0 - 2.0 * (x * x + z * z),
                2.0 * (y * z - w * x),
            ],
            [
                2.0 * (x * z - w * y),
                2.0 * (y * z + w * x),
                1.0 - 2.0 * (x * x + y * y),
            ],
        ]
    }

    /// Spherical linear interpolation from `self` (s = 0) to `other` (s = 1) along the shorter arc.
    pub fn slerp(&self, other: &Quaternion, s: f64) -> Quaternion {
        let mut cos = self.dot(other);
        let mut end = *other;
        if cos < 0.0 {
            cos = -cos;
            end = end.scaled(-1.0);
        }
        let (from_weight, to_weight) = if cos > 0.9995 {
            (1.0 - s, s)
        } else {
            let angle = cos.clamp(-1.0, 1.0).acos();
            let sin = angle.sin();
            (((1.0 - s) * angle).sin() / sin, (s * angle).sin() / sin)
        };
        Quaternion {
            w: self.w * from_weight + end.w * to_weight,
            x: self.x * from_weight + end.x * to_weight,
            y: self.y * from_weight + end.y * to_weight,
            z: self.z * from_weight + end.z * to_weight,
        }
        .normalized()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_rotation() -> impl Strategy<Value = Mat3> {
        (-3.0..3.0f64, -1.5..1.5f64, -3.0..3.0f64)
            .prop_map(|(a, b, c)| mat_mul(&mat_mul(&rot_z(a), &rot_y(b)), &rot_x(c)))
    }

    #[test]
    fn angle_between_rotations_measures_a_known_rotation() {
        let angle = angle_between_rotations(&IDENTITY, &rot_y(0.3));
        assert!((angle - 0.3).abs() < 1e-12, "{angle}");
        let tiny = angle_between_rotations(&rot_z(1.0), &rot_z(1.0 + 1e-9));
        assert!((tiny - 1e-9).abs() < 1e-14, "{tiny}");
    }

    #[test]
    fn wrap_angle_maps_into_minus_pi_to_pi() {
        assert!((wrap_angle(3.0 * std::f64::consts::PI) - std::f64::consts::PI).abs() < 1e-12);
        assert!((wrap_angle(-0.5 - std::f64::consts::TAU) + 0.5).abs() < 1e-12);
    }

    proptest! {
        #[test]
        fn quaternion_round_trips_a_rotation(m in any_rotation()) {
            let back = Quaternion::from_rotation(&m).to_rotation();
            prop_assert!(angle_between_rotations(&m, &back) < 1e-9);
        }

        #[test]
        fn slerp_halfway_is_half_the_angle(a in any_rotation(), b in any_rotation()) {
            let (qa, qb) = (Quaternion::from_rotation(&a), Quaternion::from_rotation(&b));
            let mid = qa.slerp(&qb, 0.5).to_rotation();
            let whole = angle_between_rotations(&a, &b);
            prop_assert!((angle_between_rotations(&a, &mid) - whole / 2.0).abs() < 1e-6);
            prop_assert!(angle_between_rotations(&qa.slerp(&qb, 1.0).to_rotation(), &b) < 1e-6);
        }
    }
}
