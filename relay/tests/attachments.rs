//! `/api/v1/attachments` on both blob backends (the local store and a real
//! SeaweedFS): sized uploads through pre-signed URLs, downloads for the
//! recipients only (each ending its own access), early deletion from the
//! store, expiry through the sweeper; and the attacks on it (URLs outliving
//! their attachment, orphans, quotas).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::api::{Api, Device};
use common::relay::Relay;
use parley_relay::blob::{BlobKey, BlobStore as _, LocalBlobStore, S3BlobStore, UrlSigner};
use parley_shared::protocol::attachments::{AttachmentDownload, AttachmentUpload, SignedUrl};
use parley_shared::protocol::auth::encode_b64;
use serde_json::json;

/// A relay under test, with direct access to its blob store for what the API
/// cannot show.
struct Backend {
    name: String,
    relay: Relay,
    /// The relay's bucket under its own prefix (S3 only).
    s3: Option<S3BlobStore>,
}

impl Backend {
    fn local(&self) -> LocalBlobStore {
        LocalBlobStore::new(
            self.relay.data_dir.join("blobs"),
            url::Url::parse(&self.relay.base).unwrap(),
            UrlSigner::new(vec![0; 32]),
        )
    }

    /// Whether the object is in the store, looked up directly.
    async fn stored(&self, id: &str) -> bool {
        let key = BlobKey::parse(id).unwrap();
        match &self.s3 {
            None => self.local().path_for(&key).exists(),
            Some(s3) => {
                let get = s3.presign_get(&key, Duration::from_secs(60)).await.unwrap();
                let (st, _) = common::send_signed("GET", &get.url, &get.headers, None).await;
                st == 200
            }
        }
    }

