//! From the register's outbox into the hub's change log.

use std::collections::HashSet;

use thiserror::Error;
use time::Date;
use vtj_core::hub::{mirror, Seen};
use vtj_core::{Event, EventKind, GroupName, Hetu, Permit, Person, PersonId};
use vtj_store::{Store, StoreError};
use vtj_sync::{Noted, Register, RegisterError};
use vtj_wire::Held;

/// The store's meta key for the last outbox note mirrored.
pub const OUTBOX_POSITION: &str = "hub.outbox";

#[derive(Debug, Error)]
pub enum HubError {
    #[error(transparent)]
    Register(#[from] RegisterError),
    #[error("the hub's store: {0}")]
    Store(#[from] StoreError),
    #[error("upstream sent {0:?} as a henkilötunnus: {1}")]
    BadHetu(String, vtj_core::HetuError),
    #[error("upstream sent the data group {0} twice for one person")]
    Twice(GroupName),
    #[error("the hub's store says {OUTBOX_POSITION} = {0:?}, not a number")]
    Position(String),
    #[error(
        "the hub's store has mirrored the register's notes up to {store}, but the register forgot notes up to \
         {register}: the store is older than the register (restored from a backup?); run `vtj hub restored`"
    )]
    StoreBehind { store: i64, register: i64 },
    #[error(
        "the hub's register has given notes up to {register} only, but the store mirrored up to {store}: the \
         register is older than the store (restored from a backup?); run `vtj hub restored`"
    )]
    RegisterBehind { store: i64, register: i64 },
    #[error(
        "upstream censored {group} although the upstream permit {permit}, as recorded in the hub, has the \
         turvakielto right: record the permit as decided (vtj admin permit-add) before the hub goes on"
    )]
    CensoredDespiteRight { group: GroupName, permit: String },
}

/// What one run of [`publish`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Published {
    /// Outbox notes read.
    pub noted: u64,
    /// Mirrored events appended (a person whose data did not change needs none).
    pub events: u64,
    /// Group instances the core does not model, left out of the mirror.
    pub untyped: u64,
    /// Group instances outside the upstream product as recorded in the
    /// hub, left out: the hub keeps only what the permit gives.
    pub outside_product: u64,
}

impl std::ops::AddAssign for Published {
    fn add_assign(&mut self, other: Published) {
        self.noted += other.noted;
        self.events += other.events;
        self.untyped += other.untyped;
        self.outside_product += other.outside_product;
    }
}

/// Mirrors every person the register noted into the store, in batches of
/// at most `batch` notes, and forgets the notes once they are committed.
/// `upstream` is the permit the register follows, as recorded in the hub.
pub fn publish<S: Store + ?Sized>(
    reg: &mut Register,
    store: &mut S,
    upstream: &Permit,
    today: Date,
    batch: usize,
) -> Result<Published, HubError> {
    let mut done = Published::default();
    let (forgotten, head) = reg.outbox_marks()?;
    let mirrored_to = position(store)?;
    if mirrored_to < forgotten {
        return Err(HubError::StoreBehind { store: mirrored_to, register: forgotten });
    }
    if head < mirrored_to {
        return Err(HubError::RegisterBehind { store: mirrored_to, register: head });
    }
    loop {
        let after = position(store)?;
        let notes = reg.outbox(after, batch.max(1))?;
        let Some(last) = notes.last().map(|n| n.seq) else { break };
        let mut next_id = store.max_person_id()?.0;
        let mut seen_now = HashSet::new();
        let mut events = Vec::new();
        for n in &notes {
            // The register's state now covers every earlier note of the person.
            if !seen_now.insert(n.current.clone()) {
                continue;
            }
            if let Some(e) = mirrored(store, n, upstream, today, &mut next_id, &mut done)? {
                events.push(e);
            }
        }
        let reached = last.to_string();
        if events.is_empty() {
            store.set_meta(OUTBOX_POSITION, &reached)?;
        } else {
            store.append_with_meta(&events, &[(OUTBOX_POSITION, &reached)])?;
        }
        reg.outbox_done(last)?;
        done.noted += notes.len() as u64;
        done.events += events.len() as u64;
    }
    Ok(done)
}

fn position<S: Store + ?Sized>(store: &S) -> Result<i64, HubError> {
    match store.meta(OUTBOX_POSITION)? {
        Some(v) => v.parse().map_err(|_| HubError::Position(v)),
        None => Ok(0),
    }
}

