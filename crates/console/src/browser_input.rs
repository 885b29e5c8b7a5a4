//! The master device in a web page: a pure core (no clock, no IO; time comes in as `now`) fed
//! with the page's messages (the hand's position from mouse, keyboard or gamepad, the jaw, the
//! clutch, the operator's buttons), which the console's 1 kHz loop samples like any other master
//! input. A dead-man's switch: the page says something at least every `HEARTBEAT` (its hand
//! message doubles as the heartbeat); silent for longer than the timeout, closed, or replaced by
//! another page, and `sample` answers `None`, so the console sends no motion at all and the
//! station's supervisor puts the arm in HOLD on its own clock (`survival_time`).
//!
//! The clutch works as on the dVRK: while it is held the hand moves freely and the master pose
//! the console sees stays where it was; on release the hand's travel while clutched is kept as
//! an offset, so the tool does not jump.

use robot::Pose;
use robot::geometry::{Vec3, add, sub};
use serde::Deserialize;
use std::time::Duration;
use teleop::{MasterSample, OperatorAction};
use thiserror::Error;

/// How often the page sends its hand (and so its heartbeat).
pub const HEARTBEAT: Duration = Duration::from_millis(20);
/// Silent for longer than this: the page is frozen or gone, motion stops. With the supervisor's
/// 50 ms survival time the arm holds within 110 ms of the page's last word; the console itself
/// stops within 60 ms plus one control period (the issue asks for 100 ms).
pub const DEAD_MAN_TIMEOUT: Duration = Duration::from_millis(60);
/// The hand stays within this distance of where it started (m): a page cannot ask for a master
/// pose a kilometre away, whatever it sends.
pub const MAX_REACH_M: f64 = 0.5;
/// Longest message the page may send (bytes).
pub const MAX_MESSAGE_LEN: usize = 512;

#[derive(Debug, Error, PartialEq)]
pub enum BrowserInputError {
    #[error("message longer than {MAX_MESSAGE_LEN} bytes")]
    TooLong,
    #[error("not a page message: {0}")]
    Malformed(String),
    #[error("the hand's position must be three finite numbers within {MAX_REACH_M} m")]
    BadHand,
    #[error("the jaw angle must be finite and between 0 and 1.6 rad")]
    BadJaw,
    #[error("{0}")]
    BadCommand(String),
}

/// What a page says.
#[derive(Debug, Clone, PartialEq)]
pub enum PageMessage {
    /// The hand (metres from where it started, in the master's frame), the jaw and the clutch;
    /// also the heartbeat.
    Hand {
        position: Vec3,
        jaw_rad: f64,
        clutch: bool,
    },
    /// A button: engage, disengage, estop, enable, accept, ...
    Action(OperatorAction),
}

#[derive(Deserialize)]
#[serde(tag = "t", rename_all = "snake_case", deny_unknown_fields)]
enum Wire {
    Hand {
        p: [f64; 3],
        #[serde(default)]
        jaw: f64,
        #[serde(default)]
        clutch: bool,
    },
    Action {
        command: String,
    },
}

impl PageMessage {
    /// Decodes one WebSocket text message of the page; anything else is an error, never a panic.
    pub fn decode(text: &str) -> Result<Self, BrowserInputError> {
        if text.len() > MAX_MESSAGE_LEN {
            return Err(BrowserInputError::TooLong);
        }
        let wire: Wire =
            serde_json::from_str(text).map_err(|e| BrowserInputError::Malformed(e.to_string()))?;
        match wire {
            Wire::Hand { p, jaw, clutch } => {
                let reach = p.iter().map(|v| v * v).sum::<f64>().sqrt();
                if !p.iter().all(|v| v.is_finite()) || reach > MAX_REACH_M {
                    return Err(BrowserInputError::BadHand);
                }
                if !(0.0..=1.6).contains(&jaw) {
                    return Err(BrowserInputError::BadJaw);
                }
                Ok(PageMessage::Hand {
                    position: p,
                    jaw_rad: jaw,
                    clutch,
                })
            }
            Wire::Action { command } => match OperatorAction::parse(&command) {
                Ok(Some(action)) => Ok(PageMessage::Action(action)),
                Ok(None) => Err(BrowserInputError::BadCommand("empty command".into())),
                Err(e) => Err(BrowserInputError::BadCommand(e)),
            },
        }
    }
}

/// Whether the console hears a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageLiveness {
    /// No page has sent a hand yet.
    Waiting,
    Live,
    /// The page fell silent (frozen, closed, lost) this long ago: no motion.
    Lost {
        silent_for: Duration,
    },
}

