//! One's own devices (ADR 0020): each device of the account keeps a session
//! with every other one, and tells them what the person did here, so the
//! devices show the same conversations: a text sent, messages read, a timer
//! changed. Messages from contacts need no relaying: contacts encrypt for
//! every device of the account themselves.
//!
//! A `Sync` is accepted only from a device in this account's own signed
//! list; from anyone else it is ignored.

use std::collections::BTreeMap;

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use super::call::{CallId, CallKind, CallSignal, HangupReason};
use super::content::{Content, MessageId};
use super::core::{Effect, Engine, MAX_TIMER_SECS, put};
use super::error::EngineError;
use super::files::{FileMessage, FileOffer, FileState};
use super::model::{Body, Message, Notice, RECORD_VERSION, Status, key};
use super::peers::PeerDevice;
use crate::crypto::account::{DeviceEntry, DeviceList};
use crate::crypto::codec;
use crate::crypto::keys::IdentityPublic;
use crate::protocol::ws::DeviceId;
use crate::time::{Millis, UnixMs};

/// What another device of the account did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncEvent {
    /// A text was sent to a contact from that device.
    Sent {
        /// The conversation (the contact's paired device).
        conversation: DeviceId,
        /// The message id (the contact's receipts name it).
        id: MessageId,
        /// The text.
        text: String,
        /// When it was sent, Unix ms.
        sent_at: UnixMs,
        /// Disappearing-message timer in force.
        expire_secs: Option<u32>,
    },
    /// Incoming messages were read on that device.
    Read {
        /// The conversation.
        conversation: DeviceId,
        /// The messages read.
        ids: Vec<MessageId>,
    },
    /// The conversation's disappearing-message timer was changed there.
    Timer {
        /// The conversation.
        conversation: DeviceId,
        /// The new timer.
        secs: Option<u32>,
    },
    /// A contact was paired there: this device adds it too and starts its
    /// own session with it (the contact encrypts for every device of the
    /// account once it knows the list).
    Paired {
        /// The contact's paired device.
        identity: IdentityPublic,
        /// The name it gave.
        name: String,
        /// When.
        paired_at: UnixMs,
    },
    /// A file was offered to a contact from there (shown as sent; only the
    /// contact's devices can fetch it).
    FileSent {
        /// The conversation.
        conversation: DeviceId,
        /// The message id.
        id: MessageId,
        /// The offer as sent.
        offer: FileOffer,
        /// When.
        sent_at: UnixMs,
        /// Disappearing-message timer in force.
        expire_secs: Option<u32>,
    },
    /// The conversation (and the contact) was deleted there.
    Deleted {
        /// The conversation.
        conversation: DeviceId,
    },
    /// A call was answered or declined there: it stops ringing here
    /// (ephemeral, like call signals).
    CallHandled {
        /// The conversation.
        conversation: DeviceId,
        /// The call.
        call_id: CallId,
    },
}

/// Sessions with the account's other devices, stored as `own-devices`.
pub(super) fn decode_own_devices(b: &[u8]) -> Result<BTreeMap<DeviceId, PeerDevice>, EngineError> {
    let list: Vec<PeerDevice> = codec::decode(RECORD_VERSION, b)?;
    Ok(list
        .into_iter()
        .map(|d| (d.identity.device_id(), d))
        .collect())
}

/// A message another device of the account sent.
struct Sent {
    conversation: DeviceId,
    id: MessageId,
    sent_at: UnixMs,
    expire_secs: Option<u32>,
}

impl Engine {
    /// Shows a message sent from another device of the account (once).
    fn sent_elsewhere(&mut self, sent: Sent, body: Body, now: UnixMs) {
        let Sent {
            conversation,
            id,
            sent_at,
            expire_secs,
        } = sent;
        let known = self
            .messages(&conversation)
            .iter()
            .any(|m| m.outgoing && m.id == id);
        if known || !self.contacts.contains_key(&conversation) {
            return;
        }
        let expire_secs = expire_secs.filter(|s| *s > 0 && *s <= MAX_TIMER_SECS);
        let m = Message {
            id,
            seq: self.take_seq(),
            outgoing: true,
            body,
            at: sent_at,
            status: Status::Sent,
            expires_at: expire_secs.map(|s| sent_at + Millis::from_secs(u64::from(s))),
        };
        self.insert_message(&conversation, m, now);
    }

    pub(super) fn save_own_devices(&mut self) {
        let list: Vec<&PeerDevice> = self.own_devices.values().collect();
        self.pending.push(put(key::OWN_DEVICES.to_owned(), &list));
    }

    /// Makes the session slots follow the own list: a slot for each other
    /// device, none for a device no longer listed.
    pub(super) fn follow_own_list(&mut self, list: &DeviceList) {
        let me = self.device_id();
        let listed: Vec<&DeviceEntry> = list
            .devices()
            .iter()
            .filter(|d| d.device_id() != me)
            .collect();
        let gone: Vec<DeviceId> = self
            .own_devices
            .keys()
            .filter(|d| !listed.iter().any(|e| e.device_id() == **d))
            .copied()
            .collect();
        for d in gone {
            self.own_devices.remove(&d);
            self.drop_archive(&d);
            self.drop_outbox_to(&d);
        }
        for e in listed {
            let d = e.device_id();
            if let litemap::Entry::Vacant(v) = self.own_devices.entry(d) {
                v.insert(PeerDevice::new(e));
                // It joins our rooms from their logs (see `rooms::admin`).
                self.rooms_to_tell.insert(d, ());
            }
        }
        self.save_own_devices();
    }

