//! `medlink bench hifu` end to end on a small grid: every figure of its JSON is there, positive, and
//! the ratios are the ones its own figures give; bad sizes are refused with a clear error.

mod common;

use std::process::{Command, Output};

fn bench_hifu(args: &[&str]) -> Output {
    // The NumPy baseline runs in the project venv, which medlink finds as this test does.
    common::venv_python();
    Command::new(env!("CARGO_BIN_EXE_medlink"))
        .args(["bench", "hifu"])
        .args(args)
        .output()
        .expect("medlink runs")
}

#[test]
fn the_json_figures_are_consistent_with_each_other() {
    let output = bench_hifu(&[
        "--size",
        "24",
        "--steps",
        "3",
        "--numpy-steps",
        "1",
        "--triad-elements",
        "262144",
        "--converged-spacing-mm",
        "1.5",
        "--converged-seconds",
        "10",
        "--json",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let figure = |key: &str| {
        let value = json[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} in {json}"));
        assert!(value.is_finite() && value > 0.0, "{key} = {value}");
        value
    };
    let (cells, triad, numpy) = (
        figure("cells_per_s"),
        figure("triad_bytes_per_s"),
        figure("numpy_cells_per_s"),
    );
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs());
    assert!(close(figure("bytes_per_cell"), 28.0));
    assert!(close(figure("paired_bytes_per_cell"), 14.0));
    assert!(close(figure("bandwidth_bound_cells_per_s"), triad / 28.0));
    assert!(close(figure("bandwidth_fraction"), cells * 28.0 / triad));
    assert!(close(
        figure("single_step_bandwidth_fraction"),
        figure("single_step_cells_per_s") * 28.0 / triad
    ));
    assert!(close(
        figure("paired_traffic_fraction"),
        cells * 14.0 / triad
    ));
    assert!(close(figure("numpy_ratio"), cells / numpy));
    assert_eq!(json["grid"], 24);
    // The plan study's treatment, multi-rate against uniform steps, the same spots.
    let ours = figure("converged_realtime_ratio");
    let baseline = figure("converged_baseline_realtime_ratio");
    assert!(close(figure("converged_speedup"), ours / baseline));
    assert!(close(figure("converged_spacing_mm"), 1.5));
    let run = &json["converged"][0];
    let (multi, uniform) = (&run["multi_rate"], &run["uniform"]);
    assert!(close(run["spots"].as_f64().unwrap(), 3.0), "{run}");
    assert!(multi["dt_beam_off_s"].as_f64() > multi["dt_beam_on_s"].as_f64());
    assert_eq!(uniform["dt_beam_off_s"], uniform["dt_beam_on_s"]);
    assert!(
        run["lesion_volume_change"].as_f64().unwrap() < 0.05,
        "{run}"
    );
}

#[test]
fn grids_and_triads_too_small_to_measure_are_refused() {
    for (args, message) in [
        (["--size", "2"], "every dimension needs 3 cells or more"),
        (["--triad-elements", "10"], "--triad-elements 10"),
    ] {
        let output = bench_hifu(&args);
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