/// The master device a page drives.
#[derive(Debug, Clone)]
pub struct BrowserMaster {
    /// The master pose when the hand is at its start.
    origin: Pose,
    hand: Vec3,
    jaw_rad: f64,
    /// The hand's travel while clutched, taken off the master pose.
    clutch_offset: Vec3,
    /// The master position seen while the clutch is held.
    clutched_at: Option<Vec3>,
    last_heard: Option<Duration>,
    /// The page whose input counts (the newest one attached).
    page: u64,
    pages_attached: u64,
    /// The current page closed at this time.
    closed_at: Option<Duration>,
    timeout: Duration,
}

impl BrowserMaster {
    pub fn new(origin: Pose, timeout: Duration) -> Self {
        Self {
            origin,
            hand: [0.0; 3],
            jaw_rad: 0.0,
            clutch_offset: [0.0; 3],
            clutched_at: None,
            last_heard: None,
            page: 0,
            pages_attached: 0,
            closed_at: None,
            timeout,
        }
    }

    /// A page opened its socket: from now on only its input counts (an older page watches).
    pub fn attach(&mut self) -> u64 {
        self.pages_attached += 1;
        self.page = self.pages_attached;
        self.last_heard = None;
        self.closed_at = None;
        self.clutched_at = None;
        self.page
    }

    /// A page's socket closed: if it was the current one, motion stops at once.
    pub fn detach(&mut self, page: u64, now: Duration) {
        if page == self.page {
            self.closed_at = Some(now);
        }
    }

    /// A hand message of `page` at `now`; returns false (ignored) when it is not the current page.
    pub fn on_hand(
        &mut self,
        page: u64,
        position: Vec3,
        jaw_rad: f64,
        clutch: bool,
        now: Duration,
    ) -> bool {
        if page != self.page || self.closed_at.is_some() {
            return false;
        }
        match (clutch, self.clutched_at) {
            (true, None) => self.clutched_at = Some(self.master_position()),
            (true, Some(_)) => {}
            (false, Some(held)) => {
                self.clutch_offset = sub(position, sub(held, self.origin.position));
                self.clutched_at = None;
            }
            (false, None) => {}
        }
        self.hand = position;
        self.jaw_rad = jaw_rad;
        self.last_heard = Some(now);
        true
    }

    pub fn liveness(&self, now: Duration) -> PageLiveness {
        match (self.last_heard, self.closed_at) {
            (None, None) => PageLiveness::Waiting,
            (None, Some(closed)) => PageLiveness::Lost {
                silent_for: now.saturating_sub(closed),
            },
            (Some(heard), closed) => {
                let silent_for = now.saturating_sub(closed.map_or(heard, |c| c.min(heard)));
                if closed.is_some() || now.saturating_sub(heard) > self.timeout {
                    PageLiveness::Lost { silent_for }
                } else {
                    PageLiveness::Live
                }
            }
        }
    }

    /// The page whose input counts.
    pub fn current_page(&self) -> u64 {
        self.page
    }

    pub fn clutched(&self) -> bool {
        self.clutched_at.is_some()
    }

    /// The master sample for the control period at `now`, or `None`: no live page, no motion.
    pub fn sample(&self, now: Duration) -> Option<MasterSample> {
        (self.liveness(now) == PageLiveness::Live).then(|| MasterSample {
            position: self.master_position(),
            rotation: self.origin.rotation,
            jaw_rad: self.jaw_rad,
        })
    }

