//! The PostgreSQL backend, for a national service or a county hub.
//!
//! Several service instances may append to one database. Each append takes
//! one transaction-scoped advisory lock before touching the log, so cursors
//! are assigned and committed in the same order: a reader paging from N can
//! never see N+2 while N+1 is still to commit (DESIGN.md rule 3). The audit
//! chain takes a lock of its own for the same reason.
//!
//! The blocking client must not run inside an async runtime's worker; the
//! service calls stores from its blocking pool.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::mpsc::{Receiver, SyncSender};

use postgres::{Client, GenericClient, NoTls, Row, Transaction};
use time::Date;
use vtj_core::date::ymd;
use vtj_core::{Event, Hetu, Permit, Person, PersonId};

use vtj_tlog::{Hash, Signer};

use crate::audit::{Appended, AuditEntry, AuditRecord, ChainPoint};
use crate::batch::Touched;
use crate::pg_conn::{Conn, Prepared};
use crate::pg_tree::{node, tree_size, PgTree, SeenNodes};
use crate::tree;
use crate::{
    decode_person, migrations, summarise, Access, ApiUser, AuditLog, Cursor, LogEntry, LogSummary, LoggedChange,
    PersonFilter, Recipient, Store, StoreError,
};

const LOG_LOCK: i64 = 0x0076_746a_5f6c_6f67; // "vtj_log" in ASCII
const AUDIT_LOCK: i64 = 0x0076_746a_5f61_7564; // "vtj_aud" in ASCII

pub struct PgStore {
    /// `None` only while being dropped.
    conn: RefCell<Option<Connection>>,
    /// Audit tree nodes known committed, so that a commit need not read them.
    seen: SeenNodes,
}

/// The client with the statements prepared on it: they go together.
struct Connection {
    client: Client,
    prepared: Prepared,
}

impl Drop for PgStore {
    /// Closing the blocking client runs its own runtime, which must not
    /// happen on an async worker (where a service may drop its stores):
    /// close it on a thread of its own.
    fn drop(&mut self) {
        if let Some(conn) = self.conn.get_mut().take() {
            let _ = std::thread::spawn(move || drop(conn)).join();
        }
    }
}

impl PgStore {
    /// Connects (`postgres://user@host/db` or a key=value string) and migrates.
    pub fn connect(url: &str) -> Result<PgStore, StoreError> {
        let mut client = Client::connect(url, NoTls)?;
        client.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
        // Statements prepared while the schema changes are not kept past it.
        let mut migrating = Prepared::default();
        let mut tx = client.transaction()?;
        tx.batch_execute("LOCK TABLE schema_version IN EXCLUSIVE MODE")?;
        let found: i64 = tx.query_one("SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_version", &[])?.get(0);
        let known = migrations::POSTGRES.len() as i64;
        if found > known {
            return Err(StoreError::SchemaTooNew { found, known });
        }
        for (i, step) in migrations::POSTGRES.iter().enumerate().skip(found as usize) {
            if i + 1 == migrations::FORMAT_CHANGED_AT && found > 0 && tx.query_one(migrations::HOLDS_DATA, &[])?.get(0)
            {
                return Err(StoreError::Refused(migrations::OLD_FORMAT.into()));
            }
            tx.batch_execute(step)?;
            if i + 1 == migrations::AUDIT_TREE_AT {
                audit_catch_up(&mut Conn::new(&mut tx, &mut migrating))?;
            }
            tx.execute("INSERT INTO schema_version (version) VALUES ($1)", &[&(i as i32 + 1)])?;
        }
        tx.commit()?;
        drop(migrating);
        let conn = Connection { client, prepared: Prepared::default() };
        Ok(PgStore { conn: RefCell::new(Some(conn)), seen: SeenNodes::default() })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Conn<'_, Client>) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let mut conn = self.conn.borrow_mut();
        let Connection { client, prepared } = conn.as_mut().ok_or_else(closed)?;
        f(&mut Conn::new(client, prepared))
    }

    /// Runs `f` in a transaction, committed if it returns `Ok`.
    fn in_transaction<T>(
        &mut self,
        f: impl FnOnce(&mut Conn<'_, Transaction<'_>>, &SeenNodes) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let PgStore { conn, seen } = self;
        let Connection { client, prepared } = conn.get_mut().as_mut().ok_or_else(closed)?;
        let mut tx = client.transaction()?;
        let out = f(&mut Conn::new(&mut tx, prepared), seen)?;
        tx.commit()?;
        Ok(out)
    }

