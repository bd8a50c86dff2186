//! The worker's side: one job at a time from the page, answered with
//! progress and a result. Files are read synchronously in 1 MiB slices
//! (`FileReaderSync`, which only workers have), so only one slice is in
//! WASM memory at a time and the page's thread never waits on the crypto.

use js_sys::{Array, Uint8Array};
use parley_shared::crypto::stream::{FileKey, Opener, Sealer, ciphertext_len};
use parley_shared::media::edit::Edit;
use parley_shared::media::pipeline;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Blob, DedicatedWorkerGlobalScope, FileReaderSync, MessageEvent};

use crate::digester::Digester;
use crate::digesting;
use crate::error::JobError;
use crate::job::{KeyBytes, Output, Reply, Request};
use crate::js::{get, invoke, invoke_async, obj, set};
use crate::sink::{Sink, blob_of};

/// Bytes read from the file per step.
const SLICE: f64 = 1024.0 * 1024.0;
/// Downloaded bytes between two progress messages.
const PROGRESS_EVERY: f64 = 512.0 * 1024.0;

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

/// Posts a reply. One that cannot be cloned to the page (a result the
/// browser will not copy) becomes a failure, so the page is never left
/// waiting for an answer that will not come.
fn post(reply: &Reply) {
    if scope().post_message(&reply.to_js()).is_ok() {
        return;
    }
    web_sys::console::error_1(&format!("Parley file worker could not post {reply:?}").into());
    if !matches!(reply, Reply::Failed(_)) {
        post(&Reply::Failed(JobError::Unsendable));
    }
}

/// The worker's entry point: listen, then tell the page it is ready (a
/// message posted before the handler exists would be lost).
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("Parley file worker crashed: {info}").into());
    }));
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(|ev: MessageEvent| {
        wasm_bindgen_futures::spawn_local(async move {
            let reply = match Request::from_js(&ev.data()) {
                Ok(req) => run(req).await.unwrap_or_else(Reply::Failed),
                Err(e) => Reply::Failed(e),
            };
            post(&reply);
        });
    });
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    on_message.forget();
    post(&Reply::Ready);
}

async fn run(req: Request) -> Result<Reply, JobError> {
    let out = match req {
        Request::Prepare { file, mime, edits } => prepare(&file, &mime, &edits),
        Request::Encrypt { file, key } => encrypt(&file, &key).await,
        Request::Decrypt {
            url,
            headers,
            key,
            size,
            digest,
            mime,
        } => decrypt(&url, &headers, &key, size, digest, &mime).await,
        Request::Digest { part, keep } => return digesting::take(&part, keep),
        Request::DigestEnd { mime } => return digesting::end(&mime),
        Request::Scan {
            width,
            height,
            rgba,
        } => Ok(Output {
            text: crate::qr::decode_rgba(width as usize, height as usize, &rgba.to_vec()),
            ..Output::default()
        }),
    };
    out.map(Reply::Done)
}

fn read(reader: &FileReaderSync, blob: &Blob) -> Result<Vec<u8>, JobError> {
    let mut out = Vec::new();
    read_into(reader, blob, &mut out)?;
    Ok(out)
}

/// Reads `blob` into `out`, reusing its allocation (one copy into WASM memory).
fn read_into(reader: &FileReaderSync, blob: &Blob, out: &mut Vec<u8>) -> Result<(), JobError> {
    let buf = reader
        .read_as_array_buffer(blob)
        .map_err(|_| JobError::Unreadable)?;
    copy_into(&Uint8Array::new(&buf), out);
    Ok(())
}

/// Copies JS bytes into `out`, reusing its allocation.
fn copy_into(view: &Uint8Array, out: &mut Vec<u8>) {
    out.resize(view.length() as usize, 0);
    view.copy_to(out);
}

fn prepare(file: &Blob, mime: &str, edits: &[Edit]) -> Result<Output, JobError> {
    let reader = FileReaderSync::new().map_err(|_| JobError::Unreadable)?;
    let raw = read(&reader, file)?;
    let blob = match pipeline::prepare(mime, &raw, edits)? {
        Some(p) => Some(blob_of(&Array::of1(&Uint8Array::from(&p.bytes[..])), mime)?),
        None => None,
    };
    Ok(Output {
        blob,
        ..Output::default()
    })
}

