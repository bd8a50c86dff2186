//! The mailbox's group commit on both databases: acknowledgements are
//! writes of the same batch as the envelopes being stored (one transaction,
//! one fsync), applied before the batch's sends, and scoped to the
//! acknowledging device; a
//! run of sends is stored with a few statements for all of them, with the
//! outcome of each one the same as storing them one by one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use parley_relay::db::{
    Ack, Enqueued, Fanned, NewEnvelope, NewFanout, Outcome, QueueLimits, Store, StoredEnvelope,
    Write,
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

/// A batch's acks apply before its sends: they free queue space for them,
/// and a resend of an id acknowledged in the same batch is a duplicate.
fn acks_apply_before_the_sends_of_their_batch(store: &Store) {
    for d in [1, 2] {
        store.upsert_device(&dev(d), NOW).unwrap();
    }
    let one = QueueLimits {
        per_recipient: 1,
        per_sender: 1,
    };
    store.enqueue_batch(&[envelope(1, 2, 21)], one).unwrap();
    // The queue (one envelope) is full, but the ack in the batch frees it.
    let out = store
        .enqueue_batch(&[envelope(1, 2, 22), ack(2, 1, 21)], one)
        .unwrap();
    assert_eq!(
        out,
        vec![Outcome::One(Enqueued::Stored), Outcome::Ack(true)]
    );
    assert_eq!(ids(&store.pending(&dev(2), 0, 10).unwrap()), vec![22]);
    // The sender resends 22 while the recipient acknowledges it.
    let out = store
        .enqueue_batch(&[envelope(1, 2, 22), ack(2, 1, 22)], one)
        .unwrap();
    assert_eq!(
        out,
        vec![Outcome::One(Enqueued::Duplicate), Outcome::Ack(true)]
    );
    assert!(store.pending(&dev(2), 0, 10).unwrap().is_empty());
    // An ack can only name an envelope stored before its batch.
    let out = store
        .enqueue_batch(&[envelope(1, 2, 23), ack(2, 1, 23)], one)
        .unwrap();
    assert_eq!(
        out,
        vec![Outcome::One(Enqueued::Stored), Outcome::Ack(false)]
    );
    assert_eq!(ids(&store.pending(&dev(2), 0, 10).unwrap()), vec![23]);
}

/// Within one run: a repeated id is a duplicate of the first, queue and
/// per-sender limits count the run's own envelopes, unknown devices are
/// refused, and what is stored keeps the run's order.
fn a_run_of_sends_keeps_one_by_one_outcomes(store: &Store) {
    for d in [1, 2, 3, 4, 5] {
        store.upsert_device(&dev(d), NOW).unwrap();
    }
    let limits = QueueLimits {
        per_recipient: 4,
        per_sender: 3,
    };
    // One already waits for 2 from 1, and id 31 was acknowledged by 3.
    store
        .enqueue_batch(
            &[envelope(1, 2, 30), envelope(1, 3, 31), ack(3, 1, 31)],
            limits,
        )
        .unwrap();
    let out = store
        .enqueue_batch(
            &[
                envelope(1, 2, 40),
                envelope(1, 2, 40), // repeated in the run
                envelope(1, 2, 31), // acknowledged before
                envelope(1, 2, 30), // stored before
                envelope(1, 2, 41), // 1's third for 2: its share
                envelope(1, 2, 42), // a fourth from 1: over its share
                envelope(4, 2, 43), // 2's fourth: the queue is full after it
                envelope(3, 2, 44),
                envelope(4, 9, 45), // no such recipient
                envelope(9, 2, 46), // no such sender
                envelope(5, 4, 47),
            ],
            limits,
        )
        .unwrap();
    use Enqueued::*;
    let want = [
        Stored,
        Duplicate,
        Duplicate,
        Duplicate,
        Stored,
        SenderQuotaFull,
        Stored,
        QueueFull,
        UnknownRecipient,
        UnknownSender,
        Stored,
    ];
    assert_eq!(out, want.map(Outcome::One).to_vec());
    assert_eq!(
        ids(&store.pending(&dev(2), 0, 10).unwrap()),
        vec![30, 40, 41, 43]
    );
    assert_eq!(ids(&store.pending(&dev(4), 0, 10).unwrap()), vec![47]);
    // A second batch sees the first's rows: 2's queue is still full.
    let again = store.enqueue_batch(&[envelope(3, 2, 48)], limits).unwrap();
    assert_eq!(again, vec![Outcome::One(QueueFull)]);
}

/// A large run (more rows than one insert statement takes) is stored whole
/// and in order.
fn a_long_run_is_stored_in_order(store: &Store) {
    for d in [1, 2] {
        store.upsert_device(&dev(d), NOW).unwrap();
    }
    let run: Vec<Write> = (0..1_200u32)
        .map(|n| {
            let mut id = [0u8; 16];
            id[..4].copy_from_slice(&n.to_be_bytes());
            Write::One(NewEnvelope {
                sender: dev(1),
                recipient: dev(2),
                id,
                payload: n.to_be_bytes().to_vec(),
                now: NOW,
                expires_at: LATER,
            })
        })
        .collect();
    let out = store.enqueue_batch(&run, LIMITS_LARGE).unwrap();
    assert!(out.iter().all(|o| *o == Outcome::One(Enqueued::Stored)));
    let got = store.pending(&dev(2), 0, 2_000).unwrap();
    let order: Vec<u32> = got
        .iter()
        .map(|e| u32::from_be_bytes(e.payload[..4].try_into().unwrap()))
        .collect();
    assert_eq!(order, (0..1_200).collect::<Vec<_>>());
}

