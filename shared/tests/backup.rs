//! Encrypted backups under a password (Argon2id) or a recovery key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Device, TestRng};
use parley_shared::crypto::backup::{
    self, BackupContact, BackupContents, BackupError, KdfParams, MAX_M_KIB, MAX_P, MAX_T,
    RecoveryKey,
};
use parley_shared::crypto::keys::IdentityKeyPair;

/// Small parameters: correctness, not cost, is under test (benchmarks cover cost).
const FAST: KdfParams = KdfParams {
    m_kib: 256,
    t: 1,
    p: 1,
};

fn contents(rng: &mut TestRng) -> (BackupContents, IdentityKeyPair) {
    let me = Device::new(rng, 0);
    let peer = Device::new(rng, 1);
    let c = BackupContents {
        identity: me.identity.to_bytes().to_vec(),
        contacts: vec![BackupContact {
            identity: peer.identity.public(),
            name: "Bob".into(),
            verified: true,
        }],
    };
    (c, me.identity)
}

#[test]
fn password_backup_restores_identity_and_contacts() {
    let rng = &mut TestRng::new("backup");
    let (c, identity) = contents(rng);
    let sealed =
        backup::seal_with_password(rng, "correct horse battery staple", FAST, &c.to_bytes())
            .unwrap();
    let opened = backup::open_with_password(&sealed, "correct horse battery staple").unwrap();
    let restored = BackupContents::from_bytes(&opened).unwrap();
    assert!(restored == c);
    let id = IdentityKeyPair::from_bytes(&restored.identity).unwrap();
    assert_eq!(id.public(), identity.public());
    assert_eq!(restored.contacts[0].name, "Bob");
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
    let sealed = backup::seal_with_password(rng, "pw", FAST, b"x").unwrap();
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
    // Truncated ciphertext: a clear error, not a panic.
    for cut in [1, 16, sealed.len() - 30] {
        assert!(backup::open_with_password(&sealed[..sealed.len() - cut], "pw").is_err());
    }
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
