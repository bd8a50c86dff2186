//! Token-bucket rate limits keyed by client IP (HTTP API) or device (WebSocket
//! sends). A refusal is a clear `rate_limited` error for that caller only.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Buckets idle this long are forgotten once they would be full again
/// (memory stays bounded by active callers; forgetting a bucket that is
/// still refilling would hand a slow-rate caller a fresh burst).
const FORGET_AFTER_SECS: f64 = 600.0;

/// Longest wait a refusal reports.
const MAX_WAIT_SECS: f64 = 3600.0;

/// Per-key token buckets: `rate` tokens per second, up to `burst`.
#[derive(Debug)]
pub struct RateLimiter<K> {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<K, (f64, Instant)>>,
    last_sweep: Mutex<Instant>,
}

impl<K: Eq + Hash + Clone> RateLimiter<K> {
    /// `per_hour` sustained, bursts up to `burst`.
    pub fn per_hour(per_hour: u32, burst: u32) -> Self {
        Self::per_second(f64::from(per_hour) / 3600.0, burst)
    }

    /// `per_minute` sustained, bursts up to `burst`.
    pub fn per_minute(per_minute: u32, burst: u32) -> Self {
        Self::per_second(f64::from(per_minute) / 60.0, burst)
    }

    /// `rate` per second sustained, bursts up to `burst`.
    pub fn per_second(rate: f64, burst: u32) -> Self {
        Self {
            rate,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
            last_sweep: Mutex::new(Instant::now()),
        }
    }

    /// Takes one token for `key`; false means "over the limit".
    pub fn check(&self, key: &K) -> bool {
        self.take(key).is_ok()
    }

    /// Takes one token for `key`, or says how long until the next one: the
    /// caller's `Retry-After`, so a client backs off exactly as long as the
    /// bucket needs.
    pub fn take(&self, key: &K) -> Result<(), Duration> {
        let now = Instant::now();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.sweep(&mut buckets, now);
        let (tokens, last) = buckets.entry(key.clone()).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(self.wait_for(*tokens))
        }
    }

    /// Time until a bucket holding `tokens` has one whole token again
    /// (a limiter that never refills says "an hour": a hint, not a promise).
    fn wait_for(&self, tokens: f64) -> Duration {
        let secs = (1.0 - tokens) / self.rate;
        if secs.is_finite() && secs >= 0.0 {
            Duration::from_secs_f64(secs.min(MAX_WAIT_SECS))
        } else {
            Duration::from_secs_f64(MAX_WAIT_SECS)
        }
    }

    fn sweep(&self, buckets: &mut HashMap<K, (f64, Instant)>, now: Instant) {
        let mut last = self
            .last_sweep
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if now.duration_since(*last).as_secs_f64() > 60.0 {
            let full_after = if self.rate > 0.0 {
                self.burst / self.rate
            } else {
                f64::INFINITY
            };
            let forget_after = FORGET_AFTER_SECS.max(full_after);
            buckets.retain(|_, (_, t)| now.duration_since(*t).as_secs_f64() < forget_after);
            *last = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_limits_per_key() {
        let l = RateLimiter::per_second(0.0, 3);
        assert!(l.check(&1) && l.check(&1) && l.check(&1));
        assert!(!l.check(&1), "burst used up, no refill");
        assert!(l.check(&2), "other keys unaffected");
    }

    #[test]
    fn refusal_says_when_the_next_token_comes() {
        // 6 per minute: one token every 10 s.
        let l = RateLimiter::per_minute(6, 1);
        assert!(l.take(&1).is_ok());
        let wait = l.take(&1).unwrap_err();
        assert!(
            wait > Duration::from_secs(9) && wait <= Duration::from_secs(10),
            "{wait:?}"
        );
        let never = RateLimiter::per_second(0.0, 1);
        assert!(never.take(&1).is_ok());
        assert_eq!(never.take(&1), Err(Duration::from_secs(3600)));
    }

    #[test]
    fn refills_over_time() {
        let l = RateLimiter::per_second(1000.0, 1);
        assert!(l.check(&"a"));
        std::thread::sleep(Duration::from_millis(5));
        assert!(l.check(&"a"));
    }
}
