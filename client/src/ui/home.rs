//! The conversation list.

use leptos::prelude::*;
use parley_shared::engine::model::{Body, Notice};
use parley_shared::protocol::ws::DeviceId;

use super::{ConnBadge, Nav, Put, Screen, clock, short_id};
use crate::runtime::{self, Ui};

#[derive(Clone, PartialEq)]
struct Row {
    id: DeviceId,
    name: String,
    online: bool,
    unread: u32,
    preview: String,
    at: u64,
}

fn rows() -> Vec<Row> {
    runtime::read(|e| {
        e.contacts()
            .into_iter()
            .map(|c| {
                let last = e.messages(&c.device()).last();
                let preview = match last.map(|m| &m.body) {
                    Some(Body::Text(t)) => t.chars().take(80).collect(),
                    Some(Body::File(f)) => format!("📎 {}", f.offer.name),
                    Some(Body::Notice(Notice::Paired)) | None => "Paired — say hello".into(),
                    Some(Body::Notice(n)) => n.describe(&c.name),
                };
                Row {
                    id: c.device(),
                    name: c.name.clone(),
                    online: c.online,
                    unread: c.unread,
                    preview,
                    at: last.map_or(c.paired_at, |m| m.at),
                }
            })
            .collect()
    })
    .unwrap_or_default()
}

/// Home: contacts, most recent first, and the ways to add one.
#[component]
pub(super) fn Home() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let nav = expect_context::<Nav>();
    let list = Memo::new(move |_| {
        ui.version.track();
        rows()
    });
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
            <Show when=move || list.get().is_empty()>
                <p class="empty">"No conversations yet. Invite someone, or join their invite by scanning their QR code or typing their PIN."</p>
            </Show>
            <ul class="conversations" aria-label="Conversations">
                <For each=move || list.get() key=|r| (r.id, r.unread, r.online, r.at, r.name.clone(), r.preview.clone()) let:r>
                    <li>
                        <button type="button" class="conversation" data-peer=short_id(&r.id)
                            on:click=move |_| nav.put(Screen::Chat(r.id))>
                            <span class="avatar" aria-hidden="true">{r.name.chars().next().unwrap_or('?').to_string()}</span>
                            <span class="who">
                                <span class="name">{r.name.clone()}</span>
                                <span class="presence" data-online=r.online.to_string()>
                                    {if r.online { "online" } else { "offline" }}
                                </span>
                                <span class="preview">{r.preview.clone()}</span>
                            </span>
                            <span class="meta">
                                <span class="time">{clock(r.at)}</span>
                                <Show when=move || { r.unread > 0 }>
                                    <span class="unread" aria-label=format!("{} unread", r.unread)>{r.unread}</span>
                                </Show>
                            </span>
                        </button>
                    </li>
                </For>
            </ul>
        </main>
    }
}
