//! A deterministic stand-in for a CSPRNG, so fixed vectors stay fixed:
//! SHA-256 in counter mode over a label. NOT for real keys.

use core::convert::Infallible;

use rand_core::{TryCryptoRng, TryRng};

use crate::crypto::primitives::sha256;

/// SHA-256(SHA-256(label) || counter) blocks, in order.
#[derive(Debug, Clone)]
pub struct SeededRng {
    seed: [u8; 32],
    counter: u64,
    buf: Vec<u8>,
}

impl SeededRng {
    /// The stream for `label`.
    pub fn new(label: &str) -> Self {
        Self {
            seed: sha256(&[label.as_bytes()]),
            counter: 0,
            buf: Vec::new(),
        }
    }
}

impl TryRng for SeededRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for d in dst {
            if self.buf.is_empty() {
                self.buf = sha256(&[&self.seed, &self.counter.to_le_bytes()]).to_vec();
                self.counter += 1;
            }
            *d = self.buf.remove(0);
        }
        Ok(())
    }
}

impl TryCryptoRng for SeededRng {}
