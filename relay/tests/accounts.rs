//! Device lists on the relay (ADR 0017): only newer lists signed by the
//! account key and agreed to by every device replace the stored one; a
//! device dropped from its account is erased and its socket closed; a
//! stored envelope encrypted for a stale list is refused with the current
//! one (Signal's mismatched-devices rule). Each attack is performed against
//! the real relay process on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::api::{Api, Device, Ws, put_list, signed_list};
use common::backends::relay_tests;
use common::relay::RelayBuilder;
use parley_shared::crypto::account::{AccountKeyPair, DeviceEntry, SignedDeviceList};
use parley_shared::crypto::os_rng;
use parley_shared::protocol::api::{Endpoint as _, GetDeviceList, PutDeviceList};
use parley_shared::protocol::ws::{ClientFrame, ServerFrame, close};
use parley_shared::time::UnixMs;

const T0: UnixMs = UnixMs::from_millis(1_780_000_000_000);

fn list(account: &AccountKeyPair, counter: u64, devices: &[&Device]) -> SignedDeviceList {
    signed_list(account, counter, devices, T0)
}

async fn put(api: &Api, by: &Device, account: &AccountKeyPair, l: &SignedDeviceList) -> u16 {
    put_list(api, by, account, l).await
}

/// The stored list's bytes, or the status when there is none.
async fn get(api: &Api, by: &Device, account: &AccountKeyPair) -> Result<Vec<u8>, u16> {
    let path = GetDeviceList {
        account: account.public().id(),
    }
    .path();
    match api.send_bytes("GET", &path, Some(&by.token), None).await {
        (200, body) => Ok(body),
        (status, _) => Err(status),
    }
}

fn send(id: u8, to: &Device, list: Option<u64>) -> ClientFrame {
    ClientFrame::Send {
        id: [id; 16],
        to: to.identity.device_id(),
        ephemeral: false,
        payload: vec![id; 8],
        list,
    }
}

async fn lists_are_served_and_only_newer_ones_replace_them(
    builder: RelayBuilder,
    _: Option<String>,
) {
    let relay = builder.start().await;
    let api = Api::new(&relay);
    let [laptop, phone, bob] = api.devices::<3>().await;
    let alice = AccountKeyPair::generate(&mut os_rng());
    assert_eq!(get(&api, &bob, &alice).await, Err(404));

    let one = list(&alice, 1, &[&laptop]);
    assert_eq!(put(&api, &laptop, &alice, &one).await, 204);
    assert_eq!(get(&api, &bob, &alice).await, Ok(one.to_bytes()));
    // A resend after a lost answer is accepted and changes nothing.
    assert_eq!(put(&api, &laptop, &alice, &one).await, 204);
    let two = list(&alice, 2, &[&laptop, &phone]);
    assert_eq!(put(&api, &laptop, &alice, &two).await, 204);
    let served = SignedDeviceList::from_bytes(&get(&api, &bob, &alice).await.unwrap()).unwrap();
    assert_eq!(served.verify(&alice.public()).unwrap().counter(), 2);

    // Attack: roll the account back to the list without the phone, or
    // replace it with another list under the same counter.
    assert_eq!(put(&api, &laptop, &alice, &one).await, 409);
    let other_two = list(&alice, 2, &[&laptop]);
    assert_eq!(put(&api, &laptop, &alice, &other_two).await, 409);
    assert_eq!(get(&api, &bob, &alice).await, Ok(two.to_bytes()));
}

