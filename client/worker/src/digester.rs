//! Who digests (and, when encrypting, keeps) the ciphertext: a helper
//! worker beside the cipher for large files, or this worker itself.

use js_sys::Uint8Array;
use parley_shared::crypto::stream::CiphertextDigest;
use web_sys::Blob;

use crate::error::JobError;
use crate::helper::Helper;
use crate::sink::Sink;

/// Ciphertexts smaller than this are digested on the worker's own thread:
/// the helper's start (loading this module again, 17–26 ms here) costs more
/// than it saves (docs/benchmarks.md).
const BESIDE_FROM: f64 = 8.0 * 1024.0 * 1024.0;

pub(crate) enum Digester {
    Beside(Helper),
    Alone {
        digest: CiphertextDigest,
        kept: Option<Sink>,
    },
}

impl Digester {
    /// A helper for a ciphertext of `bytes` if it is worth starting one and
    /// one starts, else this worker alone.
    pub(crate) async fn start(bytes: f64) -> Self {
        let helper = if bytes >= BESIDE_FROM {
            Helper::start().await
        } else {
            None
        };
        match helper {
            Some(h) => Self::Beside(h),
            None => Self::Alone {
                digest: CiphertextDigest::new(),
                kept: None,
            },
        }
    }

    /// Digests the next ciphertext `bytes` (and keeps them if `keep`).
    /// `js`, if given, holds the same bytes in JS memory already (a network
    /// chunk): the helper is given a copy of those rather than of `bytes`.
    pub(crate) async fn push(
        &mut self,
        bytes: &[u8],
        js: Option<&Uint8Array>,
        keep: bool,
    ) -> Result<(), JobError> {
        match self {
            Self::Beside(h) => {
                let part = match js {
                    // A buffer of its own (`new Uint8Array(view)`): moving it
                    // to the helper detaches nothing the stream still uses.
                    // Made only here: alone, the worker needs no JS copy.
                    Some(js) if js.length() as usize == bytes.len() => Uint8Array::new(js),
                    // The digest must see what the cipher saw.
                    Some(_) => return Err(JobError::Malformed),
                    None => Uint8Array::from(bytes),
                };
                h.push(part, keep).await
            }
            Self::Alone { digest, kept } => {
                digest.update(bytes);
                match (keep, kept) {
                    (true, kept) => kept.get_or_insert_with(Sink::new).push(bytes),
                    (false, _) => Ok(()),
                }
            }
        }
    }

    /// The digest, and what was kept (if anything) as a Blob of `mime`.
    pub(crate) async fn finish(self, mime: &str) -> Result<([u8; 32], Option<Blob>), JobError> {
        match self {
            Self::Beside(h) => {
                let out = h.finish(mime).await?;
                Ok((out.digest.ok_or(JobError::HelperStopped)?, out.blob))
            }
            Self::Alone { digest, kept } => {
                Ok((digest.finish(), kept.map(|k| k.finish(mime)).transpose()?))
            }
        }
    }
}
