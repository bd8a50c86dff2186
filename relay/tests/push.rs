//! Web Push wake-ups (ADR 0023) against the real relay and a real RFC 8030
//! push service in the test (`common::push_service`, which verifies VAPID
//! and decrypts), on SQLite and PostgreSQL: who is woken, what a push
//! holds, collapsing, 410 and 429, and the subscription routes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::api::{Api, Device, Ws};
use common::backends::relay_tests;
use common::push_service::PushService;
use common::relay::{Relay, RelayBuilder};
use parley_shared::crypto::codec::b64url;
use parley_shared::protocol::push::{MAX_SUBSCRIPTIONS_PER_DEVICE, TOPIC, WAKE_PAYLOAD};
use parley_shared::protocol::ws::{ClientFrame, Recipient, ServerFrame};

/// Seconds between two wake-ups of one device in these tests.
const INTERVAL_SECS: u64 = 2;

async fn relay(builder: RelayBuilder) -> Relay {
    builder
        .env("PARLEY_PUSH_ALLOW_LOOPBACK_HTTP", "true")
        .env("PARLEY_PUSH_INTERVAL_SECS", INTERVAL_SECS.to_string())
        .env("PARLEY_PUSH_TTL_SECS", "3600")
        .start()
        .await
}

fn envelope(id: u8, to: &Device, payload: &[u8]) -> ClientFrame {
    ClientFrame::Send {
        id: [id; 16],
        to: to.identity.device_id(),
        ephemeral: false,
        payload: payload.to_vec(),
        list: None,
    }
}

/// Alice's socket sends `id` to `to` and waits until the relay stored it.
async fn send(a: &mut Ws, id: u8, to: &Device) {
    a.send(&envelope(id, to, b"secret text of the message"))
        .await;
    assert_eq!(a.recv().await, ServerFrame::Accepted { id: [id; 16] });
}

/// Alice and Bob registered; Bob's browser subscribed at `push` as `name`.
async fn bob_subscribed(relay: &Relay, push: &PushService, name: &str) -> (Api, Device, Device) {
    let api = Api::new(relay);
    let (alice, bob) = (api.register(0).await, api.register(0).await);
    assert_eq!(
        subscribe(&api, &bob, &push.subscribe(name).json()).await,
        204
    );
    (api, alice, bob)
}

async fn subscribe(api: &Api, device: &Device, body: &str) -> u16 {
    api.send(
        "PUT",
        "/api/v1/push/subscriptions",
        Some(&device.token),
        Some(body.to_owned()),
    )
    .await
    .0
}

async fn wakes_only_offline_devices_with_a_content_free_push(
    builder: RelayBuilder,
    _pg: Option<String>,
) {
    let relay = relay(builder).await;
    let push = PushService::start();
    let (api, alice, bob) = bob_subscribed(&relay, &push, "bob").await;
    let (st, key) = api.send("GET", "/api/v1/push/key", None, None).await;
    assert_eq!(st, 200);
    let key = b64url::decode(key["public_key"].as_str().unwrap()).unwrap();
    assert_eq!(key.len(), 65);
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;

    // Bob is connected: the envelope goes to him live, and nobody is woken.
    let (mut b, _) = Ws::connect(&relay.base, &bob.token).await;
    send(&mut a, 1, &bob).await;
    assert!(matches!(b.recv().await, ServerFrame::Deliver { .. }));
    assert!(push.wait_for(1, 1500).await.is_empty(), "online: no push");

    // Bob closes the app: the next envelope wakes him.
    drop(b);
    tokio::time::sleep(Duration::from_millis(300)).await;
    send(&mut a, 2, &bob).await;
    let got = push.wait_for(1, 5000).await;
    assert_eq!(got.len(), 1, "offline: one push");
    let p = &got[0];
    assert_eq!(p.id, "bob");
    // Signed by the key the relay publishes; decrypts to the fixed wake-up,
    // which says nothing of the sender, the envelope or its size.
    assert_eq!(p.vapid_key, key);
    assert_eq!(p.plaintext, WAKE_PAYLOAD);
    let text = String::from_utf8_lossy(&p.plaintext);
    assert!(!text.contains("secret"));
    assert!(!text.contains(&alice.identity.device_id().to_string()));
    assert_eq!(p.topic.as_deref(), Some(TOPIC));
    assert_eq!(p.urgency.as_deref(), Some("high"));
    assert_eq!(p.ttl.as_deref(), Some("3600"));
    // A device without a subscription is simply not woken.
    let carol = api.register(0).await;
    tokio::time::sleep(Duration::from_secs(INTERVAL_SECS)).await;
    send(&mut a, 3, &carol).await;
    assert_eq!(push.wait_for(2, 1500).await.len(), 1);
}

