//! The hub's live picture of the ward: patient tracker, alert engine, devices and ambulances,
//! plus the event stream pushed to connected clients. Every alert change is committed to the
//! alert journal before it is handed on to be pushed or paged.

use crate::ecg_streams::Analysis;
use crate::ecg_strips::EcgStrips;
use crate::recent::{RecentSeqs, Seen};
use serde::Serialize;
use std::collections::BTreeMap;
use store::{
    ActionKind, AlertStore, Fence, JournalChange, NewAudit, QueuedAction, Settlement, StoreError,
    audit,
};
use vitals::alerts::{AlertEngine, AlertEvent, EventKind, Rule};
use vitals::geo::{self, LatLon};
use vitals::payload::{Position, Rejection};
use vitals::reading_window::ReadingWindow;
use vitals::tracker::{PatientSummary, PatientTracker};
use vitals::{Measurement, News2};

/// What the hub pushes to clients (server-sent events on `/api/events`).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HubEvent {
    Alert(Box<AlertEvent>),
    IngestError {
        topic: String,
        reason: &'static str,
        detail: String,
    },
    Device {
        device: String,
        online: bool,
    },
}

/// A device as the hub last heard of it.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceInfo {
    pub patient: Option<String>,
    pub online: bool,
    pub last_seen_ms: i64,
}

/// An ambulance on its way, with the NEWS2 of its patient.
#[derive(Debug, Clone, Serialize)]
pub struct Incoming {
    pub unit: String,
    pub patient: String,
    pub position: LatLon,
    pub speed_mps: f64,
    pub eta_s: f64,
    pub updated_ms: i64,
    pub news2: Option<News2>,
}

/// Tracker + alert engine + device and ambulance tables, behind one lock in the hub.
pub struct Care {
    pub tracker: PatientTracker,
    pub engine: AlertEngine,
    pub devices: BTreeMap<String, DeviceInfo>,
    ambulances: BTreeMap<String, Ambulance>,
    hospital: LatLon,
    /// Device measurements scored so far (both MQTT connections score; each measurement once).
    scored: RecentSeqs,
    /// Device times believed; readings outside are refused, never scored.
    window: ReadingWindow,
    /// Where alert changes are committed before anyone is told (none in some tests).
    journal: Option<AlertStore>,
    /// The last seconds of each ECG stream, for the dashboard.
    pub strips: EcgStrips,
    /// Among several hubs: this hub's id; alert changes commit only while it holds the shards
    /// of their patients (checked in the journal transaction).
    fence_hub: Option<String>,
}

/// An ambulance's last position, when the hub received it, and its ETA then.
#[derive(Debug, Clone)]
struct Ambulance {
    position: Position,
    received_ms: i64,
    eta_at_fix_s: f64,
    eta_s: f64,
}

/// Closer than this to the hospital, an ambulance has arrived.
pub const ARRIVED_WITHIN_M: f64 = 100.0;

impl Care {
    pub fn new(engine: AlertEngine, hospital: LatLon) -> Self {
        Care {
            tracker: PatientTracker::default(),
            engine,
            devices: BTreeMap::new(),
            ambulances: BTreeMap::new(),
            hospital,
            scored: RecentSeqs::default(),
            window: ReadingWindow::default(),
            journal: None,
            strips: EcgStrips::default(),
            fence_hub: None,
        }
    }

    /// The same as one of several hubs `hub`: alert changes are fenced by the shards' leases.
    pub fn fenced_as(self, hub: &str) -> Self {
        Care {
            fence_hub: Some(hub.to_string()),
            ..self
        }
    }

    /// The same, committing every alert change to `journal` before it is pushed or paged.
    pub fn with_journal(self, journal: AlertStore) -> Self {
        Care {
            journal: Some(journal),
            ..self
        }
    }

    /// The alert journal, when there is one.
    pub fn journal(&self) -> Option<&AlertStore> {
        self.journal.as_ref()
    }

    /// Appends an action a person took to the audit trail in the journal (committed when this
    /// returns). Without a journal (some tests) nothing is kept.
    pub fn audit(&mut self, entry: NewAudit) -> Result<(), StoreError> {
        match &mut self.journal {
            Some(journal) => journal.append_audit(entry).map(|_| ()),
            None => Ok(()),
        }
    }

    /// A stored measurement replayed at start: the patient's tracker takes it (so NEWS2 goes on
    /// from the readings before the restart) and it counts as scored; no alert rule runs on it.
    pub fn replay(&mut self, m: &Measurement) {
        self.scored.offer(&m.device, m.seq, m.time_ms);
        self.tracker.observe(m);
    }