    /// Log entries with both persons, as `sql` selects them.
    fn entries(
        &self,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<LogEntry>, StoreError> {
        self.with(|c| {
            c.query(sql, params)?
                .iter()
                .map(|r| {
                    Ok(LogEntry {
                        cursor: Cursor(r.get(0)),
                        event: serde_json::from_str(r.get(1))?,
                        before: r.get::<_, Option<&str>>(2).map(decode_person).transpose()?,
                        after: decode_person(r.get(3))?,
                    })
                })
                .collect()
        })
    }
}

/// COPY's text format: backslash, tab and line breaks are escaped.
fn copy_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

/// The first `key` in the staging table that the target table already has
/// or that the staging table has twice.
fn first_conflict(
    tx: &mut impl GenericClient,
    staging: &str,
    target: &str,
    key: &str,
) -> Result<Option<Row>, StoreError> {
    Ok(tx.query_opt(
        &format!(
            "SELECT {key} FROM {staging} s WHERE EXISTS (SELECT 1 FROM {target} t WHERE t.{key} = s.{key})
             UNION ALL (SELECT {key} FROM {staging} GROUP BY {key} HAVING count(*) > 1) LIMIT 1"
        ),
        &[],
    )?)
}

fn copy_in(tx: &mut impl GenericClient, statement: &str, rows: &str) -> Result<(), StoreError> {
    use std::io::Write;
    let mut w = tx.copy_in(statement)?;
    w.write_all(rows.as_bytes()).map_err(|e| StoreError::Corrupt(format!("COPY: {e}")))?;
    w.finish()?;
    Ok(())
}

/// The population through COPY into staging tables, then one set-based
/// insert: a row at a time was ~900 persons/s, too slow to load a country.
/// Conflicts are looked for before the insert so that they keep their own
/// errors.
fn insert_persons(tx: &mut impl GenericClient, persons: &[Person]) -> Result<(), StoreError> {
    tx.batch_execute(
        "CREATE TEMP TABLE person_in (id BIGINT, hetu TEXT, kotikunta INTEGER, turvakielto BOOLEAN, data TEXT)
             ON COMMIT DROP;
         CREATE TEMP TABLE hetu_in (hetu TEXT, person_id BIGINT, active BOOLEAN) ON COMMIT DROP;",
    )?;
    let (mut person_rows, mut hetu_rows) = (String::new(), String::new());
    for p in persons {
        let kotikunta = p.kotikunta().map_or_else(|| "\\N".to_string(), |k| k.number().to_string());
        let data = copy_text(&serde_json::to_string(p)?);
        person_rows.push_str(&format!("{}\t{}\t{kotikunta}\t{}\t{data}\n", p.id.0, p.hetu(), p.has_turvakielto()));
        for (i, h) in p.all_hetus().into_iter().enumerate() {
            hetu_rows.push_str(&format!("{h}\t{}\t{}\n", p.id.0, i == 0));
        }
    }
    copy_in(tx, "COPY person_in FROM STDIN", &person_rows)?;
    copy_in(tx, "COPY hetu_in FROM STDIN", &hetu_rows)?;
    if let Some(row) = first_conflict(tx, "person_in", "person", "id")? {
        return Err(StoreError::PersonExists(PersonId(row.get::<_, i64>(0) as u64)));
    }
    if let Some(row) = first_conflict(tx, "hetu_in", "hetu", "hetu")? {
        let text: String = row.get(0);
        return Err(StoreError::HetuInUse(Hetu::parse(&text).map_err(|e| StoreError::Corrupt(e.to_string()))?));
    }
    tx.batch_execute(
        "INSERT INTO person (id, hetu, kotikunta, turvakielto, data)
             SELECT id, hetu, kotikunta, turvakielto, data FROM person_in;
         INSERT INTO hetu (hetu, person_id, active) SELECT hetu, person_id, active FROM hetu_in;",
    )?;
    Ok(())
}

fn closed() -> StoreError {
    StoreError::Corrupt("the PostgreSQL connection is closed".into())
}

fn load_person(c: &mut Conn<'_, impl GenericClient>, id: PersonId) -> Result<Option<Person>, StoreError> {
    let row = c.query_opt("SELECT data FROM person WHERE id = $1", &[&(id.0 as i64)])?;
    row.map(|r| decode_person(r.get(0))).transpose()
}

fn hetu_owner(c: &mut Conn<'_, impl GenericClient>, hetu: Hetu) -> Result<Option<PersonId>, StoreError> {
    let row = c.query_opt("SELECT person_id FROM hetu WHERE hetu = $1", &[&hetu.as_str()])?;
    Ok(row.map(|r| PersonId(r.get::<_, i64>(0) as u64)))
}

/// The persons holding these hetus (in force or earlier), in one query.
fn persons_by_hetu(c: &mut Conn<'_, impl GenericClient>, hetus: &[Hetu]) -> Result<HashMap<Hetu, Person>, StoreError> {
    let texts: Vec<&str> = hetus.iter().map(Hetu::as_str).collect();
    let rows = c.query(
        "SELECT h.hetu, p.data FROM hetu h JOIN person p ON p.id = h.person_id WHERE h.hetu = ANY($1)",
        &[&texts],
    )?;
    rows.iter().map(|r| Ok((crate::stored_hetu(r.get(0))?, decode_person(r.get(1))?))).collect()
}

fn set_meta(c: &mut Conn<'_, impl GenericClient>, key: &str, value: &str) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[&key, &value],
    )?;
    Ok(())
}

fn require_permit(c: &mut Conn<'_, impl GenericClient>, permit: &str) -> Result<(), StoreError> {
    match c.query_opt("SELECT 1 FROM permit WHERE tunnus = $1", &[&permit])? {
        Some(_) => Ok(()),
        None => Err(StoreError::UnknownPermit(permit.to_string())),
    }
}

