//! Accounts (ADR 0017): each account's latest signed device list and which
//! devices belong to it. The relay has checked the list's signatures before
//! it gets here; this layer keeps "only newer lists", "a device in one
//! account" and "a dropped device is erased" atomic.

use std::collections::HashMap;

use diesel::prelude::*;

use super::schema::{accounts, devices};
use super::{DbConnection, Store, StoreError, erase_rows};

/// A checked list to store.
#[derive(Debug)]
pub struct NewList<'a> {
    /// The account (its key).
    pub account: [u8; 32],
    /// The list's counter.
    pub counter: i64,
    /// The signed list as received.
    pub bytes: &'a [u8],
    /// The devices it names.
    pub devices: Vec<[u8; 32]>,
    /// Unix ms.
    pub now: i64,
}

/// What storing a list did.
#[derive(Debug, PartialEq, Eq)]
pub enum ListPut {
    /// Stored. The devices it dropped were erased; their blob keys follow so
    /// the caller deletes the objects.
    Stored {
        /// Erased devices and their blob keys.
        removed: Vec<([u8; 32], Vec<String>)>,
    },
    /// This exact list is already the current one (a resend).
    Same,
    /// The relay holds a list with this counter or a higher one.
    NotNewer {
        /// The current list.
        current: Vec<u8>,
    },
    /// A listed device is not registered on this relay.
    UnknownDevice([u8; 32]),
    /// A listed device already belongs to another account.
    OtherAccount([u8; 32]),
}

/// An account's current list, as served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredList {
    /// Counter.
    pub counter: i64,
    /// Signed list bytes.
    pub list: Vec<u8>,
}

impl Store {
    /// Stores a newer list for an account: atomically checks the counter and
    /// the devices, moves the devices into the account and erases the ones
    /// it no longer names.
    pub fn put_device_list(&self, new: &NewList<'_>) -> Result<ListPut, StoreError> {
        let (_write, mut conn) = self.writer()?;
        let put = conn.transaction(|c| put_list(c, new))?;
        // Only a stored list changes memberships: a resend of the current
        // one (anyone can make it) must not empty the cache.
        if matches!(put, ListPut::Stored { .. }) {
            self.memberships_changed();
        }
        Ok(put)
    }

    /// An account's current list.
    pub fn device_list(&self, account: &[u8; 32]) -> Result<Option<StoredList>, StoreError> {
        let mut conn = self.conn()?;
        let row: Option<(i64, Vec<u8>)> = accounts::table
            .find(account.as_slice())
            .select((accounts::counter, accounts::list))
            .first(&mut conn)
            .optional()?;
        Ok(row.map(|(counter, list)| StoredList { counter, list }))
    }

    /// [`Store::membership`] without touching the database: `Some` only
    /// when this process remembers it (ADR 0030), so the caller can skip the
    /// hop to the blocking pool.
    pub fn cached_membership(&self, device: &[u8; 32]) -> Option<Membership> {
        self.memberships.as_ref()?.get(device)
    }

    /// Whether this process remembers memberships (a single node, ADR 0030).
    pub fn remembers_memberships(&self) -> bool {
        self.memberships.is_some()
    }

    /// Which account's list `device` is in, and that list's counter. One
    /// indexed read, or none when remembered.
    pub fn membership(&self, device: &[u8]) -> Result<Membership, StoreError> {
        let Ok(id) = <[u8; 32]>::try_from(device) else {
            return self.read_membership(device);
        };
        let Some(cache) = &self.memberships else {
            return self.read_membership(device);
        };
        if let Some(known) = cache.get(&id) {
            return Ok(known);
        }
        let epoch = cache.epoch();
        let read = self.read_membership(device)?;
        cache.put(id, read, epoch);
        Ok(read)
    }

    fn read_membership(&self, device: &[u8]) -> Result<Membership, StoreError> {
        let mut conn = self.conn()?;
        let account: Option<Option<Vec<u8>>> = devices::table
            .find(device)
            .select(devices::account_id)
            .first(&mut conn)
            .optional()?;
        let account = match account {
            None => return Ok(Membership::Unknown),
            Some(None) => return Ok(Membership::Unlisted),
            Some(Some(a)) => a,
        };
        let counter: Option<i64> = accounts::table
            .find(&account)
            .select(accounts::counter)
            .first(&mut conn)
            .optional()?;
        let id = <[u8; 32]>::try_from(account.as_slice())
            .map_err(|_| StoreError::Invalid("account id must be 32 bytes"))?;
        Ok(
            counter.map_or(Membership::Unlisted, |counter| Membership::Listed {
                account: id,
                counter,
            }),
        )
    }

