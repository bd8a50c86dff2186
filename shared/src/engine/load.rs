//! Creating a new profile and restoring one from its stored records.

use std::collections::VecDeque;

use rand_core::CryptoRng;

use super::content;
use super::core::Engine;
use super::error::EngineError;
use super::model::{
    AccountRecord, Contact, Message, OutboxEntry, RECORD_VERSION, RotationRecord, key,
};
use super::own::OwnAccount;
use super::peers::PeerAccount;
use super::prekeys::{KeysRecord, ONE_TIME_BATCH};
use super::rooms::members::MemberAccount;
use super::rotation::PendingRotation;
use crate::crypto::account::AccountId;
use crate::crypto::codec;
use crate::crypto::keys::IdentityKeyPair;
use crate::crypto::session::{MemoryPreKeys, Session};
use crate::map::{Map, MapExt as _};
use crate::protocol::ws::DeviceId;
use crate::time::UnixMs;

impl Engine {
    /// A new identity with a display name. Stores it at once.
    pub fn create<R: CryptoRng + ?Sized>(rng: &mut R, name: &str, now: UnixMs) -> Self {
        let identity = IdentityKeyPair::generate(rng);
        let prekeys = MemoryPreKeys::generate(rng, &identity, ONE_TIME_BATCH);
        let account = AccountRecord {
            identity: identity.to_bytes().to_vec(),
            prekeys,
            next_one_time_id: ONE_TIME_BATCH + 1,
            name: content::clean_name(name),
            token: None,
            token_expires_at: UnixMs::EPOCH,
            registered: false,
            created_at: now,
        };
        let mut e = Self {
            identity,
            account,
            contacts: Map::new(),
            history: Map::new(),
            outbox: Map::new(),
            next_seq: 1,
            online: false,
            effects: VecDeque::new(),
            pending: Vec::new(),
            rotation: None,
            prefs: super::typing::Prefs::default(),
            moved: Map::new(),
            next_expiry: UnixMs::EPOCH,
            archives: Map::new(),
            account_keys: KeysRecord {
                rotated_at: now,
                ..KeysRecord::default()
            },
            next_prekey_check: UnixMs::EPOCH,
            requests: Default::default(),
            auth: Default::default(),
            own: None,
            peers: Map::new(),
            owners: Map::new(),
            parked: Vec::new(),
            lists_fetched_at: None,
            lists_pending: 0,
            linking: false,
            link_pin: None,
            leaving: false,
            own_devices: Map::new(),
            own_changes: Vec::new(),
            rebases: 0,
            restore: Default::default(),
            rooms: Map::new(),
            room_out: Map::new(),
            members: Map::new(),
            member_of: Map::new(),
            room_held: Vec::new(),
            rooms_to_tell: Default::default(),
            early_rooms: Vec::new(),
        };
        e.save_account();
        e.save_account_keys();
        e.commit();
        e
    }

    /// A new identity for a device that will be linked into an existing
    /// account (it makes no account of its own). Stores it at once.
    pub fn create_for_link<R: CryptoRng + ?Sized>(rng: &mut R, name: &str, now: UnixMs) -> Self {
        let mut e = Self::create(rng, name, now);
        e.linking = true;
        e.pending.push(super::core::StoreOp::Put(
            key::LINKING.to_owned(),
            Default::default(),
        ));
        e.commit();
        e
    }

