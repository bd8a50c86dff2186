//! `/api/v1/rendezvous*`: pairing slots. Every call needs a device token; the
//! relay only stores and hands over opaque messages, and enforces who may
//! read and write which message (see `parley_shared::protocol::rendezvous`),
//! how many open slots a device owns, how fast PIN numbers can be probed and
//! handed out, and how many failed replies a slot survives (ADR 0010).

use actix_web::{HttpRequest, HttpResponse, web};
use parley_shared::protocol::auth::{decode_b64, encode_b64};
use parley_shared::protocol::rendezvous::{
    CreateRendezvous, DEFAULT_TTL, MAX_ATTEMPTS, MAX_MESSAGE, MAX_OPEN_SLOTS, Message,
    PIN_LOOKUPS_PER_MINUTE, PIN_SLOTS, Rejected, Rendezvous,
};
use parley_shared::protocol::{ApiError, ErrorCode};
use parley_shared::time::Millis;

use super::bearer::Authed;
use super::{AppState, limit_key_of};
use crate::clock::{millis_i64, now_ms, unix_ms};
use crate::db::{
    NewSlot, PinAssigned, RendezvousCreated, RendezvousGet, RendezvousPut, RendezvousRejection,
};
use crate::error::HttpError;

fn slot_id(s: &str) -> Result<Vec<u8>, HttpError> {
    decode_b64(s)
        .filter(|v| v.len() == 16)
        .ok_or_else(|| HttpError::new(ErrorCode::BadRequest, "slot id must be 16 bytes, base64url"))
}

fn message(s: &str) -> Result<Message, HttpError> {
    Message::parse(s)
        .ok_or_else(|| HttpError::new(ErrorCode::NotFound, "messages are a1, a2 and b"))
}

fn not_found() -> HttpError {
    HttpError::new(
        ErrorCode::NotFound,
        "no such pairing slot (expired, used or never existed)",
    )
}

/// Capacity, not a fault: say so, and when to come back (numbers free up as
/// invites complete or expire; a few seconds is a fair polling hint).
fn no_free_pin() -> HttpError {
    HttpError::retry_after(
        ErrorCode::Unavailable,
        "no PIN slot is free; try again shortly, or pair with the QR code or link",
        std::time::Duration::from_secs(10),
    )
}

fn rate_limited(scope: &'static str, message: &'static str) -> HttpError {
    metrics::counter!("parley_rate_limited_total", "scope" => scope).increment(1);
    HttpError::new(ErrorCode::RateLimited, message)
}

/// Takes a PIN number token for the request's network; every PIN number
/// handed out costs one.
fn allow_pin_allocation(req: &HttpRequest, state: &AppState) -> Result<(), HttpError> {
    if state
        .limits
        .pin_allocations_per_network
        .check(&limit_key_of(req, state))
    {
        Ok(())
    } else {
        Err(rate_limited(
            "pin_allocation",
            "too many PIN invites from this network; use the QR code or link, or wait a few minutes",
        ))
    }
}

fn random_u16() -> u16 {
    let mut b = [0u8; 2];
    let _ = getrandom::fill(&mut b);
    u16::from_be_bytes(b)
}

/// `POST /api/v1/rendezvous`: a new slot owned by the caller.
#[utoipa::path(post, path = "/api/v1/rendezvous", tag = "pairing", security(("bearer" = [])), request_body = CreateRendezvous,
    responses((status = 201, body = Rendezvous), (status = 401, body = ApiError),
        (status = 429, description = "`quota_exceeded`: the device already has 3 open slots; `rate_limited`: too many PIN numbers for this network", body = ApiError)))]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed,
    body: web::Json<CreateRendezvous>,
) -> Result<HttpResponse, HttpError> {
    if body.pin {
        allow_pin_allocation(&req, &state)?;
    }
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(|_| HttpError::new(ErrorCode::Internal, "no randomness"))?;
    let ttl = body
        .ttl_ms
        .unwrap_or(DEFAULT_TTL)
        .clamp(Millis::from_secs(1), DEFAULT_TTL);
    let now = now_ms();
    let expires_at = now.saturating_add(millis_i64(ttl));
    let store = state.store.clone();
    let pin = body.pin;
    let created = web::block(move || {
        let slot = NewSlot {
            id: &id,
            owner: who.device.as_bytes(),
            pin,
            now,
            expires_at,
        };
        store.create_rendezvous(&slot, MAX_OPEN_SLOTS, random_u16)
    })
    .await??;
    let pin_slot = match created {
        RendezvousCreated::Slot(n) => n,
        RendezvousCreated::TooMany => {
            metrics::counter!("parley_rate_limited_total", "scope" => "open_slots").increment(1);
            return Err(HttpError::new(
                ErrorCode::QuotaExceeded,
                format!(
                    "this device already has {MAX_OPEN_SLOTS} open invites; close them or wait for them to expire"
                ),
            ));
        }
        RendezvousCreated::NoFreePin => return Err(no_free_pin()),
    };
    Ok(HttpResponse::Created().json(Rendezvous {
        id: encode_b64(&id),
        pin_slot,
        expires_at_ms: unix_ms(expires_at),
    }))
}

