//! Encrypted backups under a password (Argon2id) or a recovery key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Device, TestRng};
use parley_shared::crypto::account::{AccountKeyPair, DeviceEntry, DeviceList};
use parley_shared::crypto::backup::{
    self, BackupError, KdfParams, MAX_M_KIB, MAX_P, MAX_T, RecoveryKey,
};
use parley_shared::crypto::codec::DecodeError;
use parley_shared::engine::backup::{BackupContact, BackupContents, BackupPeer, BackupSecret};
use parley_shared::engine::model::{Body, Message, Status};
use parley_shared::engine::typing::Prefs;
use parley_shared::time::UnixMs;
use zeroize::Zeroizing;

/// Small parameters: correctness, not cost, is under test (benchmarks cover cost).
const FAST: KdfParams = KdfParams {
    m_kib: 256,
    t: 1,
    p: 1,
};

fn password(pw: &str) -> BackupSecret {
    BackupSecret::Password(Zeroizing::new(pw.to_owned()))
}

/// An account with one device, and a contact whose account is known, with
/// one message.
fn contents(rng: &mut TestRng) -> (BackupContents, AccountKeyPair) {
    let me = Device::new(rng, 0);
    let peer = Device::new(rng, 1);
    let at = UnixMs::from_millis(1_800_000_000_000);
    let key = AccountKeyPair::generate(rng);
    let list = DeviceList::new(
        key.public(),
        3,
        vec![DeviceEntry::link(&me.identity, &key.public(), at)],
    )
    .unwrap();
    let peer_key = AccountKeyPair::generate(rng);
    let peer_list = DeviceList::new(
        peer_key.public(),
        1,
        vec![DeviceEntry::link(&peer.identity, &peer_key.public(), at)],
    )
    .unwrap();
    let c = BackupContents {
        account_key: key.to_bytes().to_vec(),
        list: key.sign(&list).unwrap(),
        name: "Alice".into(),
        contacts: vec![BackupContact {
            identity: peer.identity.public(),
            name: "Bob".into(),
            timer_secs: None,
            verified: true,
            paired_at: at,
            last_activity: at,
            account: Some(BackupPeer {
                account: peer_key.public(),
                list: peer_key.sign(&peer_list).unwrap(),
            }),
            history: vec![Message {
                id: [7; 16],
                seq: 4,
                outgoing: false,
                body: Body::Text("hello".into()),
                at,
                status: Status::Read,
                expires_at: None,
            }],
        }],
        prefs: Prefs {
            typing_indicators: false,
            presence: true,
        },
    };
    (c, key)
}

#[test]
fn password_backup_restores_account_contacts_history_and_settings() {
    let rng = &mut TestRng::new("backup");
    let (c, key) = contents(rng);
    let pw = password("correct horse battery staple");
    let sealed = c.seal(rng, &pw, FAST).unwrap();
    let restored = BackupContents::open(&sealed, &pw).unwrap();
    assert!(restored == c);
    let account = AccountKeyPair::from_bytes(&restored.account_key).unwrap();
    assert_eq!(account.public(), key.public());
    assert_eq!(restored.list.verify(&key.public()).unwrap().counter(), 3);
    let bob = &restored.contacts[0];
    assert_eq!(bob.name, "Bob");
    assert_eq!(bob.history[0].body, Body::Text("hello".into()));
    assert!(bob.account.is_some());
    assert!(!restored.prefs.typing_indicators);
    // The contents never show the key in logs.
    assert!(!format!("{restored:?}").contains("account_key"));
    assert_eq!(
        BackupContents::open(&sealed, &password("correct horse battery stapl")).unwrap_err(),
        BackupError::WrongKey
    );
}

#[test]
fn contents_of_another_version_or_damaged_are_refused() {
    let rng = &mut TestRng::new("backup-contents");
    let (c, _) = contents(rng);
    let mut bytes = c.to_bytes().to_vec();
    bytes[0] = 2; // the identity-and-contacts layout
    assert_eq!(
        BackupContents::from_bytes(&bytes).unwrap_err(),
        BackupError::Malformed(DecodeError::Version(2))
    );
    let plain = c.to_bytes();
    let cut = &plain[..plain.len() - 3];
    assert!(matches!(
        BackupContents::from_bytes(cut),
        Err(BackupError::Malformed(_))
    ));
    // Sealed well, but not a contents layout: "damaged", not "wrong key".
    let pw = password("pw");
    let sealed = backup::seal_with_password(rng, "pw", FAST, b"garbage").unwrap();
    assert!(matches!(
        BackupContents::open(&sealed, &pw),
        Err(BackupError::Malformed(_))
    ));
}

