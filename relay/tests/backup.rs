//! Backup and restore (ADR 0021) through the shared engine against the real
//! relay (SQLite and PostgreSQL): Alice backs up, a fresh device restores
//! the file and becomes a new device of her account; a wrong password or
//! a damaged file changes nothing; Bob and the restored device go on
//! writing to each other without pairing again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::backends::relay_tests;
use common::device::{Client, alice_and_bob, settle};
use common::relay::RelayBuilder;
use parley_shared::crypto::backup::{BackupError, KdfParams, RecoveryKey};
use parley_shared::crypto::os_rng;
use parley_shared::engine::RestoreError;
use parley_shared::engine::backup::{BackupContents, BackupSecret};
use parley_shared::protocol::api::{Endpoint as _, EraseDevice};
use parley_shared::protocol::ws::DeviceId;
use parley_shared::testing::Transport as _;

/// Cheap parameters: the native tests check the flow, not the cost.
const FAST: KdfParams = KdfParams {
    m_kib: 1024,
    t: 1,
    p: 1,
};

async fn say(from: &mut Client, to: &DeviceId, text: &str) {
    let now = from.io.now();
    from.engine.send_text(&mut os_rng(), to, text, now).unwrap();
    from.drain().await;
}

/// Alice and Bob, paired and past their first exchange (each knows the
/// other's account); Alice's backup under `secret`.
async fn chatted(base: &str, secret: &BackupSecret) -> (Client, Client, Vec<u8>) {
    let (_, mut laptop, mut bob) = alice_and_bob(base).await;
    let (a_id, b_id) = (laptop.engine.device_id(), bob.engine.device_id());
    say(&mut laptop, &b_id, "before the backup").await;
    settle(&mut [&mut laptop, &mut bob]).await;
    say(&mut bob, &a_id, "noted").await;
    settle(&mut [&mut bob, &mut laptop]).await;
    assert_eq!(laptop.texts(&b_id), ["before the backup", "noted"]);
    let contents = laptop.engine.backup_contents().unwrap();
    let file = contents.seal(&mut os_rng(), secret, FAST).unwrap();
    (laptop, bob, file)
}

/// A new device of nobody's yet, registered and connected.
async fn fresh(base: &str, ahead: std::rc::Rc<std::cell::Cell<u64>>) -> Client {
    let mut d = Client::new_for_link(base, "new browser", ahead).await;
    d.connect().await;
    d
}

/// Restores `contents` on `d` and reports how it ended.
async fn restore(d: &mut Client, contents: BackupContents) -> Result<(), RestoreError> {
    d.engine.restore(contents)?;
    d.drain().await;
    assert!(!d.engine.restore_busy());
    d.engine.restore_result().cloned().unwrap()
}

/// What the restored device must show and do: Bob's conversation with its
/// history, Alice's account, and messages both ways with no new pairing.
async fn goes_on(
    restored: &mut Client,
    bob: &mut Client,
    a_id: DeviceId,
    others: &mut [&mut Client],
) {
    let b_id = bob.engine.device_id();
    let shown: Vec<DeviceId> = restored
        .engine
        .contacts()
        .iter()
        .map(|c| c.device())
        .collect();
    assert_eq!(shown, [b_id]);
    assert_eq!(restored.engine.contact(&b_id).unwrap().name, "Bob");
    assert_eq!(restored.texts(&b_id), ["before the backup", "noted"]);
    assert_eq!(restored.engine.name(), "Alice");

    // The restored device's session start reaches Bob (an unknown device
    // to him until he fetches Alice's list); then Bob writes.
    settle(&mut [&mut *restored, &mut *bob]).await;
    say(bob, &a_id, "welcome back").await;
    let mut all: Vec<&mut Client> = vec![&mut *bob, &mut *restored];
    all.extend(others.iter_mut().map(|c| &mut **c));
    settle(&mut all).await;
    assert!(
        restored.texts(&b_id).contains(&"welcome back".to_owned()),
        "{:?}",
        restored.texts(&b_id)
    );
    assert_eq!(bob.engine.outbox_len(), 0);

    // The restored device writes: it lands in Alice's conversation.
    say(restored, &b_id, "from the restored device").await;
    settle(&mut [&mut *restored, &mut *bob]).await;
    assert!(
        bob.texts(&a_id)
            .contains(&"from the restored device".to_owned()),
        "{:?} / {} / {:?}",
        bob.engine.messages(&a_id),
        restored.engine.outbox_len(),
        restored.engine.messages(&b_id)
    );
    assert_eq!(bob.engine.contacts().len(), 1, "no second pairing");
    assert_eq!(restored.engine.outbox_len(), 0);
}

