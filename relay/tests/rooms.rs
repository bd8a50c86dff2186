//! Group rooms through the engine against the real relay (SQLite and
//! PostgreSQL), issue 15, ADR 0025: a room created by Alice reaches the
//! members' engines with the same state; members who are not each other's
//! contacts talk through sessions started from the room's signed log;
//! receipts per member; a removed member reads nothing after; a room with
//! a lifetime is gone from every device and the relay when it ends.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::backends::relay_tests;
use common::device::{Client, alice_and_bob, pair, settle};
use common::relay::RelayBuilder;
use parley_shared::crypto::os_rng;
use parley_shared::engine::model::Status;
use parley_shared::engine::rooms::messages::{RoomBody, RoomNotice};
use parley_shared::group::Lifetime;
use parley_shared::group::RoomId;
use parley_shared::testing::Transport as _;
use parley_shared::time::Millis;

/// Alice, with Bob and Carol as contacts who are not each other's, and a
/// room of the three made by Alice.
async fn three_in_a_room(
    relay: &common::relay::Relay,
    lifetime: Lifetime,
) -> (
    std::rc::Rc<std::cell::Cell<u64>>,
    Client,
    Client,
    Client,
    RoomId,
) {
    let (ahead, mut alice, mut bob) = alice_and_bob(&relay.base).await;
    let mut carol = Client::new(&relay.base, "Carol", ahead.clone()).await;
    carol.connect().await;
    pair(&mut alice, &mut carol).await;
    settle(&mut [&mut alice, &mut bob, &mut carol]).await;
    let members = [bob.engine.device_id(), carol.engine.device_id()];
    let now = alice.io.now();
    let room = alice
        .engine
        .create_room(&mut os_rng(), "Trip", &members, lifetime, now)
        .unwrap();
    alice.drain().await;
    settle(&mut [&mut alice, &mut bob, &mut carol]).await;
    (ahead, alice, bob, carol, room)
}

fn texts(c: &Client, room: &RoomId) -> Vec<String> {
    c.engine
        .room_messages(room)
        .iter()
        .filter_map(|m| m.text().map(str::to_owned))
        .collect()
}

async fn say(c: &mut Client, room: &RoomId, text: &str) {
    let now = c.io.now();
    c.engine
        .send_room_text(&mut os_rng(), room, text, now)
        .unwrap();
    c.drain().await;
}

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
            .filter_map(|m| m.text().map(|t| (m.from, t.to_owned())))
            .collect();
        assert_eq!(got, vec![(Some(alice_account), "hello room".to_owned())]);
    }
    let mine: Vec<_> = alice
        .engine
        .room_messages(&room)
        .iter()
        .filter(|m| m.text().is_some())
        .collect();
    assert_eq!(mine.len(), 1);
    // Both members' devices stored it.
    assert_eq!(mine[0].status, Status::Delivered);
    assert_eq!(mine[0].delivered.len(), 2);
}

