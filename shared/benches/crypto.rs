//! Native benchmarks of the crypto core: `cargo bench -p parley-shared --bench crypto`.
//! Numbers and the machine they were taken on live in docs/benchmarks.md.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use parley_shared::crypto::backup::{self, KdfParams};
use parley_shared::crypto::keys::{IdentityKeyPair, PreKeyBundle};
use parley_shared::crypto::os_rng;
use parley_shared::crypto::session::{MemoryPreKeys, Session};
use parley_shared::crypto::stream::{Encryptor, FileKey};

fn setup() -> (
    IdentityKeyPair,
    IdentityKeyPair,
    MemoryPreKeys,
    PreKeyBundle,
) {
    let rng = &mut os_rng();
    let alice = IdentityKeyPair::generate(rng);
    let bob = IdentityKeyPair::generate(rng);
    // One one-time prekey, never removed: every iteration does the full 4-DH agreement.
    let keys = MemoryPreKeys::generate(rng, &bob, 1);
    let bundle = keys.bundle(&bob).unwrap();
    (alice, bob, keys, bundle)
}

fn benches(c: &mut Criterion) {
    let rng = &mut os_rng();
    let (alice, bob, keys, bundle) = setup();

    c.bench_function("pqxdh_handshake (initiate + accept)", |b| {
        b.iter(|| {
            let mut a = Session::initiate(rng, &alice, &bundle).unwrap();
            Session::accept(rng, &bob, &keys, &a.encrypt(b"hi").unwrap()).unwrap()
        })
    });

    let mut a = Session::initiate(rng, &alice, &bundle).unwrap();
    let mut s = Session::accept(rng, &bob, &keys, &a.encrypt(b"hi").unwrap())
        .unwrap()
        .session;
    a.decrypt(rng, &s.encrypt(b"ack").unwrap()).unwrap();
    let msg = vec![0x42u8; 1024];
    let mut g = c.benchmark_group("ratchet");
    g.throughput(Throughput::Bytes(1024));
    g.bench_function("encrypt+decrypt 1 KiB (same chain)", |b| {
        b.iter(|| s.decrypt(rng, &a.encrypt(&msg).unwrap()).unwrap())
    });
    g.bench_function("encrypt+decrypt 1 KiB (DH ratchet step each way)", |b| {
        b.iter(|| {
            s.decrypt(rng, &a.encrypt(&msg).unwrap()).unwrap();
            a.decrypt(rng, &s.encrypt(&msg).unwrap()).unwrap()
        })
    });
    g.finish();

    let key = FileKey::generate(rng);
    let data = vec![0x17u8; 8 << 20];
    let mut g = c.benchmark_group("stream");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10);
    g.bench_function("encrypt 8 MiB", |b| {
        b.iter(|| {
            let mut e = Encryptor::new(&key, data.len() as u64);
            let mut n = 0;
            for piece in data.chunks(1 << 20) {
                n += e.update(piece).unwrap().len();
            }
            n + e.finish().unwrap().0.len()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("backup");
    g.sample_size(10);
    g.bench_function("argon2id default (64 MiB, t=3, p=1)", |b| {
        b.iter(|| {
            backup::seal_with_password(rng, "correct horse", KdfParams::default(), b"x").unwrap()
        })
    });
    g.finish();
}

criterion_group!(crypto, benches);
criterion_main!(crypto);
