//! `/api/v1/ws`: authenticated in the first frame, then envelopes both ways.
//!
//! Per connection, sends are handled in order (`pipeline`: one at a time,
//! or as one chain of durable sends, ADR 0037), so one sender's envelopes
//! are committed (and later delivered) in the order it sent them; its acks
//! and presence frames are handled as they arrive.
//! A bad frame closes only this connection, with a close code. A connection
//! lives no longer than its token and its device: revoking the token, erasing
//! the device or the token's expiry closes it, and no frame is served after.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpResponse, web};
use parley_shared::crypto::primitives::sha256;
use parley_shared::protocol::ErrorCode;
use parley_shared::protocol::ws::{
    ClientFrame, DeviceId, EnvelopeId, MAX_WATCH, ServerFrame, close,
};

use self::delivery::{Io, deliver_queued, next_poll};
use self::socket::{Frames, Message, Session};
use super::AppState;
use super::order::Order;
use crate::backlog::{Backlog, Recent};
use crate::clock::now_ms;
use crate::error::HttpError;
use crate::mailbox::{EndSignal, Ended};

mod accounts;
mod chain;
mod delivery;
mod fanout;
mod pipeline;
mod refusals;
mod send;
mod socket;
pub(crate) mod upgrade;

/// Time a client has to send its `Auth` frame.
const AUTH_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest single wait of the expiry timer: the wall clock the expiry is
/// measured on may move against the timer's monotonic one.
const EXPIRY_RECHECK: Duration = Duration::from_secs(3600);

