//! Engine state-machine properties that need no relay: two engines exchange
//! the frames they emit through a tiny in-test wire (the relay itself is
//! exercised by relay/tests/engine.rs and the browser tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use parley_shared::crypto::os_rng;
use parley_shared::engine::call::{CallKind, CallSignal, HangupReason};
use parley_shared::engine::model::{Body, Notice, Status};
use parley_shared::engine::{Engine, EngineError, MemoryStore};
use parley_shared::protocol::ws::{ClientFrame, DeviceId, ServerFrame};
use parley_shared::time::UnixMs;

use parley_shared::testing::fake::{Side, bundle_of, deliver, paired, texts};

/// A test instant, in Unix ms.
fn ms(t: u64) -> UnixMs {
    UnixMs::from_millis(t)
}

#[test]
fn tampered_envelope_is_reported_and_changes_nothing() {
    let (mut a, mut b) = paired();
    let (aid, bid) = (a.engine.device_id(), b.engine.device_id());
    a.engine
        .send_text(&mut os_rng(), &bid, "first", ms(2_000))
        .unwrap();
    a.drain(None);
    let mut env = a.take_envelopes();
    let (
        _,
        ServerFrame::Deliver {
            from, id, payload, ..
        },
    ) = env.remove(0)
    else {
        panic!()
    };
    let mut bad = payload.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let frame = |id, payload| ServerFrame::Deliver {
        from,
        id,
        sent_at: UnixMs::EPOCH,
        ephemeral: false,
        payload,
    };
    b.engine
        .handle_frame(&mut os_rng(), frame([7; 16], bad), ms(2_000));
    b.drain(None);
    let notices: Vec<_> = b
        .engine
        .messages(&aid)
        .iter()
        .filter(|m| matches!(m.body, Body::Notice(Notice::Undecryptable(_))))
        .collect();
    assert_eq!(notices.len(), 1);
    // The session still decrypts the genuine envelope afterwards.
    b.engine
        .handle_frame(&mut os_rng(), frame(id, payload), ms(2_000));
    b.drain(None);
    assert_eq!(texts(&b, &aid), ["first"]);
    // Both were acked (the relay may forget them).
    let acks = b
        .sent
        .iter()
        .filter(|f| matches!(f, ClientFrame::Ack { .. }))
        .count();
    assert!(acks >= 2);
}

#[test]
fn disappearing_messages_expire_on_both_sides() {
    let (mut a, mut b) = paired();
    let (aid, bid) = (a.engine.device_id(), b.engine.device_id());
    a.engine
        .set_timer(&mut os_rng(), &bid, Some(30), ms(2_000))
        .unwrap();
    a.drain(None);
    deliver(&mut a, &mut b, ms(2_000));
    assert_eq!(b.engine.contact(&aid).unwrap().timer_secs, Some(30));
    a.engine
        .send_text(&mut os_rng(), &bid, "vanishing", ms(3_000))
        .unwrap();
    a.drain(None);
    deliver(&mut a, &mut b, ms(3_000));
    assert_eq!(texts(&b, &aid), ["vanishing"]);
    // Files follow the same timer (their keys must not outlive it).
    let offer = parley_shared::engine::files::FileOffer {
        object: "obj2".into(),
        key: [6; 32],
        digest: [7; 32],
        name: "v.txt".into(),
        mime: "text/plain".into(),
        size: 3,
        expires_at: UnixMs::from_millis(999_999),
        delete_after_download: false,
        metadata_removed: false,
    };
    a.engine
        .send_attachment(&mut os_rng(), &bid, offer, ms(3_000))
        .unwrap();
    a.drain(None);
    deliver(&mut a, &mut b, ms(3_000));
    let file_expiry = |s: &Side, peer: &DeviceId| {
        s.engine
            .messages(peer)
            .iter()
            .find(|m| matches!(m.body, Body::File(_)))
            .and_then(|m| m.expires_at)
    };
    assert_eq!(file_expiry(&a, &bid), Some(ms(33_000)));
    assert_eq!(file_expiry(&b, &aid), Some(ms(33_000)));
    assert_eq!(a.engine.tick(ms(10_000)), Some(ms(33_000)));
    assert_eq!(
        a.engine.tick(ms(20_000)),
        Some(ms(33_000)),
        "nothing due yet"
    );
    assert_eq!(texts(&a, &bid), ["vanishing"]);
    a.engine.tick(ms(33_000));
    b.engine.tick(ms(33_001));
    a.drain(None);
    b.drain(None);
    assert!(texts(&a, &bid).is_empty());
    assert!(texts(&b, &aid).is_empty());
    assert_eq!(file_expiry(&a, &bid), None, "the file entry is gone too");
    assert_eq!(file_expiry(&b, &aid), None);
    // Gone from storage too.
    let reloaded = Engine::load(b.store.0.clone()).unwrap().unwrap();
    assert!(
        reloaded
            .messages(&aid)
            .iter()
            .all(|m| !matches!(m.body, Body::Text(_)))
    );
    assert_eq!(
        a.engine.set_timer(&mut os_rng(), &bid, Some(0), ms(1)),
        Err(EngineError::BadTimer)
    );
}

