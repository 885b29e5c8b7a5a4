//! The dVRK-style master-to-PSM mapping at the console (telesurgery.md §3): relative translation
//! `p_psm = p_psm0 + s·(p_mtm − p_mtm0)`, absolute orientation kept through a small
//! `alignment_offset`, an orientation gate at engage, and the clutch.
//!
//! Master poses are expressed in the PSM base frame (the console has already applied its
//! camera/display registration). Positions in metres, angles in radians.

use crate::geometry::{Mat3, Pose, add, mat_mul, scale, sub, transpose};

/// Teleoperation settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TeleopConfig {
    /// Motion scale from master to PSM (dVRK `TeleOperationPSM::Scale`, default 0.2).
    pub scale: f64,
    /// Largest master/PSM orientation error (rad) at engage (dVRK default 5°).
    pub start_orientation_tolerance_rad: f64,
    /// Largest orientation error (rad) when the clutch is released (dVRK: 2°).
    pub clutch_orientation_tolerance_rad: f64,
}

impl Default for TeleopConfig {
    fn default() -> Self {
        TeleopConfig {
            scale: 0.2,
            start_orientation_tolerance_rad: 5f64.to_radians(),
            clutch_orientation_tolerance_rad: 2f64.to_radians(),
        }
    }
}

/// Where the mapping stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeleopState {
    /// Not following; `map` gives nothing.
    Disengaged,
    /// The PSM follows the master.
    Following,
    /// The operator holds the clutch: the master moves freely, the PSM stays.
    Clutched,
}

/// Why an engage or clutch release was refused.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum TeleopError {
    #[error(
        "master and PSM orientations differ by {error_deg:.2}°, more than the {tolerance_deg:.2}° allowed; align the master first"
    )]
    OrientationMisaligned { error_deg: f64, tolerance_deg: f64 },
    #[error("pose has a NaN or infinite value")]
    NonFinitePose,
    #[error("clutch released while not clutched")]
    NotClutched,
}

/// The master-to-PSM mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct TeleopMapper {
    config: TeleopConfig,
    state: TeleopState,
    master_reference: Pose,
    psm_reference: Pose,
    /// `R_master⁻¹·R_psm` at the last engage or clutch release: the residual misalignment.
    alignment_offset: Mat3,
}

impl TeleopMapper {
    pub fn new(config: TeleopConfig) -> TeleopMapper {
        TeleopMapper {
            config,
            state: TeleopState::Disengaged,
            master_reference: Pose::IDENTITY,
            psm_reference: Pose::IDENTITY,
            alignment_offset: crate::geometry::IDENTITY,
        }
    }

    pub fn config(&self) -> &TeleopConfig {
        &self.config
    }

    pub fn state(&self) -> TeleopState {
        self.state
    }

    /// The residual orientation offset kept since the last engage or clutch release.
    pub fn alignment_offset(&self) -> &Mat3 {
        &self.alignment_offset
    }

    /// Starts following: captures `master` and `psm` (the PSM's measured tool tip) as references.
    /// Refused, leaving the state unchanged, if their orientations differ by more than
    /// `start_orientation_tolerance_rad`.
    pub fn engage(&mut self, master: &Pose, psm: &Pose) -> Result<(), TeleopError> {
        self.capture(master, psm, self.config.start_orientation_tolerance_rad)
    }

    /// Stops following.
    pub fn disengage(&mut self) {
        self.state = TeleopState::Disengaged;
    }

    /// Clutch pressed: the PSM stops following until `clutch_release`. Ignored unless following.
    pub fn clutch_press(&mut self) {
        if self.state == TeleopState::Following {
            self.state = TeleopState::Clutched;
        }
    }

    /// Clutch released: references are captured again at the current poses, so the PSM does not
    /// jump by the distance the master travelled while clutched. Refused, staying clutched, if the
    /// orientations differ by more than `clutch_orientation_tolerance_rad`.
    pub fn clutch_release(&mut self, master: &Pose, psm: &Pose) -> Result<(), TeleopError> {
        if self.state != TeleopState::Clutched {
            return Err(TeleopError::NotClutched);
        }
        self.capture(master, psm, self.config.clutch_orientation_tolerance_rad)
    }

