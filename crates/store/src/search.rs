//! FHIR Observation search over stored measurements: by patient, code and date, with paging.

use crate::rows::{COLUMNS, recorded_from_row};
use crate::{Store, StoreError};
use rusqlite::params_from_iter;
use rusqlite::types::Value as SqlValue;
use vitals::VitalKind;
use vitals::fhir::Recorded;

/// An Observation search. Empty `kinds` means every kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObservationQuery {
    pub patient: Option<String>,
    pub kinds: Vec<VitalKind>,
    /// Effective time must be `>= from_ms` ...
    pub from_ms: Option<i64>,
    /// ... and `< until_ms`.
    pub until_ms: Option<i64>,
    pub offset: usize,
    pub count: usize,
}

impl ObservationQuery {
    fn filter(&self) -> (String, Vec<SqlValue>) {
        let mut sql = String::from(" FROM observation_index WHERE 1 = 1");
        let mut args = Vec::new();
        if let Some(patient) = &self.patient {
            sql.push_str(" AND patient = ?");
            args.push(SqlValue::Text(patient.clone()));
        }
        if !self.kinds.is_empty() {
            let marks = vec!["?"; self.kinds.len()].join(", ");
            sql.push_str(&format!(" AND kind IN ({marks})"));
            args.extend(self.kinds.iter().map(|k| SqlValue::Text(k.slug().into())));
        }
        if let Some(from) = self.from_ms {
            sql.push_str(" AND time_ms >= ?");
            args.push(SqlValue::Integer(from));
        }
        if let Some(until) = self.until_ms {
            sql.push_str(" AND time_ms < ?");
            args.push(SqlValue::Integer(until));
        }
        (sql, args)
    }
}

impl Store {
    /// Runs an Observation search: the total number of matches and one page of
    /// (measurement, kind), ordered by effective time.
    pub fn search_observations(
        &self,
        query: &ObservationQuery,
    ) -> Result<(usize, Vec<(Recorded, VitalKind)>), StoreError> {
        let (filter, mut args) = query.filter();
        let total: i64 = self.conn.query_row(
            &format!("SELECT count(*){filter}"),
            params_from_iter(args.iter()),
            |r| r.get(0),
        )?;
        args.push(SqlValue::Integer(query.count as i64));
        args.push(SqlValue::Integer(query.offset as i64));
        let mut stmt = self.conn.prepare(&format!(
            "SELECT id, kind{filter} ORDER BY time_ms, id, kind LIMIT ? OFFSET ?"
        ))?;
        let hits: Vec<(i64, String)> = stmt
            .query_map(params_from_iter(args.iter()), |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<Result<_, _>>()?;
        let mut page = Vec::with_capacity(hits.len());
        for (row_id, slug) in hits {
            let kind = VitalKind::from_slug(&slug)
                .ok_or_else(|| StoreError::Corrupt(format!("kind {slug}")))?;
            let recorded = self
                .measurement(row_id)?
                .ok_or_else(|| StoreError::Corrupt(format!("row {row_id} vanished")))?;
            page.push((recorded, kind));
        }
        Ok((total as usize, page))
    }

    /// One stored measurement by row id.
    pub fn measurement(&self, row_id: i64) -> Result<Option<Recorded>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM measurements WHERE id = ?1"))?;
        let mut rows = stmt.query_map([row_id], recorded_from_row)?;
        match rows.next() {
            None => Ok(None),
            Some(row) => Ok(Some(row??)),
        }
    }

    /// A patient's measurements stamped from `from_ms` up to measurement `row_id` stamped
    /// `time_ms`, by time then row id, that one last (the readings a NEWS2 as of it is scored on).
    pub fn measurements_up_to(
        &self,
        patient: &str,
        from_ms: i64,
        time_ms: i64,
        row_id: i64,
    ) -> Result<Vec<Recorded>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM measurements WHERE patient = ?1 AND time_ms >= ?2
             AND (time_ms < ?3 OR (time_ms = ?3 AND id <= ?4)) ORDER BY time_ms, id"
        ))?;
        let rows = stmt.query_map(rusqlite::params![patient, from_ms, time_ms, row_id], |r| {
            recorded_from_row(r)
        })?;
        let mut found = Vec::new();
        for row in rows {
            found.push(row??);
        }
        Ok(found)
    }

    /// Every measurement stamped at or after `from_ms`, by time then row id (what the hub replays
    /// through its patient tracker at start).
    pub fn measurements_since(&self, from_ms: i64) -> Result<Vec<Recorded>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM measurements WHERE time_ms >= ?1 ORDER BY time_ms, id"
        ))?;
        let rows = stmt.query_map([from_ms], recorded_from_row)?;
        let mut found = Vec::new();
        for row in rows {
            found.push(row??);
        }
        Ok(found)
    }
}