#[test]
fn wrong_password_and_tampering_give_a_clear_error() {
    let rng = &mut TestRng::new("backup-wrong");
    let sealed = backup::seal_with_password(rng, "pw", FAST, b"payload").unwrap();
    assert_eq!(
        backup::open_with_password(&sealed, "pW").unwrap_err(),
        BackupError::WrongKey
    );
    assert_eq!(
        BackupError::WrongKey.to_string(),
        "wrong password or recovery key"
    );
    // Lowering the stored cost parameters is caught (they are authenticated).
    let mut weaker = sealed.clone();
    weaker[15] = 1; // t: 1 -> still 1? set m instead
    weaker[12] = 0x80;
    assert!(backup::open_with_password(&weaker, "pw").is_err());
    let mut t = sealed.clone();
    let n = t.len();
    t[n - 1] ^= 1;
    assert_eq!(
        backup::open_with_password(&t, "pw").unwrap_err(),
        BackupError::WrongKey
    );
    assert_eq!(
        backup::open_with_password(b"not a backup at all, no", "pw").unwrap_err(),
        BackupError::NotABackup
    );
}

#[test]
fn hostile_parameters_are_refused_before_any_work() {
    let rng = &mut TestRng::new("backup-params");
    let (c, _) = contents(rng);
    let sealed = c.seal(rng, &password("pw"), FAST).unwrap();
    let mut huge = sealed.clone();
    huge[9..13].copy_from_slice(&u32::MAX.to_be_bytes()); // 4 TiB of memory
    assert_eq!(
        backup::open_with_password(&huge, "pw").unwrap_err(),
        BackupError::BadParameters
    );
    // Just past what a phone browser is asked to do: memory, passes, lanes.
    for (at, past) in [(9, MAX_M_KIB + 1), (13, MAX_T + 1), (17, MAX_P + 1)] {
        let mut hostile = sealed.clone();
        hostile[at..at + 4].copy_from_slice(&past.to_be_bytes());
        assert_eq!(
            backup::open_with_password(&hostile, "pw").unwrap_err(),
            BackupError::BadParameters,
            "offset {at}"
        );
    }
    // Truncated ciphertext: a clear error, not a panic; the whole file opens.
    for cut in [1, 16, 200, sealed.len() - 60, sealed.len() - 30] {
        let short = &sealed[..sealed.len() - cut];
        assert!(
            matches!(
                BackupContents::open(short, &password("pw")),
                Err(BackupError::WrongKey | BackupError::NotABackup)
            ),
            "cut {cut}"
        );
    }
    assert!(BackupContents::open(&sealed, &password("pw")).unwrap() == c);
    // The same for a recovery-key file.
    let key = RecoveryKey::generate(rng);
    let by_key = BackupSecret::RecoveryKey(key.clone());
    let sealed = c.seal(rng, &by_key, FAST).unwrap();
    for cut in [1, 16, 200, sealed.len() - 20] {
        assert!(
            matches!(
                BackupContents::open(&sealed[..sealed.len() - cut], &by_key),
                Err(BackupError::WrongKey | BackupError::NotABackup)
            ),
            "cut {cut}"
        );
    }
    assert!(BackupContents::open(&sealed, &by_key).unwrap() == c);
    assert!(
        backup::seal_with_password(
            rng,
            "pw",
            KdfParams {
                m_kib: 256,
                t: 0,
                p: 1
            },
            b"x"
        )
        .is_err()
    );
}

#[test]
fn recovery_key_backup_and_typo_tolerance() {
    let rng = &mut TestRng::new("recovery");
    let key = RecoveryKey::generate(rng);
    let shown = key.display();
    assert_eq!(shown.len(), 53 + 13, "{shown}");
    let sealed = backup::seal_with_recovery_key(rng, &key, b"payload");
    // Lowercase, no dashes, O for 0 and l for 1 still parse.
    let sloppy = shown
        .to_lowercase()
        .replace('-', " ")
        .replace('0', "o")
        .replace('1', "l");
    let parsed = RecoveryKey::parse(&sloppy).unwrap();
    assert_eq!(
        *backup::open_with_recovery_key(&sealed, &parsed).unwrap(),
        b"payload"
    );
    // One wrong character is caught by the checksum (before any decryption).
    let mut typo: Vec<char> = shown.chars().collect();
    typo[5] = if typo[5] == 'A' { 'B' } else { 'A' };
    let typo: String = typo.into_iter().collect();
    assert_eq!(
        RecoveryKey::parse(&typo).unwrap_err(),
        BackupError::RecoveryKeyTypo
    );
    assert_eq!(
        RecoveryKey::parse("U").unwrap_err(),
        BackupError::RecoveryKeyTypo
    );
    let other = RecoveryKey::generate(rng);
    assert_eq!(
        backup::open_with_recovery_key(&sealed, &other).unwrap_err(),
        BackupError::WrongKey
    );
    // A password backup is not a recovery-key backup.
    let pw = backup::seal_with_password(rng, "pw", FAST, b"x").unwrap();
    assert_eq!(
        backup::open_with_recovery_key(&pw, &key).unwrap_err(),
        BackupError::NotABackup
    );
    assert!(!format!("{key:?}").contains(&shown[..4]));
}
