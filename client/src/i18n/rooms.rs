//! Room notices and states in words.

use parley_shared::engine::rooms::messages::RoomNotice;

use crate::tr;

/// A room notice as its history shows it.
pub(crate) fn room_notice(n: &RoomNotice) -> String {
    match n.clone() {
        RoomNotice::Created { by } => tr!("room-notice-created", by = by),
        RoomNotice::Added { name, by } => tr!("room-notice-added", name = name, by = by),
        RoomNotice::Removed { name, by } => tr!("room-notice-removed", name = name, by = by),
        RoomNotice::RemovedYou { by } => tr!("room-notice-removed-you", by = by),
        RoomNotice::Left { name } => tr!("room-notice-left", name = name),
        RoomNotice::YouLeft => tr!("room-notice-you-left"),
        RoomNotice::Promoted { name, by } => tr!("room-notice-promoted", name = name, by = by),
        RoomNotice::Renamed { name, by } => tr!("room-notice-renamed", name = name, by = by),
        RoomNotice::LifetimeChanged { by } => tr!("room-notice-lifetime", by = by),
        RoomNotice::Timer { secs: None, by } => tr!("room-notice-timer-off", by = by),
        RoomNotice::Timer { secs: Some(s), by } => tr!(
            "room-notice-timer",
            by = by,
            time = crate::i18n::period(s, crate::i18n::Case::Accusative)
        ),
        RoomNotice::Ignored { by } => tr!("room-notice-ignored", by = by),
        RoomNotice::DevicesChanged { name } => tr!("room-notice-devices", name = name),
    }
}
