//! `/api/v1/attachments*`: pre-signed upload and download URLs for encrypted
//! files. Uploads are signed for the exact declared size; downloads are
//! signed only for the listed recipients; no URL outlives its row; the
//! owner can delete early (cancelled), each recipient can end its own access
//! (declined, downloaded) and the last one to do so deletes the object; the
//! sweeper deletes the rest at their expiry, objects first.

use std::collections::HashSet;

use std::time::Duration;

use actix_web::{HttpResponse, web};
use parley_shared::protocol::attachments::{
    AttachmentDownload, AttachmentUpload, CreateAttachment, MAX_TTL, SignedUrl,
};
use parley_shared::protocol::ws::MAX_RECIPIENTS;
use parley_shared::protocol::{ApiError, DeviceId, ErrorCode};
use parley_shared::time::{Millis, UnixMs};

use super::AppState;
use super::bearer::Authed;
use crate::blob::{BlobKey, BlobStore as _, CLOCK_MARGIN, SignedRequest};
use crate::clock::{millis_i64, now_ms, unix_ms};
use crate::db::{Admission, BlobQuota, BlobRecord, Leave, Membership};
use crate::error::HttpError;

fn signed(r: SignedRequest) -> SignedUrl {
    SignedUrl {
        method: r.method.to_owned(),
        url: r.url,
        headers: r.headers,
        // Signed URLs count in seconds (as S3 does).
        expires_at_ms: UnixMs::from_secs(r.expires_at),
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

/// Lifetime of a URL for a row that expires at `expires_at` (Unix ms):
/// the configured lifetime, but never past the row's expiry, in whole
/// seconds; `None` when less than a second is left. Otherwise a URL signed
/// just before the row expires would keep working after the sweeper ran.
/// A signature counts from its signing second, which may already be the
/// one after `now` when the store signs: the lifetime counts from there.
fn url_ttl(configured: Duration, expires_at: i64, now: i64) -> Option<Duration> {
    let next_second = now.div_euclid(1000).saturating_add(1).saturating_mul(1000);
    let left = Duration::from_secs(secs(expires_at.saturating_sub(next_second)));
    Some(configured.min(left)).filter(|ttl| ttl.as_secs() > 0)
}

#[cfg(test)]
mod url_ttl_tests {
    use super::*;

    #[test]
    fn a_url_signed_in_the_next_second_still_ends_with_its_row() {
        let day = Duration::from_secs(86_400);
        // 2 ms before a second boundary, a 2 s row: signing may happen in
        // the next second, so only 1 s is left from there.
        let (now, exp) = (600_998, 602_998);
        let ttl = url_ttl(day, exp, now).unwrap();
        assert_eq!(ttl, Duration::from_secs(1));
        assert!(601_000 + i64::try_from(ttl.as_millis()).unwrap() <= exp);
        // The configured lifetime still caps it; under a second left: none.
        assert_eq!(
            url_ttl(Duration::from_secs(5), 1_000_000_000, 0),
            Some(Duration::from_secs(5))
        );
        assert_eq!(url_ttl(day, 1_500, 0), None);
    }
}

/// `POST /api/v1/attachments`: an upload URL for `size` bytes of ciphertext.
#[utoipa::path(post, path = "/api/v1/attachments", tag = "attachments", security(("bearer" = [])),
    request_body = CreateAttachment,
    responses((status = 201, body = AttachmentUpload), (status = 400, body = ApiError), (status = 404, description = "Unknown recipient", body = ApiError),
        (status = 413, description = "Larger than the relay allows", body = ApiError),
        (status = 429, description = "`quota_exceeded`: too many attachments or bytes waiting", body = ApiError)))]
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
    if req.ttl_ms < Millis::from_secs(1) || req.ttl_ms > MAX_TTL {
        return Err(HttpError::new(
            ErrorCode::BadRequest,
            "ttl_ms must be between 1 second and 7 days",
        ));
    }
    check_recipients(&who.device, &req.recipients)?;
    let devices: Vec<[u8; 32]> = req.recipients.iter().map(|d| d.to_bytes()).collect();
    let now = now_ms();
    let store = state.store.clone();
    let asked = devices.clone();
    let known = web::block(move || store.memberships(&asked)).await??;
    if let Some((d, _)) = req
        .recipients
        .iter()
        .zip(known)
        .find(|(_, m)| *m == Membership::Unknown)
    {
        return Err(HttpError::new(
            ErrorCode::NotFound,
            format!("the recipient {d} is not registered here"),
        ));
    }
    let key = BlobKey::random()?;
    let expires_at = now.saturating_add(millis_i64(req.ttl_ms));
    let rec = BlobRecord {
        id: key.as_str().to_owned(),
        owner: who.device.as_bytes().to_vec(),
        size: i64::try_from(req.size).unwrap_or(i64::MAX),
        created_at: now,
        expires_at,
    };
    let quota = BlobQuota {
        max_count: state.config.max_attachments_per_device,
        max_bytes: state.config.max_attachment_bytes_per_device,
    };
    let store = state.store.clone();
    // When recipients download is unknown; a minute is a polling hint.
    let hint = Duration::from_secs(60);
    match web::block(move || store.insert_attachment(&rec, &devices, quota)).await?? {
        Admission::Admitted => {}
        Admission::TooMany => {
            return Err(HttpError::retry_after(
                ErrorCode::QuotaExceeded,
                "too many attachments waiting; wait until some are downloaded or expire",
                hint,
            ));
        }
        Admission::TooManyBytes => {
            return Err(HttpError::retry_after(
                ErrorCode::QuotaExceeded,
                format!(
                    "attachments waiting would exceed {} bytes; wait until some are downloaded or expire",
                    quota.max_bytes
                ),
                hint,
            ));
        }
    }
    let ttl = url_ttl(state.config.blob_url_ttl, expires_at, now).ok_or_else(not_found)?;
    let put = state.blobs.presign_put(&key, req.size, ttl).await?;
    Ok(HttpResponse::Created().json(AttachmentUpload {
        id: key.as_str().to_owned(),
        upload: signed(put),
        expires_at_ms: unix_ms(expires_at),
    }))
}

