//! The shared client engine driven natively against the real relay (SQLite
//! and PostgreSQL): pairing over the rendezvous, chat with receipts, history
//! across reloads, the outbox across a relay crash, and an offline peer.
//! The browser app is another adapter around the same engine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::device::{Client, alice_and_bob};
use common::relay::{Relay, RelayBuilder};
use parley_shared::crypto::os_rng;
use parley_shared::engine::Effect;
use parley_shared::engine::model::{Body, Status};
use parley_shared::protocol::ws::{DeviceId, ServerFrame};
use parley_shared::time::UnixMs;

fn texts(c: &Client, peer: &DeviceId) -> Vec<(bool, String, Status)> {
    c.engine
        .messages(peer)
        .iter()
        .filter_map(|m| match &m.body {
            Body::Text(t) => Some((m.outgoing, t.clone(), m.status)),
            Body::Notice(_) | Body::File(_) => None,
        })
        .collect()
}

/// Every byte the relay stored (SQLite file or a PostgreSQL dump).
fn relay_storage(relay: &Relay, pg: Option<&str>) -> Vec<u8> {
    match pg {
        None => {
            let mut all = Vec::new();
            for f in ["parley.db", "parley.db-wal"] {
                all.extend(std::fs::read(relay.data_dir.join(f)).unwrap_or_default());
            }
            all
        }
        Some(url) => {
            std::process::Command::new("pg_dump")
                .args(["--data-only", url])
                .output()
                .unwrap()
                .stdout
        }
    }
}

async fn engine_pairs_chats_and_survives_reloads_crashes_and_offline_peers(
    builder: RelayBuilder,
    pg: Option<String>,
) {
    let mut relay = builder.start().await;
    let (ahead, mut alice, mut bob) = alice_and_bob(&relay.base).await;
    let now = || UnixMs::from_millis(common::now_ms() as u64 + ahead.get());
    let (a_id, b_id) = (alice.engine.device_id(), bob.engine.device_id());
    // Presence is opt-in: both turn it on.
    alice.engine.set_presence(true);
    bob.engine.set_presence(true);
    alice.drain().await;
    bob.drain().await;

    // Bob (joiner) started the session; his profile reaches Alice.
    bob.pump(300).await;
    alice.pump(300).await;
    assert!(alice.engine.contact(&b_id).unwrap().has_session());
    assert_eq!(alice.engine.contact(&b_id).unwrap().name, "Bob");
    assert_eq!(bob.engine.contact(&a_id).unwrap().name, "Alice");
    // Presence: each sees the other online.
    assert!(alice.engine.contact(&b_id).unwrap().online);

    alice
        .engine
        .send_text(&mut os_rng(), &b_id, "hello bob, secret-word-7781", now())
        .unwrap();
    alice.drain().await;
    bob.pump(300).await;
    alice.pump(300).await;
    assert_eq!(
        texts(&alice, &b_id),
        vec![(
            true,
            "hello bob, secret-word-7781".into(),
            Status::Delivered
        )]
    );
    assert_eq!(bob.engine.contact(&a_id).unwrap().unread, 1);
    bob.engine.mark_read(&mut os_rng(), &a_id).unwrap();
    bob.drain().await;
    alice.pump(300).await;
    assert_eq!(texts(&alice, &b_id)[0].2, Status::Read);
    assert_eq!(bob.engine.contact(&a_id).unwrap().unread, 0);

    bob.engine
        .send_text(&mut os_rng(), &a_id, "hi alice", now())
        .unwrap();
    bob.drain().await;
    alice.pump(300).await;
    bob.pump(300).await;
    assert_eq!(
        texts(&alice, &b_id)[1],
        (false, "hi alice".into(), Status::Delivered)
    );
    assert_eq!(texts(&bob, &a_id)[1].2, Status::Delivered);

    // Reload both apps from storage: identity, contact, history intact.
    let before = (texts(&alice, &b_id), texts(&bob, &a_id));
    alice.reload();
    bob.reload();
    assert_eq!(alice.engine.device_id(), a_id);
    assert_eq!((texts(&alice, &b_id), texts(&bob, &a_id)), before);

    // Bob goes offline; Alice sends one message the relay stores, then the
    // relay is SIGKILLed, and she writes another into her outbox.
    bob.disconnect();
    alice.connect().await;
    alice
        .engine
        .send_text(&mut os_rng(), &b_id, "one", now())
        .unwrap();
    alice.drain().await;
    alice.pump(300).await;
    assert_eq!(texts(&alice, &b_id)[2].2, Status::Sent);
    relay = relay.crash_and_restart().await;
    alice.disconnect();
    alice
        .engine
        .send_text(&mut os_rng(), &b_id, "two", now())
        .unwrap();
    alice.drain().await;
    assert_eq!(alice.engine.outbox_len(), 1);
    assert_eq!(texts(&alice, &b_id)[3].2, Status::Queued);
    // Reload with the outbox pending: it survives and is sent on connect.
    alice.reload();
    alice.connect().await;
    assert_eq!(alice.engine.outbox_len(), 0);
    assert_eq!(texts(&alice, &b_id)[3].2, Status::Sent);

    bob.reload();
    bob.connect().await;
    let got: Vec<String> = texts(&bob, &a_id).into_iter().map(|t| t.1).collect();
    assert_eq!(
        got,
        ["hello bob, secret-word-7781", "hi alice", "one", "two"]
    );
    alice.pump(300).await;
    assert_eq!(texts(&alice, &b_id)[3].2, Status::Delivered);

    // A redelivered envelope (lost ack) is not shown twice.
    let copy = ServerFrame::Deliver {
        from: a_id,
        id: [9; 16],
        sent_at: UnixMs::EPOCH,
        ephemeral: false,
        payload: {
            alice
                .engine
                .send_text(&mut os_rng(), &b_id, "once", now())
                .unwrap();
            let mut payload = None;
            while let Some(e) = alice.engine.next_effect() {
                if let Effect::Send(parley_shared::protocol::ws::ClientFrame::Send {
                    payload: p,
                    ..
                }) = e
                {
                    payload = Some(p);
                }
            }
            payload.unwrap()
        },
    };
    bob.engine.handle_frame(&mut os_rng(), copy.clone(), now());
    bob.engine.handle_frame(&mut os_rng(), copy, now());
    bob.drain().await;
    let onces = texts(&bob, &a_id).iter().filter(|t| t.1 == "once").count();
    assert_eq!(onces, 1);

    // The relay never held the plaintext or a private key.
    let stored = relay_storage(&relay, pg.as_deref());
    assert!(!stored.is_empty());
    let needle = b"secret-word-7781";
    assert!(!stored.windows(needle.len()).any(|w| w == needle));
    // Private keys: neither half of Alice's identity secret is anywhere.
    let secret = alice.engine.identity().to_bytes();
    // version, then two length-prefixed 32-byte secrets
    assert_eq!((secret.len(), secret[1], secret[34]), (67, 32, 32));
    for half in [&secret[2..34], &secret[35..67]] {
        assert!(!stored.windows(32).any(|w| w == half));
    }
    drop(relay);
}

common::backends::relay_tests! {
    engine_pairs_chats_and_survives_reloads_crashes_and_offline_peers,
}
