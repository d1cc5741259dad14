//! Relations stay two-sided over random family histories: births, marriages,
//! divorces, deaths, custody ending at 18 or passing to the social welfare
//! board, adoptions, hetu corrections and new names, each a batch from
//! `family`, applied through `apply` and `relations::check` as the store
//! applies them (reading ahead the relatives `relations::relatives_outside`
//! names).

use std::collections::BTreeMap;

use proptest::prelude::*;
use time::{Date, Duration, Month};
use vtj_core::family;
use vtj_core::groups::*;
use vtj_core::relations::{check, links, relatives_outside};
use vtj_core::*;

#[derive(Default, Clone)]
struct World {
    persons: BTreeMap<PersonId, Person>,
    next_id: u64,
    next_individual: u16,
}

fn day0() -> Date {
    Date::from_calendar_date(2026, Month::January, 1).unwrap()
}

impl World {
    fn by_hetu(&self, h: Hetu) -> Option<Person> {
        self.persons.values().find(|p| p.all_hetus().contains(&h)).cloned()
    }

    fn new_hetu(&mut self, born: Date, sex: Sex) -> Hetu {
        loop {
            let n = 900 + self.next_individual % 100;
            self.next_individual += 1;
            let born = born + Duration::days(i64::from(self.next_individual / 100));
            let h = Hetu::from_parts(born, if born.year() >= 2000 { 'A' } else { '-' }, n).unwrap();
            if h.sex() == sex && self.by_hetu(h).is_none() {
                return h;
            }
        }
    }

    fn groups(name: &str, sex: Sex) -> Vec<GroupValue> {
        vec![
            GroupValue::HenkilonNimi(Nimi::new(name, "Testinen", None)),
            GroupValue::Sukupuoli(Sukupuoli { sukupuoli: sex }),
            GroupValue::Kotikunta(Kotikunta { kuntakoodi: KuntaCode::parse("091").unwrap(), kuntaan_muuttopv: None }),
        ]
    }

    /// Applies a batch all or nothing, as the store does.
    fn apply(&mut self, events: &[Event]) -> Result<(), String> {
        let mut next = self.persons.clone();
        let mut changed: Vec<(Option<Person>, PersonId)> = Vec::new();
        for e in events {
            let before = next.get(&e.person).cloned();
            let after = apply(before.as_ref(), e).map_err(|err| err.to_string())?;
            if !changed.iter().any(|(_, id)| *id == e.person) {
                changed.push((before, e.person));
            }
            next.insert(e.person, after);
        }
        let pairs: Vec<(Option<&Person>, &Person)> = changed.iter().map(|(b, id)| (b.as_ref(), &next[id])).collect();
        let world = World { persons: next.clone(), ..World::default() };
        // The store reads `relatives_outside` at once before the check: it
        // must name every person the check looks up, and no more.
        let outside = relatives_outside(&pairs);
        let mut asked = Vec::new();
        let checked = check(&pairs, |h| {
            asked.push(h);
            Ok::<_, ()>(world.by_hetu(h))
        })
        .unwrap();
        asked.sort_unstable();
        asked.dedup();
        assert!(asked.iter().all(|h| outside.contains(h)), "asked {asked:?}, read ahead {outside:?}");
        if checked.is_ok() {
            assert_eq!(asked, outside, "a passing check asks for every relative read ahead");
        }
        checked.map_err(|e| e.to_string())?;
        self.persons = next;
        Ok(())
    }

    fn adult(&mut self, sex: Sex, age: i32) -> Person {
        let born = Date::from_calendar_date(2026 - age, Month::March, 3).unwrap();
        let h = self.new_hetu(born, sex);
        let id = PersonId(self.next_id);
        self.next_id += 1;
        let e = Event {
            person: id,
            rekisterointipaiva: day0(),
            tapahtuma: EventKind::Birth { henkilotunnus: h, ryhmat: World::groups("Aikuinen", sex) },
        };
        self.apply(&[e]).unwrap();
        self.persons[&id].clone()
    }

    fn relatives(&self, p: &Person) -> Vec<Person> {
        let mut out: Vec<Person> = Vec::new();
        for l in links(p) {
            if let Some(r) = self.by_hetu(l.other) {
                if !out.iter().any(|o| o.id == r.id) {
                    out.push(r);
                }
            }
        }
        out
    }

