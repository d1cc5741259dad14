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

/// The person's data groups: per name, its instances in order (one for
/// most groups, several for a repeated one such as NIMENMUUTOS). Every
/// instance is of the group it is filed under, and no name has an empty
/// list: the methods keep both so.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Groups(BTreeMap<GroupName, Vec<GroupValue>>);

impl Groups {
    /// The first (for most groups: the only) instance.
    pub fn get(&self, name: GroupName) -> Option<&GroupValue> {
        self.0.get(&name).and_then(|v| v.first())
    }

    /// Every instance of the group; empty if the person has none.
    pub fn instances(&self, name: GroupName) -> &[GroupValue] {
        self.0.get(&name).map_or(&[], Vec::as_slice)
    }

    /// Makes `value` the group's one instance.
    pub fn set(&mut self, value: GroupValue) {
        self.0.insert(value.name(), vec![value]);
    }

    /// Replaces every instance of `name`; an empty list removes the group.
    /// Instances of another group are refused (returns false, changes nothing).
    pub fn set_all(&mut self, name: GroupName, values: Vec<GroupValue>) -> bool {
        if values.iter().any(|v| v.name() != name) {
            return false;
        }
        if values.is_empty() {
            self.0.remove(&name);
        } else {
            self.0.insert(name, values);
        }
        true
    }

    pub fn remove(&mut self, name: GroupName) -> Vec<GroupValue> {
        self.0.remove(&name).unwrap_or_default()
    }

    pub fn names(&self) -> impl Iterator<Item = GroupName> + '_ {
        self.0.keys().copied()
    }

    /// Every instance, group by group.
    pub fn iter(&self) -> impl Iterator<Item = &GroupValue> {
        self.0.values().flatten()
    }

    /// How many groups (not instances) the person has.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// An instance given twice for a group that occurs once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the data group {0} appears twice")]
pub struct GroupTwice(pub GroupName);

impl Groups {
    /// Instances in order into groups; a non-repeated group given twice is refused.
    pub fn try_from_instances(values: impl IntoIterator<Item = GroupValue>) -> Result<Groups, GroupTwice> {
        let mut map: BTreeMap<GroupName, Vec<GroupValue>> = BTreeMap::new();
        for v in values {
            let name = v.name();
            let list = map.entry(name).or_default();
            if !list.is_empty() && !name.is_repeated() {
                return Err(GroupTwice(name));
            }
            list.push(v);
        }
        Ok(Groups(map))
    }
}

impl Serialize for Groups {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Groups {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Groups::try_from_instances(Vec::<GroupValue>::deserialize(d)?).map_err(serde::de::Error::custom)
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

    pub fn instances(&self, name: GroupName) -> &[GroupValue] {
        self.tietoryhmat.instances(name)
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
            v.extend(k.edelliset_henkilotunnukset.iter().copied());
        }
        v
    }
}
