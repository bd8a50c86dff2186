//! The engine's records: what the adapter stores (encrypted at rest) and what
//! the UI reads. Each record is versioned postcard under a string key.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::content::{Content, MessageId};
use crate::crypto::codec::bytes;
use crate::crypto::keys::IdentityPublic;
use crate::crypto::session::{MemoryPreKeys, Session};
use crate::protocol::ws::{DeviceId, EnvelopeId};
use crate::time::UnixMs;

pub(crate) const RECORD_VERSION: u8 = 1;
/// Envelope ids remembered per contact to drop redeliveries.
pub(crate) const SEEN_WINDOW: usize = 1024;

/// Where a sent message is. Ordered: a status only ever moves forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Status {
    /// Waiting to be accepted by the relay (offline, or no session yet).
    Queued,
    /// The relay has stored it.
    Sent,
    /// The peer's device has stored it.
    Delivered,
    /// The peer has seen it.
    Read,
}

impl Status {
    /// Stable name (UI attribute, tests).
    pub fn name(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
        }
    }
}

/// What a history entry shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Body {
    /// A text message.
    Text(String),
    /// A conversation event written by the engine.
    Notice(Notice),
    /// A file.
    File(super::files::FileMessage),
}

/// Conversation events (the client words them in the language shown).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Notice {
    /// Paired (by link/QR or PIN).
    Paired,
    /// The disappearing-message timer changed (by `by_me` or the peer).
    Timer {
        /// New value.
        secs: Option<u32>,
        /// Whether this device changed it.
        by_me: bool,
    },
    /// A message arrived that could not be decrypted.
    Undecryptable(String),
    /// The peer's identity keys changed.
    IdentityChanged,
    /// A message could not be sent.
    SendFailed(String),
    /// The relay served keys for the contact that are not signed by the
    /// identity pinned at pairing (appended: records encode by position).
    ForgedKeys,
    /// The contact's account listed new devices or dropped some (its
    /// safety number, over the account key, is unchanged).
    DevicesChanged {
        /// Devices added.
        added: u32,
        /// Devices removed.
        removed: u32,
    },
    /// The relay served a device list for the contact that was refused;
    /// messages to the contact are not sent meanwhile.
    DeviceListRefused(ListProblem),
}

/// What was wrong with a contact's device list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ListProblem {
    /// Not signed by the contact's account key, or (first list) not agreed
    /// to by the device paired with.
    Forged,
    /// Older than a list already seen: the relay rolled it back.
    Rollback,
    /// A different list under a counter already seen.
    Equivocation,
}

/// One history entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Message id (the sender's for texts; random for notices).
    pub id: MessageId,
    /// Local order.
    pub seq: u64,
    /// Sent by this device.
    pub outgoing: bool,
    /// What it shows.
    pub body: Body,
    /// Unix ms: sent (outgoing) or received (incoming).
    pub at: UnixMs,
    /// Outgoing: delivery state. Incoming: `Read` once shown, else `Delivered`.
    pub status: Status,
    /// Unix ms after which it is deleted (disappearing messages).
    pub expires_at: Option<UnixMs>,
}

/// A paired peer and the conversation with it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Contact {
    /// Their verified identity.
    pub identity: IdentityPublic,
    /// Their display name.
    pub name: String,
    /// Unread incoming messages.
    pub unread: u32,
    /// Disappearing-message timer.
    pub timer_secs: Option<u32>,
    /// Unix ms of pairing.
    pub paired_at: UnixMs,
    /// Unix ms of the last message (list order).
    pub last_activity: UnixMs,
    /// Whether the user compared safety numbers.
    pub verified: bool,
    /// The peer replaced its identity keys; sending is blocked until the
    /// user acknowledges the new safety number.
    pub identity_changed: bool,
    pub(crate) session: Option<Session>,
    /// This side starts the session (fetches the peer's bundle).
    pub(crate) initiator: bool,
    /// Contents waiting for a session.
    pub(crate) waiting: Vec<Content>,
    /// Recently processed envelope ids (drops redeliveries).
    pub(crate) seen: VecDeque<EnvelopeId>,
    /// Live presence (not stored).
    #[serde(skip)]
    pub online: bool,
    /// Until when (ms) the contact shows as typing (not stored).
    #[serde(skip)]
    pub(crate) typing_until: UnixMs,
    /// When we last told the contact we are typing (not stored).
    #[serde(skip)]
    pub(crate) typing_sent_at: UnixMs,
}

