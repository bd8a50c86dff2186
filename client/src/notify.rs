//! Notifications (ADR 0023): the user's choice (off, on, on with names and
//! previews), the browser's push subscription registered with the relay,
//! the service worker's strings, notifications while the page is hidden,
//! and the unread count on the app badge and in the title.

use parley_shared::map::Map;
use std::cell::RefCell;

use js_sys::Uint8Array;
use parley_shared::crypto::codec::b64url;
use parley_shared::protocol::api::{
    DeletePushSubscriptions, Failure, GetPushKey, Json, PutPushSubscription,
};
use parley_shared::protocol::push::PushSubscription;
use parley_shared::protocol::ws::DeviceId;
use wasm_bindgen::{JsCast as _, JsValue};

use crate::i18n::Localize;
use crate::js::{get, invoke, invoke_async, obj};
use crate::runtime::{self, SessionError};
use crate::view::{Preview, RowView};
use crate::{api, tr};

/// What the user chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// No notifications, no push subscription.
    Off,
    /// "New message", nothing more.
    On,
    /// The sender's name and a preview (decrypted here, never sent by the relay).
    Previews,
}

impl Mode {
    /// Every choice, in menu order.
    pub(crate) const ALL: [Self; 3] = [Self::Off, Self::On, Self::Previews];

    /// Stable name (storage, the service worker, test hooks).
    pub(crate) fn tag(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::On => "on",
            Self::Previews => "previews",
        }
    }

    fn from_tag(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.tag() == s)
    }
}

/// `localStorage` key of the choice (a device setting, not account data).
const KEY: &str = "parley-notifications";
/// Cache the service worker reads its strings from (it has no Fluent).
const SW_CACHE: &str = "parley-notify";
/// The entry in [`SW_CACHE`].
const SW_CONFIG: &str = "/notify-config";
/// One tag for every message notification: a new one replaces the last.
const TAG: &str = "parley-new-message";
/// The tag of a ringing call's notification (closed when it stops ringing).
const CALL_TAG: &str = "parley-call";
/// Why notifications could not be turned on or off.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NotifyError {
    /// This browser has no notifications, service worker or Push API.
    #[error("notifications are not supported here")]
    Unsupported,
    /// The user (or the browser) refused permission.
    #[error("notification permission refused")]
    Denied,
    /// The push service refused the subscription.
    #[error("push subscription failed")]
    Subscribe,
    /// No session.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The relay refused.
    #[error(transparent)]
    Relay(#[from] Failure),
}

