//! A connection's consecutive durable sends that take no fast path,
//! committed as one chain (ADR 0037): the sends read while the previous
//! ones committed share the next transaction, so a busy connection puts
//! many envelopes into each group commit instead of one.
//!
//! Order holds as with one send at a time: each is admitted in the order it
//! came, the chain's writes stay consecutive in one transaction, and after
//! one is refused for a moment the sender's later ones in that transaction
//! are held (`Enqueued::Held`), so its resend cannot land behind them.
//! Stored envelopes are delivered in the chain's order once it committed.

use super::accounts;
use super::send::{self, Outgoing};
use super::socket::Session;
use super::{Close, Conn, Order, refusals, reply};
use crate::clock::now_ms;
use crate::http::AppState;

/// Most sends one chain commits (the pipeline's queue bounds it too).
pub(super) const MAX_CHAIN: usize = 256;
/// Most bytes (as received) a chain carries; its first send goes whatever
/// its size. Chains of large envelopes grew the relay's memory under a
/// flood of 256 KiB envelopes by 40–50 MiB instead of 6 (`relay/tests/
/// backlog.rs`; where it was held was not found), while small messages,
/// where sharing a commit pays, still chain by the dozen.
pub(super) const MAX_CHAIN_BYTES: usize = 256 * 1024;

/// Admits, commits and answers `sends`, in order.
pub(super) async fn send_chain(
    state: &AppState,
    session: &mut Session,
    conn: &Conn,
    order: &mut Order,
    sends: Vec<Outgoing>,
) -> Result<(), Option<Close>> {
    let device = conn.device;
    let now = now_ms();
    let mut chain = Vec::with_capacity(sends.len());
    let read = accounts::read_memberships(state, sends.iter().map(|s| s.to)).await;
    for envelope in sends {
        let membership = read.get(&envelope.to).copied();
        if send::admit(state, session, device, order, &envelope, membership).await? {
            let Outgoing {
                id, to, payload, ..
            } = envelope;
            chain.push(send::stored(state, device, to, id, payload, now));
        }
    }
    if chain.is_empty() {
        return Ok(());
    }
    let ids: Vec<_> = chain.iter().map(|e| e.id).collect();
    let outcomes = state.mailbox.committer.commit_chain(chain).await;
    // As for one send: ended while the commit ran, nothing more is served.
    if let Some(why) = conn.gone() {
        return Err(Some(why));
    }
    // Every envelope admitted above came before any the admission refused.
    let answers = order.earlier(|order| -> Result<Vec<_>, Close> {
        match outcomes {
            Ok(done) => done
                .into_iter()
                .map(|(outcome, envelope)| {
                    let id = envelope.id;
                    send::settle(state, order, id, Ok((outcome, envelope)), true)
                })
                .collect(),
            // The transaction failed: none was stored.
            Err(_) => Ok(ids
                .iter()
                .map(|id| refusals::unavailable(order, *id))
                .collect()),
        }
    });
    for answer in answers.map_err(Some)? {
        reply(session, &answer).await?;
    }
    Ok(())
}
