//! The durable mailbox over `/api/v1/ws`, against the real relay process on
//! SQLite and PostgreSQL: live and queued delivery, per-sender order,
//! idempotent resend, acknowledgements, ephemeral envelopes, bad frames,
//! and a SIGKILL in the middle of a stream of sends.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{HashMap, HashSet};

use common::api::{Api, Device, Ws};
use common::relay::RelayBuilder;
use parley_shared::protocol::ErrorCode;
use parley_shared::protocol::ws::{ClientFrame, DeviceId, MAX_PAYLOAD, ServerFrame, close};
use tokio_tungstenite::tungstenite::Message;

fn send(id: u8, to: &Device, payload: &[u8]) -> ClientFrame {
    ClientFrame::Send {
        id: [id; 16],
        to: to.identity.device_id(),
        ephemeral: false,
        payload: payload.to_vec(),
        list: None,
    }
}

async fn live_delivery_ack_and_idempotent_resend(builder: RelayBuilder, pg: Option<String>) {
    let relay = builder.start().await;
    let store = relay.store(&pg);
    let api = Api::new(&relay);
    let (alice, bob) = (api.register(0).await, api.register(0).await);
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    let (mut b, queued) = Ws::connect(&relay.base, &bob.token).await;
    assert_eq!(queued, 0);

    a.send(&send(1, &bob, b"ciphertext-1")).await;
    assert_eq!(a.recv().await, ServerFrame::Accepted { id: [1; 16] });
    let ServerFrame::Deliver {
        from,
        id,
        payload,
        ephemeral,
        ..
    } = b.recv().await
    else {
        panic!()
    };
    assert_eq!(
        (from, id, payload.as_slice(), ephemeral),
        (
            alice.identity.device_id(),
            [1; 16],
            &b"ciphertext-1"[..],
            false
        )
    );
    assert_eq!(
        store
            .queued_count(bob.identity.device_id().as_bytes())
            .unwrap(),
        1,
        "durable until acked"
    );

    // A resend with the same id (lost ack) is accepted but not stored twice.
    a.send(&send(1, &bob, b"ciphertext-1")).await;
    assert_eq!(a.recv().await, ServerFrame::Accepted { id: [1; 16] });
    assert!(b.silent_for(300).await, "no second delivery");
    assert_eq!(
        store
            .queued_count(bob.identity.device_id().as_bytes())
            .unwrap(),
        1
    );

    b.send(&ClientFrame::Ack {
        from: alice.identity.device_id(),
        id: [1; 16],
    })
    .await;
    a.send(&send(1, &bob, b"ciphertext-1")).await; // after the ack: still a duplicate
    assert_eq!(a.recv().await, ServerFrame::Accepted { id: [1; 16] });
    assert!(b.silent_for(300).await);
    assert_eq!(
        store
            .queued_count(bob.identity.device_id().as_bytes())
            .unwrap(),
        0,
        "acked envelope deleted"
    );
    assert_eq!(
        store
            .envelope_rows_for(bob.identity.device_id().as_bytes())
            .unwrap(),
        0
    );

    // Unknown recipient and oversized payloads are refused per envelope; the connection stays.
    let ghost = ClientFrame::Send {
        id: [2; 16],
        to: DeviceId::new([9; 32]),
        ephemeral: false,
        payload: b"x".to_vec(),
        list: None,
    };
    a.send(&ghost).await;
    assert!(matches!(
        a.recv().await,
        ServerFrame::Error {
            code: ErrorCode::NotFound,
            id: Some([2, ..]),
            ..
        }
    ));
    a.send(&send(3, &bob, &vec![0; MAX_PAYLOAD + 1])).await;
    assert!(matches!(
        a.recv().await,
        ServerFrame::Error {
            code: ErrorCode::TooLarge,
            id: Some([3, ..]),
            ..
        }
    ));
    a.send(&send(4, &bob, b"still here")).await;
    assert_eq!(a.recv().await, ServerFrame::Accepted { id: [4; 16] });
}

