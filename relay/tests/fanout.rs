//! Multi-recipient sends (`SendMany`, ADR 0026) against the real relay on
//! SQLite and PostgreSQL: one payload row shared by a queue row per
//! recipient, deleted with the last of them (ack, expiry, erase); per-sender
//! order across `Send` and `SendMany`; idempotent resend; all-or-nothing
//! refusals (stale lists, erased devices, bad lists, a full queue), checked
//! on the tables.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::api::{Api, Device, Ws, put_list, signed_list};
use common::backends::relay_tests;
use common::relay::RelayBuilder;
use common::{number_of, numbered_id};
use parley_relay::db::Store;
use parley_shared::crypto::account::{AccountKeyPair, SignedDeviceList};
use parley_shared::crypto::os_rng;
use parley_shared::protocol::ErrorCode;
use parley_shared::protocol::ws::{
    ClientFrame, DeviceId, EnvelopeId, MAX_PAYLOAD, MAX_RECIPIENTS, Recipient, ServerFrame,
    StaleRecipient,
};
use parley_shared::time::UnixMs;

const T0: UnixMs = UnixMs::from_millis(1_780_000_000_000);

fn to(devices: &[&Device], list: Option<u64>) -> Vec<Recipient> {
    devices
        .iter()
        .map(|d| Recipient {
            device: d.identity.device_id(),
            list,
        })
        .collect()
}

fn many(id: EnvelopeId, to: Vec<Recipient>, payload: &[u8]) -> ClientFrame {
    ClientFrame::SendMany {
        id,
        to,
        payload: payload.to_vec(),
    }
}

fn one(id: EnvelopeId, to: &Device, payload: &[u8]) -> ClientFrame {
    ClientFrame::Send {
        id,
        to: to.identity.device_id(),
        ephemeral: false,
        payload: payload.to_vec(),
        list: None,
    }
}

/// Rows of the envelope `(sender, id)` and shared payload rows.
fn rows(store: &Store, sender: &Device, id: &EnvelopeId) -> (i64, i64) {
    (
        store
            .envelope_rows_with_id(sender.identity.device_id().as_bytes(), id)
            .unwrap(),
        store.shared_payload_rows().unwrap(),
    )
}

