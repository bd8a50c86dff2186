//! The engine's home in the page: one engine, one IndexedDB store, one
//! WebSocket. Effects run strictly in order by a single pump, so nothing is
//! sent (or acknowledged) before the records it depends on are durable.

use std::cell::RefCell;

use js_sys::{ArrayBuffer, Promise, Uint8Array};
use leptos::prelude::*;
use parley_shared::crypto::os_rng;
use parley_shared::engine::{
    AccountError, AccountOutcome, Effect, Engine, Reply, RequestId, StoreOp, backoff,
};
use parley_shared::protocol::api::{self as typed, Endpoint, Failure, WebSocket as WsRoute};
use parley_shared::protocol::ws::{ServerFrame, close};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

use crate::api;
use crate::store::Store;

/// Connection state shown in the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Conn {
    /// Connecting or logging in.
    Connecting,
    /// Authenticated and receiving.
    Online,
    /// Not connected; retrying. Why: the login failed, or (`None`) the
    /// connection dropped.
    Offline(Option<SessionError>),
}

impl Conn {
    /// Stable name for `data-state`.
    pub(crate) fn state(&self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Online => "online",
            Self::Offline(_) => "offline",
        }
    }
}

/// Signals the UI renders from.
#[derive(Clone, Copy)]
pub(crate) struct Ui {
    /// What the screens show of the engine, per conversation.
    pub views: crate::view::Views,
    /// Relay connection: online as the engine says, else why not.
    pub conn: RwSignal<Conn>,
    /// A failure that stops the app (storage broken).
    pub fatal: RwSignal<Option<String>>,
}

struct Runtime {
    engine: Engine,
    store: Store,
    ws: Option<WebSocket>,
    attempt: u32,
    pumping: bool,
    halted: bool,
    ui: Ui,
}

thread_local! {
    static RT: RefCell<Option<Runtime>> = const { RefCell::new(None) };
}

/// Starts the runtime with a loaded or new engine, and connects.
pub(crate) fn start(engine: Engine, store: Store, ui: Ui) {
    RT.with(|rt| {
        *rt.borrow_mut() = Some(Runtime {
            engine,
            store,
            ws: None,
            attempt: 0,
            pumping: false,
            halted: false,
            ui,
        });
    });
    crate::view::publish(&ui);
    schedule_pump();
    connect();
    start_ticker();
}

/// Reads the engine (`None` before onboarding).
pub(crate) fn read<R>(f: impl FnOnce(&Engine) -> R) -> Option<R> {
    RT.with(|rt| rt.borrow().as_ref().map(|r| f(&r.engine)))
}

/// Changes the engine, shows the result at once, then runs the effects it
/// produced. A user's own change is on screen before its records are
/// stored (the pump's `Changed` comes after the store), so no screen shows
/// what the user just deleted or changed.
pub(crate) fn write<R>(f: impl FnOnce(&mut Engine) -> R) -> Option<R> {
    let out = RT.with(|rt| rt.borrow_mut().as_mut().map(|r| (f(&mut r.engine), r.ui)));
    let out = out.map(|(out, ui)| {
        crate::view::publish(&ui);
        out
    });
    schedule_pump();
    out
}

/// Feeds the engine something from outside (a frame, a reply, the clock):
/// what it changes reaches the screens through its `Changed` effects.
fn feed<R>(f: impl FnOnce(&mut Engine) -> R) -> Option<R> {
    let out = RT.with(|rt| rt.borrow_mut().as_mut().map(|r| f(&mut r.engine)));
    schedule_pump();
    out
}

/// Whether a runtime is running.
pub(crate) fn started() -> bool {
    RT.with(|rt| rt.borrow().is_some())
}

fn ui() -> Option<Ui> {
    RT.with(|rt| rt.borrow().as_ref().map(|r| r.ui))
}

fn schedule_pump() {
    let start = RT.with(|rt| match rt.borrow_mut().as_mut() {
        Some(r) if !r.pumping && !r.halted => {
            r.pumping = true;
            true
        }
        _ => false,
    });
    if start {
        spawn_local(pump());
    }
}

async fn pump() {
    loop {
        let next = RT.with(|rt| {
            let mut rt = rt.borrow_mut();
            let r = rt.as_mut()?;
            match r.engine.next_effect() {
                Some(e) => Some((e, r.store.clone(), r.ws.clone(), r.ui)),
                None => {
                    r.pumping = false;
                    None
                }
            }
        });
        let Some((effect, store, ws, ui)) = next else {
            return;
        };
        match effect {
            Effect::Store(ops) => {
                if let Err(e) = store.apply(ops).await {
                    // Stop here: later effects may depend on this write.
                    RT.with(|rt| {
                        if let Some(r) = rt.borrow_mut().as_mut() {
                            r.halted = true;
                        }
                    });
                    ui.fatal
                        .set(Some(format!("{e} Reload Parley to continue.")));
                    return;
                }
            }
            Effect::Send(frame) => {
                if let Some(ws) = ws.filter(|w| w.ready_state() == WebSocket::OPEN) {
                    let _ = ws.send_with_u8_array(&frame.to_bytes());
                }
            }
            Effect::Http { id, request } => spawn_local(http(id, request)),
            Effect::Changed => crate::view::publish(&ui),
            Effect::Call(from, signal) => crate::ui::deliver_call_signal(from, signal),
        }
    }
}

