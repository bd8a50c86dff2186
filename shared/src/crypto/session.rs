//! A pairwise session: PQXDH to start, the Double Ratchet after.
//!
//! Until the initiator hears back, each of its messages carries the PQXDH
//! initial header (Signal's PreKey message), so the responder can start the
//! session from any of them, in any order.
#![deny(clippy::indexing_slicing)]

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use super::codec::{self, DecodeError, bytes};
use super::keys::{
    IdentityKeyPair, IdentityPublic, OneTimePreKey, PqPreKey, PreKeyBundle, SignedPreKey,
};
use super::pqxdh::{self, InitialHeader, PqxdhError};
use super::primitives::{Secret, sha256};
use super::ratchet::{Ratchet, RatchetError, RatchetMessage};

const VERSION_ENVELOPE: u8 = 1;
const VERSION_SESSION: u8 = 1;

/// Session errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// Key agreement failed.
    #[error(transparent)]
    Pqxdh(#[from] PqxdhError),
    /// Decryption or encryption failed.
    #[error(transparent)]
    Ratchet(#[from] RatchetError),
    /// Cannot parse.
    #[error("malformed session message: {0}")]
    Malformed(#[from] DecodeError),
    /// A prekey named in the initial message is not (or no longer) held.
    #[error("unknown or already used prekey")]
    UnknownPreKey,
    /// The message starts a different session than this one.
    #[error("message belongs to another session")]
    OtherSession,
    /// A normal message arrived where a session must first be created.
    #[error("no session to decrypt this message")]
    NoSession,
    /// The message starts a session that was already started once: a relay
    /// replaying an old initial message to roll the conversation back.
    #[error("message replays an earlier session start")]
    Replayed,
}

/// What travels inside an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionMessage {
    /// Initial header plus a ratchet message.
    PreKey {
        /// PQXDH header.
        initial: InitialHeader,
        /// Ratchet message bytes.
        #[serde(with = "bytes")]
        message: Vec<u8>,
    },
    /// A ratchet message.
    Normal(#[serde(with = "bytes")] Vec<u8>),
}

impl SessionMessage {
    /// Wire bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode(VERSION_ENVELOPE, self)
    }

    /// Parses wire bytes (verifies the initiator identity of a PreKey message).
    pub fn from_bytes(b: &[u8]) -> Result<Self, DecodeError> {
        codec::decode(VERSION_ENVELOPE, b)
    }
}

fn header_digest(h: &InitialHeader) -> [u8; 32] {
    sha256(&[&codec::encode(VERSION_ENVELOPE, h)])
}

/// The session start a PreKey message carries: what a responder remembers to
/// refuse the same start twice (libsignal keeps base keys for the same reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Start {
    /// SHA-256 of the initial header.
    #[serde(with = "codec::fixed")]
    pub digest: [u8; 32],
    /// The signed prekey it used: once that key is deleted the start cannot
    /// be accepted again anyway, so it need not be remembered longer.
    pub signed_prekey_id: u32,
}

impl Start {
    /// The start carried by `message`, if it is a PreKey message.
    pub fn of(message: &[u8]) -> Option<Self> {
        match SessionMessage::from_bytes(message).ok()? {
            SessionMessage::PreKey { initial, .. } => Some(Self {
                digest: header_digest(&initial),
                signed_prekey_id: initial.signed_prekey_id,
            }),
            SessionMessage::Normal(_) => None,
        }
    }
}

/// Where the responder finds its private prekeys.
pub trait PreKeySource {
    /// Signed prekey by id.
    fn signed_prekey(&self, id: u32) -> Option<SignedPreKey>;
    /// ML-KEM prekey by id.
    fn pq_prekey(&self, id: u32) -> Option<PqPreKey>;
    /// One-time prekey by id (the caller deletes it after a successful accept).
    fn one_time_prekey(&self, id: u32) -> Option<OneTimePreKey>;
}

/// Prekeys held in memory: the engine's working set, and what tests,
/// benchmarks and fuzz targets use.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemoryPreKeys {
    /// Signed prekeys still accepted (the current one and recent ones).
    pub signed: Vec<SignedPreKey>,
    /// ML-KEM prekeys still accepted.
    pub pq: Vec<PqPreKey>,
    /// Unused one-time prekeys.
    pub one_time: Vec<OneTimePreKey>,
}

impl MemoryPreKeys {
    /// A signed prekey (id 1), an ML-KEM prekey (id 2) and `one_time` one-time
    /// prekeys (ids 1..=one_time) for `identity`.
    pub fn generate<R: CryptoRng + ?Sized>(
        rng: &mut R,
        identity: &IdentityKeyPair,
        one_time: u32,
    ) -> Self {
        Self {
            signed: vec![identity.signed_prekey(rng, 1)],
            pq: vec![identity.pq_prekey(rng, 2)],
            one_time: OneTimePreKey::batch(rng, 1, one_time),
        }
    }

    /// The bundle to publish, with the first one-time prekey if any is left.
    pub fn bundle(
        &self,
        identity: &IdentityKeyPair,
    ) -> Result<PreKeyBundle, crate::crypto::keys::KeyError> {
        let (Some(spk), Some(pq)) = (self.signed.last(), self.pq.last()) else {
            return Err(crate::crypto::keys::KeyError::InvalidKey);
        };
        PreKeyBundle::new(
            identity.public(),
            spk.public(),
            pq.public(),
            self.one_time.first().map(OneTimePreKey::public),
        )
    }

