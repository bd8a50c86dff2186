//! The group commit's set-based PostgreSQL statements look each pair up on
//! an index, whatever the tables hold. The dedupe probe did not: as two
//! `EXISTS` joined by `OR` it was planned as hashed subplans that read all
//! queued envelopes or all tombstones on every commit, whenever the planner
//! thought that cheaper than the probes (ADR 0038). The plans are read with
//! `EXPLAIN` on tables filled as a relay in use would have them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use diesel::sql_types::{Array, Binary, Text};
use diesel::{Connection, QueryableByName, RunQueryDsl, pg::PgConnection};
use parley_relay::config::DatabaseTarget;
use parley_relay::db::{ACK_DELETE_SQL, KNOWN_PAIRS_SQL, Store};

const TOMBSTONES: u32 = 200_000;
const QUEUED: u32 = 50_000;
/// Pairs per statement, as in a busy commit.
const PAIRS: u8 = 200;

#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    line: String,
}

/// A migrated database with `TOMBSTONES` acknowledged ids and `QUEUED`
/// waiting envelopes, analyzed; `None` without the test services.
fn filled() -> Option<PgConnection> {
    let url = common::fresh_pg_database()?;
    let store = Store::connect(&DatabaseTarget::parse(&url).unwrap(), 1).unwrap();
    store.migrate().unwrap();
    let mut c = PgConnection::establish(&url).unwrap();
    for sql in [
        "INSERT INTO devices (id, created_at, last_seen_at) \
         VALUES (sha256('\\x01'::bytea), 0, 0)"
            .to_string(),
        format!(
            "INSERT INTO envelope_tombstones (sender, envelope_id, expires_at) \
             SELECT sha256(int8send(i % 500)), substr(sha256(int8send(i)), 1, 16), 9000000000000000 \
             FROM generate_series(1, {TOMBSTONES}) AS i"
        ),
        format!(
            "INSERT INTO envelopes (sender, recipient, envelope_id, payload, created_at, expires_at) \
             SELECT sha256(int8send(i % 500)), sha256('\\x01'::bytea), \
                    substr(sha256(int8send(-i)), 1, 16), '\\x00'::bytea, 0, 9000000000000000 \
             FROM generate_series(1, {QUEUED}) AS i"
        ),
        "ANALYZE".to_string(),
    ] {
        diesel::sql_query(sql).execute(&mut c).unwrap();
    }
    Some(c)
}

/// `PAIRS` (sender, id) pairs, none of them stored.
fn pairs() -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    (0..PAIRS).map(|n| (vec![n; 32], vec![n; 16])).unzip()
}

fn lines(rows: Vec<PlanLine>) -> String {
    rows.into_iter().map(|r| r.line + "\n").collect()
}

/// The plan looks rows up on an index, pair by pair: no node reads or
/// hashes a whole table.
fn assert_probes(what: &str, plan: &str) {
    for whole in ["Seq Scan", "Hash", "hashed SubPlan", "Bitmap"] {
        assert!(!plan.contains(whole), "{what} plan has {whole}:\n{plan}");
    }
    assert!(plan.contains("Index"), "{what} plan uses no index:\n{plan}");
}

/// The dedupe probe of a run of sends: the query before the fix planned
/// "hashed SubPlan" over a sequential scan of every queued envelope here.
#[test]
fn the_dedupe_probe_reads_no_whole_table() {
    let Some(mut c) = filled() else { return };
    let (senders, ids) = pairs();
    let plan = diesel::sql_query(format!("EXPLAIN {KNOWN_PAIRS_SQL}"))
        .bind::<Array<Binary>, _>(senders)
        .bind::<Array<Binary>, _>(ids)
        .load::<PlanLine>(&mut c)
        .unwrap();
    let plan = lines(plan);
    assert_probes("dedupe probe", &plan);
    assert!(
        plan.contains("envelope_tombstones_pkey"),
        "tombstones not probed on their key:\n{plan}"
    );
}

/// The delete of a batch's acknowledged envelopes.
#[test]
fn the_ack_delete_reads_no_whole_table() {
    let Some(mut c) = filled() else { return };
    let (senders, ids) = pairs();
    let recipients: Vec<Vec<u8>> = (0..PAIRS).map(|n| vec![n; 32]).collect();
    let plan = diesel::sql_query(format!("EXPLAIN {ACK_DELETE_SQL}"))
        .bind::<Array<Binary>, _>(recipients)
        .bind::<Array<Binary>, _>(senders)
        .bind::<Array<Binary>, _>(ids)
        .load::<PlanLine>(&mut c)
        .unwrap();
    assert_probes("ack delete", &lines(plan));
}
