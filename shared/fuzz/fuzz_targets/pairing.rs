//! Pairing inputs from people and from the relay: links, PIN codes, sealed replies.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use parley_shared::crypto::keys::IdentityKeyPair;
use parley_shared::crypto::os_rng;
use parley_shared::crypto::pairing::{Invite, PinCode, PinInviter, PinJoiner};

struct Fixture {
    me: IdentityKeyPair,
    invite: Invite,
    code: PinCode,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let rng = &mut os_rng();
        let me = IdentityKeyPair::generate(rng);
        let invite = Invite::new(rng, "https://relay.test", [3; 16], &me, 0);
        Fixture { code: PinCode::new(rng, 5).unwrap(), me, invite }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let rng = &mut os_rng();
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = Invite::from_link(s);
        let _ = PinCode::parse(s);
    }
    let _ = f.invite.accept_reply(rng, &f.me, data, b"");
    let _ = f.invite.accept_confirmation(&f.me, data);
    let (inviter, _) = PinInviter::start(rng, &f.code);
    let _ = inviter.finish(rng, &f.me, data, b"");
    let _ = PinJoiner::start(rng, &f.code, &f.me, data, b"");
});
