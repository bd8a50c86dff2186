//! Parley's cryptography (docs/architecture.md). Pure functions and state machines:
//! randomness comes in as a parameter, nothing here does I/O.

pub mod account;
pub mod backup;
pub mod codec;
pub mod keys;
pub mod pairing;
pub mod pqxdh;
pub mod primitives;
pub mod ratchet;
pub mod safety;
pub mod session;
pub mod stream;
#[cfg(all(test, feature = "testing"))]
mod vectors;

pub use primitives::os_rng;
