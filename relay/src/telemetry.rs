//! Logging (tracing) and metrics (Prometheus).

use std::sync::OnceLock;
use std::time::Instant;

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogFormat};
use crate::http;

/// Installs the global tracing subscriber. Logs go to stderr.
pub fn init_logging(config: &Config) {
    let filter = EnvFilter::try_new(&config.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour only for people at a terminal, not in log files.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    let _ = match config.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// The process-wide Prometheus recorder (installed once).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder was installed first; then our
            // handle renders nothing, which the metrics test would catch.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

fn is_static(path: &str) -> bool {
    !["/api/", "/blobs/", "/healthz", "/readyz", "/metrics"]
        .iter()
        .any(|p| path.starts_with(p))
}

/// Per-request log line and metrics. Logs the path only, never the query
/// string: signed URLs carry their signature there.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let start = Instant::now();
    let method = req.method().to_string();
    let path = req.path().to_owned();
    let mut res = next.call(req).await?;
    let status = res.status().as_u16();
    let route = res
        .request()
        .match_pattern()
        .filter(|p| !p.is_empty() && p != "/")
        .unwrap_or_else(|| {
            if is_static(&path) {
                "static".into()
            } else {
                "unmatched".into()
            }
        });
    if is_static(&path) {
        http::static_cache_control(&path, res.headers_mut());
    }
    record_request(&method, &route, &path, status, start.elapsed());
    Ok(res)
}

/// A request's metrics and log line (the path only, never the query).
pub(crate) fn record_request(
    method: &str,
    route: &str,
    path: &str,
    status: u16,
    took: std::time::Duration,
) {
    let secs = took.as_secs_f64();
    metrics::counter!("parley_http_requests_total", "method" => method.to_owned(), "route" => route.to_owned(), "status" => status.to_string()).increment(1);
    metrics::histogram!("parley_http_request_duration_seconds", "route" => route.to_owned())
        .record(secs);
    if status >= 500 {
        tracing::warn!(%method, %path, status, ms = secs * 1e3, "request");
    } else {
        tracing::debug!(%method, %path, status, ms = secs * 1e3, "request");
    }
}
