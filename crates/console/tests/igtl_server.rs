//! The OpenIGTLink server with real sockets and a session fed by hand: a client that stops
//! reading is dropped while another keeps its stream; a new client hears the RCM and the
//! supervisor at once; GET_ is answered, STP_ silences a type for that client only, and what a
//! client sends becomes a target or a STATUS refusal.

use console::igtl::{IgtlConfig, IgtlServer, SessionWatch, Target};
use hifu::device::ThermometryFrame;
use igtl::{Body, DataType, Message, Query, QueryKind, StreamDecoder, Timestamp, Transform};
use proto::{Datagram, StateReport, SupervisorStateCode, WirePose};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};
use teleop::{ConsoleInput, Tap};

fn state(seq: u64, x_m: f64) -> ConsoleInput {
    ConsoleInput::Datagram {
        datagram: Datagram::State(StateReport {
            seq,
            station_time_us: seq as i64 * 1_000,
            last_applied_seq: seq,
            supervisor_state: SupervisorStateCode::Engaged as u8,
            joints: [0.0; 6],
            tip: WirePose {
                position_m: [x_m, 0.0, -0.1],
                quaternion_xyzw: [0.0, 0.0, 0.0, 1.0],
            },
        }),
    }
}

fn frame(n: usize, hot: f32) -> ThermometryFrame {
    ThermometryFrame {
        time_s: 1.0,
        slice_z: 4,
        dims: [n, n],
        spacing_m: 1e-3,
        temperature_c: vec![hot; n * n],
        dose_cem43: vec![0.0; n * n],
        focal_temperature_c: hot,
        oar_max_temp_c: 37.0,
        sonicating_spot: Some(0),
    }
}

fn start(config: IgtlConfig) -> (IgtlServer, SessionWatch, mpsc::Receiver<Target>) {
    let watch = SessionWatch::default();
    let (tx, rx) = mpsc::channel();
    let config = IgtlConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..config
    };
    let server = IgtlServer::start(config, watch.clone(), tx).unwrap();
    (server, watch, rx)
}

/// Reads messages until `want` says stop or 10 s pass.
fn read_until(stream: &mut TcpStream, mut want: impl FnMut(&Message) -> bool) -> Vec<Message> {
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut decoder = StreamDecoder::default();
    let mut seen = Vec::new();
    let mut buf = [0u8; 65536];
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(n) = stream.read(&mut buf) {
            assert!(n > 0, "the server closed the connection");
            decoder.push(&buf[..n]);
        }
        while let Some(message) = decoder.next_message() {
            let message = message.unwrap();
            let done = want(&message);
            seen.push(message);
            if done {
                return seen;
            }
        }
    }
    panic!(
        "not seen within 10 s; got {:?}",
        seen.iter().map(|m| &m.device_name).collect::<Vec<_>>()
    );
}

#[test]
fn a_new_client_hears_rcm_and_state_then_tool_tips_and_is_answered() {
    let (server, mut watch, targets) = start(IgtlConfig::default());
    watch.input(Duration::ZERO, &ConsoleInput::Connected);
    watch.input(Duration::ZERO, &state(1, 0.01));
    let mut client = TcpStream::connect(server.local_addr()).unwrap();
    let first = read_until(&mut client, |m| m.device_name == "Supervisor");
    assert!(first.iter().any(|m| m.device_name == "RCM"));
    let Body::Status(status) = &first.last().unwrap().body else {
        panic!()
    };
    assert_eq!((status.code, status.error_name.as_str()), (1, "ENGAGED"));

    watch.input(Duration::ZERO, &state(2, 0.02));
    let tips = read_until(
        &mut client,
        |m| matches!(&m.body, Body::Transform(t) if m.device_name == "ToolTip" && t.translation_mm()[0] == 20.0),
    );
    assert!(!tips.is_empty());

    // GET_STATUS is answered; STP_TRANS silences transforms for this client only.
    let now = Timestamp::from_secs_f64(1.0);
    let query = |kind, data| {
        Message::new(
            "",
            now,
            Body::Query(Query {
                kind,
                data,
                status: 0,
            }),
        )
        .encode()
        .unwrap()
    };
    client
        .write_all(&query(QueryKind::Get, DataType::Status))
        .unwrap();
    read_until(&mut client, |m| matches!(m.body, Body::Status(_)));
    client
        .write_all(&query(QueryKind::Stop, DataType::Transform))
        .unwrap();
    read_until(&mut client, |m| {
        matches!(
            m.body,
            Body::Query(Query {
                kind: QueryKind::Reply,
                data: DataType::Transform,
                status: 0
            })
        )
    });
    let mut other = TcpStream::connect(server.local_addr()).unwrap();
    read_until(&mut other, |m| m.device_name == "Supervisor");
    watch.input(Duration::ZERO, &state(3, 0.03));
    read_until(&mut other, |m| m.device_name == "ToolTip");
    // The muted client gets the next STATUS (every second) but no ToolTip before it.
    let muted = read_until(&mut client, |m| m.device_name == "Supervisor");
    assert!(
        muted.iter().all(|m| !matches!(m.body, Body::Transform(_))),
        "{muted:?}"
    );

    // A target, and a refused message on the same connection.
    let target = Message::new("Target", now, Body::Transform(Transform::identity()));
    let mut bad = target.encode().unwrap();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    client.write_all(&bad).unwrap();
    let refused = read_until(&mut client, |m| m.device_name == "medlink");
    let Body::Status(status) = &refused.last().unwrap().body else {
        panic!()
    };
    assert_eq!(status.code, 9, "{status:?}");
    client.write_all(&target.encode().unwrap()).unwrap();
    let got = targets.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(
        got,
        Target::Pose {
            device: "Target".into(),
            transform: Transform::identity()
        }
    );
    assert_eq!(server.stats().refused.load(Ordering::Relaxed), 1);
}

