use std::collections::{HashMap, HashSet};

use time::{Date, Month};
use vtj_core::{KuntaCode, PersonId};
use vtj_sim::{generate, simulate, GenerateConfig, SimulateConfig};
use vtj_store::{Cursor, PersonFilter, SqliteStore, Store};

fn build(persons: u64, seed: u64, days: u32, intensity: f64) -> SqliteStore {
    let mut s = SqliteStore::open_in_memory().unwrap();
    let date = Date::from_calendar_date(2026, Month::January, 1).unwrap();
    generate(&mut s, &GenerateConfig { persons, seed, date }, &mut |_| {}).unwrap();
    simulate(&mut s, &SimulateConfig { days, intensity }, &mut |_| {}).unwrap();
    s
}

/// Everything observable: the whole log (events and both states) and every person.
fn dump(s: &SqliteStore) -> (Vec<String>, Vec<String>) {
    let log = s
        .changes_since(Cursor(0), usize::MAX >> 1)
        .unwrap()
        .into_iter()
        .map(|e| format!("{} {:?} {:?} {:?}", e.cursor, e.event, e.before, e.after))
        .collect();
    let persons =
        s.persons(PersonFilter::All, PersonId(0), usize::MAX >> 1).unwrap().iter().map(|p| format!("{p:?}")).collect();
    (log, persons)
}

#[test]
fn same_seed_same_log() {
    let a = build(3_000, 42, 10, 20.0);
    let b = build(3_000, 42, 10, 20.0);
    let (log_a, persons_a) = dump(&a);
    assert!(log_a.len() > 100, "the simulation should produce events: {}", log_a.len());
    assert_eq!(dump(&b), (log_a.clone(), persons_a));
    let c = build(3_000, 43, 10, 20.0);
    assert_ne!(dump(&c).0, log_a, "another seed gives another history");
}

#[test]
fn simulating_in_parts_equals_simulating_at_once() {
    let whole = build(2_000, 7, 6, 20.0);
    let mut parts = build(2_000, 7, 2, 20.0);
    simulate(&mut parts, &SimulateConfig { days: 4, intensity: 20.0 }, &mut |_| {}).unwrap();
    assert_eq!(dump(&parts), dump(&whole));
}

#[test]
fn population_is_plausible_and_synthetic() {
    let s = build(20_000, 1, 30, 5.0);
    let persons = s.persons(PersonFilter::All, PersonId(0), usize::MAX >> 1).unwrap();
    let mut hetus = HashSet::new();
    let mut per_kunta: HashMap<KuntaCode, u64> = HashMap::new();
    for p in &persons {
        for h in p.all_hetus() {
            assert!(h.is_test_range(), "{h} outside the test range");
            assert!(hetus.insert(h), "{h} used twice");
        }
        if let Some(k) = p.kotikunta() {
            *per_kunta.entry(k).or_default() += 1;
        }
    }
    let hki = per_kunta[&KuntaCode::parse("091").unwrap()];
    let small = per_kunta.get(&KuntaCode::parse("035").unwrap()).copied().unwrap_or(0);
    assert!(hki > 1_500 && hki < 3_500, "Helsinki ~12 %: {hki}");
    assert!(small < 100, "Brändö is tiny: {small}");
    assert!(per_kunta.len() > 250, "nearly every municipality has residents: {}", per_kunta.len());

    let summary = s.summary().unwrap();
    assert!(summary.turvakielto_in_force > 20 && summary.turvakielto_in_force < 200, "{summary:?}");
    let kinds: HashMap<_, _> = summary.by_kind.iter().cloned().collect();
    for k in [
        "SYNTYMA",
        "KUOLEMA",
        "MUUTTO_KUNNAN_SISALLA",
        "MUUTTO_TOISEEN_KUNTAAN",
        "TURVAKIELTO_ALKAA",
        "TURVAKIELTO_PAATTYY",
        "NIMENMUUTOS",
    ] {
        assert!(kinds.get(k).copied().unwrap_or(0) > 0, "no {k} in {kinds:?}");
    }
    // Moves within a municipality are the most common event, as in VTJ.
    assert_eq!(summary.by_kind[0].0, "MUUTTO_KUNNAN_SISALLA");
}

#[test]
fn simulate_without_population_is_a_clear_error() {
    let mut s = SqliteStore::open_in_memory().unwrap();
    let err = simulate(&mut s, &SimulateConfig { days: 1, intensity: 1.0 }, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("vtj generate"), "{err}");
}

