//! Media filters that run on a file before it is encrypted (no I/O): for
//! now, metadata stripping of photos.

pub mod metadata;
