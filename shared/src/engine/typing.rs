//! Typing indicators. They tell a contact something about you in real time,
//! so they are opt-out (reciprocal: with them off you neither send nor see
//! them), only go to a contact who is online (ephemeral envelopes are not
//! queued, and each still advances the ratchet: a burst to an offline peer
//! would only pile up skipped keys), and are rate-limited here, not in the
//! adapter, which just reports every keystroke.

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use super::content::Content;
use super::core::{Effect, Engine, EngineError};
use crate::map::MapExt as _;
use crate::protocol::ws::DeviceId;
use crate::time::{Millis, UnixMs};

/// How long "typing" shows without a new signal, ms.
pub const SHOW_MS: Millis = Millis::from_millis(6_000);
/// A repeated "typing" goes out at most this often while typing goes on, ms.
pub const RESEND_MS: Millis = Millis::from_millis(3_000);

/// This device's privacy preferences (record `prefs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prefs {
    /// Send and show typing indicators.
    pub typing_indicators: bool,
    /// Let contacts see when this device is online, and see theirs (off
    /// by default: it tells the relay and contacts when you use Parley).
    pub presence: bool,
}

impl Default for Prefs {
    fn default() -> Self {
        Self {
            typing_indicators: true,
            presence: false,
        }
    }
}

/// The record as written before presence became a preference.
#[derive(Serialize, Deserialize)]
struct PrefsV1 {
    typing_indicators: bool,
}

impl Prefs {
    /// Decodes the stored record, or an older one; preferences are not
    /// worth refusing to start over, so damage means the defaults.
    pub(super) fn decode(v: &[u8]) -> Self {
        use super::model::RECORD_VERSION;
        use crate::crypto::codec::decode;
        decode(RECORD_VERSION, v)
            .or_else(|_| {
                decode::<PrefsV1>(RECORD_VERSION, v).map(|old| Self {
                    typing_indicators: old.typing_indicators,
                    ..Self::default()
                })
            })
            .unwrap_or_default()
    }
}

impl Engine {
    /// The preferences.
    pub fn prefs(&self) -> &Prefs {
        &self.prefs
    }

    /// Turns typing indicators on or off (off also hides the contacts').
    pub fn set_typing_indicators(&mut self, on: bool) {
        self.prefs.typing_indicators = on;
        if !on {
            for c in self.contacts.values_mut() {
                c.typing_until = UnixMs::EPOCH;
                c.typing_sent_at = UnixMs::EPOCH;
            }
        }
        self.save_prefs();
        self.commit();
        self.effects.push_back(Effect::Changed);
    }

    /// The user's draft for `peer` changed: `typing` is whether it holds
    /// text. Sends at most one signal per [`RESEND_MS`] while typing, and one
    /// "stopped" when a draft is cleared after that.
    pub fn typing<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        peer: &DeviceId,
        typing: bool,
        now: UnixMs,
    ) -> Result<(), EngineError> {
        if !self.prefs.typing_indicators || !self.online {
            return Ok(());
        }
        let Some(c) = self.contacts.get_mut(peer) else {
            return Err(EngineError::UnknownContact);
        };
        if !c.online || c.identity_changed || c.session.is_none() {
            return Ok(());
        }
        let due = if typing {
            now.since(c.typing_sent_at) >= RESEND_MS
        } else {
            c.typing_sent_at != UnixMs::EPOCH
        };
        if !due {
            return Ok(());
        }
        c.typing_sent_at = if typing { now } else { UnixMs::EPOCH };
        self.send_ephemeral(rng, peer, Content::Typing(typing))
    }

    /// Whether `peer` is typing now.
    pub fn is_typing(&self, peer: &DeviceId, now: UnixMs) -> bool {
        self.contacts
            .get(peer)
            .is_some_and(|c| c.typing_until > now)
    }

    /// A contact's typing signal arrived.
    pub(super) fn typing_received(&mut self, from: &DeviceId, typing: bool, now: UnixMs) {
        if !self.prefs.typing_indicators {
            return;
        }
        if let Some(c) = self.contacts.get_mut(from) {
            c.typing_until = if typing { now + SHOW_MS } else { UnixMs::EPOCH };
            self.effects.push_back(Effect::Changed);
        }
    }

    /// A message from `from` arrived or ours went out: typing is over.
    pub(super) fn typing_done(&mut self, peer: &DeviceId, incoming: bool) {
        if let Some(c) = self.contacts.get_mut(peer) {
            if incoming {
                c.typing_until = UnixMs::EPOCH;
            } else {
                c.typing_sent_at = UnixMs::EPOCH;
            }
        }
    }

    /// Clears indicators whose time ran out; true if one did (redraw).
    pub(super) fn expire_typing(&mut self, now: UnixMs) -> bool {
        let mut any = false;
        for c in self.contacts.values_mut() {
            if c.typing_until != UnixMs::EPOCH && c.typing_until <= now {
                c.typing_until = UnixMs::EPOCH;
                any = true;
            }
        }
        any
    }
}
