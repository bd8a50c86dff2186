//! This account's devices in Settings: which devices the account lists,
//! when each joined, and removing one (the relay erases it when the new
//! list is published, and contacts stop encrypting to it).

use leptos::prelude::*;
use parley_shared::protocol::ws::DeviceId;
use parley_shared::time::UnixMs;

use super::{Nav, Put, Screen};
use crate::i18n::{self, Localize};
use crate::{runtime, tr};

fn listed() -> Vec<(DeviceId, UnixMs)> {
    runtime::read(|e| e.own_device_entries()).unwrap_or_default()
}

fn short(d: &DeviceId) -> String {
    let s = d.to_string();
    s.get(..8).unwrap_or(&s).to_owned()
}

/// The Settings card.
#[component]
pub(super) fn DevicesCard() -> impl IntoView {
    let nav = expect_context::<Nav>();
    let me = runtime::read(|e| e.device_id());
    let devices = RwSignal::new(listed());
    let confirm = RwSignal::new(None::<DeviceId>);
    let error = RwSignal::new(None::<String>);
    let remove = move |d: DeviceId| {
        if confirm.get_untracked() != Some(d) {
            confirm.put(Some(d));
            return;
        }
        confirm.put(None);
        match runtime::write(|e| e.remove_device(d)) {
            Some(Ok(_)) => error.put(None),
            Some(Err(e)) => error.put(Some(e.text())),
            None => {}
        }
        devices.put(listed());
    };
    view! {
        <section class="card devices">
            <h2>{move || tr!("devices-title")}</h2>
            <p class="hint">{move || tr!("devices-hint")}</p>
            <ul class="device-list">
                {move || devices.get().into_iter().map(|(d, joined)| {
                    let this = Some(d) == me;
                    let since = i18n::date_time(joined);
                    view! {
                        <li data-device=d.to_string() data-this=this.to_string()>
                            <span class="device-name">{move || if this { tr!("devices-this") } else { tr!("devices-other", id = short(&d)) }}</span>
                            " "
                            <span class="hint">{move || tr!("devices-joined", date = since.clone())}</span>
                            <Show when=move || !this>
                                <button type="button" class="danger" on:click=move |_| remove(d)>
                                    {move || if confirm.get() == Some(d) { tr!("devices-remove-confirm") } else { tr!("devices-remove") }}
                                </button>
                            </Show>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <button type="button" class="secondary" data-action="link-new" on:click=move |_| nav.put(Screen::LinkScan)>
                {move || tr!("devices-link")}
            </button>
            <Show when=move || error.get().is_some()>
                <p class="error" role="alert">{move || error.get()}</p>
            </Show>
        </section>
    }
}
