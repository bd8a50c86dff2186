//! Pairing rendezvous slots against the real relay, on SQLite and PostgreSQL,
//! including a complete PIN pairing through them with the shared crypto.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::api::{Api, Device};
use common::relay::RelayBuilder;
use parley_shared::crypto::os_rng;
use parley_shared::crypto::pairing::{PinCode, PinInviter, PinJoiner};
use parley_shared::protocol::rendezvous::Rendezvous;

struct Slots<'a> {
    api: &'a Api,
}

impl Slots<'_> {
    async fn create(&self, owner: &Device, pin: bool, ttl: u32) -> Rendezvous {
        let body = format!("{{\"pin\":{pin},\"ttl_secs\":{ttl}}}");
        let (st, v) = self
            .api
            .send("POST", "/api/v1/rendezvous", Some(&owner.token), Some(body))
            .await;
        assert_eq!(st, 201, "{v}");
        serde_json::from_value(v).unwrap()
    }

    async fn put(&self, who: &Device, id: &str, msg: &str, bytes: &[u8]) -> u16 {
        reqwest::Client::new()
            .put(format!("{}/api/v1/rendezvous/{id}/{msg}", self.api.base))
            .header("authorization", format!("Bearer {}", who.token))
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    async fn get(&self, who: &Device, id: &str, msg: &str) -> (u16, Vec<u8>) {
        let r = reqwest::Client::new()
            .get(format!("{}/api/v1/rendezvous/{id}/{msg}", self.api.base))
            .header("authorization", format!("Bearer {}", who.token))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
    }
}

fn builders() -> Vec<RelayBuilder> {
    let mut out = vec![RelayBuilder::new()];
    if let Some(url) = common::fresh_pg_database() {
        out.push(RelayBuilder::new().env("DATABASE_URL", url));
    }
    out
}

#[tokio::test]
async fn qr_slot_has_one_claimant_and_write_once_messages() {
    for builder in builders() {
        let relay = builder.start().await;
        let api = Api::new(&relay);
        let slots = Slots { api: &api };
        let (owner, joiner, other) = (
            api.register(0).await,
            api.register(0).await,
            api.register(0).await,
        );
        let slot = slots.create(&owner, false, 600).await;
        assert!(slot.pin_slot.is_none());
        let id = slot.id.as_str();

        assert_eq!(slots.get(&owner, id, "b").await.0, 204, "nothing yet");
        assert_eq!(
            slots.put(&owner, id, "b", b"self").await,
            403,
            "the owner cannot answer itself"
        );
        assert_eq!(slots.put(&joiner, id, "b", b"sealed reply").await, 204);
        assert_eq!(
            slots.put(&other, id, "b", b"late reply").await,
            409,
            "one claimant"
        );
        assert_eq!(
            slots.put(&joiner, id, "b", b"again").await,
            409,
            "write-once"
        );
        assert_eq!(
            slots.get(&owner, id, "b").await,
            (200, b"sealed reply".to_vec())
        );
        assert_eq!(
            slots.get(&joiner, id, "b").await.0,
            403,
            "only the owner reads b"
        );

        assert_eq!(
            slots.put(&joiner, id, "a2", b"forged").await,
            403,
            "only the owner writes a"
        );
        assert_eq!(slots.put(&owner, id, "a2", b"confirmation").await, 204);
        assert_eq!(
            slots.get(&joiner, id, "a2").await,
            (200, b"confirmation".to_vec())
        );
        assert_eq!(
            slots.get(&other, id, "a2").await.0,
            403,
            "only the claimant reads a2"
        );
        assert_eq!(slots.put(&owner, id, "a2", b"swap").await, 409);

        assert_eq!(slots.put(&joiner, id, "zz", b"x").await, 404);
        assert_eq!(slots.put(&joiner, "AAAA", "b", b"x").await, 400);
        let (st, _) = api
            .send(
                "DELETE",
                &format!("/api/v1/rendezvous/{id}"),
                Some(&joiner.token),
                None,
            )
            .await;
        assert_eq!(st, 404, "only the owner deletes");
        let (st, _) = api
            .send(
                "DELETE",
                &format!("/api/v1/rendezvous/{id}"),
                Some(&owner.token),
                None,
            )
            .await;
        assert_eq!(st, 204);
        assert_eq!(slots.get(&owner, id, "b").await.0, 404);
    }
}

#[tokio::test]
async fn slots_expire() {
    let relay = RelayBuilder::new().start().await;
    let api = Api::new(&relay);
    let slots = Slots { api: &api };
    let owner = api.register(0).await;
    let slot = slots.create(&owner, true, 1).await;
    let pin = slot.pin_slot.unwrap();
    assert!(pin < 1000);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(slots.get(&owner, &slot.id, "a1").await.0, 404);
    let (st, _) = api
        .send(
            "GET",
            &format!("/api/v1/rendezvous/pin/{pin}"),
            Some(&owner.token),
            None,
        )
        .await;
    assert_eq!(st, 404);
    assert_eq!(
        api.send(
            "POST",
            "/api/v1/rendezvous",
            None,
            Some("{\"pin\":true}".into())
        )
        .await
        .0,
        401
    );
}

#[tokio::test]
async fn pin_pairing_through_the_relay() {
    for builder in builders() {
        let relay = builder.start().await;
        let api = Api::new(&relay);
        let slots = Slots { api: &api };
        let (alice, bob, mallory) = (
            api.register(0).await,
            api.register(0).await,
            api.register(0).await,
        );
        let rng = &mut os_rng();

        // Alice opens a PIN slot and shows the code NNN-NNNNN.
        let slot = slots.create(&alice, true, 600).await;
        let code = PinCode::new(rng, slot.pin_slot.unwrap()).unwrap();
        let (inviter, msg_a) = PinInviter::start(rng, &code);
        assert_eq!(slots.put(&alice, &slot.id, "a1", &msg_a).await, 204);

        // Bob types the code: finds the slot by its number, answers.
        let typed = PinCode::parse(&code.display()).unwrap();
        let (st, v) = api
            .send(
                "GET",
                &format!("/api/v1/rendezvous/pin/{}", typed.slot()),
                Some(&bob.token),
                None,
            )
            .await;
        assert_eq!(st, 200);
        let found: Rendezvous = serde_json::from_value(v).unwrap();
        assert_eq!(found.id, slot.id);
        let (_, a1) = slots.get(&bob, &found.id, "a1").await;
        let (joiner, reply) = PinJoiner::start(rng, &typed, &bob.identity, &a1, b"Bob").unwrap();
        assert_eq!(slots.put(&bob, &found.id, "b", &reply).await, 204);
        // A guesser arriving later cannot take the slot: one claim per slot.
        assert_eq!(slots.put(&mallory, &found.id, "b", b"guess").await, 409);

        let (_, b) = slots.get(&alice, &slot.id, "b").await;
        let (peer, fin) = inviter.finish(rng, &alice.identity, &b, b"Alice").unwrap();
        assert_eq!(peer.peer, bob.identity.public());
        assert_eq!(slots.put(&alice, &slot.id, "a2", &fin).await, 204);
        let (_, a2) = slots.get(&bob, &found.id, "a2").await;
        let back = joiner.finish(&a2).unwrap();
        assert_eq!(back.peer, alice.identity.public());
        assert_eq!(back.profile, b"Alice");
    }
}
