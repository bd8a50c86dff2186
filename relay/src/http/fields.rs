//! Decoding request fields, and the errors every handler answers with when
//! a field or a stored row is not what it must be.

use parley_shared::protocol::auth::decode_b64;
use parley_shared::protocol::{DeviceId, ErrorCode};

use crate::error::HttpError;

pub(super) fn bad(msg: &str) -> HttpError {
    HttpError::new(ErrorCode::BadRequest, msg)
}

pub(super) fn unauthorized(msg: &str) -> HttpError {
    HttpError::new(ErrorCode::Unauthorized, msg)
}

pub(super) fn b64_field(s: &str, what: &str) -> Result<Vec<u8>, HttpError> {
    decode_b64(s).ok_or_else(|| bad(&format!("{what} is not base64url")))
}

/// A device id in a URL path.
pub(super) fn device_id(s: &str) -> Result<DeviceId, HttpError> {
    s.parse()
        .map_err(|_| bad("device id must be the base64url of 32 bytes"))
}

pub(super) fn signature(s: &str) -> Result<[u8; 64], HttpError> {
    b64_field(s, "signature")?
        .try_into()
        .map_err(|_| bad("signature must be 64 bytes"))
}

/// A stored device id that is not 32 bytes: a relay bug or tampered database.
pub(super) fn corrupt_row() -> HttpError {
    tracing::error!("stored device id is not 32 bytes");
    HttpError::new(ErrorCode::Internal, "stored device id is invalid")
}

/// Stored keys that no longer decode: a relay bug or tampered database.
pub(super) fn corrupt() -> HttpError {
    tracing::error!("stored device keys do not decode");
    HttpError::new(ErrorCode::Internal, "stored keys are invalid")
}
