//! Parley relay: a thin actix-web server that stores opaque ciphertext, signs
//! blob URLs and serves the PWA. It holds no private key of any user.
#![forbid(unsafe_code)]

pub mod backlog;
pub mod blob;
pub mod bus;
pub mod clock;
pub mod config;
pub mod db;
pub mod error;
pub mod fast_path;
pub mod http;
pub mod hub;
pub mod invite_code;
pub mod limits;
pub mod mail;
pub mod mailbox;
pub mod push;
pub mod server;
pub mod sweeper;
pub mod telemetry;
