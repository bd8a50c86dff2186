//! Web Push subscriptions (ADR 0023): at most a few per device, each kept
//! with the token that registered it.

use diesel::prelude::*;
use parley_shared::protocol::push::MAX_SUBSCRIPTIONS_PER_DEVICE;

use super::schema::push_subscriptions as subs;
use super::{Store, StoreError};

/// A stored subscription.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = subs)]
pub struct PushSubscriptionRow {
    /// The push service URL (unique: one browser subscription).
    pub endpoint: String,
    /// The device it wakes.
    pub device_id: Vec<u8>,
    /// SHA-256 of the token that registered it.
    pub token_hash: Vec<u8>,
    /// The browser's P-256 public key (65 bytes).
    pub p256dh: Vec<u8>,
    /// The RFC 8291 authentication secret (16 bytes).
    pub auth: Vec<u8>,
    /// Registration, Unix ms.
    pub created_at: i64,
}

impl Store {
    /// Registers a subscription (the same endpoint again replaces the old
    /// row, whichever device had it); beyond the per-device maximum the
    /// device's oldest go.
    pub fn put_push_subscription(&self, row: &PushSubscriptionRow) -> Result<(), StoreError> {
        let (_write, mut conn) = self.writer()?;
        conn.transaction(|c| {
            diesel::delete(subs::table.find(&row.endpoint)).execute(c)?;
            diesel::insert_into(subs::table).values(row).execute(c)?;
            let mine: Vec<String> = subs::table
                .filter(subs::device_id.eq(&row.device_id))
                .order((subs::created_at.desc(), subs::endpoint.asc()))
                .select(subs::endpoint)
                .load(c)?;
            let stale: Vec<&String> = mine
                .iter()
                .filter(|e| **e != row.endpoint)
                .skip(MAX_SUBSCRIPTIONS_PER_DEVICE.saturating_sub(1))
                .collect();
            if !stale.is_empty() {
                diesel::delete(subs::table.filter(subs::endpoint.eq_any(stale))).execute(c)?;
            }
            Ok(())
        })
    }

    /// The device's subscriptions.
    pub fn push_subscriptions(
        &self,
        device: &[u8],
    ) -> Result<Vec<PushSubscriptionRow>, StoreError> {
        let mut conn = self.conn()?;
        Ok(subs::table
            .filter(subs::device_id.eq(device))
            .select(PushSubscriptionRow::as_select())
            .load(&mut conn)?)
    }

    /// Deletes one subscription (the push service said it is gone).
    pub fn delete_push_subscription(&self, endpoint: &str) -> Result<bool, StoreError> {
        let (_write, mut conn) = self.writer()?;
        Ok(diesel::delete(subs::table.find(endpoint)).execute(&mut conn)? == 1)
    }

    /// Deletes every subscription of the device; returns how many.
    pub fn delete_device_push_subscriptions(&self, device: &[u8]) -> Result<usize, StoreError> {
        let (_write, mut conn) = self.writer()?;
        Ok(diesel::delete(subs::table.filter(subs::device_id.eq(device))).execute(&mut conn)?)
    }
}