async fn offline_recipient_gets_everything_in_per_sender_order(
    builder: RelayBuilder,
    pg: Option<String>,
) {
    let relay = builder.start().await;
    let store = relay.store(&pg);
    let api = Api::new(&relay);
    let [alice, carol, bob] = api.devices().await;
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    let (mut c, _) = Ws::connect(&relay.base, &carol.token).await;
    for i in 0..20u8 {
        a.send(&send(i, &bob, format!("a{i}").as_bytes())).await;
        c.send(&send(i, &bob, format!("c{i}").as_bytes())).await;
        assert!(matches!(a.recv().await, ServerFrame::Accepted { .. }));
        assert!(matches!(c.recv().await, ServerFrame::Accepted { .. }));
    }
    let (mut b, queued) = Ws::connect(&relay.base, &bob.token).await;
    assert_eq!(queued, 40);
    let mut per_sender: HashMap<DeviceId, Vec<Vec<u8>>> = HashMap::new();
    for _ in 0..40 {
        let ServerFrame::Deliver { from, payload, .. } = b.recv().await else {
            panic!()
        };
        per_sender.entry(from).or_default().push(payload);
    }
    let expect = |p: char| {
        (0..20)
            .map(|i| format!("{p}{i}").into_bytes())
            .collect::<Vec<_>>()
    };
    assert_eq!(per_sender[&alice.identity.device_id()], expect('a'));
    assert_eq!(per_sender[&carol.identity.device_id()], expect('c'));
    // Not acknowledged yet: a reconnect gets them again.
    drop(b);
    let (_b2, queued) = Ws::connect(&relay.base, &bob.token).await;
    assert_eq!(queued, 40);
    assert_eq!(
        store
            .queued_count(bob.identity.device_id().as_bytes())
            .unwrap(),
        40
    );
}

async fn only_the_recipient_can_acknowledge(builder: RelayBuilder, _pg: Option<String>) {
    let relay = builder.start().await;
    let api = Api::new(&relay);
    let [alice, bob, mallory] = api.devices().await;
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    a.send(&send(7, &bob, b"for bob")).await;
    a.recv().await;
    let (mut m, _) = Ws::connect(&relay.base, &mallory.token).await;
    m.send(&ClientFrame::Ack {
        from: alice.identity.device_id(),
        id: [7; 16],
    })
    .await;
    let (mut b, queued) = Ws::connect(&relay.base, &bob.token).await;
    assert_eq!(queued, 1, "mallory's ack did nothing");
    assert!(matches!(
        b.recv().await,
        ServerFrame::Deliver { id: [7, ..], .. }
    ));
}

#[tokio::test]
async fn bad_or_unauthenticated_frames_close_only_that_connection() {
    let relay = RelayBuilder::new().start().await;
    let api = Api::new(&relay);
    let (alice, bob) = (api.register(0).await, api.register(0).await);
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    let (mut b, _) = Ws::connect(&relay.base, &bob.token).await;

    let mut anon = Ws::open(&relay.base).await;
    anon.send(&send(1, &bob, b"x")).await;
    assert!(matches!(
        anon.recv().await,
        ServerFrame::Error {
            code: ErrorCode::Unauthorized,
            ..
        }
    ));
    assert_eq!(anon.closed().await, Some(close::UNAUTHORIZED));

    let mut bad_token = Ws::open(&relay.base).await;
    bad_token
        .send(&ClientFrame::Auth {
            token: "nope".into(),
        })
        .await;
    bad_token.recv().await;
    assert_eq!(bad_token.closed().await, Some(close::UNAUTHORIZED));

    let (mut garbage, _) = Ws::connect(&relay.base, &alice.token).await;
    garbage
        .send_raw(Message::Binary(vec![1, 0xff, 0xff, 0xff].into()))
        .await;
    assert!(matches!(
        garbage.recv().await,
        ServerFrame::Error {
            code: ErrorCode::BadRequest,
            ..
        }
    ));
    assert_eq!(garbage.closed().await, Some(close::BAD_FRAME));

    let (mut oversized, _) = Ws::connect(&relay.base, &alice.token).await;
    oversized
        .send_raw(Message::Binary(vec![0u8; 2 * MAX_PAYLOAD].into()))
        .await;
    assert_eq!(oversized.closed().await, Some(close::BAD_FRAME));

    // Everyone else carries on.
    a.send(&send(9, &bob, b"after the noise")).await;
    assert_eq!(a.recv().await, ServerFrame::Accepted { id: [9; 16] });
    assert!(matches!(
        b.recv().await,
        ServerFrame::Deliver { id: [9, ..], .. }
    ));
}

