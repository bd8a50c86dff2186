//! What a backup holds (ADR 0021) and how it is made from the engine's
//! state; the file around it (Argon2id or a recovery key, XChaCha20-Poly1305)
//! is [`crate::crypto::backup`], and restoring is `restore`.
//!
//! A backup carries the account key, not the device's identity: a restore
//! makes a new device of the account, with its own identity, prekeys and
//! sessions. Ratchet state is never in it (a restored session would reuse
//! message keys and nonces), nor are disappearing messages (a file that
//! outlives their timer would defeat it).

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::core::Engine;
use super::error::EngineError;
use super::model::Message;
use super::typing::Prefs;
use crate::crypto::account::{AccountPublic, SignedDeviceList};
use crate::crypto::backup::{self, BackupError, KdfParams, RecoveryKey};
use crate::crypto::codec::{self, bytes};
use crate::crypto::keys::IdentityPublic;
use crate::time::UnixMs;

/// 3: the account key instead of the device identity, the own device list,
/// contacts' accounts, history and settings.
const VERSION_CONTENTS: u8 = 3;

/// A contact's account as last adopted: the pinned key and its signed list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupPeer {
    /// The account key pinned for the contact.
    pub account: AccountPublic,
    /// The last list adopted for it (signed by `account`).
    pub list: SignedDeviceList,
}

/// One contact in a backup, with its conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupContact {
    /// The identity of the device paired with (keys the conversation).
    pub identity: IdentityPublic,
    /// Name the contact gave (or the user chose).
    pub name: String,
    /// Disappearing-message timer.
    pub timer_secs: Option<u32>,
    /// Whether the safety number was verified.
    pub verified: bool,
    /// When the pairing happened.
    pub paired_at: UnixMs,
    /// The last activity (list order).
    pub last_activity: UnixMs,
    /// The contact's account, once learned.
    pub account: Option<BackupPeer>,
    /// The conversation, oldest first (no disappearing messages).
    pub history: Vec<Message>,
}

/// What a backup holds.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupContents {
    /// `AccountKeyPair::to_bytes()` (secret).
    #[serde(with = "bytes")]
    pub account_key: Vec<u8>,
    /// This account's device list when the backup was made: a restore
    /// refuses a relay serving an older one.
    pub list: SignedDeviceList,
    /// The display name.
    pub name: String,
    /// Contacts and their conversations.
    pub contacts: Vec<BackupContact>,
    /// Settings.
    pub prefs: Prefs,
}

impl Drop for BackupContents {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.account_key);
    }
}

impl core::fmt::Debug for BackupContents {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BackupContents")
            .field("contacts", &self.contacts.len())
            .finish_non_exhaustive()
    }
}

/// What opens a backup file.
#[derive(Clone)]
pub enum BackupSecret {
    /// A password (Argon2id).
    Password(Zeroizing<String>),
    /// A recovery key.
    RecoveryKey(RecoveryKey),
}

impl core::fmt::Debug for BackupSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Password(_) => "Password(<redacted>)",
            Self::RecoveryKey(_) => "RecoveryKey(<redacted>)",
        })
    }
}

impl BackupSecret {
    /// A password, as typed.
    pub fn password(pw: &str) -> Self {
        Self::Password(Zeroizing::new(pw.to_owned()))
    }
}

impl BackupContents {
    /// Versioned bytes (secret).
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(codec::encode(VERSION_CONTENTS, self))
    }

    /// Restores from [`Self::to_bytes`].
    pub fn from_bytes(b: &[u8]) -> Result<Self, BackupError> {
        Ok(codec::decode(VERSION_CONTENTS, b)?)
    }

    /// The sealed file, under `secret` (Argon2id with `params` for a
    /// password).
    pub fn seal<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        secret: &BackupSecret,
        params: KdfParams,
    ) -> Result<Vec<u8>, BackupError> {
        let plain = self.to_bytes();
        match secret {
            BackupSecret::Password(pw) => backup::seal_with_password(rng, pw, params, &plain),
            BackupSecret::RecoveryKey(k) => Ok(backup::seal_with_recovery_key(rng, k, &plain)),
        }
    }

    /// Opens a sealed file: a wrong secret, a damaged or foreign file or
    /// hostile parameters each give their own error.
    pub fn open(file: &[u8], secret: &BackupSecret) -> Result<Self, BackupError> {
        let plain = match secret {
            BackupSecret::Password(pw) => backup::open_with_password(file, pw)?,
            BackupSecret::RecoveryKey(k) => backup::open_with_recovery_key(file, k)?,
        };
        Self::from_bytes(&plain)
    }
}

impl Engine {
    /// Everything a backup holds, from this device's state (it needs an
    /// account: a device waiting to be linked has nothing to back up).
    pub fn backup_contents(&self) -> Result<BackupContents, EngineError> {
        let own = self.own.as_ref().ok_or(EngineError::NoAccount)?;
        let contacts = self
            .contacts
            .iter()
            .map(|(dev, c)| BackupContact {
                identity: c.identity.clone(),
                name: c.name.clone(),
                timer_secs: c.timer_secs,
                verified: c.verified,
                paired_at: c.paired_at,
                last_activity: c.last_activity,
                account: self.peers.get(dev).map(|p| BackupPeer {
                    account: p.account,
                    list: p.signed.clone(),
                }),
                history: self
                    .messages(dev)
                    .iter()
                    .filter(|m| m.expires_at.is_none())
                    .cloned()
                    .collect(),
            })
            .collect();
        Ok(BackupContents {
            account_key: own.key.to_bytes().to_vec(),
            list: own.signed.clone(),
            name: self.account.name.clone(),
            contacts,
            prefs: self.prefs.clone(),
        })
    }
}
