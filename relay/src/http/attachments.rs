//! `/api/v1/attachments*`: pre-signed upload and download URLs for encrypted
//! files. Uploads are signed for the exact declared size; downloads are
//! signed only for the intended recipient; the owner or the recipient can
//! delete early (declined, downloaded, cancelled); the sweeper deletes the
//! rest at their expiry, objects first.

use actix_web::{HttpResponse, web};
use parley_shared::protocol::attachments::{
    AttachmentDownload, AttachmentUpload, CreateAttachment, MAX_TTL_SECS, SignedUrl,
};
use parley_shared::protocol::auth::decode_b64;
use parley_shared::protocol::{ApiError, ErrorCode};

use super::AppState;
use super::auth::Authed;
use crate::blob::{BlobKey, BlobStore as _, SignedRequest};
use crate::db::BlobRecord;
use crate::error::HttpError;
use crate::sweeper::now_ms;

fn signed(r: SignedRequest) -> SignedUrl {
    SignedUrl {
        method: r.method.to_owned(),
        url: r.url,
        headers: r.headers,
        expires_at: r.expires_at,
    }
}

fn not_found() -> HttpError {
    // The same answer whether the object is missing or someone else's.
    HttpError::new(
        ErrorCode::NotFound,
        "no such attachment (deleted, expired or not yours)",
    )
}

fn secs(ms: i64) -> u64 {
    u64::try_from(ms / 1000).unwrap_or(0)
}

/// `POST /api/v1/attachments`: an upload URL for `size` bytes of ciphertext.
#[utoipa::path(post, path = "/api/v1/attachments", tag = "attachments", security(("bearer" = [])),
    request_body = CreateAttachment,
    responses((status = 201, body = AttachmentUpload), (status = 400, body = ApiError), (status = 404, description = "Unknown recipient", body = ApiError),
        (status = 413, description = "Larger than the relay allows", body = ApiError), (status = 429, description = "Too many live attachments", body = ApiError)))]
pub async fn create(
    state: web::Data<AppState>,
    who: Authed,
    body: web::Json<CreateAttachment>,
) -> Result<HttpResponse, HttpError> {
    let req = body.into_inner();
    let max = state.config.max_blob_bytes;
    if req.size == 0 || req.size > max {
        return Err(HttpError::new(
            ErrorCode::TooLarge,
            format!("attachments are 1 byte to {max} bytes on this relay"),
        ));
    }
    if req.ttl_secs == 0 || req.ttl_secs > MAX_TTL_SECS {
        return Err(HttpError::new(
            ErrorCode::BadRequest,
            "ttl_secs must be between 1 second and 7 days",
        ));
    }
    let recipient = decode_b64(&req.recipient)
        .filter(|r| r.len() == 32)
        .ok_or_else(|| HttpError::new(ErrorCode::BadRequest, "recipient must be a device id"))?;
    let now = now_ms();
    let (store, r2) = (state.store.clone(), recipient.clone());
    let known = web::block(move || store.device(&r2)).await??.is_some();
    if !known {
        return Err(HttpError::new(
            ErrorCode::NotFound,
            "the recipient is not registered here",
        ));
    }
    let key = BlobKey::random()?;
    let expires_at = now + i64::from(req.ttl_secs) * 1000;
    let rec = BlobRecord {
        id: key.as_str().to_owned(),
        owner: who.device.clone(),
        size: i64::try_from(req.size).unwrap_or(i64::MAX),
        created_at: now,
        expires_at,
        recipient: Some(recipient),
    };
    let (store, quota) = (state.store.clone(), state.config.max_attachments_per_device);
    if !web::block(move || store.insert_blob(&rec, quota)).await?? {
        // When recipients download is unknown; a minute is a polling hint.
        return Err(HttpError::retry_after(
            ErrorCode::RateLimited,
            "too many attachments waiting; wait until some are downloaded or expire",
            std::time::Duration::from_secs(60),
        ));
    }
    let put = state
        .blobs
        .presign_put(&key, req.size, state.config.blob_url_ttl)
        .await?;
    Ok(HttpResponse::Created().json(AttachmentUpload {
        id: key.as_str().to_owned(),
        upload: signed(put),
        expires_at: secs(expires_at),
    }))
}

/// The attachment named in the path, or 404.
async fn load(state: &AppState, id: &str) -> Result<(BlobKey, BlobRecord), HttpError> {
    let key = BlobKey::parse(id).map_err(|_| not_found())?;
    let store = state.store.clone();
    let id = key.as_str().to_owned();
    let rec = web::block(move || store.blob(&id))
        .await??
        .ok_or_else(not_found)?;
    Ok((key, rec))
}

/// `POST /api/v1/attachments/{id}/download`: a download URL, for the recipient only.
#[utoipa::path(post, path = "/api/v1/attachments/{id}/download", tag = "attachments", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = AttachmentDownload), (status = 404, description = "Missing, expired or not for the caller", body = ApiError)))]
pub async fn download(
    state: web::Data<AppState>,
    who: Authed,
    path: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let (key, rec) = load(&state, &path).await?;
    if rec.recipient.as_deref() != Some(who.device.as_slice()) || rec.expires_at <= now_ms() {
        return Err(not_found());
    }
    let get = state
        .blobs
        .presign_get(&key, state.config.blob_url_ttl)
        .await?;
    Ok(HttpResponse::Ok().json(AttachmentDownload {
        download: signed(get),
        size: u64::try_from(rec.size).unwrap_or(0),
        expires_at: secs(rec.expires_at),
    }))
}

/// `DELETE /api/v1/attachments/{id}`: the owner or the recipient deletes it
/// now (object first, then the record).
#[utoipa::path(delete, path = "/api/v1/attachments/{id}", tag = "attachments", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204, description = "Deleted from the store"), (status = 404, body = ApiError)))]
pub async fn delete(
    state: web::Data<AppState>,
    who: Authed,
    path: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let (key, rec) = load(&state, &path).await?;
    let caller = Some(who.device.as_slice());
    if Some(rec.owner.as_slice()) != caller && rec.recipient.as_deref() != caller {
        return Err(not_found());
    }
    state.blobs.delete(&key).await?;
    let store = state.store.clone();
    web::block(move || store.delete_blob(&rec.id)).await??;
    Ok(HttpResponse::NoContent().finish())
}
