//! Storage: the append-only change log with its cursor (kirjausavain),
//! current person state, hetu history, permits and hetu lists.
//!
//! [`Store`] is the contract; [`SqliteStore`] is the embedded default. A
//! backend stores full, uncensored data: censoring is the core's `render`.
//! [`testsuite`] holds the behaviour every backend must pass.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use time::Date;
use vtj_core::{Delta, DeltaError, Event, EventError, Hetu, KuntaCode, Permit, Person, PersonId, VtjDate};

pub mod audit;
mod batch;
pub mod migrations;
mod pg_conn;
mod pg_tree;
mod postgres;
mod sqlite;
mod sqlite_access;
pub mod testsuite;
pub mod tree;

pub use audit::{Appended, AuditEntry, AuditRecord, ChainBreak, ChainPoint, ChainReport, ListDigest};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use tree::{TreeBreak, TreeReport};

/// The `meta` key of the current epoch's base: cursors below it were given
/// out by another incarnation of the log, and a client holding one must
/// load its data again.
pub const EPOCH_BASE: &str = "log.base";

/// A position in the change log. Strictly increasing; 0 is "before the first change".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct Cursor(pub i64);

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One committed change: the event and the person's state on both sides of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub cursor: Cursor,
    pub event: Event,
    /// `None` for a birth.
    pub before: Option<Person>,
    pub after: Person,
}

/// One committed change as a page reads it: what the event changed
/// ([`Delta`], kept since the event was appended), not the two persons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedChange {
    pub cursor: Cursor,
    /// The date VTJ registered the change.
    pub registered: Date,
    pub delta: Delta,
}

impl LoggedChange {
    /// A log row as stored. A row appended before summaries were kept has
    /// none: it is worked out from the row's persons, as it would have been.
    fn from_row(
        cursor: i64,
        registered: &str,
        delta: Option<&[u8]>,
        kind: Option<&str>,
        persons: Option<(Option<&str>, &str)>,
    ) -> Result<LoggedChange, StoreError> {
        let corrupt = |what: String| StoreError::Corrupt(format!("change {cursor}: {what}"));
        let registered = match VtjDate::parse(registered) {
            Ok(VtjDate::Full(d)) => d,
            _ => return Err(corrupt(format!("registration date {registered:?}"))),
        };
        let delta = match (delta, kind, persons) {
            (Some(bytes), _, _) => Delta::decode(bytes)?,
            (None, Some(kind), Some((before, after))) => {
                let code = vtj_core::event::EVENT_NAMES
                    .iter()
                    .position(|n| *n == kind)
                    .ok_or_else(|| corrupt(format!("event {kind:?}")))?;
                let before = before.map(decode_person).transpose()?;
                Delta::of(before.as_ref(), &decode_person(after)?, code as u8)
            }
            _ => return Err(corrupt("neither a summary nor the persons to work one out from".into())),
        };
        Ok(LoggedChange { cursor: Cursor(cursor), registered, delta })
    }
}

/// A stored person (the JSON of the `person` table and the change log).
pub(crate) fn decode_person(json: &str) -> Result<Person, StoreError> {
    Ok(serde_json::from_str(json)?)
}