#[test]
fn receipts_statuses_and_reload_round_trip() {
    let (mut a, mut b) = paired();
    let (aid, bid) = (a.engine.device_id(), b.engine.device_id());
    let m = a
        .engine
        .send_text(&mut os_rng(), &bid, "hello", ms(2_000))
        .unwrap();
    a.drain(None);
    let status = |s: &Side| {
        s.engine
            .messages(&bid)
            .iter()
            .find(|x| x.id == m)
            .unwrap()
            .status
    };
    assert_eq!(status(&a), Status::Queued);
    deliver(&mut a, &mut b, ms(2_000));
    assert_eq!(status(&a), Status::Sent);
    deliver(&mut b, &mut a, ms(2_000));
    assert_eq!(status(&a), Status::Delivered);
    b.engine.mark_read(&mut os_rng(), &aid).unwrap();
    b.drain(None);
    deliver(&mut b, &mut a, ms(2_000));
    assert_eq!(status(&a), Status::Read);
    let again = Engine::load(a.store.0.clone()).unwrap().unwrap();
    assert_eq!(again.messages(&bid), a.engine.messages(&bid));
    assert_eq!(again.contact(&bid).unwrap().name, "Bob");
    assert!(
        Engine::load(Vec::<(String, Vec<u8>)>::new())
            .unwrap()
            .is_none()
    );
    assert!(Engine::load([("account".to_owned(), vec![1, 2, 3])]).is_err());
    assert_eq!(
        a.engine.send_text(&mut os_rng(), &bid, "   ", ms(1)),
        Err(EngineError::BadText)
    );
}

#[test]
fn deleting_a_conversation_erases_its_records_and_strangers_are_ignored() {
    let (mut a, mut b) = paired();
    let (aid, bid) = (a.engine.device_id(), b.engine.device_id());
    b.engine
        .send_text(&mut os_rng(), &aid, "keep?", ms(2_000))
        .unwrap();
    b.drain(None);
    deliver(&mut b, &mut a, ms(2_000));
    assert!(a.store.0.keys().any(|k| k.starts_with("msg/")));
    a.engine.delete_conversation(&mut os_rng(), &bid).unwrap();
    a.drain(None);
    assert!(a.engine.contact(&bid).is_none());
    assert!(
        !a.store
            .0
            .keys()
            .any(|k| k.starts_with("msg/") || k.starts_with("contact/"))
    );
    // Bob is now a stranger to Alice: his messages are dropped (and acked).
    b.engine
        .send_text(&mut os_rng(), &aid, "hello?", ms(3_000))
        .unwrap();
    b.drain(None);
    deliver(&mut b, &mut a, ms(3_000));
    assert!(a.engine.contacts().is_empty());
    assert!(a.sent.iter().any(|f| matches!(f, ClientFrame::Ack { .. })));
}

