//! Two engines and just enough of a relay between them, in memory, for
//! shared-only tests: frames are moved by the test ([`deliver`]), bundle
//! fetches are answered from the peer's engine, and every other request
//! gets no answer (as from an unreachable relay; prekey uploads are kept
//! so tests can read them). Where a relay takes part, relay tests run the
//! same pump against the real one.

use super::{Transport, block_on, settle};
use crate::crypto::keys::{IdentityPublic, PreKeyBundle};
use crate::crypto::os_rng;
use crate::crypto::pairing::Paired;
use crate::engine::call::CallSignal;
use crate::engine::content::Profile;
use crate::engine::model::Body;
use crate::engine::{Engine, MemoryStore, Reply};
use crate::protocol::api::{self, Endpoint, GetBundle, PutPreKeys};
use crate::protocol::auth::{BundleResponse, GateProof, KeyUpload, decode_b64, encode_b64};
use crate::protocol::ws::{ClientFrame, DeviceId, ServerFrame};
use crate::time::UnixMs;

/// One side of a two-engine test.
#[derive(Debug)]
pub struct Side {
    /// The engine.
    pub engine: Engine,
    /// Its records.
    pub store: MemoryStore,
    /// Frames it sent.
    pub sent: Vec<ClientFrame>,
    /// Call signals it received.
    pub calls: Vec<CallSignal>,
    /// Prekey uploads the relay would have received.
    pub uploads: Vec<KeyUpload>,
    /// Whether bundles fetched for this side carry a one-time prekey (a
    /// drained or malicious relay serves them without).
    pub one_time: bool,
}

struct Fake<'a> {
    bundle: Option<(DeviceId, Vec<u8>)>,
    sent: &'a mut Vec<ClientFrame>,
    calls: &'a mut Vec<CallSignal>,
    uploads: &'a mut Vec<KeyUpload>,
}

impl Transport for Fake<'_> {
    fn now(&self) -> UnixMs {
        UnixMs::EPOCH
    }

    async fn perform(&mut self, req: &api::Request, _token: Option<&str>) -> Reply {
        if let Some((device, bundle)) = &self.bundle
            && req.path == (GetBundle { device: *device }).path()
        {
            let body = BundleResponse {
                bundle: encode_b64(bundle),
            };
            return Ok((200, serde_json::to_vec(&body).unwrap_or_default()));
        }
        if req.path == PutPreKeys.path()
            && let Ok(up) = serde_json::from_slice(req.body.bytes())
        {
            self.uploads.push(up);
        }
        Err(api::Failure::Unreachable)
    }

    async fn send(&mut self, frame: ClientFrame) {
        self.sent.push(frame);
    }

    fn call(&mut self, _from: DeviceId, signal: CallSignal) {
        self.calls.push(signal);
    }
}

impl Side {
    fn around(engine: Engine, store: MemoryStore) -> Self {
        Self {
            engine,
            store,
            sent: Vec::new(),
            calls: Vec::new(),
            uploads: Vec::new(),
            one_time: true,
        }
    }

    /// A new, connected identity named `name` (with a token).
    pub fn new(name: &str) -> Self {
        let mut s = Self::around(
            Engine::create(&mut os_rng(), name, UnixMs::from_millis(1_000)),
            MemoryStore::default(),
        );
        s.engine
            .set_token("t".into(), UnixMs::from_millis(u64::MAX / 2));
        s.connect(UnixMs::from_millis(1_000));
        s.drain(None);
        s
    }

    /// This side as restored from `store` (a reload, or an old snapshot),
    /// connected; its effects are not run yet. Fails the test if the
    /// records do not load.
    #[allow(clippy::panic)]
    pub fn restore(store: MemoryStore, now: UnixMs) -> Self {
        let Ok(Some(engine)) = Engine::load(store.0.clone()) else {
            panic!("the stored records do not load");
        };
        let mut s = Self::around(engine, store);
        s.connect(now);
        s
    }

    /// The relay connection comes up (bundles owed are fetched by `drain`).
    pub fn connect(&mut self, now: UnixMs) {
        self.engine
            .handle_frame(&mut os_rng(), ServerFrame::Ready { queued: 0 }, now);
    }

