//! Safety numbers: Signal's numeric fingerprint construction (libsignal
//! `fingerprint.rs`, "displayable" and "scannable" forms), over Parley identities.
//!
//! For each party: h = SHA-512(version(2, BE) || key || id); then 5200 times
//! h = SHA-512(h || key). The first 30 bytes become six 5-digit groups (each
//! 5-byte big-endian chunk mod 100000). The two 30-digit halves are shown in
//! a fixed order (smaller first) so both sides see the same 60 digits.
//!
//! Version 1 hashes a device identity (both keys) with the device id; version
//! 2 ([`SafetyNumber::for_accounts`], ADR 0016) hashes an account key with the
//! account id, so adding or removing a device leaves the number unchanged.

use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;

use super::account::AccountPublic;
use super::keys::IdentityPublic;

/// Construction version over device identities; part of every hash input and
/// of the scannable payload.
pub const SAFETY_NUMBER_VERSION: u16 = 1;
/// Construction version over account keys (a code of the other version is
/// `Unsupported`, never a false `Mismatch`).
pub const ACCOUNT_SAFETY_NUMBER_VERSION: u16 = 2;
const ITERATIONS: usize = 5200;
const STABLE_ID_PREFIX: &[u8] = b"parley-device:";
const ACCOUNT_ID_PREFIX: &[u8] = b"parley-account:";

fn device_fingerprint(identity: &IdentityPublic) -> [u8; 64] {
    let mut id = STABLE_ID_PREFIX.to_vec();
    id.extend_from_slice(identity.device_id().as_bytes());
    fingerprint(SAFETY_NUMBER_VERSION, &identity.transcript_bytes(), &id)
}

fn account_fingerprint(account: &AccountPublic) -> [u8; 64] {
    let mut id = ACCOUNT_ID_PREFIX.to_vec();
    id.extend_from_slice(account.id().as_bytes());
    fingerprint(ACCOUNT_SAFETY_NUMBER_VERSION, account.key_bytes(), &id)
}

fn fingerprint(version: u16, key: &[u8], id: &[u8]) -> [u8; 64] {
    let mut h = Sha512::new();
    h.update(version.to_be_bytes());
    h.update(key);
    h.update(id);
    let mut out: [u8; 64] = h.finalize().into();
    for _ in 0..ITERATIONS {
        let mut h = Sha512::new();
        h.update(out);
        h.update(key);
        out = h.finalize().into();
    }
    out
}

fn digits(fp: &[u8; 64]) -> String {
    let mut s = String::with_capacity(30);
    for chunk in fp[..30].chunks(5) {
        let v = chunk.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        s.push_str(&format!("{:05}", v % 100_000));
    }
    s
}

/// The safety number of a pair of identities (or of accounts).
#[derive(Clone, PartialEq, Eq)]
pub struct SafetyNumber {
    version: u16,
    local: [u8; 64],
    remote: [u8; 64],
    display: String,
}

impl core::fmt::Debug for SafetyNumber {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SafetyNumber({})", self.display)
    }
}

/// A scanned code does not confirm the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SafetyNumberError {
    /// Not a Parley safety-number code (an invite, another app's code, or
    /// another version of the construction).
    #[error("This is not a Parley safety-number code. Scan the code under their safety number.")]
    Unsupported,
    /// A valid code for other identities: someone may be in the middle.
    #[error("The codes do not match. Do not trust this conversation until you find out why.")]
    Mismatch,
}

impl SafetyNumber {
    /// Computes the number as `local` sees its conversation with `remote`.
    pub fn new(local: &IdentityPublic, remote: &IdentityPublic) -> Self {
        Self::from_fingerprints(
            SAFETY_NUMBER_VERSION,
            device_fingerprint(local),
            device_fingerprint(remote),
        )
    }

    /// The number of two accounts, as `local` sees `remote`: the same
    /// whichever devices either account lists.
    pub fn for_accounts(local: &AccountPublic, remote: &AccountPublic) -> Self {
        Self::from_fingerprints(
            ACCOUNT_SAFETY_NUMBER_VERSION,
            account_fingerprint(local),
            account_fingerprint(remote),
        )
    }

    fn from_fingerprints(version: u16, local: [u8; 64], remote: [u8; 64]) -> Self {
        let (dl, dr) = (digits(&local), digits(&remote));
        let display = if dl <= dr { dl + &dr } else { dr + &dl };
        Self {
            version,
            local,
            remote,
            display,
        }
    }

    /// 60 digits.
    pub fn digits(&self) -> &str {
        &self.display
    }

    /// 12 groups of 5 digits for display.
    pub fn grouped(&self) -> String {
        self.display
            .as_bytes()
            .chunks(5)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Payload of the QR code to show: version || local fp[..32] || remote fp[..32].
    pub fn scannable(&self) -> Vec<u8> {
        let mut out = self.version.to_be_bytes().to_vec();
        out.extend_from_slice(&self.local[..32]);
        out.extend_from_slice(&self.remote[..32]);
        out
    }

    /// Checks the payload scanned from the peer's screen, in constant time:
    /// the peer's own fingerprint is our remote one and vice versa.
    pub fn verify_scanned(&self, scanned: &[u8]) -> Result<(), SafetyNumberError> {
        let Some((version, fps)) = scanned.split_first_chunk::<2>() else {
            return Err(SafetyNumberError::Unsupported);
        };
        if *version != self.version.to_be_bytes() || fps.len() != 64 {
            return Err(SafetyNumberError::Unsupported);
        }
        let mut expected = [0u8; 64];
        let (theirs, ours) = expected.split_at_mut(32);
        theirs.copy_from_slice(self.remote.get(..32).unwrap_or_default());
        ours.copy_from_slice(self.local.get(..32).unwrap_or_default());
        if bool::from(expected.ct_eq(fps)) {
            Ok(())
        } else {
            Err(SafetyNumberError::Mismatch)
        }
    }

    /// Compares typed digits (spaces ignored) in constant time.
    pub fn matches_digits(&self, typed: &str) -> bool {
        let typed: Vec<u8> = typed.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        typed.len() == self.display.len() && bool::from(typed.ct_eq(self.display.as_bytes()))
    }
}
