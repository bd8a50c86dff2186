//! The Double Ratchet (Signal, "The Double Ratchet Algorithm", rev. 1, §3).
//!
//! KDF_RK = HKDF-SHA256(salt = RK, ikm = DH output, info = "Parley_Ratchet_RK_v1") → RK', CK.
//! KDF_CK = HMAC-SHA256(CK, 0x01) → message key, HMAC-SHA256(CK, 0x02) → next CK (§5.2).
//! Message key → HKDF(salt = 0, info = "Parley_Ratchet_MK_v1") → 32-byte key, 12-byte nonce;
//! ChaCha20-Poly1305 over the plaintext with AD || header as associated data.
//!
//! Every decryption runs on a copy of the state and commits only on success:
//! a replayed, truncated or tampered message leaves the session exactly as it was.
#![deny(clippy::indexing_slicing)]

use std::collections::VecDeque;

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use x25519_dalek::{PublicKey, StaticSecret};

use super::codec::{self, DecodeError, bytes};
use super::keys::{self, KeyError};
use super::primitives::{Secret, hkdf, hmac, open, seal, split_secret};

/// Most message keys skipped in one chain (libsignal's MAX_FORWARD_JUMPS).
pub const MAX_SKIP: u32 = 25_000;
/// Most skipped message keys kept; the oldest are forgotten first (libsignal: 2,000).
pub const MAX_SKIPPED_KEYS: usize = 2_000;
/// Largest plaintext one message may carry (attachments travel as blobs).
pub const MAX_PLAINTEXT: usize = 256 * 1024;

const INFO_RK: &[u8] = b"Parley_Ratchet_RK_v1";
const INFO_MK: &[u8] = b"Parley_Ratchet_MK_v1";
const VERSION_MESSAGE: u8 = 1;
const VERSION_STATE: u8 = 1;
const HEADER_LEN: usize = 32 + 4 + 4;

/// Ratchet errors. None of them changes the session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RatchetError {
    /// The message is more than [`MAX_SKIP`] ahead in its chain.
    #[error("message is too far ahead ({0} skipped messages, limit {MAX_SKIP})")]
    TooFarAhead(u32),
    /// Already decrypted, or its key was forgotten (see [`MAX_SKIPPED_KEYS`]).
    #[error("message already received or too old")]
    Duplicate,
    /// Authentication failed: tampered, truncated or not for this session.
    #[error("message could not be decrypted")]
    Decrypt,
    /// The message cannot be parsed.
    #[error("malformed message: {0}")]
    Malformed(#[from] DecodeError),
    /// The plaintext exceeds [`MAX_PLAINTEXT`].
    #[error("message too large")]
    TooLarge,
    /// The session has no sending chain (the responder must receive first).
    #[error("session cannot send yet")]
    NotReady,
    /// A ratchet public key was invalid.
    #[error("bad ratchet key: {0}")]
    Key(#[from] KeyError),
}

/// Message header (§3.4), authenticated but not encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Sender's current ratchet public key.
    pub dh: [u8; 32],
    /// Length of the sender's previous sending chain.
    pub pn: u32,
    /// Message number in the current sending chain.
    pub n: u32,
}

impl Header {
    fn to_bytes(self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..32].copy_from_slice(&self.dh);
        out[32..36].copy_from_slice(&self.pn.to_be_bytes());
        out[36..].copy_from_slice(&self.n.to_be_bytes());
        out
    }
}

/// An encrypted message: `version || dh(32) || pn(4, BE) || n(4, BE) || ciphertext`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatchetMessage {
    /// Header.
    pub header: Header,
    /// ChaCha20-Poly1305 ciphertext and tag.
    pub ciphertext: Vec<u8>,
}

impl RatchetMessage {
    /// Wire bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + HEADER_LEN + self.ciphertext.len());
        out.push(VERSION_MESSAGE);
        out.extend_from_slice(&self.header.to_bytes());
        out.extend_from_slice(&self.ciphertext);
        out
    }

    /// Parses wire bytes (does not decrypt).
    pub fn from_bytes(b: &[u8]) -> Result<Self, DecodeError> {
        let (&v, rest) = b.split_first().ok_or(DecodeError::Empty)?;
        if v != VERSION_MESSAGE {
            return Err(DecodeError::Version(v));
        }
        if rest.len() < HEADER_LEN + 16 || rest.len() > HEADER_LEN + MAX_PLAINTEXT + 16 {
            return Err(DecodeError::Malformed);
        }
        let (&dh, rest) = rest
            .split_first_chunk::<32>()
            .ok_or(DecodeError::Malformed)?;
        let (&pn, rest) = rest
            .split_first_chunk::<4>()
            .ok_or(DecodeError::Malformed)?;
        let (&n, ciphertext) = rest
            .split_first_chunk::<4>()
            .ok_or(DecodeError::Malformed)?;
        Ok(Self {
            header: Header {
                dh,
                pn: u32::from_be_bytes(pn),
                n: u32::from_be_bytes(n),
            },
            ciphertext: ciphertext.to_vec(),
        })
    }
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
struct SkippedKey {
    dh: [u8; 32],
    n: u32,
    mk: Secret<32>,
}

