//! `SendMany`: one durable envelope for several devices (ADR 0026). The
//! checks and answers mirror `Send`, for the whole recipient set at once:
//! stored for every recipient or for none.

use std::collections::HashSet;

use super::socket::Session;
use actix_web::web;
use parley_shared::crypto::account::SignedDeviceList;
use parley_shared::protocol::ErrorCode;
use parley_shared::protocol::ws::{
    DeviceId, EnvelopeId, MAX_PAYLOAD, MAX_RECIPIENTS, Recipient, ServerFrame, StaleRecipient,
};

use super::{Close, Conn, Order, close_for, error, refusals, reply};
use crate::clock::{now_ms, unix_ms};
use crate::db::{Fanned, Membership, NewFanout};
use crate::error::HttpError;
use crate::http::AppState;
use crate::mailbox::Ended;

/// A `SendMany` frame.
pub(super) struct Many {
    pub(super) id: EnvelopeId,
    pub(super) to: Vec<Recipient>,
    pub(super) payload: Vec<u8>,
}

/// Why the recipient list itself is unacceptable, if it is.
fn bad_list(sender: &DeviceId, to: &[Recipient]) -> Option<&'static str> {
    if to.is_empty() {
        return Some("a SendMany needs at least one recipient");
    }
    if to.len() > MAX_RECIPIENTS {
        return Some("a SendMany names at most 1024 recipients");
    }
    let mut seen = HashSet::with_capacity(to.len());
    for r in to {
        if &r.device == sender {
            return Some("a SendMany cannot name the sender itself");
        }
        if !seen.insert(r.device) {
            return Some("a SendMany names a device twice");
        }
    }
    None
}

/// What the recipient accounts' lists say about the send.
enum Lists {
    /// Every named counter is current.
    Current,
    /// A recipient is not registered (or erased).
    Unknown(DeviceId),
    /// These accounts (or account-less devices) are stale.
    Stale(Vec<StaleRecipient>),
}

/// Signal's mismatched-devices rule over every recipient: one entry per
/// stale account, naming the first of its devices in the request, in
/// request order.
async fn check_lists(state: &AppState, to: &[Recipient]) -> Result<Lists, HttpError> {
    let store = state.store.clone();
    let devices: Vec<[u8; 32]> = to.iter().map(|r| r.device.to_bytes()).collect();
    let members = web::block(move || store.memberships(&devices)).await??;
    // Each stale entry's device, and its account (`None`: in no account).
    let mut stale: Vec<(DeviceId, Option<[u8; 32]>)> = Vec::new();
    let mut seen = HashSet::new();
    for (r, m) in to.iter().zip(members) {
        match (m, r.list) {
            (Membership::Unknown, _) => return Ok(Lists::Unknown(r.device)),
            (Membership::Unlisted, None) => {}
            (Membership::Unlisted, Some(_)) => stale.push((r.device, None)),
            (Membership::Listed { counter, account }, named) => {
                let current = named.is_some_and(|n| i64::try_from(n).is_ok_and(|n| n == counter));
                if !current && seen.insert(account) {
                    stale.push((r.device, Some(account)));
                }
            }
        }
    }
    if stale.is_empty() {
        return Ok(Lists::Current);
    }
    let mut out = Vec::with_capacity(stale.len());
    for (device, account) in stale {
        let list = match account {
            None => None,
            Some(account) => {
                let store = state.store.clone();
                // The list as stored now (one newer than at the check is
                // just as good: the sender adopts it).
                web::block(move || store.device_list(&account))
                    .await??
                    .and_then(|s| SignedDeviceList::from_bytes(&s.list).ok())
            }
        };
        out.push(StaleRecipient { device, list });
    }
    Ok(Lists::Stale(out))
}

