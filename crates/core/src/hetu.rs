//! Henkilötunnus (hetu), the Finnish personal identity code: `DDMMYYCNNNQ`.
//!
//! The century sign is part of the identity: `010594Y9032` and `010594-9032`
//! are two different codes for people born on the same day, which is why the
//! additional signs were introduced in 2023.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;
use time::{Date, Month};

const CHECK_CHARS: &[u8; 31] = b"0123456789ABCDEFHJKLMNPRSTUVWXY";

/// Sex as encoded in the individual number: odd for men, even for women.
/// On the wire DVV's `MIES` / `NAINEN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sex {
    #[serde(rename = "MIES")]
    Male,
    #[serde(rename = "NAINEN")]
    Female,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HetuError {
    #[error("a hetu is 11 characters, got {0}")]
    Length(usize),
    #[error("a hetu is ASCII; found {0:?}")]
    NotAscii(char),
    #[error("the date part {0:?} must be six digits DDMMYY")]
    DatePartNotDigits(String),
    #[error("unknown century sign {0:?}; expected one of + - Y X W V U A B C D E F")]
    CenturySign(char),
    #[error("{day:02}.{month:02}.{year} is not a calendar date")]
    Date { day: u8, month: u8, year: i32 },
    #[error("the individual number {0:?} must be three digits")]
    IndividualNotDigits(String),
    #[error("the individual number {0:03} is not in use (valid: 002-999)")]
    IndividualRange(u16),
    #[error("the check character must be upper case, got {0:?}")]
    LowercaseCheck(char),
    #[error("wrong check character {found:?}; expected {expected:?}")]
    Check { found: char, expected: char },
    #[error("no century sign exists for year {0}")]
    Year(i32),
}

/// A validated henkilötunnus. Stored as its 11 ASCII bytes, so it is `Copy`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hetu([u8; 11]);

impl Hetu {
    pub fn parse(s: &str) -> Result<Hetu, HetuError> {
        if let Some(c) = s.chars().find(|c| !c.is_ascii()) {
            return Err(HetuError::NotAscii(c));
        }
        let b = s.as_bytes();
        if b.len() != 11 {
            return Err(HetuError::Length(s.chars().count()));
        }
        let date_part = &s[0..6];
        if !date_part.bytes().all(|c| c.is_ascii_digit()) {
            return Err(HetuError::DatePartNotDigits(date_part.to_string()));
        }
        let century = century_of(b[6] as char)?;
        let day = two_digits(&b[0..2]);
        let month = two_digits(&b[2..4]);
        let year = century + i32::from(two_digits(&b[4..6]));
        calendar_date(year, month, day)?;
        let ind_part = &s[7..10];
        if !ind_part.bytes().all(|c| c.is_ascii_digit()) {
            return Err(HetuError::IndividualNotDigits(ind_part.to_string()));
        }
        let individual: u16 = ind_part.parse().map_err(|_| HetuError::IndividualNotDigits(ind_part.to_string()))?;
        if individual < 2 {
            return Err(HetuError::IndividualRange(individual));
        }
        let expected = check_char(&b[0..6], individual);
        let found = b[10] as char;
        if found != expected {
            if found.is_ascii_lowercase() && found.to_ascii_uppercase() == expected {
                return Err(HetuError::LowercaseCheck(found));
            }
            return Err(HetuError::Check { found, expected });
        }
        let mut bytes = [0u8; 11];
        bytes.copy_from_slice(b);
        Ok(Hetu(bytes))
    }

    /// Builds the hetu for a birth date and individual number with the
    /// given century sign, computing the check character.
    pub fn from_parts(birth: Date, sign: char, individual: u16) -> Result<Hetu, HetuError> {
        let century = century_of(sign)?;
        let year = birth.year();
        if year - century < 0 || year - century > 99 {
            return Err(HetuError::Year(year));
        }
        if !(2..=999).contains(&individual) {
            return Err(HetuError::IndividualRange(individual));
        }
        let date = format!("{:02}{:02}{:02}", birth.day(), u8::from(birth.month()), year - century);
        let check = check_char(date.as_bytes(), individual);
        Hetu::parse(&format!("{date}{sign}{individual:03}{check}"))
    }

