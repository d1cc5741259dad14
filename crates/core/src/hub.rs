//! A county hub's person: what its upstream permit disclosed, nothing more.
//!
//! A hub follows DVV (or this service) under one permit and serves the
//! county's own systems, each under a sub-permit of it
//! ([`Permit::check_narrows`]), through the same [`render`](crate::render).
//! For `render` to give a sub-permit exactly what it would get from the
//! upstream-visible data, the hub keeps each person as [`mirror`] makes
//! them from the upstream register:
//!
//! - a group upstream sent with values is kept as it came;
//! - a group upstream censored is not known, so it is absent; and since
//!   upstream censors only for turvakielto, the person is marked protected
//!   (a TURVAKIELTO in force with no end date, ours: the hub knows the fact,
//!   not the dates). A sub-permit under such an upstream permit cannot have
//!   the turvakielto right, so the marker is never disclosed; it only makes
//!   `render` censor every censorable group of the sub-product, as upstream
//!   did. The hub never uncensors by guessing.
//! - a person upstream no longer gives (left its scope) has no groups, and
//!   a person without groups is not held: [`Subject::new`](crate::permit::Subject::new) puts them out of
//!   every sub-permit's scope, a hetu list's too, so they leave every
//!   internal system. [`check_upstream`] makes sure an upstream person is
//!   never held with no groups at all.
//!
//! One consequence, deliberate: a protected person whose home municipality
//! upstream withholds cannot be placed in a municipality, so no
//! municipality-scoped sub-permit covers them (a hetu list does). Guessing
//! their municipality would disclose a protected person to units of the
//! wrong municipality.

use thiserror::Error;

use crate::groups::{GroupName, GroupValue, Turvakielto};
use crate::hetu::Hetu;
use crate::permit::Permit;
use crate::person::{GroupTwice, Groups, Person, PersonId};

/// What upstream disclosed of one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    Values(Vec<GroupValue>),
    Censored,
}

/// A permit a hub cannot follow.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UpstreamError {
    #[error(
        "the upstream product {0} lacks HENKILON_NIMI: a hub keeps a person by what upstream sends, \
         and every person has a name"
    )]
    NoName(String),
    #[error(
        "the upstream product {0} lacks HENKILOTUNNUS_KORJAUS: a hub could not tell a person whose hetu \
         was corrected from a new one"
    )]
    NoCorrections(String),
}

/// A hub follows only a permit whose every person comes with some data
/// (its product carries the name, which every person has) and whose hetu
/// corrections come as such (HENKILOTUNNUS_KORJAUS).
pub fn check_upstream(upstream: &Permit) -> Result<(), UpstreamError> {
    let groups = &upstream.tuote.tietoryhmat;
    if !groups.contains(&GroupName::HenkilonNimi) {
        return Err(UpstreamError::NoName(upstream.tuote.tunnus.clone()));
    }
    if !groups.contains(&GroupName::HenkilotunnusKorjaus) {
        return Err(UpstreamError::NoCorrections(upstream.tuote.tunnus.clone()));
    }
    Ok(())
}

/// The hub's person from what upstream disclosed of them (nothing: they
/// are not, or no longer, in upstream's scope).
pub fn mirror(
    id: PersonId,
    hetu: Hetu,
    seen: impl IntoIterator<Item = (GroupName, Seen)>,
) -> Result<Person, GroupTwice> {
    let mut values = Vec::new();
    let mut censored = false;
    for (_, s) in seen {
        match s {
            Seen::Values(v) => values.extend(v),
            Seen::Censored => censored = true,
        }
    }
    let mut groups = Groups::try_from_instances(values)?;
    if censored && groups.get(GroupName::Turvakielto).is_none() {
        groups.set(GroupValue::Turvakielto(Turvakielto { turvakielto_aktiivinen: true, turva_loppu_pv: None }));
    }
    Ok(Person { id, henkilotunnus: hetu, tietoryhmat: groups })
}

/// Whether the hub holds the person: upstream gives them. A person the
/// hub does not hold is on no internal system's list ([`Subject::new`](crate::permit::Subject::new)).
pub fn held(person: &Person) -> bool {
    !person.tietoryhmat.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::groups::{Kotikunta, Nimi};
    use crate::kunta::KuntaCode;
    use crate::permit::Subject;

    fn hetu() -> Hetu {
        Hetu::from_parts(time::Date::from_calendar_date(1980, time::Month::January, 1).unwrap(), '-', 900).unwrap()
    }

    #[test]
    fn censored_groups_are_absent_and_the_person_is_marked_protected() {
        let name = GroupValue::HenkilonNimi(Nimi::new("Testi", "Testinen", None));
        let p = mirror(
            PersonId(1),
            hetu(),
            [(GroupName::HenkilonNimi, Seen::Values(vec![name.clone()])), (GroupName::Kotikunta, Seen::Censored)],
        )
        .unwrap();
        assert_eq!(p.group(GroupName::HenkilonNimi), Some(&name));
        assert_eq!(p.kotikunta(), None);
        assert!(p.has_turvakielto());
        assert!(held(&p));
    }

    #[test]
    fn a_hub_follows_only_a_permit_with_names_and_corrections() {
        let mut p = Permit {
            tunnus: "DVV-1".into(),
            luvansaaja: "HVA".into(),
            kayttotarkoitus: "testi".into(),
            tuote: crate::permit::Product {
                tunnus: "P".into(),
                kuvaus: String::new(),
                tietoryhmat: [GroupName::Kotikunta].into(),
            },
            rajaus: crate::permit::Scope::Hetulista,
            turvakielto: crate::permit::TurvakieltoRule::TiedotSensuroidaan,
            voimassa_alkaen: time::Date::from_calendar_date(2026, time::Month::January, 1).unwrap(),
            voimassa_asti: None,
            peruttu: false,
            ylalupa: None,
        };
        assert_eq!(check_upstream(&p), Err(UpstreamError::NoName("P".into())));
        p.tuote.tietoryhmat.insert(GroupName::HenkilonNimi);
        assert_eq!(check_upstream(&p), Err(UpstreamError::NoCorrections("P".into())));
        p.tuote.tietoryhmat.insert(GroupName::HenkilotunnusKorjaus);
        assert_eq!(check_upstream(&p), Ok(()));
    }

    #[test]
    fn nothing_seen_is_not_held_and_out_of_every_list() {
        let p = mirror(PersonId(1), hetu(), []).unwrap();
        assert!(!held(&p));
        assert!(!Subject::new(&p, true).on_list);
        let k =
            GroupValue::Kotikunta(Kotikunta { kuntakoodi: KuntaCode::parse("091").unwrap(), kuntaan_muuttopv: None });
        let p = mirror(PersonId(1), hetu(), [(GroupName::Kotikunta, Seen::Values(vec![k]))]).unwrap();
        assert!(!p.has_turvakielto(), "values alone never mark protection");
        assert!(Subject::new(&p, true).on_list);
    }
}
