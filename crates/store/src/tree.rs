//! The audit log's Merkle tree (RFC 6962, `vtj-tlog`) as the store keeps
//! it: every complete subtree's hash, node `(level, index)`, written in the
//! same transaction as the entry that completes it, and the signed
//! checkpoints issued over it. Entry `#seq` is leaf `seq - 1`; its leaf data
//! is the entry's JSON exactly as stored.
//!
//! Pruning removes entries (the personal data), never nodes or
//! checkpoints: the hashes of pruned ranges stay, so every old checkpoint
//! still verifies and every proof can still be made (32 bytes a node, about
//! two nodes an entry). Entries pruned before this tree existed (a database
//! from before schema step 4) are leaves of the placeholder text
//! [`pruned_leaf`]: the tree cannot vouch for what was gone before it.

use thiserror::Error;
use vtj_tlog::note::open;
use vtj_tlog::tree::{self, leaf_hash, Hash, Nodes};
use vtj_tlog::{Frontier, Signer, Verifier};

use crate::audit::{chain_hash, ChainPoint};
use crate::{Appended, AuditLog, AuditRecord, StoreError};

/// One transaction's view of the tree: what both backends implement.
pub(crate) trait TreeTx: Nodes<Error = StoreError> {
    fn tree_size(&mut self) -> Result<u64, StoreError>;
    fn put_node(&mut self, level: u32, index: u64, hash: &Hash) -> Result<(), StoreError>;
    /// Keeps the first checkpoint of a size; returns the one kept.
    fn put_checkpoint(&mut self, size: u64, note: &str) -> Result<String, StoreError>;
}

pub(crate) fn missing(level: u32, index: u64) -> StoreError {
    StoreError::Corrupt(format!("the audit tree lacks node ({level}, {index})"))
}

pub(crate) fn hash_of(bytes: &[u8]) -> Result<Hash, StoreError> {
    bytes.try_into().map_err(|_| StoreError::Corrupt("an audit tree node is not 32 bytes".into()))
}

/// One transaction's view of the whole audit log: its entries and its tree.
pub(crate) trait LogTx: TreeTx {
    fn insert_entry(&mut self, seq: i64, at: &str, data: &str, prev_hash: &str, hash: &str) -> Result<(), StoreError>;
}

/// Appends `records` after `head`, each chained and a leaf of the tree;
/// with a key, signs the tree that holds them all, once. Returns the new
/// head and what each record was appended as.
pub(crate) fn append_all(
    t: &mut impl LogTx,
    mut head: ChainPoint,
    records: &[AuditRecord],
    signer: Option<&Signer>,
) -> Result<(ChainPoint, Vec<Appended>), StoreError> {
    let mut seqs = Vec::with_capacity(records.len());
    for record in records {
        let seq = head.seq + 1;
        let data = serde_json::to_string(record)?;
        let hash = chain_hash(&head.hash, seq, &data);
        t.insert_entry(seq, &record.at, &data, &head.hash, &hash)?;
        grow(t, seq, &data)?;
        head = ChainPoint { seq, hash };
        seqs.push(seq);
    }
    let checkpoint = signer.map(|s| sign(t, s)).transpose()?;
    Ok((head, seqs.into_iter().map(|seq| Appended { seq, checkpoint: checkpoint.clone() }).collect()))
}

/// Adds entry `seq`'s leaf.
pub(crate) fn grow(t: &mut impl TreeTx, seq: i64, data: &str) -> Result<(), StoreError> {
    let size = t.tree_size()?;
    if size != seq as u64 - 1 {
        return Err(StoreError::Corrupt(format!("the audit tree holds {size} leaves but the log {} entries", seq - 1)));
    }
    for (level, index, hash) in tree::append(t, size, leaf_hash(data.as_bytes()))? {
        t.put_node(level, index, &hash)?;
    }
    Ok(())
}

/// Signs the tree as it stands and keeps the checkpoint.
pub(crate) fn sign(t: &mut impl TreeTx, signer: &Signer) -> Result<String, StoreError> {
    let size = t.tree_size()?;
    let root = tree::root(t, size)?;
    t.put_checkpoint(size, &signer.sign(size, &root))
}

