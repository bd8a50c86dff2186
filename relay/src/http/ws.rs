//! `/api/v1/ws`: authenticated in the first frame, then envelopes both ways.
//!
//! Per connection, frames are handled one at a time, so one sender's
//! envelopes are committed (and later delivered) in the order it sent them.
//! A bad frame closes only this connection, with a close code.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, Session};
use parley_shared::crypto::primitives::sha256;
use parley_shared::protocol::ErrorCode;
use parley_shared::protocol::ws::{
    ClientFrame, DeviceId, EnvelopeId, MAX_FRAME, MAX_PAYLOAD, MAX_WATCH, ServerFrame, close,
};

use super::AppState;
use crate::db::{Enqueued, NewEnvelope};
use crate::sweeper::now_ms;

/// Time a client has to send its `Auth` frame.
const AUTH_TIMEOUT: Duration = Duration::from_secs(10);
/// Stored envelopes loaded per query when a device connects.
const PAGE: i64 = 256;
/// How long a connection refuses later sends after a transient refusal,
/// waiting for the refused envelope to be sent again (a client that gave it
/// up must not be blocked for ever).
const REFUSAL_HOLD: Duration = Duration::from_secs(30);

/// Per-connection order keeping: after a transient refusal of envelope k,
/// the sends pipelined behind it are refused too until k comes again, so a
/// resend can never commit after envelopes sent later.
#[derive(Debug, Default)]
struct Order {
    refused: Option<(EnvelopeId, std::time::Instant)>,
}

impl Order {
    /// Whether `id` must wait for the earlier refused envelope.
    fn must_wait(&mut self, id: &EnvelopeId) -> bool {
        match self.refused {
            Some((k, _)) if &k == id => {
                self.refused = None;
                false
            }
            Some((_, at)) if at.elapsed() < REFUSAL_HOLD => true,
            _ => {
                self.refused = None;
                false
            }
        }
    }

    fn refuse(&mut self, id: EnvelopeId) {
        if self.refused.is_none() {
            self.refused = Some((id, std::time::Instant::now()));
        }
    }
}

/// Upgrades the request and runs the connection in its own task.
pub(super) async fn connect(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    let (response, session, stream) = actix_ws::handle(&req, body)?;
    let stream = stream
        .max_frame_size(MAX_FRAME)
        .aggregate_continuations()
        .max_continuation_size(MAX_FRAME);
    actix_web::rt::spawn(run(state.into_inner(), session, stream));
    Ok(response)
}

async fn close_with(session: Session, code: u16, why: &str) {
    let _ = session
        .close(Some(CloseReason {
            code: CloseCode::Other(code),
            description: Some(why.to_owned()),
        }))
        .await;
}

async fn send(session: &mut Session, frame: &ServerFrame) -> bool {
    session.binary(frame.to_bytes()).await.is_ok()
}

fn error(code: ErrorCode, message: &str, id: Option<EnvelopeId>) -> ServerFrame {
    ServerFrame::Error {
        code,
        message: message.to_owned(),
        id,
    }
}

async fn authenticate(state: &AppState, stream: &mut AggregatedMessageStream) -> Option<DeviceId> {
    let first = tokio::time::timeout(AUTH_TIMEOUT, stream.recv())
        .await
        .ok()??
        .ok()?;
    let AggregatedMessage::Binary(bytes) = first else {
        return None;
    };
    let ClientFrame::Auth { token } = ClientFrame::from_bytes(&bytes).ok()? else {
        return None;
    };
    let hash = sha256(&[token.as_bytes()]);
    let store = state.store.clone();
    let device = web::block(move || store.device_for_token(&hash, now_ms()))
        .await
        .ok()?
        .ok()??;
    device.try_into().ok()
}

