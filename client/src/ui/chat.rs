//! One conversation: history with delivery states, the composer, the
//! disappearing-message timer, the safety number and deletion.

use leptos::prelude::*;
use leptos::task::spawn_local;
use parley_shared::crypto::os_rng;
use parley_shared::engine::content::MAX_TEXT;
use parley_shared::engine::model::{Body, Message, Status};
use parley_shared::protocol::ws::DeviceId;
use parley_shared::time::UnixMs;

use super::attach::{DEFAULT_FILE_TTL, Pending};
use super::file::{FileBubble, Previews, ProgressBar};
use super::home::Presence;
use super::icons::{Icon, IconView};
use super::lazy;
use super::scanner::QrScanner;
use super::scroll;
use super::{BackButton, ConnBadge, Nav, Put, Screen};
use crate::files::Progress;
use crate::i18n::{self, Case, Localize as _};
use crate::qr;
use crate::runtime::{self, Ui};
use crate::view::ContactView;
use crate::{api, tr};

/// Disappearing-message timers offered, seconds (0: off).
const TIMERS: [u32; 6] = [0, 30, 300, 3600, 86_400, 604_800];

/// A line of the conversation: a day's heading, the start of what was
/// unread when it was opened, or a message.
#[derive(Clone)]
enum Line {
    Day(String, (u32, u32, u32)),
    Unread,
    Message(Box<Message>),
}

/// What identifies a line for re-rendering: a message re-renders when its
/// status or its file's state changes.
#[derive(Clone, PartialEq, Eq, Hash)]
enum LineKey {
    Day((u32, u32, u32)),
    Unread,
    Message(u64, Status, &'static str),
}

impl Line {
    fn key(&self) -> LineKey {
        match self {
            Self::Day(_, day) => LineKey::Day(*day),
            Self::Unread => LineKey::Unread,
            Self::Message(m) => LineKey::Message(m.seq, m.status, file_state(m)),
        }
    }
}

/// The messages with a heading before each new day, and the unread
/// divider before the message `first_unread`.
fn by_day(messages: &[Message], now: UnixMs, first_unread: Option<u64>) -> Vec<Line> {
    let mut lines = Vec::with_capacity(messages.len() + 5);
    let mut last = None;
    for m in messages {
        let day = i18n::local_day(m.at);
        if last != Some(day) {
            lines.push(Line::Day(i18n::day_heading(m.at, now), day));
            last = Some(day);
        }
        if Some(m.seq) == first_unread {
            lines.push(Line::Unread);
        }
        lines.push(Line::Message(Box::new(m.clone())));
    }
    lines
}

fn file_state(m: &Message) -> &'static str {
    match &m.body {
        Body::File(f) => f.state.name(),
        _ => "",
    }
}

/// A timer's or lifetime's menu entry.
pub(super) fn timer_label(secs: u64) -> String {
    match u32::try_from(secs) {
        Ok(0) => tr!("timer-off"),
        Ok(s) => i18n::period(s, Case::Nominative),
        Err(_) => i18n::duration(secs),
    }
}

/// Why a draft cannot be sent as it is. The limit is the engine's and counts
/// UTF-8 bytes, not characters: accented letters, emoji and most non-Latin
/// scripts take two to four bytes each.
fn too_long(text: &str) -> Option<String> {
    let n = text.len();
    (n > MAX_TEXT).then(|| {
        tr!(
            "chat-too-long",
            size = n,
            max = MAX_TEXT,
            over = n - MAX_TEXT
        )
    })
}

/// Bytes left in the draft, shown once it nears the limit.
#[component]
fn Remaining(draft: RwSignal<String>) -> impl IntoView {
    let used = Memo::new(move |_| draft.with(String::len));
    view! {
        <Show when=move || { used.get() * 10 > MAX_TEXT * 9 }>
            <p class="limit" role="status" data-over=move || (used.get() > MAX_TEXT).to_string()>
                {move || match MAX_TEXT.checked_sub(used.get()) {
                    Some(left) => tr!("chat-bytes-left", count = left),
                    None => tr!("chat-bytes-over", count = used.get() - MAX_TEXT),
                }}
            </p>
        </Show>
    }
}

