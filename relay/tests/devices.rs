//! Several devices per person, through the shared engine against the real
//! relay (SQLite and PostgreSQL): every profile publishes a one-device
//! account when it connects; a contact learns it from the relay's `Stale`
//! answer; a linked device is encrypted for after the next `Stale` (the
//! message goes to every device, the safety number stays); a removed device
//! gets nothing more.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::backends::relay_tests;
use common::device::{Client, alice_and_bob, settle};
use common::relay::RelayBuilder;
use parley_shared::crypto::os_rng;
use parley_shared::crypto::pairing::Paired;
use parley_shared::crypto::safety::SafetyNumber;
use parley_shared::engine::content::Profile;
use parley_shared::engine::model::{Body, Notice, Status};
use parley_shared::protocol::ws::{DeviceId, close};
use parley_shared::testing::Transport as _;

fn notices(c: &Client, peer: &DeviceId) -> Vec<Notice> {
    c.engine
        .messages(peer)
        .iter()
        .filter_map(|m| match &m.body {
            Body::Notice(n) => Some(n.clone()),
            _ => None,
        })
        .collect()
}

async fn fan_out_follows_the_account_list(builder: RelayBuilder, pg: Option<String>) {
    let relay = builder.start().await;
    let store = relay.store(&pg);
    let (ahead, mut laptop, mut bob) = alice_and_bob(&relay.base).await;
    let (a_id, b_id) = (laptop.engine.device_id(), bob.engine.device_id());
    settle(&mut [&mut laptop, &mut bob]).await;

    // Both published a one-device account on connecting; the first sends
    // named no list, so each learned the other's account from `Stale`,
    // bound by the paired device's consent.
    assert!(laptop.engine.own_list_published() && bob.engine.own_list_published());
    let alice_account = laptop.engine.account_public().unwrap();
    let bob_account = bob.engine.account_public().unwrap();
    let by_accounts = SafetyNumber::for_accounts(&bob_account, &alice_account);
    assert_eq!(bob.engine.safety_number(&a_id), Some(by_accounts.clone()));
    assert_eq!(bob.engine.device_count(&a_id), 1);

    // Alice links a phone into her account.
    let mut phone = Client::new_for_link(&relay.base, "Alice", ahead.clone()).await;
    phone.connect().await;
    assert_eq!(phone.engine.account_public(), None, "waits to be linked");
    let entry = phone.engine.consent(&alice_account, phone.io.now());
    let list = laptop.engine.add_device(entry).unwrap();
    laptop.drain().await;
    assert!(laptop.engine.own_list_published());
    let key = laptop.engine.account_key_bytes().unwrap();
    phone.engine.join_account(&key, list).unwrap();
    phone.drain().await;
    let phone_id = phone.engine.device_id();
    assert_eq!(phone.engine.own_devices(), vec![a_id, phone_id]);
    // (The history archive will carry contacts; here the phone is told of Bob.)
    let bob_card = Paired {
        peer: bob.engine.identity().public(),
        profile: Profile { name: "Bob".into() }.to_bytes(),
    };
    let now = phone.io.now();
    phone.engine.add_contact(bob_card, false, now);
    phone.drain().await;

    // Bob still encrypts for list 1: the relay refuses, he adopts list 2
    // and the message goes to both of Alice's devices.
    let now = bob.io.now();
    bob.engine
        .send_text(&mut os_rng(), &a_id, "to both of you", now)
        .unwrap();
    bob.drain().await;
    settle(&mut [&mut bob, &mut laptop, &mut phone]).await;
    assert_eq!(bob.engine.device_count(&a_id), 2);
    assert!(
        notices(&bob, &a_id).contains(&Notice::DevicesChanged {
            added: 1,
            removed: 0
        }),
        "{:?}",
        notices(&bob, &a_id)
    );
    assert_eq!(bob.engine.safety_number(&a_id), Some(by_accounts.clone()));
    assert!(laptop.texts(&b_id).contains(&"to both of you".to_owned()));
    assert!(phone.texts(&b_id).contains(&"to both of you".to_owned()));
    assert_eq!(bob.engine.outbox_len(), 0);

    // The phone writes to Bob: it lands in Alice's conversation at Bob's,
    // and shows as sent on the laptop.
    let now = phone.io.now();
    phone
        .engine
        .send_text(&mut os_rng(), &b_id, "from the phone", now)
        .unwrap();
    phone.drain().await;
    settle(&mut [&mut phone, &mut bob, &mut laptop]).await;
    assert!(bob.texts(&a_id).contains(&"from the phone".to_owned()));
    let on_laptop = laptop
        .engine
        .messages(&b_id)
        .iter()
        .find(|m| m.body == Body::Text("from the phone".into()))
        .cloned()
        .expect("the laptop shows what the phone sent");
    assert!(on_laptop.outgoing);
    assert!(on_laptop.status >= Status::Sent);

    // Read on one device clears unread on the other.
    let now = bob.io.now();
    bob.engine
        .send_text(&mut os_rng(), &a_id, "read me anywhere", now)
        .unwrap();
    bob.drain().await;
    settle(&mut [&mut bob, &mut laptop, &mut phone]).await;
    // (Both also hold "to both of you" unread.)
    assert_eq!(laptop.engine.contact(&b_id).unwrap().unread, 2);
    assert_eq!(phone.engine.contact(&b_id).unwrap().unread, 2);
    phone.engine.mark_read(&mut os_rng(), &b_id).unwrap();
    phone.drain().await;
    settle(&mut [&mut phone, &mut laptop, &mut bob]).await;
    assert_eq!(laptop.engine.contact(&b_id).unwrap().unread, 0);

    // Alice removes the phone: the relay erases it and closes its socket.
    laptop.engine.remove_device(phone_id).unwrap();
    laptop.drain().await;
    assert!(laptop.engine.own_list_published());
    let ws = phone.io.ws.as_mut().unwrap();
    assert_eq!(ws.closed().await, Some(close::REMOVED));
    assert!(store.device(phone_id.as_bytes()).unwrap().is_none());

    // Bob's next message: refused once (list 3), then only for the laptop.
    let now = bob.io.now();
    bob.engine
        .send_text(&mut os_rng(), &a_id, "only the laptop", now)
        .unwrap();
    bob.drain().await;
    settle(&mut [&mut bob, &mut laptop]).await;
    assert_eq!(bob.engine.device_count(&a_id), 1);
    assert!(notices(&bob, &a_id).contains(&Notice::DevicesChanged {
        added: 0,
        removed: 1
    }));
    assert!(laptop.texts(&b_id).contains(&"only the laptop".to_owned()));
    assert_eq!(bob.engine.outbox_len(), 0);
    assert_eq!(
        store.envelope_rows_for(phone_id.as_bytes()).unwrap(),
        0,
        "nothing is stored for the removed phone"
    );
    assert_eq!(bob.engine.safety_number(&a_id), Some(by_accounts));
}

