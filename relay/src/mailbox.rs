//! Live side of the mailbox: which devices are connected (the hub), and the
//! group-commit writer that makes envelopes durable before they are acknowledged.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use parley_shared::protocol::ws::{DeviceId, ServerFrame};
use tokio::sync::{mpsc, oneshot};

use crate::db::{Enqueued, NewEnvelope, Store};

/// Most envelopes committed in one transaction.
const MAX_BATCH: usize = 512;
/// Frames buffered for a slow connection before it is dropped.
const OUTBOX: usize = 1024;

/// One live connection: its id and its outgoing frame queue.
type Conn = (u64, mpsc::Sender<ServerFrame>);

/// Connected devices and their outgoing frame queues.
#[derive(Debug, Default)]
pub struct Hub {
    conns: Mutex<HashMap<DeviceId, Vec<Conn>>>,
    next: AtomicU64,
}

/// A device already has the maximum number of connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyConnections;

impl Hub {
    /// Registers a connection; frames for the device arrive on the receiver.
    pub fn register(
        &self,
        device: DeviceId,
        max: usize,
    ) -> Result<(u64, mpsc::Receiver<ServerFrame>), TooManyConnections> {
        let mut conns = self
            .conns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let list = conns.entry(device).or_default();
        list.retain(|(_, tx)| !tx.is_closed());
        if list.len() >= max {
            return Err(TooManyConnections);
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(OUTBOX);
        list.push((id, tx));
        metrics::gauge!("parley_ws_connections").increment(1.0);
        Ok((id, rx))
    }

    /// Removes a connection.
    pub fn unregister(&self, device: &DeviceId, id: u64) {
        let mut conns = self
            .conns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(list) = conns.get_mut(device) {
            list.retain(|(i, _)| *i != id);
            if list.is_empty() {
                conns.remove(device);
            }
        }
        metrics::gauge!("parley_ws_connections").decrement(1.0);
    }

    /// Queues a frame on every connection of the device; returns how many
    /// took it. A connection whose buffer is full misses it (a durable
    /// envelope is still in the database and comes on reconnect).
    pub fn deliver(&self, device: &DeviceId, frame: &ServerFrame) -> usize {
        let conns = self
            .conns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        conns
            .get(device)
            .map(|list| {
                list.iter()
                    .filter(|(_, tx)| tx.try_send(frame.clone()).is_ok())
                    .count()
            })
            .unwrap_or(0)
    }
}

/// Why an envelope could not be committed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("mailbox unavailable: {0}")]
pub struct CommitError(pub String);

type Job = (NewEnvelope, oneshot::Sender<Result<Enqueued, CommitError>>);

/// Funnels envelopes from every connection into batched transactions: while
/// one batch commits, the next one gathers, so throughput grows with load
/// and each envelope is acknowledged only once its commit returned.
#[derive(Debug, Clone)]
pub struct Committer {
    tx: mpsc::Sender<Job>,
}

impl Committer {
    /// Starts the writer task on the current runtime.
    pub fn spawn(store: Store, max_queue: i64) -> Self {
        let (tx, rx) = mpsc::channel::<Job>(8 * MAX_BATCH);
        actix_web::rt::spawn(run(store, max_queue, rx));
        Self { tx }
    }

    /// Commits one envelope (with whatever else is waiting).
    pub async fn commit(&self, envelope: NewEnvelope) -> Result<Enqueued, CommitError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send((envelope, reply))
            .await
            .map_err(|_| CommitError("writer stopped".into()))?;
        rx.await.map_err(|_| CommitError("writer stopped".into()))?
    }
}

async fn run(store: Store, max_queue: i64, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let batch: Vec<NewEnvelope> = jobs.iter().map(|(e, _)| e.clone()).collect();
        let s = store.clone();
        let size = batch.len();
        let result = actix_web::web::block(move || s.enqueue_batch(&batch, max_queue)).await;
        metrics::histogram!("parley_commit_batch_size").record(size as f64);
        match result {
            Ok(Ok(outcomes)) => {
                for ((_, reply), outcome) in jobs.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Ok(Err(e)) => fail_all(jobs, &e.to_string()),
            Err(e) => fail_all(jobs, &e.to_string()),
        }
    }
}

fn fail_all(jobs: Vec<Job>, why: &str) {
    tracing::warn!(err = why, "mailbox commit failed; senders will retry");
    for (_, reply) in jobs {
        let _ = reply.send(Err(CommitError(why.to_owned())));
    }
}

/// Hub and writer together, shared by all workers.
#[derive(Debug)]
pub struct Mailbox {
    /// Live connections.
    pub hub: Hub,
    /// Durable writer.
    pub committer: Committer,
}
