//! The history archive's trip from the linking device to the new one, as
//! flows like the file transfers (`engine::transfer`): the sender reserves
//! an object for the new device, puts the ciphertext, and only then tells
//! the new device (a ratchet message with the key and digest); the new
//! device fetches it, checks and decrypts it, takes it in, and deletes the
//! object. The archive is small (texts, no files), so it is encrypted and
//! decrypted here in memory rather than in the adapter's file worker.

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::{HandoverOffer, LinkError};
use crate::crypto::stream::{Decryptor, Encryptor, FileKey};
use crate::engine::Engine;
use crate::engine::backup::BackupContents;
use crate::engine::flow::{BlobError, Queue, Step};
use crate::engine::http::{Reply, decode};
use crate::protocol::ErrorCode;
use crate::protocol::api::{CreateUpload, DeleteUpload, Endpoint, Json, StartDownload};
use crate::protocol::attachments::CreateAttachment;
use crate::protocol::ws::DeviceId;
use crate::time::{Millis, UnixMs};

/// How long the relay keeps an archive nobody fetched.
pub const HANDOVER_TTL: Millis = Millis::from_secs(24 * 3600);

type FlowStep = Step<(), Result<(), LinkError>>;

#[derive(Debug)]
enum Up {
    Reserve,
    Put,
    Delete(LinkError),
}

/// The linking device's side: reserve, put, announce.
pub struct HandoverSend {
    device: DeviceId,
    key: Zeroizing<[u8; 32]>,
    body: Vec<u8>,
    digest: [u8; 32],
    size: u64,
    object: Option<(String, UnixMs)>,
    queue: Queue<Result<(), LinkError>>,
    waiting: Option<Up>,
}

impl core::fmt::Debug for HandoverSend {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HandoverSend")
            .field("size", &self.size)
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

fn local(e: impl core::fmt::Display) -> LinkError {
    LinkError::Damaged(e.to_string())
}

impl HandoverSend {
    /// Seals this device's history for `device`, a device of this account
    /// (just linked), and starts by reserving the object.
    pub fn new<R: CryptoRng + ?Sized>(
        rng: &mut R,
        engine: &Engine,
        device: DeviceId,
    ) -> Result<Self, LinkError> {
        if !engine.own_devices().contains(&device) || device == engine.device_id() {
            return Err(LinkError::NotListed);
        }
        let archive = engine.backup_contents()?.to_bytes();
        let key = FileKey::generate(rng);
        let mut enc = Encryptor::new(&key, archive.len() as u64);
        let mut body = enc.update(&archive).map_err(local)?;
        let (tail, digest) = enc.finish().map_err(local)?;
        body.extend(tail);
        let req = CreateUpload.request(&Json(CreateAttachment {
            size: body.len() as u64,
            recipients: vec![device],
            ttl_ms: HANDOVER_TTL,
        }));
        Ok(Self {
            device,
            key: Zeroizing::new(key.to_bytes()),
            body,
            digest,
            size: archive.len() as u64,
            object: None,
            queue: Queue::new(req),
            waiting: Some(Up::Reserve),
        })
    }

    /// The ciphertext to put with the [`Step::Blob`] request.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The next step.
    pub fn step(&mut self, now: UnixMs) -> FlowStep {
        self.queue.step(now)
    }

    /// The reply to the last [`Step::Http`].
    pub fn on_reply(&mut self, reply: Reply) {
        match self.waiting.take() {
            Some(Up::Reserve) => match decode::<CreateUpload>(&reply) {
                Ok(Json(up)) => {
                    self.object = Some((up.id, up.expires_at_ms));
                    self.waiting = Some(Up::Put);
                    self.queue.blob(up.upload);
                }
                Err(f) => self.queue.finish(Err(f.into())),
            },
            Some(Up::Delete(e)) => self.queue.finish(Err(e)),
            Some(Up::Put) | None => {}
        }
    }

    /// The ciphertext was put, or not. Only now is the new device told;
    /// a failure gives the reservation back.
    pub fn on_uploaded<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        engine: &mut Engine,
        result: Result<(), BlobError>,
    ) {
        if !matches!(self.waiting.take(), Some(Up::Put)) {
            return;
        }
        let Some((object, expires_at)) = self.object.clone() else {
            return;
        };
        match result {
            Ok(()) => {
                let offer = HandoverOffer {
                    object,
                    key: *self.key,
                    digest: self.digest,
                    size: self.size,
                    expires_at,
                };
                self.queue
                    .finish(engine.send_handover(rng, &self.device, offer));
            }
            Err(e) => {
                self.waiting = Some(Up::Delete(e.into()));
                let del = DeleteUpload { id: object };
                self.queue.http(del.request(&()));
            }
        }
    }
}

#[derive(Debug)]
enum Down {
    Start,
    Get,
    Delete,
}

/// The new device's side: fetch, check, take in, delete.
#[derive(Debug)]
pub struct HandoverReceive {
    offer: HandoverOffer,
    queue: Queue<Result<(), LinkError>>,
    waiting: Option<Down>,
}

impl HandoverReceive {
    /// Starts fetching the archive `offer` names
    /// ([`Engine::handover_offer`]).
    pub fn new(offer: HandoverOffer) -> Self {
        let req = StartDownload {
            id: offer.object.clone(),
        }
        .request(&());
        Self {
            offer,
            queue: Queue::new(req),
            waiting: Some(Down::Start),
        }
    }

    /// The next step.
    pub fn step(&mut self, now: UnixMs) -> FlowStep {
        self.queue.step(now)
    }

    /// The reply to the last [`Step::Http`].
    pub fn on_reply(&mut self, reply: Reply) {
        match self.waiting.take() {
            Some(Down::Start) => match decode::<StartDownload>(&reply) {
                Ok(Json(down)) => {
                    self.waiting = Some(Down::Get);
                    self.queue.blob(down.download);
                }
                Err(f) if f.is(ErrorCode::NotFound) => self.queue.finish(Err(LinkError::Gone)),
                Err(f) => self.queue.finish(Err(f.into())),
            },
            // The archive is taken in; a failed delete only leaves the
            // object to expire.
            Some(Down::Delete) => self.queue.finish(Ok(())),
            Some(Down::Get) | None => {}
        }
    }

    /// The ciphertext, fetched (or not): checked, decrypted and taken in
    /// (the restore runs on from the engine's own requests), then the
    /// object is deleted.
    pub fn on_downloaded(&mut self, engine: &mut Engine, result: Result<Vec<u8>, BlobError>) {
        if !matches!(self.waiting.take(), Some(Down::Get)) {
            return;
        }
        let taken = result
            .map_err(LinkError::from)
            .and_then(|body| self.open(&body))
            .and_then(|contents| engine.take_handover(contents));
        if let Err(e) = taken {
            self.queue.finish(Err(e));
            return;
        }
        self.waiting = Some(Down::Delete);
        let del = DeleteUpload {
            id: self.offer.object.clone(),
        };
        self.queue.http(del.request(&()));
    }

    fn open(&self, body: &[u8]) -> Result<BackupContents, LinkError> {
        let key = FileKey::from_bytes(self.offer.key);
        let mut dec = Decryptor::new(&key, self.offer.size, self.offer.digest);
        let mut plain = Zeroizing::new(dec.update(body).map_err(local)?);
        plain.extend(dec.finish().map_err(local)?);
        BackupContents::from_bytes(&plain).map_err(local)
    }
}
