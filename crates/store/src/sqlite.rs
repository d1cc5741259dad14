//! The embedded default backend: one SQLite file in WAL mode.
//!
//! SQLite serialises writers, so cursors become visible in the order they
//! were assigned: the out-of-order-commit hazard of DESIGN.md rule 3 cannot
//! arise here (the PostgreSQL backend must handle it explicitly).

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use time::Date;
use vtj_core::date::ymd;
use vtj_core::{Event, Hetu, Permit, Person, PersonId};

use crate::batch::Touched;
use crate::migrations;
use crate::{decode_person, summarise, Cursor, LogEntry, LogSummary, LoggedChange, PersonFilter, Store, StoreError};

/// The share of the country's residents from which an area's persons are
/// read in id order rather than through the municipality index: a page of
/// such an area scans at most five times its size, while sorting the ids
/// of a fifth of the nation for every page would cost more.
const WIDE_AREA: f64 = 0.2;

/// The newest cursor: the log's, or the epoch's base before its first change.
const LAST_CURSOR: &str = "SELECT MAX(COALESCE((SELECT MAX(cursor) FROM change_log), 0),
                COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'log.base'), 0))";

/// The first cursor registered after a day. By the day's index: left to
/// itself SQLite answers a `MIN` of the row id by walking the log from its
/// first row until one is later, which for today (every sync's first call)
/// is the whole log, whole persons and all (0.46 s at 163 k changes).
const CURSOR_AFTER_DAY: &str =
    "SELECT MIN(cursor) FROM change_log INDEXED BY change_log_registered WHERE registered > ?1";

pub struct SqliteStore {
    pub(crate) conn: Connection,
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        Self::init(conn)
    }

    pub fn open_in_memory() -> Result<SqliteStore, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<SqliteStore, StoreError> {
        // FULL: a committed change must survive a power cut, not only a crash.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let mut store = SqliteStore { conn };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let known = migrations::SQLITE.len() as i64;
        let found: i64 = self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if found > known {
            return Err(StoreError::SchemaTooNew { found, known });
        }
        for (i, step) in migrations::SQLITE.iter().enumerate().skip(found as usize) {
            if i + 1 == migrations::FORMAT_CHANGED_AT && found > 0 {
                let holds: bool = self.conn.query_row(migrations::HOLDS_DATA, [], |r| r.get(0))?;
                if holds {
                    return Err(StoreError::Refused(migrations::OLD_FORMAT.into()));
                }
            }
            let tx = self.write_tx()?;
            tx.execute_batch(step)?;
            if i + 1 == migrations::AUDIT_TREE_AT {
                crate::sqlite_access::audit_catch_up(&tx)?;
            }
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// A write transaction that takes the write lock at BEGIN. A deferred
    /// one that reads first fails at once with SQLITE_BUSY (no waiting) when
    /// another connection committed in between; IMMEDIATE waits its turn
    /// under the busy timeout instead.
    pub(crate) fn write_tx(&mut self) -> Result<Transaction<'_>, StoreError> {
        Ok(self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?)
    }

    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Log entries with both persons, those `rest` (a `WHERE` clause and
    /// more) selects.
    fn entries(&self, rest: &str, params: impl rusqlite::Params) -> Result<Vec<LogEntry>, StoreError> {
        let mut stmt =
            self.conn.prepare_cached(&format!("SELECT cursor, event, before, after FROM change_log {rest}"))?;
        let rows = stmt.query_map(params, |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?, r.get::<_, String>(3)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (cursor, event, before, after) = row?;
            out.push(LogEntry {
                cursor: Cursor(cursor),
                event: serde_json::from_str(&event)?,
                before: before.as_deref().map(decode_person).transpose()?,
                after: decode_person(&after)?,
            });
        }
        Ok(out)
    }
}

fn load_person(conn: &Connection, id: PersonId) -> Result<Option<Person>, StoreError> {
    let json: Option<String> = conn
        .prepare_cached("SELECT data FROM person WHERE id = ?1")?
        .query_row([id.0 as i64], |r| r.get(0))
        .optional()?;
    json.as_deref().map(decode_person).transpose()
}

/// The person holding `hetu`, in force or earlier.
fn load_by_hetu(conn: &Connection, hetu: Hetu) -> Result<Option<Person>, StoreError> {
    match hetu_owner(conn, hetu)? {
        Some(id) => load_person(conn, id),
        None => Ok(None),
    }
}

fn hetu_owner(conn: &Connection, hetu: Hetu) -> Result<Option<PersonId>, StoreError> {
    let id: Option<i64> = conn
        .prepare_cached("SELECT person_id FROM hetu WHERE hetu = ?1")?
        .query_row([hetu.as_str()], |r| r.get(0))
        .optional()?;
    Ok(id.map(|i| PersonId(i as u64)))
}

fn ensure_hetus_free(conn: &Connection, p: &Person) -> Result<(), StoreError> {
    for hetu in p.all_hetus() {
        if hetu_owner(conn, hetu)?.is_some_and(|owner| owner != p.id) {
            return Err(StoreError::HetuInUse(hetu));
        }
    }
    Ok(())
}

/// Records that `hetu` is (or was) `person`'s. Callers check ownership
/// first with `ensure_hetus_free`, before the person row changes.
fn claim_hetu(tx: &Transaction<'_>, hetu: Hetu, person: PersonId, active: bool) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO hetu (hetu, person_id, active) VALUES (?1, ?2, ?3)
         ON CONFLICT (hetu) DO UPDATE SET active = excluded.active",
    )?
    .execute(params![hetu.as_str(), person.0 as i64, active])?;
    Ok(())
}

