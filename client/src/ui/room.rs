//! One group room (issue 15): its history with each member's name, our
//! messages with how many members stored and read them ("read by 3 of
//! 5"), notices for joins, leaves and removals, the member list with
//! safety numbers and admin actions, and the composer. A member who left
//! or was removed keeps a read-only history.

use leptos::prelude::*;
use leptos::task::spawn_local;
use parley_shared::crypto::os_rng;
use parley_shared::engine::model::Status;
use parley_shared::engine::rooms::messages::{MAX_ROOM_TEXT, RoomBody, RoomMessage};
use parley_shared::group::RoomId;
use parley_shared::time::UnixMs;

use super::attach::{DEFAULT_FILE_TTL, Pending};
use super::chat::page_visible;
use super::file::ProgressBar;
use super::lazy;
use super::room_file::RoomFileBubble;
use super::{BackButton, ConnBadge, Nav, Put, Screen, scroll};
use crate::i18n::{self, Localize as _};
use crate::room_view::RoomDetail;
use crate::runtime::{self, Ui};
use crate::{api, tr};

fn file_state(m: &RoomMessage) -> &'static str {
    match &m.body {
        RoomBody::File(f) => f.state.name(),
        _ => "",
    }
}

/// Whether `text` names `name` as `@name` (not inside a longer word).
fn mentions(text: &str, name: &str) -> bool {
    let at = format!("@{}", name.to_lowercase());
    let lower = text.to_lowercase();
    lower.match_indices(&at).any(|(i, _)| {
        lower[i + at.len()..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric())
    })
}

/// The `@partial` being typed at the end of the draft, if any.
fn mention_partial(draft: &str) -> Option<&str> {
    let word = draft.rsplit(char::is_whitespace).next()?;
    word.strip_prefix('@')
}

/// Our message's state in words: read, else stored, by how many members.
fn receipt_label(m: &RoomMessage) -> String {
    let total = m.audience;
    let (read, got) = (m.read.len(), m.delivered.len());
    if read > 0 {
        tr!("room-read-by", read = read, total = total)
    } else if got > 0 {
        tr!("room-delivered-to", count = got, total = total)
    } else if m.status == Status::Queued {
        tr!("status-queued")
    } else {
        tr!("status-sent")
    }
}

/// One history entry.
#[component]
fn Entry(
    room: RoomId,
    m: RoomMessage,
    detail: Memo<Option<RoomDetail>>,
    me: bool,
    now: RwSignal<UnixMs>,
) -> impl IntoView {
    match m.body.clone() {
        RoomBody::File(f) => {
            let outgoing = m.from.is_none() || me;
            let sender = m.from.filter(|_| !outgoing).map(|a| {
                detail.with_untracked(|d| d.as_ref().map(|d| d.name_of(&a)).unwrap_or_default())
            });
            view! { <RoomFileBubble room=room id=m.id f=f outgoing=outgoing sender=sender now=now/> }
                .into_any()
        }
        RoomBody::Notice(n) => {
            view! { <li class="notice">{move || i18n::room_notice(&n)}</li> }.into_any()
        }
        RoomBody::Text(t) => {
            let outgoing = m.from.is_none() || me;
            let my_name = detail.with_untracked(|d| {
                d.as_ref()
                    .and_then(|d| d.members.iter().find(|m| m.me).map(|m| m.name.clone()))
            });
            let mentioned = !outgoing && my_name.is_some_and(|n| mentions(&t, &n));
            let sender = m.from.filter(|_| !outgoing).map(|a| {
                detail.with_untracked(|d| d.as_ref().map(|d| d.name_of(&a)).unwrap_or_default())
            });
            let label = receipt_label(&m);
            let at = m.at;
            view! {
                <li class=if outgoing { "msg out" } else if mentioned { "msg in mention" } else { "msg in" } data-status=m.status.name()
                    data-read-by=m.read.len().to_string() data-delivered-to=m.delivered.len().to_string()>
                    {sender.map(|s| view! { <p class="from">{s}</p> })}
                    <p class="text">{t}</p>
                    <p class="info">
                        <time class="time" datetime=i18n::iso(at) title=move || i18n::date_time(at)>
                            {move || i18n::clock(at)}
                        </time>
                        {outgoing.then(|| view! { <span class="receipts">{label}</span> })}
                    </p>
                </li>
            }
            .into_any()
        }
    }
}

