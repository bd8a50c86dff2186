//! Pairing rendezvous slots against the real relay, on SQLite and PostgreSQL,
//! including a complete PIN pairing through them with the shared crypto, and
//! the attacks on PIN invites of ADR 0010: one device hoarding slots, probing
//! PIN numbers, and voiding invites with junk replies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::api::{Api, Device, client_from};
use common::relay::RelayBuilder;
use parley_shared::crypto::os_rng;
use parley_shared::crypto::pairing::{PinCode, PinInviter, PinJoiner};
use parley_shared::engine::pairing::{Inviter, ReplyOutcome, join_pin};
use parley_shared::protocol::rendezvous::{
    MAX_ATTEMPTS, MAX_OPEN_SLOTS, PIN_LOOKUPS_PER_MINUTE, PIN_SLOTS, Rejected, Rendezvous,
};
use serde_json::Value;

/// Slot calls as one device's app makes them, from one network address.
struct Slots<'a> {
    api: &'a Api,
    http: reqwest::Client,
}

impl<'a> Slots<'a> {
    fn new(api: &'a Api) -> Self {
        Self::from_ip(api, [127, 0, 0, 1])
    }

    /// Requests from another loopback address: another client network.
    fn from_ip(api: &'a Api, ip: [u8; 4]) -> Self {
        Self {
            api,
            http: client_from(ip),
        }
    }

    async fn call(
        &self,
        who: &Device,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> (u16, Vec<u8>) {
        let mut b = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.api.base))
            .header("authorization", format!("Bearer {}", who.token));
        if let Some(body) = body {
            b = b.body(body);
        }
        let r = b.send().await.unwrap();
        (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
    }

