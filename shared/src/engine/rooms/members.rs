//! Room members who are not contacts (ADR 0025). Their account key comes
//! from the room's signed log, so the relay cannot slip in another one;
//! their device list is fetched by account and must verify under that key
//! and never go back (rollback, equivocation). Sessions with their devices
//! start like those with a contact's other devices, and carry only room
//! content (changes, sender keys, receipts): a room member cannot open a
//! conversation.

use std::collections::BTreeSet;

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use super::super::core::{Effect, Engine, StoreOp, put};
use super::super::http::{Purpose, Reply};
use super::super::model::{ListProblem, RECORD_VERSION, key};
use super::super::peers::PeerDevice;
use crate::crypto::account::{
    AccountId, AccountPublic, Change, DeviceList, SignedDeviceList, accept_newer,
};
use crate::crypto::codec;
use crate::map::Map;
use crate::protocol::api::{Endpoint as _, GetDeviceList};
use crate::protocol::ws::DeviceId;
use crate::time::{Millis, UnixMs};

/// A member list is fetched again after a failure at most this often.
const RETRY_EVERY: Millis = Millis::from_secs(10);

/// A room member's account that is not a contact's.
#[derive(Debug, Clone)]
pub(crate) struct MemberAccount {
    pub(crate) account: AccountPublic,
    /// The last list adopted (`None`: not fetched yet).
    pub(crate) list: Option<(DeviceList, SignedDeviceList)>,
    pub(crate) devices: Map<DeviceId, PeerDevice>,
    /// The relay served a list that did not verify (or went back): nothing
    /// goes to this account until a good one comes.
    pub(crate) refused: Option<ListProblem>,
    /// When the list was last asked for (not stored).
    pub(crate) asked_at: Option<UnixMs>,
}

#[derive(Serialize, Deserialize)]
struct MemberRecord {
    account: AccountPublic,
    list: Option<SignedDeviceList>,
    devices: Vec<PeerDevice>,
    refused: Option<ListProblem>,
}

impl MemberAccount {
    pub(crate) fn decode(b: &[u8]) -> Result<Self, super::super::error::EngineError> {
        let r: MemberRecord = codec::decode(RECORD_VERSION, b)?;
        let list = match r.list {
            None => None,
            Some(s) => {
                let l = s.verify(&r.account).map_err(|e| {
                    super::super::error::EngineError::Corrupt(format!("member list: {e}"))
                })?;
                Some((l, s))
            }
        };
        Ok(Self {
            account: r.account,
            list,
            devices: r
                .devices
                .into_iter()
                .map(|d| (d.identity.device_id(), d))
                .collect(),
            refused: r.refused,
            asked_at: None,
        })
    }

    fn record(&self) -> MemberRecord {
        MemberRecord {
            account: self.account,
            list: self.list.as_ref().map(|(_, s)| s.clone()),
            devices: self.devices.values().cloned().collect(),
            refused: self.refused,
        }
    }

    /// Whether messages can be prepared for this account now.
    pub(crate) fn settled(&self) -> bool {
        self.list.is_some() || self.refused.is_some()
    }
}

impl Engine {
    /// Every member account of the rooms this device is in that is neither
    /// ours nor a contact's gets a [`MemberAccount`] (its list is fetched);
    /// those no longer in any room are forgotten with their sessions.
    pub(crate) fn sync_members(&mut self, now: UnixMs) {
        let me = self.account_public().map(|a| a.id());
        let contacts: BTreeSet<AccountId> = self.peers.values().map(|p| p.account.id()).collect();
        let mut wanted: Map<AccountId, AccountPublic> = Map::new();
        for e in self.rooms.values().filter(|e| e.room.joined()) {
            for (id, m) in &e.room.state().members {
                if Some(*id) != me && !contacts.contains(id) {
                    wanted.insert(*id, m.account);
                }
            }
        }
        let gone: Vec<AccountId> = self
            .members
            .keys()
            .filter(|a| !wanted.contains_key(a))
            .copied()
            .collect();
        for a in gone {
            self.forget_member(&a);
        }
        for (id, account) in wanted {
            if let litemap::Entry::Vacant(v) = self.members.entry(id) {
                v.insert(MemberAccount {
                    account,
                    list: None,
                    devices: Map::new(),
                    refused: None,
                    asked_at: None,
                });
                self.save_member(&id);
            }
        }
        self.ask_member_lists(now);
    }

