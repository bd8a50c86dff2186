//! WebRTC calls: the browser adapter of
//! `parley_shared::engine::call::CallMachine`, which holds every call rule
//! (ring timeout, busy, glare, who restarts ICE, candidate buffering, stale
//! signals). This module feeds it user intents, signals from the engine and
//! browser events, performs the actions it returns, and publishes its view
//! for the call screen. Signals go through the engine (encrypted,
//! ephemeral); media goes peer to peer or through coturn.
//!
//! State lives in thread-locals because the browser's callbacks arrive
//! outside any component.

mod rtc;

use std::cell::RefCell;

use js_sys::Array;
use leptos::prelude::*;
use leptos::task::spawn_local;
use parley_shared::crypto::os_rng;
use parley_shared::engine::call::{
    CallAction, CallId, CallMachine, CallSignal, CallView, ConnectionState, IceCandidate, Quality,
    new_call_id,
};
use parley_shared::protocol::ws::DeviceId;
use parley_shared::time::UnixMs;
use wasm_bindgen::JsValue;

use crate::api;
use crate::i18n::Localize as _;
use crate::js::{invoke, set};
use crate::runtime::{self, sleep};
use rtc::RtcError;
pub(crate) use rtc::reattach;

/// Signals the call screen renders from (Copy; safe to keep globally).
#[derive(Clone, Copy)]
pub(crate) struct CallUi {
    /// The machine's view, republished after every step.
    pub view: RwSignal<CallView>,
    /// Microphone muted (local media only: no call rule involved).
    pub muted: RwSignal<bool>,
    /// Camera off.
    pub camera_off: RwSignal<bool>,
}

impl CallUi {
    /// Fresh signals.
    pub(crate) fn new() -> Self {
        Self {
            view: RwSignal::new(CallMachine::new().view()),
            muted: RwSignal::new(false),
            camera_off: RwSignal::new(false),
        }
    }
}

/// The current call's browser objects.
pub(super) struct Media {
    id: CallId,
    pc: JsValue,
    local: JsValue,
    remote: Option<JsValue>,
}

thread_local! {
    static UI: RefCell<Option<CallUi>> = const { RefCell::new(None) };
    static MACHINE: RefCell<CallMachine> = RefCell::new(CallMachine::new());
    pub(super) static MEDIA: RefCell<Option<Media>> = const { RefCell::new(None) };
}

/// Registers the call screen's signals.
pub(crate) fn install(ui: CallUi) {
    UI.with(|u| *u.borrow_mut() = Some(ui));
}

/// One step of the machine: its view is published, then its actions run
/// in order (a step they cause runs before the rest of them).
fn run(f: impl FnOnce(&mut CallMachine, UnixMs) -> Vec<CallAction>) {
    let (actions, view) = MACHINE.with(|m| {
        let mut m = m.borrow_mut();
        let actions = f(&mut m, api::now());
        (actions, m.view())
    });
    if let Some(ui) = UI.with(|u| *u.borrow()) {
        if ui.view.with_untracked(|v| v.call != view.call) {
            ui.muted.set(false);
            ui.camera_off.set(false);
        }
        if ui.view.with_untracked(|v| *v != view) {
            ui.view.set(view);
        }
    }
    for a in actions {
        perform(a);
    }
}

/// A ringing call notifies while the page is hidden.
fn notify_ring() {
    let view = MACHINE.with(|m| m.borrow().view());
    let Some(peer) = view.peer else { return };
    let name = runtime::read(|e| e.contact(&peer).map(|c| c.name.clone()))
        .flatten()
        .unwrap_or_default();
    crate::notify::incoming_call(peer, name, view.video);
}

fn current() -> Option<CallId> {
    MACHINE.with(|m| m.borrow().current())
}

// ------------------------------------------------------------ intents

/// Starts a call to `peer` (nothing while another call runs).
pub(crate) fn start(peer: DeviceId, video: bool) {
    let id = new_call_id(&mut os_rng());
    run(|m, now| m.start(now, id, peer, video));
}

/// Accepts the ringing call.
pub(crate) fn accept() {
    run(CallMachine::accept);
}

/// Declines the ringing call.
pub(crate) fn decline() {
    run(CallMachine::decline);
}

/// Hangs up.
pub(crate) fn hang_up() {
    run(CallMachine::hang_up);
}

/// Closes the ended-call screen.
pub(crate) fn dismiss() {
    run(|m, _| {
        m.dismiss();
        Vec::new()
    });
}

/// Picks a bandwidth mode.
pub(crate) fn set_quality(q: Quality) {
    run(|m, _| m.set_quality(q));
}

/// A signal from a contact (already decrypted and authenticated).
pub(crate) fn on_signal(from: DeviceId, s: CallSignal) {
    run(|m, now| m.signal(now, from, s));
}

pub(super) fn on_connection_state(id: CallId, state: &str) {
    if let Some(state) = ConnectionState::parse(state) {
        run(|m, now| m.connection_state(now, id, state));
    }
}

pub(super) fn on_candidate(id: CallId, c: IceCandidate) {
    run(|m, now| m.candidate_gathered(now, id, c));
}

