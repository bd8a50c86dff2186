//! Screens. Navigation is a signal (no router): the URL never carries state.
//! An invite link's fragment (`#pair=…`) and a notification's conversation
//! (`#/c/<id>`, from the service worker) are read once at start and then
//! removed.

mod attach;
mod backup;
mod call;
mod calls_card;
mod chat;
mod devices;
mod file;
mod home;
mod icons;
mod image_edit;
mod invite;
mod join;
mod lazy;
pub(crate) use lazy::deliver_call_signal;
mod new_room;
mod notify_card;
mod onboarding;
mod restore;
mod room;
mod room_admin;
mod room_file;
mod room_members;
mod scanner;
mod scroll;
mod settings;
mod storage;

use leptos::prelude::*;
use leptos::task::spawn_local;
use parley_shared::engine::pairing::Purpose;
use parley_shared::engine::{AccountError, Engine};
use parley_shared::group::RoomId;
use parley_shared::protocol::api::Failure;
use parley_shared::protocol::ws::DeviceId;

use crate::i18n::Localize as _;
use crate::relay::RelayStatus;
use crate::runtime::{self, Conn, SessionError, Ui};
use crate::store::Store;
use crate::{api, pwa, relay, tr};

/// Where the app is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Screen {
    /// Opening storage.
    Loading,
    /// No identity yet.
    Onboarding,
    /// Conversation list.
    Home,
    /// One conversation.
    Chat(DeviceId),
    /// One group room.
    Room(RoomId),
    /// Making a group room.
    NewRoom,
    /// Showing an invite (QR + PIN).
    Invite,
    /// Joining: scan, paste or type (optionally with a link to use).
    Join(Option<String>),
    /// Account and device.
    Settings,
    /// A new device showing its code to be linked into an account.
    LinkShow,
    /// An existing device linking a new one (scan, paste or type its code).
    LinkScan,
}

/// Sets a signal unless its component is gone: async work (polling, timers)
/// may finish after the user navigated away, and that must not crash the app.
pub(crate) trait Put<T> {
    /// `try_set`, ignoring a disposed signal.
    fn put(&self, v: T);
}

impl<T: Send + Sync + 'static> Put<T> for RwSignal<T> {
    fn put(&self, v: T) {
        let _ = self.try_set(v);
    }
}

/// Navigation handle.
pub(crate) type Nav = RwSignal<Screen>;

/// An invite link the app was opened with (`/#pair=…`), taken out of the
/// address bar so the secret does not linger in history.
fn take_invite_from_url() -> Option<String> {
    let w = web_sys::window()?;
    let href = w.location().href().ok()?;
    if !href.contains("#pair=") {
        return None;
    }
    if let Ok(h) = w.history() {
        // At worst the link stays in this tab's history; it is one-time.
        let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some("/"));
    }
    Some(href)
}

/// The conversation a notification click opened this window at
/// (`/#/c/<id>`, see `openFromNotification` in `sw.js`), taken out of the
/// address bar so a reload starts at the list as usual.
fn take_chat_from_url() -> Option<DeviceId> {
    let w = web_sys::window()?;
    let hash = w.location().hash().ok()?;
    let id = hash.strip_prefix("#/c/")?;
    if let Ok(h) = w.history() {
        // At worst the id stays in this tab's history; it is a local id.
        let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some("/"));
    }
    js_sys::decode_uri_component(id)
        .ok()
        .and_then(|s| s.as_string())
        .and_then(|s| s.parse().ok())
}

/// A room this device is in, by its id as links name it.
fn known_room(hex: &str) -> Option<RoomId> {
    runtime::read(|e| {
        e.rooms()
            .into_iter()
            .map(|(id, _)| *id)
            .find(|id| id.to_hex() == hex)
    })
    .flatten()
}

/// The room a notification click opened this window at (`/#/r/<id>`).
fn take_room_from_url() -> Option<String> {
    let w = web_sys::window()?;
    let hash = w.location().hash().ok()?;
    let id = hash.strip_prefix("#/r/")?.to_owned();
    if let Ok(h) = w.history() {
        let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some("/"));
    }
    id.chars().all(|c| c.is_ascii_hexdigit()).then_some(id)
}

