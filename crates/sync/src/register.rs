//! The recipient's local register on SQLite: persons by hetu with the
//! groups the permit gives, the sync position, hetu history, and the log
//! of every look-up (kept five years, append-only).
//!
//! Everything a page of the service's answer changes, and the position
//! after it, commit in one transaction: a kill at any moment loses nothing
//! and applies nothing twice.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde::Serialize;
use thiserror::Error;
use vtj_api::wire::{Change, ChangeLaji, PersonRecord};
use vtj_core::{ChangeKind, GroupChange, GroupName, GroupValue};

pub type Groups = BTreeMap<GroupName, GroupValue>;

#[derive(Debug, Error)]
pub enum RegisterError {
    #[error("register database: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("register data: {0}")]
    Codec(#[from] serde_json::Error),
    #[error("register schema version {0} is newer than this program knows")]
    SchemaTooNew(i64),
    #[error("the register belongs to {found}, not {wanted}; use another register file")]
    OtherSource { found: String, wanted: String },
    #[error("malformed change from the service: {0}")]
    Malformed(String),
}

const SCHEMA: &[&str] = &[r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE person (
        hetu   TEXT PRIMARY KEY,
        groups TEXT NOT NULL
    );
    -- Earlier hetus of persons whose hetu was corrected.
    CREATE TABLE hetu_history (
        old_hetu TEXT PRIMARY KEY,
        hetu     TEXT NOT NULL
    );
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
"#];

/// Where the register stands with the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// Nothing loaded yet.
    New,
    /// An initial load under way: its snapshot cursor and where to continue.
    Loading { snapshot: i64, jatkoavain: String },
    /// Following changes after this cursor.
    Following { cursor: i64 },
}

/// Counts kept in the register, so a run's report survives restarts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    pub persons_loaded: u64,
    pub changes_applied: u64,
    pub censored: u64,
    pub removed: u64,
}

pub struct Register {
    conn: Connection,
}

