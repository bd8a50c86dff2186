//! The session wire format pinned by a vector on disk with every intermediate
//! value (age's testkit style): `shared/tests/vectors/session-v1.txt`. Each
//! line is recomputed from the seed, and the key agreement is also recomputed
//! from the recorded values alone, so a mismatch names the first step that
//! changed. `PARLEY_WRITE_VECTORS=1` rewrites the file (only with a new
//! version number: clients in the field must keep talking).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::keys::{self, IdentityKeyPair, OneTimePreKey, PreKeyBundle};
use super::pqxdh::{self, PQXDH_INFO};
use super::primitives::{Secret, hkdf};
use super::session::{MemoryPreKeys, Session, SessionMessage};
use crate::testing::SeededRng;
use crate::testing::vectors::{self, hex};

const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/session-v1.txt");
const SEED: &str = "parley fixed vector v1";

fn unhex(s: &str) -> Vec<u8> {
    vectors::unhex(s).expect("hex")
}

/// Every value of one session start and reply, in protocol order.
fn compute() -> Vec<(&'static str, String)> {
    let rng = &mut SeededRng::new(SEED);
    let alice = IdentityKeyPair::generate(rng);
    // Alice's own prekeys: drawn only to keep the generator's sequence.
    let _ = (alice.signed_prekey(rng, 1), alice.pq_prekey(rng, 7));
    let bob = IdentityKeyPair::generate(rng);
    let spk = bob.signed_prekey(rng, 1);
    let pqpk = bob.pq_prekey(rng, 7);
    let opk = OneTimePreKey::batch(rng, 100, 1).remove(0);
    let bundle = PreKeyBundle::new(
        bob.public(),
        spk.public(),
        pqpk.public(),
        Some(opk.public()),
    )
    .unwrap();
    let mut a = Session::initiate(rng, &alice, &bundle).unwrap();
    let first = a.encrypt(b"fixed vector").unwrap();
    let SessionMessage::PreKey { initial, message } = SessionMessage::from_bytes(&first).unwrap()
    else {
        panic!("the first message carries the initial header");
    };
    // The responder's view of the agreement, step by step (§3.4).
    let ek = &initial.ephemeral;
    let dh1 = keys::dh(&spk.secret(), initial.identity.dh_key()).unwrap();
    let dh2 = bob.dh(ek).unwrap();
    let dh3 = keys::dh(&spk.secret(), ek).unwrap();
    let dh4 = keys::dh(&opk.secret(), ek).unwrap();
    let ss = keys::pq_decapsulate(pqpk.seed(), &initial.kem_ciphertext).unwrap();
    let agreed = pqxdh::respond(&bob, &spk, &pqpk, Some(&opk), &initial).unwrap();
    let prekeys = MemoryPreKeys {
        signed: vec![spk.clone()],
        pq: vec![pqpk.clone()],
        one_time: vec![opk.clone()],
    };
    let mut b = Session::accept(rng, &bob, &prekeys, &first).unwrap();
    assert_eq!(b.plaintext, b"fixed vector");
    let reply = b.session.encrypt(b"reply").unwrap();
    assert_eq!(a.decrypt(rng, &reply).unwrap(), b"reply");
    vec![
        ("seed", hex(SEED.as_bytes())),
        ("alice_identity_secret", hex(&alice.to_bytes())),
        ("alice_identity_public", hex(&alice.public().to_bytes())),
        ("bob_identity_secret", hex(&bob.to_bytes())),
        ("bob_identity_public", hex(&bob.public().to_bytes())),
        ("bob_signed_prekey", hex(&spk.to_bytes())),
        ("bob_pq_prekey", hex(&pqpk.to_bytes())),
        ("bob_one_time_prekey", hex(&opk.to_bytes())),
        ("bundle", hex(&bundle.to_bytes())),
        ("ephemeral_public", hex(ek)),
        ("kem_ciphertext", hex(&initial.kem_ciphertext)),
        ("dh1", hex(dh1.expose())),
        ("dh2", hex(dh2.expose())),
        ("dh3", hex(dh3.expose())),
        ("dh4", hex(dh4.expose())),
        ("kem_shared_secret", hex(ss.expose())),
        ("sk", hex(agreed.shared_secret.expose())),
        ("ad", hex(&agreed.associated_data)),
        ("first_ratchet_message", hex(&message)),
        ("first_message", hex(&first)),
        ("reply_message", hex(&reply)),
    ]
}

fn recorded() -> String {
    std::fs::read_to_string(FILE).expect("vector file")
}

#[test]
fn session_v1_matches_every_recorded_step() {
    let got = compute();
    if std::env::var_os("PARLEY_WRITE_VECTORS").is_some() {
        let header = [
            "Parley session vector v1: PQXDH (X25519, ML-KEM-768, SHA-256) then the",
            "Double Ratchet. Inputs from a SHA-256 counter-mode generator over `seed`;",
            "checked by shared/src/crypto/vectors.rs.",
        ];
        std::fs::write(FILE, vectors::render(&header, &got)).unwrap();
    }
    assert_eq!(vectors::first_difference(&recorded(), &got), None, "{FILE}");
}

#[test]
fn recorded_agreement_follows_the_pqxdh_formula() {
    // From the recorded values alone: SK = HKDF(0xFF×32 || DH1..DH4 || SS),
    // AD = "Parley AD v1" || IK_A || IK_B.
    let v = vectors::by_name(&recorded()).expect("`name: hex` lines");
    let mut ikm = vec![0xFF; 32];
    for k in ["dh1", "dh2", "dh3", "dh4", "kem_shared_secret"] {
        ikm.extend(unhex(&v[k]));
    }
    let sk: Secret<32> = hkdf(&[0; 32], &ikm, PQXDH_INFO);
    assert_eq!(hex(sk.expose()), v["sk"]);
    let ik = |k: &str| keys::IdentityPublic::from_bytes(&unhex(&v[k])).unwrap();
    let mut ad = b"Parley AD v1".to_vec();
    ad.extend(ik("alice_identity_public").transcript_bytes());
    ad.extend(ik("bob_identity_public").transcript_bytes());
    assert_eq!(hex(&ad), v["ad"]);
    // The first message embeds exactly the recorded ratchet message.
    assert!(v["first_message"].ends_with(&v["first_ratchet_message"]));
}
