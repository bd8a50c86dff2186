//! Accounts: one person, several devices (issue 14, ADR 0016).
//!
//! A person has an account key (Ed25519) that signs a versioned list of their
//! devices. Every device keeps its own identity, prekeys and pairwise
//! sessions; the account key only says which devices are the person's. The
//! relay stores the latest signed list but cannot forge one, and a client
//! that remembers the last counter it saw detects a relay serving an older
//! list ([`accept_newer`]).
//!
//! Each entry also carries the device's own signature over the account key,
//! so neither the relay nor the account key alone can enrol a device that
//! never agreed to join.
#![deny(clippy::indexing_slicing)]

use core::fmt;
use std::collections::BTreeSet;

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::codec::{self, DecodeError, b64url, bytes, fixed};
use super::keys::{IdentityKeyPair, IdentityPublic};
use super::primitives::Secret;
use crate::protocol::DeviceId;
use crate::time::UnixMs;

/// Signature context for a device list (account key).
const CTX_DEVICE_LIST: &[u8] = b"Parley device list v1";
/// Signature context for a device agreeing to join an account (device key).
const CTX_DEVICE_LINK: &[u8] = b"Parley device link v1";

/// The most devices one account may list.
pub const MAX_DEVICES: usize = 16;
/// The largest signed list accepted (a full list of 16 devices is 3,307
/// bytes).
pub const MAX_SIGNED_LIST: usize = 8 * 1024;

const VERSION_ACCOUNT_SECRET: u8 = 1;
const VERSION_ACCOUNT_PUBLIC: u8 = 1;
/// Version byte of the signed list body (the bytes the account key signs).
const VERSION_DEVICE_LIST: u8 = 1;
/// Version byte of the signed list as stored and sent.
const VERSION_SIGNED_LIST: u8 = 1;

/// Why an account key or a device list is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    /// The list's signature is not the account key's.
    #[error("the device list is not signed by the account key")]
    BadSignature,
    /// The list names another account than the one expected.
    #[error("the device list belongs to another account")]
    WrongAccount,
    /// A list with no device.
    #[error("the device list is empty")]
    Empty,
    /// The same device twice.
    #[error("device {0:?} is listed twice")]
    DuplicateDevice(DeviceId),
    /// More than [`MAX_DEVICES`].
    #[error("{0} devices listed, at most {MAX_DEVICES} allowed")]
    TooManyDevices(usize),
    /// A device's own signature over the account is missing or wrong: it never
    /// agreed to join this account.
    #[error("device {0:?} did not agree to join this account")]
    DeviceNotLinked(DeviceId),
    /// An older list than one already seen: the relay rolled it back.
    #[error("device list {got} is older than list {seen} already seen")]
    Rollback {
        /// The counter already seen.
        seen: u64,
        /// The counter served now.
        got: u64,
    },
    /// Two different lists under one counter: the account key (or whoever
    /// holds it) showed different people different lists.
    #[error("two different device lists carry counter {0}")]
    Equivocation(u64),
    /// The account public key is not a valid Ed25519 key.
    #[error("invalid account key")]
    InvalidKey,
    /// Bytes could not be decoded.
    #[error("cannot decode account data: {0}")]
    Decode(#[from] DecodeError),
}

/// An account's name: its Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AccountId([u8; 32]);

impl AccountId {
    /// From the 32 key bytes (not checked: an id only names an account).
    pub const fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// A short prefix, as [`DeviceId`] shows: enough to tell accounts apart.
impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = b64url::encode(&self.0);
        write!(f, "AccountId({}…)", s.get(..8).unwrap_or(&s))
    }
}

/// Unpadded base64url.
impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&b64url::encode(&self.0))
    }
}

/// Parses the unpadded base64url form (a route parameter).
impl core::str::FromStr for AccountId {
    type Err = AccountError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        b64url::decode(s)
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
            .map(Self)
            .ok_or(AccountError::InvalidKey)
    }
}

/// An account's public key. Holding one means the key is a valid, not weak,
/// Ed25519 point (checked when decoded).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "[u8; 32]", into = "[u8; 32]")]
pub struct AccountPublic([u8; 32]);

