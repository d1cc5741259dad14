//! Data groups on the wire: `{"tietoryhma": NAME, ...fields}`, in person
//! records (`/perustiedot`) and change records (`/muutokset`, with
//! `muutospv` and each group's `muutosattribuutti`).
//!
//! A [`Group`] is kept as the JSON object it is, so a group or a field this
//! project does not model passes through the client untouched; where the
//! project models the group, [`Group::typed`] reads it into the core's value.
//!
//! How the core's disclosures become such records is in [`crate::records`].

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use time::{Date, Duration, Month, Weekday};
use vtj_core::{GroupName, GroupValue, VtjDate};

pub const TIETORYHMA: &str = "tietoryhma";
pub const MUUTOSATTRIBUUTTI: &str = "muutosattribuutti";
pub const TURVAKIELLON_ALAISET_KENTAT: &str = "turvakiellonAlaisetKentat";
pub const VOIMASSAOLEVAT_TIEDOT: &str = "voimassaolevatTiedot";

/// The values of `muutosattribuutti`.
pub mod attribute {
    pub const LISATTY: &str = "LISATTY";
    pub const MUUTETTU: &str = "MUUTETTU";
    pub const POISTETTU: &str = "POISTETTU";
    pub const LISATIETO: &str = "LISATIETO";
    pub const KORJATTAVA: &str = "KORJATTAVA";
    pub const KORJATTU: &str = "KORJATTU";
}

/// One group instance as a JSON object; it always has a `tietoryhma` string.
#[derive(Debug, Clone, PartialEq)]
pub struct Group(Map<String, Value>);

impl Group {
    pub fn new(fields: Map<String, Value>) -> Result<Group, String> {
        match fields.get(TIETORYHMA) {
            Some(Value::String(_)) => Ok(Group(fields)),
            _ => Err("a data group needs its name in \"tietoryhma\"".into()),
        }
    }

    pub fn name(&self) -> &str {
        self.0.get(TIETORYHMA).and_then(Value::as_str).unwrap_or_default()
    }

    pub fn fields(&self) -> &Map<String, Value> {
        &self.0
    }

    pub fn get(&self, field: &str) -> Option<&Value> {
        self.0.get(field)
    }

    pub fn attribute(&self) -> Option<&str> {
        self.0.get(MUUTOSATTRIBUUTTI).and_then(Value::as_str)
    }

    /// Censored for turvakielto: the values are left out and listed.
    pub fn is_censored(&self) -> bool {
        self.0.contains_key(TURVAKIELLON_ALAISET_KENTAT)
    }

    /// The group as a person holds it: without the fields that describe a
    /// change rather than the data (`muutosattribuutti`, `voimassaolevatTiedot`).
    /// The fields keep the order they came in.
    pub fn held(&self) -> Group {
        let mut m = self.0.clone();
        m.shift_remove(MUUTOSATTRIBUUTTI);
        m.shift_remove(VOIMASSAOLEVAT_TIEDOT);
        Group(m)
    }

    /// The core's value of a group the project models, read exactly; `None`
    /// for a censored group, a group the project does not model, or one
    /// with a field the model lacks (it stays as it is, untyped).
    pub fn typed(&self) -> Option<GroupValue> {
        if self.is_censored() || GroupName::parse(self.name()).is_err() {
            return None;
        }
        serde_json::from_value(Value::Object(self.held().0)).ok()
    }

    pub fn from_value(v: &GroupValue) -> Group {
        match serde_json::to_value(v) {
            Ok(Value::Object(m)) => Group(m),
            // A group value always serialises to an object with its name.
            _ => Group(name_only(v.name())),
        }
    }

    /// The censored form of a group: every value field left out and listed.
    pub fn censored(g: GroupName) -> Group {
        let mut m = name_only(g);
        let fields = g.censored_fields().iter().map(|f| Value::String((*f).to_string())).collect();
        m.insert(TURVAKIELLON_ALAISET_KENTAT.into(), Value::Array(fields));
        Group(m)
    }

