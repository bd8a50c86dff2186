//! A file in the conversation: what it is, its deletion timer, and accept /
//! decline / progress / preview for the recipient.

use leptos::prelude::*;
use leptos::task::spawn_local;
use parley_shared::engine::files::{FileMessage, FileState};
use parley_shared::engine::model::{Message, describe_secs};
use parley_shared::protocol::ws::DeviceId;
use parley_shared::time::UnixMs;

use super::Put;
use crate::files::{self, Progress};

/// Object URLs of images downloaded in this visit, by message id (they
/// outlive the bubble, which re-renders when the file's state changes).
pub(super) type Previews = RwSignal<std::collections::HashMap<[u8; 16], String>>;

/// `3.2 MB`.
pub(super) fn human_size(n: u64) -> String {
    let n = n as f64;
    if n < 1e3 {
        format!("{n} B")
    } else if n < 1e6 {
        format!("{:.1} kB", n / 1e3)
    } else if n < 1e9 {
        format!("{:.1} MB", n / 1e6)
    } else {
        format!("{:.2} GB", n / 1e9)
    }
}

/// Progress bar with speed.
#[component]
pub(super) fn ProgressBar(p: RwSignal<Option<Progress>>) -> impl IntoView {
    move || {
        p.get().map(|p| {
            view! {
                <div class="transfer" role="status">
                    <progress max=p.total value=p.done aria-label=p.phase></progress>
                    <span>{format!("{} {:.0} % · {}", p.phase, p.done / p.total.max(1.0) * 100.0, p.speed())}</span>
                </div>
            }
        })
    }
}

/// One file message.
#[component]
pub(super) fn FileBubble(
    m: Message,
    f: FileMessage,
    peer: DeviceId,
    peer_name: String,
    now: RwSignal<UnixMs>,
    previews: Previews,
) -> impl IntoView {
    let offer = f.offer.clone();
    let expires = offer.expires_at;
    let progress = RwSignal::new(None::<Progress>);
    let error = RwSignal::new(None::<String>);
    let preview = move || previews.with(|p| p.get(&m.id).cloned());
    let busy = RwSignal::new(false);
    let expired = move || now.get() >= expires;
    let gone = move || f.state == FileState::Deleted || f.state == FileState::Declined || expired();
    let timer = move || {
        if gone() {
            "Deleted from storage".to_owned()
        } else {
            let left = expires.since(now.get()).as_secs();
            format!(
                "Deleted from storage in {}",
                describe_secs(left.max(1) as u32)
            )
        }
    };
    let state_text = {
        let who = peer_name.clone();
        move || match (m.outgoing, f.state) {
            (true, FileState::Offered) => format!("Waiting for {who} to accept"),
            (true, FileState::Downloaded) => format!("{who} downloaded it"),
            (true, FileState::Declined) => format!("{who} declined it"),
            (_, FileState::Deleted) => "Downloaded and deleted from storage".into(),
            (false, FileState::Offered) => String::new(),
            (false, FileState::Downloaded) => "Downloaded".into(),
            (false, FileState::Declined) => "Declined".into(),
        }
    };
    let id = m.id;
    let o2 = offer.clone();
    let accept = move |_| {
        let offer = o2.clone();
        busy.put(true);
        error.put(None);
        spawn_local(async move {
            match files::receive(peer, id, offer.clone(), progress).await {
                Ok(blob) => {
                    let url = files::save(&blob, &offer.name);
                    if let Some(url) = url.filter(|_| offer.mime.starts_with("image/")) {
                        let _ = previews.try_update(|p| p.insert(id, url));
                    }
                }
                Err(e) => error.put(Some(e.to_string())),
            }
            busy.put(false);
        });
    };
    let o3 = offer.clone();
    let decline = move |_| {
        let offer = o3.clone();
        spawn_local(async move {
            if let Err(e) = files::decline(peer, id, offer).await {
                error.put(Some(e.to_string()));
            }
        });
    };
    let dir = if m.outgoing {
        "msg out file"
    } else {
        "msg in file"
    };
    let can_accept = !m.outgoing && f.state == FileState::Offered;
    view! {
        <li class=dir data-status=m.status.name() data-file-state=f.state.name()>
            <p class="file-name">"📎 " {offer.name.clone()}</p>
            <p class="file-meta">{format!("{} · {}", human_size(offer.size), if offer.mime.is_empty() { "file" } else { offer.mime.as_str() })}</p>
            {offer.metadata_removed.then(|| view! { <p class="file-meta">"Location and camera data removed"</p> })}
            <p class="file-timer" role="timer">{timer}</p>
            <p class="file-state">{state_text}</p>
            <Show when=move || can_accept && !gone() && preview().is_none()>
                <div class="row">
                    <button type="button" class="primary" disabled=move || busy.get() on:click=accept.clone()>"Accept and download"</button>
                    <button type="button" class="secondary" disabled=move || busy.get() on:click=decline.clone()>"Decline"</button>
                </div>
            </Show>
            <ProgressBar p=progress/>
            {move || preview().map(|u| view! { <img class="preview" src=u alt="Image preview"/> })}
            <Show when=move || error.get().is_some()>
                <p class="error" role="alert">{move || error.get()}</p>
            </Show>
        </li>
    }
}
