//! FHIR Observation search over stored measurements: by patient, code and date, with paging.

use crate::db::Value;
use crate::rows::{COLUMNS, recorded_from_row, recorded_from_rows};
use crate::values;
use crate::{Store, StoreError};
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

/// A WHERE clause being built: its text and its arguments, numbered as they are added.
struct Filter {
    sql: String,
    args: Vec<Value>,
}

impl Filter {
    fn mark(&mut self, value: Value) -> String {
        self.args.push(value);
        format!("?{}", self.args.len())
    }
}

impl ObservationQuery {
    fn filter(&self) -> Filter {
        let mut f = Filter {
            sql: String::from(" FROM observation_index WHERE 1 = 1"),
            args: Vec::new(),
        };
        if let Some(patient) = &self.patient {
            let mark = f.mark(patient.into());
            f.sql.push_str(&format!(" AND patient = {mark}"));
        }
        if !self.kinds.is_empty() {
            let marks: Vec<String> = self.kinds.iter().map(|k| f.mark(k.slug().into())).collect();
            f.sql
                .push_str(&format!(" AND kind IN ({})", marks.join(", ")));
        }
        if let Some(from) = self.from_ms {
            let mark = f.mark(from.into());
            f.sql.push_str(&format!(" AND time_ms >= {mark}"));
        }
        if let Some(until) = self.until_ms {
            let mark = f.mark(until.into());
            f.sql.push_str(&format!(" AND time_ms < {mark}"));
        }
        f
    }
}

impl Store {
    /// Runs an Observation search: the total number of matches and one page of
    /// (measurement, kind), ordered by effective time.
    pub fn search_observations(
        &self,
        query: &ObservationQuery,
    ) -> Result<(usize, Vec<(Recorded, VitalKind)>), StoreError> {
        let mut filter = query.filter();
        let total: usize = self
            .conn
            .query_value(&format!("SELECT count(*){}", filter.sql), &filter.args)?;
        let limit = filter.mark(query.count.into());
        let offset = filter.mark(query.offset.into());
        let hits = self.conn.query(
            &format!(
                "SELECT id, kind{} ORDER BY time_ms, id, kind LIMIT {limit} OFFSET {offset}",
                filter.sql
            ),
            &filter.args,
        )?;
        let mut page = Vec::with_capacity(hits.len());
        for hit in hits {
            let (row_id, slug): (i64, String) = (hit.get(0)?, hit.get(1)?);
            let kind = VitalKind::from_slug(&slug)
                .ok_or_else(|| StoreError::Corrupt(format!("kind {slug}")))?;
            let recorded = self
                .measurement(row_id)?
                .ok_or_else(|| StoreError::Corrupt(format!("row {row_id} vanished")))?;
            page.push((recorded, kind));
        }
        Ok((total, page))
    }

    /// One stored measurement by row id.
    pub fn measurement(&self, row_id: i64) -> Result<Option<Recorded>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM measurements WHERE id = ?1");
        let row = self.conn.query_opt(&sql, &values![row_id])?;
        row.as_ref().map(recorded_from_row).transpose()
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
        let sql = format!(
            "SELECT {COLUMNS} FROM measurements WHERE patient = ?1 AND time_ms >= ?2
             AND (time_ms < ?3 OR (time_ms = ?3 AND id <= ?4)) ORDER BY time_ms, id"
        );
        recorded_from_rows(
            self.conn
                .query(&sql, &values![patient, from_ms, time_ms, row_id])?,
        )
    }

    /// Every measurement stamped at or after `from_ms`, by time then row id (what the hub replays
    /// through its patient tracker at start).
    pub fn measurements_since(&self, from_ms: i64) -> Result<Vec<Recorded>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM measurements WHERE time_ms >= ?1 ORDER BY time_ms, id");
        recorded_from_rows(self.conn.query(&sql, &values![from_ms])?)
    }
}
