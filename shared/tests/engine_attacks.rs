//! Attacks on the engine by a relay (replays, drained prekeys) and by
//! strangers (presence), each performed against the real engine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use parley_shared::crypto::os_rng;
use parley_shared::engine::model::{Body, Notice};
use parley_shared::engine::prekeys::{CHECK_MS, RETIRED_KEEP_MS, ROTATE_MS};
use parley_shared::engine::{Effect, EngineError};
use parley_shared::protocol::api::{Endpoint, GetBundle, GetPreKeyStatus};
use parley_shared::protocol::auth::{BundleResponse, PreKeyStatus, encode_b64};
use parley_shared::protocol::ws::{ClientFrame, DeviceId, ServerFrame};
use parley_shared::time::UnixMs;

use parley_shared::testing::fake::{Side, bundle_with, deliver, introduce, paired, texts};

/// A test instant, in Unix ms.
fn ms(t: u64) -> UnixMs {
    UnixMs::from_millis(t)
}

const DAY: u64 = 86_400_000;

fn undecryptable(s: &Side, peer: &DeviceId) -> usize {
    s.engine
        .messages(peer)
        .iter()
        .filter(|m| matches!(m.body, Body::Notice(Notice::Undecryptable(_))))
        .count()
}

fn redeliver(to: &mut Side, frame: &ServerFrame, id: [u8; 16], now: UnixMs) {
    let ServerFrame::Deliver { from, payload, .. } = frame else {
        panic!("not a delivery")
    };
    let again = ServerFrame::Deliver {
        from: *from,
        id,
        sent_at: UnixMs::EPOCH,
        ephemeral: false,
        payload: payload.clone(),
    };
    to.engine.handle_frame(&mut os_rng(), again, now);
    to.drain(None);
}

/// A relay keeps Bob's first (PreKey) envelope, served from a bundle without
/// a one-time prekey, and replays it under a fresh id after Bob started a
/// genuine new session: Alice must refuse it and keep the live session; a
/// late message of the old session still decrypts (archived session).
#[test]
fn replayed_session_start_cannot_roll_back_a_live_session() {
    let mut a = Side::new("Alice");
    let mut b = Side::new("Bob");
    a.one_time = false;
    b.engine.on_close();
    introduce(&mut a, &mut b);
    a.drain(None);
    b.drain(None);
    // Bob's profile before any session: the state an old backup would hold.
    let before_session = b.store.clone();
    b.one_time = false;
    b.connect(ms(1_000));
    b.drain(Some(&a.engine));
    let (aid, bid) = (a.engine.device_id(), b.engine.device_id());
    let first = b.take_envelopes();
    let start1 = first[0].1.clone();
    for (accepted, d) in first {
        b.engine.handle_frame(&mut os_rng(), accepted, ms(1_000));
        a.engine.handle_frame(&mut os_rng(), d, ms(1_000));
    }
    a.drain(None);
    deliver(&mut a, &mut b, ms(1_000));
    b.engine
        .send_text(&mut os_rng(), &aid, "one", ms(2_000))
        .unwrap();
    b.drain(None);
    deliver(&mut b, &mut a, ms(2_000));
    // A message of the first session the relay holds back.
    b.engine
        .send_text(&mut os_rng(), &aid, "late", ms(3_000))
        .unwrap();
    b.drain(None);
    let late = b.take_envelopes().remove(0).1;

    // Bob's browser comes back from the old state and starts a new session.
    let mut b = Side::restore(before_session, ms(4_000));
    b.one_time = false;
    b.drain(Some(&a.engine));
    deliver(&mut b, &mut a, ms(4_000));
    a.engine
        .send_text(&mut os_rng(), &bid, "two", ms(5_000))
        .unwrap();
    a.drain(None);
    deliver(&mut a, &mut b, ms(5_000));
    assert_eq!(texts(&b, &aid), ["two"]);
    let noticed = undecryptable(&a, &bid);

    // The replay: refused, reported, and the live session survives.
    redeliver(&mut a, &start1, [0xAA; 16], ms(6_000));
    assert_eq!(undecryptable(&a, &bid), noticed + 1, "replay is refused");
    b.engine
        .send_text(&mut os_rng(), &aid, "three", ms(7_000))
        .unwrap();
    b.drain(None);
    deliver(&mut b, &mut a, ms(7_000));
    assert_eq!(texts(&a, &bid), ["one", "two", "three"]);

    // The held-back message of the old session still decrypts, once.
    a.engine
        .handle_frame(&mut os_rng(), late.clone(), ms(8_000));
    a.drain(None);
    redeliver(&mut a, &late, [0xBB; 16], ms(8_000));
    assert_eq!(texts(&a, &bid), ["one", "two", "three", "late"]);

    // All of it survives a reload (archive and starts are stored).
    let mut a = Side::restore(a.store.clone(), ms(9_000));
    a.drain(None);
    redeliver(&mut a, &start1, [0xCC; 16], ms(9_000));
    b.engine
        .send_text(&mut os_rng(), &aid, "four", ms(9_000))
        .unwrap();
    b.drain(None);
    deliver(&mut b, &mut a, ms(9_000));
    assert_eq!(texts(&a, &bid), ["one", "two", "three", "late", "four"]);
}

