//! Pairing flows over the relay rendezvous (docs/architecture.md, ADR 0010): one slot
//! serves the QR/link invite and, when the user asks for one, a PIN. The
//! joiner's reply (`b`) is tagged with the method it used, so the inviter
//! knows how to check it.
//!
//! A failed reply does not end the invite: the inviter rejects that claim and
//! waits for the next, up to [`MAX_ATTEMPTS`] replies in all. Each PIN
//! attempt runs a fresh SPAKE2 exchange, so each reply is at most one guess.
//!
//! [`InviteFlow`] and [`JoinFlow`] run the whole exchange over the relay:
//! which slot messages to write and poll, how often, until when, and what a
//! refusal means. The adapter performs their requests and keeps the timers
//! and the screen; [`Inviter`], [`LinkInvite`] and [`join_pin`] are the
//! cryptographic steps they use.

mod invite;
mod join;

pub use invite::{InviteError, InviteEvent, InviteFlow, POLL_MS, PinError};
pub use join::{ANSWER_MS, JoinError, JoinFlow};

use rand_core::CryptoRng;

use crate::crypto::keys::IdentityKeyPair;
use crate::crypto::pairing::{Invite, Paired, PairingError, PinCode, PinInviter, PinJoiner};
use crate::protocol::rendezvous::{MAX_ATTEMPTS, Rendezvous};
use crate::protocol::ws::DeviceId;
use crate::time::UnixMs;

use super::flow::Step;
use super::{Engine, Reply};

/// What the invite and join flows share, so one driver runs either.
pub trait PairingFlow {
    /// What the flow shows along the way.
    type Event;
    /// How it ends.
    type Outcome;
    /// The next thing to do at `now` (Unix ms).
    fn step(&mut self, now: UnixMs) -> Step<Self::Event, Self::Outcome>;
    /// The answer to the last [`Step::Http`].
    fn on_reply<R: CryptoRng>(
        &mut self,
        rng: &mut R,
        engine: &mut Engine,
        reply: Reply,
        now: UnixMs,
    );
}

impl PairingFlow for InviteFlow {
    type Event = InviteEvent;
    type Outcome = Result<DeviceId, InviteError>;
    fn step(&mut self, now: UnixMs) -> Step<Self::Event, Self::Outcome> {
        InviteFlow::step(self, now)
    }
    fn on_reply<R: CryptoRng>(
        &mut self,
        rng: &mut R,
        engine: &mut Engine,
        reply: Reply,
        now: UnixMs,
    ) {
        InviteFlow::on_reply(self, rng, engine, reply, now);
    }
}

impl PairingFlow for JoinFlow {
    type Event = ();
    type Outcome = Result<DeviceId, JoinError>;
    fn step(&mut self, now: UnixMs) -> Step<Self::Event, Self::Outcome> {
        JoinFlow::step(self, now)
    }
    fn on_reply<R: CryptoRng>(
        &mut self,
        rng: &mut R,
        engine: &mut Engine,
        reply: Reply,
        now: UnixMs,
    ) {
        JoinFlow::on_reply(self, rng, engine, reply, now);
    }
}

/// What a pairing is for: both sides must agree, or it fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Adding a contact.
    Contact,
    /// Linking a new device of one's account (`engine::link`): the new
    /// device invites, an existing one joins.
    Link,
}

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
    /// The relay slot is not a PIN slot (or a PIN reply came for an invite
    /// that shows no PIN).
    #[error("this invite has no PIN")]
    NoPinSlot,
    /// The invite already shows a PIN.
    #[error("this invite already has a PIN")]
    PinExists,
    /// Every attempt of this invite was used.
    #[error("this invite had too many failed attempts; make a new one")]
    AttemptsUsed,
}

/// What became of a reply `b` the inviter read.
#[derive(Debug)]
pub enum ReplyOutcome {
    /// Paired: add the contact, then write `a2`.
    Paired(Paired, Vec<u8>),
    /// The reply failed and the invite stays open: reject the claim on the
    /// relay, putting `next_a1` in place of `a1` (the PIN's fresh SPAKE2
    /// message, when the invite shows a PIN).
    Rejected {
        /// Why the reply failed.
        error: FlowError,
        /// The new `a1`, for an invite with a PIN.
        next_a1: Option<Vec<u8>>,
        /// Replies the invite still accepts.
        attempts_left: u8,
    },
    /// The reply failed and it was the last attempt: delete the slot.
    Void(FlowError),
}

#[derive(Debug)]
struct Pin {
    code: PinCode,
    /// The SPAKE2 run whose message is the current `a1`; taken by the reply
    /// that answers it, so one run is never checked twice.
    spake: Option<PinInviter>,
}

/// The inviter's side: shows [`Self::link`] (as QR) and, after
/// [`Self::add_pin`], [`Self::pin`].
#[derive(Debug)]
pub struct Inviter {
    invite: Invite,
    pin: Option<Pin>,
    failures: u8,
    expires_at: UnixMs,
}

fn slot_id(slot: &Rendezvous) -> Result<[u8; 16], FlowError> {
    Ok(crate::protocol::auth::decode_b64(&slot.id)
        .and_then(|v| v.try_into().ok())
        .ok_or(PairingError::InvalidInvite)?)
}

