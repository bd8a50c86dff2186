//! Showing an invite: QR code (the link), the link itself and the PIN, with
//! the time left. Ends on the new conversation.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{BackButton, Nav, Put, Screen};
use crate::api::now_ms;
use crate::pair::{self, Shown};
use crate::{qr, runtime};

/// The invite screen.
#[component]
pub fn InviteScreen() -> impl IntoView {
    let nav = expect_context::<Nav>();
    let shown = RwSignal::new(None::<Shown>);
    let error = RwSignal::new(None::<String>);
    let generation = RwSignal::new(0u32);
    let left = RwSignal::new(false);
    let now = RwSignal::new(now_ms());
    let copied = RwSignal::new(false);
    on_cleanup(move || left.put(true));

    // One run per generation; a newer generation or leaving ends the older one.
    Effect::new(move |_| {
        let mine = generation.get();
        shown.put(None);
        error.put(None);
        spawn_local(async move {
            let cancelled = move || {
                left.try_get_untracked().unwrap_or(true)
                    || generation.try_get_untracked().unwrap_or(u32::MAX) != mine
            };
            match pair::create_invite().await {
                Err(e) => error.put(Some(e)),
                Ok((s, slot, inviter)) => {
                    shown.put(Some(s));
                    match pair::await_joiner(slot, inviter, cancelled).await {
                        Ok(peer) if !left.try_get_untracked().unwrap_or(true) => {
                            nav.put(Screen::Chat(peer))
                        }
                        Ok(_) => {}
                        Err(e) if !cancelled() => {
                            shown.put(None);
                            error.put(Some(e));
                        }
                        Err(_) => {}
                    }
                }
            }
        });
    });
    spawn_local(async move {
        while !left.try_get_untracked().unwrap_or(true) {
            runtime::sleep(1000).await;
            now.put(now_ms());
        }
    });

    let remaining = move || {
        shown.get().map(|s| {
            let secs = (s.expires_at * 1000).saturating_sub(now.get()) / 1000;
            if secs == 0 {
                "Expired".to_owned()
            } else {
                format!("Expires in {}:{:02}", secs / 60, secs % 60)
            }
        })
    };
    let copy = move |_| {
        if let (Some(s), Some(w)) = (shown.get_untracked(), web_sys::window()) {
            let _ = w.navigator().clipboard().write_text(&s.link);
            copied.put(true);
        }
    };

    view! {
        <main class="invite" data-screen="invite">
            <header class="bar">
                <BackButton/>
                <h1>"Invite someone"</h1>
            </header>
            <Show when=move || error.get().is_some()>
                <div class="card">
                    <p class="error" role="alert">{move || error.get()}</p>
                    <button type="button" class="primary" on:click=move |_| generation.update(|g| *g += 1)>"Make a new invite"</button>
                </div>
            </Show>
            <Show when=move || shown.get().is_none() && error.get().is_none()>
                <p class="hint" role="status">"Preparing a one-time invite…"</p>
            </Show>
            {move || shown.get().map(|s| view! {
                <section class="card invite-card">
                    <p class="hint">"Let your contact scan this code with Parley, or give them the PIN. It works once."</p>
                    <div class="qr" role="img" aria-label="Invite QR code" inner_html=qr::svg(&s.link).unwrap_or_default()></div>
                    <p class="pin-label">"PIN"</p>
                    <p class="pin" aria-label="Pairing PIN">{s.pin.clone()}</p>
                    <p class="expiry" role="timer">{remaining}</p>
                    <label for="invite-link">"Or send this link over a channel you trust"</label>
                    <div class="row">
                        <input id="invite-link" readonly prop:value=s.link.clone()/>
                        <button type="button" class="secondary" on:click=copy>
                            {move || if copied.get() { "Copied" } else { "Copy" }}
                        </button>
                    </div>
                    <p class="hint waiting" role="status">"Waiting for your contact…"</p>
                </section>
            })}
        </main>
    }
}
