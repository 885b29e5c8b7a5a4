//! Douglas–Gunn ADI for the Pennes equation: Crank–Nicolson factored by axis,
//! (I − ½dt·A_x)(I − ½dt·A_y)(I − ½dt·A_z)·ΔT = dt·(A·Tⁿ + S), Tⁿ⁺¹ = Tⁿ + ΔT, where A_axis is the
//! conservative 3-point diffusion along that axis plus a third of the perfusion sink and S the beam's
//! heat. Stable for any step, second order in space and time. For a fixed step the three tridiagonal
//! systems are fixed, so their LU factors are computed once; a step is then one pass over the planes
//! (right-hand side, x and y solves, each plane in cache) and one over blocks of rows through all
//! planes (the z forward elimination, then the back substitution fused with the temperature update
//! and the dose over the step).

use super::kernel::{WideLoop, on_widest_isa};
use super::{BioheatModel, BioheatState};
use crate::dose::{ArrheniusRule, Cem43Rule};
use rayon::prelude::*;

/// Crank–Nicolson weight of the new time level.
const THETA: f32 = 0.5;

/// Rows solved together along x: independent recurrences side by side keep the core busy.
const ROWS_TOGETHER: usize = 16;

/// Voxels of a plane per task in the z sweeps.
const CELLS_PER_TASK: usize = 4096;

/// LU factors of one axis's tridiagonal system, one entry per voxel (identity rows at fixed voxels):
/// forward d_i ← (d_i + lower_i·d_previous)·pivot_i, back x_i ← d_i + upper_i·x_next.
struct AxisFactors {
    lower: Vec<f32>,
    pivot: Vec<f32>,
    upper: Vec<f32>,
}

/// The factors of the x, y and z systems.
pub(super) struct Factors {
    axes: [AxisFactors; 3],
}

impl Factors {
    pub fn new(model: &BioheatModel) -> Factors {
        let [nx, ny, _] = model.grid.dims;
        Factors {
            axes: [1, nx, nx * ny].map(|stride| AxisFactors::new(model, stride)),
        }
    }
}

impl AxisFactors {
    /// The lower, pivot and upper factors of the voxels `span`.
    fn over(&self, span: std::ops::Range<usize>) -> [&[f32]; 3] {
        [&self.lower, &self.pivot, &self.upper].map(|f| &f[span.clone()])
    }

    /// Thomas factorisation along the axis whose neighbours lie `stride` voxels apart, in index
    /// order (the previous voxel along any axis comes first).
    fn new(model: &BioheatModel, stride: usize) -> AxisFactors {
        let cells = model.grid.cell_count();
        let k = &model.conductivity;
        let mut factors = AxisFactors {
            lower: vec![0.0; cells],
            pivot: vec![1.0; cells],
            upper: vec![0.0; cells],
        };
        for i in 0..cells {
            // Fixed voxels (faces, water) keep identity rows; free ones are never on a face.
            if !model.is_free(i) {
                continue;
            }
            let gain = f64::from(THETA * model.diffusion_gain[i]);
            let (previous, next) = (i - stride, i + stride);
            let lower = gain * f64::from(k[i] + k[previous]);
            let upper = gain * f64::from(k[i] + k[next]);
            let diagonal = 1.0 + lower + upper + f64::from(THETA * model.perfusion_gain[i]) / 3.0;
            let pivot = 1.0 / (diagonal - lower * f64::from(factors.upper[previous]));
            factors.lower[i] = lower as f32;
            factors.pivot[i] = pivot as f32;
            factors.upper[i] = (upper * pivot) as f32;
        }
        factors
    }
}

impl BioheatModel {
    /// One ADI step of `state`, the pending heat spread over it; allocates nothing.
    pub(super) fn adi_step(&self, factors: &Factors, state: &mut BioheatState) {
        let [nx, ny, _] = self.grid.dims;
        let plane = nx * ny;
        let heat = state.pending_heat.get_or_insert_with(Vec::new);
        if !heat.is_sorted_by_key(|h| h.0) {
            heat.sort_unstable_by_key(|h| h.0);
        }
        let (t, delta) = (&state.temperature, &mut state.scratch);
        let [fx, fy, fz] = &factors.axes;
        delta.par_chunks_mut(plane).enumerate().for_each(|(z, d)| {
            on_widest_isa(PlaneSolve {
                model: self,
                factors: [fx, fy],
                t,
                heat,
                z,
                d,
            })
        });
        let end = StepEnd {
            dt: self.dt_s,
            rule: self.rule,
            damage_rule: self.damage,
        };
        // The z systems, one task per block of rows through all the planes (one dispatch a step:
        // on a busy machine every dispatch can wait for a descheduled thread).
        let rows_per_block = (CELLS_PER_TASK / nx).max(1);
        let fields = SharedFields {
            delta: delta.as_mut_ptr(),
            temperature: state.temperature.as_mut_ptr(),
            dose: state.dose.as_mut_ptr(),
            damage: state
                .damage
                .as_mut()
                .map_or(std::ptr::null_mut(), |d| d.as_mut_ptr()),
        };
        (0..ny.div_ceil(rows_per_block))
            .into_par_iter()
            .for_each(|block| {
                let rows = block * rows_per_block..((block + 1) * rows_per_block).min(ny);
                on_widest_isa(ColumnSolve {
                    model: self,
                    factors: fz,
                    end: &end,
                    fields: &fields,
                    columns: rows.start * nx..rows.end * nx,
                })
            });
        let heat = state.pending_heat.get_or_insert_with(Vec::new);
        heat.clear();
        state.time_s += f64::from(self.dt_s);
    }

