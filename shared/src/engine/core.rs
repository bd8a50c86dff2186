//! Engine state, persistence and the outgoing side.

use std::collections::{BTreeMap, VecDeque};

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::content::{self, Content, MessageId, Profile, ReceiptKind};
use super::model::{
    AccountRecord, Body, Contact, Message, Notice, OutboxEntry, RECORD_VERSION, RotationRecord,
    Status, key,
};
use super::prekeys::{KeysRecord, ONE_TIME_BATCH, key_upload};
use crate::crypto::codec::{self, DecodeError};
use crate::crypto::keys::{IdentityKeyPair, PreKeyBundle};
use crate::crypto::pairing::Paired;
use crate::crypto::safety::SafetyNumber;
use crate::crypto::session::{MemoryPreKeys, Session, SessionError};
use crate::protocol::auth::{
    GateProof, KeyUpload, LoginRequest, RegisterRequest, encode_b64, login_statement,
    registration_statement,
};
use crate::protocol::ws::{ClientFrame, DeviceId};

/// Longest disappearing-message timer (4 weeks).
pub const MAX_TIMER_SECS: u32 = 28 * 86_400;

/// Engine errors (user intents that cannot be carried out).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// No such contact.
    #[error("no such contact")]
    UnknownContact,
    /// Empty or too long text.
    #[error("a message must be 1 to {} bytes", content::MAX_TEXT)]
    BadText,
    /// Timer out of range.
    #[error("the timer must be between 1 second and 4 weeks")]
    BadTimer,
    /// Stored state does not decode.
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    /// Encryption failed.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The peer's bundle is invalid.
    #[error("the contact's keys from the relay are invalid")]
    BadBundle,
    /// The peer's identity changed and the user has not acknowledged it.
    #[error("the safety number changed: compare it and confirm before sending")]
    IdentityChanged,
    /// Calls need a connection (signals are never stored).
    #[error("not connected to the relay")]
    Offline,
    /// No session with the contact yet.
    #[error("the contact has not finished pairing yet")]
    NoSession,
    /// Resetting keys needs a connection and an empty outbox.
    #[error("wait until every message is sent and Parley is connected, then try again")]
    NotSettled,
    /// A key reset is already under way.
    #[error("a key reset is already under way; it is being finished")]
    ResetPending,
}

/// A key reset in progress: the new identity, registered by the adapter
/// (with the current token as proof) before [`Engine::finish_rotation`].
pub(super) struct PendingRotation {
    identity: IdentityKeyPair,
    record: RotationRecord,
    /// Restored from storage: the page that started it went away before the
    /// relay's answer was recorded.
    restored: bool,
}

/// A login body signed by `identity`.
fn login_body(identity: &IdentityKeyPair, origin: &str, challenge: &str) -> Option<LoginRequest> {
    let raw = crate::protocol::auth::decode_b64(challenge)?;
    let sig = identity.sign(&[], &[&login_statement(origin, &raw)]);
    Some(LoginRequest {
        device_id: encode_b64(&identity.device_id()),
        challenge: challenge.to_owned(),
        signature: encode_b64(&sig),
    })
}

impl From<DecodeError> for EngineError {
    fn from(e: DecodeError) -> Self {
        Self::Corrupt(e.to_string())
    }
}

/// A storage operation (values are secret: the adapter encrypts them at rest).
#[derive(Debug)]
pub enum StoreOp {
    /// Insert or replace.
    Put(String, Zeroizing<Vec<u8>>),
    /// Delete.
    Delete(String),
}

/// Records held in memory: the storage of native adapters (tests, bots).
#[derive(Debug, Clone, Default)]
pub struct MemoryStore(pub BTreeMap<String, Vec<u8>>);

impl MemoryStore {
    /// Applies one [`Effect::Store`] batch.
    pub fn apply(&mut self, ops: Vec<StoreOp>) {
        for op in ops {
            match op {
                StoreOp::Put(k, v) => {
                    self.0.insert(k, v.to_vec());
                }
                StoreOp::Delete(k) => {
                    self.0.remove(&k);
                }
            }
        }
    }
}

