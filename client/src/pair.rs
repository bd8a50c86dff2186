//! Pairing over the relay rendezvous: the HTTP half of
//! `parley_shared::engine::pairing` (which decides what to write and checks
//! what is read).

use parley_shared::crypto::os_rng;
use parley_shared::crypto::pairing::PinCode;
use parley_shared::engine::pairing::{Inviter, Joiner, LinkInvite, join_pin};
use parley_shared::protocol::ErrorCode;
use parley_shared::protocol::rendezvous::{CreateRendezvous, Rendezvous};
use parley_shared::protocol::ws::DeviceId;

use crate::api::{self, Failure, now_ms};
use crate::runtime::{self, sleep};

/// How often a side looks for the other's message.
const POLL_MS: u32 = 700;

/// What the invite screen shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// The invite link (QR content).
    pub link: String,
    /// `NNN-NNNNN`.
    pub pin: String,
    /// Unix seconds.
    pub expires_at: u64,
}

fn slot_path(id: &str, msg: &str) -> String {
    format!("/api/v1/rendezvous/{id}/{msg}")
}

/// Inviter: allocates a slot and returns what to show, and the flow to wait on.
pub async fn create_invite() -> Result<(Shown, String, Inviter), String> {
    let t = runtime::ensure_token().await?;
    let slot: Rendezvous = api::json(
        "POST",
        "/api/v1/rendezvous",
        Some(&t),
        Some(&CreateRendezvous {
            pin: true,
            ttl_secs: None,
        }),
    )
    .await
    .map_err(|f| f.message())?;
    let (inviter, a1) =
        runtime::read(|e| Inviter::new(&mut os_rng(), &api::origin(), &slot, e.identity()))
            .ok_or("no account")?
            .map_err(|e| e.to_string())?;
    api::bytes("PUT", &slot_path(&slot.id, "a1"), &t, Some(a1))
        .await
        .map_err(|f| f.message())?;
    let shown = Shown {
        link: inviter.link(),
        pin: inviter.pin(),
        expires_at: inviter.expires_at(),
    };
    Ok((shown, slot.id, inviter))
}

/// Inviter: waits for the joiner (until `cancelled()` or expiry), then
/// completes the pairing. Returns the new contact.
pub async fn await_joiner(
    slot: String,
    inviter: Inviter,
    cancelled: impl Fn() -> bool,
) -> Result<DeviceId, String> {
    let t = runtime::ensure_token().await?;
    let expires_ms = inviter.expires_at() * 1000;
    let b = loop {
        if cancelled() {
            let _ = api::bytes("DELETE", &format!("/api/v1/rendezvous/{slot}"), &t, None).await;
            return Err("Invite cancelled.".into());
        }
        if now_ms() >= expires_ms {
            return Err("This invite expired before anyone joined. Make a new one.".into());
        }
        match api::bytes("GET", &slot_path(&slot, "b"), &t, None).await {
            Ok(Some(b)) => break b,
            Ok(None) | Err(Failure::Unreachable) => sleep(POLL_MS).await,
            Err(f) => return Err(f.message()),
        }
    };
    let done = runtime::read(|e| inviter.on_reply(&mut os_rng(), e.identity(), &b, &e.profile()))
        .ok_or("no account")?;
    match done {
        Ok((paired, a2)) => {
            let peer = *paired.peer.device_id();
            runtime::write(|e| e.add_contact(paired, false, now_ms()));
            api::bytes("PUT", &slot_path(&slot, "a2"), &t, Some(a2))
                .await
                .map_err(|f| f.message())?;
            Ok(peer)
        }
        Err(e) => {
            // One guess per code: the slot is void after any failed attempt.
            let _ = api::bytes("DELETE", &format!("/api/v1/rendezvous/{slot}"), &t, None).await;
            Err(format!(
                "Pairing failed ({e}). Someone entered a wrong code, so this invite is void. Make a new one."
            ))
        }
    }
}

fn explain_claim(f: Failure) -> String {
    match f {
        Failure::Refused(_, Some(ErrorCode::NotFound), _) => {
            "This invite has expired or was cancelled. Ask for a new one.".into()
        }
        Failure::Refused(_, Some(ErrorCode::Conflict), _) => {
            "This invite was already used. Ask for a new one.".into()
        }
        other => other.message(),
    }
}

/// Joiner: by scanned or pasted link.
pub async fn join_link(link: &str) -> Result<DeviceId, String> {
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
pub async fn join_pin_code(code: &str) -> Result<DeviceId, String> {
    let code =
        PinCode::parse(code).map_err(|_| "A pairing code looks like 123-45678.".to_owned())?;
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
            Err(Failure::Refused(_, Some(ErrorCode::NotFound), _)) => {
                return Err(
                    "Wrong code, or the invite was cancelled. Ask for a new invite.".into(),
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
