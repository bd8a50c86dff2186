//! Browser media plumbing for calls: TURN credentials, getUserMedia, the
//! RTCPeerConnection and its descriptions, and where streams are shown.

use js_sys::{Array, Function, Object, Reflect};
use leptos::task::spawn_local;
use parley_shared::engine::call::{CallId, IceCandidate, Quality, SdpKind};
use parley_shared::protocol::api::{Failure, GetTurn, Json};
use parley_shared::protocol::turn::TurnCredentials;
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::{MEDIA, on_candidate, on_connection_state};
use crate::api;
use crate::js::{get, invoke, invoke_async, js_err, obj, set};
use crate::runtime::{self, SessionError};

/// Why the browser side of a call failed (the text is shown and ends the call).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RtcError {
    /// No session with the relay for TURN credentials.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The relay refused TURN credentials.
    #[error(transparent)]
    Turn(#[from] Failure),
    /// No media devices here (not a secure context, or no window).
    #[error("This browser cannot use a microphone here (it needs HTTPS).")]
    NoMediaDevices,
    /// The user or the browser refused, or there is no such device.
    #[error("Microphone or camera access was refused or is not available.")]
    MediaRefused,
    /// No WebRTC in this browser.
    #[error("This browser cannot make calls (no WebRTC).")]
    NoWebRtc,
    /// A WebRTC call failed, with the browser's explanation.
    #[error("The browser's call connection failed: {0}")]
    Browser(String),
}

impl crate::i18n::Localize for RtcError {
    fn text(&self) -> String {
        match self {
            Self::Session(e) => e.text(),
            Self::Turn(f) => f.text(),
            Self::NoMediaDevices => crate::tr!("rtc-no-media-devices"),
            Self::MediaRefused => crate::tr!("rtc-media-refused"),
            Self::NoWebRtc => crate::tr!("rtc-no-webrtc"),
            Self::Browser(why) => crate::tr!("rtc-browser", detail = why.clone()),
        }
    }
}

fn browser(e: JsValue) -> RtcError {
    RtcError::Browser(js_err(e))
}

async fn turn() -> Result<Option<TurnCredentials>, RtcError> {
    let token = runtime::ensure_token().await?;
    match api::send(&GetTurn, Some(&token), &()).await {
        // No URLs: this relay has no TURN server; direct connections only.
        Ok(Json(c)) => Ok((!c.urls.is_empty()).then_some(c)),
        Err(f) => Err(f.into()),
    }
}

fn rtc_config(creds: &Option<TurnCredentials>) -> JsValue {
    let servers = Array::new();
    let mut policy = "all";
    if let Some(c) = creds {
        let urls: Array = c.urls.iter().map(|u| JsValue::from_str(u)).collect();
        servers.push(&obj(&[
            ("urls", urls.into()),
            ("username", c.username.as_str().into()),
            ("credential", c.credential.as_str().into()),
        ]));
        if c.relay_only {
            policy = "relay";
        }
    }
    obj(&[
        ("iceServers", servers.into()),
        ("iceTransportPolicy", policy.into()),
    ])
}

async fn media(video: bool) -> Result<JsValue, RtcError> {
    let devices = web_sys::window()
        .ok_or(RtcError::NoMediaDevices)?
        .navigator()
        .media_devices()
        .map_err(|_| RtcError::NoMediaDevices)?;
    let c = obj(&[("audio", true.into()), ("video", video.into())]);
    invoke_async(&devices.into(), "getUserMedia", &[c])
        .await
        .map_err(|_| RtcError::MediaRefused)
}

fn attach(id: &str, stream: &JsValue) {
    let el = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id));
    let Some(el) = el else { return };
    // Re-setting the same stream would restart loading and abort playback.
    if Object::is(&get(&el, "srcObject"), stream) {
        return;
    }
    set(&el, "srcObject", stream);
    if let Ok(p) = invoke(&el, "play", &[]).and_then(|p| p.dyn_into::<js_sys::Promise>()) {
        // A newer load may interrupt this one; that is not an error.
        spawn_local(async move {
            let _ = JsFuture::from(p).await;
        });
    }
}

fn attach_remote(stream: &JsValue) {
    attach("remote-media", stream);
}

pub(super) fn attach_local(stream: &JsValue) {
    attach("local-media", stream);
}

/// Re-attaches streams after the call screen re-renders.
pub(crate) fn reattach() {
    MEDIA.with(|c| {
        if let Some(c) = c.borrow().as_ref() {
            if let Some(r) = &c.remote {
                attach_remote(r);
            }
            attach_local(&c.local);
        }
    });
}

