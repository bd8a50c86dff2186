//! Relational storage behind one code path for PostgreSQL and SQLite.
//!
//! All methods are blocking (diesel is synchronous); async callers run them on
//! actix's blocking pool with `web::block`.

mod accounts;
mod acks;
mod auth;
mod blob_rows;
mod conn;
mod email_otp;
mod fanout;
mod mailbox;
mod membership_cache;
mod push;
mod rendezvous;
mod runs;
pub mod schema;

use std::time::Duration;

use diesel::prelude::*;
use diesel::r2d2::{ManageConnection as _, Pool, PooledConnection};

use crate::config::DatabaseTarget;
pub use accounts::{ListPut, Membership, NewList, StoredList};
pub use acks::ACK_DELETE_SQL;
pub use auth::{DeviceKeys, NewRegistration, RegisterError};
pub use blob_rows::{Admission, BlobQuota, BlobRecord, Leave};
pub use conn::{DbConnection, Manager, embedded_migration_names};
pub use email_otp::{Check as OtpCheck, Issue as OtpIssue};
pub use fanout::{Fanned, NewFanout};
pub use mailbox::{Ack, Enqueued, NewEnvelope, Outcome, QueueLimits, StoredEnvelope, Write};
pub use push::PushSubscriptionRow;
pub use rendezvous::{
    Created as RendezvousCreated, Get as RendezvousGet, NewSlot, PinAssigned, Put as RendezvousPut,
    Rejection as RendezvousRejection,
};
pub use runs::KNOWN_PAIRS_SQL;
use schema::{blobs, devices};

/// How long a request waits for a pooled connection before the database is
/// reported as unavailable. Short, so `/readyz` answers promptly when it is down.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(3);

/// Storage errors, by what the caller can do about them.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached (down, refused, pool exhausted).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migration(String),
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    /// A value in the database or in the request does not fit the schema.
    #[error("invalid data: {0}")]
    Invalid(&'static str),
}

/// A device row. Devices are their 32-byte Ed25519 identity public keys.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = devices)]
pub struct Device {
    /// Ed25519 public key.
    pub id: Vec<u8>,
    /// First registration, Unix ms.
    pub created_at: i64,
    /// Last authenticated activity, Unix ms.
    pub last_seen_at: i64,
}

/// Pooled access to the relay's database.
#[derive(Clone)]
pub struct Store {
    pool: Pool<Manager>,
    backend: &'static str,
    /// SQLite has one writer at a time, and a deferred transaction that reads
    /// before it writes cannot wait for the lock (SQLITE_BUSY at once), so the
    /// relay serialises its own SQLite writes here. PostgreSQL needs none.
    write_lock: Option<std::sync::Arc<std::sync::Mutex<()>>>,
    /// Device memberships remembered by a single-node relay (ADR 0030).
    memberships: Option<std::sync::Arc<membership_cache::MembershipCache>>,
}

