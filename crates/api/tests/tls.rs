//! HTTPS, and mutual TLS as a credential: a client certificate registered
//! for a user signs in as that user.

use reqwest::{Certificate, Identity, StatusCode};
use serde_json::json;
use vtj_api::tls::{cert_file_hash, serve_tls, server_config, TlsFiles};
use vtj_testkit::pki::Ca;
use vtj_testkit::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificate_authenticates_over_tls() {
    let h = start(Options::default()).await;
    let dir = h.dir.path();
    let (ca, rogue) = (Ca::new(), Ca::new());
    let (srv_cert, srv_key) = ca.leaf(true);
    let (cli_cert, cli_key) = ca.leaf(false);
    let (rogue_cert, rogue_key) = rogue.leaf(false);
    let (unreg_cert, unreg_key) = ca.leaf(false);
    for (name, text) in [("srv.pem", &srv_cert), ("srv.key", &srv_key), ("cli.pem", &cli_cert)] {
        std::fs::write(dir.join(name), text).unwrap();
    }
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    let ks = user_of(KS);
    vtj_api::admin::add_user_cert(&mut h.store(), &ks, &cert_file_hash(&dir.join("cli.pem")).unwrap()).unwrap();

    let files = TlsFiles { cert: dir.join("srv.pem"), key: dir.join("srv.key"), client_ca: Some(dir.join("ca.pem")) };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("https://localhost:{}", listener.local_addr().unwrap().port());
    tokio::spawn(serve_tls(listener, h.app.clone(), server_config(&files).unwrap(), std::future::pending()));

    let client = |identity: Option<(&str, &str)>| {
        let mut b = reqwest::Client::builder()
            .use_rustls_tls()
            .resolve("localhost", "127.0.0.1:0".parse().unwrap())
            .add_root_certificate(Certificate::from_pem(ca.pem().as_bytes()).unwrap());
        if let Some((c, k)) = identity {
            b = b.identity(Identity::from_pem(format!("{c}{k}").as_bytes()).unwrap());
        }
        b.build().unwrap()
    };
    let url = format!("{base}/api/v1/muutokset");
    let body = json!({"viimeisinKirjausavain": 0});

    let r = client(Some((&cli_cert, &cli_key))).post(&url).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the registered certificate is the credential");

    let r = client(None).post(&url).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "TLS alone is not a credential");
    let (u, p) = h.user(KS);
    let r = client(None).post(&url).basic_auth(u, Some(p)).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "a password works over TLS without a certificate");
    let r = client(Some((&cli_cert, &cli_key))).post(&url).basic_auth(u, Some(p)).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "both, of the same user");

    let r = client(Some((&unreg_cert, &unreg_key))).post(&url).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "a valid but unregistered certificate is not enough");

    let (hu, hp) = h.user(HEL);
    let r = client(Some((&cli_cert, &cli_key))).post(&url).basic_auth(hu, Some(hp)).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "certificate and password of different users");

    assert!(
        client(Some((&rogue_cert, &rogue_key))).post(&url).json(&body).send().await.is_err(),
        "a foreign CA fails the handshake"
    );

    vtj_api::admin::revoke_user(&mut h.store(), &ks).unwrap();
    let r = client(Some((&cli_cert, &cli_key))).post(&url).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "revoked with its user");
}
