//! What a recipient holds of one person, and how a change record updates it.
//!
//! The rule (this project's reading of DVV's records, and exactly what its
//! service writes): for every group a change record names, the record's
//! instances of that group replace what the recipient held of it.
//! - `POISTETTU`: the group's instances become its `voimassaolevatTiedot`
//!   (none: the group goes).
//! - TURVAKIELTO with `turvakieltoAktiivinen: false`: the turvakielto ended.
//! - `KORJATTAVA` is the value before a correction, superseded by the
//!   `KORJATTU` beside it: it is not kept.
//! - An address whose `MUUTETTU` instance carries `loppupv` has ended (DVV
//!   sends a move as the new address `LISATTY` and the old one ended): the
//!   current address groups keep only the addresses in force.
//! - A censored instance is kept as it came: it says the group exists and
//!   is withheld, and any values held before are gone with it.
//!
//! Against DVV, a record naming a repeated group may carry only the
//! instances that changed; the rule then keeps only those until the next
//! full load. This project's service always sends the complete set.
//!
//! A register keeps a person as the JSON `Held` serialises to.
//! [`stored_record`] and [`apply_stored`] write that text straight from a
//! record and from the text held before: the rule above needs only the
//! change's instances, so the groups a change leaves alone are copied as
//! they are stored, never decoded into objects and written again.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::group::{attribute, ChangeRecord, Group, PersonRecord};

/// Per group name, the instances held, in the order they came.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Held(BTreeMap<String, Vec<Group>>);

impl Held {
    pub fn from_record(r: &PersonRecord) -> Held {
        Held::from_groups(r.tietoryhmat.iter().map(Group::held))
    }

    pub fn from_groups(groups: impl IntoIterator<Item = Group>) -> Held {
        let mut h = Held::default();
        for g in groups {
            h.0.entry(g.name().to_string()).or_default().push(g);
        }
        h
    }

    pub fn groups(&self) -> &BTreeMap<String, Vec<Group>> {
        &self.0
    }

    pub fn instances(&self, name: &str) -> &[Group] {
        self.0.get(name).map_or(&[], Vec::as_slice)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every instance, group by group.
    pub fn iter(&self) -> impl Iterator<Item = &Group> {
        self.0.values().flatten()
    }

    /// Applies one change record's groups (leaving and hetu corrections
    /// are the caller's: they concern where the person is kept).
    pub fn apply(&mut self, r: &ChangeRecord) {
        for (name, now) in replacements(r) {
            if now.is_empty() {
                self.0.remove(name);
            } else {
                let held = now.into_iter().map(|g| match g {
                    Cow::Borrowed(g) => g.held(),
                    Cow::Owned(g) => g,
                });
                self.0.insert(name.to_string(), held.collect());
            }
        }
    }
}

/// The stored form of the person a record gives: exactly the text
/// `Held::from_record` serialises to.
pub fn stored_record(r: &PersonRecord) -> Result<String, serde_json::Error> {
    write_stored(r.tietoryhmat.iter().map(|g| (Cow::Borrowed(g.name()), Stored::Group(g))).collect())
}

/// A stored person (`[]` for one not held) with one change record
/// applied: exactly the text that decoding it, [`Held::apply`] and
/// serialising again give, for text this module wrote.
pub fn apply_stored(stored: &str, r: &ChangeRecord) -> Result<String, serde_json::Error> {
    let held: Vec<&RawValue> = serde_json::from_str(stored)?;
    let replaced = replacements(r);
    let mut items = Vec::with_capacity(held.len() + r.tietoryhmat.len());
    for raw in held {
        let name = stored_name(raw)?;
        if !replaced.iter().any(|(n, _)| *n == name) {
            items.push((name, Stored::Raw(raw)));
        }
    }
    for (name, now) in &replaced {
        items.extend(now.iter().map(|g| (Cow::Borrowed(*name), Stored::Group(g.as_ref()))));
    }
    write_stored(items)
}

/// The name of a stored group. What this module writes starts with it
/// (the service's groups and DVV's do, and [`Group::held`] keeps the
/// order), so it is read from there; any other text is parsed.
fn stored_name(raw: &RawValue) -> Result<Cow<'_, str>, serde_json::Error> {
    if let Some(rest) = raw.get().strip_prefix(r#"{"tietoryhma":""#) {
        if let Some(end) = rest.find(['"', '\\']).filter(|&i| rest.as_bytes()[i] == b'"') {
            return Ok(Cow::Borrowed(&rest[..end]));
        }
    }
    Ok(serde_json::from_str::<Named>(raw.get())?.tietoryhma)
}

/// Just the name of a stored group: the rest is skipped, not built.
#[derive(Deserialize)]
struct Named<'a> {
    #[serde(borrow)]
    tietoryhma: Cow<'a, str>,
}

enum Stored<'a> {
    /// Copied as it was stored.
    Raw(&'a RawValue),
    /// Written as held: without the fields that describe a change.
    Group(&'a Group),
}

/// Writes instances as `Held` does: by group name (in `BTreeMap` order),
/// each name's instances in the order given.
fn write_stored(mut items: Vec<(Cow<'_, str>, Stored<'_>)>) -> Result<String, serde_json::Error> {
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Vec::with_capacity(256 * items.len() + 2);
    out.push(b'[');
    for (i, (_, item)) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match item {
            Stored::Raw(raw) => out.extend_from_slice(raw.get().as_bytes()),
            Stored::Group(g) => out.extend_from_slice(g.held_text().as_bytes()),
        }
    }
    out.push(b']');
    // Only JSON text was written: raw slices of a `str` and serde_json's output.
    String::from_utf8(out).map_err(serde::ser::Error::custom)
}

