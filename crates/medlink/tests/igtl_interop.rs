//! `medlink igtl` beside `medlink demo`, checked by pyigtl (a peer we did not write, run from
//! tests/interop/igtl_peer.py in the project venv): two pyigtl clients at once receive `ToolTip`
//! TRANSFORMs at the configured rate while the arm moves, the `RCM` TRANSFORM, the `Supervisor`
//! STATUS and the patient monitor's `Vitals` STRING (JSON); the POINT list and TRANSFORMs they
//! send come out of the bridge as targets; a corrupted message is refused with STATUS 9 and the
//! connection goes on, an unframeable one is closed. With `demo --hifu`, pyigtl receives the
//! thermal slice as IMAGEs with its geometry, and the targets and the `Contour` it sends back
//! become validated plans. The operator's console serves the same with `--igtl` and shows
//! targets.

mod common;

use common::Proc;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn medlink() -> Command {
    Command::new(env!("CARGO_BIN_EXE_medlink"))
}

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A PKI with the demo's certificates and an observer's for the bridge.
fn pki(dir: &Path) -> String {
    let pki = dir.join("pki");
    let pki = pki.to_str().unwrap().to_string();
    for args in [
        vec!["pki", "init", "--dir", &pki],
        vec![
            "pki",
            "issue",
            "--dir",
            &pki,
            "--role",
            "observer",
            "--name",
            "IGT Bridge",
            "--out",
            &pki,
        ],
    ] {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
        common::medlink_succeeds(&args);
    }
    pki
}