    /// Plane `z` of the increment: right-hand side with the pending heat (free voxels only), then
    /// the x and y solves.
    #[inline(always)]
    fn adi_plane(
        &self,
        [fx, fy]: [&AxisFactors; 2],
        t: &[f32],
        heat: &[(u32, f32)],
        z: usize,
        d: &mut [f32],
    ) {
        let [nx, ny, nz] = self.grid.dims;
        let plane = nx * ny;
        if z == 0 || z == nz - 1 {
            d.fill(0.0);
            return;
        }
        self.right_hand_side(t, z, d);
        let base = z * plane;
        let from = heat.partition_point(|h| (h.0 as usize) < base);
        let to = heat.partition_point(|h| (h.0 as usize) < base + plane);
        for &(index, kelvin) in &heat[from..to] {
            if self.is_free(index as usize) {
                d[index as usize - base] += kelvin;
            }
        }
        let span = base..base + plane;
        solve_rows(fx, span.clone(), d, nx);
        solve_columns(fy, span, d, nx);
    }

    /// dt·(A·Tⁿ) on the plane `z` (interior voxels; zero on the faces and at fixed voxels).
    #[inline(always)]
    fn right_hand_side(&self, t: &[f32], z: usize, out: &mut [f32]) {
        let [nx, ny, _] = self.grid.dims;
        let plane = nx * ny;
        let n = nx - 2;
        let k = &self.conductivity;
        for y in 1..ny - 1 {
            let c = z * plane + y * nx + 1;
            let at = |offset: isize| -> std::ops::Range<usize> {
                let from = c.wrapping_add_signed(offset);
                from..from + n
            };
            let offsets = [
                0,
                -1,
                1,
                -(nx as isize),
                nx as isize,
                -(plane as isize),
                plane as isize,
            ];
            let [tc, tw, te, ts, tn, td, tu] = offsets.map(|o| &t[at(o)]);
            let [kc, kw, ke, ks, kn, kd, ku] = offsets.map(|o| &k[at(o)]);
            let gain = &self.diffusion_gain[at(0)];
            let perfusion = &self.perfusion_gain[at(0)];
            let body = self.body_c;
            let out_row = &mut out[y * nx..(y + 1) * nx];
            out_row[0] = 0.0;
            out_row[nx - 1] = 0.0;
            for (i, r) in out_row[1..nx - 1].iter_mut().enumerate() {
                let (centre, k) = (tc[i], kc[i]);
                let flux = (k + kw[i]) * (tw[i] - centre)
                    + (k + ke[i]) * (te[i] - centre)
                    + (k + ks[i]) * (ts[i] - centre)
                    + (k + kn[i]) * (tn[i] - centre)
                    + (k + kd[i]) * (td[i] - centre)
                    + (k + ku[i]) * (tu[i] - centre);
                *r = gain[i] * flux - perfusion[i] * (centre - body);
            }
        }
        out[..nx].fill(0.0);
        out[(ny - 1) * nx..].fill(0.0);
    }
}

/// Solves the x systems of every row of a plane (`span`: its voxels) in place, several rows at once.
#[inline(always)]
fn solve_rows(f: &AxisFactors, span: std::ops::Range<usize>, d: &mut [f32], nx: usize) {
    let [lower, pivot, upper] = f.over(span);
    let ny = d.len() / nx;
    let mut first = 1;
    while first + ROWS_TOGETHER < ny {
        solve_row_group::<ROWS_TOGETHER>([lower, pivot, upper], d, first, nx);
        first += ROWS_TOGETHER;
    }
    for row in first..ny - 1 {
        solve_row_group::<1>([lower, pivot, upper], d, row, nx);
    }
}

