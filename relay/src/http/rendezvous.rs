//! `/api/v1/rendezvous*`: pairing slots. Every call needs a device token; the
//! relay only stores and hands over opaque messages, and enforces who may
//! read and write which message (see `parley_shared::protocol::rendezvous`).

use actix_web::{HttpResponse, web};
use parley_shared::protocol::auth::{decode_b64, encode_b64};
use parley_shared::protocol::rendezvous::{
    CreateRendezvous, DEFAULT_TTL_SECS, MAX_MESSAGE, Message, PIN_SLOTS, Rendezvous,
};
use parley_shared::protocol::{ApiError, ErrorCode};

use super::AppState;
use super::auth::Authed;
use crate::db::{RendezvousCreated, RendezvousGet, RendezvousPut};
use crate::error::HttpError;
use crate::sweeper::now_ms;

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
        "no such pairing slot (expired or never existed)",
    )
}

fn random_u16() -> u16 {
    let mut b = [0u8; 2];
    let _ = getrandom::fill(&mut b);
    u16::from_be_bytes(b)
}

/// `POST /api/v1/rendezvous`: a new slot owned by the caller.
#[utoipa::path(post, path = "/api/v1/rendezvous", tag = "pairing", security(("bearer" = [])), request_body = CreateRendezvous,
    responses((status = 201, body = Rendezvous), (status = 401, body = ApiError),
        (status = 503, description = "No PIN slot is free (`Retry-After` until the first expires), or storage unavailable", body = ApiError)))]
pub async fn create(
    state: web::Data<AppState>,
    who: Authed,
    body: web::Json<CreateRendezvous>,
) -> Result<HttpResponse, HttpError> {
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(|_| HttpError::new(ErrorCode::Internal, "no randomness"))?;
    let ttl = body
        .ttl_secs
        .unwrap_or(DEFAULT_TTL_SECS)
        .clamp(1, DEFAULT_TTL_SECS);
    let now = now_ms();
    let expires_at = now + i64::from(ttl) * 1000;
    let store = state.store.clone();
    let pin = body.pin;
    let slot = match web::block(move || {
        store.create_rendezvous(&id, &who.device, pin, now, expires_at, random_u16)
    })
    .await??
    {
        RendezvousCreated::Slot(slot) => slot,
        RendezvousCreated::NoFreePin { next_free_at } => {
            // Capacity, not a fault: say so, and when the first number frees up.
            let wait = u64::try_from(next_free_at - now_ms()).unwrap_or(0);
            return Err(HttpError::retry_after(
                ErrorCode::Unavailable,
                format!(
                    "no PIN slot is free: all {PIN_SLOTS} are in use; try again later, or pair with the QR code or link"
                ),
                std::time::Duration::from_millis(wait),
            ));
        }
    };
    Ok(HttpResponse::Created().json(Rendezvous {
        id: encode_b64(&id),
        pin_slot: slot,
        expires_at: u64::try_from(expires_at / 1000).unwrap_or(0),
    }))
}

/// `GET /api/v1/rendezvous/pin/{slot}`: the slot behind a PIN code's first digits.
#[utoipa::path(get, path = "/api/v1/rendezvous/pin/{slot}", tag = "pairing", security(("bearer" = [])),
    params(("slot" = u16, Path, description = "The NNN of a NNN-NNNNN code")),
    responses((status = 200, body = Rendezvous), (status = 404, body = ApiError)))]
pub async fn by_pin(
    state: web::Data<AppState>,
    _who: Authed,
    path: web::Path<u16>,
) -> Result<HttpResponse, HttpError> {
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
        expires_at: u64::try_from(expires_at / 1000).unwrap_or(0),
    }))
}

/// `PUT /api/v1/rendezvous/{id}/{msg}`: writes an opaque message (write-once).
#[utoipa::path(put, path = "/api/v1/rendezvous/{id}/{msg}", tag = "pairing", security(("bearer" = [])),
    params(("id" = String, Path), ("msg" = String, Path, description = "a1 or a2 (owner), b (claims the slot)")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 204, description = "Stored"), (status = 403, body = ApiError), (status = 404, body = ApiError),
        (status = 409, description = "Already written, or the slot is claimed by another device", body = ApiError)))]
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
        web::block(move || store.rendezvous_put(&id, &who.device, msg, &body, now_ms())).await??;
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
            "slot already claimed by another device",
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
    match web::block(move || store.rendezvous_get(&id, &who.device, msg, now_ms())).await?? {
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
    if web::block(move || store.delete_rendezvous(&id, &who.device)).await?? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(not_found())
    }
}