/// Bob and Carol are not contacts: each learns the other's account key
/// from Alice's signed log, fetches the list the relay serves for it, and
/// starts sessions to share sender keys. Receipts come per member.
async fn members_who_are_not_contacts_read_each_other_with_receipts(
    builder: RelayBuilder,
    _pg: Option<String>,
) {
    let relay = builder.start().await;
    let (_ahead, mut alice, mut bob, mut carol, room) =
        three_in_a_room(&relay, Lifetime::default()).await;
    let bob_account = bob.engine.account_public().unwrap().id();
    let carol_account = carol.engine.account_public().unwrap().id();
    assert!(
        bob.engine
            .safety_number(&carol.engine.device_id())
            .is_none()
    );

    say(&mut bob, &room, "from Bob").await;
    settle(&mut [&mut alice, &mut bob, &mut carol]).await;
    say(&mut carol, &room, "from Carol").await;
    settle(&mut [&mut alice, &mut bob, &mut carol]).await;
    for c in [&alice, &bob, &carol] {
        assert_eq!(texts(c, &room), vec!["from Bob", "from Carol"]);
    }
    // Carol's message came from Carol's account, as her key says.
    let last = bob.engine.room_messages(&room).last().unwrap().clone();
    assert_eq!(last.from, Some(carol_account));

    // Bob's message was stored by both others; read by Carol only so far.
    let mine = |c: &Client| {
        c.engine
            .room_messages(&room)
            .iter()
            .find(|m| m.from.is_none() && m.text().is_some())
            .cloned()
            .unwrap()
    };
    assert_eq!(mine(&bob).delivered.len(), 2);
    assert_eq!(mine(&bob).status, Status::Delivered);
    carol.engine.mark_room_read(&mut os_rng(), &room);
    carol.drain().await;
    settle(&mut [&mut alice, &mut bob, &mut carol]).await;
    let m = mine(&bob);
    assert_eq!(
        m.read.iter().copied().collect::<Vec<_>>(),
        vec![carol_account]
    );
    assert_eq!((m.read.len(), m.audience), (1, 2), "read by 1 of 2");
    alice.engine.mark_room_read(&mut os_rng(), &room);
    alice.drain().await;
    settle(&mut [&mut alice, &mut bob, &mut carol]).await;
    assert_eq!(mine(&bob).status, Status::Read);
    assert!(!mine(&carol).read.contains(&bob_account));

    // After a reload everything is still there, and the sessions work.
    bob.reload();
    bob.connect().await;
    say(&mut bob, &room, "again").await;
    settle(&mut [&mut alice, &mut bob, &mut carol]).await;
    assert_eq!(
        texts(&carol, &room).last().map(String::as_str),
        Some("again")
    );
}

/// Alice removes Carol: Carol's engine says so and, from then on, holds no
/// key that reads Alice's or Bob's messages, and stores none of them.
async fn a_removed_member_reads_nothing_after(builder: RelayBuilder, _pg: Option<String>) {
    let relay = builder.start().await;
    let (_ahead, mut alice, mut bob, mut carol, room) =
        three_in_a_room(&relay, Lifetime::default()).await;
    say(&mut alice, &room, "before").await;
    settle(&mut [&mut alice, &mut bob, &mut carol]).await;
    say(&mut bob, &room, "before too").await;
    settle(&mut [&mut alice, &mut bob, &mut carol]).await;
    assert_eq!(texts(&carol, &room).len(), 2);
    let carol_account = carol.engine.account_public().unwrap().id();

    // Only an admin may remove.
    let now = bob.io.now();
    assert!(
        bob.engine
            .room_remove(&mut os_rng(), &room, carol_account, now)
            .is_err()
    );
    let now = alice.io.now();
    alice
        .engine
        .room_remove(&mut os_rng(), &room, carol_account, now)
        .unwrap();
    alice.drain().await;
    settle(&mut [&mut alice, &mut bob, &mut carol]).await;
    let entry = |c: &Client| {
        c.engine
            .rooms()
            .into_iter()
            .find(|(id, _)| **id == room)
            .map(|(_, e)| (e.room.joined(), e.room.state().members.len()))
    };
    assert_eq!(entry(&carol), Some((false, 2)));
    assert_eq!(entry(&bob), Some((true, 2)));
    let told = carol.engine.room_messages(&room).iter().any(
        |m| matches!(&m.body, RoomBody::Notice(RoomNotice::RemovedYou { by }) if by == "Alice"),
    );
    assert!(told, "Carol is told she was removed");
    let keys_before = carol.store.0.clone();

    say(&mut alice, &room, "after").await;
    settle(&mut [&mut alice, &mut bob, &mut carol]).await;
    say(&mut bob, &room, "after too").await;
    settle(&mut [&mut alice, &mut bob, &mut carol]).await;
    assert_eq!(
        texts(&bob, &room),
        vec!["before", "before too", "after", "after too"]
    );
    assert_eq!(texts(&carol, &room), vec!["before", "before too"]);
    // Nothing Carol stored since holds the new texts; her room record
    // (keys) is as it was: no new sender key reached her.
    let stored: Vec<u8> = carol.store.0.values().flatten().copied().collect();
    assert!(!stored.windows(5).any(|w| w == b"after"));
    let room_key = format!("room/{}", room.to_hex());
    assert_eq!(carol.store.0.get(&room_key), keys_before.get(&room_key));
    // And she can no longer send.
    let now = carol.io.now();
    assert!(
        carol
            .engine
            .send_room_text(&mut os_rng(), &room, "still here?", now)
            .is_err()
    );
}

