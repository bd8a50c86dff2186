//! The shared engine's test pump (`parley_shared::testing`) wired to a real
//! relay: REST over reqwest, frames over a WebSocket, blobs through their
//! signed URLs, and a clock tests may run ahead. Faults can be injected to
//! play a lost request or a lost answer.

use std::cell::Cell;
use std::rc::Rc;

use parley_shared::crypto::os_rng;
use parley_shared::engine::call::CallSignal;
use parley_shared::engine::flow::{BlobError, BlobRequest};
use parley_shared::engine::pairing::{InviteError, InviteEvent, InviteFlow, JoinError, JoinFlow};
use parley_shared::engine::{Engine, Reply};
use parley_shared::protocol::api::{self, Method};
use parley_shared::protocol::ws::{ClientFrame, DeviceId};
use parley_shared::testing::{Device, Progress, Transport};
use parley_shared::time::UnixMs;

use super::api::Ws;

/// A lost request (`reaches: false`) or a lost answer (`reaches: true`).
#[derive(Debug, Clone)]
pub(crate) struct Fault {
    pub method: Method,
    pub path: String,
    pub reaches: bool,
}

/// One device's I/O to a real relay.
pub(crate) struct RelayIo {
    pub base: String,
    pub http: reqwest::Client,
    pub ws: Option<Ws>,
    /// How far this device's clock runs ahead of the real one, ms (shared
    /// by the devices of a test, so they agree on the time).
    pub ahead: Rc<Cell<u64>>,
    /// What happened, in order: `METHOD path` for API calls, `BLOB METHOD`
    /// for blob transfers, `FRAME kind` for frames sent.
    pub trace: Vec<String>,
    /// The next matching request fails like this.
    pub fault: Option<Fault>,
    /// The next blob transfer fails like this.
    pub blob_fault: Option<BlobError>,
    /// Call signals that arrived, with their conversation.
    pub calls: Vec<(DeviceId, CallSignal)>,
}

impl RelayIo {
    pub(crate) fn new(base: &str, ahead: Rc<Cell<u64>>) -> Self {
        Self {
            base: base.to_owned(),
            http: reqwest::Client::new(),
            ws: None,
            ahead,
            trace: Vec::new(),
            fault: None,
            blob_fault: None,
            calls: Vec::new(),
        }
    }
}

fn method(m: Method) -> reqwest::Method {
    match m {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Delete => reqwest::Method::DELETE,
    }
}

impl Transport for RelayIo {
    fn now(&self) -> UnixMs {
        UnixMs::from_millis(super::now_ms() as u64 + self.ahead.get())
    }

    async fn perform(&mut self, req: &api::Request, token: Option<&str>) -> Reply {
        self.trace
            .push(format!("{} {}", req.method.as_str(), req.path));
        let fault = self
            .fault
            .take_if(|f| f.method == req.method && f.path == req.path);
        if fault.as_ref().is_some_and(|f| !f.reaches) {
            return Err(api::Failure::Unreachable);
        }
        let mut b = self
            .http
            .request(method(req.method), format!("{}{}", self.base, req.path));
        if let Some(t) = token.filter(|_| req.auth) {
            b = b.bearer_auth(t);
        }
        if let Some(ct) = req.body.content_type() {
            b = b.header("content-type", ct).body(req.body.bytes().to_vec());
        }
        let Ok(r) = b.send().await else {
            return Err(api::Failure::Unreachable);
        };
        let status = r.status().as_u16();
        let Ok(body) = r.bytes().await else {
            return Err(api::Failure::Unreachable);
        };
        if fault.is_some() {
            // It reached the relay; the answer is lost on the way back.
            return Err(api::Failure::Unreachable);
        }
        Ok((status, body.to_vec()))
    }

    async fn send(&mut self, frame: ClientFrame) {
        let kind = format!("{frame:?}");
        let kind = kind.split([' ', '{', '(']).next().unwrap_or_default();
        self.trace.push(format!("FRAME {kind}"));
        if let Some(ws) = self.ws.as_mut() {
            ws.send(&frame).await;
        }
    }