impl TryFrom<[u8; 32]> for AccountPublic {
    type Error = AccountError;
    fn try_from(b: [u8; 32]) -> Result<Self, AccountError> {
        let vk = VerifyingKey::from_bytes(&b).map_err(|_| AccountError::InvalidKey)?;
        if vk.is_weak() {
            return Err(AccountError::InvalidKey);
        }
        Ok(Self(b))
    }
}

impl From<AccountPublic> for [u8; 32] {
    fn from(a: AccountPublic) -> Self {
        a.0
    }
}

impl fmt::Debug for AccountPublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountPublic({:?})", self.id())
    }
}

impl AccountPublic {
    /// The account id.
    pub fn id(&self) -> AccountId {
        AccountId(self.0)
    }

    /// The 32 key bytes (safety numbers hash them).
    pub fn key_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Versioned encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode(VERSION_ACCOUNT_PUBLIC, self)
    }

    /// Decodes and checks the key.
    pub fn from_bytes(b: &[u8]) -> Result<Self, AccountError> {
        Ok(codec::decode(VERSION_ACCOUNT_PUBLIC, b)?)
    }

    /// Checks the account key's signature over `ctx || body` (statements
    /// other than device lists, such as room changes, use their own `ctx`).
    pub fn verify_statement(
        &self,
        ctx: &[u8],
        body: &[u8],
        sig: &[u8; 64],
    ) -> Result<(), AccountError> {
        self.verify(ctx, body, sig)
    }

    fn verify(&self, ctx: &[u8], body: &[u8], sig: &[u8; 64]) -> Result<(), AccountError> {
        let vk = VerifyingKey::from_bytes(&self.0).map_err(|_| AccountError::InvalidKey)?;
        vk.verify_strict(&[ctx, body].concat(), &Signature::from_bytes(sig))
            .map_err(|_| AccountError::BadSignature)
    }
}

/// An account's private key. Zeroized on drop (ed25519-dalek's `zeroize`).
pub struct AccountKeyPair {
    signing: SigningKey,
}

impl fmt::Debug for AccountKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountKeyPair")
            .field("account", &self.public().id())
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
struct AccountSecretWire {
    signing: Secret<32>,
}

impl AccountKeyPair {
    /// A fresh account key.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self {
            signing: SigningKey::generate(rng),
        }
    }

    /// The public half.
    pub fn public(&self) -> AccountPublic {
        // A freshly derived key is a valid point; no check needed.
        AccountPublic(self.signing.verifying_key().to_bytes())
    }

    /// Versioned bytes for storage (secret: keep them encrypted at rest).
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(codec::encode(
            VERSION_ACCOUNT_SECRET,
            &AccountSecretWire {
                signing: Secret::new(self.signing.to_bytes()),
            },
        ))
    }

    /// Restores from [`Self::to_bytes`].
    pub fn from_bytes(b: &[u8]) -> Result<Self, AccountError> {
        let w: AccountSecretWire = codec::decode(VERSION_ACCOUNT_SECRET, b)?;
        Ok(Self {
            signing: SigningKey::from_bytes(w.signing.expose()),
        })
    }

    /// Signs `list`, which must be this account's (every other rule was
    /// checked when the list was made).
    pub fn sign(&self, list: &DeviceList) -> Result<SignedDeviceList, AccountError> {
        if list.account != self.public() {
            return Err(AccountError::WrongAccount);
        }
        Ok(self.sign_body(&ListWire::from(list)))
    }

    /// Signs a list that may break the rules, so tests can show the verifier
    /// refuses it. Not for real lists.
    #[cfg(feature = "testing")]
    pub fn sign_unchecked(
        &self,
        account: &AccountPublic,
        counter: u64,
        devices: Vec<DeviceEntry>,
    ) -> SignedDeviceList {
        self.sign_body(&ListWire {
            account: *account,
            counter,
            devices,
        })
    }

    /// Signs arbitrary body bytes, so tests can show the verifier refuses a
    /// body that is not the canonical encoding. Not for real lists.
    #[cfg(feature = "testing")]
    pub fn sign_raw_body(&self, body: &[u8]) -> SignedDeviceList {
        self.sign_bytes(body.to_vec())
    }

    /// Signs `ctx || body` for a statement other than a device list; `ctx`
    /// must be that statement's own context string, never the list's.
    pub fn sign_statement(&self, ctx: &[u8], body: &[u8]) -> [u8; 64] {
        debug_assert!(ctx != CTX_DEVICE_LIST && ctx != CTX_DEVICE_LINK);
        self.signing.sign(&[ctx, body].concat()).to_bytes()
    }

    fn sign_body(&self, list: &ListWire) -> SignedDeviceList {
        self.sign_bytes(codec::encode(VERSION_DEVICE_LIST, list))
    }

    fn sign_bytes(&self, body: Vec<u8>) -> SignedDeviceList {
        let signature = self
            .signing
            .sign(&[CTX_DEVICE_LIST, &body].concat())
            .to_bytes();
        SignedDeviceList { body, signature }
    }
}

