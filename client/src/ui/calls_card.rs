//! Whether calls can be relayed: a relay without a TURN server hands out
//! no servers, and calls between different networks (most phones on
//! mobile data, many offices) may then fail to connect. Settings says so.

use leptos::prelude::*;
use leptos::task::spawn_local;
use parley_shared::protocol::api::{GetTurn, Json};

use super::Put;
use crate::{api, runtime, tr};

/// `Some(true)`: the relay gives TURN servers.
async fn relayed() -> Option<bool> {
    let token = runtime::ensure_token().await.ok()?;
    match api::send(&GetTurn, Some(&token), &()).await {
        Ok(Json(c)) => Some(!c.urls.is_empty()),
        Err(_) => None,
    }
}

/// The Settings card.
#[component]
pub(super) fn CallsCard() -> impl IntoView {
    let state = RwSignal::new(None::<bool>);
    spawn_local(async move { state.put(relayed().await) });
    view! {
        <section class="card" data-turn=move || match state.get() {
            Some(true) => "relayed",
            Some(false) => "none",
            None => "unknown",
        }>
            <h2>{move || tr!("calls-title")}</h2>
            <p class="hint">{move || match state.get() {
                Some(true) => tr!("calls-turn"),
                Some(false) => tr!("calls-no-turn"),
                None => tr!("calls-turn-unknown"),
            }}</p>
        </section>
    }
}
