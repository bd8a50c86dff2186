//! Showing an invite: QR code (the link) and the link itself, with the time
//! left, and a PIN on request (only PIN invites use the relay's PIN
//! numbers). Ends on the new conversation; for a device link
//! ([`Purpose::Link`], on the new device), on the history taken in.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{BackButton, Nav, Put, Screen};
use crate::i18n::Localize as _;
use crate::pair::{self, PairError, Shown};
use crate::{api, tr};
use crate::{qr, runtime};
use parley_shared::engine::pairing::{InviteError, InviteEvent, Purpose};

/// The linked device waits for its history, then opens the app.
async fn receive(nav: Nav, receiving: RwSignal<bool>, error: RwSignal<Option<String>>) {
    receiving.put(true);
    let r = crate::link::receive_history().await;
    receiving.put(false);
    match r {
        Ok(()) => nav.put(Screen::Home),
        Err(e) => error.put(Some(e.text())),
    }
}

/// The invite screen.
#[component]
pub(super) fn InviteScreen(purpose: Purpose) -> impl IntoView {
    let link = purpose == Purpose::Link;
    let nav = expect_context::<Nav>();
    let shown = RwSignal::new(None::<Shown>);
    let pin = RwSignal::new(None::<String>);
    // Kept across new invites: who asked for a PIN gets one again.
    let want_pin = RwSignal::new(false);
    let pin_error = RwSignal::new(None::<String>);
    let attempts_left = RwSignal::new(None::<u8>);
    let error = RwSignal::new(None::<String>);
    let too_many = RwSignal::new(false);
    let generation = RwSignal::new(0u32);
    let left = RwSignal::new(false);
    let now = RwSignal::new(api::now());
    // None: not tried yet; Some(false): the browser refused.
    let copied = RwSignal::new(None::<bool>);
    let receiving = RwSignal::new(false);
    on_cleanup(move || left.put(true));

    // One run per generation; a newer generation or leaving ends the older one.
    Effect::new(move |_| {
        let mine = generation.get();
        shown.put(None);
        pin.put(None);
        pin_error.put(None);
        attempts_left.put(None);
        error.put(None);
        too_many.put(false);
        spawn_local(async move {
            // Paired before a reload: the history is on its way.
            if link && runtime::read(|e| e.link_pinned()).unwrap_or(false) {
                return receive(nav, receiving, error).await;
            }
            let cancelled = move || {
                left.try_get_untracked().unwrap_or(true)
                    || generation.try_get_untracked().unwrap_or(u32::MAX) != mine
            };
            let (s, flow) = match pair::create_invite(purpose).await {
                Ok(made) => made,
                Err(e) => {
                    too_many.put(matches!(e, PairError::Invite(InviteError::TooMany)));
                    error.put(Some(e.text()));
                    return;
                }
            };
            shown.put(Some(s));
            let wants_pin = move || want_pin.try_get_untracked().unwrap_or(false);
            let on_event = move |ev| match ev {
                InviteEvent::Pin(p) => pin.put(Some(p)),
                InviteEvent::PinFailed(e) => {
                    want_pin.put(false);
                    pin_error.put(Some(e.text()));
                }
                InviteEvent::FailedAttempt { attempts_left: n } => attempts_left.put(Some(n)),
                InviteEvent::Shown { .. } => {}
            };
            match pair::await_joiner(flow, cancelled, wants_pin, on_event).await {
                Ok(_) if link => {
                    shown.put(None);
                    receive(nav, receiving, error).await;
                }
                Ok(peer) if !left.try_get_untracked().unwrap_or(true) => {
                    nav.put(Screen::Chat(peer))
                }
                Ok(_) => {}
                Err(e) if !cancelled() => {
                    shown.put(None);
                    error.put(Some(e.text()));
                }
                Err(_) => {}
            }
        });
    });
    spawn_local(async move {
        while !left.try_get_untracked().unwrap_or(true) {
            runtime::sleep(1000).await;
            now.put(api::now());
        }
    });

    let remaining = move || {
        shown.get().map(|s| {
            let secs = s.expires_at.since(now.get()).as_secs();
            if secs == 0 {
                tr!("invite-expired-label")
            } else {
                tr!(
                    "invite-expires-in",
                    time = format!("{}:{:02}", secs / 60, secs % 60)
                )
            }
        })
    };
    let copy = move |_| {
        if let (Some(s), Some(w)) = (shown.get_untracked(), web_sys::window()) {
            let promise = w.navigator().clipboard().write_text(&s.link);
            spawn_local(async move {
                let ok = wasm_bindgen_futures::JsFuture::from(promise).await.is_ok();
                copied.put(Some(ok));
            });
        }
    };
    let ask_pin = move |_| {
        pin_error.put(None);
        want_pin.put(true);
    };
    let close_others = move |_| {
        spawn_local(async move {
            match pair::close_all_invites().await {
                Ok(()) => generation.update(|g| *g += 1),
                Err(e) => error.put(Some(e.text())),
            }
        });
    };
    let attempts_note = move || {
        attempts_left
            .get()
            .map(|n| tr!("invite-attempts-left", count = n))
    };

    view! {
        <main class="invite" data-screen="invite">
            <header class="bar">
                <Show when=move || !link>
                    <BackButton/>
                </Show>
                <h1>{move || if link { tr!("link-show-title") } else { tr!("invite-title") }}</h1>
            </header>
            <Show when=move || receiving.get()>
                <p class="hint" role="status" data-link="receiving">{move || tr!("link-receiving")}</p>
            </Show>
            <Show when=move || error.get().is_some()>
                <div class="card">
                    <p class="error" role="alert">{move || error.get()}</p>
                    <Show when=move || too_many.get()
                        fallback=move || view! {
                            <button type="button" class="primary" on:click=move |_| generation.update(|g| *g += 1)>{move || tr!("invite-new")}</button>
                        }>
                        <button type="button" class="primary" on:click=close_others>{move || tr!("invite-close-others")}</button>
                    </Show>
                </div>
            </Show>
            <Show when=move || shown.get().is_none() && error.get().is_none() && !receiving.get()>
                <p class="hint" role="status">{move || tr!("invite-preparing")}</p>
            </Show>
            {move || shown.get().map(|s| view! {
                <section class="card invite-card">
                    <p class="hint">{move || if link { tr!("link-show-hint") } else { tr!("invite-hint") }}</p>
                    <div class="qr" role="img" aria-label=move || tr!("invite-qr") inner_html=qr::svg(&s.link).unwrap_or_default()></div>
                    <p class="expiry" role="timer">{remaining}</p>
                    <label for="invite-link">{move || tr!("invite-link")}</label>
                    <div class="row">
                        <input id="invite-link" readonly prop:value=s.link.clone()/>
                        <button type="button" class="secondary" on:click=copy>
                            {move || match copied.get() {
                                Some(true) => tr!("invite-copied"),
                                Some(false) => tr!("invite-copy-refused"),
                                None => tr!("invite-copy"),
                            }}
                        </button>
                    </div>
                    {move || match pin.get() {
                        Some(p) => view! {
                            <p class="pin-label">{move || tr!("invite-pin-label")}</p>
                            <p class="pin" aria-label=move || tr!("invite-pin")>{p}</p>
                        }.into_any(),
                        None if want_pin.get() => view! {
                            <p class="hint" role="status">{move || tr!("invite-getting-pin")}</p>
                        }.into_any(),
                        None => view! {
                            <button type="button" class="secondary" on:click=ask_pin>{move || tr!("invite-show-pin")}</button>
                        }.into_any(),
                    }}
                    <Show when=move || pin_error.get().is_some()>
                        <p class="error" role="alert">{move || pin_error.get()}</p>
                    </Show>
                    <Show when=move || attempts_left.get().is_some()>
                        <p class="warning attempts" role="alert">{attempts_note}</p>
                    </Show>
                    <p class="hint waiting" role="status">{move || tr!("invite-waiting")}</p>
                </section>
            })}
        </main>
    }
}