    async fn json(&self, who: &Device, method: &str, path: &str, body: &str) -> (u16, Value) {
        let r = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.api.base))
            .header("authorization", format!("Bearer {}", who.token))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let st = r.status().as_u16();
        let bytes = r.bytes().await.unwrap();
        (st, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn try_create(&self, owner: &Device, pin: bool) -> (u16, Value) {
        let body = format!("{{\"pin\":{pin}}}");
        self.json(owner, "POST", "/api/v1/rendezvous", &body).await
    }

    async fn create(&self, owner: &Device, pin: bool, ttl: u32) -> Rendezvous {
        let body = format!("{{\"pin\":{pin},\"ttl_ms\":{}}}", u64::from(ttl) * 1000);
        let (st, v) = self.json(owner, "POST", "/api/v1/rendezvous", &body).await;
        assert_eq!(st, 201, "{v}");
        serde_json::from_value(v).unwrap()
    }

    async fn add_pin(&self, owner: &Device, id: &str) -> (u16, Value) {
        let path = format!("/api/v1/rendezvous/{id}/pin");
        self.json(owner, "POST", &path, "").await
    }

    async fn lookup(&self, who: &Device, number: u16) -> (u16, Value) {
        let path = format!("/api/v1/rendezvous/pin/{number}");
        let (st, bytes) = self.call(who, "GET", &path, None).await;
        (st, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn put(&self, who: &Device, id: &str, msg: &str, bytes: &[u8]) -> u16 {
        let path = format!("/api/v1/rendezvous/{id}/{msg}");
        self.call(who, "PUT", &path, Some(bytes.to_vec())).await.0
    }

    async fn get(&self, who: &Device, id: &str, msg: &str) -> (u16, Vec<u8>) {
        let path = format!("/api/v1/rendezvous/{id}/{msg}");
        self.call(who, "GET", &path, None).await
    }

    async fn reject(&self, owner: &Device, id: &str, next_a1: Option<Vec<u8>>) -> (u16, Value) {
        let path = format!("/api/v1/rendezvous/{id}/reject");
        let (st, bytes) = self
            .call(owner, "POST", &path, Some(next_a1.unwrap_or_default()))
            .await;
        (st, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }
}

async fn qr_slot_has_one_claimant_and_write_once_messages(
    builder: RelayBuilder,
    _pg: Option<String>,
) {
    let relay = builder.start().await;
    let api = Api::new(&relay);
    let slots = Slots::new(&api);
    let [owner, joiner, other] = api.devices().await;
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

#[tokio::test]
async fn slots_expire() {
    let relay = RelayBuilder::new().start().await;
    let api = Api::new(&relay);
    let slots = Slots::new(&api);
    let owner = api.register(0).await;
    let slot = slots.create(&owner, true, 1).await;
    let pin = slot.pin_slot.unwrap();
    assert!(pin < PIN_SLOTS);
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

async fn pin_pairing_through_the_relay(builder: RelayBuilder, _pg: Option<String>) {
    let relay = builder.start().await;
    let api = Api::new(&relay);
    let slots = Slots::new(&api);
    let [alice, bob, mallory] = api.devices().await;
    let rng = &mut os_rng();

    // Alice opens a PIN slot and shows the code NNNN-NNNNNN.
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

fn code(v: &Value) -> &str {
    v["code"].as_str().unwrap_or_default()
}

async fn one_device_at_its_cap_does_not_stop_others_from_inviting(
    builder: RelayBuilder,
    _pg: Option<String>,
) {
    let relay = builder.start().await;
    let api = Api::new(&relay);
    let slots = Slots::new(&api);
    let [mallory, alice, bob] = api.devices().await;

    // Mallory opens PIN slots until the relay says no.
    let mut held = Vec::new();
    for _ in 0..MAX_OPEN_SLOTS {
        held.push(slots.create(&mallory, true, 600).await);
    }
    for pin in [true, false] {
        let (st, v) = slots.try_create(&mallory, pin).await;
        assert_eq!((st, code(&v)), (429, "quota_exceeded"), "{v}");
    }

    // Everyone else still invites: by link (no PIN number taken) and by PIN.
    let link = slots.create(&alice, false, 600).await;
    assert_eq!(link.pin_slot, None, "a link invite takes no PIN number");
    let (st, v) = slots.add_pin(&alice, &link.id).await;
    assert_eq!(st, 200, "{v}");
    let with_pin: Rendezvous = serde_json::from_value(v).unwrap();
    assert_eq!(with_pin.id, link.id);
    let number = with_pin.pin_slot.unwrap();
    assert!(held.iter().all(|s| s.pin_slot != Some(number)));
    let (st, again) = slots.add_pin(&alice, &link.id).await;
    assert_eq!(
        (st, &again["pin_slot"]),
        (200, &Value::from(number)),
        "same number"
    );
    let (st, _) = slots.add_pin(&bob, &link.id).await;
    assert_eq!(st, 404, "only the owner gives its slot a PIN");

    // A completed pairing no longer counts, and frees its number.
    let done = &held[0];
    assert_eq!(slots.put(&bob, &done.id, "b", b"reply").await, 204);
    assert_eq!(slots.put(&mallory, &done.id, "a2", b"confirm").await, 204);
    let (st, _) = slots.lookup(&alice, done.pin_slot.unwrap()).await;
    assert_eq!(st, 404, "a used code is gone");
    assert_eq!(
        slots.get(&bob, &done.id, "a2").await.0,
        200,
        "the joiner still reads a2"
    );
    assert_eq!(slots.try_create(&mallory, false).await.0, 201);
    assert_eq!(slots.try_create(&mallory, false).await.0, 429);

    // The owner can close all its invites at once (other tabs, closed pages).
    let (st, _) = slots
        .call(&mallory, "DELETE", "/api/v1/rendezvous", None)
        .await;
    assert_eq!(st, 204);
    assert_eq!(slots.get(&mallory, &held[1].id, "a1").await.0, 404);
    assert_eq!(
        slots.get(&alice, &link.id, "a1").await.0,
        204,
        "others' slots stay"
    );
    assert_eq!(slots.try_create(&mallory, true).await.0, 201);
}

#[tokio::test]
async fn one_network_cannot_take_more_than_a_few_pin_numbers() {
    let relay = RelayBuilder::new().start().await;
    let api = Api::new(&relay);
    let farm = Slots::new(&api);
    // Many devices on one network together get a bounded burst of numbers.
    let mut given = 0;
    let mut refused = None;
    for _ in 0..5 {
        let device = api.register(0).await;
        for _ in 0..MAX_OPEN_SLOTS {
            match farm.try_create(&device, true).await {
                (201, _) => given += 1,
                (st, v) => {
                    refused = Some((st, code(&v).to_owned()));
                    break;
                }
            }
        }
    }
    assert_eq!(given, 10, "a burst of 10 PIN numbers per network");
    assert_eq!(refused, Some((429, "rate_limited".into())));
    // Link invites need no number and go on working; so do other networks.
    let device = api.register(0).await;
    assert_eq!(farm.try_create(&device, false).await.0, 201);
    let elsewhere = Slots::from_ip(&api, [127, 0, 0, 2]);
    assert_eq!(elsewhere.try_create(&device, true).await.0, 201);
}

async fn pin_lookups_are_rate_limited(builder: RelayBuilder, _pg: Option<String>) {
    let relay = builder.start().await;
    let api = Api::new(&relay);
    let [alice, mallory, accomplice, bob] = api.devices().await;
    let here = Slots::new(&api);
    let number = here.create(&alice, true, 600).await.pin_slot.unwrap();

    // Mallory probes numbers: a handful, then refused (hits and misses alike).
    for k in 1..=u16::try_from(PIN_LOOKUPS_PER_MINUTE).unwrap() {
        let probe = (number + k) % PIN_SLOTS;
        assert_eq!(here.lookup(&mallory, probe).await.0, 404);
    }
    let (st, v) = here.lookup(&mallory, number).await;
    assert_eq!((st, code(&v)), (429, "rate_limited"), "{v}");
    // Per device: another network does not help Mallory...
    let elsewhere = Slots::from_ip(&api, [127, 0, 0, 2]);
    assert_eq!(elsewhere.lookup(&mallory, number).await.0, 429);
    // ...and per network: neither does another device on hers.
    assert_eq!(here.lookup(&accomplice, number).await.0, 429);
    // Bob, elsewhere, types Alice's code and finds her slot.
    let (st, v) = Slots::from_ip(&api, [127, 0, 0, 3])
        .lookup(&bob, number)
        .await;
    assert_eq!(st, 200, "{v}");
    // Out-of-range numbers are probes too.
    let (st, _) = elsewhere.lookup(&accomplice, PIN_SLOTS).await;
    assert_eq!(st, 404);
}

/// Alice's PIN invite: as the app makes it (a link slot, then a PIN on
/// request), or with the number asked for at creation (`pin: true`).
async fn pin_invite(
    slots: &Slots<'_>,
    alice: &Device,
    base: &str,
    on_request: bool,
) -> (Inviter, Rendezvous) {
    let slot = slots.create(alice, !on_request, 600).await;
    let mut inviter = Inviter::new(&mut os_rng(), base, &slot, &alice.identity).unwrap();
    let numbered = if on_request {
        let (st, v) = slots.add_pin(alice, &slot.id).await;
        assert_eq!(st, 200, "{v}");
        serde_json::from_value(v).unwrap()
    } else {
        slot.clone()
    };
    let a1 = inviter.add_pin(&mut os_rng(), &numbered).unwrap();
    assert_eq!(slots.put(alice, &slot.id, "a1", &a1).await, 204);
    (inviter, numbered)
}

/// Alice reads the waiting reply and answers it as the app does: `a2` on
/// success, otherwise a rejection carrying the next `a1`. Returns whether
/// the pairing completed, and the attempts left.
async fn alice_answers(
    slots: &Slots<'_>,
    alice: &Device,
    inviter: &mut Inviter,
    id: &str,
) -> (bool, u8) {
    let (st, b) = slots.get(alice, id, "b").await;
    assert_eq!(st, 200);
    match inviter.on_reply(&mut os_rng(), &alice.identity, &b, b"Alice") {
        ReplyOutcome::Paired(_, a2) => {
            assert_eq!(slots.put(alice, id, "a2", &a2).await, 204);
            (true, inviter.attempts_left())
        }
        ReplyOutcome::Rejected { next_a1, .. } => {
            let (st, v) = slots.reject(alice, id, next_a1).await;
            assert_eq!(st, 200, "{v}");
            let r: Rejected = serde_json::from_value(v).unwrap();
            assert_eq!(r.attempts_left, inviter.attempts_left());
            (false, r.attempts_left)
        }
        ReplyOutcome::Void(e) => {
            let (st, v) = slots.reject(alice, id, None).await;
            assert_eq!((st, &v["attempts_left"]), (200, &Value::from(0)), "{e}");
            (false, 0)
        }
    }
}

async fn junk_reply_does_not_void_the_invite(builder: RelayBuilder, _pg: Option<String>) {
    let relay = builder.start().await;
    let api = Api::new(&relay);
    let slots = Slots::new(&api);
    let [alice, bob, mallory] = api.devices().await;
    let (mut inviter, numbered) = pin_invite(&slots, &alice, &api.base, false).await;
    let shown = inviter.pin().unwrap();
    let number = numbered.pin_slot.unwrap();

    // Mallory knows (or found) the number, not the password: junk.
    let stranger = Slots::from_ip(&api, [127, 0, 0, 2]);
    let (st, v) = stranger.lookup(&mallory, number).await;
    assert_eq!(st, 200, "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    assert_eq!(stranger.put(&mallory, &id, "b", b"Pjunk").await, 204);
    // Bob, typing meanwhile, is told to wait (not that the invite is gone).
    let bobs = Slots::from_ip(&api, [127, 0, 0, 3]);
    let (_, old_a1) = bobs.get(&bob, &id, "a1").await;
    assert_eq!(bobs.put(&bob, &id, "b", b"early").await, 409);

    let (paired, left) = alice_answers(&slots, &alice, &mut inviter, &id).await;
    assert!(!paired);
    assert_eq!(left, MAX_ATTEMPTS - 1);
    assert_eq!(
        stranger.get(&mallory, &id, "a2").await.0,
        403,
        "claim dropped"
    );

    // Bob pairs with the code he was shown, on the same invite.
    let code = PinCode::parse(&shown).unwrap();
    let (st, v) = bobs.lookup(&bob, code.slot()).await;
    assert_eq!((st, v["id"].as_str()), (200, Some(id.as_str())));
    let (st, a1) = bobs.get(&bob, &id, "a1").await;
    assert_eq!(st, 200);
    assert_ne!(a1, old_a1, "each attempt has a fresh SPAKE2 message");
    let (joiner, b) = join_pin(&mut os_rng(), &code, &bob.identity, &a1, b"Bob").unwrap();
    assert_eq!(bobs.put(&bob, &id, "b", &b).await, 204);
    assert_eq!(
        alice_answers(&slots, &alice, &mut inviter, &id).await,
        (true, MAX_ATTEMPTS - 1)
    );
    let (st, a2) = bobs.get(&bob, &id, "a2").await;
    assert_eq!(st, 200);
    let paired = joiner.finish(&bob.identity, &a2).unwrap();
    assert_eq!(paired.peer, alice.identity.public());

    // Used: gone for everyone else.
    assert_eq!(stranger.put(&mallory, &id, "b", b"late").await, 404);
    assert_eq!(stranger.lookup(&mallory, number).await.0, 404);
}

async fn a_code_is_worth_at_most_three_guesses(builder: RelayBuilder, _pg: Option<String>) {
    let relay = builder.start().await;
    let api = Api::new(&relay);
    let slots = Slots::new(&api);
    let [alice, bob, mallory] = api.devices().await;
    let (mut inviter, numbered) = pin_invite(&slots, &alice, &api.base, true).await;
    let id = numbered.id.clone();
    // Rejecting needs a reply waiting, and the owner.
    assert_eq!(slots.reject(&alice, &id, None).await.0, 409);
    assert_eq!(slots.put(&mallory, &id, "b", b"junk").await, 204);
    assert_eq!(slots.reject(&mallory, &id, None).await.0, 404);

    // Mallory guesses, once per attempt, with real SPAKE2 runs.
    let number = numbered.pin_slot.unwrap();
    let mut left = MAX_ATTEMPTS;
    let mut guess = 0u32;
    while left > 0 {
        if guess > 0 {
            let (_, a1) = slots.get(&mallory, &id, "a1").await;
            let code = PinCode::parse(&format!("{number:04}-{guess:06}")).unwrap();
            let (_, b) = join_pin(&mut os_rng(), &code, &mallory.identity, &a1, b"").unwrap();
            assert_eq!(slots.put(&mallory, &id, "b", &b).await, 204);
        }
        let (paired, now_left) = alice_answers(&slots, &alice, &mut inviter, &id).await;
        assert!(
            !paired,
            "guess {guess} cannot be right (or the test is very unlucky)"
        );
        assert_eq!(now_left, left - 1);
        left = now_left;
        guess += 1;
    }
    // The third failure closed the slot: even the right code is too late.
    assert_eq!(slots.get(&bob, &id, "a1").await.0, 404);
    assert_eq!(slots.put(&bob, &id, "b", b"P").await, 404);
    assert_eq!(slots.lookup(&bob, number).await.0, 404);
}

common::backends::relay_tests! {
    qr_slot_has_one_claimant_and_write_once_messages,
    pin_pairing_through_the_relay,
    one_device_at_its_cap_does_not_stop_others_from_inviting,
    pin_lookups_are_rate_limited,
    junk_reply_does_not_void_the_invite,
    a_code_is_worth_at_most_three_guesses,
}
