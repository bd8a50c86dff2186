//! The filters an image passes before it is encrypted (issue 18): first
//! metadata removal (segments dropped, pixels untouched), then the user's
//! edits, which decode the pixels (EXIF orientation applied first, as the
//! browser shows it), apply [`super::edit`] and encode again in the same
//! format — only when there was an edit, so an unedited photo keeps its
//! exact pixels. A re-encoded image carries no metadata at all.
#![deny(clippy::indexing_slicing)]

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, ImageDecoder as _, ImageFormat, ImageReader, Limits};

use super::edit::{self, Edit, EditError};
use super::metadata;

/// Widest and tallest image the editor decodes.
pub const MAX_SIDE: u32 = 12_000;
/// Most memory one decode may take.
pub const MAX_DECODE_BYTES: u64 = 512 * 1024 * 1024;
/// JPEG quality of a re-encoded photo.
pub const JPEG_QUALITY: u8 = 90;

/// One filter of the pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// Drop location, camera and other metadata ([`metadata::strip`]).
    StripMetadata,
    /// The user's edits, in order.
    Edit(Vec<Edit>),
}

/// What the pipeline made of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The bytes to send.
    pub bytes: Vec<u8>,
    /// Metadata was removed (or never written, after an edit).
    pub metadata_removed: bool,
    /// The pixels were edited.
    pub edited: bool,
}

/// Runs `filters` over an image of type `mime`. `None`: nothing changed, send
/// the file as it is.
pub fn run(mime: &str, data: &[u8], filters: &[Filter]) -> Result<Option<Prepared>, EditError> {
    let mut current: Option<Prepared> = None;
    for f in filters {
        let input = current.as_ref().map_or(data, |p| p.bytes.as_slice());
        let next = match f {
            Filter::StripMetadata => metadata::strip(mime, input).map(|bytes| Prepared {
                bytes,
                metadata_removed: true,
                edited: current.as_ref().is_some_and(|p| p.edited),
            }),
            Filter::Edit(edits) if edits.is_empty() => None,
            Filter::Edit(edits) => Some(Prepared {
                bytes: edited(mime, input, edits)?,
                metadata_removed: true,
                edited: true,
            }),
        };
        if next.is_some() {
            current = next;
        }
    }
    Ok(current)
}

/// The usual pipeline: metadata first, then the edits.
pub fn prepare(mime: &str, data: &[u8], edits: &[Edit]) -> Result<Option<Prepared>, EditError> {
    run(
        mime,
        data,
        &[Filter::StripMetadata, Filter::Edit(edits.to_vec())],
    )
}

/// Whether images of type `mime` can be edited (decoded and encoded again);
/// the app offers its editor for these only.
pub fn editable(mime: &str) -> bool {
    format_of(mime).is_ok()
}

fn format_of(mime: &str) -> Result<ImageFormat, EditError> {
    match mime {
        "image/jpeg" | "image/jpg" => Ok(ImageFormat::Jpeg),
        "image/png" => Ok(ImageFormat::Png),
        "image/webp" => Ok(ImageFormat::WebP),
        _ => Err(EditError::Unsupported),
    }
}

/// Decodes (bounded), applies the edits and encodes in the same format.
fn edited(mime: &str, data: &[u8], edits: &[Edit]) -> Result<Vec<u8>, EditError> {
    let format = format_of(mime)?;
    let mut reader = ImageReader::new(Cursor::new(data));
    reader.set_format(format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    let orientation = decoder.orientation().map_err(decode_error)?;
    let mut img = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    img.apply_orientation(orientation);
    let out = edit::apply(img.into_rgba8(), edits)?;
    let mut bytes = Vec::new();
    let w = Cursor::new(&mut bytes);
    match format {
        ImageFormat::Jpeg => DynamicImage::ImageRgba8(out)
            .into_rgb8()
            .write_with_encoder(JpegEncoder::new_with_quality(w, JPEG_QUALITY)),
        ImageFormat::WebP => out.write_with_encoder(WebPEncoder::new_lossless(w)),
        _ => out.write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png),
    }
    .map_err(|_| EditError::Encode)?;
    Ok(bytes)
}

fn decode_error(e: image::ImageError) -> EditError {
    match e {
        image::ImageError::Limits(_) => EditError::TooLarge,
        image::ImageError::Unsupported(_) => EditError::Unsupported,
        _ => EditError::Decode,
    }
}
