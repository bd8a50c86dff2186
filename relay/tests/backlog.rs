//! Slow and stalled readers against the real relay: a recipient that stops
//! reading must neither lose envelopes nor see them out of order, and must
//! not be able to make the relay hold unbounded memory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::api::{Api, Ws};
use common::relay::{Relay, RelayBuilder};
use common::{number_of as index, numbered_id as id_of};
use parley_shared::protocol::ws::{ClientFrame, DeviceId, ServerFrame};

/// Durable envelope number `i` for `to`: `size` bytes of `i`.
fn numbered(i: u16, to: DeviceId, size: usize) -> ClientFrame {
    ClientFrame::Send {
        id: id_of(i),
        to,
        ephemeral: false,
        payload: vec![i as u8; size],
        list: None,
    }
}

/// Sends `n` envelopes of `size` bytes pipelined and waits for every
/// `Accepted` (the device limit is raised for these tests).
async fn flood(a: &mut Ws, to: DeviceId, n: u16, size: usize) {
    for i in 0..n {
        a.send(&numbered(i, to, size)).await;
    }
    for _ in 0..n {
        match a.recv().await {
            ServerFrame::Accepted { .. } => {}
            other => panic!("{other:?}"),
        }
    }
}

fn rss_kib(relay: &Relay) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", relay.child.id())).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Bob stops reading while Alice sends 3,000 × 8 KiB, all accepted. When he
/// reads again he gets every one, once, in send order, on the same
/// connection. Before the fix, about half were dropped from the live path
/// and arrived only after a reconnect, out of order.
async fn slow_reader_gets_every_accepted_envelope_in_order_without_reconnecting(
    builder: RelayBuilder,
    _pg: Option<String>,
) {
    const N: u16 = 3_000;
    let relay = builder
        .env("PARLEY_RATE_LIMIT_DEVICE_PER_SEC", "100000")
        .env("PARLEY_MAX_QUEUE_PER_SENDER", "10000")
        .start()
        .await;
    let api = Api::new(&relay);
    let (alice, bob) = (api.register(0).await, api.register(0).await);
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    let (mut b, _) = Ws::connect(&relay.base, &bob.token).await;
    flood(&mut a, bob.identity.device_id(), N, 8 * 1024).await;
    let mut got = Vec::with_capacity(usize::from(N));
    while got.len() < usize::from(N) {
        match b.recv().await {
            ServerFrame::Deliver { id, .. } => got.push(index(&id)),
            other => panic!("{other:?}"),
        }
    }
    let expected: Vec<u16> = (0..N).collect();
    let first_wrong = got.iter().zip(&expected).position(|(x, y)| x != y);
    assert_eq!(first_wrong, None, "out of order or duplicated");
    assert!(b.silent_for(500).await, "nothing twice");
    assert!(
        relay.metric("parley_ws_mailbox_rereads_total").await >= 1.0,
        "the backlog overflowed and was caught up from the mailbox"
    );
}

/// Bob opens five connections and never reads while Alice sends 200 × 256
/// KiB; meanwhile Carol and Dave keep talking. The relay's memory grows by
/// far less than the flood (each frame is shared, each backlog bounded).
#[tokio::test]
async fn flooding_a_device_that_never_reads_keeps_relay_memory_bounded() {
    let relay = RelayBuilder::new()
        .env("PARLEY_RATE_LIMIT_DEVICE_PER_SEC", "100000")
        .start()
        .await;
    let api = Api::new(&relay);
    let (alice, bob) = (api.register(0).await, api.register(0).await);
    let (carol, dave) = (api.register(0).await, api.register(0).await);
    let mut stalled = Vec::new();
    for _ in 0..5 {
        stalled.push(Ws::connect(&relay.base, &bob.token).await.0);
    }
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    let (mut c, _) = Ws::connect(&relay.base, &carol.token).await;
    let (mut d, _) = Ws::connect(&relay.base, &dave.token).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = rss_kib(&relay);
    flood(&mut a, bob.identity.device_id(), 200, 256 * 1024).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib(&relay);
    let grown_mib = after.saturating_sub(before) / 1024;
    // 50 MiB sent; five unbounded copies would be 250 MiB.
    assert!(grown_mib < 48, "relay grew by {grown_mib} MiB");
    // Others are still served promptly.
    c.send(&ClientFrame::Send {
        id: [7; 16],
        to: dave.identity.device_id(),
        ephemeral: false,
        payload: b"still here".to_vec(),
        list: None,
    })
    .await;
    assert_eq!(c.recv().await, ServerFrame::Accepted { id: [7; 16] });
    assert!(matches!(
        d.recv().await,
        ServerFrame::Deliver { id: [7, ..], .. }
    ));
    drop(stalled);
}