/// `POST /api/v1/rendezvous/{id}/pin`: gives the caller's open slot a PIN number.
#[utoipa::path(post, path = "/api/v1/rendezvous/{id}/pin", tag = "pairing", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Rendezvous), (status = 404, body = ApiError), (status = 429, body = ApiError)))]
pub async fn add_pin(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed,
    path: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let id = slot_id(&path)?;
    allow_pin_allocation(&req, &state)?;
    let store = state.store.clone();
    let key = id.clone();
    match web::block(move || store.assign_pin(&key, who.device.as_bytes(), now_ms(), random_u16))
        .await??
    {
        PinAssigned::Number(n, expires_at) => Ok(HttpResponse::Ok().json(Rendezvous {
            id: encode_b64(&id),
            pin_slot: Some(n),
            expires_at_ms: unix_ms(expires_at),
        })),
        PinAssigned::NotFound => Err(not_found()),
        PinAssigned::NoFree => Err(no_free_pin()),
    }
}

/// `GET /api/v1/rendezvous/pin/{slot}`: the slot behind a PIN code's first digits.
#[utoipa::path(get, path = "/api/v1/rendezvous/pin/{slot}", tag = "pairing", security(("bearer" = [])),
    params(("slot" = u16, Path, description = "The NNNN of a NNNN-NNNNNN code")),
    responses((status = 200, body = Rendezvous), (status = 404, body = ApiError),
        (status = 429, description = "More than 5 lookups a minute from this device or network", body = ApiError)))]
pub async fn by_pin(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed,
    path: web::Path<u16>,
) -> Result<HttpResponse, HttpError> {
    // Counted before anything is looked at: a miss is as much a probe as a hit.
    if !pin_lookup_allowed(&req, &state, &who).await {
        return Err(rate_limited(
            "pin_lookup",
            "too many pairing codes tried; wait a minute and try again",
        ));
    }
    let slot = path.into_inner();
    if slot >= PIN_SLOTS {
        return Err(not_found());
    }
    let store = state.store.clone();
    let (id, expires_at) = web::block(move || store.rendezvous_by_pin(slot, now_ms()))
        .await??
        .ok_or_else(not_found)?;
    Ok(HttpResponse::Ok().json(Rendezvous {
        id: encode_b64(&id),
        pin_slot: Some(slot),
        expires_at_ms: unix_ms(expires_at),
    }))
}

/// Whether this PIN lookup is within the limits, per device and per client
/// network. With several relay nodes they are counted in Redis, so probing
/// through every node gets no more tries than through one; without Redis
/// (or while it is unreachable) each node counts its own.
const MINUTE: std::time::Duration = std::time::Duration::from_secs(60);

async fn pin_lookup_allowed(req: &HttpRequest, state: &AppState, who: &Authed) -> bool {
    let network = limit_key_of(req, state);
    let shared = &state.shared_limits;
    let device = match shared
        .take(
            "pin:device",
            who.device.as_bytes(),
            PIN_LOOKUPS_PER_MINUTE,
            MINUTE,
        )
        .await
    {
        Some(allowed) => allowed,
        None => state.limits.pin_lookups_per_device.check(&who.device),
    };
    if !device {
        return false;
    }
    let net = network.to_string();
    match shared
        .take(
            "pin:network",
            net.as_bytes(),
            PIN_LOOKUPS_PER_MINUTE,
            MINUTE,
        )
        .await
    {
        Some(allowed) => allowed,
        None => state.limits.pin_lookups_per_network.check(&network),
    }
}

/// `POST /api/v1/rendezvous/{id}/reject`: the owner drops the reply waiting
/// in the slot (it failed its check); the body, if any, replaces `a1`.
#[utoipa::path(post, path = "/api/v1/rendezvous/{id}/reject", tag = "pairing", security(("bearer" = [])), params(("id" = String, Path)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The new a1 (PIN: a fresh SPAKE2 message), or empty"),
    responses((status = 200, body = Rejected), (status = 404, body = ApiError),
        (status = 409, description = "No reply is waiting", body = ApiError)))]
