//! Device lists (ADR 0017): an account publishes its signed list of devices
//! and anyone registered reads it. The relay checks what it can (the account
//! key's signature, every device's consent, a growing counter, the caller
//! being listed, one account per device), stores the bytes as they came,
//! and erases the devices a newer list drops.

use actix_web::{HttpResponse, web};
use parley_shared::crypto::account::{AccountError, AccountId, MAX_SIGNED_LIST, SignedDeviceList};
use parley_shared::protocol::{ApiError, DeviceId, ErrorCode};

use super::AppState;
use super::bearer::Authed;
use super::fields::bad;
use crate::clock::now_ms;
use crate::db::{ListPut, Membership, NewList};
use crate::error::HttpError;
use crate::mailbox::Ended;

fn account_id(s: &str) -> Result<AccountId, HttpError> {
    s.parse()
        .map_err(|_| bad("account id must be the base64url of 32 bytes"))
}

fn refused(e: &AccountError) -> HttpError {
    bad(&format!("device list refused: {e}"))
}

/// `PUT /api/v1/accounts/{id}/devices`: a newer signed device list.
#[utoipa::path(put, path = "/api/v1/accounts/{id}/devices", tag = "accounts", security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id (base64url Ed25519 key)")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "A signed device list"),
    responses((status = 204, description = "Stored (or already the current list); the devices it drops are erased"),
        (status = 400, description = "Not a list of this account, a bad signature or a device that did not consent", body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, description = "The calling device is not in the list", body = ApiError),
        (status = 404, description = "A listed device is not registered here", body = ApiError),
        (status = 409, description = "The relay holds a list with this counter or a higher one, or a listed device belongs to another account", body = ApiError),
        (status = 413, body = ApiError)))]
pub async fn put(
    state: web::Data<AppState>,
    who: Authed,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, HttpError> {
    let account = account_id(&path)?;
    if body.len() > MAX_SIGNED_LIST {
        return Err(HttpError::new(
            ErrorCode::TooLarge,
            "a device list is at most 8 KiB",
        ));
    }
    let signed = SignedDeviceList::from_bytes(&body).map_err(|e| refused(&e))?;
    let list = signed.verify_named().map_err(|e| refused(&e))?;
    if list.account().id() != account {
        return Err(bad(
            "the list belongs to another account than the path names",
        ));
    }
    if list.device(who.device).is_none() && !leaving(&state, &who, &account).await? {
        return Err(HttpError::new(
            ErrorCode::Forbidden,
            "only a device in the new list, or one leaving the account, may publish it",
        ));
    }
    let counter = i64::try_from(list.counter()).map_err(|_| bad("list counter too large"))?;
    let devices: Vec<[u8; 32]> = list
        .devices()
        .iter()
        .map(|d| d.device_id().to_bytes())
        .collect();
    let store = state.store.clone();
    let outcome = web::block(move || {
        store.put_device_list(&NewList {
            account: *account.as_bytes(),
            counter,
            bytes: &body,
            devices,
            now: now_ms(),
        })
    })
    .await??;
    match outcome {
        ListPut::Same => {}
        ListPut::Stored { removed } => {
            for (device, keys) in removed {
                let device = DeviceId::new(device);
                super::erase::forget_device(&state, device, keys, Ended::Removed).await;
            }
        }
        ListPut::NotNewer { .. } => {
            return Err(HttpError::new(
                ErrorCode::Conflict,
                "the relay holds a newer list for this account (or another list with this counter); fetch it and build on it",
            ));
        }
        ListPut::UnknownDevice(_) => {
            return Err(HttpError::new(
                ErrorCode::NotFound,
                "a listed device is not registered on this relay",
            ));
        }
        ListPut::OtherAccount(_) => {
            return Err(HttpError::new(
                ErrorCode::Conflict,
                "a listed device already belongs to another account",
            ));
        }
    }
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/v1/accounts/{id}/devices`: the account's current signed list.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/devices", tag = "accounts", security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id (base64url Ed25519 key)")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>, description = "The signed device list; verify it against the account key"),
        (status = 401, body = ApiError), (status = 404, body = ApiError)))]
pub async fn get(
    state: web::Data<AppState>,
    _who: Authed,
    path: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let account = account_id(&path)?;
    let store = state.store.clone();
    let stored = web::block(move || store.device_list(account.as_bytes()))
        .await??
        .ok_or_else(|| HttpError::new(ErrorCode::NotFound, "no such account"))?;
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .body(stored.list))
}

/// Whether the caller is in the account's current list: a device may
/// publish a list without itself to leave the account (it is erased with
/// the list, like any device the list drops).
async fn leaving(
    state: &web::Data<AppState>,
    who: &Authed,
    account: &AccountId,
) -> Result<bool, HttpError> {
    let store = state.store.clone();
    let me = who.device.to_bytes();
    let now = web::block(move || store.membership(&me)).await??;
    Ok(matches!(now, Membership::Listed { account: a, .. } if a == *account.as_bytes()))
}
