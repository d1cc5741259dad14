//! The register on SQLite (the default): one file, WAL, synchronous=FULL,
//! persons' groups lz4-packed ([`super::packed`]).

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use super::packed::{Packed, Unpacked};
use super::{AccessEntry, Job, RegisterError, Tx};

/// A hub's outbox notes every write of `person` (schema step 4; again in
/// step 6, which makes the table anew).
macro_rules! outbox_triggers {
    () => {
        r#"
    CREATE TRIGGER outbox_insert AFTER INSERT ON person WHEN EXISTS (SELECT 1 FROM meta WHERE key = 'outbox')
        BEGIN INSERT INTO outbox (hetu) VALUES (NEW.hetu); END;
    CREATE TRIGGER outbox_update AFTER UPDATE ON person WHEN EXISTS (SELECT 1 FROM meta WHERE key = 'outbox')
        BEGIN INSERT INTO outbox (hetu) VALUES (NEW.hetu); END;
    CREATE TRIGGER outbox_delete AFTER DELETE ON person WHEN EXISTS (SELECT 1 FROM meta WHERE key = 'outbox')
        BEGIN INSERT INTO outbox (hetu) VALUES (OLD.hetu); END;
"#
    };
}

const SCHEMA: &[&str] = &[
    r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE person (hetu TEXT PRIMARY KEY, groups TEXT NOT NULL);
    -- Earlier hetus of persons whose hetu was corrected.
    CREATE TABLE hetu_history (old_hetu TEXT PRIMARY KEY, hetu TEXT NOT NULL);
    -- Every look-up of the register: who, whose data, why, when.
    CREATE TABLE access_log (
        seq     INTEGER PRIMARY KEY AUTOINCREMENT,
        at      TEXT NOT NULL,
        who     TEXT NOT NULL,
        purpose TEXT NOT NULL,
        action  TEXT NOT NULL,
        hetus   TEXT NOT NULL
    );
    CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
        BEGIN SELECT RAISE(ABORT, 'access_log is append-only'); END;
    CREATE TRIGGER access_log_retention BEFORE DELETE ON access_log
        WHEN OLD.at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-5 years')
        BEGIN SELECT RAISE(ABORT, 'access log entries are kept five years'); END;
"#,
    r#"
    -- A hetu-scoped permit's list, kept here and sent to the service in
    -- buckets: a hetu's bucket never changes, each bucket has its cursor.
    CREATE TABLE listed (hetu TEXT PRIMARY KEY, bucket INTEGER NOT NULL);
    CREATE INDEX listed_bucket ON listed(bucket, hetu);
    CREATE TABLE bucket (id INTEGER PRIMARY KEY, cursor INTEGER NOT NULL);
"#,
    r#"
    -- The service's audit-log checkpoints this register has checked and kept.
    CREATE TABLE checkpoint (size INTEGER PRIMARY KEY, note TEXT NOT NULL, received TEXT NOT NULL);
"#,
    concat!(
        r#"
    -- A county hub's outbox: every person written or removed, in order,
    -- noted in the same transaction, for the hub to mirror into its own
    -- change log. Only a register marked as a hub's (meta `outbox`) notes.
    CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, hetu TEXT NOT NULL);
"#,
        outbox_triggers!()
    ),
    r#"
    -- From here a person's groups are written packed (a BLOB, see
    -- `register::packed`); rows written before stay text until changed.
    -- Nothing to alter: the step is here so that an earlier vtj, which
    -- could not read a packed person, refuses the register as too new.
"#,
    concat!(
        r#"
    -- The hetu's index apart from the table (it was the primary key's),
    -- so that an initial load into an empty register can go without it
    -- and build it once at the end (`Tx::defer_hetu_index`).
    CREATE TABLE person_v6 (hetu TEXT NOT NULL, groups TEXT NOT NULL);
    INSERT INTO person_v6 (hetu, groups) SELECT hetu, groups FROM person ORDER BY hetu;
    DROP TABLE person;
    ALTER TABLE person_v6 RENAME TO person;
    CREATE UNIQUE INDEX person_hetu ON person(hetu);
