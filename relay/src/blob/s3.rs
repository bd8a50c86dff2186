//! S3-compatible blob store through rust-s3 pre-signed URLs (SigV4). The
//! upload URL signs `content-length` and `content-type`, so the store itself
//! refuses a body of any other length.

use std::time::Duration;

use s3::creds::Credentials;
use s3::error::S3Error;
use s3::{Bucket, Region};

use super::{BLOB_CONTENT_TYPE, BlobError, BlobKey, BlobStore, ObjectPage, SignedRequest};
use crate::clock::unix_secs;
use crate::config::S3Config;

/// Timeout for the relay's own calls to the store (delete, readiness), so an
/// unreachable store fails fast instead of hanging a request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Keys per listing page (S3's maximum).
const LIST_PAGE: usize = 1000;

/// Why the configured bucket cannot be used at start-up.
#[derive(Debug, thiserror::Error)]
pub enum S3SetupError {
    /// The bucket does not exist on the server.
    #[error("bucket {0:?} does not exist")]
    NoSuchBucket(String),
    /// The credentials were refused.
    #[error("access denied for bucket {0:?} (check S3_ACCESS_KEY / S3_SECRET_KEY)")]
    AccessDenied(String),
    /// Anything else (unreachable, bad endpoint).
    #[error("{0}")]
    Other(String),
}

/// A bucket on an S3-compatible server.
#[derive(Clone)]
pub struct S3BlobStore {
    bucket: Box<Bucket>,
    /// `S3_PREFIX`: empty or ending in `/`.
    prefix: String,
}

impl std::fmt::Debug for S3BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3BlobStore")
            .field("bucket", &self.bucket.name)
            .field("prefix", &self.prefix)
            .finish()
    }
}

fn expiry_secs(ttl: Duration) -> u32 {
    // SigV4 allows 1 s .. 7 days.
    u32::try_from(ttl.as_secs().clamp(1, 604_800)).unwrap_or(604_800)
}

fn unavailable(e: S3Error) -> BlobError {
    BlobError::Unavailable(e.to_string())
}

impl S3BlobStore {
    /// Builds the client (no network yet).
    pub fn new(cfg: &S3Config) -> Result<Self, S3SetupError> {
        let region = Region::Custom {
            region: cfg.region.clone(),
            endpoint: cfg.endpoint.as_str().trim_end_matches('/').to_owned(),
        };
        let creds = Credentials::new(
            Some(&cfg.access_key),
            Some(&cfg.secret_key),
            None,
            None,
            None,
        )
        .map_err(|e| S3SetupError::Other(e.to_string()))?;
        let bucket = Bucket::new(&cfg.bucket, region, creds)
            .map_err(|e| S3SetupError::Other(e.to_string()))?
            .with_path_style()
            .with_request_timeout(REQUEST_TIMEOUT)
            .map_err(|e| S3SetupError::Other(e.to_string()))?;
        Ok(Self {
            bucket,
            prefix: cfg.prefix.clone(),
        })
    }

    fn object_path(&self, key: &BlobKey) -> String {
        format!("/{}{}", self.prefix, key.as_str())
    }

    /// Lists at most one key: proves the endpoint answers, the bucket exists
    /// and the credentials are accepted, without needing ListAllMyBuckets.
    pub async fn verify_bucket(&self) -> Result<(), S3SetupError> {
        match self
            .bucket
            .list_page(String::new(), None, None, None, Some(1))
            .await
        {
            Ok(_) => Ok(()),
            Err(S3Error::HttpFailWithBody(404, _)) => {
                Err(S3SetupError::NoSuchBucket(self.bucket.name.clone()))
            }
            Err(S3Error::HttpFailWithBody(403, _)) => {
                Err(S3SetupError::AccessDenied(self.bucket.name.clone()))
            }
            Err(e) => Err(S3SetupError::Other(e.to_string())),
        }
    }
}

impl BlobStore for S3BlobStore {
    async fn presign_put(
        &self,
        key: &BlobKey,
        len: u64,
        ttl: Duration,
    ) -> Result<SignedRequest, BlobError> {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(len));
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(BLOB_CONTENT_TYPE),
        );
        let secs = expiry_secs(ttl);
        let url = self
            .bucket
            .presign_put(self.object_path(key), secs, Some(headers), None)
            .await
            .map_err(unavailable)?;
        Ok(SignedRequest {
            method: "PUT",
            url,
            headers: vec![
                ("content-length".into(), len.to_string()),
                ("content-type".into(), BLOB_CONTENT_TYPE.into()),
            ],
            expires_at: unix_secs() + u64::from(secs),
        })
    }

    async fn presign_get(&self, key: &BlobKey, ttl: Duration) -> Result<SignedRequest, BlobError> {
        let secs = expiry_secs(ttl);
        let url = self
            .bucket
            .presign_get(self.object_path(key), secs, None)
            .await
            .map_err(unavailable)?;
        Ok(SignedRequest {
            method: "GET",
            url,
            headers: Vec::new(),
            expires_at: unix_secs() + u64::from(secs),
        })
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError> {
        match self.bucket.delete_object(self.object_path(key)).await {
            Ok(_) | Err(S3Error::HttpFailWithBody(404, _)) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn check(&self) -> Result<(), BlobError> {
        self.verify_bucket()
            .await
            .map_err(|e| BlobError::Unavailable(e.to_string()))
    }

    async fn list_older(&self, before: u64, page: Option<String>) -> Result<ObjectPage, BlobError> {
        // The delimiter keeps deeper "folders" (other prefixes) out of the listing.
        let (list, _) = self
            .bucket
            .list_page(
                self.prefix.clone(),
                Some("/".into()),
                page,
                None,
                Some(LIST_PAGE),
            )
            .await
            .map_err(unavailable)?;
        let keys = list
            .contents
            .iter()
            .filter(|o| last_modified_secs(&o.last_modified).is_some_and(|t| t < before))
            .filter_map(|o| o.key.strip_prefix(&self.prefix))
            .filter_map(|k| BlobKey::parse(k).ok())
            .collect();
        Ok(ObjectPage {
            keys,
            next: list.next_continuation_token.filter(|_| list.is_truncated),
        })
    }

    fn revokes_uploads(&self) -> bool {
        false
    }
}

/// `LastModified` of a listing (RFC 3339, e.g. `2026-11-24T10:00:00.000Z`)
/// as Unix seconds; `None` when unreadable, so such an object is never
/// taken for old.
fn last_modified_secs(raw: &str) -> Option<u64> {
    let t =
        time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339).ok()?;
    u64::try_from(t.unix_timestamp()).ok()
}

#[cfg(test)]
mod tests {
    use super::last_modified_secs;

    #[test]
    fn listing_timestamps_are_read_as_unix_seconds() {
        assert_eq!(last_modified_secs("1970-01-01T00:01:40Z"), Some(100));
        assert_eq!(
            last_modified_secs("2026-11-24T10:00:00.123Z"),
            Some(1_795_514_400)
        );
        assert_eq!(last_modified_secs("yesterday"), None);
    }
}
