//! The fused update of one plane: conservative 7-point diffusion, perfusion, and the CEM43 dose (and,
//! when enabled, Arrhenius damage) at the step's midpoint temperature, in one vectorisable loop.

use super::{Around, BioheatModel, Fields};
use crate::dose::{ArrheniusRule, mul_add};
use std::ops::Range;

/// What a run update needs: the temperature planes, the plane, the run's first in-plane index, the
/// output fields and the Arrhenius law.
type RunArgs<'a, 'b> = (&'a Around<'a>, usize, usize, Fields<'b>, ArrheniusRule);

/// The instruction sets the update loop is compiled for.
#[derive(Clone, Copy)]
enum Isa {
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Avx512Fma,
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Avx2Fma,
    Portable,
}

impl Isa {
    /// The widest of them this CPU runs.
    fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx512f") && has!("fma") {
                return Isa::Avx512Fma;
            }
            if has!("avx2") && has!("fma") {
                return Isa::Avx2Fma;
            }
        }
        Isa::Portable
    }
}

/// A loop to compile for the widest instruction set this CPU has: its `run` (inline always) is
/// inlined into a function compiled for that set, so the loops inside get wider vectors.
pub(super) trait WideLoop {
    fn run(self);
}

/// Runs `work` compiled for the widest instruction set this CPU has.
#[inline(always)]
pub(super) fn on_widest_isa(work: impl WideLoop) {
    match Isa::detect() {
        // SAFETY (both): `Isa::detect` found the features these functions are compiled for.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512Fma => unsafe { on_avx512(work) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe { on_avx2(work) },
        _ => work.run(),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn on_avx512(work: impl WideLoop) {
    work.run()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn on_avx2(work: impl WideLoop) {
    work.run()
}

impl BioheatModel {
    /// Updates every interior voxel of plane `z` from `t` into `out` (whole-plane fields).
    pub(super) fn update_plane(&self, t: &Around, z: usize, out: Fields) {
        self.update_rows(t, z, 1..self.grid.dims[1] - 1, out);
    }

    /// Updates the interior voxels of rows `rows` (all interior: 1 ≤ y < ny − 1) of plane `z` from `t`
    /// into `out` (whole-plane fields). One run goes from (1, first row) to (nx − 2, last row), so the
    /// vector loop has a single remainder instead of one per row; it also passes over the x faces
    /// between rows, whose gains are zero (their temperature stays exactly what it was) and whose dose
    /// and damage are put back.
    pub(super) fn update_rows(&self, t: &Around, z: usize, rows: Range<usize>, mut out: Fields) {
        if rows.is_empty() {
            return;
        }
        let nx = self.grid.dims[0];
        let (start, end) = (rows.start * nx + 1, (rows.end - 1) * nx + nx - 1);
        let faces = (rows.start..rows.end - 1).flat_map(|y| [y * nx + nx - 1, (y + 1) * nx]);
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

    /// Updates the run of voxels that starts at in-plane index `start` of plane `z`: the same loop,
    /// compiled for AVX-512 with FMA, or AVX2 with FMA, when the CPU has them (wider vectors and fused
    /// multiply-adds cut its instruction count; fused rounding differs from the portable loop's in the
    /// last bits, and every step of a run takes the same path, so pairs stay bit-identical to singles).
    fn update_run(&self, t: &Around, z: usize, start: usize, out: Fields) {
        let rule = self.damage.unwrap_or(ArrheniusRule::INERT);
        let args = (t, z, start, out, rule);
        match (Isa::detect(), self.damage.is_some()) {
            // SAFETY (all four): `Isa::detect` found the features these functions are compiled for.
            #[cfg(target_arch = "x86_64")]
            (Isa::Avx512Fma, true) => unsafe { self.update_run_avx512::<true>(args) },
            #[cfg(target_arch = "x86_64")]
            (Isa::Avx512Fma, false) => unsafe { self.update_run_avx512::<false>(args) },
            #[cfg(target_arch = "x86_64")]
            (Isa::Avx2Fma, true) => unsafe { self.update_run_avx2::<true>(args) },
            #[cfg(target_arch = "x86_64")]
            (Isa::Avx2Fma, false) => unsafe { self.update_run_avx2::<false>(args) },
            (_, true) => self.update_run_portable::<true, false>(args),
            (_, false) => self.update_run_portable::<false, false>(args),
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,fma")]
    fn update_run_avx512<const DAMAGE: bool>(&self, args: RunArgs) {
        self.update_run_portable::<DAMAGE, true>(args);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn update_run_avx2<const DAMAGE: bool>(&self, args: RunArgs) {
        self.update_run_portable::<DAMAGE, true>(args);
    }

    #[inline(always)]
    fn update_run_portable<const DAMAGE: bool, const FUSED: bool>(&self, args: RunArgs) {
        let (t, z, start, out, damage_rule) = args;
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
            let face = |k_next: f32, t_next: f32, flux: f32| {
                mul_add::<FUSED>(k + k_next, t_next - centre, flux)
            };
            let flux = (k + kw[i]) * (tw[i] - centre);
            let flux = face(ke[i], te[i], flux);
            let flux = face(ks[i], ts[i], flux);
            let flux = face(kn[i], tn[i], flux);
            let flux = face(kd[i], td[i], flux);
            let flux = face(ku[i], tu[i], flux);
            let cooled = mul_add::<FUSED>(-perfusion[i], centre - body, centre);
            let next = mul_add::<FUSED>(gain[i], flux, cooled);
            out.temperature[i] = next;
            let midpoint = 0.5 * (centre + next);
            dose[i] =
                mul_add::<FUSED>(dt, rule.minutes_per_second_with::<FUSED>(midpoint), dose[i]);
            if DAMAGE {
                let rate = damage_rule.damage_per_second_with::<FUSED>(midpoint);
                damage[i] = mul_add::<FUSED>(dt, rate, damage[i]);
            }
        }
    }
}

#[cfg(test)]
mod tests;