    /// The same, with readings refused outside `window` (the default: 30 s ahead, 24 h old).
    pub fn with_reading_window(self, window: ReadingWindow) -> Self {
        Care { window, ..self }
    }

    fn seen(&mut self, device: &str, patient: Option<&str>, online: bool, now: i64) -> bool {
        // Looked up by &str first, so a reading from a known device allocates nothing.
        let Some(info) = self.devices.get_mut(device) else {
            let first = DeviceInfo {
                patient: patient.map(str::to_string),
                online,
                last_seen_ms: now,
            };
            self.devices.insert(device.to_string(), first);
            return true;
        };
        let changed = info.online != online;
        info.online = online;
        info.last_seen_ms = now;
        if let Some(patient) = patient
            && info.patient.as_deref() != Some(patient)
        {
            info.patient = Some(patient.to_string());
        }
        changed
    }

    /// A device measurement from either MQTT connection: refused when stamped outside the
    /// reading window at `now` (then nothing about the patient changes), otherwise scored (as
    /// [`Care::measurement`]) the first time its `(device, seq)` comes in the device's current
    /// boot, ignored after that.
    pub fn score_new(
        &mut self,
        m: &Measurement,
        now: i64,
        out: &mut Vec<HubEvent>,
    ) -> Result<Seen, Rejection> {
        self.window.check(m, now)?;
        let seen = self.scored.offer(&m.device, m.seq, m.time_ms);
        if seen.is_new() {
            self.measurement(m, now, out);
        }
        Ok(seen)
    }

    /// A measurement: scores it and runs the alert rules.
    pub fn measurement(&mut self, m: &Measurement, now: i64, out: &mut Vec<HubEvent>) {
        if self.seen(&m.device, Some(&m.patient), true, now) {
            out.push(HubEvent::Device {
                device: m.device.clone(),
                online: true,
            });
        }
        let assessment = self.tracker.observe(m);
        self.engine.handle_assessment(&assessment, now);
    }

    /// An analysed ECG chunk: the stream is alive (a heartbeat of its stream device), its heart
    /// rates are scored like any measurement, its rhythm and electrode alerts are applied.
    pub fn ecg(&mut self, analysis: &Analysis, now: i64, out: &mut Vec<HubEvent>) {
        let stream = analysis.key.stream_device();
        self.heartbeat(&stream, Some(&analysis.key.patient), now, out);
        if !analysis.duplicate {
            self.strips
                .push(&stream, &analysis.key.patient, &analysis.chunk);
        }
        for m in &analysis.heart_rates {
            self.measurement(m, now, out);
        }
        for change in &analysis.alerts {
            let condition = change.condition.clone();
            self.engine
                .handle_condition(change.rule, &change.subject, condition, now);
        }
    }

    /// A status message (or last will).
    pub fn status(
        &mut self,
        device: &str,
        online: bool,
        patient: Option<&str>,
        now: i64,
        out: &mut Vec<HubEvent>,
    ) {
        if self.seen(device, patient, online, now) {
            out.push(HubEvent::Device {
                device: device.to_string(),
                online,
            });
        }
        self.engine.handle_status(device, online, patient, now);
    }

    /// A heartbeat.
    pub fn heartbeat(
        &mut self,
        device: &str,
        patient: Option<&str>,
        now: i64,
        out: &mut Vec<HubEvent>,
    ) {
        if self.seen(device, patient, true, now) {
            out.push(HubEvent::Device {
                device: device.to_string(),
                online: true,
            });
        }
        self.engine.handle_heartbeat(device, patient, now);
    }

    /// An ambulance position received at `now`: the ETA is computed against the hospital and
    /// counts down from there until the next position; at the hospital the unit has arrived.
    pub fn position(&mut self, unit: &str, position: Position, now: i64) {
        let here = LatLon {
            lat: position.lat,
            lon: position.lon,
        };
        if geo::distance_m(here, self.hospital) <= ARRIVED_WITHIN_M {
            self.ambulances.remove(unit);
            return;
        }
        let eta = geo::eta_s(here, self.hospital, position.speed_mps);
        let ambulance = Ambulance {
            position,
            received_ms: now,
            eta_at_fix_s: eta,
            eta_s: eta,
        };
        self.ambulances.insert(unit.to_string(), ambulance);
    }

    /// Runs the alert timers, marks silent devices offline, counts the ambulances' ETAs down
    /// and takes those whose ETA ran out off the incoming list.
    pub fn tick(&mut self, now: i64) {
        if self.engine.poll_timeout().is_some_and(|t| t <= now) {
            self.engine.handle_timeout(now);
        }
        self.ambulances.retain(|_, a| {
            let driven_s = (now - a.received_ms).max(0) as f64 / 1000.0;
            a.eta_s = a.eta_at_fix_s - driven_s;
            a.eta_s > 0.0
        });
    }

