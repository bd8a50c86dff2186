//! Test harness: real services from `make test`, a real relay process, and an
//! outage proxy that can cut a dependency off and bring it back.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub(crate) mod api;
pub(crate) mod backends;
pub(crate) mod device;
pub(crate) mod link;
pub(crate) mod outage;
pub(crate) mod push_service;
pub(crate) mod relay;

use std::sync::atomic::{AtomicU32, Ordering};

/// The value of a service variable set by `make test`. Returns `None` (and
/// says so) when running plain `cargo test` without services; fails when
/// `PARLEY_REQUIRE_SERVICES=1`, so CI can never skip silently.
pub(crate) fn service_env(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            if std::env::var("PARLEY_REQUIRE_SERVICES").as_deref() == Ok("1") {
                panic!("{name} is not set but PARLEY_REQUIRE_SERVICES=1 (run through `make test`)");
            }
            eprintln!("SKIPPED: {name} not set; run `make test` to start the real services");
            None
        }
    }
}

/// S3 settings of the SeaweedFS started by `make test`.
#[derive(Debug, Clone)]
pub(crate) struct S3Env {
    pub endpoint: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
}

pub(crate) fn s3_env() -> Option<S3Env> {
    Some(S3Env {
        endpoint: service_env("PARLEY_TEST_S3_ENDPOINT")?,
        bucket: service_env("PARLEY_TEST_S3_BUCKET")?,
        access_key: service_env("PARLEY_TEST_S3_ACCESS_KEY")?,
        secret_key: service_env("PARLEY_TEST_S3_SECRET_KEY")?,
    })
}

impl S3Env {
    pub(crate) fn config(&self) -> parley_relay::config::S3Config {
        parley_relay::config::S3Config {
            endpoint: url::Url::parse(&self.endpoint).unwrap(),
            region: "us-east-1".into(),
            bucket: self.bucket.clone(),
            prefix: String::new(),
            access_key: self.access_key.clone(),
            secret_key: self.secret_key.clone(),
        }
    }
}

/// A fresh, empty PostgreSQL database on the test cluster; returns its URL.
pub(crate) fn fresh_pg_database() -> Option<String> {
    use diesel::{Connection, RunQueryDsl, pg::PgConnection};
    static N: AtomicU32 = AtomicU32::new(0);
    let admin = service_env("PARLEY_TEST_POSTGRES_URL")?;
    let name = format!(
        "t_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let mut conn = PgConnection::establish(&admin).expect("connect to test PostgreSQL");
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .expect("create test database");
    let (base, _) = admin.rsplit_once('/').expect("URL has a database path");
    Some(format!("{base}/{name}"))
}

/// Unix milliseconds now.
pub(crate) fn now_ms() -> i64 {
    parley_relay::clock::now_ms()
}

/// Sends a pre-signed request as a browser would: the signed method, URL and
/// headers (the body sets its own content-length).
pub(crate) async fn send_signed(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Option<Vec<u8>>,
) -> (reqwest::StatusCode, Vec<u8>) {
    let mut b = reqwest::Client::new().request(method.parse().unwrap(), url);
    for (k, v) in headers {
        if k != "content-length" {
            b = b.header(k, v);
        }
    }
    if let Some(body) = body {
        b = b.body(body);
    }
    let r = b.send().await.unwrap();
    (r.status(), r.bytes().await.unwrap().to_vec())
}

/// An envelope id that carries a sequence number (tests of order).
pub(crate) fn numbered_id(i: u16) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..2].copy_from_slice(&i.to_be_bytes());
    id
}

/// The sequence number in a [`numbered_id`].
pub(crate) fn number_of(id: &[u8; 16]) -> u16 {
    u16::from_be_bytes([id[0], id[1]])
}
