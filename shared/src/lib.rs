//! Parley's shared core: the wire protocol, the crypto and the sans-I/O
//! client engine. No I/O lives here, so the same code runs in the browser
//! (wasm32) and in native tests.
//!
//! The engine and group rooms (with Megolm) come with the `engine` feature,
//! the media filters (with the image codecs) with `media`, which `engine`
//! includes; the relay builds with neither, the file worker with `media`.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(missing_docs))]

pub mod crypto;
#[cfg(feature = "engine")]
pub mod engine;
#[cfg(feature = "engine")]
pub mod group;
#[cfg(feature = "engine")]
pub mod map;
#[cfg(feature = "media")]
pub mod media;
pub mod protocol;
pub mod sort;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;
