//! Pairing two devices without trusting the relay (docs/architecture.md).
//!
//! QR: the inviter shows a link whose fragment (never sent to a server) holds
//! the relay URL, a one-time rendezvous id, a 32-byte secret and the inviter's
//! identity. Scanning it authenticates the inviter. The invitee's reply, and
//! the inviter's confirmation, are sealed under keys derived from the secret
//! and carry a signature over the transcript, so the relay can neither read
//! nor substitute them.
//!
//! PIN: a code `NNNN-NNNNNN` (rendezvous slot, 6-digit password). SPAKE2 over
//! the relay (magic-wormhole's design) gives a shared key only to parties that
//! know the password; explicit key confirmation turns a wrong guess into a
//! clean error; then the same signed identity exchange, sealed under that key.
//! A relay in the middle gets one online guess per attempt, and every attempt
//! uses a fresh SPAKE2 message (`PinInviter::start` again).
#![deny(clippy::indexing_slicing)]

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use spake2::{Ed25519Group, Identity, Password, Spake2};

use super::codec::{self, DecodeError, b64url, bytes, fixed};
use super::keys::{IdentityKeyPair, IdentityPublic, KeyError};
use super::primitives::{
    Secret, hkdf, hmac, hmac_verify, random_digits, sha256, split_secret, xopen, xseal,
};

const VERSION: u8 = 1;
const LINK_MARKER: &str = "#pair=";
const CTX_QR: &[u8] = b"Parley pair QR v1";
const CTX_PIN: &[u8] = b"Parley pair PIN v1";
/// Largest opaque profile (e.g. display name) carried in a pairing hello.
pub const MAX_PROFILE: usize = 1024;

/// Pairing errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PairingError {
    /// The link or code is not a Parley invite.
    #[error("not a valid Parley invite")]
    InvalidInvite,
    /// The PIN is wrong (or someone in the middle guessed and failed).
    #[error("wrong pairing code")]
    WrongCode,
    /// A sealed message failed authentication: tampered or substituted.
    #[error("pairing message could not be authenticated")]
    Authentication,
    /// The peer's signature over the transcript is invalid.
    #[error("peer identity could not be verified")]
    BadSignature,
    /// The confirmation comes from an identity other than the invite's.
    #[error("peer identity does not match the invite")]
    IdentityMismatch,
    /// Malformed message.
    #[error("malformed pairing message: {0}")]
    Malformed(#[from] DecodeError),
    /// Profile too large.
    #[error("profile too large")]
    TooLarge,
    /// The code is for the other kind of pairing: linking one's own device
    /// instead of adding a contact, or the reverse.
    #[error(
        "this code is for the other kind of pairing (linking your own device, or adding a contact)"
    )]
    WrongPurpose,
}

impl From<KeyError> for PairingError {
    fn from(_: KeyError) -> Self {
        Self::BadSignature
    }
}

/// The result of a successful pairing: an authenticated peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paired {
    /// The peer's verified identity.
    pub peer: IdentityPublic,
    /// The peer's opaque profile (display name etc.).
    pub profile: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct Hello {
    identity: IdentityPublic,
    #[serde(with = "fixed")]
    signature: [u8; 64],
    #[serde(with = "bytes")]
    profile: Vec<u8>,
}

fn hello(
    ours: &IdentityKeyPair,
    ctx: &[u8],
    transcript: &[u8; 32],
    profile: &[u8],
) -> Result<Vec<u8>, PairingError> {
    if profile.len() > MAX_PROFILE {
        return Err(PairingError::TooLarge);
    }
    let identity = ours.public();
    let signature = ours.sign(ctx, &[transcript, &identity.transcript_bytes()]);
    Ok(codec::encode(
        VERSION,
        &Hello {
            identity,
            signature,
            profile: profile.to_vec(),
        },
    ))
}