/// Waits until nothing is queued for `who` (its acks landed).
async fn drained(store: &Store, who: &Device) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while store
        .queued_count(who.identity.device_id().as_bytes())
        .unwrap()
        > 0
    {
        assert!(Instant::now() < deadline, "acks never landed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The next `Deliver`: sender, id, payload (fails on anything else).
async fn delivered(ws: &mut Ws) -> (DeviceId, EnvelopeId, Vec<u8>) {
    match ws.recv().await {
        ServerFrame::Deliver {
            from,
            id,
            payload,
            ephemeral: false,
            ..
        } => (from, id, payload),
        other => panic!("expected a durable Deliver, got {other:?}"),
    }
}

async fn one_payload_row_for_fifty_recipients(builder: RelayBuilder, pg: Option<String>) {
    let relay = builder.start().await;
    let store = relay.store(&pg);
    let api = Api::new(&relay);
    let alice = api.register(0).await;
    let mut devices = Vec::new();
    for _ in 0..50 {
        devices.push(api.register(0).await);
    }
    // Half online when it is sent, half connect later and read the queue.
    let mut online = Vec::new();
    for d in &devices[..25] {
        online.push(Ws::connect(&relay.base, &d.token).await.0);
    }
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    // A single `Send` keeps its payload inline: no shared row.
    a.send(&one([1; 16], &devices[0], b"just for you")).await;
    assert_eq!(a.recv().await, ServerFrame::Accepted { id: [1; 16] });
    assert_eq!(rows(&store, &alice, &[1; 16]), (1, 0));

    let payload = b"one room message, encrypted once".to_vec();
    let all: Vec<&Device> = devices.iter().collect();
    a.send(&many([2; 16], to(&all, None), &payload)).await;
    assert_eq!(a.recv().await, ServerFrame::Accepted { id: [2; 16] });
    assert_eq!(rows(&store, &alice, &[2; 16]), (50, 1), "stored once");

    let a_id = alice.identity.device_id();
    let mut sockets = online;
    for d in &devices[25..] {
        let (ws, queued) = Ws::connect(&relay.base, &d.token).await;
        assert_eq!(queued, 1);
        sockets.push(ws);
    }
    let first = devices[0].identity.device_id();
    for (i, (ws, d)) in sockets.iter_mut().zip(&devices).enumerate() {
        let mut got = delivered(ws).await;
        if d.identity.device_id() == first {
            assert_eq!(got, (a_id, [1; 16], b"just for you".to_vec()));
            got = delivered(ws).await;
        }
        assert_eq!(got, (a_id, [2; 16], payload.clone()), "device {i}");
    }
    for ws in &mut sockets {
        assert!(ws.silent_for(200).await, "each device gets it once");
    }

    // 49 acks: the payload stays for the last recipient.
    for (ws, d) in sockets.iter_mut().zip(&devices).take(49) {
        if d.identity.device_id() == first {
            ws.send(&ClientFrame::Ack {
                from: a_id,
                id: [1; 16],
            })
            .await;
        }
        ws.send(&ClientFrame::Ack {
            from: a_id,
            id: [2; 16],
        })
        .await;
        drained(&store, d).await;
    }
    assert_eq!(rows(&store, &alice, &[2; 16]), (1, 1));
    // Another recipient acking again cannot touch the last one's row.
    sockets[0]
        .send(&ClientFrame::Ack {
            from: a_id,
            id: [2; 16],
        })
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(rows(&store, &alice, &[2; 16]), (1, 1));
    sockets[49]
        .send(&ClientFrame::Ack {
            from: a_id,
            id: [2; 16],
        })
        .await;
    drained(&store, &devices[49]).await;
    assert_eq!(
        rows(&store, &alice, &[2; 16]),
        (0, 0),
        "the last ack takes the payload"
    );
}

async fn per_sender_order_holds_across_send_and_send_many(
    builder: RelayBuilder,
    _pg: Option<String>,
) {
    let relay = builder.start().await;
    let api = Api::new(&relay);
    let [alice, bob, carol] = api.devices::<3>().await;
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    let (mut b, _) = Ws::connect(&relay.base, &bob.token).await;
    // Pipelined, as the engine sends: even numbers to the room, odd ones
    // to Bob and Carol one by one.
    let mut frames = 0;
    for i in 0..20u16 {
        if i % 2 == 0 {
            a.send(&many(numbered_id(i), to(&[&bob, &carol], None), &[1]))
                .await;
            frames += 1;
        } else {
            a.send(&one(numbered_id(i), &bob, &[2])).await;
            a.send(&one(numbered_id(1000 + i), &carol, &[3])).await;
            frames += 2;
        }
    }
    for _ in 0..frames {
        assert!(matches!(a.recv().await, ServerFrame::Accepted { .. }));
    }
    let expected_bob: Vec<u16> = (0..20).collect();
    let expected_carol: Vec<u16> = (0..20)
        .map(|i| if i % 2 == 0 { i } else { 1000 + i })
        .collect();
    let mut got = Vec::new();
    for _ in 0..20 {
        got.push(number_of(&delivered(&mut b).await.1));
    }
    assert_eq!(got, expected_bob, "online recipient, live");
    let (mut c, queued) = Ws::connect(&relay.base, &carol.token).await;
    assert_eq!(queued, 20);
    let mut got = Vec::new();
    for _ in 0..20 {
        got.push(number_of(&delivered(&mut c).await.1));
    }
    assert_eq!(got, expected_carol, "offline recipient, from the queue");
}

async fn a_resend_after_reconnect_is_stored_once(builder: RelayBuilder, pg: Option<String>) {
    let relay = builder.start().await;
    let store = relay.store(&pg);
    let api = Api::new(&relay);
    let [alice, bob, carol] = api.devices::<3>().await;
    let room = to(&[&bob, &carol], None);
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    a.send(&many([7; 16], room.clone(), b"hello room")).await;
    assert_eq!(a.recv().await, ServerFrame::Accepted { id: [7; 16] });
    // The `Accepted` was lost: Alice reconnects and sends it again.
    drop(a);
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    a.send(&many([7; 16], room.clone(), b"hello room")).await;
    assert_eq!(a.recv().await, ServerFrame::Accepted { id: [7; 16] });
    // One dedupe space with `Send`: the same id to one device is a resend.
    a.send(&one([7; 16], &bob, b"hello room")).await;
    assert_eq!(a.recv().await, ServerFrame::Accepted { id: [7; 16] });
    assert_eq!(rows(&store, &alice, &[7; 16]), (2, 1));

    let (mut b, queued) = Ws::connect(&relay.base, &bob.token).await;
    assert_eq!(queued, 1);
    let from = alice.identity.device_id();
    assert_eq!(
        delivered(&mut b).await,
        (from, [7; 16], b"hello room".to_vec())
    );
    assert!(b.silent_for(300).await, "once");
    b.send(&ClientFrame::Ack { from, id: [7; 16] }).await;
    drained(&store, &bob).await;
    // After Bob's ack (Carol's row still waits) and after Carol's: still
    // the same envelope, never stored again.
    a.send(&many([7; 16], room.clone(), b"hello room")).await;
    assert_eq!(a.recv().await, ServerFrame::Accepted { id: [7; 16] });
    assert_eq!(rows(&store, &alice, &[7; 16]), (1, 1));
    let (mut c, _) = Ws::connect(&relay.base, &carol.token).await;
    assert_eq!(delivered(&mut c).await.1, [7; 16]);
    c.send(&ClientFrame::Ack { from, id: [7; 16] }).await;
    drained(&store, &carol).await;
    a.send(&many([7; 16], room, b"hello room")).await;
    assert_eq!(a.recv().await, ServerFrame::Accepted { id: [7; 16] });
    assert_eq!(rows(&store, &alice, &[7; 16]), (0, 0));
    assert!(b.silent_for(200).await && c.silent_for(200).await);
}

fn list(account: &AccountKeyPair, counter: u64, devices: &[&Device]) -> SignedDeviceList {
    signed_list(account, counter, devices, T0)
}

async fn put(api: &Api, by: &Device, account: &AccountKeyPair, l: &SignedDeviceList) {
    assert_eq!(put_list(api, by, account, l).await, 204);
}

/// Nothing of `(alice, id)` is stored, and nothing waits for `devices`.
fn nothing_stored(store: &Store, alice: &Device, id: &EnvelopeId, devices: &[&Device]) {
    assert_eq!(rows(store, alice, id), (0, 0), "nothing stored");
    for d in devices {
        let n = store
            .queued_count(d.identity.device_id().as_bytes())
            .unwrap();
        assert_eq!(n, 0, "nothing queued");
    }
}

async fn refusals_store_nothing_for_anyone(builder: RelayBuilder, pg: Option<String>) {
    let relay = builder.start().await;
    let store = relay.store(&pg);
    let api = Api::new(&relay);
    let [alice, laptop, phone, carol, dave] = api.devices::<5>().await;
    let bob = AccountKeyPair::generate(&mut os_rng());
    put(&api, &laptop, &bob, &list(&bob, 1, &[&laptop])).await;
    let two = list(&bob, 2, &[&laptop, &phone]);
    put(&api, &laptop, &bob, &two).await;
    let everyone = [&laptop, &phone, &carol, &dave];
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;

    // Alice encrypted for Bob's list 1 (both his devices named with it),
    // and names a list for Carol, who has no account.
    let mut room = to(&[&laptop, &phone], Some(1));
    room.extend(to(&[&carol], Some(4)));
    room.extend(to(&[&dave], None));
    a.send(&many([1; 16], room, b"x")).await;
    let ServerFrame::StaleMany { id, stale } = a.recv().await else {
        panic!("expected StaleMany")
    };
    assert_eq!(id, [1; 16]);
    assert_eq!(stale.len(), 2, "one entry per stale account: {stale:?}");
    assert_eq!(stale[0].device, laptop.identity.device_id());
    let current = stale[0].list.clone().expect("Bob's current list");
    assert_eq!(current, two);
    let verified = current.verify(&bob.public()).unwrap();
    assert_eq!(verified.counter(), 2);
    assert_eq!(
        stale[1],
        StaleRecipient {
            device: carol.identity.device_id(),
            list: None
        }
    );
    nothing_stored(&store, &alice, &[1; 16], &everyone);

    // An erased device: `not_found` naming it, nothing stored.
    let st = api
        .send("DELETE", "/api/v1/devices/me", Some(&dave.token), None)
        .await
        .0;
    assert_eq!(st, 204);
    let mut room = to(&[&laptop, &phone], Some(2));
    room.extend(to(&[&carol, &dave], None));
    a.send(&many([2; 16], room, b"x")).await;
    match a.recv().await {
        ServerFrame::Error {
            code: ErrorCode::NotFound,
            message,
            id: Some(id),
        } => {
            assert_eq!(id, [2; 16]);
            let dave_id = dave.identity.device_id().to_string();
            assert!(message.contains(&dave_id), "{message}");
        }
        other => panic!("expected not_found, got {other:?}"),
    }
    nothing_stored(&store, &alice, &[2; 16], &everyone);

    // Malformed lists: duplicates, the sender itself, none, too many.
    let bad_request = |f: ServerFrame, want: u8| match f {
        ServerFrame::Error {
            code: ErrorCode::BadRequest,
            id: Some(id),
            ..
        } => assert_eq!(id, [want; 16]),
        other => panic!("expected bad_request, got {other:?}"),
    };
    a.send(&many([3; 16], to(&[&carol, &carol], None), b"x"))
        .await;
    bad_request(a.recv().await, 3);
    a.send(&many([4; 16], to(&[&carol, &alice], None), b"x"))
        .await;
    bad_request(a.recv().await, 4);
    a.send(&many([5; 16], Vec::new(), b"x")).await;
    bad_request(a.recv().await, 5);
    a.send(&many([6; 16], crowd(MAX_RECIPIENTS + 1), b"x"))
        .await;
    bad_request(a.recv().await, 6);
    // The largest legal frame is read (not closed for its size) and
    // answered: none of these devices exists.
    a.send(&many([7; 16], crowd(MAX_RECIPIENTS), &vec![0; MAX_PAYLOAD]))
        .await;
    assert!(matches!(
        a.recv().await,
        ServerFrame::Error {
            code: ErrorCode::NotFound,
            id: Some([7, ..]),
            ..
        }
    ));
    for id in 3..=7u8 {
        nothing_stored(&store, &alice, &[id; 16], &everyone);
    }

    // Fixed, it goes through, and the connection stayed open throughout.
    let mut room = to(&[&laptop, &phone], Some(2));
    room.extend(to(&[&carol], None));
    a.send(&many([8; 16], room, b"x")).await;
    assert_eq!(a.recv().await, ServerFrame::Accepted { id: [8; 16] });
    assert_eq!(rows(&store, &alice, &[8; 16]), (3, 1));
}

async fn a_full_queue_refuses_the_whole_send(builder: RelayBuilder, pg: Option<String>) {
    let relay = builder.env("PARLEY_MAX_QUEUE", "3").start().await;
    let store = relay.store(&pg);
    let api = Api::new(&relay);
    let [alice, bob, carol] = api.devices::<3>().await;
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    for i in 1..=3u8 {
        a.send(&one([i; 16], &carol, b"fill")).await;
        assert_eq!(a.recv().await, ServerFrame::Accepted { id: [i; 16] });
    }
    a.send(&many([9; 16], to(&[&bob, &carol], None), b"room"))
        .await;
    assert!(matches!(
        a.recv().await,
        ServerFrame::Error {
            code: ErrorCode::RateLimited,
            id: Some([9, ..]),
            ..
        }
    ));
    assert_eq!(rows(&store, &alice, &[9; 16]), (0, 0));
    assert_eq!(
        store
            .queued_count(bob.identity.device_id().as_bytes())
            .unwrap(),
        0,
        "not even for Bob, whose queue had room"
    );
    // Order after a refusal: what follows waits for the refused send.
    a.send(&one([10; 16], &bob, b"later")).await;
    assert!(matches!(
        a.recv().await,
        ServerFrame::Error {
            code: ErrorCode::RateLimited,
            id: Some([10, ..]),
            ..
        }
    ));
    assert_eq!(rows(&store, &alice, &[10; 16]), (0, 0));
}

async fn erase_and_expiry_take_the_shared_payload(builder: RelayBuilder, pg: Option<String>) {
    let relay = builder
        .env("PARLEY_ENVELOPE_TTL_SECS", "4")
        .env("PARLEY_SWEEP_INTERVAL_SECS", "1")
        .start()
        .await;
    let store = relay.store(&pg);
    let api = Api::new(&relay);
    let [alice, bob, carol, dave] = api.devices::<4>().await;
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    let (mut b, _) = Ws::connect(&relay.base, &bob.token).await;

    // Bob acks; erasing Carol, whose row was the last to name the payload,
    // deletes it in the same transaction.
    a.send(&many([1; 16], to(&[&bob, &carol], None), b"for two"))
        .await;
    assert_eq!(a.recv().await, ServerFrame::Accepted { id: [1; 16] });
    assert_eq!(delivered(&mut b).await.1, [1; 16]);
    b.send(&ClientFrame::Ack {
        from: alice.identity.device_id(),
        id: [1; 16],
    })
    .await;
    drained(&store, &bob).await;
    assert_eq!(rows(&store, &alice, &[1; 16]), (1, 1));
    let st = api
        .send("DELETE", "/api/v1/devices/me", Some(&carol.token), None)
        .await
        .0;
    assert_eq!(st, 204);
    assert_eq!(rows(&store, &alice, &[1; 16]), (0, 0));

    // Nobody acks: the sweeper deletes both rows and the payload.
    drop(b);
    a.send(&many([2; 16], to(&[&bob, &dave], None), b"short-lived"))
        .await;
    assert_eq!(a.recv().await, ServerFrame::Accepted { id: [2; 16] });
    assert_eq!(rows(&store, &alice, &[2; 16]), (2, 1));
    let deadline = Instant::now() + Duration::from_secs(20);
    while rows(&store, &alice, &[2; 16]) != (0, 0) {
        assert!(Instant::now() < deadline, "the sweeper left rows behind");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (mut d, queued) = Ws::connect(&relay.base, &dave.token).await;
    assert_eq!(queued, 0);
    assert!(d.silent_for(200).await);
}

/// Unregistered devices: each send is refused, but only after it was
/// counted against the budget.
fn crowd(n: usize) -> Vec<Recipient> {
    (0..n)
        .map(|i| {
            let mut d = [0u8; 32];
            d[..8].copy_from_slice(&(i as u64).to_be_bytes());
            Recipient {
                device: DeviceId::new(d),
                list: Some(u64::MAX),
            }
        })
        .collect()
}

async fn recipient_entries_have_their_own_budget(builder: RelayBuilder, _pg: Option<String>) {
    let relay = builder
        .env("PARLEY_RATE_LIMIT_RECIPIENTS_PER_SEC", "1024")
        .start()
        .await;
    let api = Api::new(&relay);
    let [alice, bob] = api.devices::<2>().await;
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    // Plain sends do not touch it.
    for i in 1..=50u8 {
        a.send(&one([i; 16], &bob, b"x")).await;
        assert_eq!(a.recv().await, ServerFrame::Accepted { id: [i; 16] });
    }
    a.send(&many([100; 16], crowd(MAX_RECIPIENTS), b"x")).await;
    assert!(matches!(
        a.recv().await,
        ServerFrame::Error {
            code: ErrorCode::NotFound,
            ..
        }
    ));
    // The burst is spent (it refills at about one entry a millisecond):
    // the next large fan-out waits.
    a.send(&many([101; 16], crowd(1000), b"x")).await;
    assert!(matches!(
        a.recv().await,
        ServerFrame::Error {
            code: ErrorCode::RateLimited,
            id: Some([101, ..]),
            ..
        }
    ));
}

relay_tests! {
    one_payload_row_for_fifty_recipients,
    per_sender_order_holds_across_send_and_send_many,
    a_resend_after_reconnect_is_stored_once,
    refusals_store_nothing_for_anyone,
    a_full_queue_refuses_the_whole_send,
    erase_and_expiry_take_the_shared_payload,
    recipient_entries_have_their_own_budget,
}
