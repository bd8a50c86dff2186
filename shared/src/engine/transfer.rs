//! File transfers as flows. Sending: reserve the object (`POST
//! /attachments`), put the ciphertext through the signed URL, and only then
//! offer it in the conversation; a failed put deletes the reservation, so
//! nothing half-sent is offered. Receiving: ask for the signed download
//! URL, fetch and verify, then delete the object when the sender asked for
//! delete-after-download, and record the state on both sides. Declining
//! deletes the object.
//!
//! The adapter does the blob transfer ([`Step::Blob`]: encryption and
//! upload, or download, verification and decryption, with progress) and
//! reports it with [`UploadFlow::on_uploaded`] or
//! [`DownloadFlow::on_downloaded`].

use rand_core::CryptoRng;

use super::content::MessageId;
use super::core::{Engine, EngineError};
use super::files::{FileOffer, FileState};
use super::flow::{BlobError, Queue, Step};
use super::http::{Reply, decode};
use crate::crypto::stream::ciphertext_len;
use crate::protocol::ErrorCode;
use crate::protocol::api::{self, CreateUpload, DeleteUpload, Endpoint, Json, StartDownload};
use crate::protocol::attachments::CreateAttachment;
use crate::protocol::ws::DeviceId;
use crate::time::{Millis, UnixMs};

/// Why a transfer failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferError {
    /// The relay does not take files this large.
    #[error("{name} is too large for this relay. {failure}")]
    TooLarge {
        /// The file's name.
        name: String,
        /// The relay's explanation.
        failure: api::Failure,
    },
    /// The object is gone (deleted or expired).
    #[error("The file is no longer available: it was deleted or expired.")]
    Gone,
    /// The blob transfer failed (for a send: nothing was offered).
    #[error("{0} The file was not transferred.")]
    Blob(BlobError),
    /// The relay refused, or could not be reached.
    #[error(transparent)]
    Relay(#[from] api::Failure),
    /// The offer could not be sent or the state recorded.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// Where a file goes, or came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileTo {
    /// A contact's conversation.
    Contact(DeviceId),
    /// A room, with the member devices that may download it (see
    /// [`Engine::room_file_devices`]).
    Room(crate::group::RoomId, Vec<DeviceId>),
}

/// A file to send, once the adapter knows its final bytes (after metadata
/// stripping) and has made its key.
#[derive(Clone)]
pub struct NewUpload {
    /// The conversation.
    pub to: FileTo,
    /// File name.
    pub name: String,
    /// MIME type.
    pub mime: String,
    /// Plaintext size, bytes.
    pub size: u64,
    /// The STREAM key the adapter encrypts with.
    pub key: [u8; 32],
    /// How long the relay keeps the object.
    pub ttl: Millis,
    /// Delete it as soon as the recipient has it.
    pub delete_after_download: bool,
    /// Metadata was removed.
    pub metadata_removed: bool,
}

impl core::fmt::Debug for NewUpload {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NewUpload")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
enum Up {
    Reserve,
    Put,
    Delete(TransferError),
}

type UpStep = Step<(), Result<MessageId, TransferError>>;

/// Sending a file.
#[derive(Debug)]
pub struct UploadFlow {
    file: NewUpload,
    object: Option<(String, UnixMs)>,
    queue: Queue<Result<MessageId, TransferError>>,
    waiting: Option<Up>,
}

impl UploadFlow {
    /// Starts by reserving the object.
    pub fn new(file: NewUpload) -> Self {
        let recipients = match &file.to {
            FileTo::Contact(peer) => vec![*peer],
            FileTo::Room(_, devices) => devices.clone(),
        };
        let req = CreateUpload.request(&Json(CreateAttachment {
            size: ciphertext_len(file.size),
            recipients,
            ttl_ms: file.ttl,
        }));
        Self {
            file,
            object: None,
            queue: Queue::new(req),
            waiting: Some(Up::Reserve),
        }
    }

