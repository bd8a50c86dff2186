//! Accounts and signed device lists (issue 14, ADR 0016): only the account
//! key signs a list, only a consenting device is in one, a relay cannot roll
//! a list back or show two lists under one counter unnoticed, and the safety
//! number does not move when devices come and go.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::TestRng;
use parley_shared::crypto::account::{
    AccountError, AccountKeyPair, AccountPublic, Change, DeviceEntry, DeviceList, MAX_DEVICES,
    SignedDeviceList, accept_newer,
};
use parley_shared::crypto::keys::IdentityKeyPair;
use parley_shared::crypto::safety::{SafetyNumber, SafetyNumberError};
use parley_shared::protocol::DeviceId;
use parley_shared::time::UnixMs;

const T0: UnixMs = UnixMs::from_millis(1_700_000_000_000);

fn devices(rng: &mut TestRng, n: usize) -> Vec<IdentityKeyPair> {
    (0..n).map(|_| IdentityKeyPair::generate(rng)).collect()
}

fn entries<'a>(
    account: &AccountPublic,
    devs: impl IntoIterator<Item = &'a IdentityKeyPair>,
) -> Vec<DeviceEntry> {
    devs.into_iter()
        .map(|d| DeviceEntry::link(d, account, T0))
        .collect()
}

fn list<'a>(
    account: &AccountKeyPair,
    counter: u64,
    devs: impl IntoIterator<Item = &'a IdentityKeyPair>,
) -> DeviceList {
    let a = account.public();
    DeviceList::new(a, counter, entries(&a, devs)).unwrap()
}

fn ids(devs: &[&IdentityKeyPair]) -> Vec<DeviceId> {
    devs.iter().map(|d| d.device_id()).collect()
}

#[test]
fn a_signed_list_verifies_and_survives_encoding() {
    let rng = &mut TestRng::new("account round trip");
    let account = AccountKeyPair::generate(rng);
    let devs = devices(rng, 3);
    let l = list(&account, 1, &devs);
    let signed = account.sign(&l).unwrap();
    let decoded = SignedDeviceList::from_bytes(&signed.to_bytes()).unwrap();
    assert_eq!(decoded, signed);
    let got = decoded.verify(&account.public()).unwrap();
    assert_eq!(got, l);
    assert_eq!(got.counter(), 1);
    assert_eq!(got.account().id(), account.public().id());
    assert_eq!(got.devices().len(), 3);
    for (e, d) in got.devices().iter().zip(&devs) {
        assert_eq!(e.device_id(), d.device_id());
        assert_eq!(e.identity(), &d.public());
        assert_eq!(e.created_at(), T0);
    }
    assert!(got.device(devs[1].device_id()).is_some());
    assert!(
        got.device(IdentityKeyPair::generate(rng).device_id())
            .is_none()
    );
    // A list can only be signed by its own account.
    let other = AccountKeyPair::generate(rng);
    assert_eq!(other.sign(&l), Err(AccountError::WrongAccount));
}

#[test]
fn every_tampered_byte_of_a_list_is_rejected() {
    let rng = &mut TestRng::new("account tamper");
    let account = AccountKeyPair::generate(rng);
    let signed = account.sign(&list(&account, 7, &devices(rng, 2))).unwrap();
    let bytes = signed.to_bytes();
    // Every single-bit flip (a device key, the counter, the signature, a
    // length) is either undecodable or fails verification.
    for i in 0..bytes.len() {
        let mut t = bytes.clone();
        t[i] ^= 0x01;
        if let Ok(s) = SignedDeviceList::from_bytes(&t) {
            assert!(s.verify(&account.public()).is_err(), "flip at byte {i}");
        }
    }
}

#[test]
fn a_list_not_signed_by_the_account_key_is_rejected() {
    let rng = &mut TestRng::new("account forged");
    let alice = AccountKeyPair::generate(rng);
    let mallory = AccountKeyPair::generate(rng);
    let devs = devices(rng, 2);
    // Mallory (or the relay) signs a list naming Alice's account.
    let forged = mallory.sign_unchecked(&alice.public(), 9, entries(&alice.public(), &devs));
    assert_eq!(
        forged.verify(&alice.public()),
        Err(AccountError::BadSignature)
    );
    // Mallory's own valid list is not Alice's.
    let theirs = mallory.sign(&list(&mallory, 1, &devs)).unwrap();
    assert_eq!(
        theirs.verify(&alice.public()),
        Err(AccountError::BadSignature)
    );
    // Alice's key over a body naming another account is refused as well.
    let misnamed = alice.sign_unchecked(&mallory.public(), 1, entries(&mallory.public(), &devs));
    assert_eq!(
        misnamed.verify(&alice.public()),
        Err(AccountError::WrongAccount)
    );
}