/// One device of an account: its identity (device id and signed DH key, what
/// pairwise sessions need), when it joined, and its own signature saying it
/// agreed to join this account.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceEntry {
    identity: IdentityPublic,
    created_at: UnixMs,
    #[serde(with = "fixed")]
    link_signature: [u8; 64],
}

impl fmt::Debug for DeviceEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceEntry")
            .field("device", &self.identity.device_id())
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

impl DeviceEntry {
    /// The entry for `device` joining `account`, signed by the device: run on
    /// the device itself, which hands the entry to the account key's holder.
    pub fn link(device: &IdentityKeyPair, account: &AccountPublic, created_at: UnixMs) -> Self {
        Self {
            identity: device.public(),
            created_at,
            link_signature: device.sign(CTX_DEVICE_LINK, &[account.key_bytes()]),
        }
    }

    /// The device's identity.
    pub fn identity(&self) -> &IdentityPublic {
        &self.identity
    }

    /// The device id.
    pub fn device_id(&self) -> DeviceId {
        self.identity.device_id()
    }

    /// When the device joined the account.
    pub fn created_at(&self) -> UnixMs {
        self.created_at
    }

    /// Checks the device's consent to join `account`.
    pub fn check_link(&self, account: &AccountPublic) -> Result<(), AccountError> {
        self.identity
            .verify(
                CTX_DEVICE_LINK,
                &[account.key_bytes()],
                &self.link_signature,
            )
            .map_err(|_| AccountError::DeviceNotLinked(self.device_id()))
    }
}

/// An account's devices at one version. Holding one means it follows every
/// rule: 1 to [`MAX_DEVICES`] devices, no device twice, each device's link
/// signature valid for this account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceList {
    account: AccountPublic,
    counter: u64,
    devices: Vec<DeviceEntry>,
}

/// The signed body's layout (the same fields, unchecked).
#[derive(Serialize, Deserialize)]
struct ListWire {
    account: AccountPublic,
    counter: u64,
    devices: Vec<DeviceEntry>,
}

impl From<&DeviceList> for ListWire {
    fn from(l: &DeviceList) -> Self {
        Self {
            account: l.account,
            counter: l.counter,
            devices: l.devices.clone(),
        }
    }
}

impl DeviceList {
    /// A list of `devices` at version `counter`, checked.
    pub fn new(
        account: AccountPublic,
        counter: u64,
        devices: Vec<DeviceEntry>,
    ) -> Result<Self, AccountError> {
        if devices.is_empty() {
            return Err(AccountError::Empty);
        }
        if devices.len() > MAX_DEVICES {
            return Err(AccountError::TooManyDevices(devices.len()));
        }
        let mut seen = BTreeSet::new();
        for d in &devices {
            if !seen.insert(d.device_id()) {
                return Err(AccountError::DuplicateDevice(d.device_id()));
            }
            d.check_link(&account)?;
        }
        Ok(Self {
            account,
            counter,
            devices,
        })
    }

    /// The account.
    pub fn account(&self) -> &AccountPublic {
        &self.account
    }

    /// The version: each new list of an account has a higher one.
    pub fn counter(&self) -> u64 {
        self.counter
    }

    /// The devices, in the order the account listed them.
    pub fn devices(&self) -> &[DeviceEntry] {
        &self.devices
    }

    /// The entry for `device`, if it is one of the account's.
    pub fn device(&self, device: DeviceId) -> Option<&DeviceEntry> {
        self.devices.iter().find(|d| d.device_id() == device)
    }

