//! `/api/v1/attachments`: encrypted files. The relay hands out pre-signed
//! URLs for padded ciphertext of a declared size; the file key and digest
//! travel inside the ratchet message, never here.

use serde::{Deserialize, Serialize};

use crate::protocol::DeviceId;
use crate::time::{Millis, UnixMs};

/// Longest lifetime a sender may choose (7 days).
pub const MAX_TTL: Millis = Millis::from_secs(7 * 24 * 3600);

/// Whether `id` is a well-formed object id (what the relay hands out: 1–128
/// characters of `[A-Za-z0-9_-]`). Ids come from peers inside messages and
/// end up in request paths, so anything else is refused.
pub fn valid_object_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `POST /api/v1/attachments` body.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateAttachment {
    /// Exact size of the (padded) ciphertext, bytes.
    pub size: u64,
    /// The devices that may download it (base64url in JSON): 1 to
    /// [`MAX_RECIPIENTS`](crate::protocol::ws::MAX_RECIPIENTS), distinct,
    /// not the caller.
    pub recipients: Vec<DeviceId>,
    /// How long until the relay deletes it (1 s to [`MAX_TTL`]).
    pub ttl_ms: Millis,
}

/// A pre-signed request: send exactly this method, URL and headers.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedUrl {
    /// `PUT` or `GET`.
    pub method: String,
    /// Absolute URL with the signature.
    pub url: String,
    /// Headers that are part of the signature.
    pub headers: Vec<(String, String)>,
    /// When the store starts refusing the URL.
    pub expires_at_ms: UnixMs,
}

/// `POST /api/v1/attachments` response.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentUpload {
    /// Object id (goes into the encrypted message).
    pub id: String,
    /// Where to PUT the ciphertext (length signed).
    pub upload: SignedUrl,
    /// When the relay deletes the object.
    pub expires_at_ms: UnixMs,
}

/// `POST /api/v1/attachments/{id}/download` response (recipients only).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentDownload {
    /// Where to GET the ciphertext.
    pub download: SignedUrl,
    /// Its size, bytes.
    pub size: u64,
    /// When the relay deletes the object.
    pub expires_at_ms: UnixMs,
}

#[cfg(test)]
mod tests {
    #[test]
    fn object_ids_cannot_leave_their_path_segment() {
        assert!(super::valid_object_id("q0TqsM1iG2m_yzF-9xk2Ow"));
        for bad in [
            "",
            "../devices/me",
            "a/b",
            "%2e%2e",
            "a?b",
            "a b",
            &"x".repeat(129),
        ] {
            assert!(!super::valid_object_id(bad), "{bad:?}");
        }
    }
}
