//! The typed API surface (`parley_shared::protocol::api`) is the relay's
//! routing: every endpoint the clients call is routed with its method, is in
//! the OpenAPI document, and asks for a token exactly when it says so.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::relay::{Relay, RelayBuilder};
use parley_shared::protocol::DeviceId;
use parley_shared::protocol::api::{self, Endpoint};
use parley_shared::protocol::rendezvous::Message;
use serde_json::Value;

/// Sends `ep` without a token and checks how the relay routes it.
async fn check<E: Endpoint>(relay: &Relay, doc: &Value, ep: E, body: E::Body) {
    let req = ep.request(&body);
    let what = format!("{} {}", req.method.as_str(), E::ROUTE);
    let method = reqwest::Method::from_bytes(req.method.as_str().as_bytes()).unwrap();
    let mut r = reqwest::Client::new().request(method, relay.url(&req.path));
    if let Some(ct) = req.body.content_type() {
        r = r.header("content-type", ct).body(req.body.bytes().to_vec());
    }
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    assert_ne!(status, 405, "{what} is not routed with its method: {text}");
    assert!(
        !text.contains("no such API endpoint"),
        "{what} is not routed"
    );
    if E::AUTH {
        assert_eq!(status, 401, "{what} answered without a token: {text}");
    } else {
        assert_ne!(status, 401, "{what} asked for a token: {text}");
    }
    let op = &doc["paths"][format!("/api/v1{}", E::ROUTE)][req.method.as_str().to_lowercase()];
    assert!(op.is_object(), "{what} missing from the OpenAPI document");
    let bearer = op["security"]
        .as_array()
        .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
    assert_eq!(bearer, E::AUTH, "{what}: OpenAPI security");
}

fn json<T: serde::de::DeserializeOwned>(v: Value) -> api::Json<T> {
    api::Json(serde_json::from_value(v).unwrap())
}

#[tokio::test]
async fn every_typed_endpoint_is_routed_as_declared() {
    let relay = RelayBuilder::new().start().await;
    let doc: Value = reqwest::get(relay.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .bytes()
        .await
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap();
    let slot = || "AAAAAAAAAAAAAAAAAAAAAA".to_string();
    check(&relay, &doc, api::GetInfo, ()).await;
    check(&relay, &doc, api::GetTurn, ()).await;
    check(&relay, &doc, api::GetPushKey, ()).await;
    let sub = serde_json::json!({"endpoint": "https://push.example/x", "p256dh": "x", "auth": "x"});
    check(&relay, &doc, api::PutPushSubscription, json(sub)).await;
    check(&relay, &doc, api::DeletePushSubscriptions, ()).await;
    check(&relay, &doc, api::GetChallenge, ()).await;
    let dev = DeviceId::new([1; 32]).to_string();
    let login = serde_json::json!({"device_id": dev, "challenge": "x", "signature": "x"});
    check(&relay, &doc, api::Login, json(login)).await;
    let email = serde_json::json!({"email": "a@example.org"});
    check(&relay, &doc, api::RequestEmailCode, json(email)).await;
    check(&relay, &doc, api::Logout, ()).await;
    check(&relay, &doc, api::LogoutEverywhere, ()).await;
    check(&relay, &doc, api::EraseDevice, ()).await;
    let upload = serde_json::json!({"size": 1, "recipients": [dev], "ttl_ms": 1000});
    check(&relay, &doc, api::CreateUpload, json(upload)).await;
    check(&relay, &doc, api::DeleteUpload { id: "o".into() }, ()).await;
    check(&relay, &doc, api::StartDownload { id: "o".into() }, ()).await;
    check(
        &relay,
        &doc,
        api::GetBundle {
            device: DeviceId::new([1; 32]),
        },
        (),
    )
    .await;
    check(&relay, &doc, api::GetPreKeyStatus, ()).await;
    let open = serde_json::json!({"pin": false, "ttl_ms": null});
    check(&relay, &doc, api::OpenSlot, json(open)).await;
    check(&relay, &doc, api::CloseAllSlots, ()).await;
    check(&relay, &doc, api::FindPinSlot { slot: 7 }, ()).await;
    check(&relay, &doc, api::CloseSlot { id: slot() }, ()).await;
    check(&relay, &doc, api::AddPin { id: slot() }, ()).await;
    let reject = api::RejectReply { id: slot() };
    check(&relay, &doc, reject, api::Bytes(vec![1])).await;
    for msg in [Message::A1, Message::A2, Message::B] {
        let put = api::PutMessage { id: slot(), msg };
        check(&relay, &doc, put, api::Bytes(vec![1])).await;
        check(&relay, &doc, api::GetMessage { id: slot(), msg }, ()).await;
    }
    // Registration takes a token only from a successor; without one it is a
    // bad body here, not a missing route.
    let st = reqwest::Client::new()
        .post(relay.url(&api::Register.path()))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(st, 400);
}
