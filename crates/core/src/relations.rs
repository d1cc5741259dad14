//! Relations between persons stay two-sided.
//!
//! A relation is held by both persons, each naming the other by hetu:
//! HUOLTAJA on the child and HUOLLETTAVA on the guardian (and their
//! _SUPPEA and _RAJOITETTU forms), VANHEMPI on the child and LAPSI on the
//! parent (and _SUPPEA), PERHESUHDE on both with the roles swapped,
//! AVIOLIITTO and REKISTEROITY_PARISUHDE on both with the same validity.
//! A relative without a hetu (the social welfare board as guardian, a
//! parent abroad) has no record of its own, so nothing to mirror.
//!
//! Events change one person each; a family event is a batch of them (see
//! [`crate::family`]). [`check`] is what refuses a batch that would leave a
//! relation one-sided: the store runs it on every batch before committing.

use std::borrow::Cow;
use std::collections::HashMap;

use thiserror::Error;

use crate::groups::{code, GroupName, GroupValue, RelatedPerson, Voimassaolo};
use crate::hetu::Hetu;
use crate::person::{Person, PersonId};

/// One side of a relation as a person holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub group: GroupName,
    /// PERHESUHDE: whether the other is this person's parent.
    pub other_is_parent: bool,
    pub other: Hetu,
    /// Marriages and partnerships: in force or ended; both sides agree.
    pub voimassaolo: Option<Voimassaolo>,
}

impl Link {
    /// The link the other person must hold, naming `me`.
    pub fn mirror(&self, me: Hetu) -> Link {
        use GroupName as G;
        let group = match self.group {
            G::Huoltaja => G::Huollettava,
            G::Huollettava => G::Huoltaja,
            G::HuoltajaSuppea => G::HuollettavaSuppea,
            G::HuollettavaSuppea => G::HuoltajaSuppea,
            G::HuoltajaRajoitettu => G::HuollettavaRajoitettu,
            G::HuollettavaRajoitettu => G::HuoltajaRajoitettu,
            G::Vanhempi => G::Lapsi,
            G::Lapsi => G::Vanhempi,
            G::VanhempiSuppea => G::LapsiSuppea,
            G::LapsiSuppea => G::VanhempiSuppea,
            same => same,
        };
        let other_is_parent = self.group == G::Perhesuhde && !self.other_is_parent;
        Link { group, other_is_parent, other: me, voimassaolo: self.voimassaolo }
    }
}

/// The groups that hold one side of a two-sided relation.
pub const RELATION_GROUPS: [GroupName; 13] = [
    GroupName::Huoltaja,
    GroupName::HuoltajaSuppea,
    GroupName::HuoltajaRajoitettu,
    GroupName::Huollettava,
    GroupName::HuollettavaSuppea,
    GroupName::HuollettavaRajoitettu,
    GroupName::Vanhempi,
    GroupName::VanhempiSuppea,
    GroupName::Lapsi,
    GroupName::LapsiSuppea,
    GroupName::Perhesuhde,
    GroupName::Avioliitto,
    GroupName::RekisteroityParisuhde,
];

/// The relative a relation instance names, if the group is a relation.
pub fn relative(v: &GroupValue) -> Option<&RelatedPerson> {
    match v {
        GroupValue::Huoltaja(h) | GroupValue::HuoltajaSuppea(h) | GroupValue::HuoltajaRajoitettu(h) => {
            Some(&h.huoltaja)
        }
        GroupValue::Huollettava(h) | GroupValue::HuollettavaSuppea(h) | GroupValue::HuollettavaRajoitettu(h) => {
            Some(&h.huollettava)
        }
        GroupValue::Vanhempi(v) | GroupValue::VanhempiSuppea(v) => Some(&v.vanhempi),
        GroupValue::Lapsi(l) | GroupValue::LapsiSuppea(l) => Some(&l.lapsi),
        GroupValue::Perhesuhde(p) => Some(&p.henkilo),
        GroupValue::Avioliitto(a) => Some(&a.puoliso),
        GroupValue::RekisteroityParisuhde(r) => Some(&r.osapuoli),
        _ => None,
    }
}