    fn alive(&self, f: impl Fn(&Person) -> bool) -> Vec<Person> {
        self.persons.values().filter(|p| !p.is_dead() && f(p)).cloned().collect()
    }

    /// Every relative's record names a person by the name they have now.
    fn names_current(&self) -> Result<(), String> {
        for p in self.persons.values() {
            for v in relations::RELATION_GROUPS.iter().flat_map(|g| p.instances(*g)) {
                let Some(rel) = relations::relative(v) else { continue };
                let Some(other) = rel.henkilotunnus.and_then(|h| self.by_hetu(h)) else { continue };
                let Some(GroupValue::HenkilonNimi(n)) = other.group(GroupName::HenkilonNimi) else { continue };
                let now = (Some(&n.etunimi), Some(&n.sukunimi), Some(&n.etunimi), Some(&n.sukunimi));
                let told = (
                    rel.etunimet.as_ref(),
                    rel.sukunimi.as_ref(),
                    rel.etunimet_utf8.as_ref(),
                    rel.sukunimi_utf8.as_ref(),
                );
                if told != now {
                    return Err(format!("{} names {} as {told:?}, not {now:?}", p.hetu(), other.hetu()));
                }
            }
        }
        Ok(())
    }

    /// Every relation anyone holds is held by the other side too.
    fn symmetric(&self) -> Result<(), String> {
        for p in self.persons.values() {
            for l in links(p) {
                let other = self.by_hetu(l.other).ok_or(format!("{} names unknown {}", p.id, l.other))?;
                if !links(&other).contains(&l.mirror(p.hetu())) {
                    return Err(format!("{} {} of {} is one-sided", l.group, l.other, p.hetu()));
                }
            }
        }
        Ok(())
    }
}

fn married(p: &Person) -> Option<Hetu> {
    p.instances(GroupName::Avioliitto).iter().find_map(|v| match v {
        GroupValue::Avioliitto(m) if m.voimassaolo == Voimassaolo::Aktiivi => m.puoliso.henkilotunnus,
        _ => None,
    })
}

fn guardians(w: &World, child: &Person) -> Vec<Person> {
    [GroupName::Huoltaja, GroupName::HuoltajaSuppea, GroupName::HuoltajaRajoitettu]
        .iter()
        .flat_map(|g| child.instances(*g))
        .filter_map(|v| relations::relative(v).and_then(|r| r.henkilotunnus))
        .filter_map(|h| w.by_hetu(h))
        .collect()
}

/// One family event on the world, chosen by `k` among the persons picked by `a`, `b`.
fn family_event(w: &mut World, k: u8, a: usize, b: usize, n: u16) -> Option<Vec<Event>> {
    let date = day0() + Duration::days(i64::from(n));
    let pick = |v: Vec<Person>, i: usize| (!v.is_empty()).then(|| v[i % v.len()].clone());
    Some(match k % FAMILY_EVENTS {
        0 | 1 => {
            let mother = pick(w.alive(|p| p.hetu().sex() == Sex::Female && p.hetu().birth_date().year() < 2008), a)?;
            let father = match married(&mother) {
                Some(h) => w.by_hetu(h).filter(|f| !f.is_dead() && f.hetu().sex() == Sex::Male),
                None => pick(w.alive(|p| p.hetu().sex() == Sex::Male && p.hetu().birth_date().year() < 2008), b)
                    .filter(|_| !b.is_multiple_of(3)),
            };
            let sex = if b.is_multiple_of(2) { Sex::Female } else { Sex::Male };
            let hetu = w.new_hetu(date, sex);
            let id = PersonId(w.next_id);
            w.next_id += 1;
            family::birth(id, hetu, World::groups("Lapsi", sex), &mother, father.as_ref(), date)
        }
        2 => {
            let single = w.alive(|p| married(p).is_none() && p.hetu().birth_date().year() < 2008);
            let x = pick(single.clone(), a)?;
            let y = pick(single.into_iter().filter(|p| p.id != x.id).collect(), b)?;
            family::marriage(&x, &y, code::SIVIILIVIHKIMINEN, date)
        }
        3 => {
            let x = pick(w.alive(|p| married(p).is_some()), a)?;
            let y = w.by_hetu(married(&x)?)?;
            family::divorce(&x, &y, date)
        }
        4 => {
            let x = pick(w.alive(|_| true), a)?;
            let relatives = w.relatives(&x);
            family::death(&x, &relatives, VtjDate::Full(date), date)
        }
        5 => {
            let child = pick(w.alive(|p| !guardians_of(p).is_empty()), a)?;
            let g = guardians(w, &child);
            family::custody_ends(&child, &g, b.is_multiple_of(2), date)
        }
        6 => {
            let child = pick(w.alive(|p| p.hetu().birth_date().year() >= 2020), a)?;
            let adopter = pick(w.alive(|p| p.hetu().birth_date().year() < 2000 && p.id != child.id), b)?;
            let g = guardians(w, &child);
            if g.iter().any(|x| x.id == adopter.id) || links(&child).iter().any(|l| l.other == adopter.hetu()) {
                return None;
            }
            family::adoption(&child, &adopter, &g, date)
        }
        HETU_CORRECTION => {
            let x = pick(w.persons.values().cloned().collect(), a)?;
            let uusi = w.new_hetu(x.hetu().birth_date(), x.hetu().sex());
            let relatives = w.relatives(&x);
            family::hetu_correction(&x, &relatives, uusi, date)
        }
        _ => {
            let x = pick(w.alive(|_| true), a)?;
            let nimi = Nimi::new(&format!("Uusi{b}"), &format!("Muutettu{n}"), Some(VtjDate::Full(date)));
            let relatives = w.relatives(&x);
            family::renamed(&x, &relatives, nimi, date)
        }
    })
}

