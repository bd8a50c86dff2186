//! Why a room change, share or message is refused.

use crate::crypto::codec::DecodeError;

/// Room errors. Each leaves the room's state as it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupError {
    /// Bytes that do not decode, or break a size or shape rule.
    #[error("malformed room data")]
    Malformed,
    /// Larger than allowed.
    #[error("room data too large")]
    TooLarge,
    /// A change whose signature is not its author's account key.
    #[error("the room change is not signed by its author")]
    BadSignature,
    /// Signing a change for another account than the key's.
    #[error("a change must be signed by its author")]
    WrongAuthor,
    /// Data for another room.
    #[error("the data belongs to another room")]
    WrongRoom,
    /// A second `Create` for a room that exists.
    #[error("the room already exists")]
    SecondCreate,
    /// We (or the sender) are not a member.
    #[error("not a member of the room")]
    NotMember,
    /// No sender key for this message (not shared with us, or revoked).
    #[error("no key for this room message")]
    UnknownSenderKey,
    /// The message came from another device than the one that shared the key.
    #[error("the room message came from another device than its key's")]
    WrongSender,
    /// Sent before this device was given the key (a late joiner).
    #[error("the room message was sent before this device joined")]
    BeforeJoining,
    /// Already decrypted once.
    #[error("the room message was already received")]
    Replay,
    /// Bad signature or MAC: forged or altered.
    #[error("the room message is forged or altered")]
    Forged,
}

impl From<DecodeError> for GroupError {
    fn from(_: DecodeError) -> Self {
        Self::Malformed
    }
}
