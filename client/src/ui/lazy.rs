//! Screens a session rarely opens, kept out of the first download (ADR 0031).
//!
//! Each `#[wasm_split(module, …)]` function is a split point: the build's
//! `wasm-split-cli` step (client/pwa/build_app.py) moves the code that only
//! these functions reach into that module's own wasm file, fetched the first
//! time one of its screens opens (the service worker precaches it later).
//! Natively, and for `cargo check`, the call is direct.
//!
//! `fallible`: a module that cannot be fetched (offline before the service
//! worker cached it) is an error on screen with a retry, never an abort of
//! the whole app.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

use leptos::prelude::*;
use leptos::wasm_split::{SplitLoaderError, wasm_split};
use parley_shared::engine::call::{CallPhase, CallSignal};
use parley_shared::engine::pairing::Purpose;
use parley_shared::group::RoomId;
use parley_shared::protocol::auth::GateProof;
use parley_shared::protocol::ws::DeviceId;
use parley_shared::time::Millis;

use super::attach::Pending;
use super::{
    Nav, Put as _, Screen, attach, call, chat, focus_heading, invite, join, new_room, onboarding,
    restore, room, room_members, settings,
};
use crate::call::CallUi;
use crate::files::Outgoing;
use crate::room_view::RoomDetail;
use crate::runtime::Ui;
use crate::tr;
use crate::view::ContactView;

/// A screen's module could not be fetched.
pub(crate) struct Unavailable;

impl From<SplitLoaderError> for Unavailable {
    fn from(_: SplitLoaderError) -> Self {
        Unavailable
    }
}

#[wasm_split(settings, wasm_split_path = ::leptos::wasm_split, fallible, preload(settings_view_preload))]
fn settings_view() -> Result<AnyView, Unavailable> {
    Ok(view! { <settings::Settings/> }.into_any())
}

#[wasm_split(onboarding, wasm_split_path = ::leptos::wasm_split, fallible, preload(onboarding_view_preload))]
fn onboarding_view() -> Result<AnyView, Unavailable> {
    Ok(view! { <onboarding::Onboarding/> }.into_any())
}

#[wasm_split(new_room, wasm_split_path = ::leptos::wasm_split, fallible, preload(new_room_view_preload))]
fn new_room_view() -> Result<AnyView, Unavailable> {
    Ok(view! { <new_room::NewRoom/> }.into_any())
}

// Showing a code and entering one are two halves of one exchange: one module.
#[wasm_split(pairing, wasm_split_path = ::leptos::wasm_split, fallible, preload(invite_view_preload))]
fn invite_view(purpose: Purpose) -> Result<AnyView, Unavailable> {
    Ok(view! { <invite::InviteScreen purpose=purpose/> }.into_any())
}

#[wasm_split(pairing, wasm_split_path = ::leptos::wasm_split, fallible, preload(join_view_preload))]
fn join_view(link: Option<String>, purpose: Purpose) -> Result<AnyView, Unavailable> {
    Ok(view! { <join::JoinScreen link=link purpose=purpose/> }.into_any())
}

// A conversation and a room: a returning visitor starts on the list, so
// these come with the first one opened (from the service worker's cache
// once it has precached them).
#[wasm_split(conversation, wasm_split_path = ::leptos::wasm_split, fallible, preload(chat_view_preload))]
fn chat_view(peer: DeviceId) -> Result<AnyView, Unavailable> {
    Ok(view! { <chat::Chat peer=peer/> }.into_any())
}

#[wasm_split(conversation, wasm_split_path = ::leptos::wasm_split, fallible, preload(room_view_preload))]
fn room_view(room: RoomId) -> Result<AnyView, Unavailable> {
    Ok(view! { <room::RoomScreen room=room/> }.into_any())
}

// Parts of a screen that few visits open: the attach step (with the image
// editor), a conversation's safety number (QR code and scanner), a room's
// members and administration.
#[wasm_split(attach, wasm_split_path = ::leptos::wasm_split, fallible, preload(attach_sheet_preload))]
fn attach_sheet(
    pending: Pending,
    ttl: RwSignal<Millis>,
    delete_after: RwSignal<bool>,
    on_send: Callback<Outgoing>,
    composer: NodeRef<leptos::html::Textarea>,
) -> Result<AnyView, Unavailable> {
    Ok(view! {
        <attach::AttachSheet pending=pending ttl=ttl delete_after=delete_after on_send=on_send composer=composer/>
    }
    .into_any())
}