    /// Asks for the lists of members not settled yet (at most every
    /// [`RETRY_EVERY`] each).
    pub(crate) fn ask_member_lists(&mut self, now: UnixMs) {
        if !self.online {
            return;
        }
        let due: Vec<AccountId> = self
            .members
            .iter()
            .filter(|(_, m)| !m.settled())
            .filter(|(_, m)| {
                m.asked_at
                    .is_none_or(|t| now >= t.saturating_add(RETRY_EVERY))
            })
            .map(|(a, _)| *a)
            .collect();
        for account in due {
            if let Some(m) = self.members.get_mut(&account) {
                m.asked_at = Some(now);
            }
            self.http(
                Purpose::MemberList {
                    account,
                    parked: false,
                },
                GetDeviceList { account }.request(&()),
            );
        }
    }

    fn forget_member(&mut self, account: &AccountId) {
        let Some(m) = self.members.remove(account) else {
            return;
        };
        // What is already encrypted for them still goes (a leave, a
        // removal): only the sessions are forgotten.
        for d in m.devices.keys() {
            self.member_of.remove(d);
            self.drop_archive(d);
        }
        self.pending.push(StoreOp::Delete(key::member(account)));
    }

    pub(crate) fn save_member(&mut self, account: &AccountId) {
        if let Some(m) = self.members.get(account) {
            self.pending.push(put(key::member(account), &m.record()));
        }
    }

    /// The account a member device belongs to.
    pub(crate) fn member_account_of(&self, device: &DeviceId) -> Option<AccountId> {
        self.member_of.get(device).copied()
    }

    /// Checks `signed` against the member's pinned key and adopts it.
    /// Nothing changes on a refusal but the flag that stops sends to it.
    pub(crate) fn adopt_member_list(
        &mut self,
        account: &AccountId,
        signed: SignedDeviceList,
        now: UnixMs,
    ) -> Result<Change, ListProblem> {
        let m = self.members.get_mut(account).ok_or(ListProblem::Forged)?;
        let checked = signed
            .verify(&m.account)
            .map_err(ListProblem::from)
            .and_then(|list| {
                accept_newer(m.list.as_ref().map(|(l, _)| l), &list)
                    .map(|c| (list, c))
                    .map_err(ListProblem::from)
            });
        let (list, change) = match checked {
            Ok(ok) => ok,
            Err(p) => {
                m.refused = Some(p);
                self.save_member(account);
                return Err(p);
            }
        };
        m.refused = None;
        let had_list = m.list.is_some();
        for d in &change.removed {
            m.devices.remove(d);
        }
        for e in list.devices() {
            m.devices
                .entry(e.device_id())
                .or_insert_with(|| PeerDevice::new(e));
        }
        m.list = Some((list, signed));
        for d in &change.removed {
            self.member_of.remove(d);
            self.drop_archive(d);
            self.drop_outbox_to(d);
        }
        for d in &change.added {
            self.member_of.insert(*d, *account);
        }
        self.save_member(account);
        if had_list && !change.is_empty() {
            self.devices_changed_in_rooms(account, now);
        }
        Ok(change)
    }

    /// A member's devices changed: every room they are in says so (their
    /// safety number stays; the sender keys follow the new devices).
    pub(crate) fn devices_changed_in_rooms(&mut self, account: &AccountId, now: UnixMs) {
        let rooms: Vec<(crate::group::RoomId, String)> = self
            .rooms
            .iter()
            .filter(|(_, e)| e.room.joined())
            .filter_map(|(id, e)| {
                e.room
                    .state()
                    .members
                    .get(account)
                    .map(|m| (*id, m.name.clone()))
            })
            .collect();
        for (room, name) in rooms {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&self.take_seq().to_be_bytes());
            self.room_notice(
                &room,
                id,
                super::messages::RoomNotice::DevicesChanged { name },
                now,
            );
        }
        if !self.pending.is_empty() {
            self.effects.push_back(Effect::Changed);
        }
    }

    /// A member's list fetched (`parked`: for envelopes from unknown
    /// devices, see `lists`).
    pub(crate) fn member_list_fetched<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        account: &AccountId,
        parked: bool,
        reply: &Reply,
        now: UnixMs,
    ) {
        let fetched = super::super::http::decode::<GetDeviceList>(reply)
            .ok()
            .map(|b| SignedDeviceList::from_bytes(&b.0));
        match fetched {
            Some(Ok(l)) => {
                let _ = self.adopt_member_list(account, l, now);
            }
            // Not a list at all: the relay (or the member) withholds it.
            Some(Err(_)) => {
                if let Some(m) = self.members.get_mut(account) {
                    m.refused = Some(ListProblem::Forged);
                }
                self.save_member(account);
            }
            // Unreachable now: asked again later.
            None => {}
        }
        self.commit();
        self.effects.push_back(Effect::Changed);
        if parked {
            self.list_arrived(rng, now);
        }
        self.seal_room_out(rng, now);
    }
}
