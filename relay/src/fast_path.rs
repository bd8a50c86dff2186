//! The live fast path (ADR 0028): an envelope for a recipient connected to
//! this node, which shows its presence to the sender (so the sender learns
//! nothing from how soon it is accepted), is delivered at once, and if the recipient acks it within a
//! short window the sender gets `Accepted` without the envelope ever being
//! written. The recipient has stored it, which is what "durable" means for
//! an acked delivery. One not acked in time is committed first, as every
//! envelope was before, and only then accepted.
//!
//! This table is where the two connections meet: the sender's task waits on
//! a slot, the recipient's `Ack` fills it. A slot lives only while its
//! sender's task waits or commits, so the table holds at most one slot per
//! sending connection (a connection's sends are handled one at a time).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use parley_shared::protocol::ws::{DeviceId, EnvelopeId};
use tokio::sync::oneshot;

/// How long a recipient that missed the window is not offered the fast
/// path again: a device that acks slowly (or never, like an old client)
/// would otherwise cost each of its senders the window on every envelope.
const SLOW_FOR: Duration = Duration::from_secs(10);
/// Slow marks kept before expired ones are swept.
const SLOW_SWEEP_AT: usize = 4096;

/// One envelope: recipient, sender, id.
pub type Key = (DeviceId, DeviceId, EnvelopeId);

#[derive(Debug)]
enum Slot {
    /// Delivered live; the sender waits for the recipient's ack.
    Waiting(oneshot::Sender<()>),
    /// The window passed and the sender commits it; `acked` if the ack came
    /// meanwhile (the sender applies it once the row exists).
    Committing { acked: bool },
}

#[derive(Debug, Default)]
struct State {
    slots: HashMap<Key, Slot>,
    slow: HashMap<DeviceId, Instant>,
}

impl State {
    /// Whether `recipient` missed the window lately (an expired mark goes).
    fn missed_lately(&mut self, recipient: &DeviceId) -> bool {
        match self.slow.get(recipient) {
            Some(until) if Instant::now() < *until => true,
            Some(_) => {
                self.slow.remove(recipient);
                false
            }
            None => false,
        }
    }
}

/// Envelopes delivered live and not yet acked or committed.
#[derive(Debug)]
pub struct FastPath {
    window: Option<Duration>,
    state: Mutex<State>,
}

impl FastPath {
    /// `window`: how long a live delivery may wait for its ack; `None`
    /// turns the fast path off (every envelope is committed first).
    pub fn new(window: Option<Duration>) -> Self {
        Self {
            window,
            state: Mutex::new(State::default()),
        }
    }

    /// Whether an envelope for `recipient` may be offered the fast path:
    /// it is on, and the recipient did not miss the window lately.
    pub fn offered(&self, recipient: &DeviceId) -> bool {
        self.window.is_some() && !self.lock().missed_lately(recipient)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No code path panics while holding it; a poisoned table is still
        // consistent (every change is one map operation).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Opens a slot for `key`, or `None` when the fast path is not for this
    /// envelope: it is off, the recipient missed the window lately, or the
    /// same envelope is already waiting (a resend racing its first copy).
    pub fn begin(&self, key: Key) -> Option<Pending<'_>> {
        let window = self.window?;
        let mut st = self.lock();
        if st.missed_lately(&key.0) {
            return None;
        }
        let (tx, rx) = oneshot::channel();
        match st.slots.entry(key) {
            Entry::Occupied(_) => return None,
            Entry::Vacant(v) => {
                v.insert(Slot::Waiting(tx));
            }
        }
        Some(Pending {
            fast: self,
            key,
            rx,
            window,
        })
    }

