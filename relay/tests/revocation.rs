//! Open WebSockets end with the token and the device that opened them:
//! revoking the token, logging out everywhere, erasing the device and the
//! token's expiry each close the sockets concerned, and frames that reach the
//! relay afterwards are refused. Against the real relay process on SQLite and
//! PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::api::{Api, Device, Ws};
use common::relay::RelayBuilder;
use parley_shared::crypto::primitives::sha256;
use parley_shared::protocol::auth::{Session, encode_b64};
use parley_shared::protocol::ws::{ClientFrame, EnvelopeId, ServerFrame, close};
use tokio_tungstenite::tungstenite::Message;

fn send(id: u8, to: &Device) -> ClientFrame {
    ClientFrame::Send {
        id: [id; 16],
        to: to.identity.device_id(),
        ephemeral: false,
        payload: vec![id; 8],
        list: None,
    }
}

fn ephemeral(id: u8, to: &Device) -> ClientFrame {
    ClientFrame::Send {
        id: [id; 16],
        to: to.identity.device_id(),
        ephemeral: true,
        payload: vec![id; 8],
        list: None,
    }
}

/// Sends without looking at the outcome: the relay may have closed already.
async fn send_late(ws: &mut Ws, frame: &ClientFrame) {
    ws.send_raw(Message::Binary(frame.to_bytes().into())).await;
}

fn accepted(frames: &[ServerFrame]) -> Vec<EnvelopeId> {
    frames
        .iter()
        .filter_map(|f| match f {
            ServerFrame::Accepted { id } => Some(*id),
            _ => None,
        })
        .collect()
}

async fn login(api: &Api, who: &Device) -> String {
    let (st, v) = api.login(&who.identity, &api.origin()).await;
    assert_eq!(st, 200, "{v}");
    serde_json::from_value::<Session>(v).unwrap().token
}

async fn rest_status(api: &Api, token: &str) -> u16 {
    api.send("GET", "/api/v1/prekeys/status", Some(token), None)
        .await
        .0
}

/// Attack: a stolen token is revoked by REST, but the thief's open socket
/// keeps sending, receiving and deleting the queue.
async fn revoked_token_socket_cannot_send_or_ack(builder: RelayBuilder, pg: Option<String>) {
    let relay = builder.start().await;
    let store = relay.store(&pg);
    let api = Api::new(&relay);
    let (alice, bob) = (api.register(0).await, api.register(0).await);
    let (alice_id, bob_id) = (alice.identity.device_id(), bob.identity.device_id());
    let other_token = login(&api, &alice).await;

    // One envelope waits for Alice; the socket to be revoked receives it.
    let (mut b, _) = Ws::connect(&relay.base, &bob.token).await;
    b.send(&send(1, &alice)).await;
    assert_eq!(b.recv().await, ServerFrame::Accepted { id: [1; 16] });
    let (mut a, queued) = Ws::connect(&relay.base, &alice.token).await;
    assert_eq!(queued, 1);
    assert!(matches!(a.recv().await, ServerFrame::Deliver { .. }));
    let (mut a_other, _) = Ws::connect(&relay.base, &other_token).await;
    assert!(matches!(a_other.recv().await, ServerFrame::Deliver { .. }));
    a.send(&send(2, &bob)).await;
    assert_eq!(a.recv().await, ServerFrame::Accepted { id: [2; 16] });
    assert!(matches!(b.recv().await, ServerFrame::Deliver { .. }));

    let (st, _) = api
        .send("DELETE", "/api/v1/auth/session", Some(&alice.token), None)
        .await;
    assert_eq!(st, 204);
    // Sent after the revoke returned: refused whatever the socket has seen.
    send_late(&mut a, &send(3, &bob)).await;
    send_late(&mut a, &ephemeral(4, &bob)).await;
    let ack = ClientFrame::Ack {
        from: bob_id,
        id: [1; 16],
    };
    send_late(&mut a, &ack).await;
    let (frames, code) = a.frames_until_close().await;
    assert_eq!(code, Some(close::REVOKED), "{frames:?}");
    assert_eq!(accepted(&frames), Vec::<EnvelopeId>::new());
    assert!(b.silent_for(500).await, "nothing reaches Bob");
    assert_eq!(
        store.queued_count(alice_id.as_bytes()).unwrap(),
        1,
        "ack refused"
    );
    assert_eq!(
        store.queued_count(bob_id.as_bytes()).unwrap(),
        1,
        "only envelope 2"
    );

    // Dead for REST and for new sockets; Alice's other session is untouched.
    assert_eq!(rest_status(&api, &alice.token).await, 401);
    let mut again = Ws::open(&relay.base).await;
    again
        .send(&ClientFrame::Auth {
            token: alice.token.clone(),
        })
        .await;
    assert_eq!(again.closed().await, Some(close::UNAUTHORIZED));
    a_other.send(&send(5, &bob)).await;
    assert_eq!(a_other.recv().await, ServerFrame::Accepted { id: [5; 16] });
    assert_eq!(rest_status(&api, &other_token).await, 200);
}

