//! One blob-store suite, run against the relay's local-disk store (through the
//! real relay process) and a real S3 server (SeaweedFS from `make test`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::relay::RelayBuilder;

use std::time::Duration;

use base64::Engine as _;
use parley_relay::blob::{
    BlobKey, BlobStore, Blobs, LocalBlobStore, S3BlobStore, SignedRequest, UrlSigner,
};
use parley_relay::config::DatabaseTarget;
use parley_relay::db::{BlobQuota, BlobRecord, Store};
use reqwest::StatusCode;

/// The rows of the relay whose local store is under test: its store serves
/// an object only while a live row names it. `None` for S3, which never asks.
struct Rows(Option<Store>);

impl Rows {
    const OWNER: [u8; 32] = [9; 32];

    fn new(store: Option<Store>) -> Self {
        if let Some(s) = &store {
            s.upsert_device(&Self::OWNER, 1).unwrap();
        }
        Self(store)
    }

    /// A live row for `key` with `len` bytes (what creating an attachment does).
    fn live(&self, key: &BlobKey, len: usize) {
        let Some(store) = &self.0 else { return };
        let now = common::now_ms();
        let rec = BlobRecord {
            id: key.as_str().into(),
            owner: Self::OWNER.to_vec(),
            size: len as i64,
            created_at: now,
            expires_at: now + 3_600_000,
        };
        store.insert_blob(&rec, BlobQuota::UNLIMITED).unwrap();
    }
}

fn data(len: usize, seed: u8) -> Vec<u8> {
    let mut x = u32::from(seed) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Sends `req` as the client would: the signed method and headers (the body
/// sets its own content-length).
async fn send(
    req: &SignedRequest,
    method: &str,
    url: &str,
    body: Option<Vec<u8>>,
) -> (StatusCode, Vec<u8>) {
    common::send_signed(method, url, &req.headers, body).await
}

/// Changes one character of the signature parameter, whatever its name.
fn forge(url: &str) -> String {
    let mut u = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "sig" || k.eq_ignore_ascii_case("X-Amz-Signature") {
                let mut c: Vec<char> = v.chars().collect();
                c[0] = if c[0] == 'a' { 'b' } else { 'a' };
                c.into_iter().collect()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    u.into()
}

async fn get_status<S: BlobStore>(store: &S, key: &BlobKey) -> StatusCode {
    let get = store
        .presign_get(key, Duration::from_secs(60))
        .await
        .unwrap();
    send(&get, "GET", &get.url, None).await.0
}

/// A new live object holding `body`, uploaded exactly as signed.
async fn uploaded<S: BlobStore>(store: &S, rows: &Rows, body: &[u8]) -> BlobKey {
    let key = BlobKey::random().unwrap();
    rows.live(&key, body.len());
    let put = store
        .presign_put(&key, body.len() as u64, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(put.method, "PUT");
    let (st, _) = send(&put, "PUT", &put.url, Some(body.to_vec())).await;
    assert_eq!(st, StatusCode::OK, "signed upload");
    key
}

async fn suite<S: BlobStore>(store: &S, rows: &Rows) {
    let ttl = Duration::from_secs(60);
    let body = data(200_000, 1);

    // Happy path: upload exactly as signed, download the same bytes.
    let key = uploaded(store, rows, &body).await;
    let get = store.presign_get(&key, ttl).await.unwrap();
    let (st, got) = send(&get, "GET", &get.url, None).await;
    assert_eq!(st, StatusCode::OK, "signed download");
    assert!(got == body, "downloaded bytes differ");

    // Forged signatures.
    let (st, _) = send(&get, "GET", &forge(&get.url), None).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "forged GET");
    let key2 = BlobKey::random().unwrap();
    rows.live(&key2, 1000);
    let put2 = store.presign_put(&key2, 1000, ttl).await.unwrap();
    let (st, _) = send(&put2, "PUT", &forge(&put2.url), Some(data(1000, 2))).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "forged PUT");
    // A URL re-targeted at another object.
    let other = put2.url.replacen(key2.as_str(), key.as_str(), 1);
    let (st, _) = send(&put2, "PUT", &other, Some(data(1000, 2))).await;
    assert_eq!(
        st,
        StatusCode::FORBIDDEN,
        "PUT URL re-targeted to another key"
    );

    // Method swaps.
    let (st, _) = send(&get, "PUT", &get.url, Some(data(10, 3))).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "download URL used to upload");
    let (st, _) = send(&put2, "GET", &put2.url, None).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "upload URL used to download");

    // Wrong lengths: more and fewer bytes than signed; nothing is stored.
    for wrong in [1001, 999, 0] {
        let (st, _) = send(&put2, "PUT", &put2.url, Some(data(wrong, 4))).await;
        assert!(
            st.is_client_error(),
            "{wrong} bytes on a 1000-byte URL: {st}"
        );
    }
    assert_eq!(
        get_status(store, &key2).await,
        StatusCode::NOT_FOUND,
        "nothing stored"
    );
    let (st, _) = send(&put2, "PUT", &put2.url, Some(data(1000, 4))).await;
    assert_eq!(st, StatusCode::OK, "the exact length still works");

    // Expiry.
    let key3 = BlobKey::random().unwrap();
    rows.live(&key3, 10);
    let short_put = store
        .presign_put(&key3, 10, Duration::from_secs(1))
        .await
        .unwrap();
    let short_get = store
        .presign_get(&key, Duration::from_secs(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let (st, _) = send(&short_put, "PUT", &short_put.url, Some(data(10, 5))).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "expired PUT");
    let (st, _) = send(&short_get, "GET", &short_get.url, None).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "expired GET");

    // Delete, idempotently.
    store.delete(&key).await.unwrap();
    store.delete(&key).await.unwrap();
    assert_eq!(
        get_status(store, &key).await,
        StatusCode::NOT_FOUND,
        "deleted"
    );
    store.delete(&key2).await.unwrap();
    store.check().await.unwrap();
}

