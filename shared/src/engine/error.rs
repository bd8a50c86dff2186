//! Why a user intent could not be carried out.

use super::content;
use crate::crypto::codec::DecodeError;
use crate::crypto::session::SessionError;

/// Engine errors (user intents that cannot be carried out).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// No such contact.
    #[error("no such contact")]
    UnknownContact,
    /// Empty or too long text.
    #[error("a message must be 1 to {} bytes", content::MAX_TEXT)]
    BadText,
    /// Timer out of range.
    #[error("the timer must be between 1 second and 4 weeks")]
    BadTimer,
    /// Stored state does not decode.
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    /// Encryption failed.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The peer's bundle is invalid.
    #[error("the contact's keys from the relay are invalid")]
    BadBundle,
    /// The peer's identity changed and the user has not acknowledged it.
    #[error("the safety number changed: compare it and confirm before sending")]
    IdentityChanged,
    /// Calls need a connection (signals are never stored).
    #[error("not connected to the relay")]
    Offline,
    /// No session with the contact yet.
    #[error("the contact has not finished pairing yet")]
    NoSession,
    /// Resetting keys needs a connection and an empty outbox.
    #[error("wait until every message is sent and Parley is connected, then try again")]
    NotSettled,
    /// A key reset is already under way.
    #[error("a key reset is already under way; it is being finished")]
    ResetPending,
    /// This device has no account yet (it gets one once registered and
    /// connected), or the request needs another device than this one.
    #[error("this device has no account yet")]
    NoAccount,
    /// A device list or account key was refused.
    #[error(transparent)]
    Account(#[from] crate::crypto::account::AccountError),
    /// The account's list does not name this device.
    #[error("the account's device list does not include this device")]
    NotListed,
    /// The contact's account key is not known yet (just after pairing).
    #[error("the safety number is not ready yet: the two devices are still exchanging keys")]
    SafetyPending,
    /// No such room on this device.
    #[error("no such room")]
    UnknownRoom,
    /// A room change, share or message was refused.
    #[error(transparent)]
    Room(crate::group::GroupError),
    /// The room's rules do not allow this change (not an admin, not a
    /// member, or it does not fit the member list).
    #[error(transparent)]
    RoomRefused(crate::group::Refusal),
}

impl From<DecodeError> for EngineError {
    fn from(e: DecodeError) -> Self {
        Self::Corrupt(e.to_string())
    }
}