/// Solves the x systems of the `R` rows from `first`, side by side, the value just solved in each
/// row carried in a register rather than reloaded.
#[inline(always)]
fn solve_row_group<const R: usize>(
    [lower, pivot, upper]: [&[f32]; 3],
    d: &mut [f32],
    first: usize,
    nx: usize,
) {
    let mut carried = [0f32; R];
    for x in 1..nx {
        for (r, carry) in carried.iter_mut().enumerate() {
            let j = (first + r) * nx + x;
            *carry = (d[j] + lower[j] * *carry) * pivot[j];
            d[j] = *carry;
        }
    }
    carried = [0f32; R];
    for x in (0..nx - 1).rev() {
        for (r, carry) in carried.iter_mut().enumerate() {
            let j = (first + r) * nx + x;
            *carry = d[j] + upper[j] * *carry;
            d[j] = *carry;
        }
    }
}

/// Solves the y systems of a plane (`span`: its voxels) in place, a whole row of columns at a time.
#[inline(always)]
fn solve_columns(f: &AxisFactors, span: std::ops::Range<usize>, d: &mut [f32], nx: usize) {
    let [lower, pivot, upper] = f.over(span);
    let ny = d.len() / nx;
    for y in 1..ny {
        let (done, rest) = d.split_at_mut(y * nx);
        let (previous, current) = (&done[(y - 1) * nx..], &mut rest[..nx]);
        let row = y * nx..(y + 1) * nx;
        let (l, v) = (&lower[row.clone()], &pivot[row]);
        for x in 0..nx {
            current[x] = (current[x] + l[x] * previous[x]) * v[x];
        }
    }
    for y in (0..ny - 1).rev() {
        let (head, tail) = d.split_at_mut((y + 1) * nx);
        let (current, next) = (&mut head[y * nx..], &tail[..nx]);
        let u = &upper[y * nx..(y + 1) * nx];
        for x in 0..nx {
            current[x] += u[x] * next[x];
        }
    }
}

/// The plane pass of one plane, as a loop for the widest instruction set.
struct PlaneSolve<'a> {
    model: &'a BioheatModel,
    factors: [&'a AxisFactors; 2],
    t: &'a [f32],
    heat: &'a [(u32, f32)],
    z: usize,
    d: &'a mut [f32],
}

impl WideLoop for PlaneSolve<'_> {
    #[inline(always)]
    fn run(self) {
        self.model
            .adi_plane(self.factors, self.t, self.heat, self.z, self.d);
    }
}

/// The fields the z solves write, shared by tasks that each own a block of rows of every plane.
struct SharedFields {
    delta: *mut f32,
    temperature: *mut f32,
    dose: *mut f32,
    /// Null when Ω is not tracked.
    damage: *mut f32,
}

// SAFETY: the tasks holding a `SharedFields` write disjoint voxels (see `ColumnSolve::run`), and
// the fields outlive the parallel loop that holds it.
unsafe impl Sync for SharedFields {}

/// The z solves of the columns at in-plane indices `columns`, through every plane, with the end of
/// the step (temperature, dose, Ω) of their interior voxels.
struct ColumnSolve<'a> {
    model: &'a BioheatModel,
    factors: &'a AxisFactors,
    end: &'a StepEnd,
    fields: &'a SharedFields,
    columns: std::ops::Range<usize>,
}

impl ColumnSolve<'_> {
    /// The run of `field` at plane `z` over this task's columns.
    ///
    /// # Safety
    /// `field` points to a live field of the grid's size that no other task reads or writes within
    /// these columns, and no other run of it at this plane is alive.
    #[allow(clippy::mut_from_ref)]
    unsafe fn run_of(&self, field: *mut f32, z: usize) -> &mut [f32] {
        let [nx, ny, _] = self.model.grid.dims;
        let start = z * nx * ny + self.columns.start;
        // SAFETY: in bounds (columns lie in a plane, z in the grid) and owned by this task.
        unsafe { std::slice::from_raw_parts_mut(field.add(start), self.columns.len()) }
    }
}