    /// A group gone: DVV's `POISTETTU`, or the end of a turvakielto.
    pub fn removed(g: GroupName) -> Group {
        let mut m = name_only(g);
        if g == GroupName::Turvakielto {
            m.insert(MUUTOSATTRIBUUTTI.into(), attribute::MUUTETTU.into());
            m.insert("turvakieltoAktiivinen".into(), Value::Bool(false));
        } else {
            m.insert(MUUTOSATTRIBUUTTI.into(), attribute::POISTETTU.into());
            m.insert(VOIMASSAOLEVAT_TIEDOT.into(), Value::Array(Vec::new()));
        }
        Group(m)
    }

    pub fn with_attribute(mut self, a: &str) -> Group {
        self.0.insert(MUUTOSATTRIBUUTTI.into(), Value::String(a.to_string()));
        self
    }

    /// The active hetu an in-force HENKILOTUNNUS_KORJAUS instance names;
    /// `None` for any other group or a passive instance.
    pub fn active_hetu(&self) -> Option<&str> {
        if self.name() != GroupName::HenkilotunnusKorjaus.as_str()
            || self.get("voimassaolo").and_then(Value::as_str) == Some("PASSIIVI")
        {
            return None;
        }
        self.get("aktiivinenHenkilotunnus")?.as_str()
    }

    /// The instances of `voimassaolevatTiedot` that are groups of this one's name.
    pub fn in_force(&self) -> Vec<Group> {
        let Some(Value::Array(items)) = self.0.get(VOIMASSAOLEVAT_TIEDOT) else { return Vec::new() };
        items
            .iter()
            .filter_map(|v| match v {
                Value::Object(m) => {
                    let mut m = m.clone();
                    m.entry(TIETORYHMA).or_insert_with(|| Value::String(self.name().to_string()));
                    Group::new(m).ok().filter(|g| g.name() == self.name()).map(|g| g.held())
                }
                _ => None,
            })
            .collect()
    }
}

fn name_only(g: GroupName) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(TIETORYHMA.into(), Value::String(g.as_str().into()));
    m
}

impl Serialize for Group {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Group {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Group::new(Map::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A person as `/perustiedot` answers: the current data under the permit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonRecord {
    pub henkilotunnus: String,
    pub tietoryhmat: Vec<Group>,
}

/// One change to one person, as `/muutokset` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeRecord {
    /// The hetu the recipient knows the person by: for a hetu correction
    /// the earlier one (the new one is in HENKILOTUNNUS_KORJAUS).
    pub henkilotunnus: String,
    pub tietoryhmat: Vec<Group>,
    /// When the change was registered, an instant (midnight in Finland).
    pub muutospv: String,
    /// *Ours*: the person leaves the permit's area with this change;
    /// nothing more comes of them. Absent otherwise.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub poistuu_rajauksesta: bool,
}

impl ChangeRecord {
    /// The person's hetus after a correction in this record: the active
    /// one and the earlier ones.
    pub fn hetu_correction(&self) -> Option<(String, Vec<String>)> {
        self.tietoryhmat.iter().find_map(|g| {
            let active = g.active_hetu()?.to_string();
            let earlier = match g.get("edellisetHenkilotunnukset") {
                Some(Value::Array(a)) => a.iter().filter_map(|h| h.as_str().map(str::to_string)).collect(),
                _ => Vec::new(),
            };
            Some((active, earlier))
        })
    }

