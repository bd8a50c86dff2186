//! `/healthz` (the process answers), `/readyz` (dependencies answer), `/metrics`.

use actix_web::{HttpResponse, web};
use parley_shared::protocol::{CheckState, Readiness, ReadinessChecks};

use super::AppState;
use crate::blob::BlobStore as _;

#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "The process runs")))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Readiness), (status = 503, description = "A dependency is down", body = Readiness)))]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let store = state.store.clone();
    let db = async move {
        match web::block(move || store.ping()).await {
            Ok(Ok(())) => CheckState::Ok,
            Ok(Err(e)) => CheckState::Failed {
                reason: e.to_string(),
            },
            Err(e) => CheckState::Failed {
                reason: e.to_string(),
            },
        }
    };
    let blobs = async {
        match state.blobs.check().await {
            Ok(()) => CheckState::Ok,
            Err(e) => CheckState::Failed {
                reason: e.to_string(),
            },
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
    if body.ready {
        HttpResponse::Ok().json(body)
    } else {
        if let Some(reason) = body.reason() {
            tracing::warn!(%reason, "not ready");
        }
        HttpResponse::ServiceUnavailable().json(body)
    }
}

#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format")))]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}
