//! Safety numbers: same on both sides, different for any other identity,
//! stable across versions of this code (fixed vector), compared in constant time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::TestRng;
use parley_shared::crypto::keys::IdentityKeyPair;
use parley_shared::crypto::safety::{SafetyNumber, SafetyNumberError};

#[test]
fn both_sides_see_the_same_sixty_digits() {
    let rng = &mut TestRng::new("safety");
    let alice = IdentityKeyPair::generate(rng).public();
    let bob = IdentityKeyPair::generate(rng).public();
    let a = SafetyNumber::new(&alice, &bob);
    let b = SafetyNumber::new(&bob, &alice);
    assert_eq!(a.digits(), b.digits());
    assert_eq!(a.digits().len(), 60);
    assert!(a.digits().bytes().all(|c| c.is_ascii_digit()));
    assert_eq!(a.grouped().split(' ').count(), 12);
    assert!(a.matches_digits(&b.grouped()));
    // The QR payloads: version, then own and peer fingerprint, mirrored.
    let (qa, qb) = (a.scannable(), b.scannable());
    assert_eq!(qa.len(), 66);
    assert_eq!(qa[..2], qb[..2]);
    assert_eq!(qa[2..34], qb[34..]);
    assert_eq!(qa[34..], qb[2..34]);
    // Scanning the other side's code confirms it; one's own does not.
    assert_eq!(a.verify_scanned(&qb), Ok(()));
    assert_eq!(b.verify_scanned(&qa), Ok(()));
    assert_eq!(a.verify_scanned(&qa), Err(SafetyNumberError::Mismatch));
    for bad in [&b"junk"[..], &qb[..65], &[qb.as_slice(), &[0]].concat()] {
        assert_eq!(a.verify_scanned(bad), Err(SafetyNumberError::Unsupported));
    }
    let mut other_version = qb.clone();
    other_version[1] ^= 1;
    assert_eq!(
        a.verify_scanned(&other_version),
        Err(SafetyNumberError::Unsupported)
    );
}

#[test]
fn a_substituted_identity_changes_the_number() {
    let rng = &mut TestRng::new("safety-mitm");
    let alice = IdentityKeyPair::generate(rng).public();
    let bob = IdentityKeyPair::generate(rng).public();
    let mallory = IdentityKeyPair::generate(rng).public();
    let alice_sees = SafetyNumber::new(&alice, &mallory); // relay swapped Bob's key
    let bob_sees = SafetyNumber::new(&bob, &alice);
    assert_ne!(alice_sees.digits(), bob_sees.digits());
    assert!(!alice_sees.matches_digits(bob_sees.digits()));
    assert_ne!(alice_sees.scannable()[34..], bob_sees.scannable()[2..34]);
    // Alice scans Bob's screen: the codes disagree.
    assert_eq!(
        alice_sees.verify_scanned(&bob_sees.scannable()),
        Err(SafetyNumberError::Mismatch)
    );
}

#[test]
fn fixed_vector() {
    let rng = &mut TestRng::new("safety fixed vector v1");
    let alice = IdentityKeyPair::generate(rng).public();
    let bob = IdentityKeyPair::generate(rng).public();
    assert_eq!(SafetyNumber::new(&alice, &bob).grouped(), FIXED);
}

const FIXED: &str = "39210 38128 89788 46121 95913 37435 91792 35812 00916 22946 77838 72716";
