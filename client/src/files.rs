//! Files: the engine's transfer flows (`parley_shared::engine::transfer`)
//! decide the order (reserve, put, offer; fetch, verify, delete, record);
//! here metadata stripping and STREAM encryption run in the file worker
//! (`crate::worker`), the page uploads the ciphertext through the
//! pre-signed URL with progress, and on download the worker fetches, checks
//! every chunk and the digest, and decrypts before the file is handed over.

use js_sys::Array;
use leptos::prelude::*;
use parley_shared::crypto::os_rng;
use parley_shared::crypto::stream::FileKey;
use parley_shared::engine::files::FileOffer;
use parley_shared::engine::flow::{BlobError, BlobRequest, Step};
use parley_shared::engine::transfer::{DownloadFlow, FileTo, NewUpload, TransferError, UploadFlow};
use parley_shared::group::RoomId;
use parley_shared::protocol::api;
use parley_shared::protocol::ws::DeviceId;
use parley_shared::time::Millis;
use parley_worker::job::Request;
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, File};
use zeroize::Zeroizing;

use crate::i18n::Localize as _;
use crate::js::{get, invoke, set};
use crate::runtime::{self, SessionError};
use crate::tr;
use crate::worker::{FileWorker, WorkerError};

/// Images larger than this are sent without metadata stripping (it needs the
/// whole image in memory).
pub(crate) const MAX_STRIP: f64 = 64.0 * 1024.0 * 1024.0;

/// Transfer progress shown under a message or the composer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Progress {
    /// What is being done.
    pub phase: Phase,
    /// Bytes done.
    pub done: f64,
    /// Bytes in total.
    pub total: f64,
    /// When the phase started (ms).
    pub started: f64,
}

/// The stage of a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// The worker encrypts the file.
    Encrypting,
    /// The ciphertext goes to storage.
    Uploading,
    /// The ciphertext comes from storage and is decrypted.
    Downloading,
}

impl Phase {
    /// Text for people, in the language shown.
    pub(crate) fn label(self) -> String {
        match self {
            Self::Encrypting => tr!("phase-encrypting"),
            Self::Uploading => tr!("phase-uploading"),
            Self::Downloading => tr!("phase-downloading"),
        }
    }
}

impl Progress {
    /// Megabytes a second so far.
    pub(crate) fn speed(&self) -> f64 {
        let secs = ((js_sys::Date::now() - self.started) / 1000.0).max(0.001);
        self.done / secs / 1e6
    }
}

fn progress(p: RwSignal<Option<Progress>>, phase: Phase, done: f64, total: f64, started: f64) {
    let _ = p.try_set(Some(Progress {
        phase,
        done,
        total,
        started,
    }));
}

