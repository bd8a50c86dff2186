//! The browser's side of the language: the preference list, the stored
//! choice, `<html lang>`, and dates and times through `Intl` (the browser's
//! own, maintained formatting data: nothing to ship).

use js_sys::{Array, Date, Intl, Object};
use parley_shared::time::UnixMs;
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::{Lang, LoadError, lang, load, set_lang};
use crate::js::obj;

/// localStorage key of a language chosen in Settings. The choice is this
/// browser's, not the account's: it is needed before any account is open.
const STORED: &str = "parley.lang";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The browser's preferred languages, most preferred first.
fn preferences() -> Vec<String> {
    let Some(w) = web_sys::window() else {
        return Vec::new();
    };
    let list: Vec<String> = w
        .navigator()
        .languages()
        .iter()
        .filter_map(|v| v.as_string())
        .collect();
    if list.is_empty() {
        w.navigator().language().into_iter().collect()
    } else {
        list
    }
}

fn apply(l: Lang) {
    set_lang(l);
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("lang", l.tag());
    }
}

/// Picks the language at start (the one chosen in Settings, else the
/// browser's first translated preference, else English) and loads its
/// messages, retrying a few times; the last error when they never came
/// (the app then shows [`super::unloaded`] instead of texts as keys).
pub(crate) async fn init() -> Result<(), LoadError> {
    let stored = storage()
        .and_then(|s| s.get_item(STORED).ok().flatten())
        .and_then(|t| Lang::from_tag(&t));
    let prefs = preferences();
    let l = stored.unwrap_or_else(|| Lang::preferred(prefs.iter().map(String::as_str)));
    let mut loaded = Ok(());
    for wait_ms in [500, 2_000, 0] {
        loaded = load(l).await;
        match &loaded {
            Ok(()) => break,
            Err(e) if wait_ms > 0 => {
                web_sys::console::warn_1(
                    &format!("Parley: texts not loaded, retrying: {e}").into(),
                );
                crate::runtime::sleep(wait_ms).await;
            }
            Err(e) => web_sys::console::error_1(&format!("Parley: texts not loaded: {e}").into()),
        }
    }
    apply(l);
    loaded
}

/// Loads `l`'s messages if needed, then shows `l` and remembers the choice
/// in this browser. Nothing changes when they cannot be fetched.
pub(crate) async fn switch(l: Lang) -> Result<(), LoadError> {
    load(l).await?;
    if let Some(s) = storage() {
        // Not stored (private mode, full): the choice lasts this visit.
        let _ = s.set_item(STORED, l.tag());
    }
    apply(l);
    Ok(())
}

/// The body of a same-origin GET as text; the error says why not.
pub(super) async fn fetch_text(url: &str) -> Result<String, String> {
    let window = web_sys::window().ok_or("no window")?;
    let reason = |e: JsValue| e.as_string().unwrap_or_else(|| format!("{e:?}"));
    let resp: web_sys::Response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(reason)?
        .dyn_into()
        .map_err(reason)?;
    if !resp.ok() {
        return Err(format!("{url}: HTTP {}", resp.status()));
    }
    let text = JsFuture::from(resp.text().map_err(reason)?)
        .await
        .map_err(reason)?;
    text.as_string().ok_or_else(|| format!("{url}: not text"))
}

/// The `Intl` locale for the language shown: the browser's own preference
/// in that language when it has one (`en-GB` keeps its 24-hour clock),
/// else the bare language.
fn locale() -> String {
    let l = lang();
    preferences()
        .into_iter()
        .find(|p| Lang::from_tag(p) == Some(l))
        .unwrap_or_else(|| l.tag().to_owned())
}

fn date(t: UnixMs) -> Date {
    Date::new(&JsValue::from_f64(t.as_millis() as f64))
}

fn format(t: UnixMs, options: &[(&str, JsValue)]) -> String {
    let locales = Array::of1(&locale().into());
    let options: Object = obj(options).unchecked_into();
    let f = Intl::DateTimeFormat::new(&locales, &options).format();
    f.call1(&JsValue::NULL, &date(t))
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

/// Hours and minutes in local time, as the language writes them.
pub(crate) fn clock(t: UnixMs) -> String {
    format(t, &[("timeStyle", "short".into())])
}

/// Date and time in full (`30 ноября 2026 г. в 17:23`), for a tooltip.
pub(crate) fn date_time(t: UnixMs) -> String {
    format(
        t,
        &[("dateStyle", "long".into()), ("timeStyle", "short".into())],
    )
}

/// The time for today, else the date (`28 нояб.`): the conversation list's
/// last activity.
pub(crate) fn day_or_time(t: UnixMs, now: UnixMs) -> String {
    let (d, today) = (date(t), date(now));
    let same_day = d.get_full_year() == today.get_full_year()
        && d.get_month() == today.get_month()
        && d.get_date() == today.get_date();
    if same_day {
        clock(t)
    } else {
        format(t, &[("dateStyle", "medium".into())])
    }
}

/// The local calendar day of `t` (year, month, day), to group messages.
pub(crate) fn local_day(t: UnixMs) -> (u32, u32, u32) {
    let d = date(t);
    (d.get_full_year(), d.get_month(), d.get_date())
}

/// A day's heading in a conversation: "Today", "Yesterday", or the date
/// in full.
pub(crate) fn day_heading(t: UnixMs, now: UnixMs) -> String {
    let day = local_day(t);
    if day == local_day(now) {
        crate::tr!("day-today")
    } else if day
        == local_day(UnixMs::from_millis(
            now.as_millis().saturating_sub(86_400_000),
        ))
    {
        crate::tr!("day-yesterday")
    } else {
        format(t, &[("dateStyle", "long".into())])
    }
}

/// ISO 8601 in UTC, for `<time datetime>`.
pub(crate) fn iso(t: UnixMs) -> String {
    date(t).to_iso_string().into()
}
