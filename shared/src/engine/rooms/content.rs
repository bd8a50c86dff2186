//! What travels for rooms (issue 15, ADR 0025): over the pairwise sessions
//! (membership changes and sender keys), and inside a room message (the
//! chat itself, encrypted once with the sender key).

use serde::{Deserialize, Serialize};

use super::super::content::{MessageId, ReceiptKind};
use crate::crypto::codec::{self, DecodeError};
use crate::group::{RoomId, SenderKeyShare, SignedChange};
use crate::time::UnixMs;

/// Room content carried by a pairwise session (`Content::Room`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RoomPairwise {
    /// Membership changes: the whole log for a new member, new changes
    /// for the others (every member device, a removed one included).
    Changes {
        /// The room.
        room: RoomId,
        /// Signed changes, any order.
        changes: Vec<SignedChange>,
    },
    /// The sender's current sender key for a room.
    Key(SenderKeyShare),
}

/// The plaintext of a room message (padded like pairwise content).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RoomContent {
    /// A chat message.
    Text {
        /// Sender-chosen id.
        id: MessageId,
        /// The text.
        text: String,
        /// Sender's clock.
        sent_at: UnixMs,
    },
    /// The sender stored or showed these messages.
    Receipt {
        /// Delivered or read.
        kind: ReceiptKind,
        /// Which.
        ids: Vec<MessageId>,
    },
}

const VERSION: u8 = 1;
const BUCKET: usize = 128;

impl RoomContent {
    /// `len (u32 BE) || version || postcard || zero padding` to 128 bytes,
    /// as pairwise content, so lengths leak only in buckets.
    pub fn to_padded(&self) -> Vec<u8> {
        let body = codec::encode(VERSION, self);
        let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
        let mut out = len.to_be_bytes().to_vec();
        out.extend_from_slice(&body);
        out.resize(out.len().div_ceil(BUCKET) * BUCKET, 0);
        out
    }

    /// Reverses [`Self::to_padded`]; non-zero padding is refused.
    pub fn from_padded(b: &[u8]) -> Result<Self, DecodeError> {
        let (len, rest) = b.split_first_chunk::<4>().ok_or(DecodeError::Malformed)?;
        let len = usize::try_from(u32::from_be_bytes(*len)).map_err(|_| DecodeError::Malformed)?;
        let (body, pad) = rest.split_at_checked(len).ok_or(DecodeError::Malformed)?;
        if pad.iter().any(|&x| x != 0) {
            return Err(DecodeError::Malformed);
        }
        codec::decode(VERSION, body)
    }
}
