//! Bioheat solver against the exact Gaussian-source solution, and its boundary and dose behaviour.

use super::*;
use crate::dose::NECROSIS_CEM43;

/// Exact temperature rise at radius `r` and time `t` for a Gaussian source S0·e^(−r²/2σ²) switched on
/// at t = 0 in an infinite homogeneous medium (Simpson's rule on the reference's integral).
pub(super) fn gaussian_source_exact(
    s0: f64,
    sigma: f64,
    diffusivity: f64,
    perfusion: f64,
    r: f64,
    t: f64,
) -> f64 {
    let integrand = |tau: f64| {
        let spread = sigma * sigma + 2.0 * diffusivity * tau;
        s0 * (sigma * sigma / spread).powf(1.5)
            * (-r * r / (2.0 * spread)).exp()
            * (-perfusion * tau).exp()
    };
    let n = 4000;
    let h = t / n as f64;
    let inner: f64 = (1..n)
        .map(|i| integrand(i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 })
        .sum();
    h / 3.0 * (integrand(0.0) + inner + integrand(t))
}

fn muscle_cube(cells: usize, spacing_m: f64) -> Medium {
    Medium::uniform(Grid::new([cells; 3], spacing_m).unwrap(), Tissue::Muscle)
}

#[test]
fn the_exact_gaussian_source_oracle_tends_to_the_perfused_uniform_source() {
    // A source much wider than the diffusion length heats like a uniform one: S0·(1 − e^−Pt)/P.
    let wide = gaussian_source_exact(1.0, 1.0, 1.33e-7, 6.8e-4, 0.0, 60.0);
    let uniform = (1.0 - (-6.8e-4f64 * 60.0).exp()) / 6.8e-4;
    assert!((wide - uniform).abs() / uniform < 1e-4);
}

#[test]
fn gaussian_source_matches_the_exact_solution_at_centre_and_radii() {
    let (cells, dx, sigma, s0) = (65, 0.5e-3, 2e-3, 1.0);
    let medium = muscle_cube(cells, dx);
    let settings = ThermalSettings {
        stability_fraction: 0.25,
        ..ThermalSettings::default()
    };
    let (model, mut state) = BioheatModel::new(&medium, &settings).unwrap();
    let centre = (cells / 2) as f64 * dx;
    let sources: Vec<(u32, f32)> = (0..medium.grid.cell_count())
        .filter(|&i| model.is_free(i))
        .map(|i| {
            let p = medium.grid.position(medium.grid.voxel(i));
            let r2: f64 = p.iter().map(|c| (c - centre).powi(2)).sum();
            (i as u32, (s0 * (-r2 / (2.0 * sigma * sigma)).exp()) as f32)
        })
        .collect();
    while state.time_s < 30.0 {
        state.heat(&sources, model.dt_s);
        model.step(&mut state);
    }
    let props = Tissue::Muscle.properties();
    let c = cells / 2;
    for cells_out in [0, 2, 4, 6, 8] {
        let simulated =
            f64::from(state.temperature[medium.grid.index([c + cells_out, c, c])] - 37.0);
        let r = cells_out as f64 * dx;
        let exact = gaussian_source_exact(
            s0,
            sigma,
            props.diffusivity(),
            props.perfusion_rate(),
            r,
            state.time_s,
        );
        assert!(
            (simulated - exact).abs() / exact < 0.01,
            "r = {r}: simulated {simulated} K, exact {exact} K"
        );
    }
}

#[test]
fn the_time_step_respects_the_explicit_limit() {
    let dx = 0.5e-3;
    let (model, _) = BioheatModel::new(&muscle_cube(9, dx), &ThermalSettings::default()).unwrap();
    let ftcs_limit = dx * dx / (6.0 * Tissue::Muscle.properties().diffusivity());
    assert!(f64::from(model.dt_s) <= 0.5 * ftcs_limit);
    assert!(f64::from(model.dt_s) > 0.45 * ftcs_limit);
}

#[test]
fn without_a_source_body_temperature_is_steady_and_the_bolus_cools_the_skin() {
    let grid = Grid::new([7, 7, 12], 1e-3).unwrap();
    let layers = [
        crate::medium::Layer {
            tissue: Tissue::Water,
            top_mm: 0.0,
        },
        crate::medium::Layer {
            tissue: Tissue::Skin,
            top_mm: 1.5,
        },
    ];
    let medium = Medium::from_shapes(grid, &layers, &[]);
    let mut steady = Vec::new();
    for settings in both_schemes() {
        let (model, mut state) = BioheatModel::new(&medium, &settings).unwrap();
        while state.time_s < 60.0 {
            model.step(&mut state);
        }
        let t = |z| state.temperature[grid.index([3, 3, z])];
        assert_eq!(t(0), 20.0);
        assert_eq!(
            state.temperature[grid.index([0, 3, 6])],
            37.0,
            "a held face"
        );
        assert!(
            t(2) < t(5) && t(5) < t(9) && t(9) <= 37.0,
            "{} {} {}",
            t(2),
            t(5),
            t(9)
        );
        assert!(t(2) > 20.0);
        steady.push(t(2));
    }
    assert!((steady[0] - steady[1]).abs() < 0.05, "{steady:?}");
}

