//! Attacks on a device's prekeys through the real relay, on SQLite and on
//! PostgreSQL: draining one-time prekeys by fetching bundles, and hoarding
//! one-time prekeys on the relay.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::api::Api;
use common::relay::RelayBuilder;
use parley_shared::crypto::keys::PreKeyBundle;
use parley_shared::protocol::ErrorCode;
use parley_shared::protocol::auth::{
    BundleResponse, MAX_ONE_TIME_PREKEYS_PER_DEVICE, PreKeyStatus, decode_b64,
};
use serde_json::Value;

fn one_time_id(v: Value) -> Option<u32> {
    let r: BundleResponse = serde_json::from_value(v).unwrap();
    let b = PreKeyBundle::from_bytes(&decode_b64(&r.bundle).unwrap()).unwrap();
    b.one_time_prekey().map(|k| k.id)
}

async fn status(api: &Api, token: &str) -> PreKeyStatus {
    let (st, v) = api
        .send("GET", "/api/v1/prekeys/status", Some(token), None)
        .await;
    assert_eq!(st, 200, "{v}");
    serde_json::from_value(v).unwrap()
}

/// A registered stranger fetches Bob's bundle in a loop: it still gets
/// bundles (a session can start), but only a few carry a one-time prekey,
/// so Bob keeps his supply for real contacts.
async fn stranger_fetching_bundles_in_a_loop_cannot_drain_one_time_prekeys(
    builder: RelayBuilder,
    _pg: Option<String>,
) {
    let relay = builder.start().await;
    let api = Api::new(&relay);
    let bob = api.register(50).await;
    let mallory = api.register(0).await;
    let mut taken = 0;
    for _ in 0..60 {
        let (st, v) = api.bundle(&mallory.token, &bob.identity).await;
        assert_eq!(st, 200, "{v}");
        taken += usize::from(one_time_id(v).is_some());
    }
    assert!(taken <= 3, "the stranger took {taken} one-time prekeys");
    assert!(status(&api, &bob.token).await.one_time_prekeys >= 47);
    // A real contact still gets one.
    let alice = api.register(0).await;
    let (_, v) = api.bundle(&alice.token, &bob.identity).await;
    assert!(one_time_id(v).is_some());
}

/// The status names the signed and ML-KEM prekeys the relay hands out, so
/// a device that rotated them can tell when its upload has landed.
#[tokio::test]
async fn prekey_status_names_the_prekeys_being_served() {
    let relay = RelayBuilder::new().start().await;
    let api = Api::new(&relay);
    let bob = api.register(5).await;
    let s = status(&api, &bob.token).await;
    let up = Api::keys(&bob.identity, 900, 0);
    assert_eq!(
        (s.signed_prekey_id, s.pq_prekey_id),
        (up.signed_prekey.id, up.pq_prekey.id)
    );
}

/// A device cannot make the relay store an unbounded number of one-time
/// prekeys: uploads past the cap are refused and change nothing.
async fn one_time_prekeys_per_device_are_capped(builder: RelayBuilder, _pg: Option<String>) {
    let relay = builder.start().await;
    let api = Api::new(&relay);
    let bob = api.register(0).await;
    let batches = MAX_ONE_TIME_PREKEYS_PER_DEVICE / 200;
    for i in 0..batches {
        let up = Api::keys(&bob.identity, 1_000 + i * 200, 200);
        let body = serde_json::to_string(&up).unwrap();
        let (st, v) = api
            .send("PUT", "/api/v1/prekeys", Some(&bob.token), Some(body))
            .await;
        assert_eq!(st, 200, "{v}");
    }
    let up = Api::keys(&bob.identity, 50_000, 1);
    let body = serde_json::to_string(&up).unwrap();
    let (st, v) = api
        .send("PUT", "/api/v1/prekeys", Some(&bob.token), Some(body))
        .await;
    assert_eq!(st, 413, "{v}");
    assert_eq!(
        v["code"],
        serde_json::to_value(ErrorCode::TooLarge).unwrap()
    );
    assert_eq!(
        status(&api, &bob.token).await.one_time_prekeys,
        MAX_ONE_TIME_PREKEYS_PER_DEVICE
    );
}

common::backends::relay_tests! {
    stranger_fetching_bundles_in_a_loop_cannot_drain_one_time_prekeys,
    one_time_prekeys_per_device_are_capped,
}
