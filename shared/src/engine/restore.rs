//! Restoring a backup (ADR 0021): a fresh device, registered with the relay
//! and waiting to be linked ([`Engine::create_for_link`]), becomes a new
//! device of the backed-up account, and takes its contacts, history and
//! settings.
//!
//! The flow, with [`Effect::Http`](super::Effect::Http) like the account
//! flows: fetch the account's current list, check it with the backup's
//! account key, sign the next list (current devices and this one) and
//! publish it; only once the relay has it is anything of the backup taken
//! in, in one store batch. A relay serving an older list than the backup's
//! is refused (a rollback would re-admit devices removed since); a relay
//! with no list at all (every old device erased) gets a list with this
//! device alone, under the backup's counter + 1. Contacts adopt the new
//! list at their next send (the relay's `Stale` answer), and this device
//! starts a session with each of them: nobody pairs again.

use std::collections::VecDeque;

use super::backup::BackupContents;
use super::content::clean_name;
use super::core::{Effect, Engine, StoreOp, put};
use super::http::{Purpose, Reply, decode};
use super::model::{Contact, key};
use super::own::OwnAccount;
use super::peers::{PeerAccount, PeerDevice};
use crate::crypto::account::{
    AccountError, AccountKeyPair, DeviceEntry, DeviceList, SignedDeviceList, accept_newer,
};
use crate::map::Map;
use crate::protocol::ErrorCode;
use crate::protocol::api::{self, Bytes, Endpoint as _, GetDeviceList, PutDeviceList};
use crate::protocol::ws::DeviceId;
use crate::time::UnixMs;

/// Why a restore did not finish (nothing of the backup was taken in).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    /// Only a new device, registered and not yet in an account, can be
    /// restored into.
    #[error("a backup is restored on a new device, once it is registered")]
    NotReady,
    /// A restore is already running.
    #[error("a restore is already under way")]
    Busy,
    /// The backup decrypted but its account key or lists do not check.
    #[error("the backup is damaged: {0}")]
    Damaged(AccountError),
    /// The relay refused or could not be reached.
    #[error(transparent)]
    Relay(#[from] api::Failure),
    /// The relay's list for the account is not signed by the backup's key.
    #[error("the relay's device list for this account is not signed by its key")]
    ForeignList,
    /// The relay serves an older list than the backup holds.
    #[error("the relay serves device list {relay}, older than the backup's {backup}")]
    Rollback {
        /// The backup's counter.
        backup: u64,
        /// The relay's.
        relay: u64,
    },
    /// The relay serves another list under the backup's counter.
    #[error("the relay serves another device list under counter {0}")]
    Equivocation(u64),
    /// The next list cannot be made (the account lists the most devices).
    #[error(transparent)]
    Account(AccountError),
}

/// A step of the restore flow.
#[derive(Debug)]
pub(super) enum RestoreStep {
    /// `GET /accounts/{id}/devices`.
    Fetch,
    /// `PUT /accounts/{id}/devices`.
    Publish,
}

/// The backup being restored, checked.
struct Job {
    contents: BackupContents,
    key: AccountKeyPair,
    backup_list: DeviceList,
    /// The list being published.
    next: Option<(DeviceList, SignedDeviceList)>,
}

/// The restore flow's state.
#[derive(Default)]
pub(super) struct RestoreState {
    busy: bool,
    last: Option<Result<(), RestoreError>>,
    job: Option<Job>,
}

impl Engine {
    /// Starts restoring `contents` (opened with
    /// [`BackupContents::open`]) on this new device. Nothing changes until
    /// the relay has the list naming this device; then
    /// [`Engine::restore_result`] tells how it ended.
    pub fn restore(&mut self, contents: BackupContents) -> Result<(), RestoreError> {
        if self.restore.busy {
            return Err(RestoreError::Busy);
        }
        let fresh = self.linking && self.own.is_none() && self.contacts.is_empty();
        if !fresh || !self.account.registered {
            return Err(RestoreError::NotReady);
        }
        let key =
            AccountKeyPair::from_bytes(&contents.account_key).map_err(RestoreError::Damaged)?;
        let backup_list = contents
            .list
            .verify(&key.public())
            .map_err(RestoreError::Damaged)?;
        for c in &contents.contacts {
            if let Some(p) = &c.account {
                p.list.verify(&p.account).map_err(RestoreError::Damaged)?;
            }
        }
        let account = key.public().id();
        self.restore = RestoreState {
            busy: true,
            last: None,
            job: Some(Job {
                contents,
                key,
                backup_list,
                next: None,
            }),
        };
        self.http(
            Purpose::Restore(RestoreStep::Fetch),
            GetDeviceList { account }.request(&()),
        );
        Ok(())
    }

    /// Whether a restore is running.
    pub fn restore_busy(&self) -> bool {
        self.restore.busy
    }

    /// How the last restore ended (`None` while one runs or before any).
    pub fn restore_result(&self) -> Option<&Result<(), RestoreError>> {
        self.restore.last.as_ref()
    }

    pub(super) fn restore_reply(&mut self, step: RestoreStep, reply: &Reply, now: UnixMs) {
        let Some(job) = self.restore.job.take() else {
            return;
        };
        let ended = match step {
            RestoreStep::Fetch => match self.restore_fetched(job, reply, now) {
                // The next list is being published.
                Ok(false) => return,
                // The relay's list already names this device.
                Ok(true) => Ok(()),
                Err(e) => Err(e),
            },
            RestoreStep::Publish => match decode::<PutDeviceList>(reply) {
                Ok(_) => {
                    self.take_in(job);
                    Ok(())
                }
                Err(f) => Err(RestoreError::Relay(f)),
            },
        };
        self.restore.busy = false;
        self.restore.job = None;
        self.restore.last = Some(ended);
        self.effects.push_back(Effect::Changed);
    }

