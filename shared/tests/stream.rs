//! STREAM attachments: round trips at chunk boundaries, flat streaming,
//! and detection of truncation, reordering, extension and tampering.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::TestRng;
use parley_shared::crypto::stream::{
    CHUNK_SIZE, CiphertextDigest, Decryptor, Encryptor, FileKey, Opener, Sealer, StreamError,
    TAG_SIZE, ciphertext_len, padded_len,
};
use rand_core::Rng as _;

fn data(rng: &mut TestRng, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rng.fill_bytes(&mut v);
    v
}

fn encrypt(key: &FileKey, pt: &[u8], piece: usize) -> (Vec<u8>, [u8; 32]) {
    let mut enc = Encryptor::new(key, pt.len() as u64);
    let mut ct = Vec::new();
    for p in pt.chunks(piece.max(1)) {
        ct.extend(enc.update(p).unwrap());
    }
    let (tail, digest) = enc.finish().unwrap();
    ct.extend(tail);
    (ct, digest)
}

fn decrypt(
    key: &FileKey,
    len: u64,
    digest: [u8; 32],
    ct: &[u8],
    piece: usize,
) -> Result<Vec<u8>, StreamError> {
    let mut dec = Decryptor::new(key, len, digest);
    let mut out = Vec::new();
    for p in ct.chunks(piece.max(1)) {
        out.extend(dec.update(p)?);
    }
    out.extend(dec.finish()?);
    Ok(out)
}

#[test]
fn round_trips_at_every_boundary() {
    let rng = &mut TestRng::new("stream");
    let key = FileKey::generate(rng);
    for len in [
        0,
        1,
        1023,
        1024,
        CHUNK_SIZE - 1,
        CHUNK_SIZE,
        CHUNK_SIZE + 1,
        3 * CHUNK_SIZE,
        200_001,
    ] {
        let pt = data(rng, len);
        for piece in [1000, CHUNK_SIZE, 7 * CHUNK_SIZE] {
            let (ct, digest) = encrypt(&key, &pt, piece);
            assert_eq!(ct.len() as u64, ciphertext_len(len as u64), "len {len}");
            assert_eq!(
                decrypt(&key, len as u64, digest, &ct, piece + 3).unwrap(),
                pt,
                "len {len}"
            );
        }
    }
}

#[test]
fn padding_hides_exact_sizes_with_bounded_overhead() {
    assert_eq!(padded_len(0), 1024);
    assert_eq!(padded_len(1), 1024);
    assert_eq!(padded_len(1000), padded_len(1024), "small files look alike");
    let mut prev = 0;
    for len in (1u64..40).map(|e| 1u64 << (e % 34)).chain([
        1_000_000,
        20 * 1024 * 1024 + 7,
        255 * 1024 * 1024,
    ]) {
        let p = padded_len(len);
        assert!(p >= len);
        if len >= 1024 {
            assert!((p - len) as f64 <= len as f64 * 0.12 + 1.0, "{len} -> {p}");
        }
        prev = prev.max(p);
    }
    // Many different sizes share a bucket.
    let buckets: std::collections::BTreeSet<u64> = (10_000_000..10_100_000)
        .step_by(997)
        .map(padded_len)
        .collect();
    assert!(buckets.len() < 5, "{buckets:?}");
}

#[test]
fn truncation_reordering_extension_and_tampering_are_detected() {
    let rng = &mut TestRng::new("stream-attacks");
    let key = FileKey::generate(rng);
    let mut pt = data(rng, 3 * CHUNK_SIZE + 100);
    *pt.last_mut().unwrap() = 0xAA;
    let len = pt.len() as u64;
    let (ct, digest) = encrypt(&key, &pt, CHUNK_SIZE);
    let c = CHUNK_SIZE + TAG_SIZE;

    // Truncated at a chunk boundary: the remaining "last" chunk lacks the flag.
    assert!(decrypt(&key, len, digest, &ct[..2 * c], 4096).is_err());
    assert!(decrypt(&key, len, digest, &ct[..ct.len() - 1], 4096).is_err());
    // Reordered chunks.
    let mut swapped = ct.clone();
    swapped[..c].copy_from_slice(&ct[c..2 * c]);
    swapped[c..2 * c].copy_from_slice(&ct[..c]);
    assert!(matches!(
        decrypt(&key, len, digest, &swapped, 4096),
        Err(StreamError::Tampered(0))
    ));
    // Extended.
    let mut longer = ct.clone();
    longer.extend_from_slice(&[0u8; 32]);
    assert_eq!(
        decrypt(&key, len, digest, &longer, 4096).unwrap_err(),
        StreamError::TooLong
    );
    // One flipped bit in each chunk.
    for chunk in 0..4 {
        let mut t = ct.clone();
        t[chunk * c + 17] ^= 0x10;
        assert_eq!(
            decrypt(&key, len, digest, &t, 4096).unwrap_err(),
            StreamError::Tampered(chunk as u64)
        );
    }
    // Wrong key, wrong digest, wrong declared length.
    assert!(decrypt(&FileKey::generate(rng), len, digest, &ct, 4096).is_err());
    let mut d = digest;
    d[0] ^= 1;
    assert_eq!(
        decrypt(&key, len, d, &ct, 4096).unwrap_err(),
        StreamError::DigestMismatch
    );
    // A declared length one short would silently cut the last byte.
    assert_eq!(
        decrypt(&key, len - 1, digest, &ct, 4096).unwrap_err(),
        StreamError::LengthMismatch
    );
}