/// The explicit scheme and ADI with a step of 0.5 s.
fn both_schemes() -> [ThermalSettings; 2] {
    [
        ThermalSettings::default(),
        ThermalSettings {
            scheme: Scheme::Adi { dt_s: 0.5 },
            ..ThermalSettings::default()
        },
    ]
}

#[test]
fn thermal_settings_without_a_scheme_load_as_before_and_adi_is_named_by_kind() {
    let old: ThermalSettings =
        serde_json::from_str(r#"{"body_c": 37.0, "bolus_c": 20.0}"#).unwrap();
    assert_eq!(old.scheme, Scheme::Explicit);
    let adi: ThermalSettings =
        serde_json::from_str(r#"{"scheme": {"kind": "adi", "dt_s": 0.5}}"#).unwrap();
    assert_eq!(adi.scheme, Scheme::Adi { dt_s: 0.5 });
}

#[test]
fn adi_pairs_are_two_steps_with_the_heat_between() {
    let medium = muscle_cube(9, 1e-3);
    let (model, start) = BioheatModel::new(&medium, &both_schemes()[1]).unwrap();
    let centre = medium.grid.index([4; 3]) as u32;
    let heat = [(centre, 20.0), (centre + 1, 10.0)];
    let mut probes = Probes::new(vec![centre], &medium.grid);
    let (mut single, mut paired) = (start.clone(), start);
    single.heat(&heat, 0.5);
    paired.heat(&heat, 0.5);
    model.step(&mut single);
    let first = single.temperature[centre as usize];
    single.heat(&heat, 0.25);
    model.step(&mut single);
    model.step_pair(&mut paired, &heat, 0.25, &mut probes);
    assert_eq!(probes.temperature()[centre as usize], first);
    assert_eq!(paired.temperature, single.temperature);
    assert_eq!(paired.dose, single.dose);
    assert_eq!(paired.time_s, single.time_s);
    assert!(paired.temperature[centre as usize] > first);
}

#[test]
fn dose_accumulates_at_the_rate_of_the_held_temperature() {
    for scheme in both_schemes() {
        dose_at_a_held_temperature(scheme);
    }
}

fn dose_at_a_held_temperature(scheme: ThermalSettings) {
    let medium = muscle_cube(5, 1e-3);
    let settings = ThermalSettings {
        body_c: 50.0,
        ..scheme
    };
    let (model, mut state) = BioheatModel::new(&medium, &settings).unwrap();
    let steps = (112.5 / f64::from(model.dt_s)).round() as usize;
    for _ in 0..steps {
        model.step(&mut state);
    }
    let centre = medium.grid.index([2, 2, 2]);
    let expected = NECROSIS_CEM43 * (steps as f32 * model.dt_s) / 112.5;
    assert!(
        (state.dose[centre] - expected).abs() / expected < 1e-3,
        "{} vs {expected}",
        state.dose[centre]
    );
    assert_eq!(state.dose[0], 0.0);
    // The x faces inside a plane are passed over by the vector loop but neither heat nor dose.
    for face in [[0, 2, 2], [4, 2, 2], [0, 3, 2], [4, 1, 3]] {
        let i = medium.grid.index(face);
        assert_eq!((state.dose[i], state.temperature[i]), (0.0, 50.0));
    }
}

#[test]
fn arrhenius_damage_at_a_held_temperature_is_the_analytic_integral() {
    let law = crate::dose::HENRIQUES_MORITZ;
    for (body_c, scheme) in [50.0f32, 57.0, 65.0]
        .into_iter()
        .flat_map(|t| both_schemes().map(|s| (t, s)))
    {
        let settings = ThermalSettings {
            body_c,
            arrhenius: Some(law),
            ..scheme
        };
        let medium = muscle_cube(5, 1e-3);
        let (model, mut state) = BioheatModel::new(&medium, &settings).unwrap();
        for _ in 0..40 {
            model.step(&mut state);
        }
        // Ω = A·exp(−Ea/(R·T))·t for a constant temperature T.
        let exact = law.rate_per_s(f64::from(body_c)) * state.time_s;
        let damage = state.damage.as_ref().unwrap();
        let centre = f64::from(damage[medium.grid.index([2, 2, 2])]);
        assert!(
            (centre - exact).abs() / exact < 1e-4,
            "{body_c} °C: {centre} vs {exact}"
        );
        assert_eq!(damage[0], 0.0, "a face voxel is not integrated");
    }
}

#[test]
fn damage_is_off_by_default_and_bad_laws_are_refused() {
    let medium = muscle_cube(5, 1e-3);
    let (model, state) = BioheatModel::new(&medium, &ThermalSettings::default()).unwrap();
    assert!(!model.tracks_damage() && state.damage.is_none());
    let settings = ThermalSettings {
        arrhenius: Some(crate::dose::Arrhenius {
            frequency_factor_per_s: -1.0,
            activation_energy_j_per_mol: 6e5,
        }),
        ..ThermalSettings::default()
    };
    assert!(BioheatModel::new(&medium, &settings).is_err());
}
