//! Pairing rendezvous (DESIGN.md §2): short-lived, one-time slots on the
//! relay holding the opaque, sealed pairing messages of `crypto::pairing`.
//!
//! A slot has an owner (the inviter) and, once someone writes `b`, a single
//! claimant. Messages are write-once: `a1` (PIN: the inviter's SPAKE2
//! message, readable by anyone who knows the slot), `b` (the joiner's reply,
//! readable by the owner only) and `a2` (the inviter's final message,
//! readable by the claimant only).

use serde::{Deserialize, Serialize};

/// Largest message a slot holds.
pub const MAX_MESSAGE: usize = 16 * 1024;
/// Default and largest slot lifetime, seconds.
pub const DEFAULT_TTL_SECS: u32 = 600;
/// PIN slots are numbered `0..PIN_SLOTS` (the `NNN` of a code).
pub const PIN_SLOTS: u16 = 1000;

/// The messages of a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Message {
    /// Owner's first message (PIN: SPAKE2 `msg_A`).
    A1,
    /// Owner's final message (confirmation).
    A2,
    /// The claimant's reply.
    B,
}

impl Message {
    /// Parses the path segment (`a1`, `a2`, `b`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "a1" => Some(Self::A1),
            "a2" => Some(Self::A2),
            "b" => Some(Self::B),
            _ => None,
        }
    }
}

/// `POST /api/v1/rendezvous` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateRendezvous {
    /// Allocate a 3-digit PIN slot number too.
    pub pin: bool,
    /// Lifetime in seconds (at most [`DEFAULT_TTL_SECS`]).
    pub ttl_secs: Option<u32>,
}

/// `POST /api/v1/rendezvous` response (also `GET /api/v1/rendezvous/pin/{slot}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rendezvous {
    /// base64url of the 16-byte slot id.
    pub id: String,
    /// The PIN slot number, for PIN slots.
    pub pin_slot: Option<u16>,
    /// Unix seconds after which the slot and its messages are gone.
    pub expires_at: u64,
}
