//! Settings → Notifications: off, on, or on with names and previews.
//! Permission is asked only once the user turns them on.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::Put;
use crate::i18n::Localize as _;
use crate::notify::{self, Mode};
use crate::tr;

fn label(m: Mode) -> String {
    match m {
        Mode::Off => tr!("notify-off"),
        Mode::On => tr!("notify-on"),
        Mode::Previews => tr!("notify-previews"),
    }
}

/// The Settings card.
#[component]
pub(super) fn NotificationsCard() -> impl IntoView {
    let mode = RwSignal::new(notify::mode());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let choose = move |m: Mode| {
        if busy.get_untracked() || m == mode.get_untracked() {
            return;
        }
        busy.put(true);
        spawn_local(async move {
            let done = if m == Mode::Off {
                notify::turn_off().await
            } else {
                notify::turn_on(m).await
            };
            busy.put(false);
            error.put(done.err().map(|e| e.text()));
            mode.put(notify::mode());
        });
    };
    view! {
        <section class="card" data-card="notifications" data-mode=move || mode.get().tag()
            data-busy=move || busy.get().to_string()>
            <h2>{move || tr!("notify-title")}</h2>
            {Mode::ALL.map(|m| view! {
                <label class="check">
                    <input type="radio" name="notifications" value=m.tag()
                        prop:checked=move || mode.get() == m
                        prop:disabled=move || busy.get()
                        on:change=move |_| choose(m)/>
                    {move || label(m)}
                </label>
            })}
            <p class="hint">{move || tr!("notify-hint")}</p>
            <Show when=move || error.get().is_some()>
                <p class="error" role="alert">{move || error.get()}</p>
            </Show>
        </section>
    }
}
