//! The error body every relay endpoint returns, with a stable machine-readable code.

use serde::{Deserialize, Serialize};

/// Stable error codes. Clients branch on these, never on the message text.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The request is malformed (bad JSON, bad field, bad parameter).
    BadRequest,
    /// No valid credentials were presented.
    Unauthorized,
    /// Credentials are valid but do not cover what was touched (also: bad or
    /// expired signed URL).
    Forbidden,
    /// The thing does not exist (or is not visible to the caller).
    NotFound,
    /// The request conflicts with existing state.
    Conflict,
    /// A declared or actual size exceeds a configured limit.
    TooLarge,
    /// The body length differs from what was signed or declared.
    LengthMismatch,
    /// A rate limit was hit; retry later.
    RateLimited,
    /// A dependency (database, blob store) is unavailable, or a shared
    /// capacity is used up (every PIN slot taken); retry later.
    Unavailable,
    /// Something failed on the relay; details are in the relay's log only.
    Internal,
    /// The path exists but not with this HTTP method (see `Allow`). Last:
    /// WebSocket frames encode codes by position (postcard), so new codes
    /// are only ever appended.
    MethodNotAllowed,
    /// A quota of what one device may hold is used up (attachments waiting,
    /// by count or by bytes; open pairing slots); retry once some are
    /// downloaded, deleted, closed or expired.
    QuotaExceeded,
}

impl ErrorCode {
    /// The HTTP status that carries this code.
    pub fn http_status(self) -> u16 {
        match self {
            Self::BadRequest => 400,
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::Conflict => 409,
            Self::LengthMismatch => 400,
            Self::TooLarge => 413,
            Self::RateLimited | Self::QuotaExceeded => 429,
            Self::Unavailable => 503,
            Self::Internal => 500,
        }
    }
}

/// JSON error body: `{"code": "...", "message": "..."}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Machine-readable code.
    pub code: ErrorCode,
    /// Human-readable explanation, safe to show to the user.
    pub message: String,
}

impl ApiError {
    /// Builds an error body.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_stable_snake_case() {
        let body = ApiError::new(ErrorCode::LengthMismatch, "x");
        let json = serde_json::to_string(&body).unwrap();
        assert_eq!(json, r#"{"code":"length_mismatch","message":"x"}"#);
        let back: ApiError = serde_json::from_str(&json).unwrap();
        assert_eq!(back, body);
        assert_eq!(
            serde_json::to_string(&ErrorCode::MethodNotAllowed).unwrap(),
            r#""method_not_allowed""#
        );
        assert_eq!(
            serde_json::to_string(&ErrorCode::QuotaExceeded).unwrap(),
            r#""quota_exceeded""#
        );
    }

    #[test]
    fn every_code_maps_to_an_error_status() {
        for code in [
            ErrorCode::BadRequest,
            ErrorCode::Unauthorized,
            ErrorCode::Forbidden,
            ErrorCode::NotFound,
            ErrorCode::MethodNotAllowed,
            ErrorCode::Conflict,
            ErrorCode::TooLarge,
            ErrorCode::LengthMismatch,
            ErrorCode::RateLimited,
            ErrorCode::QuotaExceeded,
            ErrorCode::Unavailable,
            ErrorCode::Internal,
        ] {
            assert!((400..600).contains(&code.http_status()), "{code:?}");
        }
    }
}
