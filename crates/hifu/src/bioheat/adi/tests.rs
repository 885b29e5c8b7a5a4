//! ADI against exact solutions (a decaying sine mode: second order in space and in time; a Gaussian
//! heat pulse in a perfused medium) and against the explicit scheme (one heated spot: temperature and
//! CEM43 dose); the dose over a step against a fine quadrature.

use super::*;
use crate::bioheat::{Scheme, ThermalSettings};
use crate::dose::Cem43Variant;
use crate::grid::Grid;
use crate::medium::Medium;
use crate::tissue::Tissue;
use proptest::prelude::*;

fn adi(dt_s: f64) -> ThermalSettings {
    ThermalSettings {
        scheme: Scheme::Adi { dt_s },
        ..ThermalSettings::default()
    }
}

fn muscle_cube(cells: usize, spacing_m: f64) -> Medium {
    Medium::uniform(Grid::new([cells; 3], spacing_m).unwrap(), Tissue::Muscle)
}

/// Amplitude at the centre after `seconds` of the lowest sine mode of a muscle cube of `cells` a
/// side, started at 10 K over body temperature, with steps of `dt_s`.
fn sine_mode_amplitude(cells: usize, dt_s: f64, seconds: f64) -> f64 {
    let edge_m = 10e-3;
    let medium = muscle_cube(cells, edge_m / (cells - 1) as f64);
    let (model, mut state) = BioheatModel::new(&medium, &adi(dt_s)).unwrap();
    let grid = medium.grid;
    for (i, t) in state.temperature.iter_mut().enumerate() {
        let mode: f64 = grid
            .voxel(i)
            .iter()
            .map(|&v| (std::f64::consts::PI * v as f64 / (cells - 1) as f64).sin())
            .product();
        *t += (10.0 * mode) as f32;
    }
    while state.time_s < seconds - 1e-9 {
        model.step(&mut state);
    }
    f64::from(state.temperature[grid.index([cells / 2; 3])] - 37.0)
}

/// The sine mode's exact decay: e^(−(3·D·(π/L)² + P)·t), or with the discrete Laplacian's
/// eigenvalue (4/h²)·sin²(π·h/2L) per axis when `cells` is given.
fn sine_mode_exact(cells: Option<usize>, seconds: f64) -> f64 {
    let props = Tissue::Muscle.properties();
    let edge_m = 10e-3;
    let per_axis = match cells {
        None => (std::f64::consts::PI / edge_m).powi(2),
        Some(n) => {
            let h = edge_m / (n - 1) as f64;
            4.0 / (h * h) * (std::f64::consts::PI * h / (2.0 * edge_m)).sin().powi(2)
        }
    };
    let rate = 3.0 * props.diffusivity() * per_axis + props.perfusion_rate();
    10.0 * (-rate * seconds).exp()
}

#[test]
fn a_sine_mode_decays_with_second_order_error_in_space() {
    let exact = sine_mode_exact(None, 20.0);
    let error = |cells| (sine_mode_amplitude(cells, 0.05, 20.0) - exact).abs();
    let (coarse, fine) = (error(11), error(21));
    // Halving the spacing divides a second-order error by 4.
    assert!(
        coarse / fine > 3.5 && coarse / fine < 4.5,
        "{coarse} K then {fine} K"
    );
    assert!(coarse / exact < 0.01, "{coarse} K of {exact} K");
}

#[test]
fn a_sine_mode_decays_with_second_order_error_in_time() {
    let cells = 11;
    let exact = sine_mode_exact(Some(cells), 40.0);
    let error = |dt| (sine_mode_amplitude(cells, dt, 40.0) - exact).abs();
    // Steps of 10 s (the explicit limit is 0.6 s here) and 5 s: halving the step divides the error
    // by 4 or more (for a single mode the factored scheme is even third order).
    let (long, short) = (error(10.0), error(5.0));
    assert!(long / short > 3.5, "{long} K then {short} K");
    assert!(long / exact < 0.01, "{long} K of {exact} K");
}