impl WideLoop for ColumnSolve<'_> {
    #[inline(always)]
    fn run(self) {
        let [nx, ny, nz] = self.model.grid.dims;
        let plane = nx * ny;
        let f = self.fields;
        let factors = |z: usize| {
            self.factors
                .over(z * plane + self.columns.start..z * plane + self.columns.end)
        };
        // SAFETY (every `run_of` below): each task owns the voxels of its own columns in every
        // plane, and at most two runs of `delta` (different planes) and one of each other field
        // are alive at a time.
        let mut previous = unsafe { self.run_of(f.delta, 0) };
        for z in 1..nz {
            let d = unsafe { self.run_of(f.delta, z) };
            let [lower, pivot, _] = factors(z);
            for i in 0..d.len() {
                d[i] = (d[i] + lower[i] * previous[i]) * pivot[i];
            }
            previous = d;
        }
        let mut next = previous;
        for z in (1..nz - 1).rev() {
            let d = unsafe { self.run_of(f.delta, z) };
            let [_, _, upper] = factors(z);
            for i in 0..d.len() {
                d[i] += upper[i] * next[i];
            }
            let t = unsafe { self.run_of(f.temperature, z) };
            let dose = unsafe { self.run_of(f.dose, z) };
            let damage = if f.damage.is_null() {
                &mut [][..]
            } else {
                unsafe { self.run_of(f.damage, z) }
            };
            let first_row = self.columns.start / nx;
            for (r, y) in (first_row..first_row + d.len() / nx).enumerate() {
                if y == 0 || y == ny - 1 {
                    continue;
                }
                let row = r * nx + 1..(r + 1) * nx - 1;
                let omega = if damage.is_empty() {
                    &mut damage[..]
                } else {
                    &mut damage[row.clone()]
                };
                self.end.advance(
                    &mut t[row.clone()],
                    &d[row.clone()],
                    &mut dose[row.clone()],
                    omega,
                );
            }
            next = d;
        }
    }
}

/// What the end of a step needs besides the fields: its length and the dose laws.
struct StepEnd {
    dt: f32,
    rule: Cem43Rule,
    damage_rule: Option<ArrheniusRule>,
}

impl StepEnd {
    /// Adds the increment to the temperatures and the dose (and Ω) over the step, the temperature
    /// taken linear in time from the old value to the new.
    #[inline(always)]
    fn advance(&self, t: &mut [f32], delta: &[f32], dose: &mut [f32], damage: &mut [f32]) {
        for i in 0..t.len() {
            let (before, after) = (t[i], t[i] + delta[i]);
            t[i] = after;
            dose[i] += self.dt * mean_cem43_rate(self.rule, before, after);
        }
        if let Some(rule) = self.damage_rule {
            for i in 0..damage.len() {
                let after = t[i];
                let before = after - delta[i];
                let rates = (
                    rule.damage_per_second(before),
                    rule.damage_per_second(after),
                );
                damage[i] += self.dt * log_mean(rates.0, rates.1);
            }
        }
    }
}

/// CEM43 minutes per second averaged over a step whose temperature goes linearly from `t0` to `t1`:
/// the rate is exponential in T on either side of 43 °C, so the step is cut where it crosses 43 °C
/// and each part gets the logarithmic mean of its end rates (exact for a linear ramp).
#[inline(always)]
pub(super) fn mean_cem43_rate(rule: Cem43Rule, t0: f32, t1: f32) -> f32 {
    let (r0, r1) = (rule.minutes_per_second(t0), rule.minutes_per_second(t1));
    let crossing = 43f32.max(t0.min(t1)).min(t0.max(t1));
    let span = t1 - t0;
    let before = if span != 0.0 {
        (crossing - t0) / span
    } else {
        0.0
    };
    let rate_at_crossing = if crossing == t0 {
        r0
    } else if crossing == t1 {
        r1
    } else {
        1.0 / 60.0
    };
    before * log_mean(r0, rate_at_crossing) + (1.0 - before) * log_mean(rate_at_crossing, r1)
}

/// The mean over a step of a rate that goes exponentially in time from `a` to `b`: the logarithmic
/// mean (b − a)/ln(b/a); the arithmetic mean when they are within 1 % (the two then agree to 1e-5)
/// or one of them is zero.
#[inline(always)]
pub(super) fn log_mean(a: f32, b: f32) -> f32 {
    let ln_ratio = fast_log2(b / a) * std::f32::consts::LN_2;
    if ln_ratio.abs() > 0.01 && a > 0.0 && b > 0.0 {
        (b - a) / ln_ratio
    } else {
        0.5 * (a + b)
    }
}

/// log2 of a positive, finite, normal `x` to about 1e-7, branch-free so that loops vectorise.
#[inline(always)]
pub(super) fn fast_log2(x: f32) -> f32 {
    // The exponent that brings the mantissa into [√½, √2).
    const SQRT_HALF_BITS: i32 = 0x3f35_04f3;
    let bits = x.to_bits() as i32;
    let exponent = bits.wrapping_sub(SQRT_HALF_BITS) >> 23;
    let m = f32::from_bits(bits.wrapping_sub(exponent << 23) as u32);
    // ln m = 2·atanh(t) with t = (m − 1)/(m + 1), |t| ≤ 0.172: five terms of its series.
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    let series = t * (2.0 + t2 * (2.0 / 3.0 + t2 * (0.4 + t2 * (2.0 / 7.0 + t2 * (2.0 / 9.0)))));
    exponent as f32 + series * std::f32::consts::LOG2_E
}

#[cfg(test)]
mod tests;