#[wasm_split(safety, wasm_split_path = ::leptos::wasm_split, fallible, preload(safety_view_preload))]
fn safety_view(
    peer: DeviceId,
    contact: RwSignal<Option<ContactView>>,
) -> Result<AnyView, Unavailable> {
    Ok(view! { <chat::Safety peer=peer contact=contact/> }.into_any())
}

#[wasm_split(members, wasm_split_path = ::leptos::wasm_split, fallible, preload(members_view_preload))]
fn members_view(
    room: RoomId,
    detail: Memo<Option<RoomDetail>>,
    error: RwSignal<Option<String>>,
) -> Result<AnyView, Unavailable> {
    Ok(view! { <room_members::Members room=room detail=detail error=error/> }.into_any())
}

/// An account being created or restored: the text to show if it failed.
pub(crate) type Creating = Pin<Box<dyn Future<Output = Result<(), String>>>>;

// Creating the identity and registering it: the onboarding form shows
// without it (a new visitor's first screen), and fetches it at once.
#[wasm_split(account, wasm_split_path = ::leptos::wasm_split, fallible, preload(register_account_preload))]
pub(crate) fn register_account(
    name: String,
    gate: GateProof,
    ui: Ui,
    link: bool,
) -> Result<Creating, Unavailable> {
    Ok(Box::pin(onboarding::register(name, gate, ui, link)))
}

/// Fetches the account module in the background; a failure shows when the
/// form is submitted, which fetches it again.
pub(crate) fn prefetch_account() {
    leptos::task::spawn_local(async {
        let _ = register_account_preload().await;
    });
}

// Restoring a backup, the one onboarding path that needs Argon2id and the
// backup format: a first run that creates an account does not fetch them.
#[wasm_split(restore, wasm_split_path = ::leptos::wasm_split, fallible)]
pub(crate) fn restore_backup(
    file: web_sys::File,
    typed: String,
    is_key: bool,
    gate: GateProof,
    ui: Ui,
) -> Result<Creating, Unavailable> {
    Ok(Box::pin(restore::run(file, typed, is_key, gate, ui)))
}

// A call: the WebRTC runtime that performs the call machine's actions, and
// the call screen. The first ring or call of a visit fetches it (from the
// service worker's cache once it has precached the modules); the machine's
// rules are the engine's, and signals wait for the module in arrival order.
#[wasm_split(call, wasm_split_path = ::leptos::wasm_split, fallible)]
fn call_signal(from: DeviceId, signal: CallSignal) -> Result<(), Unavailable> {
    crate::call::on_signal(from, signal);
    Ok(())
}

#[wasm_split(call, wasm_split_path = ::leptos::wasm_split, fallible)]
fn call_start(peer: DeviceId, video: bool) -> Result<(), Unavailable> {
    crate::call::start(peer, video);
    Ok(())
}

#[wasm_split(call, wasm_split_path = ::leptos::wasm_split, fallible, preload(call_screen_view_preload))]
fn call_screen_view() -> Result<AnyView, Unavailable> {
    Ok(view! { <call::CallScreen/> }.into_any())
}

thread_local! {
    /// Call signals not yet handed to the call module, oldest first.
    static SIGNALS: RefCell<VecDeque<(DeviceId, CallSignal)>> = const { RefCell::new(VecDeque::new()) };
    /// A task is handing them over.
    static HANDING: Cell<bool> = const { Cell::new(false) };
}

/// A call signal from the engine, for the call module: one task hands them
/// over in arrival order, the first fetching the module. If it cannot be
/// fetched (offline before the service worker cached it) the waiting
/// signals are dropped, as a call cannot run here; the caller's ring times
/// out as for any unanswered call, and the next signal fetches again.
pub(crate) fn deliver_call_signal(from: DeviceId, signal: CallSignal) {
    SIGNALS.with(|q| q.borrow_mut().push_back((from, signal)));
    if HANDING.replace(true) {
        return;
    }
    leptos::task::spawn_local(async {
        while let Some((from, signal)) = SIGNALS.with(|q| q.borrow_mut().pop_front()) {
            if call_signal(from, signal).await.is_err() {
                SIGNALS.with(|q| q.borrow_mut().clear());
                web_sys::console::error_1(&"the call module could not be fetched".into());
            }
        }
        HANDING.set(false);
    });
}

/// Starts a call to `peer`; `failed` shows if the call module cannot be
/// fetched.
pub(crate) fn start_call(peer: DeviceId, video: bool, failed: RwSignal<Option<String>>) {
    leptos::task::spawn_local(async move {
        if call_start(peer, video).await.is_err() {
            let _ = failed.try_set(Some(tr!("part-unavailable")));
        }
    });
}

