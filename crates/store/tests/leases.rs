//! What several hubs share (store::Leases, docs/hub.md "Several hubs"): a shard's lease is taken
//! only when free, expired or already the taker's, released leases are free at once, alert id
//! blocks never overlap (not even reserved at the same time on two connections) and start above
//! every id in the journal, and the journal reads back as a feed in commit order; on SQLite and
//! on PostgreSQL.

mod common;

use common::{Backend, on_each_backend, raised};
use store::{AlertStore, Durability, LeaseRound, Leases};

/// The journal (migrated) and a lease connection to it.
fn open(b: &Backend) -> (AlertStore, Leases) {
    let journal = AlertStore::connect(&b.journal, Durability::Normal).unwrap();
    (
        journal,
        Leases::open(&b.location, Durability::Normal).unwrap(),
    )
}

fn claim(leases: &mut Leases, hub: &str, shards: &[u16], now: i64) -> Vec<u16> {
    let round = LeaseRound {
        claim: shards,
        now,
        expires_ms: now + 5_000,
        ..LeaseRound::default()
    };
    leases.apply(hub, &round).unwrap()
}

#[test]
fn a_lease_is_taken_only_when_free_or_expired() {
    on_each_backend("leases", |b| {
        let (_journal, mut a) = open(b);
        let mut other = Leases::open(&b.location, Durability::Normal).unwrap();
        assert_eq!(claim(&mut a, "hub-a", &[0, 1, 2], 0), vec![0, 1, 2]);
        // Held and not expired: hub-b gets none of them.
        assert_eq!(claim(&mut other, "hub-b", &[1, 2, 3], 1_000), vec![3]);
        assert_eq!(claim(&mut other, "hub-b", &[1, 2], 2_000), vec![3]);
        // hub-a renews at 4 s: at 5.5 s hub-b still gets nothing of it.
        let renew = LeaseRound {
            renew: &[0, 1, 2],
            now: 4_000,
            expires_ms: 9_000,
            ..LeaseRound::default()
        };
        assert_eq!(a.apply("hub-a", &renew).unwrap(), vec![0, 1, 2]);
        assert_eq!(claim(&mut other, "hub-b", &[0], 5_500), vec![3]);
        // After hub-a's expiry (9 s) hub-b takes them; hub-a's late renewal is refused.
        assert_eq!(claim(&mut other, "hub-b", &[0, 1], 9_000), vec![0, 1]);
        let late = LeaseRound {
            renew: &[0, 1, 2],
            now: 9_100,
            expires_ms: 14_100,
            ..LeaseRound::default()
        };
        assert_eq!(a.apply("hub-a", &late).unwrap(), vec![2]);
        // A released lease is free at once.
        let give_back = LeaseRound {
            release: &[2],
            now: 9_200,
            expires_ms: 14_200,
            ..LeaseRound::default()
        };
        assert!(a.apply("hub-a", &give_back).unwrap().is_empty());
        assert_eq!(claim(&mut other, "hub-b", &[2], 9_300), vec![0, 1, 2]);
        a.heartbeat("hub-a", "http://a", 9_300).unwrap();
        a.heartbeat("hub-a", "http://a2", 9_400).unwrap();
        let (rows, members) = a.view().unwrap();
        assert_eq!(
            rows.iter()
                .filter(|r| r.owner.as_deref() == Some("hub-b"))
                .count(),
            4
        );
        assert_eq!(members.len(), 1);
        assert_eq!(
            (members[0].http.as_str(), members[0].seen_ms),
            ("http://a2", 9_400)
        );
        a.leave("hub-a").unwrap();
        other.leave("hub-b").unwrap();
        assert!(a.view().unwrap().0.iter().all(|r| r.owner.is_none()));
    })
}

#[test]
fn alert_id_blocks_never_overlap_and_the_journal_reads_as_a_feed() {
    on_each_backend("id-blocks", |b| {
        let (mut journal, mut leases) = open(b);
        journal.record(&[&raised(500, "p-1")], &[]).unwrap();
        let first = leases.reserve_alert_ids(100).unwrap();
        assert!(first > 500, "{first}");
        // Two connections reserving at the same time get disjoint blocks.
        let location = &b.location.clone();
        let blocks: Vec<u64> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(move || {
                        let mut l = Leases::open(location, Durability::Normal).unwrap();
                        (0..5)
                            .map(|_| l.reserve_alert_ids(100).unwrap())
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        let mut starts = blocks.clone();
        starts.push(first);
        starts.sort_unstable();
        assert!(starts.windows(2).all(|w| w[1] >= w[0] + 100), "{starts:?}");

        journal
            .record(&[&raised(first, "p-2"), &raised(first + 1, "p-3")], &[])
            .unwrap();
        let feed = journal.events_after(0, 100).unwrap();
        let ids: Vec<u64> = feed.iter().map(|e| e.alert_id).collect();
        assert_eq!(ids, vec![500, first, first + 1]);
        assert!(feed.windows(2).all(|w| w[1].seq > w[0].seq));
        assert_eq!(feed[1].kind, "raised");
        assert_eq!(feed[1].notify.as_deref(), Some("nurse"));
        assert_eq!(journal.last_event_seq().unwrap(), feed[2].seq);
        assert!(journal.events_after(feed[2].seq, 100).unwrap().is_empty());
        assert_eq!(
            journal.events_after(feed[0].seq, 1).unwrap()[0].alert_id,
            first
        );
    })
}
