//! Pages as made for one kind of permit ([`PermitKind`]: the groups, the
//! scope, the turvakielto rule, in force or not), kept for the next
//! request of the same kind for the same page. Recipients of one kind (the
//! whole country's registers under one product, say) follow the same log
//! and ask for the same pages: the first request renders a page, the
//! others are given the same bytes.
//!
//! Two sorts of page are kept. A page of changes is keyed by everything
//! that decides it: the kind, the log's epoch, the cursor it follows, the
//! day and the page limits. What it holds is fixed once the log holds more
//! after it (the log is append-only and a cursor is visible only after
//! every lower one, as in [`crate::log_cache`]): such a page is kept for
//! good. A page that reaches the log's end (its `ajanTasalla` is true, or
//! it stopped where the log did) is given again only while the log's
//! newest cursor is the one it was made at. Only pages of a permit's whole
//! scope are kept: a call naming persons is answered for that call alone.
//!
//! A page of an area's residents (`/perustiedot-vko`) shows persons as
//! they are, so it is given only while the log's newest cursor is the one
//! it was made at: any change after it may be one of its persons' (a
//! turvakielto that starts, say). A baseline population, loaded before
//! the log starts, only adds persons: it reveals nothing a kept page
//! hides. Such a page is keyed by the kind, the municipalities asked for
//! within the area, where it continues from, the day and the page size.
//! The service makes the next page of a load ahead, while the previous
//! one is on its way (ours, see `vtj_api`); that page waits here, under
//! the same rule.
//!
//! Nothing of one request is kept here but the page itself, and the page
//! is what every permit of the kind receives: the audit entry (who asked,
//! on which permit, why) is still written per request.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use time::Date;
use vtj_core::{KuntaCode, PermitKind};
use vtj_store::Cursor;

use crate::audit::Touched;

/// Rendered bytes kept by default: some 40 pages of 1,000 changes of the
/// whole person (about 1.6 MB each), enough for recipients of a few kinds
/// reading the feed at once.
pub const DEFAULT_BYTES: usize = 64 << 20;

/// Counted for each kept page besides its own weight: its key and slot.
const SLOT_BYTES: usize = 256;

/// What decides a kept page.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PageKey {
    Changes(ChangesKey),
    Area(AreaKey),
}

/// What decides a page of changes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChangesKey {
    pub kind: PermitKind,
    /// The base of the log's epoch: a new epoch never meets an old page.
    pub epoch: i64,
    pub after: i64,
    pub today: Date,
    /// The page's limits: changes and log entries scanned.
    pub page: usize,
    pub max_scan: usize,
}

/// What decides a page of an area's residents.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AreaKey {
    pub kind: PermitKind,
    /// The municipalities asked for, within the permit's area.
    pub kunnat: BTreeSet<KuntaCode>,
    /// The load's snapshot cursor and the last person of the page before;
    /// none for a load's first page.
    pub from: Option<(i64, u64)>,
    pub today: Date,
    /// Persons in a page.
    pub page: usize,
}

/// How long a kept page stays the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// The log holds more after the page: nothing can change it.
    Fixed,
    /// The page reaches the log's end as it stood at this newest cursor.
    AtNewest(Cursor),
}

impl Validity {
    fn holds(self, newest: Cursor) -> bool {
        match self {
            Validity::Fixed => true,
            Validity::AtNewest(at) => at == newest,
        }
    }
}

/// A page as a channel sends it (`value`: the JSON answer), with what it
/// discloses, made once for every permit of one kind.
pub struct SharedPage<V> {
    pub value: V,
    pub touched: Touched,
    /// Changes or persons in the page.
    pub records: usize,
    /// An area page's continuation while there are more pages.
    pub next: Option<String>,
}

impl<V: AsRef<[u8]>> SharedPage<V> {
    /// Its size in memory, to bound what is kept.
    fn weight(&self) -> usize {
        // A logged hetu is a String of 11 bytes on the heap.
        let hetus = self.touched.hetus.len() * (std::mem::size_of::<String>() + 16);
        let groups = self.touched.groups.len() * 64;
        let next = self.next.as_ref().map_or(0, String::capacity);
        self.value.as_ref().len() + hetus + groups + next
    }
}

