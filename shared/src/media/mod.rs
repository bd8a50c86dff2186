//! Media filters that run on a file before it is encrypted (no I/O):
//! metadata stripping of photos, the user's edits (crop, rotate, blur,
//! pixelate), and the pipeline that runs them in that order.

pub mod edit;
pub mod metadata;
pub mod pipeline;
