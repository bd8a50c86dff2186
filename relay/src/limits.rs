//! Rate limits keyed by client IP (HTTP API) or device (WebSocket sends), on
//! `governor`'s keyed GCRA: lock-free per key, which is a token bucket of
//! `burst` tokens refilled continuously. A refusal is a clear `rate_limited`
//! error for that caller only.

use std::hash::Hash;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use governor::clock::Clock as _;
use governor::{DefaultKeyedRateLimiter, Quota};

/// Longest wait a refusal reports (a hint, not a promise).
const MAX_WAIT: Duration = Duration::from_secs(3600);

/// Per-key limits: one token every `period`, up to `burst` at once.
pub struct RateLimiter<K: Hash + Eq + Clone> {
    inner: DefaultKeyedRateLimiter<K>,
}

impl<K: Hash + Eq + Clone> std::fmt::Debug for RateLimiter<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("keys", &self.inner.len())
            .finish_non_exhaustive()
    }
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// `per_hour` sustained, bursts up to `burst`.
    pub fn per_hour(per_hour: u32, burst: u32) -> Self {
        Self::every(Duration::from_secs(3600), per_hour, burst)
    }

    /// `per_minute` sustained, bursts up to `burst`.
    pub fn per_minute(per_minute: u32, burst: u32) -> Self {
        Self::every(Duration::from_secs(60), per_minute, burst)
    }

    /// `per_second` sustained, bursts up to `burst`.
    pub fn per_second(per_second: u32, burst: u32) -> Self {
        Self::every(Duration::from_secs(1), per_second, burst)
    }

    /// `n` tokens per `unit`. The configuration refuses zero rates; a zero
    /// here counts as one, and a zero burst as one (a limiter must let
    /// something through).
    fn every(unit: Duration, n: u32, burst: u32) -> Self {
        let period = unit / n.max(1);
        // `unit / n` is at least a nanosecond for every `unit` above and
        // `n` below 10^9; a shorter period would mean no limit at all.
        let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
            .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
        Self {
            inner: DefaultKeyedRateLimiter::keyed(quota),
        }
    }

    /// Takes one token for `key`; false means "over the limit".
    pub fn check(&self, key: &K) -> bool {
        self.inner.check_key(key).is_ok()
    }

    /// Takes `n` tokens for `key` at once (all or none); false means "over
    /// the limit" (also when `n` is more than the burst).
    pub fn check_n(&self, key: &K, n: u32) -> bool {
        let Some(n) = NonZeroU32::new(n) else {
            return true;
        };
        matches!(self.inner.check_key_n(key, n), Ok(Ok(())))
    }

    /// Takes one token for `key`, or says how long until the next one: the
    /// caller's `Retry-After`, so a client backs off exactly as long as the
    /// bucket needs.
    pub fn take(&self, key: &K) -> Result<(), Duration> {
        self.inner.check_key(key).map_err(|not_until| {
            let now: Instant = self.inner.clock().now();
            not_until.wait_time_from(now).min(MAX_WAIT)
        })
    }

    /// Forgets keys whose bucket is full again: they are indistinguishable
    /// from a key never seen, so memory stays bounded by the callers of the
    /// last refill period. A bucket still refilling is kept (forgetting it
    /// would hand a caller a fresh burst).
    pub fn forget_idle(&self) {
        self.inner.retain_recent();
        self.inner.shrink_to_fit();
    }

    /// Keys currently tracked.
    pub fn tracked(&self) -> usize {
        self.inner.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_limits_per_key() {
        let l = RateLimiter::per_hour(1, 3);
        assert!(l.check(&1) && l.check(&1) && l.check(&1));
        assert!(!l.check(&1), "burst used up, next token in an hour");
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
        // Three per hour with a burst of three: the first token back after
        // 20 minutes, not after the hour the whole burst takes.
        let hourly = RateLimiter::per_hour(3, 3);
        for _ in 0..3 {
            assert!(hourly.take(&1).is_ok());
        }
        let wait = hourly.take(&1).unwrap_err();
        assert!(
            wait > Duration::from_secs(1199) && wait <= Duration::from_secs(1200),
            "{wait:?}"
        );
    }

    #[test]
    fn takes_several_tokens_all_or_none() {
        let l = RateLimiter::per_hour(10, 10);
        assert!(l.check_n(&1, 6));
        assert!(!l.check_n(&1, 5), "only four left: none taken");
        assert!(l.check_n(&1, 4));
        assert!(!l.check_n(&2, 11), "more than the burst never passes");
    }

    #[test]
    fn refills_over_time() {
        let l = RateLimiter::per_second(1000, 1);
        assert!(l.check(&"a"));
        assert!(!l.check(&"a"), "the one token is spent");
        std::thread::sleep(Duration::from_millis(5));
        assert!(l.check(&"a"));
    }

    #[test]
    fn forgets_full_buckets_only() {
        let fast = RateLimiter::per_second(1000, 1);
        for k in 0..100 {
            assert!(fast.check(&k));
        }
        assert_eq!(fast.tracked(), 100);
        std::thread::sleep(Duration::from_millis(10));
        fast.forget_idle();
        assert_eq!(fast.tracked(), 0, "refilled buckets are dropped");

        let slow = RateLimiter::per_hour(1, 1);
        assert!(slow.check(&"x"));
        slow.forget_idle();
        assert_eq!(slow.tracked(), 1, "a refilling bucket is kept");
        assert!(!slow.check(&"x"), "and still refuses");
    }
}
