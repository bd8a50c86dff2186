//! Storage for devices' published keys, challenges, tokens and invite codes.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Binary};

use super::schema::{
    auth_challenges, auth_tokens, device_keys, devices, invite_codes, one_time_prekeys,
};
use super::{DbConnection, Store, StoreError};

/// The public keys a device published (encoded by the shared crate).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = device_keys)]
pub struct DeviceKeys {
    /// Device id.
    pub device_id: Vec<u8>,
    /// `IdentityPublic` encoding.
    pub identity: Vec<u8>,
    /// Encoded signed prekey.
    pub signed_prekey: Vec<u8>,
    /// Encoded ML-KEM prekey.
    pub pq_prekey: Vec<u8>,
    /// Last change, Unix ms.
    pub updated_at: i64,
}

/// A registration to store in one transaction.
#[derive(Debug, Clone)]
pub struct NewRegistration<'a> {
    /// Device id (Ed25519 key).
    pub device_id: &'a [u8],
    /// Identity encoding.
    pub identity: &'a [u8],
    /// Encoded signed prekey.
    pub signed_prekey: &'a [u8],
    /// Encoded ML-KEM prekey.
    pub pq_prekey: &'a [u8],
    /// One-time prekeys `(id, public key)`.
    pub one_time_prekeys: &'a [(i64, Vec<u8>)],
    /// SHA-256 of the issued token.
    pub token_hash: &'a [u8],
    /// Token expiry, Unix ms.
    pub token_expires_at: i64,
    /// SHA-256 of the invite code, when the gate requires one.
    pub invite_hash: Option<&'a [u8]>,
    /// The device this one succeeds (a key reset): erased in the same
    /// transaction, and the registration fails if it is already gone.
    pub replaces: Option<&'a [u8]>,
    /// Now, Unix ms.
    pub now: i64,
}

/// Why a registration was refused by the store.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// Unknown, expired or already used invite code.
    #[error("invite code is invalid, expired or already used")]
    InvalidInvite,
    /// The device id is registered with another identity encoding.
    #[error("device is registered with different identity keys")]
    IdentityConflict,
    /// The device to succeed no longer exists (another successor won).
    #[error("the device to succeed is already gone")]
    AlreadyReplaced,
    /// Storage failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for RegisterError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Store(e.into())
    }
}

#[derive(QueryableByName)]
struct ClaimedKey {
    #[diesel(sql_type = BigInt)]
    key_id: i64,
    #[diesel(sql_type = Binary)]
    public_key: Vec<u8>,
}

fn insert_one_time(
    c: &mut DbConnection,
    device: &[u8],
    keys: &[(i64, Vec<u8>)],
) -> QueryResult<()> {
    for (id, public) in keys {
        // Re-uploading a key id replaces it (a device may retry an upload).
        diesel::delete(one_time_prekeys::table.find((device, *id))).execute(c)?;
        diesel::insert_into(one_time_prekeys::table)
            .values((
                one_time_prekeys::device_id.eq(device),
                one_time_prekeys::key_id.eq(*id),
                one_time_prekeys::public_key.eq(public),
            ))
            .execute(c)?;
    }
    Ok(())
}

fn replace_keys(
    c: &mut DbConnection,
    device: &[u8],
    identity: &[u8],
    spk: &[u8],
    pq: &[u8],
    now: i64,
) -> QueryResult<()> {
    diesel::delete(device_keys::table.find(device)).execute(c)?;
    diesel::insert_into(device_keys::table)
        .values((
            device_keys::device_id.eq(device),
            device_keys::identity.eq(identity),
            device_keys::signed_prekey.eq(spk),
            device_keys::pq_prekey.eq(pq),
            device_keys::updated_at.eq(now),
        ))
        .execute(c)
        .map(|_| ())
}

impl Store {
    /// Stores a fresh challenge.
    pub fn create_challenge(&self, challenge: &[u8], expires_at: i64) -> Result<(), StoreError> {
        let (_write, mut c) = self.writer()?;
        diesel::insert_into(auth_challenges::table)
            .values((
                auth_challenges::challenge.eq(challenge),
                auth_challenges::expires_at.eq(expires_at),
            ))
            .execute(&mut c)?;
        Ok(())
    }

    /// Consumes a challenge: true only the first time, and only before expiry.
    pub fn consume_challenge(&self, challenge: &[u8], now: i64) -> Result<bool, StoreError> {
        let (_write, mut c) = self.writer()?;
        let n = diesel::delete(
            auth_challenges::table
                .filter(auth_challenges::challenge.eq(challenge))
                .filter(auth_challenges::expires_at.gt(now)),
        )
        .execute(&mut c)?;
        Ok(n == 1)
    }