    fn capture(
        &mut self,
        master: &Pose,
        psm: &Pose,
        tolerance_rad: f64,
    ) -> Result<(), TeleopError> {
        if !(master.is_finite() && psm.is_finite()) {
            return Err(TeleopError::NonFinitePose);
        }
        let error_rad = master.angle_to_rad(psm);
        if error_rad > tolerance_rad {
            return Err(TeleopError::OrientationMisaligned {
                error_deg: error_rad.to_degrees(),
                tolerance_deg: tolerance_rad.to_degrees(),
            });
        }
        self.master_reference = *master;
        self.psm_reference = *psm;
        self.alignment_offset = mat_mul(&transpose(&master.rotation), &psm.rotation);
        self.state = TeleopState::Following;
        Ok(())
    }

    /// The PSM tool-tip target for the master pose `master`; `None` unless following or if the
    /// master pose is not finite.
    pub fn map(&self, master: &Pose) -> Option<Pose> {
        if self.state != TeleopState::Following || !master.is_finite() {
            return None;
        }
        let master_motion = sub(master.position, self.master_reference.position);
        Some(Pose {
            position: add(
                self.psm_reference.position,
                scale(master_motion, self.config.scale),
            ),
            rotation: mat_mul(&master.rotation, &self.alignment_offset),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{angle_between_rotations, rot_x, rot_z};

    fn pose(position: [f64; 3], rotation: Mat3) -> Pose {
        Pose { position, rotation }
    }

    fn engaged(master: &Pose, psm: &Pose) -> TeleopMapper {
        let mut mapper = TeleopMapper::new(TeleopConfig::default());
        assert_eq!(mapper.engage(master, psm), Ok(()));
        mapper
    }

    fn assert_position(actual: Option<Pose>, expected: [f64; 3]) {
        let Some(actual) = actual else {
            panic!("no target");
        };
        let error = crate::geometry::norm(sub(actual.position, expected));
        assert!(error < 1e-12, "{:?} != {expected:?}", actual.position);
    }

    #[test]
    fn master_motion_is_scaled_by_a_fifth_and_relative_to_the_references() {
        let master0 = pose([0.3, -0.1, 0.2], rot_z(0.4));
        let psm0 = pose([0.0, 0.0, -0.1], rot_z(0.4));
        let mapper = engaged(&master0, &psm0);
        assert_position(mapper.map(&master0), [0.0, 0.0, -0.1]);
        let moved = pose([0.35, -0.1, 0.18], rot_z(0.4));
        assert_position(mapper.map(&moved), [0.01, 0.0, -0.104]);
    }

    #[test]
    fn nothing_is_mapped_before_engage_or_while_clutched() {
        let master = pose([0.0; 3], rot_z(0.0));
        let mut mapper = TeleopMapper::new(TeleopConfig::default());
        assert_eq!(mapper.map(&master), None);
        mapper.engage(&master, &master).unwrap();
        mapper.clutch_press();
        assert_eq!(mapper.state(), TeleopState::Clutched);
        assert_eq!(mapper.map(&master), None);
        mapper.disengage();
        assert_eq!(mapper.map(&master), None);
        assert_eq!(
            mapper.clutch_release(&master, &master),
            Err(TeleopError::NotClutched)
        );
    }

    #[test]
    fn re_centring_the_master_during_a_clutch_does_not_move_the_psm() {
        let psm0 = pose([0.0, 0.0, -0.1], rot_x(3.0));
        let mut mapper = engaged(&pose([0.0; 3], rot_x(3.0)), &psm0);
        let far = pose([0.1, 0.0, 0.0], rot_x(3.0));
        let psm_at_clutch = mapper.map(&far).unwrap();
        assert_position(Some(psm_at_clutch), [0.02, 0.0, -0.1]);
        mapper.clutch_press();
        let recentred = pose([-0.05, 0.02, 0.0], rot_x(3.0));
        mapper.clutch_release(&recentred, &psm_at_clutch).unwrap();
        assert_position(mapper.map(&recentred), [0.02, 0.0, -0.1]);
        let onwards = pose([-0.04, 0.02, 0.0], rot_x(3.0));
        assert_position(mapper.map(&onwards), [0.022, 0.0, -0.1]);
    }

    #[test]
    fn engage_is_refused_beyond_five_degrees_and_release_beyond_two() {
        let psm = pose([0.0; 3], rot_z(0.0));
        let mut mapper = TeleopMapper::new(TeleopConfig::default());
        let six_degrees = pose([0.0; 3], rot_z(6f64.to_radians()));
        assert!(matches!(
            mapper.engage(&six_degrees, &psm),
            Err(TeleopError::OrientationMisaligned { .. })
        ));
        assert_eq!(mapper.state(), TeleopState::Disengaged);
        let four_degrees = pose([0.0; 3], rot_z(4f64.to_radians()));
        mapper.engage(&four_degrees, &psm).unwrap();
        mapper.clutch_press();
        let three_degrees = pose([0.0; 3], rot_z(3f64.to_radians()));
        assert!(mapper.clutch_release(&three_degrees, &psm).is_err());
        assert_eq!(mapper.state(), TeleopState::Clutched);
        let one_degree = pose([0.0; 3], rot_z(1f64.to_radians()));
        assert_eq!(mapper.clutch_release(&one_degree, &psm), Ok(()));
    }

    #[test]
    fn orientation_is_absolute_with_the_small_alignment_offset_kept() {
        let psm0 = pose([0.0, 0.0, -0.1], rot_z(0.5));
        let master0 = pose([0.0; 3], rot_z(0.5 + 3f64.to_radians()));
        let mapper = engaged(&master0, &psm0);
        let offset_angle =
            angle_between_rotations(&crate::geometry::IDENTITY, mapper.alignment_offset());
        assert!((offset_angle - 3f64.to_radians()).abs() < 1e-12);
        // The PSM starts where it is, then turns with the master, 1:1 (orientation is not scaled).
        let start = mapper.map(&master0).unwrap();
        assert!(angle_between_rotations(&start.rotation, &psm0.rotation) < 1e-12);
        let turned = pose([0.0; 3], mat_mul(&master0.rotation, &rot_x(0.3)));
        let target = mapper.map(&turned).unwrap();
        assert!((angle_between_rotations(&target.rotation, &psm0.rotation) - 0.3).abs() < 1e-9);
    }

    proptest::proptest! {
        /// Over any master path with clutch presses and releases anywhere, the PSM target moves
        /// by exactly 0.2 × the master's motion while following and never jumps at a release.
        #[test]
        fn the_psm_target_is_continuous_across_any_clutch_sequence(
            steps in proptest::collection::vec(
                (proptest::array::uniform3(-0.005..0.005f64), proptest::bool::weighted(0.1)),
                1..200,
            ),
        ) {
            let rotation = rot_x(3.0);
            let mut master = pose([0.01, -0.02, 0.03], rotation);
            let mut psm = pose([0.0, 0.0, -0.1], rotation);
            let mut mapper = engaged(&master, &psm);
            for (delta, toggle_clutch) in steps {
                if toggle_clutch {
                    match mapper.state() {
                        TeleopState::Following => mapper.clutch_press(),
                        _ => proptest::prop_assert_eq!(mapper.clutch_release(&master, &psm), Ok(())),
                    }
                }
                let previous_master = master.position;
                master.position = add(master.position, delta);
                let Some(target) = mapper.map(&master) else {
                    proptest::prop_assert_eq!(mapper.state(), TeleopState::Clutched);
                    continue;
                };
                let expected = add(psm.position, scale(sub(master.position, previous_master), 0.2));
                proptest::prop_assert!(crate::geometry::norm(sub(target.position, expected)) < 1e-12);
                psm = target;
            }
        }
    }

    #[test]
    fn non_finite_master_poses_are_not_mapped() {
        let master = pose([0.0; 3], rot_z(0.0));
        let mapper = engaged(&master, &master);
        assert_eq!(mapper.map(&pose([f64::NAN, 0.0, 0.0], rot_z(0.0))), None);
    }
}