/// The same, to change: a hetu correction rewrites it.
pub fn relative_mut(v: &mut GroupValue) -> Option<&mut RelatedPerson> {
    match v {
        GroupValue::Huoltaja(h) | GroupValue::HuoltajaSuppea(h) | GroupValue::HuoltajaRajoitettu(h) => {
            Some(&mut h.huoltaja)
        }
        GroupValue::Huollettava(h) | GroupValue::HuollettavaSuppea(h) | GroupValue::HuollettavaRajoitettu(h) => {
            Some(&mut h.huollettava)
        }
        GroupValue::Vanhempi(v) | GroupValue::VanhempiSuppea(v) => Some(&mut v.vanhempi),
        GroupValue::Lapsi(l) | GroupValue::LapsiSuppea(l) => Some(&mut l.lapsi),
        GroupValue::Perhesuhde(p) => Some(&mut p.henkilo),
        GroupValue::Avioliitto(a) => Some(&mut a.puoliso),
        GroupValue::RekisteroityParisuhde(r) => Some(&mut r.osapuoli),
        _ => None,
    }
}

fn link(v: &GroupValue) -> Option<Link> {
    let other = relative(v)?.henkilotunnus?;
    let (other_is_parent, voimassaolo) = match v {
        GroupValue::Perhesuhde(p) => (p.rooli == code::PERHESUHDE_VANHEMPI, None),
        GroupValue::Avioliitto(a) => (false, Some(a.voimassaolo)),
        GroupValue::RekisteroityParisuhde(r) => (false, Some(r.voimassaolo)),
        _ => (false, None),
    };
    Some(Link { group: v.name(), other_is_parent, other, voimassaolo })
}

/// The hetus [`check`] asks its `find` for on these changes: the relatives
/// outside the batch that a changed person names before or after. A store
/// reads them at once rather than one round trip each.
pub fn relatives_outside(changed: &[(Option<&Person>, &Person)]) -> Vec<Hetu> {
    let in_batch = by_hetu(changed);
    let mut out: Vec<Hetu> = changed
        .iter()
        .filter_map(|&(before, after)| checked_links(before, after))
        .flat_map(|(had, has)| had.into_iter().chain(has))
        .map(|l| l.other)
        .filter(|h| !in_batch.contains_key(h))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The batch's persons by each of their hetus, the first one holding a
/// hetu winning.
fn by_hetu<'a>(changed: &[(Option<&Person>, &'a Person)]) -> HashMap<Hetu, &'a Person> {
    let mut out = HashMap::with_capacity(changed.len());
    for (_, after) in changed {
        for h in after.all_hetus() {
            out.entry(h).or_insert(*after);
        }
    }
    out
}

/// A changed person's relations before and after, or `None` if neither
/// they nor the hetu changed (nothing to check).
fn checked_links(before: Option<&Person>, after: &Person) -> Option<(Vec<Link>, Vec<Link>)> {
    let had = before.map(links).unwrap_or_default();
    let has = links(after);
    if before.is_some_and(|b| b.hetu() == after.hetu()) && had == has {
        return None;
    }
    Some((had, has))
}