"#,
        outbox_triggers!()
    ),
];

/// The unique index of `person(hetu)`, as schema step 6 makes it.
const HETU_INDEX: &str = "CREATE UNIQUE INDEX person_hetu ON person(hetu)";

/// The page cache, in KiB (SQLite takes a negative size as KiB).
const CACHE_KIB: i64 = -16 * 1024;

/// WAL frames written before SQLite checkpoints them into the file.
const WAL_AUTOCHECKPOINT_PAGES: i64 = 40_000;

/// Persons written by one statement: a page's worth in a few, each
/// statement prepared once for its number of rows.
const ROWS_PER_INSERT: usize = 100;

pub(super) struct Sqlite {
    conn: Connection,
}

impl Sqlite {
    pub(super) fn open(path: &Path) -> Result<Sqlite, RegisterError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // A page's multi-row upserts keep a statement journal, by default
        // a temporary file written beside every changed page; in memory
        // it is a copy, and it is gone at the statement's end anyway.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // A page of 1,000 changes dirties some 1,000 pages of persons: with
        // the default 2 MiB cache they spilled into the WAL before the
        // commit, and were written again when changed once more.
        conn.pragma_update(None, "cache_size", CACHE_KIB)?;
        // Each page's persons are random pages of the file; with SQLite's
        // 1,000-page default every commit also checkpointed them into the
        // file (and synced it). Fewer, larger checkpoints write a page
        // changed by several commits once, and sync the file less often:
        // a catch-up of 162 k changes 20.4-21.0 s -> 13.2-16.8 s (10,000
        // pages: 17.0-18.2 s). The WAL file stays at its largest, up to
        // some 160 MiB.
        conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if found > SCHEMA.len() as i64 {
            return Err(RegisterError::SchemaTooNew(found));
        }
        for (i, step) in SCHEMA.iter().enumerate().skip(found as usize) {
            conn.execute_batch(&format!("BEGIN; {step}; PRAGMA user_version = {}; COMMIT;", i + 1))?;
        }
        Ok(Sqlite { conn })
    }

    /// [`Sqlite::run`] with sorts in temporary files (deleted as they are
    /// opened). Building the hetu's index sorts every hetu: in memory that
    /// took 280 MiB more at 5.6 M persons, in files the cache's 16 MiB, and
    /// less time (4.6 s against 6.9 s).
    pub(super) fn run_sorting_in_files<T>(&mut self, job: Job<T>) -> Result<T, RegisterError> {
        self.conn.pragma_update(None, "temp_store", "FILE")?;
        let out = self.run(job);
        let back = self.conn.pragma_update(None, "temp_store", "MEMORY");
        let out = out?;
        back?;
        Ok(out)
    }

    pub(super) fn run<T>(&mut self, job: Job<T>) -> Result<T, RegisterError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = job(&mut SqliteTx(&tx))?;
        tx.commit()?;
        Ok(out)
    }
}

struct SqliteTx<'a, 'c>(&'a Transaction<'c>);

impl SqliteTx<'_, '_> {
    /// Persons (hetu, groups JSON) written packed in multi-row `INSERT`s,
    /// each ending in `conflict`.
    fn insert_many(&mut self, persons: &[(String, String)], conflict: &str) -> Result<(), RegisterError> {
        for chunk in persons.chunks(ROWS_PER_INSERT) {
            let rows = vec!["(?, ?)"; chunk.len()].join(", ");
            let sql = format!("INSERT INTO person (hetu, groups) VALUES {rows}{conflict}");
            let packed = chunk.iter().map(|(_, g)| Packed::new(g)).collect::<Result<Vec<_>, _>>()?;
            let values = chunk
                .iter()
                .zip(&packed)
                .flat_map(|((h, _), g)| [h as &dyn rusqlite::ToSql, g as &dyn rusqlite::ToSql]);
            self.0.prepare_cached(&sql)?.execute(rusqlite::params_from_iter(values))?;
        }
        Ok(())
    }