#[test]
fn key_reset_moves_the_contact_and_blocks_sending_until_acknowledged() {
    let (mut a, mut b) = paired();
    let (aid, old_bid) = (a.engine.device_id(), b.engine.device_id());
    b.engine
        .send_text(&mut os_rng(), &aid, "before", ms(2_000))
        .unwrap();
    b.drain(None);
    deliver(&mut b, &mut a, ms(2_000));
    deliver(&mut a, &mut b, ms(2_000));
    b.engine.begin_rotation(&mut os_rng()).unwrap();
    let req = b
        .engine
        .rotation_registration_request(
            "http://x",
            &parley_shared::protocol::auth::encode_b64(&[1; 32]),
        )
        .unwrap();
    assert!(matches!(
        req.gate,
        parley_shared::protocol::auth::GateProof::Successor { .. }
    ));
    // Until the switch, new content waits for the new sessions.
    b.engine
        .send_text(&mut os_rng(), &aid, "during", ms(2_500))
        .unwrap();
    b.drain(None);
    assert_eq!(b.engine.outbox_len(), 0);
    assert!(
        b.engine
            .finish_rotation("t2".into(), UnixMs::from_millis(u64::MAX / 2))
    );
    assert!(
        !b.engine
            .finish_rotation("t3".into(), UnixMs::from_millis(1)),
        "only once"
    );
    let new_bid = b.engine.device_id();
    assert_ne!(new_bid, old_bid);
    b.engine
        .handle_frame(&mut os_rng(), ServerFrame::Ready { queued: 0 }, ms(3_000));
    b.drain(Some(&a.engine));
    b.engine
        .send_text(&mut os_rng(), &aid, "after", ms(3_000))
        .unwrap();
    b.drain(None);
    // The relay says the envelopes come from the new device.
    for (_, d) in b.take_envelopes() {
        let ServerFrame::Deliver { id, payload, .. } = d else {
            panic!()
        };
        a.engine.handle_frame(
            &mut os_rng(),
            ServerFrame::Deliver {
                from: new_bid,
                id,
                sent_at: UnixMs::EPOCH,
                ephemeral: false,
                payload,
            },
            ms(3_000),
        );
    }
    a.drain(None);
    assert!(a.engine.contact(&old_bid).is_none());
    assert_eq!(a.engine.moved_to(&old_bid), Some(new_bid));
    let c = a.engine.contact(&new_bid).unwrap();
    assert!(c.identity_changed);
    assert_eq!(texts(&a, &new_bid), ["before", "during", "after"]);
    assert_eq!(
        a.engine.send_text(&mut os_rng(), &new_bid, "hi", ms(4_000)),
        Err(EngineError::IdentityChanged)
    );
    a.engine.acknowledge_identity(&new_bid).unwrap();
    a.engine
        .send_text(&mut os_rng(), &new_bid, "hi", ms(4_000))
        .unwrap();
}

#[test]
fn a_key_reset_interrupted_by_a_reload_is_finished_or_cancelled() {
    let (a, mut b) = paired();
    let (aid, old_bid) = (a.engine.device_id(), b.engine.device_id());
    b.engine.begin_rotation(&mut os_rng()).unwrap();
    assert!(!b.engine.rotation_to_resume(), "this page is still on it");
    assert_eq!(
        b.engine.begin_rotation(&mut os_rng()),
        Err(EngineError::ResetPending),
        "a pending reset (maybe registered already) is never replaced"
    );
    b.engine
        .set_token("t-before".into(), UnixMs::from_millis(u64::MAX / 2));
    assert!(
        b.engine
            .rotation_registration_request(
                "http://x",
                &parley_shared::protocol::auth::encode_b64(&[7; 32])
            )
            .is_some(),
        "a login during this page's own reset proves nothing: kept"
    );
    b.engine.rotation_unanswered();
    assert!(b.engine.rotation_to_resume(), "no answer: resume it");
    b.drain(None);
    assert!(
        b.store.0.contains_key("rotation"),
        "stored before registering"
    );
    let challenge = parley_shared::protocol::auth::encode_b64(&[7; 32]);

    // The page goes away here. The reloaded engine still holds the new
    // identity and can log in with it (the relay did register it).
    let reload = |store: &MemoryStore| Engine::load(store.0.clone()).unwrap().unwrap();
    let mut again = reload(&b.store);
    assert_eq!(again.device_id(), old_bid);
    assert!(again.rotation_to_resume());
    let login = again
        .rotation_login_request("http://x", &challenge)
        .unwrap();
    assert_ne!(
        login.device_id,
        again
            .login_request("http://x", &challenge)
            .unwrap()
            .device_id
    );
    assert!(again.finish_rotation("t2".into(), UnixMs::from_millis(u64::MAX / 2)));
    b.engine = again;
    b.drain(None);
    assert!(!b.store.0.contains_key("rotation"));
    let finished = reload(&b.store);
    assert_eq!(
        finished.device_id(),
        login.device_id,
        "the identity it logged in with"
    );
    assert!(!finished.rotation_to_resume());
    // Contacts learn of the new key as after an uninterrupted reset.
    assert!(
        !finished.contact(&aid).unwrap().has_session(),
        "new sessions start"
    );

    // The relay never registered it: the reset is dropped, the old key stays.
    let (_, mut c) = paired();
    let old_cid = c.engine.device_id();
    c.engine.begin_rotation(&mut os_rng()).unwrap();
    c.drain(None);
    let mut again = reload(&c.store);
    // The old identity still logs in: proof the new one was never registered.
    again.set_token("old-still-works".into(), UnixMs::from_millis(u64::MAX / 2));
    c.engine = again;
    c.drain(None);
    let kept = reload(&c.store);
    assert_eq!(kept.device_id(), old_cid);
    assert!(!kept.rotation_to_resume() && !c.store.0.contains_key("rotation"));
}

