//! Data groups on the wire: `{"tietoryhma": NAME, ...fields}`, in person
//! records (`/perustiedot`) and change records (`/muutokset`, with
//! `muutospv` and each group's `muutosattribuutti`).
//!
//! A [`Group`] is kept as the JSON text it is, so a group or a field this
//! project does not model passes through the client untouched; where the
//! project models the group, [`Group::typed`] reads it into the core's value.
//!
//! How the core's disclosures become such records is in [`crate::records`].

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use time::{Date, Duration, Month, Weekday};
use vtj_core::{GroupName, GroupValue, VtjDate};

use crate::object;

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

/// One group instance: a JSON object that always has a `tietoryhma` string.
///
/// Kept as the text it came as, with only what the client's rule reads of
/// every group (name, `muutosattribuutti`, whether it is censored or
/// carries fields that describe a change) read up front: building every
/// group of a page into a map of values took most of the time the sync
/// client spent reading a page, and most groups are only stored. The text
/// is checked as the values would be (a number beyond `f64` is refused as
/// before), and the values are read when first asked for.
#[derive(Clone)]
pub struct Group {
    text: Box<RawValue>,
    name: Box<str>,
    attribute: Option<Box<str>>,
    censored: bool,
    /// Has `muutosattribuutti` (of any value) or `voimassaolevatTiedot`.
    describes_change: bool,
    fields: OnceLock<Map<String, Value>>,
}

/// What is read of every group at once, in one pass that checks all of it.
struct Head<'a> {
    /// The last `tietoryhma` given, as a map keeps the last.
    name: Option<Token<'a>>,
    attribute: Option<Token<'a>>,
    censored: bool,
    lists_in_force: bool,
}

impl<'de> Deserialize<'de> for Head<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = Head<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a data group object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Head<'de>, A::Error> {
                let mut head = Head { name: None, attribute: None, censored: false, lists_in_force: false };
                while let Some(key) = map.next_key::<Token>()? {
                    let value = map.next_value::<Token>()?;
                    let Token::Str(key) = key else { continue };
                    match key.as_ref() {
                        TIETORYHMA => head.name = Some(value),
                        MUUTOSATTRIBUUTTI => head.attribute = Some(value),
                        TURVAKIELLON_ALAISET_KENTAT => head.censored = true,
                        VOIMASSAOLEVAT_TIEDOT => head.lists_in_force = true,
                        _ => {}
                    }
                }
                Ok(head)
            }
        }
        d.deserialize_map(Visit)
    }
}

/// Any JSON value, walked as serde_json reads values (numbers parsed,
/// strings unescaped) but nothing built: a string, or something else.
enum Token<'a> {
    Str(Cow<'a, str>),
    Other,
}

