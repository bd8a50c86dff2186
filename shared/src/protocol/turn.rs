//! `GET /api/v1/turn`: short-lived TURN credentials in coturn's REST-API
//! format (draft-uberti-behave-turn-rest): `username = "<expiry>:<device>"`,
//! `credential = base64(HMAC-SHA1(secret, username))`.

use serde::{Deserialize, Serialize};

use crate::time::Millis;

/// ICE server credentials for one device.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TurnCredentials {
    /// `turn:`/`turns:`/`stun:` URLs; empty when the relay has no TURN
    /// server (calls then connect directly or not at all).
    pub urls: Vec<String>,
    /// `<unix expiry>:<device id, base64url>`.
    pub username: String,
    /// base64(HMAC-SHA1(secret, username)).
    pub credential: String,
    /// How long the credentials stay valid.
    pub ttl_ms: Millis,
    /// Use relayed candidates only (`iceTransportPolicy: "relay"`).
    pub relay_only: bool,
}
