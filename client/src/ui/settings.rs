//! This device: name, fingerprint, and deleting the account.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{ConnBadge, Nav, Put, Screen};
use crate::api::{self, now_ms};
use crate::runtime;
use crate::store::Store;

async fn delete_account() -> Result<(), String> {
    let token = match runtime::read(|e| e.token(now_ms()).map(str::to_owned)).flatten() {
        Some(t) => t,
        None => runtime::login().await.map_err(|f| f.message())?,
    };
    api::call("DELETE", "/api/v1/devices/me", Some(&token), None)
        .await
        .map_err(|f| f.message())
        .and_then(|(st, _)| {
            if st == 204 || st == 200 {
                Ok(())
            } else {
                Err(format!("The relay refused to delete the account ({st})."))
            }
        })?;
    runtime::stop();
    Store::open().await?.wipe().await
}

/// Settings.
#[component]
pub fn Settings() -> impl IntoView {
    let nav = expect_context::<Nav>();
    let confirm = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let (name, fingerprint) = runtime::read(|e| {
        let id = e.device_id();
        let hex: Vec<String> = id
            .chunks(2)
            .take(8)
            .map(|c| format!("{:02x}{:02x}", c[0], c[1]))
            .collect();
        (e.name().to_owned(), hex.join(" "))
    })
    .unwrap_or_default();
    let delete = move |_| {
        if !confirm.get_untracked() {
            confirm.put(true);
            return;
        }
        spawn_local(async move {
            match delete_account().await {
                Ok(()) => {
                    if let Some(w) = web_sys::window() {
                        let _ = w.location().reload();
                    }
                }
                Err(e) => error.put(Some(e)),
            }
        });
    };
    view! {
        <main class="settings" data-screen="settings">
            <header class="bar">
                <button type="button" class="icon" aria-label="Back to conversations" on:click=move |_| nav.put(Screen::Home)>"←"</button>
                <h1>"Settings"</h1>
                <ConnBadge/>
            </header>
            <section class="card">
                <h2>"This device"</h2>
                <p>"Name: " <strong>{name}</strong></p>
                <p>"Device key: " <code class="fingerprint">{fingerprint}</code></p>
                <p class="hint">"Your private keys are stored in this browser only, encrypted with a key the browser will not export."</p>
            </section>
            <section class="card">
                <h2>"Delete account"</h2>
                <p class="hint">"Erases this identity, its contacts and history from this browser, and everything the relay holds for it. This cannot be undone."</p>
                <Show when=move || error.get().is_some()>
                    <p class="error" role="alert">{move || error.get()}</p>
                </Show>
                <button type="button" class="danger" on:click=delete>
                    {move || if confirm.get() { "Really delete everything? Click again" } else { "Delete my account" }}
                </button>
            </section>
        </main>
    }
}
