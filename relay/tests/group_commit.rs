//! The mailbox's group commit on both databases: acknowledgements are
//! writes of the same batch as the envelopes being stored (one transaction,
//! one fsync), applied in order, and scoped to the acknowledging device.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use parley_relay::db::{
    Ack, Enqueued, NewEnvelope, Outcome, QueueLimits, Store, StoredEnvelope, Write,
};

use common::backends::store_tests;

const LIMITS: QueueLimits = QueueLimits {
    per_recipient: 100,
    per_sender: 100,
};
const NOW: i64 = 1_000;
const LATER: i64 = i64::MAX / 2;

fn dev(n: u8) -> [u8; 32] {
    [n; 32]
}

fn envelope(from: u8, to: u8, id: u8) -> Write {
    Write::One(NewEnvelope {
        sender: dev(from),
        recipient: dev(to),
        id: [id; 16],
        payload: vec![id; 8],
        now: NOW,
        expires_at: LATER,
    })
}

fn ack(by: u8, from: u8, id: u8) -> Write {
    Write::Ack(Ack {
        recipient: dev(by),
        sender: dev(from),
        id: [id; 16],
        tombstone_until: LATER,
    })
}

fn ids(pending: &[StoredEnvelope]) -> Vec<u8> {
    pending.iter().map(|e| e.envelope_id[0]).collect()
}

/// One batch stores new envelopes and deletes acknowledged ones; another
/// device's ack of the same envelope deletes nothing, and an acknowledged
/// id resent later is a duplicate (its tombstone came with the ack).
fn acks_share_the_batch_with_sends(store: &Store) {
    for d in [1, 2, 3] {
        store.upsert_device(&dev(d), NOW).unwrap();
    }
    let first = store
        .enqueue_batch(&[envelope(1, 2, 10), envelope(1, 2, 11)], LIMITS)
        .unwrap();
    assert_eq!(first, vec![Outcome::One(Enqueued::Stored); 2]);

    let mixed = store
        .enqueue_batch(
            &[
                ack(2, 1, 10),
                envelope(1, 2, 12),
                // Device 3 was not the recipient: the attack changes nothing.
                ack(3, 1, 11),
                // The same ack twice in one batch deletes once.
                ack(2, 1, 10),
            ],
            LIMITS,
        )
        .unwrap();
    assert_eq!(
        mixed,
        vec![
            Outcome::Ack(true),
            Outcome::One(Enqueued::Stored),
            Outcome::Ack(false),
            Outcome::Ack(false),
        ]
    );
    assert_eq!(ids(&store.pending(&dev(2), 0, 10).unwrap()), vec![11, 12]);

    // The acknowledged envelope cannot be stored again.
    let resent = store.enqueue_batch(&[envelope(1, 2, 10)], LIMITS).unwrap();
    assert_eq!(resent, vec![Outcome::One(Enqueued::Duplicate)]);
    assert_eq!(ids(&store.pending(&dev(2), 0, 10).unwrap()), vec![11, 12]);
}

/// An ack for an envelope stored earlier in the same batch applies after it
/// (writes run in order).
fn writes_apply_in_batch_order(store: &Store) {
    for d in [1, 2] {
        store.upsert_device(&dev(d), NOW).unwrap();
    }
    let out = store
        .enqueue_batch(&[envelope(1, 2, 20), ack(2, 1, 20)], LIMITS)
        .unwrap();
    assert_eq!(
        out,
        vec![Outcome::One(Enqueued::Stored), Outcome::Ack(true)]
    );
    assert!(store.pending(&dev(2), 0, 10).unwrap().is_empty());
}

store_tests! {
    acks_share_the_batch_with_sends,
    writes_apply_in_batch_order,
}