/// A Double Ratchet session state (§3.2). Serializes to versioned bytes.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ratchet {
    dhs: Secret<32>,
    dhs_public: [u8; 32],
    dhr: Option<[u8; 32]>,
    rk: Secret<32>,
    cks: Option<Secret<32>>,
    ckr: Option<Secret<32>>,
    ns: u32,
    nr: u32,
    pn: u32,
    skipped: VecDeque<SkippedKey>,
    #[serde(with = "bytes")]
    ad: Vec<u8>,
}

impl core::fmt::Debug for Ratchet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Ratchet")
            .field("ns", &self.ns)
            .field("nr", &self.nr)
            .field("pn", &self.pn)
            .field("skipped", &self.skipped.len())
            .finish_non_exhaustive()
    }
}

fn kdf_rk(rk: &Secret<32>, dh_out: &Secret<32>) -> (Secret<32>, Secret<32>) {
    split_secret(&hkdf::<64>(rk.expose(), dh_out.expose(), INFO_RK))
}

fn kdf_ck(ck: &Secret<32>) -> (Secret<32>, Secret<32>) {
    let mk = Secret::new(hmac(ck.expose(), &[&[0x01]]));
    let next = Secret::new(hmac(ck.expose(), &[&[0x02]]));
    (next, mk)
}

fn message_keys(mk: &Secret<32>) -> (Secret<32>, [u8; 12]) {
    let okm = hkdf::<44>(&[0u8; 32], mk.expose(), INFO_MK);
    let mut key = Secret::new([0u8; 32]);
    let mut nonce = [0u8; 12];
    key.0.copy_from_slice(&okm.expose()[..32]);
    nonce.copy_from_slice(&okm.expose()[32..]);
    (key, nonce)
}

fn new_dh<R: CryptoRng + ?Sized>(rng: &mut R) -> (Secret<32>, [u8; 32]) {
    let s = StaticSecret::random_from_rng(rng);
    let public = PublicKey::from(&s).to_bytes();
    (Secret::new(s.to_bytes()), public)
}

fn dh(secret: &Secret<32>, public: &[u8; 32]) -> Result<Secret<32>, KeyError> {
    keys::dh(&StaticSecret::from(*secret.expose()), public)
}

impl Ratchet {
    /// RatchetInitAlice (§3.3): the initiator knows the responder's ratchet key
    /// (its signed prekey) and can send at once.
    pub fn init_initiator<R: CryptoRng + ?Sized>(
        rng: &mut R,
        shared_secret: &Secret<32>,
        their_ratchet_key: [u8; 32],
        ad: Vec<u8>,
    ) -> Result<Self, RatchetError> {
        let (dhs, dhs_public) = new_dh(rng);
        let (rk, cks) = kdf_rk(shared_secret, &dh(&dhs, &their_ratchet_key)?);
        Ok(Self {
            dhs,
            dhs_public,
            dhr: Some(their_ratchet_key),
            rk,
            cks: Some(cks),
            ckr: None,
            ns: 0,
            nr: 0,
            pn: 0,
            skipped: VecDeque::new(),
            ad,
        })
    }

    /// RatchetInitBob (§3.3): the responder starts from its signed prekey pair.
    pub fn init_responder(
        shared_secret: &Secret<32>,
        our_ratchet_secret: Secret<32>,
        ad: Vec<u8>,
    ) -> Self {
        let dhs_public =
            PublicKey::from(&StaticSecret::from(*our_ratchet_secret.expose())).to_bytes();
        Self {
            dhs: our_ratchet_secret,
            dhs_public,
            dhr: None,
            rk: shared_secret.clone(),
            cks: None,
            ckr: None,
            ns: 0,
            nr: 0,
            pn: 0,
            skipped: VecDeque::new(),
            ad,
        }
    }