impl Inviter {
    /// Starts a QR/link invite from a slot the relay allocated. Nothing is
    /// written to the slot until a PIN is added.
    pub fn new<R: CryptoRng>(
        rng: &mut R,
        relay_url: &str,
        slot: &Rendezvous,
        ours: &IdentityKeyPair,
    ) -> Result<Self, FlowError> {
        // The link counts in seconds (its format predates the unit change).
        let expires_at = slot.expires_at_ms;
        let invite = Invite::new(rng, relay_url, slot_id(slot)?, ours, expires_at.as_secs());
        Ok(Self {
            invite,
            pin: None,
            failures: 0,
            expires_at,
        })
    }

    /// Adds a PIN once the relay gave the slot a number (`slot` is the answer
    /// of `POST /rendezvous/{id}/pin`, or of a creation with `pin: true`);
    /// returns the `a1` to write.
    pub fn add_pin<R: CryptoRng>(
        &mut self,
        rng: &mut R,
        slot: &Rendezvous,
    ) -> Result<Vec<u8>, FlowError> {
        if slot_id(slot)? != self.invite.rendezvous_id {
            return Err(PairingError::InvalidInvite.into());
        }
        if self.pin.is_some() {
            return Err(FlowError::PinExists);
        }
        let code = PinCode::new(rng, slot.pin_slot.ok_or(FlowError::NoPinSlot)?)?;
        let (spake, a1) = PinInviter::start(rng, &code);
        self.pin = Some(Pin {
            code,
            spake: Some(spake),
        });
        Ok(a1)
    }

    /// The invite link (the QR code's content).
    pub fn link(&self) -> String {
        self.invite.to_link()
    }

    /// The PIN as shown to people, once added.
    pub fn pin(&self) -> Option<String> {
        self.pin.as_ref().map(|p| p.code.display())
    }

    /// When the slot expires.
    pub fn expires_at(&self) -> UnixMs {
        self.expires_at
    }

    /// Replies this invite still accepts.
    pub fn attempts_left(&self) -> u8 {
        MAX_ATTEMPTS.saturating_sub(self.failures)
    }

    /// Checks the joiner's reply `b`. A failure keeps the invite open for
    /// the next reply (with a fresh SPAKE2 run for the PIN) until
    /// [`MAX_ATTEMPTS`] replies have failed.
    pub fn on_reply<R: CryptoRng>(
        &mut self,
        rng: &mut R,
        ours: &IdentityKeyPair,
        b: &[u8],
        profile: &[u8],
    ) -> ReplyOutcome {
        self.on_reply_with(rng, ours, b, |_| Ok(profile.to_vec()))
    }

    /// Like [`Self::on_reply`], with our profile made from the
    /// authenticated peer (a device link answers the offer it read; a
    /// contact invite refuses a link's).
    pub fn on_reply_with<R: CryptoRng>(
        &mut self,
        rng: &mut R,
        ours: &IdentityKeyPair,
        b: &[u8],
        profile: impl FnOnce(&Paired) -> Result<Vec<u8>, PairingError>,
    ) -> ReplyOutcome {
        if self.attempts_left() == 0 {
            return ReplyOutcome::Void(FlowError::AttemptsUsed);
        }
        let error = match self.check(rng, ours, b, profile) {
            Ok((paired, a2)) => return ReplyOutcome::Paired(paired, a2),
            Err(e) => e,
        };
        self.failures = self.failures.saturating_add(1);
        if self.attempts_left() == 0 {
            self.pin = None;
            return ReplyOutcome::Void(error);
        }
        // The failed reply may have consumed the current SPAKE2 run (and a
        // stale one answered an earlier message): the next attempt gets a new
        // run either way, so no run ever sees two replies.
        let next_a1 = self.pin.as_mut().map(|p| {
            let (spake, a1) = PinInviter::start(rng, &p.code);
            p.spake = Some(spake);
            a1
        });
        ReplyOutcome::Rejected {
            error,
            next_a1,
            attempts_left: self.attempts_left(),
        }
    }

    fn check<R: CryptoRng>(
        &mut self,
        rng: &mut R,
        ours: &IdentityKeyPair,
        b: &[u8],
        profile: impl FnOnce(&Paired) -> Result<Vec<u8>, PairingError>,
    ) -> Result<(Paired, Vec<u8>), FlowError> {
        let (tag, body) = b.split_first().ok_or(PairingError::InvalidInvite)?;
        let (paired, a2) = match *tag {
            TAG_QR => self.invite.accept_reply_with(rng, ours, body, profile)?,
            TAG_PIN => self
                .pin
                .as_mut()
                .and_then(|p| p.spake.take())
                .ok_or(FlowError::NoPinSlot)?
                .finish_with(rng, ours, body, profile)?,
            _ => return Err(PairingError::InvalidInvite.into()),
        };
        if paired.peer.device_id() == ours.device_id() {
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
        now: UnixMs,
    ) -> Result<Self, FlowError> {
        let invite = Invite::from_link(link)?;
        if invite.relay_url != our_relay.trim_end_matches('/') {
            return Err(FlowError::OtherRelay(invite.relay_url));
        }
        if now.as_secs() >= invite.expires_at {
            return Err(FlowError::Expired);
        }
        if invite.inviter.device_id() == ours.device_id() {
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
