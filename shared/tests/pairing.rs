//! QR and PIN pairing, including a relay that tries to get in the middle.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::TestRng;
use parley_shared::crypto::keys::IdentityKeyPair;
use parley_shared::crypto::pairing::{
    Invite, PIN_PASSWORD_DIGITS, PIN_SLOT_COUNT, PairingError, PinCode, PinInviter, PinJoiner,
};
use parley_shared::crypto::safety::SafetyNumber;
use parley_shared::protocol::rendezvous::PIN_SLOTS;

const RELAY: &str = "https://relay.example";

#[test]
fn qr_pairing_authenticates_both_sides() {
    let rng = &mut TestRng::new("qr");
    let inviter = IdentityKeyPair::generate(rng);
    let invitee = IdentityKeyPair::generate(rng);
    let invite = Invite::new(rng, RELAY, [9; 16], &inviter, 1_900_000_000);
    let link = invite.to_link();
    assert!(link.starts_with("https://relay.example/#pair="), "{link}");

    // The invitee scans the QR (the link) and replies through the relay.
    let scanned = Invite::from_link(&link).unwrap();
    assert_eq!(scanned, invite);
    assert_eq!(
        scanned.inviter,
        inviter.public(),
        "scanning authenticates the inviter"
    );
    let reply = scanned.reply(rng, &invitee, b"Bob").unwrap();
    let (peer, confirmation) = invite
        .accept_reply(rng, &inviter, &reply, b"Alice")
        .unwrap();
    assert_eq!(peer.peer, invitee.public());
    assert_eq!(peer.profile, b"Bob");
    let back = scanned
        .accept_confirmation(&invitee, &confirmation)
        .unwrap();
    assert_eq!(back.peer, inviter.public());
    assert_eq!(back.profile, b"Alice");
    // Both now compute the same safety number.
    assert_eq!(
        SafetyNumber::new(&inviter.public(), &peer.peer).digits(),
        SafetyNumber::new(&invitee.public(), &back.peer).digits()
    );
}

#[test]
fn a_relay_in_the_middle_of_qr_pairing_is_detected() {
    let rng = &mut TestRng::new("qr-mitm");
    let inviter = IdentityKeyPair::generate(rng);
    let invitee = IdentityKeyPair::generate(rng);
    let relay = IdentityKeyPair::generate(rng);
    let invite = Invite::new(rng, RELAY, [1; 16], &inviter, 0);
    let scanned = Invite::from_link(&invite.to_link()).unwrap();
    let reply = scanned.reply(rng, &invitee, b"Bob").unwrap();

    // The relay never sees the secret: its own invite for the same slot has another one.
    let relay_invite = Invite::new(rng, RELAY, [1; 16], &relay, 0);
    let substituted = relay_invite.reply(rng, &relay, b"Bob").unwrap();
    assert_eq!(
        invite
            .accept_reply(rng, &inviter, &substituted, b"")
            .unwrap_err(),
        PairingError::Authentication
    );
    // Flipping any byte of the genuine reply is detected.
    for i in [0, 30, reply.len() - 1] {
        let mut t = reply.clone();
        t[i] ^= 1;
        assert_eq!(
            invite.accept_reply(rng, &inviter, &t, b"").unwrap_err(),
            PairingError::Authentication
        );
    }
    // A substituted confirmation is detected by the invitee.
    let (_, confirmation) = invite.accept_reply(rng, &inviter, &reply, b"").unwrap();
    let (_, relay_confirmation) = relay_invite
        .accept_reply(rng, &relay, &substituted, b"")
        .unwrap();
    assert_eq!(
        scanned
            .accept_confirmation(&invitee, &relay_confirmation)
            .unwrap_err(),
        PairingError::Authentication
    );
    scanned
        .accept_confirmation(&invitee, &confirmation)
        .unwrap();
    // A link whose inviter key was swapped fails to decode (self-signed identity)
    // or names another identity, which the confirmation then contradicts.
    let mut forged = Invite::from_link(&invite.to_link()).unwrap();
    forged.inviter = relay.public();
    assert_eq!(
        forged
            .accept_confirmation(&invitee, &confirmation)
            .unwrap_err(),
        PairingError::BadSignature,
        "the transcript binds the inviter identity the invitee scanned"
    );
}

#[test]
fn invite_links_reject_garbage() {
    for bad in [
        "",
        "https://x/",
        "https://x/#pair=",
        "https://x/#pair=!!!",
        "https://x/#pair=AAAA",
    ] {
        assert_eq!(
            Invite::from_link(bad).unwrap_err(),
            PairingError::InvalidInvite,
            "{bad:?}"
        );
    }
}

fn pin_run(rng: &mut TestRng, shown: &PinCode, typed: &PinCode) -> Result<(), PairingError> {
    let inviter = IdentityKeyPair::generate(rng);
    let joiner = IdentityKeyPair::generate(rng);
    let (a, msg_a) = PinInviter::start(rng, shown);
    let (j, reply) = PinJoiner::start(rng, typed, &joiner, &msg_a, b"Bob")?;
    let (peer, fin) = a.finish(rng, &inviter, &reply, b"Alice")?;
    assert_eq!(peer.peer, joiner.public());
    let back = j.finish(&fin)?;
    assert_eq!(back.peer, inviter.public());
    Ok(())
}