async fn forged_and_foreign_lists_change_nothing(builder: RelayBuilder, _: Option<String>) {
    let relay = builder.start().await;
    let api = Api::new(&relay);
    let [laptop, mallory_dev, shared] = api.devices::<3>().await;
    let alice = AccountKeyPair::generate(&mut os_rng());
    let mallory = AccountKeyPair::generate(&mut os_rng());
    let genuine = list(&alice, 1, &[&laptop]);
    assert_eq!(put(&api, &laptop, &alice, &genuine).await, 204);

    // Mallory signs a list naming Alice's account with her own key.
    let entries = vec![
        DeviceEntry::link(&laptop.identity, &alice.public(), T0),
        DeviceEntry::link(&mallory_dev.identity, &alice.public(), T0),
    ];
    let forged = mallory.sign_unchecked(&alice.public(), 9, entries);
    assert_eq!(put(&api, &mallory_dev, &alice, &forged).await, 400);
    // Mallory's own account lists Alice's laptop, which never agreed.
    let unconsented = mallory.sign_unchecked(
        &mallory.public(),
        1,
        vec![
            DeviceEntry::link(&mallory_dev.identity, &mallory.public(), T0),
            DeviceEntry::link(&laptop.identity, &alice.public(), T0),
        ],
    );
    assert_eq!(put(&api, &mallory_dev, &mallory, &unconsented).await, 400);
    // A valid list of Mallory's account sent to Alice's path.
    let mine = list(&mallory, 1, &[&mallory_dev]);
    assert_eq!(put(&api, &mallory_dev, &alice, &mine).await, 400);
    // Alice's genuine list replayed by a device it does not name.
    let newer = list(&alice, 2, &[&laptop]);
    assert_eq!(put(&api, &mallory_dev, &alice, &newer).await, 403);
    // Garbage, and a body over the size limit.
    let path = PutDeviceList {
        account: alice.public().id(),
    }
    .path();
    let token = Some(mallory_dev.token.as_str());
    assert_eq!(
        api.send_bytes("PUT", &path, token, Some(vec![1, 2, 3]))
            .await
            .0,
        400
    );
    assert_eq!(
        api.send_bytes("PUT", &path, token, Some(vec![1; 9000]))
            .await
            .0,
        413
    );
    assert_eq!(
        get(&api, &mallory_dev, &alice).await,
        Ok(genuine.to_bytes())
    );

    // A device that agreed to two accounts belongs to the first that lists it.
    assert_eq!(
        put(&api, &laptop, &alice, &list(&alice, 3, &[&laptop, &shared])).await,
        204
    );
    let steal = list(&mallory, 2, &[&mallory_dev, &shared]);
    assert_eq!(put(&api, &mallory_dev, &mallory, &steal).await, 409);
    // (Every list of Mallory's account was refused: none is stored.)
    assert_eq!(get(&api, &mallory_dev, &mallory).await, Err(404));
    // And a list naming a device the relay does not know is refused.
    let ghost = Device {
        identity: parley_shared::crypto::keys::IdentityKeyPair::generate(&mut os_rng()),
        token: String::new(),
    };
    assert_eq!(
        put(&api, &laptop, &alice, &list(&alice, 4, &[&laptop, &ghost])).await,
        404
    );
}

async fn a_removed_device_is_erased_and_its_socket_closed(
    builder: RelayBuilder,
    pg: Option<String>,
) {
    let relay = builder.start().await;
    let store = relay.store(&pg);
    let api = Api::new(&relay);
    let [laptop, phone, bob] = api.devices::<3>().await;
    let alice = AccountKeyPair::generate(&mut os_rng());
    assert_eq!(
        put(&api, &laptop, &alice, &list(&alice, 1, &[&laptop, &phone])).await,
        204
    );

    // Bob writes to the phone while it is offline, then it connects.
    let (mut b, _) = Ws::connect(&relay.base, &bob.token).await;
    b.send(&send(1, &phone, Some(1))).await;
    assert_eq!(b.recv().await, ServerFrame::Accepted { id: [1; 16] });
    let phone_id = phone.identity.device_id();
    assert_eq!(store.queued_count(phone_id.as_bytes()).unwrap(), 1);
    let (mut p, queued) = Ws::connect(&relay.base, &phone.token).await;
    assert_eq!(queued, 1);
    assert!(matches!(p.recv().await, ServerFrame::Deliver { .. }));

    assert_eq!(
        put(&api, &laptop, &alice, &list(&alice, 2, &[&laptop])).await,
        204
    );
    let (_, code) = p.frames_until_close().await;
    assert_eq!(code, Some(close::REMOVED));
    // Nothing of the phone is left: no token, no keys, no queue.
    let (st, _) = api
        .send("GET", "/api/v1/prekeys/status", Some(&phone.token), None)
        .await;
    assert_eq!(st, 401);
    assert_eq!(api.bundle(&bob.token, &phone.identity).await.0, 404);
    assert_eq!(store.queued_count(phone_id.as_bytes()).unwrap(), 0);
    assert!(store.device(phone_id.as_bytes()).unwrap().is_none());
    // Bob, still encrypting for it, is told it is gone.
    b.send(&send(2, &phone, Some(2))).await;
    assert!(
        matches!(b.recv().await, ServerFrame::Error { id: Some(id), .. } if id == [2; 16]),
        "no envelope is stored for a removed device"
    );
    assert_eq!(store.queued_count(phone_id.as_bytes()).unwrap(), 0);
}

