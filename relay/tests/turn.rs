//! `GET /api/v1/turn`: coturn REST-API credentials for authenticated devices
//! only, checked against the secret `make test` gave the real coturn (the
//! browser call test then relays media through that coturn with them).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::Engine as _;
use common::api::Api;
use common::relay::RelayBuilder;
use hmac::{KeyInit as _, Mac as _};
use parley_shared::protocol::auth::{decode_b64, encode_b64};
use parley_shared::protocol::turn::TurnCredentials;
use parley_shared::time::Millis;

#[tokio::test]
async fn devices_get_short_lived_coturn_credentials() {
    let (Some(url), Some(secret)) = (
        common::service_env("PARLEY_TEST_TURN_URL"),
        common::service_env("PARLEY_TEST_TURN_SECRET"),
    ) else {
        return;
    };
    let relay = RelayBuilder::new()
        .env("PARLEY_TURN_URLS", url.clone())
        .env("PARLEY_TURN_SECRET", secret.clone())
        .env("PARLEY_TURN_TTL_SECS", "600")
        .start()
        .await;
    let api = Api::new(&relay);
    let (st, v) = api.send("GET", "/api/v1/turn", None, None).await;
    assert_eq!((st, v["code"].as_str()), (401, Some("unauthorized")));

    let dev = api.register(1).await;
    let (st, v) = api
        .send("GET", "/api/v1/turn", Some(&dev.token), None)
        .await;
    assert_eq!(st, 200, "{v}");
    let c: TurnCredentials = serde_json::from_value(v).unwrap();
    assert_eq!(c.urls, vec![url]);
    assert_eq!(c.ttl_ms, Millis::from_secs(600));
    assert!(!c.relay_only);
    let (expiry, who) = c.username.split_once(':').unwrap();
    // Opaque: not the device id, and new for every credential.
    assert_ne!(who, encode_b64(dev.identity.device_id().as_bytes()));
    assert_eq!(decode_b64(who).map(|b| b.len()), Some(12));
    let (_, again) = api
        .send("GET", "/api/v1/turn", Some(&dev.token), None)
        .await;
    assert_ne!(
        again["username"],
        serde_json::Value::from(c.username.clone())
    );
    let expiry: i64 = expiry.parse().unwrap();
    let now = common::now_ms() / 1000;
    assert!(
        (now + 595..=now + 605).contains(&expiry),
        "{expiry} vs {now}"
    );
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(c.username.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(c.credential, expected);

    // Without a TURN server configured: an empty server list, not an error.
    let bare = RelayBuilder::new().start().await;
    let api = Api::new(&bare);
    let dev = api.register(1).await;
    let (st, v) = api
        .send("GET", "/api/v1/turn", Some(&dev.token), None)
        .await;
    assert_eq!(st, 200, "{v}");
    let none: TurnCredentials = serde_json::from_value(v).unwrap();
    assert!(none.urls.is_empty() && none.username.is_empty() && none.credential.is_empty());
    assert!(!none.relay_only);
}
