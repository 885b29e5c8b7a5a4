//! Several hubs, one ward (docs/hub.md, "Several hubs"): the lease thread, patient-affine
//! routing over the one broker, and takeover.
//!
//! Every [`LeaseTimes::renew_every_ms`] the lease thread says the hub is alive, reads the lease
//! table, lets the pure core ([`crate::ownership::plan`]) decide, and applies the claims,
//! renewals and releases with conditional updates ([`store::Leases`]). For a shard it gains it
//! first takes over (the shard's unresolved alerts and NEWS2 baselines from the journal, its
//! patients' recent readings into the tracker, their SpO2 scales), only then trusts the shard
//! (readings of its patients are scored from then on) and subscribes, on both MQTT connections,
//! to the topics of the devices registered to its patients. For a shard it loses (released,
//! taken, or its trust ran out because renewals failed) it stops scoring at once, forgets the
//! shard's alerts silently and unsubscribes. A reading of a patient the hub does not own that
//! still arrives (a subscription on its way out) is PUBACK'd to the broker but neither stored
//! nor confirmed: its device sends it again, and the owner takes it.
//!
//! The alert events other hubs commit reach this hub's live streams too (`/api/events`, the
//! dashboard): a feed thread follows the journal ([`store::AlertStore::events_after`]) and pushes
//! the events of alerts whose patient this hub does not own, with the alert's latest state.

use crate::care::HubEvent;
use crate::ownership::{self, Held, LeaseTimes, SHARDS, Shard, shard_of};
use crate::{Shared, now_ms, topics};
use rumqttc::{AsyncClient, QoS, SubscribeFilter};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use store::{AlertStore, LeaseRound, Leases, Store, StoreError};
use vitals::SpO2Scale;
use vitals::alerts::{AlertEvent, EventKind};
use vitals::tracker::DEFAULT_FRESH_FOR_MS;

/// Alert ids reserved at once; a new block is reserved when fewer than half are left.
const ID_BLOCK: u64 = 10_000;

/// Queued alert actions read at once (every 100 ms).
const QUEUED_PER_ROUND: usize = 64;

/// Filters per SUBSCRIBE packet (each well under the broker's packet limit).
const FILTERS_PER_PACKET: usize = 200;

/// The two MQTT connections of a hub behind an external broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// The durable connection: stores, acknowledges, scores what the fast path missed.
    Durable,
    /// The alert fast path: vitals only, scored on arrival.
    Fast,
}

/// One connection's client and what it is subscribed to.
#[derive(Default)]
struct Subscriber {
    client: Option<AsyncClient>,
    subscribed: BTreeSet<String>,
}

/// What the hub wants to hear and what each connection holds.
#[derive(Default)]
struct Routes {
    want: BTreeSet<String>,
    durable: Subscriber,
    fast: Subscriber,
}

/// Counters shown on `/metrics` and in `medlink bench hub --hubs`.
#[derive(Default)]
pub struct ClusterStats {
    /// Shards gained (taken over) since start.
    pub gained: AtomicU64,
    /// Shards lost (released, taken, or trust run out) since start.
    pub lost: AtomicU64,
    /// Publishes of patients this hub does not own: PUBACK'd, not stored, not confirmed.
    pub not_owned: AtomicU64,
    /// Milliseconds the last takeover took (reading the journal and the readings, replaying).
    pub last_takeover_ms: AtomicU64,
}

/// This hub's place among the hubs of a ward.
pub struct Cluster {
    pub hub_id: String,
    pub times: LeaseTimes,
    /// Per shard: until when (hub clock, ms) this hub may score its patients; 0 when not held.
    trusted_until: [AtomicI64; SHARDS as usize],
    routes: Mutex<Routes>,
    /// Each shard's owner as the last lease round read it: (hub, its HTTP address).
    owners: Mutex<std::collections::BTreeMap<Shard, (String, String)>>,
    pub stats: ClusterStats,
}

