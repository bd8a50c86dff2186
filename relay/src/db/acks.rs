//! A group commit's acks on PostgreSQL, set-based (ADR 0037): one delete
//! for all of them, one upsert of their tombstones, instead of four
//! statements (four network round trips) per ack. Once a connection's sends
//! share commits, a batch carries thousands of acks, and their round trips
//! were most of the commit. SQLite keeps one statement set per ack
//! (`mailbox::ack_one`): there a statement is a function call.
//!
//! The outcome of each ack is the one applying them one by one gives: the
//! first ack of a queued row deletes it, a repeat in the same batch finds
//! nothing; a tombstone is kept (or renewed) for each deleted envelope.

use std::collections::{HashMap, HashSet};

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Binary, Nullable};

use super::mailbox::Ack;

/// Acks per statement: bound parameters are arrays, so this only bounds
/// the size of one statement's work.
const PER_STATEMENT: usize = 4096;

#[derive(QueryableByName)]
struct Deleted {
    #[diesel(sql_type = Binary)]
    recipient: Vec<u8>,
    #[diesel(sql_type = Binary)]
    sender: Vec<u8>,
    #[diesel(sql_type = Binary)]
    envelope_id: Vec<u8>,
    #[diesel(sql_type = Nullable<BigInt>)]
    payload_id: Option<i64>,
}

/// Recipient, sender, envelope id.
type Key = ([u8; 32], [u8; 32], [u8; 16]);

/// The acknowledged rows' delete (`$1` recipients, `$2` senders, `$3` ids):
/// `= ANY(ARRAY(…))` on the primary key and a lateral lookup per ack, so
/// the plan stays index lookups whatever the table's size. Public for the
/// test of its plan (`relay/tests/query_plans.rs`).
pub const ACK_DELETE_SQL: &str = "DELETE FROM envelopes WHERE seq = ANY(ARRAY( \
       SELECT e.seq FROM unnest($1::bytea[], $2::bytea[], $3::bytea[]) AS a(r, s, i) \
       CROSS JOIN LATERAL ( \
         SELECT seq FROM envelopes x \
         WHERE x.sender = a.s AND x.envelope_id = a.i AND x.recipient = a.r) e)) \
     RETURNING recipient, sender, envelope_id, payload_id";

/// Deletes the acknowledged rows (each looked up under its recipient on
/// the `(sender, envelope_id, recipient)` index) and returns them.
fn delete(c: &mut PgConnection, acks: &[&Ack]) -> QueryResult<Vec<Deleted>> {
    let recipients: Vec<&[u8]> = acks.iter().map(|a| a.recipient.as_slice()).collect();
    let senders: Vec<&[u8]> = acks.iter().map(|a| a.sender.as_slice()).collect();
    let ids: Vec<&[u8]> = acks.iter().map(|a| a.id.as_slice()).collect();
    diesel::sql_query(ACK_DELETE_SQL)
        .bind::<Array<Binary>, _>(recipients)
        .bind::<Array<Binary>, _>(senders)
        .bind::<Array<Binary>, _>(ids)
        .load(c)
}

/// Keeps (or renews) a tombstone per deleted envelope, the last ack's
/// expiry winning as it would one by one.
fn tombstones(c: &mut PgConnection, kept: &HashMap<([u8; 32], [u8; 16]), i64>) -> QueryResult<()> {
    if kept.is_empty() {
        return Ok(());
    }
    let senders: Vec<&[u8]> = kept.keys().map(|(s, _)| s.as_slice()).collect();
    let ids: Vec<&[u8]> = kept.keys().map(|(_, i)| i.as_slice()).collect();
    let until: Vec<i64> = kept.values().copied().collect();
    diesel::sql_query(
        "INSERT INTO envelope_tombstones (sender, envelope_id, expires_at) \
         SELECT * FROM unnest($1::bytea[], $2::bytea[], $3::bigint[]) \
         ON CONFLICT (sender, envelope_id) DO UPDATE SET expires_at = EXCLUDED.expires_at",
    )
    .bind::<Array<Binary>, _>(senders)
    .bind::<Array<Binary>, _>(ids)
    .bind::<Array<BigInt>, _>(until)
    .execute(c)?;
    Ok(())
}

/// Applies `acks` in order; for each, whether a queued envelope went. The
/// shared payloads of deleted fan-out rows are returned for
/// `fanout::drop_unreferenced`.
pub(super) fn ack_all(c: &mut PgConnection, acks: &[&Ack]) -> QueryResult<(Vec<bool>, Vec<i64>)> {
    let mut out = Vec::with_capacity(acks.len());
    let mut shared = Vec::new();
    for chunk in acks.chunks(PER_STATEMENT) {
        let mut gone: HashSet<Key> = HashSet::new();
        for d in delete(c, chunk)? {
            shared.extend(d.payload_id);
            if let (Ok(r), Ok(s), Ok(i)) = (
                d.recipient.try_into(),
                d.sender.try_into(),
                d.envelope_id.try_into(),
            ) {
                gone.insert((r, s, i));
            }
        }
        let mut kept: HashMap<([u8; 32], [u8; 16]), i64> = HashMap::new();
        for a in chunk {
            // The first ack of a row took it; a repeat finds nothing.
            let deleted = gone.remove(&(a.recipient, a.sender, a.id));
            if deleted {
                kept.insert((a.sender, a.id), a.tombstone_until);
            }
            out.push(deleted);
        }
        tombstones(c, &kept)?;
    }
    Ok((out, shared))
}