async fn password_backup_restores_a_new_device(builder: RelayBuilder, _pg: Option<String>) {
    let relay = builder.start().await;
    let secret = BackupSecret::password("correct horse battery");
    let (mut laptop, mut bob, file) = chatted(&relay.base, &secret).await;
    let a_id = laptop.engine.device_id();
    let account = laptop.engine.account_public().unwrap();
    let mut new = fresh(&relay.base, laptop.io.ahead.clone()).await;
    let before = new.store.0.clone();

    // A wrong password, a damaged file, a file that is no backup: each its
    // own error, and the new device is as it was.
    let wrong = BackupSecret::password("correct horse batteries");
    assert_eq!(
        BackupContents::open(&file, &wrong).unwrap_err(),
        BackupError::WrongKey
    );
    let mut damaged = file.clone();
    let n = damaged.len();
    damaged[n - 5] ^= 0x40;
    assert_eq!(
        BackupContents::open(&damaged, &secret).unwrap_err(),
        BackupError::WrongKey
    );
    assert_eq!(
        BackupContents::open(b"PK\x03\x04 a zip file", &secret).unwrap_err(),
        BackupError::NotABackup
    );
    // A device that already has an account cannot be restored into.
    let contents = BackupContents::open(&file, &secret).unwrap();
    assert_eq!(
        laptop.engine.restore(contents.clone()),
        Err(RestoreError::NotReady)
    );
    new.drain().await;
    assert_eq!(new.store.0, before, "nothing stored");
    assert!(new.engine.contacts().is_empty());
    assert_eq!(new.engine.account_public(), None);

    // The right password: the new device joins Alice's account (list 2:
    // the laptop and itself) and takes contacts, history and settings.
    restore(&mut new, contents).await.unwrap();
    assert_eq!(new.engine.account_public(), Some(account));
    assert_eq!(new.engine.own_devices(), [a_id, new.engine.device_id()]);
    assert!(new.engine.own_list_published());
    // It survives a restart of the app.
    new.disconnect();
    new.reload();
    new.connect().await;
    assert_eq!(new.engine.account_public(), Some(account));
    assert_eq!(new.engine.contacts().len(), 1);

    goes_on(&mut new, &mut bob, a_id, &mut [&mut laptop]).await;
    // Bob's message went to both of Alice's devices.
    assert!(
        laptop
            .texts(&bob.engine.device_id())
            .contains(&"welcome back".to_owned())
    );
    assert_eq!(bob.engine.device_count(&a_id), 2);
}

async fn recovery_key_restores_after_every_device_is_gone(
    builder: RelayBuilder,
    _pg: Option<String>,
) {
    let relay = builder.start().await;
    let key = RecoveryKey::generate(&mut os_rng());
    let shown = key.display();
    let secret = BackupSecret::RecoveryKey(key);
    let (mut laptop, mut bob, file) = chatted(&relay.base, &secret).await;
    let a_id = laptop.engine.device_id();
    let account = laptop.engine.account_public().unwrap();

    // The laptop is lost: its device is erased, and with it (its last
    // device) the relay forgets the account's list.
    let now = laptop.io.now();
    let token = laptop.engine.token(now).unwrap().to_owned();
    let r = laptop
        .io
        .perform(&EraseDevice.request(&()), Some(&token))
        .await;
    assert_eq!(r.unwrap().0, 204);
    laptop.disconnect();

    let mut new = fresh(&relay.base, laptop.io.ahead.clone()).await;
    let other = BackupSecret::RecoveryKey(RecoveryKey::generate(&mut os_rng()));
    assert_eq!(
        BackupContents::open(&file, &other).unwrap_err(),
        BackupError::WrongKey
    );
    // A password does not open a recovery-key file.
    let pw = BackupSecret::password("x");
    assert_eq!(
        BackupContents::open(&file, &pw).unwrap_err(),
        BackupError::NotABackup
    );
    assert!(new.engine.contacts().is_empty());

    // The key as typed (lowercase, spaces): list 2, this device alone.
    let typed = RecoveryKey::parse(&shown.to_lowercase().replace('-', " ")).unwrap();
    let contents = BackupContents::open(&file, &BackupSecret::RecoveryKey(typed)).unwrap();
    restore(&mut new, contents).await.unwrap();
    assert_eq!(new.engine.account_public(), Some(account));
    assert_eq!(new.engine.own_devices(), [new.engine.device_id()]);

    // Bob learns the list from the restored device's first message (the
    // paired laptop left it), then writes to it alone.
    goes_on(&mut new, &mut bob, a_id, &mut []).await;
    assert_eq!(bob.engine.device_count(&a_id), 1);
}

relay_tests! {
    password_backup_restores_a_new_device,
    recovery_key_restores_after_every_device_is_gone,
}
