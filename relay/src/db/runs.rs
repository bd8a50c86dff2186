//! Set-based storing of a group commit's consecutive `Send`s (issue 16): a
//! few statements for the whole run (known ids, queue depths, per-sender
//! shares, one multi-row insert per chunk) instead of six per envelope,
//! which on PostgreSQL were six network round trips each.
//!
//! The outcome of every envelope is the one storing them one by one in the
//! batch's order would give: the counts read once are advanced in memory
//! as the run's own envelopes are accepted, and a repeated `(sender, id)`
//! within the run is a duplicate of the first.

use std::collections::{HashMap, HashSet};

use diesel::dsl::count_star;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, Binary};

use super::DbConnection;
use super::fanout::IDS_PER_QUERY;
use super::mailbox::{Enqueued, NewEnvelope, QueueLimits};
use super::schema::{devices, envelope_tombstones, envelopes};

/// A sender's envelope id.
type Key = ([u8; 32], [u8; 16]);

fn distinct<'a>(items: impl Iterator<Item = &'a [u8]>) -> Vec<&'a [u8]> {
    let mut v: Vec<&[u8]> = items.collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The run's envelopes split for the lookups below. On SQLite one group per
/// sender: with a single sender each lookup is a prefix of the unique
/// `(sender, envelope_id, recipient)` index, which holds every column the
/// lookups need, so no row is read (with lists of senders and recipients in
/// one query SQLite walks the recipients' rows and reads each for its
/// sender, which halved throughput when measured). On PostgreSQL one group:
/// each statement is a network round trip, so fewer statements win.
fn groups<'a>(c: &DbConnection, run: &[&'a NewEnvelope]) -> Vec<Vec<&'a NewEnvelope>> {
    if matches!(c, DbConnection::Pg(_)) {
        return vec![run.to_vec()];
    }
    let mut by_sender: HashMap<[u8; 32], Vec<&NewEnvelope>> = HashMap::new();
    for e in run {
        by_sender.entry(e.sender).or_default().push(e);
    }
    by_sender.into_values().collect()
}

/// The run's `(sender, id)` pairs that are stored (for any recipient) or
/// were acknowledged: `Send` and `SendMany` share this dedupe key. Pairs
/// that only match crosswise (one envelope's sender, another's id) are
/// dropped against the run's own pairs.
fn known_ids(
    c: &mut DbConnection,
    run: &[&NewEnvelope],
    groups: &[Vec<&NewEnvelope>],
) -> QueryResult<HashSet<Key>> {
    let wanted: HashSet<Key> = run.iter().map(|e| (e.sender, e.id)).collect();
    if let DbConnection::Pg(pg) = c {
        return known_pairs_pg(pg, &wanted);
    }
    let mut found = HashSet::new();
    for group in groups {
        let senders = distinct(group.iter().map(|e| e.sender.as_slice()));
        let ids = distinct(group.iter().map(|e| e.id.as_slice()));
        for s in senders.chunks(IDS_PER_QUERY) {
            for i in ids.chunks(IDS_PER_QUERY) {
                let stored: Vec<(Vec<u8>, Vec<u8>)> = envelopes::table
                    .filter(envelopes::sender.eq_any(s))
                    .filter(envelopes::envelope_id.eq_any(i))
                    .select((envelopes::sender, envelopes::envelope_id))
                    .distinct()
                    .load(c)?;
                let acked: Vec<(Vec<u8>, Vec<u8>)> = envelope_tombstones::table
                    .filter(envelope_tombstones::sender.eq_any(s))
                    .filter(envelope_tombstones::envelope_id.eq_any(i))
                    .select((
                        envelope_tombstones::sender,
                        envelope_tombstones::envelope_id,
                    ))
                    .load(c)?;
                found.extend(
                    stored
                        .into_iter()
                        .chain(acked)
                        .filter_map(|(s, i)| Some((s.try_into().ok()?, i.try_into().ok()?)))
                        .filter(|k| wanted.contains(k)),
                );
            }
        }
    }
    Ok(found)
}

