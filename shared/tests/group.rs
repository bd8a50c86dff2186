//! Group rooms (issue 15): membership changes, sender keys, and the attacks
//! a member, an outsider or the relay could try. Every room here is real
//! crypto (vodozemac Megolm, Ed25519 account keys); only the transport is
//! the test itself.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use parley_shared::map::Map;

use parley_shared::crypto::account::{AccountId, AccountKeyPair};
use parley_shared::crypto::codec;
use parley_shared::crypto::keys::IdentityKeyPair;
use parley_shared::group::change::ChangeBody;
use parley_shared::group::log::Refusal;
use parley_shared::group::{
    GroupError, GroupMessage, Invitee, Lifetime, Op, Prepared, Room, RoomId, RoomLog, SignedChange,
};
use parley_shared::protocol::ws::DeviceId;
use parley_shared::testing::SeededRng;
use parley_shared::time::UnixMs;

const T0: UnixMs = UnixMs::from_millis(1_800_000_000_000);

struct Person {
    name: String,
    key: AccountKeyPair,
    device: DeviceId,
}

impl Person {
    fn new(rng: &mut SeededRng, name: &str) -> Self {
        Self {
            name: name.to_owned(),
            key: AccountKeyPair::generate(rng),
            device: IdentityKeyPair::generate(rng).device_id(),
        }
    }

    fn id(&self) -> AccountId {
        self.key.public().id()
    }

    fn invitee(&self) -> Invitee {
        Invitee {
            account: self.key.public(),
            name: self.name.clone(),
        }
    }
}

fn people(rng: &mut SeededRng, n: usize) -> Vec<Person> {
    (0..n)
        .map(|i| Person::new(rng, &format!("member {i}")))
        .collect()
}

/// Alice (`people[0]`) creates a room with everyone else; every member
/// holds its own copy.
fn room_of(people: &[Person]) -> (Vec<Room>, SignedChange) {
    let (log, create) = RoomLog::create(
        &people[0].key,
        RoomId([7; 16]),
        "Team".into(),
        people[0].name.clone(),
        people[1..].iter().map(Person::invitee).collect(),
        Lifetime::default(),
        T0,
    )
    .expect("create");
    let rooms = people
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let log = if i == 0 {
                log.clone()
            } else {
                RoomLog::new(&create).expect("join")
            };
            Room::new(log, p.id(), p.device)
        })
        .collect();
    (rooms, create)
}

fn devices(people: &[Person]) -> Map<AccountId, Vec<DeviceId>> {
    people.iter().map(|p| (p.id(), vec![p.device])).collect()
}

/// Hands `p`'s share to the devices it names (what the pairwise sessions
/// carry).
fn deliver_share(people: &[Person], rooms: &mut [Room], sender: usize, p: &Prepared) {
    for (i, person) in people.iter().enumerate() {
        if p.share_to.contains(&person.device) {
            rooms[i]
                .accept_share(
                    p.share.as_ref().expect("share"),
                    people[sender].device,
                    people[sender].id(),
                )
                .expect("share accepted");
        }
    }
}

fn stored(room: &Room) -> Vec<u8> {
    codec::encode(1, &room.to_stored().expect("stored"))
}

#[test]
fn fifty_members_each_read_every_message_once() {
    let mut rng = SeededRng::new("group fifty");
    let people = people(&mut rng, 50);
    let (mut rooms, _) = room_of(&people);
    assert_eq!(rooms[0].state().members.len(), 50);
    let all = devices(&people);
    for sender in [0usize, 17, 49] {
        let text = format!("hello from {sender}");
        let p = rooms[sender]
            .encrypt(T0, &all, text.as_bytes())
            .expect("encrypt");
        assert_eq!(p.recipients.len(), 49, "every other member device");
        assert_eq!(p.share_to.len(), 49, "first message shares the key");
        deliver_share(&people, &mut rooms, sender, &p);
        let wire = p.message.to_bytes();
        assert!(GroupMessage::is_group(&wire));
        for (i, room) in rooms.iter_mut().enumerate() {
            if i == sender {
                continue;
            }
            let m = GroupMessage::from_bytes(&wire).expect("decode");
            let (from, plain) = room.decrypt(people[sender].device, &m).expect("decrypt");
            assert_eq!(from, people[sender].id());
            assert_eq!(plain.as_slice(), text.as_bytes());
        }
        // Steady state: the next message needs no share.
        let q = rooms[sender].encrypt(T0, &all, b"again").expect("encrypt");
        assert!(q.share_to.is_empty());
        assert!(!q.rotated);
        for (i, room) in rooms.iter_mut().enumerate() {
            if i != sender {
                room.decrypt(people[sender].device, &q.message)
                    .expect("steady decrypt");
            }
        }
    }
}