pub(super) fn page_visible() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Visible)
}

fn status_label(s: Status) -> String {
    match s {
        Status::Queued => tr!("status-queued"),
        Status::Sent => tr!("status-sent"),
        Status::Delivered => tr!("status-delivered"),
        Status::Read => tr!("status-read"),
    }
}

fn status_icon(s: Status) -> &'static str {
    match s {
        Status::Queued => "◷",
        Status::Sent => "✓",
        Status::Delivered => "✓✓",
        Status::Read => "✓✓",
    }
}

#[component]
fn Bubble(
    m: Message,
    peer: DeviceId,
    peer_name: String,
    now: RwSignal<UnixMs>,
    previews: Previews,
) -> impl IntoView {
    let expires = m.expires_at;
    let countdown = move || {
        expires.map(|t| {
            let left = t.since(now.get()).as_secs();
            tr!("chat-disappears-in", time = i18n::duration(left.max(1)))
        })
    };
    match m.body.clone() {
        Body::File(f) => {
            view! { <FileBubble m=m f=f peer=peer peer_name=peer_name now=now previews=previews/> }
                .into_any()
        }
        Body::Notice(n) => {
            view! { <li class="notice">{move || i18n::notice(&n, &peer_name)}</li> }.into_any()
        }
        Body::Text(t) => {
            let dir = if m.outgoing { "msg out" } else { "msg in" };
            view! {
                <li class=dir data-status=m.status.name()>
                    <p class="text">{t}</p>
                    <p class="info">
                        <time class="time" datetime=i18n::iso(m.at) title=move || i18n::date_time(m.at)>
                            {move || i18n::clock(m.at)}
                        </time>
                        {expires.map(|_| view! { <span class="timer">{countdown}</span> })}
                        {m.outgoing.then(|| view! {
                            <span class="status" title=move || status_label(m.status) aria-label=move || status_label(m.status)
                                data-read=(m.status == Status::Read).to_string()>
                                {status_icon(m.status)}
                            </span>
                        })}
                    </p>
                </li>
            }
            .into_any()
        }
    }
}

/// The safety-number panel: compare the digits, or scan the code on the
/// contact's screen (a match marks them verified).
#[component]
pub(super) fn Safety(peer: DeviceId, contact: RwSignal<Option<ContactView>>) -> impl IntoView {
    let read = move || runtime::read(|e| e.safety_number(&peer)).flatten();
    let sn = RwSignal::new(read());
    // Right after pairing the account keys are still on their way: the
    // number shows once it is final, never a provisional one.
    if sn.get_untracked().is_none() {
        spawn_local(async move {
            while sn.try_get_untracked().is_some_and(|s| s.is_none()) {
                runtime::sleep(300).await;
                if let Some(found) = read() {
                    sn.put(Some(found));
                }
            }
        });
    }
    let digits = move || sn.with(|s| s.as_ref().map(|s| s.grouped()).unwrap_or_default());
    let code = move || {
        sn.with(|s| {
            s.as_ref()
                .and_then(|s| qr::svg(&parley_shared::protocol::auth::encode_b64(&s.scannable())))
                .unwrap_or_default()
        })
    };
    let pending = move || sn.with(Option::is_none);
    let verified = move || contact.with(|c| c.as_ref().is_some_and(|c| c.verified));
    let scan_error = RwSignal::new(None::<String>);
    let scan_result = RwSignal::new(None::<String>);
    let on_code = Callback::new(move |text: String| {
        match runtime::write(|e| e.verify_scanned(&peer, &text)) {
            Some(Ok(())) => {
                scan_error.put(None);
                scan_result.put(Some(tr!("safety-match")));
            }
            Some(Err(e)) => {
                scan_result.put(None);
                scan_error.put(Some(e.text()));
            }
            None => scan_error.put(Some(tr!("still-starting"))),
        }
    });
    view! {
        <section class="safety card" aria-label=move || tr!("safety-title")>
            <h2>{move || tr!("safety-title")}</h2>
            <p class="hint">{move || tr!("safety-hint")}</p>
            <Show when=pending>
                <p class="hint" role="status">{move || tr!("safety-pending")}</p>
            </Show>
            <p class="digits">{digits}</p>
            <div class="qr small" inner_html=code></div>
            <QrScanner start_label=Signal::derive(|| tr!("safety-scan")) prompt=Signal::derive(|| tr!("safety-scan-prompt"))
                on_code=on_code error=scan_error/>
            <Show when=move || scan_result.get().is_some()>
                <p class="ok" role="status">{move || scan_result.get()}</p>
            </Show>
            <Show when=move || scan_error.get().is_some()>
                <p class="error" role="alert">{move || scan_error.get()}</p>
            </Show>
            <label class="check">
                <input type="checkbox" prop:checked=verified
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        runtime::write(|e| e.set_verified(&peer, on));
                    }/>
                {move || tr!("safety-mark-verified")}
            </label>
        </section>
    }
}