    fn ids(&self) -> BTreeSet<DeviceId> {
        self.devices.iter().map(DeviceEntry::device_id).collect()
    }
}

/// A device list with the account key's signature over its exact bytes, as
/// the relay stores and serves it. Decoding checks only the layout; trust
/// comes from [`Self::verify`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedDeviceList {
    #[serde(with = "bytes")]
    body: Vec<u8>,
    #[serde(with = "fixed")]
    signature: [u8; 64],
}

impl fmt::Debug for SignedDeviceList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignedDeviceList({} bytes)", self.body.len())
    }
}

impl SignedDeviceList {
    /// Checks the list against the account the caller expects (from a
    /// contact's record, never from the list itself) and returns it.
    ///
    /// The signature covers the bytes as sent, so no re-encoding has to
    /// match them.
    pub fn verify(&self, account: &AccountPublic) -> Result<DeviceList, AccountError> {
        account.verify(CTX_DEVICE_LIST, &self.body, &self.signature)?;
        let w: ListWire = codec::decode(VERSION_DEVICE_LIST, &self.body)?;
        canonical(&codec::encode(VERSION_DEVICE_LIST, &w), &self.body)?;
        if w.account != *account {
            return Err(AccountError::WrongAccount);
        }
        DeviceList::new(w.account, w.counter, w.devices)
    }

    /// For the relay, which has no pinned key: checks the list against the
    /// account it names. A list that verifies this way can only have been
    /// signed by that account's key, so storing it under that account is
    /// safe; clients use [`Self::verify`] with the key they pinned.
    pub fn verify_named(&self) -> Result<DeviceList, AccountError> {
        let w: ListWire = codec::decode(VERSION_DEVICE_LIST, &self.body)?;
        self.verify(&w.account)
    }

    /// Versioned encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode(VERSION_SIGNED_LIST, self)
    }

    /// Decodes the layout (verify with [`Self::verify`]).
    pub fn from_bytes(b: &[u8]) -> Result<Self, AccountError> {
        let list: Self = codec::decode(VERSION_SIGNED_LIST, b)?;
        canonical(&list.to_bytes(), b)?;
        Ok(list)
    }
}

/// postcard also reads overlong varints (`0x8e 0x00` for 14), so a value may
/// have several encodings; lists accept only the one postcard writes, so
/// equal lists are equal bytes (found by the `account` fuzz target).
fn canonical(reencoded: &[u8], received: &[u8]) -> Result<(), AccountError> {
    if reencoded == received {
        Ok(())
    } else {
        Err(DecodeError::Malformed.into())
    }
}

/// What a newer list changed, for "Alice added a device" notices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    /// Devices in the new list and not in the one seen.
    pub added: Vec<DeviceId>,
    /// Devices in the one seen and not in the new list.
    pub removed: Vec<DeviceId>,
}

impl Change {
    /// Nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

/// Decides whether to adopt `new` after `seen` (the last list adopted for
/// this account, if any): a lower counter is a rollback, the same counter
/// with other content an equivocation. Returns what changed.
pub fn accept_newer(seen: Option<&DeviceList>, new: &DeviceList) -> Result<Change, AccountError> {
    let Some(seen) = seen else {
        return Ok(Change {
            added: new.devices.iter().map(DeviceEntry::device_id).collect(),
            removed: Vec::new(),
        });
    };
    if seen.account != new.account {
        return Err(AccountError::WrongAccount);
    }
    match new.counter.cmp(&seen.counter) {
        core::cmp::Ordering::Less => Err(AccountError::Rollback {
            seen: seen.counter,
            got: new.counter,
        }),
        core::cmp::Ordering::Equal if seen != new => Err(AccountError::Equivocation(new.counter)),
        core::cmp::Ordering::Equal => Ok(Change::default()),
        core::cmp::Ordering::Greater => {
            let (old, now) = (seen.ids(), new.ids());
            Ok(Change {
                added: new
                    .devices
                    .iter()
                    .map(DeviceEntry::device_id)
                    .filter(|d| !old.contains(d))
                    .collect(),
                removed: seen
                    .devices
                    .iter()
                    .map(DeviceEntry::device_id)
                    .filter(|d| !now.contains(d))
                    .collect(),
            })
        }
    }
}
