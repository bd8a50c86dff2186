//! One time unit everywhere: milliseconds. [`UnixMs`] is an instant,
//! [`Millis`] a duration; both travel as plain integers (JSON numbers,
//! postcard varints), so the types cost nothing on the wire.
//!
//! Seconds appear only where a standard asks for them (S3 presign expiry,
//! TURN REST usernames, `Retry-After`), through the explicit conversions here.

use core::time::Duration;

use serde::{Deserialize, Serialize};

/// An instant: milliseconds since the Unix epoch (UTC).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct UnixMs(u64);

/// A duration in milliseconds.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Millis(u64);

/// The unit conversions both types share (they differ only in meaning).
macro_rules! in_millis {
    ($t:ident, $zero:ident, $zero_doc:literal) => {
        impl $t {
            #[doc = $zero_doc]
            pub const $zero: Self = Self(0);

            /// From milliseconds.
            pub const fn from_millis(ms: u64) -> Self {
                Self(ms)
            }

            /// From whole seconds (saturating).
            pub const fn from_secs(s: u64) -> Self {
                Self(s.saturating_mul(1000))
            }

            /// In milliseconds.
            pub const fn as_millis(self) -> u64 {
                self.0
            }

            /// In whole seconds, rounded down (for standards that count in
            /// seconds).
            pub const fn as_secs(self) -> u64 {
                self.0 / 1000
            }
        }
    };
}

in_millis!(UnixMs, EPOCH, "The epoch.");
in_millis!(Millis, ZERO, "No time at all.");

impl UnixMs {
    /// The end of time: a deadline that never comes.
    pub const NEVER: Self = Self(u64::MAX);

    /// `d` later, saturating at the end of time.
    #[must_use]
    pub const fn saturating_add(self, d: Millis) -> Self {
        Self(self.0.saturating_add(d.0))
    }

    /// `d` earlier, saturating at the epoch.
    #[must_use]
    pub const fn saturating_sub(self, d: Millis) -> Self {
        Self(self.0.saturating_sub(d.0))
    }

    /// Time from `earlier` to `self`; zero if `earlier` is not earlier.
    pub const fn since(self, earlier: Self) -> Millis {
        Millis(self.0.saturating_sub(earlier.0))
    }
}

/// `t + d`: [`UnixMs::saturating_add`], so a deadline never wraps.
impl core::ops::Add<Millis> for UnixMs {
    type Output = Self;

    fn add(self, d: Millis) -> Self {
        self.saturating_add(d)
    }
}

impl Millis {
    /// Whole seconds, rounded up: for a wait (`Retry-After`) that must not
    /// end early.
    pub const fn as_secs_ceil(self) -> u64 {
        self.0.div_ceil(1000)
    }

    /// As a [`Duration`].
    pub const fn as_duration(self) -> Duration {
        Duration::from_millis(self.0)
    }
}

/// Saturates at `u64::MAX` milliseconds (half a billion years).
impl From<Duration> for Millis {
    fn from(d: Duration) -> Self {
        Self(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

impl From<Millis> for Duration {
    fn from(m: Millis) -> Self {
        m.as_duration()
    }
}

impl core::fmt::Display for Millis {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} ms", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_forms_are_bare_integers() {
        let t = UnixMs::from_millis(1_700_000_000_123);
        assert_eq!(serde_json::to_string(&t).unwrap(), "1700000000123");
        assert_eq!(serde_json::from_str::<UnixMs>("1700000000123").unwrap(), t);
        assert_eq!(
            serde_json::to_string(&Millis::from_secs(3)).unwrap(),
            "3000"
        );
        // postcard: the same varint as the u64 it replaced.
        let bare = crate::crypto::codec::encode(1, &1_700_000_000_123u64);
        assert_eq!(crate::crypto::codec::encode(1, &t), bare);
    }

    #[test]
    fn seconds_round_the_safe_way() {
        assert_eq!(UnixMs::from_millis(1_999).as_secs(), 1);
        assert_eq!(UnixMs::from_secs(2).as_millis(), 2_000);
        assert_eq!(Millis::from_millis(1_001).as_secs(), 1);
        assert_eq!(Millis::from_millis(1_001).as_secs_ceil(), 2);
        assert_eq!(Millis::from_millis(1_000).as_secs_ceil(), 1);
        assert_eq!(UnixMs::from_secs(u64::MAX).as_millis(), u64::MAX);
    }

    #[test]
    fn arithmetic_saturates() {
        let t = UnixMs::from_millis(5_000);
        assert_eq!(t.saturating_add(Millis::from_secs(1)).as_millis(), 6_000);
        assert_eq!(t + Millis::from_secs(1), UnixMs::from_millis(6_000));
        assert_eq!(
            UnixMs::from_millis(u64::MAX) + Millis::from_secs(1),
            UnixMs::from_millis(u64::MAX)
        );
        assert_eq!(t.saturating_sub(Millis::from_secs(9)), UnixMs::EPOCH);
        assert_eq!(t.since(UnixMs::from_millis(7_000)), Millis::ZERO);
        assert_eq!(t.since(UnixMs::EPOCH), Millis::from_secs(5));
        assert_eq!(Millis::from(Duration::from_secs(2)), Millis::from_secs(2));
        assert_eq!(
            Duration::from(Millis::from_millis(1_500)),
            Duration::from_millis(1_500)
        );
    }
}