const FAMILY_EVENTS: u8 = 9;
const HETU_CORRECTION: u8 = 7;
/// A new name changes no relation: `check` has nothing to refuse in a part of it.
const RENAME: u8 = 8;

fn guardians_of(p: &Person) -> Vec<Hetu> {
    [GroupName::Huoltaja, GroupName::HuoltajaSuppea, GroupName::HuoltajaRajoitettu]
        .iter()
        .flat_map(|g| p.instances(*g))
        .filter_map(|v| relations::relative(v).and_then(|r| r.henkilotunnus))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn relations_stay_two_sided_after_every_family_event(
        steps in prop::collection::vec((any::<u8>(), any::<usize>(), any::<usize>()), 1..60)
    ) {
        let mut w = World { next_id: 1, ..World::default() };
        for (i, sex) in [Sex::Female, Sex::Male, Sex::Female, Sex::Male, Sex::Female].into_iter().enumerate() {
            w.adult(sex, 25 + 7 * i as i32);
        }
        for (n, (k, a, b)) in steps.into_iter().enumerate() {
            let Some(batch) = family_event(&mut w, k, a, b, n as u16) else { continue };
            let before = w.clone();
            let result = w.apply(&batch);
            prop_assert!(result.is_ok(), "family event {} refused: {:?}", k % FAMILY_EVENTS, result);
            prop_assert_eq!(w.symmetric(), Ok(()));
            prop_assert_eq!(w.names_current(), Ok(()));
            // Without any one of its events a family batch leaves a relation
            // one-sided, and is refused whole.
            if batch.len() > 1 && k % FAMILY_EVENTS != RENAME {
                for skip in 0..batch.len() {
                    let partial: Vec<Event> =
                        batch.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, e)| e.clone()).collect();
                    let mut w2 = before.clone();
                    prop_assert!(w2.apply(&partial).is_err(), "event {} of family event {} was not needed: {:?}", skip, k % FAMILY_EVENTS, batch);
                    prop_assert_eq!(w2.persons, before.persons.clone());
                }
            }
        }
    }
}

/// The location values of a person: what must never reach a recipient
/// without the right while the person is protected.
fn location_texts(p: &Person) -> Vec<String> {
    let mut out = Vec::new();
    for g in GroupName::CENSORED_UNDER_TURVAKIELTO {
        for v in p.instances(g) {
            match v {
                GroupValue::VakinainenKotimainenOsoite(o) | GroupValue::TilapainenKotimainenOsoite(o) => {
                    out.push(o.katunimi.fi.clone());
                    out.extend(o.rakennustunnus.clone());
                }
                GroupValue::VakinainenKotimainenAsuinpaikkatunnus(a) => out.extend(a.asuinpaikantunnus.clone()),
                GroupValue::Sahkopostiosoite(e) => out.push(e.sahkopostiosoite.clone()),
                _ => {}
            }
        }
    }
    out
}