/// The summary stored with a log row.
pub(crate) fn summarise(before: Option<&Person>, after: &Person, event: &Event) -> Result<Vec<u8>, DeltaError> {
    Delta::of(before, after, event.tapahtuma.code()).encode()
}

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("database (PostgreSQL): {}", postgres_message(.0))]
    Postgres(#[from] ::postgres::Error),
    #[error("stored data could not be read back: {0}")]
    Codec(#[from] serde_json::Error),
    #[error("change summary: {0}")]
    Summary(#[from] DeltaError),
    #[error("event {index} of the batch was rejected, nothing was committed: {source}")]
    Event { index: usize, source: EventError },
    #[error("hetu {0} already belongs to another person")]
    HetuInUse(Hetu),
    #[error("person {0} already exists")]
    PersonExists(PersonId),
    #[error("a population can only be loaded into an empty change log")]
    LogNotEmpty,
    #[error("unknown permit {0:?}")]
    UnknownPermit(String),
    #[error("database schema version {found} is newer than this program knows ({known})")]
    SchemaTooNew { found: i64, known: i64 },
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A use of the store that its configuration forbids.
    #[error("{0}")]
    Refused(String),
    #[error("unknown recipient {0:?}")]
    UnknownRecipient(String),
    #[error("a user named {0:?} exists already (names are never reused, not even after revocation)")]
    UserExists(String),
    #[error("unknown or revoked user {0:?}")]
    UnknownUser(String),
    #[error("the audit log's chain is broken: {0}")]
    AuditBroken(#[from] ChainBreak),
    #[error("the audit log's tree is broken: {0}")]
    TreeBroken(#[from] TreeBreak),
    #[error("asked for a proof the tree cannot give: {0}")]
    Proof(String),
}

/// A hetu read back from the database: valid, or the row is corrupt.
pub(crate) fn stored_hetu(s: &str) -> Result<Hetu, StoreError> {
    Hetu::parse(s).map_err(|e| StoreError::Corrupt(format!("hetu {s:?}: {e}")))
}

/// The server's own words where there are some ("db error" says nothing).
fn postgres_message(e: &::postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => e.to_string(),
    }
}

/// Which persons a listing covers.
#[derive(Debug, Clone, Copy)]
pub enum PersonFilter<'a> {
    All,
    Kunnat(&'a BTreeSet<KuntaCode>),
    /// Persons whose turvakielto is in force.
    Turvakielto,
}

/// Counts that summarise the change log.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct LogSummary {
    pub persons: u64,
    pub changes: u64,
    pub first_cursor: Option<Cursor>,
    pub last_cursor: Option<Cursor>,
    pub first_date: Option<String>,
    pub last_date: Option<String>,
    /// (event wire name, count), most frequent first.
    pub by_kind: Vec<(String, u64)>,
    pub turvakielto_in_force: u64,
}

/// The storage contract. Every method is one transaction: a batch of events
/// and the state updates it causes commit together or not at all.
pub trait Store {
    /// Loads a baseline population without change-log entries (the state
    /// before the log starts). Refused once the log has any entry.
    fn insert_population(&mut self, persons: &[Person]) -> Result<(), StoreError>;

    /// Applies and appends events in order, atomically. Returns their cursors.
    fn append(&mut self, events: &[Event]) -> Result<Vec<Cursor>, StoreError> {
        self.append_with_meta(events, &[])
    }

    /// As `append`, and sets `meta` entries in the same transaction (the
    /// simulator's day counter moves with the day's events, or not at all).
    fn append_with_meta(&mut self, events: &[Event], meta: &[(&str, &str)]) -> Result<Vec<Cursor>, StoreError>;

    fn person(&self, id: PersonId) -> Result<Option<Person>, StoreError>;

    /// By any hetu the person has had, active or corrected.
    fn person_by_hetu(&self, hetu: Hetu) -> Result<Option<Person>, StoreError>;

    /// Whether any person holds this hetu now or held it before a correction.
    fn hetu_exists(&self, hetu: Hetu) -> Result<bool, StoreError>;

    /// The persons these hetus (active or corrected) belong to; a hetu
    /// nobody has is absent from the map.
    fn person_ids(&self, hetus: &[Hetu]) -> Result<std::collections::HashMap<Hetu, PersonId>, StoreError>;

    /// Persons with id greater than `after`, in id order, at most `limit`.
    fn persons(&self, filter: PersonFilter<'_>, after: PersonId, limit: usize) -> Result<Vec<Person>, StoreError>;

    fn person_count(&self) -> Result<u64, StoreError>;

    fn max_person_id(&self) -> Result<PersonId, StoreError>;

    /// Entries with cursor greater than `after`, in cursor order, at most `limit`.
    fn changes_since(&self, after: Cursor, limit: usize) -> Result<Vec<LogEntry>, StoreError>;

    /// [`Store::changes_since`] as summaries: what pages read.
    fn summaries_since(&self, after: Cursor, limit: usize) -> Result<Vec<LoggedChange>, StoreError>;

    /// The one entry at `cursor`, with both persons (for a change its
    /// summary cannot render alone).
    fn change(&self, cursor: Cursor) -> Result<Option<LogEntry>, StoreError>;

    /// The last cursor committed; the epoch's base ([`Store::begin_epoch`])
    /// if nothing was committed in the epoch; `Cursor(0)` for an empty log.
    fn last_cursor(&self) -> Result<Cursor, StoreError>;

    /// Starts a new epoch of the log (ours, for a county hub whose store
    /// was made anew or restored from a backup): the next cursor is
    /// `base + 1`, and cursors below `base` are no longer followed from
    /// (`meta` [`EPOCH_BASE`]). Refused unless `base` is above every cursor.
    fn begin_epoch(&mut self, base: i64) -> Result<(), StoreError>;

    /// The last cursor registered on or before `date`: reading changes after
    /// it gives everything registered after that day.
    fn cursor_at(&self, date: Date) -> Result<Cursor, StoreError>;

    fn put_permit(&mut self, permit: &Permit) -> Result<(), StoreError>;
    fn permit(&self, tunnus: &str) -> Result<Option<Permit>, StoreError>;
    fn permits(&self) -> Result<Vec<Permit>, StoreError>;

    /// Adds hetus to a permit's hetu list; returns how many were new.
    fn hetu_list_add(&mut self, permit: &str, hetus: &[Hetu]) -> Result<usize, StoreError>;
    /// Removes hetus from a permit's hetu list; returns how many were there.
    fn hetu_list_remove(&mut self, permit: &str, hetus: &[Hetu]) -> Result<usize, StoreError>;
    fn hetu_list(&self, permit: &str) -> Result<Vec<Hetu>, StoreError>;
    /// Whether the person is on the list under any of their hetus, so that a
    /// hetu correction does not drop them from a recipient's list.
    fn on_hetu_list(&self, permit: &str, person: PersonId) -> Result<bool, StoreError>;

    fn meta(&self, key: &str) -> Result<Option<String>, StoreError>;
    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError>;

    fn summary(&self) -> Result<LogSummary, StoreError>;
}

/// Everything the service needs of a database, as one object.
pub trait Backend: Store + Access + AuditLog + Send {}

impl<T: Store + Access + AuditLog + Send> Backend for T {}

/// Opens a database by its spec: a `postgres://` or `postgresql://` URL for
/// PostgreSQL, anything else a SQLite file path.
pub fn open(spec: &str) -> Result<Box<dyn Backend>, StoreError> {
    if is_url(spec) {
        Ok(Box::new(PgStore::connect(spec)?))
    } else {
        Ok(Box::new(SqliteStore::open(std::path::Path::new(spec))?))
    }
}

/// Whether a database spec names a server rather than a file.
pub fn is_url(spec: &str) -> bool {
    spec.starts_with("postgres://") || spec.starts_with("postgresql://")
}

/// A recipient (luvansaaja): an organisation that holds permits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    pub tunnus: String,
    pub nimi: String,
}

/// A user account of the REST interface, as DVV has them: it belongs to
/// exactly one permit, and signs in with HTTP Basic (or a client
/// certificate registered for it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiUser {
    pub name: String,
    pub permit: String,
    /// The password's memory-hard hash (PHC string); the password is never stored.
    pub password_hash: String,
    pub revoked: bool,
}

/// Recipients, users and their client certificates. Only hashes of
/// credentials are stored.
pub trait Access {
    fn put_recipient(&mut self, r: &Recipient) -> Result<(), StoreError>;
    fn recipient(&self, tunnus: &str) -> Result<Option<Recipient>, StoreError>;
    fn recipients(&self) -> Result<Vec<Recipient>, StoreError>;
    /// Creates a user of an existing permit; a name is never reused.
    fn add_user(&mut self, user: &ApiUser) -> Result<(), StoreError>;
    /// A user, revoked or not.
    fn user(&self, name: &str) -> Result<Option<ApiUser>, StoreError>;
    fn users(&self) -> Result<Vec<ApiUser>, StoreError>;
    /// Ends a user and its certificates; whether it was live.
    fn revoke_user(&mut self, name: &str) -> Result<bool, StoreError>;
    /// Registers a client certificate (its SHA-256) for a live user.
    fn add_user_cert(&mut self, user: &str, hash: &str) -> Result<(), StoreError>;
    /// The live user a certificate belongs to.
    fn cert_user(&self, hash: &str) -> Result<Option<String>, StoreError>;
}

/// The append-only audit log: a hash chain of entries and the Merkle tree
/// over them (see [`tree`]), with the checkpoints signed over the tree.
pub trait AuditLog {
    /// Appends one record, linked to the previous entry and added to the
    /// tree; with a key, the tree that now holds it is signed and the
    /// checkpoint kept, all in one transaction.
    fn audit_append(
        &mut self,
        record: &AuditRecord,
        signer: Option<&vtj_tlog::Signer>,
    ) -> Result<Appended, StoreError> {
        let mut appended = self.audit_append_all(std::slice::from_ref(record), signer)?;
        match (appended.pop(), appended.is_empty()) {
            (Some(a), true) => Ok(a),
            _ => Err(StoreError::Corrupt("one audit record appended as other than one entry".into())),
        }
    }
    /// Appends records in order, each as `audit_append` appends one, in
    /// one transaction (one commit, one sync, for many requests' entries);
    /// with a key, the tree that holds them all is signed once and every
    /// entry is given that checkpoint. All are appended or none.
    fn audit_append_all(
        &mut self,
        records: &[AuditRecord],
        signer: Option<&vtj_tlog::Signer>,
    ) -> Result<Vec<Appended>, StoreError>;
    /// Entries with sequence number greater than `after`, in order, at most `limit`.
    fn audit_entries(&self, after: i64, limit: usize) -> Result<Vec<AuditEntry>, StoreError>;
    /// The last pruned entry (genesis if none was pruned).
    fn audit_anchor(&self) -> Result<ChainPoint, StoreError>;
    /// The newest entry (genesis if the log is empty).
    fn audit_head(&self) -> Result<ChainPoint, StoreError>;
    /// Deletes the entries recorded before `cutoff` (same format as
    /// [`AuditRecord::at`]) and moves the anchor; returns how many went.
    /// The tree's nodes and the checkpoints stay.
    fn audit_prune(&mut self, cutoff: &str) -> Result<u64, StoreError>;
    /// Leaves in the tree: every entry ever logged, pruned ones included.
    fn audit_tree_size(&self) -> Result<u64, StoreError>;
    /// The complete subtree `(level, index)`, if the tree has it.
    fn audit_node(&self, level: u32, index: u64) -> Result<Option<vtj_tlog::Hash>, StoreError>;
    /// Nodes of a level from index `from`, at most `limit`, without gaps.
    fn audit_nodes(&self, level: u32, from: u64, limit: usize) -> Result<Vec<vtj_tlog::Hash>, StoreError>;
    /// Kept checkpoints of sizes greater than `after`, by size: (size, note).
    fn audit_checkpoints(&self, after: u64, limit: usize) -> Result<Vec<(u64, String)>, StoreError>;
    /// The newest kept checkpoint.
    fn audit_latest_checkpoint(&self) -> Result<Option<String>, StoreError>;
    /// Signs the tree as it stands and keeps the checkpoint.
    fn audit_sign(&mut self, signer: &vtj_tlog::Signer) -> Result<String, StoreError>;

    /// Every entry not pruned, in order, a page at a time.
    fn audit_scan(&self, f: &mut dyn FnMut(&[AuditEntry]) -> Result<(), StoreError>) -> Result<(), StoreError> {
        let mut after = self.audit_anchor()?.seq;
        loop {
            let page = self.audit_entries(after, 10_000)?;
            let Some(last) = page.last() else { return Ok(()) };
            after = last.seq;
            f(&page)?;
        }
    }

    /// Walks the whole chain from the anchor to the head.
    fn audit_verify(&self) -> Result<ChainReport, StoreError> {
        let anchor = self.audit_anchor()?;
        let head = self.audit_head()?;
        let mut v = audit::ChainVerifier::new(anchor.clone());
        self.audit_scan(&mut |page| page.iter().try_for_each(|e| Ok(v.check(e)?)))?;
        Ok(ChainReport { entries: v.finish(&head)?, anchor, head })
    }

    /// The tree's root at `size` (at most the tree's size).
    fn audit_root(&self, size: u64) -> Result<vtj_tlog::Hash, StoreError> {
        let have = self.audit_tree_size()?;
        if size > have {
            return Err(StoreError::Proof(format!("the log has {have} entries, not {size}")));
        }
        vtj_tlog::tree::root(&mut tree::Stored(self), size)
    }

    /// RFC 6962 inclusion proof of entry `seq` in the tree of `size`.
    fn audit_inclusion(&self, seq: i64, size: u64) -> Result<Vec<vtj_tlog::Hash>, StoreError> {
        let have = self.audit_tree_size()?;
        if size > have || seq < 1 {
            return Err(StoreError::Proof(format!("entry #{seq} in a tree of {size} (the log has {have} entries)")));
        }
        vtj_tlog::tree::inclusion_proof(&mut tree::Stored(self), seq as u64 - 1, size)?
            .ok_or_else(|| StoreError::Proof(format!("entry #{seq} is not in a tree of {size} entries")))
    }

    /// RFC 6962 consistency proof from the tree of `first` to that of `second`.
    fn audit_consistency(&self, first: u64, second: u64) -> Result<Vec<vtj_tlog::Hash>, StoreError> {
        let have = self.audit_tree_size()?;
        if second > have {
            return Err(StoreError::Proof(format!("the log has {have} entries, not {second}")));
        }
        vtj_tlog::tree::consistency_proof(&mut tree::Stored(self), first, second)?
            .ok_or_else(|| StoreError::Proof(format!("a tree of {second} entries cannot extend one of {first}")))
    }
}
