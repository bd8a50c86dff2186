//! Collects output chunks into a Blob, folding them in every few MiB: the
//! browser keeps Blob data outside the worker's heap (and on disk when
//! large), so memory stays flat whatever the file size.

use js_sys::{Array, Uint8Array};
use web_sys::{Blob, BlobPropertyBag};

use crate::error::JobError;

/// Bytes gathered before they are folded into the Blob.
const FOLD: usize = 8 * 1024 * 1024;

pub(crate) struct Sink {
    folded: Array,
    pending: Array,
    pending_bytes: usize,
}

impl Sink {
    pub(crate) fn new() -> Self {
        Self {
            folded: Array::new(),
            pending: Array::new(),
            pending_bytes: 0,
        }
    }

    /// Copies `bytes` out of WASM memory into the output.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Result<(), JobError> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.push_js(&Uint8Array::from(bytes))
    }

    /// Adds bytes already in JS memory (no copy until the fold).
    pub(crate) fn push_js(&mut self, bytes: &Uint8Array) -> Result<(), JobError> {
        if bytes.length() == 0 {
            return Ok(());
        }
        self.pending.push(bytes);
        self.pending_bytes += bytes.length() as usize;
        if self.pending_bytes >= FOLD {
            self.fold()?;
        }
        Ok(())
    }

    fn fold(&mut self) -> Result<(), JobError> {
        let part = blob_of(&self.pending, "application/octet-stream")?;
        self.folded.push(&part);
        self.pending = Array::new();
        self.pending_bytes = 0;
        Ok(())
    }

    /// The output as one Blob of type `mime`.
    pub(crate) fn finish(mut self, mime: &str) -> Result<Blob, JobError> {
        self.fold()?;
        let opts = BlobPropertyBag::new();
        opts.set_type(mime);
        Blob::new_with_blob_sequence_and_options(&self.folded, &opts).map_err(|_| JobError::NoRoom)
    }
}

/// A Blob of byte arrays.
pub(crate) fn blob_of(parts: &Array, mime: &str) -> Result<Blob, JobError> {
    let opts = BlobPropertyBag::new();
    opts.set_type(mime);
    Blob::new_with_u8_array_sequence_and_options(parts, &opts).map_err(|_| JobError::NoRoom)
}
