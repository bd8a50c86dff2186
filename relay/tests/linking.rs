//! Linking a new browser into one's account (ADR 0022) through the shared
//! engine's flows against the real relay (SQLite and PostgreSQL): the new
//! device shows a code, the existing one scans it (link) or types it
//! (PIN); the pairing carries the consent, the list is published, the
//! history archive goes through the attachment store and is deleted once
//! fetched; then both devices get Bob's messages and stay in step. A
//! contact invite and a link code are never confused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::backends::relay_tests;
use common::device::{Client, alice_and_bob, settle, until_joined};
use common::link::{link, show_code};
use common::relay::RelayBuilder;
use parley_relay::db::Membership;
use parley_shared::crypto::os_rng;
use parley_shared::crypto::safety::SafetyNumber;
use parley_shared::engine::call::{CallKind, CallSignal, HangupReason};
use parley_shared::engine::link::LinkError;
use parley_shared::engine::model::{Body, Notice, Status};
use parley_shared::engine::pairing::{InviteEvent, InviteFlow, JoinError, JoinFlow};
use parley_shared::engine::transfer::{NewUpload, UploadFlow};
use parley_shared::protocol::ws::{DeviceId, close};
use parley_shared::testing::Transport as _;
use parley_shared::time::Millis;

async fn say(from: &mut Client, to: &DeviceId, text: &str) {
    let now = from.io.now();
    from.engine.send_text(&mut os_rng(), to, text, now).unwrap();
    from.drain().await;
}

/// The new device's code: its link, and its PIN if asked for.
fn unread(c: &Client, peer: &DeviceId) -> u32 {
    c.engine
        .contacts()
        .iter()
        .find(|x| x.identity.device_id() == *peer)
        .map_or(0, |x| x.unread)
}

async fn a_new_browser_is_linked_by_code_and_by_pin(builder: RelayBuilder, _pg: Option<String>) {
    let relay = builder.start().await;
    let (ahead, mut laptop, mut bob) = alice_and_bob(&relay.base).await;
    let (a_id, b_id) = (laptop.engine.device_id(), bob.engine.device_id());
    say(&mut laptop, &b_id, "before linking").await;
    settle(&mut [&mut laptop, &mut bob]).await;
    say(&mut bob, &a_id, "noted").await;
    settle(&mut [&mut bob, &mut laptop]).await;
    let safety = bob.engine.safety_number(&a_id).unwrap();
    assert_eq!(
        safety,
        SafetyNumber::for_accounts(
            &bob.engine.account_public().unwrap(),
            &laptop.engine.account_public().unwrap()
        )
    );

    // The phone, by the code it shows (what its QR code holds).
    let mut phone = Client::new_for_link(&relay.base, "phone", ahead.clone()).await;
    phone.connect().await;
    link(&mut laptop, &mut phone, false).await;
    let phone_id = phone.engine.device_id();
    assert_eq!(phone.texts(&a_id), Vec::<String>::new());
    assert_eq!(phone.texts(&b_id), ["before linking", "noted"]);
    assert_eq!(phone.engine.name(), "Alice");
    settle(&mut [&mut phone, &mut laptop]).await;

    // Bob's next message reaches both; his safety number for Alice stays
    // and he is told she added a device.
    say(&mut bob, &a_id, "to both of you").await;
    settle(&mut [&mut bob, &mut laptop, &mut phone]).await;
    assert_eq!(laptop.texts(&b_id).last().unwrap(), "to both of you");
    assert_eq!(phone.texts(&b_id).last().unwrap(), "to both of you");
    assert_eq!(bob.engine.safety_number(&a_id), Some(safety.clone()));
    assert_eq!(bob.engine.device_count(&a_id), 2);
    let told = bob.engine.messages(&a_id).iter().any(
        |m| matches!(&m.body, Body::Notice(Notice::DevicesChanged { added, .. }) if *added == 1),
    );
    assert!(told, "{:?}", bob.engine.messages(&a_id));

    // Sent from the phone: Bob has it, the laptop shows it as sent.
    say(&mut phone, &b_id, "written on the phone").await;
    settle(&mut [&mut phone, &mut bob, &mut laptop]).await;
    assert_eq!(bob.texts(&a_id).last().unwrap(), "written on the phone");
    let on_laptop = laptop.engine.messages(&b_id).last().cloned().unwrap();
    assert!(on_laptop.outgoing && on_laptop.status >= Status::Sent);
    assert_eq!(
        on_laptop.body,
        Body::Text("written on the phone".to_owned())
    );

    // Read on the laptop clears unread on the phone.
    assert!(unread(&phone, &b_id) > 0);
    laptop.engine.mark_read(&mut os_rng(), &b_id).unwrap();
    laptop.drain().await;
    settle(&mut [&mut laptop, &mut phone]).await;
    assert_eq!(unread(&phone, &b_id), 0);

    // A tablet, by PIN, linked from the phone: the history it gets holds
    // what the phone saw since.
    let mut tablet = Client::new_for_link(&relay.base, "tablet", ahead.clone()).await;
    tablet.connect().await;
    link(&mut phone, &mut tablet, true).await;
    assert_eq!(
        tablet.texts(&b_id),
        [
            "before linking",
            "noted",
            "to both of you",
            "written on the phone"
        ]
    );
    let mut all = vec![a_id, phone_id, tablet.engine.device_id()];
    all.sort();
    let mut listed = tablet.engine.own_devices();
    listed.sort();
    assert_eq!(listed, all);
    settle(&mut [&mut tablet, &mut phone, &mut laptop]).await;
    say(&mut bob, &a_id, "three now").await;
    settle(&mut [&mut bob, &mut laptop, &mut phone, &mut tablet]).await;
    for d in [&laptop, &phone, &tablet] {
        assert_eq!(d.texts(&b_id).last().unwrap(), "three now");
    }
    assert_eq!(bob.engine.safety_number(&a_id), Some(safety));
}

