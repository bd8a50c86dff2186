//! The relay account: registration and login bodies signed by this
//! device's identity, and the session token.

use super::core::Engine;
use super::effects::{Effect, StoreOp};
use super::model::key;
use super::prekeys::key_upload;
use crate::crypto::keys::IdentityKeyPair;
use crate::crypto::session::MemoryPreKeys;
use crate::protocol::auth::{
    GateProof, LoginRequest, RegisterRequest, encode_b64, login_statement, registration_statement,
};

/// A login body signed by `identity`.
pub(super) fn login_body(
    identity: &IdentityKeyPair,
    origin: &str,
    challenge: &str,
) -> Option<LoginRequest> {
    let raw = crate::protocol::auth::decode_b64(challenge)?;
    let sig = identity.sign(&[], &[&login_statement(origin, &raw)]);
    Some(LoginRequest {
        device_id: encode_b64(&identity.device_id()),
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
    pub fn set_token(&mut self, token: String, expires_at: u64) {
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
