//! Parley's shared core: the wire protocol (and, as it grows, the crypto and the
//! sans-I/O client engine). No I/O lives here, so the same code runs in the
//! browser (wasm32) and in native tests.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(missing_docs))]

pub mod crypto;
pub mod engine;
pub mod group;
pub mod map;
pub mod media;
pub mod protocol;
pub mod sort;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;