    /// The account's current list: signs and publishes the next one, or
    /// takes the backup in at once if the list names this device already
    /// (a device linked by another one; returns `true` then).
    fn restore_fetched(
        &mut self,
        mut job: Job,
        reply: &Reply,
        now: UnixMs,
    ) -> Result<bool, RestoreError> {
        let public = job.key.public();
        let (mut devices, counter) = match decode::<GetDeviceList>(reply) {
            Ok(Bytes(b)) => {
                let signed =
                    SignedDeviceList::from_bytes(&b).map_err(|_| RestoreError::ForeignList)?;
                let current = signed
                    .verify(&public)
                    .map_err(|_| RestoreError::ForeignList)?;
                accept_newer(Some(&job.backup_list), &current).map_err(|e| match e {
                    AccountError::Rollback { seen, got } => RestoreError::Rollback {
                        backup: seen,
                        relay: got,
                    },
                    AccountError::Equivocation(c) => RestoreError::Equivocation(c),
                    _ => RestoreError::ForeignList,
                })?;
                let ours = self.identity.public();
                if current
                    .device(self.device_id())
                    .is_some_and(|e| e.identity() == &ours)
                {
                    job.next = Some((current, signed));
                    self.take_in(job);
                    return Ok(true);
                }
                (current.devices().to_vec(), current.counter())
            }
            // Every device of the account was erased: this one starts over.
            Err(f) if f.is(ErrorCode::NotFound) => (Vec::new(), job.backup_list.counter()),
            Err(f) => return Err(RestoreError::Relay(f)),
        };
        let me = self.device_id();
        // Present if an earlier attempt was published but its answer lost.
        if !devices.iter().any(|d| d.device_id() == me) {
            devices.push(DeviceEntry::link(&self.identity, &public, now));
        }
        let list = DeviceList::new(public, counter.saturating_add(1), devices)
            .map_err(RestoreError::Account)?;
        let signed = job.key.sign(&list).map_err(RestoreError::Account)?;
        let req = PutDeviceList {
            account: public.id(),
        }
        .request(&Bytes(signed.to_bytes()));
        job.next = Some((list, signed));
        self.restore.job = Some(job);
        self.http(Purpose::Restore(RestoreStep::Publish), req);
        Ok(false)
    }

    /// The relay lists this device: the account, contacts, their accounts,
    /// history and settings are taken in, in one store batch.
    fn take_in(&mut self, job: Job) {
        let Job {
            contents,
            key,
            next,
            ..
        } = job;
        let Some((list, signed)) = next else {
            return;
        };
        // Sessions with the account's other devices start when there is
        // something to tell them.
        self.follow_own_list(&list);
        self.own = Some(OwnAccount {
            key,
            list,
            signed,
            published: true,
        });
        self.linking = false;
        self.link_pin = None;
        self.pending.push(StoreOp::Delete(key::LINKING.to_owned()));
        self.save_own();
        self.account.name = clean_name(&contents.name);
        self.save_account();
        self.prefs = contents.prefs.clone();
        self.save_prefs();
        let mut restored = Vec::new();
        for c in &contents.contacts {
            let dev = c.identity.device_id();
            if dev == self.device_id() {
                continue;
            }
            self.contacts.insert(dev, self.restored_contact(c));
            self.save_contact(&dev);
            if let Some(p) = &c.account
                && let Ok(list) = p.list.verify(&p.account)
            {
                let paired_left = !list
                    .device(dev)
                    .is_some_and(|e| e.identity() == &c.identity);
                let others: Map<DeviceId, PeerDevice> = list
                    .devices()
                    .iter()
                    .filter(|e| e.device_id() != dev)
                    .map(|e| {
                        let d = PeerDevice {
                            identity: e.identity().clone(),
                            session: None,
                            waiting: Vec::new(),
                            seen: VecDeque::new(),
                        };
                        (e.device_id(), d)
                    })
                    .collect();
                for d in others.keys() {
                    self.owners.insert(*d, dev);
                }
                let peer = PeerAccount {
                    account: p.account,
                    list,
                    signed: p.list.clone(),
                    others,
                    paired_left,
                };
                self.peers.insert(dev, peer);
                self.save_peer(&dev);
            }
            let mut history = c.history.clone();
            crate::sort::sort_by_key(&mut history, |m| m.seq);
            for m in &history {
                self.next_seq = self.next_seq.max(m.seq.saturating_add(1));
                self.pending.push(put(key::message(&dev, m.seq), m));
            }
            self.history.insert(dev, history);
            restored.push(dev);
        }
        self.next_expiry = UnixMs::EPOCH;
        self.commit();
        // This device starts a session with each contact (its first
        // message carries the profile, as after pairing); offline, the
        // next `Ready` fetches the bundles.
        if self.online {
            for dev in restored {
                self.fetch_bundle(dev);
            }
            self.send_presence();
        }
    }

    fn restored_contact(&self, c: &super::backup::BackupContact) -> Contact {
        // This new device starts the sessions (it fetches their bundles).
        Contact {
            timer_secs: c.timer_secs,
            paired_at: c.paired_at,
            verified: c.verified,
            ..self.new_contact(c.identity.clone(), c.name.clone(), true, c.last_activity)
        }
    }
}