#[derive(QueryableByName)]
struct Pair {
    #[diesel(sql_type = Binary)]
    sender: Vec<u8>,
    #[diesel(sql_type = Binary)]
    envelope_id: Vec<u8>,
}

/// The dedupe probe of a run on PostgreSQL (`$1` senders, `$2` ids, pair
/// by pair). The probes sit in a `LATERAL … LIMIT 1`, which the planner
/// runs once per pair. As two `EXISTS` joined by `OR` they were planned as
/// hashed subplans whenever hashing a whole table looked cheaper than the
/// probes: every commit read all queued envelopes (or all tombstones), up
/// to the size where the planner switched back, and more than it expected
/// on a table whose deleted rows had not been vacuumed yet (31 ms against
/// 1.8 ms for 150 pairs, ADR 0038). Public for the test of its plan
/// (`relay/tests/query_plans.rs`).
pub const KNOWN_PAIRS_SQL: &str = "SELECT k.s AS sender, k.i AS envelope_id \
     FROM unnest($1::bytea[], $2::bytea[]) AS k(s, i) \
     CROSS JOIN LATERAL ( \
         SELECT 1 FROM envelopes e WHERE e.sender = k.s AND e.envelope_id = k.i \
         UNION ALL \
         SELECT 1 FROM envelope_tombstones t WHERE t.sender = k.s AND t.envelope_id = k.i \
         LIMIT 1) AS hit";

/// [`known_ids`] on PostgreSQL: one statement probing each exact pair on
/// the two unique indexes. Lists of senders and ids matched crosswise
/// read every tombstone of the run's senders, a cost that grew with each
/// ack until it was most of a commit (ADR 0037).
fn known_pairs_pg(c: &mut PgConnection, wanted: &HashSet<Key>) -> QueryResult<HashSet<Key>> {
    let senders: Vec<&[u8]> = wanted.iter().map(|(s, _)| s.as_slice()).collect();
    let ids: Vec<&[u8]> = wanted.iter().map(|(_, i)| i.as_slice()).collect();
    let rows: Vec<Pair> = diesel::sql_query(KNOWN_PAIRS_SQL)
        .bind::<Array<Binary>, _>(senders)
        .bind::<Array<Binary>, _>(ids)
        .load(c)?;
    Ok(rows
        .into_iter()
        .filter_map(|p| Some((p.sender.try_into().ok()?, p.envelope_id.try_into().ok()?)))
        .collect())
}

/// The run's recipients that are registered devices, read without a lock
/// (as storing one by one did): key-share-locking them as well made
/// concurrent device-list updates deadlock on PostgreSQL.
fn registered_recipients(
    c: &mut DbConnection,
    run: &[&NewEnvelope],
) -> QueryResult<HashSet<[u8; 32]>> {
    let ids = distinct(run.iter().map(|e| e.recipient.as_slice()));
    let mut found = HashSet::new();
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let rows: Vec<Vec<u8>> = devices::table
            .filter(devices::id.eq_any(chunk))
            .select(devices::id)
            .load(c)?;
        found.extend(
            rows.into_iter()
                .filter_map(|d| <[u8; 32]>::try_from(d).ok()),
        );
    }
    Ok(found)
}

/// Queued envelopes per recipient, and per (recipient, sender), among the
/// run's recipients and senders.
type Depths = (HashMap<[u8; 32], i64>, HashMap<([u8; 32], [u8; 32]), i64>);

