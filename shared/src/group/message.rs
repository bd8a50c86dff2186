//! The wire form of a room message: encrypted once for every member device,
//! sent to all of them in one multi-recipient envelope (ADR 0025, ADR 0026).
#![deny(clippy::indexing_slicing)]

use serde::{Deserialize, Serialize};

use super::GroupError;
use super::change::RoomId;
use super::sender_key::SessionId;
use crate::crypto::codec;

/// First byte of a room message envelope; pairwise envelopes start with 1,
/// so a receiver tells the two apart before decrypting anything.
pub const VERSION_GROUP_MESSAGE: u8 = 0x10;

/// One room message: which room and sender key, and the Megolm message
/// (ciphertext, index, MAC, Ed25519 signature by the sender key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMessage {
    /// The room.
    pub room: RoomId,
    /// The sender key that encrypted it.
    pub session: SessionId,
    /// vodozemac's `MegolmMessage` bytes.
    #[serde(with = "codec::bytes")]
    pub megolm: Vec<u8>,
}

impl GroupMessage {
    /// Whether an envelope payload is a room message.
    pub fn is_group(payload: &[u8]) -> bool {
        payload.first() == Some(&VERSION_GROUP_MESSAGE)
    }

    /// Versioned bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode(VERSION_GROUP_MESSAGE, self)
    }

    /// From [`Self::to_bytes`].
    pub fn from_bytes(b: &[u8]) -> Result<Self, GroupError> {
        Ok(codec::decode(VERSION_GROUP_MESSAGE, b)?)
    }

    /// A copy with one ciphertext byte flipped, so tests can show it is
    /// refused. Not for real messages.
    #[cfg(feature = "testing")]
    pub fn tampered(&self) -> Self {
        let mut m = self.clone();
        if let Some(b) = m.megolm.get_mut(5) {
            *b ^= 0x40;
        }
        m
    }
}
