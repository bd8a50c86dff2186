//! Encrypted backup files: contents (`engine::backup::BackupContents`: the
//! account key, contacts, history and settings, never ratchet state) sealed
//! with XChaCha20-Poly1305 under Argon2id(password) or a random recovery key.
//!
//! Layout (every header byte is authenticated as associated data):
//! `"PRLYBKP" || version(1) || kind(1) || [m_kib(4) t(4) p(4) salt(16)] || nonce(24) || ciphertext`
//! kind 1 = password (Argon2id v1.3 parameters follow), kind 2 = recovery key.

use argon2::{Algorithm, Argon2, Params, Version};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::codec::DecodeError;
use super::primitives::{Secret, sha256, xopen, xseal};

const MAGIC: &[u8; 7] = b"PRLYBKP";
const VERSION: u8 = 1;
const KIND_PASSWORD: u8 = 1;
const KIND_RECOVERY: u8 = 2;
/// Decoding refuses parameters beyond these, so a crafted backup cannot make
/// a phone's browser allocate more than it can or spin for minutes: twice
/// the default memory, twice its passes.
pub const MAX_M_KIB: u32 = 128 * 1024;
/// Most Argon2 passes accepted.
pub const MAX_T: u32 = 6;
/// Most Argon2 lanes accepted (one thread computes them one after another).
pub const MAX_P: u32 = 4;

/// Backup errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackupError {
    /// Wrong password or recovery key (or a tampered file: indistinguishable by design).
    #[error("wrong password or recovery key")]
    WrongKey,
    /// Not a Parley backup, or a newer version.
    #[error("not a Parley backup (or made by a newer version)")]
    NotABackup,
    /// Parameters out of the accepted range.
    #[error("backup uses unsupported key-derivation parameters")]
    BadParameters,
    /// The recovery key has a typo (checksum mismatch or bad character).
    #[error("the recovery key is mistyped")]
    RecoveryKeyTypo,
    /// Decrypted contents are malformed.
    #[error("backup contents are malformed: {0}")]
    Malformed(#[from] DecodeError),
}

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl Default for KdfParams {
    /// RFC 9106 §4's second recommendation scaled for one browser thread:
    /// 64 MiB, 3 passes, 1 lane (about a second in WebAssembly).
    fn default() -> Self {
        Self {
            m_kib: 64 * 1024,
            t: 3,
            p: 1,
        }
    }
}

impl KdfParams {
    fn check(self) -> Result<Params, BackupError> {
        if self.m_kib > MAX_M_KIB || self.t == 0 || self.t > MAX_T || self.p == 0 || self.p > MAX_P
        {
            return Err(BackupError::BadParameters);
        }
        Params::new(self.m_kib, self.t, self.p, Some(32)).map_err(|_| BackupError::BadParameters)
    }

    fn derive(self, password: &[u8], salt: &[u8]) -> Result<Secret<32>, BackupError> {
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, self.check()?);
        let mut out = [0u8; 32];
        argon
            .hash_password_into(password, salt, &mut out)
            .map_err(|_| BackupError::BadParameters)?;
        Ok(Secret::new(out))
    }
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A random 256-bit recovery key, shown as Crockford base32 in groups of four
/// with a checksum byte, so typos are caught before any decryption attempt.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryKey(Secret<32>);

impl core::fmt::Debug for RecoveryKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("RecoveryKey(<redacted>)")
    }
}

impl RecoveryKey {
    /// A fresh key.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self(Secret::random(rng))
    }

    /// `XXXX-XXXX-…` (53 characters of data and checksum).
    pub fn display(&self) -> String {
        let mut data = self.0.expose().to_vec();
        data.push(sha256(&[b"Parley recovery key", self.0.expose()])[0]);
        let mut bits = 0u32;
        let mut nbits = 0;
        let mut chars = Vec::new();
        for b in data {
            bits = (bits << 8) | u32::from(b);
            nbits += 8;
            while nbits >= 5 {
                nbits -= 5;
                chars.push(CROCKFORD[((bits >> nbits) & 31) as usize]);
            }
        }
        if nbits > 0 {
            chars.push(CROCKFORD[((bits << (5 - nbits)) & 31) as usize]);
        }
        chars
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("-")
    }

    /// Parses what a person typed: case, dashes and spaces ignored, O→0, I/L→1.
    pub fn parse(s: &str) -> Result<Self, BackupError> {
        let mut bits = 0u32;
        let mut nbits = 0;
        let mut out = Vec::with_capacity(33);
        for c in s.bytes().filter(|c| !matches!(c, b'-' | b' ')) {
            let c = match c.to_ascii_uppercase() {
                b'O' => b'0',
                b'I' | b'L' => b'1',
                x => x,
            };
            let v = CROCKFORD
                .iter()
                .position(|&a| a == c)
                .ok_or(BackupError::RecoveryKeyTypo)?;
            bits = (bits << 5) | v as u32;
            nbits += 5;
            if nbits >= 8 {
                nbits -= 8;
                out.push((bits >> nbits) as u8);
            }
        }
        if out.len() != 33 {
            return Err(BackupError::RecoveryKeyTypo);
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(&out[..32]);
        if sha256(&[b"Parley recovery key", &key])[0] != out[32] {
            return Err(BackupError::RecoveryKeyTypo);
        }
        Ok(Self(Secret::new(key)))
    }
}