fn home(i: usize) -> Vec<GroupValue> {
    let osoite = KotimainenOsoite {
        katunimi: Localized::fi(format!("Salainenkuja{i}x")),
        katunumero: "1".into(),
        huoneistokirjain: None,
        huoneistonumero: None,
        postinumero: "00100".into(),
        postitoimipaikka: Localized::fi("HELSINKI"),
        jakokirjain: None,
        rakennustunnus: Some(format!("97{i:07}Q")),
        osoitenumero: Some(1),
        kuntakoodi: Some(KuntaCode::parse("091").unwrap()),
        alkupv: None,
    };
    vec![
        GroupValue::VakinainenKotimainenAsuinpaikkatunnus(Asuinpaikkatunnus::of(&osoite).unwrap()),
        GroupValue::VakinainenKotimainenOsoite(osoite),
        GroupValue::Sahkopostiosoite(Sahkopostiosoite {
            sahkopostiosoite: format!("salainen{i}@example.invalid"),
            lajikoodi: Some(99),
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Protected guardians, parents, children and spouses: no location value
    /// of a protected person reaches a recipient without the right, neither
    /// in their own record nor in any relative's (a related person is named,
    /// never located).
    #[test]
    fn a_protected_relatives_location_never_reaches_an_unentitled_recipient(
        steps in prop::collection::vec((any::<u8>(), any::<usize>(), any::<usize>()), 1..40),
        protect in prop::collection::vec(any::<bool>(), 64),
    ) {
        let mut w = World { next_id: 1, ..World::default() };
        for (i, sex) in [Sex::Female, Sex::Male, Sex::Female, Sex::Male].into_iter().enumerate() {
            w.adult(sex, 25 + 6 * i as i32);
        }
        for (n, (k, a, b)) in steps.into_iter().enumerate() {
            // No hetu corrections or new names here: the check is of locations.
            if k % FAMILY_EVENTS >= HETU_CORRECTION { continue; }
            if let Some(batch) = family_event(&mut w, k, a, b, n as u16) {
                let _ = w.apply(&batch);
            }
        }
        // Each person at an address of their own, some protected.
        let ids: Vec<PersonId> = w.persons.keys().copied().collect();
        for (i, id) in ids.iter().enumerate() {
            if w.persons[id].is_dead() { continue; }
            let mut events = vec![Event {
                person: *id,
                rekisterointipaiva: day0(),
                tapahtuma: EventKind::GroupsRegistered { ryhmat: home(i), poistetut: Vec::new() },
            }];
            if protect[i % protect.len()] && !w.persons[id].has_turvakielto() {
                events.push(Event {
                    person: *id,
                    rekisterointipaiva: day0(),
                    tapahtuma: EventKind::TurvakieltoStart { turva_loppu_pv: VtjDate::Indefinite },
                });
            }
            w.apply(&events).unwrap();
        }
        let permit = Permit {
            tunnus: "L".into(),
            luvansaaja: "R".into(),
            kayttotarkoitus: "testi".into(),
            tuote: Product::builtin("LAAJAT").unwrap(),
            rajaus: Scope::Hetulista,
            turvakielto: TurvakieltoRule::TiedotSensuroidaan,
            voimassa_alkaen: day0(),
            voimassa_asti: None,
            peruttu: false,
            ylalupa: None,
        };
        let secrets: Vec<String> =
            w.persons.values().filter(|p| p.has_turvakielto()).flat_map(location_texts).collect();
        let shown = |permit: &Permit, p: &Person| {
            let groups = render_full(permit, Subject { person: p, on_list: true }, day0()).unwrap();
            serde_json::to_string(&groups.iter().flat_map(|c| c.values()).collect::<Vec<_>>()).unwrap()
        };
        for p in w.persons.values() {
            let text = shown(&permit, p);
            for s in &secrets {
                prop_assert!(!text.contains(s.as_str()), "{} of a protected person in the record of {}", s, p.hetu());
            }
        }
        // The search would find them: an entitled recipient sees each
        // protected living person's own location.
        let entitled = Permit { turvakielto: TurvakieltoRule::TiedotLuovutetaan, ..permit.clone() };
        for p in w.persons.values().filter(|p| p.has_turvakielto() && !p.is_dead()) {
            let text = shown(&entitled, p);
            prop_assert!(location_texts(p).iter().all(|s| text.contains(s.as_str())));
        }
    }
}
