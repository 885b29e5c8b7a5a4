//! Which hub owns which patients when several hubs share one ward (docs/hub.md, "Several hubs"):
//! the pure core, with time passed in.
//!
//! Patients fall into [`SHARDS`] shards by a stable hash of their id ([`shard_of`]). Each shard
//! has a lease in the shared store (owner, expiry); a hub renews its leases every
//! [`LeaseTimes::renew_every_ms`] and a lease not renewed for [`LeaseTimes::expire_after_ms`]
//! may be claimed by another hub. [`plan`] decides, from a view of the lease table and of the
//! hubs alive, which shards this hub claims, renews and releases, aiming at an even split
//! (rendezvous hashing picks which ones, so a shard goes back to the same hub after a restart
//! and hubs seldom contend for the same free shard). [`Held`] is what the hub believes it holds:
//! a shard is trusted only until [`LeaseTimes::trust_ms`] after the renewal that last confirmed
//! it, short of its expiry, so a hub whose renewals fail stops scoring a shard before any other
//! hub may claim it (fencing).

use std::collections::BTreeMap;

/// Number of shards the patients are split into.
pub const SHARDS: u16 = 64;

/// A shard number, `0..SHARDS`.
pub type Shard = u16;

/// The shard of a patient: FNV-1a of its id, modulo [`SHARDS`]. Stable across hubs, versions
/// and platforms (it decides ownership in a shared store).
pub fn shard_of(patient: &str) -> Shard {
    (fnv1a(patient.as_bytes()) % u64::from(SHARDS)) as Shard
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// How leases are timed (every hub of a ward must use the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTimes {
    /// How often a hub renews its leases and refreshes its membership.
    pub renew_every_ms: i64,
    /// A lease (or a membership) not renewed for this long has expired.
    pub expire_after_ms: i64,
    /// How long after a successful renewal the hub goes on trusting a lease: shorter than the
    /// expiry by a margin for clock drift and the renewal's own duration.
    pub trust_ms: i64,
}

impl Default for LeaseTimes {
    fn default() -> Self {
        LeaseTimes {
            renew_every_ms: 1_000,
            expire_after_ms: 5_000,
            trust_ms: 3_500,
        }
    }
}

/// One row of the lease table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub shard: Shard,
    /// `None`: never held, or released.
    pub owner: Option<String>,
    pub expires_ms: i64,
}

/// One hub as the membership table shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub hub: String,
    pub seen_ms: i64,
}

/// What the hub should do with the lease table this round.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Shards it holds and keeps: extend their expiry.
    pub renew: Vec<Shard>,
    /// Free or expired shards to take (conditional: only if still free or expired).
    pub claim: Vec<Shard>,
    /// Shards it holds beyond its share while another hub has fewer than its own: give back.
    pub release: Vec<Shard>,
}

/// Most shards given back in one round (hand-overs go a few at a time).
const RELEASE_PER_ROUND: usize = 32;

/// The hubs alive at `now` (seen within the expiry), `me` always among them, sorted by id.
pub fn alive(me: &str, members: &[Member], now: i64, times: &LeaseTimes) -> Vec<String> {
    let mut hubs: Vec<String> = members
        .iter()
        .filter(|m| now - m.seen_ms < times.expire_after_ms)
        .map(|m| m.hub.clone())
        .collect();
    hubs.push(me.to_string());
    hubs.sort();
    hubs.dedup();
    hubs
}

/// Each alive hub's fair number of shards: an even split, the remainder going to the first
/// hubs by id.
pub fn shares(hubs: &[String]) -> BTreeMap<&str, usize> {
    let n = hubs.len().max(1);
    let (base, extra) = (SHARDS as usize / n, SHARDS as usize % n);
    hubs.iter()
        .enumerate()
        .map(|(i, hub)| (hub.as_str(), base + usize::from(i < extra)))
        .collect()
}

