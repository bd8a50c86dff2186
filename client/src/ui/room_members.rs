//! A room's member list: each member with their safety number (over both
//! account keys, from the room's signed log), admins marked, and the
//! admin's remove action; leaving for everyone.

use leptos::prelude::*;
use parley_shared::crypto::account::AccountId;
use parley_shared::crypto::os_rng;
use parley_shared::group::RoomId;

use super::Put;
use crate::i18n::Localize as _;
use crate::room_view::RoomDetail;
use crate::runtime;
use crate::{api, tr};

fn hex8(a: &AccountId) -> String {
    a.as_bytes()[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The member list with its actions.
#[component]
pub(super) fn Members(
    room: RoomId,
    detail: Memo<Option<RoomDetail>>,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    // The member whose removal waits for a second click.
    let confirm = RwSignal::new(None::<AccountId>);
    let confirm_leave = RwSignal::new(false);
    let admin = move || detail.with(|d| d.as_ref().is_some_and(|d| d.admin && d.joined));
    let joined = move || detail.with(|d| d.as_ref().is_some_and(|d| d.joined));
    let remove = move |account: AccountId| {
        if confirm.get_untracked() != Some(account) {
            return confirm.put(Some(account));
        }
        confirm.put(None);
        if let Some(Err(e)) =
            runtime::write(|e| e.room_remove(&mut os_rng(), &room, account, api::now()))
        {
            error.put(Some(e.text()));
        }
    };
    let leave = move |_| {
        if !confirm_leave.get_untracked() {
            return confirm_leave.put(true);
        }
        confirm_leave.put(false);
        if let Some(Err(e)) = runtime::write(|e| e.room_leave(&mut os_rng(), &room, api::now())) {
            error.put(Some(e.text()));
        }
    };
    let members =
        move || detail.with(|d| d.as_ref().map(|d| d.members.clone()).unwrap_or_default());
    view! {
        <section id="room-members" class="members card" aria-labelledby="room-members-title">
            <h2 id="room-members-title">{move || tr!("room-member-list")}</h2>
            <ul>
                <For each=members key=|m| (m.account, m.admin, m.name.clone()) let:m>
                    {
                        let account = m.account;
                        let who = m.name.clone();
                        view! {
                            <li class="member" data-account=hex8(&account) data-admin=m.admin.to_string()>
                                <span class="name">{m.name.clone()}</span>
                                {m.admin.then(|| view! { <span class="badge">{move || tr!("room-admin")}</span> })}
                                {m.me.then(|| view! { <span class="badge">{move || tr!("room-you")}</span> })}
                                {m.safety.clone().map(|digits| view! {
                                    <details class="safety">
                                        <summary>{move || tr!("room-safety")}</summary>
                                        <p class="digits">{digits}</p>
                                    </details>
                                })}
                                <Show when=move || admin() && !m.me && !m.admin>
                                    <button type="button" class="secondary promote" on:click=move |_| {
                                        if let Some(Err(e)) = runtime::write(|e| e.room_promote(&mut os_rng(), &room, account, api::now())) {
                                            error.put(Some(e.text()));
                                        }
                                    }>{move || tr!("room-promote")}</button>
                                </Show>
                                <Show when=move || admin() && !m.me>
                                    <button type="button" class="danger remove" on:click=move |_| remove(account)>
                                        {
                                            let who = who.clone();
                                            move || if confirm.get() == Some(account) {
                                                tr!("room-remove-confirm", name = who.clone())
                                            } else {
                                                tr!("room-remove")
                                            }
                                        }
                                    </button>
                                </Show>
                            </li>
                        }
                    }
                </For>
            </ul>
            <Show when=admin>
                <super::room_admin::RoomAdmin room=room detail=detail error=error/>
            </Show>
            <Show when=joined>
                <button type="button" class="danger leave" on:click=leave>
                    {move || if confirm_leave.get() { tr!("room-leave-confirm") } else { tr!("room-leave") }}
                </button>
            </Show>
        </section>
    }
}
