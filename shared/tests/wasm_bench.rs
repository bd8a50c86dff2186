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
use wasm_bindgen::JsCast as _;
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

async fn call(
    o: &wasm_bindgen::JsValue,
    method: &str,
    args: &[wasm_bindgen::JsValue],
) -> wasm_bindgen::JsValue {
    let f: js_sys::Function = js_sys::Reflect::get(o, &method.into())
        .unwrap()
        .dyn_into()
        .unwrap();
    let p: js_sys::Promise = f
        .apply(o, &args.iter().collect::<js_sys::Array>())
        .unwrap()
        .dyn_into()
        .unwrap();
    wasm_bindgen_futures::JsFuture::from(p).await.unwrap()
}

fn mib_of_memory() -> (f64, f64) {
    let wasm = wasm_bindgen::memory()
        .unchecked_into::<js_sys::WebAssembly::Memory>()
        .buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length() as f64;
    let perf = js_sys::Reflect::get(&js_sys::global(), &"performance".into()).unwrap();
    let heap = js_sys::Reflect::get(&perf, &"memory".into())
        .ok()
        .and_then(|m| js_sys::Reflect::get(&m, &"usedJSHeapSize".into()).ok())
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0);
    (wasm / 1048576.0, heap / 1048576.0)
}

/// An attachment as the app encrypts it: 256 MiB in 1 MiB slices through
/// STREAM (output leaves the page heap, as the app folds it into Blobs),
/// against WebCrypto AES-256-GCM over the same slices in the same page.
#[wasm_bindgen_test]
async fn attachment_256_mib_stream_vs_webcrypto_aes_gcm() {
    const MIB: usize = 1 << 20;
    const SLICES: usize = 256;
    let rng = &mut os_rng();
    let slice: Vec<u8> = (0..MIB).map(|i| (i * 31 % 251) as u8).collect();
    let (wasm_before, heap_before) = mib_of_memory();

    let key = FileKey::generate(rng);
    let t = now();
    let mut e = Encryptor::new(&key, (MIB * SLICES) as u64);
    let mut out_bytes = 0usize;
    for _ in 0..SLICES {
        out_bytes += e.update(&slice).unwrap().len();
    }
    out_bytes += e.finish().unwrap().0.len();
    let stream_s = (now() - t) / 1000.0;
    let (wasm_after, heap_after) = mib_of_memory();
    assert!(out_bytes > MIB * SLICES);
    console_log!(
        "BENCH stream_256mib_mb_per_s {:.1}",
        (MIB * SLICES) as f64 / 1e6 / stream_s
    );
    console_log!(
        "BENCH stream_256mib_wasm_memory_mib {:.1} (before {:.1}); js_heap_mib {:.1} (before {:.1})",
        wasm_after,
        wasm_before,
        heap_after,
        heap_before
    );

    let subtle = js_sys::Reflect::get(
        &js_sys::Reflect::get(&js_sys::global(), &"crypto".into()).unwrap(),
        &"subtle".into(),
    )
    .unwrap();
    let raw = js_sys::Uint8Array::from(&[7u8; 32][..]);
    let algo = js_sys::Object::new();
    js_sys::Reflect::set(&algo, &"name".into(), &"AES-GCM".into()).unwrap();
    let usages = js_sys::Array::of1(&"encrypt".into());
    let aes = call(
        &subtle,
        "importKey",
        &[
            "raw".into(),
            raw.into(),
            algo.into(),
            false.into(),
            usages.into(),
        ],
    )
    .await;
    let data = js_sys::Uint8Array::from(slice.as_slice());
    let t = now();
    for i in 0..SLICES {
        let mut iv = [0u8; 12];
        iv[..8].copy_from_slice(&(i as u64).to_be_bytes());
        let params = js_sys::Object::new();
        js_sys::Reflect::set(&params, &"name".into(), &"AES-GCM".into()).unwrap();
        js_sys::Reflect::set(&params, &"iv".into(), &js_sys::Uint8Array::from(&iv[..])).unwrap();
        call(
            &subtle,
            "encrypt",
            &[params.into(), aes.clone(), data.clone().into()],
        )
        .await;
    }
    let aes_s = (now() - t) / 1000.0;
    let (_, heap_aes) = mib_of_memory();
    console_log!(
        "BENCH webcrypto_aes_gcm_256mib_mb_per_s {:.1}",
        (MIB * SLICES) as f64 / 1e6 / aes_s
    );
    console_log!("BENCH webcrypto_aes_gcm_js_heap_mib {:.1}", heap_aes);
}

#[wasm_bindgen_test]
fn browser_room_benchmark() {
    use parley_shared::testing::room::RoomScenario;

    let rng = &mut os_rng();
    let t = now();
    let mut room = RoomScenario::new(rng, 200).unwrap();
    console_log!("BENCH room200_setup_199_sessions_ms {:.0}", now() - t);
    let text = vec![0x61u8; 100];
    let n = 10;
    let mut first = None;
    let t = now();
    for _ in 0..n {
        room.rotate();
        first = Some(room.send(&text).unwrap());
    }
    console_log!(
        "BENCH room200_first_message_ms {:.2}",
        (now() - t) / f64::from(n)
    );
    let n = 90;
    let mut steady = None;
    let t = now();
    for _ in 0..n {
        steady = Some(room.send(&text).unwrap());
    }
    console_log!(
        "BENCH room200_steady_message_us {:.1}",
        (now() - t) * 1000.0 / f64::from(n)
    );
    let n = 10;
    let t = now();
    for _ in 0..n {
        room.send_pairwise(&text).unwrap();
    }
    console_log!(
        "BENCH room200_baseline_pairwise_ms {:.2}",
        (now() - t) / f64::from(n)
    );
    let (first, steady) = (first.unwrap(), steady.unwrap());
    assert_eq!(steady.shares, 0);
    console_log!(
        "BENCH room200_first_wire_bytes {} ({} shares), steady {}",
        first.total(),
        first.shares,
        steady.total()
    );
}
