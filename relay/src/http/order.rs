//! Per-connection order keeping for durable sends.
//!
//! After a transient refusal of envelope k (rate limit, full queue, database
//! unavailable), the sends the client pipelined behind k are refused too,
//! until k comes again: otherwise the resend of k would be committed after
//! envelopes sent later, and the recipient would see them out of order.

use std::time::{Duration, Instant};

use parley_shared::protocol::ws::EnvelopeId;

/// How long later sends are held back waiting for the refused envelope (a
/// client that gave it up must not be blocked for ever).
const HOLD: Duration = Duration::from_secs(30);

/// The first envelope refused for a moment on this connection, if any.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Order {
    refused: Option<(EnvelopeId, Instant)>,
}

impl Order {
    /// Whether `id` must wait for the earlier refused envelope; the refused
    /// one itself, sent again, lifts the hold.
    pub(super) fn must_wait(&mut self, id: &EnvelopeId) -> bool {
        match self.refused {
            Some((k, _)) if &k == id => {
                self.refused = None;
                false
            }
            Some((_, at)) if at.elapsed() < HOLD => true,
            _ => {
                self.refused = None;
                false
            }
        }
    }

    /// `id` was refused for a moment: hold what comes after it.
    pub(super) fn refuse(&mut self, id: EnvelopeId) {
        if self.refused.is_none() {
            self.refused = Some((id, Instant::now()));
        }
    }

    /// Runs `settle` on a chain of sends admitted before a refusal `self`
    /// may hold already: a refusal `settle` makes is of an earlier
    /// envelope, so it is the one the client must resend first.
    pub(super) fn earlier<T>(&mut self, settle: impl FnOnce(&mut Self) -> T) -> T {
        let later = self.refused.take();
        let out = settle(self);
        if self.refused.is_none() {
            self.refused = later;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_later_sends_until_the_refused_one_comes_again() {
        let mut o = Order::default();
        assert!(!o.must_wait(&[1; 16]));
        o.refuse([2; 16]);
        o.refuse([3; 16]);
        assert!(
            o.must_wait(&[3; 16]),
            "the first refusal is the one awaited"
        );
        assert!(o.must_wait(&[4; 16]));
        assert!(!o.must_wait(&[2; 16]));
        assert!(!o.must_wait(&[3; 16]));
    }

    #[test]
    fn a_refusal_in_an_earlier_chain_is_the_one_awaited() {
        let mut o = Order::default();
        o.refuse([5; 16]);
        o.earlier(|o| o.refuse([4; 16]));
        assert!(o.must_wait(&[5; 16]), "4 came first");
        assert!(!o.must_wait(&[4; 16]));
        let mut o = Order::default();
        o.refuse([5; 16]);
        o.earlier(|_| ());
        assert!(o.must_wait(&[6; 16]), "5 is still awaited");
        assert!(!o.must_wait(&[5; 16]));
    }
}
