//! The attach step: a file that was chosen, dropped or pasted is shown
//! (name, size, a preview of an image, the image editor for photos) with
//! how long the relay keeps it, and sent or dropped from there. A modal `<dialog>`: the browser keeps
//! the focus inside it, Escape cancels, and the composer gets the focus
//! back when it closes.

use leptos::prelude::*;
use parley_shared::protocol::attachments::MAX_TTL;
use parley_shared::time::Millis;

use super::chat::timer_label;
use super::file::human_size;
use super::icons::{Icon, IconView};
use super::image_edit::{Edited, ImageEditor, editable};
use crate::files::Outgoing;
use crate::tr;

/// Lifetimes a sender can give a file; the longest is the relay's limit.
const FILE_TTLS: [Millis; 5] = [
    Millis::from_secs(30),
    Millis::from_secs(300),
    Millis::from_secs(3600),
    DEFAULT_FILE_TTL,
    MAX_TTL,
];
/// The lifetime preselected for a file.
pub(super) const DEFAULT_FILE_TTL: Millis = Millis::from_secs(86_400);

/// The file waiting in the attach step (a browser object, so local).
pub(super) type Pending = RwSignal<Option<web_sys::File>, LocalStorage>;

/// An object URL for showing `file` if it is an image the editor does not
/// handle (the editor shows its own).
fn image_url(file: &web_sys::File) -> Option<String> {
    if !file.type_().starts_with("image/") || editable(file) {
        return None;
    }
    web_sys::Url::create_object_url_with_blob(file).ok()
}

/// The attach sheet; `on_send` gets the file (and the edited image) once the user sends it (the
/// lifetime and "delete after download" are in `ttl` and `delete_after`,
/// which keep the last choice while the conversation is open).
#[component]
pub(super) fn AttachSheet(
    pending: Pending,
    ttl: RwSignal<Millis>,
    delete_after: RwSignal<bool>,
    on_send: Callback<Outgoing>,
    composer: NodeRef<leptos::html::Textarea>,
) -> impl IntoView {
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    let preview = RwSignal::new(None::<String>);
    let edited: Edited = RwSignal::new_local(None);
    let busy = RwSignal::new(false);
    let revoke = move || {
        if let Some(url) = preview.get_untracked() {
            let _ = web_sys::Url::revoke_object_url(&url);
            preview.set(None);
        }
    };
    Effect::new(move |_| {
        let file = pending.get();
        let Some(d) = dialog.get() else { return };
        revoke();
        edited.set(None);
        match file {
            Some(f) => {
                preview.set(image_url(&f));
                open_modal(d, pending);
            }
            None if d.open() => d.close(),
            None => {}
        }
    });
    on_cleanup(revoke);
    // Closed by Escape, Cancel or Send: nothing is left pending and the
    // focus goes back to where the message is written.
    let on_close = move |_| {
        // The event is queued after the closing: a file picked meanwhile has
        // opened the sheet again, and this late event must not cancel it.
        if dialog.get_untracked().is_some_and(|d| d.open()) {
            return;
        }
        if pending.with_untracked(Option::is_some) {
            pending.set(None);
        }
        if let Some(t) = composer.get_untracked() {
            let _ = t.focus();
        }
    };
    let send = move |_| {
        if busy.get_untracked() {
            return;
        }
        if let Some(file) = pending.get_untracked() {
            let edited = edited.get_untracked();
            pending.set(None);
            on_send.run(Outgoing { file, edited });
        }
    };
    let name = move || pending.with(|f| f.as_ref().map(web_sys::File::name).unwrap_or_default());
    let size = move || {
        pending.with(|f| {
            f.as_ref()
                .map(|f| human_size(f.size() as u64))
                .unwrap_or_default()
        })
    };
    view! {
        <dialog class="attach-sheet" node_ref=dialog aria-labelledby="attach-title" on:close=on_close>
            <h2 id="attach-title">{move || tr!("attach-title")}</h2>
            {move || preview.get().map(|url| view! { <img class="attach-preview" src=url alt=""/> })}
            {move || pending.get().filter(editable).map(|file| view! { <ImageEditor file=file edited=edited busy=busy/> })}
            <p class="attach-file">
                <IconView icon=Icon::File/>
                <span class="name">{name}</span>
                <span class="size">{size}</span>
            </p>
            <label>
                {move || tr!("chat-file-lifetime-before")} " "
                <select aria-label=move || tr!("chat-file-lifetime")
                    on:change=move |ev| ttl.set(event_target_value(&ev).parse().map(Millis::from_millis).unwrap_or(DEFAULT_FILE_TTL))
                    prop:value=move || ttl.get().as_millis().to_string()>
                    {FILE_TTLS.map(|t| view! { <option value=t.as_millis().to_string()>{move || timer_label(t.as_secs())}</option> })}
                </select>
            </label>
            <label class="check">
                <input type="checkbox" prop:checked=move || delete_after.get()
                    on:change=move |ev| delete_after.set(event_target_checked(&ev))/>
                {move || tr!("chat-delete-after-download")}
            </label>
            <div class="row">
                <button type="button" class="secondary" on:click=move |_| pending.set(None)>{move || tr!("attach-cancel")}</button>
                <button type="button" class="primary" disabled=move || busy.get() on:click=send>{move || tr!("attach-send")}</button>
            </div>
        </dialog>
    }
}

/// Opens the sheet over the page. The sheet arrives with its module after
/// the first file was picked (ADR 0031), so it may not be in the document
/// yet: then it opens on the next frame, if a file still waits.
fn open_modal(d: web_sys::HtmlDialogElement, pending: Pending) {
    if d.open() {
        return;
    }
    if d.is_connected() {
        // Fails only if the dialog is not in the document.
        let _ = d.show_modal();
        return;
    }
    request_animation_frame(move || {
        if d.is_connected() && !d.open() && pending.with_untracked(Option::is_some) {
            let _ = d.show_modal();
        }
    });
}