fn persons_from(rows: Vec<Row>) -> Result<Vec<Person>, StoreError> {
    rows.iter().map(|r| decode_person(r.get(0))).collect()
}

/// A person as the batch left them.
struct State {
    person: Person,
    /// Their JSON after the batch's last event on them, and that event's
    /// place in the batch; `None` while they are as stored.
    written: Option<(String, usize)>,
}

/// Log rows are made and inserted this many events at a time: the server
/// inserts one chunk while the next is applied and encoded, so the two
/// halves of an append, each about half its time, run on two cores.
const LOG_CHUNK: usize = 512;

/// A chunk of log rows, column by column as the insert binds them.
#[derive(Default)]
struct LogRows {
    person_ids: Vec<i64>,
    registered: Vec<String>,
    kinds: Vec<&'static str>,
    events: Vec<String>,
    /// Whether `before` is the person's row as stored (sent as NULL).
    as_stored: Vec<bool>,
    befores: Vec<Option<String>>,
    afters: Vec<String>,
    deltas: Vec<Vec<u8>>,
}

/// What applying a batch's events left behind.
struct Applied {
    states: HashMap<PersonId, State>,
    touched: Touched,
    /// The persons whose hetus the batch changed.
    rehetued: HashSet<PersonId>,
}

/// A batch's events in a few set-wise statements: the persons read at
/// once, the events applied in memory in order, then the log rows, the
/// persons' last states and the hetus of those whose hetus changed. Row by
/// row it took about ten round trips an event (1.3 k events/s).
///
/// A person's JSON goes to the server once: a log row's `before` is taken
/// from the person's row where the batch has not changed them yet, and
/// the person's row from the log row of their last event.
fn append_batch(c: &mut Conn<'_, impl GenericClient>, events: &[Event]) -> Result<(Vec<Cursor>, Touched), StoreError> {
    let mut ids: Vec<i64> = events.iter().map(|e| e.person.0 as i64).collect();
    ids.sort_unstable();
    ids.dedup();
    let stored = c.query("SELECT id, data FROM person WHERE id = ANY($1)", &[&ids])?;
    let (applied, mut cursors) = std::thread::scope(|s| {
        let (send, chunks) = std::sync::mpsc::sync_channel(1);
        let worker = s.spawn(|| apply_events(&stored, events, send));
        let inserted = insert_log_rows(c, chunks);
        let applied = worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        // A failed insert stops the worker: the insert's error is the cause.
        let cursors = inserted?;
        Ok::<_, StoreError>((applied?, cursors))
    })?;
    // Cursors are drawn in the inserts' order, which is the events' order.
    cursors.sort_unstable();
    if cursors.len() != events.len() {
        return Err(StoreError::Corrupt(format!("{} events appended as {} log rows", events.len(), cursors.len())));
    }
    let claims = hetu_claims(c, &applied.states, &applied.rehetued)?;
    write_persons(c, &applied.states, &cursors)?;
    write_hetus(c, &applied.states, &claims)?;
    Ok((cursors, applied.touched))
}

/// Applies the events in order to the persons as stored, handing on their
/// log rows a chunk at a time. Stops when the insert has stopped taking them.
fn apply_events(stored: &[Row], events: &[Event], chunks: SyncSender<LogRows>) -> Result<Applied, StoreError> {
    // Each person is decoded when their first event comes, so that the
    // first chunk is on its way after decoding only its own persons.
    let mut unread: HashMap<PersonId, &str> =
        stored.iter().map(|row| (PersonId(row.get::<_, i64>(0) as u64), row.get(1))).collect();
    let mut states: HashMap<PersonId, State> = HashMap::with_capacity(stored.len());
    let mut touched = Touched::default();
    let mut rehetued: HashSet<PersonId> = HashSet::new();
    let mut rows = LogRows::default();
    for (index, event) in events.iter().enumerate() {
        let before = match unread.remove(&event.person) {
            Some(json) => Some(State { person: decode_person(json)?, written: None }),
            None => states.remove(&event.person),
        };
        let before_person = before.as_ref().map(|s| &s.person);
        let after = vtj_core::apply(before_person, event).map_err(|source| StoreError::Event { index, source })?;
        touched.record(index, &event.tapahtuma, before_person, &after);
        if before_person.is_none_or(|b| b.all_hetus() != after.all_hetus()) {
            rehetued.insert(after.id);
        }
        let json = serde_json::to_string(&after)?;
        rows.deltas.push(summarise(before_person, &after, event)?);
        rows.person_ids.push(event.person.0 as i64);
        rows.registered.push(ymd(event.rekisterointipaiva));
        rows.kinds.push(event.tapahtuma.wire_name());
        rows.events.push(serde_json::to_string(event)?);
        let written = before.map(|s| s.written);
        rows.as_stored.push(matches!(written, Some(None)));
        rows.befores.push(written.flatten().map(|(json, _)| json));
        rows.afters.push(json.clone());
        states.insert(event.person, State { person: after, written: Some((json, index)) });
        if rows.person_ids.len() == LOG_CHUNK || index + 1 == events.len() {
            chunks
                .send(std::mem::take(&mut rows))
                .map_err(|_| StoreError::Corrupt("the log rows' insert stopped".into()))?;
        }
    }
    Ok(Applied { states, touched, rehetued })
}