impl Register {
    pub fn open(path: &Path) -> Result<Register, RegisterError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if found > SCHEMA.len() as i64 {
            return Err(RegisterError::SchemaTooNew(found));
        }
        for (i, step) in SCHEMA.iter().enumerate().skip(found as usize) {
            conn.execute_batch(&format!("BEGIN; {step}; PRAGMA user_version = {}; COMMIT;", i + 1))?;
        }
        Ok(Register { conn })
    }

    /// Binds the register to one service and permit, refusing another.
    pub fn bind(&mut self, source: &str) -> Result<(), RegisterError> {
        match self.meta("source")? {
            Some(found) if found != source => Err(RegisterError::OtherSource { found, wanted: source.into() }),
            Some(_) => Ok(()),
            None => {
                self.conn.execute("INSERT INTO meta (key, value) VALUES ('source', ?1)", [source])?;
                Ok(())
            }
        }
    }

    fn meta(&self, key: &str) -> Result<Option<String>, RegisterError> {
        Ok(self.conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    }

    pub fn scope(&self) -> Result<Option<String>, RegisterError> {
        self.meta("scope")
    }

    pub fn set_scope(&mut self, scope: &str) -> Result<(), RegisterError> {
        set_meta(&self.conn, "scope", scope)
    }

    pub fn position(&self) -> Result<Position, RegisterError> {
        let num = |k: &str| -> Result<Option<i64>, RegisterError> {
            self.meta(k)?
                .map(|v| v.parse().map_err(|_| RegisterError::Malformed(format!("meta {k} = {v}"))))
                .transpose()
        };
        if let Some(cursor) = num("cursor")? {
            return Ok(Position::Following { cursor });
        }
        match (num("snapshot")?, self.meta("jatkoavain")?) {
            (Some(snapshot), Some(jatkoavain)) => Ok(Position::Loading { snapshot, jatkoavain }),
            _ => Ok(Position::New),
        }
    }

    /// The cursor changes have been followed from since the initial load.
    pub fn loaded_at(&self) -> Result<Option<i64>, RegisterError> {
        Ok(self.meta("loaded_at")?.and_then(|v| v.parse().ok()))
    }

    pub fn counters(&self) -> Result<Counters, RegisterError> {
        let n = |k: &str| -> Result<u64, RegisterError> { Ok(self.meta(k)?.and_then(|v| v.parse().ok()).unwrap_or(0)) };
        Ok(Counters {
            persons_loaded: n("persons_loaded")?,
            changes_applied: n("changes_applied")?,
            censored: n("censored")?,
            removed: n("removed")?,
        })
    }

    fn write(&mut self) -> Result<Transaction<'_>, RegisterError> {
        Ok(self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?)
    }

    /// Stores one page of an initial load and where the load continues
    /// (`None`: it is complete and changes follow from `snapshot`).
    pub fn store_initial_page(
        &mut self,
        persons: &[PersonRecord],
        snapshot: i64,
        next: Option<&str>,
    ) -> Result<(), RegisterError> {
        let tx = self.write()?;
        for p in persons {
            put_record(&tx, p)?;
        }
        bump(&tx, "persons_loaded", persons.len() as u64)?;
        match next {
            Some(j) => {
                set_meta(&tx, "snapshot", &snapshot.to_string())?;
                set_meta(&tx, "jatkoavain", j)?;
            }
            None => {
                tx.execute("DELETE FROM meta WHERE key IN ('snapshot', 'jatkoavain')", [])?;
                set_meta(&tx, "cursor", &snapshot.to_string())?;
                set_meta(&tx, "loaded_at", &snapshot.to_string())?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Stores persons delivered outside paging (a hetu-list addition) and,
    /// if the register has no position yet, starts following from `cursor`.
    pub fn store_listed(&mut self, persons: &[PersonRecord], cursor: i64) -> Result<(), RegisterError> {
        let new = self.position()? == Position::New;
        let tx = self.write()?;
        for p in persons {
            put_record(&tx, p)?;
        }
        bump(&tx, "persons_loaded", persons.len() as u64)?;
        if new {
            set_meta(&tx, "cursor", &cursor.to_string())?;
            set_meta(&tx, "loaded_at", &cursor.to_string())?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Applies one page of changes and moves the cursor, atomically.
    pub fn apply_page(&mut self, changes: &[Change], last: i64) -> Result<(), RegisterError> {
        let tx = self.write()?;
        let mut c = Counters::default();
        for ch in changes {
            apply_change(&tx, ch, &mut c)?;
        }
        bump(&tx, "changes_applied", changes.len() as u64)?;
        bump(&tx, "censored", c.censored)?;
        bump(&tx, "removed", c.removed)?;
        set_meta(&tx, "cursor", &last.to_string())?;
        tx.commit()?;
        Ok(())
    }

    /// Ends customership: deletes the persons' data (under any hetu they had).
    pub fn remove(&mut self, hetus: &[String]) -> Result<usize, RegisterError> {
        let tx = self.write()?;
        let mut n = 0;
        for h in hetus {
            let current = resolve(&tx, h)?;
            n += tx.execute("DELETE FROM person WHERE hetu = ?1", [&current])?;
            tx.execute("DELETE FROM hetu_history WHERE hetu = ?1", [&current])?;
        }
        bump(&tx, "removed", n as u64)?;
        tx.commit()?;
        Ok(n)
    }

    /// A person's data by any hetu they had, logged as a look-up.
    pub fn lookup(&mut self, hetu: &str, who: &str, purpose: &str) -> Result<Option<(String, Groups)>, RegisterError> {
        let tx = self.write()?;
        log_access(&tx, who, purpose, "lookup", &[hetu.to_string()])?;
        let current = resolve(&tx, hetu)?;
        let found = load(&tx, &current)?.map(|g| (current, g));
        tx.commit()?;
        Ok(found)
    }

    /// Every person, logged as one export (with every hetu exported).
    pub fn export(&mut self, who: &str, purpose: &str) -> Result<Vec<(String, Groups)>, RegisterError> {
        let tx = self.write()?;
        let all = all_persons(&tx)?;
        log_access(&tx, who, purpose, "export", &all.iter().map(|(h, _)| h.clone()).collect::<Vec<_>>())?;
        tx.commit()?;
        Ok(all)
    }

    /// Every person, unlogged: for verification inside this program only.
    pub fn snapshot(&self) -> Result<BTreeMap<String, Groups>, RegisterError> {
        Ok(all_persons(&self.conn)?.into_iter().collect())
    }

    pub fn access_log(&self) -> Result<Vec<(String, String, String, String, Vec<String>)>, RegisterError> {
        let mut stmt = self.conn.prepare("SELECT at, who, purpose, action, hetus FROM access_log ORDER BY seq")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get::<_, String>(4)?)))?;
        rows.map(|r| {
            let (at, who, purpose, action, hetus) = r?;
            Ok((at, who, purpose, action, serde_json::from_str(&hetus)?))
        })
        .collect()
    }

    /// Deletes look-up log entries older than five years.
    pub fn prune_access_log(&mut self, cutoff: &str) -> Result<usize, RegisterError> {
        Ok(self.conn.execute("DELETE FROM access_log WHERE at < ?1", [cutoff])?)
    }
}

fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<(), RegisterError> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

fn bump(conn: &Connection, key: &str, by: u64) -> Result<(), RegisterError> {
    if by == 0 {
        return Ok(());
    }
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + CAST(excluded.value AS INTEGER)",
        params![key, by.to_string()],
    )?;
    Ok(())
}

fn log_access(
    conn: &Connection,
    who: &str,
    purpose: &str,
    action: &str,
    hetus: &[String],
) -> Result<(), RegisterError> {
    let at = vtj_store_time();
    conn.execute(
        "INSERT INTO access_log (at, who, purpose, action, hetus) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![at, who, purpose, action, serde_json::to_string(hetus)?],
    )?;
    Ok(())
}

