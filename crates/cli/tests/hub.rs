//! The county hub as its operator runs it: `vtj hub init`, the upstream
//! permit and sub-permits recorded with `vtj admin`, `vtj hub follow`
//! against a real service, the hub's store served to an internal system;
//! and `vtj hub follow` killed with SIGKILL many times while it loads and
//! catches up, after which nothing is lost or doubled downstream.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use vtj_core::hub::{held, mirror};
use vtj_core::{Hetu, PersonId};
use vtj_store::{PersonFilter, SqliteStore, Store};
use vtj_sync::{Client, ClientConfig, Register};
use vtj_testkit::*;

mod common;

fn vtj(args: &[&str]) -> Output {
    let o = Command::new(env!("CARGO_BIN_EXE_vtj")).args(args).output().expect("run vtj");
    assert!(o.status.success(), "vtj {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    o
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `vtj hub init`, then the county's permit as decided and two sub-permits.
fn set_up_hub(h: &Harness, hub_db: &str) -> String {
    vtj(&["hub", "init", "--db", hub_db]);
    let upstream = h.store().permit(KS).unwrap().unwrap();
    let kunnat = area_of(KS).into_iter().collect::<Vec<_>>().join(",");
    vtj(&["admin", "recipient-add", "--db", hub_db, "--tunnus", "KSHVA", "--nimi", "Keski-Suomen hyvinvointialue"]);
    vtj(&[
        "admin",
        "permit-add",
        "--db",
        hub_db,
        "--tunnus",
        KS,
        "--luvansaaja",
        "KSHVA",
        "--tuote",
        "LAAJAT",
        "--kunnat",
        &kunnat,
        "--kayttotarkoitus",
        "asiakasrekisteri",
        "--alkaen",
        "20260101",
        "--asti",
        "20301231",
    ]);
    let recorded = SqliteStore::open(Path::new(hub_db)).unwrap().permit(KS).unwrap().unwrap();
    assert_eq!(recorded.tuote, upstream.tuote, "recorded as decided");
    vtj(&["admin", "recipient-add", "--db", hub_db, "--tunnus", "PSOP", "--nimi", "Palvelusetelijärjestelmä"]);
    let o = Command::new(env!("CARGO_BIN_EXE_vtj"))
        .args(["admin", "permit-add", "--db", hub_db, "--tunnus", "PSOP-1", "--luvansaaja", "PSOP"])
        .args([
            "--tuote",
            "PSOP-1",
            "--ryhmat",
            "HENKILON_NIMI,HENKILOTUNNUS_KORJAUS,KOTIKUNTA,VAKINAINEN_KOTIMAINEN_OSOITE",
        ])
        .args(["--kunnat", "179,091", "--kayttotarkoitus", "palvelusetelit", "--ylalupa", KS])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("outside the upstream permit's area: 091"));
    vtj(&[
        "admin",
        "permit-add",
        "--db",
        hub_db,
        "--tunnus",
        "PSOP-1",
        "--luvansaaja",
        "PSOP",
        "--tuote",
        "PSOP-1",
        "--ryhmat",
        "HENKILON_NIMI,HENKILOTUNNUS_KORJAUS,KOTIKUNTA,VAKINAINEN_KOTIMAINEN_OSOITE",
        "--kunnat",
        "179",
        "--kayttotarkoitus",
        "palvelusetelit",
        "--ylalupa",
        KS,
        "--alkaen",
        "20260101",
    ]);
    let password = stdout(&vtj(&["admin", "user-add", "--db", hub_db, "--tietolupa", "PSOP-1", "--kayttaja", "psop"]));
    password.trim().to_string()
}

fn follow(h: &Harness, register: &Path, hub_db: &str) -> Command {
    let (user, password) = h.user(KS);
    let kunnat = area_of(KS).into_iter().collect::<Vec<_>>().join(",");
    let mut c = Command::new(env!("CARGO_BIN_EXE_vtj"));
    c.args(["hub", "follow", "--service", &h.api_base(), "--user", user, "--kunnat", &kunnat])
        .args(["--db", hub_db, "--ylalupa", KS, "--batch", "50", "--json", "--register"])
        .arg(register)
        .env("VTJ_PASSWORD", password);
    c
}

/// The hub's register is upstream's projection, its store the register's
/// mirror, and no change in the hub's log is a repeat of the state before.
fn assert_hub_consistent(h: &Harness, register: &Path, hub_db: &str) -> usize {
    let s = h.store();
    let permit = s.permit(KS).unwrap().unwrap();
    let mut reg = Register::open(register).unwrap();
    let kept = reg.snapshot().unwrap();
    assert!(kept == projection(&s, &permit, &[], today()).persons, "the hub's register is upstream's projection");
    let hub = SqliteStore::open(Path::new(hub_db)).unwrap();
    for (hetu, groups) in &kept {
        let hetu = Hetu::parse(hetu).unwrap();
        let p = hub.person_by_hetu(hetu).unwrap().expect("in the hub's store");
        assert_eq!(p, mirror(p.id, hetu, vtj_hub::seen(groups, &mut 0)).unwrap());
    }
    let holding = hub.persons(PersonFilter::All, PersonId(0), usize::MAX).unwrap().into_iter().filter(held).count();
    assert_eq!(holding, kept.len());
    let log = hub.changes_since(vtj_store::Cursor(0), usize::MAX).unwrap();
    assert!(log.iter().all(|e| e.before.as_ref() != Some(&e.after)), "a change in the hub's log changes something");
    log.len()
}

async fn internal_register(hub_db: &str, dir: &Path, password: &str) -> (Register, SqliteStore) {
    let mut config = vtj_api::Config::new(hub_db.to_string());
    config.unsigned = true;
    let app = vtj_api::App::new(&config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/api/v1", listener.local_addr().unwrap());
    tokio::spawn(vtj_api::serve(listener, app, std::future::pending()));
    let client = Client::new(ClientConfig {
        base_url: base,
        user: Some("psop".into()),
        password: Some(password.into()),
        ..ClientConfig::default()
    })
    .unwrap();
    let mut reg = Register::open(&dir.join("psop.db")).unwrap();
    vtj_sync::sync(&client, &mut reg, Some(["179".to_string()].into()), &mut |_| {}).await.unwrap();
    (reg, SqliteStore::open(Path::new(hub_db)).unwrap())
}

fn assert_internal_is_projection(reg: &mut Register, hub: &SqliteStore) {
    let permit = hub.permit("PSOP-1").unwrap().unwrap();
    let held = reg.snapshot().unwrap();
    assert!(!held.is_empty());
    assert!(
        held == projection(hub, &permit, &[], today()).persons,
        "the internal register is its sub-permit's projection"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_set_up_with_the_cli_serves_an_internal_system() {
    let h = start(Options::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let hub_db = dir.path().join("hub.db").to_string_lossy().into_owned();
    let password = set_up_hub(&h, &hub_db);
    let register = dir.path().join("hub-register.db");
    let o = follow(&h, &register, &hub_db).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(report["mirrored"]["changes"].as_u64().unwrap() > 100, "{report}");
    assert_hub_consistent(&h, &register, &hub_db);
    let (mut reg, hub) = internal_register(&hub_db, dir.path(), &password).await;
    assert_internal_is_projection(&mut reg, &hub);

    // "Who in the county received my data, when, why": from the hub's log.
    let someone = reg.snapshot().unwrap().into_keys().next().unwrap();
    let report = stdout(&vtj(&["audit", "person", "--db", &hub_db, &someone]));
    let line = report.lines().find(|l| l.contains("disclosed")).unwrap_or_else(|| panic!("{report}"));
    for part in ["PSOP ", "permit PSOP-1 (under KS)", "user psop", "purpose \"palvelusetelit\"", "HENKILON_NIMI"] {
        assert!(line.contains(part), "{part:?} missing from {line}");
    }

    // After a restore from a backup: the whole register mirrored anew, a new epoch.
    let before = hub.last_cursor().unwrap();
    drop(hub);
    let out =
        stdout(&vtj(&["hub", "restored", "--db", &hub_db, "--register", register.to_str().unwrap(), "--ylalupa", KS]));
    assert!(out.contains("begins anew"), "{out}");
    let hub = SqliteStore::open(Path::new(&hub_db)).unwrap();
    assert!(hub.last_cursor().unwrap() > before);
    assert_eq!(
        hub.meta(vtj_store::EPOCH_BASE).unwrap(),
        Some(hub.last_cursor().unwrap().0.to_string()),
        "nothing changed"
    );
    drop(hub);
    assert_hub_consistent(&h, &register, &hub_db);

    // The upstream permit revoked in the hub: it stops following, and says why.
    vtj(&["admin", "permit-revoke", "--db", &hub_db, "--tunnus", KS]);
    let o = follow(&h, &register, &hub_db).output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("revoked or not valid today"));
}

#[test]
fn killed_hub_converges_and_nothing_is_lost_or_doubled_downstream() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let h = rt.block_on(start(Options {
        persons: 30_000,
        days: 1,
        config: |c| {
            c.rate_per_second = 1e6;
            (c.limits.page, c.limits.vko_page) = (3, 3);
        },
        ..Options::default()
    }));
    let dir = tempfile::tempdir().unwrap();
    let hub_db = dir.path().join("hub.db").to_string_lossy().into_owned();
    let password = set_up_hub(&h, &hub_db);
    let register = dir.path().join("hub-register.db");
    let mut writer = h.store();
    let mut killed = 0;
    for (i, delay) in common::delays(0x2545_F491_4F6C_DD1D, 30, 400).enumerate() {
        // Every other run has new changes to follow: since a page of three
        // changes no longer decodes a thousand log entries, a run with
        // nothing new ends before most kill delays, and the kills must
        // land while the hub works.
        if i % 2 == 1 {
            simulate(&mut writer, 2);
        }
        let mut child = follow(&h, &register, &hub_db).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let t = Instant::now();
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            killed += 1;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(t.elapsed() < Duration::from_secs(30));
    }
    assert!(killed >= 10, "SIGKILL landed only {killed} times while the hub ran");
    let o = follow(&h, &register, &hub_db).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let changes = assert_hub_consistent(&h, &register, &hub_db);
    assert!(changes > 100);
    let (mut reg, hub) = rt.block_on(internal_register(&hub_db, dir.path(), &password));
    assert_internal_is_projection(&mut reg, &hub);
}

/// The hub's `vtj serve` killed with SIGKILL again and again while an
/// internal system loads and catches up from it (and the hub follows
/// upstream between): the system converges to its sub-permit's projection
/// of the hub and applied each change the hub served exactly once.
#[test]
fn killed_hub_server_loses_and_doubles_nothing_downstream() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let h = rt.block_on(start(Options { persons: 20_000, days: 1, ..Options::default() }));
    let dir = tempfile::tempdir().unwrap();
    let hub_db = dir.path().join("hub.db").to_string_lossy().into_owned();
    let password = set_up_hub(&h, &hub_db);
    let register = dir.path().join("hub-register.db");
    let (key, config) = (dir.path().join("hub-audit.key"), dir.path().join("serve.toml"));
    vtj(&["admin", "keygen", "--out", key.to_str().unwrap()]);
    std::fs::write(&config, "page = 1\nvko_page = 1\nrate_per_second = 1000000.0\nrate_burst = 1000000\n").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let serve = || {
        let child = Command::new(env!("CARGO_BIN_EXE_vtj"))
            .args(["serve", "--db", &hub_db, "--listen", &listen, "--audit-key", key.to_str().unwrap(), "--config"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let t = Instant::now();
        while std::net::TcpStream::connect(&listen).is_err() {
            assert!(t.elapsed() < Duration::from_secs(20), "the hub's service did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
        child
    };
    let internal = dir.path().join("psop.db");
    let sync = || {
        Command::new(env!("CARGO_BIN_EXE_vtj"))
            .args(["sync", "--service", &format!("http://{listen}/api/v1"), "--user", "psop", "--kunnat", "179"])
            .arg("--register")
            .arg(&internal)
            .env("VTJ_PASSWORD", &password)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    assert!(follow(&h, &register, &hub_db).output().unwrap().status.success());
    let mut writer = h.store();
    let mut landed = 0;
    for (i, delay) in common::delays(0x9E37_79B9_7F4A_7C15, 16, 250).enumerate() {
        if i % 4 == 3 {
            simulate(&mut writer, 3);
            assert!(follow(&h, &register, &hub_db).output().unwrap().status.success());
        }
        let mut server = serve();
        let mut client = sync();
        std::thread::sleep(delay);
        if client.try_wait().unwrap().is_none() {
            landed += 1;
        }
        server.kill().unwrap();
        server.wait().unwrap();
        client.kill().unwrap();
        client.wait().unwrap();
    }
    assert!(landed >= 6, "the service was killed under a running sync only {landed} times");
    let mut server = serve();
    assert!(sync().wait().unwrap().success());
    server.kill().unwrap();
    server.wait().unwrap();

    let hub = SqliteStore::open(Path::new(&hub_db)).unwrap();
    let mut reg = Register::open(&internal).unwrap();
    assert_internal_is_projection(&mut reg, &hub);
    let permit = hub.permit("PSOP-1").unwrap().unwrap();
    let from = reg.loaded_at().unwrap().expect("the initial load completed");
    let served = served_records(&hub, &permit, from).len() as u64;
    assert!(served > 10, "enough changes to matter: {served}");
    assert_eq!(reg.counters().unwrap().changes_applied, served, "each change the hub served applied once");
}
