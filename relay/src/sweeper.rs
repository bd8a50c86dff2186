//! Retention: deletes expired blobs from the store, then their rows. Runs in
//! the background; a failed object delete leaves the row so the next pass retries.
//! Less often, it also deletes orphans: stored objects that no row names
//! (an upload through a URL whose row was deleted meanwhile, a failed delete
//! after an account was erased, a crash between the two). Each pass also
//! forgets idle rate-limit keys.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::blob::{BlobKey, BlobStore as _, Blobs, CLOCK_MARGIN, ObjectPage};
use crate::clock::{now_ms, unix_secs};
use crate::db::Store;
use crate::http::Limits;

/// Rows handled per pass, so one pass never holds the database for long.
const BATCH: i64 = 500;

/// Outcome of one pass.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    /// Objects and rows deleted.
    pub deleted: usize,
    /// Objects whose deletion failed (retried next pass).
    pub failed: usize,
}

/// One pass over expired blobs at `now_ms`.
pub async fn sweep_blobs(store: &Store, blobs: &Blobs, now_ms: i64) -> SweepReport {
    let mut report = SweepReport::default();
    let s = store.clone();
    let expired = match actix_web::web::block(move || s.expired_blobs(now_ms, BATCH)).await {
        Ok(Ok(rows)) => rows,
        Ok(Err(e)) => {
            tracing::warn!(err = %e, "sweeper: cannot list expired blobs");
            return report;
        }
        Err(e) => {
            tracing::warn!(err = %e, "sweeper: worker pool unavailable");
            return report;
        }
    };
    for rec in expired {
        let deleted_object = match BlobKey::parse(&rec.id) {
            Ok(key) => blobs.delete(&key).await.map_err(|e| e.to_string()),
            // A key we could never have issued: drop the row, there is no object.
            Err(_) => Ok(()),
        };
        if let Err(err) = deleted_object {
            tracing::warn!(%err, "sweeper: object delete failed; will retry");
            report.failed += 1;
            continue;
        }
        let s = store.clone();
        let id = rec.id.clone();
        match actix_web::web::block(move || s.delete_blob(&id)).await {
            Ok(Ok(_)) => report.deleted += 1,
            _ => report.failed += 1,
        }
    }
    metrics::counter!("parley_sweeper_blobs_deleted_total").increment(report.deleted as u64);
    report
}

/// One pass over stored objects last modified before `before` (Unix
/// seconds): those that no row names are deleted. Rows are made before any
/// URL is signed and keys are random, so an object without a row never gets
/// one; `before` only has to keep uploads still in flight out of reach.
pub async fn sweep_orphans(store: &Store, blobs: &Blobs, before: u64) -> SweepReport {
    let mut report = SweepReport::default();
    let mut page = None;
    loop {
        let ObjectPage { keys, next } = match blobs.list_older(before, page).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(err = %e, "sweeper: cannot list stored objects");
                break;
            }
        };
        let ids: Vec<String> = keys.iter().map(|k| k.as_str().to_owned()).collect();
        let s = store.clone();
        let known = match actix_web::web::block(move || s.known_blob_ids(&ids)).await {
            Ok(Ok(known)) => known,
            Ok(Err(e)) => {
                tracing::warn!(err = %e, "sweeper: cannot look up rows of stored objects");
                break;
            }
            Err(e) => {
                tracing::warn!(err = %e, "sweeper: worker pool unavailable");
                break;
            }
        };
        for key in keys.iter().filter(|k| !known.contains(k.as_str())) {
            match blobs.delete(key).await {
                Ok(()) => report.deleted += 1,
                Err(err) => {
                    tracing::warn!(%err, "sweeper: orphan delete failed; will retry");
                    report.failed += 1;
                }
            }
        }
        match next {
            Some(n) => page = Some(n),
            None => break,
        }
    }
    metrics::counter!("parley_sweeper_orphans_deleted_total").increment(report.deleted as u64);
    report
}

/// Runs [`sweep_blobs`] every `every`, and [`sweep_orphans`] for objects
/// older than `upload_window` (the longest an upload URL works) at most that
/// often, until the process stops. Each pass also forgets rate-limit keys
/// whose buckets are full again.
pub async fn run(
    store: Store,
    blobs: Blobs,
    limits: Arc<Limits>,
    every: Duration,
    upload_window: Duration,
) {
    let mut tick = tokio::time::interval(every);
    let mut last_orphan_pass: Option<Instant> = None;
    let grace = upload_window + CLOCK_MARGIN;
    loop {
        tick.tick().await;
        limits.forget_idle();
        let report = sweep_blobs(&store, &blobs, now_ms()).await;
        // Listing a whole bucket is not free, and objects younger than the
        // grace are skipped anyway: one pass per grace period is enough.
        if last_orphan_pass.is_none_or(|t| t.elapsed() >= grace) {
            last_orphan_pass = Some(Instant::now());
            let before = unix_secs().saturating_sub(grace.as_secs());
            let orphans = sweep_orphans(&store, &blobs, before).await;
            if orphans.deleted > 0 || orphans.failed > 0 {
                tracing::info!(
                    deleted = orphans.deleted,
                    failed = orphans.failed,
                    "sweeper: orphan objects"
                );
            }
        }
        let s = store.clone();
        if let Ok(Err(e)) = actix_web::web::block(move || {
            let now = now_ms();
            Ok::<_, crate::db::StoreError>(
                s.sweep_auth(now)?
                    + s.sweep_envelopes(now)?
                    + s.sweep_rendezvous(now)?
                    + s.sweep_email_otps(now)?,
            )
        })
        .await
        {
            tracing::warn!(err = %e, "sweeper: cannot delete expired challenges, tokens, envelopes or rendezvous slots");
        }
        if report.deleted > 0 || report.failed > 0 {
            tracing::info!(
                deleted = report.deleted,
                failed = report.failed,
                "sweeper pass"
            );
        }
    }
}
