//! Test helpers: a deterministic CSPRNG stand-in, so fixed vectors are fixed.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use core::convert::Infallible;

use parley_shared::crypto::keys::{
    IdentityKeyPair, OneTimePreKey, PqPreKey, PreKeyBundle, SignedPreKey,
};
use parley_shared::crypto::session::PreKeySource;
use rand_core::{TryCryptoRng, TryRng};
use sha2::{Digest, Sha256};

/// SHA-256 in counter mode over a seed. Deterministic, NOT for real keys.
pub(crate) struct TestRng {
    seed: [u8; 32],
    counter: u64,
    buf: Vec<u8>,
}

impl TestRng {
    pub(crate) fn new(label: &str) -> Self {
        Self {
            seed: Sha256::digest(label.as_bytes()).into(),
            counter: 0,
            buf: Vec::new(),
        }
    }
}

impl TryRng for TestRng {
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
                let mut h = Sha256::new();
                h.update(self.seed);
                h.update(self.counter.to_le_bytes());
                self.counter += 1;
                self.buf = h.finalize().to_vec();
            }
            *d = self.buf.remove(0);
        }
        Ok(())
    }
}

impl TryCryptoRng for TestRng {}

/// A device with its prekeys, as a client would hold them.
pub(crate) struct Device {
    pub identity: IdentityKeyPair,
    pub spk: SignedPreKey,
    pub pqpk: PqPreKey,
    pub opks: Vec<OneTimePreKey>,
}

impl Device {
    pub(crate) fn new(rng: &mut TestRng, one_time: u32) -> Self {
        let identity = IdentityKeyPair::generate(rng);
        let spk = identity.signed_prekey(rng, 1);
        let pqpk = identity.pq_prekey(rng, 7);
        let opks = OneTimePreKey::batch(rng, 100, one_time);
        Self {
            identity,
            spk,
            pqpk,
            opks,
        }
    }

    /// The bundle a relay would hand out (taking the first one-time prekey).
    pub(crate) fn bundle(&self) -> PreKeyBundle {
        PreKeyBundle::new(
            self.identity.public(),
            self.spk.public(),
            self.pqpk.public(),
            self.opks.first().map(OneTimePreKey::public),
        )
        .unwrap()
    }

    pub(crate) fn consume(&mut self, id: Option<u32>) {
        if let Some(id) = id {
            self.opks.retain(|o| o.id != id);
        }
    }
}

impl PreKeySource for Device {
    fn signed_prekey(&self, id: u32) -> Option<SignedPreKey> {
        (self.spk.id == id).then(|| self.spk.clone())
    }
    fn pq_prekey(&self, id: u32) -> Option<PqPreKey> {
        (self.pqpk.id == id).then(|| self.pqpk.clone())
    }
    fn one_time_prekey(&self, id: u32) -> Option<OneTimePreKey> {
        self.opks.iter().find(|o| o.id == id).cloned()
    }
}

pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(crate) fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