const SIGNING_KEY: [u8; 32] = [42; 32];

async fn local_relay(extra: &[(&str, &str)]) -> (common::relay::Relay, LocalBlobStore) {
    local_relay_on(RelayBuilder::new(), extra).await
}

async fn local_relay_on(
    builder: RelayBuilder,
    extra: &[(&str, &str)],
) -> (common::relay::Relay, LocalBlobStore) {
    let mut b = builder.env(
        "PARLEY_URL_SIGNING_KEY",
        base64::engine::general_purpose::STANDARD.encode(SIGNING_KEY),
    );
    for (k, v) in extra {
        b = b.env(k, *v);
    }
    let relay = b.start().await;
    let store = LocalBlobStore::new(
        relay.data_dir.join("blobs"),
        url::Url::parse(&relay.base).unwrap(),
        UrlSigner::new(SIGNING_KEY.to_vec()),
    );
    (relay, store)
}

async fn local_store_through_the_relay(builder: RelayBuilder, pg_url: Option<String>) {
    let (relay, store) = local_relay_on(builder, &[]).await;
    // The relay's own database, opened next to it (SQLite in WAL mode
    // takes a second process).
    let target = match pg_url {
        Some(url) => DatabaseTarget::parse(&url).unwrap(),
        None => DatabaseTarget::Sqlite(relay.data_dir.join("parley.db")),
    };
    let rows = Rows::new(Some(Store::connect(&target, 2).unwrap()));
    suite(&store, &rows).await;
    sent_as_stored(&store, &rows).await;
}

