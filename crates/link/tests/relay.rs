//! The relay edge with plain UDP: datagrams cross it in both directions, held for the profile's
//! delay, and its per-direction statistics count what it did.

use link::relay::{Relay, RelayConfig};
use netem::{LaneProfile, Loss, Profile};
use std::net::UdpSocket;
use std::time::{Duration, Instant};

fn profile(delay_ms: f64, loss: Loss) -> Profile {
    let mut p = netem::named_profile("lan").unwrap();
    p.forward = LaneProfile {
        delay_ms,
        loss,
        ..LaneProfile::default()
    };
    p.back = p.forward.clone();
    p
}

/// An echo server on loopback, answering until it has been idle for a second.
fn echo_server() -> std::net::SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let addr = socket.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            let _ = socket.send_to(&buf[..n], from);
        }
    });
    addr
}

#[test]
fn datagrams_cross_both_ways_no_sooner_than_the_profile_delay() {
    let relay = Relay::start(&RelayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        forward: echo_server(),
        profile: profile(10.0, Loss::None),
        seed: 1,
    })
    .unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    for i in 0..20u8 {
        let sent = Instant::now();
        client.send_to(&[i; 64], relay.local_addr()).unwrap();
        let mut buf = [0u8; 128];
        let (n, _) = client.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], &[i; 64]);
        // Two crossings of a 10 ms hold: a floor set by the relay, not a performance bound.
        assert!(sent.elapsed() >= Duration::from_millis(20));
    }
    let stats = relay.stop();
    assert_eq!(stats.forward.sent, 20);
    assert_eq!(stats.forward.delivered, 20);
    assert_eq!(stats.back.delivered, 20);
}

#[test]
fn a_total_loss_profile_delivers_nothing_and_counts_it() {
    let relay = Relay::start(&RelayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        forward: echo_server(),
        profile: profile(0.0, Loss::Bernoulli { p: 1.0 }),
        seed: 1,
    })
    .unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    for _ in 0..10 {
        client.send_to(&[1; 32], relay.local_addr()).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while relay.stats().forward.sent < 10 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let stats = relay.stop();
    assert_eq!(stats.forward.sent, 10);
    assert_eq!(stats.forward.lost, 10);
    assert_eq!(stats.forward.delivered, 0);
}