impl Localize for NotifyError {
    fn text(&self) -> String {
        match self {
            Self::Unsupported => tr!("notify-unsupported"),
            Self::Denied => tr!("notify-denied"),
            Self::Subscribe => tr!("notify-subscribe-failed"),
            Self::Session(e) => e.text(),
            Self::Relay(f) => f.text(),
        }
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The current choice (off until one is made).
pub(crate) fn mode() -> Mode {
    storage()
        .and_then(|s| s.get_item(KEY).ok().flatten())
        .and_then(|v| Mode::from_tag(&v))
        .unwrap_or(Mode::Off)
}

fn store_mode(m: Mode) {
    if let Some(s) = storage() {
        // Private modes may refuse; the choice then lasts this page only.
        let _ = s.set_item(KEY, m.tag());
    }
}

fn window() -> JsValue {
    web_sys::window().map_or(JsValue::UNDEFINED, Into::into)
}

/// `Notification.permission`, if notifications exist here.
fn permission() -> Option<String> {
    get(&get(&window(), "Notification"), "permission").as_string()
}

/// The service worker registration, once active.
async fn registration() -> Result<JsValue, NotifyError> {
    let sw = get(&get(&window(), "navigator"), "serviceWorker");
    if sw.is_undefined() {
        return Err(NotifyError::Unsupported);
    }
    let ready: js_sys::Promise = get(&sw, "ready")
        .dyn_into()
        .map_err(|_| NotifyError::Unsupported)?;
    wasm_bindgen_futures::JsFuture::from(ready)
        .await
        .map_err(|_| NotifyError::Unsupported)
}

/// Tells the service worker what to show for a push (in the language now
/// shown), so it can without a page.
async fn write_sw_config(m: Mode) {
    let caches = get(&window(), "caches");
    if caches.is_undefined() {
        return;
    }
    let config =
        serde_json::json!({ "mode": m.tag(), "title": tr!("notify-new-message"), "tag": TAG });
    let Ok(resp) = web_sys::Response::new_with_opt_str(Some(&config.to_string())) else {
        return;
    };
    if let Ok(cache) = invoke_async(&caches, "open", &[SW_CACHE.into()]).await {
        let _ = invoke_async(&cache, "put", &[SW_CONFIG.into(), resp.into()]).await;
    }
}

/// Subscribes this browser with the relay's VAPID key and registers the
/// subscription with the relay.
async fn subscribe() -> Result<(), NotifyError> {
    let reg = registration().await?;
    let push = get(&reg, "pushManager");
    if push.is_undefined() {
        return Err(NotifyError::Unsupported);
    }
    let Json(key) = api::send(&GetPushKey, None, &()).await?;
    let key = b64url::decode(&key.public_key).ok_or(NotifyError::Subscribe)?;
    let options = obj(&[
        ("userVisibleOnly", true.into()),
        (
            "applicationServerKey",
            Uint8Array::from(key.as_slice()).into(),
        ),
    ]);
    let sub = invoke_async(&push, "subscribe", &[options])
        .await
        .map_err(|_| NotifyError::Subscribe)?;
    let json = invoke(&sub, "toJSON", &[]).map_err(|_| NotifyError::Subscribe)?;
    let keys = get(&json, "keys");
    let field = |o: &JsValue, k: &str| get(o, k).as_string().ok_or(NotifyError::Subscribe);
    let body = PushSubscription {
        endpoint: field(&json, "endpoint")?,
        p256dh: field(&keys, "p256dh")?,
        auth: field(&keys, "auth")?,
    };
    let token = runtime::ensure_token().await?;
    api::send(&PutPushSubscription, Some(&token), &Json(body)).await?;
    Ok(())
}

/// Turns notifications on: asks permission (now, after the user chose),
/// then subscribes.
pub(crate) async fn turn_on(m: Mode) -> Result<(), NotifyError> {
    let notification = get(&window(), "Notification");
    if notification.is_undefined() {
        return Err(NotifyError::Unsupported);
    }
    let answer = invoke_async(&notification, "requestPermission", &[])
        .await
        .ok()
        .and_then(|v| v.as_string());
    if answer.as_deref() != Some("granted") {
        return Err(NotifyError::Denied);
    }
    subscribe().await?;
    store_mode(m);
    write_sw_config(m).await;
    Ok(())
}

/// Turns notifications off: unsubscribes and tells the relay to forget.
pub(crate) async fn turn_off() -> Result<(), NotifyError> {
    store_mode(Mode::Off);
    write_sw_config(Mode::Off).await;
    if let Ok(reg) = registration().await {
        let push = get(&reg, "pushManager");
        if let Ok(sub) = invoke_async(&push, "getSubscription", &[]).await
            && !sub.is_null()
        {
            let _ = invoke_async(&sub, "unsubscribe", &[]).await;
        }
    }
    let token = runtime::ensure_token().await?;
    api::send(&DeletePushSubscriptions, Some(&token), &()).await?;
    Ok(())
}

/// At start: with notifications on and permitted, registers the current
/// subscription again (the browser may have renewed it, or a logout
/// removed it) and refreshes the service worker's strings.
pub(crate) async fn refresh() {
    let m = mode();
    write_sw_config(m).await;
    if m != Mode::Off
        && permission().as_deref() == Some("granted")
        && let Err(e) = subscribe().await
    {
        leptos::logging::warn!("push subscription not renewed: {e}");
    }
}

fn page_visible() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Visible)
}

thread_local! {
    /// Unread counts last seen per conversation (`None` before the first
    /// publish, so a start does not notify what was already unread).
    static SEEN: RefCell<Option<Map<DeviceId, u32>>> = const { RefCell::new(None) };
    /// Unread messages in conversations and in rooms, for the badge.
    static TOTALS: RefCell<(u32, u32)> = const { RefCell::new((0, 0)) };
}

/// The badge shows conversations' and rooms' unread messages together.
pub(crate) fn set_total(rooms: bool, n: u32) {
    let sum = TOTALS.with(|t| {
        let mut t = t.borrow_mut();
        if rooms {
            t.1 = n;
        } else {
            t.0 = n;
        }
        t.0.saturating_add(t.1)
    });
    badge(sum);
}

/// Whether notifications are to be shown now (on, allowed, page hidden),
/// and with previews.
pub(crate) fn notifying() -> Option<bool> {
    let m = mode();
    (m != Mode::Off && !page_visible() && permission().as_deref() == Some("granted"))
        .then_some(m == Mode::Previews)
}