    /// Stores an object that no row names, behind the relay's back.
    async fn put_orphan(&self, key: &BlobKey, body: Vec<u8>) {
        match &self.s3 {
            None => {
                let path = self.local().path_for(key);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, body).unwrap();
            }
            Some(s3) => {
                let put = s3
                    .presign_put(key, body.len() as u64, Duration::from_secs(60))
                    .await
                    .unwrap();
                let (st, _) = common::send_signed("PUT", &put.url, &put.headers, Some(body)).await;
                assert_eq!(st, 200, "{}: direct upload", self.name);
            }
        }
    }

    /// Waits until the sweeper has removed the object.
    async fn until_gone(&self, id: &str, within: Duration) {
        let deadline = std::time::Instant::now() + within;
        while self.stored(id).await {
            if std::time::Instant::now() >= deadline {
                // The sweeper's lines say whether it tried (seen once, in a
                // CI run with other heavy work on the machine).
                let logs = self.relay.logs();
                let sweeper: Vec<&str> = logs.lines().filter(|l| l.contains("sweeper")).collect();
                panic!(
                    "{}: object {id} still stored after {within:?}; the relay's sweeper lines:\n{}",
                    self.name,
                    sweeper[sweeper.len().saturating_sub(30)..].join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// Which blob store a relay under test uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Store {
    Local,
    S3,
}

/// Which database it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Db {
    Sqlite,
    Postgres,
}

/// A relay on `store` × `db` with `extra` settings and a sweeper pass every
/// second; `None` when the services for it are not running (and not
/// required).
async fn backend(store: Store, db: Db, extra: &[(&str, &str)]) -> Option<Backend> {
    let s3_env = match store {
        Store::Local => None,
        Store::S3 => Some(common::s3_env()?),
    };
    let (builder, _pg) = match db {
        Db::Sqlite => common::backends::sqlite_relay(),
        Db::Postgres => common::backends::postgres_relay()?,
    };
    let mut b = builder.env("PARLEY_SWEEP_INTERVAL_SECS", "1");
    for (k, v) in extra {
        b = b.env(k, *v);
    }
    let mut s3 = None;
    if let Some(env) = &s3_env {
        // Its own prefix, so its orphan sweep never meets other tests'
        // objects in the shared bucket.
        let prefix = format!("t-{}/", BlobKey::random().unwrap().as_str());
        b = b
            .env("PARLEY_BLOB_BACKEND", "s3")
            .env("S3_ENDPOINT", env.endpoint.clone())
            .env("S3_BUCKET", env.bucket.clone())
            .env("S3_ACCESS_KEY", env.access_key.clone())
            .env("S3_SECRET_KEY", env.secret_key.clone())
            .env("S3_PREFIX", prefix.clone());
        let mut cfg = env.config();
        cfg.prefix = prefix;
        s3 = Some(S3BlobStore::new(&cfg).unwrap());
    }
    Some(Backend {
        name: format!("{store:?}/{db:?}").to_lowercase(),
        relay: b.start().await,
        s3,
    })
}

/// Sends a signed request exactly as a browser would.
async fn send(req: &SignedUrl, body: Option<Vec<u8>>) -> (u16, Vec<u8>) {
    let (st, bytes) = common::send_signed(&req.method, &req.url, &req.headers, body).await;
    (st.as_u16(), bytes)
}

async fn create(
    api: &Api,
    from: &Device,
    to: &Device,
    size: u64,
    ttl: u32,
) -> (u16, serde_json::Value) {
    let recipient = encode_b64(to.identity.device_id().as_bytes());
    let body = json!({"size": size, "recipients": [recipient], "ttl_ms": u64::from(ttl) * 1000});
    api.send(
        "POST",
        "/api/v1/attachments",
        Some(&from.token),
        Some(body.to_string()),
    )
    .await
}

async fn download_url(api: &Api, who: &Device, id: &str) -> (u16, serde_json::Value) {
    api.send(
        "POST",
        &format!("/api/v1/attachments/{id}/download"),
        Some(&who.token),
        None,
    )
    .await
}

async fn attachments_upload_download_delete_and_expire(store: Store, db: Db) {
    let Some(b) = backend(store, db, &[("PARLEY_MAX_BLOB_BYTES", "4096")]).await else {
        return;
    };
    let (api, backend) = (Api::new(&b.relay), &b.name);
    let (alice, bob, eve) = (
        api.register(1).await,
        api.register(1).await,
        api.register(1).await,
    );
    let cipher: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 251) as u8).collect();

    let (st, v) = create(&api, &alice, &bob, cipher.len() as u64, 600).await;
    assert_eq!(st, 201, "{backend}: {v}");
    let up: AttachmentUpload = serde_json::from_value(v).unwrap();
    // The store enforces the signed length: one byte more or less is refused.
    let (st, _) = send(&up.upload, Some(cipher[..cipher.len() - 1].to_vec())).await;
    assert!(
        (400..500).contains(&st),
        "{backend}: short upload accepted ({st})"
    );
    let (st, _) = send(&up.upload, Some(cipher.clone())).await;
    assert_eq!(st, 200, "{backend}: upload");

    // Only the recipient gets a download URL; everyone else a plain 404.
    for (who, name) in [(&eve, "eve"), (&alice, "the sender")] {
        let (st, v) = download_url(&api, who, &up.id).await;
        assert_eq!(
            (st, v["code"].as_str()),
            (404, Some("not_found")),
            "{backend}: {name}: {v}"
        );
    }
    let (st, v) = download_url(&api, &bob, &up.id).await;
    assert_eq!(st, 200, "{backend}: {v}");
    let down: AttachmentDownload = serde_json::from_value(v).unwrap();
    assert_eq!(down.size, cipher.len() as u64);
    let (st, got) = send(&down.download, None).await;
    assert_eq!((st, got == cipher), (200, true), "{backend}: download");
    // A GET URL is not a PUT URL.
    let swapped = SignedUrl {
        method: "PUT".into(),
        ..down.download.clone()
    };
    let (st, _) = send(&swapped, Some(vec![0; cipher.len()])).await;
    assert!(
        (400..500).contains(&st),
        "{backend}: method swap accepted ({st})"
    );

    // Eve cannot delete it; Bob (accepted and downloaded) can, and then
    // the object is gone from the store, not just the row.
    let path = format!("/api/v1/attachments/{}", up.id);
    assert_eq!(
        api.send("DELETE", &path, Some(&eve.token), None).await.0,
        404
    );
    assert_eq!(
        api.send("DELETE", &path, Some(&bob.token), None).await.0,
        204
    );
    assert_eq!(
        send(&down.download, None).await.0,
        404,
        "{backend}: object deleted"
    );
    assert_eq!(download_url(&api, &bob, &up.id).await.0, 404);

    // Limits: size and lifetime.
    let (st, v) = create(&api, &alice, &bob, 4097, 600).await;
    assert_eq!(
        (st, v["code"].as_str()),
        (413, Some("too_large")),
        "{backend}"
    );
    assert_eq!(create(&api, &alice, &bob, 10, 0).await.0, 400);
    assert_eq!(create(&api, &alice, &bob, 10, 8 * 24 * 3600).await.0, 400);
    // A client from before milliseconds names the old field: refused,
    // never read as a lifetime in the wrong unit.
    let recipient = encode_b64(bob.identity.device_id().as_bytes());
    let old = json!({"size": 10, "recipients": [recipient], "ttl_secs": 60});
    let path = "/api/v1/attachments";
    let st = api
        .send("POST", path, Some(&alice.token), Some(old.to_string()))
        .await
        .0;
    assert_eq!(st, 400, "{backend}");
    let nobody = Device {
        identity: parley_shared::crypto::keys::IdentityKeyPair::generate(
            &mut parley_shared::crypto::os_rng(),
        ),
        token: String::new(),
    };
    assert_eq!(create(&api, &alice, &nobody, 10, 60).await.0, 404);
    assert_eq!(
        api.send("POST", "/api/v1/attachments", None, Some("{}".into()))
            .await
            .0,
        401
    );

    // Expiry: the sweeper deletes the object from the store. (Six
    // seconds: the upload URL lives no longer than the row, in whole
    // seconds, and the upload and the download URL must both come before
    // the end; two seconds ran out on a loaded CI machine.)
    let (_, v) = create(&api, &alice, &bob, 100, 6).await;
    let short: AttachmentUpload = serde_json::from_value(v).unwrap();
    assert_eq!(send(&short.upload, Some(vec![1; 100])).await.0, 200);
    let (status, v) = download_url(&api, &bob, &short.id).await;
    assert_eq!(
        status, 200,
        "{backend}: download URL before the expiry: {v}"
    );
    let short_down: AttachmentDownload = serde_json::from_value(v).unwrap();
    assert!(
        short_down.download.expires_at_ms <= short.expires_at_ms,
        "{backend}"
    );
    b.until_gone(&short.id, Duration::from_secs(30)).await;
    assert_eq!(download_url(&api, &bob, &short.id).await.0, 404);
    assert_ne!(send(&short_down.download, None).await.0, 200, "{backend}");

    // A recipient who erases its account takes waiting attachments along.
    let (_, v) = create(&api, &alice, &eve, 50, 600).await;
    let for_eve: AttachmentUpload = serde_json::from_value(v).unwrap();
    assert_eq!(send(&for_eve.upload, Some(vec![2; 50])).await.0, 200);
    let (_, v) = download_url(&api, &eve, &for_eve.id).await;
    let eve_down: AttachmentDownload = serde_json::from_value(v).unwrap();
    assert_eq!(send(&eve_down.download, None).await.0, 200);
    assert_eq!(
        api.send("DELETE", "/api/v1/devices/me", Some(&eve.token), None)
            .await
            .0,
        204
    );
    assert_eq!(
        send(&eve_down.download, None).await.0,
        404,
        "{backend}: erased with the recipient"
    );
}

