//! The video channel end to end over QUIC with mutual TLS: a station with its camera on and a
//! scripted console with a video feed. The console's subscriber gets frames in capture order,
//! starting at a keyframe, each with its capture time mapped to the console's clock (never after
//! the console had the frame), and the pictured tip follows the arm as the script moves it; over
//! a path too thin for the video, late frames are dropped rather than queued.

use console::ConsoleConfig;
use console::video::{EncodedFrame, VideoFeed};
use station::camera::CameraSettings;
use station::camera::rate::RateSettings;
use station::{StationConfig, StationHandle, StationReport};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use teleop::{ConsoleReport, NoTap};
use tokio::sync::broadcast::error::TryRecvError;

fn station(dir: &Path, camera: CameraSettings) -> StationHandle {
    link::pki::init(dir, &["localhost".into()], false).unwrap();
    StationHandle::start(
        &StationConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            pki_dir: dir.to_owned(),
            record_dir: None,
            audit_dir: dir.join("audit"),
            camera: Some(camera),
            ..StationConfig::default()
        },
        None,
        |_| Ok::<_, std::convert::Infallible>(NoTap),
    )
    .unwrap()
}

/// Runs a scripted console for `seconds` against `station_addr`, reading its video feed as a page
/// would while the run goes on (a reader starved by a busy machine skips ahead, as a page would).
fn watch(
    dir: &Path,
    station_addr: SocketAddr,
    seconds: f64,
) -> (ConsoleReport, Vec<Arc<EncodedFrame>>) {
    // The console's own clock zero, not the station's: capture times cross by clock sync.
    let feed = VideoFeed::new(Instant::now());
    let mut frames = feed.subscribe();
    let config = ConsoleConfig {
        station: station_addr,
        pki_dir: dir.to_owned(),
        duration_s: Some(seconds),
        record_dir: None,
        video: Some(feed),
        ..ConsoleConfig::default()
    };
    let console = std::thread::spawn(move || {
        console::run(&config, console::Controls::default(), |_| {
            Ok::<_, std::convert::Infallible>(NoTap)
        })
    });
    let mut received = Vec::new();
    while !console.is_finished() {
        match frames.try_recv() {
            Ok(frame) => received.push(frame),
            Err(TryRecvError::Empty) => std::thread::sleep(std::time::Duration::from_millis(2)),
            Err(TryRecvError::Lagged(_)) => {}
            Err(e) => panic!("the subscriber {e:?}"),
        }
    }
    received.extend(std::iter::from_fn(|| frames.try_recv().ok()));
    (console.join().unwrap().unwrap(), received)
}

fn assert_in_capture_order_from_a_keyframe(received: &[Arc<EncodedFrame>]) {
    assert!(!received.is_empty());
    assert!(received[0].keyframe);
    assert!(received.windows(2).all(|w| w[0].seq < w[1].seq));
}

#[test]
fn the_console_receives_frames_in_capture_order_with_capture_times() {
    let dir = tempfile::tempdir().unwrap();
    let station = station(
        dir.path(),
        CameraSettings {
            width: 320,
            height: 240,
            ..CameraSettings::default()
        },
    );
    let (report, received) = watch(dir.path(), station.local_addr(), 3.0);
    let stats = station.video_stats().unwrap();
    station.shutdown();
    assert!(report.operator.commands_sent > 1000);
    assert!(received.len() >= 8, "only {} frames", received.len());
    assert_in_capture_order_from_a_keyframe(&received);
    for frame in &received {
        assert_eq!((frame.width, frame.height), (320, 240));
        assert_eq!(frame.codec, "avc1.42c01f");
        assert!(frame.data.starts_with(&[0, 0, 0, 1]) || frame.data.starts_with(&[0, 0, 1]));
        if let Some(captured) = frame.capture_console_us {
            // Clock sync is an estimate; a capture mapped later than the frame's arrival
            // would mean the mapping went the wrong way.
            assert!(captured <= frame.received_console_us + 2_000, "{frame:?}");
        }
    }
    assert!(received.iter().any(|f| f.capture_console_us.is_some()));
    // The arm moved under the script: the pictured tip moved, and commands were applied.
    let first = received[0].tip_um;
    assert!(received.iter().any(|f| {
        (0..3)
            .map(|i| (f64::from(f.tip_um[i] - first[i])).powi(2))
            .sum::<f64>()
            > 1e6
    }));
    assert!(received.iter().any(|f| f.applied_seq > 0));
    assert!(stats.frames_encoded >= received.len() as u64);
    assert!(stats.encode_ms.count > 0);
}

