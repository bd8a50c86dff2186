//! Restoring a backup (ADR 0021) with the relay played by the test: a
//! relay list older than the backup's, another list under its counter or a
//! list the account did not sign is refused and nothing changes; a relay
//! refusing the new list changes nothing; with no list on the relay the
//! device starts over under the backup's counter + 1; a newer list is
//! built on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use parley_shared::crypto::account::{AccountKeyPair, DeviceEntry, DeviceList, SignedDeviceList};
use parley_shared::crypto::os_rng;
use parley_shared::engine::backup::BackupContents;
use parley_shared::engine::{Effect, Engine, MemoryStore, Reply, RestoreError};
use parley_shared::protocol::api::{self, Method};
use parley_shared::protocol::{ApiError, DeviceId, ErrorCode};
use parley_shared::testing::fake::Side;
use parley_shared::time::UnixMs;

const NOW: UnixMs = UnixMs::from_millis(2_000);

/// A registered device waiting to be linked, and its records.
struct Fresh {
    engine: Engine,
    store: MemoryStore,
}

impl Fresh {
    fn new() -> Self {
        let mut engine = Engine::create_for_link(&mut os_rng(), "new browser", NOW);
        engine.set_token("t".into(), UnixMs::from_millis(u64::MAX / 2));
        let mut f = Self {
            engine,
            store: MemoryStore::default(),
        };
        f.run(|_| panic!("no request before the restore"));
        f
    }

    /// Runs effects, answering each request with `relay`.
    fn run(&mut self, mut relay: impl FnMut(&api::Request) -> Reply) {
        while let Some(e) = self.engine.next_effect() {
            match e {
                Effect::Store(ops) => self.store.apply(ops),
                Effect::Http { id, request } => {
                    let reply = relay(&request);
                    self.engine
                        .http_reply(&mut os_rng(), id, reply, NOW)
                        .unwrap();
                }
                _ => {}
            }
        }
    }

    /// Restores `contents`; the relay serves `current` and answers the
    /// publication with `put`. Returns the result and the list published.
    fn restore(
        &mut self,
        contents: BackupContents,
        current: Reply,
        put: Reply,
    ) -> (Result<(), RestoreError>, Option<SignedDeviceList>) {
        self.engine.restore(contents).unwrap();
        let mut published = None;
        self.run(|req| match req.method {
            Method::Get => current.clone(),
            Method::Put => {
                published = Some(SignedDeviceList::from_bytes(req.body.bytes()).unwrap());
                put.clone()
            }
            _ => Err(api::Failure::Unreachable),
        });
        assert!(!self.engine.restore_busy());
        (self.engine.restore_result().cloned().unwrap(), published)
    }

    fn untouched(&self, before: &MemoryStore) {
        assert_eq!(self.store.0, before.0, "nothing stored");
        assert_eq!(self.engine.account_public(), None);
        assert!(self.engine.contacts().is_empty());
    }
}

fn refused(code: ErrorCode, status: u16) -> Reply {
    Ok((
        status,
        serde_json::to_vec(&ApiError::new(code, "refused")).unwrap(),
    ))
}

fn served(list: &SignedDeviceList) -> Reply {
    Ok((200, list.to_bytes()))
}

/// Alice's account at list 2 (she and a phone), her backup then, and her
/// list 1 from before the phone.
fn alice_with_a_phone() -> (Side, DeviceId, BackupContents, SignedDeviceList) {
    let mut alice = Side::new("Alice");
    let list1 = alice.engine.backup_contents().unwrap().list.clone();
    let phone = Engine::create_for_link(&mut os_rng(), "phone", NOW);
    let account = alice.engine.account_public().unwrap();
    alice
        .engine
        .add_device(phone.consent(&account, NOW))
        .unwrap();
    alice.drain(None);
    let contents = alice.engine.backup_contents().unwrap();
    (alice, phone.device_id(), contents, list1)
}

fn devices(list: &SignedDeviceList, key: &AccountKeyPair) -> (u64, Vec<DeviceId>) {
    let l = list.verify(&key.public()).unwrap();
    (
        l.counter(),
        l.devices().iter().map(DeviceEntry::device_id).collect(),
    )
}

