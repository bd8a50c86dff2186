//! The outgoing side: encrypting content for a contact into the outbox
//! (or parking it until a session exists), and sending the outbox in order.

use rand_core::CryptoRng;

use super::call::{CallKind, HangupReason};
use super::content::{self, Content, MessageId};
use super::core::Engine;
use super::effects::{Effect, put};
use super::error::EngineError;
use super::model::{Body, Message, OutboxEntry, Status, key};
use super::sync::SyncEvent;
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
        // Our own devices are addressed under our list's counter, which the
        // relay refuses until it holds that list: they wait for it.
        let own_waits = self.own.as_ref().is_some_and(|o| !o.published);
        let due: Vec<u64> = self
            .outbox
            .values()
            .filter(|o| !o.in_flight)
            .filter(|o| !own_waits || !self.own_devices.contains_key(&o.to))
            .map(|o| o.seq)
            .collect();
        let mut frames = self.room_frames_due();
        for seq in due {
            // The counter is the one adopted now: a `Stale` answer updates
            // it, and the same bytes go again under the same id.
            let list = self
                .outbox
                .get(&seq)
                .and_then(|o| self.list_counter_of(&o.to));
            if let Some(o) = self.outbox.get_mut(&seq) {
                o.in_flight = true;
                frames.push((
                    seq,
                    ClientFrame::Send {
                        id: o.id,
                        to: o.to,
                        ephemeral: false,
                        payload: o.payload.clone(),
                        list,
                    },
                ));
            }
        }
        // One order for pairwise and room envelopes: a sender key goes
        // before the room message that needs it.
        crate::sort::sort_by_key(&mut frames, |(seq, _)| *seq);
        for (_, f) in frames {
            self.effects.push_back(Effect::Send(f));
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
        let sent = SyncEvent::Sent {
            conversation: *peer,
            id,
            text: text.to_owned(),
            sent_at: now,
            expire_secs,
        };
        self.sync_own(rng, sent)?;
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
        let handled = match &signal.kind {
            CallKind::Answer { .. } => true,
            CallKind::Hangup { reason } => *reason == HangupReason::Declined,
            _ => false,
        };
        let call_id = signal.call_id;
        self.send_ephemeral(rng, peer, Content::Call(signal))?;
        if handled {
            self.sync_call_handled(rng, *peer, call_id);
        }
        Ok(())
    }

    /// Encrypts `content` for every device of `peer` with a session now,
    /// as ephemeral envelopes (not queued by the relay nor resent by us).
    pub(super) fn send_ephemeral<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        peer: &DeviceId,
        content: Content,
    ) -> Result<(), EngineError> {
        let c = self.contacts.get(peer).ok_or(EngineError::UnknownContact)?;
        if c.identity_changed {
            return Err(EngineError::IdentityChanged);
        }
        let targets = self.targets(peer);
        if self.send_ephemeral_to(rng, &targets, &content)? {
            Ok(())
        } else {
            Err(EngineError::NoSession)
        }
    }

    /// Sends `content` as an ephemeral envelope (never stored by the relay)
    /// to each of `devices` that has a session; true if any had one.
    pub(super) fn send_ephemeral_to<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        devices: &[DeviceId],
        content: &Content,
    ) -> Result<bool, EngineError> {
        let padded = content.to_padded();
        let mut sent = false;
        for d in devices {
            let Some(session) = self.slot(d).and_then(|s| s.session.as_mut()) else {
                continue;
            };
            let payload = session.encrypt(&padded)?;
            self.save_device(d);
            self.commit();
            self.effects.push_back(Effect::Send(ClientFrame::Send {
                id: random16(rng),
                to: *d,
                ephemeral: true,
                payload,
                list: None,
            }));
            sent = true;
        }
        Ok(sent)
    }

    pub(super) fn take_seq(&mut self) -> u64 {
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }

    /// Encrypts `content` for every device of `peer` into the outbox (or
    /// parks it per device until a session exists), and sends it if online.
    pub(super) fn send_content<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        peer: &DeviceId,
        content: Content,
        message: Option<MessageId>,
    ) -> Result<(), EngineError> {
        if !self.contacts.contains_key(peer) {
            return Err(EngineError::UnknownContact);
        }
        for d in self.targets(peer) {
            self.encrypt_for(rng, &d, content.clone(), message)?;
        }
        self.flush_outbox();
        Ok(())
    }

    /// Encrypts `content` for one device into the outbox, or parks it until
    /// a session with that device exists (fetching its bundle if it is one
    /// of a contact's other devices: we start those sessions).
    pub(super) fn encrypt_for<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        device: &DeviceId,
        content: Content,
        message: Option<MessageId>,
    ) -> Result<(), EngineError> {
        // While keys are being reset, new content waits for the new sessions.
        let pending_rotation = self.rotation.is_some();
        let paired = self.contacts.contains_key(device);
        let slot = self.slot(device).ok_or(EngineError::UnknownContact)?;
        let Some(session) = slot.session.as_mut().filter(|_| !pending_rotation) else {
            let first = slot.waiting.is_empty();
            slot.waiting.push(content);
            self.save_device(device);
            self.commit();
            if first && !paired && !pending_rotation && self.online {
                self.fetch_bundle(*device);
            }
            return Ok(());
        };
        let payload = session.encrypt(&content.to_padded())?;
        let seq = self.take_seq();
        let entry = OutboxEntry {
            seq,
            id: random16(rng),
            to: *device,
            payload,
            message,
            in_flight: false,
        };
        self.pending.push(put(key::outbox(seq), &entry));
        self.outbox.insert(seq, entry);
        self.save_device(device);
        Ok(())
    }

    /// A session with `device` just appeared: encrypt what waited for it.
    pub(super) fn drain_waiting<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        device: &DeviceId,
    ) -> Result<(), EngineError> {
        let waiting = self
            .slot(device)
            .map(|s| std::mem::take(s.waiting))
            .unwrap_or_default();
        for content in waiting {
            let message = match &content {
                Content::Text { id, .. } => Some(*id),
                _ => None,
            };
            self.encrypt_for(rng, device, content, message)?;
        }
        self.save_device(device);
        self.commit();
        self.flush_outbox();
        self.effects.push_back(Effect::Changed);
        Ok(())
    }
}
