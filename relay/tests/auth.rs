//! Registration, login, tokens and prekeys against the real relay process, on
//! SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::api::Api;
use common::relay::{Relay, RelayBuilder};
use parley_relay::config::DatabaseTarget;
use parley_relay::db::Store;
use parley_shared::crypto::keys::{IdentityKeyPair, PreKeyBundle};
use parley_shared::crypto::os_rng;
use parley_shared::crypto::session::Session as CryptoSession;
use parley_shared::protocol::auth::{
    BundleResponse, GateProof, LoginRequest, PreKeyStatus, Session, decode_b64, encode_b64,
    login_statement,
};
use serde_json::Value;

fn decode_bundle(v: Value) -> PreKeyBundle {
    let r: BundleResponse = serde_json::from_value(v).unwrap();
    PreKeyBundle::from_bytes(&decode_b64(&r.bundle).unwrap()).unwrap()
}

/// The relay of a backend, plus a direct handle on its database.
async fn on_backend(builder: RelayBuilder, pg: Option<String>) -> (Relay, Store) {
    let relay = builder.start().await;
    let target = match pg {
        Some(url) => DatabaseTarget::parse(&url).unwrap(),
        None => DatabaseTarget::Sqlite(relay.data_dir.join("parley.db")),
    };
    (relay, Store::connect(&target, 2).unwrap())
}