/// The leaf of an entry pruned before the tree was built.
pub fn pruned_leaf(seq: i64) -> String {
    format!("pruned before the audit tree: #{seq}")
}

/// Builds the tree's missing leaves from the entries (schema step 4 on a
/// database that already had a log). `data(after, limit)` pages entries.
pub(crate) fn catch_up(
    t: &mut impl TreeTx,
    head: i64,
    anchor: i64,
    mut data: impl FnMut(i64, usize) -> Result<Vec<(i64, String)>, StoreError>,
) -> Result<(), StoreError> {
    let mut next = t.tree_size()? as i64 + 1;
    while next <= anchor.min(head) {
        grow(t, next, &pruned_leaf(next))?;
        next += 1;
    }
    while next <= head {
        let page = data(next - 1, 10_000)?;
        if page.is_empty() {
            break;
        }
        for (seq, d) in page {
            if seq != next {
                return Err(StoreError::Corrupt(format!("audit entry #{next} is missing")));
            }
            grow(t, seq, &d)?;
            next += 1;
        }
    }
    Ok(())
}

/// A [`Nodes`] over any [`AuditLog`]: roots and proofs from committed nodes.
pub struct Stored<'a, S: ?Sized>(pub &'a S);

impl<S: AuditLog + ?Sized> Nodes for Stored<'_, S> {
    type Error = StoreError;
    fn node(&mut self, level: u32, index: u64) -> Result<Hash, StoreError> {
        self.0.audit_node(level, index)?.ok_or_else(|| missing(level, index))
    }
}

/// Where the tree or a checkpoint disagrees with the log.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TreeBreak {
    #[error("the audit tree holds {tree} leaves but the log has had {log} entries")]
    Size { tree: u64, log: u64 },
    #[error("entry #{seq} is not the tree's leaf {}: its content was changed after it was logged", seq - 1)]
    Leaf { seq: i64 },
    #[error("tree node ({level}, {index}) is not the hash of its two children")]
    Node { level: u32, index: u64 },
    #[error("the service's checkpoint of size {size}: {why}")]
    Stored { size: u64, why: String },
    #[error(
        "checkpoint {n} held by a recipient (size {size}) does not match this log: {why}; \
         the log was rewritten after that checkpoint was issued"
    )]
    Held { n: usize, size: u64, why: String },
    #[error("checkpoint {n} held by a recipient is not this log's: {why}")]
    Foreign { n: usize, why: String },
}

/// What an intact tree showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeReport {
    pub leaves: u64,
    pub entries_checked: u64,
    pub nodes_checked: u64,
    pub checkpoints: u64,
    pub held: u64,
    /// Whether checkpoint signatures were checked (a public key was given).
    pub signatures: bool,
}