fn check_hello(bytes: &[u8], ctx: &[u8], transcript: &[u8; 32]) -> Result<Paired, PairingError> {
    let h: Hello = codec::decode(VERSION, bytes)?;
    if h.profile.len() > MAX_PROFILE {
        return Err(PairingError::TooLarge);
    }
    h.identity.verify(
        ctx,
        &[transcript, &h.identity.transcript_bytes()],
        &h.signature,
    )?;
    Ok(Paired {
        peer: h.identity,
        profile: h.profile,
    })
}

/// `nonce(24) || XChaCha20-Poly1305(key, nonce, ad, plaintext)`.
fn seal<R: CryptoRng + ?Sized>(
    rng: &mut R,
    key: &Secret<32>,
    ad: &[u8],
    plaintext: &[u8],
) -> Vec<u8> {
    let nonce = Secret::<24>::random(rng);
    let mut out = nonce.expose().to_vec();
    out.extend(xseal(key.expose(), nonce.expose(), ad, plaintext));
    out
}

fn unseal(key: &Secret<32>, ad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, PairingError> {
    if sealed.len() < 24 + 16 {
        return Err(PairingError::Authentication);
    }
    let (nonce, body) = sealed
        .split_first_chunk::<24>()
        .ok_or(PairingError::Authentication)?;
    xopen(key.expose(), nonce, ad, body).map_err(|_| PairingError::Authentication)
}

// ---------------------------------------------------------------- QR invite

/// What the QR code (and the invite link) carries.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    /// Relay base URL, e.g. `https://parley.example`.
    pub relay_url: String,
    /// One-time rendezvous id on that relay.
    pub rendezvous_id: [u8; 16],
    /// One-time secret; never leaves the link's fragment.
    secret: Secret<32>,
    /// The inviter's identity (authenticated by the scan itself).
    pub inviter: IdentityPublic,
    /// Unix seconds after which the invite is void.
    pub expires_at: u64,
}

impl core::fmt::Debug for Invite {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Invite")
            .field("relay_url", &self.relay_url)
            .field("inviter", &self.inviter)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl Invite {
    /// A new invite for a rendezvous slot the relay allocated.
    pub fn new<R: CryptoRng + ?Sized>(
        rng: &mut R,
        relay_url: &str,
        rendezvous_id: [u8; 16],
        inviter: &IdentityKeyPair,
        expires_at: u64,
    ) -> Self {
        Self {
            relay_url: relay_url.trim_end_matches('/').to_owned(),
            rendezvous_id,
            secret: Secret::random(rng),
            inviter: inviter.public(),
            expires_at,
        }
    }

    /// `https://relay/#pair=<base64url>`: opening it starts the app, and the
    /// fragment never reaches any server.
    pub fn to_link(&self) -> String {
        format!(
            "{}/{LINK_MARKER}{}",
            self.relay_url,
            b64url::encode(&codec::encode(VERSION, self))
        )
    }

    /// Parses a scanned or pasted link (verifies the inviter identity).
    pub fn from_link(link: &str) -> Result<Self, PairingError> {
        let (_, payload) = link
            .trim()
            .split_once(LINK_MARKER)
            .ok_or(PairingError::InvalidInvite)?;
        let raw = b64url::decode(payload).ok_or(PairingError::InvalidInvite)?;
        codec::decode(VERSION, &raw).map_err(|_| PairingError::InvalidInvite)
    }

    fn keys(&self) -> (Secret<32>, Secret<32>) {
        let mut info = b"Parley_Pair_QR_v1".to_vec();
        info.extend_from_slice(&self.rendezvous_id);
        split_secret(&hkdf::<64>(&[], self.secret.expose(), &info))
    }

    fn ad(&self) -> Vec<u8> {
        let mut ad = CTX_QR.to_vec();
        ad.extend_from_slice(&self.rendezvous_id);
        ad
    }

    fn transcript(&self, invitee: &IdentityPublic) -> [u8; 32] {
        sha256(&[
            CTX_QR,
            &self.rendezvous_id,
            &self.inviter.transcript_bytes(),
            &invitee.transcript_bytes(),
        ])
    }

    /// Invitee: the sealed reply to post to the rendezvous.
    pub fn reply<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        ours: &IdentityKeyPair,
        profile: &[u8],
    ) -> Result<Vec<u8>, PairingError> {
        let (k_invitee, _) = self.keys();
        let hello = hello(ours, CTX_QR, &self.transcript(&ours.public()), profile)?;
        Ok(seal(rng, &k_invitee, &self.ad(), &hello))
    }

