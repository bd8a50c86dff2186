//! This device: name, fingerprint, and deleting the account.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{BackButton, ConnBadge, Put};
use parley_shared::crypto::os_rng;
use parley_shared::protocol::auth::{Challenge, Session};

use crate::api;
use crate::runtime;
use crate::store::Store;

async fn delete_account() -> Result<(), String> {
    let token = runtime::ensure_token().await?;
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
    Ok(Store::open().await?.wipe().await?)
}

/// Replaces this device's identity keys; contacts see a safety-number change.
async fn reset_keys() -> Result<(), String> {
    // An earlier attempt got no answer: finish (or drop) that one first.
    if runtime::read(parley_shared::engine::Engine::rotation_to_resume) == Some(true) {
        runtime::resume_rotation().await.map_err(|f| f.message())?;
        runtime::reconnect();
        return Ok(());
    }
    runtime::write(|e| e.begin_rotation(&mut os_rng()))
        .ok_or("no account")?
        .map_err(|e| e.to_string())?;
    // The new identity is saved before the relay hears of it.
    runtime::flushed().await?;
    let token = runtime::ensure_token().await?;
    let c: Challenge = api::json::<(), _>("POST", "/api/v1/auth/challenge", None, None)
        .await
        .map_err(|f| f.message())?;
    let req = runtime::read(|e| e.rotation_registration_request(&api::origin(), &c.challenge))
        .flatten()
        .ok_or("The relay sent an invalid challenge.")?;
    match api::json::<_, Session>("POST", "/api/v1/devices", Some(&token), Some(&req)).await {
        // The relay erased the old device when it registered the new one.
        Ok(s) => {
            runtime::write(|e| e.finish_rotation(s.token, s.expires_at));
        }
        Err(f) => {
            // It may have registered it all the same: resume from here on.
            runtime::write(|e| e.rotation_unanswered());
            return Err(format!(
                "{} Try again: the reset is finished or undone first.",
                f.message()
            ));
        }
    }
    runtime::reconnect();
    Ok(())
}

/// Settings.
#[component]
pub(super) fn Settings() -> impl IntoView {
    let confirm = RwSignal::new(false);
    let confirm_reset = RwSignal::new(false);
    let reset_state = RwSignal::new(None::<Result<String, String>>);
    let error = RwSignal::new(None::<String>);
    let ui = expect_context::<runtime::Ui>();
    let typing_on = move || ui.views.prefs.with(|p| p.typing_indicators);
    let presence_on = move || ui.views.prefs.with(|p| p.presence);
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
    let reset = move |_| {
        if !confirm_reset.get_untracked() {
            confirm_reset.put(true);
            return;
        }
        confirm_reset.put(false);
        spawn_local(async move {
            reset_state.put(Some(match reset_keys().await {
                Ok(()) => Ok("New keys are in use. Your contacts will be asked to check your new safety number.".into()),
                Err(e) => Err(e),
            }));
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
                    Ok(m) => view! { <p class="hint" role="status">{m}</p> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
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
