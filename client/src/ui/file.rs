//! A file in the conversation: what it is, its deletion timer, and accept /
//! decline / progress / preview for the recipient.

use leptos::prelude::*;
use leptos::task::spawn_local;
use parley_shared::engine::files::{FileMessage, FileState};
use parley_shared::engine::model::Message;
use parley_shared::protocol::ws::DeviceId;
use parley_shared::time::UnixMs;

use super::Put;
use super::icons::{Icon, IconView};
use crate::files::{self, Progress};
use crate::i18n::{self, Localize as _};
use crate::tr;

/// Object URLs of images downloaded in this visit, by message id (they
/// outlive the bubble, which re-renders when the file's state changes).
pub(super) type Previews = RwSignal<std::collections::HashMap<[u8; 16], String>>;

/// `3.2 MB` / `3,2 МБ`.
pub(super) fn human_size(n: u64) -> String {
    let n = n as f64;
    if n < 1e3 {
        tr!("size-bytes", n = n)
    } else if n < 1e6 {
        tr!("size-kb", n = decimal(n / 1e3, 1))
    } else if n < 1e9 {
        tr!("size-mb", n = decimal(n / 1e6, 1))
    } else {
        tr!("size-gb", n = decimal(n / 1e9, 2))
    }
}

/// A number with `digits` decimals and the language's decimal separator.
fn decimal(x: f64, digits: usize) -> String {
    let s = format!("{x:.digits$}");
    s.replace('.', &tr!("decimal-separator"))
}

/// Progress bar with speed.
#[component]
pub(super) fn ProgressBar(p: RwSignal<Option<Progress>>) -> impl IntoView {
    move || {
        p.get().map(|p| {
            view! {
                <div class="transfer" role="status">
                    <progress max=p.total value=p.done aria-label=p.phase.label()></progress>
                    <span>{tr!(
                        "progress",
                        phase = p.phase.label(),
                        percent = format!("{:.0}", p.done / p.total.max(1.0) * 100.0),
                        speed = decimal(p.speed(), 1)
                    )}</span>
                </div>
            }
        })
    }
}

/// "Deleted from storage in 23 h 59 min", or that it is gone.
pub(super) fn deletion_timer(gone: bool, expires: UnixMs, now: UnixMs) -> String {
    if gone {
        tr!("file-deleted")
    } else {
        let left = expires.since(now).as_secs();
        tr!("file-deleted-in", time = i18n::duration(left.max(1)))
    }
}

/// Runs a download `job` with `busy` and `error` following it, offers the
/// file as `name` and hands its object URL to `saved`.
pub(super) fn download(
    busy: RwSignal<bool>,
    error: RwSignal<Option<String>>,
    name: String,
    job: impl Future<Output = Result<web_sys::Blob, files::FileError>> + 'static,
    saved: impl FnOnce(Option<String>) + 'static,
) {
    busy.put(true);
    error.put(None);
    spawn_local(async move {
        match job.await {
            Ok(blob) => saved(files::save(&blob, &name)),
            Err(e) => error.put(Some(e.text())),
        }
        busy.put(false);
    });
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
    let timer = move || deletion_timer(gone(), expires, now.get());
    let state_text = {
        let who = peer_name.clone();
        move || match (m.outgoing, f.state) {
            (true, FileState::Offered) => tr!("file-waiting", peer = who.clone()),
            (true, FileState::Downloaded) => tr!("file-peer-downloaded", peer = who.clone()),
            (true, FileState::Declined) => tr!("file-peer-declined", peer = who.clone()),
            (_, FileState::Deleted) => tr!("file-gone"),
            (false, FileState::Offered) => String::new(),
            (false, FileState::Downloaded) => tr!("file-downloaded"),
            (false, FileState::Declined) => tr!("file-declined"),
        }
    };
    let id = m.id;
    let o2 = offer.clone();
    let accept = move |_| {
        let offer = o2.clone();
        let image = offer.mime.starts_with("image/");
        let job = files::receive(peer, id, offer.clone(), progress);
        download(busy, error, offer.name, job, move |url| {
            if let Some(url) = url.filter(|_| image) {
                let _ = previews.try_update(|p| p.insert(id, url));
            }
        });
    };
    let o3 = offer.clone();
    let decline = move |_| {
        let offer = o3.clone();
        spawn_local(async move {
            if let Err(e) = files::decline(peer, id, offer).await {
                error.put(Some(e.text()));
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
            <p class="file-name"><IconView icon=Icon::File/>" " {offer.name.clone()}</p>
            <p class="file-meta">{move || format!("{} · {}", human_size(offer.size), if offer.mime.is_empty() { tr!("file-type-unknown") } else { offer.mime.clone() })}</p>
            {offer.metadata_removed.then(|| view! { <p class="file-meta">{move || tr!("file-metadata-removed")}</p> })}
            <p class="file-timer" role="timer">{timer}</p>
            <p class="file-state">{state_text}</p>
            <Show when=move || can_accept && !gone() && preview().is_none()>
                <div class="row">
                    <button type="button" class="primary" disabled=move || busy.get() on:click=accept.clone()>{move || tr!("file-accept")}</button>
                    <button type="button" class="secondary" disabled=move || busy.get() on:click=decline.clone()>{move || tr!("file-decline")}</button>
                </div>
            </Show>
            <ProgressBar p=progress/>
            {move || preview().map(|u| view! { <img class="preview" src=u alt=tr!("file-preview")/> })}
            <Show when=move || error.get().is_some()>
                <p class="error" role="alert">{move || error.get()}</p>
            </Show>
        </li>
    }
}