async fn stale_sends_are_refused_with_the_current_list(builder: RelayBuilder, pg: Option<String>) {
    let relay = builder.start().await;
    let store = relay.store(&pg);
    let api = Api::new(&relay);
    let [laptop, phone, bob, carol] = api.devices::<4>().await;
    let laptop_id = laptop.identity.device_id();
    let alice = AccountKeyPair::generate(&mut os_rng());
    let (mut b, _) = Ws::connect(&relay.base, &bob.token).await;

    // Before Alice has an account, sends name no list.
    b.send(&send(1, &laptop, None)).await;
    assert_eq!(b.recv().await, ServerFrame::Accepted { id: [1; 16] });
    let one = list(&alice, 1, &[&laptop]);
    assert_eq!(put(&api, &laptop, &alice, &one).await, 204);

    // Once she has, a send that does not know it is refused with her list.
    let stale = |want: &SignedDeviceList, got: ServerFrame, id: u8| match got {
        ServerFrame::Stale {
            id: got_id,
            list: Some(l),
        } => {
            assert_eq!(got_id, [id; 16]);
            assert_eq!(&l, want);
        }
        other => panic!("expected Stale with a list, got {other:?}"),
    };
    b.send(&send(2, &laptop, None)).await;
    stale(&one, b.recv().await, 2);
    b.send(&send(3, &laptop, Some(1))).await;
    assert_eq!(b.recv().await, ServerFrame::Accepted { id: [3; 16] });

    // She adds her phone: Bob's counter is stale until he adopts list 2.
    let two = list(&alice, 2, &[&laptop, &phone]);
    assert_eq!(put(&api, &laptop, &alice, &two).await, 204);
    b.send(&send(4, &laptop, Some(1))).await;
    stale(&two, b.recv().await, 4);
    // A counter above the relay's (a relay that rolled the list back, as
    // the sender sees it) is answered with the relay's list, which the
    // sender's engine refuses as a rollback.
    b.send(&send(5, &laptop, Some(7))).await;
    stale(&two, b.recv().await, 5);
    b.send(&send(6, &laptop, Some(2))).await;
    assert_eq!(b.recv().await, ServerFrame::Accepted { id: [6; 16] });
    b.send(&send(7, &phone, Some(2))).await;
    assert_eq!(b.recv().await, ServerFrame::Accepted { id: [7; 16] });
    // Only 1, 3 and 6 were stored for the laptop.
    assert_eq!(store.queued_count(laptop_id.as_bytes()).unwrap(), 3);

    // Naming a list for a device in no account is refused too.
    b.send(&send(8, &carol, Some(1))).await;
    assert_eq!(
        b.recv().await,
        ServerFrame::Stale {
            id: [8; 16],
            list: None
        }
    );
    // Ephemeral envelopes (typing, call signals) are not checked.
    b.send(&ClientFrame::Send {
        id: [9; 16],
        to: laptop_id,
        ephemeral: true,
        payload: vec![9],
        list: None,
    })
    .await;
    assert_eq!(b.recv().await, ServerFrame::Accepted { id: [9; 16] });
}

