//! Device registration, login and prekeys (`/api/v1/auth/*`, `/api/v1/devices*`,
//! `/api/v1/prekeys*`). Every handler that touches a device's data acts only
//! on the device its bearer token belongs to.

use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use futures_util::future::LocalBoxFuture;
use parley_shared::crypto::codec;
use parley_shared::crypto::keys::IdentityPublic;
use parley_shared::crypto::os_rng;
use parley_shared::crypto::primitives::{hmac, random_digits, sha256};
use parley_shared::protocol::auth::{
    CHALLENGE_LEN, Challenge, EMAIL_CODE_TTL_SECS, EmailCodeRequest, EmailCodeSent, GateProof,
    LoginRequest, RegisterRequest, RegistrationMode, RelayInfo, Session, decode_b64, encode_b64,
    login_statement, normalize_email, registration_statement,
};
use parley_shared::protocol::ws::DeviceId;
use parley_shared::protocol::{ApiError, ErrorCode};

use super::AppState;
use crate::blob::{BlobKey, BlobStore as _};
use crate::clock::now_ms;
use crate::config::RegistrationGate;
use crate::db::{NewRegistration, OtpCheck, OtpIssue, RegisterError};
use crate::error::HttpError;
use crate::mailbox::Ended;

/// Version byte of stored key encodings.
pub(super) const KEY_ENCODING: u8 = 1;

pub(super) fn bad(msg: &str) -> HttpError {
    HttpError::new(ErrorCode::BadRequest, msg)
}

pub(super) fn unauthorized(msg: &str) -> HttpError {
    HttpError::new(ErrorCode::Unauthorized, msg)
}

pub(super) fn b64_field(s: &str, what: &str) -> Result<Vec<u8>, HttpError> {
    decode_b64(s).ok_or_else(|| bad(&format!("{what} is not base64url")))
}

fn signature(s: &str) -> Result<[u8; 64], HttpError> {
    b64_field(s, "signature")?
        .try_into()
        .map_err(|_| bad("signature must be 64 bytes"))
}

/// Stored keys that no longer decode: a relay bug or tampered database.
pub(super) fn corrupt() -> HttpError {
    tracing::error!("stored device keys do not decode");
    HttpError::new(ErrorCode::Internal, "stored keys are invalid")
}

fn random32() -> Result<[u8; 32], HttpError> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|_| HttpError::new(ErrorCode::Internal, "no randomness"))?;
    Ok(b)
}

fn origin(state: &AppState) -> String {
    state.config.public_url.origin().ascii_serialization()
}

/// An authenticated device (from `Authorization: Bearer <token>`).
#[derive(Debug, Clone)]
pub struct Authed {
    /// The device the token belongs to.
    pub device: Vec<u8>,
    token_hash: [u8; 32],
}

impl FromRequest for Authed {
    type Error = HttpError;
    type Future = LocalBoxFuture<'static, Result<Self, HttpError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let token = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .map(str::to_owned);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let token = token.ok_or_else(|| unauthorized("missing bearer token"))?;
            let state = state.ok_or_else(|| HttpError::new(ErrorCode::Internal, "no state"))?;
            let token_hash = sha256(&[token.as_bytes()]);
            let store = state.store.clone();
            let device = web::block(move || store.device_for_token(&token_hash, now_ms()))
                .await??
                .ok_or_else(|| unauthorized("token unknown, expired or revoked"))?;
            // Per device as well as per IP: one device cannot exhaust the
            // relay from many addresses.
            if let Err(wait) = state.limits.per_device_api.take(&device) {
                metrics::counter!("parley_rate_limited_total", "scope" => "device_api")
                    .increment(1);
                return Err(HttpError::retry_after(
                    ErrorCode::RateLimited,
                    "too many requests from this device; slow down",
                    wait,
                ));
            }
            Ok(Self { device, token_hash })
        })
    }
}

