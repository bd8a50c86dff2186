//! Files: encrypt in the browser with the STREAM construction from `shared`
//! (64 KiB chunks read from `File` slices, so only one slice is in WASM
//! memory at a time), upload the ciphertext through the pre-signed URL, and
//! the reverse on download, checking every chunk and the digest before the
//! file is handed to the user.

use js_sys::{Array, Uint8Array};
use leptos::prelude::*;
use parley_shared::crypto::os_rng;
use parley_shared::crypto::stream::{Decryptor, Encryptor, FileKey, ciphertext_len};
use parley_shared::engine::files::{FileOffer, FileState};
use parley_shared::engine::metadata;
use parley_shared::protocol::attachments::{
    AttachmentDownload, AttachmentUpload, CreateAttachment, SignedUrl,
};
use parley_shared::protocol::auth::encode_b64;
use parley_shared::protocol::ws::DeviceId;
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, File};

use crate::api::{self, Failure, now_ms};
use crate::js::{get, invoke, invoke_async, obj, set};
use crate::runtime::{self, sleep};

/// Bytes read from the file per step.
const SLICE: f64 = 1024.0 * 1024.0;
/// Images larger than this are sent without metadata stripping (it needs the
/// whole image in memory).
const MAX_STRIP: f64 = 64.0 * 1024.0 * 1024.0;

/// Transfer progress shown under a message or the composer.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// "Encrypting", "Uploading", "Downloading".
    pub phase: &'static str,
    /// Bytes done.
    pub done: f64,
    /// Bytes in total.
    pub total: f64,
    /// When the phase started (ms).
    pub started: f64,
}

impl Progress {
    /// `12.3 MB/s`.
    pub fn speed(&self) -> String {
        let secs = ((js_sys::Date::now() - self.started) / 1000.0).max(0.001);
        format!("{:.1} MB/s", self.done / secs / 1e6)
    }
}

fn progress(
    p: RwSignal<Option<Progress>>,
    phase: &'static str,
    done: f64,
    total: f64,
    started: f64,
) {
    let _ = p.try_set(Some(Progress {
        phase,
        done,
        total,
        started,
    }));
}

async fn bytes_of(blob: &Blob) -> Result<Vec<u8>, String> {
    let buf = JsFuture::from(blob.array_buffer())
        .await
        .map_err(|_| "The file could not be read.".to_owned())?;
    Ok(Uint8Array::new(&buf).to_vec())
}

/// Collects output chunks into a Blob, folding them in every few MiB: the
/// browser keeps Blob data outside the page's heap (and on disk when large),
/// so memory here stays flat whatever the file size.
struct Sink {
    folded: Array,
    pending: Array,
    pending_bytes: usize,
    mime: String,
}

/// Bytes gathered before they are folded into the Blob.
const FOLD: usize = 8 * 1024 * 1024;

impl Sink {
    fn new(mime: &str) -> Self {
        Self {
            folded: Array::new(),
            pending: Array::new(),
            pending_bytes: 0,
            mime: mime.to_owned(),
        }
    }

    fn push(&mut self, bytes: &[u8]) -> Result<(), String> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.pending.push(&Uint8Array::from(bytes));
        self.pending_bytes += bytes.len();
        if self.pending_bytes >= FOLD {
            self.fold()?;
        }
        Ok(())
    }

    fn fold(&mut self) -> Result<(), String> {
        let part = blob_of(&self.pending, "application/octet-stream")?;
        self.folded.push(&part);
        self.pending = Array::new();
        self.pending_bytes = 0;
        Ok(())
    }

    fn finish(mut self) -> Result<Blob, String> {
        self.fold()?;
        let opts = web_sys::BlobPropertyBag::new();
        opts.set_type(&self.mime);
        Blob::new_with_blob_sequence_and_options(&self.folded, &opts)
            .map_err(|_| "The browser could not hold the file.".to_owned())
    }
}

fn blob_of(parts: &Array, mime: &str) -> Result<Blob, String> {
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    Blob::new_with_u8_array_sequence_and_options(parts, &opts)
        .map_err(|_| "The browser could not hold the file.".to_owned())
}