async fn encrypt(file: &Blob, key: &KeyBytes) -> Result<Output, JobError> {
    let reader = FileReaderSync::new().map_err(|_| JobError::Unreadable)?;
    let total = file.size();
    let mut sealer = Sealer::new(&FileKey::from_bytes(**key), total as u64);
    let mut digester = Digester::start(ciphertext_len(total as u64) as f64).await;
    // One plaintext and one ciphertext buffer for the whole file: no
    // allocation per slice, and one copy in and one out of WASM memory.
    let (mut plain, mut sealed) = (Vec::new(), Vec::new());
    let mut at = 0.0;
    while at < total {
        let end = (at + SLICE).min(total);
        let slice = file
            .slice_with_f64_and_f64(at, end)
            .map_err(|_| JobError::Unreadable)?;
        read_into(&reader, &slice, &mut plain)?;
        sealed.clear();
        sealer
            .update_into(&plain, &mut sealed)
            .map_err(|_| JobError::Changed)?;
        digester.push(&sealed, None, true).await?;
        at = end;
        post(&Reply::Progress { done: at, total });
    }
    let tail = sealer.finish().map_err(|_| JobError::Changed)?;
    digester.push(&tail, None, true).await?;
    let (digest, blob) = digester.finish("application/octet-stream").await?;
    Ok(Output {
        blob: Some(blob.ok_or(JobError::HelperStopped)?),
        digest: Some(digest),
        text: None,
    })
}

async fn decrypt(
    url: &str,
    headers: &[(String, String)],
    key: &KeyBytes,
    size: u64,
    digest: [u8; 32],
    mime: &str,
) -> Result<Output, JobError> {
    let h = js_sys::Object::new();
    for (k, v) in headers {
        if !k.eq_ignore_ascii_case("host") {
            set(&h, k, &v.into());
        }
    }
    let init = obj(&[
        ("method", "GET".into()),
        ("headers", h.into()),
        ("cache", "no-store".into()),
    ]);
    let resp = invoke_async(&scope().into(), "fetch", &[url.into(), init])
        .await
        .map_err(|_| JobError::Unreachable)?;
    if get(&resp, "ok").as_bool() != Some(true) {
        let status = get(&resp, "status").as_f64().unwrap_or(0.0) as u16;
        return Err(JobError::from_storage_status(status));
    }
    let reader =
        invoke(&get(&resp, "body"), "getReader", &[]).map_err(|_| JobError::Interrupted)?;
    let mut opener = Opener::new(&FileKey::from_bytes(**key), size, digest);
    let total = ciphertext_len(size) as f64;
    let mut digester = Digester::start(total).await;
    let mut sink = Sink::new();
    let (mut got, mut told) = (0.0, 0.0);
    // Reused for every network chunk: one copy in, one out, no allocation.
    let (mut sealed, mut plain) = (Vec::new(), Vec::new());
    loop {
        let chunk = invoke_async(&reader, "read", &[])
            .await
            .map_err(|_| JobError::Interrupted)?;
        if get(&chunk, "done").as_bool() == Some(true) {
            break;
        }
        let value = get(&chunk, "value")
            .dyn_into::<Uint8Array>()
            .map_err(|_| JobError::Interrupted)?;
        copy_into(&value, &mut sealed);
        got += sealed.len() as f64;
        plain.clear();
        opener
            .update_into(&sealed, &mut plain)
            .map_err(|_| JobError::Tampered)?;
        sink.push(&plain)?;
        digester.push(&sealed, Some(&value), false).await?;
        if got - told >= PROGRESS_EVERY {
            told = got;
            post(&Reply::Progress { done: got, total });
        }
    }
    let (seen, _) = digester.finish(mime).await?;
    sink.push(&opener.finish(seen).map_err(|_| JobError::Tampered)?)?;
    post(&Reply::Progress { done: got, total });
    Ok(Output {
        blob: Some(sink.finish(mime)?),
        ..Output::default()
    })
}