/// A `SendMany` (ADR 0026) wakes each recipient with no connection, once.
async fn a_send_many_wakes_each_offline_recipient(builder: RelayBuilder, _pg: Option<String>) {
    let relay = relay(builder).await;
    let push = PushService::start();
    let (api, alice, bob) = bob_subscribed(&relay, &push, "bob").await;
    let [carol, dave] = api.devices::<2>().await;
    assert_eq!(
        subscribe(&api, &carol, &push.subscribe("carol").json()).await,
        204
    );
    assert_eq!(
        subscribe(&api, &dave, &push.subscribe("dave").json()).await,
        204
    );
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    // Dave is online: he gets it live, not a push.
    let (mut d, _) = Ws::connect(&relay.base, &dave.token).await;
    let to = [&bob, &carol, &dave]
        .iter()
        .map(|x| Recipient {
            device: x.identity.device_id(),
            list: None,
        })
        .collect();
    a.send(&ClientFrame::SendMany {
        id: [9; 16],
        to,
        payload: b"secret text of the room".to_vec(),
    })
    .await;
    assert_eq!(a.recv().await, ServerFrame::Accepted { id: [9; 16] });
    assert!(matches!(d.recv().await, ServerFrame::Deliver { .. }));
    let got = push.wait_for(3, 3000).await;
    let mut woken: Vec<&str> = got.iter().map(|p| p.id.as_str()).collect();
    woken.sort_unstable();
    assert_eq!(woken, ["bob", "carol"]);
    assert!(got.iter().all(|p| p.plaintext == WAKE_PAYLOAD));
}

async fn wake_ups_collapse(builder: RelayBuilder, _pg: Option<String>) {
    let relay = relay(builder).await;
    let push = PushService::start();
    let (_, alice, bob) = bob_subscribed(&relay, &push, "bob").await;
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    // A burst of envelopes: one push per interval, not one per envelope.
    for id in 1..=5 {
        send(&mut a, id, &bob).await;
    }
    let got = push.wait_for(2, 1500).await;
    assert_eq!(got.len(), 1, "a burst is one push");
    // The next one, after the interval, carries the same Topic, so a push
    // service holding both for an offline browser keeps only the newer.
    tokio::time::sleep(Duration::from_secs(INTERVAL_SECS)).await;
    send(&mut a, 6, &bob).await;
    let got = push.wait_for(2, 5000).await;
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|p| p.topic.as_deref() == Some(TOPIC)));
}