fn tracks_of(kind: &str) -> Vec<JsValue> {
    let local = MEDIA.with(|c| c.borrow().as_ref().map(|c| c.local.clone()));
    let Some(local) = local else {
        return Vec::new();
    };
    let method = if kind == "audio" {
        "getAudioTracks"
    } else {
        "getVideoTracks"
    };
    invoke(&local, method, &[])
        .map(|a| Array::from(&a).iter().collect())
        .unwrap_or_default()
}

/// Mutes or unmutes the microphone.
pub(crate) fn set_muted(muted: bool) {
    for t in tracks_of("audio") {
        set(&t, "enabled", &(!muted).into());
    }
    if let Some(ui) = UI.with(|u| *u.borrow()) {
        ui.muted.set(muted);
    }
}

/// Turns the camera off or on.
pub(crate) fn set_camera_off(off: bool) {
    for t in tracks_of("video") {
        set(&t, "enabled", &(!off).into());
    }
    if let Some(ui) = UI.with(|u| *u.borrow()) {
        ui.camera_off.set(off);
    }
}

// ------------------------------------------------------------ actions

/// Call `id`'s peer connection, if it is the one held.
fn pc_of(id: CallId) -> Option<JsValue> {
    MEDIA.with(|c| {
        c.borrow()
            .as_ref()
            .filter(|c| c.id == id)
            .map(|c| c.pc.clone())
    })
}

/// Keeps call `id`'s new media if that call is still current; otherwise
/// releases it at once (no camera left on for a call that ended meanwhile).
fn keep(id: CallId, pc: JsValue, local: JsValue) -> bool {
    if current() != Some(id) {
        rtc::close(&pc, &local);
        return false;
    }
    rtc::attach_local(&local);
    let old = MEDIA.with(|c| {
        c.borrow_mut().replace(Media {
            id,
            pc,
            local,
            remote: None,
        })
    });
    if let Some(old) = old {
        rtc::close(&old.pc, &old.local);
    }
    true
}

fn release(id: CallId) {
    let media = MEDIA.with(|c| {
        let mut c = c.borrow_mut();
        if c.as_ref().is_some_and(|m| m.id == id) {
            c.take()
        } else {
            None
        }
    });
    if let Some(m) = media {
        rtc::close(&m.pc, &m.local);
    }
}

/// Runs a WebRTC operation on call `id`'s connection and reports its
/// result; a call without a connection any more reports nothing.
fn on_pc<T: 'static>(
    id: CallId,
    op: impl AsyncFnOnce(JsValue) -> Result<T, RtcError> + 'static,
    done: impl FnOnce(&mut CallMachine, UnixMs, T) -> Vec<CallAction> + 'static,
) {
    let Some(pc) = pc_of(id) else { return };
    spawn_local(async move {
        match op(pc).await {
            Ok(v) => run(|m, now| done(m, now, v)),
            Err(e) => run(|m, now| m.failure(now, id, e.text())),
        }
    });
}

/// Calls the machine at `at` (again, if the timer fired early).
fn arm(at: UnixMs) {
    spawn_local(async move {
        let wait = at.since(api::now()).as_millis();
        sleep(u32::try_from(wait).unwrap_or(u32::MAX)).await;
        run(CallMachine::tick);
        if MACHINE.with(|m| m.borrow().deadline()) == Some(at) {
            arm(at);
        }
    });
}

fn perform(a: CallAction) {
    match a {
        CallAction::Send { to, signal } => {
            let id = signal.call_id;
            if let Some(Err(e)) = runtime::write(|e| e.send_call_signal(&mut os_rng(), &to, signal))
            {
                run(|m, now| m.failure(now, id, e.text()));
            }
        }
        CallAction::StartMedia { call, video } => spawn_local(async move {
            match rtc::open(call, video).await {
                Ok((pc, local)) => {
                    if keep(call, pc, local) {
                        run(|m, now| m.media_ready(now, call));
                    }
                }
                Err(e) => run(|m, now| m.failure(now, call, e.text())),
            }
        }),
        CallAction::StopMedia { call } => release(call),
        CallAction::CreateOffer { call, restart } => on_pc(
            call,
            async move |pc| rtc::offer(&pc, restart).await,
            move |m, now, sdp| m.local_description(now, call, sdp),
        ),
        CallAction::CreateAnswer { call } => on_pc(
            call,
            async |pc| rtc::describe(&pc, "createAnswer", crate::js::obj(&[])).await,
            move |m, now, sdp| m.local_description(now, call, sdp),
        ),
        CallAction::SetRemote { call, kind, sdp } => on_pc(
            call,
            async move |pc| rtc::set_remote(&pc, kind, &sdp).await,
            move |m, now, ()| m.remote_applied(now, call),
        ),
        CallAction::AddCandidate { call, candidate } => {
            if let Some(pc) = pc_of(call) {
                spawn_local(rtc::add_candidate(pc, candidate));
            }
        }
        CallAction::ApplyQuality { call, quality } => {
            if let Some(pc) = pc_of(call) {
                spawn_local(rtc::apply_quality(pc, quality));
            }
        }
        CallAction::SetDeadline { at } => arm(at),
        CallAction::Ring => notify_ring(),
        CallAction::StopRinging => crate::notify::call_ended(),
        // The call screen shows these from the view; stale timers are harmless.
        CallAction::ClearDeadline | CallAction::Ended(_) => {}
    }
}
