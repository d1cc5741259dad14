//! The recipient's local register: persons by hetu with the groups the
//! permit gives, the sync position, hetu history, and the log of every
//! look-up (kept five years, append-only). SQLite by default (a file path),
//! PostgreSQL by URL; both behind [`Tx`], one transaction's operations.
//!
//! Everything a page of the service's answer changes, and the position
//! after it, commit in one transaction: a kill at any moment loses nothing
//! and applies nothing twice.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use thiserror::Error;
use vtj_api::wire::{Change, ChangeLaji, PersonRecord};
use vtj_core::{ChangeKind, GroupChange, GroupName, GroupValue};

mod postgres;
mod sqlite;

pub type Groups = BTreeMap<GroupName, GroupValue>;

#[derive(Debug, Error)]
pub enum RegisterError {
    #[error("register database: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("register database (PostgreSQL): {}", pg_message(.0))]
    Postgres(#[from] ::postgres::Error),
    #[error("register data: {0}")]
    Codec(#[from] serde_json::Error),
    #[error("register schema version {0} is newer than this program knows")]
    SchemaTooNew(i64),
    #[error("the register belongs to {found}, not {wanted}; use another register")]
    OtherSource { found: String, wanted: String },
    #[error("malformed change from the service: {0}")]
    Malformed(String),
    #[error("the register's database connection is gone")]
    Disconnected,
}

/// The server's own words where there are some ("db error" says nothing).
fn pg_message(e: &::postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => e.to_string(),
    }
}

/// One transaction's operations on the register's tables.
pub(crate) trait Tx {
    fn meta(&mut self, key: &str) -> Result<Option<String>, RegisterError>;
    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), RegisterError>;
    fn delete_meta(&mut self, key: &str) -> Result<(), RegisterError>;
    fn load(&mut self, hetu: &str) -> Result<Option<String>, RegisterError>;
    fn save(&mut self, hetu: &str, groups: &str) -> Result<(), RegisterError>;
    fn delete_person(&mut self, hetu: &str) -> Result<usize, RegisterError>;
    /// The current hetu recorded for an earlier one.
    fn history_target(&mut self, old: &str) -> Result<Option<String>, RegisterError>;
    fn history_put(&mut self, old: &str, hetu: &str) -> Result<(), RegisterError>;
    fn history_retarget(&mut self, from: &str, to: &str) -> Result<(), RegisterError>;
    fn history_delete(&mut self, hetu: &str) -> Result<(), RegisterError>;
    fn log_access(&mut self, e: &AccessEntry) -> Result<(), RegisterError>;
    fn access_log(&mut self) -> Result<Vec<AccessEntry>, RegisterError>;
    fn prune_access_log(&mut self, cutoff: &str) -> Result<usize, RegisterError>;
    /// (hetu, groups JSON) of everyone, in hetu order.
    fn all(&mut self) -> Result<Vec<(String, String)>, RegisterError>;
    fn count(&mut self) -> Result<u64, RegisterError>;
}

/// One look-up of the register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessEntry {
    pub at: String,
    pub who: String,
    pub purpose: String,
    pub action: String,
    pub hetus: Vec<String>,
}

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

/// Where a register fed by delivery files stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProgress {
    /// The sequence number of the last delivery applied whole (0: none).
    pub done: u32,
    /// (sequence number, records applied) of a delivery cut off part-way.
    pub within: Option<(u32, u64)>,
    pub position: Position,
}

/// Records of one delivery file, as the REST service would have sent them.
#[derive(Debug, Clone)]
pub enum FileBatch {
    Initial(Vec<PersonRecord>),
    Changes(Vec<Change>),
}

/// Counts kept in the register, so a run's report survives restarts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    pub persons_loaded: u64,
    pub changes_applied: u64,
    pub censored: u64,
    pub removed: u64,
}

enum Db {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

pub struct Register {
    db: Db,
}

type Job<T> = Box<dyn FnOnce(&mut dyn Tx) -> Result<T, RegisterError> + Send>;

impl Register {
    /// A SQLite file.
    pub fn open(path: &Path) -> Result<Register, RegisterError> {
        Ok(Register { db: Db::Sqlite(sqlite::Sqlite::open(path)?) })
    }