/// Inserts the chunks of log rows as they come, giving their cursors.
fn insert_log_rows(c: &mut Conn<'_, impl GenericClient>, chunks: Receiver<LogRows>) -> Result<Vec<Cursor>, StoreError> {
    let mut cursors = Vec::new();
    for rows in chunks {
        let inserted = c.query(
            "INSERT INTO change_log (person_id, registered, kind, event, before, after, delta)
             SELECT p, r, k, e, CASE WHEN s THEN (SELECT data FROM person WHERE id = p) ELSE b END, a, d
             FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bool[], $6::text[], $7::text[],
                 $8::bytea[]) WITH ORDINALITY AS t(p, r, k, e, s, b, a, d, n) ORDER BY n
             RETURNING cursor",
            &[
                &rows.person_ids,
                &rows.registered,
                &rows.kinds,
                &rows.events,
                &rows.as_stored,
                &rows.befores,
                &rows.afters,
                &rows.deltas,
            ],
        )?;
        cursors.extend(inserted.iter().map(|r| Cursor(r.get(0))));
    }
    Ok(cursors)
}

/// The hetus of the persons whose hetus the batch changed, each with its
/// person; refused if another person holds one, in the database or in
/// this batch.
fn hetu_claims(
    c: &mut Conn<'_, impl GenericClient>,
    states: &HashMap<PersonId, State>,
    rehetued: &HashSet<PersonId>,
) -> Result<HashMap<Hetu, PersonId>, StoreError> {
    let mut claims: HashMap<Hetu, PersonId> = HashMap::new();
    for id in rehetued {
        for h in states[id].person.all_hetus() {
            if claims.insert(h, *id).is_some_and(|other| other != *id) {
                return Err(StoreError::HetuInUse(h));
            }
        }
    }
    if claims.is_empty() {
        return Ok(claims);
    }
    let wanted: Vec<&str> = claims.keys().map(Hetu::as_str).collect();
    for row in c.query("SELECT hetu, person_id FROM hetu WHERE hetu = ANY($1)", &[&wanted])? {
        let hetu = Hetu::parse(row.get(0)).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        if claims.get(&hetu).is_some_and(|id| id.0 as i64 != row.get::<_, i64>(1)) {
            return Err(StoreError::HetuInUse(hetu));
        }
    }
    Ok(claims)
}

/// Each person's last state in the batch, in one statement, their JSON
/// taken from the log row of their last event.
fn write_persons(
    c: &mut Conn<'_, impl GenericClient>,
    states: &HashMap<PersonId, State>,
    cursors: &[Cursor],
) -> Result<(), StoreError> {
    let (mut ids, mut hetus, mut kotikunnat, mut turvakiellot, mut last) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (id, s) in states {
        let Some((_, at)) = s.written else { continue };
        ids.push(id.0 as i64);
        hetus.push(s.person.hetu().as_str().to_string());
        kotikunnat.push(s.person.kotikunta().map(|k| i32::from(k.number())));
        turvakiellot.push(s.person.has_turvakielto());
        last.push(cursors[at].0);
    }
    let written = c.execute(
        "INSERT INTO person (id, hetu, kotikunta, turvakielto, data)
         SELECT u.id, u.hetu, u.kotikunta, u.turvakielto, c.after
         FROM unnest($1::bigint[], $2::text[], $3::int[], $4::bool[], $5::bigint[])
             AS u(id, hetu, kotikunta, turvakielto, cursor)
         JOIN change_log c ON c.cursor = u.cursor
         ON CONFLICT (id) DO UPDATE SET hetu = excluded.hetu, kotikunta = excluded.kotikunta,
             turvakielto = excluded.turvakielto, data = excluded.data",
        &[&ids, &hetus, &kotikunnat, &turvakiellot, &last],
    )?;
    if written != ids.len() as u64 {
        return Err(StoreError::Corrupt(format!("{} persons written of {}", written, ids.len())));
    }
    Ok(())
}

/// Every hetu of the persons whose hetus changed, only the one in force
/// active (after the persons: a hetu row names its person).
fn write_hetus(
    c: &mut Conn<'_, impl GenericClient>,
    states: &HashMap<PersonId, State>,
    claims: &HashMap<Hetu, PersonId>,
) -> Result<(), StoreError> {
    if claims.is_empty() {
        return Ok(());
    }
    let mut owners: Vec<i64> = claims.values().map(|id| id.0 as i64).collect();
    owners.sort_unstable();
    owners.dedup();
    c.execute("UPDATE hetu SET active = FALSE WHERE person_id = ANY($1)", &[&owners])?;
    let (mut hetus, mut owners, mut active) = (Vec::new(), Vec::new(), Vec::new());
    for (h, id) in claims {
        hetus.push(h.as_str());
        owners.push(id.0 as i64);
        active.push(states[id].person.hetu() == *h);
    }
    c.execute(
        "INSERT INTO hetu (hetu, person_id, active) SELECT * FROM unnest($1::text[], $2::bigint[], $3::bool[])
         ON CONFLICT (hetu) DO UPDATE SET active = excluded.active",
        &[&hetus, &owners, &active],
    )?;
    Ok(())
}

