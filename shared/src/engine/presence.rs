//! Presence: opt-in and between contacts only. The relay shows a device
//! online only to devices on that device's own watch list (its contacts),
//! so one `Presence` frame both names whom we follow and who may follow us.
//! With the preference off (the default) nothing is shared or followed,
//! reciprocally, as for typing indicators.

use super::core::{Effect, Engine};
use crate::map::MapExt as _;
use crate::protocol::ws::{ClientFrame, MAX_WATCH};
use crate::time::UnixMs;

impl Engine {
    /// Turns presence on or off and tells the relay at once.
    pub fn set_presence(&mut self, on: bool) {
        self.prefs.presence = on;
        if !on {
            for c in self.contacts.values_mut() {
                c.online = false;
                c.typing_until = UnixMs::EPOCH;
            }
        }
        self.save_prefs();
        self.commit();
        self.send_presence();
        self.effects.push_back(Effect::Changed);
    }

    /// Sends the current presence frame (on connect and whenever the
    /// contact list or the preference changes).
    pub(super) fn send_presence(&mut self) {
        if !self.online {
            return;
        }
        let share = self.prefs.presence;
        let watch = if share {
            // Contacts' other devices too: a contact is online on any of them.
            self.contacts
                .keys()
                .chain(self.owners.keys())
                .copied()
                .take(MAX_WATCH)
                .collect()
        } else {
            Vec::new()
        };
        self.effects
            .push_back(Effect::Send(ClientFrame::Presence { share, watch }));
    }
}