fn upsert_person(tx: &Transaction<'_>, p: &Person) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO person (id, hetu, kotikunta, turvakielto, data) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET hetu = excluded.hetu, kotikunta = excluded.kotikunta,
             turvakielto = excluded.turvakielto, data = excluded.data",
    )?
    .execute(params![
        p.id.0 as i64,
        p.hetu().as_str(),
        p.kotikunta().map(|k| k.number()),
        p.has_turvakielto(),
        serde_json::to_string(p)?
    ])?;
    Ok(())
}

fn store_hetus(tx: &Transaction<'_>, before: Option<&Person>, after: &Person) -> Result<(), StoreError> {
    if before.is_some_and(|b| b.hetu() == after.hetu()) {
        return Ok(());
    }
    tx.prepare_cached("UPDATE hetu SET active = 0 WHERE person_id = ?1")?.execute([after.id.0 as i64])?;
    claim_hetu(tx, after.hetu(), after.id, true)
}

impl Store for SqliteStore {
    fn insert_population(&mut self, persons: &[Person]) -> Result<(), StoreError> {
        let tx = self.write_tx()?;
        let used: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM change_log)", [], |r| r.get(0))?;
        if used {
            return Err(StoreError::LogNotEmpty);
        }
        for p in persons {
            if load_person(&tx, p.id)?.is_some() {
                return Err(StoreError::PersonExists(p.id));
            }
            ensure_hetus_free(&tx, p)?;
            upsert_person(&tx, p)?;
            for (i, h) in p.all_hetus().into_iter().enumerate() {
                claim_hetu(&tx, h, p.id, i == 0)?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn append_with_meta(&mut self, events: &[Event], meta: &[(&str, &str)]) -> Result<Vec<Cursor>, StoreError> {
        let tx = self.write_tx()?;
        let mut cursors = Vec::with_capacity(events.len());
        let mut touched = Touched::default();
        for (index, event) in events.iter().enumerate() {
            let before = load_person(&tx, event.person)?;
            let after =
                vtj_core::apply(before.as_ref(), event).map_err(|source| StoreError::Event { index, source })?;
            touched.record(index, &event.tapahtuma, before.as_ref(), &after);
            ensure_hetus_free(&tx, &after)?;
            upsert_person(&tx, &after)?;
            store_hetus(&tx, before.as_ref(), &after)?;
            tx.prepare_cached(
                "INSERT INTO change_log (person_id, registered, kind, event, before, after)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                event.person.0 as i64,
                ymd(event.rekisterointipaiva),
                event.tapahtuma.wire_name(),
                serde_json::to_string(event)?,
                before.as_ref().map(serde_json::to_string).transpose()?,
                serde_json::to_string(&after)?,
            ])?;
            let cursor = tx.last_insert_rowid();
            tx.prepare_cached("INSERT INTO change_summary (cursor, delta) VALUES (?1, ?2)")?
                .execute(params![cursor, summarise(before.as_ref(), &after, event)?])?;
            cursors.push(Cursor(cursor));
        }
        touched.check_relations(|hetus| {
            let mut out = HashMap::with_capacity(hetus.len());
            for &h in hetus {
                if let Some(person) = load_by_hetu(&tx, h)? {
                    out.insert(h, person);
                }
            }
            Ok(out)
        })?;
        for (key, value) in meta {
            tx.prepare_cached(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![key, value])?;
        }
        tx.commit()?;
        Ok(cursors)
    }

    fn person(&self, id: PersonId) -> Result<Option<Person>, StoreError> {
        load_person(&self.conn, id)
    }

    fn person_by_hetu(&self, hetu: Hetu) -> Result<Option<Person>, StoreError> {
        load_by_hetu(&self.conn, hetu)
    }

    fn hetu_exists(&self, hetu: Hetu) -> Result<bool, StoreError> {
        Ok(hetu_owner(&self.conn, hetu)?.is_some())
    }

    fn person_ids(&self, hetus: &[Hetu]) -> Result<std::collections::HashMap<Hetu, PersonId>, StoreError> {
        let mut out = std::collections::HashMap::with_capacity(hetus.len());
        for &h in hetus {
            if let Some(id) = hetu_owner(&self.conn, h)? {
                out.insert(h, id);
            }
        }
        Ok(out)
    }

    fn persons(&self, filter: PersonFilter<'_>, after: PersonId, limit: usize) -> Result<Vec<Person>, StoreError> {
        let limit = limit as i64;
        let after = after.0 as i64;
        let simple = |sql: &str| -> Result<Vec<String>, StoreError> {
            Ok(self
                .conn
                .prepare_cached(sql)?
                .query_map(params![after, limit], |r| r.get(0))?
                .collect::<Result<_, _>>()?)
        };
        let rows: Vec<String> = match filter {
            PersonFilter::All => simple("SELECT data FROM person WHERE id > ?1 ORDER BY id LIMIT ?2")?,
            PersonFilter::Turvakielto => {
                simple("SELECT data FROM person WHERE turvakielto AND id > ?1 ORDER BY id LIMIT ?2")?
            }
            PersonFilter::Kunnat(kunnat) => {
                // The set is a few hundred codes at most; carried as JSON so
                // one prepared statement serves every permit. Left to itself,
                // SQLite reads every remaining resident of the area through
                // the (kotikunta, id) index, data and all, and sorts them by
                // id for each page. A wide area is read in id order instead,
                // a page ending after `limit` of its residents (`+` keeps the
                // index out); a narrow one takes the page's ids from the
                // index, where sorting the area's ids is cheap, and only then
                // the data of those.
                let codes = serde_json::to_string(&kunnat.iter().map(|k| k.number()).collect::<Vec<u16>>())?;
                let sql = if vtj_core::kunta::resident_share(kunnat) >= WIDE_AREA {
                    "SELECT data FROM person
                     WHERE id > ?1 AND +kotikunta IN (SELECT value FROM json_each(?2))
                     ORDER BY id LIMIT ?3"
                } else {
                    "SELECT data FROM person WHERE id IN (
                         SELECT id FROM person
                         WHERE id > ?1 AND kotikunta IN (SELECT value FROM json_each(?2))
                         ORDER BY id LIMIT ?3)
                     ORDER BY id"
                };
                self.conn
                    .prepare_cached(sql)?
                    .query_map(params![after, codes, limit], |r| r.get(0))?
                    .collect::<Result<_, _>>()?
            }
        };
        rows.iter().map(|j| decode_person(j)).collect()
    }

