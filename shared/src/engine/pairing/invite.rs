//! The inviter's whole run over the relay rendezvous: open a slot (no PIN
//! number), show the link, poll `b` every [`POLL_MS`] until the slot
//! expires, add a PIN when asked, reject failed replies while attempts are
//! left, and write `a2` once paired.

use std::collections::VecDeque;

use rand_core::CryptoRng;

use super::{FlowError, Inviter, Purpose, ReplyOutcome};
use crate::crypto::pairing::PairingError;
use crate::engine::Engine;
use crate::engine::flow::Step;
use crate::engine::http::{Reply, decode};
use crate::protocol::ErrorCode;
use crate::protocol::api::{
    self, AddPin, Bytes, CloseSlot, Endpoint, GetMessage, Json, MaybeBytes, OpenSlot, PutMessage,
    RejectReply,
};
use crate::protocol::rendezvous::{CreateRendezvous, MAX_OPEN_SLOTS, Message};
use crate::protocol::ws::DeviceId;
use crate::time::{Millis, UnixMs};

/// How often a side looks for the other's message, ms.
pub const POLL_MS: Millis = Millis::from_millis(700);
/// Writes of the PIN's first `a1` tried while the relay is unreachable.
const A1_TRIES: u8 = 3;
/// Tries (reject, or check that the reply still waits) to drop a failed claim.
const REJECT_TRIES: u8 = 5;

/// Something the invite screen shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InviteEvent {
    /// The slot is open: show this link (as QR) until `expires_at`.
    Shown {
        /// The invite link.
        link: String,
        /// When the slot closes.
        expires_at: UnixMs,
    },
    /// The PIN the user asked for, `NNNN-NNNNNN`.
    Pin(String),
    /// No PIN could be made; the QR code and link still work.
    PinFailed(PinError),
    /// A reply failed its check (a wrong PIN, or junk); the invite stays open.
    FailedAttempt {
        /// Replies the invite still accepts.
        attempts_left: u8,
    },
}

/// Why no PIN was added (the invite goes on without one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    /// The relay limits PIN slots per network.
    #[error(
        "Too many PIN invites from your network just now. Use the QR code or link, or ask for \
         a PIN again in a few minutes."
    )]
    RateLimited,
    /// Anything else.
    #[error(transparent)]
    Relay(api::Failure),
}

