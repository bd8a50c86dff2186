//! WebRTC calls: the browser half of `parley_shared::engine::call`. Signals
//! go through the engine (encrypted, ephemeral); media goes peer to peer or
//! through coturn with credentials from `/api/v1/turn`.
//!
//! Browser objects are driven through `js_sys::Reflect` (one small helper
//! instead of dozens of web-sys features); state lives in a thread-local
//! because the browser's callbacks arrive outside any component.

mod rtc;

use std::cell::RefCell;

use js_sys::Array;
use leptos::prelude::*;
use leptos::task::spawn_local;
use parley_shared::crypto::os_rng;
use parley_shared::engine::call::{CallId, CallKind, CallSignal, HangupReason, Quality};
use parley_shared::protocol::ws::DeviceId;
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::*;

use crate::api::now_ms;
use crate::js::{get, invoke, invoke_async, obj, set};
use crate::runtime::{self, sleep};
pub(crate) use rtc::reattach;
use rtc::{add_tracks, attach_local, describe, make_pc, media, rtc_config, set_remote, turn};

/// How long an unanswered call rings.
const RING_MS: u64 = 45_000;

/// What the call screen shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CallState {
    /// No call.
    Idle,
    /// Calling the peer; their phone rings.
    Outgoing,
    /// The peer is calling us.
    Incoming,
    /// Accepted; media is being connected.
    Connecting,
    /// Media flows.
    Connected,
    /// The connection dropped; restarting ICE.
    Reconnecting,
    /// Over, with the reason.
    Ended(String),
}

impl CallState {
    /// Stable name for `data-state`.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Outgoing => "outgoing",
            Self::Incoming => "incoming",
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Reconnecting => "reconnecting",
            Self::Ended(_) => "ended",
        }
    }
}

/// Signals the call screen renders from (Copy; safe to keep globally).
#[derive(Clone, Copy)]
pub(crate) struct CallUi {
    /// Call state.
    pub state: RwSignal<CallState>,
    /// The other side.
    pub peer: RwSignal<Option<DeviceId>>,
    /// Video call.
    pub video: RwSignal<bool>,
    /// Microphone muted.
    pub muted: RwSignal<bool>,
    /// Camera off.
    pub camera_off: RwSignal<bool>,
    /// Bandwidth mode.
    pub quality: RwSignal<Quality>,
    /// Unix ms when media first connected.
    pub connected_at: RwSignal<Option<u64>>,
}

impl CallUi {
    /// Fresh signals.
    pub(crate) fn new() -> Self {
        Self {
            state: RwSignal::new(CallState::Idle),
            peer: RwSignal::new(None),
            video: RwSignal::new(false),
            muted: RwSignal::new(false),
            camera_off: RwSignal::new(false),
            quality: RwSignal::new(Quality::Normal),
            connected_at: RwSignal::new(None),
        }
    }
}

pub(super) struct Call {
    id: CallId,
    peer: DeviceId,
    outgoing: bool,
    pc: Option<JsValue>,
    local: Option<JsValue>,
    remote: Option<JsValue>,
    offer: Option<String>,
    pending: Vec<JsValue>,
    have_remote: bool,
}

thread_local! {
    static UI: RefCell<Option<CallUi>> = const { RefCell::new(None) };
    pub(super) static CALL: RefCell<Option<Call>> = const { RefCell::new(None) };
}

/// Registers the call screen's signals.
pub(crate) fn install(ui: CallUi) {
    UI.with(|u| *u.borrow_mut() = Some(ui));
}

fn ui() -> Option<CallUi> {
    UI.with(|u| *u.borrow())
}

fn set_state(s: CallState) {
    if let Some(ui) = ui() {
        if s == CallState::Connected && ui.connected_at.get_untracked().is_none() {
            ui.connected_at.set(Some(now_ms()));
        }
        ui.state.set(s);
    }
}

// ------------------------------------------------------------ signaling

pub(super) fn signal(peer: DeviceId, id: CallId, kind: CallKind) {
    let s = CallSignal {
        call_id: id,
        sent_at: now_ms(),
        kind,
    };
    if let Some(Err(e)) = runtime::write(|e| e.send_call_signal(&mut os_rng(), &peer, s)) {
        end(&format!("Call failed: {e}"), None);
    }
}

