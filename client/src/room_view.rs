//! What the screens show of group rooms (issue 15): a line per room for
//! the conversation list, and each room's detail (members, history, who
//! may do what). Published with the rest after every engine change, and
//! set only when it differs, like `view`.

use parley_shared::map::Map;

use leptos::prelude::*;
use parley_shared::engine::Engine;
use parley_shared::engine::rooms::MemberInfo;
use parley_shared::engine::rooms::messages::{RoomBody, RoomMessage, RoomNotice};
use parley_shared::group::RoomId;
use parley_shared::time::UnixMs;

/// One room line of the conversation list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct RoomRow {
    /// The room.
    pub id: RoomId,
    /// Its name.
    pub name: String,
    /// Members, this account included.
    pub members: usize,
    /// Unread messages.
    pub unread: u32,
    /// The last text (sender's name and text), or notice.
    pub preview: RoomPreview,
    /// Last activity.
    pub at: UnixMs,
}

/// What a room line shows of its last entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum RoomPreview {
    /// A text: who (`None`: this account) and what.
    Text(Option<String>, String),
    /// Something that happened.
    Notice(RoomNotice),
    /// A file, by name.
    File(String),
    /// Nothing yet.
    Empty,
}

/// One room as its screen shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoomDetail {
    /// Its name.
    pub name: String,
    /// Members, admins first.
    pub members: Vec<MemberInfo>,
    /// This account is still a member (else read-only).
    pub joined: bool,
    /// This account may change the room.
    pub admin: bool,
    /// The history, oldest first.
    pub messages: Vec<RoomMessage>,
    /// Unread messages.
    pub unread: u32,
    /// When the room ends by itself.
    pub ends_at: Option<UnixMs>,
    /// The disappearing-message timer, seconds.
    pub timer: Option<u32>,
    /// Members typing now, by name.
    pub typing: Vec<String>,
}

impl RoomDetail {
    /// A member's name by account (for "from" lines).
    pub(crate) fn name_of(&self, account: &parley_shared::crypto::account::AccountId) -> String {
        self.members
            .iter()
            .find(|m| &m.account == account)
            .map(|m| m.name.clone())
            .unwrap_or_default()
    }
}

/// The signals of every room.
#[derive(Clone, Copy)]
pub(crate) struct RoomViews {
    /// Room lines, most recent first.
    pub rows: RwSignal<Vec<RoomRow>>,
    /// Each room's detail.
    pub details: RwSignal<Map<RoomId, RoomDetail>>,
}

impl RoomViews {
    pub(crate) fn new() -> Self {
        Self {
            rows: RwSignal::new(Vec::new()),
            details: RwSignal::new(Map::new()),
        }
    }

    /// Brings the room signals up to the engine.
    pub(crate) fn show(&self, e: &Engine, now: UnixMs) {
        let mut rows = Vec::new();
        let mut details = Map::new();
        for (id, entry) in e.rooms() {
            let state = entry.room.state();
            let members = e.room_members(id);
            let me = members.iter().find(|m| m.me).map(|m| m.account);
            let name_of = |a| {
                members
                    .iter()
                    .find(|m| m.account == a)
                    .map(|m| m.name.clone())
                    .unwrap_or_default()
            };
            let preview = match entry.history.last() {
                None => RoomPreview::Empty,
                Some(m) => match &m.body {
                    RoomBody::Text(t) => RoomPreview::Text(
                        m.from.filter(|a| Some(*a) != me).map(name_of),
                        t.chars().take(80).collect(),
                    ),
                    RoomBody::Notice(n) => RoomPreview::Notice(n.clone()),
                    RoomBody::File(f) => RoomPreview::File(f.offer.name.clone()),
                },
            };
            let typing: Vec<String> = e.room_typists(id, now).into_iter().map(name_of).collect();
            rows.push(RoomRow {
                id: *id,
                name: state.name.clone(),
                members: state.members.len(),
                unread: entry.unread,
                preview,
                at: entry.last_activity,
            });
            details.insert(
                *id,
                RoomDetail {
                    name: state.name.clone(),
                    admin: members.iter().any(|m| m.me && m.admin),
                    members,
                    joined: entry.room.joined(),
                    messages: entry.history.clone(),
                    unread: entry.unread,
                    ends_at: e.room_ends_at(id),
                    timer: state.timer,
                    typing,
                },
            );
        }
        crate::notify_rooms::rows_changed(&rows);
        if self
            .rows
            .try_with_untracked(|r| *r != rows)
            .unwrap_or(false)
        {
            self.rows.set(rows);
        }
        if self
            .details
            .try_with_untracked(|d| *d != details)
            .unwrap_or(false)
        {
            self.details.set(details);
        }
    }
}
