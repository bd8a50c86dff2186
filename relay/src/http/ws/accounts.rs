//! The mismatched-devices rule for stored envelopes (ADR 0017).

use std::collections::HashMap;

use actix_web::web;
use parley_shared::crypto::account::SignedDeviceList;
use parley_shared::protocol::ws::DeviceId;

use crate::db::Membership;
use crate::error::HttpError;
use crate::http::AppState;

/// `Ok(None)` when `named` (the sender's counter for the recipient's
/// account) is current; otherwise the list to answer with in
/// `ServerFrame::Stale` (`Some(None)`: the device is in no account, yet the
/// sender named a list). `read`: the recipient's membership as read just
/// before, for this send and others of its chain ([`read_memberships`]).
pub(super) async fn check_list(
    state: &AppState,
    to: DeviceId,
    named: Option<u64>,
    read: Option<Membership>,
) -> Result<Option<Option<SignedDeviceList>>, HttpError> {
    // Remembered (a single node, ADR 0030): no hop to the blocking pool.
    let current = match read.or_else(|| state.store.cached_membership(to.as_bytes())) {
        Some(known) => known,
        None => {
            let store = state.store.clone();
            web::block(move || store.membership(to.as_bytes())).await??
        }
    };
    let (counter, account) = match (current, named) {
        // The commit answers "no such recipient".
        (Membership::Unknown, _) | (Membership::Unlisted, None) => return Ok(None),
        (Membership::Unlisted, Some(_)) => return Ok(Some(None)),
        (Membership::Listed { counter, .. }, Some(n))
            if i64::try_from(n).is_ok_and(|n| n == counter) =>
        {
            return Ok(None);
        }
        (Membership::Listed { counter, account }, _) => (counter, account),
    };
    let store = state.store.clone();
    let stored = web::block(move || store.device_list(&account)).await??;
    let list = match stored {
        Some(s) if s.counter == counter => SignedDeviceList::from_bytes(&s.list).ok(),
        // Replaced between the two reads, or a remembered counter that a
        // write made elsewhere outdated (ADR 0030): forget what this node
        // remembers, so the sender's resend is checked against the database.
        _ => {
            state.store.memberships_changed();
            None
        }
    };
    match list {
        Some(list) => Ok(Some(Some(list))),
        None => {
            let store = state.store.clone();
            let again = web::block(move || store.device_list(&account)).await??;
            Ok(Some(
                again.and_then(|s| SignedDeviceList::from_bytes(&s.list).ok()),
            ))
        }
    }
}

/// The memberships of a chain's recipients in one read, where the node
/// remembers none (several nodes, ADR 0030): one hop to the blocking pool
/// and two statements for the chain instead of a read per send. Empty on a
/// single node, for one send, or when the read fails (each send then reads
/// its own, and answers as that read goes); counted when it answered.
pub(super) async fn read_memberships(
    state: &AppState,
    recipients: impl Iterator<Item = DeviceId>,
) -> HashMap<DeviceId, Membership> {
    if state.store.remembers_memberships() {
        return HashMap::new();
    }
    let mut devices: Vec<DeviceId> = recipients.collect();
    if devices.len() < 2 {
        return HashMap::new();
    }
    devices.sort_unstable_by_key(|d| d.to_bytes());
    devices.dedup();
    let asked: Vec<[u8; 32]> = devices.iter().map(|d| d.to_bytes()).collect();
    let store = state.store.clone();
    match web::block(move || store.memberships(&asked)).await {
        Ok(Ok(read)) => {
            metrics::counter!("parley_chain_membership_reads_total").increment(1);
            devices.into_iter().zip(read).collect()
        }
        _ => HashMap::new(),
    }
}
