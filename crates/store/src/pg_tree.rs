//! The audit tree (`tree`) in one PostgreSQL transaction, in few
//! statements. Each statement is a round trip to the server (two the
//! first time on a connection, while it is prepared), and an audit commit
//! made one per entry, node and look-up took some thirty: signing a
//! checkpoint alone reads a node for every set bit of the tree's size.
//! Here new entries and nodes are held until [`PgTree::finish`] writes
//! each kind in one statement, and a node is looked for among them, then
//! among the nodes the store has seen committed (a complete subtree's
//! hash never changes once committed, whichever instance wrote it), and
//! only then in the database.

use std::collections::HashMap;

use postgres::GenericClient;
use vtj_tlog::{Hash, Nodes};

use crate::pg_conn::Conn;
use crate::tree::{self, LogTx, TreeTx};
use crate::StoreError;

/// Held this many nodes, a transaction writes them out (a catch-up over a
/// whole log would otherwise hold them all).
const HELD_NODES: usize = 10_000;

/// Nodes known committed; forgotten all at once when full: what a commit
/// needs of them (the tree's left-hand subtrees, some twenty) is then read
/// again once.
const SEEN_NODES: usize = 4_096;

/// Committed nodes by `(level, index)`, kept by a store between transactions.
#[derive(Default)]
pub(crate) struct SeenNodes(HashMap<(u32, u64), Hash>);

impl SeenNodes {
    /// What a committed transaction read or wrote.
    pub(crate) fn learn(&mut self, nodes: HashMap<(u32, u64), Hash>) {
        if self.0.len() + nodes.len() > SEEN_NODES {
            self.0.clear();
        }
        if nodes.len() <= SEEN_NODES {
            self.0.extend(nodes);
        }
    }
}

/// Entries held, column by column as their insert binds them.
#[derive(Default)]
struct HeldEntries {
    seq: Vec<i64>,
    at: Vec<String>,
    data: Vec<String>,
    prev_hash: Vec<String>,
    hash: Vec<String>,
}

/// The audit tree inside one transaction.
pub(crate) struct PgTree<'a, C: GenericClient> {
    c: Conn<'a, C>,
    seen: &'a SeenNodes,
    size: Option<u64>,
    entries: HeldEntries,
    /// Written by this transaction, not yet sent.
    held: HashMap<(u32, u64), Hash>,
    /// Read or written by this transaction: known committed once it is.
    learnt: HashMap<(u32, u64), Hash>,
}

impl<'a, C: GenericClient> PgTree<'a, C> {
    pub(crate) fn new(c: Conn<'a, C>, seen: &'a SeenNodes) -> Self {
        PgTree { c, seen, size: None, entries: HeldEntries::default(), held: HashMap::new(), learnt: HashMap::new() }
    }

    /// Writes what is held. Returns the nodes to [`SeenNodes::learn`] once
    /// the transaction has committed (not before: it may yet roll back).
    pub(crate) fn finish(mut self) -> Result<HashMap<(u32, u64), Hash>, StoreError> {
        self.write_held()?;
        Ok(self.learnt)
    }

    fn write_held(&mut self) -> Result<(), StoreError> {
        if !self.entries.seq.is_empty() {
            let e = std::mem::take(&mut self.entries);
            self.c.execute(
                "INSERT INTO audit_log (seq, at, data, prev_hash, hash)
                 SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[])",
                &[&e.seq, &e.at, &e.data, &e.prev_hash, &e.hash],
            )?;
        }
        if !self.held.is_empty() {
            let (mut levels, mut indexes, mut hashes) = (Vec::new(), Vec::new(), Vec::new());
            for ((level, index), hash) in self.held.drain() {
                levels.push(level as i32);
                indexes.push(index as i64);
                hashes.push(hash.to_vec());
            }
            self.c.execute(
                "INSERT INTO audit_tree (level, idx, hash) SELECT * FROM unnest($1::int[], $2::bigint[], $3::bytea[])",
                &[&levels, &indexes, &hashes],
            )?;
        }
        Ok(())
    }
}

impl<C: GenericClient> Nodes for PgTree<'_, C> {
    type Error = StoreError;
    fn node(&mut self, level: u32, index: u64) -> Result<Hash, StoreError> {
        let key = (level, index);
        if let Some(hash) = self.held.get(&key).or_else(|| self.seen.0.get(&key)) {
            return Ok(*hash);
        }
        let hash = node(&mut self.c, level, index)?.ok_or_else(|| tree::missing(level, index))?;
        self.learnt.insert(key, hash);
        Ok(hash)
    }
}

impl<C: GenericClient> LogTx for PgTree<'_, C> {
    fn insert_entry(&mut self, seq: i64, at: &str, data: &str, prev_hash: &str, hash: &str) -> Result<(), StoreError> {
        let e = &mut self.entries;
        e.seq.push(seq);
        e.at.push(at.into());
        e.data.push(data.into());
        e.prev_hash.push(prev_hash.into());
        e.hash.push(hash.into());
        Ok(())
    }
}

impl<C: GenericClient> TreeTx for PgTree<'_, C> {
    fn tree_size(&mut self) -> Result<u64, StoreError> {
        match self.size {
            Some(size) => Ok(size),
            None => {
                let size = tree_size(&mut self.c)?;
                self.size = Some(size);
                Ok(size)
            }
        }
    }

    fn put_node(&mut self, level: u32, index: u64, hash: &Hash) -> Result<(), StoreError> {
        if level == 0 {
            self.size = Some(index + 1);
        }
        self.held.insert((level, index), *hash);
        self.learnt.insert((level, index), *hash);
        if self.held.len() >= HELD_NODES {
            // Written out, a node is found in the database by this transaction.
            self.write_held()?;
            self.learnt.clear();
        }
        Ok(())
    }

    fn put_checkpoint(&mut self, size: u64, note: &str) -> Result<String, StoreError> {
        // The note kept: this one, or one issued first for the same size.
        let size = size as i64;
        let row = self.c.query_one(
            "WITH added AS (
                 INSERT INTO audit_checkpoint (size, note) VALUES ($1, $2) ON CONFLICT (size) DO NOTHING RETURNING note
             )
             SELECT note FROM added UNION ALL SELECT note FROM audit_checkpoint WHERE size = $1 LIMIT 1",
            &[&size, &note],
        )?;
        Ok(row.get(0))
    }
}

pub(crate) fn node(c: &mut Conn<'_, impl GenericClient>, level: u32, index: u64) -> Result<Option<Hash>, StoreError> {
    let row =
        c.query_opt("SELECT hash FROM audit_tree WHERE level = $1 AND idx = $2", &[&(level as i32), &(index as i64)])?;
    row.map(|r| tree::hash_of(r.get::<_, &[u8]>(0))).transpose()
}

pub(crate) fn tree_size(c: &mut Conn<'_, impl GenericClient>) -> Result<u64, StoreError> {
    let n: i64 = c.query_one("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_tree WHERE level = 0", &[])?.get(0);
    Ok(n as u64)
}