    /// Tells the account's other devices what happened here.
    pub(super) fn sync_own<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        event: SyncEvent,
    ) -> Result<(), EngineError> {
        let devices: Vec<DeviceId> = self.own_devices.keys().copied().collect();
        if devices.is_empty() {
            return Ok(());
        }
        let content = Content::Sync(event);
        for d in devices {
            self.encrypt_for(rng, &d, content.clone(), None)?;
        }
        self.flush_outbox();
        Ok(())
    }

    /// Tells the account's other devices, now and only if they are online,
    /// that a call was answered or declined here (they stop ringing).
    pub(super) fn sync_call_handled<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        conversation: DeviceId,
        call_id: CallId,
    ) {
        let padded = Content::Sync(SyncEvent::CallHandled {
            conversation,
            call_id,
        })
        .to_padded();
        let devices: Vec<DeviceId> = self.own_devices.keys().copied().collect();
        for d in devices {
            let Some(session) = self
                .own_devices
                .get_mut(&d)
                .and_then(|s| s.session.as_mut())
            else {
                continue;
            };
            let Ok(payload) = session.encrypt(&padded) else {
                continue;
            };
            self.save_device(&d);
            self.commit();
            self.effects
                .push_back(Effect::Send(crate::protocol::ws::ClientFrame::Send {
                    id: super::outbox::random16(rng),
                    to: d,
                    ephemeral: true,
                    payload,
                    list: None,
                }));
        }
    }

    /// A contact was just paired here: the account's other devices add it.
    pub(crate) fn announce_contact<R: CryptoRng + ?Sized>(&mut self, rng: &mut R, peer: &DeviceId) {
        let Some(c) = self.contacts.get(peer) else {
            return;
        };
        let event = SyncEvent::Paired {
            identity: c.identity.clone(),
            name: c.name.clone(),
            paired_at: c.paired_at,
        };
        // A contact added here stays even if the others cannot be told now.
        let _ = self.sync_own(rng, event);
    }

    /// A `Sync` from one of the account's other devices.
    pub(super) fn apply_sync(&mut self, event: SyncEvent, now: UnixMs) {
        match event {
            SyncEvent::Sent {
                conversation,
                id,
                text,
                sent_at,
                expire_secs,
            } => {
                let sent = Sent {
                    conversation,
                    id,
                    sent_at,
                    expire_secs,
                };
                self.sent_elsewhere(sent, Body::Text(text), now);
            }
            SyncEvent::Read { conversation, ids } => {
                let Some(h) = self.history.get_mut(&conversation) else {
                    return;
                };
                let mut changed = Vec::new();
                for m in h.iter_mut() {
                    if !m.outgoing && m.status < Status::Read && ids.contains(&m.id) {
                        m.status = Status::Read;
                        changed.push(m.clone());
                    }
                }
                let unread = h
                    .iter()
                    .filter(|m| {
                        !m.outgoing && m.status < Status::Read && !matches!(m.body, Body::Notice(_))
                    })
                    .count();
                for m in &changed {
                    self.pending
                        .push(put(key::message(&conversation, m.seq), m));
                }
                if let Some(c) = self.contacts.get_mut(&conversation) {
                    c.unread = u32::try_from(unread).unwrap_or(u32::MAX);
                    self.save_contact(&conversation);
                }
                self.effects.push_back(Effect::Changed);
            }
            SyncEvent::Paired {
                identity,
                name,
                paired_at,
            } => {
                let dev = identity.device_id();
                if dev == self.device_id() || self.contacts.contains_key(&dev) {
                    return;
                }
                let name = super::content::clean_name(&name);
                let contact = self.new_contact(identity, name, true, paired_at);
                self.contacts.insert(dev, contact);
                self.push_notice(&dev, Notice::Paired, now);
                self.save_contact(&dev);
                self.commit();
                if self.online {
                    self.fetch_bundle(dev);
                }
                self.send_presence();
                self.effects.push_back(Effect::Changed);
            }
            SyncEvent::FileSent {
                conversation,
                id,
                offer,
                sent_at,
                expire_secs,
            } => {
                let sent = Sent {
                    conversation,
                    id,
                    sent_at,
                    expire_secs,
                };
                let file = FileMessage {
                    offer,
                    state: FileState::Offered,
                };
                self.sent_elsewhere(sent, Body::File(file), now);
            }
            SyncEvent::Deleted { conversation } => {
                let _ = self.forget_conversation(&conversation);
            }
            SyncEvent::CallHandled {
                conversation,
                call_id,
            } => {
                let ended = CallSignal {
                    call_id,
                    sent_at: now,
                    kind: CallKind::Hangup {
                        reason: HangupReason::HandledElsewhere,
                    },
                };
                self.effects.push_back(Effect::Call(conversation, ended));
            }
            SyncEvent::Timer { conversation, secs } => {
                let secs = secs.filter(|s| *s > 0 && *s <= MAX_TIMER_SECS);
                let Some(c) = self.contacts.get_mut(&conversation) else {
                    return;
                };
                c.timer_secs = secs;
                self.save_contact(&conversation);
                self.push_notice(&conversation, Notice::Timer { secs, by_me: true }, now);
            }
        }
        self.commit();
    }
}
