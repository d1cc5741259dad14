//! Shared by the sync crate's integration tests.

use std::time::Duration;

use vtj_sync::{Client, ClientConfig, Retry};
use vtj_testkit::{owner, Harness};

/// A client of the harness's service under `permit`, patient with restarts.
pub fn client(h: &Harness, permit: &str) -> Client {
    Client::new(ClientConfig {
        base_url: h.base.clone(),
        permit: permit.into(),
        token: Some(h.tokens[owner(permit)].clone()),
        retry: Retry { attempts: 60, first: Duration::from_millis(20), max: Duration::from_millis(200) },
        ..ClientConfig::default()
    })
    .unwrap()
}