/// A room with a lifetime ends on every device; the relay holds nothing
/// of it (its envelopes were all acknowledged).
async fn a_room_with_a_lifetime_is_gone_everywhere(builder: RelayBuilder, pg: Option<String>) {
    let relay = builder.start().await;
    let (ahead, mut alice, mut bob, mut carol, _) =
        three_in_a_room(&relay, Lifetime::default()).await;
    let now = alice.io.now();
    let lifetime = Lifetime {
        ends_at: Some(now + Millis::from_secs(60)),
        idle: None,
    };
    let members = [bob.engine.device_id(), carol.engine.device_id()];
    let room = alice
        .engine
        .create_room(&mut os_rng(), "Short", &members, lifetime, now)
        .unwrap();
    alice.drain().await;
    settle(&mut [&mut alice, &mut bob, &mut carol]).await;
    say(&mut bob, &room, "soon gone").await;
    settle(&mut [&mut alice, &mut bob, &mut carol]).await;
    for c in [&alice, &bob, &carol] {
        assert_eq!(texts(c, &room), vec!["soon gone"]);
        assert_eq!(c.engine.room_ends_at(&room), lifetime.ends_at);
        // A file sent now is kept no longer than the room.
        let ttl = c
            .engine
            .room_file_ttl(&room, Millis::from_secs(86_400), c.io.now());
        assert!(ttl <= Millis::from_secs(60), "{ttl:?}");
    }
    let store = relay.store(&pg);
    assert_eq!(store.shared_payload_rows().unwrap(), 0, "all acknowledged");

    common::device::advance_to(&ahead, now + Millis::from_secs(61));
    for c in [&mut alice, &mut bob, &mut carol] {
        let now = c.io.now();
        c.engine.tick(now);
        c.drain().await;
        assert!(c.engine.rooms().iter().all(|(id, _)| **id != room));
        let hexid = room.to_hex();
        assert!(
            c.store.0.keys().all(|k| !k.contains(&hexid)),
            "no record of the room is left"
        );
    }
    assert_eq!(store.shared_payload_rows().unwrap(), 0);
    for c in [&alice, &bob, &carol] {
        assert_eq!(
            store.queued_count(c.engine.device_id().as_bytes()).unwrap(),
            0
        );
    }
}

