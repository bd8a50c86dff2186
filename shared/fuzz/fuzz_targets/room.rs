//! Room changes and room messages from untrusted bytes (other members and
//! the relay send them).
#![no_main]

use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use parley_shared::crypto::account::AccountKeyPair;
use parley_shared::group::{GroupMessage, Lifetime, Room, RoomId, RoomLog, SignedChange};
use parley_shared::map::Map;
use parley_shared::protocol::ws::DeviceId;
use parley_shared::time::UnixMs;

struct Fixture {
    room: Room,
    sender: DeviceId,
}

fn fixture() -> &'static Mutex<Fixture> {
    static F: OnceLock<Mutex<Fixture>> = OnceLock::new();
    F.get_or_init(|| {
        let key = |b: u8| {
            AccountKeyPair::from_bytes(&[[1u8, 32].as_slice(), &[b; 32]].concat()).expect("key")
        };
        let (alice, bob) = (key(1), key(2));
        let (log, create) = RoomLog::create(
            &alice,
            RoomId([3; 16]),
            "fuzz".into(),
            "alice".into(),
            vec![parley_shared::group::Invitee {
                account: bob.public(),
                name: "bob".into(),
            }],
            Lifetime::default(),
            UnixMs::from_millis(1),
        )
        .expect("create");
        let alice_dev = DeviceId::new([1; 32]);
        let bob_dev = DeviceId::new([2; 32]);
        let mut sender = Room::new(log, alice.public().id(), alice_dev);
        let mut room = Room::new(
            RoomLog::new(&create).expect("log"),
            bob.public().id(),
            bob_dev,
        );
        let devices: Map<_, _> = [
            (alice.public().id(), vec![alice_dev]),
            (bob.public().id(), vec![bob_dev]),
        ]
        .into_iter()
        .collect();
        let p = sender
            .encrypt(UnixMs::from_millis(1), &devices, b"x")
            .expect("encrypt");
        room.accept_share(
            p.share.as_ref().expect("share"),
            alice_dev,
            alice.public().id(),
        )
        .expect("share");
        Mutex::new(Fixture {
            room,
            sender: alice_dev,
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(mut f) = fixture().lock() else {
        return;
    };
    let sender = f.sender;
    if let Ok(change) = SignedChange::from_bytes(data) {
        assert_eq!(change.to_bytes(), data);
        // Never panics; a forged change must not verify.
        assert!(f.room.apply(&[change]).is_err());
    }
    if let Ok(msg) = GroupMessage::from_bytes(data) {
        assert_eq!(msg.to_bytes(), data);
        assert!(f.room.decrypt(sender, &msg).is_err());
    }
});