async fn run(state: Arc<AppState>, mut session: Session, mut stream: AggregatedMessageStream) {
    let Some(device) = authenticate(&state, &mut stream).await else {
        let _ = send(
            &mut session,
            &error(
                ErrorCode::Unauthorized,
                "first frame must be Auth with a valid token",
                None,
            ),
        )
        .await;
        return close_with(session, close::UNAUTHORIZED, "unauthorized").await;
    };
    let Ok((conn, mut outbox)) = state
        .mailbox
        .hub
        .register(device, state.config.max_connections_per_device)
    else {
        let _ = send(
            &mut session,
            &error(
                ErrorCode::RateLimited,
                "too many connections for this device",
                None,
            ),
        )
        .await;
        return close_with(session, close::TOO_MANY_CONNECTIONS, "too many connections").await;
    };
    // Registered before reading the queue: an envelope committed meanwhile is
    // delivered live and maybe again from the queue; clients dedupe by (from, id).
    if deliver_queued(&state, &mut session, device).await {
        serve(&state, &mut session, &mut stream, &mut outbox, device, conn).await;
    }
    state.mailbox.hub.unregister(&device, conn);
    let _ = session.close(None).await;
}

async fn deliver_queued(state: &AppState, session: &mut Session, device: DeviceId) -> bool {
    let store = state.store.clone();
    let queued = match web::block(move || store.queued_count(&device)).await {
        Ok(Ok(n)) => n,
        _ => {
            let _ = send(
                session,
                &error(ErrorCode::Unavailable, "mailbox unavailable", None),
            )
            .await;
            return false;
        }
    };
    if !send(session, &ServerFrame::Ready { queued }).await {
        return false;
    }
    let mut after = 0i64;
    loop {
        let store = state.store.clone();
        let Ok(Ok(page)) = web::block(move || store.pending(&device, after, PAGE)).await else {
            return false;
        };
        let full = i64::try_from(page.len()).unwrap_or(0) >= PAGE;
        for e in page {
            after = e.seq;
            let (Ok(from), Ok(id)) = (e.sender.try_into(), e.envelope_id.try_into()) else {
                continue;
            };
            let frame = ServerFrame::Deliver {
                from,
                id,
                sent_at: u64::try_from(e.created_at).unwrap_or(0),
                ephemeral: false,
                payload: e.payload,
            };
            if !send(session, &frame).await {
                return false;
            }
        }
        if !full {
            return true;
        }
    }
}

async fn serve(
    state: &AppState,
    session: &mut Session,
    stream: &mut AggregatedMessageStream,
    outbox: &mut tokio::sync::mpsc::Receiver<ServerFrame>,
    device: DeviceId,
    conn: u64,
) {
    let mut order = Order::default();
    loop {
        tokio::select! {
            msg = stream.recv() => match msg {
                Some(Ok(AggregatedMessage::Binary(bytes))) => match ClientFrame::from_bytes(&bytes) {
                    Ok(frame) => {
                        if !handle(state, session, device, conn, &mut order, frame).await {
                            return;
                        }
                    }
                    Err(_) => {
                        metrics::counter!("parley_ws_bad_frames_total").increment(1);
                        let _ = send(session, &error(ErrorCode::BadRequest, "malformed frame", None)).await;
                        let s = session.clone();
                        return close_with(s, close::BAD_FRAME, "malformed frame").await;
                    }
                },
                Some(Ok(AggregatedMessage::Ping(p))) => {
                    if session.pong(&p).await.is_err() {
                        return;
                    }
                }
                Some(Ok(AggregatedMessage::Pong(_))) => {}
                Some(Ok(AggregatedMessage::Text(_))) => {
                    let _ = send(session, &error(ErrorCode::BadRequest, "frames are binary", None)).await;
                    let s = session.clone();
                    return close_with(s, close::BAD_FRAME, "text frame").await;
                }
                Some(Ok(AggregatedMessage::Close(_))) | None => return,
                Some(Err(_)) => {
                    // Protocol error, e.g. a frame over the size limit.
                    let s = session.clone();
                    return close_with(s, close::BAD_FRAME, "protocol error or frame too large").await;
                }
            },
            out = outbox.recv() => match out {
                Some(frame) => {
                    if !send(session, &frame).await {
                        return;
                    }
                }
                None => return,
            },
        }
    }
}

