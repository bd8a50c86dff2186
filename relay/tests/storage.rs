//! The storage behaviours the relay relies on, each a named test on SQLite
//! and on PostgreSQL (`sqlite::tokens_expire_and_revoke`, `postgres::...`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use parley_relay::config::DatabaseTarget;
use parley_relay::db::{
    Admission, BlobQuota, BlobRecord, Store, embedded_migration_names, is_constraint_violation,
};

use common::backends::{sqlite_store, store_tests};

/// No attachment quota (tests of the quota pass their own).
const NO_LIMIT: BlobQuota = BlobQuota::UNLIMITED;

fn count_quota(max_count: i64) -> BlobQuota {
    BlobQuota {
        max_count,
        max_bytes: i64::MAX,
    }
}

const ADMITTED: Admission = Admission::Admitted;

fn dev(n: u8) -> Vec<u8> {
    vec![n; 32]
}

fn blob(id: &str, owner: &[u8], expires_at: i64) -> BlobRecord {
    BlobRecord {
        id: id.into(),
        owner: owner.to_vec(),
        size: 65_536,
        created_at: 1_000,
        expires_at,
    }
}

fn sized(id: &str, owner: &[u8], size: i64, expires_at: i64) -> BlobRecord {
    BlobRecord {
        size,
        ..blob(id, owner, expires_at)
    }
}

/// The byte quota is checked with the count, in the same step: a burst of
/// concurrent uploads stops exactly at the limit; expired rows do not count.
fn byte_quota_holds_under_concurrency(store: &Store) {
    let quota = BlobQuota {
        max_count: i64::MAX,
        max_bytes: 10_000,
    };
    store.upsert_device(&dev(5), 100).unwrap();
    let old = sized("q-old", &dev(5), 9_000, 999);
    assert_eq!(store.insert_blob(&old, quota).unwrap(), ADMITTED);
    let start = std::sync::Arc::new(std::sync::Barrier::new(12));
    let admitted = std::thread::scope(|s| {
        let tries: Vec<_> = (0..12)
            .map(|i| {
                let (store, start) = (store.clone(), start.clone());
                s.spawn(move || {
                    start.wait();
                    let rec = sized(&format!("q{i}"), &dev(5), 4_000, 9_000);
                    store.insert_blob(&rec, quota).unwrap()
                })
            })
            .collect();
        tries
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect::<Vec<_>>()
    });
    let ok = admitted.iter().filter(|a| **a == ADMITTED).count();
    assert_eq!(ok, 2, "4,000 + 4,000 fit in 10,000, a third does not");
    assert!(
        admitted
            .iter()
            .all(|a| matches!(a, Admission::Admitted | Admission::TooManyBytes))
    );
    let exact = sized("q-exact", &dev(5), 2_000, 9_000);
    assert_eq!(
        store.insert_blob(&exact, quota).unwrap(),
        ADMITTED,
        "up to the limit"
    );
    let one_more = sized("q-more", &dev(5), 1, 9_000);
    assert_eq!(
        store.insert_blob(&one_more, quota).unwrap(),
        Admission::TooManyBytes
    );
}

/// Live means neither deleted nor expired; an early end either removes the
/// row or keeps it (not live, still counted) until a given time.
fn live_rows_and_early_ends(store: &Store) {
    store.upsert_device(&dev(6), 100).unwrap();
    for (id, exp) in [("l1", 9_000), ("l2", 9_000), ("l3", 6_000), ("l4", 9_000)] {
        assert_eq!(
            store
                .insert_blob(&blob(id, &dev(6), exp), NO_LIMIT)
                .unwrap(),
            ADMITTED
        );
    }
    assert!(store.live_blob("l1", 5_000).unwrap().is_some());
    assert!(store.live_blob("l1", 9_000).unwrap().is_none(), "expired");
    assert!(store.live_blob("nope", 5_000).unwrap().is_none());

    assert!(store.end_blob("l1", 5_000, None).unwrap());
    assert!(
        store.blob("l1").unwrap().is_none(),
        "ended without hold: gone"
    );
    assert!(!store.end_blob("l1", 5_000, None).unwrap());

    assert!(store.end_blob("l2", 5_000, Some(7_000)).unwrap());
    assert!(store.live_blob("l2", 5_000).unwrap().is_none(), "not live");
    assert_eq!(store.blob("l2").unwrap().unwrap().expires_at, 7_000, "held");
    assert!(!store.end_blob("l2", 5_000, Some(7_000)).unwrap(), "once");
    let exp: Vec<_> = store
        .expired_blobs(7_000, 100)
        .unwrap()
        .into_iter()
        .map(|b| b.id)
        .collect();
    assert!(exp.contains(&"l2".to_owned()), "swept when the hold ends");
    // The held row still counts: one more row for dev 6 exceeds a quota of 3
    // (l2, l3, l4).
    let more = BlobRecord {
        created_at: 5_000,
        ..blob("l5", &dev(6), 9_000)
    };
    assert_eq!(
        store.insert_blob(&more, count_quota(3)).unwrap(),
        Admission::TooMany
    );

    assert!(store.end_blob("l3", 5_000, Some(8_000)).unwrap());
    assert_eq!(
        store.blob("l3").unwrap().unwrap().expires_at,
        6_000,
        "never extended"
    );
    assert!(store.end_blob("l4", 5_000, Some(5_000)).unwrap());
    assert!(
        store.blob("l4").unwrap().is_none(),
        "a hold already over: gone"
    );

    let mut ids: Vec<String> = (0..1_200).map(|i| format!("x{i}")).collect();
    ids.extend(["l2".to_owned(), "l3".to_owned()]);
    let known = store.known_blob_ids(&ids).unwrap();
    assert_eq!(known.len(), 2, "{known:?}");
    assert!(known.contains("l2") && known.contains("l3"));
}

