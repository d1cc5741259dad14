//! Muutostietopalvelu deliveries: for one permit, an initial delivery
//! (`.PTT`) and then change deliveries (`.MTT`), each covering the cursor
//! range after the previous one, so that no change is delivered twice or
//! skipped. The content is the engine's ([`crate::pages`]): the same permit
//! gets the same data by file as through REST.
//!
//! A permit's deliveries live in one directory with a `MANIFEST.json` that
//! lists every delivery (sequence number, cursor range, records, SHA-256).
//! A file is written under a temporary name, synced and renamed; the
//! manifest is rewritten the same way, last. A crash before the manifest
//! leaves a file the manifest does not list, which the next run overwrites.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;
use time::{Date, OffsetDateTime};
use vtj_core::date::ymd;
use vtj_core::{Disclosure, Permit, Scope};
use vtj_format::delivery::{
    DeliveryError, DeliveryKind, DeliveryWriter, Header, Item, Role, INITIAL_EVENT, LIST_ADDED, LIST_REMOVED,
};
use vtj_format::manifest::{sha256_file, Manifest, ManifestEntry, ManifestError, MANIFEST};
use vtj_store::{AuditLog, Store, StoreError};

use crate::audit::{self, Context, Touched};
use crate::log_cache::LogCache;
use crate::pages::{self, Limits, PersonOut};
use crate::refusal::Refused;

#[derive(Debug, Error)]
pub enum DeliverError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Service(String),
    #[error("{0}")]
    Format(#[from] DeliveryError),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Manifest(String),
}

impl From<Refused> for DeliverError {
    fn from(e: Refused) -> DeliverError {
        DeliverError::Service(e.to_string())
    }
}

impl From<ManifestError> for DeliverError {
    fn from(e: ManifestError) -> DeliverError {
        DeliverError::Manifest(e.to_string())
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DeliverError + '_ {
    move |source| DeliverError::Io { path: path.to_path_buf(), source }
}

/// Rewrites the manifest atomically: the last step of a delivery.
fn save_manifest(m: &Manifest, dir: &Path) -> Result<(), DeliverError> {
    let bytes = serde_json::to_vec_pretty(m).map_err(|e| DeliverError::Manifest(e.to_string()))?;
    write_atomically_with(&dir.join(MANIFEST), |w| w.write_all(&bytes).map_err(io(&dir.join(MANIFEST))))
}

/// When to write a change delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Now, whatever the rhythm.
    Now,
    /// Only if the last delivery is at least this many days old (7 or 14).
    Due { rhythm_days: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub entry: ManifestEntry,
    pub path: PathBuf,
}

/// Writes the permit's next delivery into `dir`, if one is due; `None` if not.
pub fn deliver<S: Store + AuditLog + ?Sized>(
    s: &mut S,
    permit_id: &str,
    dir: &Path,
    when: When,
    now: OffsetDateTime,
) -> Result<Option<Delivered>, DeliverError> {
    deliver_signed(s, permit_id, dir, when, now, None)
}

/// As [`deliver`]; with the service's key, the audit tree is signed once the
/// delivery's pages are logged and the checkpoint goes into its manifest
/// entry, as a REST answer carries its own.
pub fn deliver_signed<S: Store + AuditLog + ?Sized>(
    s: &mut S,
    permit_id: &str,
    dir: &Path,
    when: When,
    now: OffsetDateTime,
    signer: Option<&vtj_tlog::Signer>,
) -> Result<Option<Delivered>, DeliverError> {
    let today = now.date();
    let permit = pages::authorize(&*s, permit_id, today)?;
    fs::create_dir_all(dir).map_err(io(dir))?;
    let mut manifest = match Manifest::load(dir)? {
        Some(m) if m.permit != permit.tunnus || m.recipient != permit.luvansaaja => {
            return Err(DeliverError::Manifest(format!(
                "{} holds deliveries of permit {} to {}, not {} to {}",
                dir.display(),
                m.permit,
                m.recipient,
                permit.tunnus,
                permit.luvansaaja
            )))
        }
        Some(m) => m,
        None => Manifest { permit: permit.tunnus.clone(), recipient: permit.luvansaaja.clone(), deliveries: vec![] },
    };
    let last = manifest.deliveries.last().cloned();
    if let (Some(last), When::Due { rhythm_days }) = (&last, when) {
        let since = date_of(&last.created)?;
        if (today - since).whole_days() < i64::from(rhythm_days) {
            return Ok(None);
        }
    }
    let seq = last.as_ref().map_or(1, |l| l.seq + 1);
    let kind = if last.is_none() { DeliveryKind::Initial } else { DeliveryKind::Changes };
    let name = file_name(&permit.luvansaaja, today, seq, kind);
    let path = dir.join(&name);
    let from = last.as_ref().map_or(0, |l| l.to);
    let listed = listed_ids(s, &permit)?;
    let before = last.as_ref().map(|l| l.listed.clone()).unwrap_or_default();
    let (to, records) = write_atomically_with(&path, |out| match kind {
        DeliveryKind::Initial => initial(s, &permit, (&name, seq, now), out),
        DeliveryKind::Changes => changes(s, &permit, (&name, seq, now), from, (&before, &listed), out),
    })?;
    let entry = ManifestEntry {
        seq,
        file: name,
        kind: kind.extension().into(),
        from: if kind == DeliveryKind::Initial { to } else { from },
        to,
        created: ymd(today),
        records,
        sha256: sha256_file(&path)?,
        listed,
        audit_checkpoint: signer.map(|k| s.audit_sign(k)).transpose()?,
    };
    manifest.deliveries.push(entry.clone());
    save_manifest(&manifest, dir)?;
    Ok(Some(Delivered { entry, path }))
}

/// The persons on a hetu-list permit's list now, by internal id, sorted.
fn listed_ids<S: Store + ?Sized>(s: &S, permit: &Permit) -> Result<Vec<u64>, DeliverError> {
    if !matches!(permit.rajaus, Scope::Hetulista) {
        return Ok(Vec::new());
    }
    let mut ids: Vec<u64> = s.person_ids(&s.hetu_list(&permit.tunnus)?)?.into_values().map(|id| id.0).collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

fn date_of(ymd: &str) -> Result<Date, DeliverError> {
    match vtj_core::VtjDate::parse(ymd) {
        Ok(vtj_core::VtjDate::Full(d)) => Ok(d),
        _ => Err(DeliverError::Manifest(format!("delivery date {ymd:?} is not a date"))),
    }
}

/// `<recipient>_<yyyymmdd>_<seq>.PTT|MTT`, the recipient id made file-safe.
pub fn file_name(recipient: &str, day: Date, seq: u32, kind: DeliveryKind) -> String {
    let safe: String = recipient.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect();
    format!("{safe}_{}_{seq:04}.{}", ymd(day), kind.extension())
}

type Out<'a> = &'a mut BufWriter<File>;

/// Pages of records go into the file and, page by page, into the audit log.
struct Sink<'a, S: ?Sized> {
    store: &'a mut S,
    permit: &'a Permit,
    context: Context,
    now: OffsetDateTime,
}

impl<'a, S: Store + AuditLog + ?Sized> Sink<'a, S> {
    fn new(store: &'a mut S, permit: &'a Permit, action: String, now: OffsetDateTime) -> Sink<'a, S> {
        let mut context = Context::new(action);
        context.permit(permit);
        Sink { store, permit, context, now }
    }