#[test]
fn a_device_that_did_not_agree_cannot_be_enrolled() {
    let rng = &mut TestRng::new("account consent");
    let alice = AccountKeyPair::generate(rng);
    let bob = AccountKeyPair::generate(rng);
    let [mine, victim]: [IdentityKeyPair; 2] = devices(rng, 2).try_into().unwrap();
    // The victim's link names Bob's account; Alice's key lists it anyway.
    let stolen = vec![
        DeviceEntry::link(&mine, &alice.public(), T0),
        DeviceEntry::link(&victim, &bob.public(), T0),
    ];
    assert_eq!(
        DeviceList::new(alice.public(), 1, stolen.clone()).unwrap_err(),
        AccountError::DeviceNotLinked(victim.device_id())
    );
    let signed = alice.sign_unchecked(&alice.public(), 1, stolen);
    assert_eq!(
        signed.verify(&alice.public()),
        Err(AccountError::DeviceNotLinked(victim.device_id()))
    );
}

#[test]
fn list_limits_are_enforced_on_both_sides() {
    let rng = &mut TestRng::new("account limits");
    let account = AccountKeyPair::generate(rng);
    let a = account.public();
    let devs = devices(rng, MAX_DEVICES + 1);
    let all = entries(&a, &devs);
    let dup = vec![all[0].clone(), all[1].clone(), all[0].clone()];
    let cases = [
        (Vec::new(), AccountError::Empty),
        (dup, AccountError::DuplicateDevice(devs[0].device_id())),
        (all.clone(), AccountError::TooManyDevices(MAX_DEVICES + 1)),
    ];
    for (devices, want) in cases {
        assert_eq!(
            DeviceList::new(a, 1, devices.clone()).unwrap_err(),
            want,
            "building"
        );
        let signed = account.sign_unchecked(&a, 1, devices);
        assert_eq!(signed.verify(&a), Err(want), "verifying");
    }
    // Exactly the maximum is fine.
    let full = DeviceList::new(a, 1, all[..MAX_DEVICES].to_vec()).unwrap();
    assert_eq!(
        account
            .sign(&full)
            .unwrap()
            .verify(&a)
            .unwrap()
            .devices()
            .len(),
        MAX_DEVICES
    );
}

#[test]
fn relay_rollback_of_a_device_list_is_detected() {
    let rng = &mut TestRng::new("account rollback");
    let account = AccountKeyPair::generate(rng);
    let devs = devices(rng, 3);
    let v1 = list(&account, 1, &devs[..2]);
    let v2 = list(&account, 2, &devs);
    // Both lists are genuinely signed: only the counter tells the old one.
    let old = account
        .sign(&v1)
        .unwrap()
        .verify(&account.public())
        .unwrap();
    assert_eq!(
        accept_newer(Some(&v2), &old),
        Err(AccountError::Rollback { seen: 2, got: 1 })
    );
    // The same list again is no change.
    assert_eq!(accept_newer(Some(&v2), &v2), Ok(Change::default()));
    // Another account's list never replaces this one's.
    let other = AccountKeyPair::generate(rng);
    assert_eq!(
        accept_newer(Some(&v2), &list(&other, 3, &devs)),
        Err(AccountError::WrongAccount)
    );
}

#[test]
fn two_lists_under_one_counter_are_an_equivocation() {
    let rng = &mut TestRng::new("account equivocation");
    let account = AccountKeyPair::generate(rng);
    let devs = devices(rng, 3);
    let shown_to_alice = list(&account, 5, &devs[..2]);
    let shown_to_bob = list(&account, 5, [&devs[0], &devs[2]]);
    assert_eq!(
        accept_newer(Some(&shown_to_alice), &shown_to_bob),
        Err(AccountError::Equivocation(5))
    );
    // Same devices, another creation time: still different content.
    let a = account.public();
    let later: Vec<_> = devs[..2]
        .iter()
        .map(|d| DeviceEntry::link(d, &a, UnixMs::from_millis(1)))
        .collect();
    let retimed = DeviceList::new(a, 5, later).unwrap();
    assert_eq!(
        accept_newer(Some(&shown_to_alice), &retimed),
        Err(AccountError::Equivocation(5))
    );
}

