//! Live side of the mailbox: which devices are connected (the hub, which also
//! carries opt-in presence), and the group-commit writer that makes envelopes
//! durable before they are acknowledged.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use parley_shared::protocol::ws::{DeviceId, ServerFrame};
use tokio::sync::{mpsc, oneshot};

use crate::db::{Enqueued, NewEnvelope, Store};

/// Most envelopes committed in one transaction.
const MAX_BATCH: usize = 512;
/// Frames buffered for a slow connection before it misses live frames.
const OUTBOX: usize = 1024;

#[derive(Debug)]
struct Conn {
    id: u64,
    tx: mpsc::Sender<ServerFrame>,
    share: bool,
    watching: Vec<DeviceId>,
}

/// A connection watching a device: its id, its device, its queue.
type Watchers = HashMap<u64, (DeviceId, mpsc::Sender<ServerFrame>)>;

#[derive(Debug, Default)]
struct HubState {
    conns: HashMap<DeviceId, Vec<Conn>>,
    /// watched device → connections watching it.
    watchers: HashMap<DeviceId, Watchers>,
}

impl HubState {
    /// Whether `watcher` may see `device` online: a connection of `device`
    /// shares presence and names `watcher` in its own watch list. So only a
    /// device's contacts see it, and a stranger who knows its id learns
    /// nothing (it always looks offline to them).
    fn visible_to(&self, device: &DeviceId, watcher: &DeviceId) -> bool {
        self.conns
            .get(device)
            .is_some_and(|l| l.iter().any(|c| c.share && c.watching.contains(watcher)))
    }

    /// What each connection watching `device` may see of it now.
    fn views(&self, device: &DeviceId) -> Vec<(u64, bool)> {
        self.watchers
            .get(device)
            .map(|w| {
                w.iter()
                    .map(|(id, (who, _))| (*id, self.visible_to(device, who)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Tells each watcher of `device` whose view changed since `before`.
    fn announce_changes(&self, device: &DeviceId, before: &[(u64, bool)]) {
        let Some(w) = self.watchers.get(device) else {
            return;
        };
        for (id, online) in self.views(device) {
            let was = before.iter().find(|(b, _)| *b == id).map(|(_, v)| *v);
            if was.is_some_and(|v| v != online)
                && let Some((_, tx)) = w.get(&id)
            {
                let _ = tx.try_send(ServerFrame::Presence {
                    device: *device,
                    online,
                });
            }
        }
    }

    fn unwatch(&mut self, conn: u64, devices: &[DeviceId]) {
        for d in devices {
            if let Some(w) = self.watchers.get_mut(d) {
                w.remove(&conn);
                if w.is_empty() {
                    self.watchers.remove(d);
                }
            }
        }
    }
}

/// Connected devices, their outgoing frame queues, and presence.
#[derive(Debug, Default)]
pub struct Hub {
    state: Mutex<HubState>,
    next: AtomicU64,
}

/// A device already has the maximum number of connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyConnections;

impl Hub {
    fn lock(&self) -> std::sync::MutexGuard<'_, HubState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a connection; frames for the device arrive on the receiver.
    /// A new connection does not share presence until it asks to.
    pub fn register(
        &self,
        device: DeviceId,
        max: usize,
    ) -> Result<(u64, mpsc::Receiver<ServerFrame>), TooManyConnections> {
        let mut st = self.lock();
        let list = st.conns.entry(device).or_default();
        list.retain(|c| !c.tx.is_closed());
        if list.len() >= max {
            return Err(TooManyConnections);
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(OUTBOX);
        list.push(Conn {
            id,
            tx,
            share: false,
            watching: Vec::new(),
        });
        metrics::gauge!("parley_ws_connections").increment(1.0);
        Ok((id, rx))
    }

    /// Removes a connection (and announces "offline" if it was the device's
    /// last sharing connection).
    pub fn unregister(&self, device: &DeviceId, id: u64) {
        let mut st = self.lock();
        let before = st.views(device);
        let mut watching = Vec::new();
        if let Some(list) = st.conns.get_mut(device) {
            if let Some(pos) = list.iter().position(|c| c.id == id) {
                watching = list.remove(pos).watching;
            }
            if list.is_empty() {
                st.conns.remove(device);
            }
        }
        st.unwatch(id, &watching);
        st.announce_changes(device, &before);
        metrics::gauge!("parley_ws_connections").decrement(1.0);
    }

    /// Sets a connection's presence: whether it shares, and whom it watches
    /// (which is also who may see it). The watcher immediately learns what
    /// it may see of each watched device.
    pub fn set_presence(&self, device: &DeviceId, id: u64, share: bool, watch: Vec<DeviceId>) {
        let mut st = self.lock();
        let before = st.views(device);
        let Some(conn) = st
            .conns
            .get_mut(device)
            .and_then(|l| l.iter_mut().find(|c| c.id == id))
        else {
            return;
        };
        conn.share = share;
        let tx = conn.tx.clone();
        let old = std::mem::replace(&mut conn.watching, dedup(watch));
        let new = conn.watching.clone();
        st.unwatch(id, &old);
        for d in &new {
            st.watchers
                .entry(*d)
                .or_default()
                .insert(id, (*device, tx.clone()));
            let _ = tx.try_send(ServerFrame::Presence {
                device: *d,
                online: st.visible_to(d, device),
            });
        }
        st.announce_changes(device, &before);
    }

    /// Queues a frame on every connection of the device; returns how many
    /// took it. A connection whose buffer is full misses it (a durable
    /// envelope is still in the database and comes on reconnect).
    pub fn deliver(&self, device: &DeviceId, frame: &ServerFrame) -> usize {
        let st = self.lock();
        st.conns
            .get(device)
            .map(|list| {
                list.iter()
                    .filter(|c| c.tx.try_send(frame.clone()).is_ok())
                    .count()
            })
            .unwrap_or(0)
    }
}

fn dedup(mut v: Vec<DeviceId>) -> Vec<DeviceId> {
    let mut seen = HashSet::new();
    v.retain(|d| seen.insert(*d));
    v
}

/// Why an envelope could not be committed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("mailbox unavailable: {0}")]
pub struct CommitError(pub String);

type Reply = oneshot::Sender<Result<(Enqueued, NewEnvelope), CommitError>>;
type Job = (NewEnvelope, Reply);

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

    /// Commits one envelope (with whatever else is waiting) and hands it back
    /// with the outcome, so the caller can deliver it without copying the payload.
    pub async fn commit(
        &self,
        envelope: NewEnvelope,
    ) -> Result<(Enqueued, NewEnvelope), CommitError> {
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
        // The envelopes move into the transaction and come back out of it.
        let (batch, replies): (Vec<NewEnvelope>, Vec<Reply>) = jobs.into_iter().unzip();
        metrics::histogram!("parley_commit_batch_size").record(batch.len() as f64);
        let s = store.clone();
        let result = actix_web::web::block(move || {
            let outcome = s.enqueue_batch(&batch, max_queue);
            (outcome, batch)
        })
        .await;
        match result {
            Ok((Ok(outcomes), batch)) => {
                for ((reply, outcome), envelope) in replies.into_iter().zip(outcomes).zip(batch) {
                    let _ = reply.send(Ok((outcome, envelope)));
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
    /// Live connections.
    pub hub: Hub,
    /// Durable writer.
    pub committer: Committer,
}