/// After each publish: the badge and title show the unread count, and a
/// conversation whose count grew while the page is hidden notifies.
pub(crate) fn rows_changed(rows: &[RowView]) {
    let now: Map<DeviceId, u32> = rows.iter().map(|r| (r.id, r.unread)).collect();
    let total: u32 = now.values().sum();
    let Some(before) = SEEN.with(|s| s.borrow_mut().replace(now)) else {
        set_total(false, total);
        return;
    };
    if before.values().sum::<u32>() != total {
        set_total(false, total);
    }
    let m = mode();
    if m == Mode::Off || page_visible() || permission().as_deref() != Some("granted") {
        return;
    }
    for r in rows {
        if r.unread > before.get(&r.id).copied().unwrap_or(0) {
            show(m, r);
        }
    }
}

/// A call rings while the page is hidden: notify (the caller's name only
/// with previews on).
pub(crate) fn incoming_call(peer: DeviceId, name: String, video: bool) {
    let m = mode();
    if m == Mode::Off || page_visible() || permission().as_deref() != Some("granted") {
        return;
    }
    let title = if video {
        tr!("call-incoming-video")
    } else {
        tr!("call-incoming-audio")
    };
    let body = if m == Mode::Previews {
        name
    } else {
        String::new()
    };
    notification(title, body, CALL_TAG, peer);
}

/// The call stopped ringing: its notification goes.
pub(crate) fn call_ended() {
    wasm_bindgen_futures::spawn_local(async {
        let Ok(reg) = registration().await else {
            return;
        };
        let filter = obj(&[("tag", CALL_TAG.into())]);
        if let Ok(list) = invoke_async(&reg, "getNotifications", &[filter]).await {
            for n in js_sys::Array::from(&list).iter() {
                let _ = invoke(&n, "close", &[]);
            }
        }
    });
}

fn show(m: Mode, r: &RowView) {
    let (title, body) = match m {
        Mode::Previews => (
            r.name.clone(),
            match &r.preview {
                Preview::Text(t) => t.clone(),
                Preview::File(name) => tr!("notify-file", name = name.clone()),
                Preview::Hello | Preview::Notice(_) => tr!("notify-new-message"),
            },
        ),
        _ => (tr!("notify-new-message"), String::new()),
    };
    notification(title, body, TAG, r.id);
}

/// Shows a notification through the service worker (it handles the click).
fn notification(title: String, body: String, tag: &'static str, peer: DeviceId) {
    let data = obj(&[("peer", peer.to_string().into())]);
    notification_with(title, body, tag, data);
}

/// Shows a notification whose click opens what `data` names (`peer` or
/// `room`, see `openFromNotification` in `sw.js`).
pub(crate) fn notification_with(title: String, body: String, tag: &'static str, data: JsValue) {
    let options = obj(&[
        ("body", body.into()),
        ("tag", tag.into()),
        ("renotify", true.into()),
        ("icon", "/icons/icon-192.png".into()),
        ("data", data),
    ]);
    wasm_bindgen_futures::spawn_local(async move {
        if let Ok(reg) = registration().await {
            let _ = invoke_async(&reg, "showNotification", &[title.into(), options]).await;
        }
    });
}

/// The unread count on the app icon (where the browser has badges) and in
/// the title.
fn badge(total: u32) {
    let nav = get(&window(), "navigator");
    if !get(&nav, "setAppBadge").is_undefined() {
        // Awaited so a refusal (not installed, no badge support) is not an
        // unhandled rejection.
        wasm_bindgen_futures::spawn_local(async move {
            let _ = if total > 0 {
                invoke_async(&nav, "setAppBadge", &[total.into()]).await
            } else {
                invoke_async(&nav, "clearAppBadge", &[]).await
            };
        });
    }
    if let Some(d) = web_sys::window().and_then(|w| w.document()) {
        d.set_title(&if total > 0 {
            format!("({total}) Parley")
        } else {
            "Parley".to_owned()
        });
    }
}

/// Opens the conversation a clicked notification names (the service
/// worker posts `{type: "open-chat", peer}` to the page it focuses).
pub(crate) fn listen(open: impl Fn(DeviceId) + 'static, open_room: impl Fn(String) + 'static) {
    use wasm_bindgen::closure::Closure;
    let sw = get(&get(&window(), "navigator"), "serviceWorker");
    if sw.is_undefined() {
        return;
    }
    let on_message = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
        let data = get(&ev, "data");
        if get(&data, "type").as_string().as_deref() == Some("open-room") {
            if let Some(room) = get(&data, "room").as_string() {
                open_room(room);
            }
            return;
        }
        if get(&data, "type").as_string().as_deref() != Some("open-chat") {
            return;
        }
        if let Some(peer) = get(&data, "peer").as_string().and_then(|p| p.parse().ok()) {
            open(peer);
        }
    });
    let _ = invoke(
        &sw,
        "addEventListener",
        &["message".into(), on_message.into_js_value()],
    );
}
