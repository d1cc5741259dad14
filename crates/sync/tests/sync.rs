//! The sync client against a real service on loopback.

use std::time::Duration;

use std::collections::BTreeMap;

use proptest::prelude::*;
use vtj_store::{PersonFilter, Store};
use vtj_sync::{Client, ClientConfig, Register};
use vtj_testkit::*;

mod common;
use common::{assert_register_is_projection, client};

/// Some persons to list: every n-th living one, wherever they live.
fn some_hetus(h: &Harness, n: usize) -> Vec<String> {
    let s = h.store();
    s.persons(PersonFilter::All, vtj_core::PersonId(0), 100_000)
        .unwrap()
        .iter()
        .step_by(n)
        .map(|p| p.hetu().to_string())
        .collect()
}

/// Starts or ends the turvakielto of some persons the register holds, so
/// that every history exercises censoring and revealing.
fn toggle_turvakielto(s: &mut vtj_store::SqliteStore, reg: &mut Register, seed: u64) {
    use vtj_core::{Event, EventKind, Hetu, VtjDate};
    let day = match VtjDate::parse(&s.meta(vtj_sim::generate::META_DATE).unwrap().unwrap()).unwrap() {
        VtjDate::Full(d) => d,
        other => panic!("{other}"),
    };
    let held = reg.snapshot().unwrap();
    let step = 3 + (seed % 5) as usize;
    for hetu in held.keys().step_by(step) {
        let p = s.person_by_hetu(Hetu::parse(hetu).unwrap()).unwrap().unwrap();
        if p.is_dead() {
            continue;
        }
        let tapahtuma = if p.has_turvakielto() {
            EventKind::TurvakieltoEnd
        } else {
            EventKind::TurvakieltoStart { turva_loppu_pv: VtjDate::Indefinite }
        };
        s.append(&[Event { person: p.id, rekisterointipaiva: day, tapahtuma }]).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, failure_persistence: None, ..ProptestConfig::default() })]

    /// For random histories: the register after sync equals the service's
    /// projection of the permit, also when life goes on during the initial
    /// load; a hetu list in buckets small enough that there are several.
    #[test]
    fn register_after_sync_equals_projection(
        seed in 0u64..10_000,
        days_during_load in 0usize..4,
        days_after in 1u32..5,
        bucket in 5u64..200,
        hetu_list in any::<bool>(),
    ) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let h = start(Options {
                persons: 2_500,
                days: 1,
                seed,
                config: |c| {
                    c.rate_per_second = 1e6;
                    (c.limits.page, c.limits.vko_page) = (37, 53);
                },
            })
            .await;
            let permit = if hetu_list { LIST } else { KS };
            let c = client(&h, permit);
            let mut reg = Register::open(&h.dir.path().join("reg.db")).unwrap();
            let listed = if hetu_list { some_hetus(&h, 7) } else { Vec::new() };
            let area = (!hetu_list).then(|| area_of(KS));
            if hetu_list {
                vtj_sync::list_add(&c, &mut reg, &listed, bucket).await.unwrap();
                assert!(reg.buckets().unwrap().len() as u64 >= listed.len() as u64 / bucket);
            }
            let mut writer = h.store();
            let mut left = days_during_load;
            vtj_sync::sync(&c, &mut reg, area, &mut |_| {
                if left > 0 {
                    left -= 1;
                    simulate(&mut writer, 1);
                }
            })
            .await
            .unwrap();
            // The run was up to date when it read its last page; days
            // simulated after that read are the next run's work.
            vtj_sync::sync(&c, &mut reg, None, &mut |_| {}).await.unwrap();
            assert_register_is_projection(&h, &mut reg, permit, &listed);
            simulate(&mut writer, days_after);
            toggle_turvakielto(&mut writer, &mut reg, seed);
            vtj_sync::sync(&c, &mut reg, None, &mut |_| {}).await.unwrap();
            assert_register_is_projection(&h, &mut reg, permit, &listed);
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_survives_service_restarts() {
    let mut h = start(Options {
        persons: 20_000,
        days: 2,
        config: |c| {
            c.rate_per_second = 1e6;
            c.limits.vko_page = 5;
        },
        ..Options::default()
    })
    .await;
    let c = client(&h, KS);
    let path = h.dir.path().join("reg.db");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let sync = tokio::spawn(async move {
        let mut reg = Register::open(&path).unwrap();
        vtj_sync::sync(&c, &mut reg, Some(area_of(KS)), &mut |p| {
            let _ = tx.send(p);
        })
        .await
        .map(|r| (r, reg))
    });
    // Restart the service twice while the initial load is under way.
    for _ in 0..2 {
        for _ in 0..20 {
            rx.recv().await.expect("the load makes progress");
        }
        h.restart(Duration::from_millis(300)).await;
    }
    let (report, mut reg) = sync.await.unwrap().expect("the sync finished despite restarts");
    assert!(report.pages > 40);
    assert_register_is_projection(&h, &mut reg, KS, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_over_tls_with_a_client_certificate() {
    let h = start(Options::default()).await;
    let dir = h.dir.path();
    let ca = pki::Ca::new();
    let (srv_cert, srv_key) = ca.leaf(true);
    let (cli_cert, cli_key) = ca.leaf(false);
    std::fs::write(dir.join("srv.pem"), srv_cert).unwrap();
    std::fs::write(dir.join("srv.key"), srv_key).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("cli.pem"), &cli_cert).unwrap();
    std::fs::write(dir.join("identity.pem"), format!("{cli_cert}{cli_key}")).unwrap();
    let hash = vtj_api::tls::cert_file_hash(&dir.join("cli.pem")).unwrap();
    vtj_api::admin::add_user_cert(&mut h.store(), &user_of(KS), &hash).unwrap();
    let files = vtj_api::tls::TlsFiles {
        cert: dir.join("srv.pem"),
        key: dir.join("srv.key"),
        client_ca: Some(dir.join("ca.pem")),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let tls = vtj_api::tls::server_config(&files).unwrap();
    tokio::spawn(vtj_api::tls::serve_tls(listener, h.app.clone(), tls, std::future::pending()));

    let c = Client::new(ClientConfig {
        base_url: format!("https://127.0.0.1:{port}/api/v1"),
        identity: Some(dir.join("identity.pem")),
        ca_cert: Some(dir.join("ca.pem")),
        ..ClientConfig::default()
    })
    .unwrap();
    let mut reg = Register::open(&dir.join("reg.db")).unwrap();
    let r = vtj_sync::sync(&c, &mut reg, Some(area_of(KS)), &mut |_| {}).await.unwrap();
    assert!(r.persons_loaded > 100);
    assert_register_is_projection(&h, &mut reg, KS, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_customer_deletes_the_data_and_lookups_are_logged() {
    let h = start(Options::default()).await;
    let c = client(&h, LIST);
    let mut reg = Register::open(&h.dir.path().join("reg.db")).unwrap();
    let hetus = some_hetus(&h, 50);
    vtj_sync::list_add(&c, &mut reg, &hetus, vtj_sync::DEFAULT_BUCKET).await.unwrap();
    assert!(reg.lookup(&hetus[0], "käsittelijä 1", "asiakkuuden hoito").unwrap().is_some());
    vtj_sync::list_remove(&mut reg, &hetus[..1]).unwrap();
    assert!(reg.lookup(&hetus[0], "käsittelijä 1", "tarkistus").unwrap().is_none(), "data deleted");
    let members: Vec<String> = reg.buckets().unwrap().into_iter().flat_map(|b| b.members).collect();
    assert!(!members.contains(&hetus[0]), "no longer followed");
    let exported = reg.export("ylläpito", "varmuuskopio").unwrap();
    assert_eq!(exported.len(), hetus.len() - 1);
    let log = reg.access_log().unwrap();
    assert_eq!(log.len(), 3);
    assert_eq!(
        (log[0].who.as_str(), log[0].purpose.as_str(), log[0].action.as_str()),
        ("käsittelijä 1", "asiakkuuden hoito", "lookup")
    );
    assert_eq!(log[0].hetus, [hetus[0].clone()]);
    assert_eq!(log[2].hetus.len(), hetus.len() - 1, "an export logs every hetu it exported");
    assert!(reg.prune_access_log("2100-01-01T00:00:00.000Z").is_err(), "young entries are kept five years");
    assert!(vtj_sync::parse_hetu_lines("010181-900C\n# comment\n\n010181-900D\nxx")
        .unwrap_err()
        .to_string()
        .contains("line 4"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_register_is_bound_to_one_service_and_permit() {
    let h = start(Options::default()).await;
    let mut reg = Register::open(&h.dir.path().join("reg.db")).unwrap();
    vtj_sync::sync(&client(&h, KS), &mut reg, Some(area_of(KS)), &mut |_| {}).await.unwrap();
    let err = vtj_sync::sync(&client(&h, KS_TK), &mut reg, None, &mut |_| {}).await.unwrap_err();
    assert!(err.to_string().contains("belongs to"), "{err}");
    // Nor can a register of an area start following a list.
    let err = vtj_sync::list_add(&client(&h, KS), &mut reg, &some_hetus(&h, 90), 10).await.unwrap_err();
    assert!(err.to_string().contains("follows the residents"), "{err}");
}

/// A fresh PostgreSQL database for one test (PostgreSQL on 127.0.0.1:5432
/// is started by .ci/run). The blocking client must not run inside the
/// test's async runtime, hence the thread.
fn pg_database(tag: &str) -> (String, String) {
    let name = format!("vtj_sync_{tag}_{}", std::process::id());
    pg_admin(format!("DROP DATABASE IF EXISTS {name}"));
    pg_admin(format!("CREATE DATABASE {name}"));
    (format!("postgres://postgres@127.0.0.1:5432/{name}"), name)
}

fn pg_admin(sql: String) {
    std::thread::spawn(move || {
        let mut c =
            postgres::Client::connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", postgres::NoTls)
                .expect("PostgreSQL on 127.0.0.1:5432 (.ci/run starts it)");
        c.batch_execute(&sql).unwrap();
    })
    .join()
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_register_by_url() {
    let h = start(Options { persons: 6_000, ..Options::default() }).await;
    let (url, name) = pg_database("model");
    let c = client(&h, KS);
    let mut reg = Register::connect(&url).unwrap();
    vtj_sync::sync(&c, &mut reg, Some(area_of(KS)), &mut |_| {}).await.unwrap();
    assert_register_is_projection(&h, &mut reg, KS, &[]);
    let mut writer = h.store();
    simulate(&mut writer, 4);
    toggle_turvakielto(&mut writer, &mut reg, 1);
    drop(reg);
    // A new connection resumes from the stored position.
    let mut reg = Register::connect(&url).unwrap();
    let r = vtj_sync::sync(&c, &mut reg, None, &mut |_| {}).await.unwrap();
    assert!(r.changes_applied > 0 && r.censored > 0, "{r:?}");
    assert_register_is_projection(&h, &mut reg, KS, &[]);

    let some = reg.snapshot().unwrap().into_keys().next().unwrap();
    assert!(reg.lookup(&some, "käsittelijä", "asiakkuuden hoito").unwrap().is_some());
    let log = reg.access_log().unwrap();
    assert_eq!((log.len(), log[0].hetus.clone()), (1, vec![some]));
    let refused = reg.prune_access_log("2100-01-01T00:00:00.000Z").unwrap_err();
    assert!(refused.to_string().contains("five years"), "{refused}");
    drop(reg);
    pg_admin(format!("DROP DATABASE {name} WITH (FORCE)"));
}

/// A county hub's register, on SQLite and on PostgreSQL: every person the
/// sync writes is noted in its outbox with what the register holds of
/// them, and the notes are forgotten once mirrored, how far remembered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_register_notes_every_person_it_writes_on_both_backends() {
    let h = start(Options::default()).await;
    let (url, name) = pg_database("outbox");
    for spec in [h.dir.path().join("hub-register.db").to_string_lossy().into_owned(), url] {
        let mut reg = Register::connect(&spec).unwrap();
        reg.enable_outbox().unwrap();
        assert_eq!(reg.outbox_marks().unwrap(), (0, 0));
        vtj_sync::sync(&client(&h, KS), &mut reg, Some(area_of(KS)), &mut |_| {}).await.unwrap();
        let held = reg.snapshot().unwrap();
        let notes = reg.outbox(0, usize::MAX).unwrap();
        let noted: std::collections::BTreeSet<&String> = notes.iter().map(|n| &n.current).collect();
        assert_eq!(noted, held.keys().collect(), "{spec}: every person written is noted");
        assert!(notes.iter().all(|n| n.held.as_ref() == held.get(&n.current)), "{spec}");
        let last = notes.last().unwrap().seq;
        assert_eq!(reg.outbox_marks().unwrap(), (0, last));
        assert_eq!(reg.outbox_done(last).unwrap(), notes.len());
        assert!(reg.outbox(0, 10).unwrap().is_empty());
        assert_eq!(reg.outbox_marks().unwrap(), (last, last), "{spec}: how far, remembered");
    }
    pg_admin(format!("DROP DATABASE {name} WITH (FORCE)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hetus_bucket_never_changes_and_each_bucket_has_its_cursor() {
    let h = start(Options { config: |c| c.rate_per_second = 1e6, ..Options::default() }).await;
    let c = client(&h, LIST);
    let mut reg = Register::open(&h.dir.path().join("reg.db")).unwrap();
    let all = some_hetus(&h, 20);
    let (first, later) = all.split_at(35);
    vtj_sync::list_add(&c, &mut reg, first, 10).await.unwrap();
    let places = |reg: &mut Register| -> BTreeMap<String, i64> {
        reg.buckets().unwrap().into_iter().flat_map(|b| b.members.into_iter().map(move |m| (m, b.id))).collect()
    };
    let before = places(&mut reg);
    assert_eq!(reg.buckets().unwrap().iter().map(|b| b.members.len()).collect::<Vec<_>>(), [10, 10, 10, 5]);
    // Leaving makes room; newcomers fill it; nobody moves.
    vtj_sync::list_remove(&mut reg, &first[..3]).unwrap();
    vtj_sync::list_add(&c, &mut reg, &later[..10], 10).await.unwrap();
    let after = places(&mut reg);
    for (hetu, bucket) in &before {
        assert!(first[..3].contains(hetu) || after.get(hetu) == Some(bucket), "{hetu} moved");
    }
    assert_eq!(after.len(), 42);
    // Following brings every bucket up to date, each by its own cursor.
    let mut w = h.store();
    simulate(&mut w, 3);
    let r = vtj_sync::sync(&c, &mut reg, None, &mut |_| {}).await.unwrap();
    let last = h.store().last_cursor().unwrap().0;
    assert!(reg.buckets().unwrap().iter().all(|b| b.cursor == last), "every bucket followed to {last}");
    assert_eq!(r.cursor, last);
    let listed: Vec<String> = after.into_keys().collect();
    assert_register_is_projection(&h, &mut reg, LIST, &listed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrected_hetu_stays_listed_in_its_bucket_under_the_new_hetu() {
    use vtj_core::Hetu;
    let h = start(Options::default()).await;
    let c = client(&h, LIST);
    let mut reg = Register::open(&h.dir.path().join("reg.db")).unwrap();
    let listed = some_hetus(&h, 60);
    vtj_sync::list_add(&c, &mut reg, &listed, 10).await.unwrap();
    let old = Hetu::parse(&listed[3]).unwrap();
    let mut s = h.store();
    let p = s.person_by_hetu(old).unwrap().unwrap();
    let new = vtj_testkit::unused_hetu_for(&s, old);
    let rekisterointipaiva = time::OffsetDateTime::now_utc().date();
    s.append(&hetu_correction(&s, &p, new, rekisterointipaiva)).unwrap();
    let bucket_of = |reg: &mut Register, h: &str| {
        reg.buckets().unwrap().into_iter().find(|b| b.members.iter().any(|m| m == h)).map(|b| b.id)
    };
    let was = bucket_of(&mut reg, old.as_str());
    vtj_sync::sync(&c, &mut reg, None, &mut |_| {}).await.unwrap();
    assert_eq!(bucket_of(&mut reg, new.as_str()), was, "the same bucket, under the new hetu");
    assert_eq!(bucket_of(&mut reg, old.as_str()), None);
    let found = reg.lookup(old.as_str(), "käsittelijä", "tarkistus").unwrap().expect("found by the old hetu");
    assert_eq!(found.0, new.to_string());
    assert_register_is_projection(&h, &mut reg, LIST, &listed);
}