    pub fn as_str(&self) -> &str {
        // Only ever built from validated ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    pub fn birth_date(&self) -> Date {
        let b = &self.0;
        let year = century_of(b[6] as char).unwrap_or(1900) + i32::from(two_digits(&b[4..6]));
        calendar_date(year, two_digits(&b[2..4]), two_digits(&b[0..2])).unwrap_or(Date::MIN)
    }

    pub fn century_sign(&self) -> char {
        self.0[6] as char
    }

    pub fn individual_number(&self) -> u16 {
        let b = &self.0;
        u16::from(b[7] - b'0') * 100 + u16::from(b[8] - b'0') * 10 + u16::from(b[9] - b'0')
    }

    pub fn sex(&self) -> Sex {
        if self.individual_number() % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// Individual numbers 900-999 are temporary or test codes; 002-899 are real.
    pub fn is_test_range(&self) -> bool {
        self.individual_number() >= 900
    }
}

/// The century signs in the order they are handed out for one century.
pub fn century_signs(year: i32) -> &'static [char] {
    match year {
        1800..=1899 => &['+'],
        1900..=1999 => &['-', 'Y', 'X', 'W', 'V', 'U'],
        2000..=2099 => &['A', 'B', 'C', 'D', 'E', 'F'],
        _ => &[],
    }
}

fn century_of(sign: char) -> Result<i32, HetuError> {
    match sign {
        '+' => Ok(1800),
        '-' | 'Y' | 'X' | 'W' | 'V' | 'U' => Ok(1900),
        'A' | 'B' | 'C' | 'D' | 'E' | 'F' => Ok(2000),
        other => Err(HetuError::CenturySign(other)),
    }
}

fn two_digits(b: &[u8]) -> u8 {
    (b[0] - b'0') * 10 + (b[1] - b'0')
}

fn calendar_date(year: i32, month: u8, day: u8) -> Result<Date, HetuError> {
    Month::try_from(month).ok().and_then(|m| Date::from_calendar_date(year, m, day).ok()).ok_or(HetuError::Date {
        day,
        month,
        year,
    })
}

fn check_char(date_digits: &[u8], individual: u16) -> char {
    let ddmmyy = date_digits.iter().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    let n = ddmmyy * 1000 + u32::from(individual);
    CHECK_CHARS[(n % 31) as usize] as char
}

impl FromStr for Hetu {
    type Err = HetuError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Hetu::parse(s)
    }
}

impl fmt::Display for Hetu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Hetu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hetu({})", self.as_str())
    }
}

