//! The live video in a real browser: `medlink bench video --profile lan` runs a station with its
//! camera and a console with its video socket, and web/console/video.js in Debian's chromium
//! (Playwright from the project venv) decodes the H.264 frames with WebCodecs and paints them.
//! Checks that the page decoded and painted frames in capture order without errors, that every
//! figure of the report is there, and saves the page's screenshot in the test's temp dir.
//! Skipped, saying so, only when no chromium is installed (bash scripts/setup-browser.sh).

mod common;

use common::chromium_or_skip;
use std::path::PathBuf;
use std::process::Command;

#[test]
fn the_page_decodes_and_paints_the_station_video_in_capture_order() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("video-browser");
    let output = Command::new(env!("CARGO_BIN_EXE_medlink"))
        .args(["bench", "video", "--profile", "lan", "--seconds", "4"])
        // The browser at normal priority: on a loaded machine a niced chromium can take longer
        // to start than the short run lasts, and this test is about decoding and painting.
        .args(["--browser-nice", "0"])
        .args(["--no-baseline", "--json", "--chromium"])
        .arg(&chromium)
        .arg("--screenshots")
        .arg(&shots)
        .output()
        .expect("medlink runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "bench video failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
    let lan = &report["profiles"][0];
    assert_eq!(lan["profile"], "lan");
    let frames = &lan["frames"];
    assert_eq!(frames["painted_in_capture_order"], true, "{lan}");
    assert!(frames["page_painted"].as_u64().unwrap() >= 20, "{lan}");
    assert!(frames["page_decoded"].as_u64() >= frames["page_painted"].as_u64());
    assert!(
        lan["page_errors"].as_array().unwrap().is_empty(),
        "{}",
        lan["page_errors"]
    );
    // Constrained baseline at level 3.1: the bench captures 720p at 30 fps by default.
    assert_eq!(lan["codec"], "avc1.42c01f");
    // Display-locked capture reports what it asked and what the camera applied.
    let pacing = &lan["capture_pacing"];
    assert!(
        pacing["shifts_applied"].as_u64().unwrap() <= pacing["shifts_asked"].as_u64().unwrap(),
        "{pacing}"
    );
    for key in ["glass_to_glass_ms", "decode_ms"] {
        assert!(lan[key]["count"].as_u64().unwrap() >= 20, "{key}: {lan}");
        assert!(lan[key]["p50"].as_f64().unwrap() > 0.0, "{key}: {lan}");
    }
    for key in [
        "motion_to_photon_ms",
        "motion_to_photon_less_arm_response_ms",
    ] {
        assert!(lan[key]["count"].as_u64().unwrap() >= 1, "{key}: {lan}");
    }
    // The arm's own response is part of motion-to-photon, never more than all of it.
    assert!(
        lan["motion_to_photon_less_arm_response_ms"]["p50"].as_f64()
            < lan["motion_to_photon_ms"]["p50"].as_f64(),
        "{lan}"
    );
    assert!(lan["rtt_ms"].as_f64().is_some());
    assert!(lan["control_ms"]["video_on"]["count"].as_u64().unwrap() > 1000);
    assert!(shots.join("video-lan.png").is_file());
}