fn current() -> Option<(CallId, DeviceId, bool)> {
    CALL.with(|c| c.borrow().as_ref().map(|c| (c.id, c.peer, c.outgoing)))
}

fn pc() -> Option<JsValue> {
    CALL.with(|c| c.borrow().as_ref().and_then(|c| c.pc.clone()))
}

// ------------------------------------------------------------ user actions

/// Ends the call after a local failure, telling the peer why.
fn fail(peer: DeviceId, id: CallId, why: &str) {
    signal(
        peer,
        id,
        CallKind::Hangup {
            reason: HangupReason::Failed,
        },
    );
    end(&format!("Call failed: {why}"), Some(id));
}

/// Starts a call to `peer`.
pub(crate) fn start(peer: DeviceId, video: bool) {
    if current().is_some() {
        return;
    }
    let mut id = [0u8; 16];
    rand_fill(&mut id);
    begin(id, peer, true, None, video);
    set_state(CallState::Outgoing);
    spawn_local(async move {
        if let Err(e) = dial(id, peer, video).await {
            fail(peer, id, &e);
            return;
        }
        sleep(RING_MS as u32).await;
        if current().is_some_and(|c| c.0 == id)
            && ui().is_some_and(|u| u.state.get_untracked() == CallState::Outgoing)
        {
            signal(
                peer,
                id,
                CallKind::Hangup {
                    reason: HangupReason::Unanswered,
                },
            );
            end(HangupReason::Unanswered.describe(), Some(id));
        }
    });
}

fn rand_fill(b: &mut [u8]) {
    if let Some(c) = web_sys::window().and_then(|w| w.crypto().ok()) {
        let _ = c.get_random_values_with_u8_array(b);
    }
}

fn begin(id: CallId, peer: DeviceId, outgoing: bool, offer: Option<String>, video: bool) {
    CALL.with(|c| {
        *c.borrow_mut() = Some(Call {
            id,
            peer,
            outgoing,
            pc: None,
            local: None,
            remote: None,
            offer,
            pending: Vec::new(),
            have_remote: false,
        });
    });
    if let Some(ui) = ui() {
        ui.peer.set(Some(peer));
        ui.video.set(video);
        ui.muted.set(false);
        ui.camera_off.set(false);
        ui.connected_at.set(None);
    }
}

/// TURN credentials, camera/microphone and a connection carrying them, for
/// either side; `None` when call `id` ended meanwhile (all released).
async fn connect_media(id: CallId, peer: DeviceId, video: bool) -> Result<Option<JsValue>, String> {
    let creds = turn().await?;
    let stream = media(video).await?;
    let pc = make_pc(&creds, id, peer)?;
    add_tracks(&pc, &stream)?;
    Ok(store_media(id, &pc, &stream).then_some(pc))
}

async fn dial(id: CallId, peer: DeviceId, video: bool) -> Result<(), String> {
    let Some(pc) = connect_media(id, peer, video).await? else {
        return Ok(());
    };
    offer(&pc, id, peer, video, false).await
}

/// Creates an offer (with new ICE credentials when `restart`) and sends it,
/// unless call `id` ended meanwhile.
async fn offer(
    pc: &JsValue,
    id: CallId,
    peer: DeviceId,
    video: bool,
    restart: bool,
) -> Result<(), String> {
    let sdp = describe(pc, "createOffer", obj(&[("iceRestart", restart.into())])).await?;
    if still_current(id) {
        signal(
            peer,
            id,
            CallKind::Offer {
                sdp,
                video,
                restart,
            },
        );
    }
    Ok(())
}

/// Keeps the connection and camera for call `id`, unless that call ended
/// while they were being set up: then they are released at once (no camera
/// left on, no offer for a dead call). False in that case.
fn store_media(id: CallId, pc: &JsValue, stream: &JsValue) -> bool {
    let kept = CALL.with(|c| match c.borrow_mut().as_mut() {
        Some(c) if c.id == id => {
            c.pc = Some(pc.clone());
            c.local = Some(stream.clone());
            true
        }
        _ => false,
    });
    if kept {
        attach_local(stream);
    } else {
        let _ = invoke(pc, "close", &[]);
        if let Ok(t) = invoke(stream, "getTracks", &[]) {
            for t in Array::from(&t).iter() {
                let _ = invoke(&t, "stop", &[]);
            }
        }
    }
    kept
}