    /// `postgres://...` or `postgresql://...` for PostgreSQL, anything else a SQLite file path.
    pub fn connect(spec: &str) -> Result<Register, RegisterError> {
        if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
            Ok(Register { db: Db::Postgres(postgres::Postgres::connect(spec)?) })
        } else {
            Register::open(Path::new(spec))
        }
    }

    /// Runs `f` in one write transaction: all of it commits, or none.
    fn tx<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut dyn Tx) -> Result<T, RegisterError> + Send + 'static,
    ) -> Result<T, RegisterError> {
        let job: Job<T> = Box::new(f);
        match &mut self.db {
            Db::Sqlite(db) => db.run(job),
            Db::Postgres(db) => db.run(job),
        }
    }

    /// Binds the register to one service and permit, refusing another.
    pub fn bind(&mut self, source: &str) -> Result<(), RegisterError> {
        let source = source.to_string();
        self.tx(move |t| match t.meta("source")? {
            Some(found) if found != source => Err(RegisterError::OtherSource { found, wanted: source }),
            Some(_) => Ok(()),
            None => t.set_meta("source", &source),
        })
    }

    pub fn scope(&mut self) -> Result<Option<String>, RegisterError> {
        self.tx(|t| t.meta("scope"))
    }

    pub fn set_scope(&mut self, scope: &str) -> Result<(), RegisterError> {
        let scope = scope.to_string();
        self.tx(move |t| t.set_meta("scope", &scope))
    }

    pub fn position(&mut self) -> Result<Position, RegisterError> {
        self.tx(position)
    }

    /// The cursor changes have been followed from since the initial load.
    pub fn loaded_at(&mut self) -> Result<Option<i64>, RegisterError> {
        self.tx(|t| num(t, "loaded_at"))
    }

    pub fn counters(&mut self) -> Result<Counters, RegisterError> {
        self.tx(|t| {
            Ok(Counters {
                persons_loaded: num(t, "persons_loaded")?.unwrap_or(0) as u64,
                changes_applied: num(t, "changes_applied")?.unwrap_or(0) as u64,
                censored: num(t, "censored")?.unwrap_or(0) as u64,
                removed: num(t, "removed")?.unwrap_or(0) as u64,
            })
        })
    }

    /// Stores one page of an initial load and where the load continues
    /// (`None`: it is complete and changes follow from `snapshot`).
    pub fn store_initial_page(
        &mut self,
        persons: &[PersonRecord],
        snapshot: i64,
        next: Option<&str>,
    ) -> Result<(), RegisterError> {
        let (persons, next) = (persons.to_vec(), next.map(str::to_string));
        self.tx(move |t| {
            put_records(t, &persons)?;
            match next {
                Some(j) => {
                    t.set_meta("snapshot", &snapshot.to_string())?;
                    t.set_meta("jatkoavain", &j)?;
                }
                None => {
                    t.delete_meta("snapshot")?;
                    t.delete_meta("jatkoavain")?;
                    t.set_meta("cursor", &snapshot.to_string())?;
                    t.set_meta("loaded_at", &snapshot.to_string())?;
                }
            }
            Ok(())
        })
    }

    /// Stores persons delivered outside paging (a hetu-list addition) and,
    /// if the register has no position yet, starts following from `cursor`.
    pub fn store_listed(&mut self, persons: &[PersonRecord], cursor: i64) -> Result<(), RegisterError> {
        let persons = persons.to_vec();
        self.tx(move |t| {
            let new = position(t)? == Position::New;
            put_records(t, &persons)?;
            if new {
                t.set_meta("cursor", &cursor.to_string())?;
                t.set_meta("loaded_at", &cursor.to_string())?;
            }
            Ok(())
        })
    }

    /// Applies one page of changes and moves the cursor, atomically.
    pub fn apply_page(&mut self, changes: &[Change], last: i64) -> Result<(), RegisterError> {
        let changes = changes.to_vec();
        self.tx(move |t| {
            apply_changes(t, &changes)?;
            t.set_meta("cursor", &last.to_string())
        })
    }

    /// Where file import stands: the last delivery applied whole, and how far
    /// into the next one a crash stopped.
    pub fn file_progress(&mut self) -> Result<FileProgress, RegisterError> {
        self.tx(|t| {
            let done = num(t, "file_seq")?.unwrap_or(0) as u32;
            let within = match t.meta("file_partial")? {
                None => None,
                Some(v) => {
                    let bad = || RegisterError::Malformed(format!("meta file_partial = {v}"));
                    let (seq, n) = v.split_once(':').ok_or_else(bad)?;
                    Some((seq.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?))
                }
            };
            Ok(FileProgress { done, within, position: position(t)? })
        })
    }

    /// Applies a batch of one delivery file's records and records how many
    /// of the file's records are now in, atomically.
    pub fn import_batch(&mut self, seq: u32, batch: FileBatch, applied: u64) -> Result<(), RegisterError> {
        self.tx(move |t| {
            match &batch {
                FileBatch::Initial(persons) => put_records(t, persons)?,
                FileBatch::Changes(changes) => apply_changes(t, changes)?,
            }
            t.set_meta("file_partial", &format!("{seq}:{applied}"))
        })
    }

    /// Marks delivery `seq` applied whole; the register now stands at `to`.
    pub fn import_finish(&mut self, seq: u32, to: i64, initial: bool) -> Result<(), RegisterError> {
        self.tx(move |t| {
            t.delete_meta("file_partial")?;
            t.set_meta("file_seq", &seq.to_string())?;
            t.set_meta("cursor", &to.to_string())?;
            if initial {
                t.set_meta("loaded_at", &to.to_string())?;
            }
            Ok(())
        })
    }

    /// Ends customership: deletes the persons' data (under any hetu they had).
    pub fn remove(&mut self, hetus: &[String]) -> Result<usize, RegisterError> {
        let hetus = hetus.to_vec();
        self.tx(move |t| {
            let mut n = 0;
            for h in &hetus {
                let current = resolve(t, h)?;
                n += t.delete_person(&current)?;
                t.history_delete(&current)?;
            }
            bump(t, "removed", n as u64)?;
            Ok(n)
        })
    }

    /// A person's data by any hetu they had, logged as a look-up.
    pub fn lookup(&mut self, hetu: &str, who: &str, purpose: &str) -> Result<Option<(String, Groups)>, RegisterError> {
        let entry = access(who, purpose, "lookup", vec![hetu.to_string()]);
        let hetu = hetu.to_string();
        self.tx(move |t| {
            t.log_access(&entry)?;
            let current = resolve(t, &hetu)?;
            Ok(match t.load(&current)? {
                Some(g) => Some((current, serde_json::from_str(&g)?)),
                None => None,
            })
        })
    }

    /// Every person, logged as one export (with every hetu exported).
    pub fn export(&mut self, who: &str, purpose: &str) -> Result<Vec<(String, Groups)>, RegisterError> {
        let (who, purpose) = (who.to_string(), purpose.to_string());
        self.tx(move |t| {
            let all = decode_all(t.all()?)?;
            t.log_access(&access(&who, &purpose, "export", all.iter().map(|(h, _)| h.clone()).collect()))?;
            Ok(all)
        })
    }

    /// Every person, unlogged: for verification inside this program only.
    /// How many persons the register holds.
    pub fn held(&mut self) -> Result<u64, RegisterError> {
        self.tx(|t| t.count())
    }

    pub fn snapshot(&mut self) -> Result<BTreeMap<String, Groups>, RegisterError> {
        self.tx(|t| Ok(decode_all(t.all()?)?.into_iter().collect()))
    }

    pub fn access_log(&mut self) -> Result<Vec<AccessEntry>, RegisterError> {
        self.tx(|t| t.access_log())
    }

    /// Deletes look-up log entries recorded before `cutoff`; younger than
    /// five years they are refused by the database itself.
    pub fn prune_access_log(&mut self, cutoff: &str) -> Result<usize, RegisterError> {
        let cutoff = cutoff.to_string();
        self.tx(move |t| t.prune_access_log(&cutoff))
    }
}

