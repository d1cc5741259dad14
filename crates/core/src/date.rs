//! Dates as VTJ records them: `YYYYMMDD` where the month and day, or the
//! whole date, may be unknown (zeros), and `99990000` means "indefinite".
//! They are modelled exactly and never rounded to a full date.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;
use time::{Date, Month};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VtjDate {
    /// `00000000`
    Unknown,
    /// `YYYY0000`
    Year(u16),
    /// `YYYYMM00`
    YearMonth(u16, u8),
    Full(Date),
    /// `99990000`, e.g. a turvakielto in force until further notice.
    Indefinite,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VtjDateError {
    #[error("a VTJ date is 8 digits YYYYMMDD, got {0:?}")]
    Shape(String),
    #[error("{0:?} is not a date: {1}")]
    Invalid(String, &'static str),
}

impl VtjDate {
    pub fn full(d: Date) -> VtjDate {
        VtjDate::Full(d)
    }

    pub fn as_full(&self) -> Option<Date> {
        match self {
            VtjDate::Full(d) => Some(*d),
            _ => None,
        }
    }

    pub fn parse(s: &str) -> Result<VtjDate, VtjDateError> {
        if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(VtjDateError::Shape(s.to_string()));
        }
        let num = |r: std::ops::Range<usize>| s[r].parse::<u16>().unwrap_or(0);
        let (y, m, d) = (num(0..4), num(4..6) as u8, num(6..8) as u8);
        let invalid = |why| Err(VtjDateError::Invalid(s.to_string(), why));
        match (y, m, d) {
            (0, 0, 0) => Ok(VtjDate::Unknown),
            (0, _, _) => invalid("month or day given without a year"),
            (9999, 0, 0) => Ok(VtjDate::Indefinite),
            (9999, _, _) => invalid("only 99990000 means indefinite"),
            (_, 0, 0) => Ok(VtjDate::Year(y)),
            (_, 0, _) => invalid("day given without a month"),
            (_, 1..=12, 0) => Ok(VtjDate::YearMonth(y, m)),
            (_, 1..=12, _) => Month::try_from(m)
                .ok()
                .and_then(|mo| Date::from_calendar_date(i32::from(y), mo, d).ok())
                .map(VtjDate::Full)
                .map_or_else(|| invalid("no such day in that month"), Ok),
            _ => invalid("month out of range"),
        }
    }
}

impl fmt::Display for VtjDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VtjDate::Unknown => f.write_str("00000000"),
            VtjDate::Year(y) => write!(f, "{y:04}0000"),
            VtjDate::YearMonth(y, m) => write!(f, "{y:04}{m:02}00"),
            VtjDate::Full(d) => write!(f, "{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day()),
            VtjDate::Indefinite => f.write_str("99990000"),
        }
    }
}

impl FromStr for VtjDate {
    type Err = VtjDateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        VtjDate::parse(s)
    }
}

impl Serialize for VtjDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for VtjDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        VtjDate::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Formats a calendar date the way VTJ does, `YYYYMMDD`.
pub fn ymd(d: Date) -> String {
    VtjDate::Full(d).to_string()
}

/// UTC with milliseconds, `YYYY-MM-DDTHH:MM:SS.mmmZ`: the time format of
/// the audit and look-up logs, chosen so that text order is time order.
pub fn utc_millis(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn partial_unknown_and_indefinite() {
        assert_eq!(VtjDate::parse("19810100"), Ok(VtjDate::YearMonth(1981, 1)));
        assert_eq!(VtjDate::parse("19810000"), Ok(VtjDate::Year(1981)));
        assert_eq!(VtjDate::parse("00000000"), Ok(VtjDate::Unknown));
        assert_eq!(VtjDate::parse("99990000"), Ok(VtjDate::Indefinite));
        let full = VtjDate::parse("19810115").unwrap();
        assert_eq!(full.as_full(), Some(Date::from_calendar_date(1981, Month::January, 15).unwrap()));
        for s in ["19810100", "19810000", "00000000", "99990000", "19810115"] {
            assert_eq!(VtjDate::parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn malformed_rejected() {
        for s in
            ["1981011", "198101150", "1981-1-1", "19810230", "19811301", "19810001", "00000101", "99991231", "abcdefgh"]
        {
            assert!(VtjDate::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn json_is_the_vtj_string() {
        let d = VtjDate::YearMonth(1981, 1);
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"19810100\"");
        assert_eq!(serde_json::from_str::<VtjDate>("\"99990000\"").unwrap(), VtjDate::Indefinite);
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(s in "[0-9]{8}") {
            if let Ok(d) = VtjDate::parse(&s) {
                prop_assert_eq!(d.to_string(), s);
            }
        }
    }
}