async fn register_login_fetch_bundle_and_start_a_session(
    builder: RelayBuilder,
    pg: Option<String>,
) {
    let (relay, _) = on_backend(builder, pg).await;
    let api = Api::new(&relay);
    let alice = api.register(0).await;
    let bob = api.register(3).await;

    // Alice fetches Bob's bundle: verified, and each one-time prekey once.
    let mut seen = Vec::new();
    for _ in 0..4 {
        let (st, v) = api.bundle(&alice.token, &bob.identity).await;
        assert_eq!(st, 200, "{v}");
        let b = decode_bundle(v);
        assert_eq!(b.identity(), &bob.identity.public());
        seen.push(b.one_time_prekey().map(|k| k.id));
    }
    assert_eq!(
        seen,
        [Some(100), Some(101), Some(102), None],
        "one-time prekeys handed out once, then none"
    );
    // The bundle starts a real session.
    let (_, v) = api.bundle(&alice.token, &bob.identity).await;
    CryptoSession::initiate(&mut os_rng(), &alice.identity, &decode_bundle(v)).unwrap();

    // Bob is low on prekeys and refills.
    let (st, v) = api
        .send("GET", "/api/v1/prekeys/status", Some(&bob.token), None)
        .await;
    assert_eq!(st, 200);
    let s: PreKeyStatus = serde_json::from_value(v).unwrap();
    assert_eq!((s.one_time_prekeys, s.refill), (0, true));
    let refill = Api::keys(&bob.identity, 200, 25);
    let (st, v) = api
        .send(
            "PUT",
            "/api/v1/prekeys",
            Some(&bob.token),
            Some(serde_json::to_string(&refill).unwrap()),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let s: PreKeyStatus = serde_json::from_value(v).unwrap();
    assert_eq!((s.one_time_prekeys, s.refill), (25, false));

    // Login issues a new token; logout revokes exactly that token.
    let (st, v) = api.login(&alice.identity, &api.origin()).await;
    assert_eq!(st, 200, "{v}");
    let s: Session = serde_json::from_value(v).unwrap();
    let (st, _) = api
        .send("DELETE", "/api/v1/auth/session", Some(&s.token), None)
        .await;
    assert_eq!(st, 204);
    assert_eq!(
        api.bundle(&s.token, &bob.identity).await.0,
        401,
        "revoked token"
    );
    assert_eq!(
        api.bundle(&alice.token, &bob.identity).await.0,
        200,
        "other token still valid"
    );
}

async fn concurrent_fetches_hand_each_one_time_prekey_out_once(
    builder: RelayBuilder,
    pg: Option<String>,
) {
    let (relay, store) = on_backend(builder, pg).await;
    let api = std::sync::Arc::new(Api::new(&relay));
    let owner = api.register(30).await;
    // Several fetchers: one requester may take only a few per target.
    let mut fetchers = Vec::new();
    for _ in 0..25 {
        fetchers.push(api.register(0).await);
    }
    let owner_id = owner.identity.device_id();
    let mut tasks = Vec::new();
    for i in 0..50 {
        let api = api.clone();
        let token = fetchers[i % fetchers.len()].token.clone();
        let id = owner_id;
        tasks.push(tokio::spawn(async move {
            let path = format!("/api/v1/devices/{}/bundle", id);
            let (st, v) = api.send("GET", &path, Some(&token), None).await;
            assert_eq!(st, 200, "{v}");
            decode_bundle(v).one_time_prekey().map(|k| k.id)
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        if let Some(id) = t.await.unwrap() {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    let expected: Vec<u32> = (100..130).collect();
    assert_eq!(ids, expected, "each of the 30 keys exactly once");
    assert_eq!(store.one_time_prekey_count(owner_id.as_bytes()).unwrap(), 0);
}

async fn forged_replayed_and_unauthenticated_requests_are_refused(
    builder: RelayBuilder,
    pg: Option<String>,
) {
    let (relay, _) = on_backend(builder, pg).await;
    let api = Api::new(&relay);
    let alice = api.register(1).await;
    let mallory = IdentityKeyPair::generate(&mut os_rng());

    // Registration signed by another key, or keys signed by another identity.
    let keys = Api::keys(&alice.identity, 1, 1);
    let (st, v) = api
        .register_with(&alice.identity, keys, GateProof::Open, &mallory)
        .await;
    assert_eq!((st, v["code"].as_str()), (401, Some("unauthorized")), "{v}");
    let foreign = Api::keys(&mallory, 1, 1);
    let (st, v) = api
        .register_with(
            &alice.identity,
            foreign.clone(),
            GateProof::Open,
            &alice.identity,
        )
        .await;
    assert_eq!((st, v["code"].as_str()), (400, Some("bad_request")), "{v}");
    let (st, _) = api
        .send(
            "PUT",
            "/api/v1/prekeys",
            Some(&alice.token),
            Some(serde_json::to_string(&foreign).unwrap()),
        )
        .await;
    assert_eq!(
        st, 400,
        "cannot overwrite prekeys with another identity's keys"
    );

    // Login: wrong origin (a signature for another relay), wrong key, replayed challenge.
    assert_eq!(
        api.login(&alice.identity, "https://other.relay").await.0,
        401
    );
    assert_eq!(
        api.login(&mallory, &api.origin()).await.0,
        401,
        "unknown device"
    );
    let challenge = api.challenge().await;
    let sig = alice
        .identity
        .sign(&[], &[&login_statement(&api.origin(), &challenge)]);
    let req = serde_json::to_string(&LoginRequest {
        device_id: alice.identity.device_id(),
        challenge: encode_b64(&challenge),
        signature: encode_b64(&sig),
    })
    .unwrap();
    assert_eq!(
        api.send("POST", "/api/v1/auth/login", None, Some(req.clone()))
            .await
            .0,
        200
    );
    let (st, v) = api
        .send("POST", "/api/v1/auth/login", None, Some(req))
        .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (401, Some("unauthorized")),
        "replayed challenge: {v}"
    );

    // Tokens: missing, garbage.
    assert_eq!(api.bundle("", &alice.identity).await.0, 401);
    assert_eq!(
        api.send("GET", "/api/v1/prekeys/status", None, None)
            .await
            .0,
        401
    );
    assert_eq!(api.bundle("not-a-token", &alice.identity).await.0, 401);
    // Malformed and oversized bodies.
    let (st, v) = api
        .send("POST", "/api/v1/devices", None, Some("{".into()))
        .await;
    assert_eq!((st, v["code"].as_str()), (400, Some("bad_request")), "{v}");
    let big = format!("{{\"x\":\"{}\"}}", "a".repeat(100_000));
    let (st, v) = api.send("POST", "/api/v1/devices", None, Some(big)).await;
    assert_eq!((st, v["code"].as_str()), (413, Some("too_large")), "{v}");
    // Unknown device bundle.
    assert_eq!(api.bundle(&alice.token, &mallory).await.0, 404);
}

#[tokio::test]
async fn invite_gate_admits_each_code_once() {
    let Some(url) = common::fresh_pg_database() else {
        return;
    };
    let builder = RelayBuilder::new()
        .env("DATABASE_URL", url)
        .env("PARLEY_REGISTRATION", "invite");
    let out = builder.run(&["invite", "create", "--ttl-hours", "1"]);
    assert!(out.status.success(), "{out:?}");
    let code = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(code.len(), 29, "{code}");
    let relay = builder.start().await;
    let api = Api::new(&relay);
    let a = IdentityKeyPair::generate(&mut os_rng());
    let b = IdentityKeyPair::generate(&mut os_rng());
    let (st, v) = api
        .register_with(&a, Api::keys(&a, 1, 1), GateProof::Open, &a)
        .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (403, Some("forbidden")),
        "no code: {v}"
    );
    let wrong = GateProof::Invite {
        code: "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA".into(),
    };
    assert_eq!(
        api.register_with(&a, Api::keys(&a, 1, 1), wrong, &a)
            .await
            .0,
        403
    );
    let good = GateProof::Invite { code: code.clone() };
    let (st, v) = api
        .register_with(&a, Api::keys(&a, 1, 1), good.clone(), &a)
        .await;
    assert_eq!(st, 201);
    assert_eq!(
        api.register_with(&b, Api::keys(&b, 1, 1), good, &b).await.0,
        403,
        "code already used"
    );

    // A registered device resetting its keys registers the successor with
    // its own session and its old key's signature instead of a new code;
    // without either it is refused, and the old device is erased after.
    let token_a = v["token"].as_str().unwrap().to_owned();
    let c = IdentityKeyPair::generate(&mut os_rng());
    let vouch = |by: &IdentityKeyPair| GateProof::Successor {
        signature: encode_b64(&by.sign(
            parley_shared::protocol::auth::CTX_SUCCESSOR,
            &[&parley_shared::protocol::auth::successor_statement(
                &c.public(),
            )],
        )),
    };
    let keys = Api::keys(&c, 1, 1);
    let challenge = api.challenge().await;
    let sig = c.sign(
        &[],
        &[&parley_shared::protocol::auth::registration_statement(
            &api.origin(),
            &challenge,
            &keys,
        )],
    );
    let req = parley_shared::protocol::auth::RegisterRequest {
        identity: encode_b64(&c.public().to_bytes()),
        keys,
        challenge: encode_b64(&challenge),
        signature: encode_b64(&sig),
        gate: vouch(&b),
    };
    let forged = serde_json::to_string(&req).unwrap();
    let req = parley_shared::protocol::auth::RegisterRequest {
        gate: vouch(&a),
        ..req
    };
    let body = serde_json::to_string(&req).unwrap();
    let devices = "/api/v1/devices";
    assert_eq!(
        api.send("POST", devices, None, Some(body.clone())).await.0,
        403
    );
    let (st, v) = api
        .send("POST", devices, Some("bogus"), Some(body.clone()))
        .await;
    assert_eq!(st, 403, "{v}");
    let (st, v) = api
        .send("POST", devices, Some(&token_a), Some(forged))
        .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (401, Some("unauthorized")),
        "not signed by a: {v}"
    );
    assert_eq!(
        api.send("POST", devices, Some(&token_a), Some(body))
            .await
            .0,
        201
    );
    // The old device is gone: its token no longer works and it cannot log in.
    assert_eq!(
        api.send("GET", "/api/v1/prekeys/status", Some(&token_a), None)
            .await
            .0,
        401
    );
    assert_ne!(api.login(&a, &api.origin()).await.0, 200);
}

async fn erasing_a_device_leaves_nothing_behind(builder: RelayBuilder, pg: Option<String>) {
    let (relay, store) = on_backend(builder, pg).await;
    let api = Api::new(&relay);
    let alice = api.register(5).await;
    let bob = api.register(0).await;
    let id = alice.identity.device_id();
    assert!(store.device(id.as_bytes()).unwrap().is_some());
    // Something queued for Alice, and something she sent that waits.
    let (mut b, _) = common::api::Ws::connect(&relay.base, &bob.token).await;
    let to_alice = parley_shared::protocol::ws::ClientFrame::Send {
        id: [1; 16],
        to: id,
        ephemeral: false,
        payload: b"x".to_vec(),
        list: None,
    };
    b.send(&to_alice).await;
    b.recv().await;
    let (mut a, _) = common::api::Ws::connect(&relay.base, &alice.token).await;
    a.recv().await; // the queued envelope
    let from_alice = parley_shared::protocol::ws::ClientFrame::Send {
        id: [2; 16],
        to: bob.identity.device_id(),
        ephemeral: false,
        payload: b"y".to_vec(),
        list: None,
    };
    a.send(&from_alice).await;
    a.recv().await;
    assert_eq!(store.envelope_rows_for(id.as_bytes()).unwrap(), 2);
    let (st, _) = api
        .send("DELETE", "/api/v1/devices/me", Some(&alice.token), None)
        .await;
    assert_eq!(st, 204);
    assert!(store.device(id.as_bytes()).unwrap().is_none());
    assert!(store.device_keys(id.as_bytes()).unwrap().is_none());
    assert_eq!(store.one_time_prekey_count(id.as_bytes()).unwrap(), 0);
    assert_eq!(
        store.envelope_rows_for(id.as_bytes()).unwrap(),
        0,
        "envelopes to and from the device are gone"
    );
    assert_eq!(
        api.bundle(&alice.token, &bob.identity).await.0,
        401,
        "tokens are gone"
    );
    assert_eq!(
        api.bundle(&bob.token, &alice.identity).await.0,
        404,
        "keys are gone"
    );
    assert!(
        store
            .device(bob.identity.device_id().as_bytes())
            .unwrap()
            .is_some(),
        "others untouched"
    );
}

#[tokio::test]
async fn per_ip_rate_limit_refuses_only_that_address() {
    let relay = RelayBuilder::new()
        .env("PARLEY_RATE_LIMIT_IP_PER_MIN", "5")
        .start()
        .await;
    let url = format!("{}/api/v1/auth/challenge", relay.base);
    let (a, b) = (
        common::api::client_from([127, 0, 0, 1]),
        common::api::client_from([127, 0, 0, 2]),
    );
    for _ in 0..5 {
        assert_eq!(a.post(&url).send().await.unwrap().status(), 200);
    }
    let r = a.post(&url).send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.text().await.unwrap().contains("\"rate_limited\""));
    assert_eq!(
        b.post(&url).send().await.unwrap().status(),
        200,
        "another address is unaffected"
    );
    assert_eq!(
        a.get(format!("{}/healthz", relay.base))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "health is not rate limited"
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_limited() {
    let relay = RelayBuilder::new()
        .env("PARLEY_RATE_LIMIT_IP_PER_MIN", "3")
        .env("PARLEY_TRUSTED_PROXIES", "127.0.0.1")
        .start()
        .await;
    let url = format!("{}/api/v1/auth/challenge", relay.base);
    let (proxy, stranger) = (
        common::api::client_from([127, 0, 0, 1]),
        common::api::client_from([127, 0, 0, 2]),
    );
    let via = |c: &reqwest::Client, xff: &str| {
        c.post(&url)
            .header("x-forwarded-for", xff.to_owned())
            .send()
    };
    for _ in 0..3 {
        assert_eq!(via(&proxy, "203.0.113.7").await.unwrap().status(), 200);
    }
    // Prepending an address does not give the same client a new budget.
    let r = via(&proxy, "198.51.100.1, 203.0.113.7").await.unwrap();
    assert_eq!(r.status(), 429, "that client is out of budget");
    assert_eq!(
        via(&proxy, "203.0.113.8").await.unwrap().status(),
        200,
        "another client behind the same proxy is not"
    );
    // From an untrusted peer the header is ignored: varying it changes nothing.
    for i in 0..3 {
        let xff = format!("192.0.2.{i}");
        assert_eq!(via(&stranger, &xff).await.unwrap().status(), 200);
    }
    assert_eq!(via(&stranger, "192.0.2.99").await.unwrap().status(), 429);
}

/// Attack: an IPv6 client rotates through the addresses of its /64 to get a
/// fresh per-IP budget each time. The whole /64 shares one budget.
#[tokio::test]
async fn ipv6_client_cannot_dodge_the_per_ip_limit_within_its_64() {
    let relay = RelayBuilder::new()
        .env("PARLEY_RATE_LIMIT_IP_PER_MIN", "3")
        .env("PARLEY_TRUSTED_PROXIES", "127.0.0.1")
        .start()
        .await;
    let url = format!("{}/api/v1/auth/challenge", relay.base);
    let proxy = common::api::client_from([127, 0, 0, 1]);
    let mut statuses = Vec::new();
    for i in 1..=5 {
        let r = proxy
            .post(&url)
            .header("x-forwarded-for", format!("2001:db8:7:7::{i:x}"))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    let other = proxy
        .post(&url)
        .header("x-forwarded-for", "2001:db8:7:8::1")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200, "the next /64 has its own budget");
}

#[tokio::test]
async fn per_device_limit_holds_across_addresses() {
    let relay = RelayBuilder::new()
        .env("PARLEY_RATE_LIMIT_IP_PER_MIN", "8")
        .start()
        .await;
    let api = Api::new(&relay);
    let alice = api.register(0).await; // 2 requests from 127.0.0.1
    let url = format!("{}/api/v1/prekeys/status", relay.base);
    let (a, b) = (
        common::api::client_from([127, 0, 0, 1]),
        common::api::client_from([127, 0, 0, 2]),
    );
    for _ in 0..6 {
        let r = a
            .get(&url)
            .header("authorization", format!("Bearer {}", alice.token))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    // A fresh address has budget, the device does not: 2 more, then refused.
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let r = b
            .get(&url)
            .header("authorization", format!("Bearer {}", alice.token))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429]);
}

common::backends::relay_tests! {
    register_login_fetch_bundle_and_start_a_session,
    concurrent_fetches_hand_each_one_time_prekey_out_once,
    forged_replayed_and_unauthenticated_requests_are_refused,
    erasing_a_device_leaves_nothing_behind,
}
