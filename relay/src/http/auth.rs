//! Sessions: challenges, registration, login and logout (`/api/v1/auth/*`,
//! `POST /api/v1/devices`). A session is a random bearer token of which the
//! relay keeps only the hash.

use actix_web::{HttpResponse, web};
use parley_shared::crypto::codec;
use parley_shared::crypto::keys::IdentityPublic;
use parley_shared::crypto::primitives::sha256;
use parley_shared::protocol::auth::{
    CHALLENGE_LEN, Challenge, LoginRequest, RegisterRequest, Session, encode_b64, login_statement,
    registration_statement,
};
use parley_shared::protocol::ws::DeviceId;
use parley_shared::protocol::{ApiError, ErrorCode};

use super::AppState;
use super::bearer::Authed;
use super::erase::forget_device;
use super::fields::{b64_field, bad, corrupt, signature, unauthorized};
use super::gates::{GatePass, admit, check_email_code};
use super::prekeys::KEY_ENCODING;
use crate::clock::{now_ms, unix_ms};
use crate::db::{NewRegistration, RegisterError};
use crate::error::HttpError;
use crate::mailbox::Ended;

fn random32() -> Result<[u8; 32], HttpError> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|_| HttpError::new(ErrorCode::Internal, "no randomness"))?;
    Ok(b)
}

/// The relay's public origin: statements are signed over it, so a signature
/// made for one relay is refused by another.
fn origin(state: &AppState) -> String {
    state.config.public_url.origin().ascii_serialization()
}

async fn new_session(
    state: &AppState,
    device: DeviceId,
) -> Result<(Session, [u8; 32], i64), HttpError> {
    let token = encode_b64(&random32()?);
    let hash = sha256(&[token.as_bytes()]);
    let ttl = i64::try_from(state.config.token_ttl.as_millis()).unwrap_or(i64::MAX);
    let expires_at = now_ms().saturating_add(ttl);
    Ok((
        Session {
            device_id: device,
            token,
            expires_at_ms: unix_ms(expires_at),
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
        expires_at_ms: unix_ms(expires_at),
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
    let GatePass {
        replaces,
        invite_hash,
        email_code,
    } = admit(
        &state,
        &req.gate,
        previous.as_ref().map(|p| p.device),
        &identity,
    )
    .await?;
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

    let device = identity.device_id();
    let (session, token_hash, token_expires_at) = new_session(&state, device).await?;
    let spk = codec::encode(KEY_ENCODING, &req.keys.signed_prekey);
    let pq = codec::encode(KEY_ENCODING, &req.keys.pq_prekey);
    let otks = super::prekeys::one_time_rows(&req.keys.one_time_prekeys);
    let store = state.store.clone();
    let result = web::block(move || {
        store.register(&NewRegistration {
            device_id: device.as_bytes(),
            identity: &identity_bytes,
            signed_prekey: &spk,
            pq_prekey: &pq,
            one_time_prekeys: &otks,
            token_hash: &token_hash,
            token_expires_at,
            invite_hash: invite_hash.as_ref().map(<[u8; 32]>::as_slice),
            replaces: replaces.as_ref().map(|d| d.as_bytes().as_slice()),
            now: now_ms(),
        })
    })
    .await?;
    match result {
        Ok(blob_keys) => {
            if let Some(old) = replaces {
                forget_device(&state, old, blob_keys, Ended::Erased).await;
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

/// `POST /api/v1/auth/login`: challenge-response with the identity key.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = Session), (status = 401, body = ApiError)))]
pub async fn login(
    state: web::Data<AppState>,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, HttpError> {
    let req = body.into_inner();
    let device = req.device_id;
    let challenge = b64_field(&req.challenge, "challenge")?;
    let sig = signature(&req.signature)?;
    consume_challenge(&state, &challenge).await?;
    let store = state.store.clone();
    let keys = web::block(move || store.device_keys(device.as_bytes()))
        .await??
        .ok_or_else(|| unauthorized("unknown device"))?;
    let identity = IdentityPublic::from_bytes(&keys.identity).map_err(|_| corrupt())?;
    identity
        .verify(&[], &[&login_statement(&origin(&state), &challenge)], &sig)
        .map_err(|_| unauthorized("signature does not verify"))?;
    let (session, hash, expires_at) = new_session(&state, device).await?;
    let store = state.store.clone();
    if !web::block(move || store.insert_token(device.as_bytes(), &hash, now_ms(), expires_at))
        .await??
    {
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
    state.mailbox.hub.end_token(&who.device, &who.token_hash);
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
    let d = who.device;
    web::block(move || store.revoke_device_tokens(d.as_bytes())).await??;
    state.mailbox.hub.end_device(&who.device, Ended::Revoked);
    Ok(HttpResponse::NoContent().finish())
}
