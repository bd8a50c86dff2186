//! Pairing rendezvous (docs/architecture.md): short-lived slots on the relay holding
//! the opaque, sealed pairing messages of `crypto::pairing`.
//!
//! A slot has an owner (the inviter) and, while someone's reply `b` is being
//! checked, a single claimant. `a1` (PIN: the inviter's SPAKE2 message,
//! readable by anyone who knows the slot), `b` (the joiner's reply, readable
//! by the owner only) and `a2` (the inviter's final message, readable by the
//! claimant only) are write-once, except that the owner may reject a failed
//! claim: that clears `b` and the claimant and replaces `a1` with a fresh
//! SPAKE2 message, so a stranger's junk does not end the invite. A slot takes
//! at most [`MAX_ATTEMPTS`] replies (ADR 0010).
//!
//! Only PIN invites take a number from the PIN space: a QR/link slot is found
//! by its 128-bit id alone, and gets a number only when its owner asks for a
//! PIN.

use serde::{Deserialize, Serialize};

use crate::time::{Millis, UnixMs};

/// Largest message a slot holds.
pub const MAX_MESSAGE: usize = 16 * 1024;
/// Default and largest slot lifetime.
pub const DEFAULT_TTL: Millis = Millis::from_secs(600);
/// PIN slots are numbered `0..PIN_SLOTS` (the `NNNN` of a `NNNN-NNNNNN` code).
pub const PIN_SLOTS: u16 = 10_000;
/// Open (not yet completed, unexpired) slots one device may own at a time; one
/// device cannot hold more of the relay's PIN numbers than this.
pub const MAX_OPEN_SLOTS: u32 = 3;
/// Replies a slot accepts: each failed one is rejected by the owner and the
/// slot stays open, until this many have failed. Every reply is at most one
/// SPAKE2 guess, so a code yields at most this many guesses.
pub const MAX_ATTEMPTS: u8 = 3;
/// PIN lookups (`GET /rendezvous/pin/{slot}`) a device, and separately a
/// client network (IPv4 address, IPv6 /64), may make per minute (bursts up
/// to the same number); more are refused with `rate_limited`.
pub const PIN_LOOKUPS_PER_MINUTE: u32 = 5;

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

    /// The path segment.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::A1 => "a1",
            Self::A2 => "a2",
            Self::B => "b",
        }
    }
}

/// `POST /api/v1/rendezvous` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateRendezvous {
    /// Allocate a PIN slot number at once (the app asks for one later, with
    /// `POST /api/v1/rendezvous/{id}/pin`, only when the user wants a PIN).
    #[serde(default)]
    pub pin: bool,
    /// Lifetime (1 s to [`DEFAULT_TTL`], which is also the default).
    pub ttl_ms: Option<Millis>,
}

/// `POST /api/v1/rendezvous` response (also `GET /api/v1/rendezvous/pin/{slot}`
/// and `POST /api/v1/rendezvous/{id}/pin`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rendezvous {
    /// base64url of the 16-byte slot id.
    pub id: String,
    /// The PIN slot number, for PIN slots.
    pub pin_slot: Option<u16>,
    /// When the slot and its messages are gone.
    pub expires_at_ms: UnixMs,
}

/// `POST /api/v1/rendezvous/{id}/reject` response: the claim was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rejected {
    /// Further replies the slot accepts; 0 means the slot is gone.
    pub attempts_left: u8,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_body_defaults_to_no_pin() {
        let body: CreateRendezvous = serde_json::from_str("{}").unwrap();
        assert_eq!(
            body,
            CreateRendezvous {
                pin: false,
                ttl_ms: None
            }
        );
        let json = serde_json::to_string(&Rejected { attempts_left: 2 }).unwrap();
        assert_eq!(json, r#"{"attempts_left":2}"#);
    }
}
