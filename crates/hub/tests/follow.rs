//! The hub's follower and publisher against a real service: the hub's
//! store holds, person for person, the mirror of what upstream gave, after
//! the initial load and after life went on (moves out of the area,
//! turvakielto, a hetu correction), and publishing again adds nothing.

use std::collections::BTreeSet;
use std::time::Duration;

use vtj_core::hub::{held, mirror};
use vtj_core::{Hetu, KuntaCode, Person, PersonId};
use vtj_store::{PersonFilter, SqliteStore, Store};
use vtj_sync::{Client, ClientConfig, Register, Retry};
use vtj_testkit::{area_of, hetu_correction, start, today, Harness, Options, KS};

fn client(h: &Harness, permit: &str) -> Client {
    let (user, password) = h.user(permit);
    Client::new(ClientConfig {
        base_url: h.api_base(),
        user: Some(user.into()),
        password: Some(password.into()),
        retry: Retry { attempts: 60, first: Duration::from_millis(20), max: Duration::from_millis(200) },
        ..ClientConfig::default()
    })
    .unwrap()
}

fn everyone(store: &SqliteStore) -> Vec<Person> {
    store.persons(PersonFilter::All, PersonId(0), usize::MAX).unwrap()
}

/// Every person the register holds is in the store as its mirror, under
/// the same hetu; every other person of the store holds nothing.
/// Returns how many the store holds.
fn assert_store_mirrors_register(reg: &mut Register, store: &SqliteStore) -> usize {
    let snapshot = reg.snapshot().unwrap();
    for (h, kept) in &snapshot {
        let hetu = Hetu::parse(h).unwrap();
        let p = store.person_by_hetu(hetu).unwrap().unwrap_or_else(|| panic!("{h} is not in the hub's store"));
        let expected = mirror(p.id, hetu, vtj_hub::seen(kept, &mut 0)).unwrap();
        assert_eq!(p, expected, "{h}");
    }
    let holding: Vec<Person> = everyone(store).into_iter().filter(held).collect();
    assert_eq!(holding.len(), snapshot.len(), "the store holds exactly the register's persons");
    holding.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_store_mirrors_what_upstream_gave_through_changes() {
    let h = start(Options::default()).await;
    let c = client(&h, KS);
    let dir = tempfile::tempdir().unwrap();
    let mut reg = Register::open(&dir.path().join("hub-register.db")).unwrap();
    reg.enable_outbox().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("hub.db")).unwrap();

    vtj_sync::sync(&c, &mut reg, Some(area_of(KS)), &mut |_| {}).await.unwrap();
    let first = vtj_hub::publish(&mut reg, &mut store, today(), 500).unwrap();
    let held_first = assert_store_mirrors_register(&mut reg, &store);
    assert!(held_first > 100);
    assert_eq!(first.events, held_first as u64, "one mirror per person loaded");
    // Upstream has no turvakielto right: protected persons are marked so,
    // their addresses absent (the hub does not know them).
    let protected: Vec<Person> = everyone(&store).into_iter().filter(Person::has_turvakielto).collect();
    assert!(!protected.is_empty(), "the population has protected persons in the area");
    assert!(protected.iter().all(|p| p.kotikunta().is_none()));

    // Life goes on upstream: a fortnight, and a hetu correction in the area.
    let mut s = h.store();
    vtj_testkit::simulate(&mut s, 14);
    let ks: BTreeSet<KuntaCode> = area_of(KS).iter().map(|k| KuntaCode::parse(k).unwrap()).collect();
    let p = s
        .persons(PersonFilter::Kunnat(&ks), PersonId(0), 100)
        .unwrap()
        .into_iter()
        .find(|p| !p.has_turvakielto() && !p.is_dead())
        .unwrap();
    let old = p.hetu();
    let sign = old.as_str().as_bytes()[6] as char;
    let new = (900..1000)
        .rev()
        .map(|n| Hetu::from_parts(old.birth_date(), sign, n).unwrap())
        .find(|x| !s.hetu_exists(*x).unwrap())
        .unwrap();
    s.append(&hetu_correction(&s, &p, new, today())).unwrap();

    let report = vtj_sync::sync(&c, &mut reg, None, &mut |_| {}).await.unwrap();
    assert!(report.removed > 0, "someone moved out of the area");
    let before = everyone(&store).len();
    let second = vtj_hub::publish(&mut reg, &mut store, today(), 7).unwrap();
    assert!(second.events > 0 && second.noted >= second.events);
    assert_store_mirrors_register(&mut reg, &store);
    let corrected = store.person_by_hetu(old).unwrap().expect("found by the old hetu");
    assert_eq!(corrected.hetu(), new);
    assert_eq!(store.person_by_hetu(new).unwrap().map(|p| p.id), Some(corrected.id), "corrected, not a new person");
    let left = everyone(&store).into_iter().filter(|p| !held(p)).count();
    assert!(left > 0, "those who left upstream's scope hold nothing in the hub");
    assert!(everyone(&store).len() >= before);

    // Nothing new: nothing published, and the outbox is empty.
    assert_eq!(vtj_hub::publish(&mut reg, &mut store, today(), 500).unwrap(), vtj_hub::Published::default());
    assert!(reg.outbox(0, 10).unwrap().is_empty());
}

#[test]
fn a_register_holding_persons_cannot_become_a_hub() {
    let dir = tempfile::tempdir().unwrap();
    let mut reg = Register::open(&dir.path().join("r.db")).unwrap();
    let record: vtj_wire::PersonRecord = serde_json::from_str(
        r#"{"henkilotunnus":"010181-900C","tietoryhmat":[{"tietoryhma":"HENKILON_NIMI","etunimet":"Testi","sukunimi":"Testinen"}]}"#,
    )
    .unwrap();
    reg.store_initial_page(&[record], 1, None).unwrap();
    let e = reg.enable_outbox().unwrap_err();
    assert!(e.to_string().contains("empty register"), "{e}");
}