async fn gone_subscription_is_deleted(builder: RelayBuilder, pg: Option<String>) {
    let relay = relay(builder).await;
    let store = relay.store(&pg);
    let push = PushService::start();
    let (api, alice, bob) = bob_subscribed(&relay, &push, "old").await;
    let bob_id = bob.identity.device_id();
    assert_eq!(
        subscribe(&api, &bob, &push.subscribe("new").json()).await,
        204
    );
    push.answer("old", 410, None);
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    send(&mut a, 1, &bob).await;
    assert_eq!(push.wait_for(2, 5000).await.len(), 2);
    let mut left = Vec::new();
    for _ in 0..100 {
        left = store.push_subscriptions(bob_id.as_bytes()).unwrap();
        if left.len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(left.len(), 1, "410: that subscription is deleted");
    assert!(left[0].endpoint.ends_with("/push/new"));
}

async fn too_many_requests_backs_off(builder: RelayBuilder, _pg: Option<String>) {
    let relay = relay(builder).await;
    let push = PushService::start();
    let (_, alice, bob) = bob_subscribed(&relay, &push, "bob").await;
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    let backoff = 2 * INTERVAL_SECS + 1;
    push.answer("bob", 429, Some(backoff));
    let start = std::time::Instant::now();
    send(&mut a, 1, &bob).await;
    assert_eq!(push.wait_for(1, 5000).await[0].status, 429);
    // Past the per-device interval, but within Retry-After: nothing is sent.
    tokio::time::sleep(Duration::from_millis(INTERVAL_SECS * 1000 + 300)).await;
    send(&mut a, 2, &bob).await;
    assert_eq!(push.wait_for(2, 1000).await.len(), 1, "backing off");
    // After Retry-After: sent again.
    tokio::time::sleep(Duration::from_secs(backoff).saturating_sub(start.elapsed())).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    send(&mut a, 3, &bob).await;
    let got = push.wait_for(2, 5000).await;
    assert_eq!(got.len(), 2, "resumed after Retry-After");
    assert_eq!(got[1].status, 201);
}

async fn subscriptions_are_checked_limited_and_removed(builder: RelayBuilder, pg: Option<String>) {
    let relay = relay(builder).await;
    let store = relay.store(&pg);
    let push = PushService::start();
    let api = Api::new(&relay);
    let bob = api.register(0).await;
    let bob_id = bob.identity.device_id();
    let good = push.subscribe("x");
    let with = |endpoint: &str, p256dh: &str, auth: &str| {
        serde_json::json!({"endpoint": endpoint, "p256dh": p256dh, "auth": auth}).to_string()
    };
    for bad in [
        with("https://10.0.0.1/push", &good.p256dh, &good.auth),
        with("https://localhost/push", &good.p256dh, &good.auth),
        with("http://push.example/push", &good.p256dh, &good.auth),
        with(
            &format!("https://push.example/{}", "a".repeat(1100)),
            &good.p256dh,
            &good.auth,
        ),
        with(&good.endpoint, &good.auth, &good.auth),
        with(&good.endpoint, &good.p256dh, &good.p256dh),
        "{\"endpoint\": 1}".to_owned(),
    ] {
        assert_eq!(subscribe(&api, &bob, &bad).await, 400, "{bad}");
    }
    let (st, _) = api
        .send("PUT", "/api/v1/push/subscriptions", None, Some(good.json()))
        .await;
    assert_eq!(st, 401);
    // Beyond the limit, the oldest go; the same endpoint again replaces itself.
    for i in 0..=MAX_SUBSCRIPTIONS_PER_DEVICE {
        let s = push.subscribe(&format!("s{i}"));
        assert_eq!(subscribe(&api, &bob, &s.json()).await, 204);
        assert_eq!(subscribe(&api, &bob, &s.json()).await, 204);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let subs = store.push_subscriptions(bob_id.as_bytes()).unwrap();
    assert_eq!(subs.len(), MAX_SUBSCRIPTIONS_PER_DEVICE);
    assert!(!subs.iter().any(|s| s.endpoint.ends_with("/push/s0")));
    // DELETE removes them all.
    let (st, _) = api
        .send(
            "DELETE",
            "/api/v1/push/subscriptions",
            Some(&bob.token),
            None,
        )
        .await;
    assert_eq!(st, 204);
    assert!(
        store
            .push_subscriptions(bob_id.as_bytes())
            .unwrap()
            .is_empty()
    );
    // Logging out removes the token's; erasing the device removes every one.
    assert_eq!(subscribe(&api, &bob, &good.json()).await, 204);
    let (st, _) = api
        .send("DELETE", "/api/v1/auth/session", Some(&bob.token), None)
        .await;
    assert_eq!(st, 204);
    assert!(
        store
            .push_subscriptions(bob_id.as_bytes())
            .unwrap()
            .is_empty()
    );
    let carol = api.register(0).await;
    let carol_id = carol.identity.device_id();
    assert_eq!(subscribe(&api, &carol, &good.json()).await, 204);
    assert_eq!(
        store.push_subscriptions(carol_id.as_bytes()).unwrap().len(),
        1
    );
    let (st, _) = api
        .send("DELETE", "/api/v1/devices/me", Some(&carol.token), None)
        .await;
    assert_eq!(st, 204);
    assert!(
        store
            .push_subscriptions(carol_id.as_bytes())
            .unwrap()
            .is_empty()
    );
}

/// The VAPID key survives a restart (browsers subscribed with it).
async fn vapid_key_is_kept(builder: RelayBuilder, _pg: Option<String>) {
    let relay = relay(builder).await;
    let api = Api::new(&relay);
    let (_, before) = api.send("GET", "/api/v1/push/key", None, None).await;
    let relay = relay.crash_and_restart().await;
    let api = Api::new(&relay);
    let (_, after) = api.send("GET", "/api/v1/push/key", None, None).await;
    assert_eq!(before, after);
    assert!(relay.data_dir.join("vapid.key").exists());
}

relay_tests! {
    wakes_only_offline_devices_with_a_content_free_push,
    wake_ups_collapse,
    gone_subscription_is_deleted,
    too_many_requests_backs_off,
    subscriptions_are_checked_limited_and_removed,
    vapid_key_is_kept,
    a_send_many_wakes_each_offline_recipient,
}
