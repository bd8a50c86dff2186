//! The outgoing side: encrypting content for a contact into the outbox
//! (or parking it until a session exists), and sending the outbox in order.

use rand_core::CryptoRng;

use super::content::{self, Content, MessageId};
use super::core::Engine;
use super::effects::{Effect, put};
use super::error::EngineError;
use super::model::{Body, Message, OutboxEntry, Status, key};
use crate::protocol::ws::{ClientFrame, DeviceId};
use crate::time::{Millis, UnixMs};

pub(super) fn random16<R: CryptoRng + ?Sized>(rng: &mut R) -> [u8; 16] {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    b
}

impl Engine {
    pub(super) fn flush_outbox(&mut self) {
        if !self.online {
            return;
        }
        self.commit();
        for o in self.outbox.values_mut().filter(|o| !o.in_flight) {
            o.in_flight = true;
            self.effects.push_back(Effect::Send(ClientFrame::Send {
                id: o.id,
                to: o.to,
                ephemeral: false,
                payload: o.payload.clone(),
                list: None,
            }));
        }
    }

    /// Sends a text message (queued while offline or before the session exists).
    pub fn send_text<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        peer: &DeviceId,
        text: &str,
        now: UnixMs,
    ) -> Result<MessageId, EngineError> {
        let text = text.trim_end();
        if text.trim().is_empty() || text.len() > content::MAX_TEXT {
            return Err(EngineError::BadText);
        }
        let c = self.contacts.get(peer).ok_or(EngineError::UnknownContact)?;
        if c.identity_changed {
            return Err(EngineError::IdentityChanged);
        }
        let id = random16(rng);
        let expire_secs = c.timer_secs;
        let msg = Message {
            id,
            seq: self.take_seq(),
            outgoing: true,
            body: Body::Text(text.to_owned()),
            at: now,
            status: Status::Queued,
            expires_at: expire_secs.map(|s| now + Millis::from_secs(u64::from(s))),
        };
        self.insert_message(peer, msg, now);
        self.send_content(
            rng,
            peer,
            Content::Text {
                id,
                text: text.to_owned(),
                sent_at: now,
                expire_secs,
            },
            Some(id),
        )?;
        Ok(id)
    }

    /// Sends a call signal as an ephemeral envelope: only to the peer's
    /// online devices, never stored by the relay, never resent.
    pub fn send_call_signal<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        peer: &DeviceId,
        signal: super::call::CallSignal,
    ) -> Result<(), EngineError> {
        if !self.online {
            return Err(EngineError::Offline);
        }
        self.send_ephemeral(rng, peer, Content::Call(signal))
    }

    /// Encrypts `content` for `peer` now, as an ephemeral envelope (not
    /// queued by the relay nor resent by us).
    pub(super) fn send_ephemeral<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        peer: &DeviceId,
        content: Content,
    ) -> Result<(), EngineError> {
        let c = self
            .contacts
            .get_mut(peer)
            .ok_or(EngineError::UnknownContact)?;
        if c.identity_changed {
            return Err(EngineError::IdentityChanged);
        }
        let session = c.session.as_mut().ok_or(EngineError::NoSession)?;
        let payload = session.encrypt(&content.to_padded())?;
        self.save_contact(peer);
        self.commit();
        self.effects.push_back(Effect::Send(ClientFrame::Send {
            id: random16(rng),
            to: *peer,
            ephemeral: true,
            payload,
            list: None,
        }));
        Ok(())
    }

    pub(super) fn take_seq(&mut self) -> u64 {
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }

    /// Encrypts `content` for `peer` into the outbox (or parks it until a
    /// session exists), and sends it if online.
    pub(super) fn send_content<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        peer: &DeviceId,
        content: Content,
        message: Option<MessageId>,
    ) -> Result<(), EngineError> {
        let c = self
            .contacts
            .get_mut(peer)
            .ok_or(EngineError::UnknownContact)?;
        // While keys are being reset, new content waits for the new sessions.
        let pending_rotation = self.rotation.is_some();
        let Some(session) = c.session.as_mut().filter(|_| !pending_rotation) else {
            c.waiting.push(content);
            self.save_contact(peer);
            self.commit();
            return Ok(());
        };
        let payload = session.encrypt(&content.to_padded())?;
        let seq = self.take_seq();
        let entry = OutboxEntry {
            seq,
            id: random16(rng),
            to: *peer,
            payload,
            message,
            in_flight: false,
        };
        self.pending.push(put(key::outbox(seq), &entry));
        self.outbox.insert(seq, entry);
        self.save_contact(peer);
        self.flush_outbox();
        Ok(())
    }

    /// A session just appeared: encrypt what waited for it.
    pub(super) fn drain_waiting<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        peer: &DeviceId,
    ) -> Result<(), EngineError> {
        let waiting = self
            .contacts
            .get_mut(peer)
            .map(|c| std::mem::take(&mut c.waiting))
            .unwrap_or_default();
        for content in waiting {
            let message = match &content {
                Content::Text { id, .. } => Some(*id),
                _ => None,
            };
            self.send_content(rng, peer, content, message)?;
        }
        self.save_contact(peer);
        self.commit();
        self.effects.push_back(Effect::Changed);
        Ok(())
    }
}