/// The call screen, over everything: its module comes with the first call
/// of a visit, and the screen then stays on the page (hidden without a call).
pub(crate) fn call_overlay(calls: CallUi) -> AnyView {
    let wanted = Memo::new(move |was: Option<&bool>| {
        was.copied().unwrap_or(false) || calls.view.with(|v| v.phase != CallPhase::Idle)
    });
    view! {
        <Show when=move || wanted.get()>
            {part(Part::Call)}
        </Show>
    }
    .into_any()
}

/// A screen that lives in its own module.
#[derive(Clone)]
pub(crate) enum Lazy {
    Settings,
    Onboarding,
    NewRoom,
    Invite(Purpose),
    Join(Option<String>, Purpose),
    Chat(DeviceId),
    Room(RoomId),
}

async fn load(which: Lazy) -> Result<(), Unavailable> {
    match which {
        Lazy::Settings => settings_view_preload().await,
        Lazy::Onboarding => onboarding_view_preload().await,
        Lazy::NewRoom => new_room_view_preload().await,
        Lazy::Invite(_) => invite_view_preload().await,
        Lazy::Join(..) => join_view_preload().await,
        Lazy::Chat(_) => chat_view_preload().await,
        Lazy::Room(_) => room_view_preload().await,
    }
    .map_err(Unavailable::from)
}

async fn open(which: Lazy) -> Result<AnyView, Unavailable> {
    match which {
        Lazy::Settings => settings_view().await,
        Lazy::Onboarding => onboarding_view().await,
        Lazy::NewRoom => new_room_view().await,
        Lazy::Invite(purpose) => invite_view(purpose).await,
        Lazy::Join(link, purpose) => join_view(link, purpose).await,
        Lazy::Chat(peer) => chat_view(peer).await,
        Lazy::Room(room) => room_view(room).await,
    }
}

/// The screen once its module is here: the start screen while it loads (an
/// empty pane for a conversation or a room), and
/// a message with a retry if it cannot be fetched. Its heading then takes
/// the focus from the start screen's.
pub(crate) fn screen(which: Lazy) -> AnyView {
    // A conversation opens beside the list on a wide screen: while it loads
    // its pane stays empty rather than the whole window showing the start.
    let fallback = match which {
        Lazy::Chat(_) | Lazy::Room(_) => || {
            view! { <main class="pick" data-screen="loading" aria-busy="true"></main> }.into_any()
        },
        _ => || view! { <super::Start/> }.into_any(),
    };
    loaded(
        which,
        load,
        open,
        fallback,
        // Without an identity there is no conversation list to go back to,
        // and a new device being linked must finish linking first.
        |attempt, which| {
            unavailable(
                attempt,
                !matches!(which, Lazy::Onboarding | Lazy::Invite(Purpose::Link)),
            )
        },
        focus_heading,
    )
}

/// Shows `open(which)` once `load(which)` (its split function's preload)
/// has fetched the module:
/// `fallback` while it loads, `failed` (with a retry that tracks `attempt`)
/// if it cannot be fetched, then runs `after`.
///
/// The screen is built here, in the page's reactive scope, not in the
/// loading future: a view built inside an async task (a `Suspend`) is owned
/// apart from the effects that render it, and a screen that navigates away
/// from itself (a contact that reset its keys) then disposed its signals
/// under its own still-running effects.
fn loaded<W, Load, Open>(
    which: W,
    load: fn(W) -> Load,
    open: fn(W) -> Open,
    fallback: fn() -> AnyView,
    failed: fn(RwSignal<u32>, &W) -> AnyView,
    after: fn(),
) -> AnyView
where
    W: Clone + Send + Sync + 'static,
    Load: Future<Output = Result<(), Unavailable>> + 'static,
    Open: Future<Output = Result<AnyView, Unavailable>> + 'static,
{
    let attempt = RwSignal::new(0_u32);
    let ready = RwSignal::new(None::<bool>);
    let first = which.clone();
    Effect::new(move |_| {
        attempt.track();
        ready.set(None);
        let fetched = load(first.clone());
        // The screen may be gone by then: `try_set` on a disposed signal
        // does nothing.
        leptos::task::spawn_local(async move {
            let _ = ready.try_set(Some(fetched.await.is_ok()));
        });
    });
    (move || match ready.get() {
        None => fallback(),
        Some(false) => failed(attempt, &which),
        Some(true) => {
            // `load` awaited this split function's own loader (each has
            // one), so the call completes when first polled. Untracked: a
            // signal read while building must not rebuild the whole screen.
            let mut built = pin!(open(which.clone()));
            match untrack(|| built.as_mut().poll(&mut Context::from_waker(Waker::noop()))) {
                Poll::Ready(Ok(view)) => {
                    after();
                    view
                }
                _ => failed(attempt, &which),
            }
        }
    })
    .into_any()
}