#[test]
fn encryptor_enforces_the_declared_length() {
    let rng = &mut TestRng::new("stream-len");
    let key = FileKey::generate(rng);
    let mut enc = Encryptor::new(&key, 10);
    assert_eq!(
        enc.update(&[0; 11]).unwrap_err(),
        StreamError::LengthMismatch
    );
    let mut enc = Encryptor::new(&key, 10);
    enc.update(&[0; 9]).unwrap();
    assert_eq!(enc.finish().unwrap_err(), StreamError::LengthMismatch);
}

#[test]
fn memory_stays_flat_for_large_inputs() {
    // 16 MiB through 1 MiB pieces: no call ever returns more than one piece
    // plus one chunk, so nothing accumulates inside the encryptor.
    let rng = &mut TestRng::new("stream-flat");
    let key = FileKey::generate(rng);
    let piece = vec![7u8; 1 << 20];
    let total = 16u64 << 20;
    let mut enc = Encryptor::new(&key, total);
    let mut dec = Decryptor::new(&key, total, [0; 32]);
    let mut out_len = 0u64;
    for _ in 0..16 {
        let ct = enc.update(&piece).unwrap();
        assert!(ct.len() <= piece.len() + 2 * (CHUNK_SIZE + TAG_SIZE));
        let pt = dec.update(&ct).unwrap();
        assert!(pt.len() <= piece.len() + CHUNK_SIZE);
        out_len += pt.len() as u64;
    }
    let (tail, _) = enc.finish().unwrap();
    out_len += dec.update(&tail).unwrap().len() as u64;
    assert!(out_len <= total);
}

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/stream-v1.txt");

/// Plaintext `i`: byte `n` is `n mod 251` (no period aligned with chunks).
fn patterned(len: usize) -> Vec<u8> {
    (0..len).map(|n| (n % 251) as u8).collect()
}

/// The recorded STREAM outputs: the whole ciphertext of a small file, and
/// the length and SHA-256 of larger ones (straddling chunk boundaries).
fn stream_vectors() -> Vec<(&'static str, String)> {
    let key = FileKey::from_bytes(core::array::from_fn(|i| i as u8));
    let mut values = vec![("key", hex(&key.to_bytes()))];
    let (small, _) = encrypt(&key, &patterned(100), 100);
    values.push(("ciphertext_100", hex(&small)));
    for (name, len) in [
        ("digest_65536", CHUNK_SIZE),
        ("digest_65537", CHUNK_SIZE + 1),
        ("digest_200001", 200_001),
        ("digest_1048576", 1 << 20),
    ] {
        let (ct, digest) = encrypt(&key, &patterned(len), len);
        assert_eq!(ct.len() as u64, ciphertext_len(len as u64));
        values.push((name, hex(&digest)));
    }
    values
}

fn hex(b: &[u8]) -> String {
    parley_shared::testing::vectors::hex(b)
}

#[test]
fn stream_v1_matches_the_recorded_vector() {
    let computed = stream_vectors();
    if std::env::var_os("PARLEY_WRITE_VECTORS").is_some() {
        let header = [
            "Parley STREAM vector v1 (shared/src/crypto/stream.rs): file key bytes 0..32,",
            "plaintext byte n = n mod 251; Padmé padding, 64 KiB chunks, SHA-256 of the ciphertext.",
            "Checked by shared/tests/stream.rs; a change means files sent before cannot be opened.",
        ];
        let text = parley_shared::testing::vectors::render(&header, &computed);
        std::fs::write(VECTORS, text).unwrap();
    }
    let recorded = std::fs::read_to_string(VECTORS).unwrap();
    assert_eq!(
        parley_shared::testing::vectors::first_difference(&recorded, &computed),
        None
    );
}

