//! `Send`: one envelope for one device. Ephemeral envelopes are forwarded
//! to whoever is online and never stored. A durable one for a device
//! connected here that shows its presence to the sender takes the live
//! fast path (ADR 0028, `crate::fast_path`):
//! delivered at once and accepted without a write if the recipient acks
//! within the window. Every other one, and one not acked in time, is
//! committed before it is accepted.

use parley_shared::protocol::ErrorCode;
use parley_shared::protocol::ws::{DeviceId, EnvelopeId, MAX_PAYLOAD, ServerFrame};

use super::socket::Session;

use super::{Close, Conn, Order, accounts, close_for, error, refusals, reply};
use crate::clock::{now_ms, unix_ms};
use crate::db::{Ack, Enqueued, Membership, NewEnvelope};
use crate::fast_path::{Pending, Waited};
use crate::http::AppState;
use crate::mailbox::{CommitError, Ended};
use parley_shared::time::UnixMs;

/// A `Send` frame's envelope.
pub(super) struct Outgoing {
    pub(super) id: EnvelopeId,
    pub(super) to: DeviceId,
    pub(super) ephemeral: bool,
    pub(super) payload: Vec<u8>,
    pub(super) list: Option<u64>,
}

/// What the fast path left to do.
enum Live<'a> {
    /// Acked by the recipient in time: accepted, nothing written.
    Acked,
    /// Commit it; `pending` is set if it was delivered live already.
    Commit {
        payload: Vec<u8>,
        pending: Option<Pending<'a>>,
    },
}

/// An ack of `from`'s envelope `id` by `recipient`, its tombstone kept as
/// long as an envelope.
pub(super) fn ack_for(
    state: &AppState,
    recipient: DeviceId,
    from: DeviceId,
    id: EnvelopeId,
) -> Ack {
    Ack {
        recipient: recipient.to_bytes(),
        sender: from.to_bytes(),
        id,
        tombstone_until: now_ms().saturating_add(refusals::envelope_ttl_ms(state)),
    }
}

/// Delivers live and waits for the ack, when the fast path is on and the
/// recipient is connected here and shows its presence to the sender.
/// Every other envelope costs one look at the hub, nothing more.
async fn try_live<'a>(
    state: &'a AppState,
    device: DeviceId,
    to: DeviceId,
    id: EnvelopeId,
    (sent_at, payload): (UnixMs, Vec<u8>),
) -> Live<'a> {
    let hub = &state.mailbox.hub;
    let slot = if hub.fast_allowed(&to, &device) {
        state.mailbox.fast.begin((to, device, id))
    } else {
        None
    };
    let Some(mut pending) = slot else {
        return Live::Commit {
            payload,
            pending: None,
        };
    };
    let frame = ServerFrame::Deliver {
        from: device,
        id,
        sent_at,
        ephemeral: false,
        payload,
    };
    // Checked again under the hub's lock: presence may have changed.
    let taken = hub.offer_fast(&to, &device, &frame);
    let ServerFrame::Deliver { payload, .. } = frame else {
        unreachable!("built as a Deliver just above")
    };
    if taken == 0 {
        return Live::Commit {
            payload,
            pending: None,
        };
    }
    match pending.wait().await {
        Waited::Acked => Live::Acked,
        Waited::Commit => Live::Commit {
            payload,
            pending: Some(pending),
        },
    }
}

pub(super) async fn send_envelope(
    state: &AppState,
    session: &mut Session,
    conn: &Conn,
    order: &mut Order,
    envelope: Outgoing,
) -> Result<(), Option<Close>> {
    if envelope.ephemeral {
        return send_ephemeral(state, session, conn, order, envelope).await;
    }
    if !admit(state, session, conn.device, order, &envelope, None).await? {
        return Ok(());
    }
    let Outgoing {
        id, to, payload, ..
    } = envelope;
    let device = conn.device;
    let now = now_ms();
    let sent_at = unix_ms(now);
    let (payload, pending) = match try_live(state, device, to, id, (sent_at, payload)).await {
        Live::Acked => {
            metrics::counter!("parley_envelopes_fast_total").increment(1);
            if let Some(why) = conn.gone() {
                return Err(Some(why));
            }
            return reply(session, &ServerFrame::Accepted { id }).await;
        }
        Live::Commit { payload, pending } => (payload, pending),
    };
    let envelope = stored(state, device, to, id, payload, now);
    let outcome = state.mailbox.committer.commit(envelope).await;
    // The recipient acked while the commit ran: it has the envelope, so the
    // row just written goes again (after the reply, below).
    let acked_meanwhile = pending.is_some_and(Pending::committed);
    // Ended while the commit ran: no answer and no live delivery. An erased
    // sender's envelope is not stored or is erased with it; a revoked
    // session's is delivered from the queue, and a resend is a duplicate.
    if let Some(why) = conn.gone() {
        return Err(Some(why));
    }
    let answer = settle(state, order, id, outcome, !acked_meanwhile).map_err(Some)?;
    let accepted = matches!(answer, ServerFrame::Accepted { .. });
    reply(session, &answer).await?;
    if acked_meanwhile && accepted {
        // A failure only leaves the row: it is delivered again and dropped
        // as a duplicate by the recipient's engine.
        let _ = state
            .mailbox
            .committer
            .ack(ack_for(state, to, device, id))
            .await;
    }
    Ok(())
}

