//! Every error of `/api/v1` and `/blobs` is the documented JSON with a stable
//! code (including the ones actix produces itself), every 429 says when to
//! come back, a full PIN slot space says so, and the OpenAPI document lists
//! each of these answers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::api::{Api, client_from};
use common::relay::{Relay, RelayBuilder};
use parley_shared::protocol::auth::encode_b64;
use parley_shared::protocol::rendezvous::{PIN_SLOTS, Rendezvous};
use parley_shared::protocol::{ApiError, ErrorCode};
use serde_json::Value;

/// Checks that `r` is a JSON `ApiError` with `status`; returns it and the headers.
async fn api_error(r: reqwest::Response, status: u16) -> (ApiError, reqwest::header::HeaderMap) {
    let headers = r.headers().clone();
    let (got, url) = (r.status().as_u16(), r.url().clone());
    let body = r.text().await.unwrap();
    assert_eq!(got, status, "{url}: {body}");
    let ct = headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    assert!(
        ct.starts_with("application/json"),
        "{url}: content-type {ct:?}, body {body:?}"
    );
    let err: ApiError =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{url}: {e}: {body}"));
    assert_eq!(err.code.http_status(), status, "{url}: {body}");
    (err, headers)
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> u64 {
    headers
        .get("retry-after")
        .expect("429 without Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn path_payload_and_json_errors_are_json_with_a_code() {
    let relay = RelayBuilder::new().start().await;
    let api = Api::new(&relay);
    let dev = api.register(0).await;
    let http = reqwest::Client::new();
    let auth = format!("Bearer {}", dev.token);
    let url = |p: &str| relay.url(p);

    // A path parameter that does not parse (u16 overflow).
    let r = http
        .get(url("/api/v1/rendezvous/pin/65536"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(api_error(r, 400).await.0.code, ErrorCode::BadRequest);

    // A payload over the endpoint's limit (16 KiB pairing messages).
    let (st, slot) = api
        .send(
            "POST",
            "/api/v1/rendezvous",
            Some(&dev.token),
            Some(r#"{"pin":false}"#.into()),
        )
        .await;
    assert_eq!(st, 201, "{slot}");
    let slot: Rendezvous = serde_json::from_value(slot).unwrap();
    let r = http
        .put(url(&format!("/api/v1/rendezvous/{}/a1", slot.id)))
        .header("authorization", &auth)
        .body(vec![7u8; 16_385])
        .send()
        .await
        .unwrap();
    assert_eq!(api_error(r, 413).await.0.code, ErrorCode::TooLarge);

    // JSON bodies: malformed, wrong content type, wrong shape, too large.
    for (ct, body) in [
        ("application/json", "{".to_owned()),
        ("text/plain", r#"{"device_id":"x"}"#.to_owned()),
        ("application/json", r#"{"device_id":1}"#.to_owned()),
    ] {
        let r = http
            .post(url("/api/v1/auth/login"))
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(api_error(r, 400).await.0.code, ErrorCode::BadRequest);
    }
    let huge = format!(r#"{{"pin":true,"pad":"{}"}}"#, "x".repeat(70_000));
    let r = http
        .post(url("/api/v1/rendezvous"))
        .header("authorization", &auth)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(api_error(r, 413).await.0.code, ErrorCode::TooLarge);

    // The WebSocket endpoint without an upgrade.
    let r = http.get(url("/api/v1/ws")).send().await.unwrap();
    assert_eq!(api_error(r, 400).await.0.code, ErrorCode::BadRequest);

    // Unknown routes and wrong methods, under the API and /blobs.
    for path in ["/api/v1/nothing-here", "/api/v1", "/blobs/a/b", "/blobs"] {
        let r = http.get(url(path)).send().await.unwrap();
        assert_eq!(
            api_error(r, 404).await.0.code,
            ErrorCode::NotFound,
            "{path}"
        );
    }
    for (method, path, allow) in [
        ("GET", "/api/v1/auth/login", "POST"),
        ("POST", "/api/v1/rendezvous/x/a1", "PUT, GET"),
        ("POST", "/blobs/some-key", "PUT, GET, HEAD"),
    ] {
        let r = http
            .request(method.parse().unwrap(), url(path))
            .send()
            .await
            .unwrap();
        let (err, headers) = api_error(r, 405).await;
        assert_eq!(err.code, ErrorCode::MethodNotAllowed, "{method} {path}");
        assert_eq!(headers["allow"], allow, "{method} {path}");
    }
}

#[tokio::test]
async fn rate_limited_answers_carry_retry_after() {
    // 5 per minute: a token every 12 s, for each address and each device.
    let relay = RelayBuilder::new()
        .env("PARLEY_RATE_LIMIT_IP_PER_MIN", "5")
        .start()
        .await;
    // Registered from 127.0.0.1 (two of its tokens); the limits below are
    // exhausted from other addresses.
    let dev = Api::new(&relay).register(0).await;
    let challenge = relay.url("/api/v1/auth/challenge");
    let a = client_from([127, 0, 0, 2]);
    for _ in 0..5 {
        assert_eq!(a.post(&challenge).send().await.unwrap().status(), 200);
    }
    let (err, headers) = api_error(a.post(&challenge).send().await.unwrap(), 429).await;
    assert_eq!(err.code, ErrorCode::RateLimited);
    let wait = retry_after(&headers);
    assert!((1..=12).contains(&wait), "per-IP Retry-After {wait}");

    // Per device: one token used from many addresses.
    let status = relay.url("/api/v1/prekeys/status");
    let from = |n: u8| {
        client_from([127, 0, 1, n])
            .get(&status)
            .header("authorization", format!("Bearer {}", dev.token))
            .send()
    };
    for n in 1..=5 {
        assert_eq!(from(n).await.unwrap().status(), 200);
    }
    let (err, headers) = api_error(from(6).await.unwrap(), 429).await;
    assert!(err.message.contains("device"), "{}", err.message);
    let wait = retry_after(&headers);
    assert!((1..=12).contains(&wait), "per-device Retry-After {wait}");

    // Email codes: one a minute per address.
    let gated = RelayBuilder::new()
        .env("PARLEY_REGISTRATION", "email-otp")
        .env("PARLEY_SMTP_URL", "log")
        .start()
        .await;
    let (st, v) = Api::new(&gated)
        .send(
            "POST",
            "/api/v1/registration/email",
            None,
            Some(r#"{"email":"someone@example.org"}"#.into()),
        )
        .await;
    assert_eq!(st, 202, "{v}");
    let r = reqwest::Client::new()
        .post(gated.url("/api/v1/registration/email"))
        .header("content-type", "application/json")
        .body(r#"{"email":"someone@example.org"}"#)
        .send()
        .await
        .unwrap();
    let (_, headers) = api_error(r, 429).await;
    let wait = retry_after(&headers);
    assert!((50..=60).contains(&wait), "email Retry-After {wait}");

    // The attachment quota.
    let quota = RelayBuilder::new()
        .env("PARLEY_MAX_ATTACHMENTS_PER_DEVICE", "1")
        .start()
        .await;
    let api = Api::new(&quota);
    let (owner, peer) = (api.register(0).await, api.register(0).await);
    let body = format!(
        r#"{{"recipients":["{}"],"size":1024,"ttl_ms":60000}}"#,
        encode_b64(peer.identity.device_id().as_bytes())
    );
    let create = || {
        reqwest::Client::new()
            .post(quota.url("/api/v1/attachments"))
            .header("authorization", format!("Bearer {}", owner.token))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
    };
    assert_eq!(create().await.unwrap().status(), 201);
    let (_, headers) = api_error(create().await.unwrap(), 429).await;
    assert!(retry_after(&headers) >= 1);
}

/// Fills every PIN slot number but `free` with live slots of `owner`,
/// expiring at `expires_at`, straight in the relay's database.
fn fill_pin_slots(relay: &Relay, db_url: Option<&str>, owner: &[u8], free: u16, expires_at: i64) {
    use diesel::prelude::*;
    use diesel::r2d2::ManageConnection as _;
    use parley_relay::config::DatabaseTarget;
    use parley_relay::db::schema::rendezvous as r;
    let target = match db_url {
        Some(url) => DatabaseTarget::parse(url).unwrap(),
        None => DatabaseTarget::Sqlite(relay.data_dir.join("parley.db")),
    };
    let mut conn = parley_relay::db::Manager::new(target).connect().unwrap();
    conn.transaction(|c| {
        for n in (0..PIN_SLOTS).filter(|&n| n != free) {
            let mut id = [0u8; 16];
            id[..2].copy_from_slice(&n.to_be_bytes());
            diesel::insert_into(r::table)
                .values((
                    r::id.eq(id.to_vec()),
                    r::owner.eq(owner),
                    r::pin_slot.eq(Some(i32::from(n))),
                    r::created_at.eq(common::now_ms()),
                    r::expires_at.eq(expires_at),
                ))
                .execute(c)?;
        }
        QueryResult::Ok(())
    })
    .unwrap();
}

async fn full_pin_space_is_a_clear_error(builder: RelayBuilder, db_url: Option<String>) {
    let relay = builder.start().await;
    let api = Api::new(&relay);
    let dev = api.register(0).await;
    // The numbers are held by another device (one device may hold only
    // three open slots).
    let filler = api.register(0).await;
    let create = |pin: bool| {
        reqwest::Client::new()
            .post(relay.url("/api/v1/rendezvous"))
            .header("authorization", format!("Bearer {}", dev.token))
            .header("content-type", "application/json")
            .body(format!(r#"{{"pin":{pin}}}"#))
            .send()
    };
    // All numbers but one taken: the last one is still found.
    let expires_at = common::now_ms() + 300_000;
    fill_pin_slots(
        &relay,
        db_url.as_deref(),
        filler.identity.device_id().as_bytes(),
        537,
        expires_at,
    );
    let r = create(true).await.unwrap();
    assert_eq!(r.status(), 201);
    let slot: Rendezvous = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(slot.pin_slot, Some(537), "the one free number");

    // None left: a clear 503 that says why and when to come back.
    let (err, headers) = api_error(create(true).await.unwrap(), 503).await;
    assert_eq!(err.code, ErrorCode::Unavailable);
    assert!(
        err.message.contains("no PIN slot is free"),
        "{}",
        err.message
    );
    assert!(!err.message.contains("database"), "{}", err.message);
    let wait = retry_after(&headers);
    assert!((1..=60).contains(&wait), "Retry-After {wait}");

    // QR slots need no number and still work.
    assert_eq!(create(false).await.unwrap().status(), 201);
}

#[tokio::test]
async fn openapi_lists_the_errors_every_operation_can_return() {
    let relay = RelayBuilder::new().start().await;
    let body = reqwest::get(relay.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let doc: Value = serde_json::from_slice(&body).unwrap();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !(path.starts_with("/api/v1/") || path.starts_with("/blobs/")) {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            let responses = &op["responses"];
            let has = |status: &str| responses[status]["content"]["application/json"].is_object();
            let what = format!("{method} {path}");
            let bearer = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
            if bearer {
                assert!(has("401"), "{what} lacks 401");
            }
            if op.get("parameters").is_some() || op.get("requestBody").is_some() {
                assert!(has("400"), "{what} lacks 400");
            }
            if op.get("requestBody").is_some() {
                assert!(has("413"), "{what} lacks 413");
            }
            if path.starts_with("/api/v1/") {
                assert!(has("429"), "{what} lacks 429");
                assert!(
                    responses["429"]["headers"]["Retry-After"].is_object(),
                    "{what}: 429 without Retry-After"
                );
            }
            for (status, resp) in responses.as_object().unwrap() {
                assert!(
                    resp["description"].as_str().is_some_and(|d| !d.is_empty()),
                    "{what} {status} has no description"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 22, "only {checked} operations");
    // The ones the issue named.
    for (path, method) in [
        ("/api/v1/devices/{id}/bundle", "get"),
        ("/api/v1/rendezvous/pin/{slot}", "get"),
        ("/api/v1/auth/login", "post"),
        ("/blobs/{key}", "get"),
    ] {
        assert!(
            doc["paths"][path][method]["responses"]["400"].is_object(),
            "{method} {path} lacks 400"
        );
    }
}

common::backends::relay_tests! {
    full_pin_space_is_a_clear_error,
}
