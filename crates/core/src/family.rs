//! Family events as batches of per-person events that keep every relation
//! two-sided: a birth, a marriage, a divorce, a death, custody ending at 18
//! or passing to the social welfare board, an adoption, a hetu correction,
//! a new name (which every relative's record of the person then carries).
//! Pure: each is a function of the persons' current states. The store
//! commits a batch whole or not at all, and [`crate::relations::check`]
//! refuses one that would leave a relation one-sided.

use time::Date;

use crate::date::VtjDate;
use crate::event::{Event, EventKind};
use crate::groups::*;
use crate::hetu::{Hetu, Sex};
use crate::person::{Person, PersonId};
use crate::relations::relative;

/// A person as their relatives' records name them.
pub fn named(p: &Person) -> RelatedPerson {
    match p.group(GroupName::HenkilonNimi) {
        Some(GroupValue::HenkilonNimi(n)) => RelatedPerson::named(p.hetu(), &n.etunimi, &n.sukunimi),
        _ => RelatedPerson::unnamed(p.hetu()),
    }
}

fn names(r: &RelatedPerson, h: Hetu) -> bool {
    r.henkilotunnus == Some(h)
}

/// One person's relation groups rewritten: `keep` maps each instance of the
/// named groups (`None` drops it), `add` appends; a group left empty is
/// removed. Other groups given in `add` (civil status) are set as they are.
/// `None` when nothing changes.
fn rewrite(
    p: &Person,
    date: Date,
    groups: &[GroupName],
    mut keep: impl FnMut(&GroupValue) -> Option<GroupValue>,
    add: Vec<GroupValue>,
) -> Option<Event> {
    let mut ryhmat = Vec::new();
    let mut poistetut = Vec::new();
    let mut touched: Vec<GroupName> = groups.to_vec();
    touched.extend(add.iter().map(GroupValue::name));
    touched.sort_unstable();
    touched.dedup();
    for g in touched {
        let mut list: Vec<GroupValue> =
            if groups.contains(&g) { p.instances(g).iter().filter_map(&mut keep).collect() } else { Vec::new() };
        list.extend(add.iter().filter(|v| v.name() == g).cloned());
        if list.is_empty() {
            if !p.instances(g).is_empty() {
                poistetut.push(g);
            }
        } else if list.as_slice() != p.instances(g) {
            ryhmat.extend(list);
        }
    }
    if ryhmat.is_empty() && poistetut.is_empty() {
        return None;
    }
    Some(Event { person: p.id, rekisterointipaiva: date, tapahtuma: EventKind::GroupsRegistered { ryhmat, poistetut } })
}

fn civil_status(s: &str) -> GroupValue {
    GroupValue::Siviilisaaty(Siviilisaaty { siviilisaaty: s.into() })
}

fn eighteenth_birthday(h: Hetu) -> VtjDate {
    let b = h.birth_date();
    let d = Date::from_calendar_date(b.year() + 18, b.month(), b.day())
        .or_else(|_| Date::from_calendar_date(b.year() + 18, time::Month::March, 1))
        .unwrap_or(b);
    VtjDate::Full(d)
}

/// The hetu of the person's spouse in a marriage in force.
pub fn spouse(p: &Person) -> Option<Hetu> {
    p.instances(GroupName::Avioliitto).iter().find_map(|v| match v {
        GroupValue::Avioliitto(m) if m.voimassaolo == Voimassaolo::Aktiivi => m.puoliso.henkilotunnus,
        _ => None,
    })
}

fn married_to(a: &Person, b: &Person) -> bool {
    a.instances(GroupName::Avioliitto)
        .iter()
        .any(|v| matches!(v, GroupValue::Avioliitto(m) if m.voimassaolo == Voimassaolo::Aktiivi && names(&m.puoliso, b.hetu())))
}

/// The parent's role code: mother or father (adoptive where `adopted`).
fn role(parent: &Person, adopted: bool) -> &'static str {
    match (parent.hetu().sex(), adopted) {
        (Sex::Female, false) => code::AITI,
        (Sex::Male, false) => code::ISA,
        (Sex::Female, true) => code::ADOPTIOAITI,
        (Sex::Male, true) => code::ADOPTIOISA,
    }
}