fn num(t: &mut dyn Tx, key: &str) -> Result<Option<i64>, RegisterError> {
    t.meta(key)?.map(|v| v.parse().map_err(|_| RegisterError::Malformed(format!("meta {key} = {v}")))).transpose()
}

fn position(t: &mut dyn Tx) -> Result<Position, RegisterError> {
    if let Some(cursor) = num(t, "cursor")? {
        return Ok(Position::Following { cursor });
    }
    match (num(t, "snapshot")?, t.meta("jatkoavain")?) {
        (Some(snapshot), Some(jatkoavain)) => Ok(Position::Loading { snapshot, jatkoavain }),
        _ => Ok(Position::New),
    }
}

fn bump(t: &mut dyn Tx, key: &str, by: u64) -> Result<(), RegisterError> {
    if by > 0 {
        let now = num(t, key)?.unwrap_or(0);
        t.set_meta(key, &(now + by as i64).to_string())?;
    }
    Ok(())
}

pub(crate) fn now() -> String {
    vtj_core::date::utc_millis(time::OffsetDateTime::now_utc())
}

fn access(who: &str, purpose: &str, action: &str, hetus: Vec<String>) -> AccessEntry {
    AccessEntry { at: now(), who: who.into(), purpose: purpose.into(), action: action.into(), hetus }
}

