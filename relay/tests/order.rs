//! Per-sender order when the relay refuses a send for a moment, against the
//! real relay on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::relay::RelayBuilder;

use std::collections::BTreeSet;

use common::api::{Api, Ws};
use common::{number_of as index, numbered_id as id_of};
use parley_shared::protocol::ErrorCode;
use parley_shared::protocol::ws::{ClientFrame, ServerFrame};

/// 1,000 sends pipelined on one connection under a 100/s device limit
/// (half the default, so a relay slowed by a busy machine still hits it);
/// whatever is refused is resent 100 ms later under the same id, in order
/// (as the engine does). The recipient must get them in send order: before
/// the fix, a resend committed after envelopes sent behind it.
async fn pipelined_sends_refused_for_rate_keep_send_order(
    builder: RelayBuilder,
    _pg: Option<String>,
) {
    const N: u16 = 1_000;
    let relay = builder
        .env("PARLEY_RATE_LIMIT_DEVICE_PER_SEC", "100")
        .start()
        .await;
    let api = Api::new(&relay);
    let (alice, bob) = (api.register(0).await, api.register(0).await);
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    let (mut b, _) = Ws::connect(&relay.base, &bob.token).await;
    let to = bob.identity.device_id();
    let mut waiting: BTreeSet<u16> = (0..N).collect();
    let mut rounds = 0;
    while !waiting.is_empty() {
        rounds += 1;
        assert!(rounds < 500, "no progress");
        for &i in &waiting {
            a.send(&ClientFrame::Send {
                id: id_of(i),
                to,
                ephemeral: false,
                payload: i.to_be_bytes().to_vec(),
                list: None,
            })
            .await;
        }
        let mut refused = BTreeSet::new();
        for _ in 0..waiting.len() {
            match a.recv().await {
                ServerFrame::Accepted { .. } => {}
                ServerFrame::Error {
                    code: ErrorCode::RateLimited | ErrorCode::Unavailable,
                    id: Some(id),
                    ..
                } => {
                    refused.insert(index(&id));
                }
                other => panic!("{other:?}"),
            }
        }
        waiting = refused;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        rounds > 1,
        "the limit was never hit: the test tests nothing"
    );
    let mut order = Vec::new();
    while order.len() < usize::from(N) {
        match b.recv().await {
            ServerFrame::Deliver { id, .. } => order.push(index(&id)),
            other => panic!("{other:?}"),
        }
    }
    let expected: Vec<u16> = (0..N).collect();
    let first_wrong = order.iter().zip(&expected).position(|(x, y)| x != y);
    assert_eq!(first_wrong, None, "delivered out of send order");
}

fn send_to(i: u16, to: parley_shared::protocol::ws::DeviceId) -> ClientFrame {
    ClientFrame::Send {
        id: id_of(i),
        to,
        ephemeral: false,
        payload: i.to_be_bytes().to_vec(),
        list: None,
    }
}

/// The answers to `n` sends: accepted and refused (for a moment) ids.
async fn answers(ws: &mut Ws, n: usize) -> (Vec<u16>, Vec<u16>) {
    let (mut accepted, mut refused) = (Vec::new(), Vec::new());
    for _ in 0..n {
        match ws.recv().await {
            ServerFrame::Accepted { id } => accepted.push(index(&id)),
            ServerFrame::Error {
                code: ErrorCode::RateLimited,
                id: Some(id),
                ..
            } => refused.push(index(&id)),
            other => panic!("{other:?}"),
        }
    }
    (accepted, refused)
}