/// The newest cursor: the log's, or the epoch's base before its first change.
const LAST_CURSOR: &str = "SELECT GREATEST(COALESCE((SELECT MAX(cursor) FROM change_log), 0),
                COALESCE((SELECT value::bigint FROM meta WHERE key = 'log.base'), 0))";

impl Store for PgStore {
    fn insert_population(&mut self, persons: &[Person]) -> Result<(), StoreError> {
        self.in_transaction(|c, _| {
            c.execute("SELECT pg_advisory_xact_lock($1)", &[&LOG_LOCK])?;
            if c.query_opt("SELECT 1 FROM change_log LIMIT 1", &[])?.is_some() {
                return Err(StoreError::LogNotEmpty);
            }
            insert_persons(c.client(), persons)
        })
    }

    fn append_with_meta(&mut self, events: &[Event], meta: &[(&str, &str)]) -> Result<Vec<Cursor>, StoreError> {
        self.in_transaction(|c, _| {
            c.execute("SELECT pg_advisory_xact_lock($1)", &[&LOG_LOCK])?;
            let (cursors, touched) = append_batch(c, events)?;
            touched.check_relations(|hetus| persons_by_hetu(c, hetus))?;
            for (key, value) in meta {
                set_meta(c, key, value)?;
            }
            Ok(cursors)
        })
    }

    fn person(&self, id: PersonId) -> Result<Option<Person>, StoreError> {
        self.with(|c| load_person(c, id))
    }

    fn person_by_hetu(&self, hetu: Hetu) -> Result<Option<Person>, StoreError> {
        self.with(|c| match hetu_owner(c, hetu)? {
            Some(id) => load_person(c, id),
            None => Ok(None),
        })
    }

    fn hetu_exists(&self, hetu: Hetu) -> Result<bool, StoreError> {
        self.with(|c| Ok(hetu_owner(c, hetu)?.is_some()))
    }

    fn person_ids(&self, hetus: &[Hetu]) -> Result<std::collections::HashMap<Hetu, PersonId>, StoreError> {
        // One round trip for the whole list, not one per hetu.
        let texts: Vec<&str> = hetus.iter().map(Hetu::as_str).collect();
        self.with(|c| {
            let mut out = std::collections::HashMap::with_capacity(hetus.len());
            for row in c.query("SELECT hetu, person_id FROM hetu WHERE hetu = ANY($1)", &[&texts])? {
                let h: String = row.get(0);
                let id: i64 = row.get(1);
                out.insert(crate::stored_hetu(&h)?, PersonId(id as u64));
            }
            Ok(out)
        })
    }

    fn persons(&self, filter: PersonFilter<'_>, after: PersonId, limit: usize) -> Result<Vec<Person>, StoreError> {
        let (after, limit) = (after.0 as i64, limit as i64);
        self.with(|c| {
            let rows = match filter {
                PersonFilter::All => {
                    c.query("SELECT data FROM person WHERE id > $1 ORDER BY id LIMIT $2", &[&after, &limit])?
                }
                PersonFilter::Turvakielto => c.query(
                    "SELECT data FROM person WHERE turvakielto AND id > $1 ORDER BY id LIMIT $2",
                    &[&after, &limit],
                )?,
                PersonFilter::Kunnat(kunnat) => {
                    let codes: Vec<i32> = kunnat.iter().map(|k| i32::from(k.number())).collect();
                    // Planned for its municipalities each time (see `pg_conn`):
                    // a small one is read through its index, a large area in
                    // the order of ids.
                    c.client().query(
                        "SELECT data FROM person WHERE id > $1 AND kotikunta = ANY($2) ORDER BY id LIMIT $3",
                        &[&after, &codes, &limit],
                    )?
                }
            };
            persons_from(rows)
        })
    }

    fn person_count(&self) -> Result<u64, StoreError> {
        self.with(|c| Ok(c.query_one("SELECT COUNT(*) FROM person", &[])?.get::<_, i64>(0) as u64))
    }

    fn max_person_id(&self) -> Result<PersonId, StoreError> {
        self.with(|c| {
            Ok(PersonId(c.query_one("SELECT COALESCE(MAX(id), 0) FROM person", &[])?.get::<_, i64>(0) as u64))
        })
    }

    fn changes_since(&self, after: Cursor, limit: usize) -> Result<Vec<LogEntry>, StoreError> {
        self.entries(
            "SELECT cursor, event, before, after FROM change_log WHERE cursor > $1 ORDER BY cursor LIMIT $2",
            &[&after.0, &(limit as i64)],
        )
    }

