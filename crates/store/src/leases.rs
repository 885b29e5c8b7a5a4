//! What several hubs sharing one ward keep in the shared store, beside the alert journal
//! (docs/hub.md, "Several hubs"): the hubs alive (membership, refreshed every round), one lease
//! per shard of patients (owner and expiry, taken and renewed only by conditional updates, so
//! two hubs never both hold a shard), and the blocks of alert ids each hub reserves (so two hubs
//! never give the same id). Runs on both engines through [`crate::db::Conn`]; the decisions
//! (what to claim, renew, release) are the hub's pure ownership core.

use crate::StoreError;
use crate::db::{Conn, Location, Row};
use crate::values;

/// The journal migration that adds these tables (appended to the journal's list).
pub(crate) const MIGRATION: &str = "
CREATE TABLE hub_members (
    hub     TEXT PRIMARY KEY,
    http    TEXT NOT NULL,
    seen_ms INTEGER NOT NULL
);
CREATE TABLE shard_leases (
    shard      INTEGER PRIMARY KEY,
    owner      TEXT,
    expires_ms INTEGER NOT NULL
);
CREATE TABLE alert_id_blocks (
    one  INTEGER PRIMARY KEY,
    next INTEGER NOT NULL
);
";

/// One shard's lease as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRow {
    pub shard: u16,
    /// `None`: never held, or released.
    pub owner: Option<String>,
    pub expires_ms: i64,
}

/// One hub as the membership table shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    pub hub: String,
    /// Where the hub serves HTTP (for operators; any hub serves the whole ward).
    pub http: String,
    pub seen_ms: i64,
}

/// What a hub asks of the lease table in one round.
#[derive(Debug, Clone, Copy, Default)]
pub struct LeaseRound<'a> {
    pub renew: &'a [u16],
    pub claim: &'a [u16],
    pub release: &'a [u16],
    /// The round's time on the hub's clock.
    pub now: i64,
    /// The expiry written on renewed and claimed leases.
    pub expires_ms: i64,
}

/// A connection to the lease tables (the alert journal's database; its migrations are applied
/// by [`crate::AlertStore`], which the hub opens first).
pub struct Leases {
    conn: Conn,
}

impl Leases {
    /// Opens a connection of its own to the journal beside `location`.
    pub fn open(location: &Location, durability: crate::Durability) -> Result<Leases, StoreError> {
        Ok(Leases {
            conn: Conn::open(&location.journal(), durability)?,
        })
    }

    /// Over an existing connection to the journal (tests).
    pub fn with_conn(conn: Conn) -> Leases {
        Leases { conn }
    }

    /// Says hub `hub` (serving HTTP at `http`) is alive at `now`.
    pub fn heartbeat(&self, hub: &str, http: &str, now: i64) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO hub_members (hub, http, seen_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (hub) DO UPDATE SET http = excluded.http, seen_ms = excluded.seen_ms",
            &values![hub, http, now],
        )?;
        Ok(())
    }

    /// Every lease row and every hub that ever joined.
    pub fn view(&self) -> Result<(Vec<LeaseRow>, Vec<MemberRow>), StoreError> {
        let leases = self
            .conn
            .query(
                "SELECT shard, owner, expires_ms FROM shard_leases ORDER BY shard",
                &[],
            )?
            .iter()
            .map(lease_from_row)
            .collect::<Result<_, _>>()?;
        let members = self
            .conn
            .query(
                "SELECT hub, http, seen_ms FROM hub_members ORDER BY hub",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(MemberRow {
                    hub: r.get(0)?,
                    http: r.get(1)?,
                    seen_ms: r.get(2)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok((leases, members))
    }

    /// Applies one round of hub `hub` in one transaction: releases, then renewals and claims
    /// (each only if the shard is free, expired or already this hub's); returns the shards the
    /// hub holds afterwards.
    pub fn apply(&mut self, hub: &str, round: &LeaseRound<'_>) -> Result<Vec<u16>, StoreError> {
        let tx = self.conn.transaction()?;
        for shard in round.release {
            tx.execute(
                "UPDATE shard_leases SET owner = NULL, expires_ms = 0
                 WHERE shard = ?1 AND owner = ?2",
                &values![i64::from(*shard), hub],
            )?;
        }
        for shard in round.renew.iter().chain(round.claim) {
            tx.execute(
                "INSERT INTO shard_leases (shard, owner, expires_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (shard) DO UPDATE SET owner = excluded.owner,
                     expires_ms = excluded.expires_ms
                 WHERE shard_leases.owner = excluded.owner OR shard_leases.owner IS NULL
                     OR shard_leases.expires_ms <= ?4",
                &values![i64::from(*shard), hub, round.expires_ms, round.now],
            )?;
        }
        let held = tx
            .query(
                "SELECT shard FROM shard_leases WHERE owner = ?1 AND expires_ms > ?2
                 ORDER BY shard",
                &values![hub, round.now],
            )?
            .iter()
            .map(|r| {
                r.get::<i64>(0)
                    .map(|s| s.clamp(0, i64::from(u16::MAX)) as u16)
            })
            .collect::<Result<Vec<u16>, _>>()?;
        tx.commit()?;
        Ok(held)
    }

    /// A hub shutting down: gives back its leases at once (others take them at their next
    /// round instead of after the expiry) and leaves the membership.
    pub fn leave(&mut self, hub: &str) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE shard_leases SET owner = NULL, expires_ms = 0 WHERE owner = ?1",
            &values![hub],
        )?;
        tx.execute("DELETE FROM hub_members WHERE hub = ?1", &values![hub])?;
        tx.commit()?;
        Ok(())
    }

    /// Reserves `count` alert ids no other hub gets (above every id in the journal too) and
    /// returns the first.
    pub fn reserve_alert_ids(&mut self, count: u64) -> Result<u64, StoreError> {
        let tx = self.conn.transaction()?;
        // On PostgreSQL the row lock keeps concurrent reservations apart (SQLite's BEGIN
        // IMMEDIATE already holds the write lock); the upsert makes sure the row exists.
        tx.execute(
            "INSERT INTO alert_id_blocks (one, next) VALUES (1, 1) ON CONFLICT (one) DO NOTHING",
            &[],
        )?;
        let next: i64 = tx.query_value(
            "UPDATE alert_id_blocks SET next = next WHERE one = 1 RETURNING next",
            &[],
        )?;
        let highest: Option<i64> = tx.query_value("SELECT max(id) FROM alerts", &[])?;
        let start = next.max(highest.unwrap_or(0).saturating_add(1)).max(1);
        let end = start.saturating_add(i64::try_from(count).unwrap_or(i64::MAX));
        tx.execute(
            "UPDATE alert_id_blocks SET next = ?1 WHERE one = 1",
            &values![end],
        )?;
        tx.commit()?;
        Ok(start as u64)
    }
}

fn lease_from_row(r: &Row) -> Result<LeaseRow, StoreError> {
    let shard: i64 = r.get(0)?;
    Ok(LeaseRow {
        shard: u16::try_from(shard)
            .map_err(|_| StoreError::Corrupt(format!("shard number {shard}")))?,
        owner: r.get(1)?,
        expires_ms: r.get(2)?,
    })
}
