//! The hub's follower and publisher against a real service: the hub's
//! store holds, person for person, the mirror of what upstream gave, after
//! the initial load and after life went on (moves out of the area,
//! turvakielto, a hetu correction), and publishing again adds nothing.

use std::collections::BTreeSet;

use common::{assert_store_mirrors_register, everyone, upstream_client};
use vtj_core::hub::held;
use vtj_core::{Hetu, KuntaCode, Person, PersonId};
use vtj_store::{PersonFilter, SqliteStore, Store};
use vtj_sync::Register;
use vtj_testkit::{area_of, hetu_correction, start, today, Options, KS};

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_store_mirrors_what_upstream_gave_through_changes() {
    let h = start(Options::default()).await;
    let c = upstream_client(&h, KS);
    let dir = tempfile::tempdir().unwrap();
    let mut reg = Register::open(&dir.path().join("hub-register.db")).unwrap();
    reg.enable_outbox().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("hub.db")).unwrap();
    let upstream = h.store().permit(KS).unwrap().unwrap();

    vtj_sync::sync(&c, &mut reg, Some(area_of(KS)), &mut |_| {}).await.unwrap();
    let first = vtj_hub::publish(&mut reg, &mut store, &upstream, today(), 500).unwrap();
    let held_first = assert_store_mirrors_register(&mut reg, &store);
    assert!(held_first > 100);
    assert_eq!(first.events, held_first as u64, "one mirror per person loaded");
    assert_eq!((first.untyped, first.outside_product), (0, 0));
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
    let new = vtj_testkit::unused_hetu_for(&s, old);
    s.append(&hetu_correction(&s, &p, new, today())).unwrap();

    let report = vtj_sync::sync(&c, &mut reg, None, &mut |_| {}).await.unwrap();
    assert!(report.removed > 0, "someone moved out of the area");
    let before = everyone(&store).len();
    let second = vtj_hub::publish(&mut reg, &mut store, &upstream, today(), 7).unwrap();
    assert!(second.events > 0 && second.noted >= second.events);
    assert_store_mirrors_register(&mut reg, &store);
    let corrected = store.person_by_hetu(old).unwrap().expect("found by the old hetu");
    assert_eq!(corrected.hetu(), new);
    assert_eq!(store.person_by_hetu(new).unwrap().map(|p| p.id), Some(corrected.id), "corrected, not a new person");
    let left = everyone(&store).into_iter().filter(|p| !held(p)).count();
    assert!(left > 0, "those who left upstream's scope hold nothing in the hub");
    assert!(everyone(&store).len() >= before);

    // Nothing new: nothing published, and the outbox is empty.
    assert_eq!(vtj_hub::publish(&mut reg, &mut store, &upstream, today(), 500).unwrap(), vtj_hub::Published::default());
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
    reg.store_initial_page(vec![record], 1, None).unwrap();
    let e = reg.enable_outbox().unwrap_err();
    assert!(e.to_string().contains("empty register"), "{e}");
}

/// Upstream data that does not fit the upstream permit as recorded: a group
/// outside its product is left out and counted; a censored group under a
/// permit recorded with the turvakielto right stops the hub with a reason.
#[test]
fn upstream_data_is_held_to_the_recorded_permit() {
    let dir = tempfile::tempdir().unwrap();
    let mut reg = Register::open(&dir.path().join("r.db")).unwrap();
    reg.enable_outbox().unwrap();
    use vtj_core::groups::{Nimi, Sukupuoli};
    use vtj_core::{GroupName, GroupValue, Sex};
    let group = |v: GroupValue| serde_json::to_value(vtj_wire::Group::from_value(&v)).unwrap();
    let name = |first: &str| group(GroupValue::HenkilonNimi(Nimi::new(first, "Testinen", None)));
    let censored = serde_json::to_value(vtj_wire::Group::censored(GroupName::Kotikunta)).unwrap();
    let records: Vec<vtj_wire::PersonRecord> = serde_json::from_value(serde_json::json!([
        {"henkilotunnus": "010181-900C", "tietoryhmat": [
            name("Testi"), group(GroupValue::Sukupuoli(Sukupuoli { sukupuoli: Sex::Female }))]},
        {"henkilotunnus": "020181-9001", "tietoryhmat": [name("Suojattu"), censored]},
    ]))
    .unwrap();
    reg.store_initial_page(records, 1, None).unwrap();
    let mut store = SqliteStore::open_in_memory().unwrap();
    let mut upstream = vtj_core::Permit {
        tunnus: "DVV-1".into(),
        luvansaaja: "HVA".into(),
        kayttotarkoitus: "testi".into(),
        tuote: vtj_core::Product {
            tunnus: "P".into(),
            kuvaus: String::new(),
            tietoryhmat: [vtj_core::GroupName::HenkilonNimi, vtj_core::GroupName::Kotikunta].into(),
        },
        rajaus: vtj_core::Scope::Hetulista,
        turvakielto: vtj_core::TurvakieltoRule::TiedotLuovutetaan,
        voimassa_alkaen: today(),
        voimassa_asti: None,
        peruttu: false,
        ylalupa: None,
    };
    let e = vtj_hub::publish(&mut reg, &mut store, &upstream, today(), 10).unwrap_err();
    assert!(e.to_string().contains("censored KOTIKUNTA although the upstream permit DVV-1"), "{e}");
    assert_eq!(store.last_cursor().unwrap(), vtj_store::Cursor(0), "nothing published");

    upstream.turvakielto = vtj_core::TurvakieltoRule::TiedotSensuroidaan;
    let done = vtj_hub::publish(&mut reg, &mut store, &upstream, today(), 10).unwrap();
    assert_eq!((done.events, done.outside_product, done.untyped), (2, 1, 0), "{done:?}");
    let first = store.person_by_hetu(Hetu::parse("010181-900C").unwrap()).unwrap().unwrap();
    assert_eq!(first.tietoryhmat.len(), 1, "SUKUPUOLI is outside the product");
    let protected = store.person_by_hetu(Hetu::parse("020181-9001").unwrap()).unwrap().unwrap();
    assert!(protected.has_turvakielto() && protected.kotikunta().is_none());
}

