//! Known-answer tests for every primitive, through Parley's wrappers where
//! Parley wraps it (RFC 7748, RFC 8032, RFC 8439, RFC 5869).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{hex, unhex};
use parley_shared::crypto::keys::IdentityKeyPair;
use parley_shared::crypto::primitives;

fn arr<const N: usize>(s: &str) -> [u8; N] {
    unhex(s).try_into().unwrap()
}

#[test]
fn rfc7748_x25519_function_and_dh() {
    // §5.2, first test vector.
    let out = x25519_dalek::x25519(
        arr("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
        arr("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"),
    );
    assert_eq!(
        hex(&out),
        "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"
    );

    // §5.2, iterated: 1 and 1,000 iterations from k = u = 9.
    let (mut k, mut u) = ([0u8; 32], [0u8; 32]);
    k[0] = 9;
    u[0] = 9;
    for i in 1..=1000 {
        let r = x25519_dalek::x25519(k, u);
        u = k;
        k = r;
        if i == 1 {
            assert_eq!(
                hex(&k),
                "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079"
            );
        }
    }
    assert_eq!(
        hex(&k),
        "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51"
    );

    // §6.1 Diffie-Hellman.
    let a = x25519_dalek::StaticSecret::from(arr::<32>(
        "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
    ));
    let b = x25519_dalek::StaticSecret::from(arr::<32>(
        "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
    ));
    let pa = x25519_dalek::PublicKey::from(&a);
    let pb = x25519_dalek::PublicKey::from(&b);
    assert_eq!(
        hex(pa.as_bytes()),
        "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
    );
    assert_eq!(
        hex(pb.as_bytes()),
        "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
    );
    let shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
    assert_eq!(hex(a.diffie_hellman(&pb).as_bytes()), shared);
    assert_eq!(hex(b.diffie_hellman(&pa).as_bytes()), shared);
}

/// An identity whose Ed25519 secret is `sk` (built through Parley's own decoder).
fn identity_with_ed25519_secret(sk: &str) -> IdentityKeyPair {
    let mut enc = vec![1u8, 32];
    enc.extend(unhex(sk));
    enc.push(32);
    enc.extend([0x11; 32]);
    IdentityKeyPair::from_bytes(&enc).unwrap()
}

#[test]
fn rfc8032_ed25519_through_identity_keys() {
    // §7.1 TEST 1, 2 and 3: keys, signatures, and strict verification.
    for (sk, pk, msg, sig) in [
        (
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        ),
        (
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        ),
        (
            "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
            "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            "af82",
            "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
        ),
    ] {
        let id = identity_with_ed25519_secret(sk);
        assert_eq!(hex(id.device_id().as_bytes()), pk);
        let msg = unhex(msg);
        let got = id.sign(b"", &[&msg]);
        assert_eq!(hex(&got), sig);
        let public = id.public();
        public.verify(b"", &[&msg], &got).unwrap();
        let mut bad = got;
        bad[0] ^= 1;
        assert!(public.verify(b"", &[&msg], &bad).is_err());
    }
}

#[test]
fn rfc8439_chacha20_poly1305_aead_through_seal() {
    // §2.8.2.
    let key = arr::<32>("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
    let nonce = arr::<12>("070000004041424344454647");
    let aad = unhex("50515253c0c1c2c3c4c5c6c7");
    let pt = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
    let ct = primitives::seal(&key, &nonce, &aad, pt);
    assert_eq!(
        hex(&ct),
        "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116\
         1ae10b594f09e26a7e902ecbd0600691"
    );
    assert_eq!(primitives::open(&key, &nonce, &aad, &ct).unwrap(), pt);
    let mut tampered = ct.clone();
    tampered[5] ^= 0x80;
    assert!(primitives::open(&key, &nonce, &aad, &tampered).is_err());
    assert!(primitives::open(&key, &nonce, b"other aad", &ct).is_err());
}

#[test]
fn rfc5869_hkdf_sha256_through_hkdf() {
    // Appendix A.1, test case 1.
    let okm = primitives::hkdf::<42>(
        &unhex("000102030405060708090a0b0c"),
        &unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"),
        &unhex("f0f1f2f3f4f5f6f7f8f9"),
    );
    assert_eq!(
        hex(okm.expose()),
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    );
}

#[test]
fn hmac_sha256_rfc4231_case_2() {
    // HMAC is KDF_CK's primitive: RFC 4231 test case 2.
    let tag = primitives::hmac(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
    assert_eq!(
        hex(&tag),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    assert!(primitives::hmac_verify(
        b"Jefe",
        &[b"what do ya want for nothing?"],
        &tag
    ));
    assert!(!primitives::hmac_verify(
        b"Jefe",
        &[b"what do ya want for nothing!"],
        &tag
    ));
}
