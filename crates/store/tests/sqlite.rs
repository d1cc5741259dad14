//! The store test suite on SQLite, plus what is specific to the SQLite file.

use rusqlite::Connection;
use vtj_store::testsuite::{birth, test_hetu};
use vtj_store::{Cursor, LoggedChange, SqliteStore, Store};

#[test]
fn store_suite_in_memory() {
    vtj_store::testsuite::run_all(|| SqliteStore::open_in_memory().unwrap());
}

#[test]
fn store_suite_on_file() {
    let dir = tempfile::tempdir().unwrap();
    let n = std::cell::Cell::new(0);
    vtj_store::testsuite::run_all(|| {
        n.set(n.get() + 1);
        SqliteStore::open(&dir.path().join(format!("{}.db", n.get()))).unwrap()
    });
}

#[test]
fn data_survives_reopen_and_migrations_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vtj.db");
    {
        let mut s = SqliteStore::open(&path).unwrap();
        s.append(&[birth(1, test_hetu(1), "091", 0)]).unwrap();
    }
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), vtj_store::migrations::SQLITE.len() as i64);
    assert_eq!(s.last_cursor().unwrap(), Cursor(1));
    assert_eq!(s.person_by_hetu(test_hetu(1)).unwrap().unwrap().id.0, 1);
}

/// A new store at `path` with two births appended, and their summaries.
fn two_births(path: &std::path::Path) -> (SqliteStore, Vec<LoggedChange>) {
    let mut s = SqliteStore::open(path).unwrap();
    s.append(&[birth(1, test_hetu(1), "091", 0), birth(2, test_hetu(2), "049", 1)]).unwrap();
    let written = s.summaries_since(Cursor(0), 10).unwrap();
    (s, written)
}

/// A log row appended before change summaries were kept (migration step
/// 5) has none: it reads as the summary its persons give.
#[test]
fn a_row_without_a_summary_reads_from_its_persons() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vtj.db");
    let (s, written) = two_births(&path);
    let raw = Connection::open(&path).unwrap();
    raw.execute(
        "INSERT INTO change_log (person_id, registered, kind, event, before, after)
         SELECT person_id, registered, kind, event, before, after FROM change_log WHERE cursor = 2",
        [],
    )
    .unwrap();
    let read = s.summaries_since(Cursor(1), 10).unwrap();
    assert_eq!(read.len(), 2);
    assert_eq!(
        (read[1].cursor, &read[1].delta, read[1].registered),
        (Cursor(3), &written[1].delta, written[1].registered)
    );
    // A row with neither is corrupt, and says which.
    raw.execute(
        "INSERT INTO change_log (person_id, registered, kind, event, after) VALUES (3, '20260101', 'NOPE', '{}', '{}')",
        [],
    )
    .unwrap();
    let err = s.summaries_since(Cursor(3), 10).unwrap_err();
    assert!(err.to_string().contains("change 4") && err.to_string().contains("NOPE"), "{err}");
}

/// A log from before the summaries had a table of their own (schema step
/// 5, a summary at the end of its log row) reads as it did, and the
/// summaries' table is as append-only as the log.
#[test]
fn summaries_kept_in_their_log_rows_move_to_their_own_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vtj.db");
    let (s, written) = two_births(&path);
    drop(s);
    let raw = Connection::open(&path).unwrap();
    for sql in ["UPDATE change_summary SET delta = x'00'", "DELETE FROM change_summary"] {
        let err = raw.execute(sql, []).unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    raw.execute_batch(
        "DROP TRIGGER change_log_no_update;
         UPDATE change_log SET delta = (SELECT delta FROM change_summary s WHERE s.cursor = change_log.cursor);
         CREATE TRIGGER change_log_no_update BEFORE UPDATE ON change_log
             BEGIN SELECT RAISE(ABORT, 'change_log is append-only'); END;
         DROP TABLE change_summary;
         PRAGMA user_version = 5;",
    )
    .unwrap();
    let held: i64 = raw.query_row("SELECT COUNT(delta) FROM change_log", [], |r| r.get(0)).unwrap();
    assert_eq!(held, 2);
    drop(raw);
    let mut s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), vtj_store::migrations::SQLITE.len() as i64);
    assert_eq!(s.summaries_since(Cursor(0), 10).unwrap(), written);
    // New rows keep theirs in the table only.
    s.append(&[birth(3, test_hetu(3), "091", 2)]).unwrap();
    assert_eq!(s.summaries_since(Cursor(0), 10).unwrap().len(), 3);
    let raw = Connection::open(&path).unwrap();
    let (in_log, in_table): (i64, i64) = raw
        .query_row("SELECT (SELECT COUNT(delta) FROM change_log), (SELECT COUNT(*) FROM change_summary)", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((in_log, in_table), (2, 3));
}