/// Held while writing to SQLite (see `Store::write_lock`).
pub(crate) type WriteGuard<'a> = Option<std::sync::MutexGuard<'a, ()>>;

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Store {
    /// Connects once (so a bad URL or a down server is reported with its real
    /// error) and builds the pool.
    pub fn connect(target: &DatabaseTarget, pool_size: u32) -> Result<Self, StoreError> {
        let manager = Manager::new(target.clone());
        let first = manager
            .connect()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let pool = Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(1))
            .connection_timeout(CHECKOUT_TIMEOUT)
            .build_unchecked(manager);
        drop(first);
        Ok(Self {
            pool,
            backend: target.backend(),
            write_lock: matches!(target, DatabaseTarget::Sqlite(_)).then(Default::default),
            memberships: None,
        })
    }

    /// Remembers device memberships in this process (ADR 0030). Only for a
    /// relay that is its database's only writer (no other node): writes made
    /// elsewhere would not invalidate it.
    #[must_use]
    pub fn with_membership_cache(mut self) -> Self {
        self.memberships = Some(std::sync::Arc::default());
        self
    }

    /// Called after committing a write that can change which list a device
    /// is in or a list's counter, and by a caller that found a remembered
    /// membership disagreeing with the database (a write this process did not
    /// make): the next check reads it again instead of refusing sends for good.
    pub(crate) fn memberships_changed(&self) {
        if let Some(cache) = &self.memberships {
            cache.invalidate();
        }
    }

    /// `postgres` or `sqlite`.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    pub(crate) fn conn(&self) -> Result<PooledConnection<Manager>, StoreError> {
        self.pool
            .get_timeout(CHECKOUT_TIMEOUT)
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    /// A connection for writing, with the SQLite write lock held (keep the
    /// guard alive until the write is done).
    pub(crate) fn writer(&self) -> Result<(WriteGuard<'_>, PooledConnection<Manager>), StoreError> {
        let guard = self
            .write_lock
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        Ok((guard, self.conn()?))
    }

    /// Applies pending migrations; returns the names applied (empty when current).
    pub fn migrate(&self) -> Result<Vec<String>, StoreError> {
        let (_write, mut conn) = self.writer()?;
        conn::run_migrations(&mut conn).map_err(StoreError::Migration)
    }

    /// Round trip to the database, for readiness.
    pub fn ping(&self) -> Result<(), StoreError> {
        use diesel::connection::SimpleConnection;
        let mut conn = self.conn()?;
        conn.batch_execute("SELECT 1")
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    /// Records a device, or refreshes `last_seen_at` if it exists. Returns true
    /// when the device is new.
    pub fn upsert_device(&self, id: &[u8], now_ms: i64) -> Result<bool, StoreError> {
        if id.len() != 32 {
            return Err(StoreError::Invalid("device id must be 32 bytes"));
        }
        let (_write, mut conn) = self.writer()?;
        let new = conn.transaction(|c| {
            let updated = diesel::update(devices::table.find(id))
                .set(devices::last_seen_at.eq(now_ms))
                .execute(c)?;
            if updated > 0 {
                return Ok(false);
            }
            diesel::insert_into(devices::table)
                .values((
                    devices::id.eq(id),
                    devices::created_at.eq(now_ms),
                    devices::last_seen_at.eq(now_ms),
                ))
                .execute(c)?;
            Ok(true)
        });
        if matches!(new, Ok(true)) {
            self.memberships_changed();
        }
        new
    }

    /// The device with this id, if registered.
    pub fn device(&self, id: &[u8]) -> Result<Option<Device>, StoreError> {
        let mut conn = self.conn()?;
        Ok(devices::table
            .find(id)
            .select(Device::as_select())
            .first(&mut conn)
            .optional()?)
    }

    /// Erases a device and every row that belongs to it. Returns the keys of
    /// its blobs so the caller can delete the objects from the blob store.
    pub fn delete_device(&self, id: &[u8]) -> Result<Vec<String>, StoreError> {
        let (_write, mut conn) = self.writer()?;
        let erased = conn.transaction(|c| Ok(erase_rows(c, id)?.0));
        self.memberships_changed();
        erased
    }
}

/// Whether an error is a unique or foreign-key violation (a caller mistake,
/// not an outage).
pub fn is_constraint_violation(err: &StoreError) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    matches!(
        err,
        StoreError::Query(Error::DatabaseError(
            DatabaseErrorKind::UniqueViolation | DatabaseErrorKind::ForeignKeyViolation,
            _
        ))
    )
}

/// Serialises writers that count or change a device's rows (PostgreSQL;
/// SQLite holds the relay's write lock). `FOR NO KEY UPDATE`, not `FOR
/// UPDATE`: it must not wait for the key-share locks that every upload or
/// envelope naming the device holds until it commits, or a device-list
/// update and an upload deadlock. Only erasing a device takes `FOR UPDATE`.
pub(crate) fn lock_device(c: &mut DbConnection, device: &[u8]) -> QueryResult<()> {
    if let DbConnection::Pg(pg) = c {
        diesel::sql_query("SELECT 1 FROM devices WHERE id = $1 FOR NO KEY UPDATE")
            .bind::<diesel::sql_types::Binary, _>(device)
            .execute(pg)?;
    }
    Ok(())
}