fn demo(dir: &Path, pki: &str, port: u16, extra: &[&str]) -> Proc {
    let log = std::fs::File::create(dir.join("demo.log")).unwrap();
    Proc(
        medlink()
            .args([
                "demo",
                "--pki",
                pki,
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .arg("--audit-dir")
            .arg(dir.join("audit"))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}

/// The bridge, its OpenIGTLink port, and the lines it prints after its address (targets).
fn bridge(
    dir: &Path,
    pki: &str,
    station_port: u16,
    extra: &[&str],
) -> (Proc, u16, mpsc::Receiver<String>) {
    let log = std::fs::File::create(dir.join("igtl.log")).unwrap();
    let mut bridge = Proc(
        medlink()
            .args(["igtl", "--station", &format!("127.0.0.1:{station_port}")])
            .args(["--pki", pki, "--listen", "127.0.0.1:0", "--duration", "60"])
            .arg("--audit-dir")
            .arg(dir.join("audit"))
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(bridge.0.stdout.take().unwrap()).lines();
    let addr: std::net::SocketAddr = lines.next().unwrap().unwrap().parse().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (bridge, addr.port(), rx)
}

/// The next `n` target lines the bridge prints, as JSON.
fn target_lines(targets: &mpsc::Receiver<String>, n: usize) -> Vec<Value> {
    let mut lines = Vec::new();
    while lines.len() < n {
        let line = targets
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("the bridge printed only {lines:?}"));
        lines.push(serde_json::from_str::<Value>(&line).unwrap());
    }
    lines
}

fn peer(args: &[&str]) -> std::process::Child {
    let script = common::repo_root().join("tests/interop/igtl_peer.py");
    Command::new(common::venv_python())
        .arg(script)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn succeeded(child: std::process::Child, dir: &Path) -> Value {
    let out = child.wait_with_output().unwrap();
    let log = std::fs::read_to_string(dir.join("igtl.log")).unwrap_or_default();
    assert!(
        out.status.success(),
        "pyigtl peer failed: {}\n--- bridge log ---\n{log}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn pyigtl_clients_get_the_tool_tip_and_state_and_their_targets_reach_the_bridge() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path());
    let port = free_udp_port();
    let _demo = demo(dir.path(), &pki, port, &["--duration", "40"]);
    let (_bridge, igtl_port, targets) = bridge(dir.path(), &pki, port, &[]);
    let port_arg = igtl_port.to_string();
    let args = ["arm", "--port", &port_arg, "--seconds", "4"];
    let (first, second) = (peer(&args), peer(&args));
    let figures = [first, second].map(|p| succeeded(p, dir.path()));
    for f in &figures {
        // The rate (50 Hz by default) is printed, not judged: no timing thresholds in tests.
        eprintln!("pyigtl peer: {f}");
        assert_eq!(f["bad_crc_reply"][0], 9, "{f}");
        // The station's monitor gives one reading a second; the peer checked each one's ranges.
        assert!(f["vitals"].as_u64().unwrap() >= 1, "{f}");
        let hr = f["last_vitals"]["hr_bpm"].as_f64().unwrap();
        assert!((40.0..=140.0).contains(&hr), "{f}");
    }

    let lines = target_lines(&targets, 6);
    let points: Vec<&Value> = lines.iter().filter(|l| l["target"] == "points").collect();
    assert_eq!(points.len(), 2, "{lines:?}");
    for p in points {
        assert_eq!(p["device"], "Targets");
        assert_eq!(p["points"][0]["name"], "Entry");
        assert_eq!(
            p["points"][0]["mm"],
            serde_json::json!([10.0, -20.5, 30.25])
        );
        assert_eq!(p["points"][1]["name"], "Tumour");
    }
    for (device, translation) in [("Target", [5.0, 6.0, -70.0]), ("Target2", [7.0, 8.0, 9.0])] {
        let poses: Vec<&Value> = lines.iter().filter(|l| l["device"] == device).collect();
        assert_eq!(poses.len(), 2, "{device}: {lines:?}");
        for pose in poses {
            let rows = pose["rows"].as_array().unwrap();
            let t: Vec<f64> = rows.iter().map(|r| r[3].as_f64().unwrap()).collect();
            assert_eq!(t, translation);
        }
    }
}

#[test]
fn during_a_hifu_demo_pyigtl_gets_the_thermal_slice_with_its_geometry() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path());
    let plan_path = dir.path().join("plan.json");
    common::small_hifu_plan(&plan_path);
    let mut plan: Value = serde_json::from_slice(&std::fs::read(&plan_path).unwrap()).unwrap();
    let spots: Vec<Value> = plan["spots"].as_array().unwrap()[..2]
        .iter()
        .map(|s| {
            let mut s = s.clone();
            s["on_s"] = 5.0.into();
            s["cool_s"] = 0.5.into();
            s
        })
        .collect();
    let focus: Vec<String> = spots[0]["focus_mm"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap().to_string())
        .collect();
    plan["spots"] = spots.into();
    std::fs::write(&plan_path, plan.to_string()).unwrap();
    let port = free_udp_port();
    let _demo = demo(
        dir.path(),
        &pki,
        port,
        &["--hifu", plan_path.to_str().unwrap()],
    );
    let target_plan = dir.path().join("target-plan.json");
    let hifu_args = [
        "--hifu-plan",
        plan_path.to_str().unwrap(),
        "--igtl-target-plan",
        target_plan.to_str().unwrap(),
    ];
    let (_bridge, igtl_port, targets) = bridge(dir.path(), &pki, port, &hifu_args);
    let png = dir.path().join("thermal.png");
    let figures = succeeded(
        peer(&[
            "hifu",
            "--port",
            &igtl_port.to_string(),
            "--seconds",
            "60",
            "--spacing-mm",
            "3",
            "--min-peak-c",
            "45",
            "--focus-mm",
            &focus.join(","),
            "--send-targets",
            "--plan-file",
            target_plan.to_str().unwrap(),
            "--png",
            png.to_str().unwrap(),
        ]),
        dir.path(),
    );
    assert!(figures["peak_c"].as_f64().unwrap() > 45.0, "{figures}");
    assert!(png.exists(), "no picture of what pyigtl received");

    // Targets on the slice became a validated plan with a spot on each; one outside was refused.
    let lines = target_lines(&targets, 2);
    let made = &lines[0]["hifu_plan"];
    assert_eq!(made["spots"], 2, "{lines:?}");
    let points_plan = target_plan.with_extension("json.points");
    let plan: Value = serde_json::from_slice(&std::fs::read(points_plan).unwrap()).unwrap();
    let hottest = &figures["hottest_mm"];
    for (k, dx) in [(0, 0.0), (1, 6.0)] {
        for axis in 0..3 {
            let focus = plan["spots"][k]["focus_mm"][axis].as_f64().unwrap();
            let expected = hottest[axis].as_f64().unwrap() + if axis == 0 { dx } else { 0.0 };
            assert!((focus - expected).abs() < 1e-3, "spot {k}: {plan}");
        }
    }
    let refused = lines[1]["hifu_plan"]["refused"].as_str().unwrap();
    assert!(refused.contains("outside"), "{refused}");

    // The Contour (a 16 mm square around the hottest voxel) became a plan of spots inside it.
    let contour = &target_lines(&targets, 1)[0];
    assert_eq!(contour["device"], "Contour", "{contour}");
    eprintln!("the Contour became: {}", contour["hifu_plan"]);
    let spots = contour["hifu_plan"]["spots"].as_u64().unwrap_or(0);
    assert!(spots >= 4, "{contour}");
    let plan: Value = serde_json::from_slice(&std::fs::read(&target_plan).unwrap()).unwrap();
    let foci = plan["spots"].as_array().unwrap();
    assert_eq!(foci.len() as u64, spots);
    for spot in foci {
        let focus: Vec<f64> = (0..3)
            .map(|axis| spot["focus_mm"][axis].as_f64().unwrap())
            .collect();
        for axis in 0..3 {
            let offset = focus[axis] - hottest[axis].as_f64().unwrap();
            let reach = if axis == 2 { 0.01 } else { 8.0 };
            assert!(
                offset.abs() < reach,
                "spot {focus:?} outside the contour: {plan}"
            );
        }
    }
}

#[test]
fn over_tls_a_client_with_a_medlink_certificate_is_served_and_others_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path());
    let station = format!("127.0.0.1:{}", free_udp_port());
    let refused = medlink()
        .args([
            "igtl",
            "--station",
            &station,
            "--pki",
            &pki,
            "--listen",
            "0.0.0.0:0",
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(why.contains("beyond loopback needs --igtl-tls"), "{why}");

    let port = free_udp_port();
    let _demo = demo(dir.path(), &pki, port, &["--duration", "40"]);
    let (_bridge, igtl_port, _targets) = bridge(dir.path(), &pki, port, &["--igtl-tls", "station"]);
    let file = |name: &str| format!("{pki}/{name}");
    let figures = succeeded(
        peer(&[
            "tls",
            "--port",
            &igtl_port.to_string(),
            "--ca",
            &file("ca.crt"),
            "--cert",
            &file("igt-bridge.crt"),
            "--key",
            &file("igt-bridge.key"),
        ]),
        dir.path(),
    );
    assert_eq!(figures["anonymous_refused"], true, "{figures}");
}

#[test]
fn the_operators_console_serves_openigtlink_and_shows_targets_without_sending_them() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path());
    let station_log = std::fs::File::create(dir.path().join("station.log")).unwrap();
    let mut station = Proc(
        medlink()
            .args([
                "station",
                "--listen",
                "127.0.0.1:0",
                "--pki",
                &pki,
                "--no-record",
            ])
            .arg("--audit-dir")
            .arg(dir.path().join("audit"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(station_log)
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(station.0.stdout.take().unwrap()).lines();
    let addr = common::first_address(&mut lines);
    std::thread::spawn(move || lines.for_each(drop));
    let igtl_port = common::free_port();
    let console_log = dir.path().join("console.log");
    let console = Proc(
        medlink()
            .args(["console", "--station", &addr, "--pki", &pki, "--no-record"])
            .args([
                "--duration",
                "15",
                "--igtl",
                &format!("127.0.0.1:{igtl_port}"),
            ])
            .arg("--audit-dir")
            .arg(dir.path().join("audit"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&console_log).unwrap())
            .spawn()
            .unwrap(),
    );
    common::wait_for_port(igtl_port);
    let port = igtl_port.to_string();
    let figures = succeeded(
        peer(&["arm", "--port", &port, "--seconds", "3"]),
        dir.path(),
    );
    eprintln!("pyigtl peer of the operator's console: {figures}");
    let shown = common::eventually(10, || {
        std::fs::read_to_string(&console_log)
            .is_ok_and(|log| log.contains("TARGET from OpenIGTLink") && log.contains("Target2"))
    });
    drop(console);
    assert!(shown, "the operator was not shown the targets");
}