impl Contact {
    /// Device id.
    pub fn device(&self) -> DeviceId {
        self.identity.device_id()
    }

    /// A session exists (messages can be encrypted now).
    pub fn has_session(&self) -> bool {
        self.session.is_some()
    }
}

/// An encrypted envelope not yet accepted by the relay. Resent with the same
/// id and bytes until it is, so the relay dedupes and the ratchet never
/// encrypts the same message twice.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Order of sending.
    pub seq: u64,
    /// Envelope id.
    pub id: EnvelopeId,
    /// Recipient.
    pub to: DeviceId,
    /// Session message bytes.
    #[serde(with = "bytes")]
    pub payload: Vec<u8>,
    /// The text message it carries, if any (for its status).
    pub message: Option<MessageId>,
    /// Sent on the current connection, waiting for `Accepted`.
    #[serde(skip)]
    pub in_flight: bool,
}

/// This device.
#[derive(Serialize, Deserialize)]
pub(crate) struct AccountRecord {
    #[serde(with = "bytes")]
    pub identity: Vec<u8>,
    pub prekeys: MemoryPreKeys,
    pub next_one_time_id: u32,
    pub name: String,
    pub token: Option<String>,
    pub token_expires_at: UnixMs,
    pub registered: bool,
    pub created_at: UnixMs,
}

impl Drop for AccountRecord {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.identity);
    }
}

/// A key reset between its start and the relay's answer. Stored before the
/// new identity is registered, so a reload at the wrong moment cannot leave
/// the account with a key the relay has already erased.
#[derive(Serialize, Deserialize)]
pub(crate) struct RotationRecord {
    #[serde(with = "bytes")]
    pub identity: Vec<u8>,
    pub prekeys: MemoryPreKeys,
    #[serde(with = "crate::crypto::codec::fixed")]
    pub signature: [u8; 64],
}

impl Drop for RotationRecord {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.identity);
    }
}

/// Storage keys.
pub(crate) mod key {
    use crate::protocol::ws::DeviceId;

    pub(crate) const ACCOUNT: &str = "account";
    pub(crate) const CONTACT: &str = "contact/";
    pub(crate) const MESSAGE: &str = "msg/";
    pub(crate) const OUTBOX: &str = "out/";
    pub(crate) const ROTATION: &str = "rotation";
    pub(crate) const PREFS: &str = "prefs";
    pub(crate) const KEYS: &str = "keys";
    pub(crate) const ARCHIVE: &str = "archive/";
    pub(crate) const OWN_ACCOUNT: &str = "own-account";
    /// Changes to our own list the relay has not taken yet.
    pub(crate) const OWN_CHANGES: &str = "own-changes";
    /// Sessions with the account's other devices.
    pub(crate) const OWN_DEVICES: &str = "own-devices";
    /// Present while a new device waits to be linked into an account.
    pub(crate) const LINKING: &str = "linking";
    pub(crate) const PEER: &str = "peer/";
    /// A group room (its log and sender keys).
    pub(crate) const ROOM: &str = "room/";
    /// A room member who is not a contact (account, list, sessions).
    pub(crate) const MEMBER: &str = "member/";
    /// Room logs received while this device was being linked.
    pub(crate) const EARLY_ROOMS: &str = "early-rooms";

    pub(crate) fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    pub(crate) fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
        if s.len() != 2 * N || !s.is_ascii() {
            return None;
        }
        let mut out = [0u8; N];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(out)
    }

    pub(crate) fn contact(d: &DeviceId) -> String {
        format!("{CONTACT}{}", hex(d.as_bytes()))
    }

    /// Sorted by conversation, then sequence.
    pub(crate) fn message(d: &DeviceId, seq: u64) -> String {
        format!("{MESSAGE}{}/{seq:016x}", hex(d.as_bytes()))
    }

    pub(crate) fn peer(d: &DeviceId) -> String {
        format!("{PEER}{}", hex(d.as_bytes()))
    }

    pub(crate) fn archive(d: &DeviceId) -> String {
        format!("{ARCHIVE}{}", hex(d.as_bytes()))
    }

    pub(crate) fn member(a: &crate::crypto::account::AccountId) -> String {
        format!("{MEMBER}{}", hex(a.as_bytes()))
    }

    pub(crate) fn room(id: &crate::group::RoomId) -> String {
        format!("{ROOM}{}", hex(&id.0))
    }

    pub(crate) fn outbox(seq: u64) -> String {
        format!("{OUTBOX}{seq:016x}")
    }
}
