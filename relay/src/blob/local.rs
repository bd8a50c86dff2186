//! Local-disk blob store: objects are files; access is through URLs the relay
//! signs with HMAC-SHA256 and checks itself (see `http::blobs`).
//!
//! Signed message: `parley-blob-v1\n{METHOD}\n{key}\n{exp}\n{len|-}`. The
//! method and (for PUT) the exact length are covered, so a download URL cannot
//! upload and an upload URL cannot carry more or fewer bytes than declared.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64ct::{Base64UrlUnpadded, Encoding as _};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use tokio::io::AsyncWriteExt;
use url::Url;

use super::{BlobError, BlobKey, BlobStore, ObjectPage, SignedRequest};
use crate::clock::unix_secs;

type HmacSha256 = Hmac<Sha256>;

/// HMAC key for local blob URLs.
#[derive(Clone)]
pub struct UrlSigner {
    key: Vec<u8>,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UrlSigner(<redacted>)")
    }
}

impl Drop for UrlSigner {
    fn drop(&mut self) {
        // Best effort: the key is relay-side only, but do not leave it in freed memory.
        self.key.iter_mut().for_each(|b| *b = 0);
    }
}

impl UrlSigner {
    /// A signer with this key (at least 32 bytes, checked by the config).
    pub fn new(key: Vec<u8>) -> Self {
        Self { key }
    }

    fn mac(&self, method: &str, key: &BlobKey, exp: u64, len: Option<u64>) -> HmacSha256 {
        let len = len.map_or_else(|| "-".to_owned(), |l| l.to_string());
        // new_from_slice only fails for fixed-size-key MACs; HMAC takes any length.
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(format!("parley-blob-v1\n{method}\n{}\n{exp}\n{len}", key.as_str()).as_bytes());
        mac
    }

    /// Signature for a request.
    pub fn sign(&self, method: &str, key: &BlobKey, exp: u64, len: Option<u64>) -> String {
        Base64UrlUnpadded::encode_string(&self.mac(method, key, exp, len).finalize().into_bytes())
    }

    /// Checks a presented signature in constant time, then the expiry: the
    /// URL works strictly before second `exp`, so it never outlives what it
    /// was signed for (the relay caps that at its row's expiry).
    pub fn verify(
        &self,
        method: &str,
        key: &BlobKey,
        exp: u64,
        len: Option<u64>,
        sig: &str,
    ) -> Result<(), BlobError> {
        let sig = Base64UrlUnpadded::decode_vec(sig)
            .map_err(|_| BlobError::Forbidden("malformed signature"))?;
        self.mac(method, key, exp, len)
            .verify_slice(&sig)
            .map_err(|_| BlobError::Forbidden("bad signature"))?;
        if unix_secs() >= exp {
            return Err(BlobError::Forbidden("expired"));
        }
        Ok(())
    }
}

/// Objects under a directory, sharded by the first two key characters.
#[derive(Debug, Clone)]
pub struct LocalBlobStore {
    dir: PathBuf,
    base: Url,
    signer: UrlSigner,
}

impl LocalBlobStore {
    /// A store in `dir` whose URLs start at `base` (the relay's public URL).
    pub fn new(dir: PathBuf, base: Url, signer: UrlSigner) -> Self {
        Self { dir, base, signer }
    }

    /// The signer, for the HTTP handlers that verify requests.
    pub fn signer(&self) -> &UrlSigner {
        &self.signer
    }

    /// Where an object lives on disk.
    pub fn path_for(&self, key: &BlobKey) -> PathBuf {
        let k = key.as_str();
        let shard = &k[..k.len().min(2)];
        self.dir.join(shard).join(k)
    }

    fn url(&self, key: &BlobKey, query: &str) -> Result<String, BlobError> {
        let mut url = self
            .base
            .join(&format!("blobs/{}", key.as_str()))
            .map_err(|e| BlobError::Unavailable(e.to_string()))?;
        url.set_query(Some(query));
        Ok(url.into())
    }

    /// Whether the object is stored.
    pub async fn exists(&self, key: &BlobKey) -> Result<bool, BlobError> {
        Ok(tokio::fs::try_exists(self.path_for(key)).await?)
    }