/// What makes one parent the child's: the child's and the parent's groups
/// for it (VANHEMPI, HUOLTAJA, PERHESUHDE on the child; LAPSI, HUOLLETTAVA,
/// PERHESUHDE on the parent).
fn parenthood(
    child: &RelatedPerson,
    child_hetu: Hetu,
    parent: &Person,
    lapsilaatu: &str,
    adopted: bool,
    date: Date,
) -> (Vec<GroupValue>, Vec<GroupValue>) {
    let role = role(parent, adopted);
    let alkupv = Some(VtjDate::Full(date));
    let adoptiosuhde = adopted.then_some(Adoptiosuhde { alkupv });
    let custody_ends = Some(eighteenth_birthday(child_hetu));
    let on_child = vec![
        GroupValue::Vanhempi(Vanhempi {
            vanhempi: named(parent),
            isa_aiti: Some(role.into()),
            vanhemmuusnimike: Some(role.into()),
            lapsilaatu: Some(lapsilaatu.into()),
            alkupv,
            jarjestyskirjain: None,
            adoptiosuhde: adoptiosuhde.clone(),
        }),
        GroupValue::Huoltaja(Huoltaja {
            huoltaja: named(parent),
            huoltajan_laji: Some(code::LAKISAATEINEN_HUOLTAJA.into()),
            huoltajan_rooli: Some(role.into()),
            huoltosuhteen_alkupv: alkupv,
            huoltosuhteen_loppupv: custody_ends,
            oikeudet: Some(Vec::new()),
        }),
        GroupValue::Perhesuhde(Perhesuhde {
            henkilo: named(parent),
            rooli: code::PERHESUHDE_VANHEMPI.into(),
            isa_aiti: Some(role.into()),
            lapsilaatu: Some(lapsilaatu.into()),
            vanhemmuusnimike: Some(role.into()),
            alkupv,
            loppupv: None,
            voimassaolo: Voimassaolo::Aktiivi,
        }),
    ];
    let on_parent = vec![
        GroupValue::Lapsi(Lapsi {
            lapsi: child.clone(),
            isa_aiti: Some(role.into()),
            vanhemmuusnimike: Some(role.into()),
            lapsilaatu: Some(lapsilaatu.into()),
            alkupv,
            jarjestyskirjain: None,
            adoptiosuhde,
        }),
        GroupValue::Huollettava(Huollettava {
            huollettava: child.clone(),
            huoltajan_laji: Some(code::LAKISAATEINEN_HUOLTAJA.into()),
            huoltajan_rooli: Some(role.into()),
            huoltosuhteen_alkupv: alkupv,
            huoltosuhteen_loppupv: custody_ends,
            oikeudet: Some(Vec::new()),
        }),
        GroupValue::Perhesuhde(Perhesuhde {
            henkilo: child.clone(),
            rooli: code::PERHESUHDE_LAPSI.into(),
            isa_aiti: Some(role.into()),
            lapsilaatu: Some(lapsilaatu.into()),
            vanhemmuusnimike: Some(role.into()),
            alkupv,
            loppupv: None,
            voimassaolo: Voimassaolo::Aktiivi,
        }),
    ];
    (on_child, on_parent)
}

const PARENT_SIDE: [GroupName; 3] = [GroupName::Lapsi, GroupName::Huollettava, GroupName::Perhesuhde];

/// A child is born to `mother` (and `father` where paternity is known):
/// the child's birth with its parents and guardians, and each parent's
/// new child and ward. `groups` are the child's own (name, sex, ...).
pub fn birth(
    child: PersonId,
    hetu: Hetu,
    mut groups: Vec<GroupValue>,
    mother: &Person,
    father: Option<&Person>,
    date: Date,
) -> Vec<Event> {
    let child_named = match groups.iter().find_map(|g| match g {
        GroupValue::HenkilonNimi(n) => Some(n.clone()),
        _ => None,
    }) {
        Some(n) => RelatedPerson::named(hetu, &n.etunimi, &n.sukunimi),
        None => RelatedPerson::unnamed(hetu),
    };
    let wedlock = father.is_some_and(|f| married_to(mother, f));
    let mut events = Vec::new();
    for parent in std::iter::once(mother).chain(father) {
        let laatu = match (wedlock, parent.hetu().sex()) {
            (true, _) => code::AVIOLAPSI,
            (false, Sex::Female) => code::AITIYS_VAHVISTETTU,
            (false, Sex::Male) => code::ISYYS_VAHVISTETTU,
        };
        let (on_child, on_parent) = parenthood(&child_named, hetu, parent, laatu, false, date);
        groups.extend(on_child);
        events.extend(rewrite(parent, date, &PARENT_SIDE, |v| Some(v.clone()), on_parent));
    }
    events.insert(
        0,
        Event {
            person: child,
            rekisterointipaiva: date,
            tapahtuma: EventKind::Birth { henkilotunnus: hetu, ryhmat: groups },
        },
    );
    events
}