/// Admin actions: Alice adds Dave (who reads from then on, not before),
/// makes Bob an admin, who renames the room; a timer makes later messages
/// disappear on every device; typing reaches members who are not contacts.
async fn admins_add_promote_rename_and_set_a_timer(builder: RelayBuilder, _pg: Option<String>) {
    let relay = builder.start().await;
    let (ahead, mut alice, mut bob, mut carol, room) =
        three_in_a_room(&relay, Lifetime::default()).await;
    say(&mut alice, &room, "before Dave").await;
    settle(&mut [&mut alice, &mut bob, &mut carol]).await;
    let mut dave = Client::new(&relay.base, "Dave", ahead.clone()).await;
    dave.connect().await;
    pair(&mut alice, &mut dave).await;
    settle(&mut [&mut alice, &mut bob, &mut carol, &mut dave]).await;
    let d_id = dave.engine.device_id();
    let now = alice.io.now();
    // Only admins may add.
    assert!(
        bob.engine
            .room_add(&mut os_rng(), &room, &d_id, now)
            .is_err()
    );
    alice
        .engine
        .room_add(&mut os_rng(), &room, &d_id, now)
        .unwrap();
    alice.drain().await;
    settle(&mut [&mut alice, &mut bob, &mut carol, &mut dave]).await;
    for c in [&alice, &bob, &carol, &dave] {
        let n = c.engine.room(&room).map(|e| e.room.state().members.len());
        assert_eq!(n, Some(4), "{} sees four members", c.engine.name());
    }
    say(&mut carol, &room, "welcome Dave").await;
    settle(&mut [&mut alice, &mut bob, &mut carol, &mut dave]).await;
    assert_eq!(
        texts(&dave, &room),
        vec!["welcome Dave"],
        "nothing from before"
    );

    // Bob becomes an admin and renames the room.
    let bob_account = bob.engine.account_public().unwrap().id();
    let now = alice.io.now();
    alice
        .engine
        .room_promote(&mut os_rng(), &room, bob_account, now)
        .unwrap();
    alice.drain().await;
    settle(&mut [&mut alice, &mut bob, &mut carol, &mut dave]).await;
    let now = bob.io.now();
    bob.engine
        .room_rename(&mut os_rng(), &room, "Trip 2", now)
        .unwrap();
    bob.drain().await;
    settle(&mut [&mut alice, &mut bob, &mut carol, &mut dave]).await;
    for c in [&alice, &bob, &carol, &dave] {
        let name = c.engine.room(&room).map(|e| e.room.state().name.clone());
        assert_eq!(name.as_deref(), Some("Trip 2"));
    }

    // Typing from Carol reaches Dave (neither is the other's contact).
    let now = carol.io.now();
    carol.engine.room_typing(&mut os_rng(), &room, true, now);
    carol.drain().await;
    settle(&mut [&mut carol, &mut dave]).await;
    let carol_account = carol.engine.account_public().unwrap().id();
    assert_eq!(
        dave.engine.room_typists(&room, dave.io.now()),
        vec![carol_account]
    );

    // A 30 s timer: later messages disappear everywhere.
    let now = alice.io.now();
    alice
        .engine
        .room_set_timer(&mut os_rng(), &room, Some(30), now)
        .unwrap();
    alice.drain().await;
    settle(&mut [&mut alice, &mut bob, &mut carol, &mut dave]).await;
    say(&mut dave, &room, "fleeting").await;
    settle(&mut [&mut alice, &mut bob, &mut carol, &mut dave]).await;
    for c in [&alice, &bob, &carol, &dave] {
        assert!(texts(c, &room).contains(&"fleeting".to_owned()));
    }
    common::device::advance_to(&ahead, alice.io.now() + Millis::from_secs(31));
    for c in [&mut alice, &mut bob, &mut carol, &mut dave] {
        let now = c.io.now();
        c.engine.tick(now);
        c.drain().await;
        assert!(!texts(c, &room).contains(&"fleeting".to_owned()));
        assert!(texts(c, &room).contains(&"welcome Dave".to_owned()));
        let stored: Vec<u8> = c.store.0.values().flatten().copied().collect();
        assert!(!stored.windows(8).any(|w| w == b"fleeting"));
    }
}

