//! A contact's device lists as the engine receives them in the relay's
//! `Stale` answers (ADR 0017): a stale send is retried under the new
//! counter; a list not signed by the contact's account key, one that does
//! not name the device paired with, a rolled-back list and a second list
//! under one counter are refused, shown, and nothing is sent to their
//! devices. The relay is played by the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use parley_shared::crypto::account::{AccountKeyPair, DeviceEntry, DeviceList, SignedDeviceList};
use parley_shared::crypto::keys::IdentityKeyPair;
use parley_shared::crypto::os_rng;
use parley_shared::engine::model::{Body, ListProblem, Notice};
use parley_shared::protocol::ws::{ClientFrame, DeviceId, EnvelopeId, ServerFrame};
use parley_shared::testing::fake::{Side, paired};
use parley_shared::time::UnixMs;

const NOW: UnixMs = UnixMs::from_millis(2_000);

fn list(account: &AccountKeyPair, counter: u64, devices: &[&IdentityKeyPair]) -> SignedDeviceList {
    let entries = devices
        .iter()
        .map(|d| DeviceEntry::link(d, &account.public(), NOW))
        .collect();
    account
        .sign(&DeviceList::new(account.public(), counter, entries).unwrap())
        .unwrap()
}

/// Bob sends a text; returns the envelope's id and the list it named.
fn send(bob: &mut Side, to: &DeviceId, text: &str) -> (EnvelopeId, Option<u64>) {
    bob.engine.send_text(&mut os_rng(), to, text, NOW).unwrap();
    bob.drain(None);
    last_send(bob)
}

fn last_send(bob: &mut Side) -> (EnvelopeId, Option<u64>) {
    let sends: Vec<_> = bob
        .sent
        .drain(..)
        .filter_map(|f| match f {
            ClientFrame::Send {
                id,
                list,
                ephemeral: false,
                ..
            } => Some((id, list)),
            _ => None,
        })
        .collect();
    *sends.last().expect("an envelope was sent")
}

fn stale(bob: &mut Side, id: EnvelopeId, list: Option<SignedDeviceList>) {
    bob.engine
        .handle_frame(&mut os_rng(), ServerFrame::Stale { id, list }, NOW);
    bob.drain(None);
}

fn refused(bob: &Side, peer: &DeviceId) -> Vec<ListProblem> {
    bob.engine
        .messages(peer)
        .iter()
        .filter_map(|m| match &m.body {
            Body::Notice(Notice::DeviceListRefused(p)) => Some(*p),
            _ => None,
        })
        .collect()
}

#[test]
fn a_stale_send_is_retried_under_the_adopted_list() {
    let (a, mut b) = paired();
    let a_id = a.engine.device_id();
    let account = AccountKeyPair::generate(&mut os_rng());
    let (id, named) = send(&mut b, &a_id, "hello");
    assert_eq!(named, None, "no account known for Alice yet");
    stale(&mut b, id, Some(list(&account, 1, &[a.engine.identity()])));
    // The same envelope again, now naming list 1; the account is pinned.
    assert_eq!(last_send(&mut b), (id, Some(1)));
    assert_eq!(b.engine.outbox_len(), 1);
    assert_eq!(b.engine.device_count(&a_id), 1);
    // Later sends name it at once.
    assert_eq!(send(&mut b, &a_id, "again").1, Some(1));
}

#[test]
fn a_list_the_account_did_not_sign_is_refused() {
    let (a, mut b) = paired();
    let a_id = a.engine.device_id();
    let alice = AccountKeyPair::generate(&mut os_rng());
    let mallory = AccountKeyPair::generate(&mut os_rng());
    let (id, _) = send(&mut b, &a_id, "hello");
    stale(&mut b, id, Some(list(&alice, 1, &[a.engine.identity()])));
    let (id, _) = send(&mut b, &a_id, "second");

    // Mallory's key signs a list naming Alice's account and a device of hers.
    let spy = IdentityKeyPair::generate(&mut os_rng());
    let entries = vec![
        DeviceEntry::link(a.engine.identity(), &alice.public(), NOW),
        DeviceEntry::link(&spy, &alice.public(), NOW),
    ];
    let forged = mallory.sign_unchecked(&alice.public(), 2, entries);
    b.sent.clear();
    stale(&mut b, id, Some(forged));
    assert_eq!(refused(&b, &a_id), vec![ListProblem::Forged]);
    assert_eq!(b.engine.device_count(&a_id), 1, "the spy was not adopted");
    assert!(
        b.sent
            .iter()
            .all(|f| !matches!(f, ClientFrame::Send { to, .. } if *to == spy.device_id())),
        "nothing goes to the spy"
    );
}

#[test]
fn a_first_list_must_name_the_device_paired_with() {
    let (a, mut b) = paired();
    let a_id = a.engine.device_id();
    // A genuine account, but the relay serves a list of someone else's
    // devices under it for Alice's device: the paired device never agreed.
    let other = AccountKeyPair::generate(&mut os_rng());
    let stranger = IdentityKeyPair::generate(&mut os_rng());
    let (id, _) = send(&mut b, &a_id, "hello");
    stale(&mut b, id, Some(list(&other, 1, &[&stranger])));
    assert_eq!(refused(&b, &a_id), vec![ListProblem::Forged]);
    assert_eq!(b.engine.outbox_len(), 0, "the message is not sent to them");
    assert_eq!(b.engine.device_count(&a_id), 1, "no account was pinned");
    // And no list at all for a device we know an account for is a withheld list.
    let alice = AccountKeyPair::generate(&mut os_rng());
    let (id, _) = send(&mut b, &a_id, "third");
    stale(&mut b, id, Some(list(&alice, 1, &[a.engine.identity()])));
    let (id, named) = send(&mut b, &a_id, "fourth");
    assert_eq!(named, Some(1));
    stale(&mut b, id, None);
    assert_eq!(
        refused(&b, &a_id),
        vec![ListProblem::Forged, ListProblem::Rollback]
    );
}

#[test]
fn a_relay_rolling_a_list_back_or_equivocating_is_detected() {
    let (a, mut b) = paired();
    let a_id = a.engine.device_id();
    let alice = AccountKeyPair::generate(&mut os_rng());
    let phone = IdentityKeyPair::generate(&mut os_rng());
    let laptop = a.engine.identity();
    let one = list(&alice, 1, &[laptop]);
    let two = list(&alice, 2, &[laptop, &phone]);
    let (id, _) = send(&mut b, &a_id, "hello");
    stale(&mut b, id, Some(one.clone()));
    let (id, _) = send(&mut b, &a_id, "two devices now");
    stale(&mut b, id, Some(two));
    assert_eq!(b.engine.device_count(&a_id), 2);

    // The relay serves list 1 again to drop the phone from Bob's view.
    let (id, named) = send(&mut b, &a_id, "rolled back?");
    assert_eq!(named, Some(2));
    stale(&mut b, id, Some(one));
    assert_eq!(refused(&b, &a_id), vec![ListProblem::Rollback]);
    assert_eq!(b.engine.device_count(&a_id), 2, "list 2 stays adopted");

    // Another list under counter 2 (the phone swapped for a spy).
    let spy = IdentityKeyPair::generate(&mut os_rng());
    let (id, _) = send(&mut b, &a_id, "equivocation?");
    stale(&mut b, id, Some(list(&alice, 2, &[laptop, &spy])));
    assert_eq!(
        refused(&b, &a_id),
        vec![ListProblem::Rollback, ListProblem::Equivocation]
    );
    assert_eq!(b.engine.device_count(&a_id), 2);
}