/// After a restore from a backup (of the store, the register or both):
/// makes the store the mirror of the whole register again, whatever the
/// notes say, and takes up the notes from the register's newest. Reads the
/// register whole (a county's population fits; the nation's would want a
/// streaming pass). The caller starts a new epoch of the store first, so
/// that every internal system loads its data again.
pub fn reconcile<S: Store + ?Sized>(
    reg: &mut Register,
    store: &mut S,
    upstream: &Permit,
    today: Date,
    batch: usize,
) -> Result<Published, HubError> {
    let (_, head) = reg.outbox_marks()?;
    let kept = reg.snapshot()?;
    let mut done = Published::default();
    let mut next_id = store.max_person_id()?.0;
    let mut events = Vec::new();
    for (hetu, held) in &kept {
        let n = Noted {
            seq: head,
            hetu: hetu.clone(),
            current: hetu.clone(),
            former: Vec::new(),
            held: Some(held.clone()),
        };
        events.extend(mirrored(store, &n, upstream, today, &mut next_id, &mut done)?);
    }
    // Whoever the store holds that the register does not, upstream no longer gives.
    let mut after = PersonId(0);
    loop {
        let page = store.persons(vtj_store::PersonFilter::All, after, 5_000)?;
        let Some(last) = page.last().map(|p| p.id) else { break };
        after = last;
        for p in page.into_iter().filter(vtj_core::hub::held) {
            if !p.all_hetus().iter().any(|h| kept.contains_key(h.as_str())) {
                events.push(Event {
                    person: p.id,
                    rekisterointipaiva: today,
                    tapahtuma: EventKind::Mirrored { henkilotunnus: p.hetu(), ryhmat: Vec::new() },
                });
            }
        }
    }
    done.noted = kept.len() as u64;
    done.events = events.len() as u64;
    for chunk in events.chunks(batch.max(1)) {
        store.append(chunk)?;
    }
    store.set_meta(OUTBOX_POSITION, &head.to_string())?;
    reg.outbox_done(head)?;
    Ok(done)
}

/// The event that makes the hub's person what the register now holds, if
/// anything changed.
fn mirrored<S: Store + ?Sized>(
    store: &S,
    n: &Noted,
    upstream: &Permit,
    today: Date,
    next_id: &mut u64,
    counts: &mut Published,
) -> Result<Option<Event>, HubError> {
    let current = hetu(&n.current)?;
    let known = find(store, current, n)?;
    let (id, hetu) = match (&known, &n.held) {
        (None, None) => return Ok(None),
        (Some(p), None) => (p.id, p.hetu()),
        (Some(p), Some(_)) => (p.id, current),
        (None, Some(_)) => {
            *next_id += 1;
            (PersonId(*next_id), current)
        }
    };
    let groups = match &n.held {
        Some(h) => within(upstream, seen(h, &mut counts.untyped), &mut counts.outside_product)?,
        None => Vec::new(),
    };
    let person = mirror(id, hetu, groups).map_err(|twice| HubError::Twice(twice.0))?;
    if known.as_ref().is_some_and(|p| *p == person) {
        return Ok(None);
    }
    Ok(Some(Event {
        person: id,
        rekisterointipaiva: today,
        tapahtuma: EventKind::Mirrored { henkilotunnus: hetu, ryhmat: person.tietoryhmat.iter().cloned().collect() },
    }))
}

/// The hub's person of a note: by the hetu they are kept under now, the one
/// noted, or one they had before (a correction the hub has not yet seen).
fn find<S: Store + ?Sized>(store: &S, current: Hetu, n: &Noted) -> Result<Option<Person>, HubError> {
    if let Some(p) = store.person_by_hetu(current)? {
        return Ok(Some(p));
    }
    for other in std::iter::once(&n.hetu).chain(&n.former) {
        if let Some(p) = store.person_by_hetu(hetu(other)?)? {
            return Ok(Some(p));
        }
    }
    Ok(None)
}

/// The groups the upstream permit gives; censoring only where it may.
fn within(
    upstream: &Permit,
    groups: Vec<(GroupName, Seen)>,
    outside: &mut u64,
) -> Result<Vec<(GroupName, Seen)>, HubError> {
    let mut out = Vec::with_capacity(groups.len());
    for (g, s) in groups {
        if !upstream.tuote.tietoryhmat.contains(&g) {
            *outside += match &s {
                Seen::Values(v) => v.len() as u64,
                Seen::Censored => 1,
            };
            continue;
        }
        if s == Seen::Censored && upstream.sees_turvakielto_data() {
            return Err(HubError::CensoredDespiteRight { group: g, permit: upstream.tunnus.clone() });
        }
        out.push((g, s));
    }
    Ok(out)
}

fn hetu(s: &str) -> Result<Hetu, HubError> {
    Hetu::parse(s).map_err(|e| HubError::BadHetu(s.to_string(), e))
}

/// What upstream disclosed of a person, group by group, as the core reads
/// it: a censored group as such, a modelled one typed; a group or field
/// the core does not model cannot be served through `render` and is
/// counted in `untyped`.
pub fn seen(held: &Held, untyped: &mut u64) -> Vec<(GroupName, Seen)> {
    let mut out = Vec::new();
    for (name, instances) in held.groups() {
        let Ok(g) = GroupName::parse(name) else {
            *untyped += instances.len() as u64;
            continue;
        };
        if instances.iter().any(|i| i.is_censored()) {
            out.push((g, Seen::Censored));
            continue;
        }
        let values: Vec<_> = instances.iter().filter_map(|i| i.typed()).collect();
        *untyped += (instances.len() - values.len()) as u64;
        if !values.is_empty() {
            out.push((g, Seen::Values(values)));
        }
    }
    out
}
