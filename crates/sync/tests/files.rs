//! Muutostietopalvelu end to end: deliveries written by the service side,
//! imported by the recipient's side, give the same register as the REST
//! service for the same permit.

use std::path::Path;

use proptest::prelude::*;
use time::OffsetDateTime;
use vtj_core::Hetu;
use vtj_disclose::deliver::{deliver, Delivered, When};
use vtj_format::manifest::{sha256_file, Manifest};
use vtj_store::{PersonFilter, Store};
use vtj_sync::import::import;
use vtj_sync::Register;
use vtj_testkit::*;

mod common;
use common::client;

fn hetus_of(list: &[String]) -> Vec<Hetu> {
    list.iter().map(|h| Hetu::parse(h).unwrap()).collect()
}

fn deliver_now(h: &Harness, permit: &str, dir: &Path) -> Delivered {
    let mut s = h.store();
    deliver(&mut s, permit, dir, When::Now, OffsetDateTime::now_utc()).unwrap().expect("a delivery")
}

fn toggle_some_turvakielto(s: &mut vtj_store::SqliteStore, step: usize) {
    use vtj_core::{Event, EventKind, VtjDate};
    let day = match VtjDate::parse(&s.meta(vtj_sim::generate::META_DATE).unwrap().unwrap()).unwrap() {
        VtjDate::Full(d) => d,
        other => panic!("{other}"),
    };
    let persons = s.persons(PersonFilter::All, vtj_core::PersonId(0), 100_000).unwrap();
    let events: Vec<Event> = persons
        .iter()
        .step_by(step)
        .filter(|p| !p.is_dead())
        .map(|p| Event {
            person: p.id,
            rekisterointipaiva: day,
            tapahtuma: if p.has_turvakielto() {
                EventKind::TurvakieltoEnd
            } else {
                EventKind::TurvakieltoStart { turva_loppu_pv: VtjDate::Indefinite }
            },
        })
        .collect();
    s.append(&events).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, failure_persistence: None, ..ProptestConfig::default() })]

    /// For random histories and each kind of permit: the register built
    /// from delivery files equals the one built through the REST service,
    /// after the initial delivery and after every change delivery. (A hetu
    /// list is the service's for files, an `.HTT` upload, and the
    /// recipient's own on REST: both are kept the same.)
    #[test]
    fn file_register_equals_rest_register(seed in 0u64..10_000, rounds in 1usize..4) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        for permit in [KS, KS_TK, LIST] { rt.block_on(async {
            let h = start(Options {
                persons: 2_000,
                days: 1,
                seed,
                config: |c| {
                    c.rate_per_second = 1e6;
                    c.limits.page = 500;
                },
            })
            .await;
            let c = client(&h, permit);
            let mut rest = Register::open(&h.dir.path().join("rest.db")).unwrap();
            let mut files = Register::open(&h.dir.path().join("files.db")).unwrap();
            let out = h.dir.path().join("deliveries");
            if permit == LIST {
                let s = h.store();
                let hetus: Vec<String> = s
                    .persons(PersonFilter::All, vtj_core::PersonId(0), 100_000)
                    .unwrap()
                    .iter()
                    .step_by(5)
                    .map(|p| p.hetu().to_string())
                    .collect();
                vtj_sync::list_add(&c, &mut rest, &hetus, 100).await.unwrap();
                h.store().hetu_list_add(LIST, &hetus_of(&hetus)).unwrap();
            }
            let area = (permit != LIST).then(|| area_of(permit));
            let first = deliver_now(&h, permit, &out);
            assert_eq!((first.entry.seq, first.entry.kind.as_str()), (1, "PTT"));
            import(&mut files, &out).unwrap();
            vtj_sync::sync(&c, &mut rest, area, &mut |_| {}).await.unwrap();
            let a = files.snapshot().unwrap();
            assert!(!a.is_empty());
            assert_eq!(a, rest.snapshot().unwrap(), "after the initial delivery");
            if permit != LIST {
                // The whole person's groups are compared, families included
                // (HUOLTAJA through the real group 305).
                for g in ["HUOLTAJA", "HUOLLETTAVA", "LAPSI", "VANHEMPI", "SYNTYMAPAIVA"] {
                    assert!(a.values().any(|p| !p.instances(g).is_empty()), "no {g} in the registers compared");
                }
                // Birth municipalities merged away since keep their codes.
                let former = a
                    .values()
                    .flat_map(|p| p.instances("SYNTYMAKOTIKUNTA"))
                    .filter_map(|g| g.get("kuntakoodi")?.as_str())
                    .filter(|k| vtj_core::KuntaCode::parse(k).is_err())
                    .count();
                assert!(former > 0, "no birth municipality code out of force in the registers compared");
            }

            let mut writer = h.store();
            let mut delivered = 0;
            for round in 0..rounds {
                simulate(&mut writer, 2);
                toggle_some_turvakielto(&mut writer, 7 + round);
                if permit == LIST {
                    // The recipient maintains its list between deliveries.
                    let all = writer.persons(PersonFilter::All, vtj_core::PersonId(0), 100_000).unwrap();
                    let add: Vec<String> = all.iter().skip(round + 1).step_by(13).map(|p| p.hetu().to_string()).collect();
                    vtj_sync::list_add(&c, &mut rest, &add, 100).await.unwrap();
                    writer.hetu_list_add(LIST, &hetus_of(&add)).unwrap();
                    let held: Vec<String> = rest.snapshot().unwrap().keys().step_by(9).cloned().collect();
                    assert!(vtj_sync::list_remove(&mut rest, &held).unwrap() > 0);
                    // Off the service's list under every hetu the person has had.
                    let gone: Vec<Hetu> = hetus_of(&held)
                        .into_iter()
                        .flat_map(|h| writer.person_by_hetu(h).unwrap().unwrap().all_hetus())
                        .collect();
                    writer.hetu_list_remove(LIST, &gone).unwrap();
                }
                let d = deliver_now(&h, permit, &out);
                assert_eq!((d.entry.seq, d.entry.kind.as_str()), (2 + round as u32, "MTT"));
                let report = import(&mut files, &out).unwrap();
                assert_eq!(report.applied, vec![d.entry.seq]);
                assert_eq!(report.records, d.entry.records);
                assert!(report.unknown_groups.is_empty());
                vtj_sync::sync(&c, &mut rest, None, &mut |_| {}).await.unwrap();
                let a = files.snapshot().unwrap();
                assert_eq!(a, rest.snapshot().unwrap(), "after change delivery {}", d.entry.seq);
                assert_eq!(report.cursor, d.entry.to);
                delivered += d.entry.records;
            }
            assert!(delivered > 0, "the history gave the permit no changes");
            // Importing again applies nothing; a delivery is not due again the same day.
            assert!(import(&mut files, &out).unwrap().applied.is_empty());
            let mut s = h.store();
            assert!(deliver(&mut s, permit, &out, When::Due { rhythm_days: 7 }, OffsetDateTime::now_utc()).unwrap().is_none());
        }) }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranges_chain_and_the_rhythm_decides_what_is_due() {
    let h = start(Options { persons: 1_500, days: 1, config: |c| c.rate_per_second = 1e6, ..Options::default() }).await;
    let out = h.dir.path().join("d");
    let mut s = h.store();
    let day0 = OffsetDateTime::now_utc();
    let due = |days| When::Due { rhythm_days: days };
    // The initial delivery is always due.
    let d1 = deliver(&mut s, KS, &out, due(14), day0).unwrap().unwrap();
    simulate(&mut s, 3);
    assert!(deliver(&mut s, KS, &out, due(14), day0 + time::Duration::days(13)).unwrap().is_none());
    let d2 = deliver(&mut s, KS, &out, due(14), day0 + time::Duration::days(14)).unwrap().unwrap();
    let d3 = deliver(&mut s, KS, &out, When::Now, day0 + time::Duration::days(14)).unwrap().unwrap();
    assert_eq!((d2.entry.from, d3.entry.from), (d1.entry.to, d2.entry.to), "each range starts where the last ended");
    assert!(d2.entry.to > d2.entry.from && d2.entry.records > 0);
    assert_eq!((d3.entry.from, d3.entry.to, d3.entry.records), (d2.entry.to, d2.entry.to, 0));
    // The file names carry recipient, date and sequence number.
    assert!(d2.entry.file.starts_with("KSHVA_") && d2.entry.file.ends_with("_0002.MTT"), "{}", d2.entry.file);
    let m = Manifest::load(&out).unwrap().unwrap();
    assert_eq!(m.deliveries.len(), 3);
    for e in &m.deliveries {
        assert_eq!(sha256_file(&out.join(&e.file)).unwrap(), e.sha256);
    }
    // No temporary files are left behind.
    let names: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().all(|n| !n.ends_with(".part")), "{names:?}");
    // A directory holds one permit's deliveries.
    let e = deliver(&mut s, KS_TK, &out, When::Now, day0).unwrap_err().to_string();
    assert!(e.contains("holds deliveries of permit KS"), "{e}");
    // Every delivered page is in the audit log, under the file's name.
    let audit = vtj_store::AuditLog::audit_entries(&s, 0, 100_000).unwrap();
    let logged = audit.iter().filter(|e| e.data.contains(&d2.entry.file)).count();
    assert!(logged > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_refuses_gaps_tampering_and_truncation_and_applies_nothing_of_them() {
    let h = start(Options { persons: 1_500, days: 1, config: |c| c.rate_per_second = 1e6, ..Options::default() }).await;
    let out = h.dir.path().join("d");
    let mut s = h.store();
    deliver(&mut s, KS, &out, When::Now, OffsetDateTime::now_utc()).unwrap().unwrap();
    simulate(&mut s, 2);
    let d2 = deliver(&mut s, KS, &out, When::Now, OffsetDateTime::now_utc()).unwrap().unwrap();

    // A register that has nothing cannot start from delivery 2.
    let gap = h.dir.path().join("gap");
    std::fs::create_dir_all(&gap).unwrap();
    let mut m = Manifest::load(&out).unwrap().unwrap();
    m.deliveries.remove(0);
    std::fs::write(gap.join("MANIFEST.json"), serde_json::to_vec(&m).unwrap()).unwrap();
    std::fs::copy(&d2.path, gap.join(&d2.entry.file)).unwrap();
    let mut reg = Register::open(&h.dir.path().join("gap.db")).unwrap();
    let e = import(&mut reg, &gap).unwrap_err().to_string();
    assert!(e.contains("refusing the gap"), "{e}");
    assert!(reg.snapshot().unwrap().is_empty());

    // A truncated or altered change file is refused before anything of it is applied.
    let mut reg = Register::open(&h.dir.path().join("r.db")).unwrap();
    let whole = std::fs::read(&d2.path).unwrap();
    std::fs::write(&d2.path, &whole[..whole.len() / 2]).unwrap();
    let e = import(&mut reg, &out).unwrap_err().to_string();
    assert!(e.contains("SHA-256"), "{e}");
    let after_ptt = reg.snapshot().unwrap();
    assert!(!after_ptt.is_empty(), "the initial delivery before it was applied");
    assert_eq!(reg.file_progress().unwrap().done, 1);

    // Put back whole, it applies.
    std::fs::write(&d2.path, &whole).unwrap();
    assert_eq!(import(&mut reg, &out).unwrap().applied, vec![2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_cut_off_part_way_resumes_at_the_next_record() {
    const BATCH: usize = 20;
    let h = start(Options { persons: 1_500, days: 1, config: |c| c.rate_per_second = 1e6, ..Options::default() }).await;
    let out = h.dir.path().join("d");
    let mut s = h.store();
    let d1 = deliver(&mut s, KS, &out, When::Now, OffsetDateTime::now_utc()).unwrap().unwrap();
    assert!(d1.entry.records > 3 * BATCH as u64, "needs several batches: {}", d1.entry.records);

    // The reference: one uninterrupted import.
    let mut whole = Register::open(&h.dir.path().join("whole.db")).unwrap();
    import(&mut whole, &out).unwrap();

    // A register that committed two batches, as if killed after them: a
    // copy of the delivery holding only its first 2.5 batches of records
    // fails on its trailer, and the register keeps the two batches and
    // where it stands.
    let cut = h.dir.path().join("cut");
    std::fs::create_dir_all(&cut).unwrap();
    let bytes = std::fs::read(&d1.path).unwrap();
    let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
    // A record may go on over numbered lines (a family's relations are
    // long): cut where the record after the first 2.5 batches begins.
    let starts: Vec<usize> = (1..lines.len()).filter(|&i| lines[i].get(24..26) == Some(b"01".as_slice())).collect();
    let partial: Vec<u8> = lines[..starts[2 * BATCH + BATCH / 2]].concat();
    std::fs::write(cut.join(&d1.entry.file), &partial).unwrap();
    let mut m = Manifest::load(&out).unwrap().unwrap();
    m.deliveries[0].sha256 = sha256_file(&cut.join(&d1.entry.file)).unwrap();
    std::fs::write(cut.join("MANIFEST.json"), serde_json::to_vec(&m).unwrap()).unwrap();
    let path = h.dir.path().join("resumed.db");
    let mut reg = Register::open(&path).unwrap();
    let e = vtj_sync::import::import_in_batches(&mut reg, &cut, BATCH).unwrap_err().to_string();
    assert!(e.contains("truncated"), "{e}");
    assert_eq!(reg.file_progress().unwrap().within, Some((1, 2 * BATCH as u64)));
    drop(reg);

    // Restarted on the real delivery, it applies the rest and ends equal.
    let mut reg = Register::open(&path).unwrap();
    let report = vtj_sync::import::import_in_batches(&mut reg, &out, BATCH).unwrap();
    assert_eq!(report.records, d1.entry.records - 2 * BATCH as u64);
    assert_eq!(reg.snapshot().unwrap(), whole.snapshot().unwrap());
    assert_eq!(reg.counters().unwrap().persons_loaded, d1.entry.records);
}

/// A delivery carries the checkpoint of the audit log that logged its
/// pages; the importing register keeps it, and a log rewritten afterwards
/// no longer matches what the register kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_carry_checkpoints_that_the_register_keeps() {
    use vtj_disclose::deliver::deliver_signed;
    use vtj_store::{tree, StoreError, TreeBreak};
    let h = start(Options { persons: 1_000, days: 1, ..Options::default() }).await;
    let out = h.dir.path().join("d");
    let signer = vtj_store::testsuite::test_signer();
    let key = signer.verifier();
    let mut s = h.store();
    let now = OffsetDateTime::now_utc();
    let d1 = deliver_signed(&mut s, KS, &out, When::Now, now, Some(&signer)).unwrap().unwrap();
    simulate(&mut s, 2);
    let d2 = deliver_signed(&mut s, KS, &out, When::Now, now, Some(&signer)).unwrap().unwrap();
    let (c1, c2) = (
        key.open(d1.entry.audit_checkpoint.as_ref().unwrap()).unwrap(),
        key.open(d2.entry.audit_checkpoint.as_ref().unwrap()).unwrap(),
    );
    // Each covers its delivery's own logged pages.
    let logged = |s: &vtj_store::SqliteStore, file: &str| {
        let all = vtj_store::AuditLog::audit_entries(s, 0, 100_000).unwrap();
        all.iter().filter(|e| e.data.contains(file)).map(|e| e.seq).max().unwrap()
    };
    assert!(c1.size >= logged(&s, &d1.entry.file) as u64 && c2.size >= logged(&s, &d2.entry.file) as u64);
    assert!(c2.size > c1.size);

    let mut reg = Register::open(&h.dir.path().join("r.db")).unwrap();
    reg.bind_audit_key(&key.text()).unwrap();
    assert_eq!(import(&mut reg, &out).unwrap().applied, vec![1, 2]);
    let held = reg.checkpoints().unwrap();
    assert_eq!(held.len(), 2);
    assert_eq!(tree::verify(&s, Some(&key), &held).unwrap().held, 2);

    // The log rewritten at an entry of the first delivery: both kept checkpoints name it.
    let first = logged(&s, &d1.entry.file);
    drop(s);
    vtj_store::testsuite::rewrite_audit_history(&h.db, first);
    let s = h.store();
    match tree::verify(&s, Some(&key), &held) {
        Err(StoreError::TreeBroken(TreeBreak::Held { n: 1, .. })) => {}
        other => panic!("not caught: {other:?}"),
    }

    // A delivery whose checkpoint another key signed is refused by a register bound to the key.
    let forged = h.dir.path().join("forged");
    std::fs::create_dir_all(&forged).unwrap();
    let mut m = Manifest::load(&out).unwrap().unwrap();
    m.deliveries.truncate(1);
    m.deliveries[0].audit_checkpoint =
        Some(vtj_tlog::Signer::from_seed("vtj.test/audit", [5; 32]).unwrap().sign(c1.size, &c1.root));
    std::fs::write(forged.join("MANIFEST.json"), serde_json::to_vec(&m).unwrap()).unwrap();
    std::fs::copy(&d1.path, forged.join(&d1.entry.file)).unwrap();
    let mut other = Register::open(&h.dir.path().join("other.db")).unwrap();
    other.bind_audit_key(&key.text()).unwrap();
    let e = import(&mut other, &forged).unwrap_err().to_string();
    assert!(e.contains("not signed"), "{e}");
}
