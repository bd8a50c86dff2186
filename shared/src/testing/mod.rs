//! One native effect pump for tests and native tools (feature `testing`):
//! it carries out an [`Engine`]'s effects in order and drives the flows
//! (account, pairing, file transfer), with every bit of I/O behind
//! [`Transport`]. Relay tests implement it over HTTP and a WebSocket to a
//! real relay; shared-only tests use the in-memory [`fake`], which plays
//! just enough of a relay for two engines. `parley-shared` itself stays
//! free of I/O: this module only calls the trait.

pub mod fake;
mod rng;
pub mod room;
pub mod vectors;

pub use rng::SeededRng;

use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use crate::crypto::os_rng;
use crate::crypto::stream::{Decryptor, Encryptor, FileKey};
use crate::engine::call::CallSignal;
use crate::engine::content::MessageId;
use crate::engine::files::FileState;
use crate::engine::flow::{BlobError, BlobRequest, Step};
use crate::engine::link::LinkError;
use crate::engine::link::handover::{HandoverReceive, HandoverSend};
use crate::engine::pairing::{
    InviteError, InviteEvent, InviteFlow, JoinError, JoinFlow, PairingFlow,
};
use crate::engine::transfer::{DownloadFlow, TransferError, UploadFlow};
use crate::engine::{
    AccountError, AccountOutcome, Effect, Engine, EngineError, MemoryStore, Reply,
};
use crate::protocol::api;
use crate::protocol::auth::GateProof;
use crate::protocol::ws::{ClientFrame, DeviceId};
use crate::time::UnixMs;

/// A device's I/O, as the pump needs it.
pub trait Transport {
    /// The device's clock (tests may run it ahead).
    fn now(&self) -> UnixMs;
    /// Performs one API request; `token` is the device's bearer token
    /// when the request asks for one.
    fn perform(&mut self, req: &api::Request, token: Option<&str>) -> impl Future<Output = Reply>;
    /// Sends a frame on the device's connection (dropped when there is none).
    fn send(&mut self, frame: ClientFrame) -> impl Future<Output = ()>;
    /// A call signal arrived.
    fn call(&mut self, from: DeviceId, signal: CallSignal) {
        let _ = (from, signal);
    }
    /// Transfers bytes through a signed URL: `body` for a `PUT`; returns the
    /// body of a `GET`.
    fn blob(
        &mut self,
        req: &BlobRequest,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<Vec<u8>, BlobError>> {
        let _ = (req, body);
        async { Err(BlobError::Unreachable) }
    }
}

/// Carries out every effect of `engine`, in order, until there is none
/// (replies may add more); requests performed are added to `log`. Returns
/// the first error a reply caused.
pub async fn settle<T: Transport>(
    engine: &mut Engine,
    store: &mut MemoryStore,
    io: &mut T,
    log: &mut Vec<api::Request>,
) -> Result<(), EngineError> {
    let mut result = Ok(());
    while let Some(e) = engine.next_effect() {
        match e {
            Effect::Store(ops) => store.apply(ops),
            Effect::Send(f) => io.send(f).await,
            Effect::Http { id, request } => {
                let now = io.now();
                let token = engine.token(now).map(str::to_owned);
                log.push(request.clone());
                let reply = io.perform(&request, token.as_deref()).await;
                let r = engine.http_reply(&mut os_rng(), id, reply, io.now());
                if result.is_ok() {
                    result = r;
                }
            }
            Effect::Call(from, signal) => io.call(from, signal),
            Effect::Changed => {}
        }
    }
    result
}

/// Where a flow stands after [`Device::advance`]-style driving.
#[derive(Debug)]
pub enum Progress<R> {
    /// Waiting until this time or a user intent.
    Waiting(UnixMs),
    /// Ended.
    Done(R),
}

/// An engine, its storage and its I/O.
#[derive(Debug)]
pub struct Device<T> {
    /// The engine.
    pub engine: Engine,
    /// Its records.
    pub store: MemoryStore,
    /// Its I/O.
    pub io: T,
    /// Every request performed, in order (tests check order and content).
    pub log: Vec<api::Request>,
}

impl<T: Transport> Device<T> {
    /// A device around `engine`.
    pub fn new(engine: Engine, io: T) -> Self {
        Self {
            engine,
            store: MemoryStore::default(),
            io,
            log: Vec::new(),
        }
    }

    async fn request(&mut self, req: &api::Request) -> Reply {
        let now = self.io.now();
        let token = self.engine.token(now).map(str::to_owned);
        self.log.push(req.clone());
        self.io.perform(req, token.as_deref()).await
    }