/// What the adapter must do, in order.
#[derive(Debug)]
pub enum Effect {
    /// Store these records atomically, and only then go on.
    Store(Vec<StoreOp>),
    /// Send a frame if connected (the engine resends what matters on `Ready`).
    Send(ClientFrame),
    /// Fetch `GET /devices/{id}/bundle` and pass it to [`Engine::bundle_fetched`].
    FetchBundle(DeviceId),
    /// `PUT /prekeys` with this upload; pass the answer to
    /// [`Engine::prekey_status`].
    UploadPreKeys(KeyUpload),
    /// `GET /prekeys/status`; pass the answer to [`Engine::prekey_status`].
    CheckPreKeys,
    /// Something the UI shows changed.
    Changed,
    /// A call signal from a contact (authenticated by its session).
    Call(DeviceId, super::call::CallSignal),
}

/// The client's state and logic.
pub struct Engine {
    pub(super) identity: IdentityKeyPair,
    pub(super) account: AccountRecord,
    pub(super) contacts: BTreeMap<DeviceId, Contact>,
    pub(super) history: BTreeMap<DeviceId, Vec<Message>>,
    pub(super) outbox: BTreeMap<u64, OutboxEntry>,
    pub(super) next_seq: u64,
    pub(super) online: bool,
    pub(super) effects: VecDeque<Effect>,
    pub(super) pending: Vec<StoreOp>,
    pub(super) rotation: Option<PendingRotation>,
    pub(super) prefs: super::typing::Prefs,
    /// Contacts that moved to a successor identity this run (old → new), so
    /// an open conversation can follow.
    pub(super) moved: BTreeMap<DeviceId, DeviceId>,
    /// Earliest message expiry (Unix ms; `u64::MAX`: none, 0: unknown), so
    /// the once-a-second tick does not walk the whole history.
    pub(super) next_expiry: u64,
    /// Archived sessions per contact (see `sessions`).
    pub(super) archives: BTreeMap<DeviceId, Vec<Session>>,
    /// Prekey schedule and accepted starts (see `prekeys`).
    pub(super) account_keys: KeysRecord,
    /// Unix ms of the next [`Effect::CheckPreKeys`] (0: at the next tick).
    pub(super) next_prekey_check: u64,
}

impl core::fmt::Debug for Engine {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Engine")
            .field("identity", &self.identity)
            .field("contacts", &self.contacts.len())
            .finish_non_exhaustive()
    }
}

pub(super) fn put<T: serde::Serialize>(k: String, v: &T) -> StoreOp {
    StoreOp::Put(k, Zeroizing::new(codec::encode(RECORD_VERSION, v)))
}

fn random16<R: CryptoRng + ?Sized>(rng: &mut R) -> [u8; 16] {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    b
}

