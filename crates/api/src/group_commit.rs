//! Audit entries of requests that finish together, committed together.
//!
//! Every answer waits for its audit entry to be committed (synced, and
//! with a signed checkpoint of the tree that holds it) before a byte of
//! it leaves. One commit per answer makes concurrent answers queue behind
//! each other's syncs; here the entries that arrive while a commit runs
//! wait for the next one, which takes them all in one transaction. An
//! answer still leaves only after its own entry is committed, and if that
//! commit fails, every answer of it is withheld.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;
use vtj_store::{Appended, AuditRecord};

use crate::db::Db;
use crate::problem::ApiError;

/// Entries in one commit at most: bounds one transaction's time.
pub(crate) const MAX_BATCH: usize = 256;

type Reply = oneshot::Sender<Result<Appended, ApiError>>;

#[derive(Default)]
pub struct GroupCommit {
    pending: Mutex<Pending>,
}

#[derive(Default)]
struct Pending {
    waiting: Vec<(AuditRecord, Reply)>,
    /// A committer is running: it takes whatever is waiting when it is free.
    committing: bool,
}

fn lock(m: &Mutex<Pending>) -> MutexGuard<'_, Pending> {
    // The queue is whole at every unlock; a panic elsewhere leaves it usable.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl GroupCommit {
    /// Commits `entry` with those waiting alongside it; returns when it is committed.
    pub async fn commit(
        self: &Arc<Self>,
        db: &Db,
        signer: Option<Arc<vtj_tlog::Signer>>,
        entry: AuditRecord,
    ) -> Result<Appended, ApiError> {
        let (reply, committed) = oneshot::channel();
        let lead = {
            let mut p = lock(&self.pending);
            p.waiting.push((entry, reply));
            !std::mem::replace(&mut p.committing, true)
        };
        if lead {
            // A task of its own: the request that started it may be dropped
            // (its client gone) while others wait on its commit.
            tokio::spawn(self.clone().run(db.clone(), signer));
        }
        committed.await.unwrap_or_else(|_| Err(ApiError::internal()))
    }

    async fn run(self: Arc<Self>, db: Db, signer: Option<Arc<vtj_tlog::Signer>>) {
        loop {
            let batch: Vec<(AuditRecord, Reply)> = {
                let mut p = lock(&self.pending);
                if p.waiting.is_empty() {
                    p.committing = false;
                    return;
                }
                let n = p.waiting.len().min(MAX_BATCH);
                p.waiting.drain(..n).collect()
            };
            let (records, replies): (Vec<AuditRecord>, Vec<Reply>) = batch.into_iter().unzip();
            let signer = signer.clone();
            let appended = db.write(move |s| Ok(s.audit_append_all(&records, signer.as_deref())?)).await;
            match appended {
                Ok(all) if all.len() == replies.len() => {
                    for (reply, a) in replies.into_iter().zip(all) {
                        // A request gone meanwhile: its entry stays, nothing was sent.
                        let _ = reply.send(Ok(a));
                    }
                }
                Ok(_) => replies.into_iter().for_each(|r| drop(r.send(Err(ApiError::internal())))),
                Err(e) => replies.into_iter().for_each(|r| drop(r.send(Err(e.clone())))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use vtj_store::testsuite::{audit_record, test_signer};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn entries_waiting_for_a_commit_are_committed_together_each_covered_by_its_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("vtj.db").to_string_lossy()).unwrap();
        let signer = Arc::new(test_signer());
        let commits = Arc::new(GroupCommit::default());
        // The writer is busy (another commit, say) while ten answers finish.
        let (release, held) = std::sync::mpsc::channel::<()>();
        let writer = db.clone();
        let busy = tokio::spawn(async move {
            writer
                .write(move |_| {
                    held.recv().ok();
                    Ok(())
                })
                .await
        });
        let answers: Vec<_> = (0..10)
            .map(|n| {
                let (commits, db, signer) = (commits.clone(), db.clone(), Some(signer.clone()));
                let entry = audit_record(&format!("2026-03-01T00:00:{n:02}.000Z"), n);
                tokio::spawn(async move { commits.commit(&db, signer, entry).await })
            })
            .collect();
        while lock(&commits.pending).waiting.len() < 9 {
            tokio::task::yield_now().await;
        }
        release.send(()).unwrap();
        busy.await.unwrap().unwrap();
        let mut appended = Vec::new();
        for a in answers {
            appended.push(a.await.unwrap().unwrap());
        }

        let key = signer.verifier();
        let seqs: BTreeSet<i64> = appended.iter().map(|a| a.seq).collect();
        assert_eq!(seqs, (1..=10).collect(), "each entry once");
        let notes: BTreeSet<&str> = appended.iter().map(|a| a.checkpoint.as_deref().unwrap()).collect();
        assert!(notes.len() <= 2, "ten entries in {} commits: the nine that waited went together", notes.len());
        for a in &appended {
            let size = key.open(a.checkpoint.as_deref().unwrap()).unwrap().size;
            assert!(size >= a.seq as u64, "entry #{} under a checkpoint of {size}", a.seq);
        }
        let (entries, checkpoints) =
            db.write(|s| Ok((s.audit_verify()?.entries, s.audit_checkpoints(0, 100)?.len()))).await.unwrap();
        assert_eq!((entries, checkpoints), (10, notes.len()));
        assert!(!lock(&commits.pending).committing, "the committer stops when nothing waits");
    }
}