fn status_of(s: &Side, one_time: u32) -> PreKeyStatus {
    let up = s.uploads.last().cloned();
    let (spk, pq) = match up {
        Some(u) => (u.signed_prekey.id, u.pq_prekey.id),
        None => (1, 2),
    };
    PreKeyStatus {
        one_time_prekeys: one_time,
        refill: one_time < 20,
        signed_prekey_id: spk,
        pq_prekey_id: pq,
    }
}

/// Signed and ML-KEM prekeys rotate weekly; a start made against the old
/// bundle works during the grace period and fails once its secret is gone.
#[test]
fn prekeys_rotate_and_retired_secrets_are_deleted() {
    let mut a = Side::new("Alice");
    let old_bundle = bundle_with(&a.engine, false);
    let status = status_of(&a, 100);
    a.engine.prekey_status(&mut os_rng(), &status, ms(2 * DAY));
    a.drain(None);
    assert!(a.uploads.is_empty(), "nothing due after two days");

    a.engine
        .prekey_status(&mut os_rng(), &status, ms(1_000) + ROTATE_MS);
    a.drain(None);
    let up = a.uploads.last().cloned().expect("rotation uploads");
    assert_eq!((up.signed_prekey.id, up.pq_prekey.id), (2, 3));
    assert!(up.one_time_prekeys.is_empty());
    // The relay now has it: nothing more to upload.
    let n = a.uploads.len();
    let status = status_of(&a, 100);
    a.engine
        .prekey_status(&mut os_rng(), &status, ms(2_000) + ROTATE_MS);
    a.drain(None);
    assert_eq!(a.uploads.len(), n);

    // Within the grace period a start against the old bundle is accepted.
    let mut c = Side::new("Carol");
    introduce(&mut a, &mut c);
    a.drain(None);
    c.engine
        .bundle_fetched(&mut os_rng(), &a.engine.device_id(), &old_bundle)
        .unwrap();
    c.drain(Some(&a.engine));
    deliver(&mut c, &mut a, ms(3_000) + ROTATE_MS);
    assert!(
        a.engine
            .contact(&c.engine.device_id())
            .unwrap()
            .has_session()
    );

    // After it, the old secret is gone from the stored account.
    let later = ms(4_000) + ROTATE_MS + RETIRED_KEEP_MS;
    a.engine.prekey_status(&mut os_rng(), &status, later);
    a.drain(None);
    let mut a = Side::restore(a.store.clone(), later);
    a.drain(None);
    let mut d = Side::new("Dave");
    introduce(&mut a, &mut d);
    a.drain(None);
    d.engine
        .bundle_fetched(&mut os_rng(), &a.engine.device_id(), &old_bundle)
        .unwrap();
    d.drain(Some(&a.engine));
    deliver(&mut d, &mut a, later);
    let did = d.engine.device_id();
    assert!(!a.engine.contact(&did).unwrap().has_session());
    assert_eq!(undecryptable(&a, &did), 1);
}

