//! A county hub: one connection to DVV, one copy in the county, the
//! county's own systems served from it through the same interface.
//!
//! The hub is two stages on two databases, each crash-safe by itself:
//! - the follower is the sync client (`vtj_sync`) with a register marked as
//!   a hub's: every person it writes or removes is noted in the register's
//!   outbox in the same transaction;
//! - [`publish`] mirrors the noted persons into the hub's store
//!   (`vtj_store`): one `Mirrored` event per person whose upstream-visible
//!   data changed (`vtj_core::hub::mirror`), appended together with the
//!   outbox position it reached, so a crash between the two databases
//!   repeats nothing and loses nothing.
//!
//! The store is then an ordinary change log with a cursor of its own, which
//! `vtj serve` discloses under sub-permits through the core's `render`.
//! Its cursors start at an [`epoch_base`]; a store made anew, or restored
//! from a backup and [`reconcile`]d, starts a new epoch, and a client with
//! a cursor of an earlier one is told to load its data again.

mod publish;

pub use publish::{publish, reconcile, seen, HubError, Published, OUTBOX_POSITION};

/// The base of a new epoch of a hub's change log: the time in microseconds
/// since 1970 (ours). Every cursor an earlier incarnation of the log gave
/// out is below it, unless it appended over a million changes a second, so
/// a client holding one is told to load again
/// (`KIRJAUSAVAIN_VANHENTUNUT`) instead of missing changes.
pub fn epoch_base(now: time::OffsetDateTime) -> i64 {
    // Microseconds, not seconds × 10⁶: a store made and restored within one
    // second still gets two epochs.
    i64::try_from(now.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}
