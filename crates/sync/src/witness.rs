//! The recipient as a witness of the service's audit log. Every answer of
//! a service that keeps a transparency log carries the signed checkpoint
//! of the log that recorded the request; at the end of each run the client
//! asks for the proof that the newest one extends the checkpoint the
//! register kept last time, checks it, and keeps the new one. A service
//! that rewrote its log since cannot give that proof: the run fails, the
//! new checkpoint is refused, and so is every later one, until someone
//! looks (`vtj audit verify --checkpoints` with this register's
//! checkpoints names the first one the log no longer matches).
//!
//! DVV's own service sends no checkpoints; a register that never got one
//! has nothing to check. One that did refuses a service that stops.
//!
//! Delivery files have no channel for proofs: a register fed by them keeps
//! each delivery's checkpoint (signature checked with the key it was given,
//! the log never shrinking) as evidence for `vtj audit verify --checkpoints`.

use vtj_tlog::{Checkpoint, Verifier};
use vtj_wire::paths;
use vtj_wire::LokitodisteResponse;

use crate::{Client, ClientError, Register, SyncError};

fn refused(why: String) -> SyncError {
    SyncError::Client(ClientError::Audit(why))
}

/// What the register holds: the service's key (if given) and its newest
/// kept checkpoint; opens `note` with the key and refuses a log that shrank.
struct Held {
    key: Option<Verifier>,
    kept: Option<Checkpoint>,
}

impl Held {
    fn of(reg: &mut Register) -> Result<Held, SyncError> {
        let key = reg.audit_key()?.map(|k| Verifier::parse(&k)).transpose().map_err(|e| refused(e.to_string()))?;
        let kept = reg.latest_checkpoint()?.map(|k| open(key.as_ref(), &k)).transpose()?;
        Ok(Held { key, kept })
    }

    /// The checkpoint in `note`, if it may follow the kept one.
    fn next(&self, note: &str) -> Result<Checkpoint, SyncError> {
        let new = open(self.key.as_ref(), note)?;
        if let Some(old) = &self.kept {
            if old.origin != new.origin {
                return Err(refused(format!("the checkpoint is of the log {:?}, not {:?}", new.origin, old.origin)));
            }
            if new.size < old.size {
                return Err(refused(format!("the log shrank from {} to {} entries", old.size, new.size)));
            }
        }
        Ok(new)
    }
}

fn open(key: Option<&Verifier>, note: &str) -> Result<Checkpoint, SyncError> {
    vtj_tlog::note::open(key, note).map_err(|e| refused(format!("checkpoint refused: {e}")))
}

/// Checks the run's newest checkpoint against the kept one and keeps it;
/// returns the size of the log the register now vouches for.
pub(crate) async fn witness(client: &Client, reg: &mut Register) -> Result<Option<u64>, SyncError> {
    if let Some(k) = client.audit_key() {
        Verifier::parse(k).map_err(|e| SyncError::Input(format!("--audit-key: {e}")))?;
        reg.bind_audit_key(k)?;
    }
    let held = Held::of(reg)?;
    let (newest, without) = client.take_checkpoints();
    let Some((_, note)) = newest else {
        return match &held.kept {
            Some(k) if without > 0 => Err(refused(format!(
                "the service's answers carry no checkpoint, but it gave this register one before (size {}); \
                 a service that stops vouching for its log is not followed",
                k.size
            ))),
            _ => Ok(None),
        };
    };
    if without > 0 {
        return Err(refused(format!("{without} of the service's answers carried no checkpoint")));
    }
    let new = held.next(&note)?;
    if let Some(old) = &held.kept {
        let proof: LokitodisteResponse = client.get(&paths::lokitodiste(old.size, new.size)).await?;
        let hashes = vtj_tlog::tree::decode_hashes(&proof.todiste)
            .ok_or_else(|| refused("the consistency proof holds a malformed hash".into()))?;
        vtj_tlog::tree::verify_consistency(old.size, new.size, &old.root, &new.root, &hashes).map_err(|e| {
            refused(format!(
                "the checkpoint of {} entries is refused: {e}; the log this register saw at {} entries \
                 has been rewritten since",
                new.size, old.size
            ))
        })?;
    }
    reg.keep_checkpoint(new.size, &note)?;
    Ok(Some(new.size))
}

/// Keeps the checkpoint a delivery's manifest entry carried.
pub(crate) fn keep_delivered(reg: &mut Register, note: &str) -> Result<(), SyncError> {
    let new = Held::of(reg)?.next(note)?;
    reg.keep_checkpoint(new.size, note)?;
    Ok(())
}