fn vtj_store_time() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// The current hetu of whoever `hetu` is or was.
fn resolve(conn: &Connection, hetu: &str) -> Result<String, RegisterError> {
    let newer: Option<String> =
        conn.query_row("SELECT hetu FROM hetu_history WHERE old_hetu = ?1", [hetu], |r| r.get(0)).optional()?;
    Ok(newer.unwrap_or_else(|| hetu.to_string()))
}

fn load(conn: &Connection, hetu: &str) -> Result<Option<Groups>, RegisterError> {
    let json: Option<String> =
        conn.query_row("SELECT groups FROM person WHERE hetu = ?1", [hetu], |r| r.get(0)).optional()?;
    Ok(json.map(|j| serde_json::from_str(&j)).transpose()?)
}

fn save(conn: &Connection, hetu: &str, groups: &Groups) -> Result<(), RegisterError> {
    conn.execute(
        "INSERT INTO person (hetu, groups) VALUES (?1, ?2) ON CONFLICT (hetu) DO UPDATE SET groups = excluded.groups",
        params![hetu, serde_json::to_string(groups)?],
    )?;
    Ok(())
}

fn all_persons(conn: &Connection) -> Result<Vec<(String, Groups)>, RegisterError> {
    let mut stmt = conn.prepare("SELECT hetu, groups FROM person ORDER BY hetu")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    rows.map(|r| {
        let (h, g) = r?;
        Ok((h, serde_json::from_str(&g)?))
    })
    .collect()
}

fn put_record(conn: &Connection, p: &PersonRecord) -> Result<(), RegisterError> {
    let mut groups = Groups::new();
    apply_groups(&mut groups, &p.tietoryhmat, &mut 0)?;
    save(conn, &p.henkilotunnus, &groups)
}

fn apply_groups(groups: &mut Groups, changes: &[GroupChange], censored: &mut u64) -> Result<(), RegisterError> {
    for g in changes {
        match (g.muutos, &g.arvo) {
            (ChangeKind::Added | ChangeKind::Changed, Some(v)) if v.name() == g.tietoryhma => {
                groups.insert(g.tietoryhma, v.clone());
            }
            (ChangeKind::Removed, None) => {
                groups.remove(&g.tietoryhma);
            }
            // Delete at once what may no longer be held.
            (ChangeKind::Censored, None) => {
                groups.remove(&g.tietoryhma);
                *censored += 1;
            }
            other => return Err(RegisterError::Malformed(format!("{}: {other:?}", g.tietoryhma))),
        }
    }
    Ok(())
}

fn apply_change(conn: &Connection, c: &Change, counters: &mut Counters) -> Result<(), RegisterError> {
    if c.laji == ChangeLaji::Enter {
        let mut groups = Groups::new();
        apply_groups(&mut groups, &c.tietoryhmat, &mut counters.censored)?;
        return save(conn, &c.henkilotunnus, &groups);
    }
    let mut groups = match load(conn, &c.henkilotunnus)? {
        Some(g) => g,
        None => rekey(conn, c)?.unwrap_or_default(),
    };
    apply_groups(&mut groups, &c.tietoryhmat, &mut counters.censored)?;
    if c.laji == ChangeLaji::Leave {
        // Out of scope: nothing of the person may be kept.
        conn.execute("DELETE FROM person WHERE hetu = ?1", [&c.henkilotunnus])?;
        conn.execute("DELETE FROM hetu_history WHERE hetu = ?1", [&c.henkilotunnus])?;
        counters.removed += 1;
    } else {
        save(conn, &c.henkilotunnus, &groups)?;
    }
    Ok(())
}

/// A change under a hetu the register does not hold: if it corrects an
/// earlier hetu the register holds, move the person to the new hetu and
/// remember the old one.
fn rekey(conn: &Connection, c: &Change) -> Result<Option<Groups>, RegisterError> {
    let earlier: Vec<String> = c
        .tietoryhmat
        .iter()
        .filter_map(|g| match &g.arvo {
            Some(GroupValue::HenkilotunnusKorjaus(k)) => {
                Some(k.aiemmat_henkilotunnukset.iter().map(|h| h.to_string()).collect::<Vec<_>>())
            }
            _ => None,
        })
        .flatten()
        .collect();
    for old in &earlier {
        if let Some(groups) = load(conn, old)? {
            conn.execute("DELETE FROM person WHERE hetu = ?1", [old])?;
            conn.execute("UPDATE hetu_history SET hetu = ?1 WHERE hetu = ?2", params![c.henkilotunnus, old])?;
            for o in &earlier {
                conn.execute(
                    "INSERT INTO hetu_history (old_hetu, hetu) VALUES (?1, ?2)
                     ON CONFLICT (old_hetu) DO UPDATE SET hetu = excluded.hetu",
                    params![o, c.henkilotunnus],
                )?;
            }
            return Ok(Some(groups));
        }
    }
    Ok(None)
}