    /// Moves alert events from the engine to `out`, after committing them to the journal (one
    /// transaction). A device-offline alert (last will or silence) also marks the device offline.
    /// Should the commit fail, the events are still handed on (paging is not held back by a
    /// broken disk) and the failure is logged.
    pub fn drain_alerts(&mut self, out: &mut Vec<HubEvent>) {
        match self.drain(out, None, None) {
            Ok(()) | Err(StoreError::NotOwner { .. }) => {}
            Err(e) => tracing::error!("alert changes not committed to the alert journal: {e}"),
        }
    }

    /// The same after a person's action: `audit` is committed in the same transaction as the
    /// alert changes it caused, and a failed commit is returned (the events are handed on).
    pub fn drain_alerts_audited(
        &mut self,
        out: &mut Vec<HubEvent>,
        audit: NewAudit,
    ) -> Result<(), StoreError> {
        self.drain(out, Some(audit), None)
    }

    /// Applies an action asked at another hub on an alert of a patient this hub owns, as the
    /// person who asked, and settles it (applied, or refused with why) in the same journal
    /// transaction as the alert change and its audit row; the alert events go to `out`.
    pub fn apply_queued(
        &mut self,
        action: &QueuedAction,
        hub: &str,
        now: i64,
        out: &mut Vec<HubEvent>,
    ) -> Result<(), StoreError> {
        let (id, by) = (action.alert_id, action.actor.as_str());
        let audit_action = audit_name(action.kind);
        let result = act(&mut self.engine, action.kind, id, by, now);
        let asked = format!("asked at hub {}, applied by hub {hub}", action.asked_at_hub);
        let (outcome, refused) = match result {
            Ok(()) => (format!("success ({asked})"), None),
            Err(e) => {
                let not_found = matches!(e, vitals::alerts::AlertError::NotFound(_));
                (
                    format!("refused: {e} ({asked})"),
                    Some((e.to_string(), not_found)),
                )
            }
        };
        let audit = NewAudit {
            at_ms: now,
            actor: action.actor.clone(),
            account: action.account.clone(),
            action: audit_action.to_string(),
            entity_type: "alert".into(),
            entity: id.to_string(),
            outcome,
        };
        let settles = Settlement {
            action: action.id,
            hub: hub.to_string(),
            at_ms: now,
            refused,
        };
        self.drain(out, Some(audit), Some(settles))
    }

    fn drain(
        &mut self,
        out: &mut Vec<HubEvent>,
        audit: Option<NewAudit>,
        settles: Option<Settlement>,
    ) -> Result<(), StoreError> {
        let mut drained = Vec::new();
        while let Some(event) = self.engine.poll_output() {
            drained.push(event);
        }
        let committed = self.commit(&mut drained, audit, settles);
        if let Err(StoreError::NotOwner { .. }) = &committed {
            return committed;
        }
        for event in drained {
            let offline =
                event.kind == EventKind::Raised && event.alert.rule == Rule::DeviceOffline;
            if offline
                && let Some(info) = self.devices.get_mut(&event.alert.subject)
                && info.online
            {
                info.online = false;
                let device = event.alert.subject.clone();
                out.push(HubEvent::Device {
                    device,
                    online: false,
                });
            }
            out.push(HubEvent::Alert(Box::new(event)));
        }
        committed
    }

    /// Commits `drained` with `audit` and `settles` to the journal. Among several hubs the
    /// commit is fenced by the leases of the events' shards: if some were taken over meanwhile,
    /// a person's action (audit or settlement) fails whole (its caller is told, or the queued
    /// action stays for the new owner), while the events of the shards still held are committed
    /// again without the lost ones, which are dropped from `drained` (the new owner raises them).
    fn commit(
        &mut self,
        drained: &mut Vec<AlertEvent>,
        audit: Option<NewAudit>,
        settles: Option<Settlement>,
    ) -> Result<(), StoreError> {
        let Some(journal) = &mut self.journal else {
            return Ok(());
        };
        if drained.is_empty() && audit.is_none() && settles.is_none() {
            return Ok(());
        }
        let persons_action = audit.is_some() || settles.is_some();
        let (mut audit, mut settles) = (audit, settles);
        loop {
            let events: Vec<&AlertEvent> = drained.iter().collect();
            let baselines: Vec<(&str, Option<u8>)> = drained
                .iter()
                .filter(|e| e.alert.rule == Rule::News2)
                .map(|e| {
                    let patient = e.alert.subject.as_str();
                    (patient, self.engine.news2_baseline(patient))
                })
                .collect();
            let fence = self.fence_hub.as_ref().map(|hub| Fence {
                hub: hub.clone(),
                shards: shards_of(drained),
            });
            let committed = journal.commit(JournalChange {
                events: &events,
                news2_baselines: &baselines,
                audit: audit.take(),
                settles: settles.take(),
                fence,
            });
            let Err(StoreError::NotOwner { shards, .. }) = &committed else {
                return committed;
            };
            let before = drained.len();
            drained.retain(|e| !shards.contains(&patient_shard(&e.alert)));
            tracing::warn!(
                ?shards,
                dropped = before - drained.len(),
                "alert changes of shards another hub took over: not committed, not pushed"
            );
            if persons_action || drained.is_empty() {
                drained.clear();
                return committed;
            }
        }
    }

