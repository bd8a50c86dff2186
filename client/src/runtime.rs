//! The engine's home in the page: one engine, one IndexedDB store, one
//! WebSocket. Effects run strictly in order by a single pump, so nothing is
//! sent (or acknowledged) before the records it depends on are durable.

use std::cell::RefCell;

use js_sys::{ArrayBuffer, Promise, Uint8Array};
use leptos::prelude::*;
use parley_shared::crypto::os_rng;
use parley_shared::engine::{Effect, Engine, backoff};
use parley_shared::protocol::auth::{
    BundleResponse, Challenge, KeyUpload, PreKeyStatus, Session, decode_b64, encode_b64,
};
use parley_shared::protocol::ws::{DeviceId, ServerFrame, close};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

use crate::api::{self, Failure, now_ms};
use crate::store::Store;

/// Connection state shown in the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Conn {
    /// Connecting or logging in.
    Connecting,
    /// Authenticated and receiving.
    Online,
    /// Not connected; retrying. The text says why.
    Offline(String),
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

/// Changes the engine, then runs the effects it produced.
pub(crate) fn write<R>(f: impl FnOnce(&mut Engine) -> R) -> Option<R> {
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
            Effect::FetchBundle(dev) => spawn_local(fetch_bundle(dev)),
            Effect::UploadPreKeys(up) => spawn_local(prekeys(Some(up))),
            Effect::CheckPreKeys => spawn_local(prekeys(None)),
            Effect::Changed => crate::view::publish(&ui),
            Effect::Call(from, signal) => crate::call::on_signal(from, signal),
        }
    }
}

fn token() -> Option<String> {
    read(|e| e.token(now_ms()).map(str::to_owned)).flatten()
}

async fn fetch_bundle(dev: DeviceId) {
    let Some(t) = token() else { return };
    let path = format!("/api/v1/devices/{}/bundle", encode_b64(&dev));
    let Ok(b) = api::json::<(), BundleResponse>("GET", &path, Some(&t), None).await else {
        return; // retried on the next `Ready`
    };
    if let Some(raw) = decode_b64(&b.bundle) {
        let _ = write(|e| e.bundle_fetched(&mut os_rng(), &dev, &raw));
    }
}

/// Uploads prekeys, or only asks for their status; either way the relay's
/// answer goes to the engine, which decides what else to upload. A failure
/// is retried by the next check (every connection, and periodically).
async fn prekeys(up: Option<KeyUpload>) {
    let Some(t) = token() else { return };
    let answer = match &up {
        Some(up) => {
            api::json::<_, PreKeyStatus>("PUT", "/api/v1/prekeys", Some(&t), Some(up)).await
        }
        None => {
            api::json::<(), PreKeyStatus>("GET", "/api/v1/prekeys/status", Some(&t), None).await
        }
    };
    if let Ok(status) = answer {
        write(|e| e.prekey_status(&mut os_rng(), &status, now_ms()));
    }
}

/// A valid session token, logging in first when there is none.
pub(crate) async fn ensure_token() -> Result<String, String> {
    match token() {
        Some(t) => Ok(t),
        None => login().await.map_err(|f| f.message()),
    }
}

/// Resolves once every effect queued so far has run, stores included; fails
/// if a store write failed (the runtime is halted then).
pub(crate) async fn flushed() -> Result<(), String> {
    loop {
        let state = RT.with(|rt| {
            rt.borrow()
                .as_ref()
                .map(|r| (r.halted, r.pumping || r.engine.has_effects()))
        });
        match state {
            None | Some((true, _)) => return Err("Parley could not save its state.".into()),
            Some((false, false)) => return Ok(()),
            Some((false, true)) => sleep(10).await,
        }
    }
}

/// Finishes a key reset whose registration got no answer (an earlier page
/// load, or a lost response): if the relay registered the new identity, log
/// in with it and switch. Only when the old identity still logs in (which
/// proves the relay never registered the new one: registering erases the
/// old device) is the reset dropped. Anything else keeps it for next time.
pub(crate) async fn resume_rotation() -> Result<String, Failure> {
    let c: Challenge = api::json::<(), _>("POST", "/api/v1/auth/challenge", None, None).await?;
    let req = read(|e| e.rotation_login_request(&api::origin(), &c.challenge))
        .flatten()
        .ok_or_else(bad_challenge)?;
    match api::json::<_, Session>("POST", "/api/v1/auth/login", None, Some(&req)).await {
        Ok(s) => {
            let token = s.token.clone();
            // False only if a concurrent resume switched first: same identity.
            write(|e| e.finish_rotation(s.token, s.expires_at));
            Ok(token)
        }
        // The engine drops the reset if the old identity still logs in.
        Err(Failure::Refused(..)) => login_with_current_identity().await,
        Err(other) => Err(other),
    }
}

fn bad_challenge() -> Failure {
    Failure::Refused(0, None, "The relay sent an invalid challenge.".into())
}

/// Logs in with the identity key (challenge–response) and keeps the token.
pub(crate) async fn login() -> Result<String, Failure> {
    if read(Engine::rotation_to_resume) == Some(true) {
        return resume_rotation().await;
    }
    login_with_current_identity().await
}

async fn login_with_current_identity() -> Result<String, Failure> {
    let c: Challenge = api::json::<(), _>("POST", "/api/v1/auth/challenge", None, None).await?;
    let req = read(|e| e.login_request(&api::origin(), &c.challenge))
        .flatten()
        .ok_or_else(bad_challenge)?;
    let s: Session = api::json("POST", "/api/v1/auth/login", None, Some(&req)).await?;
    let token = s.token.clone();
    write(|e| e.set_token(s.token, s.expires_at));
    Ok(token)
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
            && let Err(f) = login().await
        {
            let why = match f {
                Failure::Unreachable => "relay unreachable".to_owned(),
                other => other.message(),
            };
            ui.conn.set(Conn::Offline(why));
            reconnect_later();
            return;
        }
        let url = format!("{}/api/v1/ws", api::origin().replacen("http", "ws", 1));
        let Ok(ws) = WebSocket::new(&url) else {
            reconnect_later();
            return;
        };
        ws.set_binary_type(BinaryType::Arraybuffer);
        let onopen = Closure::<dyn FnMut()>::new(move || {
            write(|e| e.on_open(now_ms()));
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
            write(|e| e.handle_frame(&mut os_rng(), frame, now_ms()));
        });
        let onclose = Closure::<dyn FnMut(CloseEvent)>::new(move |ev: CloseEvent| {
            write(|e| {
                e.on_close();
                if close::token_is_dead(ev.code()) {
                    e.clear_token();
                }
            });
            ui.conn
                .set(Conn::Offline("connection lost; reconnecting".into()));
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
            write(|e| e.tick(now_ms()));
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
