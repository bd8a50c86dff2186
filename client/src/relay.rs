//! Relay readiness (`/readyz`) for the start and onboarding screens.

use parley_shared::protocol::Readiness;
use wasm_bindgen::JsCast as _;
use wasm_bindgen_futures::JsFuture;

/// What the start screen shows about the relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RelayStatus {
    /// First check in flight.
    Checking,
    /// `/readyz` says ready.
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

/// `/readyz`'s report, `None` when there was no readable answer. Its body
/// says ready or not (the status only repeats it), so only the body is read.
async fn readiness() -> Option<Readiness> {
    let window = web_sys::window()?;
    let init = web_sys::RequestInit::new();
    init.set_cache(web_sys::RequestCache::NoStore);
    let resp = JsFuture::from(window.fetch_with_str_and_init("/readyz", &init))
        .await
        .ok()?;
    let resp: web_sys::Response = resp.dyn_into().ok()?;
    let text = JsFuture::from(resp.text().ok()?).await.ok()?.as_string()?;
    serde_json::from_str(&text).ok()
}

/// Asks `/readyz` and interprets the answer.
pub(crate) async fn check() -> RelayStatus {
    match readiness().await {
        None => RelayStatus::Unreachable,
        Some(r) if r.ready => RelayStatus::Ready,
        Some(r) => RelayStatus::Degraded(r.reason().unwrap_or_else(|| "unknown".into())),
    }
}
