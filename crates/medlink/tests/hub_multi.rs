//! Three hubs, one ward (docs/hub.md, "Several hubs"): three `medlink hub --cluster` processes
//! share one mosquitto and one database (an SQLite file, and PostgreSQL: the PostgreSQL half
//! needs scripts/setup-postgres.sh and fails without it unless MEDLINK_SKIP_POSTGRES=1); simulated wearables publish (and, as real devices do,
//! send again what the hub has not confirmed on their `ack` topic). One hub is SIGKILLed mid-run.
//! Checked: the survivors take its shards over, every reading is confirmed and stored exactly
//! once, every expected NEWS2 alert is raised exactly once (one on the killed hub's patient
//! before the kill, one on another of its patients after it, one elsewhere), none that was not
//! expected, and the killed hub's alert goes on escalating on its new owner; a hub that does not
//! own a patient lists its alerts and takes actions on them (queued for the owner, applied
//! there). The takeover time
//! (kill to the first confirmation, by another hub, of a reading its patients sent after the kill)
//! is printed.

mod common;
mod multi_ward;

use common::http;
use multi_ward::*;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[test]
fn three_hubs_on_sqlite_survive_the_sigkill_of_one() {
    sigkill_one_of_three("multi-kill-sqlite", false);
}

#[test]
fn three_hubs_on_postgres_survive_the_sigkill_of_one() {
    sigkill_one_of_three("multi-kill-postgres", true);
}