/// Two of Alice's devices change her list without seeing each other's
/// change: the second is refused (409), rebuilds its change on the relay's
/// newer list and publishes it; nothing either device did is lost.
async fn a_change_made_on_an_out_of_date_device_is_rebased(
    builder: RelayBuilder,
    pg: Option<String>,
) {
    let relay = builder.start().await;
    let store = relay.store(&pg);
    let (ahead, mut laptop, _bob) = alice_and_bob(&relay.base).await;
    laptop.pump(300).await;
    let account = laptop.engine.account_public().unwrap();
    let key = laptop.engine.account_key_bytes().unwrap();
    let mut linked = Vec::new();
    for name in ["phone", "tablet", "desktop"] {
        let mut d = Client::new_for_link(&relay.base, name, ahead.clone()).await;
        d.connect().await;
        linked.push(d);
    }
    let now = laptop.io.now();
    let phone_entry = linked[0].engine.consent(&account, now);
    let list = laptop.engine.add_device(phone_entry).unwrap();
    laptop.drain().await;
    linked[0].engine.join_account(&key, list).unwrap();
    linked[0].drain().await;
    // The phone adds the tablet; the laptop has not heard of it and adds
    // the desktop on top of its own, older list.
    let tablet_entry = linked[1].engine.consent(&account, now);
    linked[0].engine.add_device(tablet_entry).unwrap();
    linked[0].drain().await;
    let desktop_entry = linked[2].engine.consent(&account, now);
    laptop.engine.add_device(desktop_entry).unwrap();
    laptop.drain().await;
    assert!(laptop.engine.own_list_published());
    let ids: Vec<_> = linked.iter().map(|d| d.engine.device_id()).collect();
    let stored = store.device_list(account.id().as_bytes()).unwrap().unwrap();
    let served = parley_shared::crypto::account::SignedDeviceList::from_bytes(&stored.list)
        .unwrap()
        .verify(&account)
        .unwrap();
    assert_eq!(
        served.counter(),
        4,
        "list 3 (the tablet) and then the rebase"
    );
    let mut want = vec![laptop.engine.device_id(), ids[0], ids[1], ids[2]];
    let mut got: Vec<_> = served.devices().iter().map(|d| d.device_id()).collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    let mut own = laptop.engine.own_devices();
    own.sort();
    assert_eq!(own, want);
}

relay_tests! {
    fan_out_follows_the_account_list,
    a_change_made_on_an_out_of_date_device_is_rebased,
}
