//! Pairing flows over the relay rendezvous (DESIGN.md §2): one slot serves both
//! the QR/link invite and the PIN shown next to it. The joiner's reply (`b`)
//! is tagged with the method it used, so the inviter knows how to check it.
//!
//! The adapter does the HTTP: it creates the slot, writes `a1`, polls `b`
//! and so on; these types say what to write and check what was read.

use rand_core::CryptoRng;

use crate::crypto::keys::IdentityKeyPair;
use crate::crypto::pairing::{Invite, Paired, PairingError, PinCode, PinInviter, PinJoiner};
use crate::protocol::rendezvous::Rendezvous;

const TAG_QR: u8 = b'Q';
const TAG_PIN: u8 = b'P';

/// Errors of the pairing flows, as users should read them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlowError {
    /// The cryptographic exchange failed.
    #[error(transparent)]
    Pairing(#[from] PairingError),
    /// The invite's time is up.
    #[error("this invite has expired; ask for a new one")]
    Expired,
    /// The invite names a different relay.
    #[error("this invite is for another relay ({0})")]
    OtherRelay(String),
    /// Scanning your own invite.
    #[error("this is your own invite")]
    OwnInvite,
    /// The relay slot is not a PIN slot.
    #[error("the relay did not allocate a PIN slot")]
    NoPinSlot,
}

/// The inviter's side: shows [`Self::link`] (as QR) and [`Self::pin`].
#[derive(Debug)]
pub struct Inviter {
    invite: Invite,
    pin: PinCode,
    spake: PinInviter,
    expires_at: u64,
}

impl Inviter {
    /// Starts from a slot the relay allocated (`pin: true`); returns the flow
    /// and the `a1` message to write.
    pub fn new<R: CryptoRng>(
        rng: &mut R,
        relay_url: &str,
        slot: &Rendezvous,
        ours: &IdentityKeyPair,
    ) -> Result<(Self, Vec<u8>), FlowError> {
        let id: [u8; 16] = crate::protocol::auth::decode_b64(&slot.id)
            .and_then(|v| v.try_into().ok())
            .ok_or(PairingError::InvalidInvite)?;
        let pin_slot = slot.pin_slot.ok_or(FlowError::NoPinSlot)?;
        let invite = Invite::new(rng, relay_url, id, ours, slot.expires_at);
        let pin = PinCode::new(rng, pin_slot)?;
        let (spake, a1) = PinInviter::start(rng, &pin);
        Ok((
            Self {
                invite,
                pin,
                spake,
                expires_at: slot.expires_at,
            },
            a1,
        ))
    }

    /// The invite link (the QR code's content).
    pub fn link(&self) -> String {
        self.invite.to_link()
    }

    /// The PIN as shown to people.
    pub fn pin(&self) -> String {
        self.pin.display()
    }

    /// Unix seconds when the slot expires.
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }

    /// Checks the joiner's reply `b`; returns the peer and `a2` to write.
    /// Any failure ends this invite (one guess per code).
    pub fn on_reply<R: CryptoRng>(
        self,
        rng: &mut R,
        ours: &IdentityKeyPair,
        b: &[u8],
        profile: &[u8],
    ) -> Result<(Paired, Vec<u8>), FlowError> {
        let (tag, body) = b.split_first().ok_or(PairingError::InvalidInvite)?;
        let (paired, a2) = match *tag {
            TAG_QR => self.invite.accept_reply(rng, ours, body, profile)?,
            TAG_PIN => self.spake.finish(rng, ours, body, profile)?,
            _ => return Err(PairingError::InvalidInvite.into()),
        };
        if paired.peer.device_id() == &ours.device_id() {
            return Err(FlowError::OwnInvite);
        }
        Ok((paired, a2))
    }
}

/// The joiner's side, between writing `b` and reading `a2`.
#[derive(Debug)]
pub enum Joiner {
    /// Joined by link or scanned QR.
    Link(Box<Invite>),
    /// Joined by PIN.
    Pin(PinJoiner),
}

/// A parsed invite link, checked before anything is sent.
#[derive(Debug)]
pub struct LinkInvite(Invite);

impl LinkInvite {
    /// Parses and checks a scanned or pasted link against our relay and clock.
    pub fn parse(
        link: &str,
        our_relay: &str,
        ours: &IdentityKeyPair,
        now_secs: u64,
    ) -> Result<Self, FlowError> {
        let invite = Invite::from_link(link)?;
        if invite.relay_url != our_relay.trim_end_matches('/') {
            return Err(FlowError::OtherRelay(invite.relay_url));
        }
        if now_secs >= invite.expires_at {
            return Err(FlowError::Expired);
        }
        if invite.inviter.device_id() == &ours.device_id() {
            return Err(FlowError::OwnInvite);
        }
        Ok(Self(invite))
    }

    /// The rendezvous slot id (base64url) to write `b` to.
    pub fn slot_id(&self) -> String {
        crate::protocol::auth::encode_b64(&self.0.rendezvous_id)
    }

    /// The reply `b` to write.
    pub fn reply<R: CryptoRng>(
        self,
        rng: &mut R,
        ours: &IdentityKeyPair,
        profile: &[u8],
    ) -> Result<(Joiner, Vec<u8>), FlowError> {
        let mut b = vec![TAG_QR];
        b.extend(self.0.reply(rng, ours, profile)?);
        Ok((Joiner::Link(Box::new(self.0)), b))
    }
}

/// Answers the inviter's `a1` for a typed PIN; returns the flow and `b`.
pub fn join_pin<R: CryptoRng>(
    rng: &mut R,
    code: &PinCode,
    ours: &IdentityKeyPair,
    a1: &[u8],
    profile: &[u8],
) -> Result<(Joiner, Vec<u8>), FlowError> {
    let (joiner, reply) = PinJoiner::start(rng, code, ours, a1, profile)?;
    let mut b = vec![TAG_PIN];
    b.extend(reply);
    Ok((Joiner::Pin(joiner), b))
}

impl Joiner {
    /// Checks the inviter's `a2`: the pairing is done.
    pub fn finish(self, ours: &IdentityKeyPair, a2: &[u8]) -> Result<Paired, FlowError> {
        Ok(match self {
            Self::Link(invite) => invite.accept_confirmation(ours, a2)?,
            Self::Pin(joiner) => joiner.finish(a2)?,
        })
    }
}
