//! Multi-recipient envelopes (ADR 0026): one `payloads` row shared by one
//! `envelopes` row per recipient, stored all or nothing, and the payload
//! deleted in the same transaction as the last row that names it.

use std::collections::{HashMap, HashSet};

use diesel::dsl::count_star;
use diesel::prelude::*;

use super::DbConnection;
use super::mailbox::{QueueLimits, is_duplicate};
use super::schema::{envelopes, payloads};

/// Ids per `IN (…)` query, well below every backend's bind-parameter limit.
pub(super) const IDS_PER_QUERY: usize = 500;

/// One payload for several devices.
#[derive(Debug, Clone)]
pub struct NewFanout {
    /// Sending device.
    pub sender: [u8; 32],
    /// Receiving devices: distinct, not the sender (checked by the caller).
    pub recipients: Vec<[u8; 32]>,
    /// Sender-chosen id, shared by every recipient's row.
    pub id: [u8; 16],
    /// Opaque ciphertext, stored once.
    pub payload: Vec<u8>,
    /// Receive time, Unix ms.
    pub now: i64,
    /// Deleted unread after this, Unix ms.
    pub expires_at: i64,
}

/// What happened to a multi-recipient envelope: stored for every recipient,
/// or for none, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fanned {
    /// Newly stored for every recipient.
    Stored,
    /// Already stored or acknowledged under this id: nothing new.
    Duplicate,
    /// This recipient is not registered (or erased).
    UnknownRecipient([u8; 32]),
    /// The sender no longer exists.
    UnknownSender,
    /// This recipient's queue is at its limit.
    QueueFull([u8; 32]),
    /// The sender already has its share of this recipient's queue.
    SenderQuotaFull([u8; 32]),
}

/// Queue depth per recipient among `devices`, optionally only `sender`'s.
fn depths(
    c: &mut DbConnection,
    devices: &[[u8; 32]],
    sender: Option<&[u8]>,
) -> QueryResult<HashMap<Vec<u8>, i64>> {
    let mut out = HashMap::new();
    for chunk in devices.chunks(IDS_PER_QUERY) {
        let ids: Vec<&[u8]> = chunk.iter().map(<[u8; 32]>::as_slice).collect();
        let mut q = envelopes::table
            .filter(envelopes::recipient.eq_any(ids))
            .group_by(envelopes::recipient)
            .select((envelopes::recipient, count_star()))
            .into_boxed();
        if let Some(s) = sender {
            q = q.filter(envelopes::sender.eq(s));
        }
        out.extend(q.load::<(Vec<u8>, i64)>(c)?);
    }
    Ok(out)
}

/// Stores `f` inside the batch's transaction, or nothing of it. `live` are
/// the registered devices among the batch's senders and fan-out recipients
/// (on PostgreSQL key-share-locked until the commit, so none of them is
/// erased between this check and the insert).
pub(super) fn enqueue_many(
    c: &mut DbConnection,
    f: &NewFanout,
    live: &HashSet<[u8; 32]>,
    limits: QueueLimits,
) -> QueryResult<Fanned> {
    if !live.contains(&f.sender) {
        return Ok(Fanned::UnknownSender);
    }
    if is_duplicate(c, &f.sender, &f.id)? {
        return Ok(Fanned::Duplicate);
    }
    if let Some(d) = f.recipients.iter().find(|d| !live.contains(*d)) {
        return Ok(Fanned::UnknownRecipient(*d));
    }
    let full = |m: &HashMap<Vec<u8>, i64>, limit: i64| {
        f.recipients
            .iter()
            .find(|d| m.get(d.as_slice()).is_some_and(|n| *n >= limit))
            .copied()
    };
    if let Some(d) = full(&depths(c, &f.recipients, None)?, limits.per_recipient) {
        return Ok(Fanned::QueueFull(d));
    }
    let mine = depths(c, &f.recipients, Some(f.sender.as_slice()))?;
    if let Some(d) = full(&mine, limits.per_sender) {
        return Ok(Fanned::SenderQuotaFull(d));
    }
    let new_payload = (
        payloads::payload.eq(&f.payload),
        payloads::expires_at.eq(f.expires_at),
    );
    // The multi-backend connection has no RETURNING: each backend's own.
    let payload_id: i64 = match c {
        DbConnection::Pg(pg) => diesel::insert_into(payloads::table)
            .values(new_payload)
            .returning(payloads::id)
            .get_result(pg)?,
        DbConnection::Sqlite(lite) => diesel::insert_into(payloads::table)
            .values(new_payload)
            .returning(payloads::id)
            .get_result(lite)?,
    };
    // One row per recipient, in one multi-row INSERT per chunk (the
    // multi-backend connection has none: each backend's own).
    for chunk in f.recipients.chunks(IDS_PER_QUERY) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|d| {
                (
                    envelopes::sender.eq(f.sender.as_slice()),
                    envelopes::recipient.eq(d.as_slice()),
                    envelopes::envelope_id.eq(f.id.as_slice()),
                    envelopes::payload_id.eq(Some(payload_id)),
                    envelopes::created_at.eq(f.now),
                    envelopes::expires_at.eq(f.expires_at),
                )
            })
            .collect();
        let insert = diesel::insert_into(envelopes::table).values(rows);
        match c {
            DbConnection::Pg(pg) => insert.execute(pg)?,
            DbConnection::Sqlite(lite) => insert.execute(lite)?,
        };
    }
    Ok(Fanned::Stored)
}

/// Deletes those of `ids` that no envelope row names any more, inside the
/// caller's transaction (after it deleted rows). On PostgreSQL each payload
/// row is locked before the check: of two transactions that each delete
/// one of its last two rows, the second to lock sees the first's delete
/// committed, so one of them always deletes it.
pub(super) fn drop_unreferenced(c: &mut DbConnection, ids: &[i64]) -> QueryResult<usize> {
    let mut ids = ids.to_vec();
    // One lock order for every writer.
    ids.sort_unstable();
    ids.dedup();
    let mut dropped = 0;
    for chunk in ids.chunks(IDS_PER_QUERY) {
        if let DbConnection::Pg(pg) = c {
            payloads::table
                .filter(payloads::id.eq_any(chunk))
                .order(payloads::id.asc())
                .select(payloads::id)
                .for_update()
                .load::<i64>(pg)?;
        }
        let named: HashSet<i64> = envelopes::table
            .filter(
                envelopes::payload_id.eq_any(chunk.iter().map(|i| Some(*i)).collect::<Vec<_>>()),
            )
            .select(envelopes::payload_id)
            .distinct()
            .load::<Option<i64>>(c)?
            .into_iter()
            .flatten()
            .collect();
        let orphans: Vec<i64> = chunk
            .iter()
            .filter(|i| !named.contains(i))
            .copied()
            .collect();
        if !orphans.is_empty() {
            dropped +=
                diesel::delete(payloads::table.filter(payloads::id.eq_any(orphans))).execute(c)?;
        }
    }
    Ok(dropped)
}