    fn person_count(&self) -> Result<u64, StoreError> {
        Ok(self.conn.query_row("SELECT COUNT(*) FROM person", [], |r| r.get::<_, i64>(0))? as u64)
    }

    fn max_person_id(&self) -> Result<PersonId, StoreError> {
        Ok(PersonId(self.conn.query_row("SELECT COALESCE(MAX(id), 0) FROM person", [], |r| r.get::<_, i64>(0))? as u64))
    }

    fn changes_since(&self, after: Cursor, limit: usize) -> Result<Vec<LogEntry>, StoreError> {
        self.entries("WHERE cursor > ?1 ORDER BY cursor LIMIT ?2", params![after.0, limit as i64])
    }

    fn summaries_since(&self, after: Cursor, limit: usize) -> Result<Vec<LoggedChange>, StoreError> {
        // The persons are read only for a row without a summary.
        let mut stmt = self.conn.prepare_cached(
            "SELECT l.cursor, l.registered, s.delta,
                    CASE WHEN s.delta IS NULL THEN l.kind END,
                    CASE WHEN s.delta IS NULL THEN l.before END,
                    CASE WHEN s.delta IS NULL THEN l.after END
             FROM change_log l LEFT JOIN change_summary s ON s.cursor = l.cursor
             WHERE l.cursor > ?1 ORDER BY l.cursor LIMIT ?2",
        )?;
        let mut rows = stmt.query(params![after.0, limit as i64])?;
        let mut out = Vec::with_capacity(limit.min(4_096));
        while let Some(r) = rows.next()? {
            let text = |i| r.get_ref(i).and_then(|v| v.as_str_or_null().map_err(Into::into));
            let (before, after) = (text(4)?, text(5)?);
            out.push(LoggedChange::from_row(
                r.get(0)?,
                text(1)?.unwrap_or_default(),
                r.get_ref(2).and_then(|v| v.as_blob_or_null().map_err(Into::into))?,
                text(3)?,
                after.map(|a| (before, a)),
            )?);
        }
        Ok(out)
    }

