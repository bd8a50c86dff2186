//! REST calls to the relay (same origin). Bodies are the shared protocol types;
//! failures carry the relay's error code and message, or say the relay is
//! unreachable.

use js_sys::Uint8Array;
use parley_shared::protocol::api::{Endpoint, Failure as Typed, Request};
use parley_shared::protocol::{ApiError, ErrorCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsCast as _;
use wasm_bindgen_futures::JsFuture;

/// A failed call, ready to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// No answer at all (network down, relay stopped).
    Unreachable,
    /// The relay refused: its code and explanation.
    Refused(u16, Option<ErrorCode>, String),
}

impl Failure {
    /// Text for people.
    pub(crate) fn message(&self) -> String {
        match self {
            Self::Unreachable => {
                "The relay cannot be reached. Check your connection; Parley retries by itself."
                    .into()
            }
            Self::Refused(_, _, m) => m.clone(),
        }
    }
}

/// The page's origin: the relay serving it.
pub(crate) fn origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}

/// A raw call: `(status, body bytes)`.
pub(crate) async fn call(
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

fn refused(status: u16, body: &[u8]) -> Failure {
    match serde_json::from_slice::<ApiError>(body) {
        Ok(e) => Failure::Refused(status, Some(e.code), e.message),
        // A proxy or a stopped relay behind one.
        Err(_) if status >= 500 => Failure::Unreachable,
        Err(_) => Failure::Refused(status, None, format!("The relay answered {status}.")),
    }
}

/// JSON in, JSON out; non-2xx becomes a [`Failure`].
pub(crate) async fn json<B: Serialize, T: DeserializeOwned>(
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&B>,
) -> Result<T, Failure> {
    let body = body
        .map(|b| serde_json::to_vec(b).map(|v| ("application/json", v)))
        .transpose()
        .map_err(|_| Failure::Refused(0, None, "could not encode the request".into()))?;
    let (status, bytes) = call(method, path, token, body).await?;
    if !(200..300).contains(&status) {
        return Err(refused(status, &bytes));
    }
    serde_json::from_slice(&bytes)
        .map_err(|_| Failure::Refused(status, None, "The relay sent an unexpected answer.".into()))
}

/// Bytes in or out (rendezvous messages): `Ok(None)` for 204.
pub(crate) async fn bytes(
    method: &str,
    path: &str,
    token: &str,
    body: Option<Vec<u8>>,
) -> Result<Option<Vec<u8>>, Failure> {
    let body = body.map(|b| ("application/octet-stream", b));
    let (status, bytes) = call(method, path, Some(token), body).await?;
    match status {
        204 => Ok(None),
        200..=299 => Ok(Some(bytes)),
        _ => Err(refused(status, &bytes)),
    }
}

/// Performs any typed request (the engine's `Effect::Http` included): the
/// token goes along when the route asks for it. Only transport problems are
/// failures here; the status and body go to [`Endpoint::decode`].
pub(crate) async fn perform(req: &Request, token: Option<&str>) -> Result<(u16, Vec<u8>), Typed> {
    let token = if req.auth { token } else { None };
    let body = req
        .body
        .content_type()
        .map(|ct| (ct, req.body.bytes().to_vec()));
    call(req.method.as_str(), &req.path, token, body)
        .await
        .map_err(|_| Typed::Unreachable)
}

/// Calls one endpoint and reads its typed answer.
pub(crate) async fn send<E: Endpoint>(
    ep: &E,
    token: Option<&str>,
    body: &E::Body,
) -> Result<E::Answer, Typed> {
    let (status, bytes) = perform(&ep.request(body), token).await?;
    E::decode(status, &bytes)
}

/// Unix milliseconds.
pub(crate) fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}
