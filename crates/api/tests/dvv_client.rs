//! A client written only from DVV's public material, with generic HTTP and
//! JSON (none of this project's crates), against `vtj serve`: Basic and
//! `X-Road-Client`, `/kirjausavain/{date}`, `/perustiedot` in batches of
//! 1000, `/muutokset` until `ajanTasalla`. Over a simulated month with
//! turvakielto starting and ending, a hetu correction, a death and moves,
//! its register must equal what the permit allows. (The harness and the
//! reference use the project's crates; the client does not.)

use std::collections::BTreeMap;

use serde_json::{json, Value};
use time::Month;
use vtj_core::groups::{Kotikunta, KotimainenOsoite, Localized};
use vtj_core::{Event, EventKind, GroupName, GroupValue, Hetu, KuntaCode, Person, PersonId, VtjDate};
use vtj_store::{AuditLog, AuditRecord, PersonFilter, Store};
use vtj_testkit::dvv;
use vtj_testkit::*;

fn ev(p: &Person, tapahtuma: EventKind) -> Event {
    Event { person: p.id, rekisterointipaiva: day(2026, Month::February, 1), tapahtuma }
}

fn address(p: &Person, street: &str, kunta: &str) -> KotimainenOsoite {
    let Some(GroupValue::VakinainenKotimainenOsoite(a)) = p.group(GroupName::VakinainenKotimainenOsoite) else {
        unreachable!("chosen with an address")
    };
    KotimainenOsoite {
        katunimi: Localized::fi(street),
        kuntakoodi: Some(KuntaCode::parse(kunta).unwrap()),
        ..a.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_written_from_dvvs_material_works_unchanged() {
    let h = start(Options { persons: 8_000, days: 1, seed: 17, config: |c| c.rate_per_second = 1e6 }).await;
    let mut s = h.store();
    let living: Vec<Person> = s
        .persons(PersonFilter::All, PersonId(0), 100_000)
        .unwrap()
        .into_iter()
        .filter(|p| !p.is_dead() && p.group(GroupName::VakinainenKotimainenOsoite).is_some())
        .collect();
    // More than one batch of 1000.
    let listed: Vec<Person> = living.iter().step_by(5).take(1_400).cloned().collect();
    assert!(listed.len() > 1_000);
    let (user, password) = h.user(LIST);
    let client = dvv::Client {
        http: reqwest::Client::new(),
        base: h.api_base(),
        user: user.into(),
        password: password.into(),
        xroad: "FI/MUN/0000000-0/asiakasrekisteri".into(),
    };

    // The first day: the cursor of today, then everyone's data.
    let mut reg = dvv::Register { list: listed.iter().map(|p| p.hetu().to_string()).collect(), ..Default::default() };
    let today_iso = VtjDate::iso(today());
    let mut cursor = client.cursor_of(&today_iso).await;
    for p in client.perustiedot(&reg.list).await {
        reg.put(&p);
    }
    assert_eq!(reg.persons.len(), listed.len());

    // A month of life, and what the client must follow through.
    let unprotected: Vec<&Person> = listed.iter().filter(|p| !p.has_turvakielto()).collect();
    let [starts, ends_later, corrected, dies, moves, moves_away] =
        [0, 1, 2, 3, 4, 5].map(|i| unprotected[i * 7].clone());
    let at = |p: &Person, s: &vtj_store::SqliteStore| s.person(p.id).unwrap().unwrap();
    s.append(&[ev(&starts, EventKind::TurvakieltoStart { turva_loppu_pv: VtjDate::Indefinite })]).unwrap();
    s.append(&[ev(&ends_later, EventKind::TurvakieltoStart { turva_loppu_pv: VtjDate::Indefinite })]).unwrap();
    simulate(&mut s, 10);
    cursor = client.muutokset(cursor, &reg.list.clone(), &mut reg).await;
    s.append(&[ev(&at(&ends_later, &s), EventKind::TurvakieltoEnd)]).unwrap();
    let new = vtj_testkit::unused_hetu_for(&s, corrected.hetu());
    let fix = hetu_correction(&s, &at(&corrected, &s), new, day(2026, Month::February, 1));
    s.append(&fix).unwrap();
    if !at(&dies, &s).is_dead() {
        let death = death(&s, &at(&dies, &s), day(2026, Month::February, 1));
        s.append(&death).unwrap();
    }
    let p = at(&moves, &s);
    if !p.is_dead() && p.kotikunta().is_some_and(|k| k.is_municipality()) {
        s.append(&[ev(
            &p,
            EventKind::MoveWithin { osoite: address(&p, "Uusikatu", &p.kotikunta().unwrap().to_string()) },
        )])
        .unwrap();
    }
    let p = at(&moves_away, &s);
    if !p.is_dead()
        && p.kotikunta() != Some(KuntaCode::parse("091").unwrap())
        && p.kotikunta().is_some_and(|k| k.is_municipality())
    {
        let kotikunta = Kotikunta { kuntakoodi: KuntaCode::parse("091").unwrap(), kuntaan_muuttopv: None };
        s.append(&[ev(&p, EventKind::MoveToMunicipality { osoite: address(&p, "Helsingintie", "091"), kotikunta })])
            .unwrap();
    }
    simulate(&mut s, 20);
    client.muutokset(cursor, &reg.list.clone(), &mut reg).await;

    // The client's register is what the permit allows, group for group.
    let permit = s.permit(LIST).unwrap().unwrap();
    let list: Vec<Hetu> = listed.iter().map(Person::hetu).collect();
    let expected: BTreeMap<String, BTreeMap<String, Vec<Value>>> = projection(&s, &permit, &list, today())
        .persons
        .into_iter()
        .map(|(hetu, held)| {
            (hetu, held.groups().iter().map(|(k, v)| (k.clone(), v.iter().map(|g| json!(g)).collect())).collect())
        })
        .collect();
    let differing: Vec<&String> =
        expected.keys().chain(reg.persons.keys()).filter(|k| expected.get(*k) != reg.persons.get(*k)).collect();
    assert!(differing.is_empty(), "{} persons differ, e.g. {:?}", differing.len(), differing.first());
    assert!(reg.persons.contains_key(new.as_str()) && !reg.persons.contains_key(corrected.hetu().as_str()));
    assert!(reg.list.contains(&new.to_string()), "the client follows the corrected hetu");
    let protected = &reg.persons[starts.hetu().as_str()];
    assert!(protected["VAKINAINEN_KOTIMAINEN_OSOITE"][0].get("turvakiellonAlaisetKentat").is_some());
    assert!(reg.persons[ends_later.hetu().as_str()]["VAKINAINEN_KOTIMAINEN_OSOITE"][0].get("katunimi").is_some());
    assert!(reg.persons[at(&dies, &s).hetu().as_str()].contains_key("KUOLINPAIVA"));

    // The service recorded the client's X-Road identity with every call.
    let audit: Vec<AuditRecord> =
        s.audit_entries(0, 100_000).unwrap().iter().map(|e| serde_json::from_str(&e.data).unwrap()).collect();
    let mine: Vec<&AuditRecord> = audit.iter().filter(|e| e.user.as_deref() == Some(user)).collect();
    assert!(mine.len() >= 4);
    assert!(mine
        .iter()
        .all(|e| e.xroad_client.as_deref() == Some("FI/MUN/0000000-0/asiakasrekisteri") && e.status == 200));
}
