//! `GET /api/v1/turn`: coturn REST-API credentials (HMAC-SHA1 over
//! `expiry:opaque-id`, coturn's format) for authenticated devices.

use actix_web::{HttpResponse, web};
use parley_shared::protocol::auth::encode_b64;
use parley_shared::protocol::turn::TurnCredentials;
use parley_shared::protocol::{ApiError, ErrorCode};
use parley_shared::time::Millis;

use super::AppState;
use super::bearer::Authed;
use crate::clock::now_ms;
use crate::error::HttpError;

/// `GET /api/v1/turn`: time-limited TURN credentials for the caller.
#[utoipa::path(get, path = "/api/v1/turn", tag = "calls", security(("bearer" = [])),
    responses((status = 200, description = "Credentials; no URLs when this relay has no TURN server", body = TurnCredentials), (status = 401, body = ApiError)))]
pub(super) async fn turn(
    state: web::Data<AppState>,
    _who: Authed,
) -> Result<HttpResponse, HttpError> {
    use base64ct::{Base64, Encoding as _};
    use hmac::{KeyInit as _, Mac as _};
    // No TURN server: an empty server list, not an error (a browser logs
    // every 404 as a console error on each call).
    let Some(turn) = &state.config.turn else {
        return Ok(HttpResponse::Ok()
            .insert_header(("cache-control", "no-store"))
            .json(TurnCredentials {
                urls: Vec::new(),
                username: String::new(),
                credential: String::new(),
                ttl_ms: Millis::from_millis(0),
                relay_only: false,
            }));
    };
    let expiry = u64::try_from(now_ms() / 1000).unwrap_or(0) + turn.ttl.as_secs();
    // An opaque id per credential, not the device id: coturn's logs and
    // allocations then cannot be tied to a Parley device.
    let mut opaque = [0u8; 12];
    getrandom::fill(&mut opaque)
        .map_err(|_| HttpError::new(ErrorCode::Internal, "no randomness"))?;
    let username = format!("{expiry}:{}", encode_b64(&opaque));
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(turn.secret.as_bytes())
        .map_err(|_| HttpError::new(ErrorCode::Internal, "bad TURN secret"))?;
    mac.update(username.as_bytes());
    let credential = Base64::encode_string(&mac.finalize().into_bytes());
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(TurnCredentials {
            urls: turn.urls.clone(),
            username,
            credential,
            ttl_ms: Millis::from(turn.ttl),
            relay_only: turn.relay_only,
        }))
}