/// Holds the `parley-engine` Web Lock for the page's lifetime; false when
/// another tab has it. Two engines on one IndexedDB would both advance the
/// same ratchets from the same stored state and lose messages.
async fn single_instance() -> bool {
    use crate::js::{get, invoke_async, obj};
    use wasm_bindgen::prelude::*;
    let Some(w) = web_sys::window() else {
        return false;
    };
    let locks = get(&get(&w.into(), "navigator"), "locks");
    if locks.is_undefined() {
        return true; // no Web Locks: nothing to coordinate with
    }
    let (tx, rx) = futures_channel();
    let refused = tx.clone();
    let granted = Closure::once_into_js(move |lock: JsValue| {
        // Calling a promise's own resolve function does not throw.
        let _ = tx.call1(&JsValue::NULL, &(!lock.is_null()).into());
        // Never resolves: the lock is held until the page goes away.
        js_sys::Promise::new(&mut |_, _| {})
    });
    let opts = obj(&[("ifAvailable", true.into())]);
    wasm_bindgen_futures::spawn_local(async move {
        // The request settles only if it fails (a held lock never resolves
        // it); then there is no lock to share, as without Web Locks, and the
        // app starts instead of waiting forever.
        if invoke_async(&locks, "request", &["parley-engine".into(), opts, granted])
            .await
            .is_err()
        {
            let _ = refused.call1(&JsValue::NULL, &true.into());
        }
    });
    rx.await.ok().and_then(|v| v.as_bool()).unwrap_or(false)
}

/// A one-shot JS resolver and the future of its value.
fn futures_channel() -> (js_sys::Function, wasm_bindgen_futures::JsFuture) {
    let mut resolve = None;
    let p = js_sys::Promise::new(&mut |r, _| resolve = Some(r));
    let resolve = resolve.unwrap_or_else(|| js_sys::Function::new_no_args(""));
    (resolve, wasm_bindgen_futures::JsFuture::from(p))
}

async fn boot(
    ui: Ui,
    nav: Nav,
    pending: RwSignal<Option<String>>,
    open: Option<DeviceId>,
    open_room: Option<String>,
) {
    if !single_instance().await {
        return ui.fatal.set(Some(tr!("fatal-other-tab")));
    }
    let store = match Store::open().await {
        Ok(s) => s,
        Err(e) => return ui.fatal.put(Some(e.text())),
    };
    let records = match store.load_all().await {
        Ok(r) => r,
        Err(e) => return ui.fatal.put(Some(e.text())),
    };
    match Engine::load(records) {
        Ok(Some(engine)) if engine.registered() => {
            // A new device closed before its link finished shows its code again.
            let unlinked = engine.can_be_linked();
            runtime::start(engine, store, ui);
            spawn_local(crate::notify::refresh());
            // Opened by a click on a notification of a conversation it has.
            if !unlinked
                && pending.get_untracked().is_none()
                && let Some(peer) = open
                && runtime::read(|e| e.contact(&peer).is_some()) == Some(true)
            {
                return nav.put(Screen::Chat(peer));
            }
            if !unlinked
                && pending.get_untracked().is_none()
                && let Some(id) = open_room.as_deref().and_then(known_room)
            {
                return nav.put(Screen::Room(id));
            }
            nav.put(match pending.get_untracked() {
                _ if unlinked => Screen::LinkShow,
                Some(link) => Screen::Join(Some(link)),
                None => Screen::Home,
            });
        }
        Ok(_) => nav.put(Screen::Onboarding),
        Err(e) => ui
            .fatal
            .put(Some(tr!("fatal-unreadable", reason = e.text()))),
    }
}

