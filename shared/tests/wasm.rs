//! The crypto core inside a real browser: built for wasm32-unknown-unknown,
//! run by wasm-bindgen-test-runner in headless Chromium, with the browser's
//! WebCrypto as the randomness source (getrandom's `wasm_js` backend).
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use parley_shared::crypto::keys::{IdentityKeyPair, PreKeyBundle};
use parley_shared::crypto::os_rng;
use parley_shared::crypto::session::{MemoryPreKeys, Session};
use parley_shared::crypto::stream::{Decryptor, Encryptor, FileKey};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn ratchet_round_trip_in_the_browser() {
    let rng = &mut os_rng();
    let alice = IdentityKeyPair::generate(rng);
    let bob = IdentityKeyPair::generate(rng);
    let keys = MemoryPreKeys::generate(rng, &bob, 1);
    let bundle = PreKeyBundle::from_bytes(&keys.bundle(&bob).unwrap().to_bytes()).unwrap();
    assert!(bundle.one_time_prekey().is_some());

    let mut a = Session::initiate(rng, &alice, &bundle).unwrap();
    let accepted =
        Session::accept(rng, &bob, &keys, &a.encrypt(b"hello from wasm").unwrap()).unwrap();
    assert_eq!(accepted.plaintext, b"hello from wasm");
    let mut b = accepted.session;
    for i in 0..50u32 {
        let m = i.to_be_bytes();
        assert_eq!(a.decrypt(rng, &b.encrypt(&m).unwrap()).unwrap(), m);
        assert_eq!(b.decrypt(rng, &a.encrypt(&m).unwrap()).unwrap(), m);
    }
    // State persists as bytes (what IndexedDB will hold) and carries on.
    let mut b2 = Session::from_bytes(&b.to_bytes()).unwrap();
    assert_eq!(
        b2.decrypt(rng, &a.encrypt(b"after restore").unwrap())
            .unwrap(),
        b"after restore"
    );
    // Two identities from the browser's RNG differ.
    assert_ne!(
        IdentityKeyPair::generate(rng).device_id(),
        IdentityKeyPair::generate(rng).device_id()
    );
}

#[wasm_bindgen_test]
fn stream_round_trip_in_the_browser() {
    let rng = &mut os_rng();
    let key = FileKey::generate(rng);
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let mut enc = Encryptor::new(&key, data.len() as u64);
    let mut ct = enc.update(&data).unwrap();
    let (tail, digest) = enc.finish().unwrap();
    ct.extend(tail);
    let mut dec = Decryptor::new(&key, data.len() as u64, digest);
    let mut out = dec.update(&ct).unwrap();
    out.extend(dec.finish().unwrap());
    assert_eq!(out, data);
}

#[wasm_bindgen_test]
fn a_room_message_round_trip_in_the_browser() {
    use parley_shared::crypto::account::AccountKeyPair;
    use parley_shared::group::{GroupError, Invitee, Lifetime, Room, RoomId, RoomLog};
    use parley_shared::map::Map;
    use parley_shared::time::UnixMs;

    let rng = &mut os_rng();
    let (alice, bob) = (AccountKeyPair::generate(rng), AccountKeyPair::generate(rng));
    let (a_dev, b_dev) = (
        IdentityKeyPair::generate(rng).device_id(),
        IdentityKeyPair::generate(rng).device_id(),
    );
    let now = UnixMs::from_millis(1_800_000_000_000);
    let (log, create) = RoomLog::create(
        &alice,
        RoomId([9; 16]),
        "wasm".into(),
        "alice".into(),
        vec![Invitee {
            account: bob.public(),
            name: "bob".into(),
        }],
        Lifetime::default(),
        now,
    )
    .unwrap();
    let mut a = Room::new(log, alice.public().id(), a_dev);
    let mut b = Room::new(RoomLog::new(&create).unwrap(), bob.public().id(), b_dev);
    let devices: Map<_, _> = [
        (alice.public().id(), vec![a_dev]),
        (bob.public().id(), vec![b_dev]),
    ]
    .into_iter()
    .collect();
    // vodozemac draws the sender key from the browser's WebCrypto here.
    let p = a.encrypt(now, &devices, b"hello room").unwrap();
    assert_eq!(p.share_to, vec![b_dev]);
    b.accept_share(p.share.as_ref().expect("share"), a_dev, alice.public().id())
        .unwrap();
    let (from, plain) = b.decrypt(a_dev, &p.message).unwrap();
    assert_eq!(from, alice.public().id());
    assert_eq!(plain.as_slice(), b"hello room");
    assert_eq!(
        b.decrypt(a_dev, &p.message).map(|_| ()),
        Err(GroupError::Replay)
    );
}
