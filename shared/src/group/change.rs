//! Signed membership changes: what an admin (or a leaving member) says
//! about a room, signed by that person's account key (ADR 0025).
//!
//! A change names its parents (the heads of the log its author saw) and a
//! Lamport number one above the highest parent's, so every member can put
//! the same set of changes in the same order whatever order they arrived in
//! (`super::log`).
#![deny(clippy::indexing_slicing)]

use core::fmt;

use serde::{Deserialize, Serialize};

use super::GroupError;
use crate::crypto::account::{AccountId, AccountKeyPair, AccountPublic};
use crate::crypto::codec::{self, fixed};
use crate::crypto::primitives::sha256;
use crate::time::{Millis, UnixMs};

/// Signature context of a room change (account key).
const CTX_ROOM_CHANGE: &[u8] = b"Parley room change v1";
/// Version byte of the signed body.
const VERSION_CHANGE_BODY: u8 = 1;
/// Version byte of a signed change as sent and stored.
const VERSION_SIGNED_CHANGE: u8 = 1;

/// Longest room name, in bytes.
pub const MAX_ROOM_NAME: usize = 128;
/// Longest member display name, in bytes.
pub const MAX_MEMBER_NAME: usize = 64;
/// Most members a room holds (accounts; each may have several devices).
pub const MAX_MEMBERS: usize = 200;
/// Most parents one change names.
pub const MAX_PARENTS: usize = 8;
/// The largest signed change accepted (a room created with 200 members).
pub const MAX_SIGNED_CHANGE: usize = 32 * 1024;
/// Longest room lifetime and inactivity expiry (one year).
pub const MAX_LIFETIME: Millis = Millis::from_secs(366 * 86_400);

/// A room's name on the wire: 16 random bytes chosen by its creator.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RoomId(pub [u8; 16]);

impl RoomId {
    /// Lower-case hex, as the engine's record keys and the app's links
    /// name the room.
    pub fn to_hex(&self) -> String {
        crate::engine::model::key::hex(&self.0)
    }
}

impl fmt::Debug for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RoomId(")?;
        for b in self.0.iter().take(4) {
            write!(f, "{b:02x}")?;
        }
        write!(f, "…)")
    }
}

/// Hash of a signed change: how parents name it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ChangeHash(pub [u8; 32]);

impl fmt::Debug for ChangeHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChangeHash(")?;
        for b in self.0.iter().take(4) {
            write!(f, "{b:02x}")?;
        }
        write!(f, "…)")
    }
}

/// When a room ends by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Lifetime {
    /// The room ends at this instant (the seed's "TTL on rooms").
    pub ends_at: Option<UnixMs>,
    /// The room ends after this long without a message or change.
    pub idle: Option<Millis>,
}

/// A person invited into a room: their account key and the name the
/// inviter knows them by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitee {
    /// The account (its devices come from its own signed list).
    pub account: AccountPublic,
    /// Display name.
    pub name: String,
}

/// What a change does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// The first change: the author is the first admin.
    Create {
        /// Room name.
        name: String,
        /// The author's own display name.
        creator_name: String,
        /// The other first members.
        members: Vec<Invitee>,
        /// When the room ends by itself.
        lifetime: Lifetime,
    },
    /// An admin adds a member.
    Add(Invitee),
    /// An admin removes a member (or another admin).
    Remove(AccountId),
    /// The author leaves.
    Leave,
    /// An admin makes a member an admin.
    Promote(AccountId),
    /// An admin renames the room.
    Rename(String),
    /// An admin sets when the room ends.
    SetLifetime(Lifetime),
    /// An admin sets the disappearing-message timer (seconds; `None`: off).
    SetTimer(Option<u32>),
}

/// The signed body of a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeBody {
    /// The room.
    pub room: RoomId,
    /// Lamport number: 0 for `Create`, else one above the highest parent.
    pub seq: u64,
    /// The log heads the author saw (empty only for `Create`).
    pub parents: Vec<ChangeHash>,
    /// Who signs it.
    pub author: AccountPublic,
    /// The author's clock (shown, never used for order).
    pub at: UnixMs,
    /// What it does.
    pub op: Op,
}

