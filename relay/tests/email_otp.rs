//! The email-OTP registration gate: codes in the development log and through
//! a real SMTP server (aiosmtpd from `make test`), attempts, rate limits, and
//! no plaintext address in the database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::api::Api;
use common::relay::{Relay, RelayBuilder};
use parley_shared::crypto::keys::IdentityKeyPair;
use parley_shared::crypto::os_rng;
use parley_shared::protocol::auth::GateProof;

async fn request_code(api: &Api, email: &str) -> u16 {
    api.send(
        "POST",
        "/api/v1/registration/email",
        None,
        Some(format!("{{\"email\":\"{email}\"}}")),
    )
    .await
    .0
}

async fn register(api: &Api, email: &str, code: &str) -> u16 {
    let id = IdentityKeyPair::generate(&mut os_rng());
    let gate = GateProof::EmailOtp {
        email: email.into(),
        code: code.into(),
    };
    api.register_with(&id, Api::keys(&id, 1, 1), gate, &id)
        .await
        .0
}

/// The first 6-digit run after `marker` in `text`.
fn code_after(text: &str, marker: &str) -> Option<String> {
    let start = text.rfind(marker)? + marker.len();
    let bytes = &text.as_bytes()[start..];
    (0..bytes.len().saturating_sub(5))
        .find(|&i| {
            bytes[i..i + 6].iter().all(u8::is_ascii_digit)
                && bytes.get(i + 6).is_none_or(|b| !b.is_ascii_digit())
        })
        .map(|i| text[start + i..start + i + 6].to_owned())
}

/// A relay with the email gate and the development (log) mailer.
/// Codes are logged at debug only, so the log level names the mail module.
async fn dev_mailer_relay() -> Relay {
    RelayBuilder::new()
        .env("PARLEY_REGISTRATION", "email-otp")
        .env("PARLEY_SMTP_URL", "log")
        .env("PARLEY_LOG", "info,parley_relay::mail=debug")
        .start()
        .await
}

/// An operator who leaves the development mailer on at the usual log level
/// does not collect addresses and codes in the log.
#[tokio::test]
async fn development_mailer_logs_no_address_or_code_at_info() {
    let relay = RelayBuilder::new()
        .env("PARLEY_REGISTRATION", "email-otp")
        .env("PARLEY_SMTP_URL", "log")
        .start()
        .await;
    let api = Api::new(&relay);
    assert_eq!(request_code(&api, "carol@example.org").await, 202);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let logs = relay.logs();
    assert!(!logs.contains("carol@example.org"), "{logs}");
    assert!(code_after(&logs, "code").is_none(), "{logs}");
}

async fn code_from_log(relay: &Relay) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(c) = code_after(&relay.logs(), "code") {
            return c;
        }
        assert!(
            Instant::now() < deadline,
            "no code in the log: {}",
            relay.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn development_mailer_codes_register_once() {
    let relay = dev_mailer_relay().await;
    let api = Api::new(&relay);
    assert_eq!(request_code(&api, "not-an-address").await, 400);
    assert_eq!(request_code(&api, "Alice@Example.org").await, 202);
    let code = code_from_log(&relay).await;
    assert_eq!(
        request_code(&api, "alice@example.org").await,
        429,
        "one code per minute per address"
    );

    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_eq!(register(&api, "alice@example.org", wrong).await, 403);
    let id = IdentityKeyPair::generate(&mut os_rng());
    let (st, _) = api
        .register_with(&id, Api::keys(&id, 1, 1), GateProof::Open, &id)
        .await;
    assert_eq!(st, 403, "the gate needs a code");
    assert_eq!(
        register(&api, " ALICE@example.org ", &code).await,
        201,
        "addresses are normalised"
    );
    assert_eq!(
        register(&api, "alice@example.org", &code).await,
        403,
        "a code is used once"
    );
}

/// Attack: one client asks for codes to many addresses, to use the relay
/// as a mailer. Beyond a handful per hour from one address it is refused.
#[tokio::test]
async fn one_client_cannot_mail_codes_to_many_addresses() {
    let relay = dev_mailer_relay().await;
    let api = Api::new(&relay);
    let mut statuses = Vec::new();
    for i in 0..12 {
        statuses.push(request_code(&api, &format!("victim{i}@example.org")).await);
    }
    assert_eq!(&statuses[..10], &[202; 10]);
    assert_eq!(&statuses[10..], &[429, 429]);
}

#[tokio::test]
async fn five_wrong_attempts_burn_the_code() {
    let relay = dev_mailer_relay().await;
    let api = Api::new(&relay);
    assert_eq!(request_code(&api, "bob@example.org").await, 202);
    let code = code_from_log(&relay).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        assert_eq!(register(&api, "bob@example.org", wrong).await, 403);
    }
    assert_eq!(
        register(&api, "bob@example.org", &code).await,
        403,
        "no attempts left"
    );
}

#[tokio::test]
async fn open_relays_do_not_send_codes() {
    let relay = RelayBuilder::new().start().await;
    assert_eq!(request_code(&Api::new(&relay), "x@example.org").await, 404);
}

#[tokio::test]
async fn codes_travel_by_smtp_and_addresses_are_stored_hashed() {
    let (Some(smtp), Some(maildir)) = (
        common::service_env("PARLEY_TEST_SMTP_URL"),
        common::service_env("PARLEY_TEST_SMTP_MAILDIR"),
    ) else {
        return;
    };
    let relay = RelayBuilder::new()
        .env("PARLEY_REGISTRATION", "email-otp")
        .env("PARLEY_SMTP_URL", smtp)
        .env("PARLEY_SMTP_FROM", "Parley <relay@parley.test>")
        .start()
        .await;
    let api = Api::new(&relay);
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let email = format!("carol-{nonce}@example.org");
    assert_eq!(request_code(&api, &email).await, 202);

    // Find the mail the SMTP server filed for this address.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mail = loop {
        let found = std::fs::read_dir(format!("{maildir}/new"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .find(|m| m.contains(&email));
        if let Some(m) = found {
            break m;
        }
        assert!(Instant::now() < deadline, "no mail for {email}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(mail.contains("relay@parley.test"), "{mail}");
    let code = code_after(&mail, "code is").expect("a code in the mail");
    assert_eq!(register(&api, &email, &code).await, 201);

    // The relay's database holds no trace of the address in clear.
    let db = std::fs::read(relay.data_dir.join("parley.db")).unwrap();
    let wal = std::fs::read(relay.data_dir.join("parley.db-wal")).unwrap_or_default();
    for bytes in [db, wal] {
        assert!(
            !bytes.windows(email.len()).any(|w| w == email.as_bytes()),
            "plaintext address stored"
        );
    }
}