    /// Registers (or re-registers) a device with its keys and first token, in
    /// one transaction; consumes the invite code if one is required, and
    /// erases the device it succeeds (returning that device's blob keys).
    pub fn register(&self, r: &NewRegistration<'_>) -> Result<Vec<String>, RegisterError> {
        let (_write, mut conn) = self.writer()?;
        let registered = conn.transaction(|c| {
            // First, so concurrent successors of one device serialise on it
            // and exactly one finds it.
            let replaced = match r.replaces {
                Some(old) => {
                    let (keys, existed) = super::erase_rows(c, old)?;
                    if !existed {
                        return Err(RegisterError::AlreadyReplaced);
                    }
                    keys
                }
                None => Vec::new(),
            };
            if let Some(hash) = r.invite_hash {
                let used = diesel::update(
                    invite_codes::table
                        .filter(invite_codes::code_hash.eq(hash))
                        .filter(invite_codes::used_at.is_null())
                        .filter(invite_codes::expires_at.gt(r.now)),
                )
                // Only that it was used: no link from the code to the device.
                .set(invite_codes::used_at.eq(Some(r.now)))
                .execute(c)?;
                if used != 1 {
                    return Err(RegisterError::InvalidInvite);
                }
            }
            let existing: Option<Vec<u8>> = device_keys::table
                .find(r.device_id)
                .select(device_keys::identity)
                .first(c)
                .optional()?;
            if existing.as_deref().is_some_and(|e| e != r.identity) {
                return Err(RegisterError::IdentityConflict);
            }
            let updated = diesel::update(devices::table.find(r.device_id))
                .set(devices::last_seen_at.eq(r.now))
                .execute(c)?;
            if updated == 0 {
                diesel::insert_into(devices::table)
                    .values((
                        devices::id.eq(r.device_id),
                        devices::created_at.eq(r.now),
                        devices::last_seen_at.eq(r.now),
                    ))
                    .execute(c)?;
            }
            replace_keys(
                c,
                r.device_id,
                r.identity,
                r.signed_prekey,
                r.pq_prekey,
                r.now,
            )?;
            insert_one_time(c, r.device_id, r.one_time_prekeys)?;
            diesel::insert_into(auth_tokens::table)
                .values((
                    auth_tokens::token_hash.eq(r.token_hash),
                    auth_tokens::device_id.eq(r.device_id),
                    auth_tokens::created_at.eq(r.now),
                    auth_tokens::expires_at.eq(r.token_expires_at),
                ))
                .execute(c)?;
            Ok(replaced)
        });
        // A new device, or an erased predecessor that was in a list.
        self.memberships_changed();
        registered
    }

    /// Issues a token for a registered device; false if the device is unknown.
    pub fn insert_token(
        &self,
        device: &[u8],
        token_hash: &[u8],
        now: i64,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let (_write, mut conn) = self.writer()?;
        conn.transaction(|c| {
            let n = diesel::update(devices::table.find(device))
                .set(devices::last_seen_at.eq(now))
                .execute(c)?;
            if n == 0 {
                return Ok(false);
            }
            diesel::insert_into(auth_tokens::table)
                .values((
                    auth_tokens::token_hash.eq(token_hash),
                    auth_tokens::device_id.eq(device),
                    auth_tokens::created_at.eq(now),
                    auth_tokens::expires_at.eq(expires_at),
                ))
                .execute(c)?;
            Ok(true)
        })
    }

