//! Blob-store settings: which backend, the S3 bucket and prefix, and the
//! per-device byte quota (which has to fit the largest object).

use std::path::{Path, PathBuf};

use url::Url;

use super::{ConfigError, Env, parse_num, required};

/// S3-compatible store settings (`PARLEY_BLOB_BACKEND=s3`).
#[derive(Clone)]
pub struct S3Config {
    /// Endpoint URL, e.g. `http://127.0.0.1:8333`. Browsers talk to it directly.
    pub endpoint: Url,
    /// Signing region.
    pub region: String,
    /// Bucket that holds attachment ciphertext.
    pub bucket: String,
    /// Key prefix of the relay's objects (`S3_PREFIX`): empty, or path
    /// segments ending in `/`. The orphan sweep lists and deletes only there.
    pub prefix: String,
    /// Access key id.
    pub access_key: String,
    /// Secret key (never logged).
    pub secret_key: String,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint.as_str())
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

/// Which blob store backs attachments.
#[derive(Debug, Clone)]
pub enum BlobBackend {
    /// Files under a directory, served by the relay through signed URLs.
    Local {
        /// Directory holding the objects.
        dir: PathBuf,
    },
    /// An S3-compatible server reached through pre-signed URLs.
    S3(S3Config),
}

/// `PARLEY_BLOB_BACKEND` and what the chosen backend needs.
pub(super) fn backend_from_env(env: &dyn Env, data_dir: &Path) -> Result<BlobBackend, ConfigError> {
    match env.get("PARLEY_BLOB_BACKEND").as_deref().map(str::trim) {
        None | Some("local") => Ok(BlobBackend::Local {
            dir: env
                .get("PARLEY_BLOB_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| data_dir.join("blobs")),
        }),
        Some("s3") => Ok(BlobBackend::S3(s3_from_env(env)?)),
        Some(other) => Err(ConfigError::new(
            "PARLEY_BLOB_BACKEND",
            format!("{other:?} is not one of: local, s3"),
        )),
    }
}

/// `PARLEY_MAX_ATTACHMENT_BYTES_PER_DEVICE`: 1 GiB by default (or the
/// largest object, if that is bigger). A quota below the largest object would
/// refuse attachments the size limit allows, so it is an error.
pub(super) fn attachment_bytes_quota(
    env: &dyn Env,
    max_blob_bytes: u64,
) -> Result<i64, ConfigError> {
    const VAR: &str = "PARLEY_MAX_ATTACHMENT_BYTES_PER_DEVICE";
    const DEFAULT: i64 = 1 << 30;
    let largest = i64::try_from(max_blob_bytes)
        .map_err(|_| ConfigError::new("PARLEY_MAX_BLOB_BYTES", "must be below 2^63"))?;
    if env.get(VAR).is_none() {
        return Ok(largest.max(DEFAULT));
    }
    let quota: i64 = parse_num(env, VAR, DEFAULT, 1)?;
    if quota < largest {
        return Err(ConfigError::new(
            VAR,
            format!(
                "must be at least PARLEY_MAX_BLOB_BYTES ({largest}): \
                 a smaller quota refuses attachments the size limit allows"
            ),
        ));
    }
    Ok(quota)
}

fn s3_from_env(env: &dyn Env) -> Result<S3Config, ConfigError> {
    let why = "when PARLEY_BLOB_BACKEND=s3";
    let endpoint_raw = required(env, "S3_ENDPOINT", why)?;
    let endpoint = Url::parse(endpoint_raw.trim())
        .map_err(|e| ConfigError::new("S3_ENDPOINT", format!("not a URL: {e}")))?;
    if !matches!(endpoint.scheme(), "http" | "https") {
        return Err(ConfigError::new(
            "S3_ENDPOINT",
            "must be http:// or https://",
        ));
    }
    Ok(S3Config {
        endpoint,
        region: env.get("S3_REGION").unwrap_or_else(|| "us-east-1".into()),
        bucket: required(env, "S3_BUCKET", why)?,
        prefix: s3_prefix(env)?,
        access_key: required(env, "S3_ACCESS_KEY", why)?,
        secret_key: required(env, "S3_SECRET_KEY", why)?,
    })
}

/// `S3_PREFIX`: where in the bucket the relay keeps its objects. Segments of
/// `[A-Za-z0-9_-]` separated by `/`; a trailing `/` is added. Restricted so
/// the prefix needs no escaping in URLs and cannot climb out (`..`).
fn s3_prefix(env: &dyn Env) -> Result<String, ConfigError> {
    let Some(raw) = env.get("S3_PREFIX") else {
        return Ok(String::new());
    };
    let trimmed = raw.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    let ok = trimmed.len() <= 200
        && trimmed.split('/').all(|seg| {
            !seg.is_empty()
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if !ok {
        return Err(ConfigError::new(
            "S3_PREFIX",
            "must be path segments of A-Z, a-z, 0-9, - and _ separated by / (e.g. parley/)",
        ));
    }
    Ok(format!("{trimmed}/"))
}
