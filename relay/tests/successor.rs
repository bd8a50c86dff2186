//! Key resets through the real relay on SQLite and PostgreSQL: a successor
//! registration passes no gate, so one old device must yield one successor.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::relay::RelayBuilder;

use std::sync::Arc;

use common::api::Api;
use parley_relay::config::DatabaseTarget;
use parley_relay::db::Store;
use parley_shared::crypto::keys::IdentityKeyPair;
use parley_shared::crypto::os_rng;
use parley_shared::protocol::auth::{CTX_SUCCESSOR, successor_statement};
use parley_shared::protocol::auth::{
    GateProof, RegisterRequest, encode_b64, registration_statement,
};

/// A successor registration body for `new`, vouched for by `old`.
async fn successor_body(api: &Api, old: &IdentityKeyPair, new: &IdentityKeyPair) -> String {
    let keys = Api::keys(new, 1, 1);
    let challenge = api.challenge().await;
    let sig = new.sign(
        &[],
        &[&registration_statement(&api.origin(), &challenge, &keys)],
    );
    let vouch = old.sign(CTX_SUCCESSOR, &[&successor_statement(&new.public())]);
    serde_json::to_string(&RegisterRequest {
        identity: encode_b64(&new.public().to_bytes()),
        keys,
        challenge: encode_b64(&challenge),
        signature: encode_b64(&sig),
        gate: GateProof::Successor {
            signature: encode_b64(&vouch),
        },
    })
    .unwrap()
}

/// Attack: with one old token, fire N successor registrations at once to
/// get N devices past the registration gate. Exactly one may succeed.
async fn concurrent_successor_registrations_create_one_device(
    builder: RelayBuilder,
    pg: Option<String>,
) {
    const N: usize = 8;
    let relay = builder.start().await;
    let store = match &pg {
        Some(url) => Store::connect(&DatabaseTarget::parse(url).unwrap(), 2).unwrap(),
        None => {
            Store::connect(&DatabaseTarget::Sqlite(relay.data_dir.join("parley.db")), 2).unwrap()
        }
    };
    let api = Arc::new(Api::new(&relay));
    let old = api.register(0).await;
    let mut new = Vec::new();
    let mut bodies = Vec::new();
    for _ in 0..N {
        let id = IdentityKeyPair::generate(&mut os_rng());
        bodies.push(successor_body(&api, &old.identity, &id).await);
        new.push(id);
    }
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let (api, token) = (api.clone(), old.token.clone());
            tokio::spawn(async move {
                api.send("POST", "/api/v1/devices", Some(&token), Some(body))
                    .await
                    .0
            })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        let st = t.await.unwrap();
        assert!(matches!(st, 201 | 401 | 403 | 409), "status {st}");
        created += usize::from(st == 201);
    }
    assert_eq!(created, 1, "one old device, one successor");
    let registered = new
        .iter()
        .filter(|id| store.device(id.device_id().as_bytes()).unwrap().is_some())
        .count();
    assert_eq!(registered, 1);
    assert!(
        store
            .device(old.identity.device_id().as_bytes())
            .unwrap()
            .is_none()
    );
}

common::backends::relay_tests! {
    concurrent_successor_registrations_create_one_device,
}
