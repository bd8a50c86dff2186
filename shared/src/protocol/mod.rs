//! Wire types exchanged between the client and the relay.
//!
//! Everything here is versioned by [`API_VERSION`]: a breaking change to a body
//! bumps it, and the relay serves every version it still supports under
//! `/api/v{N}/`.

pub mod api;
pub mod attachments;
pub mod auth;
mod device_id;
mod error;
mod health;
pub mod push;
pub mod rendezvous;
pub mod turn;
pub mod ws;

pub use device_id::{BadDeviceId, DeviceId};
pub use error::{ApiError, ErrorCode};
pub use health::{CheckState, Readiness, ReadinessChecks};

/// Major version of the relay's REST and WebSocket API.
pub const API_VERSION: u32 = 1;

/// Path prefix of every versioned API route.
pub const API_PREFIX: &str = "/api/v1";
