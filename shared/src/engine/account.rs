//! The relay account: registration and login bodies signed by this
//! device's identity, the session token, and the flows that get one
//! (challenge → sign → register or log in → token), key reset included.
//!
//! One account flow runs at a time. The adapter starts one
//! ([`Engine::register`], [`Engine::login`], [`Engine::reset_keys`]),
//! performs the [`Effect::Http`] requests it emits, and reads
//! [`Engine::account_result`] once [`Engine::account_busy`] is false.

use rand_core::CryptoRng;

use super::core::Engine;
use super::effects::{Effect, StoreOp};
use super::error::EngineError;
use super::http::{Purpose, Reply, decode};
use super::model::key;
use super::prekeys::key_upload;
use crate::crypto::keys::IdentityKeyPair;
use crate::crypto::session::MemoryPreKeys;
use crate::protocol::api::{self, Endpoint, GetChallenge, Json, Login, Register};
use crate::protocol::auth::{
    GateProof, LoginRequest, RegisterRequest, encode_b64, login_statement, registration_statement,
};
use crate::time::UnixMs;

/// Why an account flow did not end with a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    /// The relay refused, or could not be reached.
    #[error(transparent)]
    Relay(#[from] api::Failure),
    /// The challenge does not decode.
    #[error("The relay sent an invalid challenge.")]
    BadChallenge,
    /// A key reset's registration got no answer: the next login or reset
    /// finishes it (the relay registered it) or drops it (it did not).
    #[error("{0} Try again: the reset is finished or undone first.")]
    ResetUnanswered(api::Failure),
    /// The reset cannot start now.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Another account flow is running.
    #[error("Another account request is under way; try again in a moment.")]
    Busy,
}

/// How an account flow ended well.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountOutcome {
    /// A token for the identity in use.
    SignedIn,
    /// A key reset finished: the engine switched identity (and went
    /// offline); the adapter reconnects with the new token.
    KeysReplaced,
}

/// What a challenge is fetched for, and so what its answer answers.
#[derive(Debug, Clone)]
pub(super) enum Then {
    /// A new device passing the gate.
    Register(GateProof),
    /// The identity in use.
    Login,
    /// A reset's new identity, whose registration got no answer.
    ResumeLogin,
    /// A reset's new identity, vouched for by the current one.
    Successor,
}

/// One step of an account flow.
#[derive(Debug)]
pub(super) enum AuthStep {
    /// `POST /auth/challenge`.
    Challenge(Then),
    /// `POST /auth/login` or `POST /devices`.
    Answer(Then),
}

/// The account flow's state.
#[derive(Debug, Default)]
pub(super) struct AuthState {
    /// The origin signed into statements (the relay checks it).
    origin: String,
    busy: bool,
    last: Option<Result<AccountOutcome, AccountError>>,
}

/// A login body signed by `identity`.
pub(super) fn login_body(
    identity: &IdentityKeyPair,
    origin: &str,
    challenge: &str,
) -> Option<LoginRequest> {
    let raw = crate::protocol::auth::decode_b64(challenge)?;
    let sig = identity.sign(&[], &[&login_statement(origin, &raw)]);
    Some(LoginRequest {
        device_id: identity.device_id(),
        challenge: challenge.to_owned(),
        signature: encode_b64(&sig),
    })
}

impl Engine {
    // ------------------------------------------------------------ relay account

    /// The registration body for a relay challenge.
    pub fn registration_request(
        &self,
        origin: &str,
        challenge: &str,
        gate: GateProof,
    ) -> Option<RegisterRequest> {
        registration(
            &self.identity,
            &self.account.prekeys,
            origin,
            challenge,
            gate,
        )
    }

    /// The login body for a relay challenge.
    pub fn login_request(&self, origin: &str, challenge: &str) -> Option<LoginRequest> {
        login_body(&self.identity, origin, challenge)
    }

    /// Records a session token from registration or login.
    /// This identity logging in while a key reset's registration had no
    /// answer proves the relay never registered the new one (it would have
    /// erased this device): that reset is dropped. A reset still being
    /// registered by this page is not touched (the login may predate it).
    pub fn set_token(&mut self, token: String, expires_at: UnixMs) {
        self.account.token = Some(token);
        self.account.token_expires_at = expires_at;
        self.account.registered = true;
        self.save_account();
        if self.rotation.as_ref().is_some_and(|r| r.restored) {
            self.rotation = None;
            self.pending.push(StoreOp::Delete(key::ROTATION.to_owned()));
            self.effects.push_back(Effect::Changed);
        }
        self.commit();
    }

    /// Forgets the token (the relay refused it); the next connect logs in.
    pub fn clear_token(&mut self) {
        self.account.token = None;
        self.save_account();
        self.commit();
    }

    // ------------------------------------------------------------ account flows

    /// Whether an account flow is running.
    pub fn account_busy(&self) -> bool {
        self.auth.busy
    }

    /// How the last account flow ended (`None` while one runs).
    pub fn account_result(&self) -> Option<&Result<AccountOutcome, AccountError>> {
        self.auth.last.as_ref()
    }

    fn start_auth(&mut self, origin: &str, then: Then) -> Result<(), AccountError> {
        if self.auth.busy {
            return Err(AccountError::Busy);
        }
        self.auth = AuthState {
            origin: origin.to_owned(),
            busy: true,
            last: None,
        };
        self.challenge(then);
        Ok(())
    }