/// Every two-sided relation the person holds.
pub fn links(p: &Person) -> Vec<Link> {
    RELATION_GROUPS.iter().flat_map(|g| p.instances(*g)).filter_map(link).collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RelationError {
    #[error("{group} of person {person} names {other}, who does not hold the other side of it")]
    OneSided { person: PersonId, group: GroupName, other: Hetu },
    #[error("{group} of person {person} names {other}, who is not in the register")]
    NoSuchRelative { person: PersonId, group: GroupName, other: Hetu },
    #[error("person {person} dropped {group} naming {other}, who still holds the other side of it")]
    LeftBehind { person: PersonId, group: GroupName, other: Hetu },
}

impl RelationError {
    pub fn person(&self) -> PersonId {
        match self {
            RelationError::OneSided { person, .. }
            | RelationError::NoSuchRelative { person, .. }
            | RelationError::LeftBehind { person, .. } => *person,
        }
    }
}

/// A link without the person it names, to count sides.
type Side = (GroupName, bool, Option<u8>);

fn side(l: &Link) -> Side {
    (l.group, l.other_is_parent, l.voimassaolo.map(|v| v as u8))
}

/// Checks a batch: `changed` is every person the batch touched, before and
/// after; `find` gives any other person by hetu as the register holds them.
/// For each touched person whose relations or hetu changed, and each person
/// those relations name (before or after), the relations between the two
/// must match side for side, counted (a couple may marry twice), with the
/// other naming this person by the hetu in force.
pub fn check<E>(
    changed: &[(Option<&Person>, &Person)],
    mut find: impl FnMut(Hetu) -> Result<Option<Person>, E>,
) -> Result<Result<(), RelationError>, E> {
    let in_batch = by_hetu(changed);
    for &(before, after) in changed {
        let Some((had, has)) = checked_links(before, after) else { continue };
        let mut seen: Vec<PersonId> = Vec::new();
        for l in has.iter().chain(&had) {
            let other = match in_batch.get(&l.other) {
                Some(o) => Some(Cow::Borrowed(*o)),
                None => find(l.other)?.map(Cow::Owned),
            };
            let Some(other) = other else {
                if has.contains(l) {
                    return Ok(Err(RelationError::NoSuchRelative { person: after.id, group: l.group, other: l.other }));
                }
                continue;
            };
            if seen.contains(&other.id) {
                continue;
            }
            seen.push(other.id);
            let mut mine: Vec<Side> = has.iter().filter(|m| other.all_hetus().contains(&m.other)).map(side).collect();
            let theirs_all: Vec<Link> =
                links(&other).into_iter().filter(|t| after.all_hetus().contains(&t.other)).collect();
            if let Some(stale) = theirs_all.iter().find(|t| t.other != after.hetu()) {
                return Ok(Err(RelationError::LeftBehind {
                    person: after.id,
                    group: stale.group,
                    other: other.hetu(),
                }));
            }
            let mut theirs: Vec<Side> = theirs_all.iter().map(|t| side(&t.mirror(other.hetu()))).collect();
            mine.sort_unstable();
            theirs.sort_unstable();
            if mine != theirs {
                let extra = mine.iter().find(|m| !theirs.contains(m));
                let error = match extra {
                    Some(m) => RelationError::OneSided { person: after.id, group: m.0, other: other.hetu() },
                    None => RelationError::LeftBehind {
                        person: after.id,
                        group: theirs.iter().find(|t| !mine.contains(t)).map_or(l.group, |t| t.0),
                        other: other.hetu(),
                    },
                };
                return Ok(Err(error));
            }
        }
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrors_pair_up_and_mirror_twice_is_the_link() {
        let day = time::Date::from_calendar_date(1980, time::Month::January, 1).unwrap();
        let a = Hetu::from_parts(day, '-', 902).unwrap();
        let b = Hetu::from_parts(day, '-', 903).unwrap();
        for (group, other_is_parent) in [
            (GroupName::Huoltaja, false),
            (GroupName::HuollettavaSuppea, false),
            (GroupName::Vanhempi, false),
            (GroupName::Perhesuhde, true),
            (GroupName::Avioliitto, false),
        ] {
            let l = Link { group, other_is_parent, other: b, voimassaolo: None };
            assert_eq!(l.mirror(a).mirror(b), l, "{group}");
            assert_eq!(l.mirror(a).other, a);
        }
        let l = Link { group: GroupName::Huoltaja, other_is_parent: false, other: b, voimassaolo: None };
        assert_eq!(l.mirror(a).group, GroupName::Huollettava);
    }
}
