//! Decoded blocks of the change log's summaries (`vtj_core::Delta`),
//! shared by every request of one process: recipients following the feed
//! read the same entries, decoded once here and rendered per permit.
//! Nothing permit-specific is kept here, so nothing here can carry one
//! permit's answer to another: every disclosure is still made per request.
//!
//! A block is the entries whose cursors fall in one aligned range of
//! [`BLOCK`] cursors. Only a block wholly at or below the newest cursor
//! is kept: the log is append-only and a cursor is visible only after every
//! lower one is (appends are serialised), so such a block never changes.
//! Blocks are keyed by the log's epoch as well, so a hub that starts a new
//! epoch never meets a block of the old one. A database restored from a
//! backup under a running service reuses cursors: restart the service.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use vtj_store::{Cursor, LoggedChange, Store, StoreError};

/// Cursors in one block.
pub const BLOCK: i64 = 256;

/// Entries kept by default. A summary of the whole person's change is
/// 1.8 KiB stored on average (100,000 persons, 30 days; the two persons
/// were 5.9 KiB), some 11 KiB decoded if decoding grows it as it grows a
/// person (seven-fold), so 4,096 entries are about 45 MiB:
/// sixteen blocks, enough for recipients reading the same 1,000-change
/// page (some 2,500 entries) at once to share it.
pub const DEFAULT_ENTRIES: usize = 4_096;

pub struct LogCache {
    blocks: usize,
    inner: Mutex<Blocks>,
}

#[derive(Default)]
struct Blocks {
    tick: u64,
    slots: HashMap<(i64, i64), Slot>,
}

/// A slot is locked while its block is read, so requests wanting the
/// same block at once wait for one read instead of each decoding it.
type Cell = Arc<Mutex<Option<Arc<[LoggedChange]>>>>;

struct Slot {
    used: u64,
    cell: Cell,
}

/// Log entries after a cursor, in cursor order.
pub(crate) struct Run {
    entries: Arc<[LoggedChange]>,
    from: usize,
    /// The log held nothing more when read.
    pub at_end: bool,
}

impl Run {
    pub fn entries(&self) -> &[LoggedChange] {
        &self.entries[self.from..]
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere cannot leave a half-written block: a cell is
    // either empty or holds a whole one.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl LogCache {
    /// Keeps about `entries` decoded entries (whole blocks; 0 keeps none).
    pub fn new(entries: usize) -> LogCache {
        LogCache { blocks: entries.div_ceil(BLOCK as usize), inner: Mutex::new(Blocks::default()) }
    }

    pub fn disabled() -> LogCache {
        LogCache::new(0)
    }

    /// Entries after `after` (at least one unless the log has nothing
    /// after it): from a kept block when `after + 1` falls in a complete
    /// one, otherwise read from the store.
    pub(crate) fn read<S: Store + ?Sized>(
        &self,
        s: &S,
        epoch: i64,
        newest: Cursor,
        after: Cursor,
    ) -> Result<Run, StoreError> {
        let block = (after.0 + 1).div_euclid(BLOCK);
        let complete = (block + 1) * BLOCK - 1 <= newest.0;
        if self.blocks > 0 && complete {
            let entries = self.block(s, epoch, block)?;
            let from = entries.partition_point(|e| e.cursor <= after);
            if from < entries.len() {
                return Ok(Run { entries, from, at_end: false });
            }
        }
        let entries: Arc<[LoggedChange]> = s.summaries_since(after, BLOCK as usize)?.into();
        Ok(Run { at_end: entries.len() < BLOCK as usize, entries, from: 0 })
    }

    fn block<S: Store + ?Sized>(&self, s: &S, epoch: i64, block: i64) -> Result<Arc<[LoggedChange]>, StoreError> {
        let cell = self.cell((epoch, block));
        let mut held = lock(&cell);
        if let Some(entries) = &*held {
            return Ok(entries.clone());
        }
        let first = block * BLOCK;
        let mut entries = s.summaries_since(Cursor(first - 1), BLOCK as usize)?;
        entries.retain(|e| e.cursor.0 < first + BLOCK);
        let entries: Arc<[LoggedChange]> = entries.into();
        *held = Some(entries.clone());
        Ok(entries)
    }

    fn cell(&self, key: (i64, i64)) -> Cell {
        let mut b = lock(&self.inner);
        b.tick += 1;
        let tick = b.tick;
        if let Some(slot) = b.slots.get_mut(&key) {
            slot.used = tick;
            return slot.cell.clone();
        }
        if b.slots.len() >= self.blocks {
            if let Some(oldest) = b.slots.iter().min_by_key(|(_, s)| s.used).map(|(k, _)| *k) {
                b.slots.remove(&oldest);
            }
        }
        let cell = Cell::default();
        b.slots.insert(key, Slot { used: tick, cell: cell.clone() });
        cell
    }

    /// Blocks kept now (for tests and metrics).
    pub fn kept(&self) -> usize {
        // Not under the map's lock: a cell is locked while its block is read.
        let cells: Vec<Cell> = lock(&self.inner).slots.values().map(|s| s.cell.clone()).collect();
        cells.iter().filter(|c| lock(c).is_some()).count()
    }
}