    /// Runs effects; bundle fetches are answered from `peer`'s engine. An
    /// error a reply causes fails the test (a bundle the engine refuses).
    #[allow(clippy::panic)]
    pub fn drain(&mut self, peer: Option<&Engine>) {
        let bundle = peer.map(|p| (p.device_id(), bundle_with(p, self.one_time)));
        let mut io = Fake {
            bundle,
            sent: &mut self.sent,
            calls: &mut self.calls,
            uploads: &mut self.uploads,
        };
        let r = block_on(settle(
            &mut self.engine,
            &mut self.store,
            &mut io,
            &mut Vec::new(),
        ));
        if let Err(e) = r {
            panic!("a reply was refused: {e}");
        }
    }

    /// Envelopes sent so far, as the relay would deliver them (and accepts).
    pub fn take_envelopes(&mut self) -> Vec<(ServerFrame, ServerFrame)> {
        let from = self.engine.device_id();
        std::mem::take(&mut self.sent)
            .into_iter()
            .filter_map(|f| match f {
                ClientFrame::Send { id, payload, .. } => Some((
                    ServerFrame::Accepted { id },
                    ServerFrame::Deliver {
                        from,
                        id,
                        sent_at: UnixMs::EPOCH,
                        ephemeral: false,
                        payload,
                    },
                )),
                _ => None,
            })
            .collect()
    }
}

/// `e`'s current bundle, with its first one-time prekey.
pub fn bundle_of(e: &Engine) -> Vec<u8> {
    bundle_with(e, true)
}

/// `e`'s current bundle, with its first one-time prekey or none (empty if
/// the engine cannot make one, which a test then notices).
pub fn bundle_with(e: &Engine, one_time: bool) -> Vec<u8> {
    // The engine's published bundle is what registration uploads.
    let Some(req) = e.registration_request("http://x", &encode_b64(&[0; 32]), GateProof::Open)
    else {
        return Vec::new();
    };
    let Some(identity) =
        decode_b64(&req.identity).and_then(|b| IdentityPublic::from_bytes(&b).ok())
    else {
        return Vec::new();
    };
    let otk = req
        .keys
        .one_time_prekeys
        .first()
        .cloned()
        .filter(|_| one_time);
    PreKeyBundle::new(identity, req.keys.signed_prekey, req.keys.pq_prekey, otk)
        .map(|b| b.to_bytes())
        .unwrap_or_default()
}

/// Moves `from`'s envelopes to `to` (and the acceptances back).
pub fn deliver(from: &mut Side, to: &mut Side, now: UnixMs) {
    for (accepted, deliver) in from.take_envelopes() {
        from.engine.handle_frame(&mut os_rng(), accepted, now);
        to.engine.handle_frame(&mut os_rng(), deliver, now);
    }
    from.drain(Some(&to.engine));
    to.drain(Some(&from.engine));
}

/// Alice and Bob, paired, with a session.
pub fn paired() -> (Side, Side) {
    let mut a = Side::new("Alice");
    let mut b = Side::new("Bob");
    pair(&mut a, &mut b);
    (a, b)
}

/// `a` invited, `b` joined: both add the other; `b` starts the session.
pub fn pair(a: &mut Side, b: &mut Side) {
    introduce(a, b);
    b.drain(Some(&a.engine));
    deliver(b, a, UnixMs::from_millis(1_000));
    deliver(a, b, UnixMs::from_millis(1_000));
}

/// Both sides add each other as contacts (`b` is the initiator); nothing
/// is delivered yet.
pub fn introduce(a: &mut Side, b: &mut Side) {
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
    a.engine.add_contact(pa, false, UnixMs::from_millis(1_000));
    a.drain(None);
    b.engine.add_contact(pb, true, UnixMs::from_millis(1_000));
}

/// The texts of the conversation with `peer`, oldest first.
pub fn texts(s: &Side, peer: &DeviceId) -> Vec<String> {
    s.engine
        .messages(peer)
        .iter()
        .filter_map(|m| match &m.body {
            Body::Text(t) => Some(t.clone()),
            Body::Notice(_) | Body::File(_) => None,
        })
        .collect()
}
