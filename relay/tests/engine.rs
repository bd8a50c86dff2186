//! The shared client engine driven natively against the real relay (SQLite
//! and PostgreSQL): pairing over the rendezvous, chat with receipts, history
//! across reloads, the outbox across a relay crash, and an offline peer.
//! The browser app is another adapter around the same engine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::api::Ws;
use common::relay::{Relay, RelayBuilder};
use parley_shared::crypto::os_rng;
use parley_shared::engine::model::{Body, Status};
use parley_shared::engine::pairing::{Inviter, LinkInvite, ReplyOutcome};
use parley_shared::engine::{Effect, Engine, MemoryStore};
use parley_shared::protocol::auth::{BundleResponse, Challenge, GateProof, Session, encode_b64};
use parley_shared::protocol::rendezvous::Rendezvous;
use parley_shared::protocol::ws::{DeviceId, ServerFrame};

fn now() -> u64 {
    common::now_ms() as u64
}

/// A native adapter: a map for storage, tungstenite for the WebSocket.
struct Client {
    engine: Engine,
    store: MemoryStore,
    ws: Option<Ws>,
    base: String,
    http: reqwest::Client,
}

impl Client {
    async fn new(base: &str, name: &str) -> Self {
        let mut c = Self {
            engine: Engine::create(&mut os_rng(), name, now()),
            store: MemoryStore::default(),
            ws: None,
            base: base.to_owned(),
            http: reqwest::Client::new(),
        };
        c.drain().await;
        let ch: Challenge = c.post_json("/api/v1/auth/challenge", "").await;
        let req = c
            .engine
            .registration_request(&c.base, &ch.challenge, GateProof::Open)
            .unwrap();
        let s: Session = c
            .post_json("/api/v1/devices", &serde_json::to_string(&req).unwrap())
            .await;
        c.engine.set_token(s.token, s.expires_at);
        c.drain().await;
        c
    }

    async fn post_json<T: serde::de::DeserializeOwned>(&self, path: &str, body: &str) -> T {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
    }

    fn token(&self) -> String {
        self.engine.token(now()).unwrap().to_owned()
    }

    async fn request(&self, method: &str, path: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
        let r = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {}", self.token()))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
    }

    fn prekey_status(&mut self, body: &[u8]) {
        let status: parley_shared::protocol::auth::PreKeyStatus =
            serde_json::from_slice(body).unwrap();
        self.engine.prekey_status(&mut os_rng(), &status, now());
    }

    /// Carries out every effect, in order.
    async fn drain(&mut self) {
        while let Some(e) = self.engine.next_effect() {
            match e {
                Effect::Store(ops) => self.store.apply(ops),
                Effect::Send(f) => {
                    if let Some(ws) = self.ws.as_mut() {
                        ws.send(&f).await;
                    }
                }
                Effect::FetchBundle(d) => {
                    let path = format!("/api/v1/devices/{}/bundle", encode_b64(&d));
                    let (st, body) = self.request("GET", &path, vec![]).await;
                    assert_eq!(st, 200);
                    let b: BundleResponse = serde_json::from_slice(&body).unwrap();
                    let raw = parley_shared::protocol::auth::decode_b64(&b.bundle).unwrap();
                    self.engine.bundle_fetched(&mut os_rng(), &d, &raw).unwrap();
                }
                Effect::UploadPreKeys(up) => {
                    let body = serde_json::to_vec(&up).unwrap();
                    let (st, body) = self.request("PUT", "/api/v1/prekeys", body).await;
                    assert_eq!(st, 200);
                    self.prekey_status(&body);
                }
                Effect::CheckPreKeys => {
                    let (st, body) = self.request("GET", "/api/v1/prekeys/status", vec![]).await;
                    assert_eq!(st, 200);
                    self.prekey_status(&body);
                }
                Effect::Changed | Effect::Call(..) => {}
            }
        }
    }

    async fn connect(&mut self) {
        self.ws = Some(Ws::open(&self.base).await);
        self.engine.on_open(now());
        self.drain().await;
        self.pump(300).await;
        assert!(self.engine.is_online());
    }

    fn disconnect(&mut self) {
        self.ws = None;
        self.engine.on_close();
    }

    /// Handles frames until none arrives for `quiet_ms`.
    async fn pump(&mut self, quiet_ms: u64) {
        loop {
            let Some(ws) = self.ws.as_mut() else { return };
            let Some(f) = ws.try_recv(quiet_ms).await else {
                return;
            };
            self.engine.handle_frame(&mut os_rng(), f, now());
            self.drain().await;
        }
    }

