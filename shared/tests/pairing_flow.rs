//! The pairing flows of `engine::pairing` as the app runs them over a slot:
//! a QR/link invite without a PIN until asked, and replies that fail (a
//! stranger's junk, a wrong PIN) without ending the invite for the real
//! joiner, within a bounded number of attempts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::TestRng;
use parley_shared::crypto::keys::IdentityKeyPair;
use parley_shared::crypto::pairing::{PairingError, PinCode};
use parley_shared::engine::pairing::{
    FlowError, Inviter, Joiner, LinkInvite, ReplyOutcome, join_pin,
};
use parley_shared::protocol::auth::encode_b64;
use parley_shared::protocol::rendezvous::{MAX_ATTEMPTS, Rendezvous};
use parley_shared::time::UnixMs;

const RELAY: &str = "https://relay.example";
const NOW: u64 = 1_900_000_000;

fn slot(pin_slot: Option<u16>) -> Rendezvous {
    Rendezvous {
        id: encode_b64(&[7; 16]),
        pin_slot,
        expires_at_ms: UnixMs::from_secs(NOW + 600),
    }
}

/// An invite that shows a PIN; returns it with its first `a1`.
fn pin_invite(rng: &mut TestRng, alice: &IdentityKeyPair) -> (Inviter, Vec<u8>) {
    let mut inviter = Inviter::new(rng, RELAY, &slot(None), alice).unwrap();
    let a1 = inviter.add_pin(rng, &slot(Some(4321))).unwrap();
    (inviter, a1)
}

/// Bob's whole PIN join against `a1`, up to Alice's answer.
fn bob_joins(
    rng: &mut TestRng,
    inviter: &mut Inviter,
    alice: &IdentityKeyPair,
    bob: &IdentityKeyPair,
    a1: &[u8],
) -> (Joiner, ReplyOutcome) {
    let code = PinCode::parse(&inviter.pin().unwrap()).unwrap();
    let (joiner, b) = join_pin(rng, &code, bob, a1, b"Bob").unwrap();
    let outcome = inviter.on_reply(rng, alice, &b, b"Alice");
    (joiner, outcome)
}

