//! Durable store-and-forward of opaque envelopes.

use std::collections::HashSet;

use diesel::prelude::*;

use super::fanout::{self, Fanned, NewFanout};
use super::runs;
use super::schema::{devices, envelope_tombstones, envelopes, payloads};
use super::{DbConnection, Store, StoreError};

/// One write of a group-commit batch.
#[derive(Debug, Clone)]
pub enum Write {
    /// A `Send`: one recipient, payload inline.
    One(NewEnvelope),
    /// A `SendMany`: one shared payload, a row per recipient.
    Many(NewFanout),
    /// A recipient's `Ack`: its queue row goes, a tombstone stays. Acks
    /// share the batch's transaction (and its one fsync) with the inserts.
    Ack(Ack),
}

/// What happened to one write of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// For a [`Write::One`].
    One(Enqueued),
    /// For a [`Write::Many`].
    Many(Fanned),
    /// For a [`Write::Ack`]: whether a queued envelope was deleted.
    Ack(bool),
}

/// A recipient acknowledging one envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ack {
    /// The acknowledging device: only its own queue rows can go.
    pub recipient: [u8; 32],
    /// The envelope's sender.
    pub sender: [u8; 32],
    /// The sender's envelope id.
    pub id: [u8; 16],
    /// Until when the id is remembered, so a resend is recognised.
    pub tombstone_until: i64,
}

/// An envelope to store.
#[derive(Debug, Clone)]
pub struct NewEnvelope {
    /// Sending device.
    pub sender: [u8; 32],
    /// Receiving device.
    pub recipient: [u8; 32],
    /// Sender-chosen id.
    pub id: [u8; 16],
    /// Opaque ciphertext.
    pub payload: Vec<u8>,
    /// Receive time, Unix ms.
    pub now: i64,
    /// Deleted unread after this, Unix ms.
    pub expires_at: i64,
}

/// What happened to one envelope of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// Newly stored.
    Stored,
    /// Already stored or already acknowledged: nothing new (idempotent resend).
    Duplicate,
    /// No such recipient.
    UnknownRecipient,
    /// The sender no longer exists (erased while the envelope was on its way).
    UnknownSender,
    /// The recipient's queue is at its limit.
    QueueFull,
    /// The sender already has its share of the recipient's queue.
    SenderQuotaFull,
    /// Not stored: an earlier envelope of the same sender in this batch was
    /// refused for a moment (a full queue), and storing this one would put
    /// it ahead of that one's resend.
    Held,
}

impl Enqueued {
    /// A refusal the sender gets past by sending again later.
    pub fn is_transient(self) -> bool {
        matches!(self, Self::QueueFull | Self::SenderQuotaFull | Self::Held)
    }
}

/// How many envelopes may wait for one device, in all and from one sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimits {
    /// From all senders.
    pub per_recipient: i64,
    /// From one sender.
    pub per_sender: i64,
}

/// An envelope waiting for its recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEnvelope {
    /// Delivery order.
    pub seq: i64,
    /// Sending device.
    pub sender: Vec<u8>,
    /// Sender-chosen id.
    pub envelope_id: Vec<u8>,
    /// Opaque ciphertext.
    pub payload: Vec<u8>,
    /// Receive time, Unix ms.
    pub created_at: i64,
}

/// The batch's senders and fan-out recipients that are still registered
/// devices. On PostgreSQL their rows stay key-share-locked until the batch
/// commits, and erasing a device locks its row first, so an envelope is never
/// stored after (and left behind by) the erase of its sender, and a fan-out
/// recipient checked here is not erased before its row is inserted; SQLite's
/// single writer orders them anyway.
fn live_devices(c: &mut DbConnection, batch: &[Write]) -> QueryResult<HashSet<[u8; 32]>> {
    let mut ids: Vec<&[u8]> = Vec::new();
    for w in batch {
        match w {
            // A `Send`'s recipient is checked unlocked (`runs`), as it always
            // was: locking it too made device-list updates deadlock.
            Write::One(e) => ids.push(e.sender.as_slice()),
            Write::Many(f) => {
                ids.push(f.sender.as_slice());
                ids.extend(f.recipients.iter().map(<[u8; 32]>::as_slice));
            }
            // Deleting one's own row needs no device lock.
            Write::Ack(_) => {}
        }
    }
    // One lock order for every batch.
    ids.sort_unstable();
    ids.dedup();
    let mut live = HashSet::new();
    // Chunks in ascending order keep the lock order.
    for chunk in ids.chunks(500) {
        let query = devices::table
            .filter(devices::id.eq_any(chunk))
            .order(devices::id.asc())
            .select(devices::id);
        let found: Vec<Vec<u8>> = match c {
            DbConnection::Pg(pg) => query.for_key_share().load(pg)?,
            DbConnection::Sqlite(lite) => query.load(lite)?,
        };
        live.extend(
            found
                .into_iter()
                .filter_map(|d| <[u8; 32]>::try_from(d).ok()),
        );
    }
    Ok(live)
}

