//! Reconnect delays: capped exponential backoff with full jitter (AWS
//! architecture blog's "full jitter"), so a relay restart is not met by every
//! client reconnecting in the same instant.

/// First retry delay, ms.
pub const BASE_MS: u64 = 500;
/// Largest delay, ms.
pub const CAP_MS: u64 = 30_000;

/// Delay before reconnect attempt `attempt` (0-based), given a uniform random
/// `r` in `[0, 1)`: uniform in `[BASE_MS/2, min(CAP_MS, BASE_MS * 2^attempt)]`.
pub fn delay_ms(attempt: u32, r: f64) -> u64 {
    let ceiling = BASE_MS.saturating_mul(1u64 << attempt.min(16)).min(CAP_MS);
    let floor = BASE_MS / 2;
    let r = if r.is_finite() {
        r.clamp(0.0, 1.0)
    } else {
        0.5
    };
    floor + ((ceiling - floor) as f64 * r) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_caps_and_jitters() {
        assert_eq!(delay_ms(0, 0.0), 250);
        assert_eq!(delay_ms(0, 1.0), 500);
        assert_eq!(delay_ms(3, 1.0), 4000);
        assert_eq!(delay_ms(40, 1.0), CAP_MS);
        assert!(delay_ms(40, 0.3) < CAP_MS);
        assert_eq!(delay_ms(2, f64::NAN), 250 + (2000 - 250) / 2);
    }
}
