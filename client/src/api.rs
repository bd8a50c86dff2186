//! REST calls to the relay (same origin), only through the typed endpoints
//! of `parley_shared::protocol::api`: [`send`] for one call, [`perform`] for
//! a request a flow or the engine emitted. Failures are
//! [`parley_shared::protocol::api::Failure`]: branch on its code, never on
//! raw status numbers.

use js_sys::Uint8Array;
use parley_shared::protocol::api::{Endpoint, Failure, Request};
use parley_shared::time::UnixMs;
use wasm_bindgen::JsCast as _;
use wasm_bindgen_futures::JsFuture;

/// The page's origin: the relay serving it.
pub(crate) fn origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}

/// A raw call: `(status, body bytes)`; only transport problems fail.
async fn call(
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<(&str, Vec<u8>)>,
) -> Result<(u16, Vec<u8>), Failure> {
    let window = web_sys::window().ok_or(Failure::Unreachable)?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    init.set_cache(web_sys::RequestCache::NoStore);
    let headers = web_sys::Headers::new().map_err(|_| Failure::Unreachable)?;
    if let Some(t) = token {
        let _ = headers.set("authorization", &format!("Bearer {t}"));
    }
    if let Some((ct, bytes)) = &body {
        let _ = headers.set("content-type", ct);
        init.set_body(&Uint8Array::from(bytes.as_slice()));
    }
    init.set_headers(&headers);
    let resp = JsFuture::from(window.fetch_with_str_and_init(path, &init))
        .await
        .map_err(|_| Failure::Unreachable)?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| Failure::Unreachable)?;
    let buf = JsFuture::from(resp.array_buffer().map_err(|_| Failure::Unreachable)?)
        .await
        .map_err(|_| Failure::Unreachable)?;
    Ok((resp.status(), Uint8Array::new(&buf).to_vec()))
}

/// Performs any typed request (the engine's `Effect::Http` included): the
/// token goes along when the route asks for it. Only transport problems are
/// failures here; the status and body go to [`Endpoint::decode`].
pub(crate) async fn perform(req: &Request, token: Option<&str>) -> Result<(u16, Vec<u8>), Failure> {
    let token = if req.auth { token } else { None };
    let body = req
        .body
        .content_type()
        .map(|ct| (ct, req.body.bytes().to_vec()));
    call(req.method.as_str(), &req.path, token, body).await
}

/// Calls one endpoint and reads its typed answer.
pub(crate) async fn send<E: Endpoint>(
    ep: &E,
    token: Option<&str>,
    body: &E::Body,
) -> Result<E::Answer, Failure> {
    let (status, bytes) = perform(&ep.request(body), token).await?;
    E::decode(status, &bytes)
}

/// The browser clock, for the engine and the UI timers.
pub(crate) fn now() -> UnixMs {
    UnixMs::from_millis(js_sys::Date::now() as u64)
}

/// A blob transfer through a pre-signed storage URL (small bodies: the
/// history archive of a device link; files go through the worker with
/// progress). Returns the body of a `GET`.
pub(crate) async fn blob(
    req: &parley_shared::engine::flow::BlobRequest,
    body: Option<&[u8]>,
) -> Result<Vec<u8>, parley_shared::engine::flow::BlobError> {
    use parley_shared::engine::flow::BlobError;
    let window = web_sys::window().ok_or(BlobError::Unreachable)?;
    let init = web_sys::RequestInit::new();
    init.set_method(req.method.as_str());
    init.set_cache(web_sys::RequestCache::NoStore);
    let headers = web_sys::Headers::new().map_err(|_| BlobError::Unreachable)?;
    for (k, v) in &req.headers {
        // The browser sets these itself.
        if !k.eq_ignore_ascii_case("content-length") && !k.eq_ignore_ascii_case("host") {
            let _ = headers.set(k, v);
        }
    }
    init.set_headers(&headers);
    if let Some(b) = body {
        init.set_body(&Uint8Array::from(b));
    }
    let resp = JsFuture::from(window.fetch_with_str_and_init(&req.url, &init))
        .await
        .map_err(|_| BlobError::Unreachable)?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| BlobError::Unreachable)?;
    if let Some(e) = BlobError::from_status(resp.status()) {
        return Err(e);
    }
    let buf = JsFuture::from(resp.array_buffer().map_err(|_| BlobError::Unreachable)?)
        .await
        .map_err(|_| BlobError::Unreachable)?;
    Ok(Uint8Array::new(&buf).to_vec())
}
