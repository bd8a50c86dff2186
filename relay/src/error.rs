//! Maps internal errors to the shared [`ApiError`] body with a stable code.

use std::time::Duration;

use actix_web::http::{StatusCode, header};
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
    retry_after: Option<Duration>,
}

/// `Retry-After` of a `rate_limited` answer whose limit knows no better wait.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(60);

impl HttpError {
    /// An error with this code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// An error that asks the client to come back after `wait` (`Retry-After`).
    pub fn retry_after(code: ErrorCode, message: impl Into<String>, wait: Duration) -> Self {
        Self {
            retry_after: Some(wait),
            ..Self::new(code, message)
        }
    }
}

/// `Retry-After` in whole seconds, rounded up and at least 1: a client that
/// waits exactly that long finds a token again.
pub fn retry_after_secs(wait: Duration) -> u64 {
    let whole = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    whole.max(1)
}

impl ResponseError for HttpError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut resp = HttpResponse::build(self.status_code());
        // Every 429 says when to come back, whichever limit refused.
        let wait = self
            .retry_after
            .or_else(|| (self.code.http_status() == 429).then_some(DEFAULT_RETRY_AFTER));
        if let Some(wait) = wait {
            resp.insert_header((header::RETRY_AFTER, retry_after_secs(wait)));
        }
        resp.json(ApiError::new(self.code, self.message.clone()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_secs(Duration::from_millis(2001)), 3);
    }

    #[test]
    fn every_rate_limited_answer_carries_retry_after() {
        let plain = HttpError::new(ErrorCode::RateLimited, "slow down").error_response();
        assert_eq!(plain.headers().get(header::RETRY_AFTER).unwrap(), "60");
        let timed = HttpError::retry_after(
            ErrorCode::RateLimited,
            "slow down",
            Duration::from_millis(4500),
        )
        .error_response();
        assert_eq!(timed.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(timed.headers().get(header::RETRY_AFTER).unwrap(), "5");
        let other = HttpError::new(ErrorCode::NotFound, "no").error_response();
        assert!(other.headers().get(header::RETRY_AFTER).is_none());
    }
}
