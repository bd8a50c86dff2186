//! STREAM as the file worker runs it (`parley_shared::crypto::stream`),
//! callable from JS so `tests/e2e/bench-stream.mjs` can time it next to
//! libsodium.js in one page: plaintext comes in from JS memory (one copy in)
//! and ciphertext goes back out (one copy out), as in the worker.

use js_sys::Uint8Array;
use parley_shared::crypto::stream::{Encryptor, FileKey, Sealer};
use sha2::{Digest, Sha256};
use wasm_bindgen::prelude::*;

/// One file being encrypted.
#[wasm_bindgen]
pub struct StreamBench {
    enc: Option<Encryptor>,
    out: Vec<u8>,
}

#[wasm_bindgen]
impl StreamBench {
    /// Starts a file of `len` bytes under a 32-byte `key`.
    #[wasm_bindgen(constructor)]
    pub fn new(key: &[u8], len: f64) -> Result<StreamBench, JsError> {
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| JsError::new("the key must be 32 bytes"))?;
        Ok(Self {
            enc: Some(Encryptor::new(&FileKey::from_bytes(key), len as u64)),
            out: Vec::new(),
        })
    }

    /// Encrypts the next piece; returns the ciphertext completed so far.
    pub fn update(&mut self, data: &[u8]) -> Result<Uint8Array, JsError> {
        let enc = self.enc.as_mut().ok_or_else(|| JsError::new("finished"))?;
        self.out.clear();
        enc.update_into(data, &mut self.out)
            .map_err(|e| JsError::new(&e.to_string()))?;
        Ok(Uint8Array::from(&self.out[..]))
    }

    /// Pads and seals the last chunk; returns the rest of the ciphertext
    /// followed by the 32-byte SHA-256 of the whole ciphertext.
    pub fn finish(&mut self) -> Result<Uint8Array, JsError> {
        let enc = self.enc.take().ok_or_else(|| JsError::new("finished"))?;
        let (mut tail, digest) = enc.finish().map_err(|e| JsError::new(&e.to_string()))?;
        tail.extend_from_slice(&digest);
        Ok(Uint8Array::from(&tail[..]))
    }
}

/// The cipher alone ([`Sealer`], no digest): what the file worker's own
/// thread runs when its helper digests the ciphertext.
#[wasm_bindgen]
pub struct SealerBench {
    sealer: Option<Sealer>,
    out: Vec<u8>,
}

#[wasm_bindgen]
impl SealerBench {
    /// Starts a file of `len` bytes under a 32-byte `key`.
    #[wasm_bindgen(constructor)]
    pub fn new(key: &[u8], len: f64) -> Result<SealerBench, JsError> {
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| JsError::new("the key must be 32 bytes"))?;
        Ok(Self {
            sealer: Some(Sealer::new(&FileKey::from_bytes(key), len as u64)),
            out: Vec::new(),
        })
    }

    /// Encrypts the next piece; returns the ciphertext completed so far.
    pub fn update(&mut self, data: &[u8]) -> Result<Uint8Array, JsError> {
        let sealer = self
            .sealer
            .as_mut()
            .ok_or_else(|| JsError::new("finished"))?;
        self.out.clear();
        sealer
            .update_into(data, &mut self.out)
            .map_err(|e| JsError::new(&e.to_string()))?;
        Ok(Uint8Array::from(&self.out[..]))
    }

    /// Pads and seals the last chunk; returns the rest of the ciphertext.
    pub fn finish(&mut self) -> Result<Uint8Array, JsError> {
        let sealer = self.sealer.take().ok_or_else(|| JsError::new("finished"))?;
        let tail = sealer.finish().map_err(|e| JsError::new(&e.to_string()))?;
        Ok(Uint8Array::from(&tail[..]))
    }
}

/// SHA-256 alone (the digest STREAM keeps of its ciphertext), to tell the
/// digest's share of STREAM's time from the cipher's.
#[wasm_bindgen]
pub struct Sha256Bench(Sha256);

#[wasm_bindgen]
impl Sha256Bench {
    /// An empty hash.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Sha256Bench {
        Self(Sha256::new())
    }

    /// Hashes the next piece.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The digest.
    pub fn finish(self) -> Vec<u8> {
        self.0.finalize().to_vec()
    }
}

impl Default for Sha256Bench {
    fn default() -> Self {
        Self::new()
    }
}