/// Why a transfer failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FileError {
    /// The flow's own failure (relay refusal, storage, verification).
    #[error(transparent)]
    Transfer(#[from] TransferError),
    /// The file worker failed, or the transfer stopped unexpectedly.
    #[error(transparent)]
    Worker(#[from] WorkerError),
    /// No account, or no session with the relay.
    #[error(transparent)]
    Session(#[from] SessionError),
}

impl crate::i18n::Localize for FileError {
    fn text(&self) -> String {
        match self {
            Self::Transfer(e) => e.text(),
            Self::Worker(e) => e.text(),
            Self::Session(e) => e.text(),
        }
    }
}

/// A file on its way out: the one chosen, and the image the editor made of
/// it (already through the filter pipeline: metadata removed, edits applied).
pub(crate) struct Outgoing {
    /// As chosen.
    pub file: File,
    /// The edited image that the attach sheet showed, if there were edits.
    pub edited: Option<Blob>,
}

impl From<File> for Outgoing {
    fn from(file: File) -> Self {
        Self { file, edited: None }
    }
}

/// Runs an image through the worker's filter pipeline (metadata, then
/// `edits`); `None` when nothing changed (the file goes as it is).
pub(crate) async fn prepare_image(
    worker: &FileWorker,
    file: &Blob,
    mime: &str,
    edits: Vec<parley_shared::media::edit::Edit>,
) -> Result<Option<Blob>, WorkerError> {
    let job = Request::Prepare {
        file: file.clone(),
        mime: mime.to_owned(),
        edits,
    };
    Ok(worker.run(job, |_, _| {}).await?.blob)
}

/// Removes image metadata (unless the editor already ran the pipeline), then
/// runs the engine's upload flow: reserve, encrypt and put the ciphertext,
/// and only then send the offer.
pub(crate) async fn send(
    to: FileTo,
    out: Outgoing,
    ttl: Millis,
    delete_after_download: bool,
    p: RwSignal<Option<Progress>>,
) -> Result<(), FileError> {
    let name = out.file.name();
    let mime = out.file.type_();
    let worker = FileWorker::start().await.map_err(FileError::Worker)?;
    let mut metadata_removed = out.edited.is_some();
    let mut source: Blob = match out.edited {
        Some(edited) => edited,
        None => out.file.into(),
    };
    if !metadata_removed
        && mime.starts_with("image/")
        && source.size() <= MAX_STRIP
        && let Some(clean) = prepare_image(&worker, &source, &mime, Vec::new())
            .await
            .map_err(FileError::Worker)?
    {
        source = clean;
        metadata_removed = true;
    }
    let key = FileKey::generate(&mut os_rng());
    let mut flow = UploadFlow::new(NewUpload {
        to,
        name,
        mime,
        size: source.size() as u64,
        key: key.to_bytes(),
        ttl,
        delete_after_download,
        metadata_removed,
    });
    let mut worker = Some(worker);
    loop {
        match flow.step(crate::api::now()) {
            Step::Http(req) => flow.on_reply(runtime::perform(&req).await),
            Step::Blob(target) => {
                let r = match worker.take() {
                    Some(w) => encrypt_and_upload(w, source.clone(), &key, &target, p).await,
                    None => Err(worker_broke()),
                };
                runtime::write(|e| flow.on_uploaded(&mut os_rng(), e, r, crate::api::now()))
                    .ok_or(SessionError::NoAccount)?;
            }
            Step::Done(r) => {
                let _ = p.try_set(None);
                return r.map(|_| ()).map_err(Into::into);
            }
            Step::Wait(_) | Step::Event(()) => return Err(FileError::Worker(WorkerError::Stopped)),
        }
    }
}

/// STREAM-encrypts `source` in the worker and uploads the ciphertext;
/// returns its digest. The worker goes before the upload: its memory is not
/// needed while the bytes travel.
async fn encrypt_and_upload(
    worker: FileWorker,
    source: Blob,
    key: &FileKey,
    target: &BlobRequest,
    p: RwSignal<Option<Progress>>,
) -> Result<[u8; 32], BlobError> {
    let started = js_sys::Date::now();
    let job = Request::Encrypt {
        file: source,
        key: Zeroizing::new(key.to_bytes()),
    };
    let out = worker
        .run(job, move |done, total| {
            progress(p, Phase::Encrypting, done, total, started)
        })
        .await
        .map_err(|e| BlobError::Local(e.text()))?;
    drop(worker);
    let (Some(body), Some(digest)) = (out.blob, out.digest) else {
        return Err(worker_broke());
    };
    upload(target, &body, p).await?;
    Ok(digest)
}

fn worker_broke() -> BlobError {
    BlobError::Local(tr!("worker-empty"))
}

/// PUT with upload progress (XMLHttpRequest: fetch reports none).
async fn upload(
    req: &BlobRequest,
    body: &Blob,
    p: RwSignal<Option<Progress>>,
) -> Result<(), BlobError> {
    let no_xhr = || BlobError::Local(tr!("upload-no-xhr"));
    let ctor: js_sys::Function = get(&js_sys::global(), "XMLHttpRequest")
        .dyn_into()
        .map_err(|_| no_xhr())?;
    let xhr = js_sys::Reflect::construct(&ctor, &Array::new()).map_err(|_| no_xhr())?;
    invoke(
        &xhr,
        "open",
        &[req.method.as_str().into(), req.url.as_str().into()],
    )
    .map_err(|_| BlobError::Refused)?;
    for (k, v) in &req.headers {
        // The browser sets the length itself (it is the Blob's size).
        if !k.eq_ignore_ascii_case("content-length") && !k.eq_ignore_ascii_case("host") {
            let _ = invoke(
                &xhr,
                "setRequestHeader",
                &[k.as_str().into(), v.as_str().into()],
            );
        }
    }
    let total = body.size();
    let started = js_sys::Date::now();
    let on_progress = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
        let done = get(&ev, "loaded").as_f64().unwrap_or(0.0);
        progress(p, Phase::Uploading, done, total, started);
    });
    set(&get(&xhr, "upload"), "onprogress", on_progress.as_ref());
    let x2 = xhr.clone();
    let done = js_sys::Promise::new(&mut |resolve, _| {
        let r2 = resolve.clone();
        set(
            &x2,
            "onload",
            &Closure::once_into_js(move || {
                let _ = resolve.call0(&JsValue::NULL);
            }),
        );
        set(
            &x2,
            "onerror",
            &Closure::once_into_js(move || {
                let _ = r2.call0(&JsValue::NULL);
            }),
        );
    });
    invoke(&xhr, "send", &[body.into()]).map_err(|_| BlobError::Unreachable)?;
    let _ = JsFuture::from(done).await;
    drop(on_progress);
    // XHR reports status 0 for a transfer that got no answer.
    let status = get(&xhr, "status").as_f64().unwrap_or(0.0) as u16;
    BlobError::from_status(status).map_or(Ok(()), Err)
}