/// Migrations are idempotent; the database answers.
fn migrations_are_idempotent(store: &Store) {
    assert!(
        store.migrate().unwrap().is_empty(),
        "second migrate applies nothing"
    );
    store.ping().unwrap();
}

/// Devices: insert, refresh, lookup, validation.
fn devices_insert_refresh_and_validate(store: &Store) {
    assert!(store.upsert_device(&dev(1), 100).unwrap(), "new device");
    assert!(!store.upsert_device(&dev(1), 200).unwrap(), "known device");
    let d = store.device(&dev(1)).unwrap().expect("device stored");
    assert_eq!((d.created_at, d.last_seen_at), (100, 200));
    assert!(store.device(&dev(9)).unwrap().is_none());
    assert!(
        store.upsert_device(&[1, 2, 3], 1).is_err(),
        "short id refused"
    );
}

/// Devices 1 and 2 with blobs `a1` (1, expires 5,000), `a2` (1, 1,000) and
/// `b1` (2, 3,000).
fn three_blobs(store: &Store) {
    store.upsert_device(&dev(1), 100).unwrap();
    store.upsert_device(&dev(2), 100).unwrap();
    for (id, owner, exp) in [("a1", 1, 5_000), ("a2", 1, 1_000), ("b1", 2, 3_000)] {
        let rec = blob(id, &dev(owner), exp);
        assert_eq!(store.insert_blob(&rec, NO_LIMIT).unwrap(), ADMITTED);
    }
}

/// Blobs: owner must exist, ids are unique, sizes positive.
fn blob_rows_are_constrained(store: &Store) {
    three_blobs(store);
    let dup = store
        .insert_blob(&blob("a1", &dev(2), 1), NO_LIMIT)
        .unwrap_err();
    assert!(is_constraint_violation(&dup), "duplicate id: {dup}");
    let orphan = store
        .insert_blob(&blob("z", &dev(7), 1), NO_LIMIT)
        .unwrap_err();
    assert!(is_constraint_violation(&orphan), "unknown owner: {orphan}");
    let mut zero = blob("zero", &dev(1), 1);
    zero.size = 0;
    assert!(store.insert_blob(&zero, NO_LIMIT).is_err());
    assert_eq!(
        store.blob("a1").unwrap().unwrap(),
        blob("a1", &dev(1), 5_000)
    );
}

/// Expiry: oldest first, inclusive bound, limit respected; a delete finds
/// its row once.
fn blobs_expire_oldest_first(store: &Store) {
    three_blobs(store);
    let exp: Vec<_> = store
        .expired_blobs(3_000, 10)
        .unwrap()
        .into_iter()
        .map(|b| b.id)
        .collect();
    assert_eq!(exp, ["a2", "b1"]);
    assert_eq!(store.expired_blobs(10_000, 1).unwrap().len(), 1);
    assert!(store.expired_blobs(999, 10).unwrap().is_empty());
    assert!(store.delete_blob("a2").unwrap());
    assert!(
        !store.delete_blob("a2").unwrap(),
        "second delete finds nothing"
    );
}