/// 1 to [`MAX_RECIPIENTS`] distinct devices, not the caller.
fn check_recipients(caller: &DeviceId, recipients: &[DeviceId]) -> Result<(), HttpError> {
    let bad = |why: &str| Err(HttpError::new(ErrorCode::BadRequest, why));
    if recipients.is_empty() || recipients.len() > MAX_RECIPIENTS {
        return bad("recipients names 1 to 1024 devices");
    }
    if recipients.contains(caller) {
        return bad("recipients cannot name the caller");
    }
    let distinct: HashSet<&DeviceId> = recipients.iter().collect();
    if distinct.len() != recipients.len() {
        return bad("recipients names a device twice");
    }
    Ok(())
}

/// Whether `device` is one of the attachment's recipients.
async fn is_recipient(state: &AppState, id: &str, device: &DeviceId) -> Result<bool, HttpError> {
    let store = state.store.clone();
    let (id, device) = (id.to_owned(), *device);
    Ok(web::block(move || store.is_attachment_recipient(&id, device.as_bytes())).await??)
}

/// The live attachment named in the path, or 404 (also once it is deleted
/// or expired, even before the sweeper removed it).
async fn load(state: &AppState, id: &str, now: i64) -> Result<(BlobKey, BlobRecord), HttpError> {
    let key = BlobKey::parse(id).map_err(|_| not_found())?;
    let store = state.store.clone();
    let id = key.as_str().to_owned();
    let rec = web::block(move || store.live_blob(&id, now))
        .await??
        .ok_or_else(not_found)?;
    Ok((key, rec))
}

/// `POST /api/v1/attachments/{id}/download`: a download URL, for its recipients only.
#[utoipa::path(post, path = "/api/v1/attachments/{id}/download", tag = "attachments", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = AttachmentDownload), (status = 404, description = "Missing, expired or not for the caller", body = ApiError)))]
pub async fn download(
    state: web::Data<AppState>,
    who: Authed,
    path: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let now = now_ms();
    let (key, rec) = load(&state, &path, now).await?;
    if !is_recipient(&state, &rec.id, &who.device).await? {
        return Err(not_found());
    }
    let ttl = url_ttl(state.config.blob_url_ttl, rec.expires_at, now).ok_or_else(not_found)?;
    let get = state.blobs.presign_get(&key, ttl).await?;
    Ok(HttpResponse::Ok().json(AttachmentDownload {
        download: signed(get),
        size: u64::try_from(rec.size).unwrap_or(0),
        expires_at_ms: unix_ms(rec.expires_at),
    }))
}

/// `DELETE /api/v1/attachments/{id}`: the owner deletes it now (object
/// first, then the record); a recipient ends only its own access, and the
/// last recipient to do so deletes it as the owner would. On a store that cannot revoke upload
/// URLs (S3) the record stays, deleted but counted in the owner's quota,
/// until the upload URL is dead; the sweeper then deletes whatever was
/// uploaded through it meanwhile.
#[utoipa::path(delete, path = "/api/v1/attachments/{id}", tag = "attachments", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204, description = "Deleted from the store (owner, or last recipient), or the caller's access ended"), (status = 404, body = ApiError)))]
pub async fn delete(
    state: web::Data<AppState>,
    who: Authed,
    path: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let now = now_ms();
    let (key, rec) = load(&state, &path, now).await?;
    if rec.owner.as_slice() != who.device.as_bytes().as_slice() {
        let store = state.store.clone();
        let (id, device) = (rec.id.clone(), who.device);
        match web::block(move || store.leave_attachment(&id, device.as_bytes())).await?? {
            Leave::NotRecipient => return Err(not_found()),
            Leave::Left => return Ok(HttpResponse::NoContent().finish()),
            Leave::Last => {}
        }
    }
    state.blobs.delete(&key).await?;
    let hold_until = (!state.blobs.revokes_uploads()).then(|| {
        let url_ms = i64::try_from(state.config.blob_url_ttl.as_millis()).unwrap_or(i64::MAX);
        let margin_ms = i64::try_from(CLOCK_MARGIN.as_millis()).unwrap_or(i64::MAX);
        rec.created_at
            .saturating_add(url_ms)
            .saturating_add(margin_ms)
    });
    let store = state.store.clone();
    web::block(move || store.end_blob(&rec.id, now, hold_until)).await??;
    Ok(HttpResponse::NoContent().finish())
}