    fn summaries_since(&self, after: Cursor, limit: usize) -> Result<Vec<LoggedChange>, StoreError> {
        self.with(|c| {
            // The persons are read only for a row without a summary.
            let rows = c.query(
                "SELECT cursor, registered, delta,
                        CASE WHEN delta IS NULL THEN kind END,
                        CASE WHEN delta IS NULL THEN before END,
                        CASE WHEN delta IS NULL THEN after END
                 FROM change_log WHERE cursor > $1 ORDER BY cursor LIMIT $2",
                &[&after.0, &(limit as i64)],
            )?;
            rows.iter()
                .map(|r| {
                    let after: Option<&str> = r.get(5);
                    LoggedChange::from_row(r.get(0), r.get(1), r.get(2), r.get(3), after.map(|a| (r.get(4), a)))
                })
                .collect()
        })
    }

    fn change(&self, cursor: Cursor) -> Result<Option<LogEntry>, StoreError> {
        Ok(self.entries("SELECT cursor, event, before, after FROM change_log WHERE cursor = $1", &[&cursor.0])?.pop())
    }

    fn last_cursor(&self) -> Result<Cursor, StoreError> {
        self.with(|c| Ok(Cursor(c.query_one(LAST_CURSOR, &[])?.get(0))))
    }

    fn begin_epoch(&mut self, base: i64) -> Result<(), StoreError> {
        self.in_transaction(|c, _| {
            c.execute("SELECT pg_advisory_xact_lock($1)", &[&LOG_LOCK])?;
            let last: i64 = c.query_one(LAST_CURSOR, &[])?.get(0);
            if base <= last {
                return Err(StoreError::Refused(format!(
                    "a new epoch must start above the newest cursor {last}, not at {base}"
                )));
            }
            c.execute("SELECT setval(pg_get_serial_sequence('change_log', 'cursor'), $1)", &[&base])?;
            set_meta(c, crate::EPOCH_BASE, &base.to_string())
        })
    }

    fn cursor_at(&self, date: Date) -> Result<Cursor, StoreError> {
        let first_later: Option<i64> = self.with(|c| {
            // Planned for its date each time (not kept, see `pg_conn`): a plan
            // for any date may walk the log from its start to find today.
            let sql = "SELECT MIN(cursor) FROM change_log WHERE registered > $1";
            Ok(c.client().query_one(sql, &[&ymd(date)])?.get(0))
        })?;
        match first_later {
            Some(c) => Ok(Cursor(c - 1)),
            None => self.last_cursor(),
        }
    }

    fn put_permit(&mut self, permit: &Permit) -> Result<(), StoreError> {
        let json = serde_json::to_string(permit)?;
        self.with(|c| {
            c.execute(
                "INSERT INTO permit (tunnus, data) VALUES ($1, $2) ON CONFLICT (tunnus) DO UPDATE SET data = excluded.data",
                &[&permit.tunnus, &json],
            )?;
            Ok(())
        })
    }

    fn permit(&self, tunnus: &str) -> Result<Option<Permit>, StoreError> {
        self.with(|c| {
            let row = c.query_opt("SELECT data FROM permit WHERE tunnus = $1", &[&tunnus])?;
            Ok(row.map(|r| serde_json::from_str(r.get(0))).transpose()?)
        })
    }

    fn permits(&self) -> Result<Vec<Permit>, StoreError> {
        self.with(|c| {
            c.query("SELECT data FROM permit ORDER BY tunnus", &[])?
                .iter()
                .map(|r| Ok(serde_json::from_str(r.get(0))?))
                .collect()
        })
    }

    fn hetu_list_add(&mut self, permit: &str, hetus: &[Hetu]) -> Result<usize, StoreError> {
        self.in_transaction(|c, _| {
            require_permit(c, permit)?;
            let mut added = 0;
            for h in hetus {
                added += c.execute(
                    "INSERT INTO hetu_list (permit, hetu) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    &[&permit, &h.as_str()],
                )? as usize;
            }
            Ok(added)
        })
    }

    fn hetu_list_remove(&mut self, permit: &str, hetus: &[Hetu]) -> Result<usize, StoreError> {
        self.in_transaction(|c, _| {
            require_permit(c, permit)?;
            let mut removed = 0;
            for h in hetus {
                removed += c
                    .execute("DELETE FROM hetu_list WHERE permit = $1 AND hetu = $2", &[&permit, &h.as_str()])?
                    as usize;
            }
            Ok(removed)
        })
    }

    fn hetu_list(&self, permit: &str) -> Result<Vec<Hetu>, StoreError> {
        self.with(|c| {
            require_permit(c, permit)?;
            c.query("SELECT hetu FROM hetu_list WHERE permit = $1 ORDER BY hetu", &[&permit])?
                .iter()
                .map(|r| crate::stored_hetu(r.get(0)))
                .collect()
        })
    }

    fn on_hetu_list(&self, permit: &str, person: PersonId) -> Result<bool, StoreError> {
        self.with(|c| {
            Ok(c.query_opt(
                "SELECT 1 FROM hetu_list l JOIN hetu h ON h.hetu = l.hetu WHERE l.permit = $1 AND h.person_id = $2 LIMIT 1",
                &[&permit, &(person.0 as i64)],
            )?
            .is_some())
        })
    }

    fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.with(|c| Ok(c.query_opt("SELECT value FROM meta WHERE key = $1", &[&key])?.map(|r| r.get(0))))
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.with(|c| set_meta(c, key, value))
    }

    fn summary(&self) -> Result<LogSummary, StoreError> {
        let (changes, first, last, first_date, last_date, by_kind, turvakielto) = self.with(|c| {
            let r = c.query_one(
                "SELECT COUNT(*), MIN(cursor), MAX(cursor), MIN(registered), MAX(registered) FROM change_log",
                &[],
            )?;
            let by_kind: Vec<(String, u64)> = c
                .query("SELECT kind, COUNT(*) AS n FROM change_log GROUP BY kind ORDER BY n DESC, kind", &[])?
                .iter()
                .map(|k| (k.get(0), k.get::<_, i64>(1) as u64))
                .collect();
            let t: i64 = c.query_one("SELECT COUNT(*) FROM person WHERE turvakielto", &[])?.get(0);
            Ok((
                r.get::<_, i64>(0),
                r.get::<_, Option<i64>>(1),
                r.get::<_, Option<i64>>(2),
                r.get::<_, Option<String>>(3),
                r.get::<_, Option<String>>(4),
                by_kind,
                t,
            ))
        })?;
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

impl Access for PgStore {
    fn put_recipient(&mut self, r: &Recipient) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO recipient (tunnus, nimi) VALUES ($1, $2) ON CONFLICT (tunnus) DO UPDATE SET nimi = excluded.nimi",
                &[&r.tunnus, &r.nimi],
            )?;
            Ok(())
        })
    }

    fn recipient(&self, tunnus: &str) -> Result<Option<Recipient>, StoreError> {
        self.with(|c| {
            Ok(c.query_opt("SELECT tunnus, nimi FROM recipient WHERE tunnus = $1", &[&tunnus])?
                .map(|r| Recipient { tunnus: r.get(0), nimi: r.get(1) }))
        })
    }

    fn recipients(&self) -> Result<Vec<Recipient>, StoreError> {
        self.with(|c| {
            Ok(c.query("SELECT tunnus, nimi FROM recipient ORDER BY tunnus", &[])?
                .iter()
                .map(|r| Recipient { tunnus: r.get(0), nimi: r.get(1) })
                .collect())
        })
    }

    fn add_user(&mut self, u: &ApiUser) -> Result<(), StoreError> {
        if self.permit(&u.permit)?.is_none() {
            return Err(StoreError::UnknownPermit(u.permit.clone()));
        }
        self.with(|c| {
            if c.query_opt("SELECT 1 FROM api_user WHERE name = $1", &[&u.name])?.is_some() {
                return Err(StoreError::UserExists(u.name.clone()));
            }
            c.execute(
                "INSERT INTO api_user (name, permit, password_hash, revoked) VALUES ($1, $2, $3, $4)",
                &[&u.name, &u.permit, &u.password_hash, &u.revoked],
            )?;
            Ok(())
        })
    }

    fn user(&self, name: &str) -> Result<Option<ApiUser>, StoreError> {
        self.with(|c| {
            Ok(c.query_opt("SELECT name, permit, password_hash, revoked FROM api_user WHERE name = $1", &[&name])?
                .map(|r| ApiUser { name: r.get(0), permit: r.get(1), password_hash: r.get(2), revoked: r.get(3) }))
        })
    }

    fn users(&self) -> Result<Vec<ApiUser>, StoreError> {
        self.with(|c| {
            Ok(c.query("SELECT name, permit, password_hash, revoked FROM api_user ORDER BY name", &[])?
                .iter()
                .map(|r| ApiUser { name: r.get(0), permit: r.get(1), password_hash: r.get(2), revoked: r.get(3) })
                .collect())
        })
    }

    fn revoke_user(&mut self, name: &str) -> Result<bool, StoreError> {
        self.in_transaction(|c, _| {
            let n = c.execute("UPDATE api_user SET revoked = TRUE WHERE name = $1 AND NOT revoked", &[&name])?;
            c.execute("UPDATE user_cert SET revoked = TRUE WHERE user_name = $1", &[&name])?;
            Ok(n > 0)
        })
    }

    fn add_user_cert(&mut self, user: &str, hash: &str) -> Result<(), StoreError> {
        match self.user(user)? {
            Some(u) if !u.revoked => {}
            _ => return Err(StoreError::UnknownUser(user.to_string())),
        }
        self.with(|c| {
            c.execute("INSERT INTO user_cert (hash, user_name) VALUES ($1, $2)", &[&hash, &user])?;
            Ok(())
        })
    }

    fn cert_user(&self, hash: &str) -> Result<Option<String>, StoreError> {
        self.with(|c| {
            Ok(c.query_opt(
                "SELECT c.user_name FROM user_cert c JOIN api_user u ON u.name = c.user_name
                 WHERE c.hash = $1 AND NOT c.revoked AND NOT u.revoked",
                &[&hash],
            )?
            .map(|r| r.get(0)))
        })
    }
}

fn chain_point(c: &mut Conn<'_, impl GenericClient>, key: &str) -> Result<ChainPoint, StoreError> {
    match c.query_opt("SELECT value FROM meta WHERE key = $1", &[&key])? {
        None => Ok(ChainPoint::genesis()),
        Some(r) => {
            let v: String = r.get(0);
            ChainPoint::decode(&v).ok_or_else(|| StoreError::Corrupt(format!("{key} = {v:?}")))
        }
    }
}