/// Attachment quota: counted and inserted in one step, so a burst of
/// concurrent uploads stops exactly at the limit; expired ones do not count.
fn count_quota_holds_under_concurrency(store: &Store) {
    store.upsert_device(&dev(3), 100).unwrap();
    let old = blob("c-old", &dev(3), 999);
    assert_eq!(store.insert_blob(&old, NO_LIMIT).unwrap(), ADMITTED);
    let start = std::sync::Arc::new(std::sync::Barrier::new(12));
    let admitted = std::thread::scope(|s| {
        let tries: Vec<_> = (0..12)
            .map(|i| {
                let (store, start) = (store.clone(), start.clone());
                s.spawn(move || {
                    start.wait();
                    store
                        .insert_blob(&blob(&format!("c{i}"), &dev(3), 9_000), count_quota(3))
                        .unwrap()
                        == ADMITTED
                })
            })
            .collect();
        tries
            .into_iter()
            .filter_map(|t| t.join().unwrap().then_some(()))
            .count()
    });
    assert_eq!(admitted, 3, "exactly the quota admitted");
    assert_eq!(
        store
            .insert_blob(&blob("c-late", &dev(3), 9_000), count_quota(3))
            .unwrap(),
        Admission::TooMany
    );
    store.upsert_device(&dev(4), 100).unwrap();
    assert_eq!(
        store
            .insert_blob(&blob("c-other", &dev(4), 9_000), count_quota(3))
            .unwrap(),
        ADMITTED,
        "per owner"
    );
}

/// Challenges: single use, refused after expiry.
fn challenges_are_single_use(store: &Store) {
    store.create_challenge(b"c-live", 5_000).unwrap();
    store.create_challenge(b"c-old", 1_000).unwrap();
    assert!(
        !store.consume_challenge(b"c-old", 2_000).unwrap(),
        "expired"
    );
    assert!(store.consume_challenge(b"c-live", 2_000).unwrap());
    assert!(
        !store.consume_challenge(b"c-live", 2_000).unwrap(),
        "second use"
    );
    assert!(!store.consume_challenge(b"never", 2_000).unwrap());
}

/// Tokens: only for known devices, expire, revoke; the sweep removes
/// expired challenges.
fn tokens_expire_and_revoke(store: &Store) {
    store.upsert_device(&dev(2), 100).unwrap();
    assert!(
        !store.insert_token(&dev(8), b"t-none", 1, 10_000).unwrap(),
        "unknown device"
    );
    assert!(store.insert_token(&dev(2), b"t-2", 1, 10_000).unwrap());
    assert_eq!(store.device_for_token(b"t-2", 9_999).unwrap(), Some(dev(2)));
    assert_eq!(
        store.device_for_token(b"t-2", 10_000).unwrap(),
        None,
        "expired"
    );
    assert!(store.revoke_token(b"t-2").unwrap());
    assert_eq!(store.device_for_token(b"t-2", 5).unwrap(), None, "revoked");
    store.create_challenge(b"c-sweep", 3_000).unwrap();
    assert!(store.sweep_auth(4_000).unwrap() >= 1);
}

/// One-time prekeys: a device without any has none to claim.
fn no_one_time_prekey_to_claim(store: &Store) {
    store.upsert_device(&dev(2), 100).unwrap();
    assert!(store.claim_one_time_prekey(&dev(2)).unwrap().is_none());
}

/// Erasing a device removes its rows and reports its blobs; others untouched.
fn erasing_a_device_reports_its_blobs(store: &Store) {
    three_blobs(store);
    assert!(store.delete_blob("a2").unwrap());
    let keys = store.delete_device(&dev(1)).unwrap();
    assert_eq!(keys, ["a1"]);
    assert!(store.device(&dev(1)).unwrap().is_none());
    assert!(store.blob("a1").unwrap().is_none());
    assert!(
        store.blob("b1").unwrap().is_some(),
        "other device's blob kept"
    );
    assert!(store.device(&dev(2)).unwrap().is_some());
}