    fn call(&mut self, from: DeviceId, signal: CallSignal) {
        self.calls.push((from, signal));
    }

    async fn blob(&mut self, req: &BlobRequest, body: Vec<u8>) -> Result<Vec<u8>, BlobError> {
        self.trace.push(format!("BLOB {}", req.method.as_str()));
        if let Some(e) = self.blob_fault.take() {
            return Err(e);
        }
        let body = (req.method == Method::Put).then_some(body);
        let (status, bytes) =
            super::send_signed(req.method.as_str(), &req.url, &req.headers, body).await;
        match BlobError::from_status(status.as_u16()) {
            None => Ok(bytes),
            Some(e) => Err(e),
        }
    }
}

/// A new identity named `name` on the relay at `base`, registered by the
/// engine's own registration flow.
pub(crate) async fn registered(base: &str, name: &str, ahead: Rc<Cell<u64>>) -> Device<RelayIo> {
    registered_as(base, ahead, |now| Engine::create(&mut os_rng(), name, now)).await
}

/// A new identity made by `make`, registered on the relay at `base`.
pub(crate) async fn registered_as(
    base: &str,
    ahead: Rc<Cell<u64>>,
    make: impl FnOnce(UnixMs) -> Engine,
) -> Device<RelayIo> {
    let io = RelayIo::new(base, ahead);
    let now = io.now();
    let mut d = Device::new(make(now), io);
    let r = d
        .register(base, parley_shared::protocol::auth::GateProof::Open)
        .await;
    assert_eq!(r, Ok(parley_shared::engine::AccountOutcome::SignedIn));
    d
}

/// A native app: the pump's device plus its WebSocket life.
pub(crate) struct Client {
    pub dev: Device<RelayIo>,
}

impl std::ops::Deref for Client {
    type Target = Device<RelayIo>;
    fn deref(&self) -> &Self::Target {
        &self.dev
    }
}

impl std::ops::DerefMut for Client {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.dev
    }
}

impl Client {
    /// A registered device.
    pub(crate) async fn new(base: &str, name: &str, ahead: Rc<Cell<u64>>) -> Self {
        Self {
            dev: registered(base, name, ahead).await,
        }
    }

    /// A registered device waiting to be linked into an account.
    #[allow(dead_code)] // not every test file uses it
    pub(crate) async fn new_for_link(base: &str, name: &str, ahead: Rc<Cell<u64>>) -> Self {
        let make = |now| Engine::create_for_link(&mut os_rng(), name, now);
        Self {
            dev: registered_as(base, ahead, make).await,
        }
    }

    /// Carries out every effect, in order.
    pub(crate) async fn drain(&mut self) {
        self.dev.settle().await.unwrap();
    }

    /// Connects and authenticates (the engine sends `Auth`).
    pub(crate) async fn connect(&mut self) {
        self.dev.io.ws = Some(Ws::open(&self.dev.io.base).await);
        let now = self.dev.io.now();
        self.dev.engine.on_open(now);
        self.drain().await;
        self.pump(300).await;
        assert!(self.dev.engine.is_online());
    }

    pub(crate) fn disconnect(&mut self) {
        self.dev.io.ws = None;
        self.dev.engine.on_close();
    }

    /// Handles frames until none arrives for `quiet_ms`.
    pub(crate) async fn pump(&mut self, quiet_ms: u64) {
        loop {
            let Some(ws) = self.dev.io.ws.as_mut() else {
                return;
            };
            let Some(f) = ws.try_recv(quiet_ms).await else {
                return;
            };
            let now = self.dev.io.now();
            self.dev.engine.handle_frame(&mut os_rng(), f, now);
            self.drain().await;
        }
    }