    fn change(&self, cursor: Cursor) -> Result<Option<LogEntry>, StoreError> {
        Ok(self.entries("WHERE cursor = ?1", params![cursor.0])?.pop())
    }

    fn last_cursor(&self) -> Result<Cursor, StoreError> {
        Ok(Cursor(self.conn.prepare_cached(LAST_CURSOR)?.query_row([], |r| r.get(0))?))
    }

    fn begin_epoch(&mut self, base: i64) -> Result<(), StoreError> {
        let tx = self.write_tx()?;
        let last: i64 = tx.query_row(LAST_CURSOR, [], |r| r.get(0))?;
        if base <= last {
            return Err(StoreError::Refused(format!(
                "a new epoch must start above the newest cursor {last}, not at {base}"
            )));
        }
        tx.execute("DELETE FROM sqlite_sequence WHERE name = 'change_log'", [])?;
        tx.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('change_log', ?1)", [base])?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![crate::EPOCH_BASE, base.to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn cursor_at(&self, date: Date) -> Result<Cursor, StoreError> {
        // The cursor just before the first change registered after `date`,
        // so that nothing registered later can hide below it.
        let first_later: Option<i64> =
            self.conn.prepare_cached(CURSOR_AFTER_DAY)?.query_row([ymd(date)], |r| r.get(0))?;
        match first_later {
            Some(c) => Ok(Cursor(c - 1)),
            None => self.last_cursor(),
        }
    }