async fn a_link_code_and_a_contact_invite_are_never_confused(
    builder: RelayBuilder,
    _pg: Option<String>,
) {
    let relay = builder.start().await;
    let (ahead, mut laptop, mut bob) = alice_and_bob(&relay.base).await;
    let contacts = bob.engine.contacts().len();

    // Bob scans Alice's new phone's code as if it were a contact invite:
    // the phone refuses his reply, and neither side gains anybody.
    let mut phone = Client::new_for_link(&relay.base, "phone", ahead.clone()).await;
    phone.connect().await;
    let (mut invite, mut events, code) = show_code(&mut phone, false).await;
    let now = bob.io.now();
    let mut join = JoinFlow::link(&mut os_rng(), &bob.engine, &code, &bob.io.base, now).unwrap();
    let (joined, _) = until_joined(&mut phone, &mut invite, &mut events, &mut bob, &mut join).await;
    assert_eq!(joined, Err(JoinError::LinkRejected));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, InviteEvent::FailedAttempt { .. }))
    );
    assert_eq!(bob.engine.contacts().len(), contacts);
    assert!(!phone.engine.link_pinned() && phone.engine.contacts().is_empty());
    assert!(!bob.engine.own_devices().contains(&phone.engine.device_id()));

    // Alice's laptop "links" Carol's contact invite: Carol refuses, the
    // laptop's list is unchanged and Carol is no contact of anybody.
    let mut carol = Client::new(&relay.base, "Carol", ahead.clone()).await;
    carol.connect().await;
    let mut invite = InviteFlow::new(&carol.io.base);
    let mut events = Vec::new();
    let _ = carol.invite(&mut invite, &mut events).await;
    let Some(InviteEvent::Shown { link, .. }) = events.first().cloned() else {
        panic!("Carol's invite shows its link");
    };
    let now = laptop.io.now();
    let mut join =
        JoinFlow::link_device(&mut os_rng(), &laptop.engine, &link, &laptop.io.base, now).unwrap();
    let (joined, _) =
        until_joined(&mut carol, &mut invite, &mut events, &mut laptop, &mut join).await;
    assert_eq!(joined, Err(JoinError::LinkRejected));
    assert!(carol.engine.contacts().is_empty());
    assert_eq!(laptop.engine.own_devices(), vec![laptop.engine.device_id()]);

    // The phone still links by its code afterwards (one failed attempt
    // does not void it).
    let now = laptop.io.now();
    let (mut invite, mut events, code) = show_code(&mut phone, false).await;
    let mut join =
        JoinFlow::link_device(&mut os_rng(), &laptop.engine, &code, &laptop.io.base, now).unwrap();
    let (joined, _) =
        until_joined(&mut phone, &mut invite, &mut events, &mut laptop, &mut join).await;
    assert_eq!(joined, Ok(phone.engine.device_id()));
    // A device that is not new cannot be linked: Bob's code for linking is
    // refused by his own engine before anything is sent.
    assert_eq!(
        JoinFlow::link_device_pin(&phone.engine, "1234-567890").err(),
        Some(JoinError::Link(LinkError::NoAccount))
    );
}

