//! Shared by the sync crate's integration tests.
#![allow(dead_code)] // each test file uses its part

use std::time::Duration;

use vtj_store::Store;
use vtj_sync::{Client, ClientConfig, Register, Retry};
use vtj_testkit::Harness;

/// A client of the harness's service as `permit`'s user, patient with restarts.
pub fn client(h: &Harness, permit: &str) -> Client {
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

/// The register holds exactly what the permit allows now (a hetu list's:
/// of `listed`).
pub fn assert_register_is_projection(h: &Harness, reg: &mut Register, permit: &str, listed: &[String]) {
    let s = h.store();
    let p = s.permit(permit).unwrap().unwrap();
    let list: Vec<vtj_core::Hetu> = listed.iter().map(|x| vtj_core::Hetu::parse(x).unwrap()).collect();
    let expected = vtj_testkit::projection(&s, &p, &list, vtj_testkit::today()).persons;
    let held = reg.snapshot().unwrap();
    let differing: Vec<_> = expected.keys().chain(held.keys()).filter(|k| expected.get(*k) != held.get(*k)).collect();
    assert!(differing.is_empty(), "{} persons differ, e.g. {:?}", differing.len(), differing.first());
    assert!(!held.is_empty());
}