    /// RatchetEncrypt (§3.4).
    pub fn encrypt(&mut self, plaintext: &[u8]) -> Result<RatchetMessage, RatchetError> {
        if plaintext.len() > MAX_PLAINTEXT {
            return Err(RatchetError::TooLarge);
        }
        let ck = self.cks.as_ref().ok_or(RatchetError::NotReady)?;
        let (next, mk) = kdf_ck(ck);
        let header = Header {
            dh: self.dhs_public,
            pn: self.pn,
            n: self.ns,
        };
        let (key, nonce) = message_keys(&mk);
        let ciphertext = seal(key.expose(), &nonce, &self.aad(&header), plaintext);
        self.cks = Some(next);
        self.ns = self.ns.checked_add(1).ok_or(RatchetError::TooLarge)?;
        Ok(RatchetMessage { header, ciphertext })
    }

    fn aad(&self, header: &Header) -> Vec<u8> {
        let mut aad = self.ad.clone();
        aad.extend_from_slice(&header.to_bytes());
        aad
    }

    /// RatchetDecrypt (§3.5). On error the state is untouched.
    pub fn decrypt<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        msg: &RatchetMessage,
    ) -> Result<Vec<u8>, RatchetError> {
        let mut next = self.clone();
        let plaintext = next.decrypt_in_place(rng, msg)?;
        *self = next;
        Ok(plaintext)
    }

    fn decrypt_in_place<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        msg: &RatchetMessage,
    ) -> Result<Vec<u8>, RatchetError> {
        let h = msg.header;
        if let Some((i, skipped)) = self
            .skipped
            .iter()
            .enumerate()
            .find(|(_, s)| s.dh == h.dh && s.n == h.n)
        {
            let mk = skipped.mk.clone();
            let pt = self.open_with(&mk, msg)?;
            self.skipped.remove(i);
            return Ok(pt);
        }
        if self.dhr == Some(h.dh) {
            if h.n < self.nr {
                return Err(RatchetError::Duplicate);
            }
        } else {
            self.skip_message_keys(h.pn)?;
            self.dh_ratchet(rng, &h)?;
        }
        self.skip_message_keys(h.n)?;
        let ck = self.ckr.as_ref().ok_or(RatchetError::Decrypt)?;
        let (next, mk) = kdf_ck(ck);
        let pt = self.open_with(&mk, msg)?;
        self.ckr = Some(next);
        self.nr += 1;
        Ok(pt)
    }

    fn open_with(&self, mk: &Secret<32>, msg: &RatchetMessage) -> Result<Vec<u8>, RatchetError> {
        let (key, nonce) = message_keys(mk);
        open(
            key.expose(),
            &nonce,
            &self.aad(&msg.header),
            &msg.ciphertext,
        )
        .map_err(|_| RatchetError::Decrypt)
    }

    fn skip_message_keys(&mut self, until: u32) -> Result<(), RatchetError> {
        let Some(mut ck) = self.ckr.clone() else {
            return Ok(());
        };
        let gap = until.saturating_sub(self.nr);
        if gap > MAX_SKIP {
            return Err(RatchetError::TooFarAhead(gap));
        }
        let Some(dhr) = self.dhr else { return Ok(()) };
        while self.nr < until {
            let (next, mk) = kdf_ck(&ck);
            self.skipped.push_back(SkippedKey {
                dh: dhr,
                n: self.nr,
                mk,
            });
            if self.skipped.len() > MAX_SKIPPED_KEYS {
                self.skipped.pop_front();
            }
            ck = next;
            self.nr += 1;
        }
        self.ckr = Some(ck);
        Ok(())
    }

    fn dh_ratchet<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        h: &Header,
    ) -> Result<(), RatchetError> {
        self.pn = self.ns;
        self.ns = 0;
        self.nr = 0;
        self.dhr = Some(h.dh);
        let (rk, ckr) = kdf_rk(&self.rk, &dh(&self.dhs, &h.dh)?);
        let (dhs, dhs_public) = new_dh(rng);
        let (rk, cks) = kdf_rk(&rk, &dh(&dhs, &h.dh)?);
        self.rk = rk;
        self.ckr = Some(ckr);
        self.cks = Some(cks);
        self.dhs = dhs;
        self.dhs_public = dhs_public;
        Ok(())
    }

    /// Number of skipped message keys currently stored.
    pub fn skipped_keys(&self) -> usize {
        self.skipped.len()
    }

    /// Versioned bytes for storage (secret).
    pub fn to_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        zeroize::Zeroizing::new(codec::encode(VERSION_STATE, self))
    }

    /// Restores from [`Self::to_bytes`].
    pub fn from_bytes(b: &[u8]) -> Result<Self, DecodeError> {
        let r: Self = codec::decode(VERSION_STATE, b)?;
        if r.skipped.len() > MAX_SKIPPED_KEYS {
            return Err(DecodeError::Malformed);
        }
        Ok(r)
    }
}
