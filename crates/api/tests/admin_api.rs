//! The admin API on its own listener: the operator's actions over HTTP.

use reqwest::StatusCode;
use serde_json::{json, Value};
use vtj_api::admin_api::{issue_admin_token, serve_admin, UserCreated};
use vtj_testkit::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_creates_recipient_permit_and_user_then_revokes() {
    let h = start(Options::default()).await;
    let admin_token = issue_admin_token(&mut h.store()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(serve_admin(listener, h.app.clone()));
    let post = |path: &str, token: &str, body: Value| {
        h.http.post(format!("{admin}{path}")).bearer_auth(token).json(&body).send()
    };

    let r =
        post("/admin/v1/luvansaajat", &admin_token, json!({"tunnus": "PSHVA", "nimi": "Pohjois-Savo"})).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let permit = json!({
        "tunnus": "PS1", "luvansaaja": "PSHVA", "kayttotarkoitus": "potilasrekisteri", "tuote": "APOTTI",
        "hyvinvointialueet": ["PS"], "voimassaAlkaen": "20260101"
    });
    assert_eq!(post("/admin/v1/tietoluvat", &admin_token, permit.clone()).await.unwrap().status(), StatusCode::OK);
    let again = post("/admin/v1/tietoluvat", &admin_token, permit).await.unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let bad = post(
        "/admin/v1/tietoluvat",
        &admin_token,
        json!({"tunnus": "X", "luvansaaja": "PSHVA", "kayttotarkoitus": "t", "tuote": "NOPE", "hetulista": true, "voimassaAlkaen": "20260101"}),
    )
    .await
    .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    let r =
        post("/admin/v1/kayttajat", &admin_token, json!({"kayttaja": "ps-apotti", "tietolupa": "PS1"})).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let password = r.json::<UserCreated>().await.unwrap().salasana;
    let again =
        post("/admin/v1/kayttajat", &admin_token, json!({"kayttaja": "ps-apotti", "tietolupa": "PS1"})).await.unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT, "a user name is taken for good");
    let changes = || serde_json::to_vec(&json!({"viimeisinKirjausavain": 0})).unwrap();
    let call = || h.post_as("ps-apotti", &password, "/muutokset", changes());
    assert_eq!(call().await.0, StatusCode::OK, "the new recipient's system can use its permit");

    // A recipient's password does not open the admin API, nor does nothing.
    let r = post("/admin/v1/tietoluvat/PS1/peruutus", &password, json!({})).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = h.http.get(format!("{admin}/admin/v1/maksut")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    assert_eq!(
        post("/admin/v1/tietoluvat/PS1/peruutus", &admin_token, json!({})).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(call().await.0, StatusCode::FORBIDDEN, "revoked at once");
    let r = post("/admin/v1/kayttajat/ps-apotti/peruutus", &admin_token, json!({})).await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["muutettu"], 1);
    assert_eq!(call().await.0, StatusCode::UNAUTHORIZED);
    let r = post("/admin/v1/kayttajat/nobody/peruutus", &admin_token, json!({})).await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let fees: Value = h
        .http
        .get(format!("{admin}/admin/v1/maksut"))
        .bearer_auth(&admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(fees.as_array().unwrap().iter().any(|l| l["permit"] == "PS1" && l["onboarding_fee_eur"] == 1000.0));

    // The operator's calls are in the audit log as well.
    use vtj_store::AuditLog;
    let admin_calls =
        h.store().audit_entries(0, 1000).unwrap().iter().filter(|e| e.data.contains("/admin/v1/")).count();
    assert_eq!(admin_calls, 12);
}