async fn new_session(
    state: &AppState,
    device: &[u8],
) -> Result<(Session, [u8; 32], i64), HttpError> {
    let token = encode_b64(&random32()?);
    let hash = sha256(&[token.as_bytes()]);
    let ttl = i64::try_from(state.config.token_ttl.as_millis()).unwrap_or(i64::MAX);
    let expires_at = now_ms().saturating_add(ttl);
    Ok((
        Session {
            device_id: encode_b64(device),
            token,
            expires_at: u64::try_from(expires_at / 1000).unwrap_or(0),
        },
        hash,
        expires_at,
    ))
}

async fn consume_challenge(state: &AppState, challenge: &[u8]) -> Result<(), HttpError> {
    let store = state.store.clone();
    let c = challenge.to_vec();
    if web::block(move || store.consume_challenge(&c, now_ms())).await?? {
        Ok(())
    } else {
        Err(unauthorized("challenge unknown, already used or expired"))
    }
}

/// `GET /api/v1/info`: the registration gate, so the app asks for what it needs.
#[utoipa::path(get, path = "/api/v1/info", tag = "auth",
    responses((status = 200, description = "Relay facts for clients", body = RelayInfo)))]
pub async fn info(state: web::Data<AppState>) -> HttpResponse {
    let registration = match state.config.registration {
        RegistrationGate::Open => RegistrationMode::Open,
        RegistrationGate::Invite => RegistrationMode::Invite,
        RegistrationGate::EmailOtp => RegistrationMode::EmailOtp,
    };
    HttpResponse::Ok().json(RelayInfo {
        registration,
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}

/// `POST /api/v1/auth/challenge`.
#[utoipa::path(post, path = "/api/v1/auth/challenge", tag = "auth",
    responses((status = 200, description = "A single-use challenge", body = Challenge), (status = 429, body = ApiError)))]
pub async fn challenge(state: web::Data<AppState>) -> Result<HttpResponse, HttpError> {
    let c = random32()?;
    debug_assert_eq!(c.len(), CHALLENGE_LEN);
    let ttl = i64::try_from(state.config.challenge_ttl.as_millis()).unwrap_or(60_000);
    let expires_at = now_ms() + ttl;
    let store = state.store.clone();
    web::block(move || store.create_challenge(&c, expires_at)).await??;
    Ok(HttpResponse::Ok().json(Challenge {
        challenge: encode_b64(&c),
        expires_at: u64::try_from(expires_at / 1000).unwrap_or(0),
    }))
}

/// `POST /api/v1/devices`: proves possession of the identity key and
/// publishes the device's keys.
#[utoipa::path(post, path = "/api/v1/devices", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, description = "Registered; first session token", body = Session),
        (status = 400, body = ApiError), (status = 401, description = "Challenge or signature invalid", body = ApiError),
        (status = 403, description = "Gate refused", body = ApiError), (status = 409, body = ApiError)))]
