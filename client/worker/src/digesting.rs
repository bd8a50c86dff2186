//! The helper worker's side (ADR 0040): digests the ciphertext parts it is
//! given, in order, keeps them for the Blob when asked, and answers each
//! part so its parent knows the window has room.

use std::cell::RefCell;

use js_sys::Uint8Array;
use parley_shared::crypto::stream::CiphertextDigest;

use crate::error::JobError;
use crate::job::{Output, Reply};
use crate::sink::Sink;

/// What the helper has digested and kept so far.
struct Digesting {
    digest: CiphertextDigest,
    kept: Option<Sink>,
    buf: Vec<u8>,
    done: f64,
}

thread_local! {
    // One file per helper: its parent starts a new helper for each job.
    static DIGESTING: RefCell<Option<Digesting>> = const { RefCell::new(None) };
}

/// Digests (and keeps) one part; the answer frees room in the window.
pub(crate) fn take(part: &Uint8Array, keep: bool) -> Result<Reply, JobError> {
    DIGESTING.with_borrow_mut(|state| {
        let d = state.get_or_insert_with(|| Digesting {
            digest: CiphertextDigest::new(),
            kept: None,
            buf: Vec::new(),
            done: 0.0,
        });
        d.buf.resize(part.length() as usize, 0);
        part.copy_to(&mut d.buf);
        d.digest.update(&d.buf);
        if keep {
            d.kept.get_or_insert_with(Sink::new).push_js(part)?;
        }
        d.done += f64::from(part.length());
        Ok(Reply::Progress {
            done: d.done,
            total: 0.0,
        })
    })
}

/// The digest of all parts and the kept bytes, if any.
pub(crate) fn end(mime: &str) -> Result<Reply, JobError> {
    let (digest, kept) = match DIGESTING.with_borrow_mut(Option::take) {
        Some(d) => (d.digest.finish(), d.kept),
        None => (CiphertextDigest::new().finish(), None),
    };
    Ok(Reply::Done(Output {
        blob: kept.map(|k| k.finish(mime)).transpose()?,
        digest: Some(digest),
        text: None,
    }))
}