fn token() -> Option<String> {
    read(|e| e.token(api::now()).map(str::to_owned)).flatten()
}

/// Why the app has no session with the relay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SessionError {
    /// Registration or login failed.
    #[error(transparent)]
    Account(#[from] AccountError),
    /// Browser storage failed: the runtime stopped.
    #[error("Parley could not save its state. Reload Parley to continue.")]
    Storage,
    /// No account in this browser yet (or it was deleted).
    #[error("There is no account in this browser.")]
    NoAccount,
}

impl crate::i18n::Localize for SessionError {
    fn text(&self) -> String {
        match self {
            Self::Account(e) => e.text(),
            Self::Storage => crate::tr!("session-storage"),
            Self::NoAccount => crate::tr!("session-no-account"),
        }
    }
}

impl SessionError {
    /// The relay failure behind this, if any (for requests that needed it).
    pub(crate) fn failure(&self) -> Failure {
        match self {
            Self::Account(AccountError::Relay(f) | AccountError::ResetUnanswered(f)) => f.clone(),
            _ => Failure::Unreachable,
        }
    }
}

/// Performs one engine request and hands the reply back. Uses the token
/// held, never logs in here: the account flows' own requests need none,
/// and a missing token makes the engine retry later.
async fn http(id: RequestId, req: typed::Request) {
    let reply = api::perform(&req, token().as_deref()).await;
    // What the user must know is in the conversation already (a notice);
    // the console keeps the detail.
    if let Some(Err(e)) = feed(|e| e.http_reply(&mut os_rng(), id, reply, api::now())) {
        web_sys::console::warn_1(&format!("Parley: a relay answer was refused: {e}").into());
    }
}

/// Performs a flow's request, with a token (logging in first) when the
/// route needs one.
pub(crate) async fn perform(req: &typed::Request) -> Reply {
    let token = if req.auth {
        Some(ensure_token().await.map_err(|e| e.failure())?)
    } else {
        None
    };
    api::perform(req, token.as_deref()).await
}

/// A valid session token, logging in first when there is none.
pub(crate) async fn ensure_token() -> Result<String, SessionError> {
    match token() {
        Some(t) => Ok(t),
        None => login().await,
    }
}

/// Waits for the account flow running in the engine to end.
async fn account_done() -> Result<AccountOutcome, SessionError> {
    loop {
        // A failed write stops the pump, and with it the flow.
        if RT.with(|rt| rt.borrow().as_ref().is_some_and(|r| r.halted)) {
            return Err(SessionError::Storage);
        }
        match read(|e| (e.account_busy(), e.account_result().cloned())) {
            None => return Err(SessionError::NoAccount),
            Some((false, Some(r))) => return Ok(r?),
            Some((false, None)) => return Err(AccountError::Relay(Failure::Unreachable).into()),
            Some((true, _)) => sleep(20).await,
        }
    }
}

/// Logs in with the identity key (the engine's login flow, which first
/// finishes or drops a key reset that got no answer) and returns the token.
pub(crate) async fn login() -> Result<String, SessionError> {
    // Joins a flow already running (started by another task of this page).
    write(|e| e.login(&api::origin())).ok_or(SessionError::NoAccount)?;
    let outcome = account_done().await;
    // A flow that ended with a token (this one, or the one joined) is enough.
    match (token(), outcome) {
        (Some(t), _) => Ok(t),
        (None, Err(e)) => Err(e),
        (None, Ok(_)) => Err(AccountError::Relay(Failure::Unreachable).into()),
    }
}

/// Replaces the identity keys (or finishes a reset that got no answer),
/// then reconnects with the new identity's token.
pub(crate) async fn reset_keys() -> Result<AccountOutcome, SessionError> {
    write(|e| e.reset_keys(&mut os_rng(), &api::origin())).ok_or(SessionError::NoAccount)??;
    let outcome = account_done().await?;
    if outcome == AccountOutcome::KeysReplaced {
        reconnect();
    }
    Ok(outcome)
}

