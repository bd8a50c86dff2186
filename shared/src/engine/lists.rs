//! Contacts' device lists arriving: the relay's `Stale` answer to a send
//! (Signal's mismatched-devices rule), and the lists fetched when a device
//! nobody knows writes to us (a contact's new device, before any `Stale`
//! told us of it). Adopting a list starts sessions with the added devices,
//! re-encrypts for them the messages still waiting for the relay, stops
//! encrypting to removed ones and says so in the conversation.

use rand_core::CryptoRng;

use super::content::Content;
use super::core::{Engine, StoreOp};
use super::http::{Purpose, Reply};
use super::model::{Body, ListProblem, Notice, Status, key};
use crate::crypto::account::{Change, SignedDeviceList};
use crate::protocol::api::{Endpoint as _, GetDeviceList};
use crate::protocol::ws::{DeviceId, EnvelopeId};
use crate::time::{Millis, UnixMs};

/// Envelopes from unknown devices held (unacknowledged) while lists are
/// fetched; beyond this they stay on the relay until the next connection.
pub(super) const MAX_PARKED: usize = 64;
/// Lists are fetched for unknown senders at most this often.
pub(super) const REFRESH_EVERY: Millis = Millis::from_secs(30);

/// An envelope from a device no contact lists (yet).
#[derive(Debug, Clone)]
pub(super) struct Parked {
    pub(super) from: DeviceId,
    pub(super) id: EnvelopeId,
    pub(super) payload: Vec<u8>,
}

impl Engine {
    /// The relay refused envelope `id`: the recipient's account has another
    /// list than the one we named.
    pub(super) fn on_stale<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        id: &EnvelopeId,
        list: Option<SignedDeviceList>,
        now: UnixMs,
    ) {
        let Some(entry) = self.outbox.values().find(|o| &o.id == id).cloned() else {
            return;
        };
        let Some(conv) = self.conversation_of(&entry.to) else {
            self.drop_outbox_to(&entry.to);
            self.commit();
            return;
        };
        // `None`: the relay says the device is in no account although we
        // adopted one for it: it withholds the list.
        let adopted = list
            .ok_or(ListProblem::Rollback)
            .and_then(|l| self.adopt_list(&conv, l));
        match adopted {
            Ok(change) => self.list_adopted(rng, &conv, &change, now),
            Err(problem) => {
                // Not sent to a set of devices we cannot trust.
                self.outbox.remove(&entry.seq);
                self.pending.push(StoreOp::Delete(key::outbox(entry.seq)));
                self.list_refused(&conv, problem, now);
            }
        }
        self.commit();
        for o in self.outbox.values_mut() {
            o.in_flight = false;
        }
        self.flush_outbox();
    }

    /// A list was adopted for `conv`: tell the user, start sessions with
    /// new devices and give them what still waits for the relay.
    pub(super) fn list_adopted<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        conv: &DeviceId,
        change: &Change,
        now: UnixMs,
    ) {
        let added: Vec<DeviceId> = change
            .added
            .iter()
            .filter(|d| *d != conv)
            .copied()
            .collect();
        let removed = change.removed.len();
        if !added.is_empty() || removed > 0 {
            let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
            let notice = Notice::DevicesChanged {
                added: count(added.len()),
                removed: count(removed),
            };
            self.push_notice(conv, notice, now);
        }
        if added.is_empty() {
            return;
        }
        // Texts still waiting for the relay were encrypted for the old set.
        let waiting: Vec<_> = self
            .outbox
            .values()
            .filter(|o| self.conversation_of(&o.to) == Some(*conv))
            .filter_map(|o| o.message)
            .collect();
        let mut texts = Vec::new();
        for id in waiting {
            let found = self
                .messages(conv)
                .iter()
                .find(|m| m.outgoing && m.id == id);
            if let Some(m) = found
                && let Body::Text(text) = &m.body
                && m.status < Status::Delivered
                && !texts.iter().any(|(i, _)| *i == id)
            {
                let expire_secs = m
                    .expires_at
                    .map(|t| u32::try_from(t.since(m.at).as_secs()).unwrap_or(u32::MAX));
                let content = Content::Text {
                    id,
                    text: text.clone(),
                    sent_at: m.at,
                    expire_secs,
                };
                texts.push((id, content));
            }
        }
        for d in added {
            for (id, content) in &texts {
                let _ = self.encrypt_for(rng, &d, content.clone(), Some(*id));
            }
        }
    }

    /// Shows once per streak that a list for `conv` was refused.
    pub(super) fn list_refused(&mut self, conv: &DeviceId, problem: ListProblem, now: UnixMs) {
        let notice = Notice::DeviceListRefused(problem);
        let last = self
            .messages(conv)
            .iter()
            .rev()
            .find_map(|m| match &m.body {
                Body::Notice(n) => Some(n.clone()),
                _ => None,
            });
        if last.as_ref() != Some(&notice) {
            self.push_notice(conv, notice, now);
        }
    }

    /// An envelope from a device no contact lists: perhaps a contact's new
    /// device. Held unacknowledged while the contacts' lists are fetched;
    /// false when it cannot be (the caller then drops it).
    pub(super) fn park(&mut self, parked: Parked, now: UnixMs) -> bool {
        if self.peers.is_empty() || self.parked.len() >= MAX_PARKED {
            return false;
        }
        if !self
            .parked
            .iter()
            .any(|p| p.id == parked.id && p.from == parked.from)
        {
            self.parked.push(parked);
        }
        if now >= self.lists_fetched_at.saturating_add(REFRESH_EVERY) {
            self.lists_fetched_at = now;
            let accounts: Vec<_> = self
                .peers
                .iter()
                .map(|(c, p)| (*c, p.account.id()))
                .collect();
            for (conv, account) in accounts {
                self.http(Purpose::List(conv), GetDeviceList { account }.request(&()));
            }
        }
        true
    }

    /// A contact's list fetched because of a parked envelope.
    pub(super) fn list_fetched<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        conv: &DeviceId,
        reply: &Reply,
        now: UnixMs,
    ) {
        let Ok(bytes) = super::http::decode::<GetDeviceList>(reply) else {
            return;
        };
        let adopted = SignedDeviceList::from_bytes(&bytes.0)
            .map_err(ListProblem::from)
            .and_then(|l| self.adopt_list(conv, l));
        match adopted {
            Ok(change) => self.list_adopted(rng, conv, &change, now),
            Err(problem) => self.list_refused(conv, problem, now),
        }
        self.commit();
        // Whatever is now known is handled; the rest waits for the relay.
        let parked = std::mem::take(&mut self.parked);
        for p in parked {
            if self.conversation_of(&p.from).is_some() {
                self.on_deliver(rng, p.from, p.id, false, &p.payload, now);
            } else {
                self.parked.push(p);
            }
        }
        self.flush_outbox();
    }
}
