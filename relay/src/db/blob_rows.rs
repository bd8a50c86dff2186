//! Bookkeeping of blob-store objects (attachment ciphertext): who uploaded
//! what, for whom, until when, and the per-device quotas.
//!
//! A row is *live* while it is neither deleted nor expired: only then may its
//! object be uploaded, downloaded or handed out. Every object in the store
//! should have a row; one without (an orphan) is removed by the sweeper.

use std::collections::HashSet;

use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::schema::{attachment_recipients as recipients, blobs};
use super::{DbConnection, Store, StoreError};

/// Ids per `IN (…)` query, well below every backend's bind-parameter limit.
const IDS_PER_QUERY: usize = 500;

/// Metadata of a stored blob (the ciphertext itself is in the blob store).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = blobs)]
pub struct BlobRecord {
    /// Object key in the blob store.
    pub id: String,
    /// Uploading device.
    pub owner: Vec<u8>,
    /// Declared (padded) size in bytes.
    pub size: i64,
    /// Creation, Unix ms.
    pub created_at: i64,
    /// When the sweeper deletes it, Unix ms.
    pub expires_at: i64,
}

/// Outcome of [`Store::leave_attachment`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leave {
    /// The device is not (or no longer) a recipient.
    NotRecipient,
    /// Its access is gone; others still have theirs.
    Left,
    /// It was the last recipient: the caller deletes object and record.
    Last,
}

/// What one device may have waiting at once (unexpired rows, including
/// deleted ones whose upload URL may still work).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobQuota {
    /// Most rows.
    pub max_count: i64,
    /// Most bytes (sum of declared sizes).
    pub max_bytes: i64,
}

impl BlobQuota {
    /// No limit (tests, and blobs that are not attachments).
    pub const UNLIMITED: Self = Self {
        max_count: i64::MAX,
        max_bytes: i64::MAX,
    };
}

/// Outcome of [`Store::insert_blob`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Recorded.
    Admitted,
    /// The owner already has `max_count` rows waiting.
    TooMany,
    /// The new row would take the owner over `max_bytes`.
    TooManyBytes,
}

impl Store {
    /// Records a blob unless its owner's quota (counted at `rec.created_at`)
    /// would be exceeded. Fails if the owner is not a registered device or
    /// the id exists. Counting and inserting are one step, so concurrent
    /// uploads cannot overshoot either limit: SQLite holds the write lock
    /// throughout, PostgreSQL locks the owner's row.
    pub fn insert_blob(&self, rec: &BlobRecord, quota: BlobQuota) -> Result<Admission, StoreError> {
        self.insert_attachment(rec, &[], quota)
    }

    /// [`Store::insert_blob`] for an attachment: `devices` may download it
    /// (recorded in the same transaction). Fails if one is not registered.
    pub fn insert_attachment(
        &self,
        rec: &BlobRecord,
        devices: &[[u8; 32]],
        quota: BlobQuota,
    ) -> Result<Admission, StoreError> {
        if rec.size <= 0 {
            return Err(StoreError::Invalid("blob size must be positive"));
        }
        let (_write, mut conn) = self.writer()?;
        conn.transaction(|c| {
            super::lock_device(c, &rec.owner)?;
            // SUM(BIGINT) is NUMERIC on PostgreSQL; the cast gives both
            // backends the same integer type.
            let (live, bytes): (i64, i64) = blobs::table
                .filter(blobs::owner.eq(&rec.owner))
                .filter(blobs::expires_at.gt(rec.created_at))
                .select((
                    diesel::dsl::count_star(),
                    diesel::dsl::sql::<BigInt>("CAST(COALESCE(SUM(size), 0) AS BIGINT)"),
                ))
                .get_result(c)?;
            if live >= quota.max_count {
                return Ok(Admission::TooMany);
            }
            if bytes
                .checked_add(rec.size)
                .is_none_or(|total| total > quota.max_bytes)
            {
                return Ok(Admission::TooManyBytes);
            }
            diesel::insert_into(blobs::table).values(rec).execute(c)?;
            // In id order, as every writer takes device locks (the foreign
            // key's checks key-share-lock each named device).
            let mut named = devices.to_vec();
            named.sort_unstable();
            named.dedup();
            for d in &named {
                diesel::insert_into(recipients::table)
                    .values((
                        recipients::blob_id.eq(&rec.id),
                        recipients::device.eq(d.as_slice()),
                    ))
                    .execute(c)?;
            }
            Ok(Admission::Admitted)
        })
    }

    /// The blob record with this key, live or not.
    pub fn blob(&self, id: &str) -> Result<Option<BlobRecord>, StoreError> {
        let mut conn = self.conn()?;
        Ok(blobs::table
            .find(id)
            .select(BlobRecord::as_select())
            .first(&mut conn)
            .optional()?)
    }

