//! Pairing over the relay rendezvous: the HTTP half of
//! `parley_shared::engine::pairing` (which decides what to write and checks
//! what is read). An invite is a QR code and link; it shows a PIN only when
//! the user asks for one, so only PIN invites use the relay's PIN numbers.

use parley_shared::crypto::os_rng;
use parley_shared::crypto::pairing::PinCode;
use parley_shared::engine::pairing::{Inviter, Joiner, LinkInvite, ReplyOutcome, join_pin};
use parley_shared::protocol::ErrorCode;
use parley_shared::protocol::rendezvous::{CreateRendezvous, MAX_OPEN_SLOTS, Rendezvous};
use parley_shared::protocol::ws::DeviceId;

use crate::api::{self, Failure, now_ms};
use crate::runtime::{self, sleep};

/// How often a side looks for the other's message.
const POLL_MS: u32 = 700;
/// How often the inviter's wait checks for a PIN request or cancellation.
const TICK_MS: u32 = 100;

/// What the invite screen shows first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shown {
    /// The invite link (QR content).
    pub link: String,
    /// Unix seconds.
    pub expires_at: u64,
}

/// Why no invite could be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InviteError {
    /// The device already has its maximum of open invites (other tabs, or
    /// pages closed less than 10 minutes ago); [`close_all_invites`] helps.
    TooMany(String),
    /// Anything else, as text for people.
    Other(String),
}

/// Something the invite screen shows while it waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InviteEvent {
    /// The PIN the user asked for, `NNNN-NNNNNN`.
    Pin(String),
    /// No PIN could be made; the QR code and link still work.
    PinFailed(String),
    /// A reply failed its check (a wrong PIN, or junk); the invite stays open.
    FailedAttempt {
        /// Replies the invite still accepts.
        attempts_left: u8,
    },
}

fn slot_path(id: &str, msg: &str) -> String {
    format!("/api/v1/rendezvous/{id}/{msg}")
}

/// Inviter: allocates a slot (without a PIN number) and returns what to
/// show, and the flow to wait on.
pub(crate) async fn create_invite() -> Result<(Shown, String, Inviter), InviteError> {
    let t = runtime::ensure_token().await.map_err(InviteError::Other)?;
    let slot: Rendezvous = api::json(
        "POST",
        "/api/v1/rendezvous",
        Some(&t),
        Some(&CreateRendezvous {
            pin: false,
            ttl_secs: None,
        }),
    )
    .await
    .map_err(|f| match f {
        // The only quota behind this endpoint: open invites per device.
        Failure::Refused(_, Some(ErrorCode::QuotaExceeded), _) => InviteError::TooMany(format!(
            "You already have {MAX_OPEN_SLOTS} open invites: in other tabs or windows, or on \
             pages closed in the last 10 minutes."
        )),
        other => InviteError::Other(other.message()),
    })?;
    let inviter =
        runtime::read(|e| Inviter::new(&mut os_rng(), &api::origin(), &slot, e.identity()))
            .ok_or_else(|| InviteError::Other("no account".into()))?
            .map_err(|e| InviteError::Other(e.to_string()))?;
    let shown = Shown {
        link: inviter.link(),
        expires_at: inviter.expires_at(),
    };
    Ok((shown, slot.id, inviter))
}

/// Ends every invite this device has open (after [`InviteError::TooMany`]).
pub(crate) async fn close_all_invites() -> Result<(), String> {
    let t = runtime::ensure_token().await?;
    api::bytes("DELETE", "/api/v1/rendezvous", &t, None)
        .await
        .map(|_| ())
        .map_err(|f| f.message())
}

/// Asks the relay for a PIN number for the slot.
async fn pin_number(t: &str, slot: &str) -> Result<Rendezvous, String> {
    api::json::<(), _>(
        "POST",
        &format!("/api/v1/rendezvous/{slot}/pin"),
        Some(t),
        None,
    )
    .await
    .map_err(|f| match f {
        Failure::Refused(_, Some(ErrorCode::RateLimited), _) => {
            "Too many PIN invites from your network just now. Use the QR code or link, or \
                 ask for a PIN again in a few minutes."
                .to_owned()
        }
        other => other.message(),
    })
}

/// Writes the PIN's first `a1`. Retried while the relay is unreachable; a
/// conflict means an earlier try arrived (only the owner writes `a1`).
async fn put_first_a1(t: &str, slot: &str, a1: Vec<u8>) -> Result<(), Failure> {
    let mut tries = 0;
    loop {
        match api::bytes("PUT", &slot_path(slot, "a1"), t, Some(a1.clone())).await {
            Ok(_) | Err(Failure::Refused(_, Some(ErrorCode::Conflict), _)) => return Ok(()),
            Err(Failure::Unreachable) if tries < 3 => {
                tries += 1;
                sleep(POLL_MS).await;
            }
            Err(f) => return Err(f),
        }
    }
}

