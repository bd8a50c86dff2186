//! The engine's flows driven by the shared test pump against the real relay
//! (SQLite and PostgreSQL): registration, login and the resume rule of an
//! interrupted key reset; pairing's retry after a failed reply, void after
//! the last attempt, and its deadlines; file transfer order and
//! delete-after-download.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::cell::Cell;
use std::rc::Rc;

use common::device::{Client, Fault, advance_to, alice_and_bob, until_joined};
use common::relay::RelayBuilder;
use parley_shared::engine::files::{FileOffer, FileState};
use parley_shared::engine::flow::BlobError;
use parley_shared::engine::model::Body;
use parley_shared::engine::pairing::{
    ANSWER_MS, InviteError, InviteEvent, InviteFlow, JoinError, JoinFlow,
};
use parley_shared::engine::transfer::{DownloadFlow, NewUpload, TransferError, UploadFlow};
use parley_shared::engine::{AccountError, AccountOutcome};
use parley_shared::protocol::api::{CreateUpload, Endpoint, GetChallenge, Login, Method, Register};
use parley_shared::protocol::ws::DeviceId;
use parley_shared::testing::{Progress, Transport as _};
use parley_shared::time::Millis;

fn position(trace: &[String], what: &str) -> usize {
    trace
        .iter()
        .position(|t| t.starts_with(what))
        .unwrap_or_else(|| panic!("{what} not in {trace:?}"))
}

async fn account_flows_register_log_in_and_resume_an_interrupted_reset(
    builder: RelayBuilder,
    _pg: Option<String>,
) {
    let relay = builder.start().await;
    let base = relay.base.clone();
    let mut bob = Client::new(&base, "Bob", Rc::new(Cell::new(0))).await;
    assert!(bob.engine.registered());
    let challenge = format!("POST {}", GetChallenge.path());
    assert_eq!(
        bob.io.trace,
        [challenge.clone(), format!("POST {}", Register.path())]
    );

    // Login: challenge, signed answer, a new token for the same device.
    let first = bob.engine.token(bob.io.now()).unwrap().to_owned();
    bob.engine.clear_token();
    bob.io.trace.clear();
    assert_eq!(bob.login(&base).await, Ok(AccountOutcome::SignedIn));
    assert_eq!(
        bob.io.trace,
        [challenge.clone(), format!("POST {}", Login.path())]
    );
    assert_ne!(bob.engine.token(bob.io.now()).unwrap(), first);
    bob.connect().await;

    // A key reset: the new identity is registered with the old token.
    let old = bob.engine.device_id();
    assert_eq!(
        bob.reset_keys(&base).await,
        Ok(AccountOutcome::KeysReplaced)
    );
    assert_ne!(bob.engine.device_id(), old);
    bob.connect().await;

    // Interrupted after the relay registered the new identity (the
    // answer is lost). The reset is kept; the next login resumes it by
    // logging in as the new identity, since the old one is erased.
    let before = bob.engine.device_id();
    bob.io.fault = Some(Fault {
        method: Method::Post,
        path: Register.path(),
        reaches: true,
    });
    let r = bob.reset_keys(&base).await;
    assert!(matches!(r, Err(AccountError::ResetUnanswered(_))), "{r:?}");
    assert!(bob.engine.rotation_to_resume());
    assert_eq!(
        bob.engine.device_id(),
        before,
        "no switch without an answer"
    );
    bob.reload();
    assert!(
        bob.engine.rotation_to_resume(),
        "the reset was stored first"
    );
    bob.engine.clear_token();
    assert_eq!(bob.login(&base).await, Ok(AccountOutcome::KeysReplaced));
    assert_ne!(bob.engine.device_id(), before);
    assert!(!bob.engine.rotation_to_resume());
    bob.connect().await;

    // Interrupted before the relay heard of it (the request is lost):
    // the new identity cannot log in, the old one still can, which
    // proves the reset never registered: it is dropped.
    let before = bob.engine.device_id();
    bob.io.fault = Some(Fault {
        method: Method::Post,
        path: Register.path(),
        reaches: false,
    });
    let r = bob.reset_keys(&base).await;
    assert!(matches!(r, Err(AccountError::ResetUnanswered(_))), "{r:?}");
    bob.reload();
    bob.engine.clear_token();
    bob.io.trace.clear();
    assert_eq!(bob.login(&base).await, Ok(AccountOutcome::SignedIn));
    let logins = bob
        .io
        .trace
        .iter()
        .filter(|t| t.contains("/auth/login"))
        .count();
    assert_eq!(logins, 2, "the new identity first, then the old one");
    assert_eq!(bob.engine.device_id(), before);
    assert!(!bob.engine.rotation_to_resume());
    assert!(!bob.store.0.contains_key("rotation"));
    bob.connect().await;
    drop(relay);
}

