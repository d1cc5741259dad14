//! A client written only from DVV's public material (`vtj_testkit::dvv`:
//! generic HTTP and JSON) pointed at a county hub instead of DVV: a hetu-list
//! system of the county, carved out of the county's area permit. Through a
//! month upstream with turvakielto, a hetu correction, a death and a move
//! out of the county, its register must be what its sub-permit allows of
//! what the hub holds, and the person who left the county leaves it.

use std::collections::BTreeMap;

use common::{follow, hub_at, serve_hub};
use serde_json::{json, Value};
use time::Month;
use vtj_api::admin::{self, PermitSpec};
use vtj_core::groups::{Kotikunta, KotimainenOsoite, Localized};
use vtj_core::{Event, EventKind, GroupName, GroupValue, Hetu, KuntaCode, Person, PersonId, VtjDate};
use vtj_store::{PersonFilter, SqliteStore, Store};
use vtj_testkit::*;

mod common;

fn ev(p: &Person, tapahtuma: EventKind) -> Event {
    Event { person: p.id, rekisterointipaiva: day(2026, Month::February, 1), tapahtuma }
}

fn held_now(reg: &dvv::Register) -> BTreeMap<String, BTreeMap<String, Vec<Value>>> {
    // A person whose every group was removed is held no more.
    reg.persons.iter().filter(|(_, g)| !g.is_empty()).map(|(h, g)| (h.clone(), g.clone())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_written_for_dvv_works_unchanged_against_the_hub() {
    let h = start(Options { persons: 8_000, days: 1, seed: 17, config: |c| c.rate_per_second = 1e6 }).await;
    let dir = tempfile::tempdir().unwrap();
    let (mut hub_reg, mut hub) = hub_at(&h, dir.path(), KS);
    admin::add_recipient(&mut hub, "SOSIAALI", "Sosiaalihuollon asiakasrekisteri").unwrap();
    let groups = ["HENKILON_NIMI", "HENKILOTUNNUS_KORJAUS", "KUOLINPAIVA", "KOTIKUNTA", "VAKINAINEN_KOTIMAINEN_OSOITE"];
    admin::add_permit(
        &mut hub,
        &PermitSpec {
            tunnus: "SOS".into(),
            luvansaaja: "SOSIAALI".into(),
            kayttotarkoitus: "sosiaalihuollon asiakkuudet".into(),
            tuote: "SOS".into(),
            ryhmat: Some(groups.iter().map(|g| g.to_string()).collect()),
            kunnat: vec![],
            hyvinvointialueet: vec![],
            hetulista: true,
            turvakielto_oikeus: false,
            alkaen: day(2026, Month::January, 1),
            asti: None,
            ylalupa: Some(KS.into()),
        },
    )
    .unwrap();
    let password = admin::add_user(&mut hub, "SOS", "sosiaali").unwrap();
    follow(&h, KS, &mut hub_reg, &mut hub).await;
    let base = serve_hub(&dir.path().join("hub.db"), |_| {}).await;

    // The county's residents on the system's list, and a few from elsewhere
    // the hub knows nothing of.
    let mut s = h.store();
    let living = |kunnat: &std::collections::BTreeSet<KuntaCode>, n: usize| -> Vec<Person> {
        s.persons(PersonFilter::Kunnat(kunnat), PersonId(0), 100_000)
            .unwrap()
            .into_iter()
            .filter(|p| !p.is_dead() && p.group(GroupName::VakinainenKotimainenOsoite).is_some())
            .step_by(2)
            .take(n)
            .collect()
    };
    let ks = vtj_core::kunta::region_kunnat("KS").unwrap();
    let residents = living(&ks, 200);
    let elsewhere = living(&[KuntaCode::parse("091").unwrap()].into(), 10);
    let client = dvv::Client {
        http: reqwest::Client::new(),
        base,
        user: "sosiaali".into(),
        password,
        xroad: "FI/GOV/0000000-0/sosiaali".into(),
    };
    let mut reg = dvv::Register {
        list: residents.iter().chain(&elsewhere).map(|p| p.hetu().to_string()).collect(),
        ..Default::default()
    };
    let mut cursor = client.cursor_of(&VtjDate::iso(today())).await;
    for p in client.perustiedot(&reg.list).await {
        reg.put(&p);
    }
    assert_eq!(reg.persons.len(), residents.len(), "the county's residents, none from elsewhere");

    // A month upstream.
    let unprotected: Vec<&Person> = residents.iter().filter(|p| !p.has_turvakielto()).collect();
    let [starts, corrected, dies, leaves] = [0, 1, 2, 3].map(|i| unprotected[i * 11].clone());
    let at = |p: &Person, s: &SqliteStore| s.person(p.id).unwrap().unwrap();
    s.append(&[ev(&starts, EventKind::TurvakieltoStart { turva_loppu_pv: VtjDate::Indefinite })]).unwrap();
    simulate(&mut s, 10);
    follow(&h, KS, &mut hub_reg, &mut hub).await;
    cursor = client.muutokset(cursor, &reg.list.clone(), &mut reg).await;
    let new = vtj_testkit::unused_hetu_for(&s, corrected.hetu());
    s.append(&hetu_correction(&s, &at(&corrected, &s), new, day(2026, Month::February, 1))).unwrap();
    if !at(&dies, &s).is_dead() {
        s.append(&death(&s, &at(&dies, &s), day(2026, Month::February, 1))).unwrap();
    }
    let mover = at(&leaves, &s);
    assert!(!mover.is_dead() && mover.kotikunta().is_some_and(|k| ks.contains(&k)), "the mover lives in the county");
    {
        let Some(GroupValue::VakinainenKotimainenOsoite(a)) = mover.group(GroupName::VakinainenKotimainenOsoite) else {
            unreachable!("chosen with an address")
        };
        let osoite = KotimainenOsoite {
            katunimi: Localized::fi("Helsingintie"),
            kuntakoodi: Some(KuntaCode::parse("091").unwrap()),
            ..a.clone()
        };
        let kotikunta = Kotikunta { kuntakoodi: KuntaCode::parse("091").unwrap(), kuntaan_muuttopv: None };
        s.append(&[ev(&mover, EventKind::MoveToMunicipality { osoite, kotikunta })]).unwrap();
    }
    simulate(&mut s, 20);
    follow(&h, KS, &mut hub_reg, &mut hub).await;
    client.muutokset(cursor, &reg.list.clone(), &mut reg).await;

    // What the sub-permit allows of what the hub holds, group for group.
    let permit = hub.permit("SOS").unwrap().unwrap();
    let list: Vec<Hetu> = reg.list.iter().map(|h| Hetu::parse(h).unwrap()).collect();
    let expected: BTreeMap<String, BTreeMap<String, Vec<Value>>> = projection(&hub, &permit, &list, today())
        .persons
        .into_iter()
        .map(|(hetu, held)| {
            (hetu, held.groups().iter().map(|(k, v)| (k.clone(), v.iter().map(|g| json!(g)).collect())).collect())
        })
        .collect();
    let held = held_now(&reg);
    let differing: Vec<&String> =
        expected.keys().chain(held.keys()).filter(|k| expected.get(*k) != held.get(*k)).collect();
    assert!(differing.is_empty(), "{} persons differ, e.g. {:?}", differing.len(), differing.first());
    assert!(held.contains_key(new.as_str()) && !held.contains_key(corrected.hetu().as_str()));
    assert!(reg.list.contains(&new.to_string()), "the client follows the corrected hetu");
    let protected = &held[starts.hetu().as_str()];
    assert!(protected["VAKINAINEN_KOTIMAINEN_OSOITE"][0].get("turvakiellonAlaisetKentat").is_some());
    assert!(held[at(&dies, &s).hetu().as_str()].contains_key("KUOLINPAIVA"));
    assert!(!held.contains_key(leaves.hetu().as_str()), "moved out of the county: the system holds nothing");
    assert!(reg.persons.contains_key(leaves.hetu().as_str()), "it was told, in DVV's words (POISTETTU)");
}
