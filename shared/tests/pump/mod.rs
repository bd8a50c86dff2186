//! The native effect pump for engine tests: two engines exchange the frames
//! they emit through a tiny in-test wire that plays the relay.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use parley_shared::crypto::os_rng;
use parley_shared::crypto::pairing::Paired;
use parley_shared::engine::call::CallSignal;
use parley_shared::engine::content::Profile;
use parley_shared::engine::model::Body;
use parley_shared::engine::{Effect, Engine, MemoryStore};
use parley_shared::protocol::ws::{ClientFrame, ServerFrame};

pub(crate) struct Side {
    pub engine: Engine,
    pub store: MemoryStore,
    pub sent: Vec<ClientFrame>,
    pub calls: Vec<CallSignal>,
    /// Prekey uploads the relay would have received.
    pub uploads: Vec<parley_shared::protocol::auth::KeyUpload>,
    /// Whether bundles fetched for this side carry a one-time prekey (a
    /// drained or malicious relay serves them without).
    pub one_time: bool,
}

impl Side {
    pub(crate) fn new(name: &str) -> Self {
        let mut s = Self {
            engine: Engine::create(&mut os_rng(), name, 1_000),
            store: MemoryStore::default(),
            sent: Vec::new(),
            calls: Vec::new(),
            uploads: Vec::new(),
            one_time: true,
        };
        s.engine.set_token("t".into(), u64::MAX / 2000);
        s.connect(1_000);
        s.drain(None);
        s
    }

    /// This side as restored from `store` (a reload, or an old snapshot),
    /// connected; its effects are not run yet.
    pub(crate) fn restore(store: MemoryStore, now: u64) -> Self {
        let engine = Engine::load(store.0.clone()).unwrap().unwrap();
        let mut s = Self {
            engine,
            store,
            sent: Vec::new(),
            calls: Vec::new(),
            uploads: Vec::new(),
            one_time: true,
        };
        s.connect(now);
        s
    }

    /// The relay connection comes up (bundles owed are fetched by `drain`).
    pub(crate) fn connect(&mut self, now: u64) {
        self.engine
            .handle_frame(&mut os_rng(), ServerFrame::Ready { queued: 0 }, now);
    }

    /// Runs effects; bundle fetches are answered from `peer`'s engine.
    pub(crate) fn drain(&mut self, peer: Option<&Engine>) {
        while let Some(e) = self.engine.next_effect() {
            match e {
                Effect::Store(ops) => self.store.apply(ops),
                Effect::Send(f) => self.sent.push(f),
                Effect::FetchBundle(d) => {
                    let peer = peer.expect("bundle asked without a peer");
                    assert_eq!(peer.device_id(), d);
                    let bundle = bundle_with(peer, self.one_time);
                    self.engine
                        .bundle_fetched(&mut os_rng(), &d, &bundle)
                        .unwrap();
                }
                Effect::Call(_, signal) => self.calls.push(signal),
                Effect::UploadPreKeys(up) => self.uploads.push(up),
                Effect::CheckPreKeys | Effect::Changed => {}
            }
        }
    }

    /// Envelopes sent so far, as the relay would deliver them (and accepts).
    pub(crate) fn take_envelopes(&mut self) -> Vec<(ServerFrame, ServerFrame)> {
        let from = self.engine.device_id();
        std::mem::take(&mut self.sent)
            .into_iter()
            .filter_map(|f| match f {
                ClientFrame::Send { id, payload, .. } => Some((
                    ServerFrame::Accepted { id },
                    ServerFrame::Deliver {
                        from,
                        id,
                        sent_at: 0,
                        ephemeral: false,
                        payload,
                    },
                )),
                _ => None,
            })
            .collect()
    }
}

pub(crate) fn bundle_of(e: &Engine) -> Vec<u8> {
    bundle_with(e, true)
}

/// `e`'s current bundle, with its first one-time prekey or none.
pub(crate) fn bundle_with(e: &Engine, one_time: bool) -> Vec<u8> {
    // The engine's published bundle is what registration uploads.
    let req = e
        .registration_request(
            "http://x",
            &parley_shared::protocol::auth::encode_b64(&[0; 32]),
            parley_shared::protocol::auth::GateProof::Open,
        )
        .unwrap();
    let identity = parley_shared::crypto::keys::IdentityPublic::from_bytes(
        &parley_shared::protocol::auth::decode_b64(&req.identity).unwrap(),
    )
    .unwrap();
    parley_shared::crypto::keys::PreKeyBundle::new(
        identity,
        req.keys.signed_prekey,
        req.keys.pq_prekey,
        req.keys
            .one_time_prekeys
            .first()
            .cloned()
            .filter(|_| one_time),
    )
    .unwrap()
    .to_bytes()
}

/// Moves `from`'s envelopes to `to` (and the acceptances back).
pub(crate) fn deliver(from: &mut Side, to: &mut Side, now: u64) {
    for (accepted, deliver) in from.take_envelopes() {
        from.engine.handle_frame(&mut os_rng(), accepted, now);
        to.engine.handle_frame(&mut os_rng(), deliver, now);
    }
    from.drain(Some(&to.engine));
    to.drain(Some(&from.engine));
}

pub(crate) fn paired() -> (Side, Side) {
    let mut a = Side::new("Alice");
    let mut b = Side::new("Bob");
    pair(&mut a, &mut b);
    (a, b)
}

/// `a` invited, `b` joined: both add the other; `b` starts the session.
pub(crate) fn pair(a: &mut Side, b: &mut Side) {
    introduce(a, b);
    b.drain(Some(&a.engine));
    deliver(b, a, 1_000);
    deliver(a, b, 1_000);
}

/// Both sides add each other as contacts (`b` is the initiator); nothing
/// is delivered yet.
pub(crate) fn introduce(a: &mut Side, b: &mut Side) {
    let pa = Paired {
        peer: b.engine.identity().public(),
        profile: Profile { name: "Bob".into() }.to_bytes(),
    };
    let pb = Paired {
        peer: a.engine.identity().public(),
        profile: Profile {
            name: "Alice".into(),
        }
        .to_bytes(),
    };
    a.engine.add_contact(pa, false, 1_000);
    a.drain(None);
    b.engine.add_contact(pb, true, 1_000);
}

pub(crate) fn texts(s: &Side, peer: &[u8; 32]) -> Vec<String> {
    s.engine
        .messages(peer)
        .iter()
        .filter_map(|m| match &m.body {
            Body::Text(t) => Some(t.clone()),
            Body::Notice(_) | Body::File(_) => None,
        })
        .collect()
}
