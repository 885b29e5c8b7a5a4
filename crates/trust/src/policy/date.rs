//! Calendar dates for the policy: expiries written as `2027-06-30` (a TOML date or a quoted
//! string), today's date at the site from Unix seconds and the site's UTC offset, and back.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

const SECONDS_PER_DAY: i64 = 86_400;

/// A day of the proleptic Gregorian calendar, years 0000 to 9999. Ordered by time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

impl Date {
    pub const MIN: Date = Date {
        year: 0,
        month: 1,
        day: 1,
    };
    pub const MAX: Date = Date {
        year: 9999,
        month: 12,
        day: 31,
    };

    /// The date, if it is a day of the calendar (2027-02-29 is not).
    pub fn new(year: i32, month: u8, day: u8) -> Option<Date> {
        let valid = (0..=9999).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month);
        valid.then_some(Date { year, month, day })
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u8 {
        self.month
    }

    pub fn day(self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01.
    pub fn unix_days(self) -> i64 {
        let (month, day) = (i64::from(self.month), i64::from(self.day));
        let year = i64::from(self.year) - i64::from(month <= 2);
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }

    /// The date `days` after 1970-01-01, clamped to years 0000..=9999.
    pub fn from_unix_days(days: i64) -> Date {
        if days <= Date::MIN.unix_days() {
            return Date::MIN;
        }
        if days >= Date::MAX.unix_days() {
            return Date::MAX;
        }
        let shifted = days + 719_468;
        let era = shifted.div_euclid(146_097);
        let day_of_era = shifted - era * 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let shifted_month = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
        let month = if shifted_month < 10 {
            shifted_month + 3
        } else {
            shifted_month - 9
        };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        // In range by the clamps above, so the narrowing casts are exact.
        Date {
            year: year as i32,
            month: month as u8,
            day: day as u8,
        }
    }

    /// The UTC date of an instant given in seconds since the Unix epoch (clamped to 0000..=9999).
    pub fn from_unix_seconds(seconds: i64) -> Date {
        Date::from_unix_days(seconds.div_euclid(SECONDS_PER_DAY))
    }

    /// Seconds since the Unix epoch at 00:00 UTC on this date.
    pub fn unix_seconds_at_midnight_utc(self) -> i64 {
        self.unix_days() * SECONDS_PER_DAY
    }

    fn from_toml(datetime: &toml::value::Datetime) -> Result<Date, String> {
        match (datetime.date, datetime.time, datetime.offset) {
            (Some(date), None, None) => Date::new(i32::from(date.year), date.month, date.day)
                .ok_or_else(|| format!("{datetime} is not a day of the calendar")),
            _ => Err(format!(
                "expected a date like 2027-06-30, found {datetime} (no time of day or offset: \
                 a date is valid through its whole day at the site)"
            )),
        }
    }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Why a text is not a date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a date: expected YYYY-MM-DD, a day of the calendar (like 2027-06-30)")]
pub struct DateParseError(pub String);

impl FromStr for Date {
    type Err = DateParseError;

    /// Parses exactly `YYYY-MM-DD`.
    fn from_str(text: &str) -> Result<Date, DateParseError> {
        let bad = || DateParseError(text.to_string());
        let bytes = text.as_bytes();
        let shape_ok = bytes.len() == 10
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && bytes
                .iter()
                .enumerate()
                .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
        if !shape_ok {
            return Err(bad());
        }
        let year = text[0..4].parse().map_err(|_| bad())?;
        let month = text[5..7].parse().map_err(|_| bad())?;
        let day = text[8..10].parse().map_err(|_| bad())?;
        Date::new(year, month, day).ok_or_else(bad)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    /// A TOML date (`2027-06-30`) or a string holding one (`"2027-06-30"`).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
        match toml::Value::deserialize(deserializer)? {
            toml::Value::Datetime(datetime) => Date::from_toml(&datetime).map_err(D::Error::custom),
            toml::Value::String(text) => text.parse().map_err(D::Error::custom),
            other => Err(D::Error::custom(format!(
                "expected a date like 2027-06-30, found a {}",
                other.type_str()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip_and_match_known_dates() {
        assert_eq!(Date::new(1970, 1, 1).map(Date::unix_days), Some(0));
        assert_eq!(Date::new(2000, 3, 1).map(Date::unix_days), Some(11_017));
        assert_eq!(
            Date::from_unix_seconds(1_767_225_599).to_string(),
            "2025-12-31"
        );
        assert_eq!(
            Date::from_unix_seconds(1_767_225_600).to_string(),
            "2026-01-01"
        );
        assert_eq!(Date::from_unix_seconds(-1).to_string(), "1969-12-31");
        for days in (-719_528..2_932_896).step_by(997) {
            assert_eq!(Date::from_unix_days(days).unix_days(), days);
        }
        assert_eq!(Date::from_unix_seconds(i64::MAX), Date::MAX);
        assert_eq!(Date::from_unix_seconds(i64::MIN), Date::MIN);
    }

    #[test]
    fn only_days_of_the_calendar_parse() {
        assert_eq!("2028-02-29".parse::<Date>().map(|d| d.day()), Ok(29));
        for bad in [
            "2027-02-29",
            "2027-13-01",
            "2027-04-31",
            "27-01-01",
            "2027/01/01",
            "+027-01-01",
            "",
        ] {
            assert!(bad.parse::<Date>().is_err(), "{bad}");
        }
    }
}
