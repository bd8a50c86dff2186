//! The live fast path (ADR 0028) against the real relay process on SQLite
//! and PostgreSQL: a recipient that acks in time leaves no row at all (not
//! even an ack's tombstone), one that does not ack gets the envelope
//! committed before the sender's `Accepted`, a SIGKILL while a delivery
//! waits for its ack loses nothing the sender saw accepted, and a stranger
//! (someone the recipient does not show its presence to) never gets it, so
//! cannot time it to learn whether the recipient is online.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;

use common::api::{Api, Device, Ws};
use common::relay::RelayBuilder;
use common::{number_of, numbered_id};
use parley_shared::protocol::ws::{ClientFrame, DeviceId, ServerFrame};

fn send(i: u16, to: &Device) -> ClientFrame {
    ClientFrame::Send {
        id: numbered_id(i),
        to: to.identity.device_id(),
        ephemeral: false,
        payload: i.to_be_bytes().to_vec(),
        list: None,
    }
}

/// The next frame other than a presence change.
async fn next(ws: &mut Ws) -> ServerFrame {
    loop {
        match ws.recv().await {
            ServerFrame::Presence { .. } => {}
            other => return other,
        }
    }
}

/// The next `Deliver`'s id number.
async fn delivered(ws: &mut Ws) -> u16 {
    match next(ws).await {
        ServerFrame::Deliver { id, .. } => number_of(&id),
        other => panic!("expected a Deliver, got {other:?}"),
    }
}

async fn ack(ws: &mut Ws, from: &Device, i: u16) {
    ws.send(&ClientFrame::Ack {
        from: from.identity.device_id(),
        id: numbered_id(i),
    })
    .await;
}

/// Alice and Bob show each other their presence (as contacts with
/// presence on do), and each has seen the other's, so the relay has both.
async fn contacts(a: &mut Ws, alice: &Device, b: &mut Ws, bob: &Device) {
    share_with(b, alice).await;
    share_with(a, bob).await;
    online(a, bob).await;
    online(b, alice).await;
}

/// Shares presence and watches `whom` (who may then see it online).
async fn share_with(ws: &mut Ws, whom: &Device) {
    ws.send(&ClientFrame::Presence {
        share: true,
        watch: vec![whom.identity.device_id()],
    })
    .await;
}

/// Waits until `ws` is told that `of` is online.
async fn online(ws: &mut Ws, of: &Device) {
    let id = of.identity.device_id();
    loop {
        if let ServerFrame::Presence {
            device,
            online: true,
        } = ws.recv().await
            && device == id
        {
            return;
        }
    }
}

/// `sender` sends envelope `i` to `recipient`, who gets it live and acks
/// it at once; then the sender is told `Accepted`.
async fn round_trip(sender: (&mut Ws, &Device), recipient: (&mut Ws, &Device), i: u16) {
    let ((s, from), (r, to)) = (sender, recipient);
    s.send(&send(i, to)).await;
    assert_eq!(delivered(r).await, i, "live, in order");
    ack(r, from, i).await;
    assert_eq!(next(s).await, ServerFrame::Accepted { id: numbered_id(i) });
}

async fn acked_in_time_is_never_written(builder: RelayBuilder, pg: Option<String>) {
    // A window no loaded test machine misses: the test acks at once.
    let relay = builder.env("PARLEY_FAST_PATH_MS", "2000").start().await;
    let store = relay.store(&pg);
    let api = Api::new(&relay);
    let (alice, bob) = (api.register(0).await, api.register(0).await);
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    let (mut b, _) = Ws::connect(&relay.base, &bob.token).await;
    contacts(&mut a, &alice, &mut b, &bob).await;

    for i in 0..20 {
        round_trip((&mut a, &alice), (&mut b, &bob), i).await;
    }
    let (alice_id, bob_id) = (alice.identity.device_id(), bob.identity.device_id());
    assert_eq!(store.envelope_rows_for(bob_id.as_bytes()).unwrap(), 0);
    assert_eq!(
        store.tombstone_rows_for(alice_id.as_bytes()).unwrap(),
        0,
        "not committed and then acked either: never written"
    );
    assert_eq!(relay.metric("parley_envelopes_fast_total").await, 20.0);
    assert_eq!(relay.metric("parley_envelopes_stored_total").await, 0.0);
    assert!(b.silent_for(200).await, "each delivered once");

    // The same counts see a write when there is one: Bob offline.
    drop(b);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    a.send(&send(20, &bob)).await;
    assert_eq!(
        next(&mut a).await,
        ServerFrame::Accepted {
            id: numbered_id(20)
        }
    );
    assert_eq!(store.envelope_rows_for(bob_id.as_bytes()).unwrap(), 1);
}

