//! The store test suite on SQLite, plus what is specific to the SQLite file.

use rusqlite::Connection;
use vtj_store::testsuite::{birth, test_hetu};
use vtj_store::{Cursor, SqliteStore, Store};

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
    assert_eq!(s.schema_version().unwrap(), 1);
    assert_eq!(s.last_cursor().unwrap(), Cursor(1));
    assert_eq!(s.person_by_hetu(test_hetu(1)).unwrap().unwrap().id.0, 1);
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