    fn log(&mut self, touched: Touched) -> Result<(), DeliverError> {
        if touched.records == 0 && touched.hetus.is_empty() {
            return Ok(());
        }
        // Unsigned: the delivery is signed once, when its last page is logged.
        audit::commit(self.store, &self.context.entry(self.now, Ok(touched)), None)?;
        Ok(())
    }
}

fn header(permit: &Permit, kind: DeliveryKind, seq: u32, from: i64, to: i64, now: OffsetDateTime) -> Header {
    Header {
        kind,
        recipient: permit.luvansaaja.clone(),
        permit: permit.tunnus.clone(),
        seq,
        from,
        to,
        created: now.date(),
    }
}

fn person_item(r: &PersonOut, day: Date) -> Item {
    Item { hetu: r.hetu, event: INITIAL_EVENT.into(), registered: day, role: Role::Initial, groups: r.groups.clone() }
}

/// Everyone in scope at the snapshot cursor, which is the header's `to`.
fn initial<S: Store + AuditLog + ?Sized>(
    s: &mut S,
    permit: &Permit,
    (name, seq, now): (&str, u32, OffsetDateTime),
    out: Out,
) -> Result<(i64, u64), DeliverError> {
    let today = now.date();
    let snapshot = s.last_cursor()?.0;
    let mut w = DeliveryWriter::new(out, &header(permit, DeliveryKind::Initial, seq, snapshot, snapshot, now))?;
    let mut sink = Sink::new(s, permit, format!("FILE {name} muutostietopalvelu/perustiedot"), now);
    let limits = Limits { vko_page: FILE_PAGE, ..Limits::default() };
    match &permit.rajaus {
        Scope::Kuntarajaus { kunnat } => {
            let mut token: Option<String> = None;
            loop {
                let (page, touched) = pages::area_page(&*sink.store, permit, kunnat, token.as_deref(), &limits, today)?;
                for r in &page.persons {
                    w.write(&person_item(r, today))?;
                }
                sink.log(touched)?;
                match page.next {
                    // Pages carry the snapshot they were started at.
                    Some(t) => token = Some(t),
                    None => break,
                }
            }
        }
        Scope::Hetulista => {
            let list = sink.store.hetu_list(&permit.tunnus)?;
            for chunk in list.chunks(FILE_PAGE) {
                let (persons, touched) = pages::listed(&*sink.store, permit, chunk, None, today)?;
                for r in &persons {
                    w.write(&person_item(r, today))?;
                }
                sink.log(touched)?;
            }
        }
    }
    let n = w.items();
    w.finish()?;
    Ok((snapshot, n))
}