async fn not_acked_in_time_is_committed_before_accepted(builder: RelayBuilder, pg: Option<String>) {
    let relay = builder.env("PARLEY_FAST_PATH_MS", "100").start().await;
    let store = relay.store(&pg);
    let api = Api::new(&relay);
    let (alice, bob) = (api.register(0).await, api.register(0).await);
    let (alice_id, bob_id) = (alice.identity.device_id(), bob.identity.device_id());
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    let (mut b, _) = Ws::connect(&relay.base, &bob.token).await;
    contacts(&mut a, &alice, &mut b, &bob).await;

    // Bob gets it at once and does not ack: after the window it is
    // committed, and only then accepted.
    a.send(&send(1, &bob)).await;
    assert_eq!(delivered(&mut b).await, 1);
    assert_eq!(
        next(&mut a).await,
        ServerFrame::Accepted { id: numbered_id(1) }
    );
    assert_eq!(
        store
            .envelope_rows_with_id(alice_id.as_bytes(), &numbered_id(1))
            .unwrap(),
        1,
        "the row exists when the sender is told Accepted"
    );
    assert!(
        b.silent_for(300).await,
        "the copy after the commit is skipped"
    );

    // Having missed the window, Bob's next envelopes are committed first.
    a.send(&send(2, &bob)).await;
    assert_eq!(
        next(&mut a).await,
        ServerFrame::Accepted { id: numbered_id(2) }
    );
    assert_eq!(delivered(&mut b).await, 2);
    assert_eq!(store.queued_count(bob_id.as_bytes()).unwrap(), 2);

    // A late ack deletes the row like any other.
    ack(&mut b, &alice, 1).await;
    ack(&mut b, &alice, 2).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while store.queued_count(bob_id.as_bytes()).unwrap() > 0 {
        assert!(tokio::time::Instant::now() < deadline, "acks not applied");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(store.tombstone_rows_for(alice_id.as_bytes()).unwrap(), 2);
    assert_eq!(relay.metric("parley_envelopes_fast_total").await, 0.0);
}

/// Alice pipelines 100 envelopes to Bob, who acks the first 50 and holds
/// the 51st; the relay is killed while that one waits for its ack. The 50
/// Alice saw accepted reached Bob before the kill, without a row; after
/// the restart Alice resends the rest and Bob has each of the 100, in
/// order, the accepted ones exactly once.
async fn sigkill_in_the_window_loses_nothing_accepted(builder: RelayBuilder, pg: Option<String>) {
    let relay = builder.env("PARLEY_FAST_PATH_MS", "2000").start().await;
    let api = Api::new(&relay);
    let (alice, bob) = (api.register(0).await, api.register(0).await);
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    let (mut b, _) = Ws::connect(&relay.base, &bob.token).await;
    contacts(&mut a, &alice, &mut b, &bob).await;
    let total = 100u16;
    for i in 0..total {
        a.send(&send(i, &bob)).await;
    }
    let mut seen: HashMap<u16, u32> = HashMap::new();
    let mut first_order = Vec::new();
    loop {
        let i = delivered(&mut b).await;
        *seen.entry(i).or_default() += 1;
        first_order.push(i);
        if i == 50 {
            break;
        }
        ack(&mut b, &alice, i).await;
    }
    let mut accepted = Vec::new();
    while accepted.len() < 50 {
        if let ServerFrame::Accepted { id } = next(&mut a).await {
            accepted.push(number_of(&id));
        }
    }
    assert!(a.silent_for(300).await, "the 51st waits for its ack");
    let store = relay.store(&pg);
    let bob_id = bob.identity.device_id();
    assert_eq!(store.envelope_rows_for(bob_id.as_bytes()).unwrap(), 0);

    let relay = relay.crash_and_restart().await;
    drop((a, b));
    let (mut b, queued) = Ws::connect(&relay.base, &bob.token).await;
    assert_eq!(queued, 0, "nothing was committed, and nothing is owed");
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    contacts(&mut a, &alice, &mut b, &bob).await;
    // Alice resends what she was not told was accepted, in order.
    for i in 50..total {
        a.send(&send(i, &bob)).await;
    }
    for _ in 50..total {
        let i = delivered(&mut b).await;
        if *seen.entry(i).or_default() == 0 {
            first_order.push(i);
        }
        *seen.entry(i).or_default() += 1;
        ack(&mut b, &alice, i).await;
    }
    assert_eq!(accepted, (0..50).collect::<Vec<_>>());
    assert_eq!(
        first_order,
        (0..total).collect::<Vec<_>>(),
        "per-sender order"
    );
    for i in &accepted {
        assert_eq!(seen[i], 1, "accepted envelope {i} arrives exactly once");
    }
    assert_eq!(
        seen[&50], 2,
        "the one in the window comes again: a duplicate"
    );
}

/// Mallory knows Bob's device id but is not on his watch list: Bob is
/// online and acks at once, yet her envelopes are committed like those to
/// an offline device (each ack leaves its tombstone), so the time to her
/// `Accepted` does not depend on whether Bob is online. Alice, a contact,
/// gets the fast path at the same time.
async fn a_stranger_never_gets_the_fast_path(builder: RelayBuilder, pg: Option<String>) {
    let relay = builder.env("PARLEY_FAST_PATH_MS", "2000").start().await;
    let store = relay.store(&pg);
    let api = Api::new(&relay);
    let [alice, bob, mallory] = api.devices::<3>().await;
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    let (mut b, _) = Ws::connect(&relay.base, &bob.token).await;
    let (mut m, _) = Ws::connect(&relay.base, &mallory.token).await;
    contacts(&mut a, &alice, &mut b, &bob).await;
    // Mallory watches Bob too: it does not make her his contact.
    share_with(&mut m, &bob).await;
    for i in 0..5 {
        round_trip((&mut m, &mallory), (&mut b, &bob), i).await;
        round_trip((&mut a, &alice), (&mut b, &bob), i).await;
    }
    let (alice_id, mallory_id) = (alice.identity.device_id(), mallory.identity.device_id());
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while store.tombstone_rows_for(mallory_id.as_bytes()).unwrap() < 5 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "Mallory's were not committed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(store.tombstone_rows_for(alice_id.as_bytes()).unwrap(), 0);
    assert_eq!(relay.metric("parley_envelopes_fast_total").await, 5.0);
}

/// One side of a two-way exchange: pipelines `n` envelopes to `other`
/// while acking each one it gets from it; returns the ids it received, and
/// the connection (closing it while the other side still reads could reset
/// it before the relay has read the last ack).
async fn converse(mut ws: Ws, other: DeviceId, n: u16) -> (Vec<u16>, Ws) {
    for i in 0..n {
        ws.send(&ClientFrame::Send {
            id: numbered_id(i),
            to: other,
            ephemeral: false,
            payload: i.to_be_bytes().to_vec(),
            list: None,
        })
        .await;
    }
    let (mut accepted, mut got) = (0, Vec::new());
    while accepted < n || got.len() < usize::from(n) {
        match next(&mut ws).await {
            ServerFrame::Accepted { .. } => accepted += 1,
            ServerFrame::Deliver { from, id, .. } => {
                assert_eq!(from, other);
                got.push(number_of(&id));
                ws.send(&ClientFrame::Ack { from, id }).await;
            }
            frame => panic!("{frame:?}"),
        }
    }
    (got, ws)
}

/// Alice and Bob each pipeline 50 envelopes to the other at the same time.
/// Each one's sends wait for the other's acks; those acks must not queue
/// behind the acker's own waiting sends (frames one at a time had every
/// envelope wait out its window, here 100 × 2 s). All 100 go the fast path.
async fn two_contacts_writing_at_once_do_not_wait_out_the_window(
    builder: RelayBuilder,
    pg: Option<String>,
) {
    let relay = builder.env("PARLEY_FAST_PATH_MS", "2000").start().await;
    let store = relay.store(&pg);
    let api = Api::new(&relay);
    let [alice, bob] = api.devices::<2>().await;
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    let (mut b, _) = Ws::connect(&relay.base, &bob.token).await;
    contacts(&mut a, &alice, &mut b, &bob).await;
    let both = async {
        tokio::join!(
            converse(a, bob.identity.device_id(), 50),
            converse(b, alice.identity.device_id(), 50)
        )
    };
    let ((at_alice, _a), (at_bob, _b)) =
        tokio::time::timeout(std::time::Duration::from_secs(20), both)
            .await
            .expect("the exchange stalled");
    assert_eq!(at_alice, (0..50).collect::<Vec<_>>());
    assert_eq!(at_bob, (0..50).collect::<Vec<_>>());
    assert_eq!(relay.metric("parley_envelopes_fast_total").await, 100.0);
    for d in [&alice, &bob] {
        let id = d.identity.device_id();
        assert_eq!(store.tombstone_rows_for(id.as_bytes()).unwrap(), 0);
    }
}

common::backends::relay_tests! {
    two_contacts_writing_at_once_do_not_wait_out_the_window,
    a_stranger_never_gets_the_fast_path,
    acked_in_time_is_never_written,
    not_acked_in_time_is_committed_before_accepted,
    sigkill_in_the_window_loses_nothing_accepted,
}
