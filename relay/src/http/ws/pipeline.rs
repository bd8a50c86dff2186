//! A connection's sends, handled in the order they came while the
//! connection goes on reading its other frames: one at a time, except that
//! consecutive durable sends that take no fast path run as one chain
//! (`chain`, ADR 0037). Acks must not
//! wait behind sends: a send on the fast path waits for the recipient's
//! ack, and two people writing to each other at once would each have their
//! ack stuck behind their own waiting send until both windows ran out.
//!
//! Sends read while one runs wait here, bounded by count and bytes; when
//! it is full the connection stops reading until the running send is done
//! (TCP pushes back on the client).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;

use super::socket::Session;
use parley_shared::protocol::ws::ClientFrame;

use super::{Close, Conn, Order, chain, fanout, send};
use crate::http::AppState;

/// Most sends waiting behind the running one.
const MAX_WAITING: usize = 64;
/// Most bytes (as received) of the sends waiting.
const MAX_WAITING_BYTES: usize = 1 << 20;

/// What a finished send hands back: the order state, and `Err` to end the
/// connection (with a close code when there is one).
pub(super) type Done = (Order, Result<(), Option<Close>>);
/// The running send: boxed, so an idle connection holds a pointer, not the
/// state of a whole send.
type Running<'a> = Pin<Box<dyn Future<Output = Done> + 'a>>;

/// The running send and those waiting behind it.
#[derive(Default)]
pub(super) struct Sends<'a> {
    running: Option<Running<'a>>,
    waiting: VecDeque<(Job, usize)>,
    waiting_bytes: usize,
    order: Order,
}

impl<'a> Sends<'a> {
    /// Whether another frame may be read now.
    pub(super) fn has_room(&self) -> bool {
        self.waiting.len() < MAX_WAITING && self.waiting_bytes < MAX_WAITING_BYTES
    }

    /// Whether a send runs.
    pub(super) fn busy(&self) -> bool {
        self.running.is_some()
    }

    /// Runs `job` (a frame of `len` bytes) now, or after those before it.
    pub(super) fn push(
        &mut self,
        state: &'a AppState,
        session: &Session,
        conn: &'a Conn,
        job: Job,
        len: usize,
    ) {
        self.waiting_bytes += len;
        self.waiting.push_back((job, len));
        if self.running.is_none() {
            self.start_next(state, session, conn);
        }
    }

    /// Starts the first waiting send, with those chained behind it.
    fn start_next(&mut self, state: &'a AppState, session: &Session, conn: &'a Conn) {
        let Some((job, len)) = self.waiting.pop_front() else {
            return;
        };
        self.waiting_bytes -= len;
        let job = match job {
            // Alone, a send takes `send_envelope`'s own path (fast or
            // committed): the chain check is paid only when one could form.
            Job::One(first)
                if matches!(self.waiting.front(), Some((Job::One(_), _)))
                    && chainable(state, conn, &first) =>
            {
                let mut sends = vec![first];
                let mut bytes = len;
                while sends.len() < chain::MAX_CHAIN
                    && let Some((Job::One(next), next_len)) = self.waiting.front()
                    && bytes + next_len <= chain::MAX_CHAIN_BYTES
                    && chainable(state, conn, next)
                {
                    bytes += next_len;
                    let Some((Job::One(next), len)) = self.waiting.pop_front() else {
                        break;
                    };
                    self.waiting_bytes -= len;
                    sends.push(next);
                }
                Job::Chain(sends)
            }
            other => other,
        };
        self.running = Some(start(state, session.clone(), conn, self.order, job));
    }

    /// Waits for the running send (pending for ever if none runs); call
    /// [`Sends::finished`] with what it returns.
    pub(super) async fn next(&mut self) -> Done {
        match self.running.as_mut() {
            Some(running) => running.await,
            None => std::future::pending().await,
        }
    }

    /// The running send returned `done`: starts the next one, if any.
    pub(super) fn finished(
        &mut self,
        state: &'a AppState,
        session: &Session,
        conn: &'a Conn,
        done: Done,
    ) -> Result<(), Option<Close>> {
        self.running = None;
        self.order = done.0;
        done.1?;
        self.start_next(state, session, conn);
        Ok(())
    }
}

/// A send frame, as the pipeline runs it.
pub(super) enum Job {
    One(send::Outgoing),
    Many(fanout::Many),
    /// Consecutive `One`s committed together (formed by `start_next`, never
    /// read from a frame).
    Chain(Vec<send::Outgoing>),
}

/// Whether a send may join a chain: durable, and not for the fast path
/// (whose live delivery must not overtake envelopes still committing): the
/// fast path is off or the recipient missed its window lately, or the
/// recipient is not connected here with its presence shown to the sender.
/// Presence may change before the send runs; either way it is handled in
/// order, only by another path.
fn chainable(state: &AppState, conn: &Conn, send: &send::Outgoing) -> bool {
    let live = state.mailbox.fast.offered(&send.to)
        && state.mailbox.hub.fast_allowed(&send.to, &conn.device);
    !send.ephemeral && !live
}

impl Job {
    /// The frame as a job; other frames are handed back.
    pub(super) fn of(frame: ClientFrame) -> Result<Self, ClientFrame> {
        match frame {
            ClientFrame::Send {
                id,
                to,
                ephemeral,
                payload,
                list,
            } => Ok(Self::One(send::Outgoing {
                id,
                to,
                ephemeral,
                payload,
                list,
            })),
            ClientFrame::SendMany { id, to, payload } => {
                Ok(Self::Many(fanout::Many { id, to, payload }))
            }
            other => Err(other),
        }
    }
}

fn start<'a>(
    state: &'a AppState,
    mut session: Session,
    conn: &'a Conn,
    mut order: Order,
    job: Job,
) -> Running<'a> {
    Box::pin(async move {
        let result = match job {
            Job::One(envelope) => {
                send::send_envelope(state, &mut session, conn, &mut order, envelope).await
            }
            Job::Many(many) => fanout::send_many(state, &mut session, conn, &mut order, many).await,
            Job::Chain(sends) => {
                chain::send_chain(state, &mut session, conn, &mut order, sends).await
            }
        };
        (order, result)
    })
}