pub async fn reject(
    state: web::Data<AppState>,
    who: Authed,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, HttpError> {
    let id = slot_id(&path)?;
    if body.len() > MAX_MESSAGE {
        return Err(HttpError::new(
            ErrorCode::TooLarge,
            "pairing messages are at most 16 KiB",
        ));
    }
    let store = state.store.clone();
    let outcome = web::block(move || {
        let next_a1 = (!body.is_empty()).then_some(&body[..]);
        store.reject_claim(&id, who.device.as_bytes(), next_a1, now_ms(), MAX_ATTEMPTS)
    })
    .await??;
    let attempts_left = match outcome {
        RendezvousRejection::Open(n) => n,
        RendezvousRejection::Closed => 0,
        RendezvousRejection::NotFound => return Err(not_found()),
        RendezvousRejection::NoClaim => {
            return Err(HttpError::new(
                ErrorCode::Conflict,
                "no reply is waiting in this slot",
            ));
        }
    };
    Ok(HttpResponse::Ok().json(Rejected { attempts_left }))
}

/// `PUT /api/v1/rendezvous/{id}/{msg}`: writes an opaque message (write-once).
#[utoipa::path(put, path = "/api/v1/rendezvous/{id}/{msg}", tag = "pairing", security(("bearer" = [])),
    params(("id" = String, Path), ("msg" = String, Path, description = "a1 or a2 (owner), b (claims the slot)")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 204, description = "Stored"), (status = 403, body = ApiError), (status = 404, body = ApiError),
        (status = 409, description = "Already written, or another device's reply is being checked", body = ApiError)))]
pub async fn put(
    state: web::Data<AppState>,
    who: Authed,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, HttpError> {
    let (id, msg) = path.into_inner();
    let (id, msg) = (slot_id(&id)?, message(&msg)?);
    if body.is_empty() || body.len() > MAX_MESSAGE {
        return Err(HttpError::new(
            ErrorCode::TooLarge,
            "pairing messages are 1 byte to 16 KiB",
        ));
    }
    let store = state.store.clone();
    let outcome =
        web::block(move || store.rendezvous_put(&id, who.device.as_bytes(), msg, &body, now_ms()))
            .await??;
    match outcome {
        RendezvousPut::Written => Ok(HttpResponse::NoContent().finish()),
        RendezvousPut::NotFound => Err(not_found()),
        RendezvousPut::Forbidden => Err(HttpError::new(
            ErrorCode::Forbidden,
            "this device may not write that message",
        )),
        RendezvousPut::AlreadyWritten => Err(HttpError::new(
            ErrorCode::Conflict,
            "message already written",
        )),
        RendezvousPut::AlreadyClaimed => Err(HttpError::new(
            ErrorCode::Conflict,
            "another device's reply is being checked; try again in a moment",
        )),
    }
}

/// `GET /api/v1/rendezvous/{id}/{msg}`: 200 with the bytes, 204 if not written yet.
#[utoipa::path(get, path = "/api/v1/rendezvous/{id}/{msg}", tag = "pairing", security(("bearer" = [])),
    params(("id" = String, Path), ("msg" = String, Path, description = "a1 (anyone), a2 (claimant), b (owner)")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 204, description = "Not written yet"),
        (status = 403, body = ApiError), (status = 404, body = ApiError)))]
pub async fn get(
    state: web::Data<AppState>,
    who: Authed,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, HttpError> {
    let (id, msg) = path.into_inner();
    let (id, msg) = (slot_id(&id)?, message(&msg)?);
    let store = state.store.clone();
    match web::block(move || store.rendezvous_get(&id, who.device.as_bytes(), msg, now_ms()))
        .await??
    {
        RendezvousGet::Found(bytes) => Ok(HttpResponse::Ok()
            .content_type("application/octet-stream")
            .body(bytes)),
        RendezvousGet::Empty => Ok(HttpResponse::NoContent().finish()),
        RendezvousGet::NotFound => Err(not_found()),
        RendezvousGet::Forbidden => Err(HttpError::new(
            ErrorCode::Forbidden,
            "this device may not read that message",
        )),
    }
}

/// `DELETE /api/v1/rendezvous/{id}`: the owner ends a slot early.
#[utoipa::path(delete, path = "/api/v1/rendezvous/{id}", tag = "pairing", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ApiError)))]
pub async fn delete(
    state: web::Data<AppState>,
    who: Authed,
    path: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let id = slot_id(&path)?;
    let store = state.store.clone();
    if web::block(move || store.delete_rendezvous(&id, who.device.as_bytes())).await?? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(not_found())
    }
}

/// `DELETE /api/v1/rendezvous`: ends every slot of the caller (invites left
/// open in other tabs or by a closed page), e.g. after `quota_exceeded`.
#[utoipa::path(delete, path = "/api/v1/rendezvous", tag = "pairing", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ApiError)))]
pub async fn delete_all(
    state: web::Data<AppState>,
    who: Authed,
) -> Result<HttpResponse, HttpError> {
    let store = state.store.clone();
    web::block(move || store.delete_owner_rendezvous(who.device.as_bytes())).await??;
    Ok(HttpResponse::NoContent().finish())
}
