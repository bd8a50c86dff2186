//! The checks of a link that the flows cannot be made to fail honestly:
//! a consent that names another device than the one paired, a consent for
//! another account, the wrong kind of profile, and an archive for another
//! account than the one pinned.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::{LinkError, LinkProfile};
use crate::crypto::account::AccountError;
use crate::crypto::os_rng;
use crate::crypto::pairing::{Paired, PairingError};
use crate::engine::Engine;
use crate::time::UnixMs;

const NOW: UnixMs = UnixMs::from_millis(1_000_000);

/// A registered profile with its one-device account.
fn with_account(name: &str) -> Engine {
    let mut e = Engine::create(&mut os_rng(), name, NOW);
    e.account.registered = true;
    e.ensure_account(&mut os_rng(), NOW);
    assert!(e.account_public().is_some());
    e
}

fn new_device() -> Engine {
    let mut e = Engine::create_for_link(&mut os_rng(), "new", NOW);
    e.account.registered = true;
    e
}

#[test]
fn a_consent_must_be_the_paired_devices_and_for_our_account() {
    let mut old = with_account("Alice");
    let account = old.account_public().unwrap();
    let (new, other) = (new_device(), new_device());
    let before = old.own_devices();

    // The relay (or a device in the middle) answers with another device's
    // consent: the device the pairing authenticated did not consent.
    let swapped = Paired {
        peer: new.identity().public(),
        profile: LinkProfile::Consent(other.consent(&account, NOW)).to_bytes(),
    };
    assert_eq!(
        old.accept_consent(&swapped),
        Err(LinkError::Consent(AccountError::DeviceNotLinked(
            other.device_id()
        )))
    );
    // A consent to join some other account.
    let elsewhere = with_account("Mallory").account_public().unwrap();
    let foreign = Paired {
        peer: new.identity().public(),
        profile: LinkProfile::Consent(new.consent(&elsewhere, NOW)).to_bytes(),
    };
    assert!(matches!(
        old.accept_consent(&foreign),
        Err(LinkError::Consent(_))
    ));
    // A contact's profile, or an offer, is not a consent.
    for profile in [
        crate::engine::content::Profile { name: "new".into() }.to_bytes(),
        LinkProfile::Offer { account }.to_bytes(),
    ] {
        let wrong = Paired {
            peer: new.identity().public(),
            profile,
        };
        assert_eq!(
            old.accept_consent(&wrong),
            Err(LinkError::Pairing(PairingError::WrongPurpose))
        );
    }
    assert_eq!(old.own_devices(), before, "nothing was added");

    // The real consent is taken.
    let real = Paired {
        peer: new.identity().public(),
        profile: LinkProfile::Consent(new.consent(&account, NOW)).to_bytes(),
    };
    assert_eq!(old.accept_consent(&real), Ok(new.device_id()));
    assert!(old.own_devices().contains(&new.device_id()));
}

#[test]
fn only_a_new_device_answers_an_offer_and_only_with_its_consent() {
    let old = with_account("Alice");
    let account = old.account_public().unwrap();
    let offer = Paired {
        peer: old.identity().public(),
        profile: LinkProfile::Offer { account }.to_bytes(),
    };
    let new = new_device();
    let answer = LinkProfile::from_bytes(&new.link_consent(&offer, NOW).unwrap());
    match answer {
        Some(LinkProfile::Consent(entry)) => {
            assert_eq!(entry.identity(), &new.identity().public());
            entry.check_link(&account).unwrap();
        }
        other => panic!("a consent: {other:?}"),
    }
    // A device with an account of its own is not linked into another.
    let settled = with_account("Bob");
    assert_eq!(
        settled.link_consent(&offer, NOW),
        Err(PairingError::WrongPurpose)
    );
    // A contact's hello is not an offer.
    let contact = Paired {
        peer: old.identity().public(),
        profile: crate::engine::content::Profile { name: "Eve".into() }.to_bytes(),
    };
    assert_eq!(
        new.link_consent(&contact, NOW),
        Err(PairingError::WrongPurpose)
    );
}

#[test]
fn an_archive_for_another_account_is_refused_and_changes_nothing() {
    let old = with_account("Alice");
    let account = old.account_public().unwrap();
    let mut new = new_device();
    let offer = Paired {
        peer: old.identity().public(),
        profile: LinkProfile::Offer { account }.to_bytes(),
    };
    new.pin_linker(&offer).unwrap();
    assert!(new.link_pinned());

    // The linking device (or whoever controls it) hands over Mallory's
    // account: refused before anything is taken in.
    let mallory = with_account("Mallory");
    let foreign = mallory.backup_contents().unwrap();
    assert_eq!(new.take_handover(foreign), Err(LinkError::WrongAccount));
    assert!(new.account_public().is_none() && new.can_be_linked());
    assert!(!new.restore_busy());

    // Alice's own archive starts the restore.
    new.take_handover(old.backup_contents().unwrap()).unwrap();
    assert!(new.restore_busy());
}
