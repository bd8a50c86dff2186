//! Live side of the mailbox: the hub of connected devices (`crate::hub`)
//! and the group-commit writer that makes envelopes durable before they are
//! acknowledged.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

pub use crate::hub::{EndSignal, Ended, Hub, Registration, TooManyConnections};

use crate::db::{
    Ack, Enqueued, Fanned, NewEnvelope, NewFanout, Outcome, QueueLimits, Store, Write,
};

/// Most jobs (a `Send`, a connection's chain of `Send`s, a `SendMany`, an
/// ack) committed in one transaction.
const MAX_BATCH: usize = 2048;
/// Most queue rows one transaction gathers (a `SendMany` adds one per
/// recipient, a chain one per envelope), so a burst of large fan-outs does
/// not make one huge commit.
const MAX_BATCH_ROWS: usize = 8 * 1024;

fn rows(job: &Job) -> usize {
    job.0
        .iter()
        .map(|w| match w {
            Write::One(_) | Write::Ack(_) => 1,
            Write::Many(f) => f.recipients.len(),
        })
        .sum()
}

/// Why an envelope could not be committed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("mailbox unavailable: {0}")]
pub struct CommitError(pub String);

/// Each write of a job with its outcome, in the job's order.
type Written = Vec<(Outcome, Write)>;
type Reply = oneshot::Sender<Result<Written, CommitError>>;
/// Writes that go into the same transaction, consecutively and in order,
/// and where their outcomes go (`None`: nobody waits for them).
type Job = (Vec<Write>, Option<Reply>);

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
        let (tx, rx) = mpsc::channel::<Job>(4 * MAX_BATCH);
        actix_web::rt::spawn(run(store, limits, rx));
        Self { tx }
    }

    /// Commits one envelope (with whatever else is waiting) and hands it back
    /// with the outcome, so the caller can deliver it without copying the payload.
    pub async fn commit(
        &self,
        envelope: NewEnvelope,
    ) -> Result<(Enqueued, NewEnvelope), CommitError> {
        match self.write(vec![Write::One(envelope)]).await?.pop() {
            Some((Outcome::One(outcome), Write::One(envelope))) => Ok((outcome, envelope)),
            _ => Err(CommitError("writer answered another kind of write".into())),
        }
    }

    /// Commits a connection's envelopes in one transaction, in their order:
    /// after one refused for a moment, the sender's later ones are
    /// [`Enqueued::Held`]. Each comes back with its outcome.
    pub async fn commit_chain(
        &self,
        chain: Vec<NewEnvelope>,
    ) -> Result<Vec<(Enqueued, NewEnvelope)>, CommitError> {
        let n = chain.len();
        let written = self
            .write(chain.into_iter().map(Write::One).collect())
            .await?;
        let out: Vec<_> = written
            .into_iter()
            .filter_map(|w| match w {
                (Outcome::One(outcome), Write::One(envelope)) => Some((outcome, envelope)),
                _ => None,
            })
            .collect();
        if out.len() == n {
            Ok(out)
        } else {
            Err(CommitError("writer answered another kind of write".into()))
        }
    }

    /// Commits one multi-recipient envelope (all recipients or none), like
    /// [`Committer::commit`].
    pub async fn commit_many(&self, fanout: NewFanout) -> Result<(Fanned, NewFanout), CommitError> {
        match self.write(vec![Write::Many(fanout)]).await?.pop() {
            Some((Outcome::Many(outcome), Write::Many(fanout))) => Ok((outcome, fanout)),
            _ => Err(CommitError("writer answered another kind of write".into())),
        }
    }

    /// Hands an ack to the next group commit (with the envelopes being
    /// stored, never a transaction of its own) without waiting for it: a
    /// recipient's acks then share commits instead of taking one each.
    /// Waits only while the writer's queue is full. A lost ack only means
    /// the envelope comes again (the engine drops it as a duplicate).
    pub async fn ack(&self, ack: Ack) -> Result<(), CommitError> {
        self.tx
            .send((vec![Write::Ack(ack)], None))
            .await
            .map_err(|_| CommitError("writer stopped".into()))
    }

    async fn write(&self, writes: Vec<Write>) -> Result<Written, CommitError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send((writes, Some(reply)))
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
        // A job's writes stay consecutive in the batch; the envelopes move
        // into the transaction and come back out of it.
        let mut sizes = Vec::with_capacity(jobs.len());
        let mut replies = Vec::with_capacity(jobs.len());
        let mut batch = Vec::with_capacity(gathered);
        for (writes, reply) in jobs {
            sizes.push(writes.len());
            replies.push(reply);
            batch.extend(writes);
        }
        metrics::histogram!("parley_commit_batch_size").record(batch.len() as f64);
        let s = store.clone();
        let result = actix_web::web::block(move || {
            let outcome = s.enqueue_batch(&batch, limits);
            (outcome, batch)
        })
        .await;
        match result {
            Ok((Ok(outcomes), batch)) => {
                let mut written = outcomes.into_iter().zip(batch);
                for (reply, n) in replies.into_iter().zip(sizes) {
                    let job: Written = written.by_ref().take(n).collect();
                    if let Some(reply) = reply {
                        let _ = reply.send(Ok(job));
                    }
                }
            }
            Ok((Err(e), _)) => fail_all(replies, &e.to_string()),
            Err(e) => fail_all(replies, &e.to_string()),
        }
    }
}

fn fail_all(replies: Vec<Option<Reply>>, why: &str) {
    tracing::warn!(err = why, "mailbox commit failed; senders will retry");
    for reply in replies.into_iter().flatten() {
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