/// The parenthood of a child already in the register is registered (an
/// initial load, a paternity acknowledged later): the child's and each
/// parent's groups, as at a birth.
pub fn parents(child: &Person, mother: &Person, father: Option<&Person>, date: Date) -> Vec<Event> {
    let wedlock = father.is_some_and(|f| married_to(mother, f));
    let mut on_child_all = Vec::new();
    let mut events = Vec::new();
    for parent in std::iter::once(mother).chain(father) {
        let laatu = match (wedlock, parent.hetu().sex()) {
            (true, _) => code::AVIOLAPSI,
            (false, Sex::Female) => code::AITIYS_VAHVISTETTU,
            (false, Sex::Male) => code::ISYYS_VAHVISTETTU,
        };
        let (on_child, on_parent) = parenthood(&named(child), child.hetu(), parent, laatu, false, date);
        on_child_all.extend(on_child);
        events.extend(rewrite(parent, date, &PARENT_SIDE, |v| Some(v.clone()), on_parent));
    }
    let child_side = [GroupName::Vanhempi, GroupName::Huoltaja, GroupName::Perhesuhde];
    events.extend(rewrite(child, date, &child_side, |v| Some(v.clone()), on_child_all));
    events
}

/// `a` and `b` enter a marriage or a partnership: each gets the `group`
/// instance `make` builds (the other, numbered after their earlier ones)
/// and the civil status `status`.
fn union(
    a: &Person,
    b: &Person,
    date: Date,
    group: GroupName,
    status: &str,
    make: impl Fn(RelatedPerson, u32) -> GroupValue,
) -> Vec<Event> {
    [(a, b), (b, a)]
        .into_iter()
        .filter_map(|(me, other)| {
            let jarjestysnumero = me.instances(group).len() as u32 + 1;
            let add = vec![make(named(other), jarjestysnumero), civil_status(status)];
            rewrite(me, date, &[group], |v| Some(v.clone()), add)
        })
        .collect()
}

/// `a` and `b` register their partnership (possible in Finland until
/// 2017; the register keeps those in force).
pub fn partnership(a: &Person, b: &Person, date: Date) -> Vec<Event> {
    union(a, b, date, GroupName::RekisteroityParisuhde, code::REKISTEROIDYSSA_PARISUHTEESSA, |osapuoli, n| {
        GroupValue::RekisteroityParisuhde(RekisteroityParisuhde {
            osapuoli,
            voimassaolo: Voimassaolo::Aktiivi,
            virallistamispv: Some(VtjDate::Full(date)),
            virallistamistapa: Some(code::REKISTEROINTI.into()),
            jarjestysnumero: Some(n),
            purkautumispv: None,
            purkautumistapa: None,
        })
    })
}

/// `a` and `b` marry.
pub fn marriage(a: &Person, b: &Person, vihkitapa: &str, date: Date) -> Vec<Event> {
    union(a, b, date, GroupName::Avioliitto, code::AVIOLIITOSSA, |puoliso, n| {
        GroupValue::Avioliitto(Avioliitto {
            puoliso,
            voimassaolo: Voimassaolo::Aktiivi,
            vihkipv: Some(VtjDate::Full(date)),
            vihkitapa: Some(vihkitapa.into()),
            jarjestysnumero: Some(n),
            purkautumispv: None,
            purkautumistapa: None,
        })
    })
}

/// The person's marriage to `other`, ended on `date` for `why`.
fn end_marriage(v: &GroupValue, other: Hetu, date: Date, why: &str) -> GroupValue {
    match v {
        GroupValue::Avioliitto(m) if m.voimassaolo == Voimassaolo::Aktiivi && names(&m.puoliso, other) => {
            GroupValue::Avioliitto(Avioliitto {
                voimassaolo: Voimassaolo::Passiivi,
                purkautumispv: Some(VtjDate::Full(date)),
                purkautumistapa: Some(why.into()),
                ..m.clone()
            })
        }
        GroupValue::RekisteroityParisuhde(m) if m.voimassaolo == Voimassaolo::Aktiivi && names(&m.osapuoli, other) => {
            GroupValue::RekisteroityParisuhde(RekisteroityParisuhde {
                voimassaolo: Voimassaolo::Passiivi,
                purkautumispv: Some(VtjDate::Full(date)),
                purkautumistapa: Some(why.into()),
                ..m.clone()
            })
        }
        other => other.clone(),
    }
}