/// A member history with concurrent branches from two admins.
fn history(people: &[Person], alice_log: &mut RoomLog) -> Vec<SignedChange> {
    let mut out = Vec::new();
    let mut step = |log: &mut RoomLog, who: usize, op: Op| {
        let c = log.propose(&people[who].key, op, T0).expect("propose");
        log.insert(std::slice::from_ref(&c)).expect("insert");
        out.push(c);
    };
    step(alice_log, 0, Op::Promote(people[1].id()));
    step(alice_log, 0, Op::Rename("Team 2".into()));
    // Bob branches off here and works concurrently with Alice.
    let mut bob_log = alice_log.clone();
    step(alice_log, 0, Op::Remove(people[2].id()));
    step(alice_log, 0, Op::SetTimer(Some(3600)));
    step(&mut bob_log, 1, Op::Rename("Bob's room".into()));
    step(&mut bob_log, 1, Op::Remove(people[3].id()));
    step(&mut bob_log, 1, Op::Add(people[2].invitee()));
    // A non-admin's changes: kept in the log, ignored by the fold.
    step(&mut bob_log, 5, Op::Remove(people[0].id()));
    step(alice_log, 4, Op::Leave);
    out
}

#[test]
fn fifty_members_apply_changes_in_one_order_whatever_the_delivery_order() {
    let mut rng = SeededRng::new("group order");
    let people = people(&mut rng, 50);
    let (mut rooms, _) = room_of(&people);
    let mut alice = rooms[0].log().clone();
    let changes = history(&people, &mut alice);
    let expected = alice.clone();
    // Alice's own log only saw her branch; give her Bob's too.
    let mut reference = expected;
    reference.insert(&changes).expect("all");
    let mut states = Vec::new();
    let mut held = 0;
    for (i, room) in rooms.iter_mut().enumerate().skip(1) {
        // A different arrival order per member, one change at a time.
        let mut order = changes.clone();
        let n = order.len();
        for k in 0..n {
            order.swap(k, (k * 7 + i * 13) % n);
        }
        for c in &order {
            let out = room.apply(std::slice::from_ref(c)).expect("apply");
            held = held.max(out.waiting);
        }
        states.push(room.state().clone());
        assert_eq!(room.log().changes(), reference.changes(), "member {i}");
    }
    assert!(held > 0, "some members got changes before their parents");
    for s in &states {
        assert_eq!(s, reference.state());
    }
    let st = reference.state();
    // Bob's remove of member 3 and re-add of member 2 both stand; the
    // non-admin's removal of Alice is ignored; member 4 left.
    assert!(st.is_member(&people[0].id()));
    assert!(st.is_member(&people[2].id()));
    assert!(!st.is_member(&people[3].id()));
    assert!(!st.is_member(&people[4].id()));
    assert_eq!(st.timer, Some(3600));
    assert_eq!(st.members.len(), 48);
}

#[test]
fn a_change_by_a_non_admin_or_an_outsider_is_ignored_and_reported() {
    let mut rng = SeededRng::new("group forged");
    let people = people(&mut rng, 4);
    let outsider = Person::new(&mut rng, "mallory");
    let (mut rooms, _) = room_of(&people);
    let before = rooms[1].state().clone();

    let by_member = rooms[2]
        .log()
        .propose(&people[2].key, Op::Remove(people[0].id()), T0)
        .expect("propose");
    let out = rooms[1].apply(&[by_member]).expect("verified");
    assert_eq!(out.new.len(), 1);
    assert_eq!(out.new[0].refused, Some(Refusal::NotAdmin));
    assert_eq!(rooms[1].state().members, before.members);

    let by_outsider = rooms[2]
        .log()
        .propose(&outsider.key, Op::Add(outsider.invitee()), T0)
        .expect("propose");
    let out = rooms[1].apply(&[by_outsider]).expect("verified");
    assert_eq!(out.new[0].refused, Some(Refusal::NotMember));
    assert!(!rooms[1].state().is_member(&outsider.id()));

    // Signed by Mallory but naming Alice as author: refused outright.
    let body = ChangeBody {
        room: rooms[1].id(),
        seq: 1,
        parents: vec![rooms[1].state().version],
        author: people[0].key.public(),
        at: T0,
        op: Op::Add(outsider.invitee()),
    };
    assert_eq!(body.sign(&outsider.key), Err(GroupError::WrongAuthor));
    // Signed by Alice, then altered on the way: refused outright.
    let genuine = body.sign(&people[0].key).expect("alice signs");
    let snapshot = stored(&rooms[1]);
    assert_eq!(
        rooms[1].apply(&[genuine.tampered()]).map(|_| ()),
        Err(GroupError::BadSignature)
    );
    assert_eq!(
        stored(&rooms[1]),
        snapshot,
        "a refused change changes nothing"
    );
    assert!(!rooms[1].state().is_member(&outsider.id()));
}