/// Rejects the claim whose reply was `b`. Retried while the relay is
/// unreachable, but only while `b` is still the waiting reply: a blind retry
/// could reject a newer claimant's reply that nobody has checked.
async fn reject_claim(t: &str, slot: &str, b: &[u8], next_a1: Vec<u8>) -> Result<(), Failure> {
    let path = format!("/api/v1/rendezvous/{slot}/reject");
    let mut still_waiting = true;
    for _ in 0..5 {
        if still_waiting {
            match api::bytes("POST", &path, t, Some(next_a1.clone())).await {
                // Done, or an earlier try already dropped it.
                Ok(_) | Err(Failure::Refused(_, Some(ErrorCode::Conflict), _)) => return Ok(()),
                Err(Failure::Unreachable) => {}
                Err(f) => return Err(f),
            }
        }
        sleep(POLL_MS).await;
        still_waiting = match api::bytes("GET", &slot_path(slot, "b"), t, None).await {
            Ok(Some(waiting)) if waiting == b => true,
            Ok(_) => return Ok(()),
            Err(Failure::Unreachable) => false,
            Err(f) => return Err(f),
        };
    }
    Err(Failure::Unreachable)
}

/// Inviter: waits for the joiner (until `cancelled()` or expiry), adding a
/// PIN when `wants_pin()` says so, and rejecting failed replies while the
/// invite has attempts left. Returns the new contact.
pub(crate) async fn await_joiner(
    slot: String,
    mut inviter: Inviter,
    cancelled: impl Fn() -> bool,
    wants_pin: impl Fn() -> bool,
    on_event: impl Fn(InviteEvent),
) -> Result<DeviceId, String> {
    let t = runtime::ensure_token().await?;
    let expires_ms = inviter.expires_at() * 1000;
    loop {
        if cancelled() {
            let _ = api::bytes("DELETE", &format!("/api/v1/rendezvous/{slot}"), &t, None).await;
            return Err("Invite cancelled.".into());
        }
        if now_ms() >= expires_ms {
            return Err("This invite expired before anyone joined. Make a new one.".into());
        }
        if wants_pin() && inviter.pin().is_none() {
            match pin_number(&t, &slot).await {
                // The QR code and link still work; the user may ask again.
                Err(e) => on_event(InviteEvent::PinFailed(e)),
                Ok(numbered) => {
                    let a1 = inviter
                        .add_pin(&mut os_rng(), &numbered)
                        .map_err(|e| e.to_string())?;
                    // From here the invite has a PIN that nobody can use
                    // without its a1 on the relay: failing to write it ends
                    // the invite (a new one asks for a PIN again by itself).
                    put_first_a1(&t, &slot, a1).await.map_err(|f| {
                        format!(
                            "Could not prepare the PIN ({}). Make a new invite.",
                            f.message()
                        )
                    })?;
                    on_event(InviteEvent::Pin(inviter.pin().unwrap_or_default()));
                }
            }
            continue;
        }
        let b = match api::bytes("GET", &slot_path(&slot, "b"), &t, None).await {
            Ok(Some(b)) => b,
            Ok(None) | Err(Failure::Unreachable) => {
                for _ in 0..POLL_MS / TICK_MS {
                    if cancelled() || (wants_pin() && inviter.pin().is_none()) {
                        break;
                    }
                    sleep(TICK_MS).await;
                }
                continue;
            }
            Err(Failure::Refused(_, Some(ErrorCode::NotFound), _)) => {
                return Err("This invite is gone (expired or closed). Make a new one.".into());
            }
            Err(f) => return Err(f.message()),
        };
        let outcome =
            runtime::read(|e| inviter.on_reply(&mut os_rng(), e.identity(), &b, &e.profile()))
                .ok_or("no account")?;
        match outcome {
            ReplyOutcome::Paired(paired, a2) => {
                let peer = *paired.peer.device_id();
                runtime::write(|e| e.add_contact(paired, false, now_ms()));
                api::bytes("PUT", &slot_path(&slot, "a2"), &t, Some(a2))
                    .await
                    .map_err(|f| f.message())?;
                return Ok(peer);
            }
            ReplyOutcome::Rejected {
                next_a1,
                attempts_left,
                ..
            } => {
                // The invite stays open for the real joiner: the relay drops
                // this claim and takes the fresh SPAKE2 message.
                reject_claim(&t, &slot, &b, next_a1.unwrap_or_default())
                    .await
                    .map_err(|f| f.message())?;
                on_event(InviteEvent::FailedAttempt { attempts_left });
            }
            ReplyOutcome::Void(e) => {
                let _ = api::bytes("DELETE", &format!("/api/v1/rendezvous/{slot}"), &t, None).await;
                return Err(format!(
                    "Pairing failed ({e}). This invite had too many wrong attempts and is void. \
                     Make a new one."
                ));
            }
        }
    }
}

