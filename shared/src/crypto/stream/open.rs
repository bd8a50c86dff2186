//! The receiving side of STREAM: push ciphertext, take plaintext (padding
//! removed). The digest is kept by the caller or by [`super::Decryptor`],
//! and compared here before the last chunk's plaintext is returned.

use subtle::ConstantTimeEq;

use super::{CHUNK_SIZE, FileKey, StreamError, TAG_SIZE, ciphertext_len, nonce};
use crate::crypto::primitives::{Secret, open_in_place};

/// Streaming STREAM decryptor that is told the ciphertext's digest at the
/// end (see [`super::CiphertextDigest`]).
pub struct Opener {
    key: Secret<32>,
    counter: u64,
    buf: Vec<u8>,
    len: u64,
    emitted: u64,
    received: u64,
    expected_ct: u64,
    expected_digest: [u8; 32],
}

impl core::fmt::Debug for Opener {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Opener(chunk {})", self.counter)
    }
}

impl Opener {
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

    /// Decrypts more ciphertext, appending the plaintext to `out` (a buffer
    /// the caller reuses). Output is authenticated chunk by chunk, but only
    /// [`Self::finish`] proves the file is complete: do not save before it.
    /// On error, `out` may hold plaintext of chunks opened before the
    /// failing one: discard it.
    pub fn update_into(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<(), StreamError> {
        self.received += data.len() as u64;
        if self.received > self.expected_ct {
            return Err(StreamError::TooLong);
        }
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

    /// Opens the last chunk and checks the length and `seen`, the digest of
    /// every byte given to [`Self::update_into`], against the expected one.
    pub fn finish(mut self, seen: [u8; 32]) -> Result<Vec<u8>, StreamError> {
        if self.received != self.expected_ct {
            return Err(StreamError::Truncated);
        }
        let mut out = Vec::new();
        self.open_chunk(true, &mut out)?;
        if !bool::from(seen.ct_eq(&self.expected_digest)) {
            return Err(StreamError::DigestMismatch);
        }
        if self.emitted != self.len {
            return Err(StreamError::Truncated);
        }
        Ok(out)
    }
}