/// `a` and `b` divorce.
pub fn divorce(a: &Person, b: &Person, date: Date) -> Vec<Event> {
    [(a, b), (b, a)]
        .into_iter()
        .filter_map(|(me, other)| {
            rewrite(
                me,
                date,
                &[GroupName::Avioliitto],
                |v| Some(end_marriage(v, other.hetu(), date, code::AVIOERO)),
                vec![civil_status(code::ERONNUT)],
            )
        })
        .collect()
}

const CUSTODY_OF_WARD: [GroupName; 3] = [GroupName::Huoltaja, GroupName::HuoltajaSuppea, GroupName::HuoltajaRajoitettu];
const CUSTODY_OF_GUARDIAN: [GroupName; 3] =
    [GroupName::Huollettava, GroupName::HuollettavaSuppea, GroupName::HuollettavaRajoitettu];

/// Drops the instances of `groups` that name `h`.
fn without(groups: &'static [GroupName], h: Hetu) -> impl FnMut(&GroupValue) -> Option<GroupValue> {
    move |v| {
        let goes = groups.contains(&v.name()) && relative(v).is_some_and(|r| names(r, h));
        (!goes).then(|| v.clone())
    }
}

/// `p` dies. `relatives` are the persons `p`'s relations name (as the
/// register holds them). A spouse is widowed; custody between `p` and a
/// child ends on both sides; `p`'s own marriages end in its death event.
pub fn death(p: &Person, relatives: &[Person], kuolinpv: VtjDate, date: Date) -> Vec<Event> {
    let mut events = Vec::new();
    for r in relatives {
        let spouse = married_to(r, p)
            || r.instances(GroupName::RekisteroityParisuhde).iter().any(|v| {
                matches!(v, GroupValue::RekisteroityParisuhde(m) if m.voimassaolo == Voimassaolo::Aktiivi && names(&m.osapuoli, p.hetu()))
            });
        let mut keep_guardian = without(&CUSTODY_OF_WARD, p.hetu());
        let mut keep_ward = without(&CUSTODY_OF_GUARDIAN, p.hetu());
        let groups = [
            GroupName::Avioliitto,
            GroupName::RekisteroityParisuhde,
            GroupName::Huoltaja,
            GroupName::HuoltajaSuppea,
            GroupName::HuoltajaRajoitettu,
            GroupName::Huollettava,
            GroupName::HuollettavaSuppea,
            GroupName::HuollettavaRajoitettu,
        ];
        let status = spouse.then(|| {
            if married_to(r, p) {
                civil_status(code::LESKI)
            } else {
                civil_status(code::LESKI_REKISTEROIDYSTA_PARISUHTEESTA)
            }
        });
        events.extend(rewrite(
            r,
            date,
            &groups,
            |v| {
                let v = end_marriage(v, p.hetu(), date, code::PUOLISON_KUOLEMA);
                keep_guardian(&v).and_then(|v| keep_ward(&v))
            },
            status.into_iter().collect(),
        ));
    }
    events.push(Event { person: p.id, rekisterointipaiva: date, tapahtuma: EventKind::Death { kuolinpv } });
    events
}

/// Custody of `child` by `guardians` ends (at 18, or when it passes to the
/// social welfare board, which `board` then records on the child).
pub fn custody_ends(child: &Person, guardians: &[Person], board: bool, date: Date) -> Vec<Event> {
    let mut events = Vec::new();
    let mut add = Vec::new();
    if board {
        add.push(GroupValue::Huoltaja(Huoltaja {
            huoltaja: RelatedPerson {
                henkilotunnus: None,
                etunimet: None,
                sukunimi: Some("Sosiaalilautakunta".into()),
                etunimet_utf8: None,
                sukunimi_utf8: Some("Sosiaalilautakunta".into()),
                syntymapv: None,
                sukupuoli: None,
            },
            huoltajan_laji: Some(code::MAARATTY_HUOLTAJA.into()),
            huoltajan_rooli: Some(code::SOSIAALILAUTAKUNTA.into()),
            huoltosuhteen_alkupv: Some(VtjDate::Full(date)),
            huoltosuhteen_loppupv: Some(eighteenth_birthday(child.hetu())),
            oikeudet: Some(Vec::new()),
        }));
    }
    let gone: Vec<Hetu> = guardians.iter().map(Person::hetu).collect();
    events.extend(rewrite(
        child,
        date,
        &CUSTODY_OF_WARD,
        |v| {
            let goes = relative(v).and_then(|r| r.henkilotunnus).is_some_and(|h| gone.contains(&h))
                || (board && relative(v).is_some_and(|r| r.henkilotunnus.is_none()));
            (!goes).then(|| v.clone())
        },
        add,
    ));
    for g in guardians {
        events.extend(rewrite(g, date, &CUSTODY_OF_GUARDIAN, without(&CUSTODY_OF_GUARDIAN, child.hetu()), Vec::new()));
    }
    events
}

