//! Whether the browser keeps Parley's data: asks for persistent storage
//! (`navigator.storage.persist()`) at onboarding and on request, and says
//! in Settings whether it is granted, with a reminder to back up when not:
//! a browser short of space may otherwise evict the account and every
//! conversation.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen_futures::JsFuture;

use super::Put;
use crate::tr;

fn manager() -> Option<web_sys::StorageManager> {
    web_sys::window().map(|w| w.navigator().storage())
}

/// Whether storage is persistent (`None`: the browser cannot say).
pub(crate) async fn persisted() -> Option<bool> {
    let p = manager()?.persisted().ok()?;
    JsFuture::from(p).await.ok()?.as_bool()
}

/// Asks the browser to keep the data; the answer is the browser's (it may
/// decide without asking the user).
pub(crate) async fn persist() -> Option<bool> {
    let p = manager()?.persist().ok()?;
    JsFuture::from(p).await.ok()?.as_bool()
}

/// The Settings card.
#[component]
pub(super) fn StorageCard() -> impl IntoView {
    let state = RwSignal::new(None::<bool>);
    spawn_local(async move { state.put(persisted().await) });
    let ask = move |_| {
        spawn_local(async move {
            let granted = persist().await;
            state.put(granted.or(persisted().await));
        });
    };
    view! {
        <section class="card" data-storage=move || match state.get() {
            Some(true) => "persistent",
            Some(false) => "best-effort",
            None => "unknown",
        }>
            <h2>{move || tr!("storage-title")}</h2>
            {move || match state.get() {
                Some(true) => view! { <p>{move || tr!("storage-persistent")}</p> }.into_any(),
                _ => view! {
                    <p role="status">{move || tr!("storage-best-effort")}</p>
                    <p class="hint">{move || tr!("storage-back-up")}</p>
                    <button type="button" class="secondary" on:click=ask>{move || tr!("storage-ask")}</button>
                }.into_any(),
            }}
        </section>
    }
}