#[test]
fn removal_rotates_the_sender_key_and_the_removed_member_reads_nothing_after() {
    let mut rng = SeededRng::new("group removal");
    let people = people(&mut rng, 3);
    let (mut rooms, _) = room_of(&people);
    let all = devices(&people);
    let first = rooms[0].encrypt(T0, &all, b"before").expect("m1");
    deliver_share(&people, &mut rooms, 0, &first);
    rooms[2]
        .decrypt(people[0].device, &first.message)
        .expect("carol reads m1");

    let remove = rooms[0]
        .log()
        .propose(&people[0].key, Op::Remove(people[2].id()), T0)
        .expect("remove");
    for room in rooms.iter_mut() {
        let out = room.apply(std::slice::from_ref(&remove)).expect("apply");
        assert_eq!(out.gone, vec![people[2].id()]);
    }
    assert!(!rooms[2].joined(), "Carol's own state says she was removed");

    let after = rooms[0].encrypt(T0, &all, b"after").expect("m2");
    assert!(after.rotated, "a new sender key after a removal");
    assert_ne!(after.message.session, first.message.session);
    assert_eq!(after.recipients, vec![people[1].device]);
    assert_eq!(after.share_to, vec![people[1].device]);
    deliver_share(&people, &mut rooms, 0, &after);
    rooms[1]
        .decrypt(people[0].device, &after.message)
        .expect("bob reads m2");
    // Even handed the message and the new key's share, Carol's engine
    // refuses: it is no longer a member.
    assert_eq!(
        rooms[2].accept_share(
            after.share.as_ref().expect("share"),
            people[0].device,
            people[0].id()
        ),
        Err(GroupError::NotMember)
    );
    assert!(rooms[2].decrypt(people[0].device, &after.message).is_err());

    // Bob's next message rotates too, and Carol's old key from Bob is gone
    // from Alice's side: a removed member cannot speak in the room.
    let bob = rooms[1].encrypt(T0, &all, b"bob after").expect("bob");
    assert!(bob.rotated);
    assert!(!bob.recipients.contains(&people[2].device));
    assert_eq!(
        rooms[2].encrypt(T0, &all, b"still here?").map(|_| ()),
        Err(GroupError::NotMember)
    );
}

#[test]
fn replayed_forged_and_misattributed_messages_are_refused_and_change_nothing() {
    let mut rng = SeededRng::new("group replay");
    let people = people(&mut rng, 3);
    let (mut rooms, _) = room_of(&people);
    let all = devices(&people);
    let p = rooms[0].encrypt(T0, &all, b"once").expect("m1");
    deliver_share(&people, &mut rooms, 0, &p);
    rooms[1]
        .decrypt(people[0].device, &p.message)
        .expect("first time");

    let snapshot = stored(&rooms[1]);
    assert_eq!(
        rooms[1].decrypt(people[0].device, &p.message).map(|_| ()),
        Err(GroupError::Replay)
    );
    let q = rooms[0].encrypt(T0, &all, b"twice").expect("m2");
    assert_eq!(
        rooms[1]
            .decrypt(people[0].device, &q.message.tampered())
            .map(|_| ()),
        Err(GroupError::Forged)
    );
    // The relay claims Carol sent Alice's message.
    assert_eq!(
        rooms[1].decrypt(people[2].device, &q.message).map(|_| ()),
        Err(GroupError::WrongSender)
    );
    // Carol forges a message under Alice's key id with her own key.
    // (at an index Bob has not seen from Alice, so only the signature can
    // tell)
    for _ in 0..4 {
        rooms[2].encrypt(T0, &all, b"warm up").expect("carol");
    }
    let mut carol_key = rooms[2].encrypt(T0, &all, b"i am alice").expect("carol");
    carol_key.message.session = q.message.session;
    assert_eq!(
        rooms[1]
            .decrypt(people[0].device, &carol_key.message)
            .map(|_| ()),
        Err(GroupError::Forged)
    );
    assert_eq!(
        stored(&rooms[1]),
        snapshot,
        "state unchanged by every refusal"
    );
    // The genuine message still reads after all that.
    let (_, plain) = rooms[1].decrypt(people[0].device, &q.message).expect("m2");
    assert_eq!(plain.as_slice(), b"twice");
    // A share repeated by the sender does not reset replay protection.
    rooms[1]
        .accept_share(
            p.share.as_ref().expect("share"),
            people[0].device,
            people[0].id(),
        )
        .expect("repeat share");
    assert_eq!(
        rooms[1].decrypt(people[0].device, &p.message).map(|_| ()),
        Err(GroupError::Replay)
    );
}