// ---------------------------------------------------------------------------
// Attacks on the store behind the API: URLs that outlive their attachment,
// objects no row counts, quotas. Each runs on the local store and on
// SeaweedFS, each with SQLite and PostgreSQL.

async fn delete(api: &Api, who: &Device, id: &str) -> u16 {
    let path = format!("/api/v1/attachments/{id}");
    api.send("DELETE", &path, Some(&who.token), None).await.0
}

async fn created(api: &Api, from: &Device, to: &Device, size: u64, ttl: u32) -> AttachmentUpload {
    let (st, v) = create(api, from, to, size, ttl).await;
    assert_eq!(st, 201, "{v}");
    serde_json::from_value(v).unwrap()
}

fn quota_exceeded((st, v): &(u16, serde_json::Value)) -> bool {
    *st == 429 && v["code"] == "quota_exceeded"
}

async fn upload_url_of_deleted_attachment_is_refused(store: Store, db: Db) {
    let Some(b) = backend(
        store,
        db,
        &[
            ("PARLEY_BLOB_URL_TTL_SECS", "10"),
            ("PARLEY_MAX_ATTACHMENTS_PER_DEVICE", "2"),
        ],
    )
    .await
    else {
        return;
    };
    deleted_attachment(&b).await;
}

async fn deleted_attachment(b: &Backend) {
    let (api, name) = (Api::new(&b.relay), &b.name);
    let (alice, bob) = (api.register(1).await, api.register(1).await);

    // Deleted before anything was uploaded (cancelled, or declined at once).
    let early = created(&api, &alice, &bob, 1000, 600).await;
    assert_eq!(delete(&api, &alice, &early.id).await, 204);
    let (st_early, _) = send(&early.upload, Some(vec![1; 1000])).await;

    // Deleted after upload and download; then the sender uploads again.
    let late = created(&api, &alice, &bob, 1000, 600).await;
    assert_eq!(send(&late.upload, Some(vec![2; 1000])).await.0, 200);
    let (_, v) = download_url(&api, &bob, &late.id).await;
    let down: AttachmentDownload = serde_json::from_value(v).unwrap();
    assert_eq!(send(&down.download, None).await.0, 200);
    assert_eq!(delete(&api, &bob, &late.id).await, 204);
    let (st_late, _) = send(&late.upload, Some(vec![3; 1000])).await;

    if b.s3.is_none() {
        // The relay checks the row on every request: the URLs died with it.
        assert_eq!(
            (st_early, st_late),
            (403, 403),
            "{name}: upload after delete"
        );
        assert!(!b.stored(&early.id).await, "{name}: nothing stored");
        assert!(!b.stored(&late.id).await, "{name}: nothing stored again");
        assert_eq!(
            send(&down.download, None).await.0,
            404,
            "{name}: old download URL"
        );
    } else {
        // A pre-signed S3 URL works until it expires, whatever the relay
        // says: what it stores stays counted in the sender's quota (two
        // attachments) and is swept once the URL is dead.
        let r = create(&api, &alice, &bob, 10, 600).await;
        assert!(
            quota_exceeded(&r),
            "{name}: deleted but usable URLs still count: {r:?}"
        );
        b.until_gone(&early.id, Duration::from_secs(40)).await;
        b.until_gone(&late.id, Duration::from_secs(10)).await;
    }
    // Either way the API hands out nothing for them, and the quota is free
    // again (the sweeper drops the row just after the object).
    for id in [&early.id, &late.id] {
        assert_eq!(download_url(&api, &bob, id).await.0, 404, "{name}");
        assert_eq!(delete(&api, &alice, id).await, 404, "{name}: deleted once");
    }
    created_within(&api, &alice, &bob, Duration::from_secs(5), name).await;
}