    /// [`Store::membership`] of each of `devices`, in order, in two queries
    /// per chunk (a multi-recipient send names up to 1,024 devices).
    pub fn memberships(&self, devices: &[[u8; 32]]) -> Result<Vec<Membership>, StoreError> {
        let mut conn = self.conn()?;
        let mut out = Vec::with_capacity(devices.len());
        for chunk in devices.chunks(500) {
            let ids: Vec<&[u8]> = chunk.iter().map(<[u8; 32]>::as_slice).collect();
            let rows: HashMap<Vec<u8>, Option<Vec<u8>>> = devices::table
                .filter(devices::id.eq_any(ids))
                .select((devices::id, devices::account_id))
                .load::<(Vec<u8>, Option<Vec<u8>>)>(&mut conn)?
                .into_iter()
                .collect();
            let mut accounts_named: Vec<&Vec<u8>> = rows.values().flatten().collect();
            accounts_named.sort_unstable();
            accounts_named.dedup();
            let counters: HashMap<Vec<u8>, i64> = accounts::table
                .filter(accounts::id.eq_any(accounts_named))
                .select((accounts::id, accounts::counter))
                .load::<(Vec<u8>, i64)>(&mut conn)?
                .into_iter()
                .collect();
            for d in chunk {
                out.push(match rows.get(d.as_slice()) {
                    None => Membership::Unknown,
                    Some(None) => Membership::Unlisted,
                    Some(Some(a)) => match (counters.get(a), <[u8; 32]>::try_from(a.as_slice())) {
                        (Some(counter), Ok(account)) => Membership::Listed {
                            account,
                            counter: *counter,
                        },
                        _ => Membership::Unlisted,
                    },
                });
            }
        }
        Ok(out)
    }
}

/// Where a device stands with accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    /// Not registered (or erased).
    Unknown,
    /// Registered, in no account.
    Unlisted,
    /// In this account's current list.
    Listed {
        /// The account.
        account: [u8; 32],
        /// Its list's counter.
        counter: i64,
    },
}

fn put_list(c: &mut DbConnection, new: &NewList<'_>) -> Result<ListPut, diesel::result::Error> {
    let id = new.account.as_slice();
    if let DbConnection::Pg(pg) = c {
        // Two first lists for one account have no row to lock yet: serialise
        // on the account itself. (SQLite: the writer lock is held.)
        let mut key = [0u8; 8];
        for (k, a) in key.iter_mut().zip(new.account) {
            *k = a;
        }
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<diesel::sql_types::BigInt, _>(i64::from_be_bytes(key))
            .execute(pg)?;
    }
    let current: Option<(i64, Vec<u8>)> = accounts::table
        .find(id)
        .select((accounts::counter, accounts::list))
        .first(c)
        .optional()?;
    let current_exists = current.is_some();
    if let Some((counter, list)) = current {
        if counter == new.counter && list == new.bytes {
            return Ok(ListPut::Same);
        }
        if counter >= new.counter {
            return Ok(ListPut::NotNewer { current: list });
        }
    }
    let mut listed = new.devices.clone();
    // One lock order for every writer, so two accounts never deadlock.
    listed.sort_unstable();
    for d in &listed {
        super::lock_device(c, d)?;
        let owner: Option<Option<Vec<u8>>> = devices::table
            .find(d.as_slice())
            .select(devices::account_id)
            .first(c)
            .optional()?;
        match owner {
            None => return Ok(ListPut::UnknownDevice(*d)),
            Some(Some(other)) if other != id => return Ok(ListPut::OtherAccount(*d)),
            Some(_) => {}
        }
    }
    // The account row or the advisory lock is held: no upsert needed (and
    // the multi-backend connection has none).
    if current_exists {
        diesel::update(accounts::table.find(id))
            .set((
                accounts::counter.eq(new.counter),
                accounts::list.eq(new.bytes),
                accounts::updated_at.eq(new.now),
            ))
            .execute(c)?;
    } else {
        diesel::insert_into(accounts::table)
            .values((
                accounts::id.eq(id),
                accounts::counter.eq(new.counter),
                accounts::list.eq(new.bytes),
                accounts::updated_at.eq(new.now),
            ))
            .execute(c)?;
    }
    // Listed devices join first, so erasing the dropped ones never sees the
    // account empty (a restore may name none of the old devices).
    let ids: Vec<&[u8]> = listed.iter().map(<[u8; 32]>::as_slice).collect();
    diesel::update(devices::table.filter(devices::id.eq_any(ids)))
        .set(devices::account_id.eq(Some(id)))
        .execute(c)?;
    let members: Vec<Vec<u8>> = devices::table
        .filter(devices::account_id.eq(id))
        .select(devices::id)
        // Erased in id order, the one lock order of every writer.
        .order(devices::id.asc())
        .load(c)?;
    let mut removed = Vec::new();
    for m in members {
        let Ok(m) = <[u8; 32]>::try_from(m.as_slice()) else {
            continue;
        };
        if !listed.contains(&m) {
            let (keys, _) = erase_rows(c, &m)?;
            removed.push((m, keys));
        }
    }
    Ok(ListPut::Stored { removed })
}

/// Inside an erase: forgets the account when its last device goes, so the
/// relay keeps nothing of a person who erased every device.
pub(super) fn forget_if_last(
    c: &mut DbConnection,
    account: Option<Vec<u8>>,
) -> Result<(), diesel::result::Error> {
    let Some(account) = account else {
        return Ok(());
    };
    let left: i64 = devices::table
        .filter(devices::account_id.eq(&account))
        .count()
        .get_result(c)?;
    if left == 0 {
        diesel::delete(accounts::table.find(&account)).execute(c)?;
    }
    Ok(())
}
