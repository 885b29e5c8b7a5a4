//! The fused update of one plane: conservative 7-point diffusion, perfusion, and the CEM43 dose (and,
//! when enabled, Arrhenius damage) at the step's midpoint temperature, in one vectorisable loop.

use super::{Around, BioheatModel, Fields};
use crate::dose::ArrheniusRule;

impl BioheatModel {
    /// Updates every interior voxel of plane `z` from `t` into `out` (whole-plane fields). One run goes
    /// from (1, 1) to (nx − 2, ny − 2), so the vector loop has a single remainder per plane instead of
    /// one per row; it also passes over the x faces between rows, whose gains are zero (their
    /// temperature stays exactly what it was) and whose dose and damage are put back.
    pub(super) fn update_plane(&self, t: &Around, z: usize, mut out: Fields) {
        let [nx, ny, _] = self.grid.dims;
        let (start, end) = (nx + 1, (ny - 1) * nx - 1);
        let faces = (1..ny - 2).flat_map(|y| [y * nx + nx - 1, (y + 1) * nx]);
        let kept: Vec<(usize, f32, f32)> = faces
            .map(|i| (i, out.dose[i], out.damage.get(i).copied().unwrap_or(0.0)))
            .collect();
        self.update_run(t, z, start, out.row(start, end - start));
        for (i, dose, damage) in kept {
            out.dose[i] = dose;
            if let Some(d) = out.damage.get_mut(i) {
                *d = damage;
            }
        }
    }

    /// Updates the run of voxels that starts at in-plane index `start` of plane `z`, compiled for
    /// AVX2 when the CPU has it (the same loop; wider vectors halve its instruction count).
    fn update_run(&self, t: &Around, z: usize, start: usize, out: Fields) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            unsafe {
                match self.damage {
                    Some(damage) => self.update_run_avx2::<true>(t, z, start, out, damage),
                    None => self.update_run_avx2::<false>(t, z, start, out, ArrheniusRule::INERT),
                }
            };
            return;
        }
        match self.damage {
            Some(damage) => self.update_run_portable::<true>(t, z, start, out, damage),
            None => self.update_run_portable::<false>(t, z, start, out, ArrheniusRule::INERT),
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn update_run_avx2<const DAMAGE: bool>(
        &self,
        t: &Around,
        z: usize,
        start: usize,
        out: Fields,
        damage: ArrheniusRule,
    ) {
        self.update_run_portable::<DAMAGE>(t, z, start, out, damage);
    }

    #[inline(always)]
    fn update_run_portable<const DAMAGE: bool>(
        &self,
        t: &Around,
        z: usize,
        start: usize,
        out: Fields,
        damage_rule: ArrheniusRule,
    ) {
        let n = out.temperature.len();
        let dose = &mut out.dose[..n];
        let [nx, ny, _] = self.grid.dims;
        let (row, plane) = (nx as isize, (nx * ny) as isize);
        // Linear index of the run's first voxel in the grid, and in its plane.
        let c = z * nx * ny + start;
        let p = start;
        let at = |from: usize, offset: isize| -> std::ops::Range<usize> {
            let from = from.wrapping_add_signed(offset);
            from..from + n
        };
        let k = &self.conductivity;
        let (kc, kw, ke, ks, kn, kd, ku) = (
            &k[at(c, 0)],
            &k[at(c, -1)],
            &k[at(c, 1)],
            &k[at(c, -row)],
            &k[at(c, row)],
            &k[at(c, -plane)],
            &k[at(c, plane)],
        );
        let (tc, tw, te, ts, tn, td, tu) = (
            &t.centre[at(p, 0)],
            &t.centre[at(p, -1)],
            &t.centre[at(p, 1)],
            &t.centre[at(p, -row)],
            &t.centre[at(p, row)],
            &t.below[at(p, 0)],
            &t.above[at(p, 0)],
        );
        let gain = &self.diffusion_gain[c..c + n];
        let perfusion = &self.perfusion_gain[c..c + n];
        let damage = if DAMAGE {
            &mut out.damage[..n]
        } else {
            &mut []
        };
        let (body, dt, rule) = (self.body_c, self.dt_s, self.rule);
        for i in 0..n {
            let (centre, k) = (tc[i], kc[i]);
            let flux = (k + kw[i]) * (tw[i] - centre)
                + (k + ke[i]) * (te[i] - centre)
                + (k + ks[i]) * (ts[i] - centre)
                + (k + kn[i]) * (tn[i] - centre)
                + (k + kd[i]) * (td[i] - centre)
                + (k + ku[i]) * (tu[i] - centre);
            let next = centre + gain[i] * flux - perfusion[i] * (centre - body);
            out.temperature[i] = next;
            let midpoint = 0.5 * (centre + next);
            dose[i] += dt * rule.minutes_per_second(midpoint);
            if DAMAGE {
                damage[i] += dt * damage_rule.damage_per_second(midpoint);
            }
        }
    }
}
