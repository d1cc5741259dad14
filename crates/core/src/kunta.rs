//! Municipalities (kunnat) and wellbeing services counties (hyvinvointialueet).
//!
//! The table is compiled into the binary from `data/kunnat.csv`; parsing it
//! is pure. A unit test guarantees the embedded table parses completely.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

const TABLE: &str = include_str!("../data/kunnat.csv");

/// A three-digit municipality code, including the special codes 198-200.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KuntaCode(u16);

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KuntaError {
    #[error("a municipality code is three digits, got {0:?}")]
    Shape(String),
    #[error("unknown municipality code {0:?}")]
    Unknown(String),
    #[error("unknown wellbeing services county {0:?}")]
    UnknownRegion(String),
}

impl KuntaCode {
    /// 198: no home municipality in Finland.
    pub const NO_HOME_IN_FINLAND: KuntaCode = KuntaCode(198);
    /// 199: home municipality unknown.
    pub const UNKNOWN: KuntaCode = KuntaCode(199);
    /// 200: abroad.
    pub const ABROAD: KuntaCode = KuntaCode(200);
    /// `000`, the value a recipient sees in the file format for a censored home municipality.
    pub const CENSORED: KuntaCode = KuntaCode(0);

    pub fn parse(s: &str) -> Result<KuntaCode, KuntaError> {
        RecordedKuntaCode::parse(s)?.in_force().ok_or_else(|| KuntaError::Unknown(s.to_string()))
    }

    /// The code in force numbered `n`, as [`number`](Self::number) gives it.
    pub fn from_number(n: u16) -> Option<KuntaCode> {
        RecordedKuntaCode(n).in_force()
    }

    pub fn number(self) -> u16 {
        self.0
    }

    pub fn is_special(self) -> bool {
        matches!(self.0, 198..=200)
    }

    /// True for a real Finnish municipality (not a special or censored code).
    pub fn is_municipality(self) -> bool {
        kunta(self).is_some()
    }
}

impl fmt::Display for KuntaCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03}", self.0)
    }
}

impl fmt::Debug for KuntaCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KuntaCode({:03})", self.0)
    }
}

impl Serialize for KuntaCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KuntaCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::text::parse_str(d, "a municipality code in force, three digits", KuntaCode::parse)
    }
}

/// A municipality code as recorded when it applied: three digits, perhaps
/// of a municipality since merged into another. History groups and birth
/// municipalities keep the code of their time (DVV serves them so), which
/// [`KuntaCode`], the codes in force, would refuse.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordedKuntaCode(u16);

impl RecordedKuntaCode {
    pub fn parse(s: &str) -> Result<RecordedKuntaCode, KuntaError> {
        if s.len() != 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(KuntaError::Shape(s.to_string()));
        }
        s.parse().map(RecordedKuntaCode).map_err(|_| KuntaError::Shape(s.to_string()))
    }

    /// The code as one in force, if it still is one.
    pub fn in_force(self) -> Option<KuntaCode> {
        let code = KuntaCode(self.0);
        (code.is_special() || code == KuntaCode::CENSORED || kunta(code).is_some()).then_some(code)
    }
}

impl From<KuntaCode> for RecordedKuntaCode {
    fn from(k: KuntaCode) -> RecordedKuntaCode {
        RecordedKuntaCode(k.0)
    }
}

impl fmt::Display for RecordedKuntaCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03}", self.0)
    }
}

impl fmt::Debug for RecordedKuntaCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordedKuntaCode({:03})", self.0)
    }
}

impl Serialize for RecordedKuntaCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RecordedKuntaCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::text::parse_str(d, "a municipality code, three digits", RecordedKuntaCode::parse)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kunta {
    pub code: KuntaCode,
    pub name: &'static str,
    /// Two-letter code of the wellbeing services county (or `HE` Helsinki, `AX` Åland).
    pub region: &'static str,
    /// Approximate residents, only to weight synthetic populations.
    pub residents: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub code: &'static str,
    pub name_fi: &'static str,
    pub name_sv: &'static str,
}

struct Table {
    kunnat: Vec<Kunta>,
    regions: Vec<Region>,
}

fn table() -> &'static Table {
    static TABLE_CELL: OnceLock<Table> = OnceLock::new();
    TABLE_CELL.get_or_init(|| parse_table(TABLE))
}

fn parse_table(text: &'static str) -> Table {
    let mut kunnat = Vec::new();
    let mut regions: Vec<Region> = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')).skip(1) {
        let f: Vec<&'static str> = line.split(',').collect();
        let [code, name, region, name_fi, name_sv, residents] = f[..] else {
            continue;
        };
        let Ok(number) = code.parse::<u16>() else { continue };
        kunnat.push(Kunta { code: KuntaCode(number), name, region, residents: residents.parse().unwrap_or(0) });
        if !regions.iter().any(|r| r.code == region) {
            regions.push(Region { code: region, name_fi, name_sv });
        }
    }
    kunnat.sort_by_key(|k| k.code);
    regions.sort_by_key(|r| r.code);
    Table { kunnat, regions }
}

/// All 309 municipalities, by code.
pub fn kunnat() -> &'static [Kunta] {
    &table().kunnat
}

pub fn kunta(code: KuntaCode) -> Option<&'static Kunta> {
    let t = &table().kunnat;
    t.binary_search_by_key(&code, |k| k.code).ok().map(|i| &t[i])
}

