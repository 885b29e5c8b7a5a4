//! The dashboard's live stream, `GET /api/dashboard/events` (server-sent events): the hub's own
//! events as they happen (`hub`: alerts, devices, refused readings, the same JSON as
//! `/api/events`), and every [`FEED_PERIOD`] what changed on the ward since this client's last
//! look: a patient's summary (`patient`), the incoming ambulances (`incoming`), new ECG signal
//! with its beats (`ecg`).

use crate::Shared;
use crate::auth::Principal;
use crate::care::{Care, HubEvent, Incoming};
use crate::ecg_strips::{StripCursor, StripUpdate};
use axum::Extension;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use vitals::tracker::PatientSummary;

/// How often a client is sent what changed on the ward.
pub const FEED_PERIOD: Duration = Duration::from_millis(250);

/// A change on the ward, as one server-sent event.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum WardChange {
    Patient(PatientSummary),
    Incoming(Vec<Incoming>),
    Ecg(StripUpdate),
}

impl WardChange {
    /// The event name the page listens for.
    pub fn name(&self) -> &'static str {
        match self {
            WardChange::Patient(_) => "patient",
            WardChange::Incoming(_) => "incoming",
            WardChange::Ecg(_) => "ecg",
        }
    }
}

/// What one client has been sent so far.
#[derive(Debug, Default)]
pub struct FeedCursor {
    /// Each patient's summary as last sent (its JSON).
    patients: HashMap<String, String>,
    /// The incoming list as last sent: unit, time of its position, patient's NEWS2.
    incoming: Option<Vec<(String, i64, Option<u8>)>>,
    strips: BTreeMap<String, StripCursor>,
}

impl FeedCursor {
    /// What changed on `care` since the last call (everything, the first time). The incoming
    /// list is sent when a unit comes, goes, moves or its patient's NEWS2 changes; the page
    /// counts the ETAs down between.
    pub fn changes(&mut self, care: &Care) -> Vec<WardChange> {
        let mut changes = Vec::new();
        for summary in care.patients() {
            let json = serde_json::to_string(&summary).unwrap_or_default();
            if self.patients.get(&summary.patient) != Some(&json) {
                self.patients.insert(summary.patient.clone(), json);
                changes.push(WardChange::Patient(summary));
            }
        }
        let incoming = care.incoming();
        let key: Vec<_> = incoming
            .iter()
            .map(|i| (i.unit.clone(), i.updated_ms, i.news2.map(|n| n.aggregate)))
            .collect();
        if self.incoming.as_ref() != Some(&key) {
            self.incoming = Some(key);
            changes.push(WardChange::Incoming(incoming));
        }
        let strips = care.strips.read(&mut self.strips);
        changes.extend(strips.into_iter().map(WardChange::Ecg));
        changes
    }
}

/// The stream of one client: a task of its own feeds it until the client goes away.
/// It ends when the caller's session or token does ([`super::stream_guard`]).
pub async fn events(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Principal>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(feed(shared.clone(), tx));
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|event| (Ok(event), rx))
    });
    let stream = super::stream_guard::while_signed_in(shared, caller, stream);
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn feed(shared: Arc<Shared>, tx: mpsc::Sender<Event>) {
    let mut hub = shared.events.subscribe();
    let mut tick = tokio::time::interval(FEED_PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut cursor = FeedCursor::default();
    loop {
        let events = tokio::select! {
            _ = tx.closed() => return,
            received = hub.recv() => match received {
                Ok(event) => vec![hub_event(&event)],
                Err(RecvError::Lagged(n)) => vec![Event::default().event("lagged").data(n.to_string())],
                Err(RecvError::Closed) => return,
            },
            _ = tick.tick() => {
                let Ok(care) = shared.care.lock() else { return };
                let changes = cursor.changes(&care);
                drop(care);
                changes.iter().map(ward_event).collect()
            }
        };
        for event in events {
            if tx.send(event).await.is_err() {
                return;
            }
        }
    }
}

fn hub_event(event: &HubEvent) -> Event {
    Event::default()
        .event("hub")
        .json_data(event)
        .unwrap_or_else(|_| Event::default().comment("unserialisable event"))
}

fn ward_event(change: &WardChange) -> Event {
    Event::default()
        .event(change.name())
        .json_data(change)
        .unwrap_or_else(|_| Event::default().comment("unserialisable change"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecg::EcgChunk;
    use vitals::alerts::{AlertConfig, AlertEngine};
    use vitals::geo::LatLon;
    use vitals::{Measurement, Vitals};

    fn care() -> Care {
        let hospital = LatLon {
            lat: 51.5,
            lon: -0.1,
        };
        Care::new(AlertEngine::new(AlertConfig::default()), hospital)
    }

    fn reading(patient: &str, seq: u64, heart_rate: f64) -> Measurement {
        Measurement {
            device: format!("d-{patient}"),
            patient: patient.into(),
            seq,
            time_ms: 1_000 * seq as i64,
            vitals: Vitals {
                heart_rate: Some(heart_rate),
                ..Vitals::default()
            },
        }
    }

    fn names(changes: &[WardChange]) -> Vec<String> {
        changes
            .iter()
            .map(|c| match c {
                WardChange::Patient(p) => format!("patient {}", p.patient),
                WardChange::Incoming(list) => format!("incoming {}", list.len()),
                WardChange::Ecg(strip) => format!("ecg {}", strip.stream),
            })
            .collect()
    }

    #[test]
    fn a_client_is_sent_what_changed_once() {
        let mut care = care();
        let mut out = Vec::new();
        care.measurement(&reading("p-1", 1, 80.0), 1_000, &mut out);
        care.measurement(&reading("p-2", 1, 80.0), 1_000, &mut out);
        let mut cursor = FeedCursor::default();
        let mut first = names(&cursor.changes(&care));
        first.sort();
        assert_eq!(first, ["incoming 0", "patient p-1", "patient p-2"]);
        assert!(cursor.changes(&care).is_empty(), "nothing changed");

        care.measurement(&reading("p-2", 2, 140.0), 2_000, &mut out);
        let changes = cursor.changes(&care);
        assert_eq!(names(&changes), ["patient p-2"]);
        let WardChange::Patient(p2) = &changes[0] else {
            unreachable!()
        };
        assert_eq!(p2.news2.map(|n| n.aggregate), Some(3));

        let chunk = EcgChunk {
            sequence: 0,
            first_sample_time_ms: 0,
            sample_rate_hz: 250.0,
            samples_mv: vec![0.0; 250],
        };
        care.strips.push("h-1.ecg.II", "p-1", &chunk);
        assert_eq!(names(&cursor.changes(&care)), ["ecg h-1.ecg.II"]);
        assert!(cursor.changes(&care).is_empty());

        // A second client starts from everything.
        assert_eq!(FeedCursor::default().changes(&care).len(), 4);
    }

    #[test]
    fn an_ambulance_is_sent_when_it_moves_not_as_its_eta_counts_down() {
        let mut care = care();
        let mut cursor = FeedCursor::default();
        let _ = cursor.changes(&care);
        let position = |time_ms| vitals::payload::Position {
            patient: "p-9".into(),
            lat: 51.6,
            lon: -0.1,
            speed_mps: 15.0,
            time_ms,
        };
        care.position("amb-1", position(1_000), 1_000);
        assert_eq!(names(&cursor.changes(&care)), ["incoming 1"]);
        care.tick(5_000);
        assert!(
            cursor.changes(&care).is_empty(),
            "the page counts down itself"
        );
        care.position("amb-1", position(6_000), 6_000);
        assert_eq!(names(&cursor.changes(&care)), ["incoming 1"]);
    }
}
