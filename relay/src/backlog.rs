//! A connection's backlog of live frames, bounded by bytes.
//!
//! Each frame is encoded once and shared between the connections it goes to
//! (`Bytes` is reference-counted), so a device with five connections does not
//! hold five copies. A connection that does not read fills its backlog up to
//! [`MAX_BACKLOG_BYTES`]; after that durable deliveries are not queued but the
//! connection is told it overflowed, and once it has sent what it holds it
//! re-reads its mailbox from the database. So a slow reader costs the relay a
//! bounded amount of memory, still gets every accepted envelope without
//! reconnecting, and gets each sender's envelopes in order (the database
//! holds them in commit order). Ephemeral frames (signals, presence) beyond
//! the bound are dropped: they are never stored anyway.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use actix_web::web::Bytes;
use parley_shared::protocol::ws::{DeviceId, EnvelopeId, ServerFrame};
use tokio::sync::{Notify, mpsc};

/// Bytes of live frames one connection may hold before it overflows.
pub const MAX_BACKLOG_BYTES: usize = 1 << 20;
/// Per-frame bookkeeping counted on top of its bytes (so a flood of tiny
/// frames is bounded too).
const FRAME_OVERHEAD: usize = 64;
/// Durable envelopes remembered per connection to skip a second copy (live
/// and from the database around a connect or a re-read). Above the mailbox
/// depth limit, so a whole queue is covered.
const RECENT: usize = 16_384;

/// A durable delivery's identity: sender and envelope id.
pub type Key = (DeviceId, EnvelopeId);

/// One encoded frame, shared by every connection it is queued on. A
/// pointer, so that an idle connection's queue (whose first block of slots
/// is allocated with it) costs 32 pointers, not 32 frames with their keys.
#[derive(Debug, Clone)]
pub struct Live(Arc<Frame>);

#[derive(Debug)]
struct Frame {
    bytes: Bytes,
    key: Option<Key>,
}

impl Live {
    /// Already-encoded bytes (a frame from another relay node: ephemeral,
    /// so without a key).
    pub fn ephemeral(bytes: Bytes) -> Self {
        Self(Arc::new(Frame { bytes, key: None }))
    }

    /// The frame's wire bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.0.bytes
    }

    /// Set for durable deliveries (they can be re-read from the database).
    pub fn key(&self) -> Option<Key> {
        self.0.key
    }

    /// Encodes `frame` once.
    pub fn encode(frame: &ServerFrame) -> Self {
        let key = match frame {
            ServerFrame::Deliver {
                from,
                id,
                ephemeral: false,
                ..
            } => Some((*from, *id)),
            _ => None,
        };
        Self(Arc::new(Frame {
            bytes: Bytes::from(frame.to_bytes()),
            key,
        }))
    }

    fn cost(&self) -> usize {
        self.0.bytes.len() + FRAME_OVERHEAD
    }
}

/// What a connection holds and whether it overflowed.
#[derive(Debug, Default)]
pub struct Backlog {
    held: AtomicUsize,
    overflowed: AtomicBool,
    wake: Notify,
}

impl Backlog {
    fn try_hold(&self, n: usize) -> bool {
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                let next = held.checked_add(n)?;
                (next <= MAX_BACKLOG_BYTES).then_some(next)
            })
            .is_ok()
    }

    /// A frame left the backlog (sent, or skipped).
    pub fn release(&self, live: &Live) {
        let n = live.cost();
        let _ = self
            .held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                Some(held.saturating_sub(n))
            });
    }

    /// Clears the overflow mark; true if it was set. Called before the
    /// mailbox is re-read, so what is committed meanwhile is queued live.
    pub fn take_overflow(&self) -> bool {
        self.overflowed.swap(false, Ordering::AcqRel)
    }

    /// Resolves once the connection has overflowed.
    pub async fn overflow(&self) {
        loop {
            if self.overflowed.load(Ordering::Acquire) {
                return;
            }
            self.wake.notified().await;
        }
    }
}