/// A batch of acks has the outcomes of applying them one by one: 1,200 in
/// one batch, a fan-out's recipients acknowledging the same `(sender, id)`
/// in one batch (one tombstone, the shared payload gone), and an id another
/// sender also used left alone.
fn a_batch_of_acks_keeps_one_by_one_outcomes(store: &Store) {
    for d in [1, 2, 3, 4] {
        store.upsert_device(&dev(d), NOW).unwrap();
    }
    let keys: Vec<[u8; 16]> = (0..1_200u32)
        .map(|n| {
            let mut id = [0u8; 16];
            id[..4].copy_from_slice(&n.to_be_bytes());
            id
        })
        .collect();
    let sends: Vec<Write> = keys
        .iter()
        .map(|id| {
            Write::One(NewEnvelope {
                sender: dev(1),
                recipient: dev(2),
                id: *id,
                payload: vec![1; 8],
                now: NOW,
                expires_at: LATER,
            })
        })
        .collect();
    store.enqueue_batch(&sends, LIMITS_LARGE).unwrap();
    let acks: Vec<Write> = keys
        .iter()
        .map(|id| {
            Write::Ack(Ack {
                recipient: dev(2),
                sender: dev(1),
                id: *id,
                tombstone_until: LATER,
            })
        })
        .collect();
    let out = store.enqueue_batch(&acks, LIMITS_LARGE).unwrap();
    assert!(out.iter().all(|o| *o == Outcome::Ack(true)));
    assert!(store.pending(&dev(2), 0, 10).unwrap().is_empty());
    assert_eq!(
        store.enqueue_batch(&sends[1_199..], LIMITS_LARGE).unwrap(),
        vec![Outcome::One(Enqueued::Duplicate)]
    );

    let many = Write::Many(NewFanout {
        sender: dev(1),
        recipients: vec![dev(2), dev(3)],
        id: [50; 16],
        payload: vec![5; 8],
        now: NOW,
        expires_at: LATER,
    });
    assert_eq!(
        store
            .enqueue_batch(std::slice::from_ref(&many), LIMITS)
            .unwrap(),
        vec![Outcome::Many(Fanned::Stored)]
    );
    // Device 4 shares the id 60 with device 1; only device 1's is acked.
    store
        .enqueue_batch(&[envelope(1, 2, 60), envelope(4, 2, 60)], LIMITS)
        .unwrap();
    let out = store
        .enqueue_batch(&[ack(2, 1, 50), ack(3, 1, 50), ack(2, 1, 60)], LIMITS)
        .unwrap();
    assert_eq!(out, vec![Outcome::Ack(true); 3]);
    assert_eq!(store.shared_payload_rows().unwrap(), 0);
    assert_eq!(store.envelope_rows_with_id(&dev(1), &[50; 16]).unwrap(), 0);
    let left = store.pending(&dev(2), 0, 10).unwrap();
    assert_eq!(ids(&left), vec![60]);
    assert_eq!(left[0].sender, dev(4).to_vec());
    assert_eq!(
        store.enqueue_batch(&[many], LIMITS).unwrap(),
        vec![Outcome::Many(Fanned::Duplicate)]
    );
}

/// After a sender's envelope is refused for a moment, its later ones in the
/// same batch are held, whoever they are for (a connection's chain of sends,
/// ADR 0037): none is stored ahead of the refused one's resend. Other
/// senders are not held, and the hold ends with the batch.
fn a_refusal_holds_the_senders_later_envelopes_in_the_run(store: &Store) {
    for d in [1, 2, 3, 4] {
        store.upsert_device(&dev(d), NOW).unwrap();
    }
    let limits = QueueLimits {
        per_recipient: 10,
        per_sender: 1,
    };
    let out = store
        .enqueue_batch(
            &[
                envelope(1, 2, 50),
                envelope(1, 2, 51), // over 1's share of 2's queue
                envelope(1, 3, 52), // room for it, but behind 51
                envelope(1, 2, 50), // even a duplicate waits
                envelope(4, 3, 53), // another sender
            ],
            limits,
        )
        .unwrap();
    use Enqueued::*;
    assert_eq!(
        out,
        [Stored, SenderQuotaFull, Held, Held, Stored].map(Outcome::One)
    );
    assert_eq!(ids(&store.pending(&dev(3), 0, 10).unwrap()), vec![53]);
    assert_eq!(store.envelope_rows_with_id(&dev(1), &[52; 16]).unwrap(), 0);
    // The next batch starts without the hold.
    let again = store.enqueue_batch(&[envelope(1, 3, 52)], limits).unwrap();
    assert_eq!(again, vec![Outcome::One(Stored)]);
}

const LIMITS_LARGE: QueueLimits = QueueLimits {
    per_recipient: 10_000,
    per_sender: 10_000,
};

store_tests! {
    acks_share_the_batch_with_sends,
    acks_apply_before_the_sends_of_their_batch,
    a_run_of_sends_keeps_one_by_one_outcomes,
    a_long_run_is_stored_in_order,
    a_batch_of_acks_keeps_one_by_one_outcomes,
    a_refusal_holds_the_senders_later_envelopes_in_the_run,
}
