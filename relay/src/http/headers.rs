//! Security headers on every response, and the PWA's Content-Security-Policy.

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::DefaultHeaders;

use crate::config::{BlobBackend, Config};

/// The CSP for the app: no inline script or style, no eval (only
/// `wasm-unsafe-eval`, which WebAssembly compilation needs), same-origin
/// connections plus the S3 endpoint when uploads go there directly.
pub fn content_security_policy(config: &Config) -> String {
    let mut connect = String::from("'self'");
    if let BlobBackend::S3(s3) = &config.blobs {
        connect.push(' ');
        connect.push_str(&s3.endpoint.origin().ascii_serialization());
    }
    format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' blob: data:; media-src 'self' blob:; font-src 'self'; \
         connect-src {connect}; worker-src 'self'; manifest-src 'self'; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'"
    )
}

/// Builds the header set applied to every response.
#[derive(Debug)]
pub struct SecurityHeaders;

impl SecurityHeaders {
    /// Middleware adding CSP and the usual hardening headers.
    pub fn middleware(config: &Config) -> DefaultHeaders {
        Self::pairs(config)
            .into_iter()
            .fold(DefaultHeaders::new(), DefaultHeaders::add)
    }

    /// The headers themselves, for responses written outside the `App`
    /// (the WebSocket handshake's).
    pub fn pairs(config: &Config) -> [(HeaderName, HeaderValue); 6] {
        let csp = HeaderValue::from_str(&content_security_policy(config))
            .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"));
        [
            (header::CONTENT_SECURITY_POLICY, csp),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
            (
                HeaderName::from_static("cross-origin-opener-policy"),
                HeaderValue::from_static("same-origin"),
            ),
            (
                HeaderName::from_static("permissions-policy"),
                HeaderValue::from_static(
                    "camera=(self), microphone=(self), geolocation=(), payment=(), usb=()",
                ),
            ),
        ]
    }
}