/// The app.
#[component]
pub(crate) fn App() -> impl IntoView {
    let ui = Ui {
        views: crate::view::Views::new(),
        conn: RwSignal::new(Conn::Connecting),
        fatal: RwSignal::new(None),
    };
    let nav: Nav = RwSignal::new(Screen::Loading);
    let pending = RwSignal::new(take_invite_from_url());
    let calls = crate::call::CallUi::new();
    crate::call::install(calls);
    provide_context(calls);
    provide_context(ui);
    provide_context(nav);
    provide_context(pending);
    let open = take_chat_from_url();
    let open_room = take_room_from_url();
    spawn_local(boot(ui, nav, pending, open, open_room));
    crate::notify::listen(
        move |peer| {
            if runtime::read(|e| e.contact(&peer).is_some()) == Some(true) {
                nav.put(Screen::Chat(peer));
            }
        },
        move |room| {
            if let Some(id) = known_room(&room) {
                nav.put(Screen::Room(id));
            }
        },
    );

    let update_ready = RwSignal::new(false);
    pwa::register_service_worker(update_ready);
    let wide = wide_screen();
    // A new screen takes the focus to its heading, so keyboard and screen
    // reader users start there, not on a control of the screen they left.
    Effect::new(move |seen: Option<()>| {
        nav.track();
        if seen.is_some() {
            focus_heading();
        }
    });

    view! {
        <Show when=move || ui.fatal.get().is_some()>
            <div class="fatal" role="alert">{move || ui.fatal.get()}</div>
        </Show>
        <Show when=move || update_ready.get()>
            <div class="update" role="status">
                <span>{move || tr!("update-ready")}</span>
                <button type="button" on:click=move |_| pwa::activate_update()>{move || tr!("update-reload")}</button>
            </div>
        </Show>
        {lazy::call_overlay(calls)}
        {move || match (nav.get(), wide.get()) {
            (Screen::Loading, _) => view! { <Start/> }.into_any(),
            (Screen::Onboarding, _) => lazy::screen(lazy::Lazy::Onboarding),
            // Wide screens: the list beside the conversation (or beside a
            // hint to pick one).
            (Screen::Home, true) => view! {
                <div class="panes">
                    <Sidebar/>
                    <main class="pick" data-screen="home"><p class="empty">{move || tr!("home-pick")}</p></main>
                </div>
            }.into_any(),
            (Screen::Chat(peer), true) => view! {
                <div class="panes">
                    <Sidebar/>
                    {lazy::screen(lazy::Lazy::Chat(peer))}
                </div>
            }.into_any(),
            (Screen::Room(id), true) => view! {
                <div class="panes">
                    <Sidebar/>
                    {lazy::screen(lazy::Lazy::Room(id))}
                </div>
            }.into_any(),
            (Screen::Room(id), false) => lazy::screen(lazy::Lazy::Room(id)),
            (Screen::NewRoom, _) => lazy::screen(lazy::Lazy::NewRoom),
            (Screen::Home, false) => view! { <home::Home/> }.into_any(),
            (Screen::Chat(peer), false) => lazy::screen(lazy::Lazy::Chat(peer)),
            (Screen::Invite, _) => lazy::screen(lazy::Lazy::Invite(Purpose::Contact)),
            (Screen::Join(link), _) => lazy::screen(lazy::Lazy::Join(link, Purpose::Contact)),
            (Screen::LinkShow, _) => lazy::screen(lazy::Lazy::Invite(Purpose::Link)),
            (Screen::LinkScan, _) => lazy::screen(lazy::Lazy::Join(None, Purpose::Link)),
            (Screen::Settings, _) => lazy::screen(lazy::Lazy::Settings),
        }}
    }
}

/// The conversation list as the side pane of a wide screen.
#[component]
fn Sidebar() -> impl IntoView {
    view! {
        <aside class="sidebar" aria-label=move || tr!("home-conversations")>
            <home::ConversationList/>
        </aside>
    }
}

/// Width from which the list stays beside the conversation.
const WIDE: &str = "(min-width: 900px)";

/// Whether the window is wide (follows resizing and rotation).
fn wide_screen() -> RwSignal<bool> {
    use wasm_bindgen::JsCast as _;
    let query = web_sys::window().and_then(|w| w.match_media(WIDE).ok().flatten());
    let wide = RwSignal::new(query.as_ref().is_some_and(web_sys::MediaQueryList::matches));
    if let Some(q) = query {
        let on_change =
            wasm_bindgen::closure::Closure::<dyn FnMut(web_sys::MediaQueryListEvent)>::new(
                move |ev: web_sys::MediaQueryListEvent| wide.put(ev.matches()),
            );
        let _ = q.add_event_listener_with_callback("change", on_change.as_ref().unchecked_ref());
        // The app lives as long as the page.
        on_change.forget();
    }
    wide
}