impl Serialize for Hetu {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Hetu {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::text::parse_str(d, "a henkilötunnus", Hetu::parse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn design_examples_are_valid() {
        for s in ["010181-900C", "010594Y9032", "020516C903K", "010501E9032"] {
            let h = Hetu::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(h.as_str(), s);
            assert!(h.is_test_range());
        }
    }

    #[test]
    fn birth_date_and_sex() {
        let h = Hetu::parse("010594Y9032").unwrap();
        assert_eq!(h.birth_date(), Date::from_calendar_date(1994, Month::May, 1).unwrap());
        assert_eq!(h.sex(), Sex::Male, "903 is odd");
        assert_eq!(Hetu::parse("010181-900C").unwrap().sex(), Sex::Female, "900 is even");
        let h = Hetu::parse("020516C903K").unwrap();
        assert_eq!(h.birth_date().year(), 2016);
        assert_eq!(h.sex(), Sex::Male);
        assert_eq!(h.individual_number(), 903);
        assert_eq!(Hetu::parse("010181-900C").unwrap().birth_date().year(), 1981);
    }

    #[test]
    fn sign_is_part_of_identity() {
        let a = Hetu::parse("010594Y9032").unwrap();
        let b = Hetu::parse("010594-9032").unwrap();
        assert_ne!(a, b);
        assert_eq!(a.birth_date(), b.birth_date());
    }

    #[test]
    fn wrong_check_character_names_the_expected_one() {
        assert_eq!(Hetu::parse("010181-900D"), Err(HetuError::Check { found: 'D', expected: 'C' }));
    }

    #[test]
    fn invalid_dates_rejected() {
        // 30 February in any year
        assert!(matches!(Hetu::parse("300294-9032"), Err(HetuError::Date { day: 30, month: 2, .. })));
        assert!(matches!(Hetu::parse("000194-9032"), Err(HetuError::Date { .. })));
        assert!(matches!(Hetu::parse("011394-9032"), Err(HetuError::Date { .. })));
        // 29 February only in leap years
        assert!(matches!(Hetu::parse("290201A9032"), Err(HetuError::Date { .. })));
        let leap = Hetu::from_parts(Date::from_calendar_date(2000, Month::February, 29).unwrap(), 'A', 950).unwrap();
        assert!(Hetu::parse(leap.as_str()).is_ok());
    }

    #[test]
    fn unknown_sign_lowercase_and_length_rejected() {
        assert_eq!(Hetu::parse("010181G900C"), Err(HetuError::CenturySign('G')));
        assert_eq!(Hetu::parse("010181a900C"), Err(HetuError::CenturySign('a')));
        assert_eq!(Hetu::parse("020516C903k"), Err(HetuError::LowercaseCheck('k')));
        assert_eq!(Hetu::parse("010181-900"), Err(HetuError::Length(10)));
        assert_eq!(Hetu::parse("010181-900CC"), Err(HetuError::Length(12)));
        assert_eq!(Hetu::parse(""), Err(HetuError::Length(0)));
        assert_eq!(Hetu::parse("0101ä1-900C"), Err(HetuError::NotAscii('ä')));
        assert!(matches!(Hetu::parse("01018A-900C"), Err(HetuError::DatePartNotDigits(_))));
        assert!(matches!(Hetu::parse("010181-9X0C"), Err(HetuError::IndividualNotDigits(_))));
        assert!(matches!(Hetu::parse("010181-001C"), Err(HetuError::IndividualRange(1))));
    }

    #[test]
    fn serde_is_the_plain_string() {
        let h = Hetu::parse("010181-900C").unwrap();
        assert_eq!(serde_json::to_string(&h).unwrap(), "\"010181-900C\"");
        let back: Hetu = serde_json::from_str("\"010181-900C\"").unwrap();
        assert_eq!(back, h);
        assert!(serde_json::from_str::<Hetu>("\"010181-900D\"").is_err());
    }

    proptest! {
        #[test]
        fn from_parts_round_trips(days in 0i32..(365 * 290), ind in 2u16..1000, pick in 0usize..6) {
            let date = Date::from_calendar_date(1800, Month::January, 1).unwrap() + time::Duration::days(i64::from(days));
            let signs = century_signs(date.year());
            prop_assume!(!signs.is_empty());
            let sign = signs[pick % signs.len()];
            let h = Hetu::from_parts(date, sign, ind).unwrap();
            prop_assert_eq!(h.birth_date(), date);
            prop_assert_eq!(h.individual_number(), ind);
            prop_assert_eq!(h.century_sign(), sign);
            prop_assert_eq!(Hetu::parse(h.as_str()).unwrap(), h);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,14}") {
            let _ = Hetu::parse(&s);
        }

        #[test]
        fn any_single_check_char_change_is_caught(ind in 900u16..1000, other in 0usize..31) {
            let h = Hetu::from_parts(Date::from_calendar_date(1981, Month::January, 1).unwrap(), '-', ind).unwrap();
            let mut s = h.as_str().to_string();
            let replacement = CHECK_CHARS[other] as char;
            prop_assume!(replacement != h.as_str().as_bytes()[10] as char);
            s.replace_range(10..11, &replacement.to_string());
            let is_check_error = matches!(Hetu::parse(&s), Err(HetuError::Check { .. }));
            prop_assert!(is_check_error);
        }
    }
}