fn depths(
    c: &mut DbConnection,
    run: &[&NewEnvelope],
    groups: &[Vec<&NewEnvelope>],
) -> QueryResult<Depths> {
    let recipients = distinct(run.iter().map(|e| e.recipient.as_slice()));
    let mut all = HashMap::new();
    // Counted on the (recipient, seq) index alone.
    for r in recipients.chunks(IDS_PER_QUERY) {
        let per: Vec<(Vec<u8>, i64)> = envelopes::table
            .filter(envelopes::recipient.eq_any(r))
            .group_by(envelopes::recipient)
            .select((envelopes::recipient, count_star()))
            .load(c)?;
        all.extend(
            per.into_iter()
                .filter_map(|(d, n)| Some((<[u8; 32]>::try_from(d).ok()?, n))),
        );
    }
    let mut mine = HashMap::new();
    for group in groups {
        let senders = distinct(group.iter().map(|e| e.sender.as_slice()));
        let to = distinct(group.iter().map(|e| e.recipient.as_slice()));
        for s in senders.chunks(IDS_PER_QUERY) {
            for r in to.chunks(IDS_PER_QUERY) {
                let per: Vec<(Vec<u8>, Vec<u8>, i64)> = envelopes::table
                    .filter(envelopes::sender.eq_any(s))
                    .filter(envelopes::recipient.eq_any(r))
                    .group_by((envelopes::recipient, envelopes::sender))
                    .select((envelopes::recipient, envelopes::sender, count_star()))
                    .load(c)?;
                mine.extend(
                    per.into_iter().filter_map(|(d, s, n)| {
                        Some(((d.try_into().ok()?, s.try_into().ok()?), n))
                    }),
                );
            }
        }
    }
    Ok((all, mine))
}

/// Stores `run` inside the batch's transaction; one outcome per envelope, in
/// order. `live` are the registered devices among the batch's senders (on
/// PostgreSQL key-share-locked until the commit).
pub(super) fn enqueue_run(
    c: &mut DbConnection,
    run: &[&NewEnvelope],
    live: &HashSet<[u8; 32]>,
    limits: QueueLimits,
) -> QueryResult<Vec<Enqueued>> {
    let recipients = registered_recipients(c, run)?;
    let groups = groups(c, run);
    let mut seen = known_ids(c, run, &groups)?;
    let (mut all, mut mine) = depths(c, run, &groups)?;
    let mut out = Vec::with_capacity(run.len());
    let mut accepted: Vec<&NewEnvelope> = Vec::with_capacity(run.len());
    // Senders with an envelope refused for a moment in this run: their
    // later ones wait for its resend (a connection's sends come as one
    // chain, so this is the order rule of `http::order` inside the batch).
    let mut refused: HashSet<[u8; 32]> = HashSet::new();
    for e in run {
        let outcome = if !live.contains(&e.sender) {
            Enqueued::UnknownSender
        } else if refused.contains(&e.sender) {
            Enqueued::Held
        } else if seen.contains(&(e.sender, e.id)) {
            Enqueued::Duplicate
        } else if !recipients.contains(&e.recipient) {
            Enqueued::UnknownRecipient
        } else if all.get(&e.recipient).copied().unwrap_or(0) >= limits.per_recipient {
            Enqueued::QueueFull
        } else if mine.get(&(e.recipient, e.sender)).copied().unwrap_or(0) >= limits.per_sender {
            Enqueued::SenderQuotaFull
        } else {
            seen.insert((e.sender, e.id));
            *all.entry(e.recipient).or_default() += 1;
            *mine.entry((e.recipient, e.sender)).or_default() += 1;
            accepted.push(e);
            Enqueued::Stored
        };
        if outcome.is_transient() {
            refused.insert(e.sender);
        }
        out.push(outcome);
    }
    // Multi-row inserts in the run's order, so `seq` follows it (the
    // multi-backend connection has none: each backend's own).
    for chunk in accepted.chunks(IDS_PER_QUERY) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|e| {
                (
                    envelopes::sender.eq(e.sender.as_slice()),
                    envelopes::recipient.eq(e.recipient.as_slice()),
                    envelopes::envelope_id.eq(e.id.as_slice()),
                    envelopes::payload.eq(Some(e.payload.as_slice())),
                    envelopes::created_at.eq(e.now),
                    envelopes::expires_at.eq(e.expires_at),
                )
            })
            .collect();
        let insert = diesel::insert_into(envelopes::table).values(rows);
        match c {
            DbConnection::Pg(pg) => insert.execute(pg)?,
            DbConnection::Sqlite(lite) => insert.execute(lite)?,
        };
    }
    Ok(out)
}
