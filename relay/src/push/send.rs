//! One push request (RFC 8030) to one subscription: the fixed wake-up
//! payload encrypted with `aes128gcm` (RFC 8291), signed with VAPID
//! (RFC 8292), and what the push service's answer means for us.

use std::time::Duration;

use parley_shared::protocol::push::{TOPIC, WAKE_PAYLOAD};
use web_push_native::jwt_simple::algorithms::{
    ECDSAP256KeyPairLike as _, ECDSAP256PublicKeyLike as _, ES256KeyPair,
};
use web_push_native::jwt_simple::claims::Claims;
use web_push_native::{Auth, WebPushBuilder, p256};

use crate::db::PushSubscriptionRow;

/// Lifetime of the VAPID token: RFC 8292 allows at most 24 hours.
const JWT_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Wait after a 429 or 503 without a usable `Retry-After`.
const DEFAULT_BACKOFF: Duration = Duration::from_secs(60);
/// Longest wait a push service can ask for.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// Why no request could be built for a stored subscription.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The stored endpoint is not a URI.
    #[error("endpoint is not a URI")]
    Endpoint,
    /// The stored key is not a P-256 point, or the secret has the wrong length.
    #[error("subscription keys are invalid")]
    Keys,
    /// Encryption or signing failed.
    #[error("push encryption failed: {0}")]
    Crypto(String),
}

/// How the request for one subscription went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted by the push service.
    Sent,
    /// The subscription is gone (404/410): delete it.
    Gone,
    /// Asked to wait (429/503): send nothing there for this long.
    Backoff(Duration),
    /// Refused otherwise, or unreachable: nothing to do but log.
    Failed,
}

/// What the request's headers say, besides VAPID and encryption.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// `TTL`: how long the push service keeps it for an offline browser.
    pub ttl: Duration,
}

/// The push request for `sub`: encrypted fixed payload, VAPID, `TTL`,
/// `Topic` (a newer push replaces an undelivered one) and `Urgency: high`
/// (a message is what the person waits for; it may wake a device in
/// battery saving).
pub fn build(
    sub: &PushSubscriptionRow,
    vapid: &ES256KeyPair,
    subject: &str,
    options: Options,
) -> Result<http::Request<Vec<u8>>, BuildError> {
    let endpoint: http::Uri = sub.endpoint.parse().map_err(|_| BuildError::Endpoint)?;
    let origin = url::Url::parse(&sub.endpoint)
        .map_err(|_| BuildError::Endpoint)?
        .origin()
        .ascii_serialization();
    let key = p256::PublicKey::from_sec1_bytes(&sub.p256dh).map_err(|_| BuildError::Keys)?;
    if sub.auth.len() != 16 {
        return Err(BuildError::Keys);
    }
    let auth = Auth::clone_from_slice(&sub.auth);
    let mut req = WebPushBuilder::new(endpoint, key, auth)
        .build(WAKE_PAYLOAD)
        .map_err(|e| BuildError::Crypto(e.to_string()))?;
    let headers = req.headers_mut();
    headers.insert(
        http::header::AUTHORIZATION,
        http::HeaderValue::try_from(vapid_authorization(&origin, vapid, subject)?)
            .map_err(|e| BuildError::Crypto(e.to_string()))?,
    );
    headers.insert("ttl", http::HeaderValue::from(options.ttl.as_secs()));
    headers.insert("topic", http::HeaderValue::from_static(TOPIC));
    headers.insert("urgency", http::HeaderValue::from_static("high"));
    Ok(req)
}

/// `Authorization: vapid t=<JWT>, k=<public key>` (RFC 8292 §3). Signed
/// here rather than by the crate's builder: its `aud` leaves out a port,
/// and the audience must be the push resource's origin, port included.
fn vapid_authorization(
    origin: &str,
    vapid: &ES256KeyPair,
    subject: &str,
) -> Result<String, BuildError> {
    let claims = Claims::create(JWT_LIFETIME.into())
        .with_audience(origin)
        .with_subject(subject);
    let token = vapid
        .sign(claims)
        .map_err(|e| BuildError::Crypto(e.to_string()))?;
    let key = vapid.public_key().public_key().to_bytes_uncompressed();
    Ok(format!(
        "vapid t={token}, k={}",
        parley_shared::crypto::codec::b64url::encode(&key)
    ))
}

/// Reads the push service's answer.
pub fn outcome(status: u16, retry_after: Option<&str>) -> Outcome {
    match status {
        200..=299 => Outcome::Sent,
        404 | 410 => Outcome::Gone,
        429 | 503 => Outcome::Backoff(
            retry_after
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map_or(DEFAULT_BACKOFF, Duration::from_secs)
                .min(MAX_BACKOFF),
        ),
        _ => Outcome::Failed,
    }
}

/// Sends `req` and reads the answer.
pub async fn send(client: &reqwest::Client, req: http::Request<Vec<u8>>) -> Outcome {
    let Ok(req) = reqwest::Request::try_from(req) else {
        return Outcome::Failed;
    };
    match client.execute(req).await {
        Ok(resp) => {
            let retry = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            outcome(resp.status().as_u16(), retry.as_deref())
        }
        Err(e) => {
            tracing::debug!(err = %e, "push: request failed");
            Outcome::Failed
        }
    }
}

#[cfg(test)]
mod tests;