/// The whole tree against the log: every remaining entry is its leaf,
/// every node the hash of its children, and every checkpoint, the
/// service's own and those `held` by recipients (in their order), the
/// root of the tree of its size. Held checkpoints that do not open (bad
/// signature, not a checkpoint) are errors too.
pub fn verify<S: AuditLog + ?Sized>(s: &S, key: Option<&Verifier>, held: &[String]) -> Result<TreeReport, StoreError> {
    const PAGE: usize = 10_000;
    let size = s.audit_tree_size()?;
    let log = s.audit_head()?.seq as u64;
    if size != log {
        return Err(TreeBreak::Size { tree: size, log }.into());
    }
    let mut report = TreeReport {
        leaves: size,
        entries_checked: 0,
        nodes_checked: 0,
        checkpoints: 0,
        held: 0,
        signatures: key.is_some(),
    };

    s.audit_scan(&mut |page| {
        let leaves = s.audit_nodes(0, page[0].seq as u64 - 1, page.len())?;
        for (i, e) in page.iter().enumerate() {
            if leaves.get(i) != Some(&leaf_hash(e.data.as_bytes())) {
                return Err(TreeBreak::Leaf { seq: e.seq }.into());
            }
        }
        report.entries_checked += page.len() as u64;
        Ok(())
    })?;

    let mut level = 1;
    while size >> level > 0 {
        let count = size >> level;
        let mut from = 0;
        while from < count {
            let n = PAGE.min((count - from) as usize);
            let parents = s.audit_nodes(level, from, n)?;
            let children = s.audit_nodes(level - 1, 2 * from, 2 * n)?;
            for i in 0..n {
                let index = from + i as u64;
                let ok = match (parents.get(i), children.get(2 * i), children.get(2 * i + 1)) {
                    (Some(p), Some(l), Some(r)) => *p == tree::node_hash(l, r),
                    _ => false,
                };
                if !ok {
                    return Err(TreeBreak::Node { level, index }.into());
                }
            }
            report.nodes_checked += n as u64;
            from += n as u64;
        }
        level += 1;
    }

    // One pass over the leaves; each checkpoint is compared when the
    // frontier reaches its size.
    let mut held_cps = Vec::new();
    for (i, note) in held.iter().enumerate() {
        let cp = open(key, note).map_err(|e| TreeBreak::Foreign { n: i + 1, why: e.to_string() })?;
        held_cps.push((i + 1, cp));
    }
    held_cps.sort_by_key(|(_, cp)| cp.size);
    let mut held_iter = held_cps.into_iter().peekable();
    let mut stored: Vec<(u64, String)> = Vec::new();
    let mut stored_after = 0u64;
    let mut stored_pos = 0;
    let mut stored_done = false;
    let mut frontier = Frontier::new();
    let mut leaf_page: Vec<Hash> = Vec::new();
    let mut leaf_pos = 0;
    loop {
        if stored_pos == stored.len() && !stored_done {
            stored = s.audit_checkpoints(stored_after, PAGE)?;
            stored_pos = 0;
            match stored.last() {
                Some((last, _)) => stored_after = *last,
                None => stored_done = true,
            }
        }
        let next_stored = stored.get(stored_pos).map(|(n, _)| *n);
        let next_held = held_iter.peek().map(|(_, cp)| cp.size);
        let Some(target) = next_stored.into_iter().chain(next_held).min() else { break };
        if target > size {
            return Err(match next_held {
                Some(h) if h == target => {
                    let (n, cp) = held_iter.next().expect("peeked");
                    TreeBreak::Held {
                        n,
                        size: cp.size,
                        why: format!("the log has only {size} entries: entries were cut off"),
                    }
                }
                _ => TreeBreak::Stored { size: target, why: format!("beyond the log's {size} entries") },
            }
            .into());
        }
        while frontier.size() < target {
            if leaf_pos == leaf_page.len() {
                leaf_page = s.audit_nodes(0, frontier.size(), PAGE)?;
                leaf_pos = 0;
                if leaf_page.is_empty() {
                    return Err(missing(0, frontier.size()));
                }
            }
            frontier.push(leaf_page[leaf_pos]);
            leaf_pos += 1;
        }
        let root = frontier.root();
        if next_stored == Some(target) {
            let note = &stored[stored_pos].1;
            stored_pos += 1;
            let cp = open(key, note).map_err(|e| TreeBreak::Stored { size: target, why: e.to_string() })?;
            if cp.size != target || cp.root != root {
                return Err(TreeBreak::Stored { size: target, why: "its root is not the tree's".into() }.into());
            }
            report.checkpoints += 1;
        }
        while held_iter.peek().is_some_and(|(_, cp)| cp.size == target) {
            let (n, cp) = held_iter.next().expect("peeked");
            if cp.root != root {
                return Err(TreeBreak::Held { n, size: target, why: "its root is not the tree's".into() }.into());
            }
            report.held += 1;
        }
    }
    Ok(report)
}

/// Rows `(index, hash)` read for indexes `from..`: contiguous, or a node is missing.
pub(crate) fn contiguous(level: u32, from: u64, rows: Vec<(i64, Vec<u8>)>) -> Result<Vec<Hash>, StoreError> {
    rows.into_iter()
        .enumerate()
        .map(|(i, (index, hash))| {
            let want = from + i as u64;
            if index as u64 != want {
                return Err(missing(level, want));
            }
            hash_of(&hash)
        })
        .collect()
}
