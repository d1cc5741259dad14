//! The audit log as a transparency log, as Certificate Transparency keeps
//! certificates: an append-only Merkle tree (RFC 6962 hashing) whose signed
//! checkpoints are held by others, so that rewriting history is provable.
//!
//! - [`tree`]: leaf and node hashes, the root of any size, inclusion and
//!   consistency proofs from the tree's stored complete subtrees, and their
//!   verification with nothing but hashes.
//! - [`note`]: checkpoints in the C2SP `tlog-checkpoint` text, signed as
//!   C2SP signed notes with Ed25519; keys in the signed-note key texts.
//!
//! Pure: no I/O, no clock. The store keeps the nodes, the service signs,
//! the client and any third party verify.

pub mod note;
pub mod tree;

pub use note::{Checkpoint, NoteError, Signer, Verifier};
pub use tree::{Frontier, Hash, Nodes, ProofError};