/// The room screen.
#[component]
pub(super) fn RoomScreen(room: RoomId) -> impl IntoView {
    let ui = expect_context::<Ui>();
    let nav = expect_context::<Nav>();
    let details = ui.views.rooms.details;
    let detail = Memo::new(move |_| details.with(|d| d.get(&room).cloned()));
    let name = move || detail.with(|d| d.as_ref().map(|d| d.name.clone()).unwrap_or_default());
    let count = move || detail.with(|d| d.as_ref().map_or(0, |d| d.members.len()));
    let joined = move || detail.with(|d| d.as_ref().is_some_and(|d| d.joined));
    let unread = move || detail.with(|d| d.as_ref().map_or(0, |d| d.unread));
    let my_account = runtime::read(|e| e.account_public().map(|a| a.id())).flatten();
    let draft = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let show_members = RwSignal::new(false);
    let now = super::ticking_now();
    // Ended (its lifetime is over) or never here: back to the list.
    Effect::new(move |_| {
        if detail.with(Option::is_none) && runtime::started() {
            nav.put(Screen::Home);
        }
    });
    // What is on screen while the page is visible is read.
    Effect::new(move |_| {
        if unread() > 0 && page_visible() {
            runtime::write(|e| e.mark_room_read(&mut os_rng(), &room));
        }
    });
    Effect::new(move |_| {
        detail.with(|d| d.as_ref().map(|d| d.messages.len()));
        scroll::to_bottom();
    });
    let ends = move || {
        detail
            .with(|d| d.as_ref().and_then(|d| d.ends_at))
            .map(|t: UnixMs| {
                let left = t.since(now.get()).as_secs();
                tr!("room-ends-in", time = i18n::duration(left.max(1)))
            })
    };
    let send = move || {
        let text = draft.get_untracked();
        if text.trim().is_empty() {
            return;
        }
        if text.len() > MAX_ROOM_TEXT {
            return error.put(Some(tr!("engine-bad-text", max = MAX_ROOM_TEXT)));
        }
        match runtime::write(|e| e.send_room_text(&mut os_rng(), &room, &text, api::now())) {
            Some(Ok(_)) => {
                draft.put(String::new());
                error.put(None);
            }
            Some(Err(e)) => error.put(Some(e.text())),
            None => {}
        }
    };
    let messages =
        move || detail.with(|d| d.as_ref().map(|d| d.messages.clone()).unwrap_or_default());
    let typing =
        move || detail.with(|d| d.as_ref().map(|d| d.typing.join(", ")).unwrap_or_default());
    let on_input = move |ev: leptos::ev::Event| {
        let text = event_target_value(&ev);
        let active = !text.trim().is_empty();
        draft.put(text);
        runtime::write(|e| e.room_typing(&mut os_rng(), &room, active, api::now()));
    };
    // "@Bo" offers the members whose name starts so; a pick completes it.
    let suggestions = move || {
        let d = draft.get();
        let Some(partial) = mention_partial(&d).map(str::to_lowercase) else {
            return Vec::new();
        };
        detail.with(|x| {
            x.as_ref()
                .map(|x| {
                    x.members
                        .iter()
                        .filter(|m| !m.me && m.name.to_lowercase().starts_with(&partial))
                        .map(|m| m.name.clone())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    let pick = move |name: String| {
        draft.update(|d| {
            if let Some(partial) = mention_partial(d) {
                let cut = d.len() - partial.len();
                d.truncate(cut);
                d.push_str(&name);
                d.push(' ');
            }
        });
    };
    let upload = RwSignal::new(None::<crate::files::Progress>);
    let uploading = RwSignal::new(false);
    // As in a conversation, a file goes through the attach step (preview,
    // image editor, lifetime).
    let file_ttl = RwSignal::new(DEFAULT_FILE_TTL);
    let delete_after = RwSignal::new(true);
    let pending: Pending = RwSignal::new_local(None);
    let composer = NodeRef::<leptos::html::Textarea>::new();
    // A file goes once, encrypted, for every member device; it is kept for
    // the lifetime chosen (never past the room's end), or until every member
    // device downloaded it when that is ticked.
    let send_file = move |out: crate::files::Outgoing| {
        let devices = match runtime::read(|e| e.room_file_devices(&room)) {
            Some(Ok(d)) => d,
            Some(Err(e)) => return error.put(Some(e.text())),
            None => return,
        };
        let wanted = file_ttl.get_untracked();
        let ttl = runtime::read(|e| e.room_file_ttl(&room, wanted, api::now())).unwrap_or(wanted);
        let delete_after = delete_after.get_untracked();
        uploading.put(true);
        error.put(None);
        spawn_local(async move {
            let to = parley_shared::engine::transfer::FileTo::Room(room, devices);
            if let Err(e) = crate::files::send(to, out, ttl, delete_after, upload).await {
                error.put(Some(e.text()));
            }
            upload.put(None);
            uploading.put(false);
        });
    };
    let on_file = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        if let Some(file) = input.files().and_then(|l| l.get(0)) {
            pending.set(Some(file));
        }
        input.set_value("");
    };
    // Dropped on the room or pasted into the message box: the same step.
    let take = move |file: Option<web_sys::File>| {
        if let Some(f) = file.filter(|_| joined() && !uploading.get_untracked()) {
            pending.set(Some(f));
        }
    };
    let on_paste = move |ev: leptos::ev::ClipboardEvent| {
        let file = ev
            .clipboard_data()
            .and_then(|d| d.files())
            .and_then(|l| l.get(0));
        if file.is_some() {
            ev.prevent_default();
            take(file);
        }
    };
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        take(
            ev.data_transfer()
                .and_then(|d| d.files())
                .and_then(|l| l.get(0)),
        );
    };
    view! {
        <main class="chat room" data-screen="room" on:dragover=|ev: leptos::ev::DragEvent| ev.prevent_default() on:drop=on_drop>
            <header class="bar">
                <BackButton/>
                <div class="title">
                    <h1 class="peer-name">{name}</h1>
                    <span class="members-count">{move || tr!("room-members", count = count())}</span>
                    {move || ends().map(|t| view! { <span class="timer room-ends">{t}</span> })}
                    <Show when=move || !typing().is_empty()>
                        <span class="typing" role="status">{move || tr!("room-typing", names = typing())}</span>
                    </Show>
                </div>
                <ConnBadge/>
                <button type="button" class="secondary" aria-controls="room-members"
                    aria-expanded=move || show_members.get().to_string()
                    on:click=move |_| show_members.update(|s| *s = !*s)>{move || tr!("room-details")}</button>
            </header>
            <Show when=move || show_members.get()>
                {lazy::part(lazy::Part::Members(room, detail, error))}
            </Show>
            <Show when=move || !joined() && detail.with(Option::is_some)>
                <p class="warning card read-only" role="status">{move || tr!("room-read-only")}</p>
            </Show>
            <ol class="messages" aria-label=move || tr!("chat-messages") aria-live="polite">
                <For each=messages key=|m| (m.seq, m.status, m.read.len(), m.delivered.len(), file_state(m)) let:m>
                    {
                        let me = m.from.is_some() && m.from == my_account;
                        view! { <Entry room=room m=m detail=detail me=me now=now/> }
                    }
                </For>
            </ol>
            <Show when=move || error.get().is_some()>
                <p class="error" role="alert">{move || error.get()}</p>
            </Show>
            <ProgressBar p=upload/>
            <Show when=move || !suggestions().is_empty()>
                <div class="mentions row" role="listbox" aria-label=move || tr!("room-mention")>
                    <For each=suggestions key=|n| n.clone() let:name>
                        {
                            let label = format!("@{name}");
                            view! {
                                <button type="button" class="secondary mention-pick" role="option"
                                    on:click=move |_| pick(name.clone())>{label}</button>
                            }
                        }
                    </For>
                </div>
            </Show>
            <form class="composer" on:submit=move |ev: leptos::ev::SubmitEvent| {
                ev.prevent_default();
                send();
            }>
                <label class="attach secondary" title=move || tr!("chat-attach")>
                    <super::icons::IconView icon=super::icons::Icon::Paperclip/>
                    <span class="sr-only">{move || tr!("chat-attach")}</span>
                    <input type="file" class="sr-only" aria-label=move || tr!("chat-attach") on:change=on_file
                        disabled=move || !joined() || uploading.get()/>
                </label>
                <textarea node_ref=composer aria-label=move || tr!("chat-message") placeholder=move || tr!("chat-placeholder") rows="1"
                    prop:value=move || draft.get() on:input=on_input on:paste=on_paste
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                        if ev.key() == "Enter" && !ev.shift_key() {
                            ev.prevent_default();
                            send();
                        }
                    }
                    disabled=move || !joined()></textarea>
                <button type="submit" class="primary" disabled=move || !joined()>{move || tr!("chat-send")}</button>
            </form>
            {lazy::attach_step(pending, file_ttl, delete_after, Callback::new(send_file), composer)}
        </main>
    }
}
