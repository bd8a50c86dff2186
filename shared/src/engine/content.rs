//! What travels inside a ratchet message between two Parley devices, and the
//! profile exchanged while pairing. Padded to 128-byte buckets before
//! encryption so lengths say little about the text (Signal pads similarly).

use serde::{Deserialize, Serialize};

use crate::crypto::codec::{self, DecodeError};
use crate::protocol::DeviceId;
use crate::time::UnixMs;

const VERSION: u8 = 1;
const BUCKET: usize = 128;
/// Longest text message, in bytes (UTF-8).
pub const MAX_TEXT: usize = 64 * 1024;
/// Longest display name, in characters.
pub const MAX_NAME: usize = 64;

/// A message id: chosen by the sender, shown to the peer in receipts.
pub type MessageId = [u8; 16];

/// Delivery receipt kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReceiptKind {
    /// Stored by the recipient's device.
    Delivered,
    /// Shown to the recipient.
    Read,
}

/// The plaintext of one envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Content {
    /// A chat message.
    Text {
        /// Sender-chosen id.
        id: MessageId,
        /// The text.
        text: String,
        /// Sender's clock, Unix ms.
        sent_at: UnixMs,
        /// Disappearing-message timer in force when it was sent.
        expire_secs: Option<u32>,
    },
    /// Receipts for earlier messages of the recipient of this one.
    Receipt {
        /// Delivered or read.
        kind: ReceiptKind,
        /// The messages concerned.
        ids: Vec<MessageId>,
    },
    /// The conversation's disappearing-message timer changed.
    Timer {
        /// New timer (`None`: off).
        secs: Option<u32>,
    },
    /// The sender's profile (sent once a session starts, and on change).
    Profile(Profile),
    /// First message of a device that replaces `old` (its owner reset their
    /// keys): `signature` is `old`'s identity key over this device's identity,
    /// see [`crate::protocol::auth::successor_statement`].
    Successor {
        /// The device being replaced.
        old: DeviceId,
        /// Ed25519 signature by `old`.
        #[serde(with = "crate::crypto::codec::fixed")]
        signature: [u8; 64],
    },
    /// Call signaling (sent as ephemeral envelopes, never stored).
    Call(super::call::CallSignal),
    /// A file offered to the recipient.
    File {
        /// Message id (receipts name it).
        id: MessageId,
        /// Key, digest, name, type, size and object id.
        offer: super::files::FileOffer,
        /// Disappearing-message timer in force when it was sent.
        expire_secs: Option<u32>,
    },
    /// A file's state changed on the sender's or the recipient's side.
    FileState {
        /// The file's message id.
        id: MessageId,
        /// New state.
        state: super::files::FileState,
    },
    /// The sender is typing (`true`) or stopped without sending (ephemeral,
    /// only while both are online; see `engine::typing`).
    Typing(bool),
    /// What another device of the same account did (accepted only from
    /// the account's own devices; see `engine::sync`).
    Sync(super::sync::SyncEvent),
    /// Where the history archive for a newly linked device is (accepted
    /// only by that device, only from the device that linked it; see
    /// `engine::link`).
    Handover(super::link::HandoverOffer),
    /// Group room membership changes or a sender key (see `engine::rooms`).
    Room(super::rooms::content::RoomPairwise),
}

/// What a device tells its contacts about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// Display name.
    pub name: String,
}

impl Profile {
    /// Bytes carried in a pairing hello.
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode(VERSION, self)
    }

    /// Parses a peer's profile; a missing or invalid one yields an empty name.
    pub fn from_bytes(b: &[u8]) -> Self {
        codec::decode::<Profile>(VERSION, b)
            .map(|p| Profile {
                name: clean_name(&p.name),
            })
            .unwrap_or(Profile {
                name: String::new(),
            })
    }
}

/// Trims a display name, drops control characters and caps its length.
pub fn clean_name(raw: &str) -> String {
    raw.trim()
        .chars()
        .filter(|c| shown_as_is(*c))
        .take(MAX_NAME)
        .collect()
}

/// Whether a character from a peer may be shown: not a control character,
/// and not a bidirectional control, which could make "invoice\u{202E}fdp.exe"
/// display as "invoiceexe.pdf" (Unicode TR #9 explicit formatting characters
/// and marks; CVE-2021-42574's "Trojan Source" class).
pub fn shown_as_is(c: char) -> bool {
    !c.is_control()
        && !matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// `len (u32 BE) || body || zeros` to a 128-byte bucket: every plaintext
/// that goes into a session or a room message (pairwise or room content).
pub(crate) fn pad(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + BUCKET);
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    let padded = out.len().div_ceil(BUCKET) * BUCKET;
    out.resize(padded, 0);
    out
}

/// The body inside [`pad`]'s output; non-zero padding is rejected.
pub(crate) fn unpad(b: &[u8]) -> Result<&[u8], DecodeError> {
    let (len, rest) = b.split_first_chunk::<4>().ok_or(DecodeError::Malformed)?;
    let len = u32::from_be_bytes(*len) as usize;
    let (body, pad) = rest.split_at_checked(len).ok_or(DecodeError::Malformed)?;
    if pad.iter().any(|&z| z != 0) {
        return Err(DecodeError::Malformed);
    }
    Ok(body)
}

impl Content {
    /// Padded plaintext: `len (u32 BE) || encoding || zeros` to a bucket.
    pub fn to_padded(&self) -> Vec<u8> {
        pad(&codec::encode(VERSION, self))
    }

    /// Parses [`Self::to_padded`]; non-zero padding is rejected.
    pub fn from_padded(b: &[u8]) -> Result<Self, DecodeError> {
        let content: Self = codec::decode(VERSION, unpad(b)?)?;
        if let Self::Text { text, .. } = &content
            && text.len() > MAX_TEXT
        {
            return Err(DecodeError::Malformed);
        }
        Ok(content)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_round_trip_hides_short_lengths() {
        let a = Content::Text {
            id: [1; 16],
            text: "hi".into(),
            sent_at: UnixMs::from_millis(5),
            expire_secs: None,
        };
        let b = Content::Text {
            id: [1; 16],
            text: "hello there, friend".into(),
            sent_at: UnixMs::from_millis(5),
            expire_secs: Some(30),
        };
        assert_eq!(a.to_padded().len(), b.to_padded().len());
        assert_eq!(Content::from_padded(&a.to_padded()).unwrap(), a);
        let mut bad = b.to_padded();
        *bad.last_mut().unwrap() = 1;
        assert!(Content::from_padded(&bad).is_err());
        assert!(Content::from_padded(&[0, 0, 1]).is_err());
    }

    #[test]
    fn names_are_cleaned() {
        assert_eq!(clean_name("  Al\u{7}ice \n"), "Alice");
        assert_eq!(clean_name(&"x".repeat(100)).len(), MAX_NAME);
        assert_eq!(Profile::from_bytes(b"junk").name, "");
    }
}
