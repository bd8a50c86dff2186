//! PostgreSQL row locks on `devices`: writers that only serialise on a
//! device (device-list updates, uploads, prekeys, PIN slots) never wait for
//! the key-share locks that an uncommitted upload or envelope naming that
//! device holds, so a device-list update and an upload cannot deadlock
//! (a fresh-clone `make test` saw `PUT …/devices` answer 500 on exactly
//! that). SQLite has one writer and no row locks, so these run on
//! PostgreSQL only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::api::{Api, Device, put_list, signed_list};
use common::backends::postgres_relay;
use diesel::{Connection as _, PgConnection, RunQueryDsl as _};
use parley_shared::crypto::account::{AccountKeyPair, SignedDeviceList};
use parley_shared::crypto::os_rng;
use parley_shared::protocol::auth::encode_b64;
use parley_shared::time::UnixMs;
use serde_json::json;

const T0: UnixMs = UnixMs::from_millis(1_780_000_000_000);

fn list(account: &AccountKeyPair, counter: u64, devices: &[&Device]) -> SignedDeviceList {
    signed_list(account, counter, devices, T0)
}

/// An upload by `from` naming `to`, left uncommitted on its own connection
/// (as the relay's transaction is between its insert and its commit) until
/// the returned sender is dropped.
fn hold_upload_naming(url: &str, from: &Device, to: &Device) -> mpsc::Sender<()> {
    let (url, owner, named) = (
        url.to_owned(),
        from.identity.device_id().as_bytes().to_vec(),
        to.identity.device_id().as_bytes().to_vec(),
    );
    let (ready_tx, ready) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        let mut c = PgConnection::establish(&url).unwrap();
        c.transaction::<(), diesel::result::Error, _>(|c| {
            diesel::sql_query(
                "INSERT INTO blobs (id, owner, size, created_at, expires_at) \
                 VALUES ('held', $1, 1, 0, 9000000000000)",
            )
            .bind::<diesel::sql_types::Binary, _>(&owner)
            .execute(c)?;
            diesel::sql_query(
                "INSERT INTO attachment_recipients (blob_id, device) VALUES ('held', $1)",
            )
            .bind::<diesel::sql_types::Binary, _>(&named)
            .execute(c)?;
            ready_tx.send(()).unwrap();
            // Held until the test lets go (or fails and drops the sender).
            let _ = released.recv();
            Err(diesel::result::Error::RollbackTransaction)
        })
        .ok();
    });
    ready.recv_timeout(Duration::from_secs(10)).unwrap();
    release
}

#[tokio::test]
async fn a_device_list_update_does_not_wait_for_an_upload_naming_a_listed_device() {
    let Some((builder, Some(url))) = postgres_relay() else {
        return;
    };
    let relay = builder.start().await;
    let api = Api::new(&relay);
    let [laptop, phone, bob] = api.devices::<3>().await;
    let alice = AccountKeyPair::generate(&mut os_rng());
    let one = list(&alice, 1, &[&laptop]);
    assert_eq!(put_list(&api, &laptop, &alice, &one).await, 204);

    let release = hold_upload_naming(&url, &bob, &phone);
    let two = list(&alice, 2, &[&laptop, &phone]);
    let put = tokio::time::timeout(
        Duration::from_secs(5),
        put_list(&api, &laptop, &alice, &two),
    )
    .await;
    drop(release);
    assert_eq!(
        put.expect("the device-list update waited for Bob's upload to commit"),
        204
    );
}

async fn uploads(api: &Api, owner: &Device, body: &str, n: u64) -> Vec<(u16, serde_json::Value)> {
    let mut statuses = Vec::new();
    for _ in 0..n {
        let (st, v) = api
            .send(
                "POST",
                "/api/v1/attachments",
                Some(&owner.token),
                Some(body.to_owned()),
            )
            .await;
        statuses.push((st, v));
    }
    statuses
}

/// The race itself: uploads by the phone naming the laptop while the
/// account's list (both devices) is re-signed again and again. With the
/// lock orders that deadlocked, some update or upload answered 500.
#[tokio::test]
async fn uploads_and_device_list_updates_race_without_errors() {
    let Some((builder, Some(_))) = postgres_relay() else {
        return;
    };
    let relay = builder
        .env("PARLEY_MAX_ATTACHMENTS_PER_DEVICE", "1000")
        .start()
        .await;
    let api = Api::new(&relay);
    let [a, b] = api.devices::<2>().await;
    // The upload locks its owner first, then the named device: make the
    // owner the larger id so that the sorted list update locks the other
    // way round.
    let (named, owner) = if a.identity.device_id().as_bytes() < b.identity.device_id().as_bytes() {
        (a, b)
    } else {
        (b, a)
    };
    let alice = AccountKeyPair::generate(&mut os_rng());
    const ROUNDS: u64 = 40;
    let lists: Vec<SignedDeviceList> = (1..=ROUNDS)
        .map(|n| list(&alice, n, &[&named, &owner]))
        .collect();
    let recipient = encode_b64(named.identity.device_id().as_bytes());
    let body = json!({"size": 10, "recipients": [recipient], "ttl_ms": 60_000}).to_string();
    let updates = async {
        let mut statuses = Vec::new();
        for l in &lists {
            statuses.push(put_list(&api, &named, &alice, l).await);
        }
        statuses
    };
    let (updates, u1, u2, u3) = tokio::join!(
        updates,
        uploads(&api, &owner, &body, ROUNDS / 2),
        uploads(&api, &owner, &body, ROUNDS / 2),
        uploads(&api, &owner, &body, ROUNDS / 2),
    );
    let uploads: Vec<_> = [u1, u2, u3].concat();
    assert!(updates.iter().all(|&s| s == 204), "{updates:?}");
    assert!(uploads.iter().all(|(s, _)| *s == 201), "{uploads:?}");
}