#[test]
fn a_gaussian_pulse_spreads_and_decays_as_the_closed_form() {
    // T − Tb = A·(σ²/(σ² + 2Dt))^{3/2}·exp(−r²/(2(σ² + 2Dt)))·e^{−Pt}.
    let (cells, dx, sigma, amplitude) = (61, 0.5e-3, 1.5e-3, 20.0);
    let medium = muscle_cube(cells, dx);
    let (model, mut state) = BioheatModel::new(&medium, &adi(1.0)).unwrap();
    let grid = medium.grid;
    let centre = (cells / 2) as f64 * dx;
    let radius2 = |i: usize| -> f64 {
        grid.position(grid.voxel(i))
            .iter()
            .map(|c| (c - centre).powi(2))
            .sum()
    };
    for (i, t) in state.temperature.iter_mut().enumerate() {
        if model.is_free(i) {
            *t += (amplitude * (-radius2(i) / (2.0 * sigma * sigma)).exp()) as f32;
        }
    }
    for _ in 0..20 {
        model.step(&mut state);
    }
    let props = Tissue::Muscle.properties();
    let spread = sigma * sigma + 2.0 * props.diffusivity() * state.time_s;
    let c = cells / 2;
    for out in [0, 2, 4, 6] {
        let i = grid.index([c + out, c, c]);
        let exact = amplitude
            * (sigma * sigma / spread).powf(1.5)
            * (-radius2(i) / (2.0 * spread)).exp()
            * (-props.perfusion_rate() * state.time_s).exp();
        let simulated = f64::from(state.temperature[i] - 37.0);
        assert!(
            (simulated - exact).abs() < 0.01 * amplitude,
            "{out} cells out: {simulated} K, exact {exact} K"
        );
    }
}

/// Temperature and dose after a Gaussian source (σ = 1.5 mm, 6 K/s at its centre) heats a muscle
/// cube for 10 s and the tissue cools for 10 s more, with `settings`.
fn heated_spot(settings: &ThermalSettings) -> (BioheatModel, BioheatState) {
    let (cells, dx, sigma) = (41, 0.5e-3, 1.5e-3);
    let medium = muscle_cube(cells, dx);
    let (model, mut state) = BioheatModel::new(&medium, settings).unwrap();
    let grid = medium.grid;
    let centre = (cells / 2) as f64 * dx;
    let sources: Vec<(u32, f32)> = (0..grid.cell_count())
        .filter(|&i| model.is_free(i))
        .map(|i| {
            let p = grid.position(grid.voxel(i));
            let r2: f64 = p.iter().map(|c| (c - centre).powi(2)).sum();
            (i as u32, (6.0 * (-r2 / (2.0 * sigma * sigma)).exp()) as f32)
        })
        .collect();
    let dt = f64::from(model.dt_s);
    while state.time_s < 20.0 - 0.5 * dt {
        let on = (10.0 - state.time_s).clamp(0.0, dt);
        state.heat(&sources, on as f32);
        model.step(&mut state);
    }
    (model, state)
}

/// CEM43 dose at the centre and lesion voxels (CEM43 ≥ 240) of [`heated_spot`].
fn spot_figures(state: &BioheatState, model: &BioheatModel) -> (f64, f64, f64) {
    let centre = model.grid.index([20; 3]);
    let lesion = state.dose.iter().filter(|&&d| d >= 240.0).count() as f64;
    (
        f64::from(state.temperature[centre] - 37.0),
        f64::from(state.dose[centre]),
        lesion,
    )
}

#[test]
fn one_spot_matches_the_explicit_reference_in_temperature_and_dose() {
    // The reference: the explicit scheme at a tenth of its usual step, cut so that 10 s is a
    // whole number of steps (its operator splitting then errs by about 0.02 K here; at the usual
    // step by 0.16 K at the centre, 14 % in dose, where ADI at 1 s errs by 0.004 K).
    let medium = muscle_cube(41, 0.5e-3);
    let (usual, _) = BioheatModel::new(&medium, &ThermalSettings::default()).unwrap();
    let fine = ThermalSettings {
        max_dt_s: Some(10.0 / (100.0 / f64::from(usual.dt_s)).ceil()),
        ..ThermalSettings::default()
    };
    let (model, reference) = heated_spot(&fine);
    let (t_ref, dose_ref, lesion_ref) = spot_figures(&reference, &model);
    assert!(lesion_ref > 100.0 && dose_ref > 240.0, "the spot ablates");
    for dt in [0.25, 0.5, 1.0] {
        let (model, state) = heated_spot(&adi(dt));
        assert!((state.time_s - reference.time_s).abs() < 1e-3);
        let (t, dose, lesion) = spot_figures(&state, &model);
        assert!((t - t_ref).abs() < 0.05, "dt {dt}: {t} K vs {t_ref} K");
        assert!(
            (dose / dose_ref - 1.0).abs() < 0.03,
            "dt {dt}: centre dose {dose} vs {dose_ref}"
        );
        assert!(
            (lesion / lesion_ref - 1.0).abs() < 0.02,
            "dt {dt}: lesion {lesion} vs {lesion_ref} voxels"
        );
    }
}

