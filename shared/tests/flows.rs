//! Flow rules that a real relay cannot be made to show on demand, checked
//! step by step with scripted replies (the rest run against the real relay
//! in relay/tests/flows.rs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use parley_shared::crypto::os_rng;
use parley_shared::engine::Engine;
use parley_shared::engine::flow::Step;
use parley_shared::engine::pairing::{InviteEvent, InviteFlow, POLL_MS};
use parley_shared::protocol::api::{Endpoint, Failure, GetMessage, RejectReply};
use parley_shared::protocol::auth::encode_b64;
use parley_shared::protocol::rendezvous::{Message, Rendezvous};
use parley_shared::time::UnixMs;

/// A test instant, in Unix ms.
fn ms(t: u64) -> UnixMs {
    UnixMs::from_millis(t)
}

fn http<E, R>(s: Step<E, R>) -> parley_shared::protocol::api::Request
where
    E: std::fmt::Debug,
    R: std::fmt::Debug,
{
    match s {
        Step::Http(r) => r,
        other => panic!("expected a request, got {other:?}"),
    }
}

/// A failed reply is rejected, and a reject that got no answer is retried
/// only while that same reply still waits: a newer claimant's reply, which
/// nobody has checked, is never dropped blindly.
#[test]
fn an_unanswered_reject_is_retried_only_for_the_same_reply() {
    let mut engine = Engine::create(&mut os_rng(), "Alice", ms(0));
    let mut flow = InviteFlow::new("http://relay.test");
    let mut now = ms(1_000);
    http(flow.step(now));
    let id = encode_b64(&[5; 16]);
    let slot = Rendezvous {
        id: id.clone(),
        pin_slot: None,
        expires_at_ms: UnixMs::from_secs(600),
    };
    let body = serde_json::to_vec(&slot).unwrap();
    flow.on_reply(&mut os_rng(), &mut engine, Ok((201, body)), now);
    assert!(matches!(
        flow.step(now),
        Step::Event(InviteEvent::Shown { .. })
    ));

    let get_b = GetMessage {
        id: id.clone(),
        msg: Message::B,
    }
    .request(&());
    assert_eq!(http(flow.step(now)), get_b);
    let junk = b"Qnot a reply".to_vec();
    flow.on_reply(&mut os_rng(), &mut engine, Ok((200, junk.clone())), now);
    let reject = http(flow.step(now));
    assert_eq!(reject.path, RejectReply { id: id.clone() }.path());
    flow.on_reply(&mut os_rng(), &mut engine, Err(Failure::Unreachable), now);

    // Unanswered: look again after a poll interval; still the same reply,
    // so reject it again.
    let wait = now + POLL_MS;
    assert!(matches!(flow.step(now), Step::Wait(t) if t == wait));
    now = now + POLL_MS;
    assert_eq!(http(flow.step(now)), get_b);
    flow.on_reply(&mut os_rng(), &mut engine, Ok((200, junk)), now);
    assert_eq!(http(flow.step(now)).path, reject.path);
    flow.on_reply(&mut os_rng(), &mut engine, Err(Failure::Unreachable), now);

    // Now a different reply waits (our reject had gone through, and a new
    // claimant wrote): it is left for the normal poll, not rejected.
    now = now + POLL_MS;
    assert_eq!(http(flow.step(now)), get_b);
    flow.on_reply(
        &mut os_rng(),
        &mut engine,
        Ok((200, b"Qnewer".to_vec())),
        now,
    );
    assert!(matches!(
        flow.step(now),
        Step::Event(InviteEvent::FailedAttempt { attempts_left: 2 })
    ));
    assert_eq!(http(flow.step(now)), get_b, "polling goes on");
}