/// Creates a 10-byte attachment, retrying while the quota is still used up.
async fn created_within(api: &Api, from: &Device, to: &Device, within: Duration, name: &str) {
    let deadline = std::time::Instant::now() + within;
    loop {
        let r = create(api, from, to, 10, 600).await;
        if r.0 == 201 {
            return;
        }
        assert!(quota_exceeded(&r), "{name}: {r:?}");
        assert!(
            std::time::Instant::now() < deadline,
            "{name}: quota never freed"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn upload_after_expiry_sweep_is_refused_or_swept(store: Store, db: Db) {
    // The configured URL lifetime (300 s) is far longer than the row's.
    let Some(b) = backend(store, db, &[]).await else {
        return;
    };
    expired_attachment(&b).await;
}

async fn expired_attachment(b: &Backend) {
    let (api, name) = (Api::new(&b.relay), &b.name);
    let (alice, bob) = (api.register(1).await, api.register(1).await);
    let up = created(&api, &alice, &bob, 100, 2).await;
    assert!(
        up.upload.expires_at_ms <= up.expires_at_ms,
        "{name}: upload URL outlives its row ({:?} > {:?})",
        up.upload.expires_at_ms,
        up.expires_at_ms
    );
    assert_eq!(send(&up.upload, Some(vec![1; 100])).await.0, 200, "{name}");
    // The row expires, a sweeper pass deletes the object...
    b.until_gone(&up.id, Duration::from_secs(20)).await;
    // ...and the upload URL cannot bring it back: on the local store the row
    // is gone, and on both the URL expired with the row.
    let (st, body) = send(&up.upload, Some(vec![2; 100])).await;
    assert_eq!(
        st,
        403,
        "{name}: upload after expiry: {}",
        String::from_utf8_lossy(&body)
    );
    assert!(!b.stored(&up.id).await, "{name}: nothing stored");
    assert_eq!(download_url(&api, &bob, &up.id).await.0, 404, "{name}");
}

async fn orphan_objects_are_swept(store: Store, db: Db) {
    // Upload URLs live 2 s, so objects older than 2 s + 5 s of clock margin
    // without a row are orphans.
    let Some(b) = backend(store, db, &[("PARLEY_BLOB_URL_TTL_SECS", "2")]).await else {
        return;
    };
    orphans(&b).await;
}

async fn orphans(b: &Backend) {
    let (api, name) = (Api::new(&b.relay), &b.name);
    let (alice, bob) = (api.register(1).await, api.register(1).await);
    let kept = created(&api, &alice, &bob, 100, 600).await;
    assert_eq!(
        send(&kept.upload, Some(vec![1; 100])).await.0,
        200,
        "{name}"
    );

    let orphan = BlobKey::random().unwrap();
    b.put_orphan(&orphan, vec![2; 100]).await;
    assert!(b.stored(orphan.as_str()).await, "{name}: orphan stored");
    // A crashed upload's temporary file, on the local store.
    let part = b.local().path_for(&orphan).with_file_name(".x.1.part");
    if b.s3.is_none() {
        std::fs::write(&part, b"partial").unwrap();
    }
    b.until_gone(orphan.as_str(), Duration::from_secs(40)).await;
    assert!(!part.exists(), "{name}: stale temporary file removed");

    // An object with a row is never an orphan, however old.
    assert!(b.stored(&kept.id).await, "{name}: live object swept");
    let (_, v) = download_url(&api, &bob, &kept.id).await;
    let down: AttachmentDownload = serde_json::from_value(v).unwrap();
    assert_eq!(send(&down.download, None).await.0, 200, "{name}");
}

async fn byte_quota_per_device(store: Store, db: Db) {
    let Some(b) = backend(
        store,
        db,
        &[
            ("PARLEY_MAX_BLOB_BYTES", "4096"),
            ("PARLEY_MAX_ATTACHMENT_BYTES_PER_DEVICE", "10000"),
            ("PARLEY_BLOB_URL_TTL_SECS", "2"),
        ],
    )
    .await
    else {
        return;
    };
    byte_quota(&b).await;
}

async fn byte_quota(b: &Backend) {
    let (api, name) = (Api::new(&b.relay), &b.name);
    let (alice, bob) = (api.register(1).await, api.register(1).await);
    let first = created(&api, &alice, &bob, 4000, 600).await;
    created(&api, &alice, &bob, 4000, 600).await;
    let r = create(&api, &alice, &bob, 4000, 600).await;
    assert!(quota_exceeded(&r), "{name}: 12,000 bytes of 10,000: {r:?}");
    assert!(
        r.1["message"].as_str().unwrap().contains("10000 bytes"),
        "{r:?}"
    );
    created(&api, &alice, &bob, 2000, 600).await;
    let r = create(&api, &alice, &bob, 1, 600).await;
    assert!(quota_exceeded(&r), "{name}: one byte over: {r:?}");
    // Per device: Bob's own quota is untouched.
    created(&api, &bob, &alice, 4000, 600).await;

    // Deleting gives the bytes back, on S3 only once the upload URL is dead
    // (until then it could still store them).
    assert_eq!(delete(&api, &alice, &first.id).await, 204);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let r = create(&api, &alice, &bob, 4000, 600).await;
        if r.0 == 201 {
            break;
        }
        assert!(quota_exceeded(&r), "{name}: {r:?}");
        assert!(b.s3.is_some(), "{name}: the local store frees at once");
        assert!(std::time::Instant::now() < deadline, "{name}: never freed");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

// ---------------------------------------------------------------------------
// Several recipients (a group room, ADR 0026).

/// `POST /api/v1/attachments` for `to` (raw JSON, so bad lists can be sent).
async fn create_for(
    api: &Api,
    from: &Device,
    to: &[&Device],
    size: u64,
) -> (u16, serde_json::Value) {
    let recipients: Vec<String> = to
        .iter()
        .map(|d| encode_b64(d.identity.device_id().as_bytes()))
        .collect();
    let body = json!({"size": size, "recipients": recipients, "ttl_ms": 600_000});
    api.send(
        "POST",
        "/api/v1/attachments",
        Some(&from.token),
        Some(body.to_string()),
    )
    .await
}

async fn attachment_for_several_recipients(store: Store, db: Db) {
    let extra = [("PARLEY_MAX_ATTACHMENTS_PER_DEVICE", "2")];
    let Some(b) = backend(store, db, &extra).await else {
        return;
    };
    let (api, name) = (Api::new(&b.relay), &b.name);
    let [alice, r1, r2, r3, eve] = api.devices::<5>().await;

    // The list: 1 to 1024 distinct devices, not the sender.
    for bad in [vec![], vec![&r1, &r1], vec![&r1, &alice]] {
        let (st, v) = create_for(&api, &alice, &bad, 10).await;
        assert_eq!(
            (st, v["code"].as_str()),
            (400, Some("bad_request")),
            "{name}: {v}"
        );
    }

    let (st, v) = create_for(&api, &alice, &[&r1, &r2, &r3], 100).await;
    assert_eq!(st, 201, "{name}: {v}");
    let up: AttachmentUpload = serde_json::from_value(v).unwrap();
    assert_eq!(send(&up.upload, Some(vec![5; 100])).await.0, 200);
    let (st, v) = create_for(&api, &alice, &[&r1, &r2], 100).await;
    assert_eq!(st, 201, "{name}: {v}");
    let other: AttachmentUpload = serde_json::from_value(v).unwrap();
    assert_eq!(send(&other.upload, Some(vec![6; 100])).await.0, 200);
    // Each object counts once in the quota, whatever its recipients.
    let r = create_for(&api, &alice, &[&r1], 10).await;
    assert!(quota_exceeded(&r), "{name}: {r:?}");

    // Every recipient may download; anyone else gets the plain 404.
    for who in [&r1, &r2, &r3] {
        let (st, v) = download_url(&api, who, &up.id).await;
        assert_eq!(st, 200, "{name}: {v}");
        let down: AttachmentDownload = serde_json::from_value(v).unwrap();
        assert_eq!(send(&down.download, None).await, (200, vec![5; 100]));
    }
    for who in [&eve, &alice] {
        let (st, v) = download_url(&api, who, &up.id).await;
        assert_eq!((st, v["code"].as_str()), (404, Some("not_found")), "{name}");
    }
    assert_eq!(delete(&api, &eve, &up.id).await, 404, "{name}: a stranger");

    // Each recipient ends only its own access; the last one deletes it.
    assert_eq!(delete(&api, &r1, &up.id).await, 204);
    assert_eq!(download_url(&api, &r1, &up.id).await.0, 404, "{name}");
    assert_eq!(delete(&api, &r1, &up.id).await, 404, "{name}: once");
    assert_eq!(delete(&api, &r2, &up.id).await, 204);
    assert!(b.stored(&up.id).await, "{name}: still there for r3");
    let (st, v) = download_url(&api, &r3, &up.id).await;
    assert_eq!(st, 200, "{name}: {v}");
    let last: AttachmentDownload = serde_json::from_value(v).unwrap();
    assert_eq!(send(&last.download, None).await.0, 200);
    assert_eq!(delete(&api, &r3, &up.id).await, 204);
    assert!(
        !b.stored(&up.id).await,
        "{name}: gone with the last recipient"
    );
    assert_eq!(send(&last.download, None).await.0, 404, "{name}");
    assert_eq!(
        delete(&api, &alice, &up.id).await,
        404,
        "{name}: already gone"
    );

    // The owner's delete ends it for every recipient at once.
    assert_eq!(delete(&api, &alice, &other.id).await, 204);
    assert!(!b.stored(&other.id).await, "{name}: owner deleted it");
    for who in [&r1, &r2] {
        assert_eq!(download_url(&api, who, &other.id).await.0, 404, "{name}");
    }
}

/// One named test per behaviour per store and database: a failure reads
/// `s3_postgres::byte_quota_per_device`.
macro_rules! matrix {
    ($($name:ident),* $(,)?) => {
        matrix!(@mod local_sqlite, Local, Sqlite, $($name),*);
        matrix!(@mod local_postgres, Local, Postgres, $($name),*);
        matrix!(@mod s3_sqlite, S3, Sqlite, $($name),*);
        matrix!(@mod s3_postgres, S3, Postgres, $($name),*);
    };
    (@mod $m:ident, $store:ident, $db:ident, $($name:ident),*) => {
        mod $m {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::Store::$store, super::Db::$db).await;
                }
            )*
        }
    };
}

matrix! {
    attachments_upload_download_delete_and_expire,
    upload_url_of_deleted_attachment_is_refused,
    upload_after_expiry_sweep_is_refused_or_swept,
    orphan_objects_are_swept,
    byte_quota_per_device,
    attachment_for_several_recipients,
}
