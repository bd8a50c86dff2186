//! Bookkeeping of blob-store objects (attachment ciphertext): who uploaded
//! what, for whom, until when, and the per-device quotas.

use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::schema::blobs;
use super::{DbConnection, Store, StoreError};

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
    /// For attachments: the only device that may download it.
    pub recipient: Option<Vec<u8>>,
}

/// What one device may have waiting at once (unexpired rows).
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
        if rec.size <= 0 {
            return Err(StoreError::Invalid("blob size must be positive"));
        }
        let (_write, mut conn) = self.writer()?;
        conn.transaction(|c| {
            if let DbConnection::Pg(pg) = &mut **c {
                diesel::sql_query("SELECT 1 FROM devices WHERE id = $1 FOR UPDATE")
                    .bind::<diesel::sql_types::Binary, _>(&rec.owner)
                    .execute(pg)?;
            }
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
            Ok(Admission::Admitted)
        })
    }

    /// The blob record with this key.
    pub fn blob(&self, id: &str) -> Result<Option<BlobRecord>, StoreError> {
        let mut conn = self.conn()?;
        Ok(blobs::table
            .find(id)
            .select(BlobRecord::as_select())
            .first(&mut conn)
            .optional()?)
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

    /// Deletes a blob record; true when it existed.
    pub fn delete_blob(&self, id: &str) -> Result<bool, StoreError> {
        let (_write, mut conn) = self.writer()?;
        Ok(diesel::delete(blobs::table.find(id)).execute(&mut conn)? > 0)
    }
}