    /// The record with this key if it is live at `now_ms`: not deleted and
    /// not expired. Only a live row lets its object be uploaded or fetched.
    pub fn live_blob(&self, id: &str, now_ms: i64) -> Result<Option<BlobRecord>, StoreError> {
        let mut conn = self.conn()?;
        Ok(blobs::table
            .find(id)
            .filter(blobs::deleted_at.is_null())
            .filter(blobs::expires_at.gt(now_ms))
            .select(BlobRecord::as_select())
            .first(&mut conn)
            .optional()?)
    }

    /// Whether `device` may download the attachment `id`.
    pub fn is_attachment_recipient(&self, id: &str, device: &[u8]) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        let n: i64 = recipients::table
            .find((id, device))
            .count()
            .get_result(&mut conn)?;
        Ok(n > 0)
    }

    /// How many devices may still download the attachment `id`.
    pub fn attachment_recipient_count(&self, id: &str) -> Result<i64, StoreError> {
        let mut conn = self.conn()?;
        Ok(recipients::table
            .filter(recipients::blob_id.eq(id))
            .count()
            .get_result(&mut conn)?)
    }

    /// A recipient gives up its access (downloaded or declined). Says
    /// whether it was the last one, so the caller deletes the object: on
    /// PostgreSQL the blob row is locked first, so of two recipients leaving
    /// at once exactly one sees itself last.
    pub fn leave_attachment(&self, id: &str, device: &[u8]) -> Result<Leave, StoreError> {
        let (_write, mut conn) = self.writer()?;
        conn.transaction(|c| {
            if let DbConnection::Pg(pg) = &mut **c {
                blobs::table
                    .find(id)
                    .select(blobs::id)
                    .for_update()
                    .load::<String>(pg)?;
            }
            let gone = diesel::delete(recipients::table.find((id, device))).execute(c)?;
            if gone == 0 {
                return Ok(Leave::NotRecipient);
            }
            let left: i64 = recipients::table
                .filter(recipients::blob_id.eq(id))
                .count()
                .get_result(c)?;
            Ok(if left == 0 { Leave::Last } else { Leave::Left })
        })
    }

    /// Ends a live row early (declined, downloaded, cancelled); false when
    /// none was live. With `hold_until` later than `now_ms`, the row stays
    /// until then, deleted but still counted in the owner's quota, so that a
    /// store whose upload URLs cannot be revoked (S3) cannot be filled past
    /// the quota through them; the sweeper then removes object and row.
    pub fn end_blob(
        &self,
        id: &str,
        now_ms: i64,
        hold_until: Option<i64>,
    ) -> Result<bool, StoreError> {
        let (_write, mut conn) = self.writer()?;
        let live = blobs::table
            .filter(blobs::id.eq(id))
            .filter(blobs::deleted_at.is_null())
            .filter(blobs::expires_at.gt(now_ms));
        match hold_until.filter(|&until| until > now_ms) {
            None => Ok(diesel::delete(live).execute(&mut conn)? > 0),
            Some(until) => conn.transaction(|c| {
                if diesel::update(live)
                    .set(blobs::deleted_at.eq(now_ms))
                    .execute(c)?
                    == 0
                {
                    return Ok(false);
                }
                diesel::update(blobs::table.find(id).filter(blobs::expires_at.gt(until)))
                    .set(blobs::expires_at.eq(until))
                    .execute(c)?;
                Ok(true)
            }),
        }
    }

    /// Up to `limit` blobs whose expiry is at or before `now_ms`, oldest first.
    pub fn expired_blobs(&self, now_ms: i64, limit: i64) -> Result<Vec<BlobRecord>, StoreError> {
        let mut conn = self.conn()?;
        Ok(blobs::table
            .filter(blobs::expires_at.le(now_ms))
            .order(blobs::expires_at.asc())
            .limit(limit)
            .select(BlobRecord::as_select())
            .load(&mut conn)?)
    }

    /// Which of `ids` have a row (live or not); the others are orphans.
    pub fn known_blob_ids(&self, ids: &[String]) -> Result<HashSet<String>, StoreError> {
        let mut conn = self.conn()?;
        let mut known = HashSet::new();
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let found: Vec<String> = blobs::table
                .filter(blobs::id.eq_any(chunk))
                .select(blobs::id)
                .load(&mut conn)?;
            known.extend(found);
        }
        Ok(known)
    }

    /// Deletes a blob record; true when it existed.
    pub fn delete_blob(&self, id: &str) -> Result<bool, StoreError> {
        let (_write, mut conn) = self.writer()?;
        Ok(diesel::delete(blobs::table.find(id)).execute(&mut conn)? > 0)
    }
}
