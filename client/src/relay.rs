//! Relay readiness (`/readyz`) for the start and onboarding screens.

use parley_shared::protocol::Readiness;
use wasm_bindgen::JsCast as _;
use wasm_bindgen_futures::JsFuture;

use crate::tr;

/// What the start screen shows about the relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RelayStatus {
    /// First check in flight.
    Checking,
    /// `/readyz` says ready.
    Ready,
    /// `/readyz` answered but a dependency is down.
    Degraded(Option<String>),
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

    /// Text for people, in the language shown.
    pub(crate) fn label(&self) -> String {
        match self {
            Self::Checking => tr!("relay-checking"),
            Self::Ready => tr!("relay-ready"),
            // The reason is the relay's own (English) diagnostic.
            Self::Degraded(Some(why)) => tr!("relay-degraded", reason = why.clone()),
            Self::Degraded(None) => tr!("relay-degraded", reason = tr!("relay-degraded-unknown")),
            Self::Unreachable => tr!("relay-unreachable"),
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
        Some(r) => RelayStatus::Degraded(r.reason()),
    }
}
