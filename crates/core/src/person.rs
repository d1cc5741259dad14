//! A person's current data: an internal key, the active hetu and the data groups.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::groups::{GroupName, GroupValue};
use crate::hetu::Hetu;
use crate::kunta::KuntaCode;

/// The internal key of a person. Never a hetu: hetus get corrected
/// (DESIGN.md rule 5), this key stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PersonId(pub u64);

impl fmt::Display for PersonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The person's data groups keyed by name. The key always equals the
/// value's own name: `set` derives it, so the two cannot disagree.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Groups(BTreeMap<GroupName, GroupValue>);

impl Groups {
    pub fn get(&self, name: GroupName) -> Option<&GroupValue> {
        self.0.get(&name)
    }

    pub fn set(&mut self, value: GroupValue) {
        self.0.insert(value.name(), value);
    }

    pub fn remove(&mut self, name: GroupName) -> Option<GroupValue> {
        self.0.remove(&name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &GroupValue> {
        self.0.values()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<GroupValue> for Groups {
    fn from_iter<I: IntoIterator<Item = GroupValue>>(iter: I) -> Self {
        let mut g = Groups::default();
        for v in iter {
            g.set(v);
        }
        g
    }
}

impl Serialize for Groups {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.values())
    }
}

impl<'de> Deserialize<'de> for Groups {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let values = Vec::<GroupValue>::deserialize(d)?;
        let n = values.len();
        let groups: Groups = values.into_iter().collect();
        if groups.len() != n {
            return Err(serde::de::Error::custom("a data group appears twice"));
        }
        Ok(groups)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Person {
    pub id: PersonId,
    pub henkilotunnus: Hetu,
    pub tietoryhmat: Groups,
}

impl Person {
    pub fn new(id: PersonId, hetu: Hetu) -> Person {
        Person { id, henkilotunnus: hetu, tietoryhmat: Groups::default() }
    }

    pub fn hetu(&self) -> Hetu {
        self.henkilotunnus
    }

    pub fn group(&self, name: GroupName) -> Option<&GroupValue> {
        self.tietoryhmat.get(name)
    }

    pub fn kotikunta(&self) -> Option<KuntaCode> {
        match self.group(GroupName::Kotikunta) {
            Some(GroupValue::Kotikunta(k)) => Some(k.kuntakoodi),
            _ => None,
        }
    }

    /// A turvakielto is in force from its start event until its end event.
    /// An end date that passes without an end event keeps it in force: the
    /// register errs on the side of protection until VTJ records the end.
    pub fn has_turvakielto(&self) -> bool {
        self.group(GroupName::Turvakielto).is_some()
    }

    pub fn is_dead(&self) -> bool {
        self.group(GroupName::Kuolinpaiva).is_some()
    }

    /// Every hetu this person has had, the active one first.
    pub fn all_hetus(&self) -> Vec<Hetu> {
        let mut v = vec![self.henkilotunnus];
        if let Some(GroupValue::HenkilotunnusKorjaus(k)) = self.group(GroupName::HenkilotunnusKorjaus) {
            v.extend(k.aiemmat_henkilotunnukset.iter().copied());
        }
        v
    }
}