    /// The device a live token belongs to.
    pub fn device_for_token(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.live_token(token_hash, now)?.map(|(device, _)| device))
    }

    /// The device a live token belongs to and the token's expiry (Unix ms).
    pub fn live_token(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> Result<Option<(Vec<u8>, i64)>, StoreError> {
        let mut c = self.conn()?;
        Ok(auth_tokens::table
            .filter(auth_tokens::token_hash.eq(token_hash))
            .filter(auth_tokens::expires_at.gt(now))
            .select((auth_tokens::device_id, auth_tokens::expires_at))
            .first(&mut c)
            .optional()?)
    }

    /// Revokes one token.
    pub fn revoke_token(&self, token_hash: &[u8]) -> Result<bool, StoreError> {
        let (_write, mut c) = self.writer()?;
        c.transaction(|c| {
            // Its push subscriptions go with it: a logged-out browser must
            // not be woken for this device any more.
            use super::schema::push_subscriptions as subs;
            diesel::delete(subs::table.filter(subs::token_hash.eq(token_hash))).execute(c)?;
            Ok(diesel::delete(auth_tokens::table.find(token_hash)).execute(c)? == 1)
        })
    }

    /// Revokes every token of a device; returns how many there were.
    pub fn revoke_device_tokens(&self, device: &[u8]) -> Result<usize, StoreError> {
        let (_write, mut c) = self.writer()?;
        c.transaction(|c| {
            use super::schema::push_subscriptions as subs;
            diesel::delete(subs::table.filter(subs::device_id.eq(device))).execute(c)?;
            Ok(
                diesel::delete(auth_tokens::table.filter(auth_tokens::device_id.eq(device)))
                    .execute(c)?,
            )
        })
    }

    /// Replaces the device's signed and ML-KEM prekeys and adds one-time prekeys.
    pub fn put_prekeys(
        &self,
        device: &[u8],
        signed_prekey: &[u8],
        pq_prekey: &[u8],
        one_time: &[(i64, Vec<u8>)],
        now: i64,
        max_one_time: i64,
    ) -> Result<bool, StoreError> {
        let (_write, mut conn) = self.writer()?;
        conn.transaction(|c| {
            // Counted inside the transaction that inserts (the writer lock
            // serialises SQLite; PostgreSQL locks the device's keys row).
            super::lock_device(c, device)?;
            let held: i64 = one_time_prekeys::table
                .filter(one_time_prekeys::device_id.eq(device))
                .count()
                .get_result(c)?;
            let adding = i64::try_from(one_time.len()).unwrap_or(i64::MAX);
            if held.saturating_add(adding) > max_one_time {
                return Ok(false);
            }
            diesel::update(device_keys::table.find(device))
                .set((
                    device_keys::signed_prekey.eq(signed_prekey),
                    device_keys::pq_prekey.eq(pq_prekey),
                    device_keys::updated_at.eq(now),
                ))
                .execute(c)?;
            insert_one_time(c, device, one_time)?;
            Ok(true)
        })
    }

    /// The device's published keys.
    pub fn device_keys(&self, device: &[u8]) -> Result<Option<DeviceKeys>, StoreError> {
        let mut c = self.conn()?;
        Ok(device_keys::table
            .find(device)
            .select(DeviceKeys::as_select())
            .first(&mut c)
            .optional()?)
    }

    /// One-time prekeys left for a device.
    pub fn one_time_prekey_count(&self, device: &[u8]) -> Result<u32, StoreError> {
        let mut c = self.conn()?;
        let n: i64 = one_time_prekeys::table
            .filter(one_time_prekeys::device_id.eq(device))
            .count()
            .get_result(&mut c)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Takes one one-time prekey, atomically: concurrent claims never get the
    /// same key. One statement per backend (`RETURNING`; PostgreSQL skips rows
    /// another claim has locked instead of waiting and coming back empty).
    pub fn claim_one_time_prekey(
        &self,
        device: &[u8],
    ) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
        let (_write, mut conn) = self.writer()?;
        let claimed: Vec<ClaimedKey> = match &mut *conn {
            DbConnection::Pg(c) => diesel::sql_query(
                "DELETE FROM one_time_prekeys WHERE (device_id, key_id) IN ( \
                   SELECT device_id, key_id FROM one_time_prekeys WHERE device_id = $1 \
                   ORDER BY key_id LIMIT 1 FOR UPDATE SKIP LOCKED) \
                 RETURNING key_id, public_key",
            )
            .bind::<Binary, _>(device)
            .load(c)?,
            DbConnection::Sqlite(c) => diesel::sql_query(
                "DELETE FROM one_time_prekeys WHERE device_id = ?1 AND key_id = ( \
                   SELECT MIN(key_id) FROM one_time_prekeys WHERE device_id = ?1) \
                 RETURNING key_id, public_key",
            )
            .bind::<Binary, _>(device)
            .load(c)?,
        };
        Ok(claimed.into_iter().next().map(|k| (k.key_id, k.public_key)))
    }

    /// Creates an invite code (stored hashed).
    pub fn create_invite(
        &self,
        code_hash: &[u8],
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let (_write, mut c) = self.writer()?;
        diesel::insert_into(invite_codes::table)
            .values((
                invite_codes::code_hash.eq(code_hash),
                invite_codes::created_at.eq(now),
                invite_codes::expires_at.eq(expires_at),
            ))
            .execute(&mut c)?;
        Ok(())
    }

    /// Deletes expired challenges and tokens; returns how many rows went.
    pub fn sweep_auth(&self, now: i64) -> Result<usize, StoreError> {
        let (_write, mut c) = self.writer()?;
        let a = diesel::delete(auth_challenges::table.filter(auth_challenges::expires_at.le(now)))
            .execute(&mut c)?;
        let b = diesel::delete(auth_tokens::table.filter(auth_tokens::expires_at.le(now)))
            .execute(&mut c)?;
        Ok(a + b)
    }
}
