//! FHIR instants and the `date` search parameter (prefixes eq, ne-less subset: eq ge gt le lt).

use super::FhirError;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

/// Formats milliseconds since the epoch as a FHIR instant, e.g. `2026-11-22T02:00:00.000Z`.
pub fn format_instant(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_else(|| "1970-01-01T00:00:00.000Z".to_string())
}

/// Parses a FHIR dateTime into the [start, end) range in ms it denotes: a full instant is one
/// millisecond wide, a date one day, `YYYY-MM` one month, `YYYY` one year.
pub fn parse_range(value: &str) -> Result<(i64, i64), FhirError> {
    let bad = || FhirError::Invalid(format!("bad dateTime {value:?}"));
    if value.len() > 10 {
        let t = DateTime::parse_from_rfc3339(value).map_err(|_| bad())?;
        let ms = t.timestamp_millis();
        return Ok((ms, ms + 1));
    }
    let parts: Vec<&str> = value.split('-').collect();
    let number = |s: &str| s.parse::<u32>().map_err(|_| bad());
    let (start, end) = match parts.as_slice() {
        [y] => {
            let y = number(y)? as i32;
            (ymd(y, 1, 1), ymd(y + 1, 1, 1))
        }
        [y, m] => {
            let (y, m) = (number(y)? as i32, number(m)?);
            let next = if m == 12 {
                ymd(y + 1, 1, 1)
            } else {
                ymd(y, m + 1, 1)
            };
            (ymd(y, m, 1), next)
        }
        [y, m, d] => {
            let day = ymd(number(y)? as i32, number(m)?, number(d)?);
            (day, day.and_then(|d| d.succ_opt()))
        }
        _ => return Err(bad()),
    };
    let midnight = |d: Option<NaiveDate>| {
        d.and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc().timestamp_millis())
            .ok_or_else(bad)
    };
    Ok((midnight(start)?, midnight(end)?))
}

fn ymd(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

/// Parses a full FHIR instant/dateTime to ms (a partial date means its start).
pub fn parse_instant(value: &str) -> Result<i64, FhirError> {
    parse_range(value).map(|(start, _)| start)
}

/// One bound of a `date` search: the effective time must be `>= ms` (Lower) or `< ms` (Upper).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateBound {
    AtLeast(i64),
    Before(i64),
}

/// A parsed `date` parameter: one or two bounds.
pub type DateParam = Vec<DateBound>;

/// Parses `date=[eq|ge|gt|le|lt]dateTime` into bounds on the effective time.
pub fn parse_date_param(value: &str) -> Result<DateParam, FhirError> {
    let (prefix, rest) = match value.get(..2) {
        Some(p @ ("eq" | "ge" | "gt" | "le" | "lt")) => (p, &value[2..]),
        _ => ("eq", value),
    };
    let (start, end) =
        parse_range(rest).map_err(|_| FhirError::BadSearch(format!("date={value}")))?;
    Ok(match prefix {
        "ge" => vec![DateBound::AtLeast(start)],
        "gt" => vec![DateBound::AtLeast(end)],
        "le" => vec![DateBound::Before(end)],
        "lt" => vec![DateBound::Before(start)],
        _ => vec![DateBound::AtLeast(start), DateBound::Before(end)],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_round_trip() {
        let ms = 1_795_000_000_123;
        assert_eq!(parse_instant(&format_instant(ms)).unwrap(), ms);
        assert_eq!(format_instant(0), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn date_prefixes_follow_the_precision() {
        let day = parse_range("2026-11-22").unwrap();
        assert_eq!(day.1 - day.0, 86_400_000);
        assert_eq!(
            parse_date_param("ge2026-11-22").unwrap(),
            vec![DateBound::AtLeast(day.0)]
        );
        assert_eq!(
            parse_date_param("le2026-11-22").unwrap(),
            vec![DateBound::Before(day.1)]
        );
        assert_eq!(parse_date_param("2026-11-22").unwrap().len(), 2);
        let month = parse_range("2026-12").unwrap();
        assert_eq!(month.1, parse_range("2027-01-01").unwrap().0);
        assert!(parse_date_param("ge2026-13-01").is_err());
        assert!(parse_date_param("soon").is_err());
    }
}
