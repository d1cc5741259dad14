//! Shared by the hub crate's integration tests.
#![allow(dead_code)] // each test file uses its part

use std::time::Duration;

use vtj_core::hub::{held, mirror};
use vtj_core::{Hetu, Person, PersonId};
use vtj_store::{PersonFilter, SqliteStore, Store};
use vtj_sync::{Client, ClientConfig, Register, Retry};
use vtj_testkit::{area_of, today, Harness};

/// A client of `base` (…/api/v1) as a user, patient with restarts.
pub fn client_of(base: &str, user: &str, password: &str) -> Client {
    Client::new(ClientConfig {
        base_url: base.into(),
        user: Some(user.into()),
        password: Some(password.into()),
        retry: Retry { attempts: 60, first: Duration::from_millis(20), max: Duration::from_millis(200) },
        ..ClientConfig::default()
    })
    .unwrap()
}

/// The upstream service's client for the hub, as `permit`'s user.
pub fn upstream_client(h: &Harness, permit: &str) -> Client {
    let (user, password) = h.user(permit);
    client_of(&h.api_base(), user, password)
}

/// The hub follows upstream under `permit` (an area permit of the
/// harness, recorded in the hub's store) and mirrors what came.
pub async fn follow(h: &Harness, permit: &str, reg: &mut Register, hub: &mut SqliteStore) -> vtj_hub::Published {
    vtj_sync::sync(&upstream_client(h, permit), reg, Some(area_of(permit)), &mut |_| {}).await.unwrap();
    let upstream = hub.permit(permit).unwrap().unwrap();
    vtj_hub::publish(reg, hub, &upstream, today(), 500).unwrap()
}

/// A hub's register (with its outbox) and store, the upstream permit
/// recorded in the store as the harness decided it.
pub fn hub_at(h: &Harness, dir: &std::path::Path, permit: &str) -> (Register, SqliteStore) {
    let mut reg = Register::open(&dir.join("hub-register.db")).unwrap();
    reg.enable_outbox().unwrap();
    let mut store = SqliteStore::open(&dir.join("hub.db")).unwrap();
    vtj_api::admin::add_recipient(&mut store, "KSHVA", "Keski-Suomen hyvinvointialue").unwrap();
    store.put_permit(&h.store().permit(permit).unwrap().unwrap()).unwrap();
    (reg, store)
}

/// `vtj serve` over the hub's store on loopback; its …/api/v1 address.
pub async fn serve_hub(hub_db: &std::path::Path, configure: fn(&mut vtj_api::Config)) -> String {
    let mut config = vtj_api::Config::new(hub_db.to_string_lossy().into_owned());
    config.unsigned = true;
    config.rate_per_second = 1e6;
    configure(&mut config);
    let app = vtj_api::App::new(&config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/api/v1", listener.local_addr().unwrap());
    tokio::spawn(vtj_api::serve(listener, app, std::future::pending()));
    base
}

pub fn everyone(store: &SqliteStore) -> Vec<Person> {
    store.persons(PersonFilter::All, PersonId(0), usize::MAX).unwrap()
}

/// Every person the register holds is in the store as its mirror, under
/// the same hetu; every other person of the store holds nothing.
/// Returns how many the store holds.
pub fn assert_store_mirrors_register(reg: &mut Register, store: &SqliteStore) -> usize {
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
