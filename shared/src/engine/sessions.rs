//! Which session decrypts an incoming message, and which starts are refused.
//!
//! A contact has one current session and a few archived ones (libsignal's
//! "previous session states"): when the peer starts a genuine new session,
//! messages it sent in the old one before that can still arrive and must
//! still decrypt. A start (PQXDH initial header) is accepted once: the
//! digests of accepted starts are remembered for as long as the signed
//! prekey they used exists, so a relay that replays an old initial message
//! cannot roll the conversation back to it and re-apply its content.

use std::collections::VecDeque;

use rand_core::CryptoRng;

use super::content::Content;
use super::core::{Engine, put};
use super::model::key;
use crate::crypto::keys::IdentityPublic;
use crate::crypto::session::{Session, SessionError, Start};
use crate::protocol::ws::{DeviceId, EnvelopeId};

/// One device's session state, wherever it is kept: in the contact record
/// for the paired device, in the contact's account record for its others.
pub(super) struct Slot<'a> {
    pub(super) identity: &'a IdentityPublic,
    pub(super) session: &'a mut Option<Session>,
    pub(super) waiting: &'a mut Vec<Content>,
    pub(super) seen: &'a mut VecDeque<EnvelopeId>,
}

/// Archived sessions kept per contact (newest first).
pub(super) const MAX_ARCHIVED: usize = 4;
/// Accepted starts remembered at most (oldest forgotten first; pruning by
/// signed prekey keeps the list far below this in practice).
pub(super) const MAX_STARTS: usize = 4096;

impl Engine {
    /// The session state of a device of some contact.
    pub(super) fn slot(&mut self, device: &DeviceId) -> Option<Slot<'_>> {
        if self.contacts.contains_key(device) {
            let c = self.contacts.get_mut(device)?;
            return Some(Slot {
                identity: &c.identity,
                session: &mut c.session,
                waiting: &mut c.waiting,
                seen: &mut c.seen,
            });
        }
        let d = match (self.owners.get(device), self.member_of.get(device)) {
            (Some(conv), _) => self.peers.get_mut(conv)?.others.get_mut(device)?,
            (None, Some(account)) => self.members.get_mut(account)?.devices.get_mut(device)?,
            (None, None) => self.own_devices.get_mut(device)?,
        };
        Some(Slot {
            identity: &d.identity,
            session: &mut d.session,
            waiting: &mut d.waiting,
            seen: &mut d.seen,
        })
    }

    /// Decrypts with the contact's current session, an archived one, or
    /// starts a new session from a PreKey message of the paired identity.
    /// On error nothing changes.
    pub(super) fn decrypt<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        from: &DeviceId,
        payload: &[u8],
    ) -> Result<Vec<u8>, SessionError> {
        let Some(c) = self.slot(from) else {
            return Err(SessionError::NoSession);
        };
        let mut first_error = None;
        if let Some(s) = c.session.as_mut() {
            match s.decrypt(rng, payload) {
                Err(SessionError::OtherSession) => {}
                Err(e) => first_error = Some(e),
                ok => return ok,
            }
        }
        // A late message of a session the peer has since replaced.
        if let Some(list) = self.archives.get_mut(from) {
            let hit = list.iter_mut().find_map(|s| s.decrypt(rng, payload).ok());
            if let Some(plaintext) = hit {
                self.save_archive(from);
                return Ok(plaintext);
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        let start = Start::of(payload).ok_or(SessionError::NoSession)?;
        if self
            .account_keys
            .starts
            .iter()
            .any(|s| s.digest == start.digest)
        {
            return Err(SessionError::Replayed);
        }
        let accepted = Session::accept(rng, &self.identity, &self.account.prekeys, payload)?;
        let Some(c) = self.slot(from) else {
            return Err(SessionError::NoSession);
        };
        if accepted.session.peer() != c.identity {
            return Err(SessionError::OtherSession);
        }
        // A genuine new session: the old one goes to the archive.
        if let Some(old) = c.session.replace(accepted.session) {
            let list = self.archives.entry(*from).or_default();
            list.insert(0, old);
            list.truncate(MAX_ARCHIVED);
            self.save_archive(from);
        }
        self.remember_start(start);
        if let Some(used) = accepted.consumed_one_time_prekey {
            self.account.prekeys.remove_one_time(used);
            self.save_account();
        }
        Ok(accepted.plaintext)
    }

    /// Records an accepted start so the same initial message is refused later.
    pub(super) fn remember_start(&mut self, start: Start) {
        let starts = &mut self.account_keys.starts;
        starts.push(start);
        if starts.len() > MAX_STARTS {
            let extra = starts.len() - MAX_STARTS;
            starts.drain(..extra);
        }
        self.save_account_keys();
    }

    /// Forgets every session with `peer`, current and archived.
    pub(super) fn drop_archive(&mut self, peer: &DeviceId) {
        if self.archives.remove(peer).is_some() {
            self.pending
                .push(super::core::StoreOp::Delete(key::archive(peer)));
        }
    }

    pub(super) fn save_archive(&mut self, peer: &DeviceId) {
        // Record `archive/<device>`: the sessions, newest first.
        if let Some(list) = self.archives.get(peer) {
            self.pending.push(put(key::archive(peer), list));
        }
    }
}
