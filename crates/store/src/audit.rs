//! The audit log's records and its hash chain.
//!
//! Each entry commits to the one before it: `hash = SHA-256(prev_hash "\n"
//! seq "\n" data)`, where `data` is the record's JSON exactly as stored. An
//! edited, deleted or reordered entry breaks the chain. Pruning entries older
//! than the retention period keeps the remainder verifiable by recording the
//! last pruned entry as the chain's anchor, and the newest entry is kept as
//! the head so that cutting off the tail is noticed too.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// One request or delivery: who, on which permit and why, what was asked,
/// whose data and which groups went out, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AuditRecord {
    /// UTC, `YYYY-MM-DDTHH:MM:SS.mmmZ`: sorts as text.
    pub at: String,
    pub recipient: Option<String>,
    /// The user account that signed in (each belongs to one permit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    pub permit: Option<String>,
    pub purpose: Option<String>,
    /// What was done, e.g. `POST /api/v1/muutokset`.
    pub action: String,
    /// `X-Road-Client` as sent: recorded, never trusted.
    pub xroad_client: Option<String>,
    /// The hetus a request asked for by name (`/perustiedot`: at most 1000).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub asked: Vec<String>,
    /// A hetu list sent to follow changes (`/muutokset`): the recipient's
    /// customer list, the same call after call, so it is recorded by count
    /// and digest; whose data went out is in `hetus`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asked_list: Option<ListDigest>,
    /// Whose data went out.
    pub hetus: Vec<String>,
    pub groups: Vec<String>,
    /// Person records returned (initial data, single queries, changes).
    #[serde(default)]
    pub records: u64,
    pub status: u16,
    /// The stable error code of a refused request.
    pub code: Option<String>,
}

/// A list by its length and the SHA-256 of its items sorted, one per line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListDigest {
    pub count: u64,
    pub sha256: String,
}

impl ListDigest {
    pub fn of(items: &[String]) -> ListDigest {
        let mut sorted: Vec<&str> = items.iter().map(String::as_str).collect();
        sorted.sort_unstable();
        let mut h = Sha256::new();
        for i in sorted {
            h.update(i.as_bytes());
            h.update(b"\n");
        }
        ListDigest { count: items.len() as u64, sha256: hex(&h.finalize()) }
    }
}

impl AuditRecord {
    /// The one time format of [`AuditRecord::at`] and of prune cutoffs.
    pub fn format_time(t: time::OffsetDateTime) -> String {
        vtj_core::date::utc_millis(t)
    }
}

/// What appending an entry gave: its sequence number and, when the
/// service signs, the checkpoint of the tree that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub seq: i64,
    pub checkpoint: Option<String>,
}

/// An entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: i64,
    pub data: String,
    pub prev_hash: String,
    pub hash: String,
}

/// A point in the chain: an entry's sequence number and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainPoint {
    pub seq: i64,
    pub hash: String,
}

impl ChainPoint {
    /// Before the first entry.
    pub fn genesis() -> ChainPoint {
        ChainPoint { seq: 0, hash: "0".repeat(64) }
    }

    pub fn encode(&self) -> String {
        format!("{} {}", self.seq, self.hash)
    }

    pub fn decode(s: &str) -> Option<ChainPoint> {
        let (seq, hash) = s.split_once(' ')?;
        Some(ChainPoint { seq: seq.parse().ok()?, hash: hash.to_string() })
    }
}

impl fmt::Display for ChainPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{} {}", self.seq, self.hash)
    }
}

pub fn chain_hash(prev_hash: &str, seq: i64, data: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(seq.to_string().as_bytes());
    h.update(b"\n");
    h.update(data.as_bytes());
    hex(&h.finalize())
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where and how the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChainBreak {
    #[error("entry #{expected} is missing (next present is #{found}): entries were deleted")]
    Missing { expected: i64, found: i64 },
    #[error("entry #{seq} does not follow the entry before it: entries were deleted or reordered")]
    Link { seq: i64 },
    #[error("entry #{seq} was modified: its content does not match its hash")]
    Modified { seq: i64 },
    #[error("the log ends at {found} but its recorded head is {head}: entries were cut off the end")]
    Truncated { found: ChainPoint, head: ChainPoint },
}

/// Follows the chain from `anchor` over entries in sequence order.
#[derive(Debug)]
pub struct ChainVerifier {
    last: ChainPoint,
    checked: u64,
}

impl ChainVerifier {
    pub fn new(anchor: ChainPoint) -> ChainVerifier {
        ChainVerifier { last: anchor, checked: 0 }
    }

    pub fn check(&mut self, e: &AuditEntry) -> Result<(), ChainBreak> {
        if e.seq != self.last.seq + 1 {
            return Err(ChainBreak::Missing { expected: self.last.seq + 1, found: e.seq });
        }
        if e.prev_hash != self.last.hash {
            return Err(ChainBreak::Link { seq: e.seq });
        }
        if chain_hash(&e.prev_hash, e.seq, &e.data) != e.hash {
            return Err(ChainBreak::Modified { seq: e.seq });
        }
        self.last = ChainPoint { seq: e.seq, hash: e.hash.clone() };
        self.checked += 1;
        Ok(())
    }

    /// Ends the walk: the last entry seen must be the recorded head.
    pub fn finish(self, head: &ChainPoint) -> Result<u64, ChainBreak> {
        if &self.last != head {
            return Err(ChainBreak::Truncated { found: self.last, head: head.clone() });
        }
        Ok(self.checked)
    }
}

/// What `audit verify` reports of an intact chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub entries: u64,
    pub anchor: ChainPoint,
    pub head: ChainPoint,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = ChainPoint::genesis().hash;
        (1..=n)
            .map(|seq| {
                let data = format!("{{\"n\":{seq}}}");
                let hash = chain_hash(&prev, seq, &data);
                let e = AuditEntry { seq, data, prev_hash: prev.clone(), hash: hash.clone() };
                prev = hash;
                e
            })
            .collect()
    }

    fn verify(entries: &[AuditEntry], head: &ChainPoint) -> Result<u64, ChainBreak> {
        let mut v = ChainVerifier::new(ChainPoint::genesis());
        for e in entries {
            v.check(e)?;
        }
        v.finish(head)
    }

    #[test]
    fn intact_chain_verifies_and_each_tampering_is_named() {
        let c = chain(5);
        let head = ChainPoint { seq: 5, hash: c[4].hash.clone() };
        assert_eq!(verify(&c, &head), Ok(5));

        let mut edited = c.clone();
        edited[2].data = "{\"n\":99}".into();
        assert_eq!(verify(&edited, &head), Err(ChainBreak::Modified { seq: 3 }));

        let mut deleted = c.clone();
        deleted.remove(1);
        assert_eq!(verify(&deleted, &head), Err(ChainBreak::Missing { expected: 2, found: 3 }));

        // Swapping two entries' contents but keeping the sequence numbers.
        let mut swapped = c.clone();
        let (a, b) = (swapped[1].clone(), swapped[2].clone());
        swapped[1] = AuditEntry { seq: 2, ..b };
        swapped[2] = AuditEntry { seq: 3, ..a };
        assert!(matches!(verify(&swapped, &head), Err(ChainBreak::Link { seq: 2 })));

        assert!(matches!(verify(&c[..4], &head), Err(ChainBreak::Truncated { .. })));
    }

    #[test]
    fn chain_point_round_trips() {
        let p = ChainPoint { seq: 42, hash: "ab".repeat(32) };
        assert_eq!(ChainPoint::decode(&p.encode()), Some(p));
        assert_eq!(ChainPoint::decode("garbage"), None);
    }
}