const HEAD: &str = "audit.head";
const ANCHOR: &str = "audit.anchor";

/// Builds the tree over a log that predates it (schema step 4).
fn audit_catch_up(c: &mut Conn<'_, impl GenericClient>) -> Result<(), StoreError> {
    let (head, anchor) = (chain_point(c, HEAD)?.seq, chain_point(c, ANCHOR)?.seq);
    let mut pages: Vec<Vec<(i64, String)>> = Vec::new();
    // The entries are read first: the tree writes need the transaction too.
    let mut after = anchor;
    loop {
        let page: Vec<(i64, String)> = c
            .query("SELECT seq, data FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT 10000", &[&after])?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let Some((last, _)) = page.last() else { break };
        after = *last;
        pages.push(page);
    }
    let mut pages = pages.into_iter();
    let seen = SeenNodes::default();
    let mut t = PgTree::new(c.reborrow(), &seen);
    tree::catch_up(&mut t, head, anchor, |_, _| Ok(pages.next().unwrap_or_default()))?;
    t.finish()?;
    Ok(())
}

impl AuditLog for PgStore {
    fn audit_append_all(
        &mut self,
        records: &[AuditRecord],
        signer: Option<&Signer>,
    ) -> Result<Vec<Appended>, StoreError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let (appended, learnt) = self.in_transaction(|c, seen| {
            c.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_LOCK])?;
            let head = chain_point(c, HEAD)?;
            let mut t = PgTree::new(c.reborrow(), seen);
            let (head, appended) = tree::append_all(&mut t, head, records, signer)?;
            let learnt = t.finish()?;
            set_meta(c, HEAD, &head.encode())?;
            Ok((appended, learnt))
        })?;
        self.seen.learn(learnt);
        Ok(appended)
    }

    fn audit_tree_size(&self) -> Result<u64, StoreError> {
        self.with(tree_size)
    }

    fn audit_node(&self, level: u32, index: u64) -> Result<Option<Hash>, StoreError> {
        self.with(|c| node(c, level, index))
    }

    fn audit_nodes(&self, level: u32, from: u64, limit: usize) -> Result<Vec<Hash>, StoreError> {
        let rows = self.with(|c| {
            c.query(
                "SELECT idx, hash FROM audit_tree WHERE level = $1 AND idx >= $2 ORDER BY idx LIMIT $3",
                &[&(level as i32), &(from as i64), &(limit as i64)],
            )
        })?;
        tree::contiguous(level, from, rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn audit_checkpoints(&self, after: u64, limit: usize) -> Result<Vec<(u64, String)>, StoreError> {
        self.with(|c| {
            Ok(c.query(
                "SELECT size, note FROM audit_checkpoint WHERE size > $1 ORDER BY size LIMIT $2",
                &[&(after as i64), &(limit as i64)],
            )?
            .iter()
            .map(|r| (r.get::<_, i64>(0) as u64, r.get(1)))
            .collect())
        })
    }

    fn audit_latest_checkpoint(&self) -> Result<Option<String>, StoreError> {
        self.with(|c| {
            Ok(c.query_opt("SELECT note FROM audit_checkpoint ORDER BY size DESC LIMIT 1", &[])?.map(|r| r.get(0)))
        })
    }

    fn audit_sign(&mut self, signer: &Signer) -> Result<String, StoreError> {
        let (note, learnt) = self.in_transaction(|c, seen| {
            c.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_LOCK])?;
            let mut t = PgTree::new(c.reborrow(), seen);
            let note = tree::sign(&mut t, signer)?;
            Ok((note, t.finish()?))
        })?;
        self.seen.learn(learnt);
        Ok(note)
    }

    fn audit_entries(&self, after: i64, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.with(|c| {
            Ok(c.query(
                "SELECT seq, data, prev_hash, hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&after, &(limit as i64)],
            )?
            .iter()
            .map(|r| AuditEntry { seq: r.get(0), data: r.get(1), prev_hash: r.get(2), hash: r.get(3) })
            .collect())
        })
    }

    fn audit_anchor(&self) -> Result<ChainPoint, StoreError> {
        self.with(|c| chain_point(c, ANCHOR))
    }

    fn audit_head(&self) -> Result<ChainPoint, StoreError> {
        self.with(|c| chain_point(c, HEAD))
    }

    fn audit_prune(&mut self, cutoff: &str) -> Result<u64, StoreError> {
        self.in_transaction(|c, _| {
            c.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_LOCK])?;
            // Planned for its cutoff each time (see `pg_conn`).
            let sql = "SELECT seq, hash FROM audit_log WHERE at < $1 ORDER BY seq DESC LIMIT 1";
            let Some(last) = c.client().query_opt(sql, &[&cutoff])? else {
                return Ok(0);
            };
            let (seq, hash): (i64, String) = (last.get(0), last.get(1));
            let n = c.execute("DELETE FROM audit_log WHERE seq <= $1", &[&seq])?;
            set_meta(c, ANCHOR, &ChainPoint { seq, hash }.encode())?;
            Ok(n)
        })
    }
}
