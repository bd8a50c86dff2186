//! Parley's file worker and the page's way of talking to it. It also reads
//! QR codes from camera frames (see [`qr`]).
//!
//! Encrypting a file of a few hundred MiB takes seconds of CPU; on the page's
//! thread that freezes the UI. The worker (this crate's binary, a separate
//! small wasm module) reads the file, strips image metadata, and runs the
//! STREAM construction from `parley-shared` in both directions; the page only
//! posts [`job::Request`]s and reads [`job::Reply`]s. Every crypto rule stays
//! in `shared`; this is an adapter like the rest of `client/`.
#![forbid(unsafe_code)]

mod digester;
mod digesting;
mod error;
mod helper;
pub mod job;
pub mod js;
pub mod qr;
mod sink;
pub mod work;

pub use error::JobError;