#[test]
fn the_step_never_exceeds_max_dt_and_bad_steps_are_refused() {
    let medium = muscle_cube(7, 1e-3);
    let settings = ThermalSettings {
        max_dt_s: Some(0.25),
        ..adi(2.0)
    };
    let (model, _) = BioheatModel::new(&medium, &settings).unwrap();
    assert_eq!(model.dt_s, 0.25);
    assert_eq!(model.scheme_name(), "adi");
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(BioheatModel::new(&medium, &adi(bad)).is_err(), "{bad}");
    }
}

#[test]
fn heat_goes_in_over_the_next_step_and_never_into_fixed_voxels() {
    let medium = muscle_cube(9, 1e-3);
    let (model, mut state) = BioheatModel::new(&medium, &adi(0.5)).unwrap();
    let (centre, face) = (medium.grid.index([4; 3]), medium.grid.index([0, 4, 4]));
    state.heat(
        &[(centre as u32, 10.0), (face as u32, 10.0), (1 << 30, 1.0)],
        0.5,
    );
    assert_eq!(state.temperature[centre], 37.0, "heat waits for the step");
    model.step(&mut state);
    assert!(state.temperature[centre] > 38.0);
    assert_eq!(state.temperature[face], 37.0);
    // Energy: what went in is in the cube (less the little that perfusion and the faces took).
    let gained: f32 = state.temperature.iter().map(|t| t - 37.0).sum();
    assert!(gained > 4.8 && gained <= 5.0, "{gained}");
    model.step(&mut state);
    let after: f32 = state.temperature.iter().map(|t| t - 37.0).sum();
    assert!(after < gained, "no heat is given twice");
}

#[test]
fn dose_over_a_linear_ramp_is_the_exact_integral() {
    for variant in [Cem43Variant::SaparetoDewey, Cem43Variant::Hitu] {
        let rule = Cem43Rule::from(variant);
        for (t0, t1) in [
            (40.0f32, 60.0f32),
            (60.0, 40.0),
            (50.0, 52.0),
            (44.0, 42.0),
            (55.0, 55.0),
        ] {
            let n = 20_000;
            let fine: f64 = (0..n)
                .map(|i| {
                    let s = (i as f32 + 0.5) / n as f32;
                    f64::from(rule.minutes_per_second(t0 + s * (t1 - t0)))
                })
                .sum::<f64>()
                / n as f64;
            let mean = f64::from(mean_cem43_rate(rule, t0, t1));
            assert!(
                (mean - fine).abs() / fine < 1e-4,
                "{variant:?} {t0}→{t1}: {mean} vs {fine}"
            );
        }
    }
}

proptest! {
    #[test]
    fn fast_log2_is_accurate(x in 1e-30f32..1e30) {
        let exact = f64::from(x).log2();
        prop_assert!((f64::from(fast_log2(x)) - exact).abs() < 2e-6 * exact.abs().max(1.0));
    }

    #[test]
    fn the_log_mean_lies_between_its_ends_and_is_symmetric(a in 1e-20f32..1e10, b in 1e-20f32..1e10) {
        let mean = log_mean(a, b);
        prop_assert!(mean >= a.min(b) * (1.0 - 1e-5) && mean <= a.max(b) * (1.0 + 1e-5));
        prop_assert!((mean - log_mean(b, a)).abs() <= 1e-5 * mean);
        // The geometric mean ≤ the logarithmic mean ≤ the arithmetic mean.
        let (g, m) = ((f64::from(a) * f64::from(b)).sqrt(), 0.5 * (f64::from(a) + f64::from(b)));
        prop_assert!(f64::from(mean) >= g * (1.0 - 1e-4) && f64::from(mean) <= m * (1.0 + 1e-4));
    }
}
