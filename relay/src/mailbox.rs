//! Live side of the mailbox: which devices are connected (the hub, which also
//! carries opt-in presence and ends connections whose token or device is
//! gone), and the group-commit writer that makes envelopes durable before
//! they are acknowledged.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use parley_shared::protocol::ws::{DeviceId, ServerFrame};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::backlog::{self, Backlog, Live};
use crate::db::{Enqueued, NewEnvelope, QueueLimits, Store};

/// Most envelopes committed in one transaction.
const MAX_BATCH: usize = 512;

/// Why the relay ended a connection from outside the connection's task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The token that opened it was revoked (logout, or log out everywhere).
    Revoked = 1,
    /// Its device was erased.
    Erased = 2,
    /// Its account published a device list without it (and the relay
    /// erased it).
    Removed = 3,
}

/// Set once by the hub, read by the connection's task before every frame it
/// handles: once `end` has returned, no further frame of that connection is
/// served.
#[derive(Debug, Default)]
pub struct EndSignal {
    why: AtomicU8,
    wake: Notify,
}

impl EndSignal {
    fn end(&self, why: Ended) {
        // The first reason stays; a second end changes nothing.
        let _ = self
            .why
            .compare_exchange(0, why as u8, Ordering::SeqCst, Ordering::SeqCst);
        // One waiter per connection; the permit is kept if it is not waiting yet.
        self.wake.notify_one();
    }

    /// Why the connection was ended, if it was.
    pub fn ended(&self) -> Option<Ended> {
        match self.why.load(Ordering::SeqCst) {
            1 => Some(Ended::Revoked),
            2 => Some(Ended::Erased),
            3 => Some(Ended::Removed),
            _ => None,
        }
    }

    /// Resolves once the connection is ended.
    pub async fn wait(&self) -> Ended {
        loop {
            if let Some(why) = self.ended() {
                return why;
            }
            self.wake.notified().await;
        }
    }
}

#[derive(Debug)]
struct Conn {
    id: u64,
    /// SHA-256 of the token that authenticated the connection.
    token: [u8; 32],
    end: Arc<EndSignal>,
    tx: backlog::Sender,
    share: bool,
    watching: Vec<DeviceId>,
}

/// A registered connection: its id, the frames for it, and its end signal.
#[derive(Debug)]
pub struct Registration {
    /// Connection id within the hub.
    pub id: u64,
    /// Frames the hub queues for the connection.
    pub frames: mpsc::UnboundedReceiver<Live>,
    /// What the connection holds, and whether it overflowed.
    pub backlog: Arc<Backlog>,
    /// Set when the hub ends the connection.
    pub end: Arc<EndSignal>,
}

