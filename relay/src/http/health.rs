//! `/healthz` (the process answers), `/readyz` (dependencies answer), `/metrics`.

use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, web};
use parley_shared::crypto::primitives::sha256;
use parley_shared::protocol::{CheckState, ErrorCode, Readiness, ReadinessChecks};
use subtle::ConstantTimeEq as _;

use super::{AppState, client_ip};
use crate::blob::BlobStore as _;
use crate::error::HttpError;

/// How long a readiness probe's answer is reused: a flood of `/readyz`
/// requests costs one database ping and one blob-store check per interval.
const READY_CACHE: Duration = Duration::from_secs(1);

/// The last readiness answer, shared by all workers; the lock also makes
/// concurrent requests wait for one probe instead of starting their own.
#[derive(Debug, Default)]
pub struct ReadyCache(tokio::sync::Mutex<Option<(Instant, Readiness)>>);

/// A short, stable reason for clients; the detail goes to the log only.
fn failed(what: &str, detail: &dyn std::fmt::Display) -> CheckState {
    tracing::warn!(%detail, "{what} check failed");
    CheckState::Failed {
        reason: format!("{what} did not answer"),
    }
}

#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "The process runs")))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Readiness), (status = 503, description = "A dependency is down", body = Readiness)))]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let mut cached = state.ready_cache.0.lock().await;
    let body = match cached.as_ref() {
        Some((at, body)) if at.elapsed() < READY_CACHE => body.clone(),
        _ => {
            let body = probe(&state).await;
            *cached = Some((Instant::now(), body.clone()));
            body
        }
    };
    drop(cached);
    if body.ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

async fn probe(state: &AppState) -> Readiness {
    let store = state.store.clone();
    let db = async move {
        match web::block(move || store.ping()).await {
            Ok(Ok(())) => CheckState::Ok,
            Ok(Err(e)) => failed("database", &e),
            Err(e) => failed("database", &e),
        }
    };
    let blobs = async {
        match state.blobs.check().await {
            Ok(()) => CheckState::Ok,
            Err(e) => failed("blob store", &e),
        }
    };
    let (database, blob_store) = futures_util::future::join(db, blobs).await;
    let body = Readiness::from_checks(
        ReadinessChecks {
            database,
            blob_store,
        },
        env!("CARGO_PKG_VERSION"),
    );
    metrics::gauge!("parley_ready").set(if body.ready { 1.0 } else { 0.0 });
    body
}

/// Metrics tell an observer about traffic, so they are not for everyone:
/// with `PARLEY_METRICS_TOKEN` set, only for that bearer token; without it,
/// only for clients on loopback (behind a trusted proxy, the forwarded
/// client address counts, so a proxy on the same host does not open them).
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format"),
    (status = 401, description = "A metrics token is configured and was not presented", body = parley_shared::protocol::ApiError),
    (status = 403, description = "Not a loopback client and no metrics token configured", body = parley_shared::protocol::ApiError)))]
pub async fn metrics(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    match &state.config.metrics_token_hash {
        Some(want) => {
            let presented = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(|t| sha256(&[t.trim().as_bytes()]));
            if !presented.is_some_and(|got| bool::from(got.ct_eq(want))) {
                return Err(HttpError::new(
                    ErrorCode::Unauthorized,
                    "metrics need the metrics token",
                ));
            }
        }
        None => {
            let local = req.peer_addr().is_some_and(|peer| {
                client_ip::client_ip(peer.ip(), req.headers(), &state.config.trusted_proxies)
                    .is_loopback()
            });
            if !local {
                return Err(HttpError::new(
                    ErrorCode::Forbidden,
                    "metrics are served to loopback clients only (or set PARLEY_METRICS_TOKEN)",
                ));
            }
        }
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render()))
}
