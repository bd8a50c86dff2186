//! What travels for rooms (issue 15, ADR 0025): over the pairwise sessions
//! (membership changes and sender keys), and inside a room message (the
//! chat itself, encrypted once with the sender key).

use serde::{Deserialize, Serialize};

use super::super::content::{MessageId, ReceiptKind};
use super::super::files::FileOffer;
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
    /// The sender's device stored, or its person saw, these room messages
    /// (to the author's devices only, so receipts cost one envelope per
    /// reader, not one per member).
    Receipt {
        /// The room.
        room: RoomId,
        /// Delivered or read.
        kind: ReceiptKind,
        /// Which (at most [`MAX_RECEIPT_IDS`] are read).
        ids: Vec<MessageId>,
    },
    /// The sender is typing in the room, or stopped (ephemeral).
    Typing {
        /// The room.
        room: RoomId,
        /// Typing now.
        active: bool,
    },
}

/// Most message ids one receipt is read for.
pub const MAX_RECEIPT_IDS: usize = 1024;

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
    /// A file, uploaded once for every member device (the relay lets each
    /// of them download it; ADR 0026).
    File {
        /// Sender-chosen id.
        id: MessageId,
        /// What to fetch and how to open it.
        offer: FileOffer,
    },
}

const VERSION: u8 = 1;

impl RoomContent {
    /// Padded like pairwise content, so lengths leak only in 128-byte
    /// buckets.
    pub fn to_padded(&self) -> Vec<u8> {
        super::super::content::pad(&codec::encode(VERSION, self))
    }

    /// Reverses [`Self::to_padded`]; non-zero padding is refused.
    pub fn from_padded(b: &[u8]) -> Result<Self, DecodeError> {
        codec::decode(VERSION, super::super::content::unpad(b)?)
    }
}
