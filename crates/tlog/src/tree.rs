//! RFC 6962 §2.1: `leaf = SHA-256(0x00 || data)`, `node = SHA-256(0x01 ||
//! left || right)`, and a tree of `n` leaves splits at the largest power of
//! two below `n`. Every range that split ever produces is either a complete
//! subtree aligned to its size or a right edge of the tree, so a store that
//! keeps the complete subtrees (node `(level, index)` = the leaves `[index
//! << level, (index + 1) << level)`) can answer every root and proof of
//! every size up to its own, in O(log n) node reads.

use sha2::{Digest, Sha256};
use thiserror::Error;

pub type Hash = [u8; 32];

pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Proof hashes as they travel in JSON: standard base64, one string each.
pub fn encode_hashes(hashes: &[Hash]) -> Vec<String> {
    use base64::Engine;
    hashes.iter().map(|h| base64::engine::general_purpose::STANDARD.encode(h)).collect()
}

/// The hashes of [`encode_hashes`]; `None` if any is not base64 of 32 bytes.
pub fn decode_hashes(texts: &[String]) -> Option<Vec<Hash>> {
    use base64::Engine;
    texts
        .iter()
        .map(|t| base64::engine::general_purpose::STANDARD.decode(t).ok().and_then(|b| Hash::try_from(b).ok()))
        .collect()
}

/// The root of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Where the complete subtrees are kept.
pub trait Nodes {
    type Error;
    /// The hash of the complete subtree `(level, index)`; a node the
    /// caller's tree size implies but the store lacks is the store's error.
    fn node(&mut self, level: u32, index: u64) -> Result<Hash, Self::Error>;
}

/// The largest power of two smaller than `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// MTH(D[start:end]).
fn range_hash<N: Nodes + ?Sized>(nodes: &mut N, start: u64, end: u64) -> Result<Hash, N::Error> {
    let len = end - start;
    // A power-of-two range starting at a multiple of its length is a stored subtree.
    if len.is_power_of_two() && start & (len - 1) == 0 {
        let level = len.trailing_zeros();
        return nodes.node(level, start >> level);
    }
    let k = split(len);
    let left = range_hash(nodes, start, start + k)?;
    let right = range_hash(nodes, start + k, end)?;
    Ok(node_hash(&left, &right))
}

/// The root of the tree's first `size` leaves.
pub fn root<N: Nodes + ?Sized>(nodes: &mut N, size: u64) -> Result<Hash, N::Error> {
    if size == 0 {
        return Ok(empty_root());
    }
    range_hash(nodes, 0, size)
}

/// The nodes a leaf appended at position `size` completes, the leaf first:
/// what the store adds to keep every complete subtree.
pub fn append<N: Nodes + ?Sized>(nodes: &mut N, size: u64, leaf: Hash) -> Result<Vec<(u32, u64, Hash)>, N::Error> {
    let mut out = vec![(0, size, leaf)];
    let (mut level, mut index, mut hash) = (0u32, size, leaf);
    while index & 1 == 1 {
        let left = nodes.node(level, index - 1)?;
        hash = node_hash(&left, &hash);
        level += 1;
        index >>= 1;
        out.push((level, index, hash));
    }
    Ok(out)
}

/// RFC 6962 §2.1.1 PATH(index, D[0:size]); `None` unless index < size.
pub fn inclusion_proof<N: Nodes + ?Sized>(nodes: &mut N, index: u64, size: u64) -> Result<Option<Vec<Hash>>, N::Error> {
    if index >= size {
        return Ok(None);
    }
    let mut proof = Vec::new();
    path(nodes, index, 0, size, &mut proof)?;
    Ok(Some(proof))
}

fn path<N: Nodes + ?Sized>(nodes: &mut N, m: u64, start: u64, end: u64, out: &mut Vec<Hash>) -> Result<(), N::Error> {
    let len = end - start;
    if len == 1 {
        return Ok(());
    }
    let k = split(len);
    if m < k {
        path(nodes, m, start, start + k, out)?;
        out.push(range_hash(nodes, start + k, end)?);
    } else {
        path(nodes, m - k, start + k, end, out)?;
        out.push(range_hash(nodes, start, start + k)?);
    }
    Ok(())
}

/// RFC 6962 §2.1.2 PROOF(first, D[0:second]); empty when `first` is 0 or
/// equal to `second` (every tree extends those); `None` if first > second.
pub fn consistency_proof<N: Nodes + ?Sized>(
    nodes: &mut N,
    first: u64,
    second: u64,
) -> Result<Option<Vec<Hash>>, N::Error> {
    if first > second {
        return Ok(None);
    }
    let mut proof = Vec::new();
    if first > 0 && first < second {
        subproof(nodes, first, 0, second, true, &mut proof)?;
    }
    Ok(Some(proof))
}