/// A stranger drains the relay's one-time prekeys by fetching bundles: the
/// next status check (on connect and every CHECK_MS) uploads a new batch.
#[test]
fn one_time_prekeys_drained_at_the_relay_are_refilled() {
    let mut a = Side::new("Alice");
    let drained = status_of(&a, 0);
    a.engine.prekey_status(&mut os_rng(), &drained, ms(5_000));
    a.drain(None);
    let up = a.uploads.last().expect("refill");
    assert_eq!(up.one_time_prekeys.len(), 100);
    // The adapter is asked for a status check on connect and by the tick.
    let mut asked = 0;
    a.engine.tick(ms(5_000) + CHECK_MS);
    while let Some(e) = a.engine.next_effect() {
        if let Effect::Http { request, .. } = e
            && request == GetPreKeyStatus.request(&())
        {
            asked += 1;
        }
    }
    assert_eq!(asked, 1);
    // Draining forever never grows the local store without bound.
    for i in 0..60 {
        a.engine
            .prekey_status(&mut os_rng(), &drained, ms(6_000 + i));
        a.drain(None);
    }
    let ids: Vec<u32> = a
        .uploads
        .iter()
        .flat_map(|u| u.one_time_prekeys.iter().map(|k| k.id))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids never repeat");
    // Measured: 1,000 keys (the cap) are about 37 kB; the 6,100 made here
    // would be about 215 kB uncapped.
    let stored = a.store.0.get("account").unwrap().len();
    assert!(
        stored < 60_000,
        "local one-time prekeys are capped ({stored} bytes)"
    );
}

fn presence_frames(s: &Side) -> Vec<(bool, usize)> {
    s.sent
        .iter()
        .filter_map(|f| match f {
            ClientFrame::Presence { share, watch } => Some((*share, watch.len())),
            _ => None,
        })
        .collect()
}

/// Presence is off by default: nothing is shared and nobody is watched
/// until the user turns it on; then only contacts are named.
#[test]
fn presence_is_opt_in_and_names_only_contacts() {
    let (mut a, _b) = paired();
    assert!(!a.engine.prefs().presence);
    assert!(presence_frames(&a).iter().all(|f| *f == (false, 0)));
    a.engine.set_presence(true);
    a.drain(None);
    assert_eq!(presence_frames(&a).last(), Some(&(true, 1)));
    // The preference survives a reload.
    let mut a = Side::restore(a.store.clone(), ms(2_000));
    a.drain(None);
    assert!(a.engine.prefs().presence);
    assert_eq!(presence_frames(&a).last(), Some(&(true, 1)));
    a.engine.set_presence(false);
    a.drain(None);
    assert_eq!(presence_frames(&a).last(), Some(&(false, 0)));
}

/// A relay answers Bob's bundle request for Alice (Bob starts the session)
/// with keys signed by Mallory: no session starts, the message keeps
/// waiting, and Bob is told once (not on every retry); Alice's genuine
/// bundle then delivers it.
#[test]
fn a_forged_bundle_starts_nothing_and_is_shown_once() {
    let mut a = Side::new("Alice");
    let mut b = Side::new("Bob");
    let mallory = Side::new("Mallory");
    introduce(&mut a, &mut b);
    let aid = a.engine.device_id();
    b.engine
        .send_text(&mut os_rng(), &aid, "for Alice only", ms(2_000))
        .unwrap();
    let forged = BundleResponse {
        bundle: encode_b64(&bundle_with(&mallory.engine, true)),
    };
    let forged = serde_json::to_vec(&forged).unwrap();
    let forged_notices = |s: &Side| {
        s.engine
            .messages(&aid)
            .iter()
            .filter(|m| matches!(m.body, Body::Notice(Notice::ForgedKeys)))
            .count()
    };
    for round in 0..2 {
        let mut asked = false;
        while let Some(effect) = b.engine.next_effect() {
            match effect {
                Effect::Http { id, request }
                    if request.path == GetBundle { device: aid }.path() =>
                {
                    asked = true;
                    let r = b.engine.http_reply(
                        &mut os_rng(),
                        id,
                        Ok((200, forged.clone())),
                        ms(3_000 + round),
                    );
                    assert_eq!(r, Err(EngineError::BadBundle));
                }
                Effect::Store(ops) => b.store.apply(ops),
                _ => {}
            }
        }
        assert!(asked, "round {round}: the bundle is fetched");
        assert_eq!(forged_notices(&b), 1, "round {round}: shown once");
        assert!(
            b.sent
                .iter()
                .all(|f| !matches!(f, ClientFrame::Send { .. }))
        );
        // After a reconnect the bundle is fetched again.
        b.connect(ms(3_000 + 600_000 * (round + 1)));
    }
    // The real bundle: the waiting message goes out.
    b.drain(Some(&a.engine));
    deliver(&mut b, &mut a, ms(1_300_000));
    assert_eq!(texts(&a, &b.engine.device_id()), ["for Alice only"]);
}