/// Each group name a record names, first appearance first, with the
/// instances it now has (none: the group goes).
fn replacements(r: &ChangeRecord) -> Vec<(&str, Vec<Cow<'_, Group>>)> {
    let named: Vec<(&str, &Group)> = r.tietoryhmat.iter().map(|g| (g.name(), g)).collect();
    let mut names: Vec<&str> = Vec::new();
    for (name, _) in &named {
        if !names.contains(name) {
            names.push(name);
        }
    }
    names
        .into_iter()
        .map(|name| {
            let instances: Vec<&Group> = named.iter().filter(|(n, _)| *n == name).map(|(_, g)| *g).collect();
            (name, replacement(name, &instances))
        })
        .collect()
}

/// The instances a group now has: the record's own ones, borrowed (still
/// with the fields that describe the change), or ones a `POISTETTU`
/// instance names in force, owned and already as held.
fn replacement<'a>(name: &str, instances: &[&'a Group]) -> Vec<Cow<'a, Group>> {
    if instances.iter().any(|g| g.attribute() == Some(attribute::POISTETTU)) {
        return instances
            .iter()
            .filter(|g| g.attribute() == Some(attribute::POISTETTU))
            .flat_map(|g| g.in_force())
            .map(Cow::Owned)
            .collect();
    }
    // Read as text: the values of these groups are not built for this.
    if name == "TURVAKIELTO" && instances.iter().any(|g| g.member("turvakieltoAktiivinen") == Some("false")) {
        return Vec::new();
    }
    instances
        .iter()
        .filter(|g| g.attribute() != Some(attribute::KORJATTAVA))
        .filter(|g| {
            !(is_current_address(name) && g.attribute() == Some(attribute::MUUTETTU) && g.member("loppupv").is_some())
        })
        .map(|g| Cow::Borrowed(*g))
        .collect()
}

/// The groups that hold where a person lives now (not the history groups).
fn is_current_address(name: &str) -> bool {
    let history = ["EDELLINEN_", "ENTINEN_", "HISTORIAA_"].iter().any(|p| name.starts_with(p));
    !history && (name.ends_with("_OSOITE") || name.ends_with("_ASUINPAIKKATUNNUS"))
}

/// As stored: the flat list of instances, like a record's `tietoryhmat`.
impl Serialize for Held {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Held {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Held::from_groups(Vec::<Group>::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: &str) -> ChangeRecord {
        serde_json::from_str(json).unwrap()
    }

    fn held(json: &str) -> Held {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_move_as_dvv_sends_it_keeps_only_the_new_address() {
        let mut h = held(r#"[{"tietoryhma":"VAKINAINEN_KOTIMAINEN_OSOITE","katunimi":{"fi":"Vanha"}}]"#);
        h.apply(&record(
            r#"{"henkilotunnus":"010181-900C","muutospv":"2020-10-01T04:38:04.394Z","tietoryhmat":[
                {"tietoryhma":"VAKINAINEN_KOTIMAINEN_OSOITE","muutosattribuutti":"LISATTY","katunimi":{"fi":"Uusi"}},
                {"tietoryhma":"VAKINAINEN_KOTIMAINEN_OSOITE","muutosattribuutti":"MUUTETTU","katunimi":{"fi":"Vanha"},
                 "loppupv":{"arvo":"2020-09-30","tarkkuus":"PAIVA"}}]}"#,
        ));
        assert_eq!(
            serde_json::to_string(&h).unwrap(),
            r#"[{"tietoryhma":"VAKINAINEN_KOTIMAINEN_OSOITE","katunimi":{"fi":"Uusi"}}]"#
        );
    }

    #[test]
    fn removal_turvakielto_end_and_censoring() {
        let mut h = held(
            r#"[{"tietoryhma":"KOTIMAINEN_POSTIOSOITE","postinumero":"00100"},
                {"tietoryhma":"KOTIKUNTA","kuntakoodi":"091"},
                {"tietoryhma":"TURVAKIELTO","turvakieltoAktiivinen":true}]"#,
        );
        h.apply(&record(
            r#"{"henkilotunnus":"010181-900C","muutospv":"x","tietoryhmat":[
                {"tietoryhma":"KOTIMAINEN_POSTIOSOITE","muutosattribuutti":"POISTETTU","voimassaolevatTiedot":[]},
                {"tietoryhma":"TURVAKIELTO","muutosattribuutti":"MUUTETTU","turvakieltoAktiivinen":false},
                {"tietoryhma":"KOTIKUNTA","muutosattribuutti":"MUUTETTU","turvakiellonAlaisetKentat":["kuntakoodi"]}]}"#,
        ));
        assert_eq!(
            serde_json::to_string(&h).unwrap(),
            r#"[{"tietoryhma":"KOTIKUNTA","turvakiellonAlaisetKentat":["kuntakoodi"]}]"#
        );
    }

    #[test]
    fn a_repeated_group_is_replaced_whole_and_corrections_keep_the_corrected() {
        let mut h = held(r#"[{"tietoryhma":"NIMENMUUTOS","nimi":"A"},{"tietoryhma":"NIMENMUUTOS","nimi":"B"}]"#);
        h.apply(&record(
            r#"{"henkilotunnus":"010181-900C","muutospv":"x","tietoryhmat":[
                {"tietoryhma":"NIMENMUUTOS","muutosattribuutti":"LISATIETO","nimi":"A"},
                {"tietoryhma":"NIMENMUUTOS","muutosattribuutti":"KORJATTAVA","nimi":"B"},
                {"tietoryhma":"NIMENMUUTOS","muutosattribuutti":"KORJATTU","nimi":"C"}]}"#,
        ));
        let names: Vec<_> = h.instances("NIMENMUUTOS").iter().map(|g| g.get("nimi").unwrap().clone()).collect();
        assert_eq!(names, ["A", "C"]);
    }
}