#[test]
fn an_older_or_other_or_foreign_relay_list_is_refused_and_nothing_changes() {
    let (alice, _, contents, list1) = alice_with_a_phone();
    let key = AccountKeyPair::from_bytes(&contents.account_key).unwrap();
    let mut fresh = Fresh::new();
    let before = fresh.store.clone();
    let never = Err(api::Failure::Unreachable);

    // Rolled back to before the phone: refused, nothing published.
    let (r, published) = fresh.restore(contents.clone(), served(&list1), never.clone());
    assert_eq!(
        r,
        Err(RestoreError::Rollback {
            backup: 2,
            relay: 1
        })
    );
    assert!(published.is_none());
    fresh.untouched(&before);

    // Another list under the backup's counter (Alice alone at 2).
    let entry = DeviceEntry::link(alice.engine.identity(), &key.public(), NOW);
    let other = key
        .sign(&DeviceList::new(key.public(), 2, vec![entry]).unwrap())
        .unwrap();
    let (r, _) = fresh.restore(contents.clone(), served(&other), never.clone());
    assert_eq!(r, Err(RestoreError::Equivocation(2)));
    fresh.untouched(&before);

    // A list some other account signed.
    let stranger = AccountKeyPair::generate(&mut os_rng());
    let entry = DeviceEntry::link(alice.engine.identity(), &stranger.public(), NOW);
    let foreign = stranger
        .sign(&DeviceList::new(stranger.public(), 9, vec![entry]).unwrap())
        .unwrap();
    let (r, _) = fresh.restore(contents.clone(), served(&foreign), never.clone());
    assert_eq!(r, Err(RestoreError::ForeignList));
    fresh.untouched(&before);

    // Not reachable at all.
    let (r, _) = fresh.restore(contents.clone(), never.clone(), never.clone());
    assert_eq!(r, Err(RestoreError::Relay(api::Failure::Unreachable)));
    fresh.untouched(&before);

    // A device with an account of its own is not restored into.
    let mut alice = alice;
    assert_eq!(alice.engine.restore(contents), Err(RestoreError::NotReady));
}

#[test]
fn a_newer_list_is_built_on_and_a_refused_publication_changes_nothing() {
    let (alice, phone, contents, _) = alice_with_a_phone();
    let key = AccountKeyPair::from_bytes(&contents.account_key).unwrap();
    let a_id = alice.engine.device_id();
    let current = contents.list.clone();
    let mut fresh = Fresh::new();
    let before = fresh.store.clone();
    let me = fresh.engine.device_id();

    // Someone published list 3 meanwhile: the relay says so.
    let (r, published) = fresh.restore(
        contents.clone(),
        served(&current),
        refused(ErrorCode::Conflict, 409),
    );
    assert!(matches!(r, Err(RestoreError::Relay(f)) if f.is(ErrorCode::Conflict)));
    assert_eq!(
        devices(&published.unwrap(), &key),
        (3, vec![a_id, phone, me])
    );
    fresh.untouched(&before);

    // Accepted: the device is the account's third.
    let (r, _) = fresh.restore(contents, served(&current), Ok((204, Vec::new())));
    assert_eq!(r, Ok(()));
    assert_eq!(fresh.engine.own_devices(), [a_id, phone, me]);
    assert!(fresh.engine.own_list_published());
    let reloaded = Engine::load(fresh.store.0.clone()).unwrap().unwrap();
    assert_eq!(reloaded.account_public(), Some(key.public()));
    assert_eq!(reloaded.own_devices(), [a_id, phone, me]);
}

#[test]
fn with_no_list_on_the_relay_the_device_starts_over_after_the_backup() {
    let (_alice, _, contents, _) = alice_with_a_phone();
    let key = AccountKeyPair::from_bytes(&contents.account_key).unwrap();
    let mut fresh = Fresh::new();
    let me = fresh.engine.device_id();
    let (r, published) = fresh.restore(
        contents,
        refused(ErrorCode::NotFound, 404),
        Ok((204, Vec::new())),
    );
    assert_eq!(r, Ok(()));
    assert_eq!(devices(&published.unwrap(), &key), (3, vec![me]));
    assert_eq!(fresh.engine.own_devices(), [me]);
    assert_eq!(fresh.engine.name(), "Alice");
}
