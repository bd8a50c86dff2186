//! PQXDH + Double Ratchet sessions between two devices.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Device, TestRng, hex};
use parley_shared::crypto::keys::{IdentityKeyPair, IdentityPublic, KeyError, PreKeyBundle};
use parley_shared::crypto::pqxdh::{self, PqxdhError};
use parley_shared::crypto::ratchet::{MAX_PLAINTEXT, RatchetError};
use parley_shared::crypto::session::{Session, SessionError, SessionMessage};

fn pair(rng: &mut TestRng, one_time: u32) -> (Device, Device, Session, Session) {
    let alice = Device::new(rng, 0);
    let mut bob = Device::new(rng, one_time);
    let mut a = Session::initiate(rng, &alice.identity, &bob.bundle()).unwrap();
    let first = a.encrypt(b"hello bob").unwrap();
    let acc = Session::accept(rng, &bob.identity, &bob, &first).unwrap();
    assert_eq!(acc.plaintext, b"hello bob");
    bob.consume(acc.consumed_one_time_prekey);
    (alice, bob, a, acc.session)
}

#[test]
fn conversation_in_both_directions() {
    let rng = &mut TestRng::new("conversation");
    let (alice, bob, mut a, mut b) = pair(rng, 3);
    assert_eq!(b.peer(), &alice.identity.public());
    assert_eq!(a.peer(), &bob.identity.public());
    for round in 0..20u32 {
        for i in 0..(round % 3 + 1) {
            let m = format!("a{round}.{i}");
            assert_eq!(
                b.decrypt(rng, &a.encrypt(m.as_bytes()).unwrap()).unwrap(),
                m.as_bytes()
            );
        }
        let m = format!("b{round}");
        assert_eq!(
            a.decrypt(rng, &b.encrypt(m.as_bytes()).unwrap()).unwrap(),
            m.as_bytes()
        );
    }
    // After hearing back, Alice stops attaching the PQXDH header.
    assert!(matches!(
        SessionMessage::from_bytes(&a.encrypt(b"x").unwrap()).unwrap(),
        SessionMessage::Normal(_)
    ));
}

#[test]
fn works_without_a_one_time_prekey() {
    let rng = &mut TestRng::new("no-opk");
    let (_, bob, mut a, mut b) = pair(rng, 0);
    assert!(bob.bundle().one_time_prekey().is_none());
    assert_eq!(
        b.decrypt(rng, &a.encrypt(b"still works").unwrap()).unwrap(),
        b"still works"
    );
    assert_eq!(
        a.decrypt(rng, &b.encrypt(b"reply").unwrap()).unwrap(),
        b"reply"
    );
}

#[test]
fn one_time_prekey_is_consumed_and_cannot_be_replayed() {
    let rng = &mut TestRng::new("opk");
    let alice = Device::new(rng, 0);
    let mut bob = Device::new(rng, 2);
    let mut a = Session::initiate(rng, &alice.identity, &bob.bundle()).unwrap();
    let first = a.encrypt(b"one").unwrap();
    let acc = Session::accept(rng, &bob.identity, &bob, &first).unwrap();
    assert_eq!(acc.consumed_one_time_prekey, Some(100));
    bob.consume(acc.consumed_one_time_prekey);
    // A relay replaying the initial message cannot start a second session.
    assert_eq!(
        Session::accept(rng, &bob.identity, &bob, &first).unwrap_err(),
        SessionError::UnknownPreKey
    );
}

#[test]
fn several_prekey_messages_before_the_reply_arrive_in_any_order() {
    let rng = &mut TestRng::new("prekey-order");
    let alice = Device::new(rng, 0);
    let bob = Device::new(rng, 1);
    let mut a = Session::initiate(rng, &alice.identity, &bob.bundle()).unwrap();
    let msgs: Vec<_> = (0..4)
        .map(|i| a.encrypt(format!("m{i}").as_bytes()).unwrap())
        .collect();
    let mut b = Session::accept(rng, &bob.identity, &bob, &msgs[2])
        .unwrap()
        .session;
    for i in [3, 0, 1] {
        assert_eq!(
            b.decrypt(rng, &msgs[i]).unwrap(),
            format!("m{i}").as_bytes()
        );
    }
    assert!(b.decrypt(rng, &msgs[1]).is_err(), "duplicate");
    // A PreKey message of a different session is not silently merged.
    let mut other = Session::initiate(rng, &alice.identity, &bob.bundle()).unwrap();
    assert_eq!(
        b.decrypt(rng, &other.encrypt(b"x").unwrap()).unwrap_err(),
        SessionError::OtherSession
    );
}