/// Focuses the current screen's `h1` once it is on the page.
pub(super) fn focus_heading() {
    use wasm_bindgen::JsCast as _;
    let Some(w) = web_sys::window() else {
        return;
    };
    let later = wasm_bindgen::closure::Closure::once_into_js(|| {
        let heading = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector("main h1").ok().flatten())
            .and_then(|h| h.dyn_into::<web_sys::HtmlElement>().ok());
        if let Some(h) = heading {
            let _ = h.set_attribute("tabindex", "-1");
            let _ = h.focus();
        }
    });
    let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(later.unchecked_ref(), 0);
}

/// Logo, name and promise, with the relay's state (start and onboarding).
#[component]
pub(crate) fn Brand() -> impl IntoView {
    view! {
        <header class="brand">
            <img src="/icons/icon-192.png" alt="" width="72" height="72"/>
            <h1>"Parley"</h1>
        </header>
        <p class="tagline">{move || tr!("tagline")}</p>
        <RelayBadge/>
    }
}

/// Shown while storage opens.
#[component]
pub(super) fn Start() -> impl IntoView {
    view! {
        <main class="start" data-screen="start">
            <Brand/>
            <footer class="version">{move || tr!("version", version = env!("CARGO_PKG_VERSION"))}</footer>
        </main>
    }
}

/// The header's way back to the conversation list.
#[component]
pub(crate) fn BackButton() -> impl IntoView {
    let nav = expect_context::<Nav>();
    view! {
        <button type="button" class="icon" aria-label=move || tr!("back") on:click=move |_| nav.put(Screen::Home)>"←"</button>
    }
}

/// Relay readiness from `/readyz`, polled.
#[component]
pub(crate) fn RelayBadge() -> impl IntoView {
    let status = RwSignal::new(RelayStatus::Checking);
    let alive = RwSignal::new(true);
    on_cleanup(move || alive.put(false));
    spawn_local(async move {
        while alive.try_get_untracked().unwrap_or(false) {
            status.put(relay::check().await);
            runtime::sleep(15_000).await;
        }
    });
    view! {
        <p class="relay-status" role="status" aria-live="polite"
            data-state=move || status.get().state()>
            <span class="dot" aria-hidden="true"></span>
            {move || status.get().label()}
        </p>
    }
}

/// The header's connection indicator.
#[component]
pub(crate) fn ConnBadge() -> impl IntoView {
    let ui = expect_context::<Ui>();
    view! {
        <span class="conn" role="status" aria-live="polite" data-state=move || ui.conn.get().state()>
            <span class="dot" aria-hidden="true"></span>
            <span class="conn-label">{move || match ui.conn.get() {
                Conn::Online => tr!("conn-online"),
                Conn::Connecting => tr!("conn-connecting"),
                Conn::Offline(None) => tr!("conn-offline", reason = tr!("conn-lost")),
                Conn::Offline(Some(SessionError::Account(AccountError::Relay(Failure::Unreachable)))) => {
                    tr!("conn-offline", reason = tr!("conn-unreachable"))
                }
                Conn::Offline(Some(e)) => tr!("conn-offline", reason = e.text()),
            }}</span>
        </span>
    }
}

/// Hex of the first bytes, for element ids and test hooks.
pub(crate) fn short_id(d: &DeviceId) -> String {
    d.as_bytes()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The time, updated every second while the calling component lives (for
/// countdowns).
pub(crate) fn ticking_now() -> RwSignal<parley_shared::time::UnixMs> {
    let now = RwSignal::new(api::now());
    let alive = RwSignal::new(true);
    on_cleanup(move || alive.put(false));
    spawn_local(async move {
        while alive.try_get_untracked().unwrap_or(false) {
            runtime::sleep(1000).await;
            now.put(api::now());
        }
    });
    now
}