/// Carol links a tablet: it joins her rooms from her phone (as a late
/// joiner), Bob (not her contact) is told her devices changed and his next
/// message reaches the tablet, and the tablet can write.
async fn a_members_new_device_joins_and_the_others_are_told(
    builder: RelayBuilder,
    _pg: Option<String>,
) {
    let relay = builder.start().await;
    let (ahead, mut alice, mut bob, mut carol, room) =
        three_in_a_room(&relay, Lifetime::default()).await;
    say(&mut alice, &room, "before the tablet").await;
    settle(&mut [&mut alice, &mut bob, &mut carol]).await;
    let mut tablet = Client::new_for_link(&relay.base, "Carol", ahead.clone()).await;
    tablet.connect().await;
    common::link::link(&mut carol, &mut tablet, false).await;
    for _ in 0..2 {
        settle(&mut [&mut alice, &mut bob, &mut carol, &mut tablet]).await;
    }
    assert!(
        tablet.engine.room(&room).is_some_and(|e| e.room.joined()),
        "the tablet is in Carol's room"
    );
    say(&mut bob, &room, "hello tablet").await;
    for _ in 0..2 {
        settle(&mut [&mut alice, &mut bob, &mut carol, &mut tablet]).await;
    }
    assert_eq!(
        texts(&tablet, &room),
        vec!["hello tablet"],
        "nothing from before"
    );
    assert!(texts(&carol, &room).contains(&"hello tablet".to_owned()));
    let told = bob.engine.room_messages(&room).iter().any(|m| {
        matches!(&m.body, RoomBody::Notice(RoomNotice::DevicesChanged { name }) if name == "Carol")
    });
    assert!(told, "Bob is told Carol's devices changed");
    say(&mut tablet, &room, "from the tablet").await;
    for _ in 0..2 {
        settle(&mut [&mut alice, &mut bob, &mut carol, &mut tablet]).await;
    }
    for c in [&alice, &bob, &carol] {
        assert!(
            texts(c, &room).contains(&"from the tablet".to_owned()),
            "{} reads the tablet",
            c.engine.name()
        );
    }
}

/// A relay that keeps answering `StaleMany` for Bob (with Bob's list,
/// which changes nothing) cannot keep Alice's message looping: after
/// three rounds it goes without Bob, and it is never lost.
async fn a_relay_that_keeps_saying_stale_cannot_loop_a_message(
    builder: RelayBuilder,
    _pg: Option<String>,
) {
    use parley_shared::engine::Effect;
    use parley_shared::protocol::ws::{ClientFrame, ServerFrame, StaleRecipient};
    let relay = builder.start().await;
    let (_ahead, mut alice, mut bob, mut carol, room) =
        three_in_a_room(&relay, Lifetime::default()).await;
    say(&mut alice, &room, "warm up").await;
    settle(&mut [&mut alice, &mut bob, &mut carol]).await;
    let b_id = bob.engine.device_id();
    let bob_list = bob.engine.own_signed_list().cloned();
    let now = alice.io.now();
    alice
        .engine
        .send_room_text(&mut os_rng(), &room, "despite the relay", now)
        .unwrap();
    // Alice's sends are held back here; the test plays the relay.
    let next_many = |c: &mut Client| loop {
        match c.engine.next_effect() {
            Some(Effect::Send(ClientFrame::SendMany { id, to, .. })) => {
                return (id, to.iter().map(|r| r.device).collect::<Vec<_>>());
            }
            Some(_) => {}
            None => panic!("no SendMany"),
        }
    };
    let mut rounds = 0;
    loop {
        let (id, to) = next_many(&mut alice);
        if !to.contains(&b_id) {
            break;
        }
        rounds += 1;
        assert!(rounds <= 4, "still sent to Bob after {rounds} rounds");
        let stale = vec![StaleRecipient {
            device: b_id,
            list: bob_list.clone(),
        }];
        let now = alice.io.now();
        alice
            .engine
            .handle_frame(&mut os_rng(), ServerFrame::StaleMany { id, stale }, now);
    }
    assert_eq!(
        rounds, 4,
        "three rounds are followed, the fourth leaves Bob out"
    );
    // The message still goes to the others (resent on the next connection).
    alice.disconnect();
    alice.connect().await;
    settle(&mut [&mut alice, &mut bob, &mut carol]).await;
    assert!(texts(&carol, &room).contains(&"despite the relay".to_owned()));
}

relay_tests! {
    a_room_created_by_alice_is_joined_by_her_contacts,
    members_who_are_not_contacts_read_each_other_with_receipts,
    a_removed_member_reads_nothing_after,
    a_room_with_a_lifetime_is_gone_everywhere,
    admins_add_promote_rename_and_set_a_timer,
    a_members_new_device_joins_and_the_others_are_told,
    a_relay_that_keeps_saying_stale_cannot_loop_a_message,
}