    /// Inviter: authenticates the reply; returns the peer and the sealed
    /// confirmation to post back.
    pub fn accept_reply<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        ours: &IdentityKeyPair,
        reply: &[u8],
        profile: &[u8],
    ) -> Result<(Paired, Vec<u8>), PairingError> {
        self.accept_reply_with(rng, ours, reply, |_| Ok(profile.to_vec()))
    }

    /// Like [`Self::accept_reply`], with our profile made from the
    /// authenticated peer (device linking answers the offer it read).
    pub fn accept_reply_with<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        ours: &IdentityKeyPair,
        reply: &[u8],
        profile: impl FnOnce(&Paired) -> Result<Vec<u8>, PairingError>,
    ) -> Result<(Paired, Vec<u8>), PairingError> {
        let (k_invitee, k_inviter) = self.keys();
        let opened = unseal(&k_invitee, &self.ad(), reply)?;
        let peek: Hello = codec::decode(VERSION, &opened)?;
        let transcript = self.transcript(&peek.identity);
        let paired = check_hello(&opened, CTX_QR, &transcript)?;
        let ours_profile = profile(&paired)?;
        let confirmation = seal(
            rng,
            &k_inviter,
            &self.ad(),
            &hello(ours, CTX_QR, &transcript, &ours_profile)?,
        );
        Ok((paired, confirmation))
    }

    /// Invitee: checks the inviter's confirmation.
    pub fn accept_confirmation(
        &self,
        ours: &IdentityKeyPair,
        confirmation: &[u8],
    ) -> Result<Paired, PairingError> {
        let (_, k_inviter) = self.keys();
        let opened = unseal(&k_inviter, &self.ad(), confirmation)?;
        let paired = check_hello(&opened, CTX_QR, &self.transcript(&ours.public()))?;
        if paired.peer != self.inviter {
            return Err(PairingError::IdentityMismatch);
        }
        Ok(paired)
    }
}

// ---------------------------------------------------------------- PIN

/// Digits of the rendezvous slot number, the `NNNN` of a code.
pub const PIN_SLOT_DIGITS: usize = 4;
/// Digits of the SPAKE2 password, the `NNNNNN` of a code: one guess succeeds
/// with probability 10⁻⁶.
pub const PIN_PASSWORD_DIGITS: usize = 6;
/// Slot numbers a code can name (`0..PIN_SLOT_COUNT`): the relay's PIN space.
pub const PIN_SLOT_COUNT: u16 = crate::protocol::rendezvous::PIN_SLOTS;
// Every slot number the relay hands out fits the code's slot digits, and no more.
const _: () = assert!(10u32.pow(PIN_SLOT_DIGITS as u32) == PIN_SLOT_COUNT as u32);

/// A pairing code `NNNN-NNNNNN`: rendezvous slot and password. The relay
/// knows the slot number; only the two people know the password.
#[derive(Clone, PartialEq, Eq)]
pub struct PinCode {
    slot: u16,
    password: Secret<PIN_PASSWORD_DIGITS>,
}

impl core::fmt::Debug for PinCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PinCode({:04}-******)", self.slot)
    }
}

impl PinCode {
    /// A fresh code for a slot (`0..PIN_SLOT_COUNT`) the relay allocated.
    pub fn new<R: CryptoRng + ?Sized>(rng: &mut R, slot: u16) -> Result<Self, PairingError> {
        if slot >= PIN_SLOT_COUNT {
            return Err(PairingError::InvalidInvite);
        }
        Ok(Self {
            slot,
            password: random_digits(rng),
        })
    }

