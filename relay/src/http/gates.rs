//! Registration gates: what the relay asks of a new device (nothing, an
//! invite code, a mailed code, or its predecessor's signature), and the
//! mailed codes themselves.

use actix_web::{HttpRequest, HttpResponse, web};
use parley_shared::crypto::keys::IdentityPublic;
use parley_shared::crypto::os_rng;
use parley_shared::crypto::primitives::{hmac, random_digits, sha256};
use parley_shared::protocol::auth::{
    CTX_SUCCESSOR, EMAIL_CODE_TTL, EmailCodeRequest, EmailCodeSent, GateProof, RegistrationMode,
    RelayInfo, normalize_email, successor_statement,
};
use parley_shared::protocol::{ApiError, DeviceId, ErrorCode};

use super::AppState;
use super::fields::{bad, corrupt, signature, unauthorized};
use crate::clock::{millis_i64, now_ms, unix_ms};
use crate::config::RegistrationGate;
use crate::db::{OtpCheck, OtpIssue};
use crate::error::HttpError;

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

/// What a registration's gate proof let through; checked before anything is
/// stored, except the mailed code (checked after the signature, since
/// checking it spends an attempt).
#[derive(Debug, Default)]
pub(super) struct GatePass {
    /// The device this one replaces (a successor registration).
    pub(super) replaces: Option<DeviceId>,
    /// Hash of the invite code to consume with the registration.
    pub(super) invite_hash: Option<[u8; 32]>,
    /// Mail address and code still to check.
    pub(super) email_code: Option<(String, String)>,
}

/// Checks the gate proof against the relay's gate. `previous` is the device
/// whose session the request carried, if any.
pub(super) async fn admit(
    state: &AppState,
    gate: &GateProof,
    previous: Option<DeviceId>,
    identity: &IdentityPublic,
) -> Result<GatePass, HttpError> {
    // A device resetting its keys registers its successor with its own
    // session and a signature of its old key over the new identity: it
    // already passed the gate once, and it is erased once replaced.
    if let GateProof::Successor { signature: sig } = gate {
        let Some(prev) = previous else {
            return Err(HttpError::new(
                ErrorCode::Forbidden,
                "a successor registration needs the previous device's session token",
            ));
        };
        check_successor(state, prev, identity, sig).await?;
        return Ok(GatePass {
            replaces: Some(prev),
            ..GatePass::default()
        });
    }
    match (state.config.registration, gate) {
        (RegistrationGate::Open, _) => Ok(GatePass::default()),
        (RegistrationGate::Invite, GateProof::Invite { code }) => Ok(GatePass {
            invite_hash: Some(sha256(&[code.trim().as_bytes()])),
            ..GatePass::default()
        }),
        (RegistrationGate::Invite, _) => Err(HttpError::new(
            ErrorCode::Forbidden,
            "this relay requires an invite code",
        )),
        (RegistrationGate::EmailOtp, GateProof::EmailOtp { email, code }) => Ok(GatePass {
            email_code: Some((email.clone(), code.clone())),
            ..GatePass::default()
        }),
        (RegistrationGate::EmailOtp, _) => Err(HttpError::new(
            ErrorCode::Forbidden,
            "this relay requires an emailed registration code",
        )),
    }
}

/// Checks that `old`'s identity key signed `new` as its successor.
async fn check_successor(
    state: &AppState,
    old: DeviceId,
    new: &IdentityPublic,
    sig: &str,
) -> Result<(), HttpError> {
    let sig = signature(sig)?;
    let store = state.store.clone();
    let keys = web::block(move || store.device_keys(old.as_bytes()))
        .await??
        .ok_or_else(|| unauthorized("the previous device has no keys"))?;
    let old_identity = IdentityPublic::from_bytes(&keys.identity).map_err(|_| corrupt())?;
    old_identity
        .verify(CTX_SUCCESSOR, &[&successor_statement(new)], &sig)
        .map_err(|_| unauthorized("the previous identity did not sign this successor"))
}

fn email_hashes(state: &AppState, email: &str, code: &str) -> ([u8; 32], [u8; 32]) {
    let email_hash = hmac(state.email_key.as_ref(), &[b"email", email.as_bytes()]);
    let code_hash = hmac(
        state.email_key.as_ref(),
        &[b"code", &email_hash, code.trim().as_bytes()],
    );
    (email_hash, code_hash)
}

pub(super) async fn check_email_code(
    state: &AppState,
    email: &str,
    code: &str,
) -> Result<(), HttpError> {
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
    // relay into a mailer for hundreds of strangers' inboxes. With several
    // relay nodes counted in Redis, else (or while it is down) per node.
    let client = super::limit_key_of(&req, &state);
    let allowed = match state
        .shared_limits
        .take(
            "email:address",
            client.to_string().as_bytes(),
            super::EMAIL_CODES_PER_IP_PER_HOUR,
            std::time::Duration::from_secs(3600),
        )
        .await
    {
        Some(allowed) => allowed,
        None => state.limits.email_codes_per_ip.check(&client),
    };
    if !allowed {
        return Err(HttpError::new(
            ErrorCode::RateLimited,
            "too many codes requested from this address; try again later",
        ));
    }
    let digits = random_digits::<6, _>(&mut os_rng());
    let code = String::from_utf8_lossy(digits.expose()).into_owned();
    let (email_hash, code_hash) = email_hashes(&state, &email, &code);
    let now = now_ms();
    let expires_at = now.saturating_add(millis_i64(EMAIL_CODE_TTL));
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
                expires_at_ms: unix_ms(expires_at),
            }))
        }
    }
}
