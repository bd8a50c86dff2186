//! Which devices are connected to this relay node, their outgoing frame
//! queues, opt-in presence, and ending connections whose token or device is
//! gone. With several nodes ([`Remote::Redis`]) the hub also tells the
//! others what they must act on and applies what they tell it
//! ([`Hub::receive`]); it stays the one place that decides who gets what.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use parley_shared::protocol::ws::{DeviceId, ServerFrame};
use tokio::sync::{Notify, mpsc};

use crate::backlog::{self, Backlog, Live};
use crate::bus::{Note, Remote, Signal};

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
    /// Other relay nodes, if any. Told under the lock, so they hear of
    /// changes in the order they happened.
    remote: Remote,
}

impl HubState {
    /// Queues `live` on every connection of the device; how many took it.
    fn offer(&self, device: &DeviceId, live: &Live) -> usize {
        self.conns
            .get(device)
            .map(|list| list.iter().filter(|c| c.tx.offer(live)).count())
            .unwrap_or(0)
    }

    /// Tells each of the device's connections to re-read its mailbox; how many.
    fn reread(&self, device: &DeviceId) -> usize {
        let list = self.conns.get(device).map(Vec::as_slice).unwrap_or(&[]);
        for c in list {
            c.tx.reread();
        }
        list.len()
    }

    /// Another node says `of` became (in)visible to `watcher`, whose
    /// connections here may be watching it.
    fn remote_presence(&self, watcher: &DeviceId, of: &DeviceId, online: bool) {
        // A connection of `of` here that `watcher` may see wins over
        // another node's "offline".
        let online = online || self.visible_to(of, watcher);
        let Some(w) = self.watchers.get(of) else {
            return;
        };
        let frame = Live::encode(&ServerFrame::Presence {
            device: *of,
            online,
        });
        for (who, tx) in w.values() {
            if who == watcher {
                tx.offer(&frame);
            }
        }
        if !online {
            // `of` may still be visible through a connection on a third node.
            self.remote
                .publish(*of, Signal::Query { watcher: *watcher });
        }
    }

    /// Whether `watcher` may see `device` online: a connection of `device`
    /// shares presence and names `watcher` in its own watch list. So only a
    /// device's contacts see it, and a stranger who knows its id learns
    /// nothing (it always looks offline to them).
    fn visible_to(&self, device: &DeviceId, watcher: &DeviceId) -> bool {
        self.conns
            .get(device)
            .is_some_and(|l| l.iter().any(|c| c.share && c.watching.contains(watcher)))
    }

