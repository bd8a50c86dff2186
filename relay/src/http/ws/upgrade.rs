//! The WebSocket handshake, taken from actix-http's dispatcher (ADR 0036):
//! actix-http hands every `Upgrade: websocket` request here with its
//! socket; the relay answers the handshake and keeps the bare socket, so an
//! idle connection holds none of the dispatcher's buffers or state. The
//! request meets the same per-address limit as the rest of the API, and the
//! node's connection limit.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix_codec::Framed;
use actix_http::body::{BodySize, MessageBody};
use actix_http::{ConnectionType, Request, h1, ws};
use futures_util::SinkExt;
use parley_shared::protocol::api::{self, Endpoint};
use parley_shared::protocol::ws::MAX_FRAME;
use parley_shared::protocol::{API_PREFIX, ErrorCode};
use tokio::net::TcpStream;

use super::socket;
use crate::error::HttpError;
use crate::http::{AppState, SecurityHeaders, over_ip_limit};
use crate::telemetry;

/// When a client refused for want of room should try again.
const FULL_RETRY: Duration = Duration::from_secs(5);

/// Where the WebSocket is served: `API_PREFIX` + the route.
fn is_ws_path(path: &str) -> bool {
    path.strip_prefix(API_PREFIX) == Some(api::WebSocket::ROUTE)
}

/// The node's open WebSockets, counted against `PARLEY_MAX_CONNECTIONS`:
/// once upgraded, a connection has left actix's own count.
#[derive(Debug)]
pub(crate) struct Slots {
    open: AtomicUsize,
    max: usize,
}

/// One open WebSocket's place; given back when dropped.
struct Slot(Arc<Slots>);

impl Slots {
    pub(crate) fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            open: AtomicUsize::new(0),
            max,
        })
    }

    fn take(self: &Arc<Self>) -> Option<Slot> {
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()?;
        metrics::gauge!("parley_ws_sockets").increment(1.0);
        Some(Slot(self.clone()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
        metrics::gauge!("parley_ws_sockets").decrement(1.0);
    }
}

/// Answers one upgrade request, and for the WebSocket starts the
/// connection in a task of its own: the dispatcher (kilobytes of state and
/// buffers) ends here.
pub(crate) async fn serve(
    state: Arc<AppState>,
    slots: Arc<Slots>,
    req: Request,
    framed: Framed<TcpStream, h1::Codec>,
) {
    let start = Instant::now();
    let path = req.path().to_owned();
    let route = if is_ws_path(&path) {
        path.as_str()
    } else {
        "unmatched"
    };
    let checked = check(&state, &slots, &req);
    let method = req.method().clone();
    drop(req);
    match checked {
        Ok((handshake, slot)) => {
            let status = handshake.status();
            telemetry::record_request("GET", route, &path, status.as_u16(), start.elapsed());
            let Some((session, frames)) = accept(
                framed,
                secured(&state, handshake),
                state.config.ws_write_stall,
            )
            .await
            else {
                return;
            };
            actix_web::rt::spawn(async move {
                let _slot = slot;
                super::run(state, session, frames).await;
            });
        }
        Err(refusal) => {
            let refusal = actix_web::ResponseError::error_response(&refusal);
            let status = refusal.status();
            telemetry::record_request(
                method.as_str(),
                route,
                &path,
                status.as_u16(),
                start.elapsed(),
            );
            refuse(framed, secured(&state, refusal.into())).await;
        }
    }
}

/// The handshake's answer, or why the request is refused.
fn check(
    state: &AppState,
    slots: &Arc<Slots>,
    req: &Request,
) -> Result<(actix_http::Response<()>, Slot), HttpError> {
    if !is_ws_path(req.path()) {
        return Err(HttpError::new(
            ErrorCode::NotFound,
            format!("no WebSocket is served at {}", req.path()),
        ));
    }
    if let Some(refusal) = over_ip_limit(req.peer_addr(), &req.head().headers, state) {
        return Err(refusal);
    }
    let mut handshake = ws::handshake(req.head()).map_err(|e| {
        HttpError::new(
            ErrorCode::BadRequest,
            format!("this endpoint needs a WebSocket upgrade: {e}"),
        )
    })?;
    let Some(slot) = slots.take() else {
        metrics::counter!("parley_ws_refused_total", "why" => "full").increment(1);
        return Err(HttpError::retry_after(
            ErrorCode::Unavailable,
            "this relay holds as many connections as it may; try again shortly",
            FULL_RETRY,
        ));
    };
    Ok((handshake.finish().drop_body(), slot))
}

/// A response with the headers every response of the relay carries.
fn secured<B>(state: &AppState, mut response: actix_http::Response<B>) -> actix_http::Response<B> {
    for (name, value) in SecurityHeaders::pairs(&state.config) {
        response.headers_mut().insert(name, value);
    }
    response
}

/// Sends the `101` and takes the socket, with whatever the client sent
/// after its request.
async fn accept(
    mut framed: Framed<TcpStream, h1::Codec>,
    handshake: actix_http::Response<()>,
    write_stall: Duration,
) -> Option<(socket::Session, socket::Frames)> {
    framed
        .send(h1::Message::Item((handshake, BodySize::None)))
        .await
        .ok()?;
    let parts = framed.into_parts();
    Some(socket::open(
        parts.io,
        parts.read_buf,
        MAX_FRAME,
        write_stall,
    ))
}

/// Sends the refusal (a JSON error, like every API error) and closes.
async fn refuse(
    mut framed: Framed<TcpStream, h1::Codec>,
    refusal: actix_http::Response<actix_http::body::BoxBody>,
) {
    let (head, body) = refusal.into_parts();
    let mut head = head;
    head.head_mut().set_connection_type(ConnectionType::Close);
    let Ok(bytes) = body.try_into_bytes() else {
        return;
    };
    let size = BodySize::Sized(bytes.len() as u64);
    let _ = framed.send(h1::Message::Item((head, size))).await;
    let _ = framed.send(h1::Message::Chunk(Some(bytes))).await;
    let _ = framed.send(h1::Message::Chunk(None)).await;
}
