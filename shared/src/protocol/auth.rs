//! Device registration and login (docs/architecture.md): a device is its Ed25519
//! identity key and proves it by signing a single-use relay challenge.
//!
//! The statements signed here are protocol rules shared by the client (which
//! signs) and the relay (which verifies), so they live in this crate.

use serde::{Deserialize, Serialize};

use crate::crypto::codec::b64url;
use crate::crypto::keys::{
    IdentityPublic, KeyError, OneTimePreKeyPublic, PqPreKeyPublic, PreKeyBundle, SignedPreKeyPublic,
};
use crate::crypto::primitives::sha256;
use crate::protocol::DeviceId;
use crate::time::{Millis, UnixMs};

/// Signature context for registration.
pub const CTX_REGISTER: &[u8] = b"Parley register v1";
/// Signature context for login.
pub const CTX_LOGIN: &[u8] = b"Parley login v1";
/// Bytes of randomness in a challenge.
pub const CHALLENGE_LEN: usize = 32;
/// One-time prekeys accepted per upload.
pub const MAX_ONE_TIME_PREKEYS_PER_UPLOAD: usize = 200;
/// One-time prekeys the relay holds for one device at most (an upload
/// beyond it is refused); a device keeps no more than this locally either.
pub const MAX_ONE_TIME_PREKEYS_PER_DEVICE: u32 = 1_000;
/// Below this many stored one-time prekeys the relay asks the device to refill.
pub const LOW_PREKEY_THRESHOLD: u32 = 20;

/// `POST /api/v1/auth/challenge` response: a single-use nonce.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// base64url of [`CHALLENGE_LEN`] random bytes.
    pub challenge: String,
    /// When the relay starts refusing it.
    pub expires_at_ms: UnixMs,
}

/// What a device signs to log in: context, the relay's origin (so a signature
/// for one relay is useless on another) and the challenge.
pub fn login_statement(origin: &str, challenge: &[u8]) -> Vec<u8> {
    statement(CTX_LOGIN, origin, challenge, &[])
}

/// Signature context of a successor statement (`Content::Successor`, and
/// `GateProof::Successor` when the successor registers).
pub const CTX_SUCCESSOR: &[u8] = b"Parley successor v1";

/// What the old identity signs to vouch for its successor: the relay checks
/// it at registration, contacts when the successor first writes.
pub fn successor_statement(new: &IdentityPublic) -> [u8; 64] {
    new.transcript_bytes()
}

/// What a device signs to register: as for login, plus the digest of the
/// uploaded keys, so the relay cannot attach other keys to the identity.
pub fn registration_statement(origin: &str, challenge: &[u8], keys: &KeyUpload) -> Vec<u8> {
    statement(CTX_REGISTER, origin, challenge, &keys.digest())
}

fn statement(ctx: &[u8], origin: &str, challenge: &[u8], extra: &[u8]) -> Vec<u8> {
    let mut m = ctx.to_vec();
    m.extend_from_slice(&(origin.len() as u32).to_be_bytes());
    m.extend_from_slice(origin.as_bytes());
    m.extend_from_slice(challenge);
    m.extend_from_slice(extra);
    m
}

/// Keys a device publishes: its signed prekey, ML-KEM prekey and a batch of
/// one-time prekeys (all optional on refills except what changes).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyUpload {
    /// Current signed prekey.
    pub signed_prekey: SignedPreKeyPublic,
    /// Current ML-KEM prekey.
    pub pq_prekey: PqPreKeyPublic,
    /// New one-time prekeys to add.
    pub one_time_prekeys: Vec<OneTimePreKeyPublic>,
}

impl KeyUpload {
    /// SHA-256 over a canonical encoding of the upload.
    pub fn digest(&self) -> [u8; 32] {
        sha256(&[&crate::crypto::codec::encode(1, self)])
    }

    /// Checks the prekey signatures against `identity` and the batch size.
    pub fn verify(&self, identity: &IdentityPublic) -> Result<(), KeyError> {
        if self.one_time_prekeys.len() > MAX_ONE_TIME_PREKEYS_PER_UPLOAD {
            return Err(KeyError::InvalidKey);
        }
        PreKeyBundle::new(
            identity.clone(),
            self.signed_prekey.clone(),
            self.pq_prekey.clone(),
            None,
        )
        .map(|_| ())
    }
}

