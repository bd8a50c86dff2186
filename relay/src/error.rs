//! Maps internal errors to the shared [`ApiError`] body with a stable code.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use parley_shared::protocol::{ApiError, ErrorCode};

use crate::blob::BlobError;
use crate::db::StoreError;

/// An error returned by a handler: code + user-facing message. Internal detail
/// goes to the log, never into the response.
#[derive(Debug, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct HttpError {
    code: ErrorCode,
    message: String,
}

impl HttpError {
    /// An error with this code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl ResponseError for HttpError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code()).json(ApiError::new(self.code, self.message.clone()))
    }
}

impl From<BlobError> for HttpError {
    fn from(e: BlobError) -> Self {
        match e {
            BlobError::InvalidKey => Self::new(ErrorCode::BadRequest, "invalid object key"),
            BlobError::Forbidden(why) => {
                Self::new(ErrorCode::Forbidden, format!("signed URL rejected: {why}"))
            }
            BlobError::NotFound => Self::new(ErrorCode::NotFound, "object not found"),
            BlobError::LengthMismatch => Self::new(
                ErrorCode::LengthMismatch,
                "body length does not match the signed length",
            ),
            BlobError::AlreadyExists => {
                Self::new(ErrorCode::Conflict, "the object was uploaded already")
            }
            BlobError::Unavailable(detail) => {
                tracing::warn!(%detail, "blob store unavailable");
                Self::new(ErrorCode::Unavailable, "blob store unavailable")
            }
            BlobError::Io(err) => {
                tracing::error!(%err, "blob I/O failed");
                Self::new(ErrorCode::Internal, "storage error")
            }
        }
    }
}

impl From<StoreError> for HttpError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(detail) => {
                tracing::warn!(%detail, "database unavailable");
                Self::new(ErrorCode::Unavailable, "database unavailable")
            }
            StoreError::Invalid(why) => Self::new(ErrorCode::BadRequest, why),
            other => {
                tracing::error!(err = %other, "database error");
                Self::new(ErrorCode::Internal, "storage error")
            }
        }
    }
}

impl From<actix_web::error::BlockingError> for HttpError {
    fn from(_: actix_web::error::BlockingError) -> Self {
        Self::new(ErrorCode::Internal, "worker pool unavailable")
    }
}