/// A part of a screen in its own module.
#[derive(Clone)]
pub(crate) enum Part {
    Attach {
        pending: Pending,
        ttl: RwSignal<Millis>,
        delete_after: RwSignal<bool>,
        on_send: Callback<Outgoing>,
        composer: NodeRef<leptos::html::Textarea>,
    },
    Safety(DeviceId, RwSignal<Option<ContactView>>),
    Members(RoomId, Memo<Option<RoomDetail>>, RwSignal<Option<String>>),
    Call,
}

async fn load_part(which: Part) -> Result<(), Unavailable> {
    match which {
        Part::Attach { .. } => attach_sheet_preload().await,
        Part::Safety(..) => safety_view_preload().await,
        Part::Members(..) => members_view_preload().await,
        Part::Call => call_screen_view_preload().await,
    }
    .map_err(Unavailable::from)
}

async fn open_part(which: Part) -> Result<AnyView, Unavailable> {
    match which {
        Part::Attach {
            pending,
            ttl,
            delete_after,
            on_send,
            composer,
        } => attach_sheet(pending, ttl, delete_after, on_send, composer).await,
        Part::Safety(peer, contact) => safety_view(peer, contact).await,
        Part::Members(room, detail, error) => members_view(room, detail, error).await,
        Part::Call => call_screen_view().await,
    }
}

/// The attach step of a conversation or a room: its module comes with the
/// first file picked, and the sheet then stays on the page.
pub(crate) fn attach_step(
    pending: Pending,
    ttl: RwSignal<Millis>,
    delete_after: RwSignal<bool>,
    on_send: Callback<Outgoing>,
    composer: NodeRef<leptos::html::Textarea>,
) -> AnyView {
    let wanted = Memo::new(move |was: Option<&bool>| {
        was.copied().unwrap_or(false) || pending.with(Option::is_some)
    });
    view! {
        <Show when=move || wanted.get()>
            {part(Part::Attach { pending, ttl, delete_after, on_send, composer })}
        </Show>
    }
    .into_any()
}

/// The part once its module is here: a short status while it loads, and a
/// message with a retry if it cannot be fetched.
pub(crate) fn part(which: Part) -> AnyView {
    loaded(
        which,
        load_part,
        open_part,
        || view! { <p class="hint" role="status">{move || tr!("part-loading")}</p> }.into_any(),
        |attempt, which| {
            // A file that cannot be attached now can be put aside.
            let pending = match which {
                Part::Attach { pending, .. } => Some(*pending),
                _ => None,
            };
            view! {
                <p class="error" role="alert">
                    {move || tr!("part-unavailable")} " "
                    <button type="button" on:click=move |_| attempt.update(|n| *n += 1)>{move || tr!("screen-retry")}</button>
                    {pending.map(|p| view! {
                        " "
                        <button type="button" on:click=move |_| p.set(None)>{move || tr!("part-dismiss")}</button>
                    })}
                </p>
            }
            .into_any()
        },
        || {},
    )
}

fn unavailable(attempt: RwSignal<u32>, can_go_back: bool) -> AnyView {
    let nav = expect_context::<Nav>();
    view! {
        <main class="start" data-screen="unavailable">
            <h1>{move || tr!("screen-unavailable")}</h1>
            <p role="alert">{move || tr!("screen-unavailable-detail")}</p>
            <div class="actions">
                <button type="button" on:click=move |_| attempt.update(|n| *n += 1)>{move || tr!("screen-retry")}</button>
                <Show when=move || can_go_back>
                    <button type="button" on:click=move |_| nav.put(Screen::Home)>{move || tr!("back")}</button>
                </Show>
            </div>
        </main>
    }
    .into_any()
}

/// The app's function table, for the split modules' loader: the modules
/// call into the app through it. `wasm-split-cli`'s loader reads the
/// `__indirect_function_table` export, which wasm-bindgen 0.2.130 removes;
/// build_app.py points the loader here instead.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn parley_function_table() -> wasm_bindgen::JsValue {
    wasm_bindgen::function_table()
}