/// Opens an invite with a PIN; returns the flow, its events and the PIN.
async fn pin_invite(a: &mut Client) -> (InviteFlow, Vec<InviteEvent>, String) {
    let mut invite = InviteFlow::new(&a.io.base);
    let mut events = Vec::new();
    assert!(matches!(
        a.invite(&mut invite, &mut events).await,
        Progress::Waiting(_)
    ));
    invite.ask_pin();
    assert!(matches!(
        a.invite(&mut invite, &mut events).await,
        Progress::Waiting(_)
    ));
    let pin = events
        .iter()
        .find_map(|e| match e {
            InviteEvent::Pin(p) => Some(p.clone()),
            _ => None,
        })
        .expect("a PIN after asking for one");
    (invite, events, pin)
}

fn wrong(pin: &str) -> String {
    let last = pin.chars().last().unwrap().to_digit(10).unwrap();
    format!("{}{}", &pin[..pin.len() - 1], (last + 1) % 10)
}

fn failed_attempts(events: &[InviteEvent]) -> Vec<u8> {
    events
        .iter()
        .filter_map(|e| match e {
            InviteEvent::FailedAttempt { attempts_left } => Some(*attempts_left),
            _ => None,
        })
        .collect()
}

async fn pairing_flows_retry_after_a_wrong_pin_void_the_invite_and_keep_deadlines(
    builder: RelayBuilder,
    _pg: Option<String>,
) {
    let relay = builder.start().await;
    let ahead = Rc::new(Cell::new(0));
    let mut alice = Client::new(&relay.base, "Alice", ahead.clone()).await;
    let mut carol = Client::new(&relay.base, "Carol", ahead.clone()).await;

    // A wrong PIN fails that reply only: the invite stays open and the
    // right PIN then pairs.
    let (mut invite, mut events, pin) = pin_invite(&mut alice).await;
    let mut join = JoinFlow::pin(&wrong(&pin)).unwrap();
    let (joined, invited) =
        until_joined(&mut alice, &mut invite, &mut events, &mut carol, &mut join).await;
    assert_eq!(joined, Err(JoinError::WrongPin));
    assert_eq!(invited, None, "the invite is still open");
    assert_eq!(failed_attempts(&events), [2]);
    let mut join = JoinFlow::pin(&pin).unwrap();
    let (joined, invited) =
        until_joined(&mut alice, &mut invite, &mut events, &mut carol, &mut join).await;
    assert_eq!(joined, Ok(alice.engine.device_id()));
    assert_eq!(invited, Some(Ok(carol.engine.device_id())));
    assert!(alice.engine.contact(&carol.engine.device_id()).is_some());
    assert!(carol.engine.contact(&alice.engine.device_id()).is_some());

    // Three failed replies void the invite: the slot is closed.
    let mut dave = Client::new(&relay.base, "Dave", ahead.clone()).await;
    let (mut invite, mut events, pin) = pin_invite(&mut alice).await;
    let mut last = None;
    for _ in 0..3 {
        let mut join = JoinFlow::pin(&wrong(&pin)).unwrap();
        let (joined, invited) =
            until_joined(&mut alice, &mut invite, &mut events, &mut dave, &mut join).await;
        assert!(
            matches!(joined, Err(JoinError::WrongPin | JoinError::Closed)),
            "{joined:?}"
        );
        last = invited;
    }
    assert!(matches!(last, Some(Err(InviteError::Void(_)))), "{last:?}");
    assert_eq!(failed_attempts(&events), [2, 1]);
    // The slot went with it (PIN lookups are rate-limited per network,
    // so this is read from what the inviter sent).
    let closed = alice
        .io
        .trace
        .iter()
        .filter(|t| t.starts_with("DELETE /api/v1/rendezvous/"))
        .count();
    assert_eq!(closed, 1);

    // The joiner waits for the inviter's answer for ANSWER_MS, then gives up.
    let mut invite = InviteFlow::new(&relay.base);
    let mut events = Vec::new();
    alice.invite(&mut invite, &mut events).await;
    let Some(InviteEvent::Shown { link, expires_at }) = events.first().cloned() else {
        panic!("no link shown");
    };
    let now = dave.io.now();
    let mut join = JoinFlow::link(
        &mut parley_shared::crypto::os_rng(),
        &dave.engine,
        &link,
        &relay.base,
        now,
    )
    .unwrap();
    let start = dave.io.now();
    let mut polls = 0;
    let outcome = loop {
        match dave.join(&mut join).await {
            Progress::Waiting(at) => {
                polls += 1;
                assert!(polls < 400, "the joiner never gave up");
                advance_to(&ahead, at);
            }
            Progress::Done(r) => break r,
        }
    };
    assert_eq!(outcome, Err(JoinError::NoAnswer));
    let waited = dave.io.now().since(start);
    assert!(
        (ANSWER_MS..Millis::from_millis(ANSWER_MS.as_millis() + 2_000)).contains(&waited),
        "gave up after {waited}"
    );

    // The inviter stops at the slot's expiry.
    advance_to(&ahead, expires_at);
    assert!(matches!(
        alice.invite(&mut invite, &mut events).await,
        Progress::Done(Err(InviteError::Expired))
    ));
    drop(relay);
}

