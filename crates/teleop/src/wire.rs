//! Conversions between the arm's poses and their wire form (position + unit quaternion x, y, z, w).

use proto::WirePose;
use robot::{Pose, Quaternion};

pub fn pose_to_wire(pose: &Pose) -> WirePose {
    let q = Quaternion::from_rotation(&pose.rotation);
    WirePose {
        position_m: pose.position,
        quaternion_xyzw: [q.x, q.y, q.z, q.w],
    }
}

/// The quaternion is normalised on the way in; a zero quaternion gives `None`.
pub fn pose_from_wire(wire: &WirePose) -> Option<Pose> {
    let [x, y, z, w] = wire.quaternion_xyzw;
    let q = Quaternion { w, x, y, z };
    let norm = q.norm();
    if !norm.is_finite() || norm <= 1e-9 {
        return None;
    }
    Some(Pose {
        position: wire.position_m,
        rotation: q.to_rotation(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poses_survive_the_wire() {
        let psm = robot::Psm::dvrk_classic();
        let pose = psm.forward(&[0.3, -0.2, 0.12, 0.5, 0.2, -0.3]);
        let back = pose_from_wire(&pose_to_wire(&pose)).unwrap();
        assert!(back.distance_m(&pose) < 1e-12);
        assert!(back.angle_to_rad(&pose) < 1e-9);
    }

    #[test]
    fn a_zero_quaternion_is_refused() {
        assert!(pose_from_wire(&WirePose::default()).is_none());
    }
}