/// The hub's side of a connection's backlog.
#[derive(Debug, Clone)]
pub struct Sender {
    tx: mpsc::UnboundedSender<Live>,
    backlog: Arc<Backlog>,
}

/// A new backlog: the hub's sender, the connection's receiver.
pub fn channel() -> (Sender, mpsc::UnboundedReceiver<Live>, Arc<Backlog>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let backlog = Arc::new(Backlog::default());
    (
        Sender {
            tx,
            backlog: backlog.clone(),
        },
        rx,
        backlog,
    )
}

impl Sender {
    /// Queues `live` if it fits; false if it was not queued. A durable frame
    /// that does not fit marks the overflow (the connection re-reads the
    /// mailbox), and so does every durable frame after it until then, so
    /// none overtakes one that waits in the database.
    pub fn offer(&self, live: &Live) -> bool {
        let b = &self.backlog;
        if live.key().is_some() && b.overflowed.load(Ordering::Acquire) {
            return false;
        }
        if !b.try_hold(live.cost()) {
            if live.key().is_some() {
                metrics::counter!("parley_ws_backlog_overflows_total").increment(1);
                b.overflowed.store(true, Ordering::Release);
                b.wake.notify_one();
            }
            return false;
        }
        if self.tx.send(live.clone()).is_err() {
            b.release(live);
            return false;
        }
        true
    }

    /// Asks the connection to re-read its mailbox: an envelope was committed
    /// on another relay node, or wake-ups from other nodes may have been
    /// missed. Marked as an overflow, so it takes the same ordered path.
    pub fn reread(&self) {
        self.backlog.overflowed.store(true, Ordering::Release);
        self.backlog.wake.notify_one();
    }

    /// Whether the connection's task is gone.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

/// Durable envelopes already sent on a connection (bounded, oldest
/// forgotten first), so a live copy and a stored copy go out only once.
#[derive(Debug, Default)]
pub struct Recent {
    set: HashSet<Key>,
    order: VecDeque<Key>,
}

impl Recent {
    /// Records `key`; false if it was sent already.
    pub fn first_time(&mut self, key: Key) -> bool {
        if !self.set.insert(key) {
            return false;
        }
        self.order.push_back(key);
        if self.order.len() > RECENT
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deliver(n: u8, size: usize) -> Live {
        Live::encode(&ServerFrame::Deliver {
            from: DeviceId::new([1; 32]),
            id: [n; 16],
            sent_at: parley_shared::time::UnixMs::EPOCH,
            ephemeral: false,
            payload: vec![0; size],
        })
    }

    #[test]
    fn a_full_backlog_overflows_and_keeps_later_durable_frames_out() {
        let (tx, mut rx, backlog) = channel();
        let big = deliver(1, MAX_BACKLOG_BYTES / 2);
        assert!(tx.offer(&big));
        assert!(
            !tx.offer(&deliver(2, MAX_BACKLOG_BYTES / 2)),
            "over the bound"
        );
        assert!(backlog.take_overflow());
        backlog.overflowed.store(true, Ordering::Release);
        // Room again after a release, but still overflowed: not queued.
        let first = rx.try_recv().unwrap();
        backlog.release(&first);
        assert!(!tx.offer(&deliver(3, 10)));
        assert!(backlog.take_overflow());
        assert!(tx.offer(&deliver(4, 10)));
    }

    #[test]
    fn recent_skips_a_second_copy_and_forgets_the_oldest() {
        let mut r = Recent::default();
        assert!(r.first_time((DeviceId::new([1; 32]), [1; 16])));
        assert!(!r.first_time((DeviceId::new([1; 32]), [1; 16])));
        for i in 0..RECENT as u32 {
            let mut id = [0u8; 16];
            id[..4].copy_from_slice(&i.to_be_bytes());
            id[15] = 9;
            r.first_time((DeviceId::new([2; 32]), id));
        }
        assert!(
            r.first_time((DeviceId::new([1; 32]), [1; 16])),
            "forgotten after RECENT"
        );
    }
}