/// Handles one authenticated frame; false ends the connection.
async fn handle(
    state: &AppState,
    session: &mut Session,
    device: DeviceId,
    conn: u64,
    order: &mut Order,
    frame: ClientFrame,
) -> bool {
    match frame {
        ClientFrame::Auth { .. } => {
            send(
                session,
                &error(ErrorCode::BadRequest, "already authenticated", None),
            )
            .await
        }
        ClientFrame::Presence { share, watch } => {
            if watch.len() > MAX_WATCH {
                return send(
                    session,
                    &error(ErrorCode::TooLarge, "watching too many devices", None),
                )
                .await;
            }
            state.mailbox.hub.set_presence(&device, conn, share, watch);
            true
        }
        ClientFrame::Ack { from, id } => {
            let store = state.store.clone();
            let until = now_ms().saturating_add(
                i64::try_from(state.config.envelope_ttl.as_millis()).unwrap_or(i64::MAX),
            );
            // Only the recipient can ack: the query is scoped to `device`.
            let _ = web::block(move || store.ack(&device, &from, &id, until)).await;
            true
        }
        ClientFrame::Send {
            id,
            to,
            ephemeral,
            payload,
        } => {
            if payload.len() > MAX_PAYLOAD {
                return send(
                    session,
                    &error(ErrorCode::TooLarge, "envelope too large", Some(id)),
                )
                .await;
            }
            if !ephemeral && order.must_wait(&id) {
                let wait = error(
                    ErrorCode::RateLimited,
                    "an earlier envelope was refused; resend from it, in order",
                    Some(id),
                );
                return send(session, &wait).await;
            }
            if !state.limits.per_device.check(&device) {
                metrics::counter!("parley_rate_limited_total", "scope" => "device").increment(1);
                if !ephemeral {
                    order.refuse(id);
                }
                let limited = error(
                    ErrorCode::RateLimited,
                    "sending too fast; resend later",
                    Some(id),
                );
                return send(session, &limited).await;
            }
            let now = now_ms();
            let sent_at = u64::try_from(now).unwrap_or(0);
            if ephemeral {
                // Forwarded to online devices only, never stored.
                let frame = ServerFrame::Deliver {
                    from: device,
                    id,
                    sent_at,
                    ephemeral,
                    payload,
                };
                // The same answer whether or not anyone took it: the
                // reply must not tell a sender that the recipient is online.
                state.mailbox.hub.deliver(&to, &frame);
                return send(session, &ServerFrame::Accepted { id }).await;
            }
            let ttl = i64::try_from(state.config.envelope_ttl.as_millis()).unwrap_or(i64::MAX);
            let envelope = NewEnvelope {
                sender: device,
                recipient: to,
                id,
                payload,
                now,
                expires_at: now.saturating_add(ttl),
            };
            let reply = match state.mailbox.committer.commit(envelope).await {
                Ok((Enqueued::Stored, envelope)) => {
                    metrics::counter!("parley_envelopes_stored_total").increment(1);
                    let frame = ServerFrame::Deliver {
                        from: device,
                        id,
                        sent_at,
                        ephemeral: false,
                        payload: envelope.payload,
                    };
                    state.mailbox.hub.deliver(&to, &frame);
                    ServerFrame::Accepted { id }
                }
                Ok((Enqueued::Duplicate, _)) => ServerFrame::Accepted { id },
                Ok((Enqueued::UnknownRecipient, _)) => {
                    error(ErrorCode::NotFound, "no such recipient", Some(id))
                }
                Ok((Enqueued::QueueFull, _)) => {
                    order.refuse(id);
                    error(
                        ErrorCode::RateLimited,
                        "recipient's queue is full; retry later",
                        Some(id),
                    )
                }
                Err(_) => {
                    order.refuse(id);
                    error(
                        ErrorCode::Unavailable,
                        "mailbox unavailable; resend later",
                        Some(id),
                    )
                }
            };
            send(session, &reply).await
        }
    }
}