    /// The texts of the conversation with `peer`, oldest first.
    #[allow(dead_code)] // not every test file uses it
    pub(crate) fn texts(&self, peer: &DeviceId) -> Vec<String> {
        self.engine
            .messages(peer)
            .iter()
            .filter_map(|m| match &m.body {
                parley_shared::engine::model::Body::Text(t) => Some(t.clone()),
                _ => None,
            })
            .collect()
    }

    /// Restarts the "app" from what it stored.
    pub(crate) fn reload(&mut self) {
        self.dev.engine = Engine::load(self.dev.store.0.clone()).unwrap().unwrap();
    }
}

/// Runs the shared clock forward to `at`, if it is behind.
pub(crate) fn advance_to(ahead: &Rc<Cell<u64>>, at: UnixMs) {
    let now = UnixMs::from_millis(super::now_ms() as u64 + ahead.get());
    ahead.set(ahead.get() + at.since(now).as_millis());
}

/// Runs an inviter's and a joiner's flows side by side (the clock jumps
/// to the next poll) until the joiner's ends; returns its result and the
/// inviter's, if that ended too. The inviter's events go to `events`.
pub(crate) async fn until_joined(
    a: &mut Client,
    invite: &mut InviteFlow,
    events: &mut Vec<InviteEvent>,
    b: &mut Client,
    join: &mut JoinFlow,
) -> (
    Result<DeviceId, JoinError>,
    Option<Result<DeviceId, InviteError>>,
) {
    let ahead = a.io.ahead.clone();
    let mut invited = None;
    for _ in 0..50 {
        let mut next = match b.join(join).await {
            Progress::Done(r) => {
                if invited.is_none()
                    && let Progress::Done(i) = a.invite(invite, events).await
                {
                    invited = Some(i);
                }
                return (r, invited);
            }
            Progress::Waiting(at) => at,
        };
        if invited.is_none() {
            match a.invite(invite, events).await {
                Progress::Done(r) => invited = Some(r),
                Progress::Waiting(at) => next = next.min(at),
            }
        }
        advance_to(&ahead, next);
    }
    panic!("the joiner never finished");
}

/// Alice and Bob on the relay at `base`, connected and paired, sharing one
/// clock offset (`ahead`, ms) that a test can run forward.
pub(crate) async fn alice_and_bob(base: &str) -> (Rc<Cell<u64>>, Client, Client) {
    let ahead = Rc::new(Cell::new(0));
    let mut alice = Client::new(base, "Alice", ahead.clone()).await;
    let mut bob = Client::new(base, "Bob", ahead.clone()).await;
    alice.connect().await;
    bob.connect().await;
    pair(&mut alice, &mut bob).await;
    (ahead, alice, bob)
}

/// Pairs `a` (inviter) and `b` (joiner) by invite link, both running the
/// engine's pairing flows over the rendezvous; then the joiner's session
/// start reaches the inviter.
pub(crate) async fn pair(a: &mut Client, b: &mut Client) {
    let mut invite = InviteFlow::new(&a.io.base);
    let mut events = Vec::new();
    let Progress::Waiting(_) = a.invite(&mut invite, &mut events).await else {
        panic!("the invite should wait for a joiner");
    };
    let Some(InviteEvent::Shown { link, .. }) = events.first().cloned() else {
        panic!("the invite shows its link first");
    };
    let now = b.io.now();
    let mut join = JoinFlow::link(&mut os_rng(), &b.engine, &link, &b.io.base, now).unwrap();
    let (joined, invited) = until_joined(a, &mut invite, &mut events, b, &mut join).await;
    assert_eq!(invited, Some(Ok(b.engine.device_id())));
    assert_eq!(joined, Ok(a.engine.device_id()));
}

/// Lets frames and replies settle between several devices.
#[allow(dead_code)] // not every test file uses it
pub(crate) async fn settle(devices: &mut [&mut Client]) {
    for _ in 0..4 {
        for d in devices.iter_mut() {
            d.pump(150).await;
        }
    }
}
