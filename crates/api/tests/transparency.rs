//! Every answer carries the signed checkpoint of the audit log that
//! recorded it, and that checkpoint covers the answer's own entry; the
//! consistency proofs of `/lokitodiste` join any two checkpoints.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::json;
use vtj_store::{AuditLog, AuditRecord};
use vtj_testkit::*;
use vtj_tlog::tree::{leaf_hash, verify_consistency, verify_inclusion};
use vtj_tlog::{Checkpoint, Verifier};
use vtj_wire::paths::{HEADER_AUDIT_CHECKPOINT, HEADER_AUDIT_ENTRY};
use vtj_wire::LokitodisteResponse;

struct Answer {
    status: StatusCode,
    entry: i64,
    checkpoint: Checkpoint,
    body: Vec<u8>,
}

async fn ask(h: &Harness, key: &Verifier, req: reqwest::RequestBuilder) -> Answer {
    let (u, p) = h.user(KS);
    let r = req.basic_auth(u, Some(p)).send().await.unwrap();
    let status = r.status();
    let entry = r.headers()[HEADER_AUDIT_ENTRY].to_str().unwrap().parse().unwrap();
    let note = String::from_utf8(B64.decode(r.headers()[HEADER_AUDIT_CHECKPOINT].as_bytes()).unwrap()).unwrap();
    let checkpoint = key.open(&note).unwrap();
    Answer { status, entry, checkpoint, body: r.bytes().await.unwrap().to_vec() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_answer_carries_a_checkpoint_that_covers_its_own_entry() {
    let h = start(Options { persons: 600, ..Options::default() }).await;
    let key = Verifier::parse(&h.audit_key()).unwrap();
    let url = |call: &str| format!("{}{call}", h.api_base());
    let answers = [
        ask(&h, &key, h.http.post(url("/muutokset")).json(&json!({"viimeisinKirjausavain": 0}))).await,
        ask(&h, &key, h.http.post(url("/perustiedot-vko")).json(&json!({"kuntakoodit": ["179"]}))).await,
        ask(&h, &key, h.http.post(url("/perustiedot")).json(&json!({"hetulista": ["nonsense"]}))).await,
        ask(&h, &key, h.http.get(url("/kirjausavain/2026-01-02"))).await,
    ];
    assert_eq!(answers.iter().map(|a| a.status.as_u16()).collect::<Vec<_>>(), [200, 200, 400, 200]);
    let s = h.store();
    for a in &answers {
        // The checkpoint is the tree right after the entry: it covers it.
        assert_eq!(a.checkpoint.size, a.entry as u64);
        let e = &s.audit_entries(a.entry - 1, 1).unwrap()[0];
        let r: AuditRecord = serde_json::from_str(&e.data).unwrap();
        assert_eq!(r.status, a.status.as_u16());
        let proof = s.audit_inclusion(a.entry, a.checkpoint.size).unwrap();
        verify_inclusion(
            &leaf_hash(e.data.as_bytes()),
            a.entry as u64 - 1,
            a.checkpoint.size,
            &proof,
            &a.checkpoint.root,
        )
        .unwrap();
    }

    // Consistency between each answer's checkpoint and the newest.
    let newest = &answers[3].checkpoint;
    for a in &answers[..3] {
        let old = &a.checkpoint;
        let p = ask(&h, &key, h.http.get(url(&vtj_wire::paths::lokitodiste(old.size, newest.size)))).await;
        assert_eq!(p.status, StatusCode::OK);
        let body: LokitodisteResponse = serde_json::from_slice(&p.body).unwrap();
        assert_eq!((body.vanha_koko, body.uusi_koko), (old.size, newest.size));
        let hashes: Vec<[u8; 32]> = body.todiste.iter().map(|h| B64.decode(h).unwrap().try_into().unwrap()).collect();
        verify_consistency(old.size, newest.size, &old.root, &newest.root, &hashes).unwrap();
        assert!(verify_consistency(old.size, newest.size, &[0; 32], &newest.root, &hashes).is_err());
    }

    for bad in ["/lokitodiste/5/3", "/lokitodiste/1/999999", "/lokitodiste/x/3", "/lokitodiste/-1/3"] {
        let a = ask(&h, &key, h.http.get(url(bad))).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(problem_code(&a.body), "VIRHEELLINEN_KOKO", "{bad}");
    }
    let anonymous = h.http.get(url("/lokitodiste/1/2")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}
