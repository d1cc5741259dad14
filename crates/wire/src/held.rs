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

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

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
        let mut names: Vec<&str> = Vec::new();
        for g in &r.tietoryhmat {
            if !names.contains(&g.name()) {
                names.push(g.name());
            }
        }
        for name in names {
            let instances: Vec<&Group> = r.tietoryhmat.iter().filter(|g| g.name() == name).collect();
            let now = replacement(name, &instances);
            if now.is_empty() {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_string(), now);
            }
        }
    }
}

fn replacement(name: &str, instances: &[&Group]) -> Vec<Group> {
    if instances.iter().any(|g| g.attribute() == Some(attribute::POISTETTU)) {
        return instances
            .iter()
            .filter(|g| g.attribute() == Some(attribute::POISTETTU))
            .flat_map(|g| g.in_force())
            .collect();
    }
    if name == "TURVAKIELTO" && instances.iter().any(|g| g.get("turvakieltoAktiivinen") == Some(&Value::Bool(false))) {
        return Vec::new();
    }
    instances
        .iter()
        .filter(|g| g.attribute() != Some(attribute::KORJATTAVA))
        .filter(|g| {
            !(is_current_address(name) && g.attribute() == Some(attribute::MUUTETTU) && g.get("loppupv").is_some())
        })
        .map(|g| g.held())
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
