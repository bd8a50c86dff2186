//! Presence and ephemeral envelopes against the real relay: what a contact
//! sees, and what a registered stranger who knows a device id cannot learn.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::api::{Api, Ws};
use common::relay::RelayBuilder;
use parley_relay::config::DatabaseTarget;
use parley_relay::db::Store;
use parley_shared::protocol::ErrorCode;
use parley_shared::protocol::ws::{ClientFrame, DeviceId, ServerFrame};

fn store_of(relay: &common::relay::Relay) -> Store {
    Store::connect(&DatabaseTarget::Sqlite(relay.data_dir.join("parley.db")), 2).unwrap()
}

fn presence(share: bool, watch: Vec<DeviceId>) -> ClientFrame {
    ClientFrame::Presence { share, watch }
}

fn seen(device: DeviceId, online: bool) -> ServerFrame {
    ServerFrame::Presence { device, online }
}

#[tokio::test]
async fn presence_is_opt_in_mutual_and_flips_when_a_device_leaves() {
    let relay = RelayBuilder::new().start().await;
    let api = Api::new(&relay);
    let (alice, bob) = (api.register(0).await, api.register(0).await);
    let (a_id, b_id) = (alice.identity.device_id(), bob.identity.device_id());
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    let (mut b, _) = Ws::connect(&relay.base, &bob.token).await;

    // Bob watches Alice: she is not sharing yet, so she looks offline.
    b.send(&presence(true, vec![a_id])).await;
    assert_eq!(b.recv().await, seen(a_id, false));
    // Alice opts in and watches Bob (who shares): both see each other.
    a.send(&presence(true, vec![b_id])).await;
    assert_eq!(a.recv().await, seen(b_id, true));
    assert_eq!(b.recv().await, seen(a_id, true));
    // Alice turns it off: Bob sees her go; she stops following him.
    a.send(&presence(false, vec![])).await;
    assert_eq!(b.recv().await, seen(a_id, false));
    a.send(&presence(true, vec![b_id])).await;
    assert_eq!(a.recv().await, seen(b_id, true));
    assert_eq!(b.recv().await, seen(a_id, true));
    // Alice closes her page: Bob learns it.
    drop(a);
    assert_eq!(b.recv().await, seen(a_id, false));
    // Too large a watch list is refused, the connection stays.
    b.send(&presence(true, vec![DeviceId::new([1; 32]); 300]))
        .await;
    assert!(matches!(
        b.recv().await,
        ServerFrame::Error {
            code: ErrorCode::TooLarge,
            ..
        }
    ));
}

/// A registered stranger who knows Alice's device id watches her: she
/// shares presence with her contact Bob only, so the stranger sees her
/// offline whatever happens, and its ephemeral sends get the same answer
/// whether she is connected or not.
#[tokio::test]
async fn stranger_cannot_learn_online_state_by_presence_or_ephemeral_sends() {
    let relay = RelayBuilder::new().start().await;
    let api = Api::new(&relay);
    let [alice, bob, mallory] = api.devices().await;
    let (a_id, b_id) = (alice.identity.device_id(), bob.identity.device_id());
    let (mut m, _) = Ws::connect(&relay.base, &mallory.token).await;
    m.send(&presence(true, vec![a_id])).await;
    assert_eq!(m.recv().await, seen(a_id, false));
    let probe = |id: u8| ClientFrame::Send {
        id: [id; 16],
        to: a_id,
        ephemeral: true,
        payload: b"ping".to_vec(),
        list: None,
    };
    m.send(&probe(1)).await;
    let offline_answer = m.recv().await;

    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    a.send(&presence(true, vec![b_id])).await;
    assert_eq!(a.recv().await, seen(b_id, false));
    let (mut b, _) = Ws::connect(&relay.base, &bob.token).await;
    b.send(&presence(true, vec![a_id])).await;
    assert_eq!(b.recv().await, seen(a_id, true), "her contact sees her");
    assert_eq!(a.recv().await, seen(b_id, true));
    // Mallory re-asks and probes: nothing differs from when Alice was away.
    m.send(&presence(true, vec![a_id, b_id])).await;
    let mut answers = [m.recv().await, m.recv().await];
    answers.sort_by_key(|f| format!("{f:?}"));
    assert!(answers.contains(&seen(a_id, false)), "{answers:?}");
    assert!(answers.contains(&seen(b_id, false)), "{answers:?}");
    m.send(&probe(2)).await;
    let online_answer = m.recv().await;
    assert_eq!(
        (offline_answer, online_answer),
        (
            ServerFrame::Accepted { id: [1; 16] },
            ServerFrame::Accepted { id: [2; 16] }
        )
    );
    // Alice's page closes and opens again: Mallory is never told.
    drop(a);
    assert_eq!(b.recv().await, seen(a_id, false));
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    a.send(&presence(true, vec![b_id])).await;
    assert_eq!(b.recv().await, seen(a_id, true));
    assert!(
        m.silent_for(300).await,
        "no presence frame reaches the stranger"
    );
}

#[tokio::test]
async fn ephemeral_sends_do_not_reveal_whether_the_recipient_is_online() {
    let relay = RelayBuilder::new().start().await;
    let store = store_of(&relay);
    let api = Api::new(&relay);
    let (alice, bob) = (api.register(0).await, api.register(0).await);
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    let offer = |id| ClientFrame::Send {
        id: [id; 16],
        to: bob.identity.device_id(),
        ephemeral: true,
        payload: b"sdp".to_vec(),
        list: None,
    };
    // Bob offline: the same answer as online, and nothing is kept for him.
    a.send(&offer(1)).await;
    assert_eq!(a.recv().await, ServerFrame::Accepted { id: [1; 16] });
    let (mut b, _) = Ws::connect(&relay.base, &bob.token).await;
    a.send(&offer(2)).await;
    assert_eq!(a.recv().await, ServerFrame::Accepted { id: [2; 16] });
    assert!(matches!(
        b.recv().await,
        ServerFrame::Deliver {
            id: [2, ..],
            ephemeral: true,
            ..
        }
    ));
    assert!(b.silent_for(200).await, "the offline one was dropped");
    assert_eq!(
        store
            .envelope_rows_for(bob.identity.device_id().as_bytes())
            .unwrap(),
        0
    );
    // Even a device that does not exist gets the same answer.
    a.send(&ClientFrame::Send {
        id: [3; 16],
        to: DeviceId::new([9; 32]),
        ephemeral: true,
        payload: b"sdp".to_vec(),
        list: None,
    })
    .await;
    assert_eq!(a.recv().await, ServerFrame::Accepted { id: [3; 16] });
}