    /// Streams exactly `len` bytes from `body` into the object, atomically
    /// and once: the object appears only when every byte is on disk, and
    /// [`BlobError::AlreadyExists`] if it was stored already (also when two
    /// uploads race: the first to finish wins).
    pub async fn write<S, E>(&self, key: &BlobKey, len: u64, mut body: S) -> Result<(), BlobError>
    where
        S: futures_util::Stream<Item = Result<bytes_like::Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        use futures_util::StreamExt as _;
        let dest = self.path_for(key);
        let parent = dest.parent().unwrap_or(&self.dir).to_path_buf();
        tokio::fs::create_dir_all(&parent).await?;
        let tmp = parent.join(format!(".{}.{}.part", key.as_str(), unix_nanos()));
        let result = async {
            let mut file = tokio::fs::File::create(&tmp).await?;
            let mut written: u64 = 0;
            while let Some(chunk) = body.next().await {
                let chunk =
                    chunk.map_err(|e| BlobError::Unavailable(format!("upload aborted: {e}")))?;
                written += chunk.len() as u64;
                if written > len {
                    return Err(BlobError::LengthMismatch);
                }
                file.write_all(&chunk).await?;
            }
            if written != len {
                return Err(BlobError::LengthMismatch);
            }
            file.sync_all().await?;
            // A hard link, unlike rename, never replaces an existing file:
            // this is the atomic "not uploaded yet" check.
            match tokio::fs::hard_link(&tmp, &dest).await {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    Err(BlobError::AlreadyExists)
                }
                other => Ok(other?),
            }
        }
        .await;
        // After a link the object has its own name; the temporary one goes
        // either way.
        let _ = tokio::fs::remove_file(&tmp).await;
        result
    }

    /// One shard directory per page (`page` = the previous shard's name).
    /// Also deletes temporary files of uploads that stopped writing before
    /// `before`: a relay that crashed mid-upload leaves them behind.
    async fn list_shard(&self, before: u64, page: Option<String>) -> Result<ObjectPage, BlobError> {
        let mut shards = Vec::new();
        let mut dir = match tokio::fs::read_dir(&self.dir).await {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ObjectPage::default()),
            Err(e) => return Err(e.into()),
        };
        while let Some(entry) = dir.next_entry().await? {
            let name = entry.file_name().to_string_lossy().into_owned();
            let after_page = page.as_ref().is_none_or(|p| &name > p);
            if after_page && entry.file_type().await?.is_dir() && BlobKey::parse(&name).is_ok() {
                shards.push(name);
            }
        }
        shards.sort_unstable();
        let Some(shard) = shards.first().cloned() else {
            return Ok(ObjectPage::default());
        };
        let mut keys = Vec::new();
        let mut files = tokio::fs::read_dir(self.dir.join(&shard)).await?;
        while let Some(entry) = files.next_entry().await? {
            let meta = match entry.metadata().await {
                Ok(m) if m.is_file() => m,
                // Gone meanwhile (deleted or renamed), or not a file.
                _ => continue,
            };
            let modified = meta
                .modified()?
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            if modified >= before {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Ok(key) = BlobKey::parse(&name) {
                keys.push(key);
            } else if name.starts_with('.') && name.ends_with(".part") {
                let _ = tokio::fs::remove_file(entry.path()).await;
            }
        }
        Ok(ObjectPage {
            keys,
            next: (shards.len() > 1).then_some(shard),
        })
    }
}

fn unix_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// Re-export so the write API does not tie callers to a specific bytes crate path.
pub mod bytes_like {
    pub use actix_web::web::Bytes;
}

impl BlobStore for LocalBlobStore {
    async fn presign_put(
        &self,
        key: &BlobKey,
        len: u64,
        ttl: Duration,
    ) -> Result<SignedRequest, BlobError> {
        let exp = unix_secs() + ttl.as_secs();
        let sig = self.signer.sign("PUT", key, exp, Some(len));
        Ok(SignedRequest {
            method: "PUT",
            url: self.url(key, &format!("exp={exp}&len={len}&sig={sig}"))?,
            headers: vec![("content-length".into(), len.to_string())],
            expires_at: exp,
        })
    }

    async fn presign_get(&self, key: &BlobKey, ttl: Duration) -> Result<SignedRequest, BlobError> {
        let exp = unix_secs() + ttl.as_secs();
        let sig = self.signer.sign("GET", key, exp, None);
        Ok(SignedRequest {
            method: "GET",
            url: self.url(key, &format!("exp={exp}&sig={sig}"))?,
            headers: Vec::new(),
            expires_at: exp,
        })
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError> {
        match tokio::fs::remove_file(self.path_for(key)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn check(&self) -> Result<(), BlobError> {
        // Writing a probe proves the directory exists and is writable, which
        // is what uploads need; a mere stat would not catch a read-only mount.
        let probe = self.dir.join(".readyz");
        let res = async {
            tokio::fs::write(&probe, b"ok").await?;
            tokio::fs::remove_file(&probe).await
        }
        .await;
        res.map_err(|e| BlobError::Unavailable(format!("{}: {e}", self.dir.display())))
    }

    async fn list_older(&self, before: u64, page: Option<String>) -> Result<ObjectPage, BlobError> {
        self.list_shard(before, page).await
    }

    fn revokes_uploads(&self) -> bool {
        // `http::blobs` checks the row before and after every upload.
        true
    }
}

/// Creates the blob directory if needed and proves it is writable; used at
/// start-up so a bad path fails with a clear message.
pub fn prepare_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(".startup-probe");
    std::fs::write(&probe, b"ok")?;
    std::fs::remove_file(probe)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> UrlSigner {
        UrlSigner::new(vec![7u8; 32])
    }

    #[test]
    fn signature_covers_method_key_expiry_and_length() {
        let s = signer();
        let k = BlobKey::parse("abc").unwrap();
        let exp = unix_secs() + 60;
        let sig = s.sign("PUT", &k, exp, Some(10));
        assert!(s.verify("PUT", &k, exp, Some(10), &sig).is_ok());
        assert!(s.verify("GET", &k, exp, Some(10), &sig).is_err());
        assert!(
            s.verify("PUT", &BlobKey::parse("abd").unwrap(), exp, Some(10), &sig)
                .is_err()
        );
        assert!(s.verify("PUT", &k, exp + 1, Some(10), &sig).is_err());
        assert!(s.verify("PUT", &k, exp, Some(11), &sig).is_err());
        assert!(s.verify("PUT", &k, exp, None, &sig).is_err());
        assert!(
            UrlSigner::new(vec![8u8; 32])
                .verify("PUT", &k, exp, Some(10), &sig)
                .is_err()
        );
        assert!(s.verify("PUT", &k, exp, Some(10), "!!").is_err());
    }

    #[test]
    fn expired_signature_is_refused_even_if_authentic() {
        let s = signer();
        let k = BlobKey::parse("abc").unwrap();
        let exp = unix_secs() - 1;
        let sig = s.sign("GET", &k, exp, None);
        assert!(matches!(
            s.verify("GET", &k, exp, None, &sig),
            Err(BlobError::Forbidden("expired"))
        ));
    }

    #[test]
    fn debug_output_hides_the_key() {
        assert!(!format!("{:?}", signer()).contains('7'));
    }
}