/// Why an invite ended without a contact.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InviteError {
    /// The device has its maximum of open invites (other tabs, or pages
    /// closed less than 10 minutes ago); `DELETE /rendezvous` helps.
    #[error(
        "You already have {MAX_OPEN_SLOTS} open invites: in other tabs or windows, or on pages \
         closed in the last 10 minutes."
    )]
    TooMany,
    /// The user cancelled.
    #[error("Invite cancelled.")]
    Cancelled,
    /// Nobody joined before the slot expired.
    #[error("This invite expired before anyone joined. Make a new one.")]
    Expired,
    /// The relay no longer has the slot.
    #[error("This invite is gone (expired or closed). Make a new one.")]
    Gone,
    /// The PIN was made but its `a1` could not be written.
    #[error("Could not prepare the PIN ({0}). Make a new invite.")]
    PinSetup(api::Failure),
    /// The last allowed reply failed too.
    #[error(
        "Pairing failed ({0}). This invite had too many wrong attempts and is void. Make a new one."
    )]
    Void(FlowError),
    /// The pairing exchange failed.
    #[error(transparent)]
    Flow(#[from] FlowError),
    /// The relay refused, or could not be reached.
    #[error(transparent)]
    Relay(#[from] api::Failure),
}

/// What the reply to the request in flight means.
#[derive(Debug)]
enum Pending {
    Open,
    PollB,
    AddPin,
    PutA1 { a1: Vec<u8>, tries: u8 },
    Reject(Claim),
    CheckB(Claim),
    PutA2(DeviceId),
    Close(InviteError),
}

/// A failed reply being dropped from the slot.
#[derive(Debug)]
struct Claim {
    b: Vec<u8>,
    next_a1: Vec<u8>,
    attempts_left: u8,
    tries: u8,
}

enum Out {
    Http(api::Request, Pending),
    Event(InviteEvent),
}

/// The inviter's flow.
pub struct InviteFlow {
    relay_url: String,
    slot: String,
    inviter: Option<Inviter>,
    queue: VecDeque<Out>,
    in_flight: Option<Pending>,
    /// A request to send no earlier than this time (a retry).
    later: Option<(UnixMs, api::Request, Pending)>,
    poll_at: UnixMs,
    want_pin: bool,
    cancelled: bool,
    purpose: Purpose,
    done: Option<Result<DeviceId, InviteError>>,
}

impl core::fmt::Debug for InviteFlow {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("InviteFlow")
            .field("in_flight", &self.in_flight)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl InviteFlow {
    /// A new invite on the relay at `relay_url` (the link names it).
    pub fn new(relay_url: &str) -> Self {
        Self::with_purpose(relay_url, Purpose::Contact)
    }

    /// A new device's code for an existing device of the account to scan
    /// or type: it ends with the linking device pinned
    /// (`engine::link`), not with a contact.
    pub fn for_link(relay_url: &str) -> Self {
        Self::with_purpose(relay_url, Purpose::Link)
    }

    fn with_purpose(relay_url: &str, purpose: Purpose) -> Self {
        let open = OpenSlot.request(&Json(CreateRendezvous {
            pin: false,
            ttl_ms: None,
        }));
        Self {
            relay_url: relay_url.to_owned(),
            slot: String::new(),
            inviter: None,
            queue: VecDeque::from([Out::Http(open, Pending::Open)]),
            in_flight: None,
            later: None,
            poll_at: UnixMs::EPOCH,
            want_pin: false,
            cancelled: false,
            purpose,
            done: None,
        }
    }

    /// The user asks for a PIN (added at the next step; again after a
    /// [`InviteEvent::PinFailed`]).
    pub fn ask_pin(&mut self) {
        if self.inviter.as_ref().is_none_or(|i| i.pin().is_none()) {
            self.want_pin = true;
        }
    }

    /// The user left: the slot is closed at the next step.
    pub fn cancel(&mut self) {
        self.cancelled = true;
    }

    /// Whether a PIN was asked for and is not made yet.
    pub fn pin_wanted(&self) -> bool {
        self.want_pin
    }

    /// The next step.
    pub fn step(&mut self, now: UnixMs) -> Step<InviteEvent, Result<DeviceId, InviteError>> {
        if let Some(done) = &self.done {
            return Step::Done(done.clone());
        }
        if self.in_flight.is_some() {
            // The adapter has not answered the last request yet.
            return Step::Wait(now);
        }
        match self.queue.pop_front() {
            Some(Out::Event(e)) => return Step::Event(e),
            Some(Out::Http(req, pending)) => return self.send(req, pending),
            None => {}
        }
        let Some(inviter) = &self.inviter else {
            return Step::Wait(now);
        };
        if self.cancelled {
            self.later = None;
            let close = CloseSlot {
                id: self.slot.clone(),
            };
            return self.send(close.request(&()), Pending::Close(InviteError::Cancelled));
        }
        if let Some((at, _, _)) = &self.later {
            if now < *at {
                return Step::Wait(*at);
            }
            if let Some((_, req, pending)) = self.later.take() {
                return self.send(req, pending);
            }
        }
        if now >= inviter.expires_at() {
            return self.finish(Err(InviteError::Expired));
        }
        if self.want_pin && inviter.pin().is_none() {
            self.want_pin = false;
            let add = AddPin {
                id: self.slot.clone(),
            };
            return self.send(add.request(&()), Pending::AddPin);
        }
        if now < self.poll_at {
            return Step::Wait(self.poll_at.min(inviter.expires_at()));
        }
        let get = self.message(Message::B);
        self.send(GetMessage::request(&get, &()), Pending::PollB)
    }

    fn send(
        &mut self,
        req: api::Request,
        pending: Pending,
    ) -> Step<InviteEvent, Result<DeviceId, InviteError>> {
        self.in_flight = Some(pending);
        Step::Http(req)
    }

    fn finish(
        &mut self,
        r: Result<DeviceId, InviteError>,
    ) -> Step<InviteEvent, Result<DeviceId, InviteError>> {
        self.done = Some(r.clone());
        Step::Done(r)
    }

    fn message(&self, msg: Message) -> GetMessage {
        GetMessage {
            id: self.slot.clone(),
            msg,
        }
    }

    fn put(&self, msg: Message, body: Vec<u8>) -> api::Request {
        PutMessage {
            id: self.slot.clone(),
            msg,
        }
        .request(&Bytes(body))
    }

    fn fail(&mut self, e: InviteError) {
        self.done = Some(Err(e));
    }

    /// The reply to the last [`Step::Http`]. Pairing adds the contact to
    /// `engine` (before `a2` is written, so the contact is never lost).
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
        match pending {
            Pending::Open => match decode::<OpenSlot>(&reply) {
                Ok(Json(slot)) => {
                    match Inviter::new(rng, &self.relay_url, &slot, engine.identity()) {
                        Ok(inviter) => {
                            self.queue.push_back(Out::Event(InviteEvent::Shown {
                                link: inviter.link(),
                                expires_at: inviter.expires_at(),
                            }));
                            self.slot = slot.id;
                            self.inviter = Some(inviter);
                            self.poll_at = now;
                        }
                        Err(e) => self.fail(e.into()),
                    }
                }
                // The only quota behind this route: open invites per device.
                Err(f) if f.is(ErrorCode::QuotaExceeded) => self.fail(InviteError::TooMany),
                Err(f) => self.fail(f.into()),
            },
            Pending::PollB => match decode::<GetMessage>(&reply) {
                Ok(MaybeBytes(Some(b))) => self.on_b(rng, engine, b, now),
                Ok(MaybeBytes(None)) | Err(api::Failure::Unreachable) => {
                    self.poll_at = now + POLL_MS;
                }
                Err(f) if f.is(ErrorCode::NotFound) => self.fail(InviteError::Gone),
                Err(f) => self.fail(f.into()),
            },
            Pending::AddPin => match decode::<AddPin>(&reply) {
                Ok(Json(numbered)) => {
                    let Some(inviter) = self.inviter.as_mut() else {
                        return;
                    };
                    match inviter.add_pin(rng, &numbered) {
                        // From here the invite has a PIN that nobody can use
                        // without its a1 on the relay.
                        Ok(a1) => self.queue.push_back(Out::Http(
                            self.put(Message::A1, a1.clone()),
                            Pending::PutA1 { a1, tries: 0 },
                        )),
                        Err(e) => self.fail(e.into()),
                    }
                }
                Err(f) => {
                    let e = if f.is(ErrorCode::RateLimited) {
                        PinError::RateLimited
                    } else {
                        PinError::Relay(f)
                    };
                    self.queue.push_back(Out::Event(InviteEvent::PinFailed(e)));
                }
            },
            Pending::PutA1 { a1, tries } => match decode::<PutMessage>(&reply) {
                // A conflict means an earlier try arrived (only we write a1).
                Ok(_) => self.pin_shown(),
                Err(f) if f.is(ErrorCode::Conflict) => self.pin_shown(),
                Err(api::Failure::Unreachable) if tries + 1 < A1_TRIES => {
                    let req = self.put(Message::A1, a1.clone());
                    let next = Pending::PutA1 {
                        a1,
                        tries: tries + 1,
                    };
                    self.later = Some((now + POLL_MS, req, next));
                }
                // A PIN without its a1 is useless: the invite ends (a new one
                // asks for a PIN again by itself).
                Err(f) => self.fail(InviteError::PinSetup(f)),
            },
            Pending::Reject(claim) => match decode::<RejectReply>(&reply) {
                // Done, or an earlier try already dropped it.
                Ok(_) => self.rejected(&claim, now),
                Err(f) if f.is(ErrorCode::Conflict) => self.rejected(&claim, now),
                Err(api::Failure::Unreachable) => self.check_later(claim, now),
                Err(f) => self.fail(f.into()),
            },
            Pending::CheckB(claim) => match decode::<GetMessage>(&reply) {
                // Still the failed reply: reject it again. Never blindly: a
                // newer claimant's reply nobody has checked must not go.
                Ok(MaybeBytes(Some(w))) if w == claim.b => {
                    let req = self.reject_request(&claim);
                    self.queue.push_back(Out::Http(req, Pending::Reject(claim)));
                }
                Ok(_) => self.rejected(&claim, now),
                Err(api::Failure::Unreachable) => self.check_later(claim, now),
                Err(f) => self.fail(f.into()),
            },
            Pending::PutA2(peer) => match decode::<PutMessage>(&reply) {
                Ok(_) => self.done = Some(Ok(peer)),
                Err(f) => self.fail(f.into()),
            },
            Pending::Close(e) => self.fail(e),
        }
    }

    fn on_b<R: CryptoRng>(&mut self, rng: &mut R, engine: &mut Engine, b: Vec<u8>, now: UnixMs) {
        let Some(inviter) = self.inviter.as_mut() else {
            return;
        };
        let purpose = self.purpose;
        let e: &Engine = engine;
        let outcome = inviter.on_reply_with(rng, e.identity(), &b, |peer| match purpose {
            Purpose::Contact if crate::engine::link::is_link_profile(&peer.profile) => {
                Err(PairingError::WrongPurpose)
            }
            Purpose::Contact => Ok(e.profile()),
            Purpose::Link => e.link_consent(peer, now),
        });
        match outcome {
            ReplyOutcome::Paired(paired, a2) => {
                let peer = paired.peer.device_id();
                match purpose {
                    Purpose::Contact => {
                        engine.add_contact(paired, false, now);
                        engine.announce_contact(rng, &peer);
                    }
                    // The answer was made from this same offer, so it parses.
                    Purpose::Link => {
                        let _ = engine.pin_linker(&paired);
                    }
                }
                let req = self.put(Message::A2, a2);
                self.queue.push_back(Out::Http(req, Pending::PutA2(peer)));
            }
            ReplyOutcome::Rejected {
                next_a1,
                attempts_left,
                ..
            } => {
                // The invite stays open for the real joiner: the relay drops
                // this claim and takes the fresh SPAKE2 message.
                let claim = Claim {
                    b,
                    next_a1: next_a1.unwrap_or_default(),
                    attempts_left,
                    tries: 0,
                };
                let req = self.reject_request(&claim);
                self.queue.push_back(Out::Http(req, Pending::Reject(claim)));
            }
            ReplyOutcome::Void(e) => {
                let close = CloseSlot {
                    id: self.slot.clone(),
                };
                self.queue.push_back(Out::Http(
                    close.request(&()),
                    Pending::Close(InviteError::Void(e)),
                ));
            }
        }
    }

    fn reject_request(&self, claim: &Claim) -> api::Request {
        RejectReply {
            id: self.slot.clone(),
        }
        .request(&Bytes(claim.next_a1.clone()))
    }

    fn check_later(&mut self, mut claim: Claim, now: UnixMs) {
        claim.tries += 1;
        if claim.tries >= REJECT_TRIES {
            return self.fail(api::Failure::Unreachable.into());
        }
        let get = self.message(Message::B);
        self.later = Some((
            now + POLL_MS,
            GetMessage::request(&get, &()),
            Pending::CheckB(claim),
        ));
    }

    fn rejected(&mut self, claim: &Claim, now: UnixMs) {
        self.queue.push_back(Out::Event(InviteEvent::FailedAttempt {
            attempts_left: claim.attempts_left,
        }));
        self.poll_at = now;
    }

    fn pin_shown(&mut self) {
        if let Some(pin) = self.inviter.as_ref().and_then(Inviter::pin) {
            self.queue.push_back(Out::Event(InviteEvent::Pin(pin)));
        }
    }
}