/// Accepts an offered file: the engine's download flow fetches, verifies
/// and decrypts it (in the worker), deletes the object if the sender asked
/// for delete-after-download, and records the state on both sides.
pub(crate) async fn receive(
    peer: DeviceId,
    id: [u8; 16],
    offer: FileOffer,
    p: RwSignal<Option<Progress>>,
) -> Result<Blob, FileError> {
    run_download(DownloadFlow::accept(peer, id, offer), p).await
}

/// Accepts a file offered in a room (this device's download only).
pub(crate) async fn receive_in_room(
    room: RoomId,
    id: [u8; 16],
    offer: FileOffer,
    p: RwSignal<Option<Progress>>,
) -> Result<Blob, FileError> {
    run_download(DownloadFlow::accept_in_room(room, id, offer), p).await
}

async fn run_download(
    mut flow: DownloadFlow,
    p: RwSignal<Option<Progress>>,
) -> Result<Blob, FileError> {
    let mut blob = None;
    loop {
        match flow.step(crate::api::now()) {
            Step::Http(req) => answer(&mut flow, &req).await?,
            Step::Blob(source) => {
                let r = fetch(flow.offer(), source, p).await.map(|b| blob = Some(b));
                runtime::write(|e| flow.on_downloaded(&mut os_rng(), e, r))
                    .ok_or(SessionError::NoAccount)?;
            }
            Step::Done(r) => {
                let _ = p.try_set(None);
                r?;
                return blob.ok_or(FileError::Worker(WorkerError::Stopped));
            }
            Step::Wait(_) | Step::Event(()) => return Err(FileError::Worker(WorkerError::Stopped)),
        }
    }
}

/// Declines an offered file: the object is deleted and the sender told.
pub(crate) async fn decline(
    peer: DeviceId,
    id: [u8; 16],
    offer: FileOffer,
) -> Result<(), FileError> {
    let mut flow = DownloadFlow::decline(peer, id, offer);
    loop {
        match flow.step(crate::api::now()) {
            Step::Http(req) => answer(&mut flow, &req).await?,
            Step::Done(r) => return r.map(|_| ()).map_err(Into::into),
            Step::Blob(_) | Step::Wait(_) | Step::Event(()) => {
                return Err(FileError::Worker(WorkerError::Stopped));
            }
        }
    }
}

/// Performs a download flow's request and hands the reply back.
async fn answer(flow: &mut DownloadFlow, req: &api::Request) -> Result<(), FileError> {
    let reply = runtime::perform(req).await;
    runtime::write(|e| flow.on_reply(&mut os_rng(), e, reply)).ok_or(SessionError::NoAccount)?;
    Ok(())
}

/// Downloads, verifies and decrypts in the worker; returns the file.
async fn fetch(
    offer: &FileOffer,
    source: BlobRequest,
    p: RwSignal<Option<Progress>>,
) -> Result<Blob, BlobError> {
    let worker = FileWorker::start()
        .await
        .map_err(|e| BlobError::Local(e.text()))?;
    let started = js_sys::Date::now();
    let job = Request::Decrypt {
        url: source.url,
        headers: source.headers,
        key: Zeroizing::new(offer.key),
        size: offer.size,
        digest: offer.digest,
        mime: offer.mime.clone(),
    };
    let out = worker
        .run(job, move |done, total| {
            progress(p, Phase::Downloading, done, total, started)
        })
        .await
        .map_err(|e| BlobError::Local(e.text()))?;
    out.blob.ok_or_else(worker_broke)
}

/// Offers `blob` to the user as a download named `name`; returns its object URL.
pub(crate) fn save(blob: &Blob, name: &str) -> Option<String> {
    let url = web_sys::Url::create_object_url_with_blob(blob).ok()?;
    let doc = web_sys::window()?.document()?;
    let a = doc.create_element("a").ok()?;
    let _ = a.set_attribute("href", &url);
    let _ = a.set_attribute("download", name);
    let _ = invoke(&a.into(), "click", &[]);
    Some(url)
}
