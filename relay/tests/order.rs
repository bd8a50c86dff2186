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

common::backends::relay_tests! {
    pipelined_sends_refused_for_rate_keep_send_order,
}