impl Cluster {
    pub fn new(hub_id: String, times: LeaseTimes) -> Cluster {
        Cluster {
            hub_id,
            times,
            trusted_until: std::array::from_fn(|_| AtomicI64::new(0)),
            routes: Mutex::default(),
            owners: Mutex::default(),
            stats: ClusterStats::default(),
        }
    }

    /// Whether this hub owns `patient` at `now` (may score it, raise and change its alerts).
    pub fn owns(&self, patient: &str, now: i64) -> bool {
        now < self.trusted_until[shard_of(patient) as usize].load(Ordering::Acquire)
    }

    /// The shards held now.
    pub fn shards(&self, now: i64) -> Vec<Shard> {
        (0..SHARDS)
            .filter(|s| now < self.trusted_until[*s as usize].load(Ordering::Acquire))
            .collect()
    }

    /// The hub that owned `patient` at the last lease round, and its HTTP address.
    pub fn owner_of(&self, patient: &str) -> Option<(String, String)> {
        let owners = self.owners.lock().unwrap_or_else(PoisonError::into_inner);
        owners.get(&shard_of(patient)).cloned()
    }

    /// Counts a publish of a patient this hub does not own.
    pub fn refuse_not_owned(&self) {
        self.stats.not_owned.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection (re)connected: its subscriptions are gone (clean session), so it subscribes
    /// to everything wanted now.
    pub fn connected(&self, link: Link, client: &AsyncClient) {
        let mut routes = self.routes.lock().unwrap_or_else(PoisonError::into_inner);
        let routes = &mut *routes;
        let sub = match link {
            Link::Durable => &mut routes.durable,
            Link::Fast => &mut routes.fast,
        };
        sub.client = Some(client.clone());
        sub.subscribed.clear();
        sync(sub, &routes.want, link);
    }

    /// Sets what the hub wants to hear and brings both connections there.
    fn route(&self, want: BTreeSet<String>) {
        let mut routes = self.routes.lock().unwrap_or_else(PoisonError::into_inner);
        routes.want = want;
        let routes = &mut *routes;
        sync(&mut routes.durable, &routes.want, Link::Durable);
        sync(&mut routes.fast, &routes.want, Link::Fast);
    }

    /// How many filters the durable connection holds.
    pub fn subscriptions(&self) -> usize {
        let routes = self.routes.lock().unwrap_or_else(PoisonError::into_inner);
        routes.durable.subscribed.len()
    }
}

/// The filters of one registered device of an owned patient.
fn filters(device: &str, patient: &str) -> [String; 5] {
    [
        topics::vitals(device),
        topics::status(device),
        topics::heartbeat(device),
        topics::position(device),
        topics::ecg(patient, device, "+"),
    ]
}

/// Subscribes and unsubscribes `sub` to what `want` says (the fast path: vitals only).
fn sync(sub: &mut Subscriber, want: &BTreeSet<String>, link: Link) {
    let Some(client) = &sub.client else { return };
    let wanted: BTreeSet<&String> = want
        .iter()
        .filter(|f| link == Link::Durable || f.ends_with("/vitals"))
        .collect();
    let add: Vec<String> = wanted
        .iter()
        .filter(|f| !sub.subscribed.contains(**f))
        .map(|f| (*f).clone())
        .collect();
    let drop: Vec<String> = sub
        .subscribed
        .iter()
        .filter(|f| !wanted.contains(f))
        .cloned()
        .collect();
    for chunk in add.chunks(FILTERS_PER_PACKET) {
        let filters = chunk
            .iter()
            .map(|f| SubscribeFilter::new(f.clone(), QoS::AtLeastOnce));
        match client.try_subscribe_many(filters) {
            Ok(()) => sub.subscribed.extend(chunk.iter().cloned()),
            Err(e) => tracing::warn!(?link, "subscribing: {e} (retried next round)"),
        }
    }
    for filter in drop {
        match client.try_unsubscribe(filter.clone()) {
            Ok(()) => {
                sub.subscribed.remove(&filter);
            }
            Err(e) => tracing::warn!(?link, "unsubscribing: {e} (retried next round)"),
        }
    }
}

/// The store connections the lease thread reads and writes through.
pub struct LeaseStores {
    pub leases: Leases,
    pub journal: AlertStore,
    pub reader: Store,
}

/// The lease thread's state.
struct LeaseLoop {
    shared: Arc<Shared>,
    cluster: Arc<Cluster>,
    stores: LeaseStores,
    held: Held,
    http: String,
    ids_end: u64,
    /// Each hub's HTTP address as the last round read the membership.
    members_http: Vec<(String, String)>,
    /// The registrations as last read, and the store's registrations version then (read again
    /// only when the version moved: one small query a round instead of a full scan).
    registrations: Vec<store::Registration>,
    registrations_version: Option<i64>,
}

/// Reserves the hub's first block of alert ids and starts the lease thread, and the feed thread
/// on `feed` (a connection of its own to the journal).
pub fn start(
    shared: Arc<Shared>,
    cluster: Arc<Cluster>,
    mut stores: LeaseStores,
    feed: AlertStore,
    http: String,
) -> Result<(), StoreError> {
    let follower = Follower {
        shared: shared.clone(),
        cluster: cluster.clone(),
        journal: feed,
    };
    std::thread::Builder::new()
        .name("alert-feed".into())
        .spawn(move || follower.run())
        .map_err(|e| StoreError::Corrupt(format!("starting the alert feed thread: {e}")))?;
    let start = stores.leases.reserve_alert_ids(ID_BLOCK)?;
    if let Ok(mut care) = shared.care.lock() {
        care.engine.continue_ids_at(start);
    }
    let lease = LeaseLoop {
        shared,
        cluster,
        stores,
        held: Held::default(),
        http,
        ids_end: start + ID_BLOCK,
        members_http: Vec::new(),
        registrations: Vec::new(),
        registrations_version: None,
    };
    std::thread::Builder::new()
        .name("leases".into())
        .spawn(move || lease.run())
        .map_err(|e| StoreError::Corrupt(format!("starting the lease thread: {e}")))?;
    Ok(())
}

impl LeaseLoop {
    fn run(mut self) {
        let every = self.cluster.times.renew_every_ms;
        let mut next_round = 0;
        loop {
            let now = now_ms();
            let expired = self.held.expire(now);
            if !expired.is_empty() {
                tracing::error!(
                    shards = ?expired,
                    "leases not renewed in time (store out of reach?): their patients are no longer scored here"
                );
                self.lose(&expired);
            }
            if now >= next_round {
                next_round = now + every;
                if let Err(e) = self.round(now) {
                    tracing::warn!("lease round: {e}");
                }
            }
            if let Err(e) = self.apply_queued() {
                tracing::warn!("applying alert actions asked at other hubs: {e}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn round(&mut self, now: i64) -> Result<(), StoreError> {
        let (hub, times) = (self.cluster.hub_id.clone(), self.cluster.times);
        self.stores.leases.heartbeat(&hub, &self.http, now)?;
        let (rows, members) = self.stores.leases.view()?;
        self.members_http = members
            .iter()
            .map(|m| (m.hub.clone(), m.http.clone()))
            .collect();
        let leases: Vec<ownership::Lease> = rows
            .into_iter()
            .map(|r| ownership::Lease {
                shard: r.shard,
                owner: r.owner,
                expires_ms: r.expires_ms,
            })
            .collect();
        let members: Vec<ownership::Member> = members
            .into_iter()
            .map(|m| ownership::Member {
                hub: m.hub,
                seen_ms: m.seen_ms,
            })
            .collect();
        self.remember_owners(&leases, now);
        let plan = ownership::plan(&hub, &leases, &members, now, &times);
        // Stop scoring what is given back before the store says it is free.
        self.lose(&plan.release);
        let round = LeaseRound {
            renew: &plan.renew,
            claim: &plan.claim,
            release: &plan.release,
            now,
            expires_ms: now + times.expire_after_ms,
        };
        let held = self.stores.leases.apply(&hub, &round)?;
        let change = self.held.confirm(&held, now, &times);
        self.lose(&change.lost);
        if !change.gained.is_empty() {
            let started = std::time::Instant::now();
            let taken = self.take_over(&change.gained, now)?;
            let took = started.elapsed().as_millis() as u64;
            self.cluster
                .stats
                .last_takeover_ms
                .store(took, Ordering::Relaxed);
            self.cluster
                .stats
                .gained
                .fetch_add(change.gained.len() as u64, Ordering::Relaxed);
            tracing::info!(
                shards = ?change.gained, alerts = taken.0, readings = taken.1, took_ms = took,
                "took over shards"
            );
        }
        // Trust every shard held until its new deadline (gained ones only now, after takeover).
        for shard in &held {
            let until = now + times.trust_ms;
            self.cluster.trusted_until[*shard as usize].store(until, Ordering::Release);
        }
        self.route()?;
        self.refill_ids()
    }

    /// Applies the actions people asked at other hubs on alerts of patients this hub owns
    /// (each settled once, with its alert change and audit row; one whose patient this hub
    /// lost meanwhile stays queued for the new owner).
    fn apply_queued(&mut self) -> Result<(), StoreError> {
        let now = now_ms();
        let pending = self.stores.journal.pending_actions(QUEUED_PER_ROUND)?;
        let ours = pending
            .iter()
            .filter(|a| self.cluster.owns(&a.patient, now));
        for action in ours {
            let mut events = Vec::new();
            let applied = {
                let mut care = self
                    .shared
                    .care
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                care.apply_queued(action, &self.cluster.hub_id, now_ms(), &mut events)
            };
            self.shared.publish_events(events);
            match applied {
                Ok(()) => tracing::info!(
                    action = action.id, alert = action.alert_id, asked_at = %action.asked_at_hub,
                    "applied an alert action asked at another hub"
                ),
                Err(StoreError::NotOwner { .. } | StoreError::AlreadySettled(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Keeps who holds each shard (and where it serves HTTP), for the answers to actions on
    /// alerts this hub does not own.
    fn remember_owners(&self, leases: &[ownership::Lease], now: i64) {
        let http = |hub: &str| {
            self.members_http
                .iter()
                .find(|(h, _)| h == hub)
                .map(|(_, url)| url.clone())
                .unwrap_or_default()
        };
        let owners = leases
            .iter()
            .filter(|l| l.expires_ms > now)
            .filter_map(|l| Some((l.shard, l.owner.clone()?)))
            .map(|(shard, hub)| (shard, (hub.clone(), http(&hub))))
            .collect();
        *self
            .cluster
            .owners
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = owners;
    }

    /// Stops scoring `shards` at once, then forgets their alerts and state silently.
    fn lose(&mut self, shards: &[Shard]) {
        if shards.is_empty() {
            return;
        }
        for shard in shards {
            self.cluster.trusted_until[*shard as usize].store(0, Ordering::Release);
        }
        let set = shard_set(shards);
        if let Ok(mut care) = self.shared.care.lock() {
            let forgotten = care.engine.hand_over(|p| set[shard_of(p) as usize]);
            tracing::info!(shards = ?shards, forgotten, "handed shards over");
        }
        self.cluster
            .stats
            .lost
            .fetch_add(shards.len() as u64, Ordering::Relaxed);
        if let Err(e) = self.route() {
            tracing::warn!("re-routing after a lost shard: {e}");
        }
    }

    /// Loads what the hub needs to own `shards`; returns (alerts, readings) taken in.
    fn take_over(&mut self, shards: &[Shard], now: i64) -> Result<(usize, usize), StoreError> {
        let set = shard_set(shards);
        let ours = |patient: &str| set[shard_of(patient) as usize];
        let alerts: Vec<_> = self
            .stores
            .journal
            .unresolved()?
            .into_iter()
            .filter(|a| ours(a.patient.as_deref().unwrap_or(&a.subject)))
            .collect();
        let baselines: Vec<_> = self
            .stores
            .journal
            .news2_baselines()?
            .into_iter()
            .filter(|(p, _)| ours(p))
            .collect();
        let readings: Vec<_> = self
            .stores
            .reader
            .measurements_since(now.saturating_sub(DEFAULT_FRESH_FOR_MS))?
            .into_iter()
            .filter(|r| ours(&r.measurement.patient))
            .collect();
        let (_, patients) = self.stores.reader.patients(0, usize::MAX >> 1)?;
        let scale2: Vec<String> = patients
            .into_iter()
            .filter(|p| p.spo2_scale == 2 && ours(&p.id))
            .map(|p| p.id)
            .collect();
        let counts = (alerts.len(), readings.len());
        let mut care = self
            .shared
            .care
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        care.engine.take_over(alerts);
        for (patient, aggregate) in baselines {
            care.engine.restore_news2_baseline(&patient, aggregate);
        }
        for patient in &scale2 {
            care.tracker.set_scale(patient, SpO2Scale::Scale2);
        }
        for r in &readings {
            care.replay(&r.measurement);
        }
        Ok(counts)
    }

    /// Subscribes to the devices of the patients of the shards held, and only those.
    fn route(&mut self) -> Result<(), StoreError> {
        let version = self.stores.reader.registrations_version()?;
        if self.registrations_version != Some(version) {
            self.registrations = self.stores.reader.registrations()?;
            self.registrations_version = Some(version);
        }
        let now = now_ms();
        let mut want = BTreeSet::new();
        for r in &self.registrations {
            if self.cluster.owns(&r.patient, now) {
                want.extend(filters(&r.device, &r.patient));
            }
        }
        self.cluster.route(want);
        Ok(())
    }

    /// Reserves a new block of alert ids when fewer than half of the current one are left.
    fn refill_ids(&mut self) -> Result<(), StoreError> {
        let next = self
            .shared
            .care
            .lock()
            .map(|c| c.engine.next_id())
            .unwrap_or(0);
        if next + ID_BLOCK / 2 < self.ids_end {
            return Ok(());
        }
        let start = self.stores.leases.reserve_alert_ids(ID_BLOCK)?;
        if let Ok(mut care) = self.shared.care.lock() {
            care.engine.continue_ids_at(start);
        }
        self.ids_end = start + ID_BLOCK;
        Ok(())
    }
}

fn shard_set(shards: &[Shard]) -> [bool; SHARDS as usize] {
    let mut set = [false; SHARDS as usize];
    for s in shards {
        if let Some(slot) = set.get_mut(*s as usize) {
            *slot = true;
        }
    }
    set
}

impl Cluster {
    /// The cluster's lines for `/metrics` (Prometheus text).
    pub fn render_metrics(&self, now: i64) -> String {
        use std::fmt::Write;
        let stats = &self.stats;
        let lines = [
            (
                "medlink_hub_cluster_shards",
                "gauge",
                "Shards of patients this hub holds now.",
                self.shards(now).len() as u64,
            ),
            (
                "medlink_hub_cluster_subscriptions",
                "gauge",
                "Topic filters the durable MQTT connection holds.",
                self.subscriptions() as u64,
            ),
            (
                "medlink_hub_cluster_shards_gained_total",
                "counter",
                "Shards taken over since start.",
                stats.gained.load(Ordering::Relaxed),
            ),
            (
                "medlink_hub_cluster_shards_lost_total",
                "counter",
                "Shards handed over, taken or expired since start.",
                stats.lost.load(Ordering::Relaxed),
            ),
            (
                "medlink_hub_cluster_not_owned_total",
                "counter",
                "Publishes of patients another hub owns: PUBACK'd, not stored, not confirmed.",
                stats.not_owned.load(Ordering::Relaxed),
            ),
            (
                "medlink_hub_cluster_last_takeover_ms",
                "gauge",
                "How long the last takeover took (journal, readings, replay).",
                stats.last_takeover_ms.load(Ordering::Relaxed),
            ),
        ];
        let mut out = String::new();
        for (name, kind, help, value) in lines {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name}{{hub=\"{}\"}} {value}",
                self.hub_id
            );
        }
        out
    }
}

/// How often the feed thread reads the journal.
const FEED_EVERY: Duration = Duration::from_millis(250);

/// Events re-read below the newest seen: on PostgreSQL an event's number is taken at insert and
/// becomes visible at commit, so a slower transaction's event may appear below a newer one.
const FEED_OVERLAP: i64 = 256;

/// Follows the journal and pushes other hubs' alert events to this hub's clients.
struct Follower {
    shared: Arc<Shared>,
    cluster: Arc<Cluster>,
    journal: AlertStore,
}

impl Follower {
    fn run(self) {
        let mut newest = self.journal.last_event_seq().unwrap_or(0);
        let mut seen = BTreeSet::new();
        loop {
            std::thread::sleep(FEED_EVERY);
            let from = (newest - FEED_OVERLAP).max(0);
            let events = match self.journal.events_after(from, 4096) {
                Ok(events) => events,
                Err(e) => {
                    tracing::warn!("reading the alert journal's feed: {e}");
                    continue;
                }
            };
            let now = now_ms();
            for event in events {
                if event.seq <= newest - FEED_OVERLAP || !seen.insert(event.seq) {
                    continue;
                }
                newest = newest.max(event.seq);
                if let Some(pushed) = self.remote_event(&event, now) {
                    let _ = self.shared.events.send(pushed);
                }
            }
            seen = seen.split_off(&(newest - FEED_OVERLAP));
        }
    }

    /// The event as this hub's clients get it, unless this hub owns the alert's patient (it
    /// pushed the event itself) or the journal's event is not one this hub knows.
    fn remote_event(&self, event: &store::JournalEvent, now: i64) -> Option<HubEvent> {
        let kind = event_kind(&event.kind)?;
        let alert = self.journal.alert(event.alert_id).ok()??;
        let patient = alert.patient.as_deref().unwrap_or(&alert.subject);
        if self.cluster.owns(patient, now) {
            return None;
        }
        Some(HubEvent::Alert(Box::new(AlertEvent {
            kind,
            at_ms: event.at_ms,
            notify: event.notify.clone(),
            alert,
        })))
    }
}

/// An event kind as the journal names it.
fn event_kind(name: &str) -> Option<EventKind> {
    Some(match name {
        "raised" => EventKind::Raised,
        "worsened" => EventKind::Worsened,
        "improved" => EventKind::Improved,
        "escalated" => EventKind::Escalated,
        "snooze_ended" => EventKind::SnoozeEnded,
        "acknowledged" => EventKind::Acknowledged,
        "snoozed" => EventKind::Snoozed,
        "resolved" => EventKind::Resolved,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_kind_the_journal_writes_is_read_back() {
        let kinds = [
            EventKind::Raised,
            EventKind::Worsened,
            EventKind::Improved,
            EventKind::Escalated,
            EventKind::SnoozeEnded,
            EventKind::Acknowledged,
            EventKind::Snoozed,
            EventKind::Resolved,
        ];
        for kind in kinds {
            // As store::AlertStore::record names it.
            let name = serde_json::to_value(&kind).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string();
            assert_eq!(event_kind(&name), Some(kind));
        }
        assert_eq!(event_kind("unknown"), None);
    }
}