async fn erasing_the_last_device_forgets_the_account(builder: RelayBuilder, pg: Option<String>) {
    let relay = builder.start().await;
    let store = relay.store(&pg);
    let api = Api::new(&relay);
    let [laptop, phone, bob] = api.devices::<3>().await;
    let alice = AccountKeyPair::generate(&mut os_rng());
    let two = list(&alice, 1, &[&laptop, &phone]);
    assert_eq!(put(&api, &laptop, &alice, &two).await, 204);
    let erase = |d: &Device| {
        let token = d.token.clone();
        let api = &api;
        async move {
            api.send("DELETE", "/api/v1/devices/me", Some(&token), None)
                .await
                .0
        }
    };
    assert_eq!(erase(&phone).await, 204);
    assert_eq!(get(&api, &bob, &alice).await, Ok(two.to_bytes()));
    assert_eq!(erase(&laptop).await, 204);
    assert_eq!(get(&api, &bob, &alice).await, Err(404));
    assert!(
        store
            .device_list(alice.public().id().as_bytes())
            .unwrap()
            .is_none()
    );
}

/// A list written to the database by another process (here the test's own
/// `Store`, as a second relay without Redis or an operator would): the
/// relay's remembered counter is outdated (ADR 0030). A send naming the new
/// counter is refused once with the current list, and its resend goes
/// through: the relay forgot what it remembered instead of refusing for good.
async fn a_list_written_elsewhere_is_refused_once_then_read_again(
    builder: RelayBuilder,
    pg: Option<String>,
) {
    let relay = builder.start().await;
    let store = relay.store(&pg);
    let api = Api::new(&relay);
    let [laptop, phone, bob] = api.devices::<3>().await;
    let alice = AccountKeyPair::generate(&mut os_rng());
    assert_eq!(
        put(&api, &laptop, &alice, &list(&alice, 1, &[&laptop])).await,
        204
    );
    let (mut b, _) = Ws::connect(&relay.base, &bob.token).await;
    b.send(&send(1, &laptop, Some(1))).await;
    assert_eq!(b.recv().await, ServerFrame::Accepted { id: [1; 16] });

    let two = list(&alice, 2, &[&laptop, &phone]);
    let bytes = two.to_bytes();
    let stored = store
        .put_device_list(&parley_relay::db::NewList {
            account: *alice.public().id().as_bytes(),
            counter: 2,
            bytes: &bytes,
            devices: vec![
                laptop.identity.device_id().to_bytes(),
                phone.identity.device_id().to_bytes(),
            ],
            now: i64::try_from(T0.as_millis()).unwrap(),
        })
        .unwrap();
    assert!(matches!(stored, parley_relay::db::ListPut::Stored { .. }));

    b.send(&send(2, &laptop, Some(2))).await;
    assert!(
        matches!(b.recv().await, ServerFrame::Stale { id, list: Some(l) } if id == [2; 16] && l == two),
        "the outdated memory answers once, with the database's list"
    );
    b.send(&send(3, &laptop, Some(2))).await;
    assert_eq!(
        b.recv().await,
        ServerFrame::Accepted { id: [3; 16] },
        "then the database decides"
    );
    b.send(&send(4, &laptop, Some(1))).await;
    assert!(
        matches!(b.recv().await, ServerFrame::Stale { .. }),
        "and the old counter is stale"
    );
}

relay_tests! {
    a_list_written_elsewhere_is_refused_once_then_read_again,
    lists_are_served_and_only_newer_ones_replace_them,
    forged_and_foreign_lists_change_nothing,
    a_removed_device_is_erased_and_its_socket_closed,
    stale_sends_are_refused_with_the_current_list,
    erasing_the_last_device_forgets_the_account,
}