/// A browser's download (it accepts gzip, brotli and zstd) gets the stored
/// bytes as they are. Ciphertext does not compress: compressing it on the
/// fly only cost the relay CPU and bounded the download (7.6 MB/s through
/// the same middleware on a debug build here, docs/benchmarks.md).
async fn sent_as_stored(store: &LocalBlobStore, rows: &Rows) {
    let body = data(300_000, 3);
    let key = uploaded(store, rows, &body).await;
    let get = store
        .presign_get(&key, Duration::from_secs(60))
        .await
        .unwrap();
    let mut req = reqwest::Client::new()
        .get(&get.url)
        .header("accept-encoding", "gzip, deflate, br, zstd");
    for (k, v) in &get.headers {
        req = req.header(k, v);
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let encoding = res.headers().get("content-encoding").cloned();
    assert!(
        encoding.as_ref().is_none_or(|e| e == "identity"),
        "sent with content-encoding {encoding:?}"
    );
    assert_eq!(res.content_length(), Some(body.len() as u64), "not chunked");
    assert!(res.bytes().await.unwrap() == body, "the stored bytes");
}

#[tokio::test]
async fn local_store_refuses_oversized_and_unsigned_requests() {
    let (relay, store) = local_relay(&[("PARLEY_MAX_BLOB_BYTES", "1000")]).await;
    let key = BlobKey::random().unwrap();
    let put = store
        .presign_put(&key, 2000, Duration::from_secs(60))
        .await
        .unwrap();
    let (st, body) = send(&put, "PUT", &put.url, Some(data(2000, 1))).await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(String::from_utf8_lossy(&body).contains("\"too_large\""));
    let unsigned = relay.url(&format!("/blobs/{}", key.as_str()));
    let (st, body) = send(&put, "GET", &unsigned, None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(String::from_utf8_lossy(&body).contains("\"forbidden\""));
    let (st, _) = send(&put, "GET", &relay.url("/blobs/..%2Fetc?exp=1&sig=x"), None).await;
    assert!(st.is_client_error());
}

async fn s3_store() -> Option<S3BlobStore> {
    let env = common::s3_env()?;
    let store = S3BlobStore::new(&env.config()).unwrap();
    // SeaweedFS creates the bucket just after its port opens.
    for _ in 0..100 {
        if store.verify_bucket().await.is_ok() {
            return Some(store);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "S3 bucket never became available: {:?}",
        store.verify_bucket().await
    );
}

#[tokio::test]
async fn s3_store_against_seaweedfs() {
    let Some(store) = s3_store().await else {
        return;
    };
    suite(&store, &Rows::new(None)).await;
}

#[tokio::test]
async fn s3_missing_bucket_is_reported_as_such() {
    let Some(env) = common::s3_env() else { return };
    let mut cfg = env.config();
    cfg.bucket = "parley-no-such-bucket".into();
    let err = S3BlobStore::new(&cfg)
        .unwrap()
        .verify_bucket()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[tokio::test]
async fn sweeper_deletes_expired_objects_from_the_bucket() {
    let Some(s3) = s3_store().await else { return };
    let blobs = Blobs::S3(s3);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&DatabaseTarget::Sqlite(dir.path().join("r.db")), 2).unwrap();
    store.migrate().unwrap();
    let owner = vec![5u8; 32];
    store.upsert_device(&owner, 1).unwrap();

    let now = common::now_ms();
    let mut keys = Vec::new();
    for (i, expires_at) in [now - 1_000, now + 3_600_000].into_iter().enumerate() {
        let key = BlobKey::random().unwrap();
        let put = blobs
            .presign_put(&key, 100, Duration::from_secs(60))
            .await
            .unwrap();
        let (st, _) = send(&put, "PUT", &put.url, Some(data(100, i as u8))).await;
        assert_eq!(st, StatusCode::OK);
        store
            .insert_blob(
                &BlobRecord {
                    id: key.as_str().into(),
                    owner: owner.clone(),
                    size: 100,
                    created_at: now,
                    expires_at,
                },
                BlobQuota::UNLIMITED,
            )
            .unwrap();
        keys.push(key);
    }
    let report = parley_relay::sweeper::sweep_blobs(&store, &blobs, now).await;
    assert_eq!((report.deleted, report.failed), (1, 0));
    assert_eq!(
        get_status(&blobs, &keys[0]).await,
        StatusCode::NOT_FOUND,
        "expired object gone from the bucket"
    );
    assert!(
        store.blob(keys[0].as_str()).unwrap().is_none(),
        "and its row"
    );
    assert_eq!(
        get_status(&blobs, &keys[1]).await,
        StatusCode::OK,
        "live object kept"
    );
    assert!(store.blob(keys[1].as_str()).unwrap().is_some());
}

common::backends::relay_tests! {
    local_store_through_the_relay,
}