fn still_current(id: CallId) -> bool {
    current().is_some_and(|c| c.0 == id)
}

/// Accepts the ringing call.
pub(crate) fn accept() {
    let Some((id, peer, _)) = current() else {
        return;
    };
    let offer = CALL.with(|c| c.borrow().as_ref().and_then(|c| c.offer.clone()));
    let Some(offer) = offer else { return };
    let video = ui().is_some_and(|u| u.video.get_untracked());
    set_state(CallState::Connecting);
    spawn_local(async move {
        let r: Result<(), String> = async {
            let Some(pc) = connect_media(id, peer, video).await? else {
                return Ok(());
            };
            set_remote(&pc, "offer", &offer).await?;
            let sdp = describe(&pc, "createAnswer", obj(&[])).await?;
            if still_current(id) {
                signal(peer, id, CallKind::Answer { sdp });
            }
            Ok(())
        }
        .await;
        if let Err(e) = r {
            fail(peer, id, &e);
        }
    });
}

/// Declines the ringing call.
pub(crate) fn decline() {
    if let Some((id, peer, _)) = current() {
        signal(
            peer,
            id,
            CallKind::Hangup {
                reason: HangupReason::Declined,
            },
        );
        end(HangupReason::Declined.describe(), Some(id));
    }
}

/// Hangs up.
pub(crate) fn hang_up() {
    if let Some((id, peer, _)) = current() {
        signal(
            peer,
            id,
            CallKind::Hangup {
                reason: HangupReason::Ended,
            },
        );
        end(HangupReason::Ended.describe(), Some(id));
    }
}

/// Closes the ended-call screen.
pub(crate) fn dismiss() {
    if current().is_none() {
        set_state(CallState::Idle);
    }
}

fn tracks_of(kind: &str) -> Vec<JsValue> {
    let local = CALL.with(|c| c.borrow().as_ref().and_then(|c| c.local.clone()));
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
    if let Some(ui) = ui() {
        ui.muted.set(muted);
    }
}

/// Turns the camera off or on.
pub(crate) fn set_camera_off(off: bool) {
    for t in tracks_of("video") {
        set(&t, "enabled", &(!off).into());
    }
    if let Some(ui) = ui() {
        ui.camera_off.set(off);
    }
}

/// Applies a bandwidth mode to the senders (RTCRtpSender.setParameters).
pub(crate) fn set_quality(q: Quality) {
    if let Some(ui) = ui() {
        ui.quality.set(q);
    }
    let Some(pc) = pc() else { return };
    spawn_local(async move {
        let senders: Array = invoke(&pc, "getSenders", &[])
            .map(|a| Array::from(&a))
            .unwrap_or_default();
        for s in senders.iter() {
            let track = get(&s, "track");
            if track.is_null() || track.is_undefined() {
                continue;
            }
            let bps = if get(&track, "kind").as_string().as_deref() == Some("audio") {
                q.audio_bps()
            } else {
                q.video_bps()
            };
            let Ok(params) = invoke(&s, "getParameters", &[]) else {
                continue;
            };
            let mut encodings: Array = get(&params, "encodings").dyn_into().unwrap_or_default();
            if encodings.length() == 0 {
                encodings = Array::of1(&obj(&[]));
                set(&params, "encodings", &encodings);
            }
            set(&encodings.get(0), "maxBitrate", &f64::from(bps).into());
            let _ = invoke_async(&s, "setParameters", &[params]).await;
        }
    });
}

fn end(reason: &str, id: Option<CallId>) {
    let call = CALL.with(|c| {
        let mut c = c.borrow_mut();
        match (c.as_ref(), id) {
            (Some(cur), Some(id)) if cur.id != id => None,
            _ => c.take(),
        }
    });
    if let Some(call) = call {
        if let Some(pc) = call.pc {
            let _ = invoke(&pc, "close", &[]);
        }
        if let Some(local) = call.local
            && let Ok(t) = invoke(&local, "getTracks", &[])
        {
            for t in Array::from(&t).iter() {
                let _ = invoke(&t, "stop", &[]);
            }
        }
    }
    set_state(CallState::Ended(reason.to_owned()));
}