/// Encrypts and uploads `file` for `peer`, then sends the offer.
pub async fn send(
    peer: DeviceId,
    file: File,
    ttl_secs: u32,
    delete_after_download: bool,
    p: RwSignal<Option<Progress>>,
) -> Result<(), String> {
    let name = file.name();
    let mime = file.type_();
    let mut source: Blob = file.into();
    let mut metadata_removed = false;
    if mime.starts_with("image/") && source.size() <= MAX_STRIP {
        let raw = bytes_of(&source).await?;
        if let Some(clean) = metadata::strip(&mime, &raw) {
            source = blob_of(&Array::of1(&Uint8Array::from(clean.as_slice())), &mime)?;
            metadata_removed = true;
        }
    }
    let len = source.size() as u64;
    let token = runtime::ensure_token().await?;
    let up: AttachmentUpload = api::json(
        "POST",
        "/api/v1/attachments",
        Some(&token),
        Some(&CreateAttachment {
            size: ciphertext_len(len),
            recipient: encode_b64(&peer),
            ttl_secs,
        }),
    )
    .await
    .map_err(|f| match f {
        Failure::Refused(413, ..) => format!("{name} is too large for this relay. {}", f.message()),
        other => other.message(),
    })?;

    let key = FileKey::generate(&mut os_rng());
    let digest = match encrypt_and_upload(&source, &key, len, &up.upload, p).await {
        Ok(d) => d,
        Err(e) => {
            // Nothing half-sent: the reserved object goes again.
            let path = format!("/api/v1/attachments/{}", up.id);
            let _ = api::call("DELETE", &path, Some(&token), None).await;
            return Err(e);
        }
    };

    let offer = FileOffer {
        object: up.id,
        key: key.to_bytes(),
        digest,
        name,
        mime,
        size: len,
        expires_at: up.expires_at * 1000,
        delete_after_download,
        metadata_removed,
    };
    match runtime::write(|e| e.send_attachment(&mut os_rng(), &peer, offer, now_ms())) {
        Some(Ok(_)) => {
            let _ = p.try_set(None);
            Ok(())
        }
        Some(Err(e)) => Err(e.to_string()),
        None => Err("no account".into()),
    }
}

/// STREAM-encrypts `source` slice by slice and uploads the ciphertext;
/// returns its digest.
async fn encrypt_and_upload(
    source: &Blob,
    key: &FileKey,
    len: u64,
    target: &SignedUrl,
    p: RwSignal<Option<Progress>>,
) -> Result<[u8; 32], String> {
    let mut enc = Encryptor::new(key, len);
    let mut sink = Sink::new("application/octet-stream");
    let started = js_sys::Date::now();
    let total = source.size();
    let mut at = 0.0;
    while at < total {
        let end = (at + SLICE).min(total);
        let slice = source
            .slice_with_f64_and_f64(at, end)
            .map_err(|_| "The file could not be read.".to_owned())?;
        let ct = enc
            .update(&bytes_of(&slice).await?)
            .map_err(|e| e.to_string())?;
        sink.push(&ct)?;
        at = end;
        progress(p, "Encrypting", at, total, started);
        // Let the page breathe between slices.
        sleep(0).await;
    }
    let (tail, digest) = enc.finish().map_err(|e| e.to_string())?;
    sink.push(&tail)?;
    let body = sink.finish()?;
    upload(target, &body, p).await?;
    Ok(digest)
}

/// PUT with upload progress (XMLHttpRequest: fetch reports none).
async fn upload(req: &SignedUrl, body: &Blob, p: RwSignal<Option<Progress>>) -> Result<(), String> {
    let ctor: js_sys::Function = get(&js_sys::global(), "XMLHttpRequest")
        .dyn_into()
        .map_err(|_| "no XMLHttpRequest".to_owned())?;
    let xhr = js_sys::Reflect::construct(&ctor, &Array::new())
        .map_err(|_| "no XMLHttpRequest".to_owned())?;
    invoke(
        &xhr,
        "open",
        &[req.method.as_str().into(), req.url.as_str().into()],
    )
    .map_err(|_| "bad upload URL".to_owned())?;
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
        progress(p, "Uploading", done, total, started);
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
    invoke(&xhr, "send", &[body.into()]).map_err(|_| "The upload could not start.".to_owned())?;
    let _ = JsFuture::from(done).await;
    drop(on_progress);
    match get(&xhr, "status").as_f64().unwrap_or(0.0) as u16 {
        200..=299 => Ok(()),
        0 => Err("Storage is unreachable; the file was not sent.".into()),
        403 => Err("The upload link expired or was refused; the file was not sent.".into()),
        st => Err(format!(
            "Storage refused the upload ({st}); the file was not sent."
        )),
    }
}

