//! Test helpers: a deterministic CSPRNG stand-in, so fixed vectors are fixed.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use parley_shared::crypto::keys::{
    IdentityKeyPair, OneTimePreKey, PqPreKey, PreKeyBundle, SignedPreKey,
};
use parley_shared::crypto::session::PreKeySource;

/// The deterministic generator of the fixed vectors.
pub(crate) use parley_shared::testing::SeededRng as TestRng;

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

#[allow(unused_imports)] // not every test file prints hex
pub(crate) use parley_shared::testing::vectors::hex;

pub(crate) fn unhex(s: &str) -> Vec<u8> {
    parley_shared::testing::vectors::unhex(s).unwrap()
}