/// A change with its account signature.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedChange {
    #[serde(with = "codec::bytes")]
    body: Vec<u8>,
    #[serde(with = "fixed")]
    signature: [u8; 64],
}

impl fmt::Debug for SignedChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedChange")
            .field("hash", &self.hash())
            .finish_non_exhaustive()
    }
}

impl ChangeBody {
    /// Checks the rules that need no room state: sizes, names, the Lamport
    /// shape of `Create`.
    pub fn check_shape(&self) -> Result<(), GroupError> {
        if self.parents.len() > MAX_PARENTS {
            return Err(GroupError::Malformed);
        }
        let creating = matches!(self.op, Op::Create { .. });
        if creating != self.parents.is_empty() || creating != (self.seq == 0) {
            return Err(GroupError::Malformed);
        }
        let name_ok = |n: &str, max: usize| !n.trim().is_empty() && n.len() <= max;
        match &self.op {
            Op::Create {
                name,
                creator_name,
                members,
                lifetime,
            } => {
                if !name_ok(name, MAX_ROOM_NAME)
                    || !name_ok(creator_name, MAX_MEMBER_NAME)
                    || members.len() + 1 > MAX_MEMBERS
                    || members.iter().any(|m| !name_ok(&m.name, MAX_MEMBER_NAME))
                {
                    return Err(GroupError::Malformed);
                }
                check_lifetime(lifetime)?;
            }
            Op::Add(m) if !name_ok(&m.name, MAX_MEMBER_NAME) => return Err(GroupError::Malformed),
            Op::Rename(n) if !name_ok(n, MAX_ROOM_NAME) => return Err(GroupError::Malformed),
            Op::SetLifetime(l) => check_lifetime(l)?,
            Op::SetTimer(Some(s)) if *s == 0 || *s > 28 * 86_400 => {
                return Err(GroupError::Malformed);
            }
            _ => {}
        }
        Ok(())
    }

    /// Signs the body with the author's account key.
    pub fn sign(&self, key: &AccountKeyPair) -> Result<SignedChange, GroupError> {
        if key.public() != self.author {
            return Err(GroupError::WrongAuthor);
        }
        self.check_shape()?;
        let body = codec::encode(VERSION_CHANGE_BODY, self);
        let signature = key.sign_statement(CTX_ROOM_CHANGE, &body);
        Ok(SignedChange { body, signature })
    }
}

fn check_lifetime(l: &Lifetime) -> Result<(), GroupError> {
    if l.idle
        .is_some_and(|d| d.as_millis() < 60_000 || d > MAX_LIFETIME)
    {
        return Err(GroupError::Malformed);
    }
    Ok(())
}

impl SignedChange {
    /// Checks the author's signature and the shape, and decodes the body.
    pub fn verify(&self) -> Result<ChangeBody, GroupError> {
        let body: ChangeBody = codec::decode(VERSION_CHANGE_BODY, &self.body)?;
        body.author
            .verify_statement(CTX_ROOM_CHANGE, &self.body, &self.signature)
            .map_err(|_| GroupError::BadSignature)?;
        body.check_shape()?;
        Ok(body)
    }

    /// The change's name: SHA-256 over the signed bytes.
    pub fn hash(&self) -> ChangeHash {
        ChangeHash(sha256(&[
            b"Parley room change hash v1",
            &self.body,
            &self.signature,
        ]))
    }

    /// Versioned bytes as sent and stored.
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode(VERSION_SIGNED_CHANGE, self)
    }

    /// Decodes [`Self::to_bytes`] (the signature is checked by [`Self::verify`]).
    pub fn from_bytes(b: &[u8]) -> Result<Self, GroupError> {
        if b.len() > MAX_SIGNED_CHANGE {
            return Err(GroupError::TooLarge);
        }
        Ok(codec::decode(VERSION_SIGNED_CHANGE, b)?)
    }

    /// A change whose body is altered after signing, so tests can show the
    /// verifier refuses it. Not for real changes.
    #[cfg(feature = "testing")]
    pub fn tampered(&self) -> Self {
        let mut body = self.body.clone();
        if let Some(b) = body.last_mut() {
            *b ^= 1;
        }
        Self {
            body,
            signature: self.signature,
        }
    }
}
