//! Web Push subscriptions (ADR 0023): the VAPID public key, and a device
//! registering or removing its browsers' subscriptions.

use actix_web::{HttpResponse, web};
use parley_shared::protocol::push::{PushKey, PushSubscription};
use parley_shared::protocol::{ApiError, ErrorCode};
use url::{Host, Url};

use super::AppState;
use super::bearer::Authed;
use super::fields::bad;
use crate::clock::now_ms;
use crate::db::PushSubscriptionRow;
use crate::error::HttpError;

/// `GET /api/v1/push/key`: the VAPID public key browsers subscribe with.
#[utoipa::path(get, path = "/api/v1/push/key", tag = "push",
    responses((status = 200, description = "The relay's VAPID public key", body = PushKey)))]
pub(super) async fn key(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(PushKey {
        public_key: state.push.public_key().to_owned(),
    })
}

/// Whether the relay may send to `endpoint`: an `https://` URL on a host
/// name (no address literal, no `localhost`), so a device cannot point the
/// relay's requests at the relay's own network; or, when configured for a
/// local test push service, `http://127.0.0.1`.
fn allowed_endpoint(endpoint: &str, allow_loopback_http: bool) -> bool {
    let Ok(url) = Url::parse(endpoint) else {
        return false;
    };
    if !url.username().is_empty() || url.password().is_some() {
        return false;
    }
    match (url.scheme(), url.host()) {
        ("https", Some(Host::Domain(name))) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name.contains('.') && name != "localhost" && !name.ends_with(".localhost")
        }
        ("http", Some(Host::Ipv4(ip))) => allow_loopback_http && ip.is_loopback(),
        _ => false,
    }
}

/// `PUT /api/v1/push/subscriptions`: registers this browser's subscription
/// under the presented token (logging that token out removes it).
#[utoipa::path(put, path = "/api/v1/push/subscriptions", tag = "push", security(("bearer" = [])),
    request_body = PushSubscription,
    responses((status = 204, description = "Registered; the device's oldest beyond the limit are dropped"), (status = 400, body = ApiError)))]
pub(super) async fn put(
    state: web::Data<AppState>,
    who: Authed,
    body: web::Json<PushSubscription>,
) -> Result<HttpResponse, HttpError> {
    let loopback = state.config.push.allow_loopback_http;
    let sub = body.check(loopback).map_err(|e| bad(&e.to_string()))?;
    if !allowed_endpoint(&sub.endpoint, loopback) {
        return Err(HttpError::new(
            ErrorCode::BadRequest,
            "the push endpoint must be an https:// URL on a public host name",
        ));
    }
    let row = PushSubscriptionRow {
        endpoint: sub.endpoint,
        device_id: who.device.to_bytes().to_vec(),
        token_hash: who.token_hash.to_vec(),
        p256dh: sub.p256dh.to_vec(),
        auth: sub.auth.to_vec(),
        created_at: now_ms(),
    };
    let store = state.store.clone();
    web::block(move || store.put_push_subscription(&row)).await??;
    Ok(HttpResponse::NoContent().finish())
}

/// `DELETE /api/v1/push/subscriptions`: removes every subscription of the device.
#[utoipa::path(delete, path = "/api/v1/push/subscriptions", tag = "push", security(("bearer" = [])),
    responses((status = 204, description = "The device's subscriptions are removed")))]
pub(super) async fn delete(
    state: web::Data<AppState>,
    who: Authed,
) -> Result<HttpResponse, HttpError> {
    let store = state.store.clone();
    let device = who.device;
    web::block(move || store.delete_device_push_subscriptions(device.as_bytes())).await??;
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::allowed_endpoint;

    #[test]
    fn only_public_https_hosts_or_configured_loopback() {
        assert!(allowed_endpoint(
            "https://fcm.googleapis.com/fcm/send/x",
            false
        ));
        assert!(allowed_endpoint("https://web.push.apple.com/Q", false));
        for refused in [
            "https://127.0.0.1/x",
            "https://[::1]/x",
            "https://10.0.0.1/x",
            "https://localhost/x",
            "https://push.localhost/x",
            "https://intranet/x",
            "https://user:pw@push.example/x", // pragma: allowlist secret (refused credentials)
            "http://push.example/x",
            "ftp://push.example/x",
            "http://127.0.0.1:9000/x",
        ] {
            assert!(!allowed_endpoint(refused, false), "{refused}");
        }
        assert!(allowed_endpoint("http://127.0.0.1:9000/x", true));
        assert!(!allowed_endpoint("http://10.0.0.1:9000/x", true));
    }
}