    fn has_hetu_index(&mut self) -> Result<bool, RegisterError> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'person_hetu')",
            )?
            .query_row([], |r| r.get(0))?)
    }
}

impl Tx for SqliteTx<'_, '_> {
    fn meta(&mut self, key: &str) -> Result<Option<String>, RegisterError> {
        Ok(self.0.prepare_cached("SELECT value FROM meta WHERE key = ?1")?.query_row([key], |r| r.get(0)).optional()?)
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), RegisterError> {
        self.0
            .prepare_cached(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![key, value])?;
        Ok(())
    }

    fn delete_meta(&mut self, key: &str) -> Result<(), RegisterError> {
        self.0.prepare_cached("DELETE FROM meta WHERE key = ?1")?.execute([key])?;
        Ok(())
    }

    fn load(&mut self, hetu: &str) -> Result<Option<String>, RegisterError> {
        Ok(self
            .0
            .prepare_cached("SELECT groups FROM person WHERE hetu = ?1")?
            .query_row([hetu], |r| r.get::<_, Unpacked>(0))
            .optional()?
            .map(|u| u.0))
    }

    fn save(&mut self, hetu: &str, groups: &str) -> Result<(), RegisterError> {
        self.0
            .prepare_cached(
                "INSERT INTO person (hetu, groups) VALUES (?1, ?2)
                 ON CONFLICT (hetu) DO UPDATE SET groups = excluded.groups",
            )?
            .execute(params![hetu, Packed::new(groups)?])?;
        Ok(())
    }

    fn delete_person(&mut self, hetu: &str) -> Result<usize, RegisterError> {
        Ok(self.0.prepare_cached("DELETE FROM person WHERE hetu = ?1")?.execute([hetu])?)
    }

    fn history_target(&mut self, old: &str) -> Result<Option<String>, RegisterError> {
        Ok(self
            .0
            .prepare_cached("SELECT hetu FROM hetu_history WHERE old_hetu = ?1")?
            .query_row([old], |r| r.get(0))
            .optional()?)
    }

    fn history_put(&mut self, old: &str, hetu: &str) -> Result<(), RegisterError> {
        self.0
            .prepare_cached(
                "INSERT INTO hetu_history (old_hetu, hetu) VALUES (?1, ?2)
                 ON CONFLICT (old_hetu) DO UPDATE SET hetu = excluded.hetu",
            )?
            .execute(params![old, hetu])?;
        Ok(())
    }

    fn history_retarget(&mut self, from: &str, to: &str) -> Result<(), RegisterError> {
        self.0.prepare_cached("UPDATE hetu_history SET hetu = ?1 WHERE hetu = ?2")?.execute(params![to, from])?;
        Ok(())
    }

    fn history_delete(&mut self, hetu: &str) -> Result<(), RegisterError> {
        self.0.prepare_cached("DELETE FROM hetu_history WHERE hetu = ?1")?.execute([hetu])?;
        Ok(())
    }

    fn has_history(&mut self) -> Result<bool, RegisterError> {
        Ok(self.0.prepare_cached("SELECT EXISTS (SELECT 1 FROM hetu_history)")?.query_row([], |r| r.get(0))?)
    }