/// Deletes a device and every row that belongs to it, inside the caller's
/// transaction. Returns its blob keys and whether the device row existed.
pub(crate) fn erase_rows(
    c: &mut DbConnection,
    id: &[u8],
) -> Result<(Vec<String>, bool), diesel::result::Error> {
    // Locked first: a mailbox batch holding this device as a sender
    // commits before the erase starts, or sees the device gone.
    if let DbConnection::Pg(pg) = c {
        diesel::sql_query("SELECT 1 FROM devices WHERE id = $1 FOR UPDATE")
            .bind::<diesel::sql_types::Binary, _>(id)
            .execute(pg)?;
    }
    // Its uploads, and the attachments it was the last device allowed to
    // fetch: nobody can fetch those any more.
    use schema::attachment_recipients as rcpt;
    let waiting: Vec<String> = rcpt::table
        .filter(rcpt::device.eq(id))
        .select(rcpt::blob_id)
        .load(c)?;
    diesel::delete(rcpt::table.filter(rcpt::device.eq(id))).execute(c)?;
    let still_wanted: Vec<String> = rcpt::table
        .filter(rcpt::blob_id.eq_any(&waiting))
        .select(rcpt::blob_id)
        .distinct()
        .load(c)?;
    let unwanted: Vec<&String> = waiting
        .iter()
        .filter(|b| !still_wanted.contains(b))
        .collect();
    let mine = blobs::owner.eq(id).or(blobs::id.eq_any(unwanted));
    let keys: Vec<String> = blobs::table.filter(mine).select(blobs::id).load(c)?;
    // Explicit delete rather than relying on ON DELETE CASCADE alone:
    // SQLite only cascades with foreign_keys=ON on that connection.
    diesel::delete(rcpt::table.filter(rcpt::blob_id.eq_any(&keys))).execute(c)?;
    diesel::delete(blobs::table.filter(blobs::id.eq_any(&keys))).execute(c)?;
    diesel::delete(
        schema::one_time_prekeys::table.filter(schema::one_time_prekeys::device_id.eq(id)),
    )
    .execute(c)?;
    diesel::delete(schema::device_keys::table.find(id)).execute(c)?;
    diesel::delete(schema::auth_tokens::table.filter(schema::auth_tokens::device_id.eq(id)))
        .execute(c)?;
    diesel::delete(
        schema::push_subscriptions::table.filter(schema::push_subscriptions::device_id.eq(id)),
    )
    .execute(c)?;
    // Envelopes to the device, and those it sent that still wait.
    use schema::{envelope_tombstones as tomb, envelopes as env};
    let rows = env::recipient.eq(id).or(env::sender.eq(id));
    let shared: Vec<Option<i64>> = env::table
        .filter(rows)
        .filter(env::payload_id.is_not_null())
        .select(env::payload_id)
        .load(c)?;
    diesel::delete(env::table.filter(rows)).execute(c)?;
    // Shared payloads whose last recipient row went with the device.
    let shared: Vec<i64> = shared.into_iter().flatten().collect();
    fanout::drop_unreferenced(c, &shared)?;
    diesel::delete(tomb::table.filter(tomb::sender.eq(id))).execute(c)?;
    diesel::delete(schema::rendezvous::table.filter(schema::rendezvous::owner.eq(id)))
        .execute(c)?;
    let account: Option<Option<Vec<u8>>> = devices::table
        .find(id)
        .select(devices::account_id)
        .first(c)
        .optional()?;
    let gone = diesel::delete(devices::table.find(id)).execute(c)?;
    accounts::forget_if_last(c, account.flatten())?;
    Ok((keys, gone == 1))
}
