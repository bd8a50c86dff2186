//! Where a conversation is scrolled. The page itself scrolls (the header
//! and the composer are sticky), so "the bottom" is the document's end.
//! New messages follow the reader only while the end is in view; the
//! conversation marks what it shows as read only then.

use leptos::prelude::*;
use parley_shared::engine::model::{Body, Message, Status};

use super::Put as _;

/// Pixels from the end still counted as at the bottom (rounding of
/// fractional scroll positions, the last bubble's margin).
const SLACK: i32 = 48;

fn scroller() -> Option<web_sys::Element> {
    web_sys::window()?.document()?.scrolling_element()
}

/// Whether the end of the page is in view.
pub(super) fn at_bottom() -> bool {
    scroller().is_none_or(|el| el.scroll_height() - el.scroll_top() - el.client_height() <= SLACK)
}

/// Scrolls to the end at once (no smooth scrolling: the newest message
/// should be there when the next one is announced).
pub(super) fn to_bottom() {
    if let Some(el) = scroller() {
        el.set_scroll_top(el.scroll_height());
    }
}

/// Brings the element `selector` names to the top of the view (its CSS
/// `scroll-margin-top` keeps it below the sticky header); false if absent.
pub(super) fn to_element(selector: &str) -> bool {
    let found = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector(selector).ok().flatten());
    found
        .map(|el| el.scroll_into_view_with_bool(true))
        .is_some()
}

/// Keeps `bottom` equal to [`at_bottom`] while the calling component lives.
pub(super) fn track(bottom: RwSignal<bool>) {
    let handle = window_event_listener(leptos::ev::scroll, move |_| {
        let now = at_bottom();
        if bottom.try_get_untracked() != Some(now) {
            bottom.put(now);
        }
    });
    on_cleanup(move || handle.remove());
}

/// The first incoming message not yet read (the engine marks incoming
/// messages `Read` once shown).
pub(super) fn first_unread(messages: &[Message]) -> Option<u64> {
    messages
        .iter()
        .find(|m| !m.outgoing && m.status < Status::Read && !matches!(m.body, Body::Notice(_)))
        .map(|m| m.seq)
}