impl Engine {
    /// A new identity with a display name. Stores it at once.
    pub fn create<R: CryptoRng + ?Sized>(rng: &mut R, name: &str, now: u64) -> Self {
        let identity = IdentityKeyPair::generate(rng);
        let prekeys = MemoryPreKeys::generate(rng, &identity, ONE_TIME_BATCH);
        let account = AccountRecord {
            identity: identity.to_bytes().to_vec(),
            prekeys,
            next_one_time_id: ONE_TIME_BATCH + 1,
            name: content::clean_name(name),
            token: None,
            token_expires_at: 0,
            registered: false,
            created_at: now,
        };
        let mut e = Self {
            identity,
            account,
            contacts: BTreeMap::new(),
            history: BTreeMap::new(),
            outbox: BTreeMap::new(),
            next_seq: 1,
            online: false,
            effects: VecDeque::new(),
            pending: Vec::new(),
            rotation: None,
            prefs: super::typing::Prefs::default(),
            moved: BTreeMap::new(),
            next_expiry: 0,
            archives: BTreeMap::new(),
            account_keys: KeysRecord {
                rotated_at: now,
                ..KeysRecord::default()
            },
            next_prekey_check: 0,
        };
        e.save_account();
        e.save_account_keys();
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
        let mut contacts = BTreeMap::new();
        let mut history: BTreeMap<DeviceId, Vec<Message>> = BTreeMap::new();
        let mut outbox = BTreeMap::new();
        let mut rotation = None;
        let mut prefs = super::typing::Prefs::default();
        let mut archives = BTreeMap::new();
        let mut account_keys = KeysRecord::default();
        let mut next_seq = 1;
        for (k, v) in records {
            let v = v.as_ref();
            if k == key::ACCOUNT {
                account = Some(codec::decode(RECORD_VERSION, v)?);
            } else if let Some(h) = k.strip_prefix(key::CONTACT) {
                let c: Contact = codec::decode(RECORD_VERSION, v)?;
                if key::unhex::<32>(h) != Some(c.device()) {
                    return Err(EngineError::Corrupt(format!("contact key {k}")));
                }
                contacts.insert(c.device(), c);
            } else if let Some(rest) = k.strip_prefix(key::MESSAGE) {
                let dev = rest
                    .split_once('/')
                    .and_then(|(h, _)| key::unhex::<32>(h))
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
            h.sort_by_key(|m| m.seq);
        }
        history.retain(|d, _| contacts.contains_key(d));
        archives.retain(|d, _| contacts.contains_key(d));
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
            moved: BTreeMap::new(),
            next_expiry: 0,
            archives,
            account_keys,
            next_prekey_check: 0,
        }))
    }

    // ------------------------------------------------------------ accessors

    /// This device's id (Ed25519 public key).
    pub fn device_id(&self) -> DeviceId {
        self.identity.device_id()
    }

    /// The identity key pair (for pairing flows; never leaves the client).
    pub fn identity(&self) -> &IdentityKeyPair {
        &self.identity
    }

    /// Our display name.
    pub fn name(&self) -> &str {
        &self.account.name
    }

    /// Our profile, as sent while pairing.
    pub fn profile(&self) -> Vec<u8> {
        Profile {
            name: self.account.name.clone(),
        }
        .to_bytes()
    }

    /// Whether the relay has accepted our registration.
    pub fn registered(&self) -> bool {
        self.account.registered
    }

    /// The session token, if one is held and not expired at `now` (ms).
    pub fn token(&self, now: u64) -> Option<&str> {
        self.account
            .token
            .as_deref()
            .filter(|_| self.account.token_expires_at * 1000 > now + 60_000)
    }

    /// Contacts, most recent conversation first.
    pub fn contacts(&self) -> Vec<&Contact> {
        let mut v: Vec<&Contact> = self.contacts.values().collect();
        v.sort_by_key(|c| std::cmp::Reverse(c.last_activity));
        v
    }

    /// One contact.
    pub fn contact(&self, peer: &DeviceId) -> Option<&Contact> {
        self.contacts.get(peer)
    }

    /// Where a contact went if it reset its keys since start-up.
    pub fn moved_to(&self, old: &DeviceId) -> Option<DeviceId> {
        self.moved.get(old).copied()
    }

    /// The conversation with `peer`, oldest first.
    pub fn messages(&self, peer: &DeviceId) -> &[Message] {
        self.history.get(peer).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Envelopes not yet accepted by the relay.
    pub fn outbox_len(&self) -> usize {
        self.outbox.len()
    }

    /// Whether the relay connection is up (after `Ready`).
    pub fn is_online(&self) -> bool {
        self.online
    }

    /// The safety number with `peer`.
    pub fn safety_number(&self, peer: &DeviceId) -> Option<SafetyNumber> {
        let c = self.contacts.get(peer)?;
        Some(SafetyNumber::new(&self.identity.public(), &c.identity))
    }

    /// Effects or writes are waiting for the adapter.
    pub fn has_effects(&self) -> bool {
        !self.effects.is_empty() || !self.pending.is_empty()
    }

    /// Next effect to carry out.
    pub fn next_effect(&mut self) -> Option<Effect> {
        self.commit();
        self.effects.pop_front()
    }

    // ------------------------------------------------------------ relay account

    /// The registration body for a relay challenge.
    pub fn registration_request(
        &self,
        origin: &str,
        challenge: &str,
        gate: GateProof,
    ) -> Option<RegisterRequest> {
        registration(
            &self.identity,
            &self.account.prekeys,
            origin,
            challenge,
            gate,
        )
    }

    /// The login body for a relay challenge.
    pub fn login_request(&self, origin: &str, challenge: &str) -> Option<LoginRequest> {
        login_body(&self.identity, origin, challenge)
    }

    /// Records a session token from registration or login.
    /// This identity logging in while a key reset's registration had no
    /// answer proves the relay never registered the new one (it would have
    /// erased this device): that reset is dropped. A reset still being
    /// registered by this page is not touched (the login may predate it).
    pub fn set_token(&mut self, token: String, expires_at: u64) {
        self.account.token = Some(token);
        self.account.token_expires_at = expires_at;
        self.account.registered = true;
        self.save_account();
        if self.rotation.as_ref().is_some_and(|r| r.restored) {
            self.rotation = None;
            self.pending.push(StoreOp::Delete(key::ROTATION.to_owned()));
            self.effects.push_back(Effect::Changed);
        }
        self.commit();
    }

    /// Forgets the token (the relay refused it); the next connect logs in.
    pub fn clear_token(&mut self) {
        self.account.token = None;
        self.save_account();
        self.commit();
    }

    // ------------------------------------------------------------ key reset

    /// Starts replacing this device's identity keys (suspected compromise, or
    /// a fresh start): contacts are told by a message the old key signs, and
    /// see a safety-number change they must acknowledge.
    pub fn begin_rotation<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
    ) -> Result<(), EngineError> {
        if self.rotation.is_some() {
            // Its registration may have reached the relay: never replace it.
            return Err(EngineError::ResetPending);
        }
        if !self.online || !self.outbox.is_empty() {
            return Err(EngineError::NotSettled);
        }
        let identity = IdentityKeyPair::generate(rng);
        let prekeys = MemoryPreKeys::generate(rng, &identity, ONE_TIME_BATCH);
        let signature = self.identity.sign(
            content::CTX_SUCCESSOR,
            &[&content::successor_statement(&identity.public())],
        );
        let record = RotationRecord {
            identity: identity.to_bytes().to_vec(),
            prekeys,
            signature,
        };
        // Stored before the adapter registers the new identity (it waits
        // for this write): the relay erases the old device on registration.
        self.pending.push(put(key::ROTATION.to_owned(), &record));
        self.commit();
        self.rotation = Some(PendingRotation {
            identity,
            record,
            restored: false,
        });
        Ok(())
    }

    /// A key reset that an earlier page load started and did not finish:
    /// the adapter tries [`Engine::rotation_login_request`] (the relay may
    /// have registered the new identity) and then finishes or cancels it.
    pub fn rotation_to_resume(&self) -> bool {
        self.rotation.as_ref().is_some_and(|r| r.restored)
    }

    /// The registration's outcome is unknown (no answer): from now on the
    /// reset is resumed like one restored from storage.
    pub fn rotation_unanswered(&mut self) {
        if let Some(r) = self.rotation.as_mut() {
            r.restored = true;
        }
    }

    /// The login body for the reset's new identity.
    pub fn rotation_login_request(&self, origin: &str, challenge: &str) -> Option<LoginRequest> {
        login_body(&self.rotation.as_ref()?.identity, origin, challenge)
    }

    /// The new identity's registration body (sent with the current token).
    pub fn rotation_registration_request(
        &self,
        origin: &str,
        challenge: &str,
    ) -> Option<RegisterRequest> {
        let r = self.rotation.as_ref()?;
        let gate = GateProof::Successor {
            signature: encode_b64(&r.record.signature),
        };
        registration(&r.identity, &r.record.prekeys, origin, challenge, gate)
    }

    /// The relay registered the new identity (and erased the old device):
    /// switch to it and start new sessions with every contact; the adapter
    /// then reconnects. False when no reset was in progress.
    pub fn finish_rotation(&mut self, token: String, expires_at: u64) -> bool {
        let Some(r) = self.rotation.take() else {
            return false;
        };
        let old = self.device_id();
        self.identity = r.identity;
        self.account.identity = self.identity.to_bytes().to_vec();
        self.account.prekeys = r.record.prekeys.clone();
        self.pending.push(StoreOp::Delete(key::ROTATION.to_owned()));
        self.account.next_one_time_id = ONE_TIME_BATCH + 1;
        // Sessions and starts of the old identity are dead with it.
        self.account_keys.retired.clear();
        self.account_keys.starts.clear();
        self.save_account_keys();
        for d in std::mem::take(&mut self.archives).into_keys() {
            self.pending.push(StoreOp::Delete(key::archive(&d)));
        }
        self.account.token = Some(token);
        self.account.token_expires_at = expires_at;
        self.save_account();
        let name = self.account.name.clone();
        let devices: Vec<DeviceId> = self.contacts.keys().copied().collect();
        for d in &devices {
            if let Some(c) = self.contacts.get_mut(d) {
                c.session = None;
                c.initiator = true;
                c.waiting
                    .insert(0, Content::Profile(Profile { name: name.clone() }));
                c.waiting.insert(
                    0,
                    Content::Successor {
                        old,
                        signature: r.record.signature,
                    },
                );
            }
            self.save_contact(d);
        }
        self.commit();
        self.online = false;
        self.effects.push_back(Effect::Changed);
        true
    }

    /// The user compared the changed safety number: sending is allowed again.
    pub fn acknowledge_identity(&mut self, peer: &DeviceId) -> Result<(), EngineError> {
        let c = self
            .contacts
            .get_mut(peer)
            .ok_or(EngineError::UnknownContact)?;
        c.identity_changed = false;
        self.save_contact(peer);
        self.commit();
        self.effects.push_back(Effect::Changed);
        Ok(())
    }

    // ------------------------------------------------------------ connection

    /// The WebSocket opened: authenticate first.
    pub fn on_open(&mut self, now: u64) {
        if let Some(t) = self.token(now).map(str::to_owned) {
            self.effects
                .push_back(Effect::Send(ClientFrame::Auth { token: t }));
        }
    }

    /// The WebSocket closed: everything in flight is resent on reconnect.
    pub fn on_close(&mut self) {
        self.online = false;
        for o in self.outbox.values_mut() {
            o.in_flight = false;
        }
        for c in self.contacts.values_mut() {
            c.online = false;
        }
        self.effects.push_back(Effect::Changed);
    }

    pub(super) fn on_ready(&mut self, now: u64) {
        self.online = true;
        self.check_prekeys(now);
        self.send_presence();
        // Sessions we owe the peer (pairing finished while offline).
        let owed: Vec<DeviceId> = self
            .contacts
            .values()
            .filter(|c| c.initiator && c.session.is_none())
            .map(Contact::device)
            .collect();
        for d in owed {
            self.effects.push_back(Effect::FetchBundle(d));
        }
        self.flush_outbox();
        self.effects.push_back(Effect::Changed);
    }

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
            }));
        }
    }

    // ------------------------------------------------------------ pairing

    /// A pairing finished: adds the contact. The joiner (`initiator`) starts
    /// the session by fetching the inviter's bundle; the inviter waits for
    /// the joiner's first message.
    pub fn add_contact(&mut self, paired: Paired, initiator: bool, now: u64) {
        let dev = *paired.peer.device_id();
        let name = Profile::from_bytes(&paired.profile).name;
        let contact = Contact {
            identity: paired.peer,
            name,
            unread: 0,
            timer_secs: None,
            paired_at: now,
            last_activity: now,
            verified: false,
            identity_changed: false,
            session: None,
            initiator,
            waiting: vec![Content::Profile(Profile {
                name: self.account.name.clone(),
            })],
            seen: VecDeque::new(),
            online: false,
            typing_until: 0,
            typing_sent_at: 0,
        };
        self.contacts.insert(dev, contact);
        self.push_notice(&dev, Notice::Paired, now);
        self.save_contact(&dev);
        self.commit();
        if initiator && self.online {
            self.effects.push_back(Effect::FetchBundle(dev));
        }
        self.send_presence();
        self.effects.push_back(Effect::Changed);
    }

    /// The bundle asked for by [`Effect::FetchBundle`] arrived (`None`: the
    /// fetch failed; retried on the next `Ready`).
    pub fn bundle_fetched<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        peer: &DeviceId,
        bundle: &[u8],
    ) -> Result<(), EngineError> {
        let bundle = PreKeyBundle::from_bytes(bundle).map_err(|_| EngineError::BadBundle)?;
        let ours = &self.identity;
        let c = self
            .contacts
            .get_mut(peer)
            .ok_or(EngineError::UnknownContact)?;
        if c.session.is_some() {
            return Ok(());
        }
        // The bundle is signed by the identity pinned at pairing, or refused.
        if bundle.identity() != &c.identity {
            return Err(EngineError::BadBundle);
        }
        c.session = Some(Session::initiate(rng, ours, &bundle)?);
        self.drain_waiting(rng, peer)?;
        Ok(())
    }

    // ------------------------------------------------------------ user intents

    /// Sends a text message (queued while offline or before the session exists).
    pub fn send_text<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        peer: &DeviceId,
        text: &str,
        now: u64,
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
            expires_at: expire_secs.map(|s| now + u64::from(s) * 1000),
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
        }));
        Ok(())
    }

    /// The user has seen the conversation: read receipts for what is unread.
    pub fn mark_read<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        peer: &DeviceId,
    ) -> Result<(), EngineError> {
        let Some(h) = self.history.get_mut(peer) else {
            return Ok(());
        };
        let mut ids = Vec::new();
        let mut changed = Vec::new();
        for m in h.iter_mut() {
            if !m.outgoing && m.status < Status::Read && !matches!(m.body, Body::Notice(_)) {
                m.status = Status::Read;
                ids.push(m.id);
                changed.push(m.clone());
            }
        }
        for m in &changed {
            self.pending.push(put(key::message(peer, m.seq), m));
        }
        if let Some(c) = self.contacts.get_mut(peer)
            && c.unread > 0
        {
            c.unread = 0;
            self.save_contact(peer);
        }
        if !ids.is_empty() {
            self.send_content(
                rng,
                peer,
                Content::Receipt {
                    kind: ReceiptKind::Read,
                    ids,
                },
                None,
            )?;
            self.effects.push_back(Effect::Changed);
        }
        self.commit();
        Ok(())
    }

    /// Sets the conversation's disappearing-message timer (both sides).
    pub fn set_timer<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        peer: &DeviceId,
        secs: Option<u32>,
        now: u64,
    ) -> Result<(), EngineError> {
        if secs.is_some_and(|s| s == 0 || s > MAX_TIMER_SECS) {
            return Err(EngineError::BadTimer);
        }
        let c = self
            .contacts
            .get_mut(peer)
            .ok_or(EngineError::UnknownContact)?;
        c.timer_secs = secs;
        self.push_notice(peer, Notice::Timer { secs, by_me: true }, now);
        self.save_contact(peer);
        self.send_content(rng, peer, Content::Timer { secs }, None)?;
        self.effects.push_back(Effect::Changed);
        Ok(())
    }

    /// Marks the peer's safety number as compared (or not).
    pub fn set_verified(&mut self, peer: &DeviceId, verified: bool) -> Result<(), EngineError> {
        let c = self
            .contacts
            .get_mut(peer)
            .ok_or(EngineError::UnknownContact)?;
        c.verified = verified;
        self.save_contact(peer);
        self.commit();
        self.effects.push_back(Effect::Changed);
        Ok(())
    }

    /// Deletes the conversation and the contact (pairing again starts anew).
    pub fn delete_conversation(&mut self, peer: &DeviceId) -> Result<(), EngineError> {
        self.contacts
            .remove(peer)
            .ok_or(EngineError::UnknownContact)?;
        for m in self.history.remove(peer).unwrap_or_default() {
            self.pending
                .push(StoreOp::Delete(key::message(peer, m.seq)));
        }
        let dropped: Vec<u64> = self
            .outbox
            .values()
            .filter(|o| &o.to == peer)
            .map(|o| o.seq)
            .collect();
        for seq in dropped {
            self.outbox.remove(&seq);
            self.pending.push(StoreOp::Delete(key::outbox(seq)));
        }
        self.pending.push(StoreOp::Delete(key::contact(peer)));
        self.drop_archive(peer);
        self.commit();
        self.send_presence();
        self.effects.push_back(Effect::Changed);
        Ok(())
    }

    /// Once a second: deletes disappearing messages whose time is up,
    /// resends (in order) what the relay refused for a moment, and asks for
    /// a prekey check when one is due. Returns the next expiry (Unix ms).
    pub fn tick(&mut self, now: u64) -> Option<u64> {
        self.flush_outbox();
        if self.expire_typing(now) {
            self.effects.push_back(Effect::Changed);
        }
        if self.online && now >= self.next_prekey_check {
            self.check_prekeys(now);
        }
        if now < self.next_expiry {
            return (self.next_expiry != u64::MAX).then_some(self.next_expiry);
        }
        let mut next: Option<u64> = None;
        let mut gone = Vec::new();
        for (d, h) in &mut self.history {
            h.retain(|m| match m.expires_at {
                Some(t) if t <= now => {
                    gone.push(key::message(d, m.seq));
                    false
                }
                Some(t) => {
                    next = Some(next.map_or(t, |n| n.min(t)));
                    true
                }
                None => true,
            });
        }
        if !gone.is_empty() {
            self.pending.extend(gone.into_iter().map(StoreOp::Delete));
            self.commit();
            self.effects.push_back(Effect::Changed);
        }
        self.next_expiry = next.unwrap_or(u64::MAX);
        next
    }

    // ------------------------------------------------------------ internals

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

    pub(super) fn insert_message(&mut self, peer: &DeviceId, m: Message, now: u64) {
        if let Some(t) = m.expires_at {
            self.next_expiry = self.next_expiry.min(t);
        }
        self.pending.push(put(key::message(peer, m.seq), &m));
        self.typing_done(peer, !m.outgoing);
        self.history.entry(*peer).or_default().push(m);
        if let Some(c) = self.contacts.get_mut(peer) {
            c.last_activity = now;
            self.save_contact(peer);
        }
        self.effects.push_back(Effect::Changed);
    }

    pub(super) fn push_notice(&mut self, peer: &DeviceId, n: Notice, now: u64) {
        let id = [0u8; 16];
        let m = Message {
            id,
            seq: self.take_seq(),
            outgoing: false,
            body: Body::Notice(n),
            at: now,
            status: Status::Read,
            expires_at: None,
        };
        self.insert_message(peer, m, now);
    }

    pub(super) fn set_status(&mut self, peer: &DeviceId, id: &MessageId, status: Status) {
        let Some(h) = self.history.get_mut(peer) else {
            return;
        };
        if let Some(m) = h
            .iter_mut()
            .find(|m| m.outgoing && &m.id == id && m.status < status)
        {
            m.status = status;
            self.pending.push(put(key::message(peer, m.seq), &*m));
            self.effects.push_back(Effect::Changed);
        }
    }

    pub(super) fn save_contact(&mut self, peer: &DeviceId) {
        if let Some(c) = self.contacts.get(peer) {
            self.pending.push(put(key::contact(peer), c));
        }
    }

    pub(super) fn save_prefs(&mut self) {
        self.pending.push(put(key::PREFS.to_owned(), &self.prefs));
    }

    pub(super) fn save_account(&mut self) {
        self.pending
            .push(put(key::ACCOUNT.to_owned(), &self.account));
    }

    /// Queues the pending writes as one atomic store effect.
    pub(super) fn commit(&mut self) {
        if !self.pending.is_empty() {
            let ops = std::mem::take(&mut self.pending);
            self.effects.push_back(Effect::Store(ops));
        }
    }
}

fn registration(
    identity: &IdentityKeyPair,
    prekeys: &MemoryPreKeys,
    origin: &str,
    challenge: &str,
    gate: GateProof,
) -> Option<RegisterRequest> {
    let raw = crate::protocol::auth::decode_b64(challenge)?;
    let keys = key_upload(prekeys, prekeys.one_time.iter())?;
    let sig = identity.sign(&[], &[&registration_statement(origin, &raw, &keys)]);
    Some(RegisterRequest {
        identity: encode_b64(&identity.public().to_bytes()),
        keys,
        challenge: challenge.to_owned(),
        signature: encode_b64(&sig),
        gate,
    })
}
