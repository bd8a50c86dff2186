//! The relay process as an operator sees it: health, readiness under
//! dependency outages, metrics, start-up errors, shutdown, PWA serving.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::outage::OutageProxy;
use common::relay::{Relay, RelayBuilder};
use serde_json::Value;

async fn get(url: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let r = reqwest::get(url).await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.text().await.unwrap())
}

async fn ready(relay: &Relay) -> (u16, Value) {
    let (st, _, body) = get(&relay.url("/readyz")).await;
    (st, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// Polls readiness until it reports `want` (dependencies recover asynchronously).
async fn wait_ready(relay: &Relay, want: u16) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (st, body) = ready(relay).await;
        if st == want {
            return body;
        }
        assert!(Instant::now() < deadline, "readyz stayed {st}: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn addr_of(url: &str) -> SocketAddr {
    let u = url::Url::parse(url).unwrap();
    format!("{}:{}", u.host_str().unwrap(), u.port().unwrap())
        .parse()
        .unwrap()
}

#[tokio::test]
async fn embedded_defaults_are_healthy_ready_and_measured() {
    let relay = RelayBuilder::new().start().await;
    let (st, _, body) = get(&relay.url("/healthz")).await;
    assert_eq!((st, body.as_str()), (200, r#"{"status":"ok"}"#));
    let (st, body) = ready(&relay).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["ready"], true);
    assert_eq!(body["checks"]["database"]["state"], "ok");
    assert_eq!(body["checks"]["blob_store"]["state"], "ok");
    assert!(
        relay.data_dir.join("parley.db").is_file(),
        "SQLite file under the data dir"
    );
    assert!(
        relay.data_dir.join("blobs").is_dir(),
        "blob dir under the data dir"
    );

    let (st, headers, text) = get(&relay.url("/metrics")).await;
    assert_eq!(st, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(text.contains("parley_http_requests_total"), "{text}");
    assert!(text.contains("route=\"/readyz\""), "{text}");
    assert!(text.contains("parley_ready 1"), "{text}");

    let (st, _, body) = get(&relay.url("/api/v1/nothing-here")).await;
    assert_eq!(st, 404);
    assert!(body.contains(r#""code":"not_found""#), "{body}");
}

/// The threads serving connections (actix names them `actix-rt|system:N`).
fn serving_threads(relay: &Relay) -> usize {
    let tasks = std::fs::read_dir(format!("/proc/{}/task", relay.child.id())).unwrap();
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("actix-rt|system"))
        .count()
}

/// `PARLEY_WORKERS` sets how many threads serve connections, whatever the
/// number of cores, and the relay serves with them.
#[tokio::test]
async fn workers_are_as_many_as_configured() {
    for n in [1usize, 3] {
        let relay = RelayBuilder::new()
            .env("PARLEY_WORKERS", n.to_string())
            .start()
            .await;
        assert_eq!(serving_threads(&relay), n);
        for _ in 0..2 * n {
            assert_eq!(get(&relay.url("/healthz")).await.0, 200);
        }
    }
}

/// Attack: anyone who can reach the relay reads its traffic metrics. Only
/// loopback clients (or holders of the metrics token) get them.
#[tokio::test]
async fn metrics_are_not_served_to_the_world() {
    let relay = RelayBuilder::new()
        .env("PARLEY_TRUSTED_PROXIES", "127.0.0.1")
        .start()
        .await;
    let proxy = common::api::client_from([127, 0, 0, 1]);
    let outside = proxy
        .get(relay.url("/metrics"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(outside.status(), 403);
    assert_eq!(get(&relay.url("/metrics")).await.0, 200, "loopback");

    let token = "metrics-token-for-tests-0123456789";
    let relay = RelayBuilder::new()
        .env("PARLEY_METRICS_TOKEN", token)
        .start()
        .await;
    assert_eq!(get(&relay.url("/metrics")).await.0, 401, "token required");
    let with = reqwest::Client::new()
        .get(relay.url("/metrics"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(with.status(), 200);
}

/// `/readyz` answers from a short cache: a flood of probes does not turn
/// into a flood of database and blob-store checks.
#[tokio::test]
async fn readyz_probes_are_cached() {
    let relay = RelayBuilder::new().start().await;
    wait_ready(&relay, 200).await;
    // A fresh probe now (the cache holds one second), then the outage.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(get(&relay.url("/readyz")).await.0, 200);
    let blobs = relay.data_dir.join("blobs");
    std::fs::remove_dir_all(&blobs).unwrap();
    // Within the cache interval the last answer stands...
    assert_eq!(get(&relay.url("/readyz")).await.0, 200);
    // ...and the outage shows once it has passed.
    wait_ready(&relay, 503).await;
    std::fs::create_dir_all(&blobs).unwrap();
}

#[tokio::test]
async fn local_blob_store_outage_makes_readyz_503_not_healthz() {
    let relay = RelayBuilder::new().start().await;
    wait_ready(&relay, 200).await;
    let blobs = relay.data_dir.join("blobs");
    std::fs::remove_dir_all(&blobs).unwrap();
    let body = wait_ready(&relay, 503).await;
    assert_eq!(body["ready"], false);
    assert_eq!(body["checks"]["blob_store"]["state"], "failed");
    // A short reason for clients; the path and the OS error stay in the log.
    assert_eq!(
        body["checks"]["blob_store"]["reason"], "blob store did not answer",
        "{body}"
    );
    assert!(!body.to_string().contains("blobs"), "{body}");
    assert_eq!(body["checks"]["database"]["state"], "ok");
    assert_eq!(get(&relay.url("/healthz")).await.0, 200);
    std::fs::create_dir_all(&blobs).unwrap();
    wait_ready(&relay, 200).await;
}

#[tokio::test]
async fn postgres_outage_makes_readyz_503_and_recovers() {
    let Some(db_url) = common::fresh_pg_database() else {
        return;
    };
    let mut proxy = OutageProxy::start(addr_of(&db_url));
    let via_proxy = db_url.replacen(&addr_of(&db_url).to_string(), &proxy.addr.to_string(), 1);
    let relay = RelayBuilder::new()
        .env("DATABASE_URL", via_proxy)
        .start()
        .await;
    wait_ready(&relay, 200).await;

    proxy.cut();
    let body = wait_ready(&relay, 503).await;
    assert_eq!(body["checks"]["database"]["state"], "failed", "{body}");
    assert_eq!(body["checks"]["blob_store"]["state"], "ok");
    assert_eq!(
        get(&relay.url("/healthz")).await.0,
        200,
        "process still alive"
    );

    proxy.restore();
    wait_ready(&relay, 200).await;
}

#[tokio::test]
async fn s3_outage_makes_readyz_503_and_recovers() {
    let Some(s3) = common::s3_env() else { return };
    let mut proxy = OutageProxy::start(addr_of(&s3.endpoint));
    let relay = RelayBuilder::new()
        .env("PARLEY_BLOB_BACKEND", "s3")
        .env("S3_ENDPOINT", format!("http://{}", proxy.addr))
        .env("S3_BUCKET", s3.bucket)
        .env("S3_ACCESS_KEY", s3.access_key)
        .env("S3_SECRET_KEY", s3.secret_key)
        .start()
        .await;
    wait_ready(&relay, 200).await;
    let (_, headers, _) = get(&relay.url("/healthz")).await;
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains(&format!("connect-src 'self' http://{}", proxy.addr)),
        "{csp}"
    );

    proxy.cut();
    let body = wait_ready(&relay, 503).await;
    assert_eq!(body["checks"]["blob_store"]["state"], "failed", "{body}");
    assert_eq!(body["checks"]["database"]["state"], "ok");
    proxy.restore();
    wait_ready(&relay, 200).await;
}

/// Runs `serve` with a bad setting; it must exit 2 with one line naming the variable.
fn assert_startup_error(b: RelayBuilder, var: &str) {
    let out = b.run(&["serve"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{var}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<_> = stderr
        .lines()
        .filter(|l| l.starts_with("parley-relay:"))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains(var), "expected {var} in: {stderr}");
}

#[test]
fn bad_configuration_fails_with_one_clear_line() {
    assert_startup_error(
        RelayBuilder::new().env("DATABASE_URL", "mysql://x/y"),
        "DATABASE_URL",
    );
    assert_startup_error(
        RelayBuilder::new().env("DATABASE_URL", "postgres://[oops"),
        "DATABASE_URL",
    );
    let port = common::relay::free_port();
    assert_startup_error(
        RelayBuilder::new().env("DATABASE_URL", format!("postgres://x@127.0.0.1:{port}/db")),
        "DATABASE_URL",
    );
    // A data dir below a regular file cannot be created, even by root.
    let b = RelayBuilder::new();
    let file = b.tmp_path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let b = b.env("PARLEY_DATA_DIR", file.join("data").display().to_string());
    assert_startup_error(b, "PARLEY_DATA_DIR");
    assert_startup_error(
        RelayBuilder::new().env("PARLEY_BIND", "nowhere"),
        "PARLEY_BIND",
    );
    assert_startup_error(
        RelayBuilder::new().env("PARLEY_BLOB_BACKEND", "s3"),
        "S3_ENDPOINT",
    );
}

#[test]
fn missing_s3_bucket_fails_at_startup() {
    let Some(s3) = common::s3_env() else { return };
    let b = RelayBuilder::new()
        .env("PARLEY_BLOB_BACKEND", "s3")
        .env("S3_ENDPOINT", s3.endpoint)
        .env("S3_BUCKET", "parley-missing-bucket")
        .env("S3_ACCESS_KEY", s3.access_key)
        .env("S3_SECRET_KEY", s3.secret_key);
    assert_startup_error(b, "S3_BUCKET");
}

#[test]
fn migrate_subcommand_applies_once() {
    let Some(db_url) = common::fresh_pg_database() else {
        return;
    };
    let b = RelayBuilder::new().env("DATABASE_URL", db_url);
    let first = b.run(&["migrate"]);
    assert!(first.status.success(), "{first:?}");
    assert!(
        String::from_utf8_lossy(&first.stdout).contains("applied 2026"),
        "{first:?}"
    );
    let second = b.run(&["migrate"]);
    assert!(second.status.success());
    assert_eq!(
        String::from_utf8_lossy(&second.stdout).trim(),
        "database is up to date"
    );
}

#[tokio::test]
async fn sigterm_shuts_down_gracefully() {
    let relay = RelayBuilder::new().start().await;
    let (status, log) = relay.terminate();
    assert!(status.success(), "exit {status}: {log}");
    assert!(log.contains("Parley relay stopped"), "{log}");
}

#[tokio::test]
async fn serves_the_pwa_with_strict_headers() {
    let b = RelayBuilder::new();
    let dist = b.tmp_path().join("dist");
    std::fs::create_dir_all(dist.join("icons")).unwrap();
    std::fs::write(
        dist.join("index.html"),
        "<!doctype html><title>Parley</title>",
    )
    .unwrap();
    std::fs::write(
        dist.join("parley-client-0123456789abcdef_bg.wasm"),
        b"\0asm\x01\0\0\0",
    )
    .unwrap();
    std::fs::write(dist.join("manifest.webmanifest"), "{}").unwrap();
    std::fs::write(dist.join("sw.js"), "//").unwrap();
    let relay = b
        .env("PARLEY_STATIC_DIR", dist.display().to_string())
        .start()
        .await;

    let (st, h, body) = get(&relay.url("/")).await;
    assert_eq!(st, 200);
    assert!(body.contains("<title>Parley</title>"));
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    assert_eq!(h["cache-control"], "no-cache");
    let csp = h["content-security-policy"].to_str().unwrap();
    for must in [
        "default-src 'none'",
        "script-src 'self' 'wasm-unsafe-eval';",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ] {
        assert!(csp.contains(must), "CSP lacks {must}: {csp}");
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"),
        "{csp}"
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");

    let (st, h, _) = get(&relay.url("/parley-client-0123456789abcdef_bg.wasm")).await;
    assert_eq!(st, 200);
    assert_eq!(h["content-type"], "application/wasm");
    assert_eq!(h["cache-control"], "public, max-age=31536000, immutable");
    let (_, h, _) = get(&relay.url("/manifest.webmanifest")).await;
    assert_eq!(h["content-type"], "application/manifest+json");
    let (_, h, _) = get(&relay.url("/sw.js")).await;
    assert!(h["content-type"].to_str().unwrap().contains("javascript"));
    assert_eq!(h["cache-control"], "no-cache");

    // Client-side routes get the shell; missing assets do not.
    let (st, _, body) = get(&relay.url("/chats/42")).await;
    assert_eq!(st, 200);
    assert!(body.contains("<title>Parley</title>"));
    assert_eq!(get(&relay.url("/missing-0123456789abcdef.js")).await.0, 404);
}

/// GET with an `Accept-Encoding`: status, headers and the body's bytes as
/// sent (this client decodes nothing).
async fn get_encoded(
    url: &str,
    accept: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = reqwest::Client::new().get(url);
    if let Some(a) = accept {
        req = req.header("accept-encoding", a);
    }
    let r = req.send().await.unwrap();
    let (st, h) = (r.status().as_u16(), r.headers().clone());
    (st, h, r.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn serves_precompressed_copies_to_browsers_that_accept_them() {
    use std::io::Read as _;
    let b = RelayBuilder::new();
    let dist = b.tmp_path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    let wasm: Vec<u8> = (0..50_000u32)
        .flat_map(|i| (i % 251).to_le_bytes())
        .collect();
    let name = "parley-client-0123456789abcdef_bg.wasm";
    std::fs::write(dist.join(name), &wasm).unwrap();
    let mut br = Vec::new();
    brotli::CompressorReader::new(wasm.as_slice(), 4096, 11, 22)
        .read_to_end(&mut br)
        .unwrap();
    std::fs::write(dist.join(format!("{name}.br")), &br).unwrap();
    // A gzip copy, marked so the test sees which file was sent.
    std::fs::write(dist.join(format!("{name}.gz")), b"gzip copy").unwrap();
    let html = "<!doctype html><title>Parley</title>";
    std::fs::write(dist.join("index.html"), html).unwrap();
    std::fs::write(dist.join("index.html.gz"), b"gzip index").unwrap();
    let relay = b
        .env("PARLEY_STATIC_DIR", dist.display().to_string())
        .start()
        .await;
    let url = relay.url(&format!("/{name}"));

    // Brotli accepted: the .br file as is, which decompresses to the file.
    let (st, h, body) = get_encoded(&url, Some("gzip, deflate, br, zstd")).await;
    assert_eq!(st, 200);
    assert_eq!(h["content-encoding"], "br");
    assert_eq!(h["content-type"], "application/wasm");
    assert_eq!(h["cache-control"], "public, max-age=31536000, immutable");
    assert!(
        h["vary"]
            .to_str()
            .unwrap()
            .to_lowercase()
            .contains("accept-encoding")
    );
    assert!(h.contains_key("content-security-policy"));
    assert_eq!(body, br);
    let mut plain = Vec::new();
    brotli::Decompressor::new(body.as_slice(), 4096)
        .read_to_end(&mut plain)
        .unwrap();
    assert_eq!(plain, wasm);

    // Only gzip: the .gz copy.
    let (_, h, body) = get_encoded(&url, Some("gzip")).await;
    assert_eq!(h["content-encoding"], "gzip");
    assert_eq!(body, b"gzip copy");
    // Brotli refused: not brotli.
    let (_, h, _) = get_encoded(&url, Some("br;q=0, gzip")).await;
    assert_eq!(h["content-encoding"], "gzip");

    // No Accept-Encoding: the file itself, unencoded.
    let (st, h, body) = get_encoded(&url, None).await;
    assert_eq!(st, 200);
    assert!(!h.contains_key("content-encoding"));
    assert_eq!(body, wasm);
    // Identity only: the same.
    let (_, h, body) = get_encoded(&url, Some("identity")).await;
    assert!(!h.contains_key("content-encoding"));
    assert_eq!(body, wasm);

    // The app shell at `/`: its copy, as HTML that revalidates.
    let (_, h, body) = get_encoded(&relay.url("/"), Some("gzip")).await;
    assert_eq!(h["content-encoding"], "gzip");
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    assert_eq!(h["cache-control"], "no-cache");
    assert_eq!(body, b"gzip index");
    let (_, h, body) = get_encoded(&relay.url("/"), None).await;
    assert!(!h.contains_key("content-encoding"));
    assert_eq!(body, html.as_bytes());

    // A file changed after its copies were made: the copies are stale.
    let newer = std::time::SystemTime::now() + Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(dist.join("index.html"))
        .unwrap()
        .set_modified(newer)
        .unwrap();
    let (_, h, body) = get_encoded(&relay.url("/"), Some("gzip")).await;
    // (gzipped on the fly by the Compress middleware instead)
    assert!(h.contains_key("vary"));
    assert_ne!(body, b"gzip index");
    let (_, h, body) = get_encoded(&relay.url("/"), Some("br")).await;
    assert!(!h.contains_key("content-encoding"));
    assert_eq!(body, html.as_bytes());
}

#[tokio::test]
async fn openapi_document_covers_every_rest_endpoint() {
    let relay = RelayBuilder::new().start().await;
    let (st, h, body) = get(&relay.url("/api/v1/openapi.json")).await;
    assert_eq!(st, 200);
    assert!(
        h["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    // The app reads the registration gate before onboarding.
    let (st, _, info) = get(&relay.url("/api/v1/info")).await;
    assert_eq!(st, 200);
    let info: Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["registration"], "open");
    let gated = RelayBuilder::new()
        .env("PARLEY_REGISTRATION", "email-otp")
        .env("PARLEY_SMTP_URL", "log")
        .start()
        .await;
    let (_, _, info) = get(&gated.url("/api/v1/info")).await;
    let info: Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["registration"], "email_otp");
    for (path, method) in [
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
        ("/api/v1/info", "get"),
        ("/api/v1/turn", "get"),
        ("/api/v1/attachments", "post"),
        ("/api/v1/attachments/{id}", "delete"),
        ("/api/v1/attachments/{id}/download", "post"),
        ("/api/v1/auth/challenge", "post"),
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/session", "delete"),
        ("/api/v1/auth/sessions", "delete"),
        ("/api/v1/devices", "post"),
        ("/api/v1/devices/me", "delete"),
        ("/api/v1/devices/{id}/bundle", "get"),
        ("/api/v1/prekeys", "put"),
        ("/api/v1/prekeys/status", "get"),
        ("/api/v1/rendezvous", "post"),
        ("/api/v1/rendezvous", "delete"),
        ("/api/v1/rendezvous/pin/{slot}", "get"),
        ("/api/v1/rendezvous/{id}", "delete"),
        ("/api/v1/rendezvous/{id}/pin", "post"),
        ("/api/v1/rendezvous/{id}/reject", "post"),
        ("/api/v1/rendezvous/{id}/{msg}", "put"),
        ("/api/v1/rendezvous/{id}/{msg}", "get"),
        ("/api/v1/registration/email", "post"),
        ("/blobs/{key}", "put"),
        ("/blobs/{key}", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} missing from the OpenAPI document"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for schema in [
        "RegisterRequest",
        "KeyUpload",
        "Session",
        "ApiError",
        "Readiness",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "schema {schema}"
        );
    }
    // Device ids are one documented string type wherever a body holds one.
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["DeviceId"]["type"], "string");
    assert!(schemas["DeviceId"]["description"].is_string());
    for (schema, field) in [("LoginRequest", "device_id"), ("Session", "device_id")] {
        assert_eq!(
            schemas[schema]["properties"][field]["$ref"], "#/components/schemas/DeviceId",
            "{schema}.{field}"
        );
    }
    let recipients = &schemas["CreateAttachment"]["properties"]["recipients"];
    assert_eq!(recipients["type"], "array");
    assert_eq!(
        recipients["items"]["$ref"], "#/components/schemas/DeviceId",
        "CreateAttachment.recipients"
    );
}