/// A connection watching a device: its id, its device, its queue.
type Watchers = HashMap<u64, (DeviceId, backlog::Sender)>;

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
                tx.offer(&Live::encode(&ServerFrame::Presence {
                    device: *device,
                    online,
                }));
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

    /// Takes a connection out (announcing "offline" if it was the device's
    /// last sharing connection); `None` if it was already gone.
    fn remove(&mut self, device: &DeviceId, id: u64) -> Option<Conn> {
        let before = self.views(device);
        let list = self.conns.get_mut(device)?;
        let conn = list
            .iter()
            .position(|c| c.id == id)
            .map(|pos| list.remove(pos));
        if list.is_empty() {
            self.conns.remove(device);
        }
        let conn = conn?;
        self.unwatch(id, &conn.watching);
        self.announce_changes(device, &before);
        metrics::gauge!("parley_ws_connections").decrement(1.0);
        Some(conn)
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

    /// Registers a connection opened with the token hashed as `token`; frames
    /// for the device arrive on the registration's receiver. A new connection
    /// does not share presence until it asks to.
    pub fn register(
        &self,
        device: DeviceId,
        token: [u8; 32],
        max: usize,
    ) -> Result<Registration, TooManyConnections> {
        let mut st = self.lock();
        let list = st.conns.entry(device).or_default();
        list.retain(|c| !c.tx.is_closed());
        if list.len() >= max {
            return Err(TooManyConnections);
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, frames, backlog) = backlog::channel();
        let end = Arc::new(EndSignal::default());
        list.push(Conn {
            id,
            token,
            end: end.clone(),
            tx,
            share: false,
            watching: Vec::new(),
        });
        metrics::gauge!("parley_ws_connections").increment(1.0);
        Ok(Registration {
            id,
            frames,
            backlog,
            end,
        })
    }

    /// Removes a connection (and announces "offline" if it was the device's
    /// last sharing connection). Nothing happens if the hub ended it already.
    pub fn unregister(&self, device: &DeviceId, id: u64) {
        self.lock().remove(device, id);
    }

    /// Ends the device's connections opened with the token hashed as `token`
    /// (the token was revoked); returns how many.
    pub fn end_token(&self, device: &DeviceId, token: &[u8; 32]) -> usize {
        self.end_where(device, Ended::Revoked, |c| &c.token == token)
    }

    /// Ends every connection of the device (erased, or logged out
    /// everywhere); returns how many.
    pub fn end_device(&self, device: &DeviceId, why: Ended) -> usize {
        self.end_where(device, why, |_| true)
    }

    /// Takes the connections out at once, so nothing more is delivered to
    /// them and presence sees them leave, then tells their tasks to stop.
    fn end_where(&self, device: &DeviceId, why: Ended, which: impl Fn(&Conn) -> bool) -> usize {
        let mut st = self.lock();
        let ids: Vec<u64> = st
            .conns
            .get(device)
            .map(|l| l.iter().filter(|c| which(c)).map(|c| c.id).collect())
            .unwrap_or_default();
        for id in &ids {
            if let Some(conn) = st.remove(device, *id) {
                conn.end.end(why);
            }
        }
        ids.len()
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
            tx.offer(&Live::encode(&ServerFrame::Presence {
                device: *d,
                online: st.visible_to(d, device),
            }));
        }
        st.announce_changes(device, &before);
    }

    /// Whether the device has an open connection to this relay.
    pub fn is_connected(&self, device: &DeviceId) -> bool {
        self.lock()
            .conns
            .get(device)
            .is_some_and(|list| list.iter().any(|c| !c.tx.is_closed()))
    }

    /// Queues a frame on every connection of the device (encoded once,
    /// shared); returns how many took it. A connection whose backlog is full
    /// overflows and re-reads its mailbox, so a durable envelope is never
    /// lost, only fetched from the database instead.
    pub fn deliver(&self, device: &DeviceId, frame: &ServerFrame) -> usize {
        let live = Live::encode(frame);
        let st = self.lock();
        st.conns
            .get(device)
            .map(|list| list.iter().filter(|c| c.tx.offer(&live)).count())
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
        let (reply, rx) = oneshot::channel();
        self.tx
            .send((envelope, reply))
            .await
            .map_err(|_| CommitError("writer stopped".into()))?;
        rx.await.map_err(|_| CommitError("writer stopped".into()))?
    }
}

async fn run(store: Store, limits: QueueLimits, mut rx: mpsc::Receiver<Job>) {
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
            let outcome = s.enqueue_batch(&batch, limits);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> ServerFrame {
        ServerFrame::Ready { queued: 0 }
    }

    #[tokio::test]
    async fn ending_by_token_or_device_takes_exactly_those_connections_out() {
        let hub = Hub::default();
        let (alice, bob) = (DeviceId::new([1; 32]), DeviceId::new([2; 32]));
        let a1 = hub.register(alice, [10; 32], 5).unwrap();
        let a2 = hub.register(alice, [11; 32], 5).unwrap();
        // Same token hash on another device: a revoke names the device too.
        let b = hub.register(bob, [10; 32], 5).unwrap();

        assert_eq!(hub.end_token(&alice, &[10; 32]), 1);
        // Signalled before end_token returned; the task's wait sees it.
        assert_eq!(a1.end.ended(), Some(Ended::Revoked));
        assert_eq!(a1.end.wait().await, Ended::Revoked);
        assert_eq!((a2.end.ended(), b.end.ended()), (None, None));
        assert_eq!(hub.deliver(&alice, &frame()), 1, "ended: no more frames");

        assert_eq!(hub.end_device(&alice, Ended::Erased), 1);
        assert_eq!(a2.end.ended(), Some(Ended::Erased));
        assert_eq!(hub.deliver(&alice, &frame()), 0);
        // The task's own cleanup afterwards changes nothing.
        hub.unregister(&alice, a2.id);
        assert_eq!(b.end.ended(), None);
        assert_eq!(hub.deliver(&bob, &frame()), 1);
        // An ended device can connect again at once (its slots are free).
        assert!(hub.register(alice, [12; 32], 1).is_ok());
    }
}
