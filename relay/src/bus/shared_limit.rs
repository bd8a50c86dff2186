//! Rate limits that must hold across relay nodes, counted in Redis.
//!
//! The in-memory limiters (`crate::limits`) count per node: behind a proxy
//! spreading requests over N nodes, a client would get N times the budget.
//! Where that matters (probing PIN slots, mailing registration codes), the
//! count is kept in Redis as a fixed window per key: one `INCR` and an
//! expiry per request.
//! Without Redis, or while it is unreachable, the caller falls back to its
//! per-node limiter, so a lost Redis weakens the limit to per node, never
//! lifts it.

use std::sync::Mutex;
use std::time::Duration;

use redis::aio::MultiplexedConnection;

use crate::clock::now_ms;

/// Prefix of the counters' keys.
const PREFIX: &[u8] = b"parley:limit:";

/// The bus's Redis connection while it is up, for counters.
#[derive(Default)]
pub struct SharedLimits {
    conn: Mutex<Option<MultiplexedConnection>>,
}

impl std::fmt::Debug for SharedLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedLimits")
            .field("connected", &self.connection().is_some())
            .finish()
    }
}

impl SharedLimits {
    /// The bus connected (`Some`) or lost Redis (`None`).
    pub fn set(&self, conn: Option<MultiplexedConnection>) {
        *self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = conn;
    }

    fn connection(&self) -> Option<MultiplexedConnection> {
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Takes one of `limit` for `key` in the current `window` (aligned to
    /// the clock, so every node counts in the same one), counted across
    /// every node: `Some(allowed)`, or `None` when Redis is not there to ask
    /// (the caller uses its per-node limiter instead).
    pub async fn take(
        &self,
        scope: &str,
        key: &[u8],
        limit: u32,
        window: Duration,
    ) -> Option<bool> {
        let mut conn = self.connection()?;
        let span = i64::try_from(window.as_millis()).unwrap_or(i64::MAX).max(1);
        let index = now_ms().div_euclid(span);
        // Dropped by Redis once its window is over (and one more, for clocks
        // that disagree a little).
        let keep = span.div_euclid(1000).saturating_mul(2).max(1);
        let mut name = Vec::with_capacity(PREFIX.len() + scope.len() + key.len() + 24);
        name.extend_from_slice(PREFIX);
        name.extend_from_slice(scope.as_bytes());
        name.push(b':');
        name.extend_from_slice(key);
        name.extend_from_slice(format!(":{span}:{index}").as_bytes());
        let (count,): (i64,) = redis::pipe()
            .atomic()
            .cmd("INCR")
            .arg(&name)
            .cmd("EXPIRE")
            .arg(&name)
            .arg(keep)
            .ignore()
            .query_async(&mut conn)
            .await
            .inspect_err(
                |e| tracing::debug!(err = %e, "shared limit unavailable; per-node limit used"),
            )
            .ok()?;
        Some(count <= i64::from(limit))
    }
}