/// The offers `c` received from `peer`, newest last.
fn offers(c: &Client, peer: &DeviceId) -> Vec<([u8; 16], FileOffer, FileState)> {
    c.engine
        .messages(peer)
        .iter()
        .filter_map(|m| match &m.body {
            Body::File(f) => Some((m.id, f.offer.clone(), f.state)),
            _ => None,
        })
        .collect()
}

fn upload(peer: DeviceId, size: usize, delete_after_download: bool) -> (UploadFlow, [u8; 32]) {
    let key = [7; 32];
    let flow = UploadFlow::new(NewUpload {
        to: parley_shared::engine::transfer::FileTo::Contact(peer),
        name: "notes.txt".into(),
        mime: "text/plain".into(),
        size: size as u64,
        key,
        ttl: Millis::from_secs(3_600),
        delete_after_download,
        metadata_removed: false,
    });
    (flow, key)
}

async fn file_flows_put_before_offering_and_delete_after_download(
    builder: RelayBuilder,
    _pg: Option<String>,
) {
    let relay = builder.start().await;
    let (_ahead, mut alice, mut bob) = alice_and_bob(&relay.base).await;
    bob.pump(300).await;
    alice.pump(300).await;
    let (a_id, b_id) = (alice.engine.device_id(), bob.engine.device_id());
    let plaintext = b"meeting at noon, bring the keys".repeat(50);

    // Reserve, put the ciphertext, and only then offer it.
    alice.io.trace.clear();
    let (mut flow, key) = upload(b_id, plaintext.len(), true);
    alice.upload(&mut flow, &key, &plaintext).await.unwrap();
    let t = &alice.io.trace;
    let reserve = position(t, &format!("POST {}", CreateUpload.path()));
    let put = position(t, "BLOB PUT");
    let offer = position(t, "FRAME Send");
    assert!(reserve < put && put < offer, "{t:?}");

    // Delete-after-download: fetched, verified, then deleted.
    bob.pump(300).await;
    let (id, offer, _) = offers(&bob, &a_id).pop().expect("the offer arrives");
    bob.io.trace.clear();
    let mut down = DownloadFlow::accept(a_id, id, offer.clone());
    let (state, got) = bob.download(&mut down).await;
    assert_eq!(state, Ok(FileState::Deleted));
    assert_eq!(got.as_deref(), Some(&plaintext[..]));
    let deleted = format!("DELETE /api/v1/attachments/{}", offer.object);
    assert!(position(&bob.io.trace, "BLOB GET") < position(&bob.io.trace, &deleted));
    let mut again = DownloadFlow::accept(a_id, id, offer);
    assert_eq!(bob.download(&mut again).await.0, Err(TransferError::Gone));
    alice.pump(300).await;
    assert_eq!(offers(&alice, &b_id)[0].2, FileState::Deleted);

    // Without it, the object stays for another download.
    let (mut flow, key) = upload(b_id, plaintext.len(), false);
    alice.upload(&mut flow, &key, &plaintext).await.unwrap();
    bob.pump(300).await;
    let (id, offer, _) = offers(&bob, &a_id).pop().unwrap();
    let mut down = DownloadFlow::accept(a_id, id, offer.clone());
    assert_eq!(bob.download(&mut down).await.0, Ok(FileState::Downloaded));
    let mut again = DownloadFlow::accept(a_id, id, offer);
    let (state, got) = bob.download(&mut again).await;
    assert!(state.is_ok() && got.as_deref() == Some(&plaintext[..]));

    // A failed put offers nothing and gives the reservation back.
    let sent = offers(&alice, &b_id).len();
    alice.io.trace.clear();
    alice.io.blob_fault = Some(BlobError::Unreachable);
    let (mut flow, key) = upload(b_id, plaintext.len(), true);
    let r = alice.upload(&mut flow, &key, &plaintext).await;
    assert_eq!(r, Err(TransferError::Blob(BlobError::Unreachable)));
    let t = &alice.io.trace;
    assert!(position(t, "BLOB PUT") < position(t, "DELETE /api/v1/attachments/"));
    assert!(!t.iter().any(|x| x.starts_with("FRAME Send")), "{t:?}");
    assert_eq!(offers(&alice, &b_id).len(), sent);
    drop(relay);
}

common::backends::relay_tests! {
    account_flows_register_log_in_and_resume_an_interrupted_reset,
    pairing_flows_retry_after_a_wrong_pin_void_the_invite_and_keep_deadlines,
    file_flows_put_before_offering_and_delete_after_download,
}