    /// Forgets a used one-time prekey.
    pub fn remove_one_time(&mut self, id: u32) {
        self.one_time.retain(|k| k.id != id);
    }
}

impl PreKeySource for MemoryPreKeys {
    fn signed_prekey(&self, id: u32) -> Option<SignedPreKey> {
        self.signed.iter().find(|k| k.id == id).cloned()
    }
    fn pq_prekey(&self, id: u32) -> Option<PqPreKey> {
        self.pq.iter().find(|k| k.id == id).cloned()
    }
    fn one_time_prekey(&self, id: u32) -> Option<OneTimePreKey> {
        self.one_time.iter().find(|k| k.id == id).cloned()
    }
}

/// A session with one peer device.
#[derive(Clone, Serialize, Deserialize)]
pub struct Session {
    ratchet: Ratchet,
    peer: IdentityPublic,
    /// Initiator: header to attach until the peer replies.
    pending: Option<InitialHeader>,
    /// Responder: SHA-256 of the initial header that started this session;
    /// later PreKey messages must repeat it exactly.
    started_by: Option<[u8; 32]>,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("peer", &self.peer)
            .field("ratchet", &self.ratchet)
            .finish_non_exhaustive()
    }
}

/// Result of accepting an initial message.
#[derive(Debug)]
pub struct Accepted {
    /// The new session.
    pub session: Session,
    /// The first plaintext.
    pub plaintext: Vec<u8>,
    /// One-time prekey consumed; delete it now.
    pub consumed_one_time_prekey: Option<u32>,
}

impl Session {
    /// Starts a session from a verified bundle (PQXDH initiator).
    pub fn initiate<R: CryptoRng + ?Sized>(
        rng: &mut R,
        ours: &IdentityKeyPair,
        bundle: &PreKeyBundle,
    ) -> Result<Self, SessionError> {
        let (initial, agreement) = pqxdh::initiate(rng, ours, bundle)?;
        let ratchet = Ratchet::init_initiator(
            rng,
            &agreement.shared_secret,
            bundle.signed_prekey().public,
            agreement.associated_data,
        )?;
        Ok(Self {
            ratchet,
            peer: bundle.identity().clone(),
            pending: Some(initial),
            started_by: None,
        })
    }

    /// Creates the responder's session from a PreKey message and decrypts it.
    pub fn accept<R: CryptoRng + ?Sized>(
        rng: &mut R,
        ours: &IdentityKeyPair,
        prekeys: &dyn PreKeySource,
        message: &[u8],
    ) -> Result<Accepted, SessionError> {
        let SessionMessage::PreKey { initial, message } = SessionMessage::from_bytes(message)?
        else {
            return Err(SessionError::NoSession);
        };
        let spk = prekeys
            .signed_prekey(initial.signed_prekey_id)
            .ok_or(SessionError::UnknownPreKey)?;
        let pqpk = prekeys
            .pq_prekey(initial.pq_prekey_id)
            .ok_or(SessionError::UnknownPreKey)?;
        let opk = match initial.one_time_prekey_id {
            Some(id) => Some(
                prekeys
                    .one_time_prekey(id)
                    .ok_or(SessionError::UnknownPreKey)?,
            ),
            None => None,
        };
        let agreement = pqxdh::respond(ours, &spk, &pqpk, opk.as_ref(), &initial)?;
        let secret = Secret::new(spk.secret().to_bytes());
        let mut ratchet =
            Ratchet::init_responder(&agreement.shared_secret, secret, agreement.associated_data);
        let plaintext = ratchet.decrypt(rng, &RatchetMessage::from_bytes(&message)?)?;
        Ok(Accepted {
            session: Self {
                ratchet,
                peer: initial.identity.clone(),
                pending: None,
                started_by: Some(header_digest(&initial)),
            },
            plaintext,
            consumed_one_time_prekey: initial.one_time_prekey_id,
        })
    }

    /// The peer's identity.
    pub fn peer(&self) -> &IdentityPublic {
        &self.peer
    }

    /// Responder: digest of the initial header that started this session.
    pub fn started_by(&self) -> Option<[u8; 32]> {
        self.started_by
    }

    /// Encrypts one message.
    pub fn encrypt(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, SessionError> {
        let message = self.ratchet.encrypt(plaintext)?.to_bytes();
        Ok(match &self.pending {
            Some(initial) => SessionMessage::PreKey {
                initial: initial.clone(),
                message,
            },
            None => SessionMessage::Normal(message),
        }
        .to_bytes())
    }

    /// Decrypts one message of this session. On error nothing changes.
    pub fn decrypt<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        message: &[u8],
    ) -> Result<Vec<u8>, SessionError> {
        let inner = match SessionMessage::from_bytes(message)? {
            SessionMessage::Normal(m) => m,
            SessionMessage::PreKey { initial, message } => {
                if self.started_by != Some(header_digest(&initial)) || initial.identity != self.peer
                {
                    return Err(SessionError::OtherSession);
                }
                message
            }
        };
        let plaintext = self
            .ratchet
            .decrypt(rng, &RatchetMessage::from_bytes(&inner)?)?;
        // The peer has our reply chain: it no longer needs the initial header.
        self.pending = None;
        Ok(plaintext)
    }

    /// Versioned bytes for storage (secret).
    pub fn to_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        zeroize::Zeroizing::new(codec::encode(VERSION_SESSION, self))
    }

    /// Restores from [`Self::to_bytes`].
    pub fn from_bytes(b: &[u8]) -> Result<Self, DecodeError> {
        codec::decode(VERSION_SESSION, b)
    }
}
