//! Thin, named wrappers over the primitives, so every construction uses them
//! the same way and known-answer tests cover them as used.

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{AeadInOut, ChaCha20Poly1305, KeyInit, XChaCha20Poly1305};
use hmac::{Hmac, Mac};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::codec::fixed;

/// A fixed-size secret: zeroized on drop, redacted in Debug.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop, Serialize, Deserialize)]
pub struct Secret<const N: usize>(#[serde(with = "fixed")] pub(crate) [u8; N]);

impl<const N: usize> Secret<N> {
    /// Wraps bytes.
    pub fn new(bytes: [u8; N]) -> Self {
        Self(bytes)
    }

    /// Fresh random bytes.
    pub fn random<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut b = [0u8; N];
        rng.fill_bytes(&mut b);
        Self(b)
    }

    /// The secret bytes; keep the borrow short.
    pub fn expose(&self) -> &[u8; N] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn random_digits_are_digits_and_cover_all_ten() {
        let rng = &mut super::os_rng();
        let mut seen = [false; 10];
        for _ in 0..200 {
            let d = super::random_digits::<6, _>(rng);
            assert!(d.expose().iter().all(u8::is_ascii_digit));
            d.expose()
                .iter()
                .for_each(|b| seen[usize::from(b - b'0')] = true);
        }
        assert!(seen.iter().all(|s| *s));
    }
}

impl<const N: usize> core::fmt::Debug for Secret<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Secret<{N}>(<redacted>)")
    }
}

/// Splits 64 secret bytes into two 32-byte secrets without leaving copies behind.
pub fn split_secret(okm: &Secret<64>) -> (Secret<32>, Secret<32>) {
    let mut a = Secret::new([0u8; 32]);
    let mut b = Secret::new([0u8; 32]);
    a.0.copy_from_slice(&okm.expose()[..32]);
    b.0.copy_from_slice(&okm.expose()[32..]);
    (a, b)
}

/// `N` uniformly random ASCII digits (rejection sampling: no modulo bias),
/// for codes people type: PIN passwords, emailed registration codes.
pub fn random_digits<const N: usize, R: CryptoRng + ?Sized>(rng: &mut R) -> Secret<N> {
    let mut out = Secret::new([0u8; N]);
    for d in out.0.iter_mut() {
        *d = loop {
            let mut b = [0u8; 1];
            rng.fill_bytes(&mut b);
            if b[0] < 250 {
                break b'0' + b[0] % 10;
            }
        };
    }
    out
}

/// HKDF-SHA256 (RFC 5869) into `N` bytes.
pub fn hkdf<const N: usize>(salt: &[u8], ikm: &[u8], info: &[u8]) -> Secret<N> {
    let mut out = [0u8; N];
    // expand only fails for N > 255 * 32; every caller uses a small constant.
    let _ = hkdf::Hkdf::<Sha256>::new(Some(salt), ikm).expand(info, &mut out);
    Secret(out)
}

/// HMAC-SHA256.
pub fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// Verifies an HMAC-SHA256 tag in constant time.
pub fn hmac_verify(key: &[u8], parts: &[&[u8]], tag: &[u8]) -> bool {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    for p in parts {
        mac.update(p);
    }
    mac.verify_slice(tag).is_ok()
}

/// SHA-256.
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    use sha2::Digest;
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The AEAD failed: wrong key, tampered data or wrong associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AeadFailure;

/// ChaCha20-Poly1305 (RFC 8439) seal.
pub fn seal(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let cipher = ChaCha20Poly1305::new(key.into());
    // Encryption only fails for inputs over 256 GiB.
    cipher
        .encrypt(
            nonce.into(),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .unwrap_or_default()
}

/// ChaCha20-Poly1305 seal in place: `buf` becomes the ciphertext, the tag
/// is returned (no allocation; attachments are sealed chunk by chunk).
pub fn seal_in_place(key: &[u8; 32], nonce: &[u8; 12], buf: &mut [u8]) -> [u8; 16] {
    ChaCha20Poly1305::new(key.into())
        .encrypt_inout_detached(nonce.into(), &[], buf.into())
        .map(Into::into)
        .unwrap_or_else(|_| unreachable!("a chunk is far below the 256 GiB limit"))
}

/// ChaCha20-Poly1305 open in place: `buf` becomes the plaintext if `tag`
/// authenticates it (on failure its contents are unspecified).
pub fn open_in_place(
    key: &[u8; 32],
    nonce: &[u8; 12],
    buf: &mut [u8],
    tag: &[u8; 16],
) -> Result<(), AeadFailure> {
    ChaCha20Poly1305::new(key.into())
        .decrypt_inout_detached(nonce.into(), &[], buf.into(), tag.into())
        .map_err(|_| AeadFailure)
}

/// ChaCha20-Poly1305 open.
pub fn open(
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, AeadFailure> {
    ChaCha20Poly1305::new(key.into())
        .decrypt(
            nonce.into(),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map_err(|_| AeadFailure)
}

/// XChaCha20-Poly1305 seal (random 24-byte nonces are safe).
pub fn xseal(key: &[u8; 32], nonce: &[u8; 24], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    XChaCha20Poly1305::new(key.into())
        .encrypt(
            nonce.into(),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .unwrap_or_default()
}

/// XChaCha20-Poly1305 open.
pub fn xopen(
    key: &[u8; 32],
    nonce: &[u8; 24],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, AeadFailure> {
    XChaCha20Poly1305::new(key.into())
        .decrypt(
            nonce.into(),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map_err(|_| AeadFailure)
}

/// The operating system's CSPRNG (WebCrypto in the browser). Panics only if
/// the platform has no randomness at all, where no key could be made safely.
pub fn os_rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}
