//! The UDP impairment relay: it listens for a client, forwards its datagrams to a server and the
//! replies back, each through the netem core (delay, jitter, loss, bandwidth, outages, handover
//! gaps), so QUIC passes through it unchanged but sees the emulated network. Two receiver threads
//! feed the engine; a delivery thread sends each datagram when the engine says it is due. The
//! engine's clock is the time since the relay started.

use netem::{Direction, LaneStats, Netem, Profile};
use serde::Serialize;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use thiserror::Error;

/// How often idle threads look at the stop flag.
const POLL: Duration = Duration::from_millis(20);
/// Larger than any UDP datagram QUIC sends.
const MAX_DATAGRAM: usize = 65_536;

#[derive(Debug, Error)]
pub enum RelayError {
    #[error("binding the relay's {what} socket: {source}")]
    Bind {
        what: &'static str,
        source: std::io::Error,
    },
    #[error("starting a relay thread: {0}")]
    Thread(std::io::Error),
}

#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Where clients send to; port 0 picks a free one.
    pub listen: SocketAddr,
    /// The server the relay forwards to.
    pub forward: SocketAddr,
    pub profile: Profile,
    pub seed: u64,
}

/// What the relay did so far, per direction.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct RelayStats {
    /// Client → server.
    pub forward: LaneStats,
    /// Server → client.
    pub back: LaneStats,
    pub send_errors: u64,
}

struct Shared {
    netem: Mutex<Netem<Vec<u8>>>,
    wake: Condvar,
    stop: AtomicBool,
    client: Mutex<Option<SocketAddr>>,
    send_errors: Mutex<u64>,
    started: Instant,
}

impl Shared {
    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    /// The engine, even if a thread panicked while holding it (its state stays consistent: every
    /// method leaves it whole).
    fn netem(&self) -> MutexGuard<'_, Netem<Vec<u8>>> {
        self.netem.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct Relay {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl Relay {
    /// Binds and starts the relay's threads.
    pub fn start(config: &RelayConfig) -> Result<Relay, RelayError> {
        let listen = UdpSocket::bind(config.listen).map_err(|source| RelayError::Bind {
            what: "listening",
            source,
        })?;
        let upstream_bind: SocketAddr = if config.forward.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let upstream = UdpSocket::bind(upstream_bind).map_err(|source| RelayError::Bind {
            what: "upstream",
            source,
        })?;
        for socket in [&listen, &upstream] {
            socket
                .set_read_timeout(Some(POLL))
                .map_err(|source| RelayError::Bind {
                    what: "timeout",
                    source,
                })?;
        }
        let local_addr = listen.local_addr().map_err(|source| RelayError::Bind {
            what: "listening",
            source,
        })?;
        let shared = Arc::new(Shared {
            netem: Mutex::new(Netem::new(&config.profile, config.seed)),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
            client: Mutex::new(None),
            send_errors: Mutex::new(0),
            started: Instant::now(),
        });
        let clone = |s: &UdpSocket| s.try_clone().map_err(RelayError::Thread);
        let mut relay = Relay {
            local_addr,
            shared: shared.clone(),
            threads: Vec::with_capacity(3),
        };
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(f)
                .map_err(RelayError::Thread)
        };
        let (s, sock) = (shared.clone(), clone(&listen)?);
        relay.threads.push(spawn(
            "relay-from-client",
            Box::new(move || receive(&s, &sock, Direction::Forward)),
        )?);
        let (s, sock) = (shared.clone(), clone(&upstream)?);
        relay.threads.push(spawn(
            "relay-from-server",
            Box::new(move || receive(&s, &sock, Direction::Back)),
        )?);
        let forward = config.forward;
        relay.threads.push(spawn(
            "relay-deliver",
            Box::new(move || deliver(&shared, &listen, &upstream, forward)),
        )?);
        tracing::info!(%local_addr, %forward, profile = %config.profile.name, "netem relay started");
        Ok(relay)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn stats(&self) -> RelayStats {
        let netem = self.shared.netem();
        RelayStats {
            forward: netem.stats(Direction::Forward),
            back: netem.stats(Direction::Back),
            send_errors: *self
                .shared
                .send_errors
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// Stops the threads and returns the final statistics.
    pub fn stop(mut self) -> RelayStats {
        self.shutdown();
        self.stats()
    }

    fn shutdown(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.shared.wake.notify_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Feeds datagrams arriving on `socket` into the engine.
fn receive(shared: &Shared, socket: &UdpSocket, direction: Direction) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    while !shared.stop.load(Ordering::Relaxed) {
        let Ok((len, from)) = socket.recv_from(&mut buf) else {
            continue;
        };
        if direction == Direction::Forward {
            *shared.client.lock().unwrap_or_else(|e| e.into_inner()) = Some(from);
        }
        let now = shared.now();
        shared
            .netem()
            .send(direction, buf[..len].to_vec(), len, now);
        shared.wake.notify_one();
    }
}

/// Sends every datagram when it is due, sleeping until the next one.
fn deliver(shared: &Shared, listen: &UdpSocket, upstream: &UdpSocket, server: SocketAddr) {
    let mut netem = shared.netem();
    while !shared.stop.load(Ordering::Relaxed) {
        let now = shared.now();
        while let Some(d) = netem.poll_output(now) {
            let sent = match d.direction {
                Direction::Forward => upstream.send_to(&d.payload, server),
                Direction::Back => {
                    let client = *shared.client.lock().unwrap_or_else(|e| e.into_inner());
                    match client {
                        Some(client) => listen.send_to(&d.payload, client),
                        None => Ok(0),
                    }
                }
            };
            if let Err(e) = sent {
                tracing::debug!(error = %e, "relay send failed");
                *shared.send_errors.lock().unwrap_or_else(|e| e.into_inner()) += 1;
            }
        }
        let wait = netem
            .poll_timeout()
            .map_or(POLL, |t| t.saturating_sub(now).min(POLL));
        netem = shared
            .wake
            .wait_timeout(netem, wait)
            .map(|(guard, _)| guard)
            .unwrap_or_else(|e| e.into_inner().0);
    }
}
