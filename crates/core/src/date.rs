//! Dates as VTJ records them: `YYYYMMDD` where the month and day, or the
//! whole date, may be unknown (zeros), and `99990000` means "indefinite".
//! They are modelled exactly and never rounded to a full date.

use std::borrow::Cow;
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

/// DVV's JSON shape of a date: `{"arvo": "YYYY-MM-DD", "tarkkuus": ...}`.
///
/// The precision says which part is known. DVV writes a whole date even
/// when only the month (`KUUKAUSI`, day 01) or the year (`VUOSI`, January 1)
/// is known; a reader also accepts `YYYY-MM` and `YYYY`. Two conventions
/// are this project's, where DVV's public material shows nothing: an unknown
/// date (`EI_TIEDOSSA`) has no `arvo`, and "until further notice"
/// (`99990000`) is `9999-12-31` by the day (no real VTJ date falls in 9999,
/// so the two cannot be confused).
///
/// Read borrowing `arvo` where the text allows and written from a buffer on
/// the stack: a whole person holds dozens of dates, and a string allocated
/// for each was a good part of reading and writing one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DateWire<'a> {
    #[serde(default, borrow)]
    arvo: Option<crate::text::Text<'a>>,
    tarkkuus: Tarkkuus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum Tarkkuus {
    Paiva,
    Kuukausi,
    Vuosi,
    EiTiedossa,
}

const INDEFINITE_ISO: &str = "9999-12-31";

impl VtjDate {
    /// `YYYY-MM-DD` of a full date.
    pub fn iso(d: Date) -> String {
        format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
    }

    /// A whole calendar date `YYYY-MM-DD` (DVV's `arvo`, the path of `/kirjausavain/{date}`).
    pub fn parse_iso(s: &str) -> Result<Date, VtjDateError> {
        if let Some(d) = Self::iso_fast(s) {
            return Ok(d);
        }
        let b = s.as_bytes();
        let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || !digits(0..4) || !digits(5..7) || !digits(8..10) {
            return Err(VtjDateError::Shape(s.to_string()));
        }
        match VtjDate::parse(&format!("{}{}{}", &s[0..4], &s[5..7], &s[8..10]))? {
            VtjDate::Full(d) => Ok(d),
            _ => Err(VtjDateError::Invalid(s.to_string(), "not a whole calendar date")),
        }
    }

    /// The whole dates of years 1-9998 without allocating; `None` for
    /// anything else, which the general path then accepts or explains.
    fn iso_fast(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let n = |r: std::ops::Range<usize>| {
            b[r].iter().try_fold(0u16, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u16::from(c - b'0')))
        };
        let (y, m, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
        if y == 0 || y == 9999 {
            return None;
        }
        Date::from_calendar_date(i32::from(y), Month::try_from(u8::try_from(m).ok()?).ok()?, u8::try_from(d).ok()?).ok()
    }

    /// `arvo` as DVV writes it, into `buf`: `None` for an unknown date.
    fn arvo(self, buf: &mut [u8; 10]) -> (Option<Cow<'_, str>>, Tarkkuus) {
        let (y, m, d, tarkkuus) = match self {
            VtjDate::Full(d) => (d.year(), u8::from(d.month()), d.day(), Tarkkuus::Paiva),
            VtjDate::YearMonth(y, m) => (i32::from(y), m, 1, Tarkkuus::Kuukausi),
            VtjDate::Year(y) => (i32::from(y), 1, 1, Tarkkuus::Vuosi),
            VtjDate::Unknown => return (None, Tarkkuus::EiTiedossa),
            VtjDate::Indefinite => return (Some(Cow::Borrowed(INDEFINITE_ISO)), Tarkkuus::Paiva),
        };
        // Only a date built in code can fall outside 0-9999.
        let Some(y) = u16::try_from(y).ok().filter(|y| *y <= 9999) else {
            return (Some(Cow::Owned(format!("{y:04}-{m:02}-{d:02}"))), tarkkuus);
        };
        let digits = |out: &mut [u8], mut v: u16| {
            for slot in out.iter_mut().rev() {
                *slot = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        digits(&mut buf[0..4], y);
        digits(&mut buf[5..7], u16::from(m));
        digits(&mut buf[8..10], u16::from(d));
        (buf[4], buf[7]) = (b'-', b'-');
        (std::str::from_utf8(buf).ok().map(Cow::Borrowed), tarkkuus)
    }

    fn from_wire(w: DateWire<'_>) -> Result<VtjDate, VtjDateError> {
        let text = w.arvo.as_ref().map(|t| &*t.0);
        let arvo = || text.unwrap_or_default().to_string();
        let shape = || VtjDateError::Shape(arvo());
        // YYYY, YYYY-MM or YYYY-MM-DD, as (year, month, day) digit strings.
        let parts = |s: &str| -> Option<(String, String, String)> {
            let ok = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
            let mut it = s.split('-');
            let (y, m, d) = (it.next()?, it.next(), it.next());
            if it.next().is_some() || !ok(y, 4) || m.is_some_and(|m| !ok(m, 2)) || d.is_some_and(|d| !ok(d, 2)) {
                return None;
            }
            Some((y.into(), m.unwrap_or("00").into(), d.unwrap_or("00").into()))
        };
        match w.tarkkuus {
            Tarkkuus::EiTiedossa => Ok(VtjDate::Unknown),
            Tarkkuus::Paiva => match text {
                Some(INDEFINITE_ISO) => Ok(VtjDate::Indefinite),
                Some(s) => VtjDate::parse_iso(s).map(VtjDate::Full),
                None => Err(shape()),
            },
            Tarkkuus::Kuukausi | Tarkkuus::Vuosi => {
                let (y, m, d) = text.and_then(parts).ok_or_else(shape)?;
                let known_month = w.tarkkuus == Tarkkuus::Kuukausi;
                if (known_month && m == "00") || y == "9999" {
                    return Err(VtjDateError::Invalid(arvo(), "the precision says more than the value has"));
                }
                // Whatever DVV wrote for the unknown part, it must have been a date.
                if d != "00" {
                    VtjDate::parse(&format!("{y}{m}{d}"))?;
                }
                let m = if known_month { m } else { "00".into() };
                match VtjDate::parse(&format!("{y}{m}00"))? {
                    VtjDate::Unknown => Err(shape()),
                    v => Ok(v),
                }
            }
        }
    }
}

impl Serialize for VtjDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut buf = [0; 10];
        let (arvo, tarkkuus) = self.arvo(&mut buf);
        let mut out = s.serialize_struct("DateWire", 1 + usize::from(arvo.is_some()))?;
        match arvo {
            Some(a) => out.serialize_field("arvo", &*a)?,
            None => out.skip_field("arvo")?,
        }
        out.serialize_field("tarkkuus", &tarkkuus)?;
        out.end()
    }
}