#[test]
fn a_newer_list_reports_added_and_removed_devices() {
    let rng = &mut TestRng::new("account change");
    let account = AccountKeyPair::generate(rng);
    let [phone, laptop, tablet]: [IdentityKeyPair; 3] = devices(rng, 3).try_into().unwrap();
    let v1 = list(&account, 1, [&phone, &laptop]);
    // First sight: every device is new.
    assert_eq!(
        accept_newer(None, &v1).unwrap(),
        Change {
            added: ids(&[&phone, &laptop]),
            removed: vec![]
        }
    );
    // The laptop goes, the tablet comes; counters may skip.
    let v4 = list(&account, 4, [&tablet, &phone]);
    let change = accept_newer(Some(&v1), &v4).unwrap();
    assert_eq!(change.added, ids(&[&tablet]));
    assert_eq!(change.removed, ids(&[&laptop]));
    assert!(!change.is_empty());
    // A newer list with the same devices (reordered) changes nothing shown.
    let v5 = list(&account, 5, [&phone, &tablet]);
    assert!(accept_newer(Some(&v4), &v5).unwrap().is_empty());
}

#[test]
fn account_keys_round_trip_storage_and_never_print_secrets() {
    let rng = &mut TestRng::new("account storage");
    let account = AccountKeyPair::generate(rng);
    let stored = account.to_bytes();
    assert_eq!(stored[0], 1, "version byte");
    let back = AccountKeyPair::from_bytes(&stored).unwrap();
    assert_eq!(back.public(), account.public());
    // The restored key signs lists the original's public key accepts.
    let l = list(&account, 1, &devices(rng, 1));
    assert!(back.sign(&l).unwrap().verify(&account.public()).is_ok());
    assert!(matches!(
        AccountKeyPair::from_bytes(&[2, 0]),
        Err(AccountError::Decode(_))
    ));
    assert!(AccountKeyPair::from_bytes(&stored[..stored.len() - 1]).is_err());

    let debug = format!("{account:?}");
    let secret_hex: String = stored[2..].iter().map(|b| format!("{b:02x}")).collect();
    assert!(
        debug.starts_with("AccountKeyPair { account: AccountId("),
        "{debug}"
    );
    assert!(!debug.contains(&secret_hex[..16]), "{debug}");
    assert!(!debug.contains(&format!("{:?}", &stored[2..6])), "{debug}");

    let public = account.public();
    assert_eq!(
        AccountPublic::from_bytes(&public.to_bytes()).unwrap(),
        public
    );
    assert_eq!(public.id().to_string().len(), 43);
    // The identity point (a small-order key) is not an account key.
    let mut weak = vec![1u8];
    weak.extend_from_slice(&[1; 1]);
    weak.extend_from_slice(&[0; 31]);
    assert_eq!(
        AccountPublic::from_bytes(&weak),
        Err(AccountError::Decode(
            parley_shared::crypto::codec::DecodeError::InvalidKey
        ))
    );
}

#[test]
fn the_safety_number_is_over_accounts_not_devices() {
    let rng = &mut TestRng::new("account safety");
    let alice = AccountKeyPair::generate(rng);
    let bob = AccountKeyPair::generate(rng);
    let devs = devices(rng, 3);
    let before = list(&alice, 1, &devs[..1]);
    let after = list(&alice, 2, &devs);
    let n = |l: &DeviceList| SafetyNumber::for_accounts(l.account(), &bob.public());
    assert_eq!(n(&before), n(&after));
    let (a, b) = (
        SafetyNumber::for_accounts(&alice.public(), &bob.public()),
        SafetyNumber::for_accounts(&bob.public(), &alice.public()),
    );
    assert_eq!(a.digits(), b.digits());
    assert_eq!(a.verify_scanned(&b.scannable()), Ok(()));
    let carol = AccountKeyPair::generate(rng);
    let c = SafetyNumber::for_accounts(&alice.public(), &carol.public());
    assert_ne!(a.digits(), c.digits());
    assert_eq!(
        c.verify_scanned(&b.scannable()),
        Err(SafetyNumberError::Mismatch)
    );
    // A per-device code is another construction: unsupported, not a mismatch.
    let device_code = SafetyNumber::new(&devs[1].public(), &devs[0].public()).scannable();
    assert_eq!(
        a.verify_scanned(&device_code),
        Err(SafetyNumberError::Unsupported)
    );
    assert_eq!(&a.scannable()[..2], &[0, 2]);
}

/// The signed device list's wire format, pinned by `tests/vectors/device-list-v1.txt`
/// (the session vector's style): every line recomputed from the seed, and the
/// recorded list verified from the recorded account key alone.
/// `PARLEY_WRITE_VECTORS=1` rewrites it (only with a new version number).
mod vector {
    use super::*;