#[test]
fn ciphertext_does_not_depend_on_how_the_input_is_fed() {
    // The encryptor seals whole chunks straight from a long input and holds
    // the rest: every way of cutting the same plaintext must give the same bytes.
    let rng = &mut TestRng::new("stream-pieces");
    let key = FileKey::generate(rng);
    for len in [
        CHUNK_SIZE - 1,
        CHUNK_SIZE,
        CHUNK_SIZE + 1,
        5 * CHUNK_SIZE + 17,
    ] {
        let pt = data(rng, len);
        let whole = encrypt(&key, &pt, len);
        for piece in [
            1,
            999,
            CHUNK_SIZE - 1,
            CHUNK_SIZE,
            CHUNK_SIZE + 1,
            2 * CHUNK_SIZE + 3,
        ] {
            assert!(
                encrypt(&key, &pt, piece) == whole,
                "len {len}, pieces of {piece}"
            );
        }
        let mut enc = Encryptor::new(&key, len as u64);
        let mut out = Vec::new();
        for p in pt.chunks(CHUNK_SIZE + 7) {
            enc.update_into(p, &mut out).unwrap();
        }
        let (tail, digest) = enc.finish().unwrap();
        out.extend(tail);
        assert!(
            (&out, digest) == (&whole.0, whole.1),
            "update_into, len {len}"
        );
        // And back, through a reused buffer, in pieces that straddle chunks.
        let mut dec = Decryptor::new(&key, len as u64, digest);
        let mut back = Vec::new();
        for p in out.chunks(CHUNK_SIZE + TAG_SIZE + 5) {
            dec.update_into(p, &mut back).unwrap();
        }
        back.extend(dec.finish().unwrap());
        assert!(back == pt, "Decryptor::update_into, len {len}");
    }
}

#[test]
fn the_cipher_and_the_digest_on_their_own_give_the_same_file() {
    // What the browser's file worker does with a second thread: the sealer
    // on one, the digest of its output on the other; then the opener, told
    // the digest of what it was given.
    let rng = &mut TestRng::new("stream-split");
    let key = FileKey::generate(rng);
    let pt = data(rng, 3 * CHUNK_SIZE + 5);
    let len = pt.len() as u64;
    let (ct, digest) = encrypt(&key, &pt, 1 << 20);

    let mut sealer = Sealer::new(&key, len);
    let mut kept = CiphertextDigest::new();
    let mut split = Vec::new();
    for p in pt.chunks(CHUNK_SIZE - 3) {
        let mut out = Vec::new();
        sealer.update_into(p, &mut out).unwrap();
        kept.update(&out);
        split.extend(out);
    }
    let tail = sealer.finish().unwrap();
    kept.update(&tail);
    split.extend(tail);
    assert!(split == ct, "the same ciphertext");
    assert_eq!(kept.finish(), digest);

    let open = |seen: [u8; 32], bytes: &[u8]| {
        let mut opener = Opener::new(&key, len, digest);
        let mut out = Vec::new();
        for p in bytes.chunks(4096) {
            opener.update_into(p, &mut out)?;
        }
        out.extend(opener.finish(seen)?);
        Ok::<_, StreamError>(out)
    };
    let digest_of = |bytes: &[u8]| {
        let mut d = CiphertextDigest::new();
        d.update(bytes);
        d.finish()
    };
    assert!(open(digest_of(&ct), &ct).unwrap() == pt);
    // The digest thread saw other bytes than the opener (or none at all):
    // the file is refused although every chunk opens.
    let mut other = ct.clone();
    other[5] ^= 1;
    assert_eq!(
        open(digest_of(&other), &ct).unwrap_err(),
        StreamError::DigestMismatch
    );
    assert_eq!(
        open(CiphertextDigest::new().finish(), &ct).unwrap_err(),
        StreamError::DigestMismatch
    );
}

#[test]
fn another_file_under_the_same_key_is_refused_by_the_digest() {
    // A room member who shares the file key with the relay makes a second
    // ciphertext under it: every chunk authenticates, so only the digest in
    // the message tells the members that these are not the bytes it named.
    let rng = &mut TestRng::new("stream-equivocation");
    let key = FileKey::generate(rng);
    let (shown, other) = (data(rng, 2 * CHUNK_SIZE), data(rng, 2 * CHUNK_SIZE));
    let len = shown.len() as u64;
    let (_, named) = encrypt(&key, &shown, CHUNK_SIZE);
    let (swapped, swapped_digest) = encrypt(&key, &other, CHUNK_SIZE);
    assert!(decrypt(&key, len, swapped_digest, &swapped, 4096).unwrap() == other);
    assert_eq!(
        decrypt(&key, len, named, &swapped, 4096).unwrap_err(),
        StreamError::DigestMismatch
    );
    // The same with the digest kept beside the opener, as the file worker's helper does.
    let mut opener = Opener::new(&key, len, named);
    let mut seen = CiphertextDigest::new();
    let mut out = Vec::new();
    for p in swapped.chunks(1 << 20) {
        opener.update_into(p, &mut out).unwrap();
        seen.update(p);
    }
    assert_eq!(
        opener.finish(seen.finish()).unwrap_err(),
        StreamError::DigestMismatch
    );
}
