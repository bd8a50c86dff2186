//! Group rooms through the engine against the real relay (SQLite and
//! PostgreSQL), step by step as they are built (issue 15, ADR 0025): a room
//! created by Alice reaches the members' engines with the same state.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::backends::relay_tests;
use common::device::{Client, alice_and_bob, pair, settle};
use common::relay::RelayBuilder;
use parley_shared::crypto::os_rng;
use parley_shared::group::Lifetime;
use parley_shared::testing::Transport as _;

async fn a_room_created_by_alice_is_joined_by_her_contacts(
    builder: RelayBuilder,
    _pg: Option<String>,
) {
    let relay = builder.start().await;
    let (ahead, mut alice, mut bob) = alice_and_bob(&relay.base).await;
    let mut carol = Client::new(&relay.base, "Carol", ahead.clone()).await;
    carol.connect().await;
    pair(&mut alice, &mut carol).await;
    // Pairwise exchanges make the accounts known (safety numbers ready).
    settle(&mut [&mut alice, &mut bob, &mut carol]).await;
    let b_id = bob.engine.device_id();
    let c_id = carol.engine.device_id();
    assert!(alice.engine.safety_number(&b_id).is_some());
    assert!(alice.engine.safety_number(&c_id).is_some());

    let now = alice.io.now();
    let room = alice
        .engine
        .create_room(
            &mut os_rng(),
            "Weekend",
            &[b_id, c_id],
            Lifetime::default(),
            now,
        )
        .unwrap();
    alice.drain().await;
    settle(&mut [&mut alice, &mut bob, &mut carol]).await;

    let state = |c: &Client| {
        c.engine
            .rooms()
            .into_iter()
            .find(|(id, _)| **id == room)
            .map(|(_, e)| e.room.state().clone())
    };
    let theirs = state(&alice).expect("Alice's room");
    assert_eq!(theirs.name, "Weekend");
    assert_eq!(theirs.members.len(), 3);
    assert_eq!(
        state(&bob).as_ref(),
        Some(&theirs),
        "Bob joined with the same state"
    );
    assert_eq!(
        state(&carol).as_ref(),
        Some(&theirs),
        "Carol joined with the same state"
    );

    // A message encrypted once reaches both (the sender key went first,
    // over the pairwise sessions, in the same ordered queue).
    let now = alice.io.now();
    alice
        .engine
        .send_room_text(&mut os_rng(), &room, "hello room", now)
        .unwrap();
    alice.drain().await;
    settle(&mut [&mut alice, &mut bob, &mut carol]).await;
    let alice_account = alice.engine.account_public().unwrap().id();
    for c in [&bob, &carol] {
        let got: Vec<_> = c
            .engine
            .room_messages(&room)
            .iter()
            .map(|m| (m.from, m.text.clone()))
            .collect();
        assert_eq!(got, vec![(Some(alice_account), "hello room".to_owned())]);
    }
    let mine = alice.engine.room_messages(&room);
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].status, parley_shared::engine::model::Status::Sent);
}

relay_tests! {
    a_room_created_by_alice_is_joined_by_her_contacts,
}
