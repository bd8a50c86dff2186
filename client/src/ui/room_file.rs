//! A file in a room: what it is, until when it can be fetched, and (for
//! files from others) downloading it on this device. The relay deletes the
//! object once every member device has taken it, or when it expires.

use leptos::prelude::*;
use parley_shared::engine::files::FileState;
use parley_shared::engine::rooms::messages::RoomFile;
use parley_shared::group::RoomId;
use parley_shared::time::UnixMs;

use super::file::{ProgressBar, deletion_timer, download, human_size};
use super::icons::{Icon, IconView};
use crate::files::{self, Progress};
use crate::tr;

/// One room file.
#[component]
pub(super) fn RoomFileBubble(
    room: RoomId,
    id: [u8; 16],
    f: RoomFile,
    outgoing: bool,
    sender: Option<String>,
    now: RwSignal<UnixMs>,
) -> impl IntoView {
    let offer = f.offer.clone();
    let expires = offer.expires_at;
    let progress = RwSignal::new(None::<Progress>);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let gone = move || f.state == FileState::Deleted || now.get() >= expires;
    let timer = move || deletion_timer(gone(), expires, now.get());
    let o = offer.clone();
    let accept = move |_| {
        let offer = o.clone();
        let job = files::receive_in_room(room, id, offer.clone(), progress);
        download(busy, error, offer.name, job, |_| {});
    };
    let can_accept = !outgoing && f.state == FileState::Offered;
    let downloaded = f.state == FileState::Downloaded;
    view! {
        <li class=if outgoing { "msg out file" } else { "msg in file" } data-file-state=f.state.name()>
            {sender.map(|s| view! { <p class="from">{s}</p> })}
            <p class="file-name"><IconView icon=Icon::File/>" " {offer.name.clone()}</p>
            <p class="file-meta">{move || format!("{} · {}", human_size(offer.size), if offer.mime.is_empty() { tr!("file-type-unknown") } else { offer.mime.clone() })}</p>
            <p class="file-timer" role="timer">{timer}</p>
            {downloaded.then(|| view! { <p class="file-state">{move || tr!("file-downloaded")}</p> })}
            <Show when=move || can_accept && !gone()>
                <div class="row">
                    <button type="button" class="primary" disabled=move || busy.get() on:click=accept.clone()>{move || tr!("file-accept")}</button>
                </div>
            </Show>
            <ProgressBar p=progress/>
            <Show when=move || error.get().is_some()>
                <p class="error" role="alert">{move || error.get()}</p>
            </Show>
        </li>
    }
}