async fn contacts_files_and_deletions_reach_every_device(
    builder: RelayBuilder,
    _pg: Option<String>,
) {
    let relay = builder.start().await;
    let (ahead, mut laptop, mut bob) = alice_and_bob(&relay.base).await;
    let b_id = bob.engine.device_id();
    let mut phone = Client::new_for_link(&relay.base, "phone", ahead.clone()).await;
    phone.connect().await;
    link(&mut laptop, &mut phone, false).await;
    settle(&mut [&mut laptop, &mut phone, &mut bob]).await;

    // Carol pairs with the laptop: the phone adds her too, and she and
    // the phone write to each other without pairing.
    let mut carol = Client::new(&relay.base, "Carol", ahead.clone()).await;
    carol.connect().await;
    common::device::pair(&mut laptop, &mut carol).await;
    let c_id = carol.engine.device_id();
    settle(&mut [&mut laptop, &mut carol, &mut phone]).await;
    assert!(
        phone.engine.contact(&c_id).is_some(),
        "the phone knows Carol"
    );
    assert_eq!(phone.engine.contact(&c_id).unwrap().name, "Carol");
    say(&mut carol, &laptop.engine.device_id(), "hi Alice").await;
    settle(&mut [&mut carol, &mut laptop, &mut phone]).await;
    assert_eq!(laptop.texts(&c_id), ["hi Alice"]);
    assert_eq!(phone.texts(&c_id), ["hi Alice"]);
    say(&mut phone, &c_id, "from Alice's phone").await;
    settle(&mut [&mut phone, &mut carol, &mut laptop]).await;
    assert_eq!(
        carol.texts(&laptop.engine.device_id()).last().unwrap(),
        "from Alice's phone"
    );
    assert_eq!(laptop.texts(&c_id).last().unwrap(), "from Alice's phone");

    // A file sent from the laptop shows as sent on the phone.
    let plaintext = b"the minutes".repeat(20);
    let key = [9; 32];
    let mut up = UploadFlow::new(NewUpload {
        to: parley_shared::engine::transfer::FileTo::Contact(b_id),
        name: "minutes.txt".into(),
        mime: "text/plain".into(),
        size: plaintext.len() as u64,
        key,
        ttl: Millis::from_secs(3_600),
        delete_after_download: false,
        metadata_removed: false,
    });
    let id = laptop.upload(&mut up, &key, &plaintext).await.unwrap();
    settle(&mut [&mut laptop, &mut phone, &mut bob]).await;
    let on_phone = phone
        .engine
        .messages(&b_id)
        .iter()
        .find(|m| m.id == id)
        .cloned();
    match on_phone.map(|m| (m.outgoing, m.body)) {
        Some((true, Body::File(f))) => assert_eq!(f.offer.name, "minutes.txt"),
        other => panic!("the phone shows the file as sent: {other:?}"),
    }

    // Deleting Carol's conversation on the phone deletes it on the laptop.
    phone
        .engine
        .delete_conversation(&mut os_rng(), &c_id)
        .unwrap();
    phone.drain().await;
    settle(&mut [&mut phone, &mut laptop]).await;
    assert!(laptop.engine.contact(&c_id).is_none());
    assert!(laptop.engine.messages(&c_id).is_empty());
    assert!(laptop.engine.contact(&b_id).is_some(), "only Carol's");
}

