//! A message to a 200-member room: the first one (a new sender key, shared
//! with 199 devices over their pairwise sessions) and the steady state (one
//! Megolm encryption). `cargo bench -p parley-shared --bench group`; numbers
//! in docs/benchmarks.md.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use criterion::{Criterion, criterion_group, criterion_main};
use parley_shared::crypto::os_rng;
use parley_shared::testing::room::RoomScenario;

fn benches(c: &mut Criterion) {
    let rng = &mut os_rng();
    let mut room = RoomScenario::new(rng, 200).unwrap();
    let text = vec![0x61u8; 100];
    room.rotate();
    let first = room.send(&text).unwrap();
    let steady = room.send(&text).unwrap();
    println!(
        "WIRE first: {} shares in {} B of frames + a SendMany frame of {} B ({} B message, {} recipients) = {} B",
        first.shares,
        first.share_bytes,
        first.frame_bytes,
        first.message_bytes,
        first.recipients,
        first.total()
    );
    println!(
        "WIRE steady: a SendMany frame of {} B ({} B message, {} recipients)",
        steady.frame_bytes, steady.message_bytes, steady.recipients
    );
    let pairwise = room.send_pairwise(&text).unwrap();
    println!(
        "WIRE baseline (pairwise to 199 devices): {} envelopes, {} B",
        pairwise.shares,
        pairwise.total()
    );
    let mut g = c.benchmark_group("room of 200");
    g.sample_size(20);
    g.bench_function("first message (new sender key + 199 shares)", |b| {
        b.iter(|| {
            room.rotate();
            room.send(&text).unwrap()
        })
    });
    // Steady state: the key's scheduled rotation (every 100 messages) is
    // done outside the timing, so this is one message with no share.
    g.bench_function("steady message", |b| {
        b.iter_custom(|iters| {
            let mut spent = std::time::Duration::ZERO;
            for _ in 0..iters {
                if room.key_worn() {
                    room.rotate();
                    room.send(&text).unwrap();
                }
                let t = std::time::Instant::now();
                let cost = room.send(&text).unwrap();
                spent += t.elapsed();
                assert_eq!(cost.shares, 0);
            }
            spent
        })
    });
    g.bench_function("baseline: the message over 199 pairwise sessions", |b| {
        b.iter(|| room.send_pairwise(&text).unwrap())
    });
    g.finish();
}

criterion_group!(group_benches, benches);
criterion_main!(group_benches);
