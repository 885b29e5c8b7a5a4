//! The session as an OpenIGTLink peer sees it: a tap on the console core's inputs (the station's
//! state reports and events, the patient monitor's readings, the link's life) and a sink for thermometry frames keep the latest
//! of each, stamped with the wall clock when it arrived, for the publisher to read at its rate.

use hifu::device::ThermometryFrame;
use proto::{Datagram, StateReport, SupervisorStateCode};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use teleop::{ConsoleInput, ConsoleOutput, MonitorReading, SessionEvent, Tap};

/// Something that sees every thermometry frame the station sends.
pub type ThermometrySink = Box<dyn FnMut(&ThermometryFrame) + Send>;

/// The newest of everything the publisher sends.
#[derive(Debug, Clone, Default)]
pub struct Latest {
    /// The newest state report and the wall-clock time it arrived (s since 1970).
    pub state: Option<(StateReport, f64)>,
    /// How many state reports have arrived (the publisher sends a pose only when it is new).
    pub state_count: u64,
    /// The station supervisor's last transition reason.
    pub reason: String,
    /// Whether the link to the station is up.
    pub connected: bool,
    /// The newest thermometry frame, when it arrived, and how many have arrived.
    pub frame: Option<(Arc<ThermometryFrame>, f64)>,
    pub frame_count: u64,
    /// The station's latest HIFU news as JSON (spot started or ended, beam on or off and the
    /// rule that stopped it, plan accepted or refused), numbered from 1, with when it arrived.
    pub hifu_news: VecDeque<(u64, Arc<str>, f64)>,
    pub hifu_news_count: u64,
    /// The station's newest patient monitor reading, when it arrived, and how many have.
    pub vitals: Option<(MonitorReading, f64)>,
    pub vitals_count: u64,
}

/// How many HIFU news items wait for the publisher at most (older ones are dropped).
const NEWS_KEPT: usize = 32;

impl Latest {
    pub fn supervisor(&self) -> Option<SupervisorStateCode> {
        self.state
            .as_ref()
            .and_then(|(s, _)| SupervisorStateCode::from_byte(s.supervisor_state))
    }
}

/// Shared between the console run (which writes) and the OpenIGTLink server (which reads).
#[derive(Clone, Default)]
pub struct SessionWatch {
    latest: Arc<Mutex<Latest>>,
}

fn wall_now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs_f64()
}

impl SessionWatch {
    pub fn snapshot(&self) -> Latest {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Latest> {
        // A panic elsewhere while holding the lock leaves plain data behind: keep using it.
        self.latest.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A sink for the console's thermometry frames (`Controls::thermometry`).
    pub fn thermometry_sink(&self) -> ThermometrySink {
        let watch = self.clone();
        Box::new(move |frame| {
            let mut latest = watch.lock();
            latest.frame = Some((Arc::new(frame.clone()), wall_now()));
            latest.frame_count += 1;
        })
    }

    fn on_input(&self, input: &ConsoleInput) {
        match input {
            ConsoleInput::Datagram {
                datagram: Datagram::State(report),
            } => {
                let mut latest = self.lock();
                latest.state = Some((*report, wall_now()));
                latest.state_count += 1;
                latest.connected = true;
            }
            ConsoleInput::Event {
                event: SessionEvent::Transition { reason, .. },
            } => self.lock().reason = reason.to_string(),
            ConsoleInput::Event {
                event: SessionEvent::Hifu(news),
            } => {
                let json: Arc<str> = serde_json::to_string(news).unwrap_or_default().into();
                let mut latest = self.lock();
                latest.hifu_news_count += 1;
                let n = latest.hifu_news_count;
                latest.hifu_news.push_back((n, json, wall_now()));
                if latest.hifu_news.len() > NEWS_KEPT {
                    latest.hifu_news.pop_front();
                }
            }
            // What the console core would not show (not finite, out of range) is not sent.
            ConsoleInput::Event {
                event: SessionEvent::Vitals(reading),
            } if reading.is_plausible() => {
                let mut latest = self.lock();
                latest.vitals = Some((*reading, wall_now()));
                latest.vitals_count += 1;
            }
            ConsoleInput::Connected => self.lock().connected = true,
            ConsoleInput::Disconnected { reason } => {
                let mut latest = self.lock();
                latest.connected = false;
                latest.reason = reason.clone();
            }
            _ => {}
        }
    }
}

impl Tap<ConsoleInput, ConsoleOutput> for SessionWatch {
    fn input(&mut self, _now: Duration, input: &ConsoleInput) {
        self.on_input(input);
    }
    fn output(&mut self, _now: Duration, _output: &ConsoleOutput) {}
}
