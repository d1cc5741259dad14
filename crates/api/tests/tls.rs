//! HTTPS, and mutual TLS as a credential.

use reqwest::{Certificate, Identity, StatusCode};
use vtj_api::tls::{cert_file_hash, serve_tls, server_config, TlsFiles};
use vtj_store::Access;
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
    h.store().add_credential("KSHVA", &cert_file_hash(&dir.join("cli.pem")).unwrap(), "client cert").unwrap();

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
    let url = format!("{base}/api/v1/tietoluvat/{KS}/muutokset?kirjausavain=0&sivunKoko=1");

    let r = client(Some((&cli_cert, &cli_key))).get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the registered certificate is the credential");

    let r = client(None).get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "TLS alone is not a credential");
    let r = client(None).get(&url).bearer_auth(&h.tokens["KSHVA"]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "a token works over TLS without a certificate");

    let r = client(Some((&unreg_cert, &unreg_key))).get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "a valid but unregistered certificate is not enough");

    let r = client(Some((&cli_cert, &cli_key))).get(&url).bearer_auth(&h.tokens["HELSINKI"]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "certificate and token of different recipients");

    assert!(
        client(Some((&rogue_cert, &rogue_key))).get(&url).send().await.is_err(),
        "a foreign CA fails the handshake"
    );

    h.store().revoke_credentials("KSHVA").unwrap();
    let r = client(Some((&cli_cert, &cli_key))).get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "revoked with the recipient's other credentials");
}
