//! Durable store-and-forward of opaque envelopes.

use std::collections::HashSet;

use diesel::prelude::*;

use super::schema::{devices, envelope_tombstones, envelopes};
use super::{DbConnection, Store, StoreError};

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
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = envelopes)]
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

/// The batch's senders that are still registered devices. On PostgreSQL
/// their rows stay key-share-locked until the batch commits, and erasing a device
/// locks its row first, so an envelope is never stored after (and left behind
/// by) the erase of its sender; SQLite's single writer orders them anyway.
fn live_senders(c: &mut DbConnection, batch: &[NewEnvelope]) -> QueryResult<HashSet<[u8; 32]>> {
    let mut senders: Vec<&[u8]> = batch.iter().map(|e| e.sender.as_slice()).collect();
    // One lock order for every batch.
    senders.sort_unstable();
    senders.dedup();
    let query = devices::table
        .filter(devices::id.eq_any(senders))
        .order(devices::id.asc())
        .select(devices::id);
    let live: Vec<Vec<u8>> = match c {
        DbConnection::Pg(pg) => query.for_key_share().load(pg)?,
        DbConnection::Sqlite(lite) => query.load(lite)?,
    };
    Ok(live.into_iter().filter_map(|d| d.try_into().ok()).collect())
}

impl Store {
    /// Stores a batch in one transaction (one commit, one fsync for all).
    pub fn enqueue_batch(
        &self,
        batch: &[NewEnvelope],
        limits: QueueLimits,
    ) -> Result<Vec<Enqueued>, StoreError> {
        let (_write, mut conn) = self.writer()?;
        conn.transaction(|c| {
            let senders = live_senders(c, batch)?;
            let mut out = Vec::with_capacity(batch.len());
            for e in batch {
                if !senders.contains(&e.sender) {
                    out.push(Enqueued::UnknownSender);
                    continue;
                }
                let (sender, id) = (e.sender.as_slice(), e.id.as_slice());
                let stored: i64 = envelopes::table
                    .filter(envelopes::sender.eq(sender))
                    .filter(envelopes::envelope_id.eq(id))
                    .count()
                    .get_result(c)?;
                let acked: i64 = envelope_tombstones::table
                    .find((sender, id))
                    .count()
                    .get_result(c)?;
                if stored + acked > 0 {
                    out.push(Enqueued::Duplicate);
                    continue;
                }
                let known: i64 = devices::table
                    .find(e.recipient.as_slice())
                    .count()
                    .get_result(c)?;
                if known == 0 {
                    out.push(Enqueued::UnknownRecipient);
                    continue;
                }
                let depth: i64 = envelopes::table
                    .filter(envelopes::recipient.eq(e.recipient.as_slice()))
                    .count()
                    .get_result(c)?;
                if depth >= limits.per_recipient {
                    out.push(Enqueued::QueueFull);
                    continue;
                }
                let mine: i64 = envelopes::table
                    .filter(envelopes::recipient.eq(e.recipient.as_slice()))
                    .filter(envelopes::sender.eq(sender))
                    .count()
                    .get_result(c)?;
                if mine >= limits.per_sender {
                    out.push(Enqueued::SenderQuotaFull);
                    continue;
                }
                diesel::insert_into(envelopes::table)
                    .values((
                        envelopes::sender.eq(sender),
                        envelopes::recipient.eq(e.recipient.as_slice()),
                        envelopes::envelope_id.eq(id),
                        envelopes::payload.eq(&e.payload),
                        envelopes::created_at.eq(e.now),
                        envelopes::expires_at.eq(e.expires_at),
                    ))
                    .execute(c)?;
                out.push(Enqueued::Stored);
            }
            Ok(out)
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
        Ok(envelopes::table
            .filter(envelopes::recipient.eq(recipient))
            .filter(envelopes::seq.gt(after_seq))
            .filter(envelopes::expires_at.gt(crate::clock::now_ms()))
            .order(envelopes::seq.asc())
            .limit(limit)
            .select(StoredEnvelope::as_select())
            .load(&mut c)?)
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

    /// The recipient acknowledges an envelope: it is deleted, and its id kept
    /// (without payload) so a resend is recognised. Only the recipient can ack.
    pub fn ack(
        &self,
        recipient: &[u8],
        sender: &[u8],
        id: &[u8],
        tombstone_until: i64,
    ) -> Result<bool, StoreError> {
        let (_write, mut conn) = self.writer()?;
        conn.transaction(|c| {
            let n = diesel::delete(
                envelopes::table
                    .filter(envelopes::recipient.eq(recipient))
                    .filter(envelopes::sender.eq(sender))
                    .filter(envelopes::envelope_id.eq(id)),
            )
            .execute(c)?;
            if n == 1 {
                diesel::delete(envelope_tombstones::table.find((sender, id))).execute(c)?;
                diesel::insert_into(envelope_tombstones::table)
                    .values((
                        envelope_tombstones::sender.eq(sender),
                        envelope_tombstones::envelope_id.eq(id),
                        envelope_tombstones::expires_at.eq(tombstone_until),
                    ))
                    .execute(c)?;
            }
            Ok(n == 1)
        })
    }

    /// Deletes expired envelopes and tombstones.
    pub fn sweep_envelopes(&self, now: i64) -> Result<usize, StoreError> {
        let (_write, mut c) = self.writer()?;
        let a = diesel::delete(envelopes::table.filter(envelopes::expires_at.le(now)))
            .execute(&mut c)?;
        let b = diesel::delete(
            envelope_tombstones::table.filter(envelope_tombstones::expires_at.le(now)),
        )
        .execute(&mut c)?;
        Ok(a + b)
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