    /// The recipient acked `key`. `true` if the fast path took the ack: the
    /// sender was waiting (nothing is written at all), or is committing the
    /// envelope and deletes it right after. `false`: the ack is for a stored
    /// envelope and goes to the database.
    pub fn ack(&self, key: &Key) -> bool {
        let mut st = self.lock();
        let Entry::Occupied(mut slot) = st.slots.entry(*key) else {
            return false;
        };
        if let Slot::Committing { acked } = slot.get_mut() {
            *acked = true;
        } else if let Slot::Waiting(tx) = slot.remove() {
            // The sender may have stopped waiting (its connection went):
            // then nothing was accepted, and a resend comes again.
            let _ = tx.send(());
        }
        true
    }

    /// Envelopes waiting or committing now.
    #[cfg(test)]
    fn in_flight(&self) -> usize {
        self.lock().slots.len()
    }

    fn mark_slow(st: &mut State, recipient: DeviceId) {
        let now = Instant::now();
        if st.slow.len() >= SLOW_SWEEP_AT {
            st.slow.retain(|_, until| *until > now);
        }
        st.slow.insert(recipient, now + SLOW_FOR);
    }
}

/// A live delivery waiting for its ack; dropping it (the sender's
/// connection went) forgets the slot.
#[derive(Debug)]
pub struct Pending<'a> {
    fast: &'a FastPath,
    key: Key,
    rx: oneshot::Receiver<()>,
    window: Duration,
}

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    /// The recipient acked in time: accept without writing.
    Acked,
    /// The window passed: commit, then call [`Pending::committed`].
    Commit,
}

impl Pending<'_> {
    /// Waits up to the window for the recipient's ack.
    pub async fn wait(&mut self) -> Waited {
        if tokio::time::timeout(self.window, &mut self.rx).await == Ok(Ok(())) {
            return Waited::Acked;
        }
        let mut st = self.fast.lock();
        match st.slots.get_mut(&self.key) {
            Some(slot @ Slot::Waiting(_)) => {
                *slot = Slot::Committing { acked: false };
                FastPath::mark_slow(&mut st, self.key.0);
                Waited::Commit
            }
            // The ack took the slot between the timeout and this lock.
            None => Waited::Acked,
            Some(Slot::Committing { .. }) => Waited::Commit,
        }
    }

    /// The commit returned: forgets the slot; `true` if the recipient acked
    /// while it ran (the caller deletes the row it just wrote).
    pub fn committed(self) -> bool {
        let acked = matches!(
            self.fast.lock().slots.remove(&self.key),
            Some(Slot::Committing { acked: true })
        );
        // `Drop` finds nothing left to remove.
        acked
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.fast.lock().slots.remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> Key {
        (DeviceId::new([1; 32]), DeviceId::new([2; 32]), [n; 16])
    }

    #[tokio::test]
    async fn an_ack_in_time_is_taken_and_leaves_nothing() {
        let fast = FastPath::new(Some(Duration::from_secs(5)));
        let mut p = fast.begin(key(1)).unwrap();
        assert!(fast.begin(key(1)).is_none(), "one slot per envelope");
        assert!(fast.ack(&key(1)));
        assert_eq!(p.wait().await, Waited::Acked);
        drop(p);
        assert_eq!(fast.in_flight(), 0);
        assert!(!fast.ack(&key(1)), "a second ack goes to the database");
    }

    #[tokio::test]
    async fn a_late_ack_is_kept_for_after_the_commit_and_the_recipient_is_slow() {
        let fast = FastPath::new(Some(Duration::from_millis(10)));
        let mut p = fast.begin(key(1)).unwrap();
        assert_eq!(p.wait().await, Waited::Commit);
        assert!(fast.ack(&key(1)), "taken while the commit runs");
        assert!(p.committed(), "the sender deletes the row");
        assert_eq!(fast.in_flight(), 0);
        assert!(fast.begin(key(2)).is_none(), "a slow recipient is skipped");
    }

    #[tokio::test]
    async fn off_and_dropped_slots_leave_nothing() {
        assert!(FastPath::new(None).begin(key(1)).is_none());
        let fast = FastPath::new(Some(Duration::from_secs(5)));
        drop(fast.begin(key(1)).unwrap());
        assert_eq!(fast.in_flight(), 0);
        assert!(!fast.ack(&key(1)));
    }
}
