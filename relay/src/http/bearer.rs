//! The bearer token: `Authorization: Bearer <token>` resolves to the device
//! it belongs to, rate-limited per device as well as per IP.

use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use parley_shared::crypto::primitives::sha256;
use parley_shared::protocol::{DeviceId, ErrorCode};

use super::AppState;
use super::fields::unauthorized;
use crate::clock::now_ms;
use crate::error::HttpError;

/// An authenticated device (from `Authorization: Bearer <token>`).
#[derive(Debug, Clone)]
pub struct Authed {
    /// The device the token belongs to.
    pub device: DeviceId,
    /// Hash of the presented token (what the store keeps).
    pub(super) token_hash: [u8; 32],
}

impl FromRequest for Authed {
    type Error = HttpError;
    type Future = LocalBoxFuture<'static, Result<Self, HttpError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let token = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .map(str::to_owned);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let token = token.ok_or_else(|| unauthorized("missing bearer token"))?;
            let state = state.ok_or_else(|| HttpError::new(ErrorCode::Internal, "no state"))?;
            let token_hash = sha256(&[token.as_bytes()]);
            let store = state.store.clone();
            let device = web::block(move || store.device_for_token(&token_hash, now_ms()))
                .await??
                .ok_or_else(|| unauthorized("token unknown, expired or revoked"))?;
            let device = DeviceId::from_bytes(&device).ok_or_else(super::fields::corrupt_row)?;
            // Per device as well as per IP: one device cannot exhaust the
            // relay from many addresses.
            if let Err(wait) = state.limits.per_device_api.take(&device) {
                metrics::counter!("parley_rate_limited_total", "scope" => "device_api")
                    .increment(1);
                return Err(HttpError::retry_after(
                    ErrorCode::RateLimited,
                    "too many requests from this device; slow down",
                    wait,
                ));
            }
            Ok(Self { device, token_hash })
        })
    }
}