    fn put_permit(&mut self, permit: &Permit) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO permit (tunnus, data) VALUES (?1, ?2)
             ON CONFLICT (tunnus) DO UPDATE SET data = excluded.data",
            params![permit.tunnus, serde_json::to_string(permit)?],
        )?;
        Ok(())
    }

    fn permit(&self, tunnus: &str) -> Result<Option<Permit>, StoreError> {
        let json: Option<String> =
            self.conn.query_row("SELECT data FROM permit WHERE tunnus = ?1", [tunnus], |r| r.get(0)).optional()?;
        Ok(json.as_deref().map(serde_json::from_str).transpose()?)
    }

    fn permits(&self) -> Result<Vec<Permit>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT data FROM permit ORDER BY tunnus")?;
        let rows: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
        rows.iter().map(|j| Ok(serde_json::from_str(j)?)).collect()
    }

    fn hetu_list_add(&mut self, permit: &str, hetus: &[Hetu]) -> Result<usize, StoreError> {
        let tx = self.write_tx()?;
        require_permit(&tx, permit)?;
        let mut added = 0;
        for h in hetus {
            added += tx
                .prepare_cached("INSERT OR IGNORE INTO hetu_list (permit, hetu) VALUES (?1, ?2)")?
                .execute(params![permit, h.as_str()])?;
        }
        tx.commit()?;
        Ok(added)
    }

    fn hetu_list_remove(&mut self, permit: &str, hetus: &[Hetu]) -> Result<usize, StoreError> {
        let tx = self.write_tx()?;
        require_permit(&tx, permit)?;
        let mut removed = 0;
        for h in hetus {
            removed += tx
                .prepare_cached("DELETE FROM hetu_list WHERE permit = ?1 AND hetu = ?2")?
                .execute(params![permit, h.as_str()])?;
        }
        tx.commit()?;
        Ok(removed)
    }

    fn hetu_list(&self, permit: &str) -> Result<Vec<Hetu>, StoreError> {
        require_permit(&self.conn, permit)?;
        let mut stmt = self.conn.prepare_cached("SELECT hetu FROM hetu_list WHERE permit = ?1 ORDER BY hetu")?;
        let rows: Vec<String> = stmt.query_map([permit], |r| r.get(0))?.collect::<Result<_, _>>()?;
        rows.iter().map(|s| crate::stored_hetu(s)).collect()
    }

    fn on_hetu_list(&self, permit: &str, person: PersonId) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM hetu_list l JOIN hetu h ON h.hetu = l.hetu
                            WHERE l.permit = ?1 AND h.person_id = ?2)",
            )?
            .query_row(params![permit, person.0 as i64], |r| r.get(0))?)
    }

    fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    fn summary(&self) -> Result<LogSummary, StoreError> {
        let c = &self.conn;
        let (changes, first, last, first_date, last_date) = c.query_row(
            "SELECT COUNT(*), MIN(cursor), MAX(cursor), MIN(registered), MAX(registered) FROM change_log",
            [],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            },
        )?;
        let mut stmt = c.prepare("SELECT kind, COUNT(*) AS n FROM change_log GROUP BY kind ORDER BY n DESC, kind")?;
        let by_kind = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))?
            .collect::<Result<_, _>>()?;
        let turvakielto: i64 = c.query_row("SELECT COUNT(*) FROM person WHERE turvakielto", [], |r| r.get(0))?;
        Ok(LogSummary {
            persons: self.person_count()?,
            changes: changes as u64,
            first_cursor: first.map(Cursor),
            last_cursor: last.map(Cursor),
            first_date,
            last_date,
            by_kind,
            turvakielto_in_force: turvakielto as u64,
        })
    }
}

fn require_permit(conn: &Connection, permit: &str) -> Result<(), StoreError> {
    let exists: bool =
        conn.query_row("SELECT EXISTS (SELECT 1 FROM permit WHERE tunnus = ?1)", [permit], |r| r.get(0))?;
    if exists {
        Ok(())
    } else {
        Err(StoreError::UnknownPermit(permit.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_of_a_day_is_found_by_the_days_index_not_by_walking_the_log() {
        let s = SqliteStore::open_in_memory().unwrap();
        let plan: Vec<String> = s
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {CURSOR_AFTER_DAY}"))
            .unwrap()
            .query_map(["20260101"], |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(plan.iter().any(|step| step.contains("USING COVERING INDEX change_log_registered")), "{plan:?}");
    }
}
