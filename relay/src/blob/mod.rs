//! Blob storage for attachment ciphertext: one trait, two real backends.
//!
//! Clients never stream blobs through relay logic: they get a short-lived URL
//! that allows exactly one method on exactly one object (and, for uploads,
//! exactly one length), and talk to the store directly.

pub mod local;
pub mod s3;

use std::future::Future;
use std::time::Duration;

pub use local::{LocalBlobStore, UrlSigner};
pub use s3::S3BlobStore;

/// Blob store failures.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The key is not of the allowed form.
    #[error("invalid blob key")]
    InvalidKey,
    /// The store cannot be reached or refused the operation.
    #[error("blob store unavailable: {0}")]
    Unavailable(String),
    /// A signed URL is forged, expired, for another method or malformed.
    #[error("signed URL rejected: {0}")]
    Forbidden(&'static str),
    /// The object does not exist.
    #[error("blob not found")]
    NotFound,
    /// The body does not have the signed length.
    #[error("body length does not match the signed length")]
    LengthMismatch,
    /// The object was uploaded already; an upload URL works once.
    #[error("object already uploaded")]
    AlreadyExists,
    /// Local I/O failed.
    #[error("blob I/O failed: {0}")]
    Io(#[from] std::io::Error),
}

/// A validated object key: 1–128 characters of `[A-Za-z0-9_-]`, so it is safe
/// as a file name and as an S3 key without escaping.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobKey(String);

impl BlobKey {
    /// Validates `raw`.
    pub fn parse(raw: &str) -> Result<Self, BlobError> {
        let ok = !raw.is_empty()
            && raw.len() <= 128
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(BlobError::InvalidKey)
        }
    }

    /// A fresh random key (128 bits, base64url).
    pub fn random() -> Result<Self, BlobError> {
        use base64ct::{Base64UrlUnpadded, Encoding as _};
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| BlobError::Unavailable(e.to_string()))?;
        Ok(Self(Base64UrlUnpadded::encode_string(&bytes)))
    }

    /// The key as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A pre-signed request the client must make exactly as described.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SignedRequest {
    /// HTTP method (`PUT` or `GET`).
    pub method: &'static str,
    /// Absolute URL including the signature.
    pub url: String,
    /// Headers that were signed and must be sent as given.
    pub headers: Vec<(String, String)>,
    /// Unix seconds from which on the URL is refused.
    pub expires_at: u64,
}

/// One page of a listing of stored objects, for the orphan sweep.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ObjectPage {
    /// Objects on this page last modified before the cutoff.
    pub keys: Vec<BlobKey>,
    /// Where the next page starts; `None` after the last page.
    pub next: Option<String>,
}

/// Slack added wherever the relay reasons about when a signed URL stops
/// working: expiries are whole seconds, and the store's clock may run a
/// little behind the relay's.
pub const CLOCK_MARGIN: Duration = Duration::from_secs(5);

/// The content type every upload is signed for: ciphertext is opaque bytes.
pub const BLOB_CONTENT_TYPE: &str = "application/octet-stream";

/// Operations every blob backend provides.
pub trait BlobStore: Send + Sync {
    /// URL for uploading exactly `len` bytes to `key` within `ttl`.
    fn presign_put(
        &self,
        key: &BlobKey,
        len: u64,
        ttl: Duration,
    ) -> impl Future<Output = Result<SignedRequest, BlobError>> + Send;

    /// URL for downloading `key` within `ttl`.
    fn presign_get(
        &self,
        key: &BlobKey,
        ttl: Duration,
    ) -> impl Future<Output = Result<SignedRequest, BlobError>> + Send;

    /// Deletes the object; deleting a missing object succeeds.
    fn delete(&self, key: &BlobKey) -> impl Future<Output = Result<(), BlobError>> + Send;

    /// Proves the store answers (for `/readyz`).
    fn check(&self) -> impl Future<Output = Result<(), BlobError>> + Send;

    /// One page of the relay's objects last modified before `before` (Unix
    /// seconds); `page` is the previous page's `next`, `None` to start.
    /// Names that are not valid keys are skipped: the relay never made them.
    fn list_older(
        &self,
        before: u64,
        page: Option<String>,
    ) -> impl Future<Output = Result<ObjectPage, BlobError>> + Send;

    /// Whether every upload is checked against the object's row, so that
    /// ending the row revokes its upload URL. S3's pre-signed URLs cannot be
    /// revoked: they work until they expire.
    fn revokes_uploads(&self) -> bool;
}

/// The configured backend.
#[derive(Debug, Clone)]
pub enum Blobs {
    /// Local disk, served by the relay.
    Local(LocalBlobStore),
    /// S3-compatible server.
    S3(S3BlobStore),
}

impl BlobStore for Blobs {
    async fn presign_put(
        &self,
        key: &BlobKey,
        len: u64,
        ttl: Duration,
    ) -> Result<SignedRequest, BlobError> {
        match self {
            Self::Local(s) => s.presign_put(key, len, ttl).await,
            Self::S3(s) => s.presign_put(key, len, ttl).await,
        }
    }

    async fn presign_get(&self, key: &BlobKey, ttl: Duration) -> Result<SignedRequest, BlobError> {
        match self {
            Self::Local(s) => s.presign_get(key, ttl).await,
            Self::S3(s) => s.presign_get(key, ttl).await,
        }
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError> {
        match self {
            Self::Local(s) => s.delete(key).await,
            Self::S3(s) => s.delete(key).await,
        }
    }

    async fn check(&self) -> Result<(), BlobError> {
        match self {
            Self::Local(s) => s.check().await,
            Self::S3(s) => s.check().await,
        }
    }

    async fn list_older(&self, before: u64, page: Option<String>) -> Result<ObjectPage, BlobError> {
        match self {
            Self::Local(s) => s.list_older(before, page).await,
            Self::S3(s) => s.list_older(before, page).await,
        }
    }

    fn revokes_uploads(&self) -> bool {
        match self {
            Self::Local(s) => s.revokes_uploads(),
            Self::S3(s) => s.revokes_uploads(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_restricted_to_a_safe_alphabet() {
        assert!(BlobKey::parse("abc_DEF-123").is_ok());
        for bad in ["", "../etc", "a/b", "a.b", "a b", &"x".repeat(129)] {
            assert!(BlobKey::parse(bad).is_err(), "{bad:?}");
        }
        let a = BlobKey::random().unwrap();
        let b = BlobKey::random().unwrap();
        assert_ne!(a, b);
        assert_eq!(BlobKey::parse(a.as_str()).unwrap(), a);
    }
}
