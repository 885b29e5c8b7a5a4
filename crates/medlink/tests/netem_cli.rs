//! `medlink netem profiles` as a user runs it: every named profile with its source and the
//! one-way delays it gives at 100 packets/s and at 1 kHz; the long-haul tail no longer grows
//! with the packet rate; a bad `--seconds` is refused with a message.

use std::process::Command;

fn medlink() -> Command {
    Command::new(env!("CARGO_BIN_EXE_medlink"))
}

/// (p50, p99) printed after `rate` ("100/s" or "1 kHz") in a probe line:
/// `... 100/s p50 22.0 p99 45.1 ms, 1 kHz p50 22.0 p99 48.6 ms; ...`.
fn percentiles(line: &str, rate: &str) -> (f64, f64) {
    let after = line
        .split(&format!("{rate} p50 "))
        .nth(1)
        .unwrap_or_else(|| panic!("{rate} in {line}"));
    let words: Vec<&str> = after.split_whitespace().collect();
    let number = |w: &str| -> f64 {
        w.parse()
            .unwrap_or_else(|_| panic!("a number, not {w:?}, in {line}"))
    };
    assert_eq!(words[1], "p99", "{line}");
    (number(words[0]), number(words[2]))
}

#[test]
fn netem_profiles_prints_each_profiles_delays_at_100_per_second_and_1_khz() {
    let out = medlink().args(["netem", "profiles"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let probes: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("forward one way over 1000 s simulated"))
        .collect();
    assert_eq!(probes.len(), netem::NAMED_PROFILES.len(), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("longhaul-4000km "))
        .unwrap();
    let longhaul = lines[at + 2];
    let (p50_slow, _) = percentiles(longhaul, "100/s");
    let (p50_fast, p99_fast) = percentiles(longhaul, "1 kHz");
    // 21 ms base + the Pareto's median of 0.96 ms, at either rate.
    for p50 in [p50_slow, p50_fast] {
        assert!((21.5..=22.5).contains(&p50), "{longhaul}");
    }
    // The Pareto's p99 is 37 ms; order keeping adds a little. Drawn per packet it was 148.5 ms.
    assert!(p99_fast < 60.0, "{longhaul}");
    let episodes: Vec<f64> = longhaul
        .split("30 ms: ")
        .nth(1)
        .unwrap()
        .trim_end_matches(" episodes/s")
        .split(" and ")
        .map(|w| w.parse().unwrap())
        .collect();
    assert!(
        episodes[0] > 0.0 && episodes[1] / episodes[0] < 2.0,
        "{longhaul}"
    );
}

#[test]
fn netem_profiles_refuses_a_probe_shorter_than_a_second() {
    let out = medlink()
        .args(["netem", "profiles", "--seconds", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--seconds must be between 1 and 10000"),
        "{err}"
    );
}