/// The conversation screen.
#[component]
pub(super) fn Chat(peer: DeviceId) -> impl IntoView {
    let ui = expect_context::<Ui>();
    let nav = expect_context::<Nav>();
    let draft = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let show_safety = RwSignal::new(false);
    let show_details = RwSignal::new(false);
    let confirm_delete = RwSignal::new(false);
    let now = super::ticking_now();

    let conv = ui.views.conversation(peer);
    let contact = conv.contact;
    let messages = conv.messages;
    // Each reads only the part of the contact it shows, and re-runs only
    // when that part changes.
    let name = Memo::new(move |_| {
        contact.with(|c| c.as_ref().map(|c| c.name.clone()).unwrap_or_default())
    });
    let blocked =
        Memo::new(move |_| contact.with(|c| c.as_ref().is_some_and(|c| c.identity_changed)));
    let verified = Memo::new(move |_| contact.with(|c| c.as_ref().is_some_and(|c| c.verified)));
    let timer = Memo::new(move |_| contact.with(|c| c.as_ref().and_then(|c| c.timer_secs)));
    let unread = Memo::new(move |_| contact.with(|c| c.as_ref().map_or(0, |c| c.unread)));
    let gone = Memo::new(move |_| contact.with(Option::is_none));
    // Every keystroke is reported; the engine decides what (if anything) to send.
    let on_input = move |ev: leptos::ev::Event| {
        let text = event_target_value(&ev);
        let active = !text.trim().is_empty();
        draft.put(text);
        runtime::write(|e| e.typing(&mut os_rng(), &peer, active, api::now()));
    };
    let can_call = move || {
        ui.conn.with(|c| *c == runtime::Conn::Online)
            && contact.with(|c| {
                c.as_ref()
                    .is_some_and(|c| c.has_session && !c.identity_changed)
            })
    };

    // Opened with unread messages: a divider above the first, in view.
    // Otherwise the newest message is in view, and new ones follow only
    // while the reader is at the end (one scrolled up keeps their place).
    let at_bottom = RwSignal::new(false);
    scroll::track(at_bottom);
    let first_unread = messages.with_untracked(|m| scroll::first_unread(m));
    Effect::new(move |last: Option<u64>| {
        let newest = messages.with(|m| m.last().map(|m| (m.seq, m.outgoing)));
        let seq = newest.map_or(0, |(seq, _)| seq);
        match last {
            None if first_unread.is_some() && scroll::to_element(".unread-divider") => {}
            None => scroll::to_bottom(),
            Some(before) => {
                let sent_now = newest.is_some_and(|(seq, out)| out && seq > before);
                if at_bottom.get_untracked() || sent_now {
                    scroll::to_bottom();
                }
            }
        }
        at_bottom.put(scroll::at_bottom());
        seq
    });
    // Read receipts: what is on screen while the page is visible is read,
    // once the reader is at the end.
    Effect::new(move |_| {
        if unread.get() > 0 && at_bottom.get() && page_visible() {
            runtime::write(|e| e.mark_read(&mut os_rng(), &peer));
        }
    });
    // The contact reset its keys: follow it. Deleted: back to the list.
    Effect::new(move |_| {
        if gone.get() && runtime::started() {
            match runtime::read(|e| e.moved_to(&peer)).flatten() {
                Some(new) => nav.put(Screen::Chat(new)),
                None => nav.put(Screen::Home),
            }
        }
    });

    let send = move || {
        let text = draft.get_untracked();
        if text.trim().is_empty() {
            return;
        }
        if let Some(why) = too_long(&text) {
            return error.put(Some(why));
        }
        match runtime::write(|e| e.send_text(&mut os_rng(), &peer, &text, api::now())) {
            Some(Ok(_)) => {
                draft.put(String::new());
                error.put(None);
            }
            Some(Err(e)) => error.put(Some(e.text())),
            None => {}
        }
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        send();
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() {
            ev.prevent_default();
            send();
        }
    };
    let set_timer = move |ev: leptos::ev::Event| {
        let secs: u32 = event_target_value(&ev).parse().unwrap_or(0);
        let secs = (secs > 0).then_some(secs);
        if let Some(Err(e)) =
            runtime::write(|e| e.set_timer(&mut os_rng(), &peer, secs, api::now()))
        {
            error.put(Some(e.text()));
        }
    };
    let delete = move |_| {
        if !confirm_delete.get_untracked() {
            confirm_delete.put(true);
            return;
        }
        runtime::write(|e| e.delete_conversation(&mut os_rng(), &peer));
        nav.put(Screen::Home);
    };

    let upload = RwSignal::new(None::<Progress>);
    let previews: Previews = RwSignal::new(Default::default());
    let uploading = RwSignal::new(false);
    let file_ttl = RwSignal::new(DEFAULT_FILE_TTL);
    // A chosen, dropped or pasted file waits in the attach sheet.
    let pending: Pending = RwSignal::new_local(None);
    let composer = NodeRef::<leptos::html::Textarea>::new();
    let delete_after = RwSignal::new(true);
    let send_file = move |out: crate::files::Outgoing| {
        uploading.put(true);
        error.put(None);
        spawn_local(async move {
            let r = crate::files::send(
                parley_shared::engine::transfer::FileTo::Contact(peer),
                out,
                file_ttl.get_untracked(),
                delete_after.get_untracked(),
                upload,
            )
            .await;
            upload.put(None);
            uploading.put(false);
            if let Err(e) = r {
                error.put(Some(e.text()));
            }
        });
    };
    let on_file = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        if let Some(f) = input.files().and_then(|l| l.get(0)) {
            pending.set(Some(f));
        }
        input.set_value("");
    };
    // A file pasted into the message box is sent like a dropped one (text
    // pastes as usual).
    let on_paste = move |ev: leptos::ev::ClipboardEvent| {
        let file = ev
            .clipboard_data()
            .and_then(|d| d.files())
            .and_then(|l| l.get(0));
        if let Some(f) = file {
            ev.prevent_default();
            if !blocked.get_untracked() && !uploading.get_untracked() {
                pending.set(Some(f));
            }
        }
    };
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        if blocked.get_untracked() || uploading.get_untracked() {
            return;
        }
        if let Some(f) = ev
            .data_transfer()
            .and_then(|d| d.files())
            .and_then(|l| l.get(0))
        {
            pending.set(Some(f));
        }
    };
    view! {
        <main class="chat" data-screen="chat" on:dragover=|ev: leptos::ev::DragEvent| ev.prevent_default() on:drop=on_drop>
            <header class="bar">
                <BackButton/>
                <div class="title">
                    <h1 class="peer-name">{move || name.get()}</h1>
                    <Presence online=conv.online/>
                    <Show when=move || verified.get()>
                        <span class="verified" title=move || tr!("chat-verified-title")>"✔ " {move || tr!("chat-verified")}</span>
                    </Show>
                    <Show when=move || conv.typing.get()>
                        <span class="typing" role="status">{move || tr!("chat-typing")}</span>
                    </Show>
                </div>
                <ConnBadge/>
                <button type="button" class="icon" disabled=move || !can_call() aria-label=move || tr!("chat-audio-call")
                    title=move || tr!("chat-audio-call") on:click=move |_| lazy::start_call(peer, false, error)><IconView icon=Icon::Phone/></button>
                <button type="button" class="icon" disabled=move || !can_call() aria-label=move || tr!("chat-video-call")
                    title=move || tr!("chat-video-call") on:click=move |_| lazy::start_call(peer, true, error)><IconView icon=Icon::Video/></button>
                <button type="button" class="icon" aria-controls="conversation-details" aria-label=move || tr!("chat-details")
                    aria-expanded=move || show_details.get().to_string() on:click=move |_| show_details.update(|s| *s = !*s)>
                    <IconView icon=Icon::More/>
                </button>
            </header>
            // The conversation's settings and its one dangerous action stay
            // out of the way until asked for.
            <section id="conversation-details" class="tools card" hidden=move || !show_details.get()>
                <h2 class="sr-only">{move || tr!("chat-details")}</h2>
                <button type="button" class="secondary" aria-expanded=move || show_safety.get().to_string()
                    on:click=move |_| show_safety.update(|s| *s = !*s)>{move || tr!("safety-title")}</button>
                <label class="timer-pick">
                    {move || tr!("chat-timer")} " "
                    <select aria-label=move || tr!("chat-timer") on:change=set_timer
                        prop:value=move || timer.get().unwrap_or(0).to_string()>
                        {TIMERS.map(|s| view! { <option value=s.to_string()>{move || timer_label(s.into())}</option> })}
                    </select>
                </label>
                <button type="button" class="danger" on:click=delete>
                    {move || if confirm_delete.get() { tr!("chat-delete-confirm") } else { tr!("chat-delete") }}
                </button>
            </section>
            <Show when=move || show_safety.get()>
                {lazy::part(lazy::Part::Safety(peer, contact))}
            </Show>
            <Show when=move || blocked.get()>
                <div class="warning card" role="alert">
                    <p>
                        <strong>{move || tr!("chat-changed", peer = name.get())}</strong>
                        " " {move || tr!("chat-changed-hint")}
                    </p>
                    <div class="row">
                        <button type="button" class="secondary" on:click=move |_| show_safety.put(true)>{move || tr!("chat-show-safety")}</button>
                        <button type="button" class="primary" on:click=move |_| {
                            runtime::write(|e| e.acknowledge_identity(&peer));
                        }>{move || tr!("chat-allow-sending")}</button>
                    </div>
                </div>
            </Show>
            <ol class="messages" aria-label=move || tr!("chat-messages") aria-live="polite">
                <For each=move || by_day(&messages.get(), api::now(), first_unread) key=Line::key let:line>
                    {match line {
                        Line::Day(heading, _) => view! { <li class="day">{heading}</li> }.into_any(),
                        Line::Unread => view! { <li class="unread-divider">{move || tr!("chat-unread")}</li> }.into_any(),
                        Line::Message(m) => view! {
                            <Bubble m=*m peer=peer peer_name=name.get_untracked() now=now previews=previews/>
                        }.into_any(),
                    }}
                </For>
            </ol>
            <Show when=move || error.get().is_some()>
                <p class="error" role="alert">{move || error.get()}</p>
            </Show>
            <Show when=move || { !at_bottom.get() && unread.get() > 0 }>
                <button type="button" class="new-below" on:click=move |_| {
                    scroll::to_bottom();
                    at_bottom.put(true);
                }>
                    <IconView icon=Icon::ArrowDown/>
                    {move || tr!("chat-new-below", count = unread.get())}
                </button>
            </Show>
            <ProgressBar p=upload/>
            <Remaining draft=draft/>
            <form class="composer" on:submit=on_submit>
                <label class="attach secondary" title=move || tr!("chat-attach")>
                    <IconView icon=Icon::Paperclip/>
                    <span class="sr-only">{move || tr!("chat-attach")}</span>
                    <input type="file" class="sr-only" aria-label=move || tr!("chat-attach") on:change=on_file
                        disabled=move || blocked.get() || uploading.get()/>
                </label>
                <textarea node_ref=composer aria-label=move || tr!("chat-message") placeholder=move || tr!("chat-placeholder") rows="1"
                    prop:value=move || draft.get() on:input=on_input
                    on:keydown=on_key on:paste=on_paste disabled=move || blocked.get()></textarea>
                <button type="submit" class="primary" disabled=move || blocked.get()>{move || tr!("chat-send")}</button>
            </form>
            {lazy::attach_step(pending, file_ttl, delete_after, Callback::new(send_file), composer)}
        </main>
    }
}
