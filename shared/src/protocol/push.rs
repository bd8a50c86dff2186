//! Web Push (ADR 0023): a device registers its browser's push subscription,
//! and the relay sends it a content-free wake-up when an envelope is stored
//! for it while it has no connection. The push service sees only that
//! something arrived; the app fetches and decrypts the envelope itself.

use serde::{Deserialize, Serialize};

use crate::crypto::codec::b64url;

/// Longest accepted endpoint URL, in bytes (browsers' are under 500).
pub const MAX_ENDPOINT: usize = 1024;
/// Length of the subscription's P-256 public key (uncompressed SEC1 point).
pub const P256DH_LEN: usize = 65;
/// Length of the subscription's authentication secret (RFC 8291).
pub const AUTH_LEN: usize = 16;
/// Subscriptions one device may have; a new one beyond this replaces the
/// oldest (a browser that re-subscribed cannot tell the relay which old one
/// is dead).
pub const MAX_SUBSCRIPTIONS_PER_DEVICE: usize = 4;
/// What every push carries, encrypted (RFC 8291): always the same bytes, so
/// neither the push service nor the payload says who wrote or what.
pub const WAKE_PAYLOAD: &[u8] = b"{\"wake\":1}";
/// The `Topic` header of every push (RFC 8030 §5.4): the push service keeps
/// only the newest undelivered one per subscription.
pub const TOPIC: &str = "parley-wake";

/// `GET /api/v1/push/key`: the relay's VAPID public key (RFC 8292), which a
/// browser takes as `applicationServerKey`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushKey {
    /// Uncompressed P-256 point, base64url (65 bytes).
    pub public_key: String,
}

/// `PUT /api/v1/push/subscriptions` body: the browser's `PushSubscription`
/// (`toJSON()`'s endpoint and keys).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushSubscription {
    /// The push service's URL for this browser.
    pub endpoint: String,
    /// The browser's P-256 public key, base64url (65 bytes).
    pub p256dh: String,
    /// The authentication secret, base64url (16 bytes).
    pub auth: String,
}

/// Why a subscription is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SubscriptionError {
    /// The endpoint is longer than [`MAX_ENDPOINT`].
    #[error("the push endpoint is too long")]
    EndpointTooLong,
    /// The endpoint is not an `https://` URL.
    #[error("the push endpoint must be an https:// URL")]
    NotHttps,
    /// `p256dh` is not base64url of [`P256DH_LEN`] bytes.
    #[error("p256dh must be a base64url 65-byte P-256 point")]
    BadKey,
    /// `auth` is not base64url of [`AUTH_LEN`] bytes.
    #[error("auth must be base64url of 16 bytes")]
    BadAuth,
}

/// A subscription's checked parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedSubscription {
    /// The endpoint URL (scheme not yet checked beyond its text; the relay
    /// parses it and decides which hosts it sends to).
    pub endpoint: String,
    /// The browser's public key.
    pub p256dh: [u8; P256DH_LEN],
    /// The authentication secret.
    pub auth: [u8; AUTH_LEN],
}

impl PushSubscription {
    /// Checks sizes and encodings. `allow_http` lets a test push service
    /// on plain HTTP through (the relay allows it on loopback only).
    pub fn check(&self, allow_http: bool) -> Result<CheckedSubscription, SubscriptionError> {
        if self.endpoint.len() > MAX_ENDPOINT {
            return Err(SubscriptionError::EndpointTooLong);
        }
        let scheme_ok = self.endpoint.starts_with("https://")
            || (allow_http && self.endpoint.starts_with("http://"));
        if !scheme_ok {
            return Err(SubscriptionError::NotHttps);
        }
        let p256dh = b64url::decode(&self.p256dh)
            .and_then(|k| <[u8; P256DH_LEN]>::try_from(k).ok())
            // An uncompressed point starts with 0x04.
            .filter(|k| k[0] == 4)
            .ok_or(SubscriptionError::BadKey)?;
        let auth = b64url::decode(&self.auth)
            .and_then(|k| <[u8; AUTH_LEN]>::try_from(k).ok())
            .ok_or(SubscriptionError::BadAuth)?;
        Ok(CheckedSubscription {
            endpoint: self.endpoint.clone(),
            p256dh,
            auth,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(endpoint: &str, key: &[u8], auth: &[u8]) -> PushSubscription {
        PushSubscription {
            endpoint: endpoint.into(),
            p256dh: b64url::encode(key),
            auth: b64url::encode(auth),
        }
    }

    #[test]
    fn checks_scheme_lengths_and_point_form() {
        let mut key = [1u8; 65];
        key[0] = 4;
        let ok = sub("https://push.example/x", &key, &[2; 16]);
        assert_eq!(ok.check(false).map(|c| c.auth), Ok([2; 16]));
        let http = sub("http://127.0.0.1:9/x", &key, &[2; 16]);
        assert_eq!(http.check(false), Err(SubscriptionError::NotHttps));
        assert!(http.check(true).is_ok());
        let long = format!("https://push.example/{}", "a".repeat(MAX_ENDPOINT));
        assert_eq!(
            sub(&long, &key, &[2; 16]).check(false),
            Err(SubscriptionError::EndpointTooLong)
        );
        let compressed = sub("https://p.example/", &[2; 65], &[2; 16]);
        assert_eq!(compressed.check(false), Err(SubscriptionError::BadKey));
        let short = sub("https://p.example/", &key[..64], &[2; 16]);
        assert_eq!(short.check(false), Err(SubscriptionError::BadKey));
        let auth = sub("https://p.example/", &key, &[2; 15]);
        assert_eq!(auth.check(false), Err(SubscriptionError::BadAuth));
    }
}
