//! The conversation list.

use leptos::prelude::*;

use super::{ConnBadge, Nav, Put, Screen, clock, short_id};
use crate::runtime::{self, Ui};
use crate::view::RowView;

/// A contact's presence dot and word; the only part of a line that follows
/// presence.
#[component]
pub(super) fn Presence(online: RwSignal<bool>) -> impl IntoView {
    view! {
        <span class="presence" data-online=move || online.get().to_string()>
            {move || if online.get() { "online" } else { "offline" }}
        </span>
    }
}

/// One line of the list.
#[component]
fn Line(r: RowView) -> impl IntoView {
    let ui = expect_context::<Ui>();
    let nav = expect_context::<Nav>();
    let online = ui.views.conversation(r.id).online;
    let (id, unread) = (r.id, r.unread);
    view! {
        <li>
            <button type="button" class="conversation" data-peer=short_id(&id)
                on:click=move |_| nav.put(Screen::Chat(id))>
                <span class="avatar" aria-hidden="true">{r.name.chars().next().unwrap_or('?').to_string()}</span>
                <span class="who">
                    <span class="name">{r.name}</span>
                    <Presence online=online/>
                    <span class="preview">{r.preview}</span>
                </span>
                <span class="meta">
                    <span class="time">{clock(r.at)}</span>
                    <Show when=move || { unread > 0 }>
                        <span class="unread" aria-label=format!("{unread} unread")>{unread}</span>
                    </Show>
                </span>
            </button>
        </li>
    }
}

/// Home: contacts, most recent first, and the ways to add one.
#[component]
pub(super) fn Home() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let nav = expect_context::<Nav>();
    let list = ui.views.list;
    let me = runtime::read(|e| e.name().to_owned()).unwrap_or_default();
    view! {
        <main class="home" data-screen="home">
            <header class="bar">
                <h1>"Parley"</h1>
                <ConnBadge/>
                <button type="button" class="icon" aria-label="Settings" on:click=move |_| nav.put(Screen::Settings)>
                    "⚙"
                </button>
            </header>
            <p class="me">"Signed in as " <strong class="my-name">{me}</strong></p>
            <div class="actions">
                <button type="button" class="primary" on:click=move |_| nav.put(Screen::Invite)>"Invite someone"</button>
                <button type="button" class="secondary" on:click=move |_| nav.put(Screen::Join(None))>"Join an invite"</button>
            </div>
            <Show when=move || list.with(Vec::is_empty)>
                <p class="empty">"No conversations yet. Invite someone, or join their invite by scanning their QR code or typing their PIN."</p>
            </Show>
            <ul class="conversations" aria-label="Conversations">
                <For each=move || list.get() key=|r| r.clone() let:r>
                    <Line r=r/>
                </For>
            </ul>
        </main>
    }
}