#[test]
fn change_log_refuses_update_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vtj.db");
    SqliteStore::open(&path).unwrap().append(&[birth(1, test_hetu(1), "091", 0)]).unwrap();
    let raw = Connection::open(&path).unwrap();
    let upd = raw.execute("UPDATE change_log SET kind = 'X'", []).unwrap_err();
    assert!(upd.to_string().contains("append-only"), "{upd}");
    let del = raw.execute("DELETE FROM change_log", []).unwrap_err();
    assert!(del.to_string().contains("append-only"), "{del}");
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vtj.db");
    drop(SqliteStore::open(&path).unwrap());
    Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
    let err = SqliteStore::open(&path).err().expect("refused");
    assert!(err.to_string().contains("newer"), "{err}");
}

/// A database from before DVV's group shapes holds persons this program
/// cannot read: opening it is refused with what to do, not misread.
#[test]
fn a_database_in_the_old_data_format_is_refused() {
    use vtj_store::migrations::{FORMAT_CHANGED_AT, SQLITE};
    let dir = tempfile::tempdir().unwrap();
    let old = |name: &str, with_person: bool| {
        let path = dir.path().join(name);
        let raw = Connection::open(&path).unwrap();
        for step in &SQLITE[..FORMAT_CHANGED_AT - 1] {
            raw.execute_batch(step).unwrap();
        }
        raw.pragma_update(None, "user_version", (FORMAT_CHANGED_AT - 1) as i64).unwrap();
        if with_person {
            raw.execute(
                "INSERT INTO person (id, hetu, kotikunta, turvakielto, data) VALUES (1, '010181-900C', 91, 0, '{}')",
                [],
            )
            .unwrap();
        }
        path
    };
    let err = SqliteStore::open(&old("data.db", true)).err().expect("refused");
    assert!(err.to_string().contains("vtj generate"), "{err}");
    // An old database without persons (permits and recipients only) moves on.
    let s = SqliteStore::open(&old("empty.db", false)).unwrap();
    assert_eq!(s.schema_version().unwrap(), SQLITE.len() as i64);
}

/// An attacker with raw database access: the triggers stop casual edits,
/// and when they are dropped the chain still shows what was done.
#[test]
fn audit_tampering_is_refused_or_detected() {
    use vtj_store::testsuite::audit_record;
    use vtj_store::{AuditLog, ChainBreak, StoreError};

    let dir = tempfile::tempdir().unwrap();
    let fresh = |name: &str| {
        let p = dir.path().join(name);
        let mut s = SqliteStore::open(&p).unwrap();
        for n in 0..5 {
            s.audit_append(&audit_record(&format!("2026-03-0{}T00:00:00.000Z", n + 1), n), None).unwrap();
        }
        (s, Connection::open(p).unwrap())
    };
    let broken = |s: &SqliteStore| match s.audit_verify() {
        Err(StoreError::AuditBroken(b)) => b,
        other => panic!("tampering not detected: {other:?}"),
    };

    let (_s, raw) = fresh("triggers.db");
    assert!(raw.execute("UPDATE audit_log SET data = '{}' WHERE seq = 2", []).is_err());
    assert!(raw.execute("DELETE FROM audit_log WHERE seq = 2", []).is_err(), "young entries cannot be deleted");

    let drop_triggers = |raw: &Connection| {
        raw.execute_batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_retention;").unwrap()
    };

    let (s, raw) = fresh("modified.db");
    drop_triggers(&raw);
    raw.execute("UPDATE audit_log SET data = replace(data, '\"status\":200', '\"status\":404') WHERE seq = 3", [])
        .unwrap();
    assert_eq!(broken(&s), ChainBreak::Modified { seq: 3 });

    let (s, raw) = fresh("deleted.db");
    drop_triggers(&raw);
    raw.execute("DELETE FROM audit_log WHERE seq = 2", []).unwrap();
    assert_eq!(broken(&s), ChainBreak::Missing { expected: 2, found: 3 });

    let (s, raw) = fresh("reordered.db");
    drop_triggers(&raw);
    raw.execute_batch(
        "UPDATE audit_log SET seq = 100 WHERE seq = 2;
         UPDATE audit_log SET seq = 2 WHERE seq = 4;
         UPDATE audit_log SET seq = 4 WHERE seq = 100;",
    )
    .unwrap();
    assert_eq!(broken(&s), ChainBreak::Link { seq: 2 });

    let (s, raw) = fresh("truncated.db");
    drop_triggers(&raw);
    raw.execute("DELETE FROM audit_log WHERE seq = 5", []).unwrap();
    assert!(matches!(broken(&s), ChainBreak::Truncated { .. }));
}