fn subproof<N: Nodes + ?Sized>(
    nodes: &mut N,
    m: u64,
    start: u64,
    end: u64,
    whole: bool,
    out: &mut Vec<Hash>,
) -> Result<(), N::Error> {
    let len = end - start;
    if m == len {
        if !whole {
            out.push(range_hash(nodes, start, end)?);
        }
        return Ok(());
    }
    let k = split(len);
    if m <= k {
        subproof(nodes, m, start, start + k, whole, out)?;
        out.push(range_hash(nodes, start + k, end)?);
    } else {
        subproof(nodes, m - k, start + k, end, false, out)?;
        out.push(range_hash(nodes, start, start + k)?);
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProofError {
    #[error("entry {index} is not in a tree of {size} entries")]
    OutOfRange { index: u64, size: u64 },
    #[error("a tree of {first} entries cannot extend one of {second}")]
    Shrinks { first: u64, second: u64 },
    #[error("the proof has the wrong number of hashes")]
    Length,
    #[error("the proof does not lead to the root: the entry is not in that tree")]
    NotIncluded,
    #[error("the proof does not join the two roots: the newer tree does not extend the older one")]
    Inconsistent,
}

/// RFC 9162 §2.1.3.2: does `leaf` sit at `index` of the tree of `size` whose root is `root`?
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::OutOfRange { index, size });
    }
    let (mut f, mut s, mut r) = (index, size - 1, *leaf);
    for p in proof {
        if s == 0 {
            return Err(ProofError::Length);
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::Length);
    }
    if &r != root {
        return Err(ProofError::NotIncluded);
    }
    Ok(())
}

/// RFC 9162 §2.1.4.2: is the tree (`second`, `second_root`) an extension of
/// (`first`, `first_root`)?
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if first > second {
        return Err(ProofError::Shrinks { first, second });
    }
    if first == second || first == 0 {
        if !proof.is_empty() {
            return Err(ProofError::Length);
        }
        // The empty tree is extended by every tree.
        return if first == 0 || first_root == second_root { Ok(()) } else { Err(ProofError::Inconsistent) };
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if first.is_power_of_two() {
        path.push(*first_root);
    }
    path.extend_from_slice(proof);
    let Some((head, rest)) = path.split_first() else { return Err(ProofError::Length) };
    let (mut f, mut s) = (first - 1, second - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*head, *head);
    for c in rest {
        if s == 0 {
            return Err(ProofError::Length);
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::Length);
    }
    if &fr != first_root || &sr != second_root {
        return Err(ProofError::Inconsistent);
    }
    Ok(())
}

/// The complete subtrees of a tree being read leaf by leaf: its root at
/// every size, in O(log n) memory (how `vtj audit verify` checks every
/// checkpoint in one pass over the leaves).
#[derive(Debug, Clone, Default)]
pub struct Frontier {
    size: u64,
    /// Largest subtree first.
    stack: Vec<Hash>,
}

impl Frontier {
    pub fn new() -> Frontier {
        Frontier::default()
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn push(&mut self, leaf: Hash) {
        let mut hash = leaf;
        let mut s = self.size;
        while s & 1 == 1 {
            // A left sibling is always there when the bit is set.
            let Some(left) = self.stack.pop() else { break };
            hash = node_hash(&left, &hash);
            s >>= 1;
        }
        self.stack.push(hash);
        self.size += 1;
    }

    pub fn root(&self) -> Hash {
        let mut it = self.stack.iter().rev();
        let Some(last) = it.next() else { return empty_root() };
        it.fold(*last, |acc, left| node_hash(left, &acc))
    }
}

/// A tree held in memory, leaf hashes only: the reference the stored tree
/// is tested against, and a [`Nodes`] for small trees.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    pub fn new() -> MemoryTree {
        MemoryTree::default()
    }

    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    pub fn push(&mut self, leaf: Hash) {
        let size = self.size();
        let added = append(self, size, leaf).expect("append reads only left siblings, which a tree of this size has");
        for (level, _, hash) in added {
            let l = level as usize;
            if self.levels.len() <= l {
                self.levels.push(Vec::new());
            }
            self.levels[l].push(hash);
        }
    }
}

/// Reading a node a [`MemoryTree`] lacks is a caller's bug: asking beyond the size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("node ({0}, {1}) is not in the tree")]
pub struct MissingNode(pub u32, pub u64);

impl Nodes for MemoryTree {
    type Error = MissingNode;
    fn node(&mut self, level: u32, index: u64) -> Result<Hash, MissingNode> {
        self.levels.get(level as usize).and_then(|l| l.get(index as usize)).copied().ok_or(MissingNode(level, index))
    }
}