    fn history_targets(&mut self, olds: &[String]) -> Result<HashMap<String, String>, RegisterError> {
        let mut stmt = self.0.prepare_cached(
            "SELECT old_hetu, hetu FROM hetu_history WHERE old_hetu IN (SELECT value FROM json_each(?1))",
        )?;
        let rows = stmt.query_map([serde_json::to_string(olds)?], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn load_many(&mut self, hetus: &[String]) -> Result<HashMap<String, String>, RegisterError> {
        let mut stmt =
            self.0.prepare_cached("SELECT hetu, groups FROM person WHERE hetu IN (SELECT value FROM json_each(?1))")?;
        let rows = stmt.query_map([serde_json::to_string(hetus)?], |r| Ok((r.get(0)?, r.get::<_, Unpacked>(1)?.0)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn save_many(&mut self, persons: &[(String, String)]) -> Result<(), RegisterError> {
        self.insert_many(persons, " ON CONFLICT (hetu) DO UPDATE SET groups = excluded.groups")
    }

    fn defer_hetu_index(&mut self) -> Result<bool, RegisterError> {
        if !self.has_hetu_index()? {
            return Ok(true);
        }
        // Only a register that holds nobody and no earlier hetu (so that
        // nothing is found by hetu until a correction restores the index),
        // and not a hub's: its outbox is read by hetu while the load goes on.
        let empty: bool = self.0.query_row(
            "SELECT NOT EXISTS (SELECT 1 FROM person) AND NOT EXISTS (SELECT 1 FROM hetu_history)
                AND NOT EXISTS (SELECT 1 FROM meta WHERE key = 'outbox')",
            [],
            |r| r.get(0),
        )?;
        if empty {
            self.0.execute_batch("DROP INDEX person_hetu")?;
        }
        Ok(empty)
    }

    fn restore_hetu_index(&mut self) -> Result<(), RegisterError> {
        if self.has_hetu_index()? {
            return Ok(());
        }
        // A person met twice in one load (moved between two of its pages)
        // is kept as the later page gave them, as an upsert would have.
        match self.0.execute_batch(HETU_INDEX) {
            Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
                self.0.execute_batch(&format!(
                    "CREATE INDEX person_hetu_any ON person(hetu);
                     DELETE FROM person WHERE EXISTS
                         (SELECT 1 FROM person later WHERE later.hetu = person.hetu AND later.rowid > person.rowid);
                     DROP INDEX person_hetu_any;
                     {HETU_INDEX};"
                ))?;
                Ok(())
            }
            other => Ok(other?),
        }
    }

    fn append_many(&mut self, persons: &[(String, String)]) -> Result<(), RegisterError> {
        self.insert_many(persons, "")
    }

    fn delete_many(&mut self, hetus: &[String]) -> Result<(), RegisterError> {
        if !hetus.is_empty() {
            self.0
                .prepare_cached("DELETE FROM person WHERE hetu IN (SELECT value FROM json_each(?1))")?
                .execute([serde_json::to_string(hetus)?])?;
        }
        Ok(())
    }

    fn log_access(&mut self, e: &AccessEntry) -> Result<(), RegisterError> {
        self.0
            .prepare_cached("INSERT INTO access_log (at, who, purpose, action, hetus) VALUES (?1, ?2, ?3, ?4, ?5)")?
            .execute(params![e.at, e.who, e.purpose, e.action, serde_json::to_string(&e.hetus)?])?;
        Ok(())
    }

    fn access_log(&mut self) -> Result<Vec<AccessEntry>, RegisterError> {
        let mut stmt = self.0.prepare("SELECT at, who, purpose, action, hetus FROM access_log ORDER BY seq")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get::<_, String>(4)?)))?;
        rows.map(|r| {
            let (at, who, purpose, action, hetus) = r?;
            Ok(AccessEntry { at, who, purpose, action, hetus: serde_json::from_str(&hetus)? })
        })
        .collect()
    }

    fn prune_access_log(&mut self, cutoff: &str) -> Result<usize, RegisterError> {
        Ok(self.0.execute("DELETE FROM access_log WHERE at < ?1", [cutoff])?)
    }

    fn checkpoint_put(&mut self, size: u64, note: &str, received: &str) -> Result<(), RegisterError> {
        self.0.execute(
            "INSERT INTO checkpoint (size, note, received) VALUES (?1, ?2, ?3) ON CONFLICT (size) DO NOTHING",
            params![size as i64, note, received],
        )?;
        Ok(())
    }

    fn latest_checkpoint(&mut self) -> Result<Option<String>, RegisterError> {
        Ok(self
            .0
            .prepare_cached("SELECT note FROM checkpoint ORDER BY size DESC LIMIT 1")?
            .query_row([], |r| r.get(0))
            .optional()?)
    }

    fn checkpoints(&mut self) -> Result<Vec<String>, RegisterError> {
        let mut stmt = self.0.prepare("SELECT note FROM checkpoint ORDER BY size")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn all(&mut self) -> Result<Vec<(String, String)>, RegisterError> {
        let mut stmt = self.0.prepare("SELECT hetu, groups FROM person ORDER BY hetu")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, Unpacked>(1)?.0)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn count(&mut self) -> Result<u64, RegisterError> {
        Ok(self.0.query_row("SELECT count(*) FROM person", [], |r| r.get::<_, i64>(0))? as u64)
    }

    fn list_bucket(&mut self, hetu: &str) -> Result<Option<i64>, RegisterError> {
        Ok(self
            .0
            .prepare_cached("SELECT bucket FROM listed WHERE hetu = ?1")?
            .query_row([hetu], |r| r.get(0))
            .optional()?)
    }

    fn list_put(&mut self, hetu: &str, bucket: i64) -> Result<(), RegisterError> {
        self.0
            .prepare_cached(
                "INSERT INTO listed (hetu, bucket) VALUES (?1, ?2) ON CONFLICT (hetu) DO UPDATE SET bucket = excluded.bucket",
            )?
            .execute(params![hetu, bucket])?;
        Ok(())
    }

    fn list_delete(&mut self, hetu: &str) -> Result<usize, RegisterError> {
        Ok(self.0.prepare_cached("DELETE FROM listed WHERE hetu = ?1")?.execute([hetu])?)
    }

    fn list_members(&mut self, bucket: i64) -> Result<Vec<String>, RegisterError> {
        let mut stmt = self.0.prepare_cached("SELECT hetu FROM listed WHERE bucket = ?1 ORDER BY hetu")?;
        let rows = stmt.query_map([bucket], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn buckets(&mut self) -> Result<Vec<(i64, i64, u64)>, RegisterError> {
        let mut stmt = self.0.prepare_cached(
            "SELECT b.id, b.cursor, (SELECT count(*) FROM listed l WHERE l.bucket = b.id) FROM bucket b ORDER BY b.id",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn bucket_put(&mut self, id: i64, cursor: i64) -> Result<(), RegisterError> {
        self.0
            .prepare_cached(
                "INSERT INTO bucket (id, cursor) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET cursor = excluded.cursor",
            )?
            .execute(params![id, cursor])?;
        Ok(())
    }

    fn history_of(&mut self, hetu: &str) -> Result<Vec<String>, RegisterError> {
        let mut stmt = self.0.prepare_cached("SELECT old_hetu FROM hetu_history WHERE hetu = ?1 ORDER BY old_hetu")?;
        let rows = stmt.query_map([hetu], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn outbox_after(&mut self, after: i64, limit: usize) -> Result<Vec<(i64, String)>, RegisterError> {
        let mut stmt = self.0.prepare_cached("SELECT seq, hetu FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
        let rows =
            stmt.query_map(params![after, i64::try_from(limit).unwrap_or(i64::MAX)], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn outbox_prune(&mut self, upto: i64) -> Result<usize, RegisterError> {
        Ok(self.0.prepare_cached("DELETE FROM outbox WHERE seq <= ?1")?.execute([upto])?)
    }

    fn outbox_head(&mut self) -> Result<i64, RegisterError> {
        Ok(self.0.query_row(
            "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0)",
            [],
            |r| r.get(0),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "010181-900C";
    const B: &str = "020181-9001";
    const TEXT: &str = r#"[{"tietoryhma":"HENKILON_NIMI","etunimi":"Matti","sukunimi":"Mattila"}]"#;
    const OTHER: &str = r#"[{"tietoryhma":"HENKILON_NIMI","etunimi":"Maija","sukunimi":"Mattila"}]"#;

    fn stored_types(db: &mut Sqlite) -> Vec<(String, String)> {
        let mut stmt = db.conn.prepare("SELECT hetu, typeof(groups) FROM person ORDER BY hetu").unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<Result<_, _>>().unwrap()
    }

    #[test]
    fn persons_are_written_packed_and_rows_of_an_earlier_version_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Sqlite::open(&dir.path().join("r.db")).unwrap();
        // As an earlier version wrote them: the JSON as text.
        for h in [A, B] {
            db.conn.execute("INSERT INTO person (hetu, groups) VALUES (?1, ?2)", [h, TEXT]).unwrap();
        }
        let read = db.run(Box::new(|t| Ok((t.load(A)?, t.load_many(&[A.into(), B.into()])?, t.all()?)))).unwrap();
        assert_eq!(read.0.as_deref(), Some(TEXT));
        assert_eq!(read.1, [(A.to_string(), TEXT.to_string()), (B.to_string(), TEXT.to_string())].into());
        assert_eq!(read.2, [(A.to_string(), TEXT.to_string()), (B.to_string(), TEXT.to_string())]);

        db.run(Box::new(|t| {
            t.save(A, OTHER)?;
            t.save_many(&[(B.into(), OTHER.into())])
        }))
        .unwrap();
        assert_eq!(stored_types(&mut db), [(A.into(), "blob".into()), (B.into(), "blob".into())]);
        let read = db.run(Box::new(|t| Ok((t.load(A)?, t.load_many(&[A.into(), B.into()])?, t.all()?)))).unwrap();
        assert_eq!(read.0.as_deref(), Some(OTHER));
        assert_eq!(read.1, [(A.to_string(), OTHER.to_string()), (B.to_string(), OTHER.to_string())].into());
        assert_eq!(read.2, [(A.to_string(), OTHER.to_string()), (B.to_string(), OTHER.to_string())]);
    }

    #[test]
    fn a_register_of_an_earlier_version_is_marked_as_holding_packed_persons_and_a_later_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let db = Sqlite::open(&path).unwrap();
        db.conn.execute("INSERT INTO person (hetu, groups) VALUES (?1, ?2)", [A, TEXT]).unwrap();
        db.conn.pragma_update(None, "user_version", 4).unwrap();
        drop(db);
        let mut db = Sqlite::open(&path).unwrap();
        let version: i64 = db.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, 6);
        assert_eq!(db.run(Box::new(|t| t.load(A))).unwrap().as_deref(), Some(TEXT));
        db.conn.pragma_update(None, "user_version", 7).unwrap();
        drop(db);
        assert!(matches!(Sqlite::open(&path), Err(RegisterError::SchemaTooNew(7))));
    }

    fn has_index(db: &Sqlite) -> bool {
        let sql = "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'person_hetu')";
        db.conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    fn rows(db: &Sqlite) -> Vec<(String, String)> {
        let mut stmt = db.conn.prepare("SELECT hetu, groups FROM person ORDER BY rowid").unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, Unpacked>(1)?.0))).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    }

    #[test]
    fn the_hetu_index_is_deferred_only_in_an_empty_register_not_a_hubs_and_restored_keeping_the_later_row() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Sqlite::open(&dir.path().join("r.db")).unwrap();
        assert!(has_index(&db));
        assert!(db.run(Box::new(|t| t.defer_hetu_index())).unwrap());
        assert!(!has_index(&db));
        // Rows go in as they come, the same hetu twice among them.
        db.run(Box::new(|t| {
            t.append_many(&[(A.into(), TEXT.into()), (B.into(), TEXT.into())])?;
            assert!(t.defer_hetu_index()?, "still deferred once rows are in");
            t.append_many(&[(A.into(), OTHER.into())])
        }))
        .unwrap();
        assert_eq!(rows(&db).len(), 3);
        db.run_sorting_in_files(Box::new(|t| t.restore_hetu_index())).unwrap();
        assert!(has_index(&db));
        assert_eq!(rows(&db), [(B.to_string(), TEXT.to_string()), (A.to_string(), OTHER.to_string())]);
        // Built with sorts in files; the statement journals are in memory again.
        let temp_store: i64 = db.conn.query_row("PRAGMA temp_store", [], |r| r.get(0)).unwrap();
        assert_eq!(temp_store, 2);
        // With the index back, the hetu is unique again; restoring twice is nothing.
        db.run(Box::new(|t| t.restore_hetu_index())).unwrap();
        assert!(db.conn.execute("INSERT INTO person (hetu, groups) VALUES (?1, ?2)", [A, TEXT]).is_err());

        // A register holding someone keeps its index.
        assert!(!db.run(Box::new(|t| t.defer_hetu_index())).unwrap());
        assert!(has_index(&db));
        // So does a hub's, empty or not: its outbox is read by hetu.
        let mut hub = Sqlite::open(&dir.path().join("hub.db")).unwrap();
        hub.run(Box::new(|t| t.set_meta("outbox", "1"))).unwrap();
        assert!(!hub.run(Box::new(|t| t.defer_hetu_index())).unwrap());
        assert!(has_index(&hub));
    }

    #[test]
    fn a_register_of_schema_5_keeps_its_persons_and_its_hubs_outbox_when_the_index_moves_apart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let db = Sqlite::open(&path).unwrap();
        // Schema 5 as it was: the hetu the table's primary key.
        db.conn
            .execute_batch(
                "DROP TABLE person;
                 CREATE TABLE person (hetu TEXT PRIMARY KEY, groups TEXT NOT NULL);
                 CREATE TRIGGER outbox_insert AFTER INSERT ON person WHEN EXISTS (SELECT 1 FROM meta WHERE key = 'outbox')
                     BEGIN INSERT INTO outbox (hetu) VALUES (NEW.hetu); END;
                 PRAGMA user_version = 5;",
            )
            .unwrap();
        db.conn.execute("INSERT INTO person (hetu, groups) VALUES (?1, ?2)", [B, TEXT]).unwrap();
        db.conn.execute("INSERT INTO person (hetu, groups) VALUES (?1, ?2)", [A, OTHER]).unwrap();
        drop(db);
        let mut db = Sqlite::open(&path).unwrap();
        assert!(has_index(&db));
        assert_eq!(rows(&db), [(A.to_string(), OTHER.to_string()), (B.to_string(), TEXT.to_string())]);
        db.run(Box::new(|t| {
            t.set_meta("outbox", "1")?;
            t.save(A, TEXT)?;
            t.delete_person(B)
        }))
        .unwrap();
        let noted = db.run(Box::new(|t| t.outbox_after(0, 10))).unwrap();
        assert_eq!(noted.into_iter().map(|(_, h)| h).collect::<Vec<_>>(), [A, B]);
    }

    #[test]
    fn a_damaged_stored_person_is_an_error_naming_it_not_a_guess() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Sqlite::open(&dir.path().join("r.db")).unwrap();
        db.conn.execute("INSERT INTO person (hetu, groups) VALUES (?1, x'01ffffff')", [A]).unwrap();
        let err = db.run(Box::new(|t| t.load(A))).unwrap_err().to_string();
        assert!(err.contains("stored person cut short"), "{err}");
    }

    #[test]
    fn the_statement_journal_stays_in_memory_a_page_fits_the_cache_and_checkpoints_wait() {
        let dir = tempfile::tempdir().unwrap();
        let db = Sqlite::open(&dir.path().join("r.db")).unwrap();
        let temp_store: i64 = db.conn.query_row("PRAGMA temp_store", [], |r| r.get(0)).unwrap();
        let cache: i64 = db.conn.query_row("PRAGMA cache_size", [], |r| r.get(0)).unwrap();
        let checkpoint: i64 = db.conn.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0)).unwrap();
        assert_eq!((temp_store, cache, checkpoint), (2, CACHE_KIB, WAL_AUTOCHECKPOINT_PAGES));
    }
}