pub async fn register(
    state: web::Data<AppState>,
    previous: Option<Authed>,
    body: web::Json<RegisterRequest>,
) -> Result<HttpResponse, HttpError> {
    let req = body.into_inner();
    let identity_bytes = b64_field(&req.identity, "identity")?;
    let identity =
        IdentityPublic::from_bytes(&identity_bytes).map_err(|_| bad("identity is invalid"))?;
    req.keys
        .verify(&identity)
        .map_err(|_| bad("prekey signatures do not verify against the identity"))?;
    // A device resetting its keys registers its successor with its own
    // session and a signature of its old key over the new identity: it
    // already passed the gate once, and it is erased once replaced.
    let replaces = match (&req.gate, &previous) {
        (GateProof::Successor { signature: sig }, Some(prev)) => {
            check_successor(&state, &prev.device, &identity, sig).await?;
            Some(prev.device.clone())
        }
        (GateProof::Successor { .. }, None) => {
            return Err(HttpError::new(
                ErrorCode::Forbidden,
                "a successor registration needs the previous device's session token",
            ));
        }
        _ => None,
    };
    let invite_hash = match (state.config.registration, &req.gate) {
        (_, GateProof::Successor { .. }) => None,
        (RegistrationGate::Open | RegistrationGate::EmailOtp, _) => None,
        (RegistrationGate::Invite, GateProof::Invite { code }) => {
            Some(sha256(&[code.trim().as_bytes()]))
        }
        (RegistrationGate::Invite, _) => {
            return Err(HttpError::new(
                ErrorCode::Forbidden,
                "this relay requires an invite code",
            ));
        }
    };
    let email_code = match (state.config.registration, &req.gate) {
        (_, GateProof::Successor { .. }) => None,
        (RegistrationGate::EmailOtp, GateProof::EmailOtp { email, code }) => {
            Some((email.clone(), code.clone()))
        }
        (RegistrationGate::EmailOtp, _) => {
            return Err(HttpError::new(
                ErrorCode::Forbidden,
                "this relay requires an emailed registration code",
            ));
        }
        _ => None,
    };
    let challenge = b64_field(&req.challenge, "challenge")?;
    let sig = signature(&req.signature)?;
    consume_challenge(&state, &challenge).await?;
    identity
        .verify(
            &[],
            &[&registration_statement(
                &origin(&state),
                &challenge,
                &req.keys,
            )],
            &sig,
        )
        .map_err(|_| unauthorized("signature does not verify"))?;
    if let Some((email, code)) = email_code {
        check_email_code(&state, &email, &code).await?;
    }

    let device = identity.device_id().to_vec();
    let (session, token_hash, token_expires_at) = new_session(&state, &device).await?;
    let spk = codec::encode(KEY_ENCODING, &req.keys.signed_prekey);
    let pq = codec::encode(KEY_ENCODING, &req.keys.pq_prekey);
    let otks = super::prekeys::one_time_rows(&req.keys.one_time_prekeys);
    let store = state.store.clone();
    let old = replaces.clone();
    let result = web::block(move || {
        store.register(&NewRegistration {
            device_id: &device,
            identity: &identity_bytes,
            signed_prekey: &spk,
            pq_prekey: &pq,
            one_time_prekeys: &otks,
            token_hash: &token_hash,
            token_expires_at,
            invite_hash: invite_hash.as_ref().map(<[u8; 32]>::as_slice),
            replaces: old.as_deref(),
            now: now_ms(),
        })
    })
    .await?;
    match result {
        Ok(blob_keys) => {
            if let Some(old) = replaces {
                forget_device(&state, &old, blob_keys).await;
            }
            Ok(HttpResponse::Created().json(session))
        }
        Err(RegisterError::AlreadyReplaced) => Err(HttpError::new(
            ErrorCode::Conflict,
            "this device was already replaced by another registration",
        )),
        Err(RegisterError::InvalidInvite) => Err(HttpError::new(
            ErrorCode::Forbidden,
            "invite code is invalid, expired or already used",
        )),
        Err(RegisterError::IdentityConflict) => Err(HttpError::new(
            ErrorCode::Conflict,
            "this device id is registered with other identity keys",
        )),
        Err(RegisterError::Store(e)) => Err(e.into()),
    }
}

fn email_hashes(state: &AppState, email: &str, code: &str) -> ([u8; 32], [u8; 32]) {
    let email_hash = hmac(state.email_key.as_ref(), &[b"email", email.as_bytes()]);
    let code_hash = hmac(
        state.email_key.as_ref(),
        &[b"code", &email_hash, code.trim().as_bytes()],
    );
    (email_hash, code_hash)
}

async fn check_email_code(state: &AppState, email: &str, code: &str) -> Result<(), HttpError> {
    let email = normalize_email(email).ok_or_else(|| bad("not an email address"))?;
    let (email_hash, code_hash) = email_hashes(state, &email, code);
    let store = state.store.clone();
    match web::block(move || store.check_email_otp(&email_hash, &code_hash, now_ms())).await?? {
        OtpCheck::Valid => Ok(()),
        OtpCheck::Wrong => Err(HttpError::new(
            ErrorCode::Forbidden,
            "wrong registration code",
        )),
        OtpCheck::Unavailable => Err(HttpError::new(
            ErrorCode::Forbidden,
            "no valid code for this address (expired, used or too many attempts); request a new one",
        )),
    }
}

