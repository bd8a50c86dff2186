//! Live side of the mailbox: the hub of connected devices (`crate::hub`)
//! and the group-commit writer that makes envelopes durable before they are
//! acknowledged.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

pub use crate::hub::{EndSignal, Ended, Hub, Registration, TooManyConnections};

use crate::db::{
    Ack, Enqueued, Fanned, NewEnvelope, NewFanout, Outcome, QueueLimits, Store, Write,
};

/// Most writes (a `Send` or a whole `SendMany`) committed in one transaction.
const MAX_BATCH: usize = 512;
/// Most queue rows one transaction gathers (a `SendMany` adds one per
/// recipient), so a burst of large fan-outs does not make one huge commit.
const MAX_BATCH_ROWS: usize = 8 * 1024;

fn rows(job: &Job) -> usize {
    match &job.0 {
        Write::One(_) | Write::Ack(_) => 1,
        Write::Many(f) => f.recipients.len(),
    }
}

/// Why an envelope could not be committed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("mailbox unavailable: {0}")]
pub struct CommitError(pub String);

type Reply = oneshot::Sender<Result<(Outcome, Write), CommitError>>;
type Job = (Write, Reply);

/// Funnels envelopes and acks from every connection into batched transactions: while
/// one batch commits, the next one gathers, so throughput grows with load
/// and each envelope is acknowledged only once its commit returned.
#[derive(Debug, Clone)]
pub struct Committer {
    tx: mpsc::Sender<Job>,
}

impl Committer {
    /// Starts the writer task on the current runtime.
    pub fn spawn(store: Store, limits: QueueLimits) -> Self {
        let (tx, rx) = mpsc::channel::<Job>(8 * MAX_BATCH);
        actix_web::rt::spawn(run(store, limits, rx));
        Self { tx }
    }

    /// Commits one envelope (with whatever else is waiting) and hands it back
    /// with the outcome, so the caller can deliver it without copying the payload.
    pub async fn commit(
        &self,
        envelope: NewEnvelope,
    ) -> Result<(Enqueued, NewEnvelope), CommitError> {
        match self.write(Write::One(envelope)).await? {
            (Outcome::One(outcome), Write::One(envelope)) => Ok((outcome, envelope)),
            _ => Err(CommitError("writer answered another kind of write".into())),
        }
    }

    /// Commits one multi-recipient envelope (all recipients or none), like
    /// [`Committer::commit`].
    pub async fn commit_many(&self, fanout: NewFanout) -> Result<(Fanned, NewFanout), CommitError> {
        match self.write(Write::Many(fanout)).await? {
            (Outcome::Many(outcome), Write::Many(fanout)) => Ok((outcome, fanout)),
            _ => Err(CommitError("writer answered another kind of write".into())),
        }
    }

    /// Deletes an acknowledged envelope in the next group commit (with the
    /// envelopes being stored, never a transaction of its own); `true` if a
    /// queued envelope went.
    pub async fn ack(&self, ack: Ack) -> Result<bool, CommitError> {
        match self.write(Write::Ack(ack)).await? {
            (Outcome::Ack(deleted), _) => Ok(deleted),
            _ => Err(CommitError("writer answered another kind of write".into())),
        }
    }

    async fn write(&self, write: Write) -> Result<(Outcome, Write), CommitError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send((write, reply))
            .await
            .map_err(|_| CommitError("writer stopped".into()))?;
        rx.await.map_err(|_| CommitError("writer stopped".into()))?
    }
}

async fn run(store: Store, limits: QueueLimits, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut gathered = rows(&first);
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH && gathered < MAX_BATCH_ROWS {
            match rx.try_recv() {
                Ok(j) => {
                    gathered += rows(&j);
                    jobs.push(j);
                }
                Err(_) => break,
            }
        }
        // The envelopes move into the transaction and come back out of it.
        let (batch, replies): (Vec<Write>, Vec<Reply>) = jobs.into_iter().unzip();
        metrics::histogram!("parley_commit_batch_size").record(batch.len() as f64);
        let s = store.clone();
        let result = actix_web::web::block(move || {
            let outcome = s.enqueue_batch(&batch, limits);
            (outcome, batch)
        })
        .await;
        match result {
            Ok((Ok(outcomes), batch)) => {
                for ((reply, outcome), write) in replies.into_iter().zip(outcomes).zip(batch) {
                    let _ = reply.send(Ok((outcome, write)));
                }
            }
            Ok((Err(e), _)) => fail_all(replies, &e.to_string()),
            Err(e) => fail_all(replies, &e.to_string()),
        }
    }
}

fn fail_all(replies: Vec<Reply>, why: &str) {
    tracing::warn!(err = why, "mailbox commit failed; senders will retry");
    for reply in replies {
        let _ = reply.send(Err(CommitError(why.to_owned())));
    }
}

/// Hub and writer together, shared by all workers.
#[derive(Debug)]
pub struct Mailbox {
    /// Live connections (shared with the bus task, which feeds it signals
    /// from other relay nodes).
    pub hub: Arc<Hub>,
    /// Durable writer.
    pub committer: Committer,
    /// Live deliveries waiting for their ack (ADR 0028).
    pub fast: crate::fast_path::FastPath,
}