/// Families: the generated population and a simulated year of births,
/// marriages, divorces, deaths, custody changes and hetu corrections keep
/// every relation two-sided; children have guardians and live with them.
#[test]
fn families_are_two_sided_and_children_have_guardians() {
    use vtj_core::groups::{code, GroupValue};
    use vtj_core::relations::links;
    use vtj_core::GroupName;

    let s = build(4_000, 7, 30, 10.0);
    let last_day = Date::from_calendar_date(2026, Month::January, 31).unwrap();
    let persons = s.persons(PersonFilter::All, PersonId(0), usize::MAX >> 1).unwrap();
    let by_hetu: HashMap<_, _> = persons.iter().flat_map(|p| p.all_hetus().into_iter().map(move |h| (h, p))).collect();
    let (mut marriages, mut children_with_guardians, mut board, mut partnerships, mut apart) = (0, 0, 0, 0, 0);
    let first_day = Date::from_calendar_date(2026, Month::January, 1).unwrap();
    let mut told_new_names = 0;
    for p in &persons {
        // A relative is named as they are named now, a new name included.
        for v in vtj_core::relations::RELATION_GROUPS.iter().flat_map(|g| p.instances(*g)) {
            let Some(rel) = vtj_core::relations::relative(v) else { continue };
            let Some(other) = rel.henkilotunnus.and_then(|h| by_hetu.get(&h)) else { continue };
            let Some(GroupValue::HenkilonNimi(n)) = other.group(GroupName::HenkilonNimi) else { continue };
            assert_eq!(
                (rel.etunimet.as_deref(), rel.sukunimi.as_deref()),
                (Some(n.etunimi.as_str()), Some(n.sukunimi.as_str())),
                "{} names {} by a name not theirs",
                p.hetu(),
                other.hetu()
            );
            told_new_names += usize::from(n.alkupv.is_some_and(|d| d >= vtj_core::VtjDate::Full(first_day)));
        }
        for l in links(p) {
            let other = by_hetu.get(&l.other).unwrap_or_else(|| panic!("{} names unknown {}", p.hetu(), l.other));
            assert!(links(other).contains(&l.mirror(p.hetu())), "{} {} of {} is one-sided", l.group, l.other, p.hetu());
            marriages += usize::from(l.group == GroupName::Avioliitto);
            partnerships += usize::from(l.group == GroupName::RekisteroityParisuhde);
        }
        let guardians: Vec<_> = p.instances(GroupName::Huoltaja).iter().collect();
        // Custody ends on the 18th birthday (the last simulated day is January 31).
        if !guardians.is_empty() && !p.is_dead() {
            let born = p.hetu().birth_date();
            let of_age = Date::from_calendar_date(born.year() + 18, born.month(), born.day())
                .unwrap_or_else(|_| Date::from_calendar_date(born.year() + 18, Month::March, 1).unwrap());
            assert!(of_age > last_day, "{} is of age since {of_age} and still in custody", p.hetu());
        }
        if !guardians.is_empty() && !p.is_dead() {
            children_with_guardians += 1;
            let lives_with_one = guardians.iter().any(|g| match g {
                GroupValue::Huoltaja(h) => h.huoltaja.henkilotunnus.and_then(|x| by_hetu.get(&x)).is_some_and(|g| {
                    g.group(GroupName::VakinainenKotimainenOsoite) == p.group(GroupName::VakinainenKotimainenOsoite)
                }),
                _ => false,
            });
            let by_board = guardians.iter().any(|g| matches!(g, GroupValue::Huoltaja(h) if h.huoltajan_rooli.as_deref() == Some(code::SOSIAALILAUTAKUNTA)));
            board += usize::from(by_board);
            // A guardian's death or a divorce can leave a child apart from
            // the guardian it still has: rare, not the rule.
            apart += usize::from(!lives_with_one && !by_board);
        }
    }
    assert!(marriages > 300, "{marriages} marriage sides");
    assert!(told_new_names > 0, "no relative of anyone renamed in the month");
    assert!(children_with_guardians > 400, "{children_with_guardians} children with guardians");
    assert!(
        apart * 50 < children_with_guardians,
        "{apart} of {children_with_guardians} children live apart from every guardian"
    );
    eprintln!("{marriages} marriage sides, {partnerships} partnership sides, {children_with_guardians} children with guardians, {board} in the board's custody");
}
