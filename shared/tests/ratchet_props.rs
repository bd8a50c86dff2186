//! Property tests of sessions over long random conversations: loss,
//! reordering, duplication and tampering in both directions.
//!
//! Invariants: every message delivered for the first time decrypts to what
//! was sent, exactly once; every duplicate or tampered delivery is rejected;
//! a rejection leaves the receiver's state byte-for-byte unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{Device, TestRng};
use parley_shared::crypto::session::Session;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// Sender (0 = Alice, 1 = Bob) encrypts `n` messages.
    Send(u8, u8),
    /// Deliver the in-flight message at this (wrapped) index, towards this side.
    Deliver(u8, usize),
    /// Deliver it again (it stays available as a duplicate).
    Duplicate(u8, usize),
    /// Deliver a copy with one bit flipped.
    Tamper(u8, usize, usize, u8),
    /// Lose it.
    Drop(u8, usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..2u8, 1..4u8).prop_map(|(s, n)| Op::Send(s, n)),
        5 => (0..2u8, any::<usize>()).prop_map(|(s, i)| Op::Deliver(s, i)),
        1 => (0..2u8, any::<usize>()).prop_map(|(s, i)| Op::Duplicate(s, i)),
        1 => (0..2u8, any::<usize>(), any::<usize>(), 0..8u8).prop_map(|(s, i, p, b)| Op::Tamper(s, i, p, b)),
        1 => (0..2u8, any::<usize>()).prop_map(|(s, i)| Op::Drop(s, i)),
    ]
}

struct Flight {
    bytes: Vec<u8>,
    plaintext: Vec<u8>,
}

fn reject_unchanged(rng: &mut TestRng, receiver: &mut Session, bytes: &[u8], what: &str) {
    let before = receiver.to_bytes();
    assert!(receiver.decrypt(rng, bytes).is_err(), "{what} accepted");
    assert_eq!(*receiver.to_bytes(), *before, "{what} changed the state");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_conversations(ops in prop::collection::vec(op(), 1..120), seed in any::<u64>()) {
        let rng = &mut TestRng::new(&format!("prop-{seed}"));
        let alice = Device::new(rng, 0);
        let bob = Device::new(rng, 1);
        let mut sessions = {
            let mut a = Session::initiate(rng, &alice.identity, &bob.bundle()).unwrap();
            let first = a.encrypt(b"start").unwrap();
            let acc = Session::accept(rng, &bob.identity, &bob, &first).unwrap();
            [a, acc.session]
        };
        // in_flight[to]: messages travelling towards side `to`; delivered[to]: already received.
        let mut in_flight: [Vec<Flight>; 2] = [Vec::new(), Vec::new()];
        let mut delivered: [Vec<Vec<u8>>; 2] = [Vec::new(), Vec::new()];
        let mut counter = 0u32;
        let mut bob_can_send = true; // Bob received "start"

        for op in ops {
            match op {
                Op::Send(from, n) => {
                    let from = usize::from(from);
                    if from == 1 && !bob_can_send { continue; }
                    for _ in 0..n {
                        counter += 1;
                        let plaintext = format!("{from}:{counter}").into_bytes();
                        let bytes = sessions[from].encrypt(&plaintext).unwrap();
                        in_flight[1 - from].push(Flight { bytes, plaintext });
                    }
                }
                Op::Deliver(to, i) => {
                    let to = usize::from(to);
                    if in_flight[to].is_empty() { continue; }
                    let f = in_flight[to].remove(i % in_flight[to].len());
                    let got = sessions[to].decrypt(rng, &f.bytes);
                    prop_assert_eq!(got.as_deref().ok(), Some(f.plaintext.as_slice()), "first delivery must decrypt");
                    delivered[to].push(f.bytes);
                    if to == 1 { bob_can_send = true; }
                }
                Op::Duplicate(to, i) => {
                    let to = usize::from(to);
                    if delivered[to].is_empty() { continue; }
                    let bytes = delivered[to][i % delivered[to].len()].clone();
                    reject_unchanged(rng, &mut sessions[to], &bytes, "duplicate");
                }
                Op::Tamper(to, i, pos, bit) => {
                    let to = usize::from(to);
                    if in_flight[to].is_empty() { continue; }
                    let f = &in_flight[to][i % in_flight[to].len()];
                    let mut bytes = f.bytes.clone();
                    let p = pos % bytes.len();
                    bytes[p] ^= 1 << bit;
                    reject_unchanged(rng, &mut sessions[to], &bytes, "tampered message");
                }
                Op::Drop(to, i) => {
                    let to = usize::from(to);
                    if !in_flight[to].is_empty() {
                        let n = in_flight[to].len();
                        in_flight[to].remove(i % n);
                    }
                }
            }
        }
        // Whatever is still in flight decrypts, in any order.
        for to in 0..2 {
            while let Some(f) = in_flight[to].pop() {
                prop_assert_eq!(sessions[to].decrypt(rng, &f.bytes).unwrap(), f.plaintext);
            }
        }
    }
}

#[test]
fn gap_limit_is_enforced_with_a_clear_error() {
    use parley_shared::crypto::ratchet::{MAX_SKIP, MAX_SKIPPED_KEYS, RatchetError};
    use parley_shared::crypto::session::SessionError;
    let rng = &mut TestRng::new("gap");
    let alice = Device::new(rng, 0);
    let bob = Device::new(rng, 0);
    let mut a = Session::initiate(rng, &alice.identity, &bob.bundle()).unwrap();
    let first = a.encrypt(b"0").unwrap();
    let mut b = Session::accept(rng, &bob.identity, &bob, &first)
        .unwrap()
        .session;
    let mut last = Vec::new();
    for _ in 0..=MAX_SKIP + 1 {
        last = a.encrypt(b"x").unwrap();
    }
    let before = b.to_bytes();
    assert_eq!(
        b.decrypt(rng, &last).unwrap_err(),
        SessionError::Ratchet(RatchetError::TooFarAhead(MAX_SKIP + 1))
    );
    assert_eq!(*b.to_bytes(), *before);
    // Within the limit: accepted, and only MAX_SKIPPED_KEYS keys are kept.
    let mut a2 = Session::initiate(rng, &alice.identity, &bob.bundle()).unwrap();
    let first = a2.encrypt(b"0").unwrap();
    let mut b2 = Session::accept(rng, &bob.identity, &bob, &first)
        .unwrap()
        .session;
    let early = a2.encrypt(b"early").unwrap();
    for _ in 0..(MAX_SKIPPED_KEYS + 10) {
        a2.encrypt(b"x").unwrap();
    }
    assert_eq!(
        b2.decrypt(rng, &a2.encrypt(b"far").unwrap()).unwrap(),
        b"far"
    );
    assert!(
        b2.decrypt(rng, &early).is_err(),
        "oldest skipped keys are forgotten first"
    );
}
