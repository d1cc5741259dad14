//! Life events: each changes one person's data groups. `apply` is the only
//! way a person's state changes, in the simulator, the store and the tests.

use serde::{Deserialize, Serialize};
use thiserror::Error;
use time::Date;

use crate::date::VtjDate;
use crate::groups::*;
use crate::hetu::Hetu;
use crate::kunta::KuntaCode;
use crate::person::{Groups, Person, PersonId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Event {
    pub person: PersonId,
    /// The date VTJ registered the change (rekisteröintipäivä).
    #[serde(with = "ymd_date")]
    pub rekisterointipaiva: Date,
    pub tapahtuma: EventKind,
}

/// The kinds of change. The serde tags are the wire names of the events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "laji", rename_all = "SCREAMING_SNAKE_CASE", deny_unknown_fields)]
pub enum EventKind {
    /// A newborn (or an immigrant first entered) with the groups they start with.
    #[serde(rename = "SYNTYMA")]
    Birth { henkilotunnus: Hetu, ryhmat: Vec<GroupValue> },
    #[serde(rename = "KUOLEMA")]
    Death { kuolinpv: VtjDate },
    /// New permanent address in the same home municipality.
    #[serde(rename = "MUUTTO_KUNNAN_SISALLA")]
    MoveWithin { osoite: KotimainenOsoite },
    /// New permanent address in another municipality: the home municipality changes too.
    #[serde(rename = "MUUTTO_TOISEEN_KUNTAAN")]
    MoveToMunicipality { osoite: KotimainenOsoite, kotikunta: Kotikunta },
    #[serde(rename = "TILAPAINEN_OSOITE")]
    TemporaryAddress { osoite: Option<KotimainenOsoite> },
    #[serde(rename = "POSTIOSOITE")]
    PostalAddress { osoite: Option<Postiosoite> },
    #[serde(rename = "ULKOMAINEN_POSTIOSOITE")]
    ForeignPostalAddress { osoite: Option<UlkomainenPostiosoite> },
    #[serde(rename = "TILAPAINEN_ULKOMAINEN_OSOITE")]
    TemporaryForeignAddress { osoite: Option<UlkomainenOsoite> },
    /// Emigration: domestic addresses end and the home municipality becomes 200.
    #[serde(rename = "MUUTTO_ULKOMAILLE")]
    MoveAbroad { osoite: UlkomainenOsoite, kuntaan_muuttopv: VtjDate },
    #[serde(rename = "PALUU_ULKOMAILTA")]
    ReturnFromAbroad { osoite: KotimainenOsoite, kotikunta: Kotikunta },
    #[serde(rename = "NIMENMUUTOS")]
    NameChange { nimi: Nimi },
    #[serde(rename = "KIELEN_MUUTOS")]
    LanguageChange { aidinkieli: Option<Kieli>, asiointikieli: Option<AsiointikieliKoodi> },
    #[serde(rename = "TURVAKIELTO_ALKAA")]
    TurvakieltoStart { turva_loppu_pv: VtjDate },
    #[serde(rename = "TURVAKIELTO_JATKUU")]
    TurvakieltoExtension { turva_loppu_pv: VtjDate },
    #[serde(rename = "TURVAKIELTO_PAATTYY")]
    TurvakieltoEnd,
    #[serde(rename = "KOTIMAINEN_YHTEYSOSOITE")]
    ContactAddress { osoite: Option<Postiosoite> },
    #[serde(rename = "ULKOMAINEN_YHTEYSOSOITE")]
    ForeignContactAddress { osoite: Option<UlkomainenPostiosoite> },
    #[serde(rename = "EDUNVALVONTA_ALKAA")]
    GuardianshipStart { edunvalvonta: Edunvalvonta },
    #[serde(rename = "EDUNVALVONTA_PAATTYY")]
    GuardianshipEnd,
    #[serde(rename = "EDUNVALVONTAVALTUUTUS_VAHVISTETTU")]
    PowerOfAttorneyConfirmed { valtuutus: Edunvalvontavaltuutus },
    #[serde(rename = "HENKILOTUNNUS_KORJAUS")]
    HetuCorrection {
        #[serde(rename = "uusiHenkilotunnus")]
        uusi_henkilotunnus: Hetu,
    },
    /// VTJ registered these groups' values (each named group's instances
    /// are replaced by those given) and removed these groups: a dwelling
    /// identifier, residence in an institution or abroad, an e-mail
    /// address, civil status, a ban, religious community ... (*ours*: DVV's
    /// changes are group by group; this is that, for the groups no other
    /// event governs). Groups with rules of their own (identity, name,
    /// death, turvakielto, home municipality) change only by their events.
    #[serde(rename = "TIETORYHMIEN_REKISTEROINTI")]
    GroupsRegistered {
        #[serde(default)]
        ryhmat: Vec<GroupValue>,
        #[serde(default)]
        poistetut: Vec<GroupName>,
    },
    /// A county hub's record of a person as its upstream permit now
    /// discloses them (*ours*; `vtj_core::hub::mirror`): the groups replace
    /// everything the person had (none: upstream no longer gives them), and
    /// a hetu other than the active one is a correction. None of VTJ's own
    /// rules is checked: a hub holds what it was given, and a relation
    /// whose other side is outside upstream's scope is one-sided there.
    #[serde(rename = "PEILAUS")]
    Mirrored { henkilotunnus: Hetu, ryhmat: Vec<GroupValue> },
}

/// Groups that [`EventKind::GroupsRegistered`] may not touch: each has an
/// event of its own that keeps a rule (the hetu index, the name a person
/// must have, death, protection, the home municipality that scopes permits).
pub const GOVERNED_BY_OWN_EVENTS: [GroupName; 8] = [
    GroupName::HenkilotunnusKorjaus,
    GroupName::HenkilonNimi,
    GroupName::Nimenmuutos,
    GroupName::Sukupuoli,
    GroupName::Kuolinpaiva,
    GroupName::Turvakielto,
    GroupName::Kotikunta,
    GroupName::Edunvalvonta,
];

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EventError {
    #[error("person {0} does not exist")]
    NoSuchPerson(PersonId),
    #[error("person {0} already exists")]
    AlreadyExists(PersonId),
    #[error("person {0} has died; only a hetu correction can follow")]
    Dead(PersonId),
    #[error("the birth of person {0} lacks the group {1}")]
    BirthLacks(PersonId, GroupName),
    #[error("the birth of person {0} lists {1} twice")]
    BirthDuplicate(PersonId, GroupName),
    #[error("the record of person {0} lists {1} twice")]
    Duplicate(PersonId, GroupName),
    #[error("{0} for person {1}: {2}")]
    NotApplicable(&'static str, PersonId, &'static str),
    #[error(transparent)]
    Relation(#[from] crate::relations::RelationError),
}

impl EventKind {
    pub fn wire_name(&self) -> &'static str {
        EVENT_NAMES[usize::from(self.code())]
    }

    /// The event's index in [`EVENT_NAMES`]: what a log entry's summary
    /// keeps of it ([`crate::delta::Delta`]).
    pub fn code(&self) -> u8 {
        match self {
            EventKind::Birth { .. } => 0,
            EventKind::Death { .. } => 1,
            EventKind::MoveWithin { .. } => 2,
            EventKind::MoveToMunicipality { .. } => 3,
            EventKind::TemporaryAddress { .. } => 4,
            EventKind::PostalAddress { .. } => 5,
            EventKind::ForeignPostalAddress { .. } => 6,
            EventKind::TemporaryForeignAddress { .. } => 7,
            EventKind::MoveAbroad { .. } => 8,
            EventKind::ReturnFromAbroad { .. } => 9,
            EventKind::NameChange { .. } => 10,
            EventKind::LanguageChange { .. } => 11,
            EventKind::TurvakieltoStart { .. } => 12,
            EventKind::TurvakieltoExtension { .. } => 13,
            EventKind::TurvakieltoEnd => 14,
            EventKind::ContactAddress { .. } => 15,
            EventKind::ForeignContactAddress { .. } => 16,
            EventKind::GuardianshipStart { .. } => 17,
            EventKind::GuardianshipEnd => 18,
            EventKind::PowerOfAttorneyConfirmed { .. } => 19,
            EventKind::HetuCorrection { .. } => 20,
            EventKind::GroupsRegistered { .. } => 21,
            EventKind::Mirrored { .. } => 22,
        }
    }
}

/// Every event's wire name, indexed by [`EventKind::code`]. Codes are
/// stored in the change log: a new event takes the next code, none changes.
pub const EVENT_NAMES: [&str; 23] = [
    "SYNTYMA",
    "KUOLEMA",
    "MUUTTO_KUNNAN_SISALLA",
    "MUUTTO_TOISEEN_KUNTAAN",
    "TILAPAINEN_OSOITE",
    "POSTIOSOITE",
    "ULKOMAINEN_POSTIOSOITE",
    "TILAPAINEN_ULKOMAINEN_OSOITE",
    "MUUTTO_ULKOMAILLE",
    "PALUU_ULKOMAILTA",
    "NIMENMUUTOS",
    "KIELEN_MUUTOS",
    "TURVAKIELTO_ALKAA",
    "TURVAKIELTO_JATKUU",
    "TURVAKIELTO_PAATTYY",
    "KOTIMAINEN_YHTEYSOSOITE",
    "ULKOMAINEN_YHTEYSOSOITE",
    "EDUNVALVONTA_ALKAA",
    "EDUNVALVONTA_PAATTYY",
    "EDUNVALVONTAVALTUUTUS_VAHVISTETTU",
    "HENKILOTUNNUS_KORJAUS",
    "TIETORYHMIEN_REKISTEROINTI",
    "PEILAUS",
];

/// The groups every living person has from birth.
const BIRTH_REQUIRES: [GroupName; 3] = [GroupName::HenkilonNimi, GroupName::Sukupuoli, GroupName::Kotikunta];

/// Applies one event to a person's state (`None` before their birth) and
/// returns the new state. Pure: the caller decides what to do with it.
pub fn apply(before: Option<&Person>, event: &Event) -> Result<Person, EventError> {
    let id = event.person;
    let date = VtjDate::Full(event.rekisterointipaiva);
    let kind = &event.tapahtuma;
    if let EventKind::Mirrored { henkilotunnus, ryhmat } = kind {
        let groups =
            Groups::try_from_instances(ryhmat.iter().cloned()).map_err(|twice| EventError::Duplicate(id, twice.0))?;
        return Ok(Person { id, henkilotunnus: *henkilotunnus, tietoryhmat: groups });
    }
    let EventKind::Birth { henkilotunnus, ryhmat } = kind else {
        let before = before.ok_or(EventError::NoSuchPerson(id))?;
        // The record of the dead still follows its relatives' hetus.
        let relatives_only = matches!(kind, EventKind::GroupsRegistered { ryhmat, poistetut }
            if ryhmat.iter().map(GroupValue::name).chain(poistetut.iter().copied())
                .all(|g| crate::relations::RELATION_GROUPS.contains(&g)));
        if before.is_dead() && !matches!(kind, EventKind::HetuCorrection { .. }) && !relatives_only {
            return Err(EventError::Dead(id));
        }
        let mut p = before.clone();
        change(&mut p, kind, date)?;
        return Ok(p);
    };
    if before.is_some() {
        return Err(EventError::AlreadyExists(id));
    }
    let mut p = Person::new(id, *henkilotunnus);
    p.tietoryhmat =
        Groups::try_from_instances(ryhmat.iter().cloned()).map_err(|twice| EventError::BirthDuplicate(id, twice.0))?;
    if let Some(missing) = BIRTH_REQUIRES.into_iter().find(|g| p.group(*g).is_none()) {
        return Err(EventError::BirthLacks(id, missing));
    }
    Ok(p)
}

fn set_or_remove<T>(p: &mut Person, name: GroupName, value: &Option<T>, wrap: fn(T) -> GroupValue)
where
    T: Clone,
{
    match value {
        Some(v) => p.tietoryhmat.set(wrap(v.clone())),
        None => {
            p.tietoryhmat.remove(name);
        }
    }
}

/// A death ends the person's marriages and partnerships and the custody
/// between them and their children or guardians; parenthood stays. The
/// relatives' sides change in the same batch ([`crate::family::death`]).
fn end_relations_at_death(p: &mut Person, kuolinpv: VtjDate) {
    for g in [
        GroupName::Huoltaja,
        GroupName::HuoltajaSuppea,
        GroupName::HuoltajaRajoitettu,
        GroupName::Huollettava,
        GroupName::HuollettavaSuppea,
        GroupName::HuollettavaRajoitettu,
    ] {
        p.tietoryhmat.remove(g);
    }
    let ended = |v: &GroupValue| -> GroupValue {
        match v {
            GroupValue::Avioliitto(m) if m.voimassaolo == Voimassaolo::Aktiivi => GroupValue::Avioliitto(Avioliitto {
                voimassaolo: Voimassaolo::Passiivi,
                purkautumispv: Some(kuolinpv),
                purkautumistapa: Some(code::KUOLEMA.into()),
                ..m.clone()
            }),
            GroupValue::RekisteroityParisuhde(m) if m.voimassaolo == Voimassaolo::Aktiivi => {
                GroupValue::RekisteroityParisuhde(RekisteroityParisuhde {
                    voimassaolo: Voimassaolo::Passiivi,
                    purkautumispv: Some(kuolinpv),
                    purkautumistapa: Some(code::KUOLEMA.into()),
                    ..m.clone()
                })
            }
            other => other.clone(),
        }
    };
    for g in [GroupName::Avioliitto, GroupName::RekisteroityParisuhde] {
        let list: Vec<GroupValue> = p.instances(g).iter().map(ended).collect();
        p.tietoryhmat.set_all(g, list);
    }
}

/// A move out of a dwelling: its identifier becomes history, ended today.
/// Not under turvakielto (ours): the history groups are not censored, as at
/// DVV, so a history entry would tell that and when a protected person
/// moved; such a move leaves none.
fn retire_dwelling(p: &mut Person, date: VtjDate) {
    let protected = p.has_turvakielto();
    for v in p.tietoryhmat.remove(GroupName::VakinainenKotimainenAsuinpaikkatunnus) {
        if let (false, GroupValue::VakinainenKotimainenAsuinpaikkatunnus(mut a)) = (protected, v) {
            a.loppupv = Some(date);
            let mut history = p.instances(GroupName::EdellinenKotimainenAsuinpaikkatunnus).to_vec();
            history.push(GroupValue::EdellinenKotimainenAsuinpaikkatunnus(a));
            p.tietoryhmat.set_all(GroupName::EdellinenKotimainenAsuinpaikkatunnus, history);
        }
    }
}

/// A move into a dwelling: the old one's identifier becomes history, and
/// the new address's building, where known, is the new identifier.
fn new_dwelling(p: &mut Person, osoite: &KotimainenOsoite, date: VtjDate) {
    retire_dwelling(p, date);
    if let Some(a) = Asuinpaikkatunnus::of(osoite) {
        p.tietoryhmat.set(GroupValue::VakinainenKotimainenAsuinpaikkatunnus(a));
    }
}

/// A move to another home municipality (`None`: abroad): the old one
/// becomes EDELLINEN_KOTIKUNTA, and the registration municipality, where
/// the person has one, follows the new home.
/// Under turvakielto no history entry, as in [`retire_dwelling`].
fn leave_municipality(p: &mut Person, to: Option<&Kotikunta>, date: VtjDate) {
    if let (false, Some(GroupValue::Kotikunta(old))) = (p.has_turvakielto(), p.group(GroupName::Kotikunta).cloned()) {
        let mut history = p.instances(GroupName::EdellinenKotikunta).to_vec();
        history.push(GroupValue::EdellinenKotikunta(KuntaJakso {
            kuntakoodi: old.kuntakoodi.into(),
            kuntaan_muuttopv: old.kuntaan_muuttopv,
            kunnasta_pois_muuttopv: Some(date),
        }));
        p.tietoryhmat.set_all(GroupName::EdellinenKotikunta, history);
    }
    if p.group(GroupName::Vaestokirjanpitokunta).is_some() {
        match to {
            Some(k) => p.tietoryhmat.set(GroupValue::Vaestokirjanpitokunta(k.clone())),
            None => {
                p.tietoryhmat.remove(GroupName::Vaestokirjanpitokunta);
            }
        }
    }
}

fn change(p: &mut Person, kind: &EventKind, date: VtjDate) -> Result<(), EventError> {
    let not_applicable = |why| Err(EventError::NotApplicable(kind.wire_name(), p.id, why));
    match kind {
        EventKind::Birth { .. } => return not_applicable("a person is born once"),
        // `apply` replaces the whole person before it gets here.
        EventKind::Mirrored { .. } => return not_applicable("a mirror replaces the whole person"),
        EventKind::Death { kuolinpv } => {
            p.tietoryhmat.set(GroupValue::Kuolinpaiva(Kuolinpaiva { kuollut: true, kuolinpv: *kuolinpv }));
            end_relations_at_death(p, *kuolinpv);
        }
        EventKind::MoveWithin { osoite } => {
            if p.kotikunta().is_none_or(|k| !k.is_municipality()) {
                return not_applicable("the person has no Finnish home municipality to move within");
            }
            new_dwelling(p, osoite, date);
            p.tietoryhmat.set(GroupValue::VakinainenKotimainenOsoite(osoite.clone()));
        }
        EventKind::MoveToMunicipality { osoite, kotikunta } | EventKind::ReturnFromAbroad { osoite, kotikunta } => {
            if !kotikunta.kuntakoodi.is_municipality() {
                return not_applicable("the new home municipality must be a Finnish municipality");
            }
            let abroad = p.kotikunta() == Some(KuntaCode::ABROAD);
            if matches!(kind, EventKind::ReturnFromAbroad { .. }) != abroad {
                return not_applicable("returning from abroad and moving between municipalities are distinct");
            }
            if matches!(kind, EventKind::MoveToMunicipality { .. }) && p.kotikunta() == Some(kotikunta.kuntakoodi) {
                return not_applicable("the person already lives in that municipality");
            }
            if abroad {
                p.tietoryhmat.remove(GroupName::VakinainenUlkomainenOsoite);
                p.tietoryhmat.remove(GroupName::TilapainenUlkomainenOsoite);
                p.tietoryhmat.remove(GroupName::UlkomainenPostiosoite);
                p.tietoryhmat.remove(GroupName::VakinainenUlkomaillaAsuminen);
            }
            new_dwelling(p, osoite, date);
            leave_municipality(p, Some(kotikunta), date);
            p.tietoryhmat.set(GroupValue::VakinainenKotimainenOsoite(osoite.clone()));
            p.tietoryhmat.set(GroupValue::Kotikunta(kotikunta.clone()));
            p.tietoryhmat.remove(GroupName::TilapainenKotimainenOsoite);
        }
        EventKind::MoveAbroad { osoite, kuntaan_muuttopv } => {
            if p.kotikunta() == Some(KuntaCode::ABROAD) {
                return not_applicable("the person already lives abroad");
            }
            retire_dwelling(p, date);
            leave_municipality(p, None, date);
            p.tietoryhmat.remove(GroupName::VakinainenKotimainenOsoite);
            p.tietoryhmat.remove(GroupName::TilapainenKotimainenOsoite);
            p.tietoryhmat.remove(GroupName::KotimainenPostiosoite);
            p.tietoryhmat.set(GroupValue::VakinainenUlkomainenOsoite(osoite.clone()));
            p.tietoryhmat.set(GroupValue::Kotikunta(Kotikunta {
                kuntakoodi: KuntaCode::ABROAD,
                kuntaan_muuttopv: Some(*kuntaan_muuttopv),
            }));
        }
        EventKind::TemporaryAddress { osoite } => {
            set_or_remove(p, GroupName::TilapainenKotimainenOsoite, osoite, GroupValue::TilapainenKotimainenOsoite)
        }
        EventKind::PostalAddress { osoite } => {
            set_or_remove(p, GroupName::KotimainenPostiosoite, osoite, GroupValue::KotimainenPostiosoite)
        }
        EventKind::ForeignPostalAddress { osoite } => {
            set_or_remove(p, GroupName::UlkomainenPostiosoite, osoite, GroupValue::UlkomainenPostiosoite)
        }
        EventKind::TemporaryForeignAddress { osoite } => {
            set_or_remove(p, GroupName::TilapainenUlkomainenOsoite, osoite, GroupValue::TilapainenUlkomainenOsoite)
        }
        EventKind::ContactAddress { osoite } => {
            set_or_remove(p, GroupName::KotimainenYhteysosoite, osoite, GroupValue::KotimainenYhteysosoite)
        }
        EventKind::ForeignContactAddress { osoite } => {
            set_or_remove(p, GroupName::UlkomainenYhteysosoite, osoite, GroupValue::UlkomainenYhteysosoite)
        }
        EventKind::NameChange { nimi } => {
            let Some(GroupValue::HenkilonNimi(old)) = p.group(GroupName::HenkilonNimi).cloned() else {
                return not_applicable("the person has no name to change");
            };
            let mut history = p.instances(GroupName::Nimenmuutos).to_vec();
            let former = |nimilaji: &str, nimi: &str| {
                GroupValue::Nimenmuutos(Nimenmuutos {
                    nimilaji: nimilaji.to_string(),
                    nimi: nimi.to_string(),
                    nimi_utf8: Some(nimi.to_string()),
                    nimenmuutostapa: None,
                    alkupv: old.alkupv,
                    loppupv: Some(date),
                })
            };
            if old.sukunimi != nimi.sukunimi {
                history.push(former(EDELLINEN_SUKUNIMI, &old.sukunimi));
            }
            if old.etunimi != nimi.etunimi {
                history.push(former(EDELLINEN_ETUNIMI, &old.etunimi));
            }
            p.tietoryhmat.set_all(GroupName::Nimenmuutos, history);
            p.tietoryhmat.set(GroupValue::HenkilonNimi(nimi.clone()));
        }
        EventKind::LanguageChange { aidinkieli, asiointikieli } => {
            if aidinkieli.is_none() && asiointikieli.is_none() {
                return not_applicable("a language change names at least one language");
            }
            if let Some(k) = aidinkieli {
                p.tietoryhmat.set(GroupValue::Aidinkieli(k.clone()));
            }
            if let Some(k) = asiointikieli {
                p.tietoryhmat.set(GroupValue::Asiointikieli(Asiointikieli::new(*k, Some(date))));
            }
        }
        EventKind::TurvakieltoStart { turva_loppu_pv } => {
            if p.has_turvakielto() {
                return not_applicable("a turvakielto is already in force");
            }
            p.tietoryhmat.set(GroupValue::Turvakielto(Turvakielto::until(*turva_loppu_pv)));
        }
        EventKind::TurvakieltoExtension { turva_loppu_pv } => {
            if !p.has_turvakielto() {
                return not_applicable("no turvakielto is in force to extend");
            }
            p.tietoryhmat.set(GroupValue::Turvakielto(Turvakielto::until(*turva_loppu_pv)));
        }
        EventKind::TurvakieltoEnd => {
            if p.tietoryhmat.remove(GroupName::Turvakielto).is_empty() {
                return not_applicable("no turvakielto is in force to end");
            }
        }
        EventKind::GuardianshipStart { edunvalvonta } => {
            p.tietoryhmat.set(GroupValue::Edunvalvonta(edunvalvonta.clone()));
        }
        EventKind::GuardianshipEnd => {
            if p.tietoryhmat.remove(GroupName::Edunvalvonta).is_empty() {
                return not_applicable("no guardianship to end");
            }
        }
        EventKind::PowerOfAttorneyConfirmed { valtuutus } => {
            p.tietoryhmat.set(GroupValue::Edunvalvontavaltuutus(valtuutus.clone()));
        }
        EventKind::GroupsRegistered { ryhmat, poistetut } => {
            if ryhmat.is_empty() && poistetut.is_empty() {
                return not_applicable("a registration names at least one group");
            }
            let named = ryhmat.iter().map(GroupValue::name).chain(poistetut.iter().copied());
            if named.clone().any(|g| GOVERNED_BY_OWN_EVENTS.contains(&g)) {
                return not_applicable("that group changes only by its own event");
            }
            let set = Groups::try_from_instances(ryhmat.iter().cloned())
                .map_err(|_| EventError::NotApplicable(kind.wire_name(), p.id, "a single group given twice"))?;
            if poistetut.iter().any(|g| set.get(*g).is_some()) {
                return not_applicable("a group both registered and removed");
            }
            for g in poistetut {
                if p.tietoryhmat.remove(*g).is_empty() {
                    return not_applicable("a group to remove that the person does not have");
                }
            }
            for g in set.names() {
                p.tietoryhmat.set_all(g, set.instances(g).to_vec());
            }
        }
        EventKind::HetuCorrection { uusi_henkilotunnus } => {
            if *uusi_henkilotunnus == p.henkilotunnus || p.all_hetus().contains(uusi_henkilotunnus) {
                return not_applicable("the new hetu must differ from every hetu the person has had");
            }
            let mut earlier = match p.group(GroupName::HenkilotunnusKorjaus) {
                Some(GroupValue::HenkilotunnusKorjaus(k)) => k.edelliset_henkilotunnukset.clone(),
                _ => Vec::new(),
            };
            earlier.push(p.henkilotunnus);
            p.henkilotunnus = *uusi_henkilotunnus;
            p.tietoryhmat.set(GroupValue::HenkilotunnusKorjaus(HetuKorjaus {
                aktiivinen_henkilotunnus: *uusi_henkilotunnus,
                edelliset_henkilotunnukset: earlier,
                muutettu_henkilotunnus: *uusi_henkilotunnus,
                voimassaolo: Voimassaolo::Aktiivi,
            }));
        }
    }
    Ok(())
}

/// Serde for a calendar date in VTJ's `YYYYMMDD`.
pub mod ymd_date {
    use serde::{Deserializer, Serializer};
    use time::Date;

    use crate::date::VtjDate;

    pub fn serialize<S: Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&VtjDate::Full(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        crate::text::parse_str(d, "a date, YYYYMMDD", |s| match VtjDate::parse(s).map_err(|e| e.to_string())? {
            VtjDate::Full(date) => Ok(date),
            _ => Err(format!("{s:?} is not a full date")),
        })
    }
}