/// The insider with full write access and the signing key: drops every
/// trigger, rewrites one entry and recomputes everything the database
/// holds (chain, head, tree, checkpoints, re-signed). The database alone
/// then verifies; the checkpoints a recipient holds do not, and the first
/// one issued after the rewritten entry is named.
#[test]
fn a_rewritten_history_is_caught_by_checkpoints_held_elsewhere() {
    use vtj_store::testsuite::{audit_record, test_signer};
    use vtj_store::{tree, AuditLog, StoreError, TreeBreak};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rewritten.db");
    let signer = test_signer();
    let key = signer.verifier();
    let mut held = Vec::new();
    {
        let mut s = SqliteStore::open(&path).unwrap();
        for n in 0..12 {
            let a = s
                .audit_append(&audit_record(&format!("2026-03-{:02}T00:00:00.000Z", n + 1), n), Some(&signer))
                .unwrap();
            // A recipient keeps the checkpoints of its answers: #2, #6 and #10.
            if n % 4 == 1 {
                held.push(a.checkpoint.unwrap());
            }
        }
        assert_eq!(tree::verify(&s, Some(&key), &held).unwrap().held, 3);
    }

    // Entry #4 hides the disclosure it recorded.
    vtj_store::testsuite::rewrite_audit_history(&path, 4);
    let mut s = SqliteStore::open(&path).unwrap();
    s.audit_sign(&signer).unwrap();

    // Everything the database holds agrees with itself.
    assert_eq!(s.audit_verify().unwrap().entries, 12);
    let own = tree::verify(&s, Some(&key), &[]).unwrap();
    assert_eq!((own.leaves, own.checkpoints), (12, 1));
    // The recipient's checkpoint of size 2 still matches; the one of size 6 is the first that does not.
    match tree::verify(&s, Some(&key), &held) {
        Err(StoreError::TreeBroken(TreeBreak::Held { n: 2, size: 6, .. })) => {}
        other => panic!("the rewrite was not caught: {other:?}"),
    }
    // And no consistency proof joins the held checkpoint to the new tree.
    let old = key.open(&held[1]).unwrap();
    let new = key.open(&s.audit_latest_checkpoint().unwrap().unwrap()).unwrap();
    let proof = s.audit_consistency(old.size, new.size).unwrap();
    assert!(vtj_tlog::tree::verify_consistency(old.size, new.size, &old.root, &new.root, &proof).is_err());
}

/// A log from before the tree (schema step 3) gets the tree that an
/// always-treed log would have.
#[test]
fn a_log_older_than_the_tree_is_built_into_it() {
    use vtj_store::testsuite::audit_record;
    use vtj_store::{tree, AuditLog};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let root_before = {
        let mut s = SqliteStore::open(&path).unwrap();
        for n in 0..9 {
            s.audit_append(&audit_record(&format!("2026-03-0{}T00:00:00.000Z", n + 1), n), None).unwrap();
        }
        s.audit_root(9).unwrap()
    };
    let raw = Connection::open(&path).unwrap();
    raw.execute_batch(
        "DROP TABLE audit_tree; DROP TABLE audit_checkpoint; DROP TABLE change_summary;
         ALTER TABLE change_log DROP COLUMN delta;
         PRAGMA user_version = 3;",
    )
    .unwrap();
    drop(raw);
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.audit_tree_size().unwrap(), 9);
    assert_eq!(s.audit_root(9).unwrap(), root_before);
    assert_eq!(tree::verify(&s, None, &[]).unwrap().entries_checked, 9);
}
