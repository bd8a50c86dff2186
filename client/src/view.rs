//! What the screens show of the engine. After every engine change the
//! runtime publishes here; each conversation has its own signals (details,
//! presence, typing, history) and each is set only when its part differs
//! from what is shown, so a typing signal in one conversation re-renders
//! that conversation's indicator and nothing else, and a presence change
//! touches only the presence dots. The screens read these, never the
//! engine's change stream.

use parley_shared::map::Map;

use leptos::prelude::*;
use parley_shared::engine::Engine;
use parley_shared::engine::model::{Body, Contact, Message, Notice};
use parley_shared::engine::typing::Prefs;
use parley_shared::protocol::ws::DeviceId;
use parley_shared::time::UnixMs;

use crate::api;
use crate::runtime::{self, Conn, Ui};

/// One contact as its conversation shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContactView {
    /// Display name.
    pub name: String,
    /// Disappearing-message timer, seconds.
    pub timer_secs: Option<u32>,
    /// The user compared safety numbers.
    pub verified: bool,
    /// Unread incoming messages.
    pub unread: u32,
    /// The contact's keys changed: sending waits for the user.
    pub identity_changed: bool,
    /// A session exists, so calls can start.
    pub has_session: bool,
}

impl ContactView {
    fn of(c: &Contact) -> Self {
        Self {
            name: c.name.clone(),
            timer_secs: c.timer_secs,
            verified: c.verified,
            unread: c.unread,
            identity_changed: c.identity_changed,
            has_session: c.has_session(),
        }
    }
}

/// What a line of the conversation list shows of the last message (worded
/// by the screen, in the language shown).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Preview {
    /// A text, shortened.
    Text(String),
    /// A file, by name.
    File(String),
    /// Nothing yet since pairing.
    Hello,
    /// A conversation event.
    Notice(Notice),
}

/// One line of the conversation list (presence is not part of it: it has
/// its own signal, so the line is not rebuilt when a contact comes online).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct RowView {
    /// The contact.
    pub id: DeviceId,
    /// Display name.
    pub name: String,
    /// Unread incoming messages.
    pub unread: u32,
    /// The last message.
    pub preview: Preview,
    /// When the last message came (or of pairing).
    pub at: UnixMs,
}

impl RowView {
    fn of(e: &Engine, c: &Contact) -> Self {
        let last = e.messages(&c.device()).last();
        let preview = match last.map(|m| &m.body) {
            Some(Body::Text(t)) => Preview::Text(t.chars().take(80).collect()),
            Some(Body::File(f)) => Preview::File(f.offer.name.clone()),
            Some(Body::Notice(Notice::Paired)) | None => Preview::Hello,
            Some(Body::Notice(n)) => Preview::Notice(n.clone()),
        };
        Self {
            id: c.device(),
            name: c.name.clone(),
            unread: c.unread,
            preview,
            at: last.map_or(c.paired_at, |m| m.at),
        }
    }
}

/// The signals of one conversation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Conversation {
    /// The contact; `None` once it is deleted (or moved to new keys).
    pub contact: RwSignal<Option<ContactView>>,
    /// The contact is online (presence shared both ways).
    pub online: RwSignal<bool>,
    /// The contact is typing.
    pub typing: RwSignal<bool>,
    /// The history, oldest first.
    pub messages: RwSignal<Vec<Message>>,
}

struct Registry {
    /// Owns the conversations' signals for the app's lifetime (publishing
    /// runs outside any component).
    owner: Owner,
    conversations: Map<DeviceId, Conversation>,
}

/// Everything the screens read of the engine.
#[derive(Clone, Copy)]
pub(crate) struct Views {
    registry: StoredValue<Registry>,
    /// The conversation list, most recent first.
    pub list: RwSignal<Vec<RowView>>,
    /// Privacy preferences.
    pub prefs: RwSignal<Prefs>,
    /// Group rooms.
    pub rooms: crate::room_view::RoomViews,
}

impl Views {
    /// Empty views, owned by the current component (the app).
    pub(crate) fn new() -> Self {
        Self {
            registry: StoredValue::new(Registry {
                owner: Owner::current().unwrap_or_default(),
                conversations: Map::new(),
            }),
            list: RwSignal::new(Vec::new()),
            prefs: RwSignal::new(Prefs::default()),
            rooms: crate::room_view::RoomViews::new(),
        }
    }

    /// The signals of the conversation with `peer`, created (filled from
    /// the engine) on first use.
    pub(crate) fn conversation(&self, peer: DeviceId) -> Conversation {
        if let Some(c) = self
            .registry
            .with_value(|r| r.conversations.get(&peer).copied())
        {
            return c;
        }
        let conv = self.registry.with_value(|r| {
            r.owner.with(|| Conversation {
                contact: RwSignal::new(None),
                online: RwSignal::new(false),
                typing: RwSignal::new(false),
                messages: RwSignal::new(Vec::new()),
            })
        });
        self.registry.update_value(|r| {
            r.conversations.insert(peer, conv);
        });
        runtime::read(|e| conv.show(e, &peer, api::now()));
        conv
    }
}

/// Sets `signal` to `next` only when it differs, so nothing that reads it
/// re-renders for an equal value.
fn set_if_changed<T: PartialEq + Send + Sync + 'static>(signal: RwSignal<T>, next: T) {
    if signal.try_with_untracked(|v| *v != next).unwrap_or(false) {
        signal.set(next);
    }
}

impl Conversation {
    /// Brings each signal up to the engine's state, touching only those
    /// whose value changed. The history is compared in place and copied
    /// only when it differs.
    fn show(&self, e: &Engine, peer: &DeviceId, now: UnixMs) {
        let contact = e.contact(peer);
        set_if_changed(self.contact, contact.map(ContactView::of));
        set_if_changed(self.online, contact.is_some_and(|c| c.online));
        set_if_changed(self.typing, e.is_typing(peer, now));
        let history = e.messages(peer);
        if self
            .messages
            .try_with_untracked(|m| m.as_slice() != history)
            .unwrap_or(false)
        {
            self.messages.set(history.to_vec());
        }
    }
}

/// Publishes the engine's state to the screens (after every engine change,
/// and once at start). Whether the relay connection is up is the engine's
/// to say; the runtime only tells why it is not.
pub(crate) fn publish(ui: &Ui) {
    let views = ui.views;
    runtime::read(|e| {
        let now = api::now();
        let known: Vec<(DeviceId, Conversation)> = views
            .registry
            .with_value(|r| r.conversations.iter().map(|(d, c)| (*d, *c)).collect());
        for (peer, conv) in &known {
            conv.show(e, peer, now);
        }
        // A contact seen for the first time gets its signals now, so its
        // list line can follow its presence.
        for c in e.contacts() {
            let id = c.device();
            if !known.iter().any(|(d, _)| *d == id) {
                views.conversation(id);
            }
        }
        let rows: Vec<RowView> = e
            .contacts()
            .into_iter()
            .map(|c| RowView::of(e, c))
            .collect();
        crate::notify::rows_changed(&rows);
        set_if_changed(views.list, rows);
        set_if_changed(views.prefs, e.prefs().clone());
        views.rooms.show(e, now);
        if e.is_online() {
            set_if_changed(ui.conn, Conn::Online);
        } else if ui.conn.get_untracked() == Conn::Online {
            ui.conn.set(Conn::Offline(None));
        }
    });
}