async fn a_call_answered_on_one_device_stops_ringing_on_the_others(
    builder: RelayBuilder,
    _pg: Option<String>,
) {
    let relay = builder.start().await;
    let (ahead, mut laptop, mut bob) = alice_and_bob(&relay.base).await;
    let a_id = laptop.engine.device_id();
    let b_id = bob.engine.device_id();
    let mut phone = Client::new_for_link(&relay.base, "phone", ahead.clone()).await;
    phone.connect().await;
    link(&mut laptop, &mut phone, false).await;
    say(&mut bob, &a_id, "calling you").await;
    settle(&mut [&mut bob, &mut laptop, &mut phone]).await;
    // The phone's own sync reaches the laptop: both directions have sessions.
    say(&mut phone, &b_id, "ok").await;
    settle(&mut [&mut phone, &mut laptop, &mut bob]).await;

    let now = bob.io.now();
    let signal = |kind| CallSignal {
        call_id: [7; 16],
        sent_at: now,
        kind,
    };
    let offer = signal(CallKind::Offer {
        sdp: "v=0".into(),
        video: false,
        restart: false,
    });
    bob.engine
        .send_call_signal(&mut os_rng(), &a_id, offer.clone())
        .unwrap();
    bob.drain().await;
    settle(&mut [&mut laptop, &mut phone]).await;
    // Both of Alice's devices ring.
    assert_eq!(laptop.io.calls, [(b_id, offer.clone())]);
    assert_eq!(phone.io.calls, [(b_id, offer)]);

    let answer = signal(CallKind::Answer { sdp: "v=0".into() });
    laptop
        .engine
        .send_call_signal(&mut os_rng(), &b_id, answer.clone())
        .unwrap();
    laptop.drain().await;
    settle(&mut [&mut bob, &mut phone]).await;
    assert_eq!(bob.io.calls, [(a_id, answer)], "one answer, no hang-up");
    let (from, stop) = phone.io.calls.last().cloned().unwrap();
    assert_eq!(from, b_id);
    assert_eq!(stop.call_id, [7; 16]);
    assert_eq!(
        stop.kind,
        CallKind::Hangup {
            reason: HangupReason::HandledElsewhere
        }
    );
    // The phone, told so, sends Bob nothing.
    assert_eq!(bob.io.calls.len(), 1);
}

async fn a_device_deleted_in_settings_leaves_its_account_first(
    builder: RelayBuilder,
    pg: Option<String>,
) {
    let relay = builder.start().await;
    let store = relay.store(&pg);
    let (ahead, mut laptop, mut bob) = alice_and_bob(&relay.base).await;
    let a_id = laptop.engine.device_id();
    let mut phone = Client::new_for_link(&relay.base, "phone", ahead.clone()).await;
    phone.connect().await;
    link(&mut laptop, &mut phone, false).await;
    let phone_id = phone.engine.device_id();
    settle(&mut [&mut laptop, &mut phone, &mut bob]).await;

    // The phone is deleted: it publishes the list without itself, and the
    // relay erases it with that list (its connection closes as removed).
    assert_eq!(phone.engine.leave_account(), Ok(true));
    assert!(phone.engine.is_leaving());
    phone.drain().await;
    assert!(phone.engine.own_list_published());
    assert_eq!(
        phone.io.ws.as_mut().unwrap().closed().await,
        Some(close::REMOVED)
    );
    assert_eq!(
        store.membership(&phone_id.to_bytes()).unwrap(),
        Membership::Unknown
    );

    // The laptop goes on: Bob's next message is for it alone, and it can
    // still change its list (no erased device left in it to refuse).
    say(&mut bob, &a_id, "still there?").await;
    settle(&mut [&mut bob, &mut laptop]).await;
    assert_eq!(
        laptop.texts(&bob.engine.device_id()).last().unwrap(),
        "still there?"
    );
    assert_eq!(bob.engine.device_count(&a_id), 1);
    let mut tablet = Client::new_for_link(&relay.base, "tablet", ahead.clone()).await;
    tablet.connect().await;
    link(&mut laptop, &mut tablet, true).await;
    let mut listed = laptop.engine.own_devices();
    listed.sort();
    let mut expected = vec![a_id, tablet.engine.device_id()];
    expected.sort();
    assert_eq!(listed, expected);

    // The only device of an account has nobody to leave the list to.
    assert_eq!(bob.engine.leave_account(), Ok(false));
}

relay_tests! {
    a_device_deleted_in_settings_leaves_its_account_first,
    a_call_answered_on_one_device_stops_ringing_on_the_others,
    contacts_files_and_deletions_reach_every_device,
    a_new_browser_is_linked_by_code_and_by_pin,
    a_link_code_and_a_contact_invite_are_never_confused,
}