    /// Carries out every effect, in order (see [`settle`]).
    pub async fn settle(&mut self) -> Result<(), EngineError> {
        settle(
            &mut self.engine,
            &mut self.store,
            &mut self.io,
            &mut self.log,
        )
        .await
    }

    async fn account(&mut self) -> Result<AccountOutcome, AccountError> {
        // Errors of other requests do not concern the account flow.
        let _ = self.settle().await;
        match self.engine.account_result() {
            Some(r) => r.clone(),
            None => Err(api::Failure::Unreachable.into()),
        }
    }

    /// Registers with the relay at `origin`.
    pub async fn register(
        &mut self,
        origin: &str,
        gate: GateProof,
    ) -> Result<AccountOutcome, AccountError> {
        self.engine.register(origin, gate)?;
        self.account().await
    }

    /// Logs in (resuming an unanswered key reset first).
    pub async fn login(&mut self, origin: &str) -> Result<AccountOutcome, AccountError> {
        self.engine.login(origin);
        self.account().await
    }

    /// Resets the identity keys.
    pub async fn reset_keys(&mut self, origin: &str) -> Result<AccountOutcome, AccountError> {
        self.engine.reset_keys(&mut os_rng(), origin)?;
        self.account().await
    }

    /// Runs the invite until it waits or ends; its events go to `events`.
    pub async fn invite(
        &mut self,
        flow: &mut InviteFlow,
        events: &mut Vec<InviteEvent>,
    ) -> Progress<Result<DeviceId, InviteError>> {
        self.pairing(flow, events).await
    }

    /// Runs the join until it waits or ends.
    pub async fn join(&mut self, flow: &mut JoinFlow) -> Progress<Result<DeviceId, JoinError>> {
        self.pairing(flow, &mut Vec::new()).await
    }

    async fn pairing<F: PairingFlow>(
        &mut self,
        flow: &mut F,
        events: &mut Vec<F::Event>,
    ) -> Progress<F::Outcome> {
        loop {
            match flow.step(self.io.now()) {
                Step::Http(req) => {
                    let reply = self.request(&req).await;
                    let now = self.io.now();
                    flow.on_reply(&mut os_rng(), &mut self.engine, reply, now);
                    let _ = self.settle().await;
                }
                Step::Event(e) => events.push(e),
                Step::Wait(at) => return Progress::Waiting(at),
                Step::Done(r) => return Progress::Done(r),
                // Pairing has no blob transfers.
                Step::Blob(_) => return Progress::Waiting(UnixMs::NEVER),
            }
        }
    }

    /// Sends `plaintext` through `flow` (whose key it encrypts with), to the end.
    pub async fn upload(
        &mut self,
        flow: &mut UploadFlow,
        key: &[u8; 32],
        plaintext: &[u8],
    ) -> Result<MessageId, TransferError> {
        loop {
            match flow.step(self.io.now()) {
                Step::Http(req) => {
                    let reply = self.request(&req).await;
                    flow.on_reply(reply);
                }
                Step::Blob(req) => {
                    let r = match encrypt(key, plaintext) {
                        Ok((body, digest)) => self.io.blob(&req, body).await.map(|_| digest),
                        Err(e) => Err(e),
                    };
                    let now = self.io.now();
                    flow.on_uploaded(&mut os_rng(), &mut self.engine, r, now);
                    let _ = self.settle().await;
                }
                Step::Done(r) => return r,
                // Transfers never wait on a timer.
                Step::Wait(_) | Step::Event(()) => {
                    return Err(TransferError::Relay(api::Failure::Unreachable));
                }
            }
        }
    }

