//! The REST service on PostgreSQL, chosen by URL: the same answers as on SQLite.

use postgres::{Client, NoTls};
use reqwest::StatusCode;
use time::Month;
use vtj_api::admin::{self, PermitSpec};
use vtj_api::wire::{ChangePage, InitialPage};
use vtj_api::{App, Config};
use vtj_store::{AuditLog, PgStore};
use vtj_testkit::{day, today, Register};

fn admin_sql(sql: String) {
    std::thread::spawn(move || {
        let mut c = Client::connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", NoTls)
            .expect("PostgreSQL on 127.0.0.1:5432 (.ci/run starts it)");
        c.batch_execute(&sql).unwrap();
    })
    .join()
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_on_postgres_serves_initial_data_and_changes() {
    let name = format!("vtj_api_pg_{}", std::process::id());
    admin_sql(format!("DROP DATABASE IF EXISTS {name}"));
    admin_sql(format!("CREATE DATABASE {name}"));
    let url = format!("postgres://postgres@127.0.0.1:5432/{name}");

    // The blocking client stays off the async workers.
    let u = url.clone();
    let (token, permit) = tokio::task::spawn_blocking(move || {
        let mut s = PgStore::connect(&u).unwrap();
        let start = day(2026, Month::January, 1);
        vtj_sim::generate(&mut s, &vtj_sim::GenerateConfig { persons: 1_500, seed: 3, date: start }, &mut |_| {})
            .unwrap();
        admin::add_recipient(&mut s, "KSHVA", "Keski-Suomi").unwrap();
        let spec = PermitSpec {
            tunnus: "KS".into(),
            luvansaaja: "KSHVA".into(),
            kayttotarkoitus: "asiakasrekisteri".into(),
            tuote: "LAAJAT".into(),
            ryhmat: None,
            kunnat: vec![],
            hyvinvointialueet: vec!["KS".into()],
            hetulista: false,
            turvakielto_oikeus: false,
            alkaen: start,
            asti: None,
        };
        let permit = admin::add_permit(&mut s, &spec).unwrap();
        (admin::issue_token(&mut s, "KSHVA", "t").unwrap(), permit)
    })
    .await
    .unwrap();

    let app = App::new(&Config::new(url.clone())).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(vtj_api::serve(listener, app, std::future::pending()));
    let http = reqwest::Client::new();
    let get = |path: String| {
        let (http, token, base) = (http.clone(), token.clone(), base.clone());
        async move {
            let r = http.get(format!("{base}{path}")).bearer_auth(token).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            r.bytes().await.unwrap()
        }
    };

    let mut reg = Register::default();
    let mut path = "/api/v1/tietoluvat/KS/perustiedot?sivunKoko=13".to_string();
    let snapshot = loop {
        let p: InitialPage = serde_json::from_slice(&get(path.clone()).await).unwrap();
        p.henkilot.iter().for_each(|r| reg.put(r));
        match p.jatkoavain {
            Some(j) => path = format!("/api/v1/tietoluvat/KS/perustiedot?sivunKoko=13&jatkoavain={j}"),
            None => break p.kirjausavain,
        }
    };
    let u = url.clone();
    tokio::task::spawn_blocking(move || {
        let mut s = PgStore::connect(&u).unwrap();
        vtj_sim::simulate(&mut s, &vtj_sim::SimulateConfig { days: 10, intensity: 40.0 }, &mut |_| {}).unwrap();
    })
    .await
    .unwrap();
    let mut cursor = snapshot;
    loop {
        let q = format!("/api/v1/tietoluvat/KS/muutokset?kirjausavain={cursor}&sivunKoko=50");
        let p: ChangePage = serde_json::from_slice(&get(q).await).unwrap();
        p.muutokset.iter().for_each(|c| reg.apply(c));
        cursor = p.viimeinen_kirjausavain;
        if p.ajantasalla {
            break;
        }
    }

    let u = url.clone();
    let (expected, audited) = tokio::task::spawn_blocking(move || {
        let s = PgStore::connect(&u).unwrap();
        let expected = vtj_api::service::projection(&s, &permit, today()).unwrap();
        (expected, s.audit_verify().unwrap().entries)
    })
    .await
    .unwrap();
    assert!(expected.len() > 30);
    assert_eq!(reg.persons, expected, "the register built over HTTP equals the projection");
    assert!(audited > 3, "every request audited in PostgreSQL");
    admin_sql(format!("DROP DATABASE {name} WITH (FORCE)"));
}