/// Handles one `SendMany`; `Err` ends the connection.
pub(super) async fn send_many(
    state: &AppState,
    session: &mut Session,
    conn: &Conn,
    order: &mut Order,
    many: Many,
) -> Result<(), Option<Close>> {
    let Many { id, to, payload } = many;
    let device = conn.device;
    if payload.len() > MAX_PAYLOAD {
        return reply(session, &refusals::too_large(id)).await;
    }
    if let Some(why) = bad_list(&device, &to) {
        return reply(session, &error(ErrorCode::BadRequest, why, Some(id))).await;
    }
    if order.must_wait(&id) {
        return reply(session, &refusals::held(id)).await;
    }
    // One envelope against the envelope rate, and one recipient entry per
    // device against its own budget.
    let entries = u32::try_from(to.len()).unwrap_or(u32::MAX);
    if !state.limits.per_device.check(&device)
        || !state.limits.recipients_per_device.check_n(&device, entries)
    {
        return reply(session, &refusals::too_fast(order, id, true)).await;
    }
    match check_lists(state, &to).await {
        Ok(Lists::Current) => {}
        Ok(Lists::Unknown(d)) => {
            let msg = format!("no such recipient: {d}");
            return reply(session, &error(ErrorCode::NotFound, &msg, Some(id))).await;
        }
        // Not held like a transient refusal: as for `Stale`, later sends to
        // these accounts name the same stale counters and are refused too.
        Ok(Lists::Stale(stale)) => {
            return reply(session, &ServerFrame::StaleMany { id, stale }).await;
        }
        Err(_) => return reply(session, &refusals::unavailable(order, id)).await,
    }
    let now = now_ms();
    let ttl = refusals::envelope_ttl_ms(state);
    let recipients: Vec<DeviceId> = to.iter().map(|r| r.device).collect();
    let fanout = NewFanout {
        sender: device.to_bytes(),
        recipients: recipients.iter().map(|d| d.to_bytes()).collect(),
        id,
        payload,
        now,
        expires_at: now.saturating_add(ttl),
    };
    let outcome = state.mailbox.committer.commit_many(fanout).await;
    // Ended while the commit ran: no answer and no live delivery (as `Send`).
    if let Some(why) = conn.gone() {
        return Err(Some(why));
    }
    let full = |d: [u8; 32], what: &str| {
        let d = DeviceId::new(d);
        format!("{what} for recipient {d}; retry later")
    };
    let answer = match outcome {
        Ok((Fanned::Stored, fanout)) => {
            metrics::counter!("parley_envelopes_stored_total").increment(1);
            metrics::counter!("parley_fanout_recipients_total").increment(u64::from(entries));
            let frame = ServerFrame::Deliver {
                from: device,
                id,
                sent_at: unix_ms(now),
                ephemeral: false,
                payload: fanout.payload,
            };
            state.mailbox.hub.deliver_many(&recipients, &frame);
            for d in &recipients {
                if crate::push::needs_wake(&state.mailbox.hub, d) {
                    state.push.wake(*d);
                }
            }
            ServerFrame::Accepted { id }
        }
        Ok((Fanned::Duplicate, _)) => ServerFrame::Accepted { id },
        Ok((Fanned::UnknownRecipient(d), _)) => {
            let msg = format!("no such recipient: {}", DeviceId::new(d));
            error(ErrorCode::NotFound, &msg, Some(id))
        }
        Ok((Fanned::UnknownSender, _)) => return Err(Some(close_for(Ended::Erased))),
        Ok((Fanned::QueueFull(d), _)) => {
            order.refuse(id);
            let msg = full(d, "the queue is full");
            error(ErrorCode::RateLimited, &msg, Some(id))
        }
        Ok((Fanned::SenderQuotaFull(d), _)) => {
            order.refuse(id);
            let msg = full(d, "too many of your envelopes wait");
            error(ErrorCode::RateLimited, &msg, Some(id))
        }
        Err(_) => refusals::unavailable(order, id),
    };
    reply(session, &answer).await
}
