//! An admin's room settings: the disappearing-message timer, the name, and
//! adding a contact. Each is a signed change the engine checks and sends.

use leptos::prelude::*;
use parley_shared::crypto::os_rng;
use parley_shared::engine::EngineError;
use parley_shared::group::RoomId;
use parley_shared::protocol::ws::DeviceId;

use super::Put;
use super::chat::timer_label;
use crate::i18n::Localize as _;
use crate::room_view::RoomDetail;
use crate::runtime;
use crate::{api, tr};

/// Timers offered, seconds (0: off), as for pairs.
const TIMERS: [u32; 6] = [0, 30, 300, 3600, 86_400, 604_800];

fn report(r: Option<Result<(), EngineError>>, error: RwSignal<Option<String>>) {
    match r {
        Some(Err(e)) => error.put(Some(e.text())),
        Some(Ok(())) => error.put(None),
        None => {}
    }
}

/// The admin's controls (shown to admins who are still members).
#[component]
pub(super) fn RoomAdmin(
    room: RoomId,
    detail: Memo<Option<RoomDetail>>,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let timer = move || detail.with(|d| d.as_ref().and_then(|d| d.timer).unwrap_or(0));
    let name = RwSignal::new(
        detail.with_untracked(|d| d.as_ref().map(|d| d.name.clone()).unwrap_or_default()),
    );
    // Contacts whose account is known and not in the room yet.
    let addable = move || {
        let members: Vec<_> = detail.with(|d| {
            d.as_ref()
                .map(|d| d.members.iter().map(|m| m.account).collect())
                .unwrap_or_default()
        });
        runtime::read(|e| {
            e.contacts()
                .into_iter()
                .filter(|c| {
                    e.contact_account(&c.device())
                        .is_some_and(|a| !members.contains(&a))
                })
                .map(|c| (c.device(), c.name.clone()))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
    };
    let set_timer = move |ev: leptos::ev::Event| {
        let secs: u32 = event_target_value(&ev).parse().unwrap_or(0);
        let secs = (secs > 0).then_some(secs);
        report(
            runtime::write(|e| e.room_set_timer(&mut os_rng(), &room, secs, api::now())),
            error,
        );
    };
    let rename = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let n = name.get_untracked();
        report(
            runtime::write(|e| e.room_rename(&mut os_rng(), &room, &n, api::now())),
            error,
        );
    };
    let add = move |ev: leptos::ev::Event| {
        let Ok(d) = event_target_value(&ev).parse::<DeviceId>() else {
            return;
        };
        report(
            runtime::write(|e| e.room_add(&mut os_rng(), &room, &d, api::now())),
            error,
        );
    };
    view! {
        <div class="room-admin">
            <label class="timer-pick">
                {move || tr!("room-timer")} " "
                <select aria-label=move || tr!("room-timer") on:change=set_timer prop:value=move || timer().to_string()>
                    {TIMERS.map(|s| view! { <option value=s.to_string()>{move || timer_label(s.into())}</option> })}
                </select>
            </label>
            <form class="row" on:submit=rename>
                <input aria-label=move || tr!("room-name") maxlength="128" prop:value=move || name.get()
                    on:input=move |ev| name.put(event_target_value(&ev))/>
                <button type="submit" class="secondary">{move || tr!("room-rename")}</button>
            </form>
            <label>
                {move || tr!("room-add")} " "
                <select aria-label=move || tr!("room-add") on:change=add prop:value="">
                    <option value="" disabled=true selected=true>{move || tr!("room-add-pick")}</option>
                    {move || addable().into_iter().map(|(id, who)| view! {
                        <option value=id.to_string()>{who}</option>
                    }).collect_view()}
                </select>
            </label>
        </div>
    }
}
