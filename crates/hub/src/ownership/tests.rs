//! Tests of the ownership core: hubs rounds against an in-memory lease table with the same
//! conditional updates the store makes.

use super::*;

/// The lease table and membership as the store keeps them, with its conditional updates.
#[derive(Default)]
struct Table {
    leases: BTreeMap<Shard, (String, i64)>,
    members: BTreeMap<String, i64>,
}

impl Table {
    fn view(&self) -> (Vec<Lease>, Vec<Member>) {
        let leases = self
            .leases
            .iter()
            .map(|(s, (o, e))| Lease {
                shard: *s,
                owner: Some(o.clone()),
                expires_ms: *e,
            })
            .collect();
        let members = self
            .members
            .iter()
            .map(|(h, s)| Member {
                hub: h.clone(),
                seen_ms: *s,
            })
            .collect();
        (leases, members)
    }

    /// One round of `hub` at `now`; the shards it holds afterwards.
    fn round(&mut self, hub: &str, now: i64, times: &LeaseTimes) -> Vec<Shard> {
        self.members.insert(hub.to_string(), now);
        let (leases, members) = self.view();
        let plan = plan(hub, &leases, &members, now, times);
        let expires = now + times.expire_after_ms;
        for shard in plan.release {
            if self.leases.get(&shard).is_some_and(|(o, _)| o == hub) {
                self.leases.remove(&shard);
            }
        }
        for shard in plan.renew.iter().chain(&plan.claim) {
            let takeable = match self.leases.get(shard) {
                None => true,
                Some((owner, until)) => owner == hub || *until <= now,
            };
            if takeable {
                self.leases.insert(*shard, (hub.to_string(), expires));
            }
        }
        self.leases
            .iter()
            .filter(|(_, (o, _))| o == hub)
            .map(|(s, _)| *s)
            .collect()
    }
}

fn counts(table: &Table, now: i64) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for (owner, until) in table.leases.values() {
        if *until > now {
            *counts.entry(owner.clone()).or_default() += 1;
        }
    }
    counts
}

#[test]
fn shards_are_stable_and_spread() {
    assert_eq!(shard_of("resident-001"), shard_of("resident-001"));
    let mut hits = [0usize; SHARDS as usize];
    for i in 0..6400 {
        hits[shard_of(&format!("resident-{i:04}")) as usize] += 1;
    }
    assert!(hits.iter().all(|h| (50..=150).contains(h)), "{hits:?}");
}

#[test]
fn three_hubs_split_the_shards_evenly_and_never_share_one() {
    let times = LeaseTimes::default();
    let mut table = Table::default();
    let hubs = ["hub-a", "hub-b", "hub-c"];
    let mut now = 0;
    for _ in 0..20 {
        for hub in hubs {
            table.round(hub, now, &times);
            now += 10;
        }
        now += times.renew_every_ms;
    }
    let split = counts(&table, now);
    assert_eq!(split.values().sum::<usize>(), SHARDS as usize, "{split:?}");
    assert!(split.values().all(|n| (21..=22).contains(n)), "{split:?}");
}

#[test]
fn a_dead_hubs_shards_are_taken_within_the_expiry_and_one_renewal() {
    let times = LeaseTimes::default();
    let mut table = Table::default();
    let mut now = 0;
    for _ in 0..10 {
        for hub in ["hub-a", "hub-b", "hub-c"] {
            table.round(hub, now, &times);
        }
        now += times.renew_every_ms;
    }
    let killed_at = now;
    let dead: Vec<Shard> = table
        .leases
        .iter()
        .filter(|(_, (o, _))| o == "hub-c")
        .map(|(s, _)| *s)
        .collect();
    assert!(!dead.is_empty());
    let mut taken_at = None;
    while now < killed_at + 20_000 {
        for hub in ["hub-a", "hub-b"] {
            table.round(hub, now, &times);
        }
        if taken_at.is_none()
            && dead
                .iter()
                .all(|s| table.leases.get(s).is_some_and(|(o, _)| o != "hub-c"))
        {
            taken_at = Some(now);
        }
        now += times.renew_every_ms;
    }
    let taken_after = taken_at.expect("never taken") - killed_at;
    assert!(
        taken_after <= times.expire_after_ms + times.renew_every_ms,
        "{taken_after} ms"
    );
    assert_eq!(counts(&table, now).values().sum::<usize>(), SHARDS as usize);
    assert!(counts(&table, now).values().all(|n| *n == 32));
}

#[test]
fn a_new_hub_gets_its_share_from_the_others() {
    let times = LeaseTimes::default();
    let mut table = Table::default();
    let mut now = 0;
    for _ in 0..5 {
        table.round("hub-a", now, &times);
        now += times.renew_every_ms;
    }
    assert_eq!(counts(&table, now)["hub-a"], SHARDS as usize);
    for _ in 0..30 {
        table.round("hub-a", now, &times);
        table.round("hub-b", now, &times);
        now += times.renew_every_ms;
    }
    let split = counts(&table, now);
    assert_eq!(split["hub-a"], 32, "{split:?}");
    assert_eq!(split["hub-b"], 32, "{split:?}");
}

#[test]
fn a_hub_stops_trusting_its_leases_before_they_expire() {
    let times = LeaseTimes::default();
    let mut held = Held::default();
    let change = held.confirm(&[1, 2, 3], 1_000, &times);
    assert_eq!(change.gained, vec![1, 2, 3]);
    assert!(held.holds(2, 1_000 + times.trust_ms - 1));
    assert!(!held.holds(2, 1_000 + times.trust_ms));
    assert!(times.trust_ms < times.expire_after_ms);
    // The next round confirms only 1 and 3: 2 was lost (someone else holds it).
    let change = held.confirm(&[1, 3], 3_000, &times);
    assert_eq!(change.lost, vec![2]);
    assert!(change.gained.is_empty());
    // No renewal succeeds after that: both expire at 3_000 + trust.
    assert!(held.expire(3_000 + times.trust_ms - 1).is_empty());
    assert_eq!(held.expire(3_000 + times.trust_ms), vec![1, 3]);
    assert!(held.shards().is_empty());
}