    /// Restores from stored records; `None` if there is no account yet.
    pub fn load<I, V>(records: I) -> Result<Option<Self>, EngineError>
    where
        I: IntoIterator<Item = (String, V)>,
        V: AsRef<[u8]>,
    {
        let mut account: Option<AccountRecord> = None;
        let mut contacts = Map::new();
        let mut history: Map<DeviceId, Vec<Message>> = Map::new();
        let mut outbox = Map::new();
        let mut rotation = None;
        let mut prefs = super::typing::Prefs::default();
        let mut archives = Map::new();
        let mut account_keys = KeysRecord::default();
        let mut own = None;
        let mut linking = false;
        let mut link_pin = None;
        let mut own_devices = Map::new();
        let mut own_changes = Vec::new();
        let mut peers = Map::new();
        let mut rooms = Map::new();
        let mut room_out = Map::new();
        let mut members = Map::new();
        let mut early_rooms = Vec::new();
        let mut room_history: Vec<(crate::group::RoomId, super::rooms::messages::RoomMessage)> =
            Vec::new();
        let mut next_seq = 1;
        for (k, v) in records {
            let v = v.as_ref();
            if k == key::ACCOUNT {
                let mut a: AccountRecord = codec::decode(RECORD_VERSION, v)?;
                a.token_expires_at = token_expiry_in_ms(a.token_expires_at);
                account = Some(a);
            } else if let Some(h) = k.strip_prefix(key::CONTACT) {
                let c: Contact = codec::decode(RECORD_VERSION, v)?;
                if key::unhex::<32>(h).map(DeviceId::new) != Some(c.device()) {
                    return Err(EngineError::Corrupt(format!("contact key {k}")));
                }
                contacts.insert(c.device(), c);
            } else if let Some(rest) = k.strip_prefix(key::MESSAGE) {
                let dev = rest
                    .split_once('/')
                    .and_then(|(h, _)| key::unhex::<32>(h))
                    .map(DeviceId::new)
                    .ok_or_else(|| EngineError::Corrupt(format!("message key {k}")))?;
                let m: Message = codec::decode(RECORD_VERSION, v)?;
                next_seq = next_seq.max(m.seq + 1);
                history.entry(dev).or_default().push(m);
            } else if k == key::PREFS {
                prefs = super::typing::Prefs::decode(v);
            } else if k == key::KEYS {
                account_keys = codec::decode(RECORD_VERSION, v)?;
            } else if let Some(h) = k.strip_prefix(key::ARCHIVE) {
                let dev = key::unhex::<32>(h)
                    .map(DeviceId::new)
                    .ok_or_else(|| EngineError::Corrupt(format!("archive key {k}")))?;
                let list: Vec<Session> = codec::decode(RECORD_VERSION, v)?;
                archives.insert(dev, list);
            } else if k == key::ROTATION {
                let record: RotationRecord = codec::decode(RECORD_VERSION, v)?;
                let identity = IdentityKeyPair::from_bytes(&record.identity)
                    .map_err(|e| EngineError::Corrupt(e.to_string()))?;
                rotation = Some(PendingRotation {
                    identity,
                    record,
                    restored: true,
                });
            } else if k == key::LINKING {
                linking = true;
                link_pin = super::link::LinkPin::decode(v)?;
            } else if k == key::OWN_CHANGES {
                own_changes = super::own_changes::decode(v)?;
            } else if k == key::OWN_DEVICES {
                own_devices = super::sync::decode_own_devices(v)?.into_iter().collect();
            } else if k == key::OWN_ACCOUNT {
                own = Some(OwnAccount::decode(v)?);
            } else if k == key::EARLY_ROOMS {
                early_rooms = codec::decode(RECORD_VERSION, v)?;
            } else if let Some(h) = k.strip_prefix(key::MEMBER) {
                let id = key::unhex::<32>(h)
                    .map(AccountId::new)
                    .ok_or_else(|| EngineError::Corrupt(format!("member key {k}")))?;
                members.insert(id, MemberAccount::decode(v)?);
            } else if k.starts_with("rout/") {
                let o: super::rooms::outbound::RoomOut = codec::decode(RECORD_VERSION, v)?;
                next_seq = next_seq.max(o.seq + 1);
                room_out.insert(o.seq, o);
            } else if let Some(rest) = k.strip_prefix("rmsg/") {
                let id = rest
                    .split('/')
                    .next()
                    .and_then(key::unhex::<16>)
                    .ok_or_else(|| EngineError::Corrupt(format!("room message key {k}")))?;
                let m: super::rooms::messages::RoomMessage = codec::decode(RECORD_VERSION, v)?;
                next_seq = next_seq.max(m.seq + 1);
                room_history.push((crate::group::RoomId(id), m));
            } else if let Some(h) = k.strip_prefix(key::ROOM) {
                if let Some(id) = key::unhex::<16>(h) {
                    rooms.insert(
                        crate::group::RoomId(id),
                        super::rooms::RoomEntry::decode(v)?,
                    );
                }
            } else if let Some(h) = k.strip_prefix(key::PEER) {
                let conv = key::unhex::<32>(h)
                    .map(DeviceId::new)
                    .ok_or_else(|| EngineError::Corrupt(format!("peer key {k}")))?;
                peers.insert(conv, PeerAccount::decode(v)?);
            } else if k.starts_with(key::OUTBOX) {
                let o: OutboxEntry = codec::decode(RECORD_VERSION, v)?;
                next_seq = next_seq.max(o.seq + 1);
                outbox.insert(o.seq, o);
            }
        }
        let Some(account) = account else {
            return Ok(None);
        };
        let identity = IdentityKeyPair::from_bytes(&account.identity)
            .map_err(|e| EngineError::Corrupt(e.to_string()))?;
        for h in history.values_mut() {
            crate::sort::sort_by_key(h, |m| m.seq);
        }
        let linking = linking && own.is_none();
        history.retain(|d, _| contacts.contains_key(d));
        peers.retain(|d, _| contacts.contains_key(d));
        let owners: Map<DeviceId, DeviceId> = peers
            .iter()
            .flat_map(|(conv, p)| p.others.keys().map(|d| (*d, *conv)))
            .collect();
        archives.retain(|d, _| {
            contacts.contains_key(d) || owners.contains_key(d) || own_devices.contains_key(d)
        });
        Ok(Some(Self {
            identity,
            account,
            contacts,
            history,
            outbox,
            next_seq,
            online: false,
            effects: VecDeque::new(),
            pending: Vec::new(),
            rotation,
            prefs,
            moved: Map::new(),
            next_expiry: UnixMs::EPOCH,
            archives,
            account_keys,
            next_prekey_check: UnixMs::EPOCH,
            requests: Default::default(),
            auth: Default::default(),
            own,
            peers,
            owners,
            parked: Vec::new(),
            lists_fetched_at: None,
            lists_pending: 0,
            linking,
            link_pin: link_pin.filter(|_| linking),
            leaving: false,
            own_devices,
            own_changes,
            rebases: 0,
            restore: Default::default(),
            rooms: {
                for (id, m) in room_history {
                    if let Some(r) = rooms.get_mut(&id) {
                        r.history.push(m);
                    }
                }
                for r in rooms.values_mut() {
                    crate::sort::sort_by_key(&mut r.history, |m| m.seq);
                }
                rooms
            },
            room_out,
            member_of: members
                .iter()
                .flat_map(|(a, m): (&AccountId, &MemberAccount)| {
                    m.devices.keys().map(move |d| (*d, *a))
                })
                .collect(),
            members,
            room_held: Vec::new(),
            rooms_to_tell: Default::default(),
            early_rooms,
        }))
    }
}

/// Account records written before the unit change hold the token's expiry in
/// Unix seconds. No expiry in milliseconds is that small (it would fall in
/// 1973), so such a value is seconds and is scaled: the token stays usable.
fn token_expiry_in_ms(t: UnixMs) -> UnixMs {
    const SECONDS_BELOW: u64 = 100_000_000_000;
    if t.as_millis() < SECONDS_BELOW {
        UnixMs::from_secs(t.as_millis())
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_expiry_stored_in_seconds_is_read_as_such() {
        let secs = 1_800_000_000;
        assert_eq!(
            token_expiry_in_ms(UnixMs::from_millis(secs)),
            UnixMs::from_secs(secs)
        );
        let ms = UnixMs::from_millis(1_800_000_000_000);
        assert_eq!(token_expiry_in_ms(ms), ms);
        assert_eq!(token_expiry_in_ms(UnixMs::EPOCH), UnixMs::EPOCH);
    }
}
