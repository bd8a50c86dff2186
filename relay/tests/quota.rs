//! Queue quotas against the real relay on SQLite and PostgreSQL: a stranger
//! who knows a device id cannot fill its queue and lock its contacts out.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::relay::RelayBuilder;

use common::api::{Api, Ws};
use parley_shared::protocol::ErrorCode;
use parley_shared::protocol::ws::{ClientFrame, DeviceId, ServerFrame};

fn send(i: u8, to: DeviceId) -> ClientFrame {
    ClientFrame::Send {
        id: [i; 16],
        to,
        ephemeral: false,
        payload: vec![i; 32],
        list: None,
    }
}

/// How many `rate_limited` errors arrive before the connection goes quiet.
async fn rate_limited_answers(ws: &mut Ws) -> usize {
    let mut limited = 0;
    while let Some(f) = ws.try_recv(300).await {
        if matches!(
            f,
            ServerFrame::Error {
                code: ErrorCode::RateLimited,
                ..
            }
        ) {
            limited += 1;
        }
    }
    limited
}

async fn stranger_cannot_fill_a_devices_queue_for_its_contacts(
    builder: RelayBuilder,
    _pg: Option<String>,
) {
    let relay = builder
        .env("PARLEY_MAX_QUEUE", "50")
        .env("PARLEY_MAX_QUEUE_PER_SENDER", "10")
        .start()
        .await;
    let api = Api::new(&relay);
    let [bob, mallory, alice] = api.devices().await;
    let to = bob.identity.device_id();
    let (mut m, _) = Ws::connect(&relay.base, &mallory.token).await;
    let mut accepted = 0;
    for i in 0..60u8 {
        m.send(&send(i, to)).await;
        match m.recv().await {
            ServerFrame::Accepted { .. } => accepted += 1,
            ServerFrame::Error {
                code: ErrorCode::RateLimited,
                id: Some(id),
                ..
            } => {
                // Resend the refused one (the connection waits for it).
                m.send(&send(id[0], to)).await;
                assert!(matches!(m.recv().await, ServerFrame::Error { .. }));
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(accepted, 10, "the stranger's share of Bob's queue");
    // Bob's contact still gets through.
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    a.send(&send(200, to)).await;
    assert_eq!(a.recv().await, ServerFrame::Accepted { id: [200; 16] });
}

/// Attack: a device floods `Presence` frames (each fans out to every
/// watcher) or `Ack` frames (each a database write), which were unmetered.
/// Beyond the budget they are refused and the connection stays usable.
#[tokio::test]
async fn presence_and_ack_frames_count_against_the_device() {
    let relay = RelayBuilder::new()
        .env("PARLEY_RATE_LIMIT_DEVICE_PER_SEC", "20")
        .start()
        .await;
    let api = Api::new(&relay);
    let (alice, bob) = (api.register(0).await, api.register(0).await);
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    for _ in 0..30 {
        a.send(&ClientFrame::Presence {
            share: false,
            watch: vec![],
        })
        .await;
    }
    let limited = rate_limited_answers(&mut a).await;
    assert!(limited >= 15, "presence frames refused: {limited}");
    // Acks: 5× the envelope rate (100/s here) after a burst of 200. What
    // gets through is bounded by the time the flood took, so a slow
    // machine cannot make the check pass or fail by itself.
    let started = std::time::Instant::now();
    let sent = 1_000u16;
    for i in 0..sent {
        let mut id = [0u8; 16];
        id[..2].copy_from_slice(&i.to_be_bytes());
        a.send(&ClientFrame::Ack {
            from: bob.identity.device_id(),
            id,
        })
        .await;
    }
    let limited = rate_limited_answers(&mut a).await;
    let took = started.elapsed().as_secs_f64();
    let allowed = 200.0 + 100.0 * took;
    let through = f64::from(sent) - limited as f64;
    assert!(
        limited > 0 && through <= allowed + 10.0,
        "{through} acks of {sent} got through in {took:.2} s (at most {allowed:.0})"
    );
    // Still usable.
    a.send(&send(1, bob.identity.device_id())).await;
    assert_eq!(a.recv().await, ServerFrame::Accepted { id: [1; 16] });
}

common::backends::relay_tests! {
    stranger_cannot_fill_a_devices_queue_for_its_contacts,
}