/// Whether `(sender, id)` is stored (for any recipient) or was acknowledged:
/// `Send` and `SendMany` share this dedupe key.
pub(super) fn is_duplicate(c: &mut DbConnection, sender: &[u8], id: &[u8]) -> QueryResult<bool> {
    let stored: i64 = envelopes::table
        .filter(envelopes::sender.eq(sender))
        .filter(envelopes::envelope_id.eq(id))
        .count()
        .get_result(c)?;
    if stored > 0 {
        return Ok(true);
    }
    let acked: i64 = envelope_tombstones::table
        .find((sender, id))
        .count()
        .get_result(c)?;
    Ok(acked > 0)
}

/// The recipient acknowledges an envelope: it is deleted, and its id kept
/// (without payload) so a resend is recognised. Only the recipient can ack:
/// the row is looked up under `a.recipient`.
fn ack_one(c: &mut DbConnection, a: &Ack) -> QueryResult<bool> {
    let (sender, id) = (a.sender.as_slice(), a.id.as_slice());
    let row: Option<(i64, Option<i64>)> = envelopes::table
        .filter(envelopes::recipient.eq(a.recipient.as_slice()))
        .filter(envelopes::sender.eq(sender))
        .filter(envelopes::envelope_id.eq(id))
        .select((envelopes::seq, envelopes::payload_id))
        .first(c)
        .optional()?;
    let Some((seq, shared)) = row else {
        return Ok(false);
    };
    let n = diesel::delete(envelopes::table.find(seq)).execute(c)?;
    // The last recipient's ack takes the shared payload with it.
    if let Some(p) = shared {
        fanout::drop_unreferenced(c, &[p])?;
    }
    if n == 1 {
        diesel::delete(envelope_tombstones::table.find((sender, id))).execute(c)?;
        diesel::insert_into(envelope_tombstones::table)
            .values((
                envelope_tombstones::sender.eq(sender),
                envelope_tombstones::envelope_id.eq(id),
                envelope_tombstones::expires_at.eq(a.tombstone_until),
            ))
            .execute(c)?;
    }
    Ok(n == 1)
}

/// Applies the batch's acks, in order, and puts each outcome in its
/// write's slot: set-based on PostgreSQL (`acks`), one by one on SQLite.
fn apply_acks(
    c: &mut DbConnection,
    batch: &[Write],
    out: &mut [Option<Outcome>],
) -> QueryResult<()> {
    let (slots, acks): (Vec<usize>, Vec<&Ack>) = batch
        .iter()
        .enumerate()
        .filter_map(|(i, w)| match w {
            Write::Ack(a) => Some((i, a)),
            _ => None,
        })
        .unzip();
    let deleted = match c {
        DbConnection::Pg(pg) => {
            let (deleted, shared) = super::acks::ack_all(pg, &acks)?;
            // The last recipient's ack takes the shared payload with it.
            fanout::drop_unreferenced(c, &shared)?;
            deleted
        }
        DbConnection::Sqlite(_) => acks
            .iter()
            .map(|a| ack_one(c, a))
            .collect::<QueryResult<Vec<bool>>>()?,
    };
    for (i, d) in slots.into_iter().zip(deleted) {
        if let Some(slot) = out.get_mut(i) {
            *slot = Some(Outcome::Ack(d));
        }
    }
    Ok(())
}

/// Stores the pending run of `Send`s, if any, and puts each outcome in its
/// write's slot.
fn flush(
    c: &mut DbConnection,
    run: &mut Vec<(usize, &NewEnvelope)>,
    live: &HashSet<[u8; 32]>,
    limits: QueueLimits,
    out: &mut [Option<Outcome>],
) -> QueryResult<()> {
    if run.is_empty() {
        return Ok(());
    }
    let envelopes: Vec<&NewEnvelope> = run.iter().map(|(_, e)| *e).collect();
    let outcomes = runs::enqueue_run(c, &envelopes, live, limits)?;
    for ((i, _), o) in run.iter().zip(outcomes) {
        if let Some(slot) = out.get_mut(*i) {
            *slot = Some(Outcome::One(o));
        }
    }
    run.clear();
    Ok(())
}