#[test]
fn a_late_joiner_cannot_read_what_was_sent_before_joining() {
    let mut rng = SeededRng::new("group late");
    let mut people = people(&mut rng, 3);
    let (mut rooms, create) = room_of(&people);
    let early: Vec<Prepared> = (0..3)
        .map(|i| {
            let p = rooms[0]
                .encrypt(T0, &devices(&people), format!("early {i}").as_bytes())
                .expect("early");
            deliver_share(&people, &mut rooms, 0, &p);
            p
        })
        .collect();

    let dave = Person::new(&mut rng, "dave");
    let add = rooms[0]
        .log()
        .propose(&people[0].key, Op::Add(dave.invitee()), T0)
        .expect("add");
    for room in rooms.iter_mut() {
        room.apply(std::slice::from_ref(&add)).expect("apply");
    }
    // Dave gets the log from Alice (create + changes) over their session.
    let mut dave_log = RoomLog::new(&create).expect("create");
    dave_log
        .insert(&rooms[0].log().changes())
        .expect("history of changes");
    let dave_room = Room::new(dave_log, dave.id(), dave.device);
    people.push(dave);
    rooms.push(dave_room);

    let p = rooms[0]
        .encrypt(T0, &devices(&people), b"welcome")
        .expect("after joining");
    assert!(!p.rotated, "a join does not need a new key");
    assert_eq!(p.share_to, vec![people[3].device]);
    deliver_share(&people, &mut rooms, 0, &p);
    let (_, plain) = rooms[3]
        .decrypt(people[0].device, &p.message)
        .expect("dave");
    assert_eq!(plain.as_slice(), b"welcome");
    for e in &early {
        assert_eq!(
            rooms[3].decrypt(people[0].device, &e.message).map(|_| ()),
            Err(GroupError::BeforeJoining)
        );
    }
}

#[test]
fn a_room_survives_storage_and_keeps_its_replay_memory() {
    let mut rng = SeededRng::new("group stored");
    let people = people(&mut rng, 3);
    let (mut rooms, _) = room_of(&people);
    let all = devices(&people);
    let p = rooms[0].encrypt(T0, &all, b"one").expect("m1");
    deliver_share(&people, &mut rooms, 0, &p);
    rooms[1].decrypt(people[0].device, &p.message).expect("m1");

    let bytes = stored(&rooms[1]);
    let back: parley_shared::group::room::StoredRoom = codec::decode(1, &bytes).expect("decode");
    let mut bob = Room::from_stored(&back).expect("load");
    assert_eq!(bob.state(), rooms[1].state());
    assert_eq!(
        bob.decrypt(people[0].device, &p.message).map(|_| ()),
        Err(GroupError::Replay)
    );
    let alice_bytes = stored(&rooms[0]);
    let back: parley_shared::group::room::StoredRoom =
        codec::decode(1, &alice_bytes).expect("decode");
    let mut alice = Room::from_stored(&back).expect("load alice");
    let q = alice.encrypt(T0, &all, b"two").expect("m2 after reload");
    assert!(q.share_to.is_empty(), "the reloaded key is the same key");
    let (_, plain) = bob.decrypt(people[0].device, &q.message).expect("m2");
    assert_eq!(plain.as_slice(), b"two");
}

#[test]
fn a_device_keeps_the_sender_keys_shared_last() {
    let mut rng = SeededRng::new("group key order");
    let people = people(&mut rng, 2);
    let (mut rooms, _) = room_of(&people);
    let all = devices(&people);
    // Eight keys in turn, each shared at index 0 (so the index cannot tell
    // their age): only the last four stay.
    let mut sent = Vec::new();
    for i in 0..8 {
        rooms[0].rotate_sender_key();
        let p = rooms[0]
            .encrypt(T0, &all, format!("key {i}").as_bytes())
            .expect("encrypt");
        deliver_share(&people, &mut rooms, 0, &p);
        sent.push(p.message);
    }
    assert_eq!(
        rooms[1].inbound_keys(),
        parley_shared::group::room::KEYS_PER_DEVICE
    );
    for (i, m) in sent.iter().enumerate() {
        let got = rooms[1].decrypt(people[0].device, m).map(|_| ());
        if i < 4 {
            assert_eq!(
                got,
                Err(GroupError::UnknownSenderKey),
                "key {i} was dropped"
            );
        } else {
            assert_eq!(got, Ok(()), "key {i} was kept");
        }
    }
}