/// How much `hub` wants `shard` (rendezvous hashing: the highest weight wins a free shard).
fn weight(hub: &str, shard: Shard) -> u64 {
    let mut key = Vec::with_capacity(hub.len() + 3);
    key.extend_from_slice(hub.as_bytes());
    key.push(b'/');
    key.extend_from_slice(&shard.to_be_bytes());
    fnv1a(&key).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Decides this round's claims, renewals and releases for hub `me` at `now`.
pub fn plan(me: &str, leases: &[Lease], members: &[Member], now: i64, times: &LeaseTimes) -> Plan {
    let hubs = alive(me, members, now, times);
    let shares = shares(&hubs);
    let held_by = |lease: &Lease| -> Option<String> {
        lease
            .owner
            .clone()
            .filter(|_| lease.expires_ms > now)
            .filter(|owner| hubs.contains(owner) || owner == me)
    };
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut mine = Vec::new();
    let mut free = Vec::new();
    let mut seen = [false; SHARDS as usize];
    for lease in leases.iter().filter(|l| l.shard < SHARDS) {
        seen[lease.shard as usize] = true;
        match held_by(lease) {
            Some(owner) if owner == me => mine.push(lease.shard),
            Some(owner) => *counts.entry(owner).or_default() += 1,
            None => free.push(lease.shard),
        }
    }
    free.extend((0..SHARDS).filter(|s| !seen[*s as usize]));
    let my_share = shares.get(me).copied().unwrap_or(0);
    let mut plan = Plan::default();
    if mine.len() > my_share {
        let starved = shares
            .iter()
            .any(|(hub, share)| *hub != me && counts.get(*hub).copied().unwrap_or(0) < *share);
        if starved {
            // Give back the shards this hub wants least.
            mine.sort_by_key(|s| weight(me, *s));
            let excess = (mine.len() - my_share).min(RELEASE_PER_ROUND);
            plan.release = mine.drain(..excess).collect();
        }
    }
    plan.renew = mine.clone();
    if mine.len() < my_share {
        // Prefer the free shards this hub would win by rendezvous hashing.
        free.sort_by_key(|s| {
            let top = hubs.iter().max_by_key(|h| weight(h, *s));
            (
                top.map(String::as_str) != Some(me),
                std::cmp::Reverse(weight(me, *s)),
            )
        });
        plan.claim = free.into_iter().take(my_share - mine.len()).collect();
    }
    plan
}

/// The shards this hub holds, each trusted until a deadline on its own clock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Held {
    trusted_until: BTreeMap<Shard, i64>,
}

/// How the set of held shards changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    pub gained: Vec<Shard>,
    pub lost: Vec<Shard>,
}

impl Change {
    pub fn is_empty(&self) -> bool {
        self.gained.is_empty() && self.lost.is_empty()
    }
}

impl Held {
    /// After a round whose store writes started at `started` (before the conditional updates
    /// ran): `confirmed` are the shards the store says this hub holds now (renewed or claimed).
    /// A shard not confirmed is lost at once; a confirmed one is trusted until `started` plus
    /// [`LeaseTimes::trust_ms`].
    pub fn confirm(&mut self, confirmed: &[Shard], started: i64, times: &LeaseTimes) -> Change {
        let mut change = Change::default();
        let before = std::mem::take(&mut self.trusted_until);
        for shard in confirmed {
            if !before.contains_key(shard) {
                change.gained.push(*shard);
            }
            self.trusted_until.insert(*shard, started + times.trust_ms);
        }
        change.lost = before
            .keys()
            .filter(|s| !self.trusted_until.contains_key(s))
            .copied()
            .collect();
        change.gained.sort_unstable();
        change
    }

    /// Drops the shards whose trust ran out at `now` (renewals failed: the store is out of
    /// reach) and returns them.
    pub fn expire(&mut self, now: i64) -> Vec<Shard> {
        let lost: Vec<Shard> = self
            .trusted_until
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(s, _)| *s)
            .collect();
        for shard in &lost {
            self.trusted_until.remove(shard);
        }
        lost
    }

    /// Whether this hub may score and alert for `shard` at `now`.
    pub fn holds(&self, shard: Shard, now: i64) -> bool {
        self.trusted_until
            .get(&shard)
            .is_some_and(|until| now < *until)
    }

    /// The shards held, in order.
    pub fn shards(&self) -> Vec<Shard> {
        self.trusted_until.keys().copied().collect()
    }
}

#[cfg(test)]
mod tests;