/// About which share of the country's residents live in `codes` (0 to 1),
/// by the table's approximate figures: a hint for how to read an area.
pub fn resident_share(codes: &BTreeSet<KuntaCode>) -> f64 {
    let all: u64 = kunnat().iter().map(|k| u64::from(k.residents)).sum();
    let area: u64 = codes.iter().filter_map(|c| kunta(*c)).map(|k| u64::from(k.residents)).sum();
    if all == 0 {
        return 0.0;
    }
    area as f64 / all as f64
}

/// The 21 wellbeing services counties plus Helsinki and Åland.
pub fn regions() -> &'static [Region] {
    &table().regions
}

/// The municipalities of one wellbeing services county, e.g. `"KS"`.
pub fn region_kunnat(region: &str) -> Result<BTreeSet<KuntaCode>, KuntaError> {
    let set: BTreeSet<KuntaCode> = kunnat().iter().filter(|k| k.region == region).map(|k| k.code).collect();
    if set.is_empty() {
        return Err(KuntaError::UnknownRegion(region.to_string()));
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_of_its_time_is_kept_where_a_code_in_force_is_required() {
        // 084 is not a municipality code in force.
        assert_eq!(KuntaCode::parse("084"), Err(KuntaError::Unknown("084".into())));
        let former = RecordedKuntaCode::parse("084").unwrap();
        assert_eq!((former.to_string(), former.in_force()), ("084".to_string(), None));
        let helsinki = RecordedKuntaCode::parse("091").unwrap();
        assert_eq!(helsinki.in_force(), Some(KuntaCode::parse("091").unwrap()));
        assert_eq!(RecordedKuntaCode::from(KuntaCode::parse("091").unwrap()), helsinki);
        assert!(matches!(RecordedKuntaCode::parse("91"), Err(KuntaError::Shape(_))));
        assert!(matches!(RecordedKuntaCode::parse("09a"), Err(KuntaError::Shape(_))));
        // In DVV's JSON: history and birth keep it, the home in force refuses it.
        let group = |name: &str| format!(r#"{{"tietoryhma":"{name}","kuntakoodi":"084"}}"#);
        for kept in ["SYNTYMAKOTIKUNTA", "EDELLINEN_KOTIKUNTA", "VUODENVAIHTEEN_KUNTA"] {
            let json = if kept == "VUODENVAIHTEEN_KUNTA" {
                r#"{"tietoryhma":"VUODENVAIHTEEN_KUNTA","kuntakoodi":"084","vuodenvaihde":2008}"#.to_string()
            } else {
                group(kept)
            };
            let v: crate::GroupValue = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{kept}: {e}"));
            assert_eq!(serde_json::to_value(&v).unwrap(), serde_json::from_str::<serde_json::Value>(&json).unwrap());
        }
        let e = serde_json::from_str::<crate::GroupValue>(&group("KOTIKUNTA")).unwrap_err().to_string();
        assert!(e.contains("unknown municipality code"), "{e}");
    }

    #[test]
    fn embedded_table_is_complete() {
        assert_eq!(kunnat().len(), 309);
        assert_eq!(regions().len(), 23);
        assert!(kunnat().iter().all(|k| k.residents > 0));
        let all: BTreeSet<KuntaCode> = kunnat().iter().map(|k| k.code).collect();
        assert!((resident_share(&all) - 1.0).abs() < 1e-9);
        assert_eq!(resident_share(&BTreeSet::new()), 0.0);
        let helsinki = resident_share(&[KuntaCode::parse("091").unwrap()].into());
        assert!(helsinki > 0.1 && helsinki < 0.2, "{helsinki}");
        assert_eq!(kunta(KuntaCode::parse("091").unwrap()).unwrap().name, "Helsinki");
        assert_eq!(kunta(KuntaCode::parse("179").unwrap()).unwrap().region, "KS");
        assert_eq!(region_kunnat("VK").unwrap().len(), 2);
        assert_eq!(region_kunnat("AX").unwrap().len(), 16);
    }

    #[test]
    fn special_codes() {
        for (s, c) in [("198", KuntaCode::NO_HOME_IN_FINLAND), ("199", KuntaCode::UNKNOWN), ("200", KuntaCode::ABROAD)]
        {
            let parsed = KuntaCode::parse(s).unwrap();
            assert_eq!(parsed, c);
            assert!(parsed.is_special());
            assert!(!parsed.is_municipality());
            assert_eq!(parsed.to_string(), s);
        }
    }

    #[test]
    fn bad_codes() {
        assert!(matches!(KuntaCode::parse("91"), Err(KuntaError::Shape(_))));
        assert!(matches!(KuntaCode::parse("001"), Err(KuntaError::Unknown(_))));
        assert!(matches!(region_kunnat("ZZ"), Err(KuntaError::UnknownRegion(_))));
        assert_eq!(serde_json::to_string(&KuntaCode::parse("005").unwrap()).unwrap(), "\"005\"");
    }

    #[test]
    fn a_code_by_number_is_the_code_by_text() {
        for n in 0..=1_000u16 {
            assert_eq!(KuntaCode::from_number(n), KuntaCode::parse(&format!("{n:03}")).ok(), "{n}");
        }
    }
}
