//! What the console's page shows, kept up to date by the console's run (a pure core: it is
//! handed the session view, the station's datagrams and events and the commands sent, each with
//! the console's `now`) and read by the page's socket as one JSON snapshot.

use crate::browser_input::PageLiveness;
use proto::{Datagram, SupervisorStateCode};
use serde::Serialize;
use std::collections::VecDeque;
use std::time::Duration;
use teleop::{ConsoleView, SessionEvent};

/// Lines kept in the page's lists.
const KEPT: usize = 12;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TransitionLine {
    pub at_s: f64,
    pub from: &'static str,
    pub to: &'static str,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AlertLine {
    pub at_s: f64,
    /// "alarm" (the arm stopped, e-stop, fault, the page lost) or "warning".
    pub level: &'static str,
    pub text: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct LinkFigures {
    /// The newest clock-sync round trip, ms.
    pub rtt_ms: Option<f64>,
    /// The smallest round trip of this session, ms.
    pub rtt_min_ms: Option<f64>,
    /// State reports received and missing (by sequence number) in this session.
    pub states_received: u64,
    pub states_lost: u64,
    pub loss_pct: f64,
    /// Upper bound of a command's age when the station judges it: one round trip at most
    /// (docs/telesurgery.md, "Clock and age of commands"), against the station's 100 ms limit.
    pub age_bound_ms: Option<f64>,
    /// How old the newest state report is, ms.
    pub state_age_ms: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PageStatus {
    /// "waiting", "live" or "lost".
    pub liveness: &'static str,
    pub silent_ms: Option<f64>,
    pub clutch: bool,
}

/// One snapshot for the page.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Snapshot {
    pub now_s: f64,
    pub connected: bool,
    pub session_id: u64,
    pub state: Option<&'static str>,
    pub following: bool,
    pub engage_pending: bool,
    pub may_operate: Option<bool>,
    pub in_control: bool,
    pub bedside_control: bool,
    pub offer_to_me: bool,
    pub admitted: Option<String>,
    pub control: Option<String>,
    /// The station's measured tool tip (base/RCM frame, m) and the tool's axis.
    pub tip: Option<[f64; 3]>,
    pub tip_axis: Option<[f64; 3]>,
    /// Where the console last asked the tip to be.
    pub target: Option<[f64; 3]>,
    pub workspace_radius_m: f64,
    pub min_insertion_m: f64,
    pub commands_sent: u64,
    pub link: LinkFigures,
    pub page: PageStatus,
    pub transitions: Vec<TransitionLine>,
    pub alerts: Vec<AlertLine>,
    /// The station's patient monitor: its newest plausible reading and how long ago it came.
    pub vitals: Option<teleop::MonitorReading>,
    pub vitals_age_ms: Option<f64>,
}

/// The page's view of the console.
#[derive(Debug, Clone)]
pub struct LiveView {
    view: Option<ConsoleView>,
    tip_axis: Option<[f64; 3]>,
    target: Option<[f64; 3]>,
    commands_sent: u64,
    link: LinkFigures,
    last_state_seq: Option<u64>,
    admitted: Option<String>,
    control: Option<String>,
    transitions: VecDeque<TransitionLine>,
    alerts: VecDeque<AlertLine>,
    page_was: PageLiveness,
    workspace_radius_m: f64,
    min_insertion_m: f64,
}

impl LiveView {
    /// The workspace drawn around the RCM: the station supervisor's sphere and minimum insertion.
    pub fn new(workspace_radius_m: f64, min_insertion_m: f64) -> Self {
        Self {
            view: None,
            tip_axis: None,
            target: None,
            commands_sent: 0,
            link: LinkFigures::default(),
            last_state_seq: None,
            admitted: None,
            control: None,
            transitions: VecDeque::new(),
            alerts: VecDeque::new(),
            page_was: PageLiveness::Waiting,
            workspace_radius_m,
            min_insertion_m,
        }
    }

    /// The session core's view, each control period.
    pub fn on_view(&mut self, view: &ConsoleView) {
        if let Some(old) = &self.view
            && old.connected
            && !view.connected
        {
            self.alert(
                view.now,
                "alarm",
                "link to the station lost: reconnecting; the arm holds".into(),
            );
        }
        if self
            .view
            .as_ref()
            .is_some_and(|old| old.session_id != view.session_id)
        {
            self.link = LinkFigures::default();
            self.last_state_seq = None;
        }
        self.link.state_age_ms = view.state_age.map(ms);
        self.view = Some(*view);
    }

    /// Whether the page is heard, each control period; alerts when it is lost or back.
    pub fn on_page(&mut self, liveness: PageLiveness, now: Duration) {
        let was = std::mem::replace(&mut self.page_was, liveness);
        match (was, liveness) {
            (PageLiveness::Live, PageLiveness::Lost { .. }) => self.alert(
                now,
                "alarm",
                "the page fell silent: no motion is sent; the station holds".into(),
            ),
            (PageLiveness::Lost { .. }, PageLiveness::Live) => self.alert(
                now,
                "warning",
                "the page is back: engage to move again".into(),
            ),
            _ => {}
        }
    }

    /// A datagram from the station (state reports: loss; clock echoes: round trip).
    pub fn on_datagram(&mut self, datagram: &Datagram, now: Duration) {
        match datagram {
            Datagram::State(state) => {
                if let Some(last) = self.last_state_seq {
                    if state.seq > last {
                        self.link.states_lost += state.seq - last - 1;
                    } else {
                        // Reordered or a new session's numbering: not a loss.
                        return;
                    }
                }
                self.last_state_seq = Some(state.seq);
                self.link.states_received += 1;
                let total = self.link.states_received + self.link.states_lost;
                self.link.loss_pct = 100.0 * self.link.states_lost as f64 / total as f64;
                let q = state.tip.quaternion_xyzw;
                self.tip_axis = Some(z_axis(q));
            }
            Datagram::Pong(pong) => {
                let t4 = now.as_micros() as i64;
                let rtt_us = (t4 - pong.t1_us) - (pong.t3_us - pong.t2_us);
                if rtt_us >= 0 {
                    let rtt = rtt_us as f64 / 1e3;
                    self.link.rtt_ms = Some(rtt);
                    let min = self.link.rtt_min_ms.map_or(rtt, |m: f64| m.min(rtt));
                    self.link.rtt_min_ms = Some(min);
                    self.link.age_bound_ms = Some(rtt);
                }
            }
            _ => {}
        }
    }

    /// A command the console sent: where it asked the tip to be.
    pub fn on_command(&mut self, target: [f64; 3]) {
        self.target = Some(target);
        self.commands_sent += 1;
    }

    /// An event from the station.
    pub fn on_event(&mut self, event: &SessionEvent, now: Duration) {
        match event {
            SessionEvent::Transition {
                from, to, reason, ..
            } => {
                push(
                    &mut self.transitions,
                    TransitionLine {
                        at_s: now.as_secs_f64(),
                        from: state_name(*from),
                        to: state_name(*to),
                        reason: reason.to_string(),
                    },
                );
                match to {
                    SupervisorStateCode::Estop => {
                        self.alert(now, "alarm", format!("E-STOP latched: {reason}"))
                    }
                    SupervisorStateCode::Fault => {
                        self.alert(now, "alarm", format!("FAULT: {reason}"))
                    }
                    SupervisorStateCode::Hold => {
                        self.alert(now, "alarm", format!("arm in HOLD: {reason}"))
                    }
                    _ => {}
                }
            }
            SessionEvent::Refused { request, reason } => {
                self.alert(now, "warning", format!("{request} refused: {reason}"))
            }
            SessionEvent::Admitted {
                name,
                role,
                may_operate,
                ..
            } => {
                let may = if *may_operate {
                    "may operate"
                } else {
                    "watch only"
                };
                self.admitted = Some(format!("{name} ({role}), {may}"));
            }
            SessionEvent::Control { step, by, to, .. } => {
                let to = to.as_deref().map(|t| format!(" → {t}")).unwrap_or_default();
                let line = format!("{}: {by}{to}", step.name());
                self.alert(now, "warning", format!("control {line}"));
                self.control = Some(line);
            }
            _ => {}
        }
    }

    fn alert(&mut self, now: Duration, level: &'static str, text: String) {
        push(
            &mut self.alerts,
            AlertLine {
                at_s: now.as_secs_f64(),
                level,
                text,
            },
        );
    }

    pub fn snapshot(&self, now: Duration, page: PageLiveness, clutch: bool) -> Snapshot {
        let view = self.view.as_ref();
        let (liveness, silent_ms) = match page {
            PageLiveness::Waiting => ("waiting", None),
            PageLiveness::Live => ("live", None),
            PageLiveness::Lost { silent_for } => ("lost", Some(ms(silent_for))),
        };
        Snapshot {
            now_s: now.as_secs_f64(),
            connected: view.is_some_and(|v| v.connected),
            session_id: view.map_or(0, |v| v.session_id),
            state: view.and_then(|v| v.station_state).map(state_name),
            following: view.is_some_and(|v| v.following),
            engage_pending: view.is_some_and(|v| v.engage_pending),
            may_operate: view.and_then(|v| v.may_operate),
            in_control: view.is_some_and(|v| v.in_control),
            bedside_control: view.is_some_and(|v| v.bedside_control),
            offer_to_me: view.is_some_and(|v| v.offer_to_me),
            admitted: self.admitted.clone(),
            control: self.control.clone(),
            tip: view.and_then(|v| v.station_tip).map(|p| p.position),
            tip_axis: self.tip_axis,
            target: self.target,
            workspace_radius_m: self.workspace_radius_m,
            min_insertion_m: self.min_insertion_m,
            commands_sent: self.commands_sent,
            link: self.link.clone(),
            page: PageStatus {
                liveness,
                silent_ms,
                clutch,
            },
            transitions: self.transitions.iter().rev().cloned().collect(),
            alerts: self.alerts.iter().rev().cloned().collect(),
            vitals: view.and_then(|v| v.vitals),
            vitals_age_ms: view.and_then(|v| v.vitals_age).map(ms),
        }
    }
}

fn push<T>(list: &mut VecDeque<T>, item: T) {
    if list.len() == KEPT {
        list.pop_front();
    }
    list.push_back(item);
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The supervisor state's name as the docs write it.
pub fn state_name(code: SupervisorStateCode) -> &'static str {
    match code {
        SupervisorStateCode::Disabled => "DISABLED",
        SupervisorStateCode::Ready => "READY",
        SupervisorStateCode::Engaged => "ENGAGED",
        SupervisorStateCode::Hold => "HOLD",
        SupervisorStateCode::Fault => "FAULT",
        SupervisorStateCode::Estop => "ESTOP",
    }
}

/// The z axis (the tool's shaft direction) of a unit quaternion.
fn z_axis([x, y, z, w]: [f64; 4]) -> [f64; 3] {
    [
        2.0 * (x * z + w * y),
        2.0 * (y * z - w * x),
        1.0 - 2.0 * (x * x + y * y),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::datagram::{ClockPong, StateReport};

    fn state(seq: u64) -> Datagram {
        Datagram::State(StateReport {
            seq,
            supervisor_state: 2,
            ..Default::default()
        })
    }

    #[test]
    fn lost_state_reports_are_counted_by_sequence_gaps() {
        let mut live = LiveView::new(0.24, 0.045);
        let now = Duration::from_millis(5);
        for seq in [1, 2, 5, 4, 6] {
            live.on_datagram(&state(seq), now);
        }
        let figures = live.snapshot(now, PageLiveness::Live, false).link;
        assert_eq!((figures.states_received, figures.states_lost), (4, 2));
        assert!((figures.loss_pct - 100.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn the_round_trip_leaves_out_the_station_s_turnaround() {
        let mut live = LiveView::new(0.24, 0.045);
        let pong = Datagram::Pong(ClockPong {
            id: 1,
            t1_us: 1_000,
            t2_us: 50_000,
            t3_us: 50_500,
        });
        live.on_datagram(&pong, Duration::from_micros(21_500));
        assert_eq!(
            live.snapshot(Duration::ZERO, PageLiveness::Waiting, false)
                .link
                .rtt_ms,
            Some(20.0)
        );
    }

    #[test]
    fn a_hold_and_a_lost_page_raise_alarms_newest_first() {
        let mut live = LiveView::new(0.24, 0.045);
        live.on_page(PageLiveness::Live, Duration::from_millis(1));
        live.on_page(
            PageLiveness::Lost {
                silent_for: Duration::from_millis(61),
            },
            Duration::from_millis(70),
        );
        live.on_event(
            &SessionEvent::Transition {
                from: SupervisorStateCode::Engaged,
                to: SupervisorStateCode::Hold,
                reason: "no valid command for 50 ms".into(),
                at_us: 0,
            },
            Duration::from_millis(110),
        );
        let snapshot = live.snapshot(Duration::from_millis(120), PageLiveness::Waiting, false);
        assert_eq!(snapshot.transitions[0].to, "HOLD");
        assert_eq!(snapshot.alerts.len(), 2);
        assert!(snapshot.alerts[0].text.contains("HOLD"));
        assert!(snapshot.alerts[1].text.contains("page fell silent"));
    }
}