/// `POST /api/v1/registration/email`: mails a 6-digit registration code.
#[utoipa::path(post, path = "/api/v1/registration/email", tag = "auth", request_body = EmailCodeRequest,
    responses((status = 202, body = EmailCodeSent), (status = 400, body = ApiError),
        (status = 404, description = "This relay does not use email codes", body = ApiError),
        (status = 429, description = "Too many codes for this mail address, or from this client", body = ApiError),
        (status = 503, description = "The mail could not be sent", body = ApiError)))]
pub async fn request_email_code(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<EmailCodeRequest>,
) -> Result<HttpResponse, HttpError> {
    if state.config.registration != RegistrationGate::EmailOtp {
        return Err(HttpError::new(
            ErrorCode::NotFound,
            "this relay does not use email codes",
        ));
    }
    let email = normalize_email(&body.email).ok_or_else(|| bad("not an email address"))?;
    // Per address as well as per mailbox: one client must not turn the
    // relay into a mailer for hundreds of strangers' inboxes.
    if !state
        .limits
        .email_codes_per_ip
        .check(&super::limit_key_of(&req, &state))
    {
        return Err(HttpError::new(
            ErrorCode::RateLimited,
            "too many codes requested from this address; try again later",
        ));
    }
    let digits = random_digits::<6, _>(&mut os_rng());
    let code = String::from_utf8_lossy(digits.expose()).into_owned();
    let (email_hash, code_hash) = email_hashes(&state, &email, &code);
    let now = now_ms();
    let expires_at = now + i64::try_from(EMAIL_CODE_TTL_SECS * 1000).unwrap_or(600_000);
    let store = state.store.clone();
    match web::block(move || store.issue_email_otp(&email_hash, &code_hash, now, expires_at))
        .await??
    {
        OtpIssue::RateLimited { retry_at } => Err(HttpError::retry_after(
            ErrorCode::RateLimited,
            "a code was sent to this address recently; wait a minute (at most 5 per hour)",
            std::time::Duration::from_millis(u64::try_from(retry_at - now).unwrap_or(0)),
        )),
        OtpIssue::Issued => {
            state.mailer.send_code(&email, &code).await.map_err(|e| {
                tracing::warn!(err = %e, "registration mail failed");
                HttpError::new(
                    ErrorCode::Unavailable,
                    "the code could not be sent; try again later",
                )
            })?;
            Ok(HttpResponse::Accepted().json(EmailCodeSent {
                expires_at: u64::try_from(expires_at / 1000).unwrap_or(0),
            }))
        }
    }
}