    /// Where the master is: the clutched position while the clutch is held, else the hand less
    /// the offset the clutch left.
    fn master_position(&self) -> Vec3 {
        self.clutched_at
            .unwrap_or_else(|| add(self.origin.position, sub(self.hand, self.clutch_offset)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: Pose = Pose {
        position: [0.1, 0.0, -0.2],
        rotation: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
    };

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn live_page() -> (BrowserMaster, u64) {
        let mut master = BrowserMaster::new(ORIGIN, DEAD_MAN_TIMEOUT);
        let page = master.attach();
        assert!(master.on_hand(page, [0.0; 3], 0.0, false, ms(0)));
        (master, page)
    }

    fn position(master: &BrowserMaster, now: Duration) -> Vec3 {
        let p = master
            .sample(now)
            .map(|s| s.position)
            .unwrap_or([f64::NAN; 3]);
        // Rounded to the nanometre: the sums are exact to that.
        p.map(|v| (v * 1e9).round() / 1e9)
    }

    #[test]
    fn no_page_no_motion() {
        let master = BrowserMaster::new(ORIGIN, DEAD_MAN_TIMEOUT);
        assert_eq!(master.liveness(ms(5)), PageLiveness::Waiting);
        assert_eq!(master.sample(ms(5)), None);
    }

    #[test]
    fn a_silent_page_stops_motion_after_the_timeout_and_not_before() {
        let (mut master, page) = live_page();
        master.on_hand(page, [0.01, 0.0, 0.0], 0.2, false, ms(100));
        assert_eq!(position(&master, ms(160)), [0.11, 0.0, -0.2]);
        assert_eq!(master.sample(ms(161)), None, "61 ms of silence: no motion");
        assert_eq!(
            master.liveness(ms(200)),
            PageLiveness::Lost {
                silent_for: ms(100)
            }
        );
        // The page speaks again: motion resumes from where its hand is (the station holds
        // until the operator engages again).
        master.on_hand(page, [0.02, 0.0, 0.0], 0.2, false, ms(300));
        assert_eq!(position(&master, ms(300)), [0.12, 0.0, -0.2]);
    }

    #[test]
    fn a_closed_page_stops_motion_at_once_and_cannot_come_back() {
        let (mut master, page) = live_page();
        master.detach(page, ms(10));
        assert_eq!(master.sample(ms(10)), None);
        assert!(!master.on_hand(page, [0.0; 3], 0.0, false, ms(11)));
        assert_eq!(master.sample(ms(11)), None);
        let next = master.attach();
        assert_eq!(master.sample(ms(12)), None, "a new page must speak first");
        assert!(master.on_hand(next, [0.0; 3], 0.0, false, ms(12)));
        assert!(master.sample(ms(12)).is_some());
    }

    #[test]
    fn only_the_newest_page_drives() {
        let (mut master, old) = live_page();
        let new = master.attach();
        assert!(!master.on_hand(old, [0.3, 0.0, 0.0], 0.0, false, ms(1)));
        assert!(master.on_hand(new, [0.0, 0.01, 0.0], 0.0, false, ms(1)));
        assert_eq!(position(&master, ms(1)), [0.1, 0.01, -0.2]);
        master.detach(old, ms(2));
        assert!(
            master.sample(ms(2)).is_some(),
            "the old page closing stops nothing"
        );
    }

    #[test]
    fn the_clutch_holds_the_master_and_the_tool_does_not_jump_on_release() {
        let (mut master, page) = live_page();
        master.on_hand(page, [0.01, 0.0, 0.0], 0.0, false, ms(1));
        master.on_hand(page, [0.01, 0.0, 0.0], 0.0, true, ms(2));
        master.on_hand(page, [0.05, 0.02, 0.0], 0.0, true, ms(3));
        assert!(master.clutched());
        assert_eq!(
            position(&master, ms(3)),
            [0.11, 0.0, -0.2],
            "clutched: still"
        );
        master.on_hand(page, [0.05, 0.02, 0.0], 0.0, false, ms(4));
        assert_eq!(
            position(&master, ms(4)),
            [0.11, 0.0, -0.2],
            "released: no jump"
        );
        master.on_hand(page, [0.06, 0.02, 0.0], 0.0, false, ms(5));
        assert_eq!(position(&master, ms(5)), [0.12, 0.0, -0.2]);
    }

    #[test]
    fn page_messages_decode_and_nonsense_is_refused() {
        assert_eq!(
            PageMessage::decode(r#"{"t":"hand","p":[0.01,0,-0.02],"jaw":0.3,"clutch":true}"#),
            Ok(PageMessage::Hand {
                position: [0.01, 0.0, -0.02],
                jaw_rad: 0.3,
                clutch: true
            })
        );
        assert_eq!(
            PageMessage::decode(r#"{"t":"action","command":"engage"}"#),
            Ok(PageMessage::Action(OperatorAction::Engage))
        );
        assert_eq!(
            PageMessage::decode(r#"{"t":"hand","p":[2,0,0]}"#),
            Err(BrowserInputError::BadHand)
        );
        assert_eq!(
            PageMessage::decode(r#"{"t":"hand","p":[0,0,0],"jaw":9}"#),
            Err(BrowserInputError::BadJaw)
        );
        assert!(matches!(
            PageMessage::decode(r#"{"t":"action","command":"fly"}"#),
            Err(BrowserInputError::BadCommand(_))
        ));
        assert!(PageMessage::decode("{").is_err());
        assert!(PageMessage::decode(r#"{"t":"hand","p":[0,0,0],"x":1}"#).is_err());
        assert_eq!(
            PageMessage::decode(&"x".repeat(MAX_MESSAGE_LEN + 1)),
            Err(BrowserInputError::TooLong)
        );
    }
}
