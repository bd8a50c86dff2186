//! Which account list a device is in, remembered by a single relay process
//! (ADR 0030), so the mismatched-devices check of every `Send` (ADR 0017)
//! needs no database read and no hop to the blocking pool.
//!
//! Only a process that is the database's only writer may use it: every write
//! that can change a membership goes through this process's [`super::Store`],
//! which calls [`MembershipCache::invalidate`] after committing. With several
//! nodes (Redis) the relay does not enable it.
//!
//! Exactness: a reader notes the epoch before it reads the database and
//! keeps the result only if no invalidation happened meanwhile (both under
//! the write lock), so a value read before a write committed is never kept
//! after it. A hit is then as current as a read made just before the write.

use std::collections::HashMap;
use std::sync::RwLock;

use super::Membership;

/// Entries kept before the cache starts over (~100 bytes each).
const CAPACITY: usize = 200_000;

#[derive(Default)]
struct Entries {
    /// Bumped by every invalidation.
    epoch: u64,
    /// Registered device → where it stands (unlisted ones too: registration
    /// and list writes invalidate those as well).
    known: HashMap<[u8; 32], Membership>,
}

/// The cache; shared by the clones of one `Store`.
#[derive(Default)]
pub(crate) struct MembershipCache {
    entries: RwLock<Entries>,
}

impl MembershipCache {
    /// The device's membership if remembered.
    pub(crate) fn get(&self, device: &[u8; 32]) -> Option<Membership> {
        let entries = self
            .entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.known.get(device).copied()
    }

    /// The epoch to pass to [`Self::put`]: take it before reading the database.
    pub(crate) fn epoch(&self) -> u64 {
        self.entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .epoch
    }

    /// Remembers what the database said at `epoch`, unless something was
    /// invalidated since.
    pub(crate) fn put(&self, device: [u8; 32], membership: Membership, epoch: u64) {
        // Unknown devices are not kept: a send to one is refused by the
        // commit anyway, and made-up ids would only fill the cache.
        if membership == Membership::Unknown {
            return;
        }
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.epoch != epoch {
            return;
        }
        if entries.known.len() >= CAPACITY {
            entries.known.clear();
        }
        entries.known.insert(device, membership);
    }

    /// Forgets everything: call after committing any write that can change
    /// which list a device is in or a list's counter.
    pub(crate) fn invalidate(&self) {
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.epoch += 1;
        entries.known.clear();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const D: [u8; 32] = [1; 32];
    const LISTED: Membership = Membership::Listed {
        account: [2; 32],
        counter: 7,
    };

    #[test]
    fn a_read_from_before_an_invalidation_is_not_kept() {
        let cache = MembershipCache::default();
        let seen = cache.epoch();
        // A list was stored while the read was under way.
        cache.invalidate();
        cache.put(D, LISTED, seen);
        assert_eq!(cache.get(&D), None);
        let seen = cache.epoch();
        cache.put(D, LISTED, seen);
        assert_eq!(cache.get(&D), Some(LISTED));
        cache.invalidate();
        assert_eq!(cache.get(&D), None);
        cache.put(D, Membership::Unknown, cache.epoch());
        assert_eq!(cache.get(&D), None, "made-up ids are not kept");
    }
}
