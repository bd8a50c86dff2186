//! The ciphertext's SHA-256, which the ratchet message carries so that one
//! message names exactly one ciphertext (a room's members cannot be shown
//! different files under one key), and the cipher with it on one thread.

use sha2::{Digest, Sha256};

use super::{FileKey, Opener, Sealer, StreamError};

/// SHA-256 of a STREAM ciphertext, fed in order.
#[derive(Clone, Default)]
pub struct CiphertextDigest(Sha256);

impl core::fmt::Debug for CiphertextDigest {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("CiphertextDigest")
    }
}

impl CiphertextDigest {
    /// An empty digest.
    pub fn new() -> Self {
        Self::default()
    }

    /// Digests the next ciphertext bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The digest of everything fed.
    pub fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

/// What `fill` appends to a new buffer.
fn collected(
    fill: impl FnOnce(&mut Vec<u8>) -> Result<(), StreamError>,
) -> Result<Vec<u8>, StreamError> {
    let mut out = Vec::new();
    fill(&mut out)?;
    Ok(out)
}

/// Streaming encryptor: push plaintext, take ciphertext and, at the end,
/// its digest.
#[derive(Debug)]
pub struct Encryptor {
    sealer: Sealer,
    digest: CiphertextDigest,
}

impl Encryptor {
    /// Starts encrypting a file of exactly `len` bytes.
    pub fn new(key: &FileKey, len: u64) -> Self {
        Self {
            sealer: Sealer::new(key, len),
            digest: CiphertextDigest::new(),
        }
    }

    /// Encrypts more plaintext; returns the ciphertext completed so far.
    pub fn update(&mut self, data: &[u8]) -> Result<Vec<u8>, StreamError> {
        collected(|out| self.update_into(data, out))
    }

    /// Encrypts more plaintext, appending the ciphertext completed so far
    /// to `out` (a buffer the caller reuses: no allocation per call).
    /// On error nothing is appended.
    pub fn update_into(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<(), StreamError> {
        let start = out.len();
        self.sealer.update_into(data, out)?;
        self.digest.update(&out[start..]);
        Ok(())
    }

    /// Pads, seals the last chunk; returns the rest of the ciphertext and its SHA-256.
    pub fn finish(mut self) -> Result<(Vec<u8>, [u8; 32]), StreamError> {
        let tail = self.sealer.finish()?;
        self.digest.update(&tail);
        Ok((tail, self.digest.finish()))
    }
}

/// Streaming decryptor: push ciphertext, take plaintext (padding removed).
#[derive(Debug)]
pub struct Decryptor {
    opener: Opener,
    digest: CiphertextDigest,
}

impl Decryptor {
    /// Starts decrypting a file of `len` plaintext bytes whose ciphertext has `digest`.
    pub fn new(key: &FileKey, len: u64, digest: [u8; 32]) -> Self {
        Self {
            opener: Opener::new(key, len, digest),
            digest: CiphertextDigest::new(),
        }
    }

    /// Decrypts more ciphertext. Output is authenticated chunk by chunk, but
    /// only [`Self::finish`] proves the file is complete: do not save before it.
    pub fn update(&mut self, data: &[u8]) -> Result<Vec<u8>, StreamError> {
        collected(|out| self.update_into(data, out))
    }

    /// [`Self::update`], appending the plaintext to `out` (a buffer the
    /// caller reuses: no allocation per call). On error, `out` may hold
    /// plaintext of chunks opened before the failing one: discard it.
    pub fn update_into(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<(), StreamError> {
        self.opener.update_into(data, out)?;
        self.digest.update(data);
        Ok(())
    }

    /// Opens the last chunk and checks length and digest.
    pub fn finish(self) -> Result<Vec<u8>, StreamError> {
        self.opener.finish(self.digest.finish())
    }
}
