//! Browser media plumbing for calls: TURN credentials, getUserMedia, the
//! RTCPeerConnection and its descriptions, and where streams are shown.

use js_sys::{Array, Function, Object, Reflect};
use leptos::task::spawn_local;
use parley_shared::engine::call::{CallId, CallKind};
use parley_shared::protocol::ErrorCode;
use parley_shared::protocol::api::{GetTurn, Json};
use parley_shared::protocol::turn::TurnCredentials;
use parley_shared::protocol::ws::DeviceId;
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::{CALL, on_connection_state, signal};
use crate::api;
use crate::js::{get, invoke, invoke_async, js_err, obj, set};
use crate::runtime;

pub(super) async fn turn() -> Result<Option<TurnCredentials>, String> {
    let token = runtime::ensure_token().await?;
    match api::send(&GetTurn, Some(&token), &()).await {
        Ok(Json(c)) => Ok(Some(c)),
        // No TURN on this relay: direct connections only.
        Err(f) if f.is(ErrorCode::NotFound) => Ok(None),
        Err(f) => Err(f.to_string()),
    }
}

pub(super) fn rtc_config(creds: &Option<TurnCredentials>) -> JsValue {
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

pub(super) async fn media(video: bool) -> Result<JsValue, String> {
    let devices = web_sys::window()
        .ok_or("no window")?
        .navigator()
        .media_devices()
        .map_err(|_| "This browser cannot use a microphone here (it needs HTTPS).".to_owned())?;
    let c = obj(&[("audio", true.into()), ("video", video.into())]);
    invoke_async(&devices.into(), "getUserMedia", &[c])
        .await
        .map_err(|_| "Microphone or camera access was refused or is not available.".to_owned())
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
    CALL.with(|c| {
        if let Some(c) = c.borrow().as_ref() {
            if let Some(r) = &c.remote {
                attach_remote(r);
            }
            if let Some(l) = &c.local {
                attach_local(l);
            }
        }
    });
}

pub(super) fn make_pc(
    creds: &Option<TurnCredentials>,
    id: CallId,
    peer: DeviceId,
) -> Result<JsValue, String> {
    let ctor: Function = get(&js_sys::global(), "RTCPeerConnection")
        .dyn_into()
        .map_err(|_| "This browser cannot make calls (no WebRTC).".to_owned())?;
    let pc: JsValue = Reflect::construct(&ctor, &Array::of1(&rtc_config(creds))).map_err(js_err)?;
    let on_candidate = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
        let c = get(&ev, "candidate");
        if c.is_null() || c.is_undefined() {
            return;
        }
        let candidate = get(&c, "candidate").as_string().unwrap_or_default();
        if candidate.is_empty() {
            return;
        }
        signal(
            peer,
            id,
            CallKind::Candidate {
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
        let ours = CALL.with(|c| match c.borrow_mut().as_mut() {
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

pub(super) fn add_tracks(pc: &JsValue, stream: &JsValue) -> Result<(), String> {
    let tracks: Array = invoke(stream, "getTracks", &[]).map_err(js_err)?.into();
    for t in tracks.iter() {
        invoke(pc, "addTrack", &[t, stream.clone()]).map_err(js_err)?;
    }
    Ok(())
}

pub(super) async fn describe(pc: &JsValue, method: &str, opts: JsValue) -> Result<String, String> {
    let desc = invoke_async(pc, method, &[opts]).await.map_err(js_err)?;
    invoke_async(pc, "setLocalDescription", std::slice::from_ref(&desc))
        .await
        .map_err(js_err)?;
    Ok(get(&desc, "sdp").as_string().unwrap_or_default())
}

pub(super) async fn set_remote(pc: &JsValue, kind: &str, sdp: &str) -> Result<(), String> {
    let d = obj(&[("type", kind.into()), ("sdp", sdp.into())]);
    invoke_async(pc, "setRemoteDescription", &[d])
        .await
        .map_err(js_err)?;
    let pending = CALL.with(|c| {
        c.borrow_mut()
            .as_mut()
            .map(|c| {
                c.have_remote = true;
                std::mem::take(&mut c.pending)
            })
            .unwrap_or_default()
    });
    for cand in pending {
        let _ = invoke_async(pc, "addIceCandidate", &[cand]).await;
    }
    Ok(())
}
