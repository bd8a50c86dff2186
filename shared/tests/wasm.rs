//! The crypto core inside a real browser: built for wasm32-unknown-unknown,
//! run by wasm-bindgen-test-runner in headless Chromium, with the browser's
//! WebCrypto as the randomness source (getrandom's `wasm_js` backend).
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use parley_shared::crypto::keys::{
    IdentityKeyPair, OneTimePreKey, PqPreKey, PreKeyBundle, SignedPreKey,
};
use parley_shared::crypto::os_rng;
use parley_shared::crypto::session::{PreKeySource, Session};
use parley_shared::crypto::stream::{Decryptor, Encryptor, FileKey};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

struct Keys(SignedPreKey, PqPreKey, Vec<OneTimePreKey>);

impl PreKeySource for Keys {
    fn signed_prekey(&self, id: u32) -> Option<SignedPreKey> {
        (self.0.id == id).then(|| self.0.clone())
    }
    fn pq_prekey(&self, id: u32) -> Option<PqPreKey> {
        (self.1.id == id).then(|| self.1.clone())
    }
    fn one_time_prekey(&self, id: u32) -> Option<OneTimePreKey> {
        self.2.iter().find(|k| k.id == id).cloned()
    }
}

#[wasm_bindgen_test]
fn ratchet_round_trip_in_the_browser() {
    let rng = &mut os_rng();
    let alice = IdentityKeyPair::generate(rng);
    let bob = IdentityKeyPair::generate(rng);
    let keys = Keys(
        bob.signed_prekey(rng, 1),
        bob.pq_prekey(rng, 2),
        OneTimePreKey::batch(rng, 10, 1),
    );
    let bundle = PreKeyBundle::new(
        bob.public(),
        keys.0.public(),
        keys.1.public(),
        Some(keys.2[0].public()),
    )
    .unwrap();
    let bundle = PreKeyBundle::from_bytes(&bundle.to_bytes()).unwrap();

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
