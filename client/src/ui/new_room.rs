//! "New room": a name, the contacts to add, and when the room ends (issue
//! 15). The engine signs the room's first change and tells the members.

use std::collections::BTreeSet;

use leptos::prelude::*;
use parley_shared::crypto::os_rng;
use parley_shared::group::Lifetime;
use parley_shared::protocol::ws::DeviceId;
use parley_shared::time::Millis;

use super::chat::timer_label;
use super::{BackButton, Nav, Put, Screen, short_id};
use crate::i18n::Localize as _;
use crate::runtime;
use crate::{api, tr};

/// Lifetimes offered, seconds (0: the room does not end by itself).
const LIFETIMES: [u32; 5] = [0, 60, 3600, 86_400, 604_800];

/// The New room screen.
#[component]
pub(super) fn NewRoom() -> impl IntoView {
    let nav = expect_context::<Nav>();
    let contacts: Vec<(DeviceId, String)> = runtime::read(|e| {
        e.contacts()
            .into_iter()
            .map(|c| (c.device(), c.name.clone()))
            .collect()
    })
    .unwrap_or_default();
    let none = contacts.is_empty();
    let name = RwSignal::new(String::new());
    let chosen = RwSignal::new(BTreeSet::<DeviceId>::new());
    let lifetime = RwSignal::new(0u32);
    let error = RwSignal::new(None::<String>);
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let title = name.get_untracked();
        if title.trim().is_empty() {
            return error.put(Some(tr!("room-error-name")));
        }
        let members: Vec<DeviceId> = chosen.get_untracked().into_iter().collect();
        if members.is_empty() {
            return error.put(Some(tr!("room-error-members")));
        }
        let now = api::now();
        let secs = lifetime.get_untracked();
        let life = Lifetime {
            ends_at: (secs > 0).then(|| now + Millis::from_secs(u64::from(secs))),
            idle: None,
        };
        match runtime::write(|e| e.create_room(&mut os_rng(), &title, &members, life, now)) {
            Some(Ok(id)) => nav.put(Screen::Room(id)),
            Some(Err(e)) => error.put(Some(e.text())),
            None => {}
        }
    };
    view! {
        <main class="new-room" data-screen="new-room">
            <header class="bar">
                <BackButton/>
                <h1>{move || tr!("room-new-title")}</h1>
            </header>
            <Show when=move || none>
                <p class="empty">{move || tr!("room-no-contacts")}</p>
            </Show>
            <form class="card" on:submit=create hidden=none>
                <label for="room-name">{move || tr!("room-name")}</label>
                <input id="room-name" maxlength="64" autocomplete="off"
                    placeholder=move || tr!("room-name-placeholder")
                    prop:value=move || name.get()
                    on:input=move |ev| name.put(event_target_value(&ev))/>
                <fieldset class="pick">
                    <legend>{move || tr!("room-pick")}</legend>
                    <p class="hint">{move || tr!("room-pick-hint")}</p>
                    {contacts.into_iter().map(|(id, who)| {
                        let input_id = format!("pick-{}", short_id(&id));
                        view! {
                            <div class="row">
                                <input type="checkbox" id=input_id.clone() data-peer=short_id(&id)
                                    prop:checked=move || chosen.with(|c| c.contains(&id))
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        chosen.update(|c| {
                                            if on { c.insert(id); } else { c.remove(&id); }
                                        });
                                    }/>
                                <label for=input_id>{who}</label>
                            </div>
                        }
                    }).collect_view()}
                </fieldset>
                <label for="room-lifetime">{move || tr!("room-lifetime")}</label>
                <select id="room-lifetime" on:change=move |ev| {
                    lifetime.put(event_target_value(&ev).parse().unwrap_or(0));
                }>
                    {LIFETIMES.map(|s| view! {
                        <option value=s.to_string() selected=move || lifetime.get() == s>
                            {move || if s == 0 { tr!("room-lifetime-never") } else { timer_label(s.into()) }}
                        </option>
                    })}
                </select>
                <Show when=move || error.get().is_some()>
                    <p class="error" role="alert">{move || error.get()}</p>
                </Show>
                <button type="submit" class="primary">{move || tr!("room-create")}</button>
            </form>
        </main>
    }
}
