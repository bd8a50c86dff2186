//! Notifications for rooms: a room whose unread count grew while the page
//! is hidden notifies (the room's name and "Bob: text" with previews on,
//! "New message" without), and its click opens the room. The badge counts
//! rooms with conversations.

use parley_shared::map::Map;
use std::cell::RefCell;

use parley_shared::group::RoomId;

use crate::js::obj;
use crate::notify;
use crate::room_view::{RoomPreview, RoomRow};
use crate::tr;

const TAG: &str = "parley-room-message";

thread_local! {
    /// Unread counts last seen per room (`None` before the first publish).
    static SEEN: RefCell<Option<Map<RoomId, u32>>> = const { RefCell::new(None) };
}

/// After each publish of the rooms.
pub(crate) fn rows_changed(rows: &[RoomRow]) {
    let now: Map<RoomId, u32> = rows.iter().map(|r| (r.id, r.unread)).collect();
    let total: u32 = now.values().sum();
    let before = SEEN.with(|s| s.borrow_mut().replace(now));
    if before.as_ref().map(|b| b.values().sum::<u32>()) != Some(total) {
        notify::set_total(true, total);
    }
    let (Some(before), Some(previews)) = (before, notify::notifying()) else {
        return;
    };
    for r in rows {
        if r.unread <= before.get(&r.id).copied().unwrap_or(0) {
            continue;
        }
        let (title, body) = if previews {
            let body = match &r.preview {
                RoomPreview::Text(Some(who), t) => format!("{who}: {t}"),
                RoomPreview::File(name) => tr!("notify-file", name = name.clone()),
                _ => tr!("notify-new-message"),
            };
            (r.name.clone(), body)
        } else {
            (tr!("notify-new-message"), String::new())
        };
        let data = obj(&[("room", r.id.to_hex().into())]);
        notify::notification_with(title, body, TAG, data);
    }
}
