//! This device: name, fingerprint, and deleting the account.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{BackButton, ConnBadge, Put};
use parley_shared::engine::AccountOutcome;
use parley_shared::protocol::api::{EraseDevice, Failure};

use crate::api;
use crate::runtime::{self, SessionError};
use crate::store::{Store, StoreError};

/// Why the account could not be deleted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum DeleteError {
    /// No session, or the relay refused.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The relay refused to erase it.
    #[error(transparent)]
    Relay(#[from] Failure),
    /// Browser storage failed.
    #[error(transparent)]
    Storage(#[from] StoreError),
}

async fn delete_account() -> Result<(), DeleteError> {
    let token = runtime::ensure_token().await?;
    api::send(&EraseDevice, Some(&token), &()).await?;
    runtime::stop();
    Ok(Store::open().await?.wipe().await?)
}

/// Settings.
#[component]
pub(super) fn Settings() -> impl IntoView {
    let confirm = RwSignal::new(false);
    let confirm_reset = RwSignal::new(false);
    let reset_state = RwSignal::new(None::<Result<AccountOutcome, SessionError>>);
    let error = RwSignal::new(None::<String>);
    let ui = expect_context::<runtime::Ui>();
    let typing_on = move || ui.views.prefs.with(|p| p.typing_indicators);
    let presence_on = move || ui.views.prefs.with(|p| p.presence);
    let (name, fingerprint) = runtime::read(|e| {
        let id = e.device_id();
        let hex: Vec<String> = id
            .as_bytes()
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
                Err(e) => error.put(Some(e.to_string())),
            }
        });
    };
    let reset = move |_| {
        if !confirm_reset.get_untracked() {
            confirm_reset.put(true);
            return;
        }
        confirm_reset.put(false);
        spawn_local(async move {
            reset_state.put(Some(runtime::reset_keys().await));
        });
    };
    view! {
        <main class="settings" data-screen="settings">
            <header class="bar">
                <BackButton/>
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
                <h2>"Privacy"</h2>
                <label class="check">
                    <input type="checkbox" prop:checked=typing_on
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            runtime::write(|e| e.set_typing_indicators(on));
                        }/>
                    "Typing indicators"
                </label>
                <p class="hint">"Contacts see when you are typing, and you see when they are. Off means neither."</p>
                <label class="check">
                    <input type="checkbox" prop:checked=presence_on
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            runtime::write(|e| e.set_presence(on));
                        }/>
                    "Show when I am online"
                </label>
                <p class="hint">"Your contacts (and only they) see when Parley is open on this device, and you see when theirs is. Off means neither; typing indicators need it on both sides."</p>
            </section>
            <section class="card">
                <h2>"Reset identity keys"</h2>
                <p class="hint">"If this device's keys may have been exposed, replace them. Conversations stay; each contact sees that your safety number changed and must confirm it."</p>
                {move || reset_state.get().map(|r| match r {
                    Ok(AccountOutcome::KeysReplaced) => view! { <p class="hint" role="status">"New keys are in use. Your contacts will be asked to check your new safety number."</p> }.into_any(),
                    // A reset that got no answer turned out never to have
                    // reached the relay: it was undone, the old keys stay.
                    Ok(AccountOutcome::SignedIn) => view! { <p class="hint" role="status">"The earlier reset never reached the relay and was undone; your keys are unchanged. Reset again to replace them."</p> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                })}
                <button type="button" class="secondary" on:click=reset>
                    {move || if confirm_reset.get() { "Really replace my keys? Click again" } else { "Reset my identity keys" }}
                </button>
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