/// PIN numbers: only free numbers are picked, a slot keeps its number, and
/// the per-owner cap counts open slots only (a full space is tested through
/// HTTP in errors.rs).
fn pin_numbers(store: &Store) {
    use parley_relay::db::{NewSlot, PinAssigned, RendezvousCreated as Created};
    let (alice, bob): (&'static [u8], &'static [u8]) = (&[21; 32], &[22; 32]);
    store.upsert_device(alice, 1).unwrap();
    store.upsert_device(bob, 1).unwrap();
    let slot = |id: &'static [u8], owner: &'static [u8], pin: bool| NewSlot {
        id,
        owner,
        pin,
        now: 1_000,
        expires_at: 60_000,
    };
    let seven = || 7u16;
    assert_eq!(
        store
            .create_rendezvous(&slot(b"s1", alice, true), 3, seven)
            .unwrap(),
        Created::Slot(Some(7))
    );
    assert_eq!(
        store
            .create_rendezvous(&slot(b"s2", bob, true), 3, seven)
            .unwrap(),
        Created::Slot(Some(8)),
        "numbers are picked among the free ones: the 8th free one is 8 now"
    );
    assert_eq!(
        store
            .create_rendezvous(&slot(b"s3", bob, false), 3, seven)
            .unwrap(),
        Created::Slot(None)
    );
    assert_eq!(
        store.assign_pin(b"s3", bob, 2_000, seven).unwrap(),
        PinAssigned::Number(9, 60_000)
    );
    assert_eq!(
        store.assign_pin(b"s3", bob, 2_000, || 0).unwrap(),
        PinAssigned::Number(9, 60_000),
        "the number it has"
    );
    assert_eq!(
        store.assign_pin(b"s3", alice, 2_000, || 9).unwrap(),
        PinAssigned::NotFound,
        "owner only"
    );
    // Bob has s2 and s3 open: one more.
    assert_eq!(
        store
            .create_rendezvous(&slot(b"s4", bob, false), 3, seven)
            .unwrap(),
        Created::Slot(None)
    );
    assert_eq!(
        store
            .create_rendezvous(&slot(b"s5", bob, false), 3, seven)
            .unwrap(),
        Created::TooMany
    );
    // Expired slots neither count nor keep their numbers.
    let later = NewSlot {
        now: 60_000,
        expires_at: 120_000,
        ..slot(b"s5", bob, true)
    };
    assert_eq!(
        store.create_rendezvous(&later, 3, seven).unwrap(),
        Created::Slot(Some(7))
    );
}

#[test]
fn sqlite_data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    sqlite_store(&dir).upsert_device(&dev(3), 42).unwrap();
    let reopened = Store::connect(&DatabaseTarget::Sqlite(dir.path().join("relay.db")), 2).unwrap();
    assert!(reopened.migrate().unwrap().is_empty());
    assert_eq!(reopened.device(&dev(3)).unwrap().unwrap().created_at, 42);
}

#[test]
fn both_backends_have_the_same_migrations() {
    let (pg, sqlite) = embedded_migration_names();
    assert!(!pg.is_empty());
    assert_eq!(
        pg, sqlite,
        "migrations/postgres and migrations/sqlite must stay in step"
    );
}

#[test]
fn unreachable_postgres_reports_the_real_error() {
    let port = common::relay::free_port();
    let target = DatabaseTarget::parse(&format!("postgres://nobody@127.0.0.1:{port}/x")).unwrap();
    let err = Store::connect(&target, 1).unwrap_err().to_string();
    assert!(err.contains("refused") || err.contains("connect"), "{err}");
}

/// After a SIGKILL in the middle of writes, the SQLite relay starts cleanly:
/// the connection that switches to WAL waits for the recovering one instead
/// of failing with "database is locked" (busy_timeout comes first).
#[tokio::test]
async fn sqlite_relay_restarts_cleanly_after_sigkill_during_writes() {
    use common::api::{Api, Ws};
    use parley_shared::protocol::ws::ClientFrame;
    let mut relay = common::relay::RelayBuilder::new()
        .env("PARLEY_RATE_LIMIT_DEVICE_PER_SEC", "100000")
        .env("PARLEY_DB_POOL_SIZE", "8")
        .start()
        .await;
    let api = Api::new(&relay);
    let (alice, bob) = (api.register(0).await, api.register(0).await);
    for round in 0..6u8 {
        let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
        for i in 0..200u8 {
            a.send(&ClientFrame::Send {
                id: [round, i, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                to: bob.identity.device_id(),
                ephemeral: false,
                payload: vec![i; 4096],
                list: None,
            })
            .await;
        }
        relay = relay.crash_and_restart().await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let logs = relay.logs();
        assert!(!logs.contains("locked"), "round {round}: {logs}");
        assert!(!logs.contains("ERROR"), "round {round}: {logs}");
    }
}

store_tests! {
    migrations_are_idempotent,
    devices_insert_refresh_and_validate,
    blob_rows_are_constrained,
    blobs_expire_oldest_first,
    count_quota_holds_under_concurrency,
    byte_quota_holds_under_concurrency,
    live_rows_and_early_ends,
    challenges_are_single_use,
    tokens_expire_and_revoke,
    no_one_time_prekey_to_claim,
    erasing_a_device_reports_its_blobs,
    pin_numbers,
}