    /// Parses `NNNN-NNNNNN`; a space instead of the dash, or no separator, is
    /// tolerated, a separator elsewhere is not (it signals a mistyped code).
    pub fn parse(s: &str) -> Result<Self, PairingError> {
        let t = s.trim();
        let sep = t.find(['-', ' ']);
        if sep.is_some_and(|i| i != PIN_SLOT_DIGITS) || t.matches(['-', ' ']).count() > 1 {
            return Err(PairingError::InvalidInvite);
        }
        let d: Vec<u8> = t.bytes().filter(|b| !matches!(b, b'-' | b' ')).collect();
        if d.len() != PIN_SLOT_DIGITS + PIN_PASSWORD_DIGITS || !d.iter().all(u8::is_ascii_digit) {
            return Err(PairingError::InvalidInvite);
        }
        let (slot_digits, password_digits) = d.split_at(PIN_SLOT_DIGITS);
        let slot = slot_digits
            .iter()
            .fold(0u16, |a, b| a * 10 + u16::from(b - b'0'));
        let mut password = [0u8; PIN_PASSWORD_DIGITS];
        password.copy_from_slice(password_digits);
        Ok(Self {
            slot,
            password: Secret::new(password),
        })
    }

    /// The rendezvous slot.
    pub fn slot(&self) -> u16 {
        self.slot
    }

    /// The code as shown to people.
    pub fn display(&self) -> String {
        format!(
            "{:04}-{}",
            self.slot,
            String::from_utf8_lossy(self.password.expose())
        )
    }

    fn spake_password(&self) -> Password {
        let mut p = format!("parley-pin-v2:{:04}:", self.slot).into_bytes();
        p.extend_from_slice(self.password.expose());
        Password::new(p)
    }
}

const PIN_ID_A: &[u8] = b"parley-pin-inviter";
const PIN_ID_B: &[u8] = b"parley-pin-joiner";

struct PinKeys {
    confirm_a: Secret<32>,
    confirm_b: Secret<32>,
    seal_a: Secret<32>,
    seal_b: Secret<32>,
    transcript: [u8; 32],
}

fn pin_keys(k: &[u8], msg_a: &[u8], msg_b: &[u8]) -> PinKeys {
    let transcript = sha256(&[CTX_PIN, msg_a, msg_b]);
    let mut info = b"Parley_Pair_PIN_v1".to_vec();
    info.extend_from_slice(&transcript);
    let okm = hkdf::<128>(&[], k, &info);
    let part = |i: usize| {
        let mut b = Secret::new([0u8; 32]);
        for (d, s) in b.0.iter_mut().zip(okm.expose().iter().skip(i * 32)) {
            *d = *s;
        }
        b
    };
    PinKeys {
        confirm_a: part(0),
        confirm_b: part(1),
        seal_a: part(2),
        seal_b: part(3),
        transcript,
    }
}

#[derive(Serialize, Deserialize)]
struct PinReply {
    #[serde(with = "bytes")]
    spake: Vec<u8>,
    confirm: [u8; 32],
    #[serde(with = "bytes")]
    sealed: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct PinFinal {
    confirm: [u8; 32],
    #[serde(with = "bytes")]
    sealed: Vec<u8>,
}

/// The side that showed the code.
pub struct PinInviter {
    spake: Spake2<Ed25519Group>,
    msg_a: Vec<u8>,
}

impl core::fmt::Debug for PinInviter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("PinInviter")
    }
}

impl PinInviter {
    /// Step 1: the SPAKE2 message to post to the slot.
    pub fn start<R: CryptoRng>(rng: &mut R, code: &PinCode) -> (Self, Vec<u8>) {
        let (spake, msg_a) = Spake2::<Ed25519Group>::start_a_with_rng(
            &code.spake_password(),
            &Identity::new(PIN_ID_A),
            &Identity::new(PIN_ID_B),
            rng,
        );
        (
            Self {
                spake,
                msg_a: msg_a.clone(),
            },
            msg_a,
        )
    }

