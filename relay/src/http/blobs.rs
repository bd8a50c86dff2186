//! Upload and download for the local-disk blob store. Every request must carry
//! a valid relay-signed URL for its exact method (and length, for uploads),
//! and the object's row must be live: deleting or expiring an attachment
//! revokes its URLs here, which pre-signed S3 URLs cannot offer. An object
//! is uploaded once.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use parley_shared::protocol::{ApiError, ErrorCode};
use serde::Deserialize;

use super::AppState;
use crate::blob::{BlobError, BlobKey, BlobStore as _, Blobs, LocalBlobStore};
use crate::clock::now_ms;
use crate::db::BlobRecord;
use crate::error::HttpError;

#[derive(Debug, Deserialize)]
pub(super) struct SignedQuery {
    exp: u64,
    len: Option<u64>,
    sig: String,
}

fn local(state: &AppState) -> Result<&LocalBlobStore, HttpError> {
    match &state.blobs {
        Blobs::Local(store) => Ok(store),
        // With S3 the store serves objects itself; these routes do not exist.
        Blobs::S3(_) => Err(HttpError::new(
            ErrorCode::NotFound,
            "blobs are served by the S3 store",
        )),
    }
}

/// The object's row, if live now.
async fn live_row(state: &AppState, key: &BlobKey) -> Result<Option<BlobRecord>, HttpError> {
    let (store, id) = (state.store.clone(), key.as_str().to_owned());
    Ok(web::block(move || store.live_blob(&id, now_ms())).await??)
}

fn revoked() -> HttpError {
    HttpError::new(
        ErrorCode::Forbidden,
        "signed URL rejected: the attachment was deleted or has expired",
    )
}

fn parse_query(req: &HttpRequest) -> Result<SignedQuery, HttpError> {
    web::Query::<SignedQuery>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|_| {
            HttpError::new(
                ErrorCode::Forbidden,
                "signed URL rejected: missing or malformed signature",
            )
        })
}

/// `PUT /blobs/{key}?exp&len&sig`: upload exactly the signed length (local store).
#[utoipa::path(put, path = "/blobs/{key}", tag = "blobs",
    params(("key" = String, Path), ("exp" = u64, Query), ("len" = u64, Query), ("sig" = String, Query, description = "relay signature")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, description = "Stored"), (status = 400, description = "Length differs from the signed length", body = ApiError),
        (status = 403, description = "Forged, expired or wrong-method URL, or the attachment was deleted or expired", body = ApiError),
        (status = 409, description = "Already uploaded", body = ApiError), (status = 413, body = ApiError)))]
pub async fn put(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    let store = local(&state)?;
    let key = BlobKey::parse(&path)?;
    let q = parse_query(&req)?;
    let len = q.len.ok_or(HttpError::new(
        ErrorCode::Forbidden,
        "signed URL rejected: not an upload URL",
    ))?;
    store
        .signer()
        .verify("PUT", &key, q.exp, Some(len), &q.sig)?;
    if len > state.config.max_blob_bytes {
        return Err(HttpError::new(
            ErrorCode::TooLarge,
            "object exceeds the size limit",
        ));
    }
    // Refuse early when the declared length disagrees; the streamed count is
    // checked again because Content-Length can be absent (chunked) or lie.
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|d| d != len) {
        return Err(BlobError::LengthMismatch.into());
    }
    let rec = live_row(&state, &key).await?.ok_or_else(revoked)?;
    if u64::try_from(rec.size).ok() != Some(len) {
        // The relay signs uploads for the row's size only.
        return Err(revoked());
    }
    // Cheap early answer; `write` makes the real, atomic check.
    if store.exists(&key).await? {
        return Err(BlobError::AlreadyExists.into());
    }
    store.write(&key, len, body).await?;
    // Deleted or expired while the body streamed: the deleter or the sweeper
    // may have looked before the object appeared, so it goes now.
    if live_row(&state, &key).await?.is_none() {
        store.delete(&key).await?;
        return Err(revoked());
    }
    metrics::counter!("parley_blob_bytes_uploaded_total").increment(len);
    Ok(HttpResponse::Ok().finish())
}

/// `GET /blobs/{key}?exp&sig`: download (local store).
#[utoipa::path(get, path = "/blobs/{key}", tag = "blobs",
    params(("key" = String, Path), ("exp" = u64, Query), ("sig" = String, Query, description = "relay signature")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 403, body = ApiError), (status = 404, description = "Not uploaded, or the attachment was deleted or expired", body = ApiError)))]
pub async fn get(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    let store = local(&state)?;
    let key = BlobKey::parse(&path)?;
    let q = parse_query(&req)?;
    if q.len.is_some() {
        return Err(HttpError::new(
            ErrorCode::Forbidden,
            "signed URL rejected: not a download URL",
        ));
    }
    store.signer().verify("GET", &key, q.exp, None, &q.sig)?;
    if live_row(&state, &key).await?.is_none() {
        return Err(BlobError::NotFound.into());
    }
    let path = store.path_for(&key);
    let file = match web::block(move || actix_files::NamedFile::open(path)).await? {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(BlobError::NotFound.into());
        }
        Err(e) => return Err(BlobError::Io(e).into()),
    };
    let mut resp = file
        .set_content_type(actix_files::file_extension_to_mime("bin"))
        // Ciphertext does not compress: sent as stored, not gzipped on the
        // fly by the `Compress` middleware (CPU for nothing, and a cap on
        // the download's speed).
        .set_content_encoding(header::ContentEncoding::Identity)
        .disable_content_disposition()
        .use_last_modified(false)
        .into_response(&req);
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("private, no-store"),
    );
    Ok(resp)
}
