//! The sending side of STREAM, without the digest: push plaintext, take
//! ciphertext.

use super::{CHUNK_SIZE, FileKey, StreamError, TAG_SIZE, nonce, padded_len};
use crate::crypto::primitives::{Secret, seal_in_place};

/// Streaming STREAM encryptor. [`super::Encryptor`] adds the ciphertext's
/// digest; use this alone only where something else digests every byte it
/// returns, in order (see [`super::CiphertextDigest`]).
pub struct Sealer {
    key: Secret<32>,
    counter: u64,
    buf: Vec<u8>,
    declared: u64,
    pushed: u64,
}

impl core::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Sealer(chunk {})", self.counter)
    }
}

impl Sealer {
    /// Starts encrypting a file of exactly `len` bytes.
    pub fn new(key: &FileKey, len: u64) -> Self {
        Self {
            key: key.payload_key(),
            counter: 0,
            buf: Vec::with_capacity(CHUNK_SIZE + TAG_SIZE),
            declared: len,
            pushed: 0,
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

    /// Pads and seals the last chunk; returns the rest of the ciphertext.
    pub fn finish(mut self) -> Result<Vec<u8>, StreamError> {
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
        Ok(out)
    }
}