/// Runs an engine that has no runtime yet (onboarding, restore) until it
/// has no effects left: performs its requests (with the token, once
/// registered) and returns the writes it asked for, in order, for the store
/// the runtime will use.
pub(crate) async fn run_detached(engine: &mut Engine) -> Vec<StoreOp> {
    let mut writes = Vec::new();
    while let Some(effect) = engine.next_effect() {
        match effect {
            Effect::Store(ops) => writes.extend(ops),
            Effect::Http { id, request } => {
                let token = engine.token(api::now()).map(str::to_owned);
                let reply = api::perform(&request, token.as_deref()).await;
                // The flows' outcomes are read from `account_result` and
                // `restore_result`.
                let _ = engine.http_reply(&mut os_rng(), id, reply, api::now());
            }
            Effect::Send(_) | Effect::Changed | Effect::Call(..) => {}
        }
    }
    writes
}

/// Resolves after `ms` milliseconds.
pub(crate) async fn sleep(ms: u32) {
    let p = Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
        }
    });
    let _ = JsFuture::from(p).await;
}

fn connect() {
    spawn_local(async {
        let Some(ui) = ui() else { return };
        ui.conn.set(Conn::Connecting);
        if token().is_none()
            && let Err(e) = login().await
        {
            ui.conn.set(Conn::Offline(Some(e)));
            reconnect_later();
            return;
        }
        let url = format!(
            "{}{}",
            api::origin().replacen("http", "ws", 1),
            WsRoute.path()
        );
        let Ok(ws) = WebSocket::new(&url) else {
            reconnect_later();
            return;
        };
        ws.set_binary_type(BinaryType::Arraybuffer);
        let onopen = Closure::<dyn FnMut()>::new(move || {
            feed(|e| e.on_open(api::now()));
        });
        let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            let Ok(buf) = ev.data().dyn_into::<ArrayBuffer>() else {
                return;
            };
            let Ok(frame) = ServerFrame::from_bytes(&Uint8Array::new(&buf).to_vec()) else {
                return;
            };
            if matches!(frame, ServerFrame::Ready { .. }) {
                // `Online` is published once the engine has taken `Ready`.
                RT.with(|rt| {
                    if let Some(r) = rt.borrow_mut().as_mut() {
                        r.attempt = 0;
                    }
                });
            }
            feed(|e| e.handle_frame(&mut os_rng(), frame, api::now()));
        });
        let onclose = Closure::<dyn FnMut(CloseEvent)>::new(move |ev: CloseEvent| {
            if ev.code() == close::REMOVED {
                // Removed from the account: the relay erased this device, so
                // there is nothing to reconnect to. Expected when this device
                // left the account itself (Settings → delete).
                let leaving = read(|e| e.is_leaving()).unwrap_or(false);
                stop();
                if !leaving {
                    ui.fatal.set(Some(crate::tr!("device-removed")));
                }
                return;
            }
            feed(|e| {
                e.on_close();
                if close::token_is_dead(ev.code()) {
                    e.clear_token();
                }
            });
            ui.conn.set(Conn::Offline(None));
            RT.with(|rt| {
                if let Some(r) = rt.borrow_mut().as_mut() {
                    r.ws = None;
                }
            });
            reconnect_later();
        });
        ws.set_onopen(Some(onopen.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        ws.set_onclose(Some(onclose.as_ref().unchecked_ref()));
        // The socket owns its handlers for its lifetime.
        onopen.forget();
        onmessage.forget();
        onclose.forget();
        RT.with(|rt| {
            if let Some(r) = rt.borrow_mut().as_mut() {
                r.ws = Some(ws);
            }
        });
    });
}

fn reconnect_later() {
    let attempt = RT.with(|rt| {
        rt.borrow_mut().as_mut().map(|r| {
            r.attempt = r.attempt.saturating_add(1);
            r.attempt - 1
        })
    });
    let Some(attempt) = attempt else { return };
    let delay = backoff::delay_ms(attempt, js_sys::Math::random());
    spawn_local(async move {
        sleep(delay as u32).await;
        connect();
    });
}

/// Once a second: disappearing messages, transient send retries, prekey checks.
fn start_ticker() {
    spawn_local(async {
        loop {
            sleep(1000).await;
            if !started() {
                return;
            }
            feed(|e| e.tick(api::now()));
        }
    });
}

/// Drops the connection; the close handler reconnects (with a new token
/// after a key reset).
pub(crate) fn reconnect() {
    let ws = RT.with(|rt| rt.borrow().as_ref().and_then(|r| r.ws.clone()));
    if let Some(ws) = ws {
        let _ = ws.close();
    }
}

/// Closes the connection and forgets the runtime (account deleted).
pub(crate) fn stop() {
    RT.with(|rt| {
        if let Some(r) = rt.borrow_mut().take()
            && let Some(ws) = r.ws
        {
            ws.set_onclose(None);
            let _ = ws.close();
        }
    });
}