fn sigkill_one_of_three(name: &str, postgres: bool) {
    let Some(mut ward) = start_ward(name, postgres) else {
        return; // PostgreSQL skipped (MEDLINK_SKIP_POSTGRES=1), and said so
    };
    let owners = owners(&ward.db);
    // Every hub subscribes to its own patients' devices only.
    for (id, port, _) in &ward.hubs {
        let filters = metric(*port, "medlink_hub_cluster_subscriptions").unwrap_or(0.0);
        assert!(
            filters < (5 * PATIENTS) as f64,
            "{id} subscribed to {filters} filters: every device's"
        );
    }
    let on = |hub: &str| -> Vec<String> {
        ward.logins
            .iter()
            .map(|(_, _, p)| p.clone())
            .filter(|p| owner_of(&owners, p) == hub)
            .collect()
    };
    let (victims, others) = (on(VICTIM), on("hub-a"));
    assert!(
        victims.len() >= 2 && !others.is_empty(),
        "patients per hub: {VICTIM} {victims:?}, hub-a {others:?}"
    );
    let course = |patient: &str| {
        if patient == victims[0] || patient == others[0] {
            Course::Deteriorating
        } else if patient == victims[1] {
            Course::DeterioratesAfterKill
        } else {
            Course::Stable
        }
    };

    // A hub that owns none of hub-a's patients shows hub-a's alerts on its event stream too.
    let bystander = ward.hubs.iter().find(|(id, ..)| id == "hub-c").unwrap().1;
    let seen_by_bystander = follow_raised(bystander);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let wearables = connect_wearables(&runtime, &ward, course);
    let killed = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let stop = started + Duration::from_secs(30);
    let give_up = stop + Duration::from_secs(60);
    let tasks: Vec<_> = wearables
        .iter()
        .map(|w| runtime.spawn(w.clone().run(killed.clone(), stop, give_up)))
        .collect();

    // Kill the victim once its deteriorating patient's alert has escalated once.
    std::thread::sleep(Duration::from_millis(7_000));
    let victim = ward.hubs.iter().position(|(id, ..)| id == VICTIM).unwrap();
    let kill_ms = hub::now_ms();
    let kill_at = Instant::now();
    killed.store(true, Ordering::SeqCst);
    ward.hubs[victim].2.kill9();
    let victim_wearables: Vec<&Arc<Wearable>> = wearables
        .iter()
        .filter(|w| victims.contains(&w.patient))
        .collect();
    let mut takeover = None;
    while takeover.is_none() && kill_at.elapsed() < Duration::from_secs(60) {
        let confirmed_new = victim_wearables.iter().any(|w| {
            let before = *w.before_kill.lock().unwrap();
            let c = w.device.confirmations.lock().unwrap();
            c.committed.range(before + 1..).next().is_some()
        });
        if confirmed_new {
            takeover = Some(kill_at.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let takeover =
        takeover.expect("no reading of the killed hub's patients confirmed after the kill");
    eprintln!(
        "{name}: takeover {:.2} s from SIGKILL to the first confirmation of a new reading of the killed hub's patients",
        takeover.as_secs_f64()
    );
    runtime.block_on(async {
        for task in tasks {
            let _ = task.await;
        }
    });

    let sent_total = stored_exactly_once(&ward, &wearables);

    // Every expected alert raised exactly once, none other.
    let (news2, twice) = raised_alerts(&ward.db);
    assert!(twice.is_empty(), "raised more than once: {twice:?}");
    let expected: BTreeSet<&str> = [&victims[0], &victims[1], &others[0]]
        .into_iter()
        .map(String::as_str)
        .collect();
    let got: BTreeSet<&str> = news2.keys().map(String::as_str).collect();
    assert_eq!(got, expected, "NEWS2 alerts raised: {news2:?}");
    // The killed hub's alert went on escalating on its new owner.
    let before_kill_alert = news2[&victims[0]][0];
    let escalated = escalations_after(&ward.db, before_kill_alert, kill_ms);
    assert!(
        escalated >= 1,
        "alert {before_kill_alert} of {} never escalated after the kill",
        victims[0]
    );
    let on_bystander = seen_by_bystander.lock().unwrap().clone();
    assert!(
        on_bystander.contains(&others[0]),
        "hub-c's /api/events never showed hub-a's alert for {}: {on_bystander:?}",
        others[0]
    );
    any_hub_serves_the_ward(&ward, bystander, news2[&others[0]][0], &others[0]);
    // The survivors hold every shard.
    let held: f64 = ward
        .hubs
        .iter()
        .filter(|(id, ..)| id != VICTIM)
        .filter_map(|(_, port, _)| metric(*port, "medlink_hub_cluster_shards"))
        .sum();
    assert_eq!(held, 64.0);
    eprintln!(
        "{name}: 3 hubs, {PATIENTS} wearables, {sent_total} readings: all confirmed and stored once; \
         NEWS2 alerts raised once each for {expected:?}; alert {before_kill_alert} escalated \
         {escalated} time(s) after the kill; takeover {:.2} s",
        takeover.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&ward.dir);
}

/// Any hub serves the whole ward: `bystander` (which owns none of `patient`'s shard) lists the
/// alert and the patient, and a snooze and an acknowledgement taken there are queued for the
/// owner, applied by it as the caller, answered with the changed alert and audited at both ends.
fn any_hub_serves_the_ward(ward: &Ward, bystander: u16, alert: u64, patient: &str) {
    let (status, body) = http(bystander, "GET", "/api/alerts", None);
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(&format!("\"id\":{alert},")),
        "hub-c does not list alert {alert}: {body}"
    );
    let (status, body) = http(bystander, "GET", "/api/patients", None);
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(patient),
        "hub-c does not list patient {patient}: {body}"
    );

    let path = |action: &str| format!("/api/alerts/{alert}/{action}");
    let (status, body) = http(bystander, "POST", &path("snooze"), Some("{\"minutes\":5}"));
    assert_eq!(status, 200, "snooze at hub-c: {body}");
    assert!(body.contains("\"snoozed\":{"), "not snoozed: {body}");
    let (status, body) = http(bystander, "POST", &path("ack"), Some("{}"));
    assert_eq!(status, 200, "ack at hub-c: {body}");
    let acknowledged = format!("\"acknowledged\":{{\"by\":\"{}\"", common::TEST_TOKEN_NAME);
    assert!(
        body.contains(&acknowledged),
        "not acknowledged by the caller: {body}"
    );
    // The owner's own list shows it.
    let owner = ward.hubs.iter().find(|(id, ..)| id == "hub-a").unwrap().1;
    let (_, body) = http(owner, "GET", "/api/alerts", None);
    assert!(body.contains(&acknowledged), "hub-a's list: {body}");

    let journal =
        store::AlertStore::connect(&ward.db.journal(), store::Durability::Normal).unwrap();
    let stored = journal.alert(alert).unwrap().unwrap();
    assert_eq!(
        stored.acknowledged.map(|a| a.by).as_deref(),
        Some(common::TEST_TOKEN_NAME)
    );
    let trail = journal.audit_page(0, 10_000).unwrap();
    let outcomes: Vec<&str> = trail
        .iter()
        .filter(|r| r.entity == alert.to_string() && r.action == "alert_acknowledged")
        .map(|r| r.outcome.as_str())
        .collect();
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    assert!(
        outcomes[0].starts_with("queued for the owner") && outcomes[0].contains("hub-a"),
        "{outcomes:?}"
    );
    assert!(
        outcomes[1].starts_with("success (asked at hub hub-c, applied by hub hub-a)"),
        "{outcomes:?}"
    );
}
