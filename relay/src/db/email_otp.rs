//! Email registration codes (stored as keyed hashes only).

use diesel::prelude::*;

use super::schema::email_otps;
use super::{Store, StoreError};

/// Attempts allowed per code.
pub(super) const OTP_ATTEMPTS: i32 = 5;
/// Minimum pause between two codes to one address, ms.
pub(super) const OTP_RESEND_AFTER_MS: i64 = 60_000;
/// Codes per address per hour.
pub(super) const OTP_SENDS_PER_HOUR: i32 = 5;

/// Whether a new code may be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Issue {
    /// Stored; send it.
    Issued,
    /// Too soon or too many for this address; the next code may go out at
    /// `retry_at` (Unix ms).
    RateLimited {
        /// When the address may receive a code again, Unix ms.
        retry_at: i64,
    },
}

/// Result of checking a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Correct: the code is used up.
    Valid,
    /// Wrong code; attempts remain (or not).
    Wrong,
    /// No live code for the address, or no attempts left.
    Unavailable,
}

impl Store {
    /// Stores a fresh code for an address, unless the address is over its send limits.
    pub fn issue_email_otp(
        &self,
        email_hash: &[u8],
        code_hash: &[u8],
        now: i64,
        expires_at: i64,
    ) -> Result<Issue, StoreError> {
        let (_write, mut conn) = self.writer()?;
        conn.transaction(|c| {
            let prev: Option<(i64, i64, i32)> = email_otps::table
                .find(email_hash)
                .select((
                    email_otps::last_sent_at,
                    email_otps::window_start,
                    email_otps::sends_in_window,
                ))
                .first(c)
                .optional()?;
            let (window_start, sends) = match prev {
                Some((last, start, n)) => {
                    if now - last < OTP_RESEND_AFTER_MS {
                        return Ok(Issue::RateLimited {
                            retry_at: last + OTP_RESEND_AFTER_MS,
                        });
                    }
                    if now - start < 3_600_000 {
                        if n >= OTP_SENDS_PER_HOUR {
                            return Ok(Issue::RateLimited {
                                retry_at: start + 3_600_000,
                            });
                        }
                        (start, n + 1)
                    } else {
                        (now, 1)
                    }
                }
                None => (now, 1),
            };
            diesel::delete(email_otps::table.find(email_hash)).execute(c)?;
            diesel::insert_into(email_otps::table)
                .values((
                    email_otps::email_hash.eq(email_hash),
                    email_otps::code_hash.eq(code_hash),
                    email_otps::expires_at.eq(expires_at),
                    email_otps::attempts_left.eq(OTP_ATTEMPTS),
                    email_otps::last_sent_at.eq(now),
                    email_otps::window_start.eq(window_start),
                    email_otps::sends_in_window.eq(sends),
                ))
                .execute(c)?;
            Ok(Issue::Issued)
        })
    }

    /// Checks a code in constant time; a wrong one costs an attempt, a right
    /// one is used up.
    pub fn check_email_otp(
        &self,
        email_hash: &[u8],
        code_hash: &[u8],
        now: i64,
    ) -> Result<Check, StoreError> {
        use subtle::ConstantTimeEq as _;
        let (_write, mut conn) = self.writer()?;
        conn.transaction(|c| {
            let row: Option<(Vec<u8>, i64, i32)> = email_otps::table
                .find(email_hash)
                .select((
                    email_otps::code_hash,
                    email_otps::expires_at,
                    email_otps::attempts_left,
                ))
                .first(c)
                .optional()?;
            let Some((stored, expires_at, attempts)) = row else {
                return Ok(Check::Unavailable);
            };
            if expires_at <= now || attempts <= 0 {
                return Ok(Check::Unavailable);
            }
            if bool::from(stored.ct_eq(code_hash)) {
                // Used up, but the send-rate bookkeeping stays until the hour is over.
                diesel::update(email_otps::table.find(email_hash))
                    .set((
                        email_otps::attempts_left.eq(0),
                        email_otps::expires_at.eq(now),
                    ))
                    .execute(c)?;
                Ok(Check::Valid)
            } else {
                diesel::update(email_otps::table.find(email_hash))
                    .set(email_otps::attempts_left.eq(attempts - 1))
                    .execute(c)?;
                Ok(Check::Wrong)
            }
        })
    }

    /// Forgets codes whose rate-limit window is over.
    pub fn sweep_email_otps(&self, now: i64) -> Result<usize, StoreError> {
        let (_write, mut c) = self.writer()?;
        Ok(diesel::delete(
            email_otps::table
                .filter(email_otps::expires_at.le(now))
                .filter(email_otps::window_start.le(now - 3_600_000)),
        )
        .execute(&mut c)?)
    }
}