async fn acknowledged_sends_survive_sigkill_and_arrive_exactly_once(
    builder: RelayBuilder,
    _pg: Option<String>,
) {
    let relay = builder.start().await;
    let api = Api::new(&relay);
    let (alice, bob) = (api.register(0).await, api.register(0).await);
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;

    // Pipeline 300 sends, then kill -9 the relay while they are in flight.
    let total = 300u16;
    for i in 0..total {
        let mut id = [0u8; 16];
        id[..2].copy_from_slice(&i.to_be_bytes());
        let frame = ClientFrame::Send {
            id,
            to: bob.identity.device_id(),
            ephemeral: false,
            payload: i.to_be_bytes().to_vec(),
            list: None,
        };
        a.send(&frame).await;
    }
    let mut accepted = HashSet::new();
    while accepted.len() < 100 {
        if let ServerFrame::Accepted { id } = a.recv().await {
            accepted.insert(id);
        }
    }
    let relay = relay.crash_and_restart().await;
    // Whatever else the sender saw acknowledged before the crash counts too.
    while let Some(frame) = a.try_recv(200).await {
        if let ServerFrame::Accepted { id } = frame {
            accepted.insert(id);
        }
    }

    let (mut b, queued) = Ws::connect(&relay.base, &bob.token).await;
    let mut seen = HashMap::new();
    for _ in 0..queued {
        let ServerFrame::Deliver { id, .. } = b.recv().await else {
            panic!()
        };
        *seen.entry(id).or_insert(0) += 1;
    }
    for id in &accepted {
        assert_eq!(
            seen.get(id),
            Some(&1),
            "acknowledged envelope {id:?} must arrive exactly once"
        );
    }
    assert!(seen.values().all(|n| *n == 1), "no duplicates in the queue");
    assert!(accepted.len() >= 100 && queued as usize >= accepted.len());
}

async fn concurrent_load_delivers_everything(builder: RelayBuilder, _pg: Option<String>) {
    // Many devices committing at once: exercises group commit and, on SQLite,
    // the single-writer discipline (this is how "database is locked" was found).
    use parley_loadgen::{Plan, run};
    let relay = builder.start().await;
    let plan = Plan {
        urls: vec![relay.base.clone()],
        devices: 8,
        messages: 60,
        size: 256,
        window: 16,
        bare: false,
        rate: None,
    };
    let report = run(plan).await.unwrap();
    assert_eq!(report.delivered, 8 * 60);
    assert!(!relay.logs().contains("commit failed"), "{}", relay.logs());
}

#[tokio::test]
async fn per_device_send_rate_limit_keeps_the_connection() {
    let relay = RelayBuilder::new()
        .env("PARLEY_RATE_LIMIT_DEVICE_PER_SEC", "5")
        .start()
        .await;
    let api = Api::new(&relay);
    let (alice, bob) = (api.register(0).await, api.register(0).await);
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    for i in 0..15u8 {
        a.send(&send(i, &bob, b"x")).await;
    }
    let (mut ok, mut limited) = (0, Vec::new());
    for _ in 0..15 {
        match a.recv().await {
            ServerFrame::Accepted { .. } => ok += 1,
            ServerFrame::Error {
                code: ErrorCode::RateLimited,
                id: Some(id),
                ..
            } => limited.push(id[0]),
            other => panic!("{other:?}"),
        }
    }
    assert!(
        ok >= 5 && limited.len() >= 5,
        "ok {ok}, limited {limited:?}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    // A new envelope waits until the first refused one is sent again.
    a.send(&send(100, &bob, b"later")).await;
    assert!(matches!(
        a.recv().await,
        ServerFrame::Error {
            code: ErrorCode::RateLimited,
            ..
        }
    ));
    let first = limited[0];
    a.send(&send(first, &bob, b"x")).await;
    assert_eq!(a.recv().await, ServerFrame::Accepted { id: [first; 16] });
    a.send(&send(100, &bob, b"later")).await;
    assert_eq!(
        a.recv().await,
        ServerFrame::Accepted { id: [100; 16] },
        "the bucket refills"
    );
}

async fn undelivered_envelopes_expire(builder: RelayBuilder, pg: Option<String>) {
    let relay = builder
        .env("PARLEY_ENVELOPE_TTL_SECS", "1")
        .env("PARLEY_SWEEP_INTERVAL_SECS", "1")
        .start()
        .await;
    let store = relay.store(&pg);
    let api = Api::new(&relay);
    let (alice, bob) = (api.register(0).await, api.register(0).await);
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    a.send(&send(1, &bob, b"short-lived")).await;
    assert_eq!(a.recv().await, ServerFrame::Accepted { id: [1; 16] });
    assert_eq!(
        store
            .envelope_rows_for(bob.identity.device_id().as_bytes())
            .unwrap(),
        1
    );
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let (mut b, queued) = Ws::connect(&relay.base, &bob.token).await;
    assert_eq!(queued, 0, "expired envelopes are not delivered");
    assert!(b.silent_for(200).await);
    assert_eq!(
        store
            .envelope_rows_for(bob.identity.device_id().as_bytes())
            .unwrap(),
        0,
        "and the sweeper deleted them"
    );
}

common::backends::relay_tests! {
    live_delivery_ack_and_idempotent_resend,
    offline_recipient_gets_everything_in_per_sender_order,
    only_the_recipient_can_acknowledge,
    acknowledged_sends_survive_sigkill_and_arrive_exactly_once,
    concurrent_load_delivers_everything,
    undelivered_envelopes_expire,
}