    /// Step 3: checks the joiner's reply; returns the peer and the final message.
    pub fn finish<R: CryptoRng + ?Sized>(
        self,
        rng: &mut R,
        ours: &IdentityKeyPair,
        reply: &[u8],
        profile: &[u8],
    ) -> Result<(Paired, Vec<u8>), PairingError> {
        self.finish_with(rng, ours, reply, |_| Ok(profile.to_vec()))
    }

    /// Like [`Self::finish`], with our profile made from the authenticated
    /// peer.
    pub fn finish_with<R: CryptoRng + ?Sized>(
        self,
        rng: &mut R,
        ours: &IdentityKeyPair,
        reply: &[u8],
        profile: impl FnOnce(&Paired) -> Result<Vec<u8>, PairingError>,
    ) -> Result<(Paired, Vec<u8>), PairingError> {
        let reply: PinReply = codec::decode(VERSION, reply)?;
        let k = zeroize::Zeroizing::new(
            self.spake
                .finish(&reply.spake)
                .map_err(|_| PairingError::WrongCode)?,
        );
        let keys = pin_keys(&k, &self.msg_a, &reply.spake);
        if !hmac_verify(
            keys.confirm_b.expose(),
            &[b"B", &keys.transcript],
            &reply.confirm,
        ) {
            return Err(PairingError::WrongCode);
        }
        let opened = unseal(&keys.seal_b, CTX_PIN, &reply.sealed)?;
        let paired = check_hello(&opened, CTX_PIN, &keys.transcript)?;
        let ours_profile = profile(&paired)?;
        let fin = PinFinal {
            confirm: hmac(keys.confirm_a.expose(), &[b"A", &keys.transcript]),
            sealed: seal(
                rng,
                &keys.seal_a,
                CTX_PIN,
                &hello(ours, CTX_PIN, &keys.transcript, &ours_profile)?,
            ),
        };
        Ok((paired, codec::encode(VERSION, &fin)))
    }
}

/// The side that typed the code.
pub struct PinJoiner {
    keys: PinKeys,
}

impl core::fmt::Debug for PinJoiner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("PinJoiner")
    }
}

impl PinJoiner {
    /// Step 2: answers the inviter's SPAKE2 message.
    pub fn start<R: CryptoRng>(
        rng: &mut R,
        code: &PinCode,
        ours: &IdentityKeyPair,
        msg_a: &[u8],
        profile: &[u8],
    ) -> Result<(Self, Vec<u8>), PairingError> {
        let (spake, msg_b) = Spake2::<Ed25519Group>::start_b_with_rng(
            &code.spake_password(),
            &Identity::new(PIN_ID_A),
            &Identity::new(PIN_ID_B),
            &mut *rng,
        );
        let k = zeroize::Zeroizing::new(
            spake
                .finish(msg_a)
                .map_err(|_| PairingError::Malformed(DecodeError::Malformed))?,
        );
        let keys = pin_keys(&k, msg_a, &msg_b);
        let reply = PinReply {
            confirm: hmac(keys.confirm_b.expose(), &[b"B", &keys.transcript]),
            sealed: seal(
                rng,
                &keys.seal_b,
                CTX_PIN,
                &hello(ours, CTX_PIN, &keys.transcript, profile)?,
            ),
            spake: msg_b,
        };
        Ok((Self { keys }, codec::encode(VERSION, &reply)))
    }

    /// Step 4: checks the inviter's final message.
    pub fn finish(self, fin: &[u8]) -> Result<Paired, PairingError> {
        let fin: PinFinal = codec::decode(VERSION, fin)?;
        if !hmac_verify(
            self.keys.confirm_a.expose(),
            &[b"A", &self.keys.transcript],
            &fin.confirm,
        ) {
            return Err(PairingError::WrongCode);
        }
        let opened = unseal(&self.keys.seal_a, CTX_PIN, &fin.sealed)?;
        check_hello(&opened, CTX_PIN, &self.keys.transcript)
    }
}
