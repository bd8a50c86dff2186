//! Session messages and ratchet headers from untrusted bytes, decoded and fed
//! to a live session: nothing may panic, and a rejected message must leave
//! the session unchanged.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use parley_shared::crypto::keys::IdentityKeyPair;
use parley_shared::crypto::os_rng;
use parley_shared::crypto::ratchet::RatchetMessage;
use parley_shared::crypto::session::{MemoryPreKeys, Session, SessionMessage};
use parley_shared::protocol::ws::{ClientFrame, ServerFrame};

struct Fixture {
    bob: IdentityKeyPair,
    keys: MemoryPreKeys,
    session: Session,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let rng = &mut os_rng();
        let alice = IdentityKeyPair::generate(rng);
        let bob = IdentityKeyPair::generate(rng);
        let keys = MemoryPreKeys::generate(rng, &bob, 0);
        let bundle = keys.bundle(&bob).unwrap();
        let mut a = Session::initiate(rng, &alice, &bundle).unwrap();
        let first = a.encrypt(b"seed").unwrap();
        let session = Session::accept(rng, &bob, &keys, &first).unwrap().session;
        Fixture { bob, keys, session }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let rng = &mut os_rng();
    // The relay's WebSocket frames come from the network too.
    let _ = ClientFrame::from_bytes(data);
    let _ = ServerFrame::from_bytes(data);
    let _ = SessionMessage::from_bytes(data);
    let _ = RatchetMessage::from_bytes(data);
    let _ = Session::from_bytes(data);
    let mut s = f.session.clone();
    let before = s.to_bytes();
    if s.decrypt(rng, data).is_err() {
        assert_eq!(*s.to_bytes(), *before, "rejected message changed the session");
    }
    let _ = Session::accept(rng, &f.bob, &f.keys, data);
});