    /// Restarts the "app" from what it stored.
    fn reload(&mut self) {
        self.engine = Engine::load(self.store.0.clone()).unwrap().unwrap();
    }

    fn texts(&self, peer: &DeviceId) -> Vec<(bool, String, Status)> {
        self.engine
            .messages(peer)
            .iter()
            .filter_map(|m| match &m.body {
                Body::Text(t) => Some((m.outgoing, t.clone(), m.status)),
                Body::Notice(_) | Body::File(_) => None,
            })
            .collect()
    }
}

/// Pairs `a` (inviter) and `b` (joiner) by invite link over the rendezvous.
async fn pair(a: &mut Client, b: &mut Client) {
    let (st, body) = a
        .request("POST", "/api/v1/rendezvous", br#"{}"#.to_vec())
        .await;
    assert_eq!(st, 201);
    let slot: Rendezvous = serde_json::from_slice(&body).unwrap();
    assert_eq!(slot.pin_slot, None, "a link invite takes no PIN number");
    let mut inviter = Inviter::new(&mut os_rng(), &a.base, &slot, a.engine.identity()).unwrap();
    let id = slot.id.clone();

    let link = inviter.link();
    let parsed = LinkInvite::parse(&link, &b.base, b.engine.identity(), now() / 1000).unwrap();
    let (joiner, reply) = parsed
        .reply(&mut os_rng(), b.engine.identity(), &b.engine.profile())
        .unwrap();
    assert_eq!(
        b.request("PUT", &format!("/api/v1/rendezvous/{id}/b"), reply)
            .await
            .0,
        204
    );

    let (st, reply) = a
        .request("GET", &format!("/api/v1/rendezvous/{id}/b"), vec![])
        .await;
    assert_eq!(st, 200);
    let ReplyOutcome::Paired(paired, a2) = inviter.on_reply(
        &mut os_rng(),
        a.engine.identity(),
        &reply,
        &a.engine.profile(),
    ) else {
        panic!("the link reply should pair");
    };
    a.engine.add_contact(paired, false, now());
    a.drain().await;
    assert_eq!(
        a.request("PUT", &format!("/api/v1/rendezvous/{id}/a2"), a2)
            .await
            .0,
        204
    );

    let (st, a2) = b
        .request("GET", &format!("/api/v1/rendezvous/{id}/a2"), vec![])
        .await;
    assert_eq!(st, 200);
    let paired = joiner.finish(b.engine.identity(), &a2).unwrap();
    b.engine.add_contact(paired, true, now());
    b.drain().await;
}

/// Every byte the relay stored (SQLite file or a PostgreSQL dump).
fn relay_storage(relay: &Relay, pg: Option<&str>) -> Vec<u8> {
    match pg {
        None => {
            let mut all = Vec::new();
            for f in ["parley.db", "parley.db-wal"] {
                all.extend(std::fs::read(relay.data_dir.join(f)).unwrap_or_default());
            }
            all
        }
        Some(url) => {
            std::process::Command::new("pg_dump")
                .args(["--data-only", url])
                .output()
                .unwrap()
                .stdout
        }
    }
}

async fn engine_pairs_chats_and_survives_reloads_crashes_and_offline_peers(
    builder: RelayBuilder,
    pg: Option<String>,
) {
    let mut relay = builder.start().await;
    let mut alice = Client::new(&relay.base, "Alice").await;
    let mut bob = Client::new(&relay.base, "Bob").await;
    alice.connect().await;
    bob.connect().await;
    pair(&mut alice, &mut bob).await;
    let (a_id, b_id) = (alice.engine.device_id(), bob.engine.device_id());
    // Presence is opt-in: both turn it on.
    alice.engine.set_presence(true);
    bob.engine.set_presence(true);
    alice.drain().await;
    bob.drain().await;

    // Bob (joiner) started the session; his profile reaches Alice.
    bob.pump(300).await;
    alice.pump(300).await;
    assert!(alice.engine.contact(&b_id).unwrap().has_session());
    assert_eq!(alice.engine.contact(&b_id).unwrap().name, "Bob");
    assert_eq!(bob.engine.contact(&a_id).unwrap().name, "Alice");
    // Presence: each sees the other online.
    assert!(alice.engine.contact(&b_id).unwrap().online);

    alice
        .engine
        .send_text(&mut os_rng(), &b_id, "hello bob, secret-word-7781", now())
        .unwrap();
    alice.drain().await;
    bob.pump(300).await;
    alice.pump(300).await;
    assert_eq!(
        alice.texts(&b_id),
        vec![(
            true,
            "hello bob, secret-word-7781".into(),
            Status::Delivered
        )]
    );
    assert_eq!(bob.engine.contact(&a_id).unwrap().unread, 1);
    bob.engine.mark_read(&mut os_rng(), &a_id).unwrap();
    bob.drain().await;
    alice.pump(300).await;
    assert_eq!(alice.texts(&b_id)[0].2, Status::Read);
    assert_eq!(bob.engine.contact(&a_id).unwrap().unread, 0);

    bob.engine
        .send_text(&mut os_rng(), &a_id, "hi alice", now())
        .unwrap();
    bob.drain().await;
    alice.pump(300).await;
    bob.pump(300).await;
    assert_eq!(
        alice.texts(&b_id)[1],
        (false, "hi alice".into(), Status::Delivered)
    );
    assert_eq!(bob.texts(&a_id)[1].2, Status::Delivered);

    // Reload both apps from storage: identity, contact, history intact.
    let before = (alice.texts(&b_id), bob.texts(&a_id));
    alice.reload();
    bob.reload();
    assert_eq!(alice.engine.device_id(), a_id);
    assert_eq!((alice.texts(&b_id), bob.texts(&a_id)), before);

    // Bob goes offline; Alice sends one message the relay stores, then the
    // relay is SIGKILLed, and she writes another into her outbox.
    bob.disconnect();
    alice.connect().await;
    alice
        .engine
        .send_text(&mut os_rng(), &b_id, "one", now())
        .unwrap();
    alice.drain().await;
    alice.pump(300).await;
    assert_eq!(alice.texts(&b_id)[2].2, Status::Sent);
    relay = relay.crash_and_restart().await;
    alice.disconnect();
    alice
        .engine
        .send_text(&mut os_rng(), &b_id, "two", now())
        .unwrap();
    alice.drain().await;
    assert_eq!(alice.engine.outbox_len(), 1);
    assert_eq!(alice.texts(&b_id)[3].2, Status::Queued);
    // Reload with the outbox pending: it survives and is sent on connect.
    alice.reload();
    alice.connect().await;
    assert_eq!(alice.engine.outbox_len(), 0);
    assert_eq!(alice.texts(&b_id)[3].2, Status::Sent);

    bob.reload();
    bob.connect().await;
    let got: Vec<String> = bob.texts(&a_id).into_iter().map(|t| t.1).collect();
    assert_eq!(
        got,
        ["hello bob, secret-word-7781", "hi alice", "one", "two"]
    );
    alice.pump(300).await;
    assert_eq!(alice.texts(&b_id)[3].2, Status::Delivered);

    // A redelivered envelope (lost ack) is not shown twice.
    let copy = ServerFrame::Deliver {
        from: a_id,
        id: [9; 16],
        sent_at: 0,
        ephemeral: false,
        payload: {
            alice
                .engine
                .send_text(&mut os_rng(), &b_id, "once", now())
                .unwrap();
            let mut payload = None;
            while let Some(e) = alice.engine.next_effect() {
                if let Effect::Send(parley_shared::protocol::ws::ClientFrame::Send {
                    payload: p,
                    ..
                }) = e
                {
                    payload = Some(p);
                }
            }
            payload.unwrap()
        },
    };
    bob.engine.handle_frame(&mut os_rng(), copy.clone(), now());
    bob.engine.handle_frame(&mut os_rng(), copy, now());
    bob.drain().await;
    let onces = bob.texts(&a_id).iter().filter(|t| t.1 == "once").count();
    assert_eq!(onces, 1);

    // The relay never held the plaintext or a private key.
    let stored = relay_storage(&relay, pg.as_deref());
    assert!(!stored.is_empty());
    let needle = b"secret-word-7781";
    assert!(!stored.windows(needle.len()).any(|w| w == needle));
    // Private keys: neither half of Alice's identity secret is anywhere.
    let secret = alice.engine.identity().to_bytes();
    // version, then two length-prefixed 32-byte secrets
    assert_eq!((secret.len(), secret[1], secret[34]), (67, 32, 32));
    for half in [&secret[2..34], &secret[35..67]] {
        assert!(!stored.windows(32).any(|w| w == half));
    }
    drop(relay);
}

common::backends::relay_tests! {
    engine_pairs_chats_and_survives_reloads_crashes_and_offline_peers,
}
