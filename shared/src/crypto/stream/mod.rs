//! Attachment encryption: the STREAM construction as age lays it out
//! (age-encryption.org/v1, "payload"): ChaCha20-Poly1305 over 64 KiB chunks,
//! nonce = 88-bit big-endian chunk counter || last-chunk flag (0x01 on the
//! last chunk). Reordering, truncation, extension and tampering all fail.
//!
//! The plaintext is padded with zeros to a size bucket (Padmé, Nikitin et al.
//! 2019: at most ~12 % overhead, leaks O(log log n) bits of the size) so the
//! stored ciphertext hides the exact file size. The real length, the file key
//! and the SHA-256 of the ciphertext travel inside the ratchet message.
//! Memory stays flat: both directions hold at most one chunk.
//!
//! [`Encryptor`] and [`Decryptor`] keep the digest themselves. An adapter
//! with a second thread can run the cipher ([`Sealer`], [`Opener`]) on one
//! and [`CiphertextDigest`] on the other over the same bytes in the same
//! order; the opener still compares the digest, in constant time, before it
//! returns the last chunk's plaintext.

mod digest;
mod open;
mod seal;

use rand_core::CryptoRng;

use super::primitives::{Secret, hkdf};

pub use digest::{CiphertextDigest, Decryptor, Encryptor};
pub use open::Opener;
pub use seal::Sealer;

/// Plaintext bytes per chunk.
pub const CHUNK_SIZE: usize = 64 * 1024;
/// Poly1305 tag per chunk.
pub const TAG_SIZE: usize = 16;
/// Smallest padded size: small files all look alike.
pub const MIN_PADDED: u64 = 1024;
const INFO: &[u8] = b"Parley_STREAM_v1";

/// STREAM errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// A chunk failed authentication (tampered, reordered or wrong key).
    #[error("attachment chunk {0} failed authentication")]
    Tampered(u64),
    /// The ciphertext ended before its last chunk.
    #[error("attachment is truncated")]
    Truncated,
    /// More ciphertext than the declared size allows.
    #[error("attachment is longer than declared")]
    TooLong,
    /// The sender pushed a different number of bytes than declared.
    #[error("plaintext length differs from the declared length")]
    LengthMismatch,
    /// The ciphertext digest differs from the one in the message.
    #[error("attachment digest mismatch")]
    DigestMismatch,
}

/// Padded plaintext size for a file of `len` bytes (Padmé over a floor).
pub fn padded_len(len: u64) -> u64 {
    let l = len.max(MIN_PADDED);
    let e = 63 - u64::from(l.leading_zeros());
    let s = 64 - u64::from(e.leading_zeros());
    let mask = (1u64 << (e - s)) - 1;
    (l + mask) & !mask
}

/// Ciphertext size for a file of `len` bytes.
pub fn ciphertext_len(len: u64) -> u64 {
    let p = padded_len(len);
    let chunks = p.div_ceil(CHUNK_SIZE as u64).max(1);
    p + chunks * TAG_SIZE as u64
}

/// A per-file key (random; sent inside the ratchet message).
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileKey(Secret<32>);

impl core::fmt::Debug for FileKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("FileKey(<redacted>)")
    }
}

impl FileKey {
    /// A fresh key.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self(Secret::random(rng))
    }

    /// From raw bytes (e.g. decoded from a message).
    pub fn from_bytes(b: [u8; 32]) -> Self {
        Self(Secret::new(b))
    }

    /// Raw bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        *self.0.expose()
    }

    fn payload_key(&self) -> Secret<32> {
        hkdf(&[], self.0.expose(), INFO)
    }
}

fn nonce(counter: u64, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[3..11].copy_from_slice(&counter.to_be_bytes());
    n[11] = u8::from(last);
    n
}
