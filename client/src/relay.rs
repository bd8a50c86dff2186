//! Relay readiness (`/readyz`) for the start and onboarding screens.

use parley_shared::protocol::Readiness;
use wasm_bindgen::JsCast as _;
use wasm_bindgen_futures::JsFuture;

/// What the start screen shows about the relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RelayStatus {
    /// First check in flight.
    Checking,
    /// `/readyz` answered 200.
    Ready,
    /// `/readyz` answered but a dependency is down.
    Degraded(String),
    /// The relay could not be reached at all.
    Unreachable,
}

impl RelayStatus {
    /// Stable state name (used as a `data-state` attribute and for styling).
    pub(crate) fn state(&self) -> &'static str {
        match self {
            Self::Checking => "checking",
            Self::Ready => "ready",
            Self::Degraded(_) => "degraded",
            Self::Unreachable => "unreachable",
        }
    }

    /// Text for people.
    pub(crate) fn label(&self) -> String {
        match self {
            Self::Checking => "Checking the relay…".into(),
            Self::Ready => "Relay online".into(),
            Self::Degraded(why) => format!("Relay is up but not ready: {why}"),
            Self::Unreachable => "Relay unreachable; retrying".into(),
        }
    }
}

async fn fetch_text(path: &str) -> Result<(u16, String), ()> {
    let window = web_sys::window().ok_or(())?;
    let init = web_sys::RequestInit::new();
    init.set_cache(web_sys::RequestCache::NoStore);
    let resp = JsFuture::from(window.fetch_with_str_and_init(path, &init))
        .await
        .map_err(|_| ())?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| ())?;
    let text = JsFuture::from(resp.text().map_err(|_| ())?)
        .await
        .map_err(|_| ())?;
    Ok((resp.status(), text.as_string().unwrap_or_default()))
}

/// Asks `/readyz` and interprets the answer.
pub(crate) async fn check() -> RelayStatus {
    match fetch_text("/readyz").await {
        Err(()) => RelayStatus::Unreachable,
        Ok((status, body)) => match serde_json::from_str::<Readiness>(&body) {
            Ok(r) if r.ready && status == 200 => RelayStatus::Ready,
            Ok(r) => RelayStatus::Degraded(r.reason().unwrap_or_else(|| "unknown".into())),
            Err(_) => RelayStatus::Unreachable,
        },
    }
}