#[test]
fn session_state_survives_serialization_mid_conversation() {
    let rng = &mut TestRng::new("persist");
    let (_, _, mut a, mut b) = pair(rng, 1);
    let held = a.encrypt(b"out of order").unwrap();
    let next = a.encrypt(b"next").unwrap();
    assert_eq!(b.decrypt(rng, &next).unwrap(), b"next");
    let mut b2 = Session::from_bytes(&b.to_bytes()).unwrap();
    let mut a2 = Session::from_bytes(&a.to_bytes()).unwrap();
    assert_eq!(
        b2.decrypt(rng, &held).unwrap(),
        b"out of order",
        "skipped key persisted"
    );
    assert_eq!(
        a2.decrypt(rng, &b2.encrypt(b"back").unwrap()).unwrap(),
        b"back"
    );
    assert!(Session::from_bytes(&b.to_bytes()[..20]).is_err());
}

#[test]
fn tampered_replayed_or_misdirected_messages_change_nothing() {
    let rng = &mut TestRng::new("tamper");
    let (_, _, mut a, mut b) = pair(rng, 1);
    let m = a.encrypt(b"secret").unwrap();
    let before = b.to_bytes();
    for i in [1usize, 10, m.len() / 2, m.len() - 1] {
        let mut t = m.clone();
        t[i] ^= 0x01;
        assert!(b.decrypt(rng, &t).is_err(), "flip at {i}");
        assert_eq!(
            *b.to_bytes(),
            *before,
            "state unchanged after tamper at {i}"
        );
    }
    assert!(b.decrypt(rng, &m[..m.len() - 1]).is_err(), "truncated");
    assert_eq!(*b.to_bytes(), *before);
    assert_eq!(b.decrypt(rng, &m).unwrap(), b"secret");
    let after = b.to_bytes();
    assert!(matches!(
        b.decrypt(rng, &m),
        Err(SessionError::Ratchet(RatchetError::Duplicate))
    ));
    assert_eq!(*b.to_bytes(), *after, "replay changes nothing");

    // A third device cannot read it.
    let eve = Device::new(rng, 1);
    assert!(Session::accept(rng, &eve.identity, &eve, &m).is_err());
    assert!(a.encrypt(&vec![0u8; MAX_PLAINTEXT + 1]).is_err());
}

#[test]
fn bundles_with_bad_signatures_are_rejected() {
    let rng = &mut TestRng::new("bundle");
    let bob = Device::new(rng, 1);
    let mallory = IdentityKeyPair::generate(rng);
    let good = bob.bundle();
    let bytes = good.to_bytes();
    assert_eq!(PreKeyBundle::from_bytes(&bytes).unwrap(), good);
    // A relay swapping in its own signed prekey under Bob's identity.
    let forged_spk = mallory.signed_prekey(rng, 1).public();
    assert_eq!(
        PreKeyBundle::new(bob.identity.public(), forged_spk, bob.pqpk.public(), None).unwrap_err(),
        KeyError::BadSignature
    );
    let forged_pq = mallory.pq_prekey(rng, 7).public();
    assert_eq!(
        PreKeyBundle::new(bob.identity.public(), bob.spk.public(), forged_pq, None).unwrap_err(),
        KeyError::BadSignature
    );
    // Any flipped bit in the encoding fails to decode or to verify.
    for i in 1..bytes.len() {
        let mut t = bytes.clone();
        t[i] ^= 0x04;
        if let Ok(b) = PreKeyBundle::from_bytes(&t) {
            // Only the unsigned one-time prekey may change undetected; it
            // changes the agreement, never the authenticated identity.
            assert_eq!(b.identity(), good.identity(), "bit {i}");
            assert_eq!(b.signed_prekey(), good.signed_prekey(), "bit {i}");
            assert_eq!(b.pq_prekey(), good.pq_prekey(), "bit {i}");
        }
    }
    // The identity's own DH-key signature is checked on decode too.
    let mut id = bob.identity.public().to_bytes();
    let n = id.len();
    id[n - 1] ^= 1;
    assert!(IdentityPublic::from_bytes(&id).is_err());
}

#[test]
fn responder_refuses_mismatched_prekeys() {
    let rng = &mut TestRng::new("mismatch");
    let alice = Device::new(rng, 0);
    let bob = Device::new(rng, 1);
    let (header, _) = pqxdh::initiate(rng, &alice.identity, &bob.bundle()).unwrap();
    let other_spk = bob.identity.signed_prekey(rng, 2);
    assert_eq!(
        pqxdh::respond(
            &bob.identity,
            &other_spk,
            &bob.pqpk,
            bob.opks.first(),
            &header
        )
        .err(),
        Some(PqxdhError::PreKeyMismatch)
    );
}

#[test]
fn secrets_never_show_in_debug_output() {
    let rng = &mut TestRng::new("debug");
    let (alice, bob, a, _) = pair(rng, 1);
    let secret_hex = hex(&alice.identity.to_bytes());
    let dump = format!(
        "{:?} {:?} {:?} {:?} {:?}",
        alice.identity, a, bob.spk, bob.pqpk, bob.opks
    );
    assert!(!dump.contains(&secret_hex[4..20]), "{dump}");
    assert!(
        !dump.contains("Secret<32>([") && dump.contains("IdentityKeyPair"),
        "{dump}"
    );
}