#[test]
fn a_successor_not_signed_by_the_contact_is_ignored() {
    let (mut a, b) = paired();
    let bid = b.engine.device_id();
    // Eve claims to succeed Bob, but can only sign with her own key.
    let eve = parley_shared::crypto::keys::IdentityKeyPair::generate(&mut os_rng());
    let bundle =
        parley_shared::crypto::keys::PreKeyBundle::from_bytes(&bundle_of(&a.engine)).unwrap();
    let mut session =
        parley_shared::crypto::session::Session::initiate(&mut os_rng(), &eve, &bundle).unwrap();
    let signature = eve.sign(
        parley_shared::protocol::auth::CTX_SUCCESSOR,
        &[&parley_shared::protocol::auth::successor_statement(
            &eve.public(),
        )],
    );
    let content = parley_shared::engine::content::Content::Successor {
        old: bid,
        signature,
    };
    let payload = session.encrypt(&content.to_padded()).unwrap();
    a.engine.handle_frame(
        &mut os_rng(),
        ServerFrame::Deliver {
            from: eve.device_id(),
            id: [5; 16],
            sent_at: UnixMs::EPOCH,
            ephemeral: false,
            payload,
        },
        ms(2_000),
    );
    a.drain(None);
    assert!(a.engine.contact(&eve.device_id()).is_none());
    let bob = a.engine.contact(&bid).unwrap();
    assert!(!bob.identity_changed);
    assert_eq!(a.engine.contacts().len(), 1);
    assert!(
        a.sent
            .iter()
            .any(|f| matches!(f, ClientFrame::Ack { id, .. } if *id == [5; 16]))
    );
}

#[test]
fn call_signals_are_ephemeral_authenticated_and_not_replayable() {
    let (mut a, mut b) = paired();
    let bid = b.engine.device_id();
    let signal = CallSignal {
        call_id: [3; 16],
        sent_at: ms(5_000),
        kind: CallKind::Offer {
            sdp: "v=0 fingerprint:sha-256 AA:BB".into(),
            video: true,
            restart: false,
        },
    };
    a.engine
        .send_call_signal(&mut os_rng(), &bid, signal.clone())
        .unwrap();
    a.drain(None);
    let Some(ClientFrame::Send {
        id,
        ephemeral,
        payload,
        ..
    }) = a.sent.pop()
    else {
        panic!("no frame")
    };
    assert!(ephemeral, "signals are never stored by the relay");
    assert_eq!(a.engine.outbox_len(), 0, "and never resent");
    let from = a.engine.device_id();
    let frame = |id, payload| ServerFrame::Deliver {
        from,
        id,
        sent_at: UnixMs::EPOCH,
        ephemeral: true,
        payload,
    };
    // Tampered in transit (e.g. a swapped fingerprint): no signal comes out.
    let mut bad = payload.clone();
    let n = bad.len();
    bad[n - 20] ^= 0x40;
    b.engine
        .handle_frame(&mut os_rng(), frame([8; 16], bad), ms(5_000));
    b.drain(None);
    assert!(b.calls.is_empty());
    b.engine
        .handle_frame(&mut os_rng(), frame(id, payload.clone()), ms(5_000));
    b.drain(None);
    assert_eq!(b.calls, vec![signal]);
    // Replayed, under the same or a new envelope id: ignored.
    b.engine
        .handle_frame(&mut os_rng(), frame(id, payload.clone()), ms(5_000));
    b.engine
        .handle_frame(&mut os_rng(), frame([9; 16], payload), ms(5_000));
    b.drain(None);
    assert_eq!(b.calls.len(), 1);
    assert!(
        !b.sent
            .iter()
            .any(|f| matches!(f, ClientFrame::Ack { id: i, .. } if *i == id))
    );
    // Too old to act on (a delayed signal cannot ring a phone minutes later).
    let stale = CallSignal {
        call_id: [4; 16],
        sent_at: ms(1),
        kind: CallKind::Hangup {
            reason: HangupReason::Ended,
        },
    };
    a.engine
        .send_call_signal(&mut os_rng(), &bid, stale)
        .unwrap();
    a.drain(None);
    let Some(ClientFrame::Send { id, payload, .. }) = a.sent.pop() else {
        panic!()
    };
    b.engine
        .handle_frame(&mut os_rng(), frame(id, payload), ms(500_000));
    b.drain(None);
    assert_eq!(b.calls.len(), 1);
    // Offline: refused instead of queued.
    a.engine.on_close();
    assert_eq!(
        a.engine.send_call_signal(
            &mut os_rng(),
            &bid,
            CallSignal {
                call_id: [5; 16],
                sent_at: ms(0),
                kind: CallKind::Hangup {
                    reason: HangupReason::Ended
                }
            }
        ),
        Err(EngineError::Offline)
    );
}