#[test]
fn a_client_that_stops_reading_is_dropped_and_the_others_keep_their_stream() {
    let (server, watch, _targets) = start(IgtlConfig {
        image_rate_hz: 20.0,
        queue: 256,
        ..IgtlConfig::default()
    });
    let addr = server.local_addr();
    // A new 200 × 200 frame every 10 ms: 320 kB of images each 50 ms tick, 6.4 MB/s; the queue
    // holds 6 s of it, ample for a client that reads on a busy machine, while a client that never
    // reads fills its socket buffers and then the queue within seconds.
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = {
        let stop = stop.clone();
        let mut sink = watch.thermometry_sink();
        std::thread::spawn(move || {
            let mut hot = 37.0;
            while !stop.load(Ordering::Relaxed) {
                hot += 0.001;
                sink(&frame(200, hot));
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let _slow = TcpStream::connect(addr).unwrap();
    let images = Arc::new(AtomicU64::new(0));
    let reader = {
        let images = images.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut fast = TcpStream::connect(addr).unwrap();
            fast.set_read_timeout(Some(Duration::from_millis(100)))
                .unwrap();
            let mut decoder = StreamDecoder::default();
            let mut buf = vec![0u8; 1 << 20];
            while !stop.load(Ordering::Relaxed) {
                match fast.read(&mut buf) {
                    Ok(0) => panic!("the fast client was dropped"),
                    Ok(n) => decoder.push(&buf[..n]),
                    Err(_) => {}
                }
                while let Some(m) = decoder.next_message() {
                    if matches!(m.unwrap().body, Body::Image(_)) {
                        images.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.stats().dropped_slow.load(Ordering::Relaxed) == 0 {
        assert!(
            Instant::now() < deadline,
            "the client that never reads was not dropped"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let at_drop = images.load(Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(30);
    while images.load(Ordering::Relaxed) < at_drop + 20 {
        assert!(
            Instant::now() < deadline,
            "the fast client's stream stopped after the drop"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    feeder.join().unwrap();
    reader.join().unwrap();
    assert_eq!(server.stats().dropped_slow.load(Ordering::Relaxed), 1);
}

#[test]
fn a_client_beyond_the_limit_is_turned_away() {
    let (server, _watch, _targets) = start(IgtlConfig {
        max_clients: 1,
        ..IgtlConfig::default()
    });
    let mut first = TcpStream::connect(server.local_addr()).unwrap();
    read_until(&mut first, |m| m.device_name == "Supervisor");
    let mut second = TcpStream::connect(server.local_addr()).unwrap();
    second
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut byte = [0u8; 1];
    // Closed at once: end of stream or a reset, not a timeout and not a message.
    match second.read(&mut byte) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("the second client was not turned away: {other:?}"),
    }
    assert_eq!(server.stats().refused.load(Ordering::Relaxed), 1);
    drop(first);
}
