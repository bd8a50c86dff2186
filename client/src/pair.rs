//! Pairing over the relay rendezvous: the browser half of
//! `parley_shared::engine::pairing`'s [`InviteFlow`] and [`JoinFlow`], which
//! decide what to request, how often and until when. This module performs
//! their requests, keeps the timers, and passes the screen's intents (PIN,
//! cancel) and the flow's events through.

use parley_shared::crypto::os_rng;
use parley_shared::engine::flow::Step;
use parley_shared::engine::pairing::{
    InviteError, InviteEvent, InviteFlow, JoinError, JoinFlow, Purpose,
};
use parley_shared::protocol::api::{CloseAllSlots, Failure};
use parley_shared::protocol::ws::DeviceId;
use parley_shared::time::UnixMs;

use crate::api;
use crate::runtime::{self, SessionError, sleep};

/// How often the inviter's wait checks for a PIN request or cancellation, ms.
const TICK_MS: u64 = 100;

/// Why pairing ended without a contact.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PairError {
    /// The invite failed.
    #[error(transparent)]
    Invite(#[from] InviteError),
    /// Joining failed.
    #[error(transparent)]
    Join(#[from] JoinError),
    /// No session with the relay, or no account.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The relay refused, or could not be reached.
    #[error(transparent)]
    Relay(#[from] Failure),
    /// Linked, but the history did not go.
    #[error(transparent)]
    Handover(Box<crate::link::HandoverUiError>),
}

impl crate::i18n::Localize for PairError {
    fn text(&self) -> String {
        match self {
            Self::Invite(e) => e.text(),
            Self::Join(e) => e.text(),
            Self::Session(e) => e.text(),
            Self::Relay(f) => f.text(),
            Self::Handover(e) => e.text(),
        }
    }
}

/// What the invite screen shows first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shown {
    /// The invite link (QR content).
    pub link: String,
    /// When the slot closes.
    pub expires_at: UnixMs,
}

/// Inviter: opens a slot (without a PIN number) and returns what to show,
/// and the flow to wait on.
pub(crate) async fn create_invite(purpose: Purpose) -> Result<(Shown, InviteFlow), PairError> {
    let mut flow = match purpose {
        Purpose::Contact => InviteFlow::new(&api::origin()),
        Purpose::Link => InviteFlow::for_link(&api::origin()),
    };
    let mut shown = None;
    let done = drive_invite(&mut flow, true, &|| false, &|| false, &mut |ev| {
        if let InviteEvent::Shown { link, expires_at } = ev {
            shown = Some(Shown { link, expires_at });
        }
    })
    .await;
    match (shown, done) {
        (Some(s), None) => Ok((s, flow)),
        (_, Some(Err(e))) => Err(e),
        // Ended (or stopped) before showing anything: not expected.
        (_, _) => Err(InviteError::Gone.into()),
    }
}

/// Ends every invite this device has open (after [`InviteError::TooMany`]).
pub(crate) async fn close_all_invites() -> Result<(), PairError> {
    let t = runtime::ensure_token().await?;
    api::send(&CloseAllSlots, Some(&t), &()).await?;
    Ok(())
}

/// Runs `flow` until it ends (`Some`), or, with `until_shown`, until it
/// first waits after showing its link (`None`).
async fn drive_invite(
    flow: &mut InviteFlow,
    until_shown: bool,
    cancelled: &dyn Fn() -> bool,
    wants_pin: &dyn Fn() -> bool,
    on_event: &mut dyn FnMut(InviteEvent),
) -> Option<Result<DeviceId, PairError>> {
    let mut shown = false;
    // The screen's PIN wish is a level; the flow takes one ask per rise.
    let mut pin_was_wanted = false;
    loop {
        if cancelled() {
            flow.cancel();
        }
        let wanted = wants_pin();
        if wanted && !pin_was_wanted {
            flow.ask_pin();
        }
        pin_was_wanted = wanted;
        match flow.step(api::now()) {
            Step::Http(req) => {
                let reply = runtime::perform(&req).await;
                if runtime::write(|e| flow.on_reply(&mut os_rng(), e, reply, api::now())).is_none()
                {
                    return Some(Err(SessionError::NoAccount.into()));
                }
            }
            Step::Event(ev) => {
                shown |= matches!(ev, InviteEvent::Shown { .. });
                on_event(ev);
            }
            Step::Wait(_) if until_shown && shown => return None,
            Step::Wait(at) => {
                let ms = at.since(api::now()).as_millis().clamp(1, TICK_MS);
                sleep(ms as u32).await;
            }
            Step::Done(r) => return Some(r.map_err(Into::into)),
            // Pairing moves no blobs.
            Step::Blob(_) => return Some(Err(InviteError::Gone.into())),
        }
    }
}

/// Inviter: waits for the joiner (until `cancelled()` or expiry), adding a
/// PIN when `wants_pin()` says so, and rejecting failed replies while the
/// invite has attempts left. Returns the new contact.
pub(crate) async fn await_joiner(
    mut flow: InviteFlow,
    cancelled: impl Fn() -> bool,
    wants_pin: impl Fn() -> bool,
    mut on_event: impl FnMut(InviteEvent),
) -> Result<DeviceId, PairError> {
    drive_invite(&mut flow, false, &cancelled, &wants_pin, &mut on_event)
        .await
        .unwrap_or(Err(InviteError::Gone.into()))
}

/// Joiner: by scanned or pasted link (for a device link, the new device
/// is in the list being published when this returns).
pub(crate) async fn join_link(link: &str, purpose: Purpose) -> Result<DeviceId, PairError> {
    let flow = runtime::read(|e| {
        let (rng, origin, now) = (&mut os_rng(), api::origin(), api::now());
        match purpose {
            Purpose::Contact => JoinFlow::link(rng, e, link, &origin, now),
            Purpose::Link => JoinFlow::link_device(rng, e, link, &origin, now),
        }
    })
    .ok_or(SessionError::NoAccount)??;
    drive_join(flow).await
}

/// Joiner: by PIN.
pub(crate) async fn join_pin_code(code: &str, purpose: Purpose) -> Result<DeviceId, PairError> {
    let flow = match purpose {
        Purpose::Contact => JoinFlow::pin(code)?,
        Purpose::Link => runtime::read(|e| JoinFlow::link_device_pin(e, code))
            .ok_or(SessionError::NoAccount)??,
    };
    drive_join(flow).await
}

async fn drive_join(mut flow: JoinFlow) -> Result<DeviceId, PairError> {
    loop {
        match flow.step(api::now()) {
            Step::Http(req) => {
                let reply = runtime::perform(&req).await;
                runtime::write(|e| flow.on_reply(&mut os_rng(), e, reply, api::now()))
                    .ok_or(SessionError::NoAccount)?;
            }
            Step::Wait(at) => sleep(at.since(api::now()).as_millis().max(1) as u32).await,
            Step::Done(r) => return Ok(r?),
            Step::Event(()) => {}
            Step::Blob(_) => return Err(JoinError::NoAnswer.into()),
        }
    }
}
