//! Membership changes in the engine (ADR 0025): taking in those of other
//! members (with a notice each, and the room joined from its `Create`), and
//! making ours (add, remove, leave, promote, rename, lifetime). Ours are
//! signed with the account key, checked against the room's rules before
//! they leave, and sent pairwise to every member device, the one removed
//! or leaving included, so it learns it too.

use rand_core::CryptoRng;

use super::super::content::Content;
use super::super::core::{Effect, Engine, put};
use super::super::model::key;

/// Room logs kept while this device is being linked, at most.
const MAX_EARLY_ROOMS: usize = 256;
use super::super::error::EngineError;
use super::content::RoomPairwise;
use super::messages::RoomNotice;
use super::{RoomEntry, notice_id};
use crate::crypto::account::AccountId;
use crate::group::{
    GroupError, Invitee, Lifetime, Op, Outcome, Refusal, Room, RoomId, RoomLog, SignedChange,
};
use crate::map::{Map, MapExt as _};
use crate::protocol::ws::DeviceId;
use crate::time::UnixMs;

impl Engine {
    /// Membership changes from a member's device (or one of ours): a room
    /// we are added to is joined from its `Create`; known rooms take the
    /// changes in. Changes that do not verify change nothing.
    pub(crate) fn room_changes<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        room: RoomId,
        changes: &[SignedChange],
        now: UnixMs,
    ) -> Result<(), EngineError> {
        let Some(me) = self.account_public().map(|a| a.id()) else {
            // Being linked: our other device sent our rooms before this one
            // had the account; kept (stored) until it has.
            if self.linking && self.early_rooms.len() < MAX_EARLY_ROOMS {
                self.early_rooms.push((room, changes.to_vec()));
                self.pending
                    .push(put(key::EARLY_ROOMS.to_owned(), &self.early_rooms));
                self.commit();
            }
            return Ok(());
        };
        let before = self.member_names(&room);
        if let Some(entry) = self.rooms.get_mut(&room) {
            let out = entry.room.apply(changes)?;
            if !out.new.is_empty() {
                entry.last_activity = now;
            }
            self.change_notices(&room, &before, &out, now);
        } else {
            let create = changes
                .iter()
                .find(|c| c.verify().is_ok_and(|b| b.seq == 0))
                .ok_or(EngineError::Room(GroupError::Malformed))?;
            let mut log = RoomLog::new(create)?;
            if log.state().id != room {
                return Err(EngineError::Room(GroupError::WrongRoom));
            }
            log.insert(changes)?;
            if !log.state().is_member(&me) {
                // Not for us (or we already left): nothing is kept.
                return Ok(());
            }
            let by = create
                .verify()
                .ok()
                .and_then(|b| match b.op {
                    Op::Create { creator_name, .. } => Some(creator_name),
                    _ => None,
                })
                .unwrap_or_default();
            self.rooms.insert(
                room,
                RoomEntry::new(Room::new(log, me, self.device_id()), now),
            );
            self.room_notice(
                &room,
                notice_id(&create.hash()),
                RoomNotice::Created { by },
                now,
            );
        }
        self.save_room(&room)?;
        self.commit();
        self.sync_members(now);
        self.retry_held(rng, now);
        self.seal_room_out(rng, now);
        self.effects.push_back(Effect::Changed);
        Ok(())
    }

    /// Joins the rooms whose logs came before this device had its account.
    pub(crate) fn join_early_rooms<R: CryptoRng + ?Sized>(&mut self, rng: &mut R, now: UnixMs) {
        if self.early_rooms.is_empty() || self.account_public().is_none() {
            return;
        }
        for (room, changes) in std::mem::take(&mut self.early_rooms) {
            let _ = self.room_changes(rng, room, &changes, now);
        }
        self.pending.push(super::super::core::StoreOp::Delete(
            key::EARLY_ROOMS.to_owned(),
        ));
        self.commit();
    }

    /// Our devices added since the last look get the log of every room we
    /// are in, and join them (from then on, as a late joiner would).
    pub(crate) fn tell_new_devices_rooms<R: CryptoRng + ?Sized>(&mut self, rng: &mut R) {
        if self.rooms_to_tell.is_empty() || !self.online {
            return;
        }
        let devices: Vec<DeviceId> = std::mem::take(&mut self.rooms_to_tell)
            .into_iter()
            .map(|(d, ())| d)
            .filter(|d| self.own_devices.contains_key(d))
            .collect();
        let logs: Vec<(RoomId, Vec<SignedChange>)> = self
            .rooms
            .iter()
            .filter(|(_, e)| e.room.joined())
            .map(|(id, e)| (*id, e.room.log().changes()))
            .collect();
        for d in devices {
            for (room, changes) in &logs {
                let tell = Content::Room(RoomPairwise::Changes {
                    room: *room,
                    changes: changes.clone(),
                });
                let _ = self.encrypt_for(rng, &d, tell, None);
            }
        }
        self.flush_outbox();
    }

    fn member_names(&self, room: &RoomId) -> Map<AccountId, String> {
        self.rooms
            .get(room)
            .map(|e| {
                e.room
                    .state()
                    .members
                    .iter()
                    .map(|(a, m)| (*a, m.name.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// One notice per change that entered the log.
    fn change_notices(
        &mut self,
        room: &RoomId,
        before: &Map<AccountId, String>,
        out: &Outcome,
        now: UnixMs,
    ) {
        let me = self.account_public().map(|a| a.id());
        let mut names = before.clone();
        names.extend(self.member_names(room));
        let name = |a: &AccountId| names.get(a).cloned().unwrap_or_default();
        for applied in &out.new {
            let by = name(&applied.author);
            let notice = if applied.refused.is_some() {
                Some(RoomNotice::Ignored { by })
            } else {
                match &applied.op {
                    Op::Create { .. } => None,
                    Op::Add(i) => Some(RoomNotice::Added {
                        name: i.name.clone(),
                        by,
                    }),
                    Op::Remove(a) if Some(*a) == me => Some(RoomNotice::RemovedYou { by }),
                    Op::Remove(a) => Some(RoomNotice::Removed { name: name(a), by }),
                    Op::Leave if Some(applied.author) == me => Some(RoomNotice::YouLeft),
                    Op::Leave => Some(RoomNotice::Left { name: by }),
                    Op::Promote(a) => Some(RoomNotice::Promoted { name: name(a), by }),
                    Op::Rename(n) => Some(RoomNotice::Renamed {
                        name: n.clone(),
                        by,
                    }),
                    Op::SetLifetime(_) => Some(RoomNotice::LifetimeChanged { by }),
                    Op::SetTimer(secs) => Some(RoomNotice::Timer { secs: *secs, by }),
                }
            };
            if let Some(n) = notice {
                self.room_notice(room, notice_id(&applied.hash), n, now);
            }
        }
    }

    /// Adds a contact (by conversation) to a room; admins only. The new
    /// member's devices get the whole log, the others the change.
    pub fn room_add<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        room: &RoomId,
        contact: &DeviceId,
        now: UnixMs,
    ) -> Result<(), EngineError> {
        let c = self
            .contacts
            .get(contact)
            .ok_or(EngineError::UnknownContact)?;
        let p = self.peers.get(contact).ok_or(EngineError::SafetyPending)?;
        let invitee = Invitee {
            account: p.account,
            name: c.name.clone(),
        };
        self.room_op(rng, room, Op::Add(invitee), now)?;
        let log = self
            .rooms
            .get(room)
            .map(|e| e.room.log().changes())
            .unwrap_or_default();
        let whole = Content::Room(RoomPairwise::Changes {
            room: *room,
            changes: log,
        });
        self.send_content(rng, contact, whole, None)?;
        self.flush_outbox();
        Ok(())
    }

    /// Removes a member; admins only. Their devices are told, and this
    /// device's sender key is replaced before the next message.
    pub fn room_remove<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        room: &RoomId,
        member: AccountId,
        now: UnixMs,
    ) -> Result<(), EngineError> {
        self.room_op(rng, room, Op::Remove(member), now)
    }

    /// Leaves a room (the history stays, read-only).
    pub fn room_leave<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        room: &RoomId,
        now: UnixMs,
    ) -> Result<(), EngineError> {
        self.room_op(rng, room, Op::Leave, now)
    }

    /// Makes a member an admin; admins only.
    pub fn room_promote<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        room: &RoomId,
        member: AccountId,
        now: UnixMs,
    ) -> Result<(), EngineError> {
        self.room_op(rng, room, Op::Promote(member), now)
    }

    /// Renames a room; admins only.
    pub fn room_rename<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        room: &RoomId,
        name: &str,
        now: UnixMs,
    ) -> Result<(), EngineError> {
        let name = super::super::content::clean_name(name);
        self.room_op(rng, room, Op::Rename(name), now)
    }

    /// Sets when a room ends; admins only.
    pub fn room_set_lifetime<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        room: &RoomId,
        lifetime: Lifetime,
        now: UnixMs,
    ) -> Result<(), EngineError> {
        self.room_op(rng, room, Op::SetLifetime(lifetime), now)
    }

    /// Sets the room's disappearing-message timer (`None`: off); admins
    /// only.
    pub fn room_set_timer<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        room: &RoomId,
        secs: Option<u32>,
        now: UnixMs,
    ) -> Result<(), EngineError> {
        if secs.is_some_and(|s| s == 0 || s > super::super::core::MAX_TIMER_SECS) {
            return Err(EngineError::BadTimer);
        }
        self.room_op(rng, room, Op::SetTimer(secs), now)
    }

    /// Signs `op`, checks it against the room's rules, applies it and sends
    /// it to every member device known before it (and our others).
    fn room_op<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        room: &RoomId,
        op: Op,
        now: UnixMs,
    ) -> Result<(), EngineError> {
        let own = self.own.as_ref().ok_or(EngineError::NoAccount)?;
        let me = own.key.public().id();
        let entry = self.rooms.get(room).ok_or(EngineError::UnknownRoom)?;
        let state = entry.room.state();
        if !state.is_member(&me) {
            return Err(EngineError::Room(GroupError::NotMember));
        }
        let admin_only = !matches!(op, Op::Leave);
        if admin_only && !state.is_admin(&me) {
            return Err(EngineError::RoomRefused(Refusal::NotAdmin));
        }
        let fits = match &op {
            Op::Add(i) => !state.is_member(&i.account.id()),
            Op::Remove(a) | Op::Promote(a) => state.is_member(a) && *a != me,
            _ => true,
        };
        if !fits {
            return Err(EngineError::RoomRefused(Refusal::Mismatch));
        }
        let change = entry.room.log().propose(&own.key, op, now)?;
        let me_device = self.device_id();
        let to: Vec<DeviceId> = self
            .member_devices(room)
            .into_values()
            .flatten()
            .filter(|d| *d != me_device)
            .collect();
        let before = self.member_names(room);
        let out = match self.rooms.get_mut(room) {
            Some(e) => e.room.apply(std::slice::from_ref(&change))?,
            None => return Err(EngineError::UnknownRoom),
        };
        if let Some(r) = out.new.iter().find_map(|a| a.refused) {
            return Err(EngineError::RoomRefused(r));
        }
        if let Some(e) = self.rooms.get_mut(room) {
            e.last_activity = now;
        }
        self.change_notices(room, &before, &out, now);
        self.save_room(room)?;
        let tell = Content::Room(RoomPairwise::Changes {
            room: *room,
            changes: vec![change],
        });
        for d in to {
            // A device without a slot (gone since) gets nothing.
            let _ = self.encrypt_for(rng, &d, tell.clone(), None);
        }
        // Out before members who left are forgotten with their sessions.
        self.flush_outbox();
        self.sync_members(now);
        self.seal_room_out(rng, now);
        self.effects.push_back(Effect::Changed);
        Ok(())
    }
}