    /// Receives (or declines) through `flow`, to the end; returns the
    /// state recorded and the plaintext, if it was fetched.
    pub async fn download(
        &mut self,
        flow: &mut DownloadFlow,
    ) -> (Result<FileState, TransferError>, Option<Vec<u8>>) {
        let mut plaintext = None;
        loop {
            match flow.step(self.io.now()) {
                Step::Http(req) => {
                    let reply = self.request(&req).await;
                    flow.on_reply(&mut os_rng(), &mut self.engine, reply);
                    let _ = self.settle().await;
                }
                Step::Blob(req) => {
                    let offer = flow.offer().clone();
                    let r = match self.io.blob(&req, Vec::new()).await {
                        Ok(body) => decrypt(&offer.key, offer.size, offer.digest, &body),
                        Err(e) => Err(e),
                    };
                    let r = r.map(|p| plaintext = Some(p));
                    flow.on_downloaded(&mut os_rng(), &mut self.engine, r);
                    let _ = self.settle().await;
                }
                Step::Done(r) => return (r, plaintext),
                Step::Wait(_) | Step::Event(()) => {
                    return (Err(TransferError::Relay(api::Failure::Unreachable)), None);
                }
            }
        }
    }
}

/// What the two sides of a link's archive transfer look like to the pump.
trait ArchiveFlow {
    fn step(&mut self, now: UnixMs) -> Step<(), Result<(), LinkError>>;
    fn on_reply(&mut self, reply: Reply);
    /// The body of the blob `PUT` (`None`: the blob is fetched).
    fn put_body(&self) -> Option<Vec<u8>>;
    fn on_blob(&mut self, engine: &mut Engine, r: Result<Vec<u8>, BlobError>);
}

impl ArchiveFlow for HandoverSend {
    fn step(&mut self, now: UnixMs) -> Step<(), Result<(), LinkError>> {
        HandoverSend::step(self, now)
    }
    fn on_reply(&mut self, reply: Reply) {
        HandoverSend::on_reply(self, reply);
    }
    fn put_body(&self) -> Option<Vec<u8>> {
        Some(self.body().to_vec())
    }
    fn on_blob(&mut self, engine: &mut Engine, r: Result<Vec<u8>, BlobError>) {
        self.on_uploaded(&mut os_rng(), engine, r.map(|_| ()));
    }
}

impl ArchiveFlow for HandoverReceive {
    fn step(&mut self, now: UnixMs) -> Step<(), Result<(), LinkError>> {
        HandoverReceive::step(self, now)
    }
    fn on_reply(&mut self, reply: Reply) {
        HandoverReceive::on_reply(self, reply);
    }
    fn put_body(&self) -> Option<Vec<u8>> {
        None
    }
    fn on_blob(&mut self, engine: &mut Engine, r: Result<Vec<u8>, BlobError>) {
        self.on_downloaded(engine, r);
    }
}

impl<T: Transport> Device<T> {
    /// Sends the history archive to a device just linked, to the end.
    pub async fn handover_send(&mut self, flow: &mut HandoverSend) -> Result<(), LinkError> {
        self.archive(flow).await
    }

    /// Fetches and takes in the history archive on a linked device, to the
    /// end of the flow (the restore it starts runs in the settles).
    pub async fn handover_receive(&mut self, flow: &mut HandoverReceive) -> Result<(), LinkError> {
        self.archive(flow).await
    }

    async fn archive(&mut self, flow: &mut impl ArchiveFlow) -> Result<(), LinkError> {
        loop {
            match flow.step(self.io.now()) {
                Step::Http(req) => {
                    let reply = self.request(&req).await;
                    flow.on_reply(reply);
                }
                Step::Blob(req) => {
                    let r = self
                        .io
                        .blob(&req, flow.put_body().unwrap_or_default())
                        .await;
                    flow.on_blob(&mut self.engine, r);
                    let _ = self.settle().await;
                }
                Step::Done(r) => return r,
                Step::Wait(_) | Step::Event(()) => return Err(api::Failure::Unreachable.into()),
            }
        }
    }
}

fn local(e: impl core::fmt::Display) -> BlobError {
    BlobError::Local(e.to_string())
}

/// STREAM-encrypts a whole file: the ciphertext and its digest.
pub fn encrypt(key: &[u8; 32], plaintext: &[u8]) -> Result<(Vec<u8>, [u8; 32]), BlobError> {
    let mut enc = Encryptor::new(&FileKey::from_bytes(*key), plaintext.len() as u64);
    let mut out = enc.update(plaintext).map_err(local)?;
    let (tail, digest) = enc.finish().map_err(local)?;
    out.extend(tail);
    Ok((out, digest))
}

/// Verifies and decrypts a whole file.
pub fn decrypt(
    key: &[u8; 32],
    size: u64,
    digest: [u8; 32],
    ciphertext: &[u8],
) -> Result<Vec<u8>, BlobError> {
    let mut dec = Decryptor::new(&FileKey::from_bytes(*key), size, digest);
    let mut out = dec.update(ciphertext).map_err(local)?;
    out.extend(dec.finish().map_err(local)?);
    Ok(out)
}

/// Runs a future that completes without waiting on anything (the pump over
/// the in-memory [`fake`]); for real I/O use an async runtime.
pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = f.as_mut().poll(&mut cx) {
            return out;
        }
    }
}