/// Pages kept, their answers of type `V` (the bytes sent).
pub struct PageCache<V> {
    capacity: usize,
    inner: Mutex<Slots<V>>,
}

struct Slots<V> {
    tick: u64,
    bytes: usize,
    map: HashMap<PageKey, Slot<V>>,
}

/// A slot is locked while its page is made, so requests of one kind for
/// the same page at once wait for one rendering instead of each making it.
type Cell<V> = Arc<Mutex<Option<(Arc<SharedPage<V>>, Validity)>>>;

struct Slot<V> {
    used: u64,
    weight: usize,
    cell: Cell<V>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A cell holds a whole page or none, whatever panicked elsewhere.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<V: AsRef<[u8]>> PageCache<V> {
    /// Keeps pages of at most `capacity` bytes in all (0 keeps none).
    pub fn new(capacity: usize) -> PageCache<V> {
        PageCache { capacity, inner: Mutex::new(Slots { tick: 0, bytes: 0, map: HashMap::new() }) }
    }

    pub fn disabled() -> PageCache<V> {
        PageCache::new(0)
    }

    /// Whether pages are kept at all.
    pub fn keeps(&self) -> bool {
        self.capacity > 0
    }

    /// The kept page of `key` if it still holds at `newest`; otherwise
    /// `make`'s, kept if it fits. Whether it was kept before is returned too.
    pub fn get_or_make<E>(
        &self,
        key: PageKey,
        newest: Cursor,
        make: impl FnOnce() -> Result<(SharedPage<V>, Validity), E>,
    ) -> Result<(Arc<SharedPage<V>>, bool), E> {
        if self.capacity == 0 {
            return make().map(|(v, _)| (Arc::new(v), false));
        }
        let cell = self.cell(&key);
        let mut held = lock(&cell);
        if let Some((page, validity)) = &*held {
            if validity.holds(newest) {
                return Ok((page.clone(), true));
            }
        }
        *held = None;
        let made = make();
        let weight = match &made {
            Ok((value, _)) => SLOT_BYTES + value.weight(),
            Err(_) => usize::MAX,
        };
        match made {
            Ok((value, validity)) if weight <= self.capacity => {
                let page = Arc::new(value);
                *held = Some((page.clone(), validity));
                drop(held);
                self.weigh(&key, &cell, weight);
                Ok((page, false))
            }
            other => {
                drop(held);
                self.forget(&key, &cell);
                other.map(|(v, _)| (Arc::new(v), false))
            }
        }
    }

    fn cell(&self, key: &PageKey) -> Cell<V> {
        let mut s = lock(&self.inner);
        s.tick += 1;
        let tick = s.tick;
        let slot = s.map.entry(key.clone()).or_insert_with(|| Slot { used: tick, weight: 0, cell: Arc::default() });
        slot.used = tick;
        slot.cell.clone()
    }

    /// Records a made page's weight and drops the least recently used
    /// pages beyond the capacity (never the one just made).
    fn weigh(&self, key: &PageKey, cell: &Cell<V>, weight: usize) {
        let mut s = lock(&self.inner);
        // The slot may have been dropped, or made anew, while the page was made.
        let Some(slot) = s.map.get_mut(key).filter(|slot| Arc::ptr_eq(&slot.cell, cell)) else { return };
        let was = std::mem::replace(&mut slot.weight, weight);
        s.bytes = s.bytes - was + weight;
        while s.bytes > self.capacity {
            let Some(oldest) =
                s.map.iter().filter(|(k, _)| *k != key).min_by_key(|(_, slot)| slot.used).map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(gone) = s.map.remove(&oldest) {
                s.bytes -= gone.weight;
            }
        }
    }

    /// Drops a slot left empty (its page failed or was too large to keep).
    fn forget(&self, key: &PageKey, cell: &Cell<V>) {
        let mut s = lock(&self.inner);
        if s.map.get(key).is_some_and(|slot| Arc::ptr_eq(&slot.cell, cell)) {
            if let Some(gone) = s.map.remove(key) {
                s.bytes -= gone.weight;
            }
        }
    }

    /// Bytes of the pages kept now (for tests and metrics).
    pub fn kept_bytes(&self) -> usize {
        lock(&self.inner).bytes
    }
}