    /// See [`Hub::fast_allowed`].
    fn fast_allowed(&self, device: &DeviceId, sender: &DeviceId) -> bool {
        !self.remote.is_shared() && self.visible_to(device, sender)
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

    /// Every device `device`'s connections watch, and whether it may see
    /// `device` online. Visibility needs the watched side to name the
    /// watcher, so these are the only devices anywhere whose view of
    /// `device` can change when its connections here change.
    fn reach(&self, device: &DeviceId) -> Vec<(DeviceId, bool)> {
        let mut named: Vec<DeviceId> = self
            .conns
            .get(device)
            .map(|l| l.iter().flat_map(|c| c.watching.iter().copied()).collect())
            .unwrap_or_default();
        named.sort_unstable();
        named.dedup();
        named
            .into_iter()
            .map(|w| (w, self.visible_to(device, &w)))
            .collect()
    }

    /// Tells the other nodes of each watcher whose view of `device` changed
    /// since `before` (a [`HubState::reach`]).
    fn publish_changes(&self, device: &DeviceId, before: &[(DeviceId, bool)]) {
        if !self.remote.is_shared() {
            return;
        }
        let after = self.reach(device);
        let was = |w: &DeviceId, list: &[(DeviceId, bool)]| {
            list.iter().find(|(d, _)| d == w).is_some_and(|(_, v)| *v)
        };
        let mut seen = HashSet::new();
        for (w, _) in before.iter().chain(after.iter()) {
            if !seen.insert(*w) {
                continue;
            }
            let online = was(w, &after);
            if was(w, before) != online {
                self.remote.publish(
                    *w,
                    Signal::Presence {
                        device: *device,
                        online,
                    },
                );
            }
        }
    }

    /// The reach before a change, when other nodes need to hear of it.
    fn reach_if_shared(&self, device: &DeviceId) -> Vec<(DeviceId, bool)> {
        if self.remote.is_shared() {
            self.reach(device)
        } else {
            Vec::new()
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
        let reach = self.reach_if_shared(device);
        let list = self.conns.get_mut(device)?;
        let conn = list
            .iter()
            .position(|c| c.id == id)
            .map(|pos| list.remove(pos));
        if list.is_empty() {
            self.conns.remove(device);
            self.remote.send(Note::Touch(*device));
        }
        let conn = conn?;
        self.unwatch(id, &conn.watching);
        self.announce_changes(device, &before);
        self.publish_changes(device, &reach);
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
    /// A hub whose signals for other nodes go to `remote`.
    pub fn new(remote: Remote) -> Self {
        Self {
            state: Mutex::new(HubState {
                remote,
                ..HubState::default()
            }),
            next: AtomicU64::new(0),
        }
    }

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
        let first = list.is_empty();
        // Most devices hold one connection: room for one, not the four a
        // first push reserves.
        list.reserve_exact(1);
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
        if first {
            st.remote.send(Note::Touch(device));
        }
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
        self.lock().remote.publish(
            *device,
            Signal::End {
                why: Ended::Revoked,
                token: Some(*token),
            },
        );
        self.end_where(device, Ended::Revoked, |c| &c.token == token)
    }

    /// Ends every connection of the device (erased, or logged out
    /// everywhere); returns how many.
    pub fn end_device(&self, device: &DeviceId, why: Ended) -> usize {
        self.lock()
            .remote
            .publish(*device, Signal::End { why, token: None });
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
        let reach = st.reach_if_shared(device);
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
            // A node holding `d` answers if `d` is visible to this device.
            if st.remote.is_shared() && !old.contains(d) {
                st.remote.publish(*d, Signal::Query { watcher: *device });
            }
        }
        st.announce_changes(device, &before);
        st.publish_changes(device, &reach);
    }

    /// Whether the device has an open connection to this node (with
    /// several nodes, one on another node does not count: a push wakes a
    /// device that may be online elsewhere, see ADR 0023).
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
    ///
    /// With other nodes, they are told too: an ephemeral frame whole (it is
    /// stored nowhere), a durable one as a wake-up (they re-read the mailbox;
    /// the payload stays in the database). This node's own connections
    /// re-read as well instead of taking the frame: an earlier envelope of
    /// the same sender may have been committed on another node whose wake-up
    /// is late or lost (the sender reconnected here), and only the database
    /// has both in commit order.
    pub fn deliver(&self, device: &DeviceId, frame: &ServerFrame) -> usize {
        let durable = matches!(
            frame,
            ServerFrame::Deliver {
                ephemeral: false,
                ..
            }
        );
        let st = self.lock();
        if !st.remote.is_shared() {
            return st.offer(device, &Live::encode(frame));
        }
        if durable {
            st.remote.publish(*device, Signal::Wake);
            return st.reread(device);
        }
        let live = Live::encode(frame);
        st.remote
            .publish(*device, Signal::Frame(live.bytes().clone()));
        st.offer(device, &live)
    }

    /// Queues a durable frame from `sender` on this node's connections of
    /// the device, for the fast path; how many took it. 0 unless
    /// [`Hub::fast_allowed`].
    pub fn offer_fast(&self, device: &DeviceId, sender: &DeviceId, frame: &ServerFrame) -> usize {
        let st = self.lock();
        if !st.fast_allowed(device, sender) {
            return 0;
        }
        st.offer(device, &Live::encode(frame))
    }

    /// Whether the fast path may offer `sender`'s envelope to the device:
    /// only if it shows its presence to the sender (how soon a send is
    /// accepted would tell a stranger whether it is online), and only with
    /// one node (an earlier envelope of the same sender may wait in the
    /// database, and only a re-read from it keeps their order).
    pub fn fast_allowed(&self, device: &DeviceId, sender: &DeviceId) -> bool {
        self.lock().fast_allowed(device, sender)
    }

    /// Queues one durable frame (a multi-recipient envelope: the same
    /// `Deliver` for every recipient) on every connection of each device,
    /// encoded once; with other nodes, as [`Hub::deliver`] does for a
    /// durable frame, every device is woken instead.
    pub fn deliver_many(&self, devices: &[DeviceId], frame: &ServerFrame) {
        let st = self.lock();
        if st.remote.is_shared() {
            for d in devices {
                st.remote.publish(*d, Signal::Wake);
                st.reread(d);
            }
            return;
        }
        let live = Live::encode(frame);
        for d in devices {
            st.offer(d, &live);
        }
    }

    /// Applies a signal another node published on `device`'s channel; it
    /// reaches this node's connections only (nothing is published back,
    /// except the answer to a presence query).
    pub fn receive(&self, device: &DeviceId, signal: Signal) {
        match signal {
            Signal::Wake => self.reread(device),
            Signal::Frame(bytes) => {
                self.lock().offer(device, &Live::ephemeral(bytes));
            }
            Signal::Presence { device: of, online } => {
                self.lock().remote_presence(device, &of, online);
            }
            Signal::Query { watcher } => {
                let st = self.lock();
                if st.visible_to(device, &watcher) {
                    st.remote.publish(
                        watcher,
                        Signal::Presence {
                            device: *device,
                            online: true,
                        },
                    );
                }
            }
            Signal::End { why, token } => {
                self.end_where(device, why, |c| token.is_none_or(|t| c.token == t));
            }
        }
    }

    /// Tells each of the device's connections here to re-read its mailbox.
    pub fn reread(&self, device: &DeviceId) {
        self.lock().reread(device);
    }

    /// Every connection re-reads its mailbox, and asks again for the
    /// presence of what it watches: signals may have been missed (the bus
    /// to the other nodes was down).
    pub fn resync_all(&self) {
        for d in self.devices() {
            self.resync(&d);
        }
    }

    /// The device's connections re-read the mailbox and ask again for the
    /// presence of what they watch: called once its channel is subscribed,
    /// so what was published before that is not missed for long.
    pub fn resync(&self, device: &DeviceId) {
        self.reread(device);
        let st = self.lock();
        let Some(list) = st.conns.get(device) else {
            return;
        };
        let mut watched: Vec<DeviceId> = list
            .iter()
            .flat_map(|c| c.watching.iter().copied())
            .collect();
        watched.sort_unstable();
        watched.dedup();
        for d in watched {
            st.remote.publish(d, Signal::Query { watcher: *device });
        }
    }

    /// Devices with a connection here.
    pub fn devices(&self) -> Vec<DeviceId> {
        self.lock().conns.keys().copied().collect()
    }

    /// Whether the device has a connection here.
    pub fn holds(&self, device: &DeviceId) -> bool {
        self.lock().conns.contains_key(device)
    }
}

fn dedup(mut v: Vec<DeviceId>) -> Vec<DeviceId> {
    let mut seen = HashSet::new();
    v.retain(|d| seen.insert(*d));
    v
}

#[cfg(test)]
mod tests;