/// Attack: the device is erased, but its open socket keeps sending, and its
/// envelopes reach contacts from a device the relay no longer has.
async fn erased_device_socket_is_closed(builder: RelayBuilder, pg: Option<String>) {
    let relay = builder.start().await;
    let store = relay.store(&pg);
    let api = Api::new(&relay);
    let (alice, bob) = (api.register(0).await, api.register(0).await);
    let (alice_id, bob_id) = (alice.identity.device_id(), bob.identity.device_id());
    let (mut b, _) = Ws::connect(&relay.base, &bob.token).await;
    b.send(&ClientFrame::Presence {
        share: false,
        watch: vec![alice_id],
    })
    .await;
    let offline = ServerFrame::Presence {
        device: alice_id,
        online: false,
    };
    assert_eq!(b.recv().await, offline);
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    // Presence is mutual: Alice shares with the contact she watches.
    a.send(&ClientFrame::Presence {
        share: true,
        watch: vec![bob_id],
    })
    .await;
    let online = ServerFrame::Presence {
        device: alice_id,
        online: true,
    };
    assert_eq!(b.recv().await, online);

    let (st, _) = api
        .send("DELETE", "/api/v1/devices/me", Some(&alice.token), None)
        .await;
    assert_eq!(st, 204);
    send_late(&mut a, &send(1, &bob)).await;
    send_late(&mut a, &ephemeral(2, &bob)).await;
    let (frames, code) = a.frames_until_close().await;
    assert_eq!(code, Some(close::DEVICE_ERASED), "{frames:?}");
    assert_eq!(accepted(&frames), Vec::<EnvelopeId>::new());
    // Bob sees Alice leave and gets nothing from her.
    assert_eq!(b.recv().await, offline);
    assert!(
        b.silent_for(500).await,
        "no envelope from the erased device"
    );
    assert_eq!(store.queued_count(bob_id.as_bytes()).unwrap(), 0);
    assert_eq!(store.envelope_rows_for(alice_id.as_bytes()).unwrap(), 0);
}

/// Attack: a token outlives its expiry on a socket opened before it, for as
/// long as the socket stays open.
async fn expired_token_socket_is_closed(builder: RelayBuilder, pg: Option<String>) {
    let relay = builder.start().await;
    let store = relay.store(&pg);
    let api = Api::new(&relay);
    let (alice, bob) = (api.register(0).await, api.register(0).await);
    // A token that expires in 2 s, stored as login stores it:
    // PARLEY_TOKEN_TTL_SECS stays at 60 s or more, because the app renews
    // a token once it has less than a minute left.
    let token = encode_b64(&sha256(&[b"short-lived", &common::now_ms().to_be_bytes()]));
    let now = common::now_ms();
    let expires_at = now + 2000;
    let hash = sha256(&[token.as_bytes()]);
    assert!(
        store
            .insert_token(
                alice.identity.device_id().as_bytes(),
                &hash,
                now,
                expires_at
            )
            .unwrap()
    );
    let (mut idle, _) = Ws::connect(&relay.base, &token).await;
    let (mut busy, _) = Ws::connect(&relay.base, &token).await;
    busy.send(&send(1, &bob)).await;
    assert_eq!(busy.recv().await, ServerFrame::Accepted { id: [1; 16] });

    // The idle socket is closed by the relay's timer, not before expiry.
    let (frames, code) = idle.frames_until_close().await;
    assert_eq!(code, Some(close::EXPIRED), "{frames:?}");
    assert!(common::now_ms() >= expires_at, "closed before expiry");
    // A frame sent past expiry is not served.
    tokio::time::sleep(Duration::from_millis(100)).await;
    send_late(&mut busy, &send(2, &bob)).await;
    let (frames, code) = busy.frames_until_close().await;
    assert_eq!(code, Some(close::EXPIRED), "{frames:?}");
    assert_eq!(accepted(&frames), Vec::<EnvelopeId>::new());
    assert_eq!(
        store
            .queued_count(bob.identity.device_id().as_bytes())
            .unwrap(),
        1
    );
    assert_eq!(rest_status(&api, &token).await, 401);
}

/// Attack: a token was stolen and its owner cannot tell which one; logging
/// out everywhere must cut off every session of the device, sockets included.
async fn log_out_everywhere_closes_every_socket_and_token(
    builder: RelayBuilder,
    pg: Option<String>,
) {
    let relay = builder.start().await;
    let store = relay.store(&pg);
    let api = Api::new(&relay);
    let (alice, bob) = (api.register(0).await, api.register(0).await);
    let second = login(&api, &alice).await;
    let (mut a1, _) = Ws::connect(&relay.base, &alice.token).await;
    let (mut a2, _) = Ws::connect(&relay.base, &second).await;
    let (mut b, _) = Ws::connect(&relay.base, &bob.token).await;

    let (st, v) = api
        .send("DELETE", "/api/v1/auth/sessions", Some(&second), None)
        .await;
    assert_eq!(st, 204, "{v}");
    send_late(&mut a1, &send(1, &bob)).await;
    send_late(&mut a2, &send(2, &bob)).await;
    for a in [&mut a1, &mut a2] {
        let (frames, code) = a.frames_until_close().await;
        assert_eq!(code, Some(close::REVOKED), "{frames:?}");
        assert_eq!(accepted(&frames), Vec::<EnvelopeId>::new());
    }
    assert_eq!(rest_status(&api, &alice.token).await, 401);
    assert_eq!(rest_status(&api, &second).await, 401);
    assert!(b.silent_for(300).await, "nothing reaches Bob");
    assert_eq!(
        store
            .queued_count(bob.identity.device_id().as_bytes())
            .unwrap(),
        0
    );

    // Only Alice's sessions ended: Bob is untouched, and Alice's device
    // (keys, mailbox) stays, so she can log in again.
    assert_eq!(rest_status(&api, &bob.token).await, 200);
    b.send(&send(3, &alice)).await;
    assert_eq!(b.recv().await, ServerFrame::Accepted { id: [3; 16] });
    let fresh = login(&api, &alice).await;
    let (_, queued) = Ws::connect(&relay.base, &fresh).await;
    assert_eq!(queued, 1);
}

common::backends::relay_tests! {
    revoked_token_socket_cannot_send_or_ack,
    erased_device_socket_is_closed,
    expired_token_socket_is_closed,
    log_out_everywhere_closes_every_socket_and_token,
}