/// `child` comes of age: every custody over them ends, on both sides.
pub fn comes_of_age(child: &Person, guardians: &[Person], date: Date) -> Vec<Event> {
    let mut events: Vec<Event> = rewrite(
        child,
        date,
        &CUSTODY_OF_WARD,
        |v| (!CUSTODY_OF_WARD.contains(&v.name())).then(|| v.clone()),
        Vec::new(),
    )
    .into_iter()
    .collect();
    for g in guardians {
        events.extend(rewrite(g, date, &CUSTODY_OF_GUARDIAN, without(&CUSTODY_OF_GUARDIAN, child.hetu()), Vec::new()));
    }
    events
}

/// `adopter` adopts `child`: a parent and guardian by adoption. Custody of
/// the child's `guardians` ends; the relations to the birth parents stay in
/// the register as history, as VTJ keeps them.
pub fn adoption(child: &Person, adopter: &Person, guardians: &[Person], date: Date) -> Vec<Event> {
    let (on_child, on_parent) =
        parenthood(&named(child), child.hetu(), adopter, code::SAATU_ADOPTIOLAPSEKSI, true, date);
    let gone: Vec<Hetu> = guardians.iter().map(Person::hetu).collect();
    let groups = [
        GroupName::Huoltaja,
        GroupName::HuoltajaSuppea,
        GroupName::HuoltajaRajoitettu,
        GroupName::Vanhempi,
        GroupName::Perhesuhde,
    ];
    let mut events: Vec<Event> = rewrite(
        child,
        date,
        &groups,
        |v| {
            let custody = CUSTODY_OF_WARD.contains(&v.name());
            let goes = custody && relative(v).and_then(|r| r.henkilotunnus).is_some_and(|h| gone.contains(&h));
            (!goes).then(|| v.clone())
        },
        on_child,
    )
    .into_iter()
    .collect();
    for g in guardians {
        events.extend(rewrite(g, date, &CUSTODY_OF_GUARDIAN, without(&CUSTODY_OF_GUARDIAN, child.hetu()), Vec::new()));
    }
    events.extend(rewrite(adopter, date, &PARENT_SIDE, |v| Some(v.clone()), on_parent));
    events
}

/// `p`'s hetu is corrected: every relative's record naming the old hetu
/// names the new one (each relative gets a change).
pub fn hetu_correction(p: &Person, relatives: &[Person], uusi: Hetu, date: Date) -> Vec<Event> {
    let event = EventKind::HetuCorrection { uusi_henkilotunnus: uusi };
    retold(p, event, relatives, date, |rel| {
        rel.henkilotunnus = Some(uusi);
        rel.syntymapv = Some(VtjDate::Full(uusi.birth_date()));
        rel.sukupuoli = Some(uusi.sex());
    })
}

/// `p` takes a new name: every relative's record naming `p` carries it
/// (each relative gets a change), so no register shows a relative under a
/// name they no longer have.
pub fn renamed(p: &Person, relatives: &[Person], nimi: Nimi, date: Date) -> Vec<Event> {
    let (etunimet, sukunimi) = (nimi.etunimi.clone(), nimi.sukunimi.clone());
    retold(p, EventKind::NameChange { nimi }, relatives, date, |rel| {
        rel.etunimet = Some(etunimet.clone());
        rel.etunimet_utf8 = Some(etunimet.clone());
        rel.sukunimi = Some(sukunimi.clone());
        rel.sukunimi_utf8 = Some(sukunimi.clone());
    })
}

/// `p`'s own event, then each relative's record of `p` rewritten by `tell`.
fn retold(
    p: &Person,
    own: EventKind,
    relatives: &[Person],
    date: Date,
    tell: impl Fn(&mut RelatedPerson),
) -> Vec<Event> {
    let me = p.hetu();
    let mut events = vec![Event { person: p.id, rekisterointipaiva: date, tapahtuma: own }];
    for r in relatives {
        events.extend(rewrite(
            r,
            date,
            &crate::relations::RELATION_GROUPS,
            |v| {
                let mut v = v.clone();
                if let Some(rel) = crate::relations::relative_mut(&mut v) {
                    if names(rel, me) {
                        tell(rel);
                    }
                }
                Some(v)
            },
            Vec::new(),
        ));
    }
    events
}
