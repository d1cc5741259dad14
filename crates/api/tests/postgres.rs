//! The REST service on PostgreSQL, chosen by URL: the same answers as on SQLite.

use postgres::{Client, NoTls};
use reqwest::StatusCode;
use serde_json::json;
use time::Month;
use vtj_api::admin::{self, PermitSpec};
use vtj_api::{App, Config};
use vtj_store::{AuditLog, PgStore};
use vtj_testkit::{area_of, day, today, Register};
use vtj_wire::{Held, MuutoksetResponse, PerustiedotVkoResponse};

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
    let (password, permit) = tokio::task::spawn_blocking(move || {
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
            ylalupa: None,
        };
        let permit = admin::add_permit(&mut s, &spec).unwrap();
        (admin::add_user(&mut s, "KS", "ks").unwrap(), permit)
    })
    .await
    .unwrap();

    let mut config = Config::new(url.clone());
    config.signer = Some(std::sync::Arc::new(vtj_store::testsuite::test_signer()));
    (config.limits.vko_page, config.limits.page) = (13, 50);
    let app = App::new(&config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(vtj_api::serve(listener, app, std::future::pending()));
    let http = reqwest::Client::new();
    let post = |call: &str, body: serde_json::Value| {
        let (http, password, url) = (http.clone(), password.clone(), format!("{base}/api/v1{call}"));
        async move {
            let r = http.post(url).basic_auth("ks", Some(password)).json(&body).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            r.bytes().await.unwrap()
        }
    };

    let mut reg = Register::area(area_of("KS"));
    let mut body = json!({ "kuntakoodit": area_of("KS") });
    let snapshot = loop {
        let p: PerustiedotVkoResponse = serde_json::from_slice(&post("/perustiedot-vko", body.clone()).await).unwrap();
        p.perustiedot.iter().for_each(|r| {
            reg.persons.insert(r.henkilotunnus.clone(), Held::from_record(r));
        });
        match p.jatkoavain {
            Some(j) => body["jatkoavain"] = json!(j),
            None => break p.viimeisin_kirjausavain.unwrap(),
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
        let answer = post("/muutokset", json!({ "viimeisinKirjausavain": cursor })).await;
        let p: MuutoksetResponse = serde_json::from_slice(&answer).unwrap();
        p.muutokset.iter().for_each(|c| reg.apply(c));
        cursor = p.viimeisin_kirjausavain;
        if p.ajan_tasalla {
            break;
        }
    }

    let u = url.clone();
    let (expected, audited) = tokio::task::spawn_blocking(move || {
        let s = PgStore::connect(&u).unwrap();
        let expected: std::collections::BTreeMap<String, Held> =
            vtj_disclose::pages::projection(&s, &permit, &[], today())
                .unwrap()
                .iter()
                .map(|p| (p.hetu.to_string(), Held::from_record(&vtj_wire::person_record(p.hetu.as_str(), &p.groups))))
                .collect();
        (expected, s.audit_verify().unwrap().entries)
    })
    .await
    .unwrap();
    assert!(expected.len() > 30);
    assert_eq!(reg.persons, expected, "the register built over HTTP equals the projection");
    assert!(audited > 3, "every request audited in PostgreSQL");
    admin_sql(format!("DROP DATABASE {name} WITH (FORCE)"));
}