fn make_pc(creds: &Option<TurnCredentials>, id: CallId) -> Result<JsValue, RtcError> {
    let ctor: Function = get(&js_sys::global(), "RTCPeerConnection")
        .dyn_into()
        .map_err(|_| RtcError::NoWebRtc)?;
    let pc: JsValue =
        Reflect::construct(&ctor, &Array::of1(&rtc_config(creds))).map_err(browser)?;
    let on_candidate = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
        let c = get(&ev, "candidate");
        if c.is_null() || c.is_undefined() {
            return;
        }
        let candidate = get(&c, "candidate").as_string().unwrap_or_default();
        if candidate.is_empty() {
            return;
        }
        on_candidate(
            id,
            IceCandidate {
                candidate,
                sdp_mid: get(&c, "sdpMid").as_string(),
                sdp_mline_index: get(&c, "sdpMLineIndex").as_f64().map(|n| n as u16),
            },
        );
    });
    let pc2 = pc.clone();
    let on_track = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
        let streams: Array = get(&ev, "streams").dyn_into().unwrap_or_default();
        let stream = streams.get(0);
        // Events of an ended call's connection may still be queued.
        let ours = MEDIA.with(|c| match c.borrow_mut().as_mut() {
            Some(c) if c.id == id && !stream.is_undefined() => {
                c.remote = Some(stream.clone());
                true
            }
            _ => false,
        });
        if ours {
            attach_remote(&stream);
        }
    });
    let on_state = Closure::<dyn FnMut()>::new(move || {
        let state = get(&pc2, "connectionState").as_string().unwrap_or_default();
        on_connection_state(id, &state);
    });
    set(&pc, "onicecandidate", on_candidate.as_ref());
    set(&pc, "ontrack", on_track.as_ref());
    set(&pc, "onconnectionstatechange", on_state.as_ref());
    // The connection owns its handlers until it is closed.
    on_candidate.forget();
    on_track.forget();
    on_state.forget();
    Ok(pc)
}

fn add_tracks(pc: &JsValue, stream: &JsValue) -> Result<(), RtcError> {
    let tracks: Array = invoke(stream, "getTracks", &[]).map_err(browser)?.into();
    for t in tracks.iter() {
        invoke(pc, "addTrack", &[t, stream.clone()]).map_err(browser)?;
    }
    Ok(())
}

pub(super) async fn describe(
    pc: &JsValue,
    method: &str,
    opts: JsValue,
) -> Result<String, RtcError> {
    let desc = invoke_async(pc, method, &[opts]).await.map_err(browser)?;
    invoke_async(pc, "setLocalDescription", std::slice::from_ref(&desc))
        .await
        .map_err(browser)?;
    Ok(get(&desc, "sdp").as_string().unwrap_or_default())
}

pub(super) async fn set_remote(pc: &JsValue, kind: SdpKind, sdp: &str) -> Result<(), RtcError> {
    let kind = match kind {
        SdpKind::Offer => "offer",
        SdpKind::Answer => "answer",
    };
    let d = obj(&[("type", kind.into()), ("sdp", sdp.into())]);
    invoke_async(pc, "setRemoteDescription", &[d])
        .await
        .map_err(browser)?;
    Ok(())
}

/// TURN credentials, camera/microphone and a connection carrying them.
pub(super) async fn open(id: CallId, video: bool) -> Result<(JsValue, JsValue), RtcError> {
    let creds = turn().await?;
    let stream = media(video).await?;
    let pc = make_pc(&creds, id).and_then(|pc| add_tracks(&pc, &stream).map(|()| pc));
    match pc {
        Ok(pc) => Ok((pc, stream)),
        Err(e) => {
            stop_tracks(&stream);
            Err(e)
        }
    }
}

/// Creates and sets an offer; a restart first fetches fresh TURN
/// credentials and asks for new ICE credentials.
pub(super) async fn offer(pc: &JsValue, restart: bool) -> Result<String, RtcError> {
    if restart {
        let creds = turn().await?;
        invoke(pc, "setConfiguration", &[rtc_config(&creds)]).map_err(browser)?;
    }
    describe(pc, "createOffer", obj(&[("iceRestart", restart.into())])).await
}

fn stop_tracks(stream: &JsValue) {
    if let Ok(t) = invoke(stream, "getTracks", &[]) {
        for t in Array::from(&t).iter() {
            let _ = invoke(&t, "stop", &[]);
        }
    }
}

/// Closes a connection and stops its camera and microphone.
pub(super) fn close(pc: &JsValue, local: &JsValue) {
    let _ = invoke(pc, "close", &[]);
    stop_tracks(local);
}

pub(super) async fn add_candidate(pc: JsValue, c: IceCandidate) {
    let init = obj(&[
        ("candidate", c.candidate.as_str().into()),
        (
            "sdpMid",
            c.sdp_mid
                .as_deref()
                .map_or(JsValue::NULL, JsValue::from_str),
        ),
        (
            "sdpMLineIndex",
            c.sdp_mline_index
                .map_or(JsValue::NULL, |n| JsValue::from_f64(f64::from(n))),
        ),
    ]);
    // A candidate the browser rejects only loses that path.
    let _ = invoke_async(&pc, "addIceCandidate", &[init]).await;
}

/// Applies a bandwidth mode to the senders (RTCRtpSender.setParameters),
/// live, without renegotiation.
pub(super) async fn apply_quality(pc: JsValue, q: Quality) {
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
}
