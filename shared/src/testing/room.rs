//! The 200-member room benchmark's scenario (issue 15), shared by the
//! native criterion bench and the browser bench so both measure the same
//! work: one sender, real pairwise Double Ratchet sessions with every other
//! member device, real Megolm sender keys.

use std::collections::BTreeMap;

use rand_core::CryptoRng;

use crate::crypto::account::{AccountId, AccountKeyPair};
use crate::crypto::codec;
use crate::crypto::keys::IdentityKeyPair;
use crate::crypto::session::{MemoryPreKeys, Session};
use crate::engine::content::pad;
use crate::group::{Invitee, Lifetime, Room, RoomId, RoomLog};
use crate::protocol::ws::{ClientFrame, DeviceId, Recipient};
use crate::time::UnixMs;

/// Bytes one room message put on the sender's wire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WireCost {
    /// Pairwise envelopes carrying the sender key (first message only).
    pub shares: usize,
    /// Their frames' bytes in all.
    pub share_bytes: usize,
    /// The room message's payload (sent once).
    pub message_bytes: usize,
    /// Devices the message is for.
    pub recipients: usize,
    /// The `SendMany` frame carrying it (payload once, every recipient).
    pub frame_bytes: usize,
}

impl WireCost {
    /// Everything the sender uploads for this message: the shares' frames
    /// plus the one multi-recipient frame.
    pub fn total(&self) -> usize {
        self.share_bytes + self.frame_bytes
    }
}

/// One sender in a room with `n - 1` others, one device each.
pub struct RoomScenario {
    room: Room,
    sessions: BTreeMap<DeviceId, Session>,
    devices: crate::map::Map<AccountId, Vec<DeviceId>>,
}

impl core::fmt::Debug for RoomScenario {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RoomScenario")
            .field("devices", &self.sessions.len())
            .finish_non_exhaustive()
    }
}

/// Why the scenario could not be built or run (a bug in the code measured).
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// A room operation failed.
    #[error(transparent)]
    Group(#[from] crate::group::GroupError),
    /// A pairwise session failed.
    #[error(transparent)]
    Session(#[from] crate::crypto::session::SessionError),
    /// Prekeys could not be made.
    #[error("prekey bundle")]
    Bundle,
}

impl RoomScenario {
    /// A room of `members` accounts created by the sender, with an
    /// established pairwise session (handshake and one reply) to each other
    /// member's device.
    pub fn new<R: CryptoRng + ?Sized>(rng: &mut R, members: usize) -> Result<Self, ScenarioError> {
        let now = UnixMs::from_millis(1_800_000_000_000);
        let alice = AccountKeyPair::generate(rng);
        let alice_device = IdentityKeyPair::generate(rng);
        let mut sessions = BTreeMap::new();
        let mut devices = crate::map::Map::new();
        let mut invitees = Vec::new();
        devices.insert(alice.public().id(), vec![alice_device.device_id()]);
        for i in 1..members {
            let account = AccountKeyPair::generate(rng);
            let device = IdentityKeyPair::generate(rng);
            let keys = MemoryPreKeys::generate(rng, &device, 0);
            let bundle = keys.bundle(&device).map_err(|_| ScenarioError::Bundle)?;
            let mut a = Session::initiate(rng, &alice_device, &bundle)?;
            let mut b = Session::accept(rng, &device, &keys, &a.encrypt(b"hi")?)?.session;
            a.decrypt(rng, &b.encrypt(b"ack")?)?;
            sessions.insert(device.device_id(), a);
            devices.insert(account.public().id(), vec![device.device_id()]);
            invitees.push(Invitee {
                account: account.public(),
                name: format!("member {i}"),
            });
        }
        let (log, _) = RoomLog::create(
            &alice,
            RoomId([1; 16]),
            "Bench".into(),
            "alice".into(),
            invitees,
            Lifetime::default(),
            now,
        )?;
        let room = Room::new(log, alice.public().id(), alice_device.device_id());
        Ok(Self {
            room,
            sessions,
            devices,
        })
    }

    /// Starts a new sender key (the next message shares it again).
    pub fn rotate(&mut self) {
        self.room.rotate_sender_key();
    }

    /// Whether the next message would start a new sender key anyway (the
    /// rotation after [`crate::group::sender_key::ROTATE_AFTER_MESSAGES`]).
    pub fn key_worn(&self) -> bool {
        self.room
            .sender_key_index()
            .is_none_or(|i| i + 1 >= crate::group::sender_key::ROTATE_AFTER_MESSAGES)
    }

    /// The baseline: the message encrypted over each pairwise session, as
    /// Parley sends to a contact's devices (one envelope per device).
    pub fn send_pairwise(&mut self, text: &[u8]) -> Result<WireCost, ScenarioError> {
        let plain = pad(text);
        let mut cost = WireCost::default();
        for (d, s) in &mut self.sessions {
            cost.shares += 1;
            cost.share_bytes += send_frame_len(*d, s.encrypt(&plain)?);
        }
        Ok(cost)
    }

    /// Encrypts one message for the room, and the sender key for every
    /// device that lacks it; returns the bytes on the wire.
    pub fn send(&mut self, text: &[u8]) -> Result<WireCost, ScenarioError> {
        let now = UnixMs::from_millis(1_800_000_000_000);
        let p = self.room.encrypt(now, &self.devices, text)?;
        let share = p
            .share
            .as_ref()
            .map(|s| codec::encode(1, s))
            .unwrap_or_default();
        let payload = p.message.to_bytes();
        let mut cost = WireCost {
            shares: p.share_to.len(),
            message_bytes: payload.len(),
            recipients: p.recipients.len(),
            frame_bytes: 0,
            share_bytes: 0,
        };
        cost.frame_bytes = ClientFrame::SendMany {
            id: [0; 16],
            to: p
                .recipients
                .iter()
                .map(|d| Recipient {
                    device: *d,
                    list: Some(1),
                })
                .collect(),
            payload,
        }
        .to_bytes()
        .len();
        // Padded to 128-byte buckets like engine content.
        let plain = pad(&share);
        for d in &p.share_to {
            if let Some(s) = self.sessions.get_mut(d) {
                cost.share_bytes += send_frame_len(*d, s.encrypt(&plain)?);
            }
        }
        Ok(cost)
    }
}

/// The bytes of the `Send` frame carrying `payload` to `to`.
fn send_frame_len(to: DeviceId, payload: Vec<u8>) -> usize {
    ClientFrame::Send {
        id: [0; 16],
        to,
        ephemeral: false,
        payload,
        list: Some(1),
    }
    .to_bytes()
    .len()
}
