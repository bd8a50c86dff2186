//! The client engine (docs/architecture.md): a sans-I/O state machine in the style of
//! matrix-sdk-crypto. The adapter (browser app, native test client) feeds it
//! relay frames, fetched bundles, the clock and user intents, then drains
//! [`Effect`]s: records to store, frames to send, bundles to fetch. It never
//! waits on anything, so the same logic runs in the browser and in tests.
//!
//! Durability rule: effects come out in order, and the adapter must finish a
//! [`Effect::Store`] before acting on the effects after it. So an envelope is
//! acknowledged to the relay only after its plaintext and the advanced
//! session are stored, and an outgoing message is sent only after the
//! ratchet step that encrypted it is stored.

mod account;
pub mod backoff;
pub mod backup;
pub mod call;
pub mod content;
mod core;
mod effects;
mod error;
pub mod files;
pub mod flow;
mod http;
mod inbound;
pub mod link;
mod lists;
mod load;
pub mod model;
mod outbox;
mod own;
mod own_changes;
pub mod pairing;
mod peers;
pub mod prekeys;
mod presence;
mod restore;
pub mod rooms;
mod rotation;
mod sessions;
pub mod sync;
pub mod transfer;
pub mod typing;
mod verify;

pub use self::account::{AccountError, AccountOutcome};
pub use self::core::{Effect, Engine, EngineError, MemoryStore, StoreOp};
pub use self::http::{Reply, RequestId, decode};
pub use self::restore::RestoreError;
pub use self::verify::ScanError;