fn explain_claim(f: Failure) -> String {
    match f {
        Failure::Refused(_, Some(ErrorCode::NotFound), _) => {
            "This invite has expired, was cancelled or was already used. Ask for a new one.".into()
        }
        Failure::Refused(_, Some(ErrorCode::Conflict), _) => {
            "Someone else is joining with this invite right now. Try again in a few seconds.".into()
        }
        other => other.message(),
    }
}

/// Joiner: by scanned or pasted link.
pub(crate) async fn join_link(link: &str) -> Result<DeviceId, String> {
    let parsed =
        runtime::read(|e| LinkInvite::parse(link, &api::origin(), e.identity(), now_ms() / 1000))
            .ok_or("no account")?
            .map_err(|e| e.to_string())?;
    let slot = parsed.slot_id();
    let (joiner, b) = runtime::read(|e| parsed.reply(&mut os_rng(), e.identity(), &e.profile()))
        .ok_or("no account")?
        .map_err(|e| e.to_string())?;
    finish_join(&slot, joiner, b).await
}

/// Joiner: by PIN.
pub(crate) async fn join_pin_code(code: &str) -> Result<DeviceId, String> {
    let code =
        PinCode::parse(code).map_err(|_| "A pairing code looks like 1234-567890.".to_owned())?;
    let t = runtime::ensure_token().await?;
    let slot: Rendezvous = api::json::<(), _>(
        "GET",
        &format!("/api/v1/rendezvous/pin/{}", code.slot()),
        Some(&t),
        None,
    )
    .await
    .map_err(|f| match f {
        Failure::Refused(_, Some(ErrorCode::NotFound), _) => {
            "No invite has this code. It may have expired, been used, or been mistyped.".to_owned()
        }
        Failure::Refused(_, Some(ErrorCode::RateLimited), _) => {
            "Too many codes tried from this device or network. Wait a minute, then try again."
                .to_owned()
        }
        other => other.message(),
    })?;
    let a1 = api::bytes("GET", &slot_path(&slot.id, "a1"), &t, None)
        .await
        .map_err(explain_claim)?
        .ok_or("The invite is not ready yet; try again in a moment.")?;
    let (joiner, b) =
        runtime::read(|e| join_pin(&mut os_rng(), &code, e.identity(), &a1, &e.profile()))
            .ok_or("no account")?
            .map_err(|e| e.to_string())?;
    finish_join(&slot.id, joiner, b).await
}

async fn finish_join(slot: &str, joiner: Joiner, b: Vec<u8>) -> Result<DeviceId, String> {
    let t = runtime::ensure_token().await?;
    api::bytes("PUT", &slot_path(slot, "b"), &t, Some(b))
        .await
        .map_err(explain_claim)?;
    let deadline = now_ms() + 120_000;
    let a2 = loop {
        match api::bytes("GET", &slot_path(slot, "a2"), &t, None).await {
            Ok(Some(a2)) => break a2,
            Ok(None) | Err(Failure::Unreachable) if now_ms() < deadline => sleep(POLL_MS).await,
            Ok(None) | Err(Failure::Unreachable) => {
                return Err("The other device did not answer. Try again.".into());
            }
            // The inviter rejected our reply; the invite itself stays open.
            Err(Failure::Refused(_, Some(ErrorCode::Forbidden), _)) => {
                return Err(match joiner {
                    Joiner::Pin(_) => "Wrong code. Check it and try again; the invite still works.",
                    Joiner::Link(_) => {
                        "The inviting device could not verify this link. Ask for a new invite."
                    }
                }
                .into());
            }
            Err(Failure::Refused(_, Some(ErrorCode::NotFound), _)) => {
                return Err(
                    "Wrong code, or the invite was cancelled or had too many wrong \
                     attempts. Ask for a new invite."
                        .into(),
                );
            }
            Err(f) => return Err(f.message()),
        }
    };
    let paired = runtime::read(|e| joiner.finish(e.identity(), &a2))
        .ok_or("no account")?
        .map_err(|e| e.to_string())?;
    let peer = *paired.peer.device_id();
    runtime::write(|e| e.add_contact(paired, true, now_ms()));
    Ok(peer)
}
