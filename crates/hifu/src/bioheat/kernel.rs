//! The fused update of one x-row: conservative 7-point diffusion, perfusion, and the CEM43 dose (and,
//! when enabled, Arrhenius damage) at the step's midpoint temperature, in one vectorisable loop.

use super::{Around, BioheatModel, Fields};
use crate::dose::ArrheniusRule;

impl BioheatModel {
    /// Updates the interior voxels of row `y` of plane `z` (x = 1 .. nx − 1) from `t` into `out`,
    /// compiled for AVX2 when the CPU has it (the same loop; wider vectors halve its instruction count).
    pub(super) fn update_row(&self, t: &Around, z: usize, y: usize, out: Fields) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            unsafe {
                match self.damage {
                    Some(damage) => self.update_row_avx2::<true>(t, z, y, out, damage),
                    None => self.update_row_avx2::<false>(t, z, y, out, ArrheniusRule::INERT),
                }
            };
            return;
        }
        match self.damage {
            Some(damage) => self.update_row_portable::<true>(t, z, y, out, damage),
            None => self.update_row_portable::<false>(t, z, y, out, ArrheniusRule::INERT),
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn update_row_avx2<const DAMAGE: bool>(
        &self,
        t: &Around,
        z: usize,
        y: usize,
        out: Fields,
        damage: ArrheniusRule,
    ) {
        self.update_row_portable::<DAMAGE>(t, z, y, out, damage);
    }

    #[inline(always)]
    fn update_row_portable<const DAMAGE: bool>(
        &self,
        t: &Around,
        z: usize,
        y: usize,
        out: Fields,
        damage_rule: ArrheniusRule,
    ) {
        let n = out.temperature.len();
        let dose = &mut out.dose[..n];
        let [nx, ny, _] = self.grid.dims;
        let (row, plane) = (nx as isize, (nx * ny) as isize);
        // Linear index of the row's first updated voxel in the grid, and in its plane.
        let c = z * nx * ny + y * nx + 1;
        let p = y * nx + 1;
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
