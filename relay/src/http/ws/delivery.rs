//! What a connection sends without being asked: its stored envelopes on
//! connect, its live backlog, caught up from the mailbox when it
//! overflowed (see `crate::backlog`) or another relay node woke it, and the
//! periodic mailbox poll that bounds the delay when a wake-up was lost.

use super::socket::Session;
use actix_web::web;
use parley_shared::protocol::ErrorCode;
use parley_shared::protocol::ws::{DeviceId, ServerFrame};

use tokio::sync::mpsc;

use super::{Close, Conn, close_for, error, send, send_last};
use crate::backlog::{Live, Recent};
use crate::clock::now_ms;
use crate::clock::unix_ms;
use crate::http::AppState;
use crate::mailbox::Ended;

/// Stored envelopes loaded per query.
const PAGE: i64 = 256;

/// Sends the stored envelopes; `Err` ends the connection (with a close code
/// if the connection was ended).
pub(super) async fn deliver_queued(
    state: &AppState,
    session: &mut Session,
    conn: &Conn,
    recent: &mut Recent,
) -> Result<(), Option<Close>> {
    let device = conn.device;
    let store = state.store.clone();
    let queued = match web::block(move || store.queued_count(device.as_bytes())).await {
        Ok(Ok(n)) => n,
        _ => {
            send_last(
                session,
                &error(ErrorCode::Unavailable, "mailbox unavailable", None),
            );
            return Err(None);
        }
    };
    if let Some(why) = conn.gone() {
        return Err(Some(why));
    }
    if !send(session, &ServerFrame::Ready { queued }).await {
        return Err(None);
    }
    send_stored(state, session, conn, recent).await
}

/// Sends the device's stored envelopes in commit order, each at most once
/// per connection (`recent`).
async fn send_stored(
    state: &AppState,
    session: &mut Session,
    conn: &Conn,
    recent: &mut Recent,
) -> Result<(), Option<Close>> {
    let device = conn.device;
    let mut after = 0i64;
    loop {
        let store = state.store.clone();
        let Ok(Ok(page)) = web::block(move || store.pending(device.as_bytes(), after, PAGE)).await
        else {
            return Err(None);
        };
        let full = i64::try_from(page.len()).unwrap_or(0) >= PAGE;
        for e in page {
            after = e.seq;
            let (Some(from), Ok(id)) = (DeviceId::from_bytes(&e.sender), e.envelope_id.try_into())
            else {
                continue;
            };
            if !recent.first_time((from, id)) {
                continue;
            }
            let frame = ServerFrame::Deliver {
                from,
                id,
                sent_at: unix_ms(e.created_at),
                ephemeral: false,
                payload: e.payload,
            };
            if let Some(why) = conn.gone() {
                return Err(Some(why));
            }
            if !send(session, &frame).await {
                return Err(None);
            }
        }
        if !full {
            return Ok(());
        }
    }
}

/// A connection's socket, its live backlog, and what it has sent.
pub(super) struct Io<'a> {
    pub(super) session: &'a mut Session,
    pub(super) outbox: &'a mut mpsc::UnboundedReceiver<Live>,
    pub(super) recent: &'a mut Recent,
}

impl Io<'_> {
    /// Sends one live frame (a durable one only if not sent already).
    pub(super) async fn forward(&mut self, conn: &Conn, live: Live) -> Result<(), Option<Close>> {
        conn.backlog.release(&live);
        if live.key().is_some_and(|k| !self.recent.first_time(k)) {
            return Ok(());
        }
        if self.session.binary(live.bytes().clone()).await.is_err() {
            return Err(None);
        }
        Ok(())
    }

    /// The backlog overflowed: send what it holds (older than anything it
    /// dropped), then re-read the mailbox, which has every dropped durable
    /// envelope in commit order. The mark is cleared first, so envelopes
    /// committed during the re-read are queued live (and sent once).
    pub(super) async fn catch_up(
        &mut self,
        state: &AppState,
        conn: &Conn,
    ) -> Result<(), Option<Close>> {
        while let Ok(live) = self.outbox.try_recv() {
            self.forward(conn, live).await?;
        }
        if conn.backlog.take_overflow() {
            metrics::counter!("parley_ws_mailbox_rereads_total").increment(1);
            send_stored(state, self.session, conn, self.recent).await?;
        }
        Ok(())
    }

    /// The periodic poll: the token must still be live (a revoke on another
    /// node may not have reached this one), then the mailbox is re-read as
    /// after an overflow. A database error skips the round: the next one
    /// tries again, and nothing is closed for it.
    pub(super) async fn poll(
        &mut self,
        state: &AppState,
        conn: &Conn,
    ) -> Result<(), Option<Close>> {
        let store = state.store.clone();
        let hash = conn.token_hash;
        match web::block(move || store.live_token(&hash, now_ms())).await {
            Ok(Ok(None)) => return Err(Some(close_for(Ended::Revoked))),
            Ok(Ok(Some(_))) => {}
            _ => return Ok(()),
        }
        metrics::counter!("parley_ws_mailbox_polls_total").increment(1);
        // What the backlog holds is older than what the mailbox has since.
        while let Ok(live) = self.outbox.try_recv() {
            self.forward(conn, live).await?;
        }
        send_stored(state, self.session, conn, self.recent).await
    }
}

/// The next tick of the mailbox poll; never, when there is none.
pub(super) async fn next_poll(poll: &mut Option<tokio::time::Interval>) {
    match poll {
        Some(every) => {
            every.tick().await;
        }
        None => std::future::pending().await,
    }
}