fn assemble<R: CryptoRng + ?Sized>(
    rng: &mut R,
    mut header: Vec<u8>,
    key: &Secret<32>,
    plaintext: &[u8],
) -> Vec<u8> {
    let nonce = Secret::<24>::random(rng);
    header.extend_from_slice(nonce.expose());
    let ct = xseal(key.expose(), nonce.expose(), &header, plaintext);
    header.extend(ct);
    header
}

/// Seals `plaintext` under Argon2id(`password`).
pub fn seal_with_password<R: CryptoRng + ?Sized>(
    rng: &mut R,
    password: &str,
    params: KdfParams,
    plaintext: &[u8],
) -> Result<Vec<u8>, BackupError> {
    let salt = Secret::<16>::random(rng);
    let key = params.derive(password.as_bytes(), salt.expose())?;
    let mut header = MAGIC.to_vec();
    header.extend_from_slice(&[VERSION, KIND_PASSWORD]);
    for v in [params.m_kib, params.t, params.p] {
        header.extend_from_slice(&v.to_be_bytes());
    }
    header.extend_from_slice(salt.expose());
    Ok(assemble(rng, header, &key, plaintext))
}

/// Seals `plaintext` under a recovery key.
pub fn seal_with_recovery_key<R: CryptoRng + ?Sized>(
    rng: &mut R,
    key: &RecoveryKey,
    plaintext: &[u8],
) -> Vec<u8> {
    let mut header = MAGIC.to_vec();
    header.extend_from_slice(&[VERSION, KIND_RECOVERY]);
    assemble(rng, header, &key.0, plaintext)
}

/// A sealed backup split into its parts: the header (associated data, ending
/// with the nonce), the nonce and the ciphertext.
struct Parts<'a> {
    nonce: [u8; 24],
    header: &'a [u8],
    ciphertext: &'a [u8],
}

fn split_nonce(data: &[u8], at: usize) -> Result<Parts<'_>, BackupError> {
    if data.len() < at + 24 + 16 {
        return Err(BackupError::NotABackup);
    }
    let mut nonce = [0u8; 24];
    nonce.copy_from_slice(&data[at..at + 24]);
    Ok(Parts {
        nonce,
        header: &data[..at + 24],
        ciphertext: &data[at + 24..],
    })
}

fn kind(data: &[u8]) -> Result<u8, BackupError> {
    if data.len() < 9 || &data[..7] != MAGIC || data[7] != VERSION {
        return Err(BackupError::NotABackup);
    }
    Ok(data[8])
}

/// Opens a password backup.
pub fn open_with_password(data: &[u8], password: &str) -> Result<Zeroizing<Vec<u8>>, BackupError> {
    if kind(data)? != KIND_PASSWORD {
        return Err(BackupError::NotABackup);
    }
    let parts = split_nonce(data, 9 + 12 + 16)?;
    let u = |i: usize| u32::from_be_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
    let params = KdfParams {
        m_kib: u(9),
        t: u(13),
        p: u(17),
    };
    let key = params.derive(password.as_bytes(), &data[21..37])?;
    xopen(key.expose(), &parts.nonce, parts.header, parts.ciphertext)
        .map(Zeroizing::new)
        .map_err(|_| BackupError::WrongKey)
}

/// Opens a recovery-key backup.
pub fn open_with_recovery_key(
    data: &[u8],
    key: &RecoveryKey,
) -> Result<Zeroizing<Vec<u8>>, BackupError> {
    if kind(data)? != KIND_RECOVERY {
        return Err(BackupError::NotABackup);
    }
    let parts = split_nonce(data, 9)?;
    xopen(key.0.expose(), &parts.nonce, parts.header, parts.ciphertext)
        .map(Zeroizing::new)
        .map_err(|_| BackupError::WrongKey)
}
