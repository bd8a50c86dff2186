//! Browser benchmark of the crypto core (not a timed test: it only reports).
//! Run with `make bench` (release build, headless Chromium); numbers are
//! recorded in docs/benchmarks.md.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use parley_shared::crypto::backup::{self, KdfParams};
use parley_shared::crypto::keys::IdentityKeyPair;
use parley_shared::crypto::os_rng;
use parley_shared::crypto::session::{MemoryPreKeys, Session};
use parley_shared::crypto::stream::{Encryptor, FileKey};
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn now() -> f64 {
    js_sys::Date::now()
}

#[wasm_bindgen_test]
fn browser_crypto_benchmarks() {
    let rng = &mut os_rng();
    let alice = IdentityKeyPair::generate(rng);
    let bob = IdentityKeyPair::generate(rng);
    // No one-time prekey: one bundle serves every handshake.
    let keys = MemoryPreKeys::generate(rng, &bob, 0);
    let bundle = keys.bundle(&bob).unwrap();

    let n = 50;
    let t = now();
    for _ in 0..n {
        let mut a = Session::initiate(rng, &alice, &bundle).unwrap();
        Session::accept(rng, &bob, &keys, &a.encrypt(b"hi").unwrap()).unwrap();
    }
    console_log!("BENCH pqxdh_handshake_ms {:.3}", (now() - t) / f64::from(n));

    let mut a = Session::initiate(rng, &alice, &bundle).unwrap();
    let mut s = Session::accept(rng, &bob, &keys, &a.encrypt(b"hi").unwrap())
        .unwrap()
        .session;
    // After a reply, Alice sends normal messages (no PQXDH header to check).
    a.decrypt(rng, &s.encrypt(b"ack").unwrap()).unwrap();
    let msg = vec![0x42u8; 1024];
    let n = 2000;
    let t = now();
    for _ in 0..n {
        s.decrypt(rng, &a.encrypt(&msg).unwrap()).unwrap();
    }
    console_log!(
        "BENCH ratchet_1kib_encrypt_decrypt_us {:.1}",
        (now() - t) * 1000.0 / f64::from(n)
    );

    let key = FileKey::generate(rng);
    let data = vec![0x17u8; 1 << 20];
    let total_mib = 32.0;
    let t = now();
    let mut e = Encryptor::new(&key, (1u64 << 20) * 32);
    for _ in 0..32 {
        e.update(&data).unwrap();
    }
    e.finish().unwrap();
    console_log!(
        "BENCH stream_encrypt_mib_per_s {:.1}",
        total_mib / ((now() - t) / 1000.0)
    );

    let t = now();
    backup::seal_with_password(rng, "correct horse", KdfParams::default(), b"x").unwrap();
    console_log!("BENCH argon2id_default_ms {:.0}", now() - t);
}
