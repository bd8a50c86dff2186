//! The conversation list.

use leptos::prelude::*;

use super::icons::{Icon, IconView};
use super::{ConnBadge, Nav, Put, Screen, short_id};
use crate::runtime::{self, Ui};
use crate::view::{Preview, RowView};
use crate::{api, i18n, tr};

/// A contact's presence dot and word; the only part of a line that follows
/// presence.
#[component]
pub(super) fn Presence(online: RwSignal<bool>) -> impl IntoView {
    view! {
        <span class="presence" data-online=move || online.get().to_string()>
            {move || if online.get() { tr!("presence-online") } else { tr!("presence-offline") }}
        </span>
    }
}

/// The last message as the line shows it.
fn preview(p: &Preview, peer: &str) -> String {
    match p {
        Preview::Text(t) => t.clone(),
        Preview::File(name) => tr!("preview-file", name = name.clone()),
        Preview::Hello => tr!("preview-hello"),
        Preview::Notice(n) => i18n::notice(n, peer),
    }
}

/// One line of the list.
#[component]
fn Line(r: RowView) -> impl IntoView {
    let ui = expect_context::<Ui>();
    let nav = expect_context::<Nav>();
    let online = ui.views.conversation(r.id).online;
    let (id, unread, at) = (r.id, r.unread, r.at);
    let peer = r.name.clone();
    view! {
        <li>
            <button type="button" class="conversation" data-peer=short_id(&id)
                aria-current=move || (nav.get() == Screen::Chat(id)).then_some("page")
                on:click=move |_| nav.put(Screen::Chat(id))>
                <span class="avatar" aria-hidden="true">{r.name.chars().next().unwrap_or('?').to_string()}</span>
                <span class="who">
                    <span class="name">{r.name}</span>
                    <Presence online=online/>
                    <span class="preview">{move || preview(&r.preview, &peer)}</span>
                </span>
                <span class="meta">
                    <time class="time" datetime=i18n::iso(at) title=move || i18n::date_time(at)>
                        {move || i18n::day_or_time(at, api::now())}
                    </time>
                    <Show when=move || { unread > 0 }>
                        <span class="unread" aria-label=move || tr!("unread", count = unread)>{unread}</span>
                    </Show>
                </span>
            </button>
        </li>
    }
}

/// The list with its header and the ways to add a contact: the whole Home
/// screen on a phone, the side pane beside a conversation on a wide screen.
#[component]
pub(super) fn ConversationList() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let nav = expect_context::<Nav>();
    let list = ui.views.list;
    let me = runtime::read(|e| e.name().to_owned()).unwrap_or_default();
    view! {
        <header class="bar">
            <h1>"Parley"</h1>
            <ConnBadge/>
            <button type="button" class="icon" aria-label=move || tr!("settings-title") on:click=move |_| nav.put(Screen::Settings)>
                <IconView icon=Icon::Gear/>
            </button>
        </header>
        <p class="me">{move || tr!("signed-in-as")} " " <strong class="my-name">{me}</strong></p>
        <div class="actions">
            <button type="button" class="primary" on:click=move |_| nav.put(Screen::Invite)>{move || tr!("invite-title")}</button>
            <button type="button" class="secondary" on:click=move |_| nav.put(Screen::Join(None))>{move || tr!("join-title")}</button>
        </div>
        <Show when=move || list.with(Vec::is_empty)>
            <p class="empty">{move || tr!("home-empty")}</p>
        </Show>
        <ul class="conversations" aria-label=move || tr!("home-conversations")>
            <For each=move || list.get() key=|r| r.clone() let:r>
                <Line r=r/>
            </For>
        </ul>
    }
}

/// Home: contacts, most recent first, and the ways to add one.
#[component]
pub(super) fn Home() -> impl IntoView {
    view! {
        <main class="home" data-screen="home">
            <ConversationList/>
        </main>
    }
}
