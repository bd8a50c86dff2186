//! Files: metadata stripping and STREAM encryption run in the file worker
//! (`crate::worker`), then the page uploads the ciphertext through the
//! pre-signed URL with progress; on download the worker fetches, checks
//! every chunk and the digest, and decrypts before the file is handed over.

use js_sys::Array;
use leptos::prelude::*;
use parley_shared::crypto::os_rng;
use parley_shared::crypto::stream::{FileKey, ciphertext_len};
use parley_shared::engine::files::{FileOffer, FileState};
use parley_shared::protocol::attachments::{
    AttachmentDownload, AttachmentUpload, CreateAttachment, SignedUrl,
};
use parley_shared::protocol::auth::encode_b64;
use parley_shared::protocol::ws::DeviceId;
use parley_worker::job::Request;
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, File};
use zeroize::Zeroizing;

use crate::api::{self, Failure, now_ms};
use crate::js::{get, invoke, set};
use crate::runtime;
use crate::worker::FileWorker;

/// Images larger than this are sent without metadata stripping (it needs the
/// whole image in memory).
const MAX_STRIP: f64 = 64.0 * 1024.0 * 1024.0;

/// Transfer progress shown under a message or the composer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Progress {
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
    pub(crate) fn speed(&self) -> String {
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

/// Encrypts and uploads `file` for `peer`, then sends the offer.
pub(crate) async fn send(
    peer: DeviceId,
    file: File,
    ttl_secs: u32,
    delete_after_download: bool,
    p: RwSignal<Option<Progress>>,
) -> Result<(), String> {
    let name = file.name();
    let mime = file.type_();
    let worker = FileWorker::start().await?;
    let mut source: Blob = file.into();
    let mut metadata_removed = false;
    if mime.starts_with("image/") && source.size() <= MAX_STRIP {
        let strip = Request::Strip {
            file: source.clone(),
            mime: mime.clone(),
        };
        if let Some(clean) = worker.run(strip, |_, _| {}).await?.blob {
            source = clean;
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
    let digest = match encrypt_and_upload(worker, source, &key, &up.upload, p).await {
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

/// STREAM-encrypts `source` in the worker and uploads the ciphertext;
/// returns its digest. The worker goes before the upload: its memory is not
/// needed while the bytes travel.
async fn encrypt_and_upload(
    worker: FileWorker,
    source: Blob,
    key: &FileKey,
    target: &SignedUrl,
    p: RwSignal<Option<Progress>>,
) -> Result<[u8; 32], String> {
    let started = js_sys::Date::now();
    let job = Request::Encrypt {
        file: source,
        key: Zeroizing::new(key.to_bytes()),
    };
    let out = worker
        .run(job, move |done, total| {
            progress(p, "Encrypting", done, total, started)
        })
        .await?;
    drop(worker);
    let (Some(body), Some(digest)) = (out.blob, out.digest) else {
        return Err(worker_broke());
    };
    upload(target, &body, p).await?;
    Ok(digest)
}

fn worker_broke() -> String {
    "The file worker returned nothing; the file was not processed.".into()
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
pub(crate) async fn fetch(
    offer: &FileOffer,
    p: RwSignal<Option<Progress>>,
) -> Result<Blob, String> {
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
    let worker = FileWorker::start().await?;
    let started = js_sys::Date::now();
    let job = Request::Decrypt {
        url: down.download.url,
        headers: down.download.headers,
        key: Zeroizing::new(offer.key),
        size: offer.size,
        digest: offer.digest,
        mime: offer.mime.clone(),
    };
    let out = worker
        .run(job, move |done, total| {
            progress(p, "Downloading", done, total, started)
        })
        .await?;
    let _ = p.try_set(None);
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

/// Deletes the object from storage (declined, or downloaded with
/// delete-after-download) and records the state on both sides.
pub(crate) async fn finish(
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