#[test]
fn file_offers_reach_the_recipient_and_states_flow_back() {
    use parley_shared::engine::files::{FileOffer, FileState};
    let (mut a, mut b) = paired();
    let (aid, bid) = (a.engine.device_id(), b.engine.device_id());
    let offer = FileOffer {
        object: "obj1".into(),
        key: [4; 32],
        digest: [5; 32],
        name: "../../secret/plan.pdf".into(),
        mime: "application/pdf".into(),
        size: 1234,
        expires_at: UnixMs::from_millis(99_000),
        delete_after_download: true,
        metadata_removed: false,
    };
    let id = a
        .engine
        .send_attachment(&mut os_rng(), &bid, offer, ms(2_000))
        .unwrap();
    a.drain(None);
    deliver(&mut a, &mut b, ms(2_000));
    let file = |s: &Side, peer: &DeviceId| {
        s.engine
            .messages(peer)
            .iter()
            .find_map(|m| match &m.body {
                Body::File(f) if m.id == id => Some(f.clone()),
                _ => None,
            })
            .unwrap()
    };
    let got = file(&b, &aid);
    assert_eq!(got.offer.name, "plan.pdf", "no path from the sender");
    assert_eq!((got.offer.key, got.offer.size), ([4; 32], 1234));
    assert_eq!(got.state, FileState::Offered);
    assert_eq!(b.engine.contact(&aid).unwrap().unread, 1);
    b.engine
        .set_file_state(&mut os_rng(), &aid, &id, FileState::Deleted)
        .unwrap();
    b.drain(None);
    deliver(&mut b, &mut a, ms(3_000));
    assert_eq!(file(&a, &bid).state, FileState::Deleted);
    assert_eq!(file(&b, &aid).state, FileState::Deleted);
    // A peer state may not move a file backwards (the Accept button would
    // come back for a deleted object).
    b.engine
        .set_file_state(&mut os_rng(), &aid, &id, FileState::Offered)
        .unwrap();
    b.drain(None);
    deliver(&mut b, &mut a, ms(3_000));
    assert_eq!(file(&a, &bid).state, FileState::Deleted);
    // An object id that would leave its URL path segment is refused outright.
    let evil = FileOffer {
        object: "../devices/me".into(),
        key: [1; 32],
        digest: [1; 32],
        name: "x".into(),
        mime: String::new(),
        size: 1,
        expires_at: UnixMs::from_millis(99_000),
        delete_after_download: false,
        metadata_removed: false,
    };
    let evil_id = a
        .engine
        .send_attachment(&mut os_rng(), &bid, evil, ms(4_000))
        .unwrap();
    a.drain(None);
    deliver(&mut a, &mut b, ms(4_000));
    assert!(b.engine.messages(&aid).iter().all(|m| m.id != evil_id));
    let reloaded = Engine::load(a.store.0.clone()).unwrap().unwrap();
    let kept = reloaded.messages(&bid).iter().find(|m| m.id == id).unwrap();
    assert!(matches!(&kept.body, Body::File(f) if f.state == FileState::Deleted));
}

