//! The client as a witness of the service's audit log: it keeps the
//! checkpoints its answers carried, proves each new one against the last
//! one kept, and refuses a service whose log was rewritten in between or
//! that stops sending checkpoints.

mod common;

use std::time::Duration;

use common::client;
use vtj_store::{tree, StoreError, TreeBreak};
use vtj_sync::{Client, ClientConfig, ClientError, Register, SyncError};
use vtj_testkit::{area_of, simulate, start, Harness, Options, KS};

/// A client given the service's public key.
fn witnessing(h: &Harness) -> Client {
    let (user, password) = h.user(KS);
    Client::new(ClientConfig {
        base_url: h.api_base(),
        user: Some(user.into()),
        password: Some(password.into()),
        audit_key: Some(h.audit_key()),
        ..ClientConfig::default()
    })
    .unwrap()
}

fn audit_refusal(r: Result<vtj_sync::SyncReport, SyncError>) -> String {
    match r {
        Err(SyncError::Client(ClientError::Audit(why))) => why,
        other => panic!("the service was not refused: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewritten_log_is_refused_by_the_next_sync_and_named_by_verify() {
    let mut h = start(Options { persons: 1_500, ..Options::default() }).await;
    let c = witnessing(&h);
    let mut reg = Register::open(&h.dir.path().join("reg.db")).unwrap();
    let first = vtj_sync::sync(&c, &mut reg, Some(area_of(KS)), &mut |_| {}).await.unwrap();
    let kept1 = first.audit_checkpoint.expect("the service's answers carry checkpoints");
    simulate(&mut h.store(), 2);
    let second = vtj_sync::sync(&c, &mut reg, None, &mut |_| {}).await.unwrap();
    let kept2 = second.audit_checkpoint.unwrap();
    assert!(kept2 > kept1, "{kept1} -> {kept2}");
    let held = reg.checkpoints().unwrap();
    assert_eq!(held.len(), 2);
    let key = vtj_tlog::Verifier::parse(&h.audit_key()).unwrap();
    assert_eq!(tree::verify(&h.store(), Some(&key), &held).unwrap().held, 2);

    // An entry the register's first checkpoint already covered is rewritten.
    // What an insider with the database and the key can do; the restarted
    // service signs the rewritten tree.
    vtj_store::testsuite::rewrite_audit_history(&h.db, 2);
    h.restart(Duration::from_millis(50)).await;
    let s = h.store();
    assert_eq!(tree::verify(&s, Some(&key), &[]).unwrap().held, 0, "the database agrees with itself");
    match tree::verify(&s, Some(&key), &held) {
        Err(StoreError::TreeBroken(TreeBreak::Held { n: 1, size, .. })) => assert_eq!(size, kept1),
        other => panic!("verify did not name the first checkpoint: {other:?}"),
    }

    let why = audit_refusal(vtj_sync::sync(&c, &mut reg, None, &mut |_| {}).await);
    assert!(why.contains("rewritten"), "{why}");
    assert_eq!(reg.checkpoints().unwrap(), held, "the new checkpoint is not kept");
    // And it stays refused: the next run proves from the same kept checkpoint.
    audit_refusal(vtj_sync::sync(&c, &mut reg, None, &mut |_| {}).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_that_stops_signing_or_changes_its_key_is_refused() {
    let mut h = start(Options { persons: 800, ..Options::default() }).await;
    let c = witnessing(&h);
    let mut reg = Register::open(&h.dir.path().join("reg.db")).unwrap();
    vtj_sync::sync(&c, &mut reg, Some(area_of(KS)), &mut |_| {}).await.unwrap();

    h.reconfigure(|c| {
        c.signer = Some(std::sync::Arc::new(vtj_tlog::Signer::from_seed("vtj.test/audit", [9; 32]).unwrap()))
    });
    h.restart(Duration::from_millis(20)).await;
    let why = audit_refusal(vtj_sync::sync(&c, &mut reg, None, &mut |_| {}).await);
    assert!(why.contains("not signed"), "{why}");

    h.reconfigure(|c| {
        c.signer = None;
        c.unsigned = true;
    });
    h.restart(Duration::from_millis(20)).await;
    let why = audit_refusal(vtj_sync::sync(&c, &mut reg, None, &mut |_| {}).await);
    assert!(why.contains("carry no checkpoint"), "{why}");
    assert_eq!(reg.checkpoints().unwrap().len(), 1);

    // A register that never had a checkpoint (DVV's service sends none) has nothing to check.
    let mut fresh = Register::open(&h.dir.path().join("fresh.db")).unwrap();
    let plain = client(&h, KS);
    let r = vtj_sync::sync(&plain, &mut fresh, Some(area_of(KS)), &mut |_| {}).await.unwrap();
    assert_eq!(r.audit_checkpoint, None);
}