/// Bob stops reading under a flood while Carol reads hers slowly, for
/// longer than the write-stall limit in all. The relay gives up Bob's
/// socket once he has taken nothing for the limit (`PARLEY_WS_WRITE_STALL_SECS`,
/// 2 s here), and only his; every envelope he never acknowledged then
/// arrives once, in order, on his next connection. Without the limit his
/// socket and its pending bytes stay as long as he likes (seen: the test
/// fails). The writer's unit tests cover a reader whose bytes stay pending
/// all along.
#[tokio::test]
async fn a_client_that_stops_reading_is_let_go_and_loses_nothing() {
    const N: u16 = 60;
    const SIZE: usize = 256 * 1024;
    let relay = RelayBuilder::new()
        .env("PARLEY_RATE_LIMIT_DEVICE_PER_SEC", "100000")
        .env("PARLEY_WS_WRITE_STALL_SECS", "2")
        .start()
        .await;
    let api = Api::new(&relay);
    let [alice, bob, carol] = api.devices().await;
    let (stopped, _) = Ws::connect(&relay.base, &bob.token).await;
    let (mut c, _) = Ws::connect(&relay.base, &carol.token).await;
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    let (to_bob, to_carol) = (bob.identity.device_id(), carol.identity.device_id());
    let send = async {
        for i in 0..N {
            a.send(&numbered(i, to_bob, SIZE)).await;
            a.send(&numbered(1000 + i, to_carol, SIZE)).await;
        }
        for _ in 0..2 * N {
            assert!(matches!(a.recv().await, ServerFrame::Accepted { .. }));
        }
    };
    // 15 MiB at one frame per 75 ms: about 4.5 s, over twice the limit.
    let read_slowly = async {
        let mut got = Vec::new();
        while got.len() < usize::from(N) {
            tokio::time::sleep(Duration::from_millis(75)).await;
            match c.recv().await {
                ServerFrame::Deliver { id, .. } => got.push(index(&id) - 1000),
                other => panic!("{other:?}"),
            }
        }
        got
    };
    let ((), carol_got) = tokio::join!(send, read_slowly);
    assert_eq!(
        carol_got,
        (0..N).collect::<Vec<_>>(),
        "the slow reader got all, in order"
    );

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while relay.metric("parley_ws_connections").await > 2.0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stopped reader was kept"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        relay.metric("parley_ws_write_stalls_total").await,
        1.0,
        "only Bob's socket stalled"
    );
    assert_eq!(
        relay.metric("parley_ws_connections").await,
        2.0,
        "Alice and Carol stay"
    );
    drop(stopped);

    let (mut b, _) = Ws::connect(&relay.base, &bob.token).await;
    for i in 0..N {
        match b.recv().await {
            ServerFrame::Deliver { id, .. } => assert_eq!(index(&id), i, "in order"),
            other => panic!("{other:?}"),
        }
    }
    assert!(b.silent_for(500).await, "nothing twice");
}

common::backends::relay_tests! {
    slow_reader_gets_every_accepted_envelope_in_order_without_reconnecting,
}