pub(super) fn on_connection_state(id: CallId, state: &str) {
    // A connection of an earlier call (closed, events still queued) is not this call.
    if current().map(|c| c.0) != Some(id) {
        return;
    }
    match state {
        "connected" => {
            set_state(CallState::Connected);
            if let Some(ui) = ui() {
                set_quality(ui.quality.get_untracked());
            }
        }
        // Recoverable: the caller restarts ICE with fresh TURN credentials.
        "disconnected" => {
            set_state(CallState::Reconnecting);
            if let Some((id, peer, true)) = current() {
                spawn_local(async move {
                    if let Err(e) = restart_ice(id, peer).await {
                        end(&format!("Call failed: {e}"), Some(id));
                    }
                });
            }
        }
        "failed" => {
            if let Some((id, peer, _)) = current() {
                signal(
                    peer,
                    id,
                    CallKind::Hangup {
                        reason: HangupReason::Failed,
                    },
                );
                end(HangupReason::Failed.describe(), Some(id));
            }
        }
        _ => {}
    }
}

async fn restart_ice(id: CallId, peer: DeviceId) -> Result<(), String> {
    let Some(pc) = pc() else { return Ok(()) };
    let creds = turn().await?;
    let _ = invoke(&pc, "setConfiguration", &[rtc_config(&creds)]);
    let video = ui().is_some_and(|u| u.video.get_untracked());
    offer(&pc, id, peer, video, true).await
}

/// A signal from a contact (already decrypted and authenticated).
pub(crate) fn on_signal(from: DeviceId, s: CallSignal) {
    let cur = current();
    match s.kind {
        CallKind::Offer {
            sdp,
            video,
            restart: false,
        } => {
            if cur.is_some() {
                if cur.is_some_and(|c| c.0 != s.call_id) {
                    signal(
                        from,
                        s.call_id,
                        CallKind::Hangup {
                            reason: HangupReason::Busy,
                        },
                    );
                }
                return;
            }
            begin(s.call_id, from, false, Some(sdp), video);
            set_state(CallState::Incoming);
        }
        CallKind::Offer {
            sdp, restart: true, ..
        } => {
            let (Some((id, peer, _)), Some(pc)) = (cur, pc()) else {
                return;
            };
            if id != s.call_id || peer != from {
                return;
            }
            spawn_local(async move {
                let r = async {
                    set_remote(&pc, "offer", &sdp).await?;
                    let sdp = describe(&pc, "createAnswer", obj(&[])).await?;
                    signal(peer, id, CallKind::Answer { sdp });
                    Ok::<(), String>(())
                }
                .await;
                if let Err(e) = r {
                    end(&format!("Call failed: {e}"), Some(id));
                }
            });
        }
        CallKind::Answer { sdp } => {
            let (Some((id, peer, _)), Some(pc)) = (cur, pc()) else {
                return;
            };
            if id != s.call_id || peer != from {
                return;
            }
            if ui().is_some_and(|u| u.state.get_untracked() == CallState::Outgoing) {
                set_state(CallState::Connecting);
            }
            spawn_local(async move {
                if let Err(e) = set_remote(&pc, "answer", &sdp).await {
                    end(&format!("Call failed: {e}"), Some(id));
                }
            });
        }
        CallKind::Candidate {
            candidate,
            sdp_mid,
            sdp_mline_index,
        } => {
            let Some((id, peer, _)) = cur else { return };
            if id != s.call_id || peer != from {
                return;
            }
            let init = obj(&[
                ("candidate", candidate.as_str().into()),
                (
                    "sdpMid",
                    sdp_mid.as_deref().map_or(JsValue::NULL, JsValue::from_str),
                ),
                (
                    "sdpMLineIndex",
                    sdp_mline_index.map_or(JsValue::NULL, |n| JsValue::from_f64(f64::from(n))),
                ),
            ]);
            let ready = CALL.with(|c| {
                let mut c = c.borrow_mut();
                let c = c.as_mut()?;
                if c.have_remote {
                    c.pc.clone()
                } else {
                    c.pending.push(init.clone());
                    None
                }
            });
            if let Some(pc) = ready {
                spawn_local(async move {
                    let _ = invoke_async(&pc, "addIceCandidate", &[init]).await;
                });
            }
        }
        CallKind::Hangup { reason } => {
            if cur.is_some_and(|c| c.0 == s.call_id && c.1 == from) {
                end(reason.describe(), Some(s.call_id));
            }
        }
    }
}
