//! The joiner's whole run: by link (write `b` to the slot the link names)
//! or by PIN (find the slot, read `a1`, answer it with `b`), then poll `a2`
//! every [`POLL_MS`] for at most [`ANSWER_MS`] and finish the pairing.

use std::collections::VecDeque;

use rand_core::CryptoRng;

use super::invite::POLL_MS;
use super::{FlowError, Joiner, LinkInvite, Purpose, join_pin};
use crate::crypto::pairing::PinCode;
use crate::crypto::pairing::{Paired, PairingError};
use crate::engine::Engine;
use crate::engine::flow::Step;
use crate::engine::http::{Reply, decode};
use crate::engine::link::LinkError;
use crate::protocol::ErrorCode;
use crate::protocol::api::{
    self, Bytes, Endpoint, FindPinSlot, GetMessage, Json, MaybeBytes, PutMessage,
};
use crate::protocol::rendezvous::Message;
use crate::protocol::ws::DeviceId;
use crate::time::{Millis, UnixMs};

/// How long the joiner waits for the inviter's `a2` after writing `b`, ms.
pub const ANSWER_MS: Millis = Millis::from_millis(120_000);

/// Why joining failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    /// A typed code that is not a pairing code.
    #[error("A pairing code looks like 1234-567890.")]
    BadCode,
    /// No open invite has this PIN.
    #[error("No invite has this code. It may have expired, been used, or been mistyped.")]
    NoSuchCode,
    /// The relay limits PIN lookups.
    #[error("Too many codes tried from this device or network. Wait a minute, then try again.")]
    TooManyCodes,
    /// The PIN's `a1` is not on the relay yet.
    #[error("The invite is not ready yet; try again in a moment.")]
    NotReady,
    /// The slot is gone before `b` was written.
    #[error("This invite has expired, was cancelled or was already used. Ask for a new one.")]
    InviteGone,
    /// Another joiner's reply is waiting.
    #[error("Someone else is joining with this invite right now. Try again in a few seconds.")]
    Busy,
    /// No `a2` within [`ANSWER_MS`].
    #[error("The other device did not answer. Try again.")]
    NoAnswer,
    /// The inviter rejected a PIN reply (the invite stays open).
    #[error("Wrong code. Check it and try again; the invite still works.")]
    WrongPin,
    /// The inviter rejected a link reply.
    #[error("The inviting device could not verify this link. Ask for a new invite.")]
    LinkRejected,
    /// The slot went away while waiting for `a2`.
    #[error(
        "Wrong code, or the invite was cancelled or had too many wrong attempts. Ask for a new \
         invite."
    )]
    Closed,
    /// The pairing exchange failed.
    #[error(transparent)]
    Flow(#[from] FlowError),
    /// Paired, but the device could not be linked.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// The relay refused, or could not be reached.
    #[error(transparent)]
    Relay(#[from] api::Failure),
}

#[derive(Debug)]
enum Pending {
    FindSlot,
    GetA1,
    PutB,
    PollA2,
}

/// The joiner's flow (its `Debug` shows no secret: the PIN code and the
/// joiner's SPAKE2 state redact themselves).
#[derive(Debug)]
pub struct JoinFlow {
    slot: String,
    code: Option<PinCode>,
    joiner: Option<Joiner>,
    next: VecDeque<(api::Request, Pending)>,
    in_flight: Option<Pending>,
    poll_at: UnixMs,
    deadline: UnixMs,
    purpose: Purpose,
    done: Option<Result<DeviceId, JoinError>>,
}

impl JoinFlow {
    fn empty() -> Self {
        Self {
            purpose: Purpose::Contact,
            slot: String::new(),
            code: None,
            joiner: None,
            next: VecDeque::new(),
            in_flight: None,
            poll_at: UnixMs::EPOCH,
            deadline: UnixMs::EPOCH,
            done: None,
        }
    }

    /// Joins by a scanned or pasted link, checked against our relay and
    /// clock before anything is sent.
    pub fn link<R: CryptoRng>(
        rng: &mut R,
        engine: &Engine,
        link: &str,
        our_relay: &str,
        now: UnixMs,
    ) -> Result<Self, JoinError> {
        Self::by_link(rng, engine, link, our_relay, now, Purpose::Contact)
    }

    /// Links the new device showing this code (scanned or pasted) into
    /// our account; ends with it in the list being published.
    pub fn link_device<R: CryptoRng>(
        rng: &mut R,
        engine: &Engine,
        link: &str,
        our_relay: &str,
        now: UnixMs,
    ) -> Result<Self, JoinError> {
        Self::by_link(rng, engine, link, our_relay, now, Purpose::Link)
    }

    /// Links the new device showing this PIN into our account.
    pub fn link_device_pin(engine: &Engine, code: &str) -> Result<Self, JoinError> {
        engine.link_offer()?;
        let mut flow = Self::pin(code)?;
        flow.purpose = Purpose::Link;
        Ok(flow)
    }

    fn by_link<R: CryptoRng>(
        rng: &mut R,
        engine: &Engine,
        link: &str,
        our_relay: &str,
        now: UnixMs,
        purpose: Purpose,
    ) -> Result<Self, JoinError> {
        let parsed = LinkInvite::parse(link, our_relay, engine.identity(), now)?;
        let mut flow = Self::empty();
        flow.purpose = purpose;
        flow.slot = parsed.slot_id();
        let profile = flow.our_profile(engine)?;
        let (joiner, b) = parsed.reply(rng, engine.identity(), &profile)?;
        flow.joiner = Some(joiner);
        let put = flow.put_b(b);
        flow.next.push_back(put);
        Ok(flow)
    }

    /// Joins by a typed PIN.
    pub fn pin(code: &str) -> Result<Self, JoinError> {
        let code = PinCode::parse(code).map_err(|_| JoinError::BadCode)?;
        let mut flow = Self::empty();
        let find = FindPinSlot { slot: code.slot() }.request(&());
        flow.code = Some(code);
        flow.next.push_back((find, Pending::FindSlot));
        Ok(flow)
    }

    fn our_profile(&self, engine: &Engine) -> Result<Vec<u8>, JoinError> {
        Ok(match self.purpose {
            Purpose::Contact => engine.profile(),
            Purpose::Link => engine.link_offer()?,
        })
    }

    /// The pairing is done: a contact is added, or the new device linked.
    fn paired<R: CryptoRng>(
        &self,
        rng: &mut R,
        engine: &mut Engine,
        paired: Paired,
        now: UnixMs,
    ) -> Result<DeviceId, JoinError> {
        let is_link = crate::engine::link::is_link_profile(&paired.profile);
        match self.purpose {
            Purpose::Contact if is_link => Err(FlowError::from(PairingError::WrongPurpose).into()),
            Purpose::Contact => {
                let peer = paired.peer.device_id();
                engine.add_contact(paired, true, now);
                engine.announce_contact(rng, &peer);
                Ok(peer)
            }
            Purpose::Link => Ok(engine.accept_consent(&paired)?),
        }
    }

    fn put_b(&self, b: Vec<u8>) -> (api::Request, Pending) {
        let put = PutMessage {
            id: self.slot.clone(),
            msg: Message::B,
        };
        (put.request(&Bytes(b)), Pending::PutB)
    }

    /// The next step.
    pub fn step(&mut self, now: UnixMs) -> Step<(), Result<DeviceId, JoinError>> {
        if let Some(done) = &self.done {
            return Step::Done(done.clone());
        }
        if self.in_flight.is_some() {
            return Step::Wait(now);
        }
        if let Some((req, pending)) = self.next.pop_front() {
            self.in_flight = Some(pending);
            return Step::Http(req);
        }
        if now < self.poll_at {
            return Step::Wait(self.poll_at);
        }
        let get = GetMessage {
            id: self.slot.clone(),
            msg: Message::A2,
        };
        self.in_flight = Some(Pending::PollA2);
        Step::Http(get.request(&()))
    }

    /// A refusal of a claim on the slot.
    fn claim_failed(f: api::Failure) -> JoinError {
        if f.is(ErrorCode::NotFound) {
            JoinError::InviteGone
        } else if f.is(ErrorCode::Conflict) {
            JoinError::Busy
        } else {
            f.into()
        }
    }

    /// The reply to the last [`Step::Http`]; a finished pairing adds the
    /// contact to `engine` (the joiner starts the session).
    pub fn on_reply<R: CryptoRng>(
        &mut self,
        rng: &mut R,
        engine: &mut Engine,
        reply: Reply,
        now: UnixMs,
    ) {
        let Some(pending) = self.in_flight.take() else {
            return;
        };
        let r = match pending {
            Pending::FindSlot => self.on_slot(&reply),
            Pending::GetA1 => self.on_a1(rng, engine, &reply),
            Pending::PutB => match decode::<PutMessage>(&reply) {
                Ok(_) => {
                    self.deadline = now + ANSWER_MS;
                    self.poll_at = now;
                    Ok(())
                }
                Err(f) => Err(Self::claim_failed(f)),
            },
            Pending::PollA2 => match decode::<GetMessage>(&reply) {
                Ok(MaybeBytes(Some(a2))) => {
                    match self.joiner.take().map(|j| j.finish(engine.identity(), &a2)) {
                        Some(Ok(paired)) => self.paired(rng, engine, paired, now).map(|peer| {
                            self.done = Some(Ok(peer));
                        }),
                        Some(Err(e)) => Err(e.into()),
                        None => Err(FlowError::Pairing(PairingError::InvalidInvite).into()),
                    }
                }
                Ok(MaybeBytes(None)) | Err(api::Failure::Unreachable) if now < self.deadline => {
                    self.poll_at = now + POLL_MS;
                    Ok(())
                }
                Ok(MaybeBytes(None)) | Err(api::Failure::Unreachable) => Err(JoinError::NoAnswer),
                // The inviter rejected our reply; the invite itself stays open.
                Err(f) if f.is(ErrorCode::Forbidden) => Err(match self.joiner {
                    Some(Joiner::Pin(_)) => JoinError::WrongPin,
                    _ => JoinError::LinkRejected,
                }),
                Err(f) if f.is(ErrorCode::NotFound) => Err(JoinError::Closed),
                Err(f) => Err(f.into()),
            },
        };
        if let Err(e) = r {
            self.done = Some(Err(e));
        }
    }

    fn on_slot(&mut self, reply: &Reply) -> Result<(), JoinError> {
        match decode::<FindPinSlot>(reply) {
            Ok(Json(slot)) => {
                self.slot = slot.id;
                let get = GetMessage {
                    id: self.slot.clone(),
                    msg: Message::A1,
                };
                self.next.push_back((get.request(&()), Pending::GetA1));
                Ok(())
            }
            Err(f) if f.is(ErrorCode::NotFound) => Err(JoinError::NoSuchCode),
            Err(f) if f.is(ErrorCode::RateLimited) => Err(JoinError::TooManyCodes),
            Err(f) => Err(f.into()),
        }
    }

    fn on_a1<R: CryptoRng>(
        &mut self,
        rng: &mut R,
        engine: &Engine,
        reply: &Reply,
    ) -> Result<(), JoinError> {
        let a1 = match decode::<GetMessage>(reply) {
            Ok(MaybeBytes(Some(a1))) => a1,
            Ok(MaybeBytes(None)) => return Err(JoinError::NotReady),
            Err(f) => return Err(Self::claim_failed(f)),
        };
        let code = self.code.as_ref().ok_or(JoinError::BadCode)?;
        let profile = self.our_profile(engine)?;
        let (joiner, b) = join_pin(rng, code, engine.identity(), &a1, &profile)?;
        self.joiner = Some(joiner);
        let put = self.put_b(b);
        self.next.push_back(put);
        Ok(())
    }
}