fn decode_all(rows: Vec<(String, String)>) -> Result<Vec<(String, Groups)>, RegisterError> {
    rows.into_iter().map(|(h, g)| Ok((h, serde_json::from_str(&g)?))).collect()
}

/// The current hetu of whoever `hetu` is or was.
fn resolve(t: &mut dyn Tx, hetu: &str) -> Result<String, RegisterError> {
    Ok(t.history_target(hetu)?.unwrap_or_else(|| hetu.to_string()))
}

fn load(t: &mut dyn Tx, hetu: &str) -> Result<Option<Groups>, RegisterError> {
    Ok(t.load(hetu)?.map(|j| serde_json::from_str(&j)).transpose()?)
}

fn save(t: &mut dyn Tx, hetu: &str, groups: &Groups) -> Result<(), RegisterError> {
    t.save(hetu, &serde_json::to_string(groups)?)
}

/// Stores whole person records and counts them.
fn put_records(t: &mut dyn Tx, persons: &[PersonRecord]) -> Result<(), RegisterError> {
    for p in persons {
        put_record(t, p)?;
    }
    bump(t, "persons_loaded", persons.len() as u64)
}

/// Applies changes in order and counts what they did.
fn apply_changes(t: &mut dyn Tx, changes: &[Change]) -> Result<(), RegisterError> {
    let mut c = Counters::default();
    for ch in changes {
        apply_change(t, ch, &mut c)?;
    }
    bump(t, "changes_applied", changes.len() as u64)?;
    bump(t, "censored", c.censored)?;
    bump(t, "removed", c.removed)
}

fn put_record(t: &mut dyn Tx, p: &PersonRecord) -> Result<(), RegisterError> {
    let mut groups = Groups::new();
    apply_groups(&mut groups, &p.tietoryhmat, &mut 0)?;
    save(t, &p.henkilotunnus, &groups)
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

fn apply_change(t: &mut dyn Tx, c: &Change, counters: &mut Counters) -> Result<(), RegisterError> {
    if c.laji == ChangeLaji::Enter {
        let mut groups = Groups::new();
        apply_groups(&mut groups, &c.tietoryhmat, &mut counters.censored)?;
        return save(t, &c.henkilotunnus, &groups);
    }
    let mut groups = match load(t, &c.henkilotunnus)? {
        Some(g) => g,
        None => rekey(t, c)?.unwrap_or_default(),
    };
    apply_groups(&mut groups, &c.tietoryhmat, &mut counters.censored)?;
    if c.laji == ChangeLaji::Leave {
        // Out of scope: nothing of the person may be kept.
        t.delete_person(&c.henkilotunnus)?;
        t.history_delete(&c.henkilotunnus)?;
        counters.removed += 1;
        Ok(())
    } else {
        save(t, &c.henkilotunnus, &groups)
    }
}

/// A change under a hetu the register does not hold: if it corrects an
/// earlier hetu the register holds, move the person to the new hetu and
/// remember the old ones.
fn rekey(t: &mut dyn Tx, c: &Change) -> Result<Option<Groups>, RegisterError> {
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
        if let Some(groups) = load(t, old)? {
            t.delete_person(old)?;
            t.history_retarget(old, &c.henkilotunnus)?;
            for o in &earlier {
                t.history_put(o, &c.henkilotunnus)?;
            }
            return Ok(Some(groups));
        }
    }
    Ok(None)
}
