//! The store test suite on PostgreSQL (127.0.0.1:5432, user postgres;
//! `.ci/run` starts it), plus what matters with several writers.

use std::sync::atomic::{AtomicUsize, Ordering};

use postgres::{Client, NoTls};
use vtj_store::testsuite::{birth, test_hetu};
use vtj_store::{Cursor, PgStore, Store};

const ADMIN: &str = "host=127.0.0.1 port=5432 user=postgres dbname=postgres";

/// A database of its own for this test binary, dropped when done.
struct TestDb {
    name: String,
    schemas: AtomicUsize,
}

impl TestDb {
    fn new(tag: &str) -> TestDb {
        let name = format!("vtj_store_{tag}_{}", std::process::id());
        let mut c = Client::connect(ADMIN, NoTls).expect("PostgreSQL on 127.0.0.1:5432 (.ci/run starts it)");
        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).unwrap();
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        TestDb { name, schemas: AtomicUsize::new(0) }
    }

    /// A fresh, empty store in a schema of its own.
    fn fresh(&self) -> PgStore {
        let schema = format!("s{}", self.schemas.fetch_add(1, Ordering::SeqCst));
        let conn = format!("host=127.0.0.1 port=5432 user=postgres dbname={}", self.name);
        Client::connect(&conn, NoTls).unwrap().batch_execute(&format!("CREATE SCHEMA {schema}")).unwrap();
        self.store(&schema)
    }

    fn store(&self, schema: &str) -> PgStore {
        PgStore::connect(&format!(
            "host=127.0.0.1 port=5432 user=postgres dbname={} options='-c search_path={schema}'",
            self.name
        ))
        .unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut c) = Client::connect(ADMIN, NoTls) {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

#[test]
fn store_suite_on_postgres() {
    let db = TestDb::new("suite");
    vtj_store::testsuite::run_all(|| db.fresh());
}

#[test]
fn change_log_is_append_only_compressed_with_lz4_and_migrations_are_idempotent() {
    let db = TestDb::new("triggers");
    let mut s = db.fresh();
    s.append(&[birth(1, test_hetu(1), "091", 0)]).unwrap();
    drop(s);
    let s = db.store("s0");
    assert_eq!(s.last_cursor().unwrap(), Cursor(1));
    let mut raw =
        Client::connect(&format!("host=127.0.0.1 user=postgres dbname={} options='-c search_path=s0'", db.name), NoTls)
            .unwrap();
    let upd = raw.execute("UPDATE change_log SET kind = 'X'", &[]).unwrap_err();
    assert!(format!("{upd:?}").contains("append-only"), "{upd:?}");
    let del = raw.execute("DELETE FROM change_log", &[]).unwrap_err();
    assert!(format!("{del:?}").contains("append-only"), "{del:?}");

    // A log row's large values stay compressed in its page, and a person's
    // page keeps room for the row's next version.
    let storage: Vec<(String, String)> = raw
        .query(
            "SELECT attname, attstorage::text FROM pg_attribute
             WHERE attrelid = 'change_log'::regclass AND attname IN ('event', 'before', 'after', 'delta') ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(storage, ["after", "before", "delta", "event"].map(|c| (c.to_string(), "m".to_string())));
    let options: Vec<String> =
        raw.query_one("SELECT reloptions FROM pg_class WHERE oid = 'person'::regclass", &[]).unwrap().get(0);
    assert_eq!(options, ["fillfactor=85"]);

    // Where the server has lz4, the persons' JSON, the summaries and the
    // audit entries are compressed with it.
    if raw.batch_execute("SET default_toast_compression = lz4").is_ok() {
        let methods: Vec<(String, String)> = raw
            .query(
                "SELECT attrelid::regclass::text || '.' || attname, attcompression::text FROM pg_attribute
                 WHERE (attrelid = 'change_log'::regclass AND attname IN ('event', 'before', 'after', 'delta'))
                    OR (attrelid IN ('person'::regclass, 'audit_log'::regclass) AND attname = 'data') ORDER BY 1",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let lz4 = |c: &str| (c.to_string(), "l".to_string());
        assert_eq!(
            methods,
            [
                "audit_log.data",
                "change_log.after",
                "change_log.before",
                "change_log.delta",
                "change_log.event",
                "person.data"
            ]
            .map(lz4)
        );
    }
}

/// Four instances appending at once while a third pages the log: the reader
/// sees every cursor exactly once and in order (DESIGN.md rule 3).
#[test]
fn concurrent_writers_never_let_a_reader_skip_a_change() {
    let db = TestDb::new("writers");
    let mut first = db.fresh();
    first.append(&[birth(1, test_hetu(1), "091", 0)]).unwrap();
    let writers: Vec<_> = (0..4u64)
        .map(|w| {
            let mut s = db.store("s0");
            std::thread::spawn(move || {
                for i in 0..200u64 {
                    let n = 2 + w * 1000 + i;
                    s.append(&[birth(n, test_hetu(n as u16), "091", 1)]).unwrap();
                }
            })
        })
        .collect();
    let reader = db.store("s0");
    let mut seen = Vec::new();
    let mut at = Cursor(0);
    let mut idle = 0;
    while idle < 50 {
        let page = reader.changes_since(at, 7).unwrap();
        if page.is_empty() {
            idle += if writers.iter().all(|w| w.is_finished()) { 1 } else { 0 };
            std::thread::sleep(std::time::Duration::from_millis(2));
            continue;
        }
        for e in &page {
            seen.push(e.cursor.0);
            at = e.cursor;
        }
    }
    for w in writers {
        w.join().unwrap();
    }
    assert_eq!(seen.len(), 801);
    assert!(seen.windows(2).all(|p| p[1] == p[0] + 1), "no cursor skipped or repeated");
}

/// A log from before the tree (schema step 3) gets, on PostgreSQL too, the
/// tree an always-treed log would have, pruned entries as placeholder leaves.
#[test]
fn a_log_older_than_the_tree_is_built_into_it() {
    use vtj_store::testsuite::audit_record;
    use vtj_store::{tree, AuditLog};

    let db = TestDb::new("oldlog");
    let mut s = db.fresh();
    for n in 0..9 {
        let at = format!("20{}-03-01T00:00:00.000Z", if n < 2 { 15 } else { 26 });
        s.audit_append(&audit_record(&at, n), None).unwrap();
    }
    let (root9, leaf1) = (s.audit_root(9).unwrap(), s.audit_node(0, 0).unwrap());
    drop(s);
    let conn = format!("host=127.0.0.1 port=5432 user=postgres dbname={}", db.name);
    let mut raw = Client::connect(&conn, NoTls).unwrap();
    // Back to schema step 3: no tree, no checkpoints, no change summaries.
    let mut untree = || {
        raw.batch_execute(
            "SET search_path = s0;
             DROP TABLE audit_tree; DROP TABLE audit_checkpoint; DROP FUNCTION audit_append_only();
             ALTER TABLE change_log DROP COLUMN delta;
             DELETE FROM schema_version WHERE version >= 4;",
        )
        .unwrap()
    };
    untree();
    let mut s = db.store("s0");
    assert_eq!(s.audit_tree_size().unwrap(), 9);
    assert_eq!(s.audit_root(9).unwrap(), root9);
    assert_eq!(tree::verify(&s, None, &[]).unwrap().entries_checked, 9);
    assert_eq!(s.audit_node(0, 0).unwrap(), leaf1);

    // Pruned before the tree: the leaves are placeholders, the rest is the log.
    assert_eq!(s.audit_prune("2021-01-01T00:00:00.000Z").unwrap(), 2);
    drop(s);
    untree();
    let s = db.store("s0");
    assert_eq!(s.audit_tree_size().unwrap(), 9);
    assert_eq!(s.audit_node(0, 0).unwrap(), Some(vtj_tlog::tree::leaf_hash(tree::pruned_leaf(1).as_bytes())));
    assert_eq!(tree::verify(&s, None, &[]).unwrap().entries_checked, 7);
}

/// Two instances append to one audit log by turns, each remembering the
/// tree nodes it has seen committed: every checkpoint either signs is the
/// root of the tree of all entries so far, whoever wrote its nodes.
#[test]
fn audit_commits_of_two_instances_sign_the_whole_tree() {
    use vtj_store::testsuite::{audit_record, test_signer};
    use vtj_store::AuditLog;
    use vtj_tlog::tree::{leaf_hash, root, MemoryTree};

    let db = TestDb::new("twotrees");
    let mut stores = [db.fresh(), db.store("s0")];
    let signer = test_signer();
    let key = signer.verifier();
    let mut reference = MemoryTree::new();
    let mut n = 0;
    for round in 0..60 {
        let s = &mut stores[round % 2];
        let records: Vec<_> = (0..1 + round % 7)
            .map(|_| {
                n += 1;
                audit_record("2026-03-01T00:00:00.000Z", n)
            })
            .collect();
        let appended = s.audit_append_all(&records, Some(&signer)).unwrap();
        for a in &appended {
            let data = &s.audit_entries(a.seq - 1, 1).unwrap()[0].data;
            reference.push(leaf_hash(data.as_bytes()));
        }
        let size = reference.size();
        let checkpoint = key.open(appended[0].checkpoint.as_deref().unwrap()).unwrap();
        assert_eq!((checkpoint.size, checkpoint.root), (size, root(&mut reference, size).unwrap()), "round {round}");
    }
    let report = vtj_store::tree::verify(&stores[0], Some(&key), &[]).unwrap();
    assert_eq!((report.leaves, report.entries_checked, report.checkpoints), (n as u64, n as u64, 60));
}

#[test]
fn statements_first_prepared_in_a_refused_append_serve_the_next() {
    use vtj_core::PersonId;
    use vtj_store::StoreError;

    let db = TestDb::new("prepared");
    let mut s = db.fresh();
    let first = vtj_core::apply(None, &birth(1, test_hetu(1), "091", 0)).unwrap();
    s.insert_population(&[first]).unwrap();
    // The connection's first append is refused after its statements (the
    // persons' read, the log rows' insert, the hetus' claims) were
    // prepared; the transaction rolls back, the server keeps them, and the
    // next append runs them as the store remembers them.
    let taken = s.append(&[birth(2, test_hetu(1), "091", 0)]);
    assert!(matches!(taken, Err(StoreError::HetuInUse(h)) if h == test_hetu(1)), "{taken:?}");
    let cursors = s.append(&[birth(2, test_hetu(2), "091", 1), birth(3, test_hetu(3), "091", 1)]).unwrap();
    assert_eq!(cursors.len(), 2);
    assert_eq!(s.person(PersonId(2)).unwrap().unwrap().hetu(), test_hetu(2));
    assert_eq!(s.changes_since(Cursor(0), 10).unwrap().len(), 2);
}