/// `POST /api/v1/auth/login`: challenge-response with the identity key.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = Session), (status = 401, body = ApiError)))]
pub async fn login(
    state: web::Data<AppState>,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, HttpError> {
    let req = body.into_inner();
    let device = b64_field(&req.device_id, "device_id")?;
    let challenge = b64_field(&req.challenge, "challenge")?;
    let sig = signature(&req.signature)?;
    consume_challenge(&state, &challenge).await?;
    let store = state.store.clone();
    let d = device.clone();
    let keys = web::block(move || store.device_keys(&d))
        .await??
        .ok_or_else(|| unauthorized("unknown device"))?;
    let identity = IdentityPublic::from_bytes(&keys.identity).map_err(|_| corrupt())?;
    identity
        .verify(&[], &[&login_statement(&origin(&state), &challenge)], &sig)
        .map_err(|_| unauthorized("signature does not verify"))?;
    let (session, hash, expires_at) = new_session(&state, &device).await?;
    let store = state.store.clone();
    if !web::block(move || store.insert_token(&device, &hash, now_ms(), expires_at)).await?? {
        return Err(unauthorized("unknown device"));
    }
    Ok(HttpResponse::Ok().json(session))
}

/// `DELETE /api/v1/auth/session`: revokes the presented token and closes the
/// WebSockets it opened.
#[utoipa::path(delete, path = "/api/v1/auth/session", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "Token revoked, its WebSockets closed"), (status = 401, body = ApiError)))]
pub async fn logout(state: web::Data<AppState>, who: Authed) -> Result<HttpResponse, HttpError> {
    let store = state.store.clone();
    let hash = who.token_hash;
    web::block(move || store.revoke_token(&hash)).await??;
    // After the row is gone: a socket authenticating meanwhile re-checks it.
    if let Ok(device) = DeviceId::try_from(who.device.as_slice()) {
        state.mailbox.hub.end_token(&device, &who.token_hash);
    }
    Ok(HttpResponse::NoContent().finish())
}

/// `DELETE /api/v1/auth/sessions`: log out everywhere. Revokes every token of
/// the caller's device, the presented one included, and closes all its
/// WebSockets; the device and its mailbox stay.
#[utoipa::path(delete, path = "/api/v1/auth/sessions", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "Every token of the device revoked, its WebSockets closed"), (status = 401, body = ApiError)))]
pub async fn logout_everywhere(
    state: web::Data<AppState>,
    who: Authed,
) -> Result<HttpResponse, HttpError> {
    let store = state.store.clone();
    let d = who.device.clone();
    web::block(move || store.revoke_device_tokens(&d)).await??;
    if let Ok(device) = DeviceId::try_from(who.device.as_slice()) {
        state.mailbox.hub.end_device(&device, Ended::Revoked);
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Checks that `old`'s identity key signed `new` as its successor.
async fn check_successor(
    state: &AppState,
    old: &[u8],
    new: &IdentityPublic,
    sig: &str,
) -> Result<(), HttpError> {
    let sig = signature(sig)?;
    let store = state.store.clone();
    let d = old.to_vec();
    let keys = web::block(move || store.device_keys(&d))
        .await??
        .ok_or_else(|| unauthorized("the previous device has no keys"))?;
    let old_identity = IdentityPublic::from_bytes(&keys.identity).map_err(|_| corrupt())?;
    old_identity
        .verify(
            parley_shared::protocol::auth::CTX_SUCCESSOR,
            &[&parley_shared::protocol::auth::successor_statement(new)],
            &sig,
        )
        .map_err(|_| unauthorized("the previous identity did not sign this successor"))
}

/// Erases a device: rows first (tokens included), then its WebSockets, then
/// its blob objects.
async fn erase_device(state: &AppState, device: Vec<u8>) -> Result<(), HttpError> {
    let store = state.store.clone();
    let d = device.clone();
    let blob_keys = web::block(move || store.delete_device(&d)).await??;
    forget_device(state, &device, blob_keys).await;
    Ok(())
}

/// After a device's rows are gone: closes its sockets and deletes its objects.
async fn forget_device(state: &AppState, device: &[u8], blob_keys: Vec<String>) {
    if let Ok(device) = DeviceId::try_from(device) {
        state.mailbox.hub.end_device(&device, Ended::Erased);
    }
    for key in blob_keys {
        if let Ok(k) = BlobKey::parse(&key) {
            // The rows are gone; an object left behind is unreachable, and
            // the sweeper's orphan pass removes it, so failures are only logged.
            if let Err(e) = state.blobs.delete(&k).await {
                tracing::warn!(err = %e, "erase: blob delete failed");
            }
        }
    }
}

/// `DELETE /api/v1/devices/me`: erases everything the relay holds for the
/// device and closes its WebSockets.
#[utoipa::path(delete, path = "/api/v1/devices/me", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "Everything the relay held for the device is erased, its WebSockets closed"), (status = 401, body = ApiError)))]
pub async fn erase_me(state: web::Data<AppState>, who: Authed) -> Result<HttpResponse, HttpError> {
    erase_device(&state, who.device).await?;
    Ok(HttpResponse::NoContent().finish())
}