/// Persons per page read for a file: larger than a REST page, the file is
/// written as it is read.
const FILE_PAGE: usize = 5_000;

/// Every change after `from` the permit receives, up to the newest cursor
/// when the delivery started; returns where it ended. A hetu-list permit's
/// changes are those of the persons on its list now.
fn changes<S: Store + AuditLog + ?Sized>(
    s: &mut S,
    permit: &Permit,
    (name, seq, now): (&str, u32, OffsetDateTime),
    from: i64,
    (listed_before, listed_now): (&[u64], &[u64]),
    out: Out,
) -> Result<(i64, u64), DeliverError> {
    let today = now.date();
    let limits = Limits { page: FILE_PAGE, ..Limits::default() };
    // The range ends at the newest cursor when the delivery starts; what
    // commits meanwhile goes into the next delivery.
    let to = s.last_cursor()?.0;
    let mut w = DeliveryWriter::new(out, &header(permit, DeliveryKind::Changes, seq, from, to, now))?;
    let mut sink = Sink::new(s, permit, format!("FILE {name} muutostietopalvelu/muutokset"), now);
    list_changes(&mut sink, &mut w, listed_before, listed_now, today)?;
    let list = match permit.rajaus {
        Scope::Hetulista => Some(sink.store.hetu_list(&permit.tunnus)?),
        Scope::Kuntarajaus { .. } => None,
    };
    // One delivery reads each entry once: nothing to share.
    let log = LogCache::disabled();
    let mut after = from;
    while after < to {
        let (page, touched) =
            pages::changes(&*sink.store, &log, permit, after, list.as_deref(), Some(to), &limits, today)?;
        for c in &page.changes {
            let role = match c.disclosure {
                Disclosure::Enter(_) => Role::Enter,
                Disclosure::Leave(_) => Role::Leave,
                _ => Role::Change,
            };
            w.write(&Item {
                hetu: c.hetu,
                event: c.event.to_string(),
                registered: c.registered,
                role,
                groups: c.disclosure.changes().to_vec(),
            })?;
        }
        sink.log(touched)?;
        if page.last <= after {
            break;
        }
        after = page.last;
    }
    let n = w.items();
    w.finish()?;
    Ok((to, n))
}

/// Persons added to a hetu list since the last delivery enter in full;
/// those removed leave. Either comes before the range's changes, which
/// replay over the full records.
fn list_changes<S: Store + AuditLog + ?Sized>(
    sink: &mut Sink<'_, S>,
    w: &mut DeliveryWriter<Out>,
    before: &[u64],
    now: &[u64],
    today: Date,
) -> Result<(), DeliverError> {
    let added: Vec<u64> = now.iter().filter(|id| before.binary_search(id).is_err()).copied().collect();
    let removed: Vec<u64> = before.iter().filter(|id| now.binary_search(id).is_err()).copied().collect();
    for chunk in added.chunks(FILE_PAGE) {
        let mut hetus = Vec::with_capacity(chunk.len());
        for &id in chunk {
            if let Some(p) = sink.store.person(vtj_core::PersonId(id))? {
                hetus.push(p.hetu());
            }
        }
        let (persons, touched) = pages::listed(&*sink.store, sink.permit, &hetus, None, today)?;
        for r in &persons {
            w.write(&Item { event: LIST_ADDED.into(), role: Role::Enter, ..person_item(r, today) })?;
        }
        sink.log(touched)?;
    }
    let mut touched = Touched::default();
    for &id in &removed {
        if let Some(p) = sink.store.person(vtj_core::PersonId(id))? {
            touched.hetus.push(p.hetu().to_string());
            w.write(&Item {
                hetu: p.hetu(),
                event: LIST_REMOVED.into(),
                registered: today,
                role: Role::Leave,
                groups: vec![],
            })?;
        }
    }
    sink.log(touched)
}

/// Writes through `<path>.part`, syncs, renames over `path` and syncs the
/// directory: a reader sees the whole file or none of it.
fn write_atomically_with<T>(
    path: &Path,
    f: impl FnOnce(&mut BufWriter<File>) -> Result<T, DeliverError>,
) -> Result<T, DeliverError> {
    let part = path.with_extension(format!("{}.part", path.extension().and_then(|e| e.to_str()).unwrap_or_default()));
    let file = File::create(&part).map_err(io(&part))?;
    let mut out = BufWriter::new(file);
    let value = f(&mut out)?;
    let file = out.into_inner().map_err(|e| io(&part)(e.into_error()))?;
    file.sync_all().map_err(io(&part))?;
    fs::rename(&part, path).map_err(io(path))?;
    if let Some(dir) = path.parent() {
        File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))?;
    }
    Ok(value)
}