/// Durable sends pipelined on one connection share group commits (ADR
/// 0037): 200 sends take far fewer than 200 transactions (one each when a
/// connection's sends ran strictly one at a time), and still arrive once
/// each, in send order.
async fn pipelined_sends_share_commits(builder: RelayBuilder, _pg: Option<String>) {
    const N: u16 = 200;
    let relay = builder
        .env("PARLEY_FAST_PATH_MS", "0")
        .env("PARLEY_RATE_LIMIT_DEVICE_PER_SEC", "100000")
        .start()
        .await;
    let api = Api::new(&relay);
    let (alice, bob) = (api.register(0).await, api.register(0).await);
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    let to = bob.identity.device_id();
    let before = relay.metric("parley_commit_batch_size_count").await;
    for i in 0..N {
        a.send(&send_to(i, to)).await;
    }
    let (accepted, refused) = answers(&mut a, usize::from(N)).await;
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!(accepted, (0..N).collect::<Vec<_>>(), "answered in order");
    let commits = relay.metric("parley_commit_batch_size_count").await - before;
    assert!(
        commits <= f64::from(N / 4),
        "{commits} transactions for {N} pipelined sends"
    );
    let (mut b, queued) = Ws::connect(&relay.base, &bob.token).await;
    assert_eq!(queued, u32::from(N));
    let mut got = Vec::new();
    while got.len() < usize::from(N) {
        match b.recv().await {
            ServerFrame::Deliver { id, .. } => got.push(index(&id)),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(got, (0..N).collect::<Vec<_>>());
    assert!(b.silent_for(300).await, "each envelope once");
}

/// A refusal for a full queue holds the sender's later sends, whoever they
/// are for, also when they were pipelined into the same commit: Carol's
/// envelope, sent after one Bob's queue had no room for, is not stored
/// until that one was sent again. Resent in order, all arrive in order.
async fn a_full_queue_holds_the_later_sends_of_the_chain(
    builder: RelayBuilder,
    pg: Option<String>,
) {
    let relay = builder
        .env("PARLEY_FAST_PATH_MS", "0")
        .env("PARLEY_MAX_QUEUE_PER_SENDER", "2")
        .start()
        .await;
    let api = Api::new(&relay);
    let [alice, bob, carol] = api.devices::<3>().await;
    let (bob_id, carol_id) = (bob.identity.device_id(), carol.identity.device_id());
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    let plan = [
        (0, bob_id),
        (1, bob_id),
        (2, bob_id),
        (3, carol_id),
        (4, bob_id),
    ];
    for (i, to) in plan {
        a.send(&send_to(i, to)).await;
    }
    let (accepted, mut refused) = answers(&mut a, plan.len()).await;
    refused.sort_unstable();
    assert_eq!(accepted, vec![0, 1]);
    assert_eq!(refused, vec![2, 3, 4]);
    let store = relay.store(&pg);
    let alice_bytes = alice.identity.device_id().to_bytes();
    assert_eq!(
        store
            .envelope_rows_with_id(&alice_bytes, &id_of(3))
            .unwrap(),
        0,
        "Carol's envelope was stored ahead of the refused one"
    );
    // Bob reads and acks; Alice resends from the refused one, in order.
    let (mut b, _) = Ws::connect(&relay.base, &bob.token).await;
    for want in [0, 1] {
        let ServerFrame::Deliver { from, id, .. } = b.recv().await else {
            panic!("expected a delivery");
        };
        assert_eq!(index(&id), want);
        b.send(&ClientFrame::Ack { from, id }).await;
    }
    let bob_bytes = bob_id.to_bytes();
    let mut left = store.envelope_rows_for(&bob_bytes).unwrap();
    for _ in 0..100 {
        if left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        left = store.envelope_rows_for(&bob_bytes).unwrap();
    }
    assert_eq!(left, 0, "Bob's acks were committed");
    for (i, to) in &plan[2..] {
        a.send(&send_to(*i, *to)).await;
    }
    let (accepted, refused) = answers(&mut a, 3).await;
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!(accepted, vec![2, 3, 4]);
    for want in [2, 4] {
        let ServerFrame::Deliver { id, .. } = b.recv().await else {
            panic!("expected a delivery");
        };
        assert_eq!(index(&id), want);
    }
    let (mut c, queued) = Ws::connect(&relay.base, &carol.token).await;
    assert_eq!(queued, 1);
    let ServerFrame::Deliver { id, .. } = c.recv().await else {
        panic!("expected a delivery");
    };
    assert_eq!(index(&id), 3);
}

common::backends::relay_tests! {
    pipelined_sends_refused_for_rate_keep_send_order,
    pipelined_sends_share_commits,
    a_full_queue_holds_the_later_sends_of_the_chain,
}