/// How a registration passes the relay's gate.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GateProof {
    /// The relay is open.
    Open,
    /// An invite code from `parley-relay invite create`.
    Invite {
        /// The code.
        code: String,
    },
    /// The new identity of an existing device whose owner reset its keys:
    /// the request carries that device's bearer token, and `signature` is the
    /// old identity key over the new identity
    /// ([`successor_statement`]). The relay erases the old
    /// device once the new one is registered, so a reset never multiplies
    /// devices past the gate.
    Successor {
        /// base64url Ed25519 signature by the old identity.
        signature: String,
    },
    /// A code mailed by `POST /api/v1/registration/email`.
    EmailOtp {
        /// The address the code was sent to.
        email: String,
        /// The 6-digit code.
        code: String,
    },
}

/// How a relay admits new devices (`GET /api/v1/info`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationMode {
    /// Anyone may register.
    Open,
    /// An invite code from the operator is needed.
    Invite,
    /// A code mailed to an address is needed.
    EmailOtp,
}

/// `GET /api/v1/info` response: what a client must know before registering.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayInfo {
    /// Registration gate.
    pub registration: RegistrationMode,
    /// Relay software version.
    pub version: String,
}

/// `POST /api/v1/registration/email` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailCodeRequest {
    /// Where to send the code.
    pub email: String,
}

/// `POST /api/v1/registration/email` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailCodeSent {
    /// When the code starts being refused.
    pub expires_at_ms: UnixMs,
}

/// Validity of an emailed registration code.
pub const EMAIL_CODE_TTL: Millis = Millis::from_secs(600);

/// Lower-cases and trims an address; `None` if it is not plausibly one.
pub fn normalize_email(raw: &str) -> Option<String> {
    let e = raw.trim().to_lowercase();
    let ok = e.len() <= 254
        && e.split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'))
        && !e
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>' || c == ',');
    ok.then_some(e)
}

/// `POST /api/v1/devices` body.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterRequest {
    /// base64url of `IdentityPublic::to_bytes()`.
    pub identity: String,
    /// Keys to publish.
    pub keys: KeyUpload,
    /// The challenge from `/auth/challenge`, base64url.
    pub challenge: String,
    /// base64url Ed25519 signature over [`registration_statement`].
    pub signature: String,
    /// Gate proof.
    pub gate: GateProof,
}

/// `POST /api/v1/auth/login` body.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    /// The device (Ed25519 public key; base64url in JSON).
    pub device_id: DeviceId,
    /// The challenge, base64url.
    pub challenge: String,
    /// base64url Ed25519 signature over [`login_statement`].
    pub signature: String,
}

/// Registration and login response: an opaque bearer token.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The device (base64url in JSON).
    pub device_id: DeviceId,
    /// Opaque token for `Authorization: Bearer`.
    pub token: String,
    /// When the token starts being refused.
    pub expires_at_ms: UnixMs,
}

/// `GET /api/v1/devices/{id}/bundle` response.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleResponse {
    /// base64url of `PreKeyBundle::to_bytes()` (verify it with `PreKeyBundle::from_bytes`).
    pub bundle: String,
}

/// `PUT /api/v1/prekeys` and `GET /api/v1/prekeys/status` response.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreKeyStatus {
    /// One-time prekeys the relay still holds for the device.
    pub one_time_prekeys: u32,
    /// True when the device should upload more.
    pub refill: bool,
    /// Id of the signed prekey the relay hands out (0 from older relays):
    /// a device that rotated its keys re-uploads until this matches.
    #[serde(default)]
    pub signed_prekey_id: u32,
    /// Id of the ML-KEM prekey the relay hands out (0 from older relays).
    #[serde(default)]
    pub pq_prekey_id: u32,
}

/// base64url helpers re-exported for API users.
pub fn encode_b64(bytes: &[u8]) -> String {
    b64url::encode(bytes)
}

/// Decodes base64url, `None` if invalid.
pub fn decode_b64(s: &str) -> Option<Vec<u8>> {
    b64url::decode(s)
}