    /// The next step.
    pub fn step(&mut self, now: UnixMs) -> UpStep {
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
                Err(f) if f.is(ErrorCode::TooLarge) => {
                    self.queue.finish(Err(TransferError::TooLarge {
                        name: self.file.name.clone(),
                        failure: f,
                    }));
                }
                Err(f) => self.queue.finish(Err(f.into())),
            },
            // Whether the reservation went or not, the send failed.
            Some(Up::Delete(e)) => self.queue.finish(Err(e)),
            Some(Up::Put) | None => {}
        }
    }

    /// The ciphertext was put (`Ok(digest)`: its SHA-256) or not. Only now
    /// is the offer sent; a failure deletes the reserved object instead.
    pub fn on_uploaded<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        engine: &mut Engine,
        result: Result<[u8; 32], BlobError>,
        now: UnixMs,
    ) {
        if !matches!(self.waiting.take(), Some(Up::Put)) {
            return;
        }
        let Some((object, expires_at)) = self.object.clone() else {
            return;
        };
        match result {
            Ok(digest) => {
                let f = &self.file;
                let offer = FileOffer {
                    object,
                    key: f.key,
                    digest,
                    name: f.name.clone(),
                    mime: f.mime.clone(),
                    size: f.size,
                    expires_at,
                    delete_after_download: f.delete_after_download,
                    metadata_removed: f.metadata_removed,
                };
                let sent = match &f.to {
                    FileTo::Contact(peer) => engine.send_attachment(rng, peer, offer, now),
                    FileTo::Room(room, _) => engine.send_room_file(rng, room, offer, now),
                };
                self.queue.finish(sent.map_err(Into::into));
            }
            Err(e) => {
                self.waiting = Some(Up::Delete(TransferError::Blob(e)));
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
    /// Deleting the object, then recording this state.
    Finish(FileState),
}

type DownStep = Step<(), Result<FileState, TransferError>>;

/// Receiving (or declining) an offered file.
#[derive(Debug)]
pub struct DownloadFlow {
    from: FileTo,
    id: MessageId,
    offer: FileOffer,
    queue: Queue<Result<FileState, TransferError>>,
    waiting: Option<Down>,
}

impl DownloadFlow {
    fn with(from: FileTo, id: MessageId, offer: FileOffer, first: api::Request, w: Down) -> Self {
        Self {
            from,
            id,
            offer,
            queue: Queue::new(first),
            waiting: Some(w),
        }
    }

    /// Accepts the file `id` from `peer`: fetch, verify, decrypt.
    pub fn accept(peer: DeviceId, id: MessageId, offer: FileOffer) -> Self {
        let req = StartDownload {
            id: offer.object.clone(),
        }
        .request(&());
        Self::with(FileTo::Contact(peer), id, offer, req, Down::Start)
    }

    /// Accepts the file `id` offered in `room`. The state is this
    /// device's own: nobody is told (the relay counts the downloads).
    pub fn accept_in_room(room: crate::group::RoomId, id: MessageId, offer: FileOffer) -> Self {
        let req = StartDownload {
            id: offer.object.clone(),
        }
        .request(&());
        Self::with(FileTo::Room(room, Vec::new()), id, offer, req, Down::Start)
    }

    /// Declines it: the object is deleted and the sender told.
    pub fn decline(peer: DeviceId, id: MessageId, offer: FileOffer) -> Self {
        let req = DeleteUpload {
            id: offer.object.clone(),
        }
        .request(&());
        Self::with(
            FileTo::Contact(peer),
            id,
            offer,
            req,
            Down::Finish(FileState::Declined),
        )
    }

    /// The offer being fetched.
    pub fn offer(&self) -> &FileOffer {
        &self.offer
    }

    /// The next step.
    pub fn step(&mut self, now: UnixMs) -> DownStep {
        self.queue.step(now)
    }

    /// The reply to the last [`Step::Http`]; the last one records the
    /// file's state in `engine` and tells the sender.
    pub fn on_reply<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        engine: &mut Engine,
        reply: Reply,
    ) {
        match self.waiting.take() {
            Some(Down::Start) => match decode::<StartDownload>(&reply) {
                Ok(Json(down)) => {
                    self.waiting = Some(Down::Get);
                    self.queue.blob(down.download);
                }
                Err(f) if f.is(ErrorCode::NotFound) => self.queue.finish(Err(TransferError::Gone)),
                Err(f) => self.queue.finish(Err(f.into())),
            },
            Some(Down::Finish(state)) => match decode::<DeleteUpload>(&reply) {
                Ok(_) => self.record(rng, engine, state),
                Err(f) => self.queue.finish(Err(f.into())),
            },
            Some(Down::Get) | None => {}
        }
    }

    /// The blob was fetched and verified (or not). With delete-after-download
    /// the object is deleted before the state is recorded.
    pub fn on_downloaded<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        engine: &mut Engine,
        result: Result<(), BlobError>,
    ) {
        if !matches!(self.waiting.take(), Some(Down::Get)) {
            return;
        }
        if let Err(e) = result {
            self.queue.finish(Err(TransferError::Blob(e)));
            return;
        }
        if self.offer.delete_after_download {
            let del = DeleteUpload {
                id: self.offer.object.clone(),
            };
            self.waiting = Some(Down::Finish(FileState::Deleted));
            self.queue.http(del.request(&()));
        } else {
            self.record(rng, engine, FileState::Downloaded);
        }
    }

    fn record<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        engine: &mut Engine,
        state: FileState,
    ) {
        let recorded = match &self.from {
            FileTo::Contact(peer) => engine.set_file_state(rng, peer, &self.id, state),
            // In a room the delete only gives up this device's access (the
            // relay deletes the object with the last recipient): for this
            // device the file is downloaded.
            FileTo::Room(room, _) => {
                let mine = match state {
                    FileState::Deleted => FileState::Downloaded,
                    s => s,
                };
                engine.room_file_state(room, &self.id, mine)
            }
        };
        self.queue
            .finish(recorded.map(|()| state).map_err(Into::into));
    }
}