    /// The home municipality code the record gives, if it gives one in clear.
    pub fn kotikunta(&self) -> Option<&str> {
        self.tietoryhmat
            .iter()
            .filter(|g| g.name() == GroupName::Kotikunta.as_str() && !g.is_censored())
            .find_map(|g| g.get("kuntakoodi").and_then(Value::as_str))
    }
}

/// The instant of midnight in Finland at the start of `day`, in UTC:
/// `2019-09-25` is `2019-09-24T21:00:00.000Z` (summer time, UTC+3) and
/// `2019-12-25` is `2019-12-24T22:00:00.000Z` (UTC+2).
pub fn muutospv(day: Date) -> String {
    let offset_hours = if summer_time_at_midnight(day) { 3 } else { 2 };
    let utc = day.midnight() - Duration::hours(offset_hours);
    format!("{}T{:02}:00:00.000Z", VtjDate::iso(utc.date()), utc.hour())
}

/// EU summer time runs from 01:00 UTC on the last Sunday of March to 01:00
/// UTC on the last Sunday of October; at local midnight of the changeover
/// days the old offset still holds.
fn summer_time_at_midnight(day: Date) -> bool {
    let last_sunday = |month: Month| {
        let next = if month == Month::December { Month::January } else { month.next() };
        let year = if month == Month::December { day.year() + 1 } else { day.year() };
        let mut d = Date::from_calendar_date(year, next, 1).map(|d| d - Duration::days(1)).unwrap_or(day);
        while d.weekday() != Weekday::Sunday {
            d -= Duration::days(1);
        }
        d
    };
    day > last_sunday(Month::March) && day <= last_sunday(Month::October)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn muutospv_is_finnish_midnight_in_utc() {
        assert_eq!(muutospv(date!(2019 - 09 - 25)), "2019-09-24T21:00:00.000Z");
        assert_eq!(muutospv(date!(2019 - 12 - 25)), "2019-12-24T22:00:00.000Z");
        // 2026: summer time from Sunday 29 March to Sunday 25 October.
        assert_eq!(muutospv(date!(2026 - 03 - 29)), "2026-03-28T22:00:00.000Z");
        assert_eq!(muutospv(date!(2026 - 03 - 30)), "2026-03-29T21:00:00.000Z");
        assert_eq!(muutospv(date!(2026 - 10 - 25)), "2026-10-24T21:00:00.000Z");
        assert_eq!(muutospv(date!(2026 - 10 - 26)), "2026-10-25T22:00:00.000Z");
        assert_eq!(muutospv(date!(2026 - 01 - 01)), "2025-12-31T22:00:00.000Z");
    }

    #[test]
    fn censored_and_removed_groups_have_dvvs_shape() {
        let c = serde_json::to_string(&Group::censored(GroupName::Kotikunta)).unwrap();
        assert_eq!(c, r#"{"tietoryhma":"KOTIKUNTA","turvakiellonAlaisetKentat":["kuntakoodi","kuntaanMuuttopv"]}"#);
        let r = serde_json::to_string(&Group::removed(GroupName::KotimainenPostiosoite)).unwrap();
        assert_eq!(
            r,
            r#"{"tietoryhma":"KOTIMAINEN_POSTIOSOITE","muutosattribuutti":"POISTETTU","voimassaolevatTiedot":[]}"#
        );
        let t = serde_json::to_string(&Group::removed(GroupName::Turvakielto)).unwrap();
        assert_eq!(t, r#"{"tietoryhma":"TURVAKIELTO","muutosattribuutti":"MUUTETTU","turvakieltoAktiivinen":false}"#);
        assert!(serde_json::from_str::<Group>(r#"{"kuntakoodi":"091"}"#).is_err());
        assert!(serde_json::from_str::<Group>(r#"{"tietoryhma":7}"#).is_err());
    }

    #[test]
    fn an_unmodelled_field_keeps_a_group_untyped_and_whole() {
        let known: Group = serde_json::from_str(r#"{"tietoryhma":"KOTIKUNTA","kuntakoodi":"091"}"#).unwrap();
        assert!(known.typed().is_some());
        let extra: Group =
            serde_json::from_str(r#"{"tietoryhma":"KOTIKUNTA","kuntakoodi":"091","uusiKentta":1}"#).unwrap();
        assert_eq!(extra.typed(), None);
        assert_eq!(
            serde_json::to_string(&extra).unwrap(),
            r#"{"tietoryhma":"KOTIKUNTA","kuntakoodi":"091","uusiKentta":1}"#
        );
        let unknown: Group = serde_json::from_str(r#"{"tietoryhma":"JOKU_MUU","x":[1]}"#).unwrap();
        assert_eq!(unknown.typed(), None);
    }
}
