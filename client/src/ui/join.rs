//! Joining an invite: scan its QR code with the camera, paste its link, or
//! type its PIN. Ends on the new conversation; for a device link
//! ([`Purpose::Link`], on an existing device), once the history is sent.

use leptos::prelude::*;
use leptos::task::spawn_local;
use parley_shared::crypto::pairing::{PIN_PASSWORD_DIGITS, PIN_SLOT_DIGITS};
use parley_shared::engine::pairing::Purpose;
use parley_shared::protocol::DeviceId;

use super::scanner::QrScanner;
use super::{BackButton, Nav, Put, Screen};
use crate::i18n::Localize as _;
use crate::pair::{self, PairError};
use crate::tr;

/// A PIN as shown: slot digits, a separator, password digits.
const PIN_LEN: usize = PIN_SLOT_DIGITS + 1 + PIN_PASSWORD_DIGITS;

/// The join screen; `link` is an invite the app was opened with.
#[component]
pub(super) fn JoinScreen(link: Option<String>, purpose: Purpose) -> impl IntoView {
    let linking = purpose == Purpose::Link;
    let nav = expect_context::<Nav>();
    let pending = expect_context::<RwSignal<Option<String>>>();
    let link_text = RwSignal::new(String::new());
    let pin = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let status = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let left = RwSignal::new(false);
    on_cleanup(move || left.put(true));

    let run = move |fut: std::pin::Pin<Box<dyn Future<Output = Result<DeviceId, PairError>>>>| {
        busy.put(true);
        error.put(None);
        status.put(Some(tr!("join-pairing")));
        spawn_local(async move {
            let mut r = fut.await;
            if let (true, Ok(device)) = (linking, &r) {
                status.put(Some(tr!("link-sending")));
                r = crate::link::send_history(*device)
                    .await
                    .map(|()| *device)
                    .map_err(|e| PairError::Handover(Box::new(e)));
            }
            busy.put(false);
            status.put(None);
            match r {
                Ok(_) if linking => nav.put(Screen::Settings),
                Ok(peer) if !left.try_get_untracked().unwrap_or(true) => {
                    nav.put(Screen::Chat(peer))
                }
                Ok(_) => {}
                Err(e) => error.put(Some(e.text())),
            }
        });
    };

    // Opened through an invite link: use it straight away.
    if let Some(l) = link {
        pending.put(None);
        link_text.put(l.clone());
        run(Box::pin(async move { pair::join_link(&l, purpose).await }));
    }

    let join_link = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let l = link_text.get_untracked();
        run(Box::pin(async move { pair::join_link(&l, purpose).await }));
    };
    let join_pin = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let p = pin.get_untracked();
        run(Box::pin(
            async move { pair::join_pin_code(&p, purpose).await },
        ));
    };
    let on_code = Callback::new(move |text: String| {
        link_text.put(text.clone());
        run(Box::pin(
            async move { pair::join_link(&text, purpose).await },
        ));
    });

    view! {
        <main class="join" data-screen="join">
            <header class="bar">
                <BackButton/>
                <h1>{move || if linking { tr!("link-scan-title") } else { tr!("join-title") }}</h1>
            </header>
            <Show when=move || linking>
                <p class="hint">{move || tr!("link-scan-hint")}</p>
            </Show>
            <Show when=move || status.get().is_some()>
                <p class="hint" role="status">{move || status.get()}</p>
            </Show>
            <Show when=move || error.get().is_some()>
                <p class="error" role="alert">{move || error.get()}</p>
            </Show>
            <section class="card">
                <h2>{move || tr!("join-scan")}</h2>
                <QrScanner start_label=Signal::derive(|| tr!("join-scan-start")) prompt=Signal::derive(|| tr!("join-scan-prompt"))
                    on_code=on_code error=error disabled=busy/>
            </section>
            <form class="card" on:submit=join_pin>
                <h2>{move || tr!("join-pin")}</h2>
                <label for="pin">{move || tr!("join-pin-label")}</label>
                <input id="pin" inputmode="numeric" autocomplete="off" placeholder="1234-567890" maxlength=PIN_LEN.to_string()
                    prop:value=move || pin.get() on:input=move |ev| pin.put(event_target_value(&ev))/>
                <button type="submit" class="primary" disabled=move || busy.get()>{move || tr!("join-pin-button")}</button>
            </form>
            <form class="card" on:submit=join_link>
                <h2>{move || tr!("join-link")}</h2>
                <label for="link">{move || tr!("join-link-label")}</label>
                <input id="link" autocomplete="off" placeholder="https://…/#pair=…"
                    prop:value=move || link_text.get() on:input=move |ev| link_text.put(event_target_value(&ev))/>
                <button type="submit" class="primary" disabled=move || busy.get()>{move || tr!("join-link-button")}</button>
            </form>
        </main>
    }
}