impl<'de> Deserialize<'de> for Token<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = Token<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Token<'de>, E> {
                Ok(Token::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Token<'de>, E> {
                Ok(Token::Str(Cow::Owned(v.to_string())))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Token<'de>, E> {
                Ok(Token::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Token<'de>, E> {
                Ok(Token::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Token<'de>, E> {
                Ok(Token::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Token<'de>, E> {
                Ok(Token::Other)
            }
            fn visit_unit<E>(self) -> Result<Token<'de>, E> {
                Ok(Token::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Token<'de>, A::Error> {
                while seq.next_element::<Token>()?.is_some() {}
                Ok(Token::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Token<'de>, A::Error> {
                while map.next_entry::<Token, Token>()?.is_some() {}
                Ok(Token::Other)
            }
        }
        d.deserialize_any(Visit)
    }
}

impl Group {
    pub fn new(fields: Map<String, Value>) -> Result<Group, String> {
        let name = match fields.get(TIETORYHMA) {
            Some(Value::String(name)) => name.as_str().into(),
            _ => return Err(NAME_NEEDED.into()),
        };
        let text = serde_json::value::to_raw_value(&fields).map_err(|e| e.to_string())?;
        Ok(Group {
            text,
            name,
            attribute: fields.get(MUUTOSATTRIBUUTTI).and_then(Value::as_str).map(Into::into),
            censored: fields.contains_key(TURVAKIELLON_ALAISET_KENTAT),
            describes_change: fields.contains_key(MUUTOSATTRIBUUTTI) || fields.contains_key(VOIMASSAOLEVAT_TIEDOT),
            fields: OnceLock::from(fields),
        })
    }

    /// A group from its JSON text, which must be an object that reads as
    /// values: what [`Group::new`] takes, as text.
    pub fn from_text(text: Box<RawValue>) -> Result<Group, String> {
        if !text.get().starts_with('{') {
            return Err("a data group is a JSON object".into());
        }
        let head: Head = serde_json::from_str(text.get()).map_err(|e| format!("a data group: {e}"))?;
        let Some(Token::Str(name)) = head.name else { return Err(NAME_NEEDED.into()) };
        let attribute = match &head.attribute {
            Some(Token::Str(a)) => Some(a.as_ref().into()),
            _ => None,
        };
        Ok(Group {
            name: name.as_ref().into(),
            attribute,
            censored: head.censored,
            describes_change: head.attribute.is_some() || head.lists_in_force,
            fields: OnceLock::new(),
            text,
        })
    }

    /// A group this module builds: its name is in the map.
    fn built(fields: Map<String, Value>) -> Group {
        Group::new(fields).expect("a map with a name, written by serde_json")
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The group's values, read from its text when first asked for.
    pub fn fields(&self) -> &Map<String, Value> {
        // The text was checked to read as values when the group was made.
        self.fields.get_or_init(|| serde_json::from_str(self.text.get()).unwrap_or_default())
    }

    pub fn get(&self, field: &str) -> Option<&Value> {
        self.fields().get(field)
    }

    /// The group's JSON text.
    pub fn text(&self) -> &str {
        self.text.get()
    }

    pub fn attribute(&self) -> Option<&str> {
        self.attribute.as_deref()
    }

    /// Censored for turvakielto: the values are left out and listed.
    pub fn is_censored(&self) -> bool {
        self.censored
    }

    /// The group as a person holds it: without the fields that describe a
    /// change rather than the data (`muutosattribuutti`, `voimassaolevatTiedot`).
    /// The fields keep the order they came in.
    pub fn held(&self) -> Group {
        if !self.describes_change {
            return self.clone();
        }
        let fields = self.fields.get().cloned().map(without_change_fields);
        Group {
            // An object's text with some of its members left out is one.
            text: RawValue::from_string(self.held_text().into_owned()).unwrap_or_else(|_| self.text.clone()),
            name: self.name.clone(),
            attribute: None,
            censored: self.censored,
            describes_change: false,
            fields: fields.map_or_else(OnceLock::new, OnceLock::from),
        }
    }

    /// The text [`Group::held`] has: the group's own where it carries no
    /// field that describes a change, else its other members in order.
    pub(crate) fn held_text(&self) -> Cow<'_, str> {
        let text = self.text.get();
        if !self.describes_change {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        out.push('{');
        for m in object::members(text) {
            let name = m.name();
            if name == MUUTOSATTRIBUUTTI || name == VOIMASSAOLEVAT_TIEDOT {
                continue;
            }
            if out.len() > 1 {
                out.push(',');
            }
            // A name without escapes is written as it came: serde_json
            // would write it so too.
            match &name {
                Cow::Borrowed(raw) => {
                    out.push('"');
                    out.push_str(raw);
                    out.push('"');
                }
                Cow::Owned(decoded) => write_key(&mut out, decoded),
            }
            out.push(':');
            out.push_str(m.value);
        }
        out.push('}');
        Cow::Owned(out)
    }

    /// The text of a member's value, read from the group's text without
    /// its values being built (the last, if the name is given twice, as a
    /// map keeps it): for the few fields the client's rule reads of a
    /// group it otherwise only stores.
    pub(crate) fn member(&self, name: &str) -> Option<&str> {
        object::members(self.text.get()).filter(|m| m.name() == name).last().map(|m| m.value)
    }

    /// The core's value of a group the project models, read exactly; `None`
    /// for a censored group, a group the project does not model, or one
    /// with a field the model lacks (it stays as it is, untyped).
    pub fn typed(&self) -> Option<GroupValue> {
        if self.is_censored() || GroupName::parse(self.name()).is_err() {
            return None;
        }
        serde_json::from_value(Value::Object(without_change_fields(self.fields().clone()))).ok()
    }

    pub fn from_value(v: &GroupValue) -> Group {
        match serde_json::to_value(v) {
            Ok(Value::Object(m)) if m.contains_key(TIETORYHMA) => Group::built(m),
            // A group value always serialises to an object with its name.
            _ => Group::built(name_only(v.name())),
        }
    }

    /// The censored form of a group: every value field left out and listed.
    pub fn censored(g: GroupName) -> Group {
        let mut m = name_only(g);
        let fields = g.censored_fields().iter().map(|f| Value::String((*f).to_string())).collect();
        m.insert(TURVAKIELLON_ALAISET_KENTAT.into(), Value::Array(fields));
        Group::built(m)
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
        Group::built(m)
    }

    pub fn with_attribute(self, a: &str) -> Group {
        let mut m = self.fields().clone();
        m.insert(MUUTOSATTRIBUUTTI.into(), Value::String(a.to_string()));
        Group::built(m)
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
        let Some(Value::Array(items)) = self.get(VOIMASSAOLEVAT_TIEDOT) else { return Vec::new() };
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

const NAME_NEEDED: &str = "a data group needs its name in \"tietoryhma\"";

fn name_only(g: GroupName) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(TIETORYHMA.into(), Value::String(g.as_str().into()));
    m
}

/// A group's values as a person holds them (see [`Group::held`]).
fn without_change_fields(mut fields: Map<String, Value>) -> Map<String, Value> {
    fields.shift_remove(MUUTOSATTRIBUUTTI);
    fields.shift_remove(VOIMASSAOLEVAT_TIEDOT);
    fields
}

/// A JSON string as serde_json writes it.
fn write_key(out: &mut String, key: &str) {
    // Writing a `str` as JSON cannot fail.
    out.push_str(&serde_json::to_string(key).unwrap_or_default());
}

impl PartialEq for Group {
    /// Equal values, as a map of them compares (the text may differ in spacing).
    fn eq(&self, other: &Group) -> bool {
        self.text.get() == other.text.get() || self.fields() == other.fields()
    }
}

impl fmt::Debug for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Group").field(&self.text.get()).finish()
    }
}

impl Serialize for Group {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.text.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Group {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Group::from_text(Box::<RawValue>::deserialize(d)?).map_err(serde::de::Error::custom)
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
    fn a_group_is_read_from_its_text_as_its_values_say() {
        let spaced =
            "{ \"kuntakoodi\" : \"091\", \"tietoryhma\" : \"KOTIKUNTA\",\n \"muutosattribuutti\": \"MUUTETTU\" }";
        let g: Group = serde_json::from_str(spaced).unwrap();
        assert_eq!((g.name(), g.attribute(), g.is_censored()), ("KOTIKUNTA", Some("MUUTETTU"), false));
        assert_eq!(g.get("kuntakoodi"), Some(&Value::from("091")));
        assert_eq!(g.held().text(), r#"{"kuntakoodi":"091","tietoryhma":"KOTIKUNTA"}"#);
        let compact: Group = serde_json::from_str(&serde_json::to_string(g.fields()).unwrap()).unwrap();
        assert_eq!(g, compact, "spacing is not a difference");

        // A `muutosattribuutti` that is no string is none, and still not held.
        let odd: Group = serde_json::from_str(r#"{"tietoryhma":"X","muutosattribuutti":null,"a":1}"#).unwrap();
        assert_eq!(odd.attribute(), None);
        assert_eq!(odd.held().text(), r#"{"tietoryhma":"X","a":1}"#);
        let censored: Group = serde_json::from_str(r#"{"tietoryhma":"X","turvakiellonAlaisetKentat":null}"#).unwrap();
        assert!(censored.is_censored());

        for bad in [r#"["tietoryhma"]"#, r#""KOTIKUNTA""#, r#"{"a":1}"#, r#"{"tietoryhma":"A","tietoryhma":1}"#] {
            assert!(serde_json::from_str::<Group>(bad).is_err(), "{bad} read as a group");
        }
        // A name given twice: the last, as a map of the values has it.
        let twice: Group = serde_json::from_str(r#"{"tietoryhma":1,"tietoryhma":"B"}"#).unwrap();
        assert_eq!(twice.name(), "B");
        assert_eq!(twice.get(TIETORYHMA), Some(&Value::from("B")));
    }

    #[test]
    fn a_member_is_read_from_the_text_as_the_values_have_it() {
        let text = r#"{"tietoryhma":"TURVAKIELTO", "turvakieltoAktiivinen" : false,"loppupv":null,
            "osoite":{"katu":"A \"B\", C","n":[1,2]},"t\u0061":"x","twice":1,"twice":"last"}"#;
        let g: Group = serde_json::from_str(text).unwrap();
        for name in ["turvakieltoAktiivinen", "loppupv", "osoite", "ta", "twice", "tietoryhma"] {
            let value = g.member(name).map(|t| serde_json::from_str::<Value>(t).unwrap());
            assert_eq!(value.as_ref(), g.get(name), "{name}");
        }
        assert_eq!(g.member("turvakieltoAktiivinen"), Some("false"));
        assert_eq!(g.member("twice"), Some(r#""last""#));
        assert_eq!(g.member("katu"), None, "a nested member is not the group's");
        assert_eq!(g.member("muutosattribuutti"), None);

        // Names with escapes are written in the held form as serde_json writes them.
        let escaped = r#"{"t\u0069etoryhma":"X","muutosattribuutti":"LISATTY","a\"b":1,"\u00e4":[]}"#;
        let g: Group = serde_json::from_str(escaped).unwrap();
        assert_eq!(g.held().text(), r#"{"tietoryhma":"X","a\"b":1,"ä":[]}"#);
        assert_eq!(
            g.held(),
            Group::new(serde_json::from_str(r#"{"tietoryhma":"X","a\"b":1,"ä":[]}"#).unwrap()).unwrap()
        );
    }

    #[test]
    fn text_that_does_not_read_as_values_is_refused_as_before() {
        // serde_json reads `1e400` as text, but no value holds it.
        assert!(serde_json::from_str::<Value>("1e400").is_err());
        assert!(serde_json::from_str::<Box<RawValue>>("1e400").is_ok());
        for bad in [
            r#"{"tietoryhma":"OMA_RYHMA","x":1e400}"#,
            r#"{"tietoryhma":"OMA_RYHMA","x":{"y":[1,-1e400]}}"#,
            r#"{"tietoryhma":"OMA_RYHMA","x":"\ud800"}"#,
        ] {
            let e = serde_json::from_str::<Group>(bad).unwrap_err().to_string();
            assert!(serde_json::from_str::<Map<String, Value>>(bad).is_err(), "{bad}");
            assert!(e.contains("a data group"), "{bad}: {e}");
        }
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