#[test]
fn pin_pairing_with_the_right_code() {
    let rng = &mut TestRng::new("pin");
    let code = PinCode::new(rng, 42).unwrap();
    let shown = code.display();
    assert!(shown.starts_with("0042-") && shown.len() == 11, "{shown}");
    assert!(shown[5..].bytes().all(|b| b.is_ascii_digit()), "{shown}");
    assert_eq!(PinCode::parse(&shown).unwrap(), code);
    assert_eq!(PinCode::parse(&shown.replace('-', " ")).unwrap(), code);
    assert_eq!(PinCode::parse(&shown.replace('-', "")).unwrap(), code);
    assert_eq!(PinCode::parse(&format!(" {shown}\n")).unwrap(), code);
    pin_run(rng, &code, &PinCode::parse(&shown).unwrap()).unwrap();
    assert!(
        !format!("{code:?}").contains(&shown[5..]),
        "password not in Debug"
    );
}

#[test]
fn pin_codes_are_four_slot_digits_and_six_password_digits() {
    let rng = &mut TestRng::new("pin-format");
    // The whole slot space of the relay fits the code, and nothing beyond it.
    let last = PinCode::new(rng, PIN_SLOT_COUNT - 1).unwrap();
    assert!(last.display().starts_with("9999-"), "{last:?}");
    assert_eq!(PinCode::parse(&last.display()).unwrap().slot(), 9999);
    assert_eq!(
        PinCode::new(rng, PIN_SLOT_COUNT).unwrap_err(),
        PairingError::InvalidInvite
    );
    assert_eq!(PIN_SLOT_COUNT, PIN_SLOTS);
    assert_eq!(PinCode::parse("0000-000000").unwrap().slot(), 0);
    assert_eq!(PinCode::parse("1234-567890").unwrap().slot(), 1234);
    assert_eq!(PinCode::parse("1234 567890").unwrap().slot(), 1234);
    assert_eq!(PinCode::parse("1234567890").unwrap().slot(), 1234);
    for bad in [
        "",
        // the old 3+5 format is refused, not misread
        "123-45678",
        "12345678",
        "123-4567890",
        "12345-67890",
        "1234-56789",
        "1234-5678901",
        "1234--567890",
        "1234-567 890",
        "abcd-efghij",
        "1234-56789x",
        "１２３４-５６７８９０",
    ] {
        assert!(PinCode::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn a_code_one_digit_or_one_slot_away_fails() {
    // Every password of the space is possible and one run tests one of them:
    // the typed code differs from the shown one in a single digit and fails.
    let rng = &mut TestRng::new("pin-space");
    let code = PinCode::parse("0777-246801").unwrap();
    for wrong in ["0777-246800", "0777-146801", "0777-246811"] {
        assert_eq!(
            pin_run(rng, &code, &PinCode::parse(wrong).unwrap()).unwrap_err(),
            PairingError::WrongCode,
            "{wrong}"
        );
    }
    // The slot number is part of the password: the same digits under another
    // slot are another code.
    assert_eq!(
        pin_run(rng, &code, &PinCode::parse("0778-246801").unwrap()).unwrap_err(),
        PairingError::WrongCode
    );
    assert_eq!(PIN_PASSWORD_DIGITS, 6);
}

#[test]
fn wrong_pin_fails_cleanly() {
    let rng = &mut TestRng::new("pin-wrong");
    let code = PinCode::parse("1234-567890").unwrap();
    let wrong = PinCode::parse("1234-567891").unwrap();
    assert_eq!(
        pin_run(rng, &code, &wrong).unwrap_err(),
        PairingError::WrongCode
    );
}

#[test]
fn a_relay_guessing_the_pin_gets_one_guess_and_is_detected() {
    let rng = &mut TestRng::new("pin-mitm");
    let code = PinCode::parse("0777-246801").unwrap();
    let guess = PinCode::parse("0777-000000").unwrap();
    let inviter = IdentityKeyPair::generate(rng);
    let joiner = IdentityKeyPair::generate(rng);
    let relay = IdentityKeyPair::generate(rng);
    // The relay runs SPAKE2 with each side using its guess.
    let (a, _genuine_msg_a) = PinInviter::start(rng, &code);
    let (relay_as_inviter, relay_msg_a) = PinInviter::start(rng, &guess);
    let (j, joiner_reply) = PinJoiner::start(rng, &code, &joiner, &relay_msg_a, b"").unwrap();
    let (_, relay_reply) = PinJoiner::start(rng, &guess, &relay, &_genuine_msg_a, b"").unwrap();
    assert_eq!(
        a.finish(rng, &inviter, &relay_reply, b"").unwrap_err(),
        PairingError::WrongCode
    );
    assert_eq!(
        relay_as_inviter
            .finish(rng, &relay, &joiner_reply, b"")
            .unwrap_err(),
        PairingError::WrongCode
    );
    // The joiner never receives a valid final message from anyone.
    let (a2, msg_a2) = PinInviter::start(rng, &code);
    let (_, reply2) = PinJoiner::start(rng, &code, &joiner, &msg_a2, b"").unwrap();
    let (_, fin_for_other_run) = a2.finish(rng, &inviter, &reply2, b"").unwrap();
    assert_eq!(
        j.finish(&fin_for_other_run).unwrap_err(),
        PairingError::WrongCode
    );
}

#[test]
fn tampered_pin_messages_fail() {
    let rng = &mut TestRng::new("pin-tamper");
    let code = PinCode::parse("0001-111111").unwrap();
    let inviter = IdentityKeyPair::generate(rng);
    let joiner = IdentityKeyPair::generate(rng);
    let (a, msg_a) = PinInviter::start(rng, &code);
    let (_, mut reply) = PinJoiner::start(rng, &code, &joiner, &msg_a, b"").unwrap();
    let n = reply.len();
    reply[n - 5] ^= 1;
    assert!(a.finish(rng, &inviter, &reply, b"").is_err());
}