fn rejected(outcome: ReplyOutcome) -> (FlowError, Option<Vec<u8>>, u8) {
    match outcome {
        ReplyOutcome::Rejected {
            error,
            next_a1,
            attempts_left,
        } => (error, next_a1, attempts_left),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn qr_invites_take_no_pin_until_the_user_asks() {
    let rng = &mut TestRng::new("flow-qr-only");
    let alice = IdentityKeyPair::generate(rng);
    let mut inviter = Inviter::new(rng, RELAY, &slot(None), &alice).unwrap();
    assert_eq!(inviter.pin(), None, "a link invite shows no PIN");
    assert!(inviter.link().starts_with("https://relay.example/#pair="));

    // The relay's answer must be for this slot and carry a number.
    let other = Rendezvous {
        id: encode_b64(&[8; 16]),
        ..slot(Some(1))
    };
    assert_eq!(
        inviter.add_pin(rng, &other).unwrap_err(),
        FlowError::Pairing(PairingError::InvalidInvite)
    );
    assert_eq!(
        inviter.add_pin(rng, &slot(None)).unwrap_err(),
        FlowError::NoPinSlot
    );
    inviter.add_pin(rng, &slot(Some(17))).unwrap();
    assert!(inviter.pin().unwrap().starts_with("0017-"));
    assert_eq!(
        inviter.add_pin(rng, &slot(Some(18))).unwrap_err(),
        FlowError::PinExists,
        "a1 is written once per PIN"
    );
}

#[test]
fn junk_of_any_shape_is_rejected_without_ending_the_invite() {
    let rng = &mut TestRng::new("flow-junk");
    let alice = IdentityKeyPair::generate(rng);
    // A stranger who found the slot writes junk, in each shape there is.
    for junk in [&b""[..], b"P", b"Pjunk", b"Qjunk", b"Xjunk"] {
        let (mut inviter, a1) = pin_invite(rng, &alice);
        let (error, next_a1, left) = rejected(inviter.on_reply(rng, &alice, junk, b"Alice"));
        assert!(
            matches!(error, FlowError::Pairing(_)),
            "{junk:?}: {error:?}"
        );
        assert_eq!(left, MAX_ATTEMPTS - 1, "{junk:?}");
        assert_ne!(
            next_a1.unwrap(),
            a1,
            "every attempt gets a fresh SPAKE2 run"
        );
        assert!(inviter.pin().is_some(), "the PIN stays valid");
    }
}

#[test]
fn the_real_joiner_pairs_after_a_junk_reply() {
    let rng = &mut TestRng::new("flow-junk-then-real");
    let (alice, bob) = (
        IdentityKeyPair::generate(rng),
        IdentityKeyPair::generate(rng),
    );
    let (mut inviter, _a1) = pin_invite(rng, &alice);
    let (_, next_a1, left) = rejected(inviter.on_reply(rng, &alice, b"Pjunk", b"Alice"));
    assert_eq!(left, MAX_ATTEMPTS - 1);

    let (joiner, outcome) = bob_joins(rng, &mut inviter, &alice, &bob, &next_a1.unwrap());
    let ReplyOutcome::Paired(paired, a2) = outcome else {
        panic!("Bob should pair: {outcome:?}");
    };
    assert_eq!(paired.peer, bob.public());
    assert_eq!(paired.profile, b"Bob");
    let back = joiner.finish(&bob, &a2).unwrap();
    assert_eq!(back.peer, alice.public());
}

#[test]
fn a_link_joiner_pairs_after_a_junk_reply() {
    let rng = &mut TestRng::new("flow-qr-junk");
    let (alice, bob) = (
        IdentityKeyPair::generate(rng),
        IdentityKeyPair::generate(rng),
    );
    let mut inviter = Inviter::new(rng, RELAY, &slot(None), &alice).unwrap();
    let (_, next_a1, _) = rejected(inviter.on_reply(rng, &alice, b"Qjunk", b"Alice"));
    assert_eq!(next_a1, None, "no PIN, nothing to put in a1");
    let parsed = LinkInvite::parse(&inviter.link(), RELAY, &bob, UnixMs::from_secs(NOW)).unwrap();
    let (joiner, b) = parsed.reply(rng, &bob, b"Bob").unwrap();
    let ReplyOutcome::Paired(_, a2) = inviter.on_reply(rng, &alice, &b, b"Alice") else {
        panic!("Bob should pair");
    };
    assert_eq!(joiner.finish(&bob, &a2).unwrap().peer, alice.public());
}

#[test]
fn a_wrong_pin_costs_one_attempt_and_the_right_one_still_works() {
    let rng = &mut TestRng::new("flow-typo");
    let (alice, bob) = (
        IdentityKeyPair::generate(rng),
        IdentityKeyPair::generate(rng),
    );
    let (mut inviter, a1) = pin_invite(rng, &alice);
    let shown = inviter.pin().unwrap();
    let last = shown.as_bytes()[shown.len() - 1];
    let typo = format!(
        "{}{}",
        &shown[..shown.len() - 1],
        char::from(b'0' + (last - b'0' + 1) % 10)
    );
    let (_, b) = join_pin(rng, &PinCode::parse(&typo).unwrap(), &bob, &a1, b"Bob").unwrap();
    let (error, next_a1, _) = rejected(inviter.on_reply(rng, &alice, &b, b"Alice"));
    assert_eq!(error, FlowError::Pairing(PairingError::WrongCode));

    // A reply to the old a1 (typed before the rejection) is not checked
    // against the new run: it fails like any wrong reply.
    let (_, stale) = join_pin(rng, &PinCode::parse(&shown).unwrap(), &bob, &a1, b"Bob").unwrap();
    let (_, newest_a1, left) = rejected(inviter.on_reply(rng, &alice, &stale, b"Alice"));
    assert_eq!(left, 1);
    assert_ne!(newest_a1, next_a1);

    let (_, outcome) = bob_joins(rng, &mut inviter, &alice, &bob, &newest_a1.unwrap());
    assert!(matches!(outcome, ReplyOutcome::Paired(..)), "{outcome:?}");
}

#[test]
fn a_code_yields_at_most_max_attempts_guesses() {
    let rng = &mut TestRng::new("flow-bound");
    let (alice, mallory) = (
        IdentityKeyPair::generate(rng),
        IdentityKeyPair::generate(rng),
    );
    let (mut inviter, mut a1) = pin_invite(rng, &alice);
    let guesses = ["4321-000000", "4321-000001", "4321-000002"];
    for (i, guess) in guesses.iter().enumerate() {
        let (_, b) = join_pin(rng, &PinCode::parse(guess).unwrap(), &mallory, &a1, b"").unwrap();
        match inviter.on_reply(rng, &alice, &b, b"Alice") {
            ReplyOutcome::Rejected { next_a1, .. } if i + 1 < usize::from(MAX_ATTEMPTS) => {
                a1 = next_a1.unwrap();
            }
            ReplyOutcome::Void(FlowError::Pairing(PairingError::WrongCode))
                if i + 1 == usize::from(MAX_ATTEMPTS) => {}
            other => panic!("attempt {i}: {other:?}"),
        }
    }
    assert_eq!(inviter.attempts_left(), 0);
    assert_eq!(
        inviter.pin(),
        None,
        "the PIN is forgotten with the last run"
    );
    // Nothing more is checked, not even the right code.
    let bob = IdentityKeyPair::generate(rng);
    let (_, b) = join_pin(rng, &PinCode::parse("4321-123456").unwrap(), &bob, &a1, b"").unwrap();
    assert!(matches!(
        inviter.on_reply(rng, &alice, &b, b"Alice"),
        ReplyOutcome::Void(FlowError::AttemptsUsed)
    ));
}