impl<'de> Deserialize<'de> for VtjDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        VtjDate::from_wire(DateWire::deserialize(d)?).map_err(serde::de::Error::custom)
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
    fn json_is_dvvs_date_object() {
        let cases = [
            ("19810115", r#"{"arvo":"1981-01-15","tarkkuus":"PAIVA"}"#),
            ("19811100", r#"{"arvo":"1981-11-01","tarkkuus":"KUUKAUSI"}"#),
            ("19810000", r#"{"arvo":"1981-01-01","tarkkuus":"VUOSI"}"#),
            ("00000000", r#"{"tarkkuus":"EI_TIEDOSSA"}"#),
            ("99990000", r#"{"arvo":"9999-12-31","tarkkuus":"PAIVA"}"#),
        ];
        for (vtj, json) in cases {
            let d = VtjDate::parse(vtj).unwrap();
            assert_eq!(serde_json::to_string(&d).unwrap(), json);
            assert_eq!(serde_json::from_str::<VtjDate>(json).unwrap(), d);
        }
        // Readers also take the short forms, and DVV's key order does not matter.
        for (json, vtj) in [
            (r#"{"arvo":"1965-11","tarkkuus":"KUUKAUSI"}"#, "19651100"),
            (r#"{"arvo":"1965","tarkkuus":"VUOSI"}"#, "19650000"),
            (r#"{"tarkkuus":"VUOSI","arvo":"1965-11-01"}"#, "19650000"),
            (r#"{"arvo":"2001-02-03","tarkkuus":"EI_TIEDOSSA"}"#, "00000000"),
        ] {
            assert_eq!(serde_json::from_str::<VtjDate>(json).unwrap(), VtjDate::parse(vtj).unwrap(), "{json}");
        }
        for bad in [
            r#""19810115""#,
            r#"{"arvo":"1981-02-30","tarkkuus":"PAIVA"}"#,
            r#"{"arvo":"1981-02","tarkkuus":"PAIVA"}"#,
            r#"{"arvo":"1981","tarkkuus":"KUUKAUSI"}"#,
            r#"{"arvo":"1981-13-01","tarkkuus":"KUUKAUSI"}"#,
            r#"{"tarkkuus":"PAIVA"}"#,
            r#"{"arvo":"1981-01-01","tarkkuus":"TUNTI"}"#,
            r#"{"arvo":"1981-01-01","tarkkuus":"PAIVA","x":1}"#,
        ] {
            assert!(serde_json::from_str::<VtjDate>(bad).is_err(), "{bad}");
        }
        assert!(VtjDate::parse_iso("2026-11-23").is_ok());
        for bad in ["2026-11-31", "20261123", "2026-1-23", "2026-11-23T00"] {
            assert!(VtjDate::parse_iso(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        /// The allocation-free reading of a whole date agrees with `parse`.
        #[test]
        fn iso_fast_path_agrees_with_parse(
            y in prop_oneof![Just(0u16), Just(9999), 1u16..=9998], m in 0u8..=13, d in 0u8..=32
        ) {
            let expected = match VtjDate::parse(&format!("{y:04}{m:02}{d:02}")) {
                Ok(VtjDate::Full(date)) => Some(date),
                _ => None,
            };
            prop_assert_eq!(VtjDate::iso_fast(&format!("{y:04}-{m:02}-{d:02}")), expected);
        }

        /// `arvo` is written as `YYYY-MM-DD` from the stack for any date.
        #[test]
        fn arvo_written_as_iso(julian in Date::MIN.to_julian_day()..=Date::MAX.to_julian_day()) {
            let date = Date::from_julian_day(julian).unwrap();
            let json = serde_json::to_value(VtjDate::Full(date)).unwrap();
            let iso = format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day());
            prop_assert_eq!(json, serde_json::json!({"arvo": iso, "tarkkuus": "PAIVA"}));
        }

        #[test]
        fn display_parse_round_trip(s in "[0-9]{8}") {
            if let Ok(d) = VtjDate::parse(&s) {
                prop_assert_eq!(d.to_string(), s.clone());
                let json = serde_json::to_string(&d).unwrap();
                prop_assert_eq!(serde_json::from_str::<VtjDate>(&json).unwrap(), d);
            }
        }
    }
}