/// Through a path that carries less than the camera sends (1.5 Mbit/s, rate control pinned at
/// 4 Mbit/s so it cannot adapt), frames fall late: the station resets them rather than queue the
/// newer ones behind, the console still gets frames in capture order from keyframes, and the arm
/// still takes the console's commands.
#[test]
fn late_frames_are_dropped_not_queued_behind_newer_ones() {
    let dir = tempfile::tempdir().unwrap();
    let pinned = RateSettings {
        min_bps: 4_000_000,
        start_bps: 4_000_000,
        max_bps: 4_000_000,
        ..RateSettings::default()
    };
    let station = station(
        dir.path(),
        CameraSettings {
            width: 640,
            height: 360,
            rate: pinned,
            ..CameraSettings::default()
        },
    );
    let lane = "delay_ms = 5.0\nrate_mbit_s = 1.5\nqueue_bytes = 2000000\n";
    let profile =
        netem::Profile::from_toml(&format!("name = \"thin\"\n[forward]\n{lane}[back]\n{lane}"))
            .unwrap();
    let relay = link::relay::Relay::start(&link::relay::RelayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        forward: station.local_addr(),
        profile,
        seed: 1,
    })
    .unwrap();
    let (report, received) = watch(dir.path(), relay.local_addr(), 4.0);
    let stats = station.video_stats().unwrap();
    let final_report: StationReport = station.shutdown();
    relay.stop();
    assert!(stats.frames_dropped > 0, "{stats:?}");
    assert!(stats.frames_delivered < stats.frames_encoded, "{stats:?}");
    assert_in_capture_order_from_a_keyframe(&received);
    assert!(report.operator.commands_sent > 1000);
    assert!(final_report.commands_applied > 0);
}

/// The nice values of this process's threads named `name`.
fn thread_nices(name: &str) -> Vec<i32> {
    let mut nices = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // Fields after the parenthesised name: state (3rd field) first, nice is the 19th.
        let nice = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.split(' ').nth(16))
            .and_then(|n| n.parse().ok());
        if comm.trim_end() == name
            && let Some(nice) = nice
        {
            nices.push(nice);
        }
    }
    nices
}

#[cfg(target_os = "linux")]
#[test]
fn the_camera_thread_renders_and_encodes_below_the_station_at_its_nice_value() {
    let dir = tempfile::tempdir().unwrap();
    let handle = station(
        dir.path(),
        CameraSettings {
            thread_nice: 7,
            ..CameraSettings::default()
        },
    );
    // The thread lowers itself once it runs.
    let started = Instant::now();
    while !thread_nices("station-camera").contains(&7) {
        assert!(
            started.elapsed().as_secs() < 10,
            "no camera thread at nice 7: {:?}",
            thread_nices("station-camera")
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(
        thread_nices("station-servo").iter().all(|&n| n == 0),
        "the servo thread keeps the station's priority"
    );
    handle.shutdown();

    let refused = StationHandle::start(
        &StationConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            pki_dir: dir.path().to_owned(),
            record_dir: None,
            audit_dir: dir.path().join("audit"),
            camera: Some(CameraSettings {
                thread_nice: 20,
                ..CameraSettings::default()
            }),
            ..StationConfig::default()
        },
        None,
        |_| Ok::<_, std::convert::Infallible>(NoTap),
    );
    let error = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(error.contains("thread_nice"), "{error}");
}
