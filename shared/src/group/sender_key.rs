//! Sender keys: one Megolm session (vodozemac) per member device and room
//! (ADR 0025). The outbound half encrypts each room message once and signs
//! it; its session key travels to every other member device over the
//! pairwise Double Ratchet sessions, so only the devices it was given to can
//! read, and only from the index it was given at (a late joiner reads
//! nothing sent before).
//!
//! Megolm itself lets any index be decrypted again; replay protection is
//! ours: each inbound key remembers the indices it has accepted.
#![deny(clippy::indexing_slicing)]

use std::collections::BTreeSet;

use base64ct::{Base64Unpadded, Encoding as _};
use serde::{Deserialize, Serialize};
use vodozemac::megolm::{
    GroupSession, GroupSessionPickle, InboundGroupSession, InboundGroupSessionPickle,
    MegolmMessage, SessionConfig, SessionKey,
};
use zeroize::Zeroizing;

use super::GroupError;
use super::change::RoomId;
use super::message::GroupMessage;
use crate::crypto::account::AccountId;
use crate::protocol::ws::DeviceId;
use crate::time::{Millis, UnixMs};

/// A sender key is replaced after this many messages…
pub const ROTATE_AFTER_MESSAGES: u32 = 100;
/// …or this long (Signal and Element rotate on similar bounds).
pub const ROTATE_AFTER: Millis = Millis::from_secs(7 * 86_400);
/// Most indices an inbound key may skip ahead of the first one it was given
/// at (an honest sender rotates long before).
pub const MAX_INDEX: u32 = 10_000;

/// A sender key's name: the Megolm session's Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct SessionId(pub [u8; 32]);

impl SessionId {
    fn parse(b64: &str) -> Result<Self, GroupError> {
        let mut out = [0u8; 32];
        Base64Unpadded::decode(b64, &mut out).map_err(|_| GroupError::Malformed)?;
        Ok(Self(out))
    }
}

/// What a member device sends another over their pairwise session: its
/// current sender key for a room.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SenderKeyShare {
    /// The room.
    pub room: RoomId,
    /// Megolm session key bytes (ratchet at the current index + signing key,
    /// signed by it).
    #[serde(with = "crate::crypto::codec::bytes")]
    pub key: Vec<u8>,
}

impl core::fmt::Debug for SenderKeyShare {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SenderKeyShare")
            .field("room", &self.room)
            .finish_non_exhaustive()
    }
}

impl Drop for SenderKeyShare {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.key);
    }
}

/// This device's sender key for one room.
pub struct OutboundKey {
    session: GroupSession,
    id: SessionId,
    created_at: UnixMs,
    holders: BTreeSet<DeviceId>,
}

impl core::fmt::Debug for OutboundKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OutboundKey")
            .field("index", &self.session.message_index())
            .field("holders", &self.holders.len())
            .finish_non_exhaustive()
    }
}

impl OutboundKey {
    /// A fresh key (vodozemac draws its randomness from the OS).
    pub fn new(now: UnixMs) -> Result<Self, GroupError> {
        let session = GroupSession::new(SessionConfig::version_1());
        Ok(Self {
            id: SessionId::parse(&session.session_id())?,
            session,
            created_at: now,
            holders: BTreeSet::new(),
        })
    }

    /// Its name.
    pub fn id(&self) -> SessionId {
        self.id
    }

    /// Messages encrypted so far.
    pub fn index(&self) -> u32 {
        self.session.message_index()
    }

    /// Whether it is due for replacement.
    pub fn worn_out(&self, now: UnixMs) -> bool {
        self.index() >= ROTATE_AFTER_MESSAGES || now >= self.created_at + ROTATE_AFTER
    }

    /// The share for other devices, at the current index.
    pub fn share(&self, room: RoomId) -> SenderKeyShare {
        SenderKeyShare {
            room,
            key: self.session.session_key().to_bytes(),
        }
    }

    /// Devices the key was shared with.
    pub fn holders(&self) -> &BTreeSet<DeviceId> {
        &self.holders
    }

    /// Records that these devices were sent the share.
    pub fn shared_with(&mut self, devices: impl IntoIterator<Item = DeviceId>) {
        self.holders.extend(devices);
    }

    /// Encrypts and signs one room message.
    pub fn encrypt(&mut self, room: RoomId, plaintext: &[u8]) -> GroupMessage {
        let m = self.session.encrypt(plaintext);
        GroupMessage {
            room,
            session: self.id,
            megolm: m.to_bytes(),
        }
    }

    /// Stored form (secret: the store encrypts it at rest).
    pub fn to_stored(&self) -> Result<StoredOutbound, GroupError> {
        Ok(StoredOutbound {
            pickle: serde_json::to_string(&self.session.pickle())
                .map_err(|_| GroupError::Malformed)?,
            created_at: self.created_at,
            holders: self.holders.iter().copied().collect(),
        })
    }