    fn challenge(&mut self, then: Then) {
        let req = GetChallenge.request(&());
        self.http(Purpose::Auth(AuthStep::Challenge(then)), req);
    }

    fn end_auth(&mut self, result: Result<AccountOutcome, AccountError>) {
        self.auth.busy = false;
        self.auth.last = Some(result);
        self.effects.push_back(Effect::Changed);
    }

    /// Registers this (new) device with the relay at `origin`.
    pub fn register(&mut self, origin: &str, gate: GateProof) -> Result<(), AccountError> {
        self.start_auth(origin, Then::Register(gate))
    }

    /// Logs in for a token (joins a flow already running). A key reset
    /// whose registration got no answer is resumed first: if the relay
    /// registered the new identity, it logs in and the engine switches to
    /// it; only when the old identity still logs in (which proves the relay
    /// never registered the new one: registering erases the old device) is
    /// the reset dropped. Anything else keeps it for next time.
    pub fn login(&mut self, origin: &str) {
        let then = if self.rotation_to_resume() {
            Then::ResumeLogin
        } else {
            Then::Login
        };
        let _joined = self.start_auth(origin, then);
    }

    /// Replaces this device's identity keys ([`Engine::begin_rotation`]),
    /// registering the new identity with the current token; a reset that
    /// got no answer earlier is finished or dropped instead (see
    /// [`Engine::login`]).
    pub fn reset_keys<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        origin: &str,
    ) -> Result<(), AccountError> {
        if self.auth.busy {
            return Err(AccountError::Busy);
        }
        if self.rotation_to_resume() {
            return self.start_auth(origin, Then::ResumeLogin);
        }
        // Its record is queued before the first request: the adapter stores
        // it before the relay can hear of the new identity.
        self.begin_rotation(rng)?;
        self.start_auth(origin, Then::Successor)
    }

    pub(super) fn auth_reply(&mut self, step: AuthStep, reply: &Reply) {
        match step {
            AuthStep::Challenge(then) => self.on_challenge(then, reply),
            AuthStep::Answer(then) => self.on_session(then, reply),
        }
    }

    fn on_challenge(&mut self, then: Then, reply: &Reply) {
        let c = match decode::<GetChallenge>(reply) {
            Ok(Json(c)) => c.challenge,
            Err(f) => return self.auth_failed(&then, f),
        };
        let origin = self.auth.origin.clone();
        let req = match &then {
            Then::Register(gate) => self
                .registration_request(&origin, &c, gate.clone())
                .map(|b| Register.request(&Json(b))),
            Then::Login => self
                .login_request(&origin, &c)
                .map(|b| Login.request(&Json(b))),
            Then::ResumeLogin => self
                .rotation_login_request(&origin, &c)
                .map(|b| Login.request(&Json(b))),
            Then::Successor => self.rotation_registration_request(&origin, &c).map(|b| {
                // The current token proves the old device vouches in person.
                let mut req = Register.request(&Json(b));
                req.auth = true;
                req
            }),
        };
        match req {
            Some(req) => self.http(Purpose::Auth(AuthStep::Answer(then)), req),
            None => {
                if matches!(then, Then::Successor) {
                    self.rotation_unanswered();
                }
                self.end_auth(Err(AccountError::BadChallenge));
            }
        }
    }

    fn on_session(&mut self, then: Then, reply: &Reply) {
        let s = match decode::<Login>(reply) {
            Ok(Json(s)) => s,
            // The relay knows no such identity: the reset never registered.
            Err(api::Failure::Refused { .. }) if matches!(then, Then::ResumeLogin) => {
                return self.challenge(Then::Login);
            }
            Err(f) => return self.auth_failed(&then, f),
        };
        match then {
            Then::Register(_) | Then::Login => {
                self.set_token(s.token, s.expires_at_ms);
                self.end_auth(Ok(AccountOutcome::SignedIn));
            }
            Then::ResumeLogin | Then::Successor => {
                // False only if no reset is left: nothing to switch to.
                let outcome = if self.finish_rotation(s.token, s.expires_at_ms) {
                    AccountOutcome::KeysReplaced
                } else {
                    AccountOutcome::SignedIn
                };
                self.end_auth(Ok(outcome));
            }
        }
    }

    fn auth_failed(&mut self, then: &Then, f: api::Failure) {
        let e = if matches!(then, Then::Successor) {
            // It may have registered it all the same: resume from here on.
            self.rotation_unanswered();
            AccountError::ResetUnanswered(f)
        } else {
            AccountError::Relay(f)
        };
        self.end_auth(Err(e));
    }
}

pub(super) fn registration(
    identity: &IdentityKeyPair,
    prekeys: &MemoryPreKeys,
    origin: &str,
    challenge: &str,
    gate: GateProof,
) -> Option<RegisterRequest> {
    let raw = crate::protocol::auth::decode_b64(challenge)?;
    let keys = key_upload(prekeys, prekeys.one_time.iter())?;
    let sig = identity.sign(&[], &[&registration_statement(origin, &raw, &keys)]);
    Some(RegisterRequest {
        identity: encode_b64(&identity.public().to_bytes()),
        keys,
        challenge: challenge.to_owned(),
        signature: encode_b64(&sig),
        gate,
    })
}