    /// Ambulances on their way, soonest arrival first.
    pub fn incoming(&self) -> Vec<Incoming> {
        let mut list: Vec<Incoming> = self
            .ambulances
            .iter()
            .map(|(unit, a)| Incoming {
                unit: unit.clone(),
                patient: a.position.patient.clone(),
                position: LatLon {
                    lat: a.position.lat,
                    lon: a.position.lon,
                },
                speed_mps: a.position.speed_mps,
                eta_s: a.eta_s,
                updated_ms: a.position.time_ms,
                news2: self
                    .tracker
                    .summary(&a.position.patient)
                    .and_then(|s| s.news2),
            })
            .collect();
        list.sort_by(|a, b| a.eta_s.total_cmp(&b.eta_s));
        list
    }

    /// Every patient with latest vitals and NEWS2.
    pub fn patients(&self) -> Vec<PatientSummary> {
        self.tracker.summaries()
    }

    /// Devices currently online.
    pub fn devices_online(&self) -> usize {
        self.devices.values().filter(|d| d.online).count()
    }
}

/// The audit trail's name of a person's alert action.
pub fn audit_name(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::Acknowledge => audit::action::ALERT_ACKNOWLEDGED,
        ActionKind::Snooze(_) => audit::action::ALERT_SNOOZED,
        ActionKind::Escalate => audit::action::ALERT_ESCALATED,
    }
}

/// Takes a person's alert action on `engine` as `by` at `now` (at the hub that was asked, or at
/// the owner it was queued for).
pub fn act(
    engine: &mut vitals::alerts::AlertEngine,
    kind: ActionKind,
    id: u64,
    by: &str,
    now: i64,
) -> Result<(), vitals::alerts::AlertError> {
    match kind {
        ActionKind::Acknowledge => engine.acknowledge(id, by, now),
        ActionKind::Snooze(for_ms) => engine.snooze(id, by, for_ms, now),
        ActionKind::Escalate => engine.escalate(id, by, now),
    }
}

/// The shard of an alert's patient (or, for a device alert without one, of its subject).
fn patient_shard(alert: &vitals::alerts::Alert) -> u16 {
    crate::ownership::shard_of(alert.patient.as_deref().unwrap_or(&alert.subject))
}

/// The shards of the patients (or, for device alerts without one, the subjects) of `events`.
fn shards_of(events: &[AlertEvent]) -> Vec<u16> {
    let mut shards: Vec<u16> = events.iter().map(|e| patient_shard(&e.alert)).collect();
    shards.sort_unstable();
    shards.dedup();
    shards
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitals::Vitals;
    use vitals::alerts::AlertConfig;

    fn red_score(seq: u64) -> Measurement {
        Measurement {
            device: "d-1".into(),
            patient: "p-1".into(),
            seq,
            time_ms: 1_000 * seq as i64,
            vitals: Vitals {
                heart_rate: Some(140.0),
                ..Vitals::default()
            },
        }
    }

    #[test]
    fn a_measurement_from_both_connections_is_scored_once() {
        let hospital = LatLon { lat: 0.0, lon: 0.0 };
        let mut care = Care::new(AlertEngine::new(AlertConfig::default()), hospital);
        let mut events = Vec::new();
        let mut scored =
            |m: Measurement, now| care.score_new(&m, now, &mut events).map(Seen::is_new);
        assert_eq!(scored(red_score(1), 1_000), Ok(true));
        assert_eq!(scored(red_score(1), 1_005), Ok(false));
        assert_eq!(scored(red_score(2), 2_000), Ok(true));
        care.drain_alerts(&mut events);
        let raised = events
            .iter()
            .filter(|e| matches!(e, HubEvent::Alert(a) if a.kind == EventKind::Raised))
            .count();
        assert_eq!(raised, 1, "{events:?}");
    }
}
