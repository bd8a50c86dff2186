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

use rand_core::CryptoRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::primitives::{Secret, hkdf, open_in_place, seal_in_place};

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

/// Streaming encryptor: push plaintext, take ciphertext.
pub struct Encryptor {
    key: Secret<32>,
    counter: u64,
    buf: Vec<u8>,
    declared: u64,
    pushed: u64,
    digest: Sha256,
}

impl core::fmt::Debug for Encryptor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Encryptor(chunk {})", self.counter)
    }
}

impl Encryptor {
    /// Starts encrypting a file of exactly `len` bytes.
    pub fn new(key: &FileKey, len: u64) -> Self {
        Self {
            key: key.payload_key(),
            counter: 0,
            buf: Vec::with_capacity(CHUNK_SIZE + TAG_SIZE),
            declared: len,
            pushed: 0,
            digest: Sha256::new(),
        }
    }

    /// Seals `chunk` onto the end of `out` (ciphertext, then tag).
    fn seal_onto(&mut self, out: &mut Vec<u8>, chunk: &[u8], last: bool) {
        let start = out.len();
        out.extend_from_slice(chunk);
        let tag = seal_in_place(
            self.key.expose(),
            &nonce(self.counter, last),
            &mut out[start..],
        );
        out.extend_from_slice(&tag);
        self.digest.update(&out[start..]);
        self.counter += 1;
    }

    /// Seals the held chunk (possibly short, possibly empty).
    fn emit(&mut self, out: &mut Vec<u8>, last: bool) {
        let held = core::mem::take(&mut self.buf);
        self.seal_onto(out, &held, last);
        self.buf = held;
        self.buf.clear();
    }

    fn absorb(&mut self, mut data: &[u8], out: &mut Vec<u8>) {
        while !data.is_empty() {
            // Keep one full chunk back until we know whether it is the last.
            if self.buf.len() == CHUNK_SIZE {
                self.emit(out, false);
            }
            // A whole chunk with more input after it cannot be the last:
            // seal it straight from the input, without holding a copy.
            if self.buf.is_empty() && data.len() > CHUNK_SIZE {
                let (chunk, rest) = data.split_at(CHUNK_SIZE);
                self.seal_onto(out, chunk, false);
                data = rest;
                continue;
            }
            let n = (CHUNK_SIZE - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..n]);
            data = &data[n..];
        }
    }

    /// Encrypts more plaintext; returns the ciphertext completed so far.
    pub fn update(&mut self, data: &[u8]) -> Result<Vec<u8>, StreamError> {
        let mut out = Vec::new();
        self.update_into(data, &mut out)?;
        Ok(out)
    }

    /// Encrypts more plaintext, appending the ciphertext completed so far
    /// to `out` (a buffer the caller reuses: no allocation per call).
    /// On error nothing is appended.
    pub fn update_into(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<(), StreamError> {
        let pushed = self.pushed + data.len() as u64;
        if pushed > self.declared {
            return Err(StreamError::LengthMismatch);
        }
        self.pushed = pushed;
        out.reserve(data.len() + (data.len() / CHUNK_SIZE + 1) * TAG_SIZE);
        self.absorb(data, out);
        Ok(())
    }

    /// Pads, seals the last chunk; returns the rest of the ciphertext and its SHA-256.
    pub fn finish(mut self) -> Result<(Vec<u8>, [u8; 32]), StreamError> {
        if self.pushed != self.declared {
            return Err(StreamError::LengthMismatch);
        }
        let mut out = Vec::new();
        let mut pad = padded_len(self.declared) - self.declared;
        let zeros = [0u8; 4096];
        while pad > 0 {
            let n = pad.min(zeros.len() as u64) as usize;
            self.absorb(&zeros[..n], &mut out);
            pad -= n as u64;
        }
        self.emit(&mut out, true);
        let digest = self.digest.clone().finalize().into();
        Ok((out, digest))
    }
}

/// Streaming decryptor: push ciphertext, take plaintext (padding removed).
pub struct Decryptor {
    key: Secret<32>,
    counter: u64,
    buf: Vec<u8>,
    len: u64,
    emitted: u64,
    received: u64,
    expected_ct: u64,
    expected_digest: [u8; 32],
    digest: Sha256,
}

impl core::fmt::Debug for Decryptor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Decryptor(chunk {})", self.counter)
    }
}

impl Decryptor {
    /// Starts decrypting a file of `len` plaintext bytes whose ciphertext has `digest`.
    pub fn new(key: &FileKey, len: u64, digest: [u8; 32]) -> Self {
        Self {
            key: key.payload_key(),
            counter: 0,
            buf: Vec::with_capacity(CHUNK_SIZE + TAG_SIZE),
            len,
            emitted: 0,
            received: 0,
            expected_ct: ciphertext_len(len),
            expected_digest: digest,
            digest: Sha256::new(),
        }
    }

    /// Opens the held chunk (`self.buf`, ciphertext and tag) in place and
    /// appends its unpadded plaintext to `out`.
    fn open_chunk(&mut self, last: bool, out: &mut Vec<u8>) -> Result<(), StreamError> {
        let tampered = StreamError::Tampered(self.counter);
        let split = self
            .buf
            .len()
            .checked_sub(TAG_SIZE)
            .ok_or(tampered.clone())?;
        let (pt, tag) = self.buf.split_at_mut(split);
        let tag: &[u8; TAG_SIZE] = (&*tag).try_into().map_err(|_| tampered.clone())?;
        open_in_place(self.key.expose(), &nonce(self.counter, last), pt, tag)
            .map_err(|_| tampered)?;
        let keep = (self.len - self.emitted).min(pt.len() as u64) as usize;
        // Padding is authenticated and all zeros; anything else means the
        // declared length is wrong and real bytes would be cut off.
        if pt[keep..].iter().any(|&b| b != 0) {
            return Err(StreamError::LengthMismatch);
        }
        out.extend_from_slice(&pt[..keep]);
        self.buf.clear();
        self.emitted += keep as u64;
        self.counter += 1;
        Ok(())
    }

    /// Decrypts more ciphertext. Output is authenticated chunk by chunk, but
    /// only [`Self::finish`] proves the file is complete: do not save before it.
    pub fn update(&mut self, data: &[u8]) -> Result<Vec<u8>, StreamError> {
        let mut out = Vec::new();
        self.update_into(data, &mut out)?;
        Ok(out)
    }

    /// [`Self::update`], appending the plaintext to `out` (a buffer the
    /// caller reuses: no allocation per call). On error, `out` may hold
    /// plaintext of chunks opened before the failing one: discard it.
    pub fn update_into(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<(), StreamError> {
        self.received += data.len() as u64;
        if self.received > self.expected_ct {
            return Err(StreamError::TooLong);
        }
        self.digest.update(data);
        let full = CHUNK_SIZE + TAG_SIZE;
        let mut data = data;
        while !data.is_empty() {
            if self.buf.len() == full {
                self.open_chunk(false, out)?;
            }
            let n = (full - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..n]);
            data = &data[n..];
        }
        Ok(())
    }

    /// Opens the last chunk and checks length and digest.
    pub fn finish(mut self) -> Result<Vec<u8>, StreamError> {
        if self.received != self.expected_ct {
            return Err(StreamError::Truncated);
        }
        let mut out = Vec::new();
        self.open_chunk(true, &mut out)?;
        let digest: [u8; 32] = self.digest.clone().finalize().into();
        if !bool::from(digest.ct_eq(&self.expected_digest)) {
            return Err(StreamError::DigestMismatch);
        }
        if self.emitted != self.len {
            return Err(StreamError::Truncated);
        }
        Ok(out)
    }
}