/// Forwarded to online devices only, never stored.
async fn send_ephemeral(
    state: &AppState,
    session: &mut Session,
    conn: &Conn,
    order: &mut Order,
    envelope: Outgoing,
) -> Result<(), Option<Close>> {
    let Outgoing {
        id, to, payload, ..
    } = envelope;
    if payload.len() > MAX_PAYLOAD {
        return reply(session, &refusals::too_large(id)).await;
    }
    if !state.limits.per_device.check(&conn.device) {
        return reply(session, &refusals::too_fast(order, id, false)).await;
    }
    let frame = ServerFrame::Deliver {
        from: conn.device,
        id,
        sent_at: unix_ms(now_ms()),
        ephemeral: true,
        payload,
    };
    // The same answer whether or not anyone took it: the reply must not
    // tell a sender that the recipient is online.
    state.mailbox.hub.deliver(&to, &frame);
    reply(session, &ServerFrame::Accepted { id }).await
}

/// The checks a durable envelope passes before it is delivered or
/// committed, in this order; `false` when it was answered with a refusal
/// instead.
pub(super) async fn admit(
    state: &AppState,
    session: &mut Session,
    device: DeviceId,
    order: &mut Order,
    envelope: &Outgoing,
    membership: Option<Membership>,
) -> Result<bool, Option<Close>> {
    let id = envelope.id;
    let refusal = if envelope.payload.len() > MAX_PAYLOAD {
        refusals::too_large(id)
    } else if order.must_wait(&id) {
        refusals::held(id)
    } else if !state.limits.per_device.check(&device) {
        refusals::too_fast(order, id, true)
    } else {
        // Signal's mismatched-devices rule: the sender must have encrypted
        // for the recipient account's current devices. Stale envelopes are
        // not stored, and later ones to that account carry the same stale
        // counter, so they are refused too: order holds without holding
        // other sends.
        match accounts::check_list(state, envelope.to, envelope.list, membership).await {
            Ok(None) => return Ok(true),
            Ok(Some(list)) => ServerFrame::Stale { id, list },
            Err(_) => refusals::unavailable(order, id),
        }
    };
    reply(session, &refusal).await?;
    Ok(false)
}

/// The row a durable envelope is committed as.
pub(super) fn stored(
    state: &AppState,
    device: DeviceId,
    to: DeviceId,
    id: EnvelopeId,
    payload: Vec<u8>,
    now: i64,
) -> NewEnvelope {
    NewEnvelope {
        sender: device.to_bytes(),
        recipient: to.to_bytes(),
        id,
        payload,
        now,
        expires_at: now.saturating_add(refusals::envelope_ttl_ms(state)),
    }
}

/// The answer to a committed envelope; a stored one is delivered first
/// (unless `deliver` is off: the recipient has it already). `Err`: the
/// sender was erased meanwhile, and its connection ends.
pub(super) fn settle(
    state: &AppState,
    order: &mut Order,
    id: EnvelopeId,
    outcome: Result<(Enqueued, NewEnvelope), CommitError>,
    deliver: bool,
) -> Result<ServerFrame, Close> {
    Ok(match outcome {
        Ok((Enqueued::Stored, envelope)) => {
            metrics::counter!("parley_envelopes_stored_total").increment(1);
            if deliver {
                let (from, to) = (
                    DeviceId::new(envelope.sender),
                    DeviceId::new(envelope.recipient),
                );
                let frame = ServerFrame::Deliver {
                    from,
                    id,
                    sent_at: unix_ms(envelope.now),
                    ephemeral: false,
                    payload: envelope.payload,
                };
                // A connection that had the live copy skips this one.
                state.mailbox.hub.deliver(&to, &frame);
                if crate::push::needs_wake(&state.mailbox.hub, &to) {
                    state.push.wake(to);
                }
            }
            ServerFrame::Accepted { id }
        }
        Ok((Enqueued::Duplicate, _)) => ServerFrame::Accepted { id },
        Ok((Enqueued::UnknownRecipient, _)) => {
            error(ErrorCode::NotFound, "no such recipient", Some(id))
        }
        // Erased, and the hub has not ended this connection yet.
        Ok((Enqueued::UnknownSender, _)) => return Err(close_for(Ended::Erased)),
        Ok((Enqueued::SenderQuotaFull, _)) => {
            order.refuse(id);
            error(
                ErrorCode::RateLimited,
                "too many of your envelopes wait for this recipient; retry later",
                Some(id),
            )
        }
        Ok((Enqueued::QueueFull, _)) => {
            order.refuse(id);
            error(
                ErrorCode::RateLimited,
                "recipient's queue is full; retry later",
                Some(id),
            )
        }
        // Behind one of its chain refused just above (so already held).
        Ok((Enqueued::Held, _)) => refusals::held(id),
        Err(_) => refusals::unavailable(order, id),
    })
}
