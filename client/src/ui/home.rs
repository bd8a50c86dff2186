//! The conversation list.

use leptos::prelude::*;

use super::icons::{Icon, IconView};
use super::{ConnBadge, Nav, Put, Screen, short_id};
use crate::room_view::{RoomPreview, RoomRow};
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

/// When a line's conversation last moved, and its unread count.
#[component]
fn LineMeta(at: parley_shared::time::UnixMs, unread: u32) -> impl IntoView {
    view! {
        <span class="meta">
            <time class="time" datetime=i18n::iso(at) title=move || i18n::date_time(at)>
                {move || i18n::day_or_time(at, api::now())}
            </time>
            <Show when=move || { unread > 0 }>
                <span class="unread" aria-label=move || tr!("unread", count = unread)>{unread}</span>
            </Show>
        </span>
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
                <LineMeta at=at unread=unread/>
            </button>
        </li>
    }
}

/// One room line.
#[component]
fn RoomLine(r: RoomRow) -> impl IntoView {
    let nav = expect_context::<Nav>();
    let (id, unread, at) = (r.id, r.unread, r.at);
    let preview = r.preview.clone();
    let members = r.members;
    view! {
        <li>
            <button type="button" class="conversation room" data-room=id.to_hex()
                aria-current=move || (nav.get() == Screen::Room(id)).then_some("page")
                on:click=move |_| nav.put(Screen::Room(id))>
                <span class="avatar room" aria-hidden="true">"#"</span>
                <span class="who">
                    <span class="name">{r.name}</span>
                    <span class="members-count">{move || tr!("room-members", count = members)}</span>
                    <span class="preview">{move || room_preview(&preview)}</span>
                </span>
                <LineMeta at=at unread=unread/>
            </button>
        </li>
    }
}

fn room_preview(p: &RoomPreview) -> String {
    match p {
        RoomPreview::Text(None, t) => tr!("room-preview-you", text = t.clone()),
        RoomPreview::Text(Some(who), t) => {
            tr!("room-preview-from", name = who.clone(), text = t.clone())
        }
        RoomPreview::Notice(n) => i18n::room_notice(n),
        RoomPreview::File(name) => tr!("preview-file", name = name.clone()),
        RoomPreview::Empty => String::new(),
    }
}

/// A line of the list: a contact or a room.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Item {
    Contact(RowView),
    Room(RoomRow),
}

/// The list with its header and the ways to add a contact: the whole Home
/// screen on a phone, the side pane beside a conversation on a wide screen.
#[component]
pub(super) fn ConversationList() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let nav = expect_context::<Nav>();
    let list = ui.views.list;
    let rooms = ui.views.rooms.rows;
    // Contacts and rooms in one list, most recent first.
    let items = Memo::new(move |_| {
        let mut v: Vec<(parley_shared::time::UnixMs, Item)> = list
            .get()
            .into_iter()
            .map(|r| (r.at, Item::Contact(r)))
            .chain(rooms.get().into_iter().map(|r| (r.at, Item::Room(r))))
            .collect();
        parley_shared::sort::sort_by_key(&mut v, |(at, _)| std::cmp::Reverse(*at));
        v.into_iter().map(|(_, i)| i).collect::<Vec<_>>()
    });
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
            <button type="button" class="secondary new-room" on:click=move |_| nav.put(Screen::NewRoom)>{move || tr!("room-new")}</button>
        </div>
        <Show when=move || items.with(Vec::is_empty)>
            <p class="empty">{move || tr!("home-empty")}</p>
        </Show>
        <ul class="conversations" aria-label=move || tr!("home-conversations")>
            <For each=move || items.get() key=|i| i.clone() let:i>
                {match i {
                    Item::Contact(r) => view! { <Line r=r/> }.into_any(),
                    Item::Room(r) => view! { <RoomLine r=r/> }.into_any(),
                }}
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
