//! This device: name, fingerprint, language, privacy, backup, key reset
//! and deleting the account.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{BackButton, ConnBadge, Put};
use parley_shared::engine::AccountOutcome;
use parley_shared::protocol::api::{EraseDevice, Failure};

use crate::i18n::{self, Lang, Localize};
use crate::runtime::{self, SessionError};
use crate::store::{Store, StoreError};
use crate::{api, tr};

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

/// How long leaving the account may take before deleting gives up, ms.
const LEAVE_MS: u32 = 15_000;

/// Deletes this device: a device of an account with others first leaves it
/// (the list it publishes makes the relay erase it, and the others can go
/// on changing the list); the only device erases itself.
async fn delete_account() -> Result<(), DeleteError> {
    let token = runtime::ensure_token().await?;
    // No account yet (a device never linked): it only erases itself.
    let left = runtime::write(|e| e.leave_account())
        .ok_or(SessionError::NoAccount)?
        .unwrap_or(false);
    if left {
        let mut waited = 0;
        // Done once the relay took the list (the runtime stops when the
        // relay then closes this device's connection).
        while runtime::read(|e| e.own_list_published()) == Some(false) {
            if waited >= LEAVE_MS {
                return Err(Failure::Unreachable.into());
            }
            runtime::sleep(200).await;
            waited += 200;
        }
    } else {
        api::send(&EraseDevice, Some(&token), &()).await?;
    }
    runtime::stop();
    Ok(Store::open().await?.wipe().await?)
}

impl Localize for DeleteError {
    fn text(&self) -> String {
        match self {
            Self::Session(e) => e.text(),
            Self::Relay(f) => f.text(),
            Self::Storage(e) => e.text(),
        }
    }
}

/// The language menu: the browser's choice until one is made here.
#[component]
fn Language() -> impl IntoView {
    // The language whose messages could not be fetched, if the last choice failed.
    let failed = RwSignal::new(None::<Lang>);
    let select = NodeRef::<leptos::html::Select>::new();
    let on_change = move |ev: leptos::ev::Event| {
        let Some(l) = Lang::from_tag(&event_target_value(&ev)) else {
            return;
        };
        spawn_local(async move {
            match i18n::switch(l).await {
                Ok(()) => failed.put(None),
                Err(_) => {
                    // The menu goes back to the language still shown.
                    if let Some(el) = select.get_untracked() {
                        el.set_value(i18n::lang().tag());
                    }
                    failed.put(Some(l));
                }
            }
        });
    };
    view! {
        <section class="card">
            <h2>{move || tr!("settings-language")}</h2>
            <label class="language">
                <select name="language" aria-label=move || tr!("settings-language") node_ref=select
                    prop:value=move || i18n::lang().tag() on:change=on_change>
                    {Lang::ALL.map(|l| view! { <option value=l.tag()>{l.own_name()}</option> })}
                </select>
            </label>
            {move || failed.get().map(|l| view! {
                <p class="error" role="alert">
                    {move || tr!("settings-language-unavailable", language = l.own_name())}
                </p>
            })}
        </section>
    }
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
                Err(e) => error.put(Some(e.text())),
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
                <h1>{move || tr!("settings-title")}</h1>
                <ConnBadge/>
            </header>
            <section class="card">
                <h2>{move || tr!("settings-device")}</h2>
                <p>{move || tr!("settings-name")} " " <strong>{name}</strong></p>
                <p>{move || tr!("settings-device-key")} " " <code class="fingerprint">{fingerprint}</code></p>
                <p class="hint">{move || tr!("settings-keys-hint")}</p>
            </section>
            <super::devices::DevicesCard/>
            <super::storage::StorageCard/>
            <super::calls_card::CallsCard/>
            <super::notify_card::NotificationsCard/>
            <Language/>
            <super::backup::Backup/>
            <section class="card">
                <h2>{move || tr!("settings-privacy")}</h2>
                <label class="check">
                    <input type="checkbox" prop:checked=typing_on
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            runtime::write(|e| e.set_typing_indicators(on));
                        }/>
                    {move || tr!("settings-typing")}
                </label>
                <p class="hint">{move || tr!("settings-typing-hint")}</p>
                <label class="check">
                    <input type="checkbox" prop:checked=presence_on
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            runtime::write(|e| e.set_presence(on));
                        }/>
                    {move || tr!("settings-presence")}
                </label>
                <p class="hint">{move || tr!("settings-presence-hint")}</p>
            </section>
            <section class="card">
                <h2>{move || tr!("settings-reset")}</h2>
                <p class="hint">{move || tr!("settings-reset-hint")}</p>
                {move || reset_state.get().map(|r| match r {
                    Ok(AccountOutcome::KeysReplaced) => view! { <p class="hint" role="status">{move || tr!("settings-reset-done")}</p> }.into_any(),
                    // A reset that got no answer turned out never to have
                    // reached the relay: it was undone, the old keys stay.
                    Ok(AccountOutcome::SignedIn) => view! { <p class="hint" role="status">{move || tr!("settings-reset-undone")}</p> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{move || e.text()}</p> }.into_any(),
                })}
                <button type="button" class="secondary" on:click=reset>
                    {move || if confirm_reset.get() { tr!("settings-reset-confirm") } else { tr!("settings-reset-button") }}
                </button>
            </section>
            <section class="card">
                <h2>{move || tr!("settings-delete")}</h2>
                <p class="hint">{move || tr!("settings-delete-hint")}</p>
                <Show when=move || error.get().is_some()>
                    <p class="error" role="alert">{move || error.get()}</p>
                </Show>
                <button type="button" class="danger" on:click=delete>
                    {move || if confirm.get() { tr!("settings-delete-confirm") } else { tr!("settings-delete-button") }}
                </button>
            </section>
        </main>
    }
}