/// A hub whose store is restored from an older backup: publishing refuses
/// (the store is behind its register) until `reconcile` under a new epoch
/// makes the store the register's mirror again; then an internal system
/// whose cursor came from the lost part of the log is told to load again
/// (`KIRJAUSAVAIN_VANHENTUNUT`), and a load gives it its sub-permit's
/// projection of the hub.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_restored_from_a_backup_tells_its_systems_to_load_again() {
    use common::{client_of, follow, hub_at};
    use vtj_api::admin::{self, PermitSpec};

    let h = start(Options::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let hub_db = dir.path().join("hub.db");
    let (mut hub_reg, mut hub) = hub_at(&h, dir.path(), KS);
    hub.begin_epoch(1_000_000).unwrap();
    admin::add_recipient(&mut hub, "PSOP", "Palvelusetelijärjestelmä").unwrap();
    let sub = PermitSpec {
        tunnus: "PSOP-1".into(),
        luvansaaja: "PSOP".into(),
        kayttotarkoitus: "palvelusetelit".into(),
        tuote: "PSOP-1".into(),
        ryhmat: Some(
            ["HENKILON_NIMI", "HENKILOTUNNUS_KORJAUS", "KOTIKUNTA", "VAKINAINEN_KOTIMAINEN_OSOITE"]
                .map(String::from)
                .to_vec(),
        ),
        kunnat: vec!["179".into()],
        hyvinvointialueet: vec![],
        hetulista: false,
        turvakielto_oikeus: false,
        alkaen: vtj_testkit::day(2026, time::Month::January, 1),
        asti: None,
        ylalupa: Some(KS.into()),
    };
    admin::add_permit(&mut hub, &sub).unwrap();
    let password = admin::add_user(&mut hub, "PSOP-1", "psop").unwrap();
    follow(&h, KS, &mut hub_reg, &mut hub).await;

    // The hub's service on an address that survives its restarts.
    let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let serve = || async {
        let mut config = vtj_api::Config::new(hub_db.to_string_lossy().into_owned());
        config.unsigned = true;
        let app = vtj_api::App::new(&config).unwrap();
        let listener = loop {
            match tokio::net::TcpListener::bind(addr).await {
                Ok(l) => break l,
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            }
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(vtj_api::serve(listener, app, async {
            let _ = stopped.await;
        }));
        (stop, server)
    };
    let internal = client_of(&format!("http://{addr}/api/v1"), "psop", &password);
    let jkl: BTreeSet<String> = ["179".to_string()].into();
    let (stop, server) = serve().await;
    let mut reg = Register::open(&dir.path().join("psop.db")).unwrap();
    vtj_sync::sync(&internal, &mut reg, Some(jkl.clone()), &mut |_| {}).await.unwrap();

    // A backup; then life goes on, the hub and the system with it.
    let backup = dir.path().join("hub-backup.db");
    rusqlite::Connection::open(&hub_db).unwrap().execute("VACUUM INTO ?1", [backup.to_str().unwrap()]).unwrap();
    let mut s = h.store();
    vtj_testkit::simulate(&mut s, 10);
    follow(&h, KS, &mut hub_reg, &mut hub).await;
    let r = vtj_sync::sync(&internal, &mut reg, None, &mut |_| {}).await.unwrap();
    assert!(r.changes_applied > 0);

    // The disaster: the store comes back from the backup.
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    drop(hub);
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", hub_db.display()));
    }
    std::fs::copy(&backup, &hub_db).unwrap();
    let mut hub = SqliteStore::open(&hub_db).unwrap();
    let upstream = hub.permit(KS).unwrap().unwrap();
    let e = vtj_hub::publish(&mut hub_reg, &mut hub, &upstream, today(), 500).unwrap_err();
    assert!(e.to_string().contains("run `vtj hub restored`"), "{e}");
    let base = hub.last_cursor().unwrap().0 + 1_000_000;
    hub.begin_epoch(base).unwrap();
    vtj_hub::reconcile(&mut hub_reg, &mut hub, &upstream, today(), 500).unwrap();
    assert_store_mirrors_register(&mut hub_reg, &hub);

    let (stop, server) = serve().await;
    let e = vtj_sync::sync(&internal, &mut reg, None, &mut |_| {}).await.unwrap_err();
    assert!(e.to_string().contains("KIRJAUSAVAIN_VANHENTUNUT"), "{e}");
    let mut fresh = Register::open(&dir.path().join("psop-again.db")).unwrap();
    vtj_sync::sync(&internal, &mut fresh, Some(jkl), &mut |_| {}).await.unwrap();
    let expected = vtj_testkit::projection(&hub, &hub.permit("PSOP-1").unwrap().unwrap(), &[], today()).persons;
    assert!(!expected.is_empty() && fresh.snapshot().unwrap() == expected, "the reload is the sub-permit's projection");
    // And the hub goes on following.
    vtj_testkit::simulate(&mut s, 3);
    follow(&h, KS, &mut hub_reg, &mut hub).await;
    vtj_sync::sync(&internal, &mut fresh, None, &mut |_| {}).await.unwrap();
    let expected = vtj_testkit::projection(&hub, &hub.permit("PSOP-1").unwrap().unwrap(), &[], today()).persons;
    assert!(fresh.snapshot().unwrap() == expected);
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