/// Ephemeral envelopes `side` has queued (and leaves them queued).
fn ephemeral_count(side: &Side) -> usize {
    side.sent
        .iter()
        .filter(|f| {
            matches!(
                f,
                ClientFrame::Send {
                    ephemeral: true,
                    ..
                }
            )
        })
        .count()
}

#[test]
fn typing_indicators_are_rate_limited_expire_and_respect_presence_and_prefs() {
    use parley_shared::engine::typing::{RESEND_MS, SHOW_MS};
    let (mut a, mut b) = paired();
    let (aid, bid) = (a.engine.device_id(), b.engine.device_id());
    let presence = |s: &mut Side, device, online| {
        s.engine.handle_frame(
            &mut os_rng(),
            ServerFrame::Presence { device, online },
            ms(5_000),
        );
        s.drain(None);
    };
    // Bob is offline: nothing goes out (it would only burn ratchet keys).
    a.engine
        .typing(&mut os_rng(), &bid, true, ms(10_000))
        .unwrap();
    a.drain(None);
    assert_eq!(ephemeral_count(&a), 0);
    presence(&mut a, bid, true);
    presence(&mut b, aid, true);

    // One signal per RESEND_MS while typing goes on.
    for t in [10_000, 10_500, 11_000, 10_000 + RESEND_MS.as_millis() - 1] {
        a.engine.typing(&mut os_rng(), &bid, true, ms(t)).unwrap();
    }
    a.drain(None);
    assert_eq!(ephemeral_count(&a), 1);
    deliver(&mut a, &mut b, ms(10_000));
    assert!(b.engine.is_typing(&aid, ms(10_001)));
    assert!(
        !b.engine.is_typing(&aid, ms(10_000) + SHOW_MS),
        "shown for a while only"
    );
    b.engine.tick(ms(10_000) + SHOW_MS);
    assert!(!b.engine.is_typing(&aid, ms(10_001)), "the tick cleared it");

    a.engine
        .typing(&mut os_rng(), &bid, true, ms(10_000) + RESEND_MS)
        .unwrap();
    a.drain(None);
    deliver(&mut a, &mut b, ms(20_000));
    assert!(b.engine.is_typing(&aid, ms(20_000)));
    // The draft is cleared: one "stopped", and only one.
    a.engine
        .typing(&mut os_rng(), &bid, false, ms(20_100))
        .unwrap();
    a.engine
        .typing(&mut os_rng(), &bid, false, ms(20_200))
        .unwrap();
    a.drain(None);
    assert_eq!(ephemeral_count(&a), 1);
    deliver(&mut a, &mut b, ms(20_300));
    assert!(!b.engine.is_typing(&aid, ms(20_300)));

    // A message ends it on both sides.
    a.engine
        .typing(&mut os_rng(), &bid, true, ms(30_000))
        .unwrap();
    a.drain(None);
    deliver(&mut a, &mut b, ms(30_000));
    assert!(b.engine.is_typing(&aid, ms(30_001)));
    a.engine
        .send_text(&mut os_rng(), &bid, "done typing", ms(30_500))
        .unwrap();
    a.drain(None);
    deliver(&mut a, &mut b, ms(30_500));
    assert!(!b.engine.is_typing(&aid, ms(30_501)));
    a.engine
        .typing(&mut os_rng(), &bid, false, ms(30_600))
        .unwrap();
    a.drain(None);
    assert_eq!(ephemeral_count(&a), 0, "no 'stopped' after sending");

    // Off is reciprocal and survives a reload.
    b.engine.set_typing_indicators(false);
    b.drain(None);
    a.engine
        .typing(&mut os_rng(), &bid, true, ms(40_000))
        .unwrap();
    a.drain(None);
    deliver(&mut a, &mut b, ms(40_000));
    assert!(
        !b.engine.is_typing(&aid, ms(40_001)),
        "Bob does not see Alice's"
    );
    b.engine
        .typing(&mut os_rng(), &aid, true, ms(40_000))
        .unwrap();
    b.drain(None);
    assert_eq!(ephemeral_count(&b), 0, "nor sends his own");
    let reloaded = Engine::load(b.store.0.clone()).unwrap().unwrap();
    assert!(!reloaded.prefs().typing_indicators);
}