/// A close code and its reason.
type Close = (u16, &'static str);

/// What an authenticated connection may do, and for how long.
struct Conn {
    device: DeviceId,
    id: u64,
    /// SHA-256 of the token that opened it (re-checked by the mailbox poll).
    token_hash: [u8; 32],
    /// Token expiry, Unix ms.
    expires_at: i64,
    end: Arc<EndSignal>,
    backlog: Arc<Backlog>,
}

fn close_for(why: Ended) -> Close {
    match why {
        Ended::Revoked => (close::REVOKED, "session revoked"),
        Ended::Erased => (close::DEVICE_ERASED, "device erased"),
        Ended::Removed => (close::REMOVED, "device removed from its account"),
    }
}

impl Conn {
    /// Why the connection must stop now, if it must. Checked before every
    /// frame in either direction: once a revoke or erase returned, or the
    /// token expired, nothing more is served.
    fn gone(&self) -> Option<Close> {
        match self.end.ended() {
            Some(why) => Some(close_for(why)),
            None if now_ms() >= self.expires_at => Some((close::EXPIRED, "session expired")),
            None => None,
        }
    }

    /// When the expiry timer should next look (at most [`EXPIRY_RECHECK`] away).
    fn expiry_check(&self) -> tokio::time::Instant {
        let left = u64::try_from(self.expires_at.saturating_sub(now_ms())).unwrap_or(0);
        let wait = Duration::from_millis(left).min(EXPIRY_RECHECK);
        tokio::time::Instant::now() + wait
    }
}

/// The token's device, its hash and its expiry.
struct Authenticated {
    device: DeviceId,
    token_hash: [u8; 32],
    expires_at: i64,
}

/// A plain `GET` of the WebSocket's path: every handshake goes to
/// [`upgrade::serve`] before routing, so what reaches here is not one.
pub(super) async fn connect() -> Result<HttpResponse, HttpError> {
    Err(HttpError::new(
        ErrorCode::BadRequest,
        "this endpoint needs a WebSocket upgrade",
    ))
}

async fn send(session: &mut Session, frame: &ServerFrame) -> bool {
    session.binary(frame.to_bytes()).await.is_ok()
}

/// The last frame before a close: written without waiting for room, so
/// the close's time limit bounds it too.
fn send_last(session: &mut Session, frame: &ServerFrame) {
    let _ = session.binary_last(frame.to_bytes());
}

fn error(code: ErrorCode, message: &str, id: Option<EnvelopeId>) -> ServerFrame {
    ServerFrame::Error {
        code,
        message: message.to_owned(),
        id,
    }
}

async fn authenticate(state: &AppState, stream: &mut Frames) -> Option<Authenticated> {
    let first = tokio::time::timeout(AUTH_TIMEOUT, stream.recv())
        .await
        .ok()??
        .ok()?;
    let Message::Binary(bytes) = first else {
        return None;
    };
    let ClientFrame::Auth { token } = ClientFrame::from_bytes(&bytes).ok()? else {
        return None;
    };
    let token_hash = sha256(&[token.as_bytes()]);
    let (device, expires_at) = live_token(state, token_hash).await?;
    Some(Authenticated {
        device: DeviceId::from_bytes(&device)?,
        token_hash,
        expires_at,
    })
}

async fn live_token(state: &AppState, hash: [u8; 32]) -> Option<(Vec<u8>, i64)> {
    let store = state.store.clone();
    web::block(move || store.live_token(&hash, now_ms()))
        .await
        .ok()?
        .ok()?
}

async fn unauthorized(mut session: Session, stream: Frames) {
    send_last(
        &mut session,
        &error(
            ErrorCode::Unauthorized,
            "first frame must be Auth with a valid token",
            None,
        ),
    );
    stream
        .close(session, Some((close::UNAUTHORIZED, "unauthorized")))
        .await;
}

async fn run(state: Arc<AppState>, mut session: Session, mut stream: Frames) {
    let Some(auth) = authenticate(&state, &mut stream).await else {
        return unauthorized(session, stream).await;
    };
    let device = auth.device;
    let Ok(reg) = state.mailbox.hub.register(
        device,
        auth.token_hash,
        state.config.max_connections_per_device,
    ) else {
        send_last(
            &mut session,
            &error(
                ErrorCode::RateLimited,
                "too many connections for this device",
                None,
            ),
        );
        return stream
            .close(
                session,
                Some((close::TOO_MANY_CONNECTIONS, "too many connections")),
            )
            .await;
    };
    let (conn, mut outbox) = (
        Conn {
            device,
            id: reg.id,
            token_hash: auth.token_hash,
            expires_at: auth.expires_at,
            end: reg.end,
            backlog: reg.backlog,
        },
        reg.frames,
    );
    // A revoke or erase between the token check and the registration could
    // not reach this connection: check the token again now that one can.
    if live_token(&state, auth.token_hash).await.is_none() {
        state.mailbox.hub.unregister(&device, conn.id);
        return unauthorized(session, stream).await;
    }
    // Registered before reading the queue: an envelope committed meanwhile is
    // queued live too, and `recent` sends it only once.
    let mut recent = Recent::default();
    let why = match deliver_queued(&state, &mut session, &conn, &mut recent).await {
        Ok(()) => {
            let mut io = Io {
                session: &mut session,
                outbox: &mut outbox,
                recent: &mut recent,
            };
            serve(&state, &mut io, &mut stream, &conn).await
        }
        Err(why) => why,
    };
    state.mailbox.hub.unregister(&device, conn.id);
    stream.close(session, why).await;
}

async fn serve(
    state: &AppState,
    io: &mut Io<'_>,
    stream: &mut Frames,
    conn: &Conn,
) -> Option<Close> {
    let expiry = tokio::time::sleep_until(conn.expiry_check());
    tokio::pin!(expiry);
    let mut sends = pipeline::Sends::default();
    let mut poll = state.config.scale_out.mailbox_poll.map(|every| {
        let mut i = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        i
    });
    loop {
        tokio::select! {
            // The end and the expiry win over frames ready in the same wake-up.
            biased;
            why = conn.end.wait() => return Some(close_for(why)),
            () = &mut expiry => {
                if let Some(why) = conn.gone() {
                    return Some(why);
                }
                expiry.as_mut().reset(conn.expiry_check());
            }
            // Bytes a slow reader has not taken yet go out as it takes them.
            _closed = io.session.flushing() => return None,
            done = sends.next(), if sends.busy() => {
                if let Err(why) = sends.finished(state, io.session, conn, done) {
                    return why;
                }
            }
            msg = stream.recv(), if sends.has_room() => {
                // Also covers an end that came after the select woke up.
                if let Some(why) = conn.gone() {
                    return Some(why);
                }
                let session = &mut *io.session;
                match msg {
                    Some(Ok(Message::Binary(bytes))) => match ClientFrame::from_bytes(&bytes).map(pipeline::Job::of) {
                        Ok(Ok(job)) => sends.push(state, session, conn, job, bytes.len()),
                        Ok(Err(frame)) => {
                            if let Err(why) = handle(state, session, conn, frame).await {
                                return why;
                            }
                        }
                        Err(_) => {
                            metrics::counter!("parley_ws_bad_frames_total").increment(1);
                            send_last(session, &error(ErrorCode::BadRequest, "malformed frame", None));
                            return Some((close::BAD_FRAME, "malformed frame"));
                        }
                    },
                    Some(Ok(Message::Ping(p))) => session.pong(&p).await.ok()?,
                    Some(Ok(Message::Pong)) => {}
                    Some(Ok(Message::Text)) => {
                        send_last(session, &error(ErrorCode::BadRequest, "frames are binary", None));
                        return Some((close::BAD_FRAME, "text frame"));
                    }
                    Some(Ok(Message::Close)) | None => return None,
                    // Protocol error, e.g. a frame over the size limit.
                    Some(Err(_)) => return Some((close::BAD_FRAME, "protocol error or frame too large")),
                }
            }
            out = io.outbox.recv() => {
                let Some(live) = out else {
                    return conn.gone();
                };
                if let Some(why) = conn.gone() {
                    return Some(why);
                }
                if let Err(why) = io.forward(conn, live).await {
                    return why;
                }
            }
            () = conn.backlog.overflow() => {
                if let Some(why) = conn.gone() {
                    return Some(why);
                }
                if let Err(why) = io.catch_up(state, conn).await {
                    return why;
                }
            }
            () = next_poll(&mut poll) => {
                if let Some(why) = conn.gone() {
                    return Some(why);
                }
                if let Err(why) = io.poll(state, conn).await {
                    return why;
                }
            }
        }
    }
}

/// Sends a frame; `Err(None)` (stop, the socket is gone) if that fails.
async fn reply(session: &mut Session, frame: &ServerFrame) -> Result<(), Option<Close>> {
    if send(session, frame).await {
        Ok(())
    } else {
        Err(None)
    }
}

/// Handles one authenticated frame other than a send (those go through
/// `pipeline`); `Err` ends the connection, with a close code when there is
/// one to give.
async fn handle(
    state: &AppState,
    session: &mut Session,
    conn: &Conn,
    frame: ClientFrame,
) -> Result<(), Option<Close>> {
    let device = conn.device;
    match frame {
        ClientFrame::Auth { .. } => {
            reply(
                session,
                &error(ErrorCode::BadRequest, "already authenticated", None),
            )
            .await
        }
        ClientFrame::Presence { share, watch } => {
            // Each change fans out to every watcher: metered per device.
            if !state.limits.presence_per_device.check(&device) {
                return reply(
                    session,
                    &error(ErrorCode::RateLimited, "presence changes too often", None),
                )
                .await;
            }
            if watch.len() > MAX_WATCH {
                return reply(
                    session,
                    &error(ErrorCode::TooLarge, "watching too many devices", None),
                )
                .await;
            }
            state
                .mailbox
                .hub
                .set_presence(&device, conn.id, share, watch);
            Ok(())
        }
        ClientFrame::Ack { from, id } => {
            // A live delivery waiting for this ack: nothing to write.
            if state.mailbox.fast.ack(&(device, from, id)) {
                return Ok(());
            }
            // Each other ack is a database write: metered per device. A
            // refused ack only means the envelope comes again on the next
            // connection.
            if !state.limits.acks_per_device.check(&device) {
                return reply(
                    session,
                    &error(ErrorCode::RateLimited, "acknowledging too fast", None),
                )
                .await;
            }
            // Only the recipient can ack: the row is looked up under `device`.
            let ack = send::ack_for(state, device, from, id);
            // Committed with the next batch, not waited for: a recipient's
            // acks share commits (ADR 0037). A lost ack only means the
            // envelope comes again (the engine drops it as a duplicate).
            let _ = state.mailbox.committer.ack(ack).await;
            Ok(())
        }
        // Queued in `pipeline` by the caller.
        ClientFrame::Send { .. } | ClientFrame::SendMany { .. } => Ok(()),
    }
}
