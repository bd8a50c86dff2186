//! The wall clock, in the units the relay stores and signs: milliseconds for
//! database rows (expiry, creation), seconds for signed URLs and TURN
//! credentials. A clock before 1970 reads as 0 rather than failing a request.

use std::time::{SystemTime, UNIX_EPOCH};

use parley_shared::time::{Millis, UnixMs};

/// Current Unix time in milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A stored Unix-ms timestamp as the wire type (a row before 1970 reads as
/// the epoch).
pub fn unix_ms(ms: i64) -> UnixMs {
    UnixMs::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// A wire duration as the stored type (saturating).
pub fn millis_i64(d: Millis) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Current Unix time in seconds.
pub fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_units_read_the_same_clock() {
        let (ms, s) = (now_ms(), unix_secs());
        // After 2020 and the two readings within a second of each other.
        assert!(ms > 1_577_836_800_000);
        assert!((ms / 1000).abs_diff(i64::try_from(s).unwrap()) <= 1);
    }
}