    /// From [`Self::to_stored`].
    pub fn from_stored(s: &StoredOutbound) -> Result<Self, GroupError> {
        let p: GroupSessionPickle =
            serde_json::from_str(&s.pickle).map_err(|_| GroupError::Malformed)?;
        let session = GroupSession::from_pickle(p);
        Ok(Self {
            id: SessionId::parse(&session.session_id())?,
            session,
            created_at: s.created_at,
            holders: s.holders.iter().copied().collect(),
        })
    }
}

/// Another member device's sender key for one room.
pub struct InboundKey {
    session: InboundGroupSession,
    id: SessionId,
    room: RoomId,
    sender: DeviceId,
    account: AccountId,
    first: u32,
    seen: BTreeSet<u32>,
    /// Arrival order among the room's keys (the oldest go first).
    order: u64,
}

impl core::fmt::Debug for InboundKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("InboundKey")
            .field("id", &self.id)
            .field("sender", &self.sender)
            .field("first", &self.first)
            .field("seen", &self.seen.len())
            .finish_non_exhaustive()
    }
}

impl InboundKey {
    /// Takes a share received from `sender` (a device of `account`) over
    /// their pairwise session: the only way a sender key is bound to who
    /// sent it.
    pub fn accept(
        share: &SenderKeyShare,
        sender: DeviceId,
        account: AccountId,
        order: u64,
    ) -> Result<Self, GroupError> {
        let key = SessionKey::from_bytes(&share.key).map_err(|_| GroupError::Malformed)?;
        let session = InboundGroupSession::new(&key, SessionConfig::version_1());
        let id = SessionId::parse(&session.session_id())?;
        let first = session.first_known_index();
        Ok(Self {
            session,
            id,
            room: share.room,
            sender,
            account,
            first,
            seen: BTreeSet::new(),
            order,
        })
    }

    /// Its name.
    pub fn id(&self) -> SessionId {
        self.id
    }

    /// The device that shared it.
    pub fn sender(&self) -> DeviceId {
        self.sender
    }

    /// That device's account.
    pub fn account(&self) -> AccountId {
        self.account
    }

    /// When it arrived, relative to the room's other keys.
    pub fn order(&self) -> u64 {
        self.order
    }

    /// The first index it can read.
    pub fn first_index(&self) -> u32 {
        self.first
    }

    /// Decrypts a room message. A replay, a message from before the key was
    /// given, a forged or altered one is refused and changes nothing here.
    pub fn decrypt(&mut self, msg: &GroupMessage) -> Result<Zeroizing<Vec<u8>>, GroupError> {
        if msg.room != self.room || msg.session != self.id {
            return Err(GroupError::UnknownSenderKey);
        }
        let m = MegolmMessage::from_bytes(&msg.megolm).map_err(|_| GroupError::Malformed)?;
        let index = m.message_index();
        if index < self.first {
            return Err(GroupError::BeforeJoining);
        }
        if index - self.first > MAX_INDEX {
            return Err(GroupError::Malformed);
        }
        if self.seen.contains(&index) {
            return Err(GroupError::Replay);
        }
        let out = self.session.decrypt(&m).map_err(|_| GroupError::Forged)?;
        self.seen.insert(index);
        Ok(Zeroizing::new(out.plaintext))
    }

    /// Stored form (secret).
    pub fn to_stored(&self) -> Result<StoredInbound, GroupError> {
        Ok(StoredInbound {
            pickle: serde_json::to_string(&self.session.pickle())
                .map_err(|_| GroupError::Malformed)?,
            room: self.room,
            sender: self.sender,
            account: self.account,
            seen: self.seen.iter().copied().collect(),
            order: self.order,
        })
    }

    /// From [`Self::to_stored`].
    pub fn from_stored(s: &StoredInbound) -> Result<Self, GroupError> {
        let p: InboundGroupSessionPickle =
            serde_json::from_str(&s.pickle).map_err(|_| GroupError::Malformed)?;
        let session = InboundGroupSession::from_pickle(p);
        let id = SessionId::parse(&session.session_id())?;
        let first = session.first_known_index();
        Ok(Self {
            session,
            id,
            room: s.room,
            sender: s.sender,
            account: s.account,
            first,
            seen: s.seen.iter().copied().collect(),
            order: s.order,
        })
    }
}

/// Stored form of an [`OutboundKey`] (the pickle is wiped on drop).
#[derive(Serialize, Deserialize)]
pub struct StoredOutbound {
    pickle: String,
    created_at: UnixMs,
    holders: Vec<DeviceId>,
}

/// Stored form of an [`InboundKey`] (the pickle is wiped on drop).
#[derive(Serialize, Deserialize)]
pub struct StoredInbound {
    pickle: String,
    room: RoomId,
    sender: DeviceId,
    account: AccountId,
    seen: Vec<u32>,
    order: u64,
}

impl Drop for StoredOutbound {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.pickle);
    }
}

impl Drop for StoredInbound {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.pickle);
    }
}