/// Downloads, verifies and decrypts an offered file; returns it as a Blob.
pub async fn fetch(offer: &FileOffer, p: RwSignal<Option<Progress>>) -> Result<Blob, String> {
    let token = runtime::ensure_token().await?;
    let down: AttachmentDownload = api::json::<(), _>(
        "POST",
        &format!("/api/v1/attachments/{}/download", offer.object),
        Some(&token),
        None,
    )
    .await
    .map_err(|f| match f {
        Failure::Refused(404, ..) => {
            "The file is no longer available: it was deleted or expired.".to_owned()
        }
        other => other.message(),
    })?;
    let headers = js_sys::Object::new();
    for (k, v) in &down.download.headers {
        if !k.eq_ignore_ascii_case("host") {
            set(&headers, k, &v.as_str().into());
        }
    }
    let init = obj(&[
        ("method", "GET".into()),
        ("headers", headers.into()),
        ("cache", "no-store".into()),
    ]);
    let window = web_sys::window().ok_or("no window")?;
    let resp = invoke_async(
        &window.into(),
        "fetch",
        &[down.download.url.as_str().into(), init],
    )
    .await
    .map_err(|_| "Storage is unreachable; try again later.".to_owned())?;
    match get(&resp, "status").as_f64().unwrap_or(0.0) as u16 {
        200 => {}
        403 => return Err("The download link expired; try again.".into()),
        404 => return Err("The file is no longer in storage.".into()),
        st => return Err(format!("Storage answered {st}; try again later.")),
    }
    let reader =
        invoke(&get(&resp, "body"), "getReader", &[]).map_err(|_| "no stream".to_owned())?;
    let key = FileKey::from_bytes(offer.key);
    let mut dec = Decryptor::new(&key, offer.size, offer.digest);
    let mut sink = Sink::new(&offer.mime);
    let total = down.size as f64;
    let started = js_sys::Date::now();
    let mut got = 0.0;
    loop {
        let chunk = invoke_async(&reader, "read", &[])
            .await
            .map_err(|_| "The download was interrupted; try again.".to_owned())?;
        if get(&chunk, "done").as_bool() == Some(true) {
            break;
        }
        let bytes = Uint8Array::new(&get(&chunk, "value")).to_vec();
        got += bytes.len() as f64;
        let plain = dec.update(&bytes).map_err(|_| tampered())?;
        sink.push(&plain)?;
        progress(p, "Downloading", got, total, started);
    }
    let tail = dec.finish().map_err(|_| tampered())?;
    sink.push(&tail)?;
    let _ = p.try_set(None);
    sink.finish()
}

fn tampered() -> String {
    "The file was altered in storage (it does not match what was sent); it was not saved.".into()
}

/// Offers `blob` to the user as a download named `name`; returns its object URL.
pub fn save(blob: &Blob, name: &str) -> Option<String> {
    let url = web_sys::Url::create_object_url_with_blob(blob).ok()?;
    let doc = web_sys::window()?.document()?;
    let a = doc.create_element("a").ok()?;
    let _ = a.set_attribute("href", &url);
    let _ = a.set_attribute("download", name);
    let _ = invoke(&a.into(), "click", &[]);
    Some(url)
}

/// Deletes the object from storage (declined, or downloaded with
/// delete-after-download) and records the state on both sides.
pub async fn finish(
    peer: DeviceId,
    id: [u8; 16],
    object: &str,
    state: FileState,
) -> Result<(), String> {
    if state != FileState::Downloaded {
        let token = runtime::ensure_token().await?;
        let path = format!("/api/v1/attachments/{object}");
        api::call("DELETE", &path, Some(&token), None)
            .await
            .map_err(|f| f.message())?;
    }
    match runtime::write(|e| e.set_file_state(&mut os_rng(), &peer, &id, state)) {
        Some(Err(e)) => Err(e.to_string()),
        _ => Ok(()),
    }
}