    const FILE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/device-list-v1.txt"
    );
    const SEED: &str = "parley device list vector v1";

    use parley_shared::testing::vectors::{self, hex};

    fn unhex(s: &str) -> Vec<u8> {
        vectors::unhex(s).expect("hex")
    }

    fn compute() -> Vec<(&'static str, String)> {
        let rng = &mut TestRng::new(SEED);
        let account = AccountKeyPair::generate(rng);
        let a = account.public();
        let phone = IdentityKeyPair::generate(rng);
        let laptop = IdentityKeyPair::generate(rng);
        let phone_entry = DeviceEntry::link(&phone, &a, T0);
        let laptop_entry = DeviceEntry::link(&laptop, &a, UnixMs::from_millis(1_700_000_060_000));
        let l = DeviceList::new(a, 2, vec![phone_entry, laptop_entry]).unwrap();
        let signed = account.sign(&l).unwrap();
        let peer = AccountKeyPair::generate(rng);
        let number = SafetyNumber::for_accounts(&a, &peer.public());
        vec![
            ("seed", hex(SEED.as_bytes())),
            ("account_secret", hex(&account.to_bytes())),
            ("account_public", hex(&a.to_bytes())),
            ("phone_identity_public", hex(&phone.public().to_bytes())),
            ("laptop_identity_public", hex(&laptop.public().to_bytes())),
            ("signed_device_list", hex(&signed.to_bytes())),
            ("peer_account_public", hex(&peer.public().to_bytes())),
            ("account_safety_number", hex(number.digits().as_bytes())),
        ]
    }

    fn recorded() -> String {
        std::fs::read_to_string(FILE).expect("vector file")
    }

    #[test]
    fn device_list_v1_matches_every_recorded_value() {
        let got = compute();
        if std::env::var_os("PARLEY_WRITE_VECTORS").is_some() {
            let header = [
                "Parley device list vector v1: an Ed25519 account key signs",
                "\"Parley device list v1\" || list body; each device signs",
                "\"Parley device link v1\" || account key. Inputs from a SHA-256",
                "counter-mode generator over `seed`; checked by shared/tests/account.rs.",
            ];
            std::fs::write(FILE, vectors::render(&header, &got)).unwrap();
        }
        assert_eq!(vectors::first_difference(&recorded(), &got), None, "{FILE}");
    }

    #[test]
    fn the_recorded_list_verifies_from_the_recorded_key_alone() {
        let v = vectors::by_name(&recorded()).expect("`name: hex` lines");
        let account = AccountPublic::from_bytes(&unhex(&v["account_public"])).unwrap();
        let signed = SignedDeviceList::from_bytes(&unhex(&v["signed_device_list"])).unwrap();
        let l = signed.verify(&account).unwrap();
        assert_eq!(l.counter(), 2);
        let devices: Vec<_> = l
            .devices()
            .iter()
            .map(|d| d.identity().to_bytes())
            .collect();
        assert_eq!(
            devices,
            [
                unhex(&v["phone_identity_public"]),
                unhex(&v["laptop_identity_public"])
            ]
        );
        let peer = AccountPublic::from_bytes(&unhex(&v["peer_account_public"])).unwrap();
        assert_eq!(
            hex(SafetyNumber::for_accounts(&account, &peer)
                .digits()
                .as_bytes()),
            v["account_safety_number"]
        );
        // The peer's key does not verify it.
        assert_eq!(signed.verify(&peer), Err(AccountError::BadSignature));
    }
}

#[test]
fn only_the_canonical_encoding_of_a_list_is_accepted() {
    let rng = &mut TestRng::new("account canonical");
    let account = AccountKeyPair::generate(rng);
    let a = account.public();
    let bytes = account
        .sign(&list(&account, 14, &devices(rng, 1)))
        .unwrap()
        .to_bytes();
    // The body's length as an overlong varint: same value, other bytes.
    let len = bytes[1..3].to_vec();
    assert!(len[0] & 0x80 != 0 && len[1] & 0x80 == 0, "two-byte length");
    let overlong = [&bytes[..1], &[len[0], len[1] | 0x80, 0x00], &bytes[3..]].concat();
    assert_eq!(
        SignedDeviceList::from_bytes(&overlong),
        Err(AccountError::Decode(
            parley_shared::crypto::codec::DecodeError::Malformed
        ))
    );
    // Inside the signed body: a counter of 14 as `0x8e 0x00`, signed by the
    // account key itself, is still refused.
    let body_start = 3;
    let signed = SignedDeviceList::from_bytes(&bytes).unwrap();
    assert_eq!(signed.verify(&a).unwrap().counter(), 14);
    let body = &bytes[body_start..bytes.len() - 65];
    // body = version, account (32 bytes), counter (one byte: 14), devices.
    assert_eq!(body[33], 14);
    let odd_body = [&body[..33], &[0x8e, 0x00], &body[34..]].concat();
    let resigned = account.sign_raw_body(&odd_body);
    assert_eq!(
        resigned.verify(&a),
        Err(AccountError::Decode(
            parley_shared::crypto::codec::DecodeError::Malformed
        ))
    );
}