impl Store {
    /// Stores a batch (envelopes in, acknowledged ones out) in one
    /// transaction: one commit, one fsync for all. Acks apply first, then
    /// the sends in order; the outcomes come back in the batch's order.
    pub fn enqueue_batch(
        &self,
        batch: &[Write],
        limits: QueueLimits,
    ) -> Result<Vec<Outcome>, StoreError> {
        let (_write, mut conn) = self.writer()?;
        conn.transaction(|c| {
            let live = live_devices(c, batch)?;
            // One slot per write, filled in the order the writes apply.
            let mut out: Vec<Option<Outcome>> = vec![None; batch.len()];
            // Acks first: they free queue space and leave the tombstones a
            // resend in the same batch is recognised by.
            apply_acks(c, batch, &mut out)?;
            // Then the sends in order: consecutive `Send`s (acks no longer
            // between them) are one run (`runs`); a `SendMany` ends a run,
            // so it sees the sends before it and the ones after see it.
            let mut run: Vec<(usize, &NewEnvelope)> = Vec::new();
            for (i, w) in batch.iter().enumerate() {
                match w {
                    Write::One(e) => run.push((i, e)),
                    Write::Many(f) => {
                        flush(c, &mut run, &live, limits, &mut out)?;
                        let fanned = fanout::enqueue_many(c, f, &live, limits)?;
                        if let Some(slot) = out.get_mut(i) {
                            *slot = Some(Outcome::Many(fanned));
                        }
                    }
                    Write::Ack(_) => {}
                }
            }
            flush(c, &mut run, &live, limits, &mut out)?;
            Ok(out.into_iter().flatten().collect())
        })
    }

    /// Envelopes for `recipient` after `after_seq`, oldest first.
    pub fn pending(
        &self,
        recipient: &[u8],
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<StoredEnvelope>, StoreError> {
        let mut c = self.conn()?;
        type Row = (i64, Vec<u8>, Vec<u8>, Option<Vec<u8>>, Option<Vec<u8>>, i64);
        let rows: Vec<Row> = envelopes::table
            .left_join(payloads::table.on(envelopes::payload_id.eq(payloads::id.nullable())))
            .filter(envelopes::recipient.eq(recipient))
            .filter(envelopes::seq.gt(after_seq))
            .filter(envelopes::expires_at.gt(crate::clock::now_ms()))
            .order(envelopes::seq.asc())
            .limit(limit)
            .select((
                envelopes::seq,
                envelopes::sender,
                envelopes::envelope_id,
                envelopes::payload,
                payloads::payload.nullable(),
                envelopes::created_at,
            ))
            .load(&mut c)?;
        // A row has its payload inline or shared (a CHECK constraint).
        Ok(rows
            .into_iter()
            .filter_map(|(seq, sender, envelope_id, inline, shared, created_at)| {
                Some(StoredEnvelope {
                    seq,
                    sender,
                    envelope_id,
                    payload: inline.or(shared)?,
                    created_at,
                })
            })
            .collect())
    }

    /// How many envelopes wait for `recipient`.
    pub fn queued_count(&self, recipient: &[u8]) -> Result<u32, StoreError> {
        let mut c = self.conn()?;
        let n: i64 = envelopes::table
            .filter(envelopes::recipient.eq(recipient))
            .filter(envelopes::expires_at.gt(crate::clock::now_ms()))
            .count()
            .get_result(&mut c)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Deletes expired envelopes, the shared payloads they were the last
    /// to name (in the same transaction), and expired tombstones.
    pub fn sweep_envelopes(&self, now: i64) -> Result<usize, StoreError> {
        let (_write, mut conn) = self.writer()?;
        Ok(conn.transaction(|c| {
            let a = diesel::delete(envelopes::table.filter(envelopes::expires_at.le(now)))
                .execute(c)?;
            // A payload expires with its rows (they share the expiry).
            let expired: Vec<i64> = payloads::table
                .filter(payloads::expires_at.le(now))
                .select(payloads::id)
                .load(c)?;
            let p = fanout::drop_unreferenced(c, &expired)?;
            let b = diesel::delete(
                envelope_tombstones::table.filter(envelope_tombstones::expires_at.le(now)),
            )
            .execute(c)?;
            QueryResult::Ok(a + p + b)
        })?)
    }

    /// Shared payload rows in the mailbox (for storage checks).
    pub fn shared_payload_rows(&self) -> Result<i64, StoreError> {
        let mut c = self.conn()?;
        Ok(payloads::table.count().get_result(&mut c)?)
    }

    /// Rows stored under one sender's envelope id, one per recipient (for
    /// storage checks).
    pub fn envelope_rows_with_id(&self, sender: &[u8], id: &[u8]) -> Result<i64, StoreError> {
        let mut c = self.conn()?;
        Ok(envelopes::table
            .filter(envelopes::sender.eq(sender))
            .filter(envelopes::envelope_id.eq(id))
            .count()
            .get_result(&mut c)?)
    }

    /// Tombstones of one sender's acked envelopes (for fast-path checks).
    pub fn tombstone_rows_for(&self, sender: &[u8]) -> Result<i64, StoreError> {
        let mut c = self.conn()?;
        Ok(envelope_tombstones::table
            .filter(envelope_tombstones::sender.eq(sender))
            .count()
            .get_result(&mut c)?)
    }

    /// Rows for a device across the mailbox (for erase checks).
    pub fn envelope_rows_for(&self, device: &[u8]) -> Result<i64, StoreError> {
        let mut c = self.conn()?;
        Ok(envelopes::table
            .filter(
                envelopes::recipient
                    .eq(device)
                    .or(envelopes::sender.eq(device)),
            )
            .count()
            .get_result(&mut c)?)
    }
}
